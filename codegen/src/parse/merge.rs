//! One model from all resolved lists: messages, enums and services with their methods.
//!
//! The stages, in order: [`instances`](super::instances) lists every place a message structure appears and
//! signs its structure; [`naming`](super::naming) gives each instance its final (scoped) name;
//! [`typing`](super::typing) settles field types with the examples' evidence. This module decides what is
//! emitted from them: one message per name (fields from all its instances, richest doc wins, docs names
//! kept as aliases, keys only the JSON examples show recorded as undocumented), enum values merged from
//! every place that lists them, and one service per path prefix with its methods (resource, idempotency,
//! pagination, examples).

use super::docs;
use super::examples;
use super::fields::{FieldNode, Kind};
use super::instances::{self, rpc_name, Inst, Instances};
use super::names::{snake, title_to_type};
use super::naming::assign_names;
use super::overrides::Overrides;
use super::page::Page;
use super::resolve::{Resolution, Response};
use super::types::{Head, TypeExpr};
use super::typing::{with_note, Typed, Typing};
use crate::diag::Diagnostic;
use crate::model::{DocAliases, Enum, Examples, Field, Message, Method, Model, Pagination, Service, Streaming};
use serde_json::Value;
use std::collections::{btree_map, BTreeMap, BTreeSet};

pub(super) struct Built {
    pub(super) model: Model,
    pub(super) warnings: Vec<Diagnostic>,
    /// Fields typed bytes, duration or int64 from their example values (said in their docs, not warned).
    pub(super) inferred_from_examples: usize,
}

pub(super) fn build(
    res: &Resolution,
    pages: &BTreeMap<String, Page>,
    overrides: &Overrides,
    previous: Option<&Model>,
) -> Built {
    let Instances { insts, method_roots } = instances::collect(res);
    let (names, numbered) = assign_names(&insts, previous);
    let mut typing = Typing::new(res, &insts, &names, overrides, pages);
    let mut model = Model::default();
    let mut warnings = vec![];
    let mut reported = BTreeSet::new();
    for (i, stem) in numbered {
        let inst = &insts[i];
        if let Some(page) = pages.get(inst.file).filter(|_| reported.insert(names[i].clone())) {
            warnings.push(page.warning(
                inst.offset,
                format!(
                    "`{}` (docs name `{}`) is a different structure from `{stem}`, which keeps that name; the \
                     naming rules give both the same name, so this one is numbered",
                    names[i], inst.base
                ),
            ));
        }
    }

    // Messages: one per distinct name, fields from all its instances (richest doc wins).
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, inst) in insts.iter().enumerate() {
        if !inst.absorbed() {
            by_name.entry(names[i].clone()).or_default().push(i);
        }
    }
    for (name, idxs) in &by_name {
        model.messages.push(message(name, idxs, &insts, &names, &mut typing, pages, &mut warnings));
    }

    model.enums = collect_enums(res);
    model.services = services(res, &method_roots, &insts, &names, &mut typing);
    let (mut typing_warnings, inferred_from_examples) = typing.finish();
    warnings.append(&mut typing_warnings);
    warnings.sort_by(|a, c| (&a.file, a.offset, &a.message).cmp(&(&c.file, c.offset, &c.message)));
    warnings.dedup();
    Built { model, warnings, inferred_from_examples }
}

