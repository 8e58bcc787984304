//! Runs the nesting pass over every field list of every method and Domain Types definition.
//!
//! Pass 1 nests the lists that have a JSON example (responses) and the Domain Types definitions, and records the
//! field sets they confirm per type name. Pass 2 nests every list again with those sets as evidence; only pass 2
//! counts decisions and reports findings. A list nested again with the same evidence (its own example or
//! skeleton, and unchanged field sets for every type it looked up) is not nested again: [`NestCache`].

use super::dialect::PageEnvelope;
use super::fields::{DecisionStats, Entry, FieldNode, Finding, Kind, Outcome, Reads, Registry, Signal};
use super::json_ref::JsonRef;
use super::nesting::nest;
use super::page::Page;
use super::sections::{Dialect, RawDomain, RawMethod};
use super::types::{Head, TypeExpr};
use crate::diag::Diagnostic;
use serde_json::Value;
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// What a method returns, nested.
#[derive(Debug, Clone)]
pub enum Response {
    /// `object`, `unknown`, or no Returns section: an empty message.
    Empty,
    /// A list of fields (Python `class X` header or HTTP fields), `class_name` when the docs name it.
    Fields { class_name: Option<String>, fields: Vec<FieldNode> },
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub raw: RawMethod,
    pub json: Option<Rc<Value>>,
    pub query: Vec<FieldNode>,
    pub body: Vec<FieldNode>,
    pub response: Response,
}

#[derive(Debug, Clone)]
pub struct ResolvedDomain {
    pub raw: RawDomain,
    /// The header item (`class X`, `Literal[…]`, `X = unknown`).
    pub header: Option<Head>,
    pub fields: Vec<FieldNode>,
}

#[derive(Debug, Default)]
pub struct Resolution {
    pub methods: Vec<Resolved>,
    pub domains: Vec<ResolvedDomain>,
    pub boundaries: DecisionStats,
    pub kinds: DecisionStats,
}

fn split_header(entries: &[Entry]) -> (Option<Head>, &[Entry]) {
    match entries.first().map(|e| &e.head) {
        Some(h @ (Head::Class { .. } | Head::EnumDecl { .. } | Head::Untyped { .. })) => {
            (Some(h.clone()), &entries[1..])
        }
        _ => (None, entries),
    }
}

