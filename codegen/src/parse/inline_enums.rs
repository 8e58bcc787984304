//! Names for enums spelled in place (`Literal["A", "B"]`, `"A" or "B"`).
//!
//! An inline enum is first named from its values' shared prefix (`PHASE_UNSPECIFIED`, … → `Phase`) or its field.
//! Different enums can get one name that way (a machine's `PHASE_*` and a devcontainer's `PHASE_*` list different
//! values), so names are scoped until each names one value set: first the field's own name
//! (`automations_file_presence` → `AutomationsFilePresence`), then the owning message and the field
//! (`DevcontainerPhase`). A named enum keeps its name; an inline one never takes it over with other values.

use super::fields::{FieldNode, Kind};
use super::names::pascal;
use super::resolve::{Resolution, Response};
use super::types::Head;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

type ValueSet = BTreeSet<String>;

/// One inline enum field: the names it may take, most general first.
struct Occurrence {
    candidates: Vec<String>,
    values: ValueSet,
}

/// Renames the inline enums of `res` so that every enum name stands for one set of values.
pub(super) fn scope_inline_enums(res: &mut Resolution) {
    let mut named: BTreeMap<String, ValueSet> = BTreeMap::new();
    let mut found = vec![];
    for_each_list(res, &mut |owner, fields| collect(owner, fields, &mut named, &mut found));
    for d in &res.domains {
        if let Some(Head::EnumDecl { name: Some(n), values, .. }) = &d.header {
            named.entry(n.clone()).or_default().extend(values.iter().cloned());
        }
    }
    let names = choose_names(&found, &named);
    let mut next = names.into_iter();
    for_each_list(res, &mut |_, fields| rename(fields, &mut next));
}

/// Calls `f` on every top-level field list with the name of what owns it.
fn for_each_list(res: &mut Resolution, f: &mut dyn FnMut(&str, &mut Vec<FieldNode>)) {
    for m in &mut res.methods {
        let request = format!("{}Request", m.raw.rpc);
        f(&request, &mut m.body);
        f(&request, &mut m.query);
        if let Response::Fields { fields, .. } = &mut m.response {
            f(&format!("{}Response", m.raw.rpc), fields);
        }
    }
    for d in &mut res.domains {
        let owner = match &d.header {
            Some(Head::Class { name, .. }) => name.clone(),
            _ => pascal(&d.raw.title),
        };
        f(&owner, &mut d.fields);
    }
}

fn collect(owner: &str, fields: &[FieldNode], named: &mut BTreeMap<String, ValueSet>, found: &mut Vec<Occurrence>) {
    for f in fields {
        match &f.kind {
            Kind::Enum { name, values, inline: true } => {
                let field = pascal(&super::names::snake(&f.name));
                let mut candidates = vec![name.clone(), field.clone()];
                if !field.starts_with(owner) {
                    candidates.push(format!("{owner}{field}"));
                }
                found.push(Occurrence { candidates, values: values.iter().cloned().collect() });
            }
            Kind::Enum { name, values, inline: false } => {
                // Named enums repeat wherever they are used: copy only what is new.
                let set = match named.get_mut(name) {
                    Some(set) => set,
                    None => named.entry(name.clone()).or_default(),
                };
                for v in values {
                    if !set.contains(v) {
                        set.insert(v.clone());
                    }
                }
            }
            Kind::Message { type_name, children, .. } => {
                let inner = match type_name {
                    Some(t) => Cow::Borrowed(t.as_str()),
                    None => Cow::Owned(format!("{owner}{}", pascal(&f.name))),
                };
                collect(&inner, children, named, found);
            }
            Kind::Scalar => {}
        }
    }
}

/// The name of each occurrence, in order: the first candidate that stands for its value set only.
fn choose_names(found: &[Occurrence], named: &BTreeMap<String, ValueSet>) -> Vec<String> {
    let mut chosen: Vec<Option<String>> = vec![None; found.len()];
    // The value set each name stands for so far: borrowed, the named enums' and the chosen occurrences'.
    let mut taken: BTreeMap<&str, &ValueSet> = named.iter().map(|(name, set)| (name.as_str(), set)).collect();
    let rounds = found.iter().map(|o| o.candidates.len()).max().unwrap_or(0);
    for round in 0..rounds {
        let mut groups: BTreeMap<&str, BTreeSet<&ValueSet>> = BTreeMap::new();
        for (o, c) in found.iter().zip(&chosen) {
            if c.is_none() {
                if let Some(name) = o.candidates.get(round) {
                    groups.entry(name).or_default().insert(&o.values);
                }
            }
        }
        let last = round + 1 == rounds;
        for (i, o) in found.iter().enumerate() {
            if chosen[i].is_some() {
                continue;
            }
            let Some(name) = o.candidates.get(round).or(last.then(|| o.candidates.last()).flatten()) else {
                continue;
            };
            let one_set = groups.get(name.as_str()).is_none_or(|sets| sets.len() == 1);
            let free = taken.get(name.as_str()).is_none_or(|set| **set == o.values);
            if (one_set && free) || last {
                taken.insert(name, &o.values);
                chosen[i] = Some(name.clone());
            }
        }
    }
    chosen.into_iter().zip(found).map(|(c, o)| c.unwrap_or_else(|| o.candidates[0].clone())).collect()
}

fn rename(fields: &mut [FieldNode], names: &mut impl Iterator<Item = String>) {
    for f in fields {
        match &mut f.kind {
            Kind::Enum { name, inline: true, .. } => {
                if let Some(n) = names.next() {
                    *name = n;
                }
            }
            // A subtree shared with other lists is copied before it is renamed, so only one that has an
            // inline enum to rename (the others take no names).
            Kind::Message { children, .. } if Rc::strong_count(children) == 1 || has_inline_enum(children) => {
                rename(Rc::<Vec<FieldNode>>::make_mut(children), names);
            }
            _ => {}
        }
    }
}

fn has_inline_enum(fields: &[FieldNode]) -> bool {
    fields.iter().any(|f| match &f.kind {
        Kind::Enum { inline, .. } => *inline,
        Kind::Message { children, .. } => has_inline_enum(children),
        Kind::Scalar => false,
    })
}
