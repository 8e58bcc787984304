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
use std::collections::{BTreeMap, BTreeSet};

/// Final names for every instance (indexed like `insts`), by the rule in the module docs, and the instances
/// that were numbered (`Organization2`) because the rule gave them a name another structure holds, with that
/// name: the caller reports them, since a numbered name says nothing about what sets it apart.
pub(super) fn assign_names(insts: &[Inst], previous: Option<&Model>) -> (Vec<String>, Vec<(usize, String)>) {
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    for (i, inst) in insts.iter().enumerate() {
        if inst.root.is_none() {
            groups.entry(inst.base.clone()).or_default().entry(inst.sig.clone()).or_default().push(i);
        }
    }
    let mut names: Vec<Option<String>> = insts.iter().map(|i| i.root.clone().filter(|r| !r.is_empty())).collect();
    // Names settled without owners first; scoped ones need their owner's name, so resolve outside-in.
    let mut scoped: Vec<(String, Vec<usize>)> = vec![];
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
                idxs.iter().for_each(|&i| names[i] = Some(base.clone()));
            }
            continue;
        }
        // Sticky names first: a structure keeps the name the previous model gave it.
        let mut rest: BTreeMap<&String, &Vec<usize>> = BTreeMap::new();
        for (sig, idxs) in sigs {
            let fields: BTreeSet<(String, bool)> =
                insts[idxs[0]].fields.iter().map(|f| (f.wire().to_string(), f.spelled.optional)).collect();
            // Only the names the rule gives without an owner: an owner-scoped name follows from its owner's,
            // so keeping those would only make a second regen differ from the first.
            let same = |name: &&str| {
                [base.clone(), format!("{base}Request"), format!("{base}Response")].iter().any(|n| n == name)
            };
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
                scoped.push((base.clone(), (*idxs).clone()));
            }
            continue;
        }
        let tops: Vec<&String> =
            sigs.iter().filter(|(_, v)| v.iter().any(|&i| insts[i].domain_top)).map(|(s, _)| s).collect();
        let sides = |v: &Vec<usize>| v.iter().map(|&i| insts[i].side).collect::<BTreeSet<_>>();
        let split_sides = sigs.len() == 2 && {
            let s: Vec<BTreeSet<Side>> = sigs.values().map(sides).collect();
            s.iter().all(|x| x.len() == 1) && s[0] != s[1]
        };
        for (sig, idxs) in sigs {
            if tops.len() == 1 && tops[0] == sig {
                idxs.iter().for_each(|&i| names[i] = Some(base.clone()));
            } else if split_sides && tops.is_empty() {
                let suffix = if sides(idxs).contains(&Side::Request) { "Request" } else { "Response" };
                idxs.iter().for_each(|&i| names[i] = Some(format!("{base}{suffix}")));
            } else {
                scoped.push((base.clone(), idxs.clone()));
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
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(n) = n.as_ref().filter(|n| kept.contains(*n)) {
            taken.insert(n.clone(), insts[i].sig.clone());
        }
    }
    let mut out = vec![String::new(); names.len()];
    let mut numbered = vec![];
    for (i, n) in names.into_iter().enumerate() {
        let mut n = n.unwrap_or_else(|| insts[i].base.clone());
        let sig = &insts[i].sig;
        if insts[i].root.is_none() {
            let mut k = 2;
            let stem = n.clone();
            while taken.get(&n).is_some_and(|s| s != sig) {
                n = format!("{stem}{k}");
                k += 1;
            }
            if k > 2 {
                numbered.push((i, stem));
            }
            taken.insert(n.clone(), sig.clone());
        }
        out[i] = n;
    }
    (out, numbered)
}