/// The message `name`, from its instances `idxs`; warns about JSON example keys no field list describes.
fn message(
    name: &str,
    idxs: &[usize],
    insts: &[Inst],
    names: &[String],
    typing: &mut Typing,
    pages: &BTreeMap<String, Page>,
    warnings: &mut Vec<Diagnostic>,
) -> Message {
    let first = &insts[idxs[0]];
    let mut msg = Message { name: name.to_string(), ..Message::default() };
    // A JSON object holds a key once: a field listed again under the same wire name (a slip in the docs, or a
    // list no open message accepted) is left out, and the page is told.
    let mut wire_names: BTreeSet<&str> = BTreeSet::new();
    for (fi, f) in first.fields.iter().enumerate() {
        if !wire_names.insert(f.wire()) {
            if let Some(p) = pages.get(first.file) {
                warnings.push(p.warning(
                    f.offset,
                    format!("`{name}` lists the field `{}` twice; the second listing is left out", f.name),
                ));
            }
            continue;
        }
        // The longest cleaned description (the last of equally long ones); instances of one type mostly repeat
        // one text, which is cleaned and read for markers once. The field is deprecated or marked required when
        // any instance's text says so, optional when every instance's spelling is.
        let mut cleaned: BTreeMap<&str, String> = BTreeMap::new();
        let mut best: Option<(&str, usize)> = None;
        let (mut deprecated, mut required_marker, mut optional) = (false, false, true);
        for f in idxs.iter().filter_map(|&i| insts[i].fields.get(fi)) {
            optional &= f.spelled.optional;
            let len = match cleaned.entry(&*f.text) {
                btree_map::Entry::Occupied(seen) => seen.get().len(),
                btree_map::Entry::Vacant(new) => {
                    deprecated |= docs::is_deprecated(&f.text);
                    required_marker |= docs::has_required_marker(&f.text);
                    new.insert(docs::clean(&f.text)).len()
                }
            };
            if best.is_none_or(|(_, longest)| len >= longest) {
                best = Some((&*f.text, len));
            }
        }
        let doc_src = best.and_then(|(text, _)| cleaned.remove(text)).unwrap_or_default();
        let Typed { ty, note } = typing.field(f, first.child_inst[fi].map(|c| names[c].as_str()), name, first.file);
        msg.fields.push(Field {
            name: f.wire().to_string(),
            proto_name: snake(&f.name),
            ty,
            optional,
            doc: with_note(doc_src, note),
            deprecated,
            required_marker,
        });
    }
    let mut aliases: BTreeSet<String> = idxs.iter().filter_map(|&i| insts[i].alias.clone()).collect();
    for &i in idxs {
        if insts[i].root.is_none() && insts[i].base != *name {
            aliases.insert(insts[i].base.clone());
        }
    }
    aliases.remove(name);
    msg.aliases = aliases.into_iter().collect();
    // Keys the JSON examples show but the field lists do not describe.
    let documented: BTreeSet<String> = msg.fields.iter().map(|f| f.name.clone()).collect();
    let mut undocumented = BTreeSet::new();
    for &i in idxs {
        if let Some(Value::Object(o)) = &insts[i].json {
            for k in o.keys().filter(|k| !documented.contains(*k)) {
                if undocumented.insert(k.clone()) {
                    if let Some(p) = pages.get(insts[i].file) {
                        warnings.push(p.warning(
                            insts[i].offset,
                            format!(
                                "the JSON example shows `{k}` in `{name}`, which the reference does not describe; \
                                 recorded as undocumented"
                            ),
                        ));
                    }
                }
            }
        }
    }
    msg.undocumented_fields = undocumented.into_iter().collect();
    msg
}

fn collect_enums(res: &Resolution) -> Vec<Enum> {
    let mut enums: BTreeMap<String, Vec<String>> = BTreeMap::new();
    fn walk(fields: &[FieldNode], enums: &mut BTreeMap<String, Vec<String>>) {
        for f in fields {
            match &f.kind {
                Kind::Enum { name, values, .. } => merge_values(enums.entry(name.clone()).or_default(), values),
                Kind::Message { children, .. } => walk(children, enums),
                Kind::Scalar => {}
            }
        }
    }
    for m in &res.methods {
        walk(&m.body, &mut enums);
        walk(&m.query, &mut enums);
        if let Response::Fields { fields, .. } = &m.response {
            walk(fields, &mut enums);
        }
    }
    for d in &res.domains {
        walk(&d.fields, &mut enums);
        if let Some(Head::EnumDecl { name, values, .. }) = &d.header {
            let name = name.clone().unwrap_or_else(|| title_to_type(&d.raw.title));
            // `Literal[…]` may be truncated (`2 more`); the value items after it are complete.
            let listed: Vec<String> = d
                .raw
                .entries
                .iter()
                .filter_map(|e| match &e.head {
                    Head::Value(v) => Some(v.clone()),
                    _ => None,
                })
                .collect();
            let entry = enums.entry(name).or_default();
            merge_values(entry, values);
            merge_values(entry, &listed);
        }
    }
    enums.into_iter().map(|(name, values)| Enum { name, doc: String::new(), values }).collect()
}