pub fn resolve(
    methods: Vec<RawMethod>,
    domains: Vec<RawDomain>,
    pages: &BTreeMap<String, Page>,
    warnings: &mut Vec<Diagnostic>,
) -> Resolution {
    let mut registry = Registry::default();
    let mut cache = NestCache::default();
    collect_enums(&methods, &domains, &mut registry);
    for d in domains.iter().flat_map(|d| std::iter::once(d).chain(d.twin.as_deref())) {
        if let Some(Head::Class { name, fields: Some(members) }) = d.entries.first().map(|e| &e.head) {
            registry.counts.insert(name.clone(), members.count);
        }
    }

    let jsons: Vec<Option<Rc<Value>>> = methods
        .iter()
        .map(|m| m.json_text.as_deref().and_then(|t| serde_json::from_str(t).ok()).map(Rc::new))
        .collect();
    for (m, j) in methods.iter().zip(&jsons) {
        if m.json_text.is_some() && j.is_none() {
            if let Some(p) = pages.get(&m.file) {
                warnings.push(p.warning(m.json_offset, "the JSON response example is not valid JSON; not used"));
            }
        }
    }

    // Pass 1: lists with a JSON example confirm the field sets of the types they contain.
    for (m, j) in methods.iter().zip(&jsons) {
        let (res, _, _) = nest_response(m, j.clone().map(JsonRef::new), &registry, &mut cache, false);
        if let Response::Fields { class_name, fields } = &res {
            if let Some(c) = class_name {
                registry.add_shape(c, Signal::JsonExample, fields.iter().map(|f| f.wire().to_string()).collect());
            }
            record_shapes(fields, &mut registry, Signal::JsonExample);
        }
    }
    let with_twins = methods.iter().flat_map(|m| std::iter::once(m).chain(m.twin.as_deref()));
    for m in with_twins.filter(|m| m.dialect == Dialect::Http) {
        let out = cache.nest(&m.params, None, None, &registry, m.dialect);
        record_shapes(&out.fields, &mut registry, Signal::KnownType);
    }
    // Domain Types definitions end at a heading, so their top level is exact.
    for d in &domains {
        let (header, rest) = split_header(&d.entries);
        if let Some(Head::Class { name, .. }) = header {
            let skeleton = domain_skeleton(d, &registry, &mut cache);
            let out = cache.nest(rest, skeleton, Some(&name), &registry, d.dialect);
            registry.add_shape(&name, Signal::KnownType, out.fields.iter().map(|f| f.wire().to_string()).collect());
        }
    }

    // A method documented in both dialects: the other copy's nesting (HTTP states member counts) is the
    // skeleton this copy's request is nested against, as a JSON example would be.
    let skeletons: Vec<Option<JsonRef>> = methods
        .iter()
        .map(|m| {
            let twin = m.twin.as_deref()?;
            Some(cache.skeleton(&twin.params, None, None, &registry, twin.dialect))
        })
        .collect();

    // Pass 2: everything, counted.
    let mut res = Resolution::default();
    for ((m, j), skeleton) in methods.into_iter().zip(jsons).zip(skeletons) {
        let page = pages.get(&m.file);
        let mut report = |findings: Vec<Finding>| {
            if let Some(p) = page {
                warnings.extend(findings.into_iter().map(|f| p.warning(f.offset, f.message)));
            }
        };
        let (response, b, k) = nest_response(&m, j.clone().map(JsonRef::new), &registry, &mut cache, true);
        res.boundaries.add(&b.0);
        res.kinds.add(&k);
        report(b.1);

        let mut query = vec![];
        let mut params: &[Entry] = &m.params;
        // Python list methods document the query parameters `token`, `page_size` among the body fields: after the
        // required ones, before the other optional ones.
        let mut body_entries;
        let rules = super::dialect::rules(m.dialect);
        let returns_page = m.returns_spelling.as_deref().and_then(|r| rules.page_item(r)).is_some();
        if let Some(i) = rules.query_among_body(params, returns_page) {
            query.extend(params[i..i + 2].iter().cloned());
            body_entries = params[..i].to_vec();
            body_entries.extend_from_slice(&params[i + 2..]);
            params = &body_entries;
        }
        query.extend(m.query.iter().cloned());
        let q = nest(&query, None, None, &registry, m.dialect);
        let body = nest(params, skeleton, None, &registry, m.dialect);
        res.boundaries.add(&body.boundaries);
        res.kinds.add(&body.kinds);
        report(body.findings);
        report(q.findings);
        res.methods.push(Resolved { raw: m, json: j, query: q.fields, body: body.fields, response });
    }
    for d in domains {
        let (header, rest) = split_header(&d.entries);
        // An enum definition lists its values after the header; there is nothing to nest.
        let rest = if matches!(header, Some(Head::EnumDecl { .. })) { &[][..] } else { rest };
        let class = match &header {
            Some(Head::Class { name, .. }) => Some(name.as_str()),
            _ => None,
        };
        let skeleton = domain_skeleton(&d, &registry, &mut cache);
        let out = cache.nest_last(rest, skeleton, class, &registry, d.dialect);
        res.boundaries.add(&out.boundaries);
        res.kinds.add(&out.kinds);
        if let Some(p) = pages.get(&d.file) {
            warnings.extend(out.findings.into_iter().map(|f| p.warning(f.offset, f.message)));
        }
        res.domains.push(ResolvedDomain { raw: d, header, fields: out.fields });
    }
    super::inline_enums::scope_inline_enums(&mut res);
    res
}

