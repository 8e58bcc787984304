//! Message names: every instance gets its final name, so that different structures sharing a docs name no
//! longer collide and equal structures under one name become one message.
//!
//! Naming rule for a docs name `X` carried by several different structures (deterministic, page-order free):
//! 1. the structure defined as a top-level Domain Types class keeps `X`;
//! 2. else, if there are exactly two and one is only used in requests and the other only in responses, they
//!    become `XRequest` and `XResponse` (the request and response `Pagination`);
//! 3. every other structure is prefixed with the name of the message that holds it
//!    (`RunnerConfigurationSchemaEnvironmentClass`), taking the first such owner by name.
//!
//! Method roots keep their fixed `{Rpc}Request` / `{Rpc}Response` names.
//!
//! The rule alone would rename a structure when another page adds a different structure under its docs name.
//! So names are sticky: where a docs name is shared, a structure the previous model (the one regen wrote last)
//! had under a name derived from that docs name, with the same fields, keeps that name; the rule names the rest.

use super::instances::{Inst, Side};
use crate::model::Model;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Final names for every instance (indexed like `insts`), by the rule in the module docs, and the instances
/// that were numbered (`Organization2`) because the rule gave them a name another structure holds, with that
/// name: the caller reports them, since a numbered name says nothing about what sets it apart.
pub(super) fn assign_names(insts: &[Inst], previous: Option<&Model>) -> (Vec<String>, Vec<(usize, String)>) {
    // Keyed by the instances' own strings (ordered as the strings are), not copies of them.
    let mut groups: BTreeMap<&str, BTreeMap<&str, Vec<usize>>> = BTreeMap::new();
    for (i, inst) in insts.iter().enumerate() {
        if inst.root.is_none() {
            groups.entry(&inst.base).or_default().entry(&inst.sig).or_default().push(i);
        }
    }
    let mut names: Vec<Option<String>> = insts.iter().map(|i| i.root.clone().filter(|r| !r.is_empty())).collect();
    // Names settled without owners first; scoped ones need their owner's name, so resolve outside-in.
    let mut scoped: Vec<(&str, Vec<usize>)> = vec![];
    // Field sets (wire name, optional) of the previous model's messages, by name: a request-side twin that
    // differs only in which fields are required is another structure.
    let before: BTreeMap<&str, BTreeSet<(&str, bool)>> = previous
        .map(|m| {
            m.messages
                .iter()
                .map(|msg| (msg.name.as_str(), msg.fields.iter().map(|f| (f.name.as_str(), f.optional)).collect()))
                .collect()
        })
        .unwrap_or_default();
    let mut kept: BTreeSet<String> = BTreeSet::new();
    for (base, sigs) in &groups {
        if sigs.len() == 1 {
            for idxs in sigs.values() {
                idxs.iter().for_each(|&i| names[i] = Some(base.to_string()));
            }
            continue;
        }
        // Sticky names first: a structure keeps the name the previous model gave it.
        let mut rest: BTreeMap<&str, &Vec<usize>> = BTreeMap::new();
        // Spelled once per docs name, not once per previous message and structure.
        let derived = [base.to_string(), format!("{base}Request"), format!("{base}Response")];
        for (sig, idxs) in sigs {
            let fields: BTreeSet<(String, bool)> =
                insts[idxs[0]].fields.iter().map(|f| (f.wire().to_string(), f.spelled.optional)).collect();
            // Only the names the rule gives without an owner: an owner-scoped name follows from its owner's,
            // so keeping those would only make a second regen differ from the first.
            let same = |name: &&str| derived.iter().any(|n| n == name);
            let found = before
                .iter()
                .filter(|(name, _)| same(name) && !kept.contains(**name))
                .filter(|(_, set)| {
                    set.len() == fields.len() && set.iter().all(|(f, o)| fields.contains(&(f.to_string(), *o)))
                })
                .map(|(name, _)| name.to_string())
                .min_by_key(|name| (name.len(), name.clone()));
            match found {
                Some(name) => {
                    kept.insert(name.clone());
                    idxs.iter().for_each(|&i| names[i] = Some(name.clone()));
                }
                None => {
                    rest.insert(sig, idxs);
                }
            }
        }
        if rest.len() < sigs.len() {
            // The others are scoped by their owners, as the rule does for every structure not named otherwise.
            for idxs in rest.values() {
                scoped.push((base, (*idxs).clone()));
            }
            continue;
        }
        let tops: Vec<&str> =
            sigs.iter().filter(|(_, v)| v.iter().any(|&i| insts[i].domain_top)).map(|(s, _)| *s).collect();
        let sides = |v: &Vec<usize>| v.iter().map(|&i| insts[i].side).collect::<BTreeSet<_>>();
        let split_sides = sigs.len() == 2 && {
            let s: Vec<BTreeSet<Side>> = sigs.values().map(sides).collect();
            s.iter().all(|x| x.len() == 1) && s[0] != s[1]
        };
        for (sig, idxs) in sigs {
            if tops.len() == 1 && tops[0] == *sig {
                idxs.iter().for_each(|&i| names[i] = Some(base.to_string()));
            } else if split_sides && tops.is_empty() {
                let suffix = if sides(idxs).contains(&Side::Request) { "Request" } else { "Response" };
                idxs.iter().for_each(|&i| names[i] = Some(format!("{base}{suffix}")));
            } else {
                scoped.push((base, idxs.clone()));
            }
        }
    }
    // Owners are always ancestors, so repeating until nothing changes resolves every scoped name.
    for _ in 0..64 {
        let mut progress = false;
        for (base, idxs) in &scoped {
            if names[idxs[0]].is_some() {
                continue;
            }
            // The owners of the instances that have one (a Domain Types copy has none); all must be named.
            // The first owner by name; no owner unnamed yet. (A minimum, not a sort: a group can have
            // thousands of instances, and this repeats once per nesting level.)
            let mut first: Option<&String> = None;
            let mut all_named = true;
            for o in idxs.iter().filter_map(|&i| insts[i].owner) {
                match &names[o] {
                    Some(n) => first = Some(first.map_or(n, |f| f.min(n))),
                    None => all_named = false,
                }
            }
            if let Some(owner) = first.filter(|_| all_named) {
                let name = format!("{owner}{base}");
                idxs.iter().for_each(|&i| names[i] = Some(name.clone()));
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    // A structure without an owner that the rule could not name (a Domain Types class whose name another
    // structure keeps) is scoped by its page's resource (`organizations.python.md` → `Organizations…`).
    for (i, inst) in insts.iter().enumerate() {
        if names[i].is_none() && inst.owner.is_none() && kept.contains(&inst.base) {
            let resource = inst.file.split(['.', '-', '_']).next().unwrap_or_default();
            names[i] = Some(format!("{}{}", super::names::pascal(resource), inst.base));
        }
    }
    // Two scoped structures may still meet under one name: number the later ones. Kept names are theirs.
    let mut taken: BTreeMap<String, &str> = BTreeMap::new();
    let mut numbering = Numbering::default();
    for (i, n) in names.iter().enumerate() {
        if let Some(n) = n.as_ref().filter(|n| kept.contains(*n)) {
            numbering.record(n, &insts[i].sig);
            taken.insert(n.clone(), &insts[i].sig);
        }
    }
    let mut out = vec![String::new(); names.len()];
    let mut numbered = vec![];
    for (i, n) in names.into_iter().enumerate() {
        let mut n = n.unwrap_or_else(|| insts[i].base.clone());
        let sig = &insts[i].sig;
        if insts[i].root.is_none() {
            if taken.get(&n).is_some_and(|s| s != sig) {
                let stem = std::mem::take(&mut n);
                n = numbering.first_fit(&taken, &stem, sig);
                numbered.push((i, stem));
            }
            numbering.record(&n, sig);
            taken.insert(n.clone(), sig);
        }
        out[i] = n;
    }
    (out, numbered)
}

/// Finds `{stem}{k}` for the smallest k ≥ 2 whose name is free or already holds an equal structure, without
/// probing every k each time: thousands of structures can share one stem, and probing from 2 each time is
/// quadratic.
#[derive(Default)]
struct Numbering<'s> {
    /// Per stem, a k below which every `{stem}{k}` is taken (names are never released).
    lowest_free: HashMap<String, usize>,
    /// Per stem and signature, the smallest k of a taken name `{stem}{k}` holding that structure.
    equal_at: HashMap<String, HashMap<&'s str, usize>>,
}

impl<'s> Numbering<'s> {
    fn first_fit(&mut self, taken: &BTreeMap<String, &str>, stem: &str, sig: &str) -> String {
        let k = self.lowest_free.entry(stem.to_string()).or_insert(2);
        while taken.contains_key(&format!("{stem}{k}")) {
            *k += 1;
        }
        // An equal structure that holds a lower `{stem}{k}` keeps it (every lower k is taken).
        let equal = self.equal_at.get(stem).and_then(|by_sig| by_sig.get(sig)).copied();
        format!("{stem}{}", equal.filter(|at| at < k).unwrap_or(*k))
    }

    /// Notes that `name` holds the structure `sig`, under every stem it can be read as `{stem}{k}` with.
    fn record(&mut self, name: &str, sig: &'s str) {
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        // A k has at most 20 digits (usize), so only the last 20 splits can parse.
        for split in name.len() - digits.min(20)..name.len() {
            let (stem, number) = name.split_at(split);
            let Some(k) = number.parse::<usize>().ok().filter(|k| *k >= 2 && !number.starts_with('0')) else {
                continue;
            };
            let at = self.equal_at.entry(stem.to_string()).or_default().entry(sig).or_insert(k);
            *at = (*at).min(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Numbering;
    use std::collections::BTreeMap;

    /// Takes `name` for `sig` the way `assign_names` does.
    fn take<'s>(taken: &mut BTreeMap<String, &'s str>, numbering: &mut Numbering<'s>, name: &str, sig: &'s str) {
        numbering.record(name, sig);
        taken.insert(name.to_string(), sig);
    }

    #[test]
    fn numbering_takes_the_first_free_k_or_an_equal_structures_k() {
        let (mut taken, mut numbering) = (BTreeMap::new(), Numbering::default());
        take(&mut taken, &mut numbering, "Thing", "a");
        assert_eq!(numbering.first_fit(&taken, "Thing", "b"), "Thing2");
        take(&mut taken, &mut numbering, "Thing2", "b");
        assert_eq!(numbering.first_fit(&taken, "Thing", "c"), "Thing3");
        take(&mut taken, &mut numbering, "Thing3", "c");
        // An equal structure gets the name it already has, not a new number.
        assert_eq!(numbering.first_fit(&taken, "Thing", "b"), "Thing2");
        // A name taken some other way that reads as `{stem}{k}` counts as taken, and as equal when it is.
        take(&mut taken, &mut numbering, "Thing4", "d");
        assert_eq!(numbering.first_fit(&taken, "Thing", "e"), "Thing5");
        assert_eq!(numbering.first_fit(&taken, "Thing", "d"), "Thing4");
        // A stem ending in digits: `Thing23` is `Thing2` + 3 as well as `Thing` + 23.
        take(&mut taken, &mut numbering, "Thing2", "b");
        take(&mut taken, &mut numbering, "Thing22", "h");
        take(&mut taken, &mut numbering, "Thing23", "f");
        assert_eq!(numbering.first_fit(&taken, "Thing2", "f"), "Thing23");
        assert_eq!(numbering.first_fit(&taken, "Thing2", "g"), "Thing24");
    }
}