/// Longest documented order wins; values only another place lists are appended. A value listed twice counts
/// once (two variants cannot share a wire name), at its first place. `into` holds each value once: it is only
/// ever filled here.
fn merge_values(into: &mut Vec<String>, values: &[String]) {
    // Most places list an enum's values just as an earlier place did: appending them would add nothing.
    if into.as_slice() == values {
        return;
    }
    if values.len() > into.len() && values.starts_with(into) || into.is_empty() {
        let extra: Vec<String> = into.iter().filter(|v| !values.contains(v)).cloned().collect();
        *into = values.to_vec();
        into.extend(extra);
    } else {
        into.extend(values.iter().cloned());
    }
    // Which values come first, judged on borrowed text (no copy of a value to remember it).
    let first: Vec<bool> = {
        let mut seen = BTreeSet::new();
        into.iter().map(|v| seen.insert(v.as_str())).collect()
    };
    if first.contains(&false) {
        let mut keep = first.into_iter();
        into.retain(|_| keep.next().unwrap_or(true));
    }
}
fn services(
    res: &Resolution,
    roots: &[(usize, usize)],
    insts: &[Inst],
    names: &[String],
    typing: &mut Typing,
) -> Vec<Service> {
    let mut services: BTreeMap<String, Vec<Method>> = BTreeMap::new();
    for (m, &(req, resp)) in res.methods.iter().zip(roots) {
        let path = m.raw.path.clone().unwrap_or_default();
        let service = path.trim_start_matches('/').split('/').next().unwrap_or_default().to_string();
        let rpc = rpc_name(&m.raw.path, &m.raw.rpc);
        // Query parameters belong to no message; overrides and warnings name them `{Rpc}Request.query.{field}`.
        let owner = format!("{}.query", names[req]);
        let query: Vec<Field> = m
            .query
            .iter()
            .map(|f| {
                let Typed { ty, note } = typing.field(f, None, &owner, &m.raw.file);
                Field {
                    name: f.wire().to_string(),
                    proto_name: snake(&f.name),
                    ty,
                    optional: f.spelled.optional,
                    doc: with_note(docs::clean(&f.text), note),
                    deprecated: docs::is_deprecated(&f.text),
                    required_marker: docs::has_required_marker(&f.text),
                }
            })
            .collect();
        let doc = docs::clean(&m.raw.doc);
        let method = Method {
            name: rpc.clone(),
            path: path.clone(),
            resource: m
                .raw
                .sdk_resource
                .clone()
                .unwrap_or_else(|| http_resource(&service, m.raw.group_title.as_deref())),
            sdk_name: m.raw.sdk_name.clone(),
            deprecated: docs::is_deprecated(&doc),
            idempotent: is_idempotent(&rpc),
            doc,
            request: names[req].clone(),
            response: names[resp].clone(),
            pagination: pagination(insts, resp, names, !query.is_empty()),
            streaming: if m.raw.streaming { Streaming::Server } else { Streaming::Unary },
            query,
            doc_aliases: DocAliases { request: insts[req].alias.clone(), response: insts[resp].alias.clone() },
            examples: Examples {
                requests: m.raw.request_examples.clone(),
                python: m.raw.python.clone(),
                response: m.raw.json_text.as_deref().and_then(examples::canonical_json),
                python_args: None,
            },
        };
        services.entry(service).or_default().push(method);
    }
    services
        .into_iter()
        .map(|(name, mut methods)| {
            methods.sort_by(|a, b| a.name.cmp(&b.name));
            let short_name = name.rsplit('.').next().unwrap_or_default().to_string();
            Service { name, short_name, methods }
        })
        .collect()
}