/// The JSON shape of a nested field list: every field a key in documented order, messages as objects (in a
/// one-element array for lists, under one key for maps), scalars `null`.
fn skeleton(fields: &[FieldNode]) -> Value {
    let mut object = serde_json::Map::new();
    for f in fields {
        let value = match &f.kind {
            Kind::Message { children, .. } => {
                let inner = skeleton(children);
                match &f.spelled.ty {
                    TypeExpr::List(_) => Value::Array(vec![inner]),
                    TypeExpr::Map(_) => Value::Object(serde_json::Map::from_iter([("key".to_string(), inner)])),
                    _ => inner,
                }
            }
            _ => Value::Null,
        };
        object.insert(f.wire().to_string(), value);
    }
    Value::Object(object)
}

type Counted = (DecisionStats, Vec<Finding>);

/// Nesting results of the raw lists (a method's parameters or returns, a definition's entries), so a list
/// nested again with the same inputs is not nested again: pass 2 re-nests what pass 1 did, and twins are
/// nested both as evidence and as skeletons. A result is reused while every field set it read is unchanged
/// (`Registry::unchanged`), so it is the result nesting would give again.
///
/// Lists are known by where they live: only lists of the raw methods and definitions, which stay in place
/// until `resolve` returns, go through the cache (never a temporary list, whose address could be reused).
#[derive(Default)]
struct NestCache {
    lists: HashMap<(*const Entry, usize), Vec<Cached>>,
}

struct Cached {
    json: Option<JsonRef>,
    root_type: Option<String>,
    dialect: Dialect,
    reads: Reads,
    /// Shared with the callers that only read it (most do), so a reuse copies nothing.
    outcome: Rc<Outcome>,
    /// The [`skeleton`] of the outcome's fields, made when first asked for: the same skeleton (the same
    /// `JsonRef`) each time, so the lists nested against it find it equal without comparing values.
    skeleton: OnceCell<JsonRef>,
}

impl NestCache {
    /// [`nest`], or the result of an earlier call with the same inputs that still holds.
    fn nest(
        &mut self,
        entries: &[Entry],
        json: Option<JsonRef>,
        root_type: Option<&str>,
        registry: &Registry,
        dialect: Dialect,
    ) -> Rc<Outcome> {
        let (calls, at) = self.cached(entries, json, root_type, registry, dialect);
        Rc::clone(&calls[at].outcome)
    }

    /// [`NestCache::nest`] for the last use of a list: the result is handed over, not copied.
    fn nest_last(
        &mut self,
        entries: &[Entry],
        json: Option<JsonRef>,
        root_type: Option<&str>,
        registry: &Registry,
        dialect: Dialect,
    ) -> Outcome {
        let (calls, at) = self.cached(entries, json, root_type, registry, dialect);
        Rc::unwrap_or_clone(calls.swap_remove(at).outcome)
    }

    /// The [`skeleton`] of [`NestCache::nest`]'s fields.
    fn skeleton(
        &mut self,
        entries: &[Entry],
        json: Option<JsonRef>,
        root_type: Option<&str>,
        registry: &Registry,
        dialect: Dialect,
    ) -> JsonRef {
        let (calls, at) = self.cached(entries, json, root_type, registry, dialect);
        let c = &calls[at];
        c.skeleton.get_or_init(|| JsonRef::new(Rc::new(skeleton(&c.outcome.fields)))).clone()
    }

    /// The results kept for `entries`, and which of them holds for these inputs (nested now if none does).
    fn cached(
        &mut self,
        entries: &[Entry],
        json: Option<JsonRef>,
        root_type: Option<&str>,
        registry: &Registry,
        dialect: Dialect,
    ) -> (&mut Vec<Cached>, usize) {
        let calls = self.lists.entry((entries.as_ptr(), entries.len())).or_default();
        let same_inputs = |c: &Cached| c.dialect == dialect && c.root_type.as_deref() == root_type && c.json == json;
        if let Some(at) = calls.iter().position(|c| same_inputs(c) && registry.unchanged(&c.reads)) {
            return (calls, at);
        }
        registry.take_reads();
        let outcome = Rc::new(nest(entries, json.clone(), root_type, registry, dialect));
        let reads = registry.take_reads();
        calls.retain(|c| !same_inputs(c));
        let root_type = root_type.map(str::to_string);
        calls.push(Cached { json, root_type, dialect, reads, outcome, skeleton: OnceCell::new() });
        let at = calls.len() - 1;
        (calls, at)
    }
}