/// A `Create*` RPC makes a new resource with a server-chosen id each time it is sent; the others
/// (Get, List, Update, Delete, Check, Validate, ...) can be repeated without a second effect.
fn is_idempotent(rpc: &str) -> bool {
    !rpc.starts_with("Create")
}
/// `ProjectService` + `Policies` → `projects.policies` (the HTTP pages give no SDK call).
fn http_resource(service: &str, group: Option<&str>) -> String {
    let short = service.rsplit('.').next().unwrap_or_default().trim_end_matches("Service");
    let mut res = plural(&snake(short));
    if let Some(g) = group {
        let g = snake(g);
        if g != res {
            res = format!("{res}.{g}");
        }
    }
    res
}

/// English plural of a snake_case resource name (its last word): `policy` → `policies`, `runner` → `runners`.
fn plural(word: &str) -> String {
    let consonant_y =
        word.strip_suffix('y').filter(|stem| stem.ends_with(|c: char| c.is_ascii_alphabetic() && !"aeiou".contains(c)));
    if let Some(stem) = consonant_y {
        format!("{stem}ies")
    } else if ["s", "x", "ch", "sh"].iter().any(|end| word.ends_with(end)) {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// A list method: query `token`/`pageSize`, a `pagination` with a string `nextToken` and one repeated message
/// field.
fn pagination(insts: &[Inst], resp: usize, names: &[String], has_query: bool) -> Option<Pagination> {
    let r = &insts[resp];
    let pag = r.fields.iter().position(|f| f.wire() == "pagination")?;
    let pag_inst = r.child_inst[pag]?;
    // The token is what the next request sends back: a string, or there is no page to ask for.
    let token = insts[pag_inst].fields.iter().find(|f| f.wire() == "nextToken")?;
    if !has_query || token.spelled.ty != TypeExpr::String {
        return None;
    }
    let lists: Vec<usize> = (0..r.fields.len())
        .filter(|&i| matches!(r.fields[i].spelled.ty, TypeExpr::List(_)) && r.child_inst[i].is_some())
        .collect();
    let [items] = lists.as_slice() else { return None };
    Some(Pagination {
        items: r.fields[*items].wire().to_string(),
        item_type: names[r.child_inst[*items]?].clone(),
        next_token: "pagination.nextToken".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_count_once_in_documented_order() {
        let list = |vs: &[&str]| vs.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        let mut values = vec![];
        // A list that repeats its values (thousands of times, in a mangled page) gives each value once.
        let repeated: Vec<String> = (0..2000).map(|i| ["A", "B", "A", "C"][i % 4].to_string()).collect();
        merge_values(&mut values, &repeated);
        assert_eq!(values, list(&["A", "B", "C"]));
        // A longer list in the same order wins; values only the other place lists are appended, once.
        merge_values(&mut values, &list(&["A", "B", "C", "D", "D"]));
        assert_eq!(values, list(&["A", "B", "C", "D"]));
        merge_values(&mut values, &list(&["E", "A", "E"]));
        assert_eq!(values, list(&["A", "B", "C", "D", "E"]));
    }

    #[test]
    fn resource_names_are_english_plurals() {
        assert_eq!(http_resource("gitpod.v1.ProjectService", Some("Policies")), "projects.policies");
        assert_eq!(http_resource("gitpod.v1.PolicyService", None), "policies");
        assert_eq!(http_resource("gitpod.v1.PolicyService", Some("Policies")), "policies");
        assert_eq!(http_resource("gitpod.v1.RunnerConfigurationService", None), "runner_configurations");
        let plurals = [("key", "keys"), ("day", "days"), ("class", "classes"), ("box", "boxes"), ("batch", "batches")];
        for (one, many) in plurals {
            assert_eq!(plural(one), many);
        }
        assert_eq!(plural("mesh"), "meshes");
    }
}