/// Nests a method's returns; `last_use` when the list is not nested again (its cached result is handed over).
fn nest_response(
    m: &RawMethod,
    json: Option<JsonRef>,
    registry: &Registry,
    cache: &mut NestCache,
    last_use: bool,
) -> (Response, Counted, DecisionStats) {
    let mut nest = |rest, json, root_type, registry, dialect| {
        if last_use {
            cache.nest_last(rest, json, root_type, registry, dialect)
        } else {
            Rc::unwrap_or_clone(cache.nest(rest, json, root_type, registry, dialect))
        }
    };
    let (header, rest) = split_header(&m.returns);
    if matches!(header, Some(Head::Untyped { .. })) || m.returns.is_empty() {
        return (Response::Empty, (DecisionStats::default(), vec![]), DecisionStats::default());
    }
    let class_name = match &header {
        Some(Head::Class { name, .. }) => Some(name.clone()),
        _ => None,
    };
    // A list method whose dialect documents only the item type: its fields sit under the envelope's items key.
    if let Some(page) = PageEnvelope::of(m.dialect, m.returns_spelling.as_deref(), json.as_ref()) {
        let out = nest(rest, page.item_example(), Some(&page.item), registry, m.dialect);
        let fields = page.fields(out.fields, m.returns_offset);
        return (Response::Fields { class_name: None, fields }, (out.boundaries, out.findings), out.kinds);
    }
    let out = nest(rest, json, class_name.as_deref(), registry, m.dialect);
    (Response::Fields { class_name, fields: out.fields }, (out.boundaries, out.findings), out.kinds)
}

/// The skeleton of a Domain Types definition's twin in the other dialect.
fn domain_skeleton(d: &RawDomain, registry: &Registry, cache: &mut NestCache) -> Option<JsonRef> {
    let twin = d.twin.as_deref()?;
    let (header, rest) = split_header(&twin.entries);
    let Some(Head::Class { name, .. }) = header else { return None };
    Some(cache.skeleton(rest, None, Some(&name), registry, twin.dialect))
}

/// Records the field sets of the messages in `fields`, by their docs name. An HTTP inline `object { a, b }`
/// confirms the shape of the type its field name names in the Python dialect (`pagination` → `Pagination`).
fn record_shapes(fields: &[FieldNode], registry: &mut Registry, signal: Signal) {
    for f in fields {
        if let Kind::Message { type_name, children, .. } = &f.kind {
            let name = type_name.clone().unwrap_or_else(|| super::names::pascal(&f.name));
            registry.add_shape(&name, signal, children.iter().map(|f| f.wire().to_string()).collect());
            record_shapes(children, registry, signal);
        }
    }
}

/// Enum names: a named type followed by quoted values anywhere, and Domain Types `Literal[…]` / `X = "A" or …`.
fn collect_enums(methods: &[RawMethod], domains: &[RawDomain], registry: &mut Registry) {
    let lists =
        methods.iter().flat_map(|m| [&m.params, &m.query, &m.returns]).chain(domains.iter().map(|d| &d.entries));
    for list in lists {
        for pair in list.windows(2) {
            if let (Head::Field { spelled, .. }, Head::Value(_)) = (&pair[0].head, &pair[1].head) {
                if let TypeExpr::Named(n) = spelled.ty.element() {
                    registry.enums.insert(n.clone());
                }
            }
        }
    }
    for d in domains {
        match d.entries.first().map(|e| &e.head) {
            Some(Head::EnumDecl { name: Some(n), .. }) => {
                registry.enums.insert(n.clone());
            }
            Some(Head::EnumDecl { name: None, .. }) => {
                registry.enums.insert(super::names::title_to_type(&d.title));
            }
            _ => {}
        }
    }
}
