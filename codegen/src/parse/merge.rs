//! One model from all resolved lists: message instances are unified by name and structure, different
//! structures that share a docs name get scoped names, and types are settled with the examples' evidence.
//!
//! Naming rule for a docs name `X` carried by several different structures (deterministic, page-order free):
//! 1. the structure defined as a top-level Domain Types class keeps `X`;
//! 2. else, if there are exactly two and one is only used in requests and the other only in responses, they
//!    become `XRequest` and `XResponse` (the request and response `Pagination`);
//! 3. every other structure is prefixed with the name of the message that holds it
//!    (`RunnerConfigurationSchemaEnvironmentClass`), taking the first such owner by name.
//!
//! `XxxParam` is the request-side twin of `Xxx`: when the structures agree it is the same message, with the
//! `Param` name kept as an alias.

use super::docs;
use super::examples;
use super::names::{pascal, snake, title_to_type};
use super::nesting::{FieldNode, Kind};
use super::overrides::Overrides;
use super::page::Page;
use super::resolve::{Resolution, Response};
use super::types::{Head, TypeExpr};
use crate::diag::Diagnostic;
use crate::model::{DocAliases, Enum, Examples, Field, Message, Method, Model, Pagination, Service, Type};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Request,
    Response,
}

/// One place a message structure appears.
#[derive(Debug)]
struct Inst {
    /// Fixed name for method roots (`{Rpc}Request`); `None` for named or inline types.
    root: Option<String>,
    base: String,
    alias: Option<String>,
    fields: Vec<FieldNode>,
    /// Instance index of each field's nested message.
    child_inst: Vec<Option<usize>>,
    owner: Option<usize>,
    side: Side,
    domain_top: bool,
    file: String,
    offset: usize,
    json: Option<Value>,
    sig: String,
}

struct Builder {
    insts: Vec<Inst>,
    names_in_docs: BTreeSet<String>,
    warnings: Vec<Diagnostic>,
}

/// Where a new instance comes from: everything [`Inst`] holds but its fields and what is derived from them.
struct Origin<'a> {
    root: Option<String>,
    base: String,
    alias: Option<String>,
    owner: Option<usize>,
    side: Side,
    domain_top: bool,
    file: &'a str,
    offset: usize,
    json: Option<Value>,
}

impl<'a> Origin<'a> {
    /// A method's request or response (`{Rpc}Request`), or a Domain Types class when `root` is `None`.
    fn top(
        root: Option<String>,
        base: String,
        alias: Option<String>,
        side: Side,
        file: &'a str,
        offset: usize,
    ) -> Self {
        Origin { root, base, alias, owner: None, side, domain_top: false, file, offset, json: None }
    }
}

impl Builder {
    /// Base name of a nested message: its docs name with a twin's `Param` dropped, or the field name for
    /// inline objects.
    fn base_of(&self, f: &FieldNode) -> (String, Option<String>) {
        match &f.kind {
            Kind::Message { type_name: Some(t), .. } => match t.strip_suffix("Param") {
                Some(twin) if self.names_in_docs.contains(twin) => (twin.to_string(), Some(t.clone())),
                _ => (t.clone(), None),
            },
            _ => (pascal(&f.name), None),
        }
    }

    /// Adds one instance and, recursively, one per nested message field.
    fn add(&mut self, origin: Origin, fields: &[FieldNode]) -> usize {
        let idx = self.insts.len();
        let Origin { root, base, alias, owner, side, domain_top, file, offset, json } = origin;
        self.insts.push(Inst {
            root,
            base,
            alias,
            fields: fields.to_vec(),
            child_inst: vec![None; fields.len()],
            owner,
            side,
            domain_top,
            file: file.to_string(),
            offset,
            json,
            sig: String::new(),
        });
        for (i, f) in fields.iter().enumerate() {
            if let Kind::Message { children, json, .. } = &f.kind {
                let (base, alias) = self.base_of(f);
                let child = Origin {
                    root: None,
                    base,
                    alias,
                    owner: Some(idx),
                    side,
                    domain_top: false,
                    file,
                    offset: f.offset,
                    json: json.clone(),
                };
                let c = self.add(child, children);
                self.insts[idx].child_inst[i] = Some(c);
            }
        }
        self.insts[idx].sig = sig_of(&self.insts, idx);
        idx
    }
}

/// Structure signature: field wire names and types, nested messages by base name and structure.
fn sig_of(insts: &[Inst], idx: usize) -> String {
    let inst = &insts[idx];
    let parts: Vec<String> = inst
        .fields
        .iter()
        .zip(&inst.child_inst)
        .map(|(f, c)| {
            let inner = match (&f.kind, c) {
                (Kind::Message { .. }, Some(c)) => format!("msg {}{{{}}}", insts[*c].base, insts[*c].sig),
                (Kind::Enum { name, .. }, _) => format!("enum {name}"),
                _ => scalar_sig(f.spelled.ty.element()).to_string(),
            };
            let wrapped = match &f.spelled.ty {
                TypeExpr::List(_) => format!("[{inner}]"),
                TypeExpr::Map(_) => format!("map[{inner}]"),
                _ => inner,
            };
            format!("{}:{wrapped}", f.wire())
        })
        .collect();
    parts.join(",")
}

fn scalar_sig(t: &TypeExpr) -> &'static str {
    match t {
        TypeExpr::String => "string",
        TypeExpr::Bool => "bool",
        TypeExpr::Int | TypeExpr::Number => "number",
        TypeExpr::Float => "float",
        TypeExpr::Timestamp => "timestamp",
        TypeExpr::Bytes => "bytes",
        TypeExpr::Any => "any",
        TypeExpr::Named(_) => "named",
        TypeExpr::Object(_) => "object",
        TypeExpr::List(_) | TypeExpr::Map(_) => "nested",
    }
}

pub struct Built {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
    /// Fields typed bytes, duration or int64 from their example values (said in their docs, not warned).
    pub inferred_from_examples: usize,
}

pub fn build(res: &Resolution, pages: &BTreeMap<String, Page>, overrides: &Overrides) -> Built {
    let mut names_in_docs = BTreeSet::new();
    collect_names(res, &mut names_in_docs);
    let mut b = Builder { insts: vec![], names_in_docs, warnings: vec![] };

    // Roots first: request and response of every method, then Domain Types classes.
    let mut method_roots = vec![];
    for m in &res.methods {
        let rpc = rpc_name(&m.raw.path, &m.raw.rpc);
        let req_root = Some(format!("{rpc}Request"));
        let alias = m.raw.params_alias.clone();
        let origin = Origin::top(req_root, String::new(), alias, Side::Request, &m.raw.file, m.raw.params_offset);
        let req = b.add(origin, &m.body);
        let (fields, alias) = match &m.response {
            Response::Empty => (vec![], None),
            Response::Fields { class_name, fields } => (fields.clone(), class_name.clone()),
        };
        let alias =
            alias.or_else(|| m.raw.returns_spelling.clone().filter(|s| super::types::is_ident(s) && s != "object"));
        let resp_root = Some(format!("{rpc}Response"));
        let origin = Origin {
            json: m.json.clone(),
            ..Origin::top(resp_root, String::new(), alias, Side::Response, &m.raw.file, m.raw.returns_offset)
        };
        let resp = b.add(origin, &fields);
        method_roots.push((req, resp));
    }
    for d in &res.domains {
        if let Some(Head::Class { name, .. }) = &d.header {
            // A Domain Types copy of a method's response is that response.
            let origin = Origin {
                domain_top: true,
                ..Origin::top(None, name.clone(), None, Side::Response, &d.raw.file, d.raw.offset)
            };
            let probe = b.add(origin, &d.fields);
            let same_root = method_roots.iter().any(|&(_, r)| {
                b.insts[r].alias.as_deref() == Some(name.as_str()) && b.insts[r].sig == b.insts[probe].sig
            });
            // HTTP pages name a response only in Domain Types (`PolicyCreateResponse`): the method on the same
            // page whose RPC starts with that verb and whose response has this structure.
            let verb_root = (!same_root)
                .then(|| {
                    verb_match(&b, &method_roots, res, name, &d.raw.file, |r| b.insts[r].sig == b.insts[probe].sig)
                })
                .flatten();
            if let Some(r) = verb_root {
                b.insts[r].alias = Some(name.clone());
            }
            if same_root || verb_root.is_some() {
                b.insts[probe].domain_top = false;
                b.insts[probe].root = Some(String::new()); // marks it as absorbed; never named or emitted
            }
        }
        if let Some(Head::Untyped { name: Some(name) }) = &d.header {
            if let Some(r) = verb_match(&b, &method_roots, res, name, &d.raw.file, |r| b.insts[r].fields.is_empty()) {
                b.insts[r].alias = Some(name.clone());
            }
        }
    }

    let names = assign_names(&mut b);
    let mut model = Model::default();
    let mut evidence = Evidence::default();
    for (i, inst) in b.insts.iter().enumerate() {
        if inst.root.as_deref() == Some("") {
            continue;
        }
        evidence.add(&names[i], inst);
    }
    for f in res.methods.iter().flat_map(|m| &m.query) {
        if matches!(f.spelled.ty.element(), TypeExpr::Int) {
            evidence.python_ints.insert(f.wire());
        }
    }
    let mut typing = Typing { ev: &evidence, ov: overrides, pages, warnings: vec![], inferred: 0 };

    // Messages: one per distinct name, fields from all its instances (richest doc wins).
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, inst) in b.insts.iter().enumerate() {
        if inst.root.as_deref() != Some("") {
            by_name.entry(names[i].clone()).or_default().push(i);
        }
    }
    for (name, idxs) in &by_name {
        let first = &b.insts[idxs[0]];
        let mut msg = Message { name: name.clone(), ..Message::default() };
        for (fi, f) in first.fields.iter().enumerate() {
            let doc_src = idxs
                .iter()
                .filter_map(|&i| b.insts[i].fields.get(fi))
                .map(|f| docs::clean(&f.text))
                .max_by_key(|d| d.len())
                .unwrap_or_default();
            let raw_any = idxs.iter().filter_map(|&i| b.insts[i].fields.get(fi));
            let deprecated = raw_any.clone().any(|f| docs::is_deprecated(&f.text));
            let required_marker = raw_any.clone().any(|f| docs::has_required_marker(&f.text));
            let optional = raw_any.clone().all(|f| f.spelled.optional);
            let Typed { ty, note } =
                typing.field(f, first.child_inst[fi].map(|c| names[c].as_str()), name, &first.file);
            msg.fields.push(Field {
                name: f.wire(),
                proto_name: snake(&f.name),
                ty,
                optional,
                doc: with_note(doc_src, note),
                deprecated,
                required_marker,
            });
        }
        let mut aliases: BTreeSet<String> = idxs.iter().filter_map(|&i| b.insts[i].alias.clone()).collect();
        for &i in idxs {
            if b.insts[i].root.is_none() && b.insts[i].base != *name {
                aliases.insert(b.insts[i].base.clone());
            }
        }
        aliases.remove(name);
        msg.aliases = aliases.into_iter().collect();
        // Keys the JSON examples show but the field lists do not describe.
        let documented: BTreeSet<String> = msg.fields.iter().map(|f| f.name.clone()).collect();
        let mut undocumented = BTreeSet::new();
        for &i in idxs {
            if let Some(Value::Object(o)) = &b.insts[i].json {
                for k in o.keys().filter(|k| !documented.contains(*k)) {
                    if undocumented.insert(k.clone()) {
                        if let Some(p) = pages.get(&b.insts[i].file) {
                            b.warnings.push(p.warning(
                                b.insts[i].offset,
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
        model.messages.push(msg);
    }

    model.enums = collect_enums(res);
    model.services = services(res, &method_roots, &b, &names, &mut typing);
    let mut warnings = b.warnings;
    warnings.append(&mut typing.warnings);
    warnings.sort_by(|a, c| (&a.file, a.offset, &a.message).cmp(&(&c.file, c.offset, &c.message)));
    warnings.dedup();
    Built { model, warnings, inferred_from_examples: typing.inferred }
}

/// The method on `file` whose RPC starts with the verb of `{Thing}{Verb}Response` and whose response has no
/// docs name yet and passes `ok`.
fn verb_match(
    b: &Builder,
    roots: &[(usize, usize)],
    res: &Resolution,
    name: &str,
    file: &str,
    ok: impl Fn(usize) -> bool,
) -> Option<usize> {
    let stem = name.strip_suffix("Response")?;
    let verb_at = stem.rfind(|c: char| c.is_ascii_uppercase())?;
    let verb = &stem[verb_at..];
    let hits: Vec<usize> = res
        .methods
        .iter()
        .zip(roots)
        .filter(|(m, &(_, r))| m.raw.file == file && m.raw.rpc.starts_with(verb) && b.insts[r].alias.is_none() && ok(r))
        .map(|(_, &(_, r))| r)
        .collect();
    match hits.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// A `Create*` RPC makes a new resource with a server-chosen id each time it is sent; the others
/// (Get, List, Update, Delete, Check, Validate, ...) can be repeated without a second effect.
fn is_idempotent(rpc: &str) -> bool {
    !rpc.starts_with("Create")
}

fn rpc_name(path: &Option<String>, title: &str) -> String {
    path.as_deref().and_then(|p| p.rsplit('/').next()).filter(|s| !s.is_empty()).unwrap_or(title).to_string()
}

fn collect_names(res: &Resolution, out: &mut BTreeSet<String>) {
    fn walk(fields: &[FieldNode], out: &mut BTreeSet<String>) {
        for f in fields {
            if let Kind::Message { type_name, children, .. } = &f.kind {
                if let Some(t) = type_name {
                    out.insert(t.clone());
                }
                walk(children, out);
            }
        }
    }
    for m in &res.methods {
        walk(&m.body, out);
        if let Response::Fields { class_name, fields } = &m.response {
            out.extend(class_name.clone());
            walk(fields, out);
        }
    }
    for d in &res.domains {
        if let Some(Head::Class { name, .. }) = &d.header {
            out.insert(name.clone());
        }
        walk(&d.fields, out);
    }
}

/// Final names for every instance, by the rule in the module docs.
fn assign_names(b: &mut Builder) -> Vec<String> {
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    for (i, inst) in b.insts.iter().enumerate() {
        if inst.root.is_none() {
            groups.entry(inst.base.clone()).or_default().entry(inst.sig.clone()).or_default().push(i);
        }
    }
    let mut names: Vec<Option<String>> = b.insts.iter().map(|i| i.root.clone().filter(|r| !r.is_empty())).collect();
    // Names settled without owners first; scoped ones need their owner's name, so resolve outside-in.
    let mut scoped: Vec<(String, Vec<usize>)> = vec![];
    for (base, sigs) in &groups {
        if sigs.len() == 1 {
            for idxs in sigs.values() {
                idxs.iter().for_each(|&i| names[i] = Some(base.clone()));
            }
            continue;
        }
        let tops: Vec<&String> =
            sigs.iter().filter(|(_, v)| v.iter().any(|&i| b.insts[i].domain_top)).map(|(s, _)| s).collect();
        let sides = |v: &Vec<usize>| v.iter().map(|&i| b.insts[i].side).collect::<BTreeSet<_>>();
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
            let owners: Option<Vec<String>> =
                idxs.iter().map(|&i| b.insts[i].owner.and_then(|o| names[o].clone())).collect();
            if let Some(mut owners) = owners {
                owners.sort();
                let name = format!("{}{}", owners.first().cloned().unwrap_or_default(), base);
                idxs.iter().for_each(|&i| names[i] = Some(name.clone()));
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    // Two scoped structures may still meet under one name: number the later ones.
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let mut out = vec![String::new(); names.len()];
    for (i, n) in names.into_iter().enumerate() {
        let mut n = n.unwrap_or_else(|| b.insts[i].base.clone());
        let sig = &b.insts[i].sig;
        if b.insts[i].root.is_none() {
            let mut k = 2;
            let stem = n.clone();
            while taken.get(&n).is_some_and(|s| s != sig) {
                n = format!("{stem}{k}");
                k += 1;
            }
            taken.insert(n.clone(), sig.clone());
        }
        out[i] = n;
    }
    out
}

/// JSON example values seen per (message, field).
#[derive(Default)]
struct Evidence {
    values: BTreeMap<(String, String), Vec<Value>>,
    /// Python `int` fields by wire name, for HTTP `number`.
    python_ints: BTreeSet<String>,
}

impl Evidence {
    fn add(&mut self, msg: &str, inst: &Inst) {
        for f in &inst.fields {
            if matches!(f.spelled.ty.element(), TypeExpr::Int) {
                self.python_ints.insert(f.wire());
            }
            let mut vals = vec![];
            if let Some(v) = &f.example {
                vals.push(v.clone());
            }
            if let Some(Value::Object(o)) = &inst.json {
                if let Some(v) = o.get(&f.wire()) {
                    vals.push(v.clone());
                }
            }
            let e = self.values.entry((msg.to_string(), f.wire())).or_default();
            for v in vals {
                match v {
                    Value::Array(a) => e.extend(a),
                    other => e.push(other),
                }
            }
        }
    }
    fn get(&self, msg: &str, field: &str) -> &[Value] {
        self.values.get(&(msg.to_string(), field.to_string())).map_or(&[], Vec::as_slice)
    }
}

const BYTES_PLACEHOLDER: &str = "U3RhaW5sZXNzIHJvY2tz";

fn is_duration(s: &str) -> bool {
    let body = s.trim_start_matches(['+', '-']);
    body.strip_suffix('s').is_some_and(|n| {
        !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.') && n.contains(|c: char| c.is_ascii_digit())
    })
}

/// Settles field types: overrides first, then the spelled type with the examples' evidence. Collects the
/// warnings it gives (an HTTP `number` nothing else types) and counts the types read from example values.
struct Typing<'a> {
    ev: &'a Evidence,
    ov: &'a Overrides,
    pages: &'a BTreeMap<String, Page>,
    warnings: Vec<Diagnostic>,
    /// Fields typed bytes, duration or int64 from their example values alone.
    inferred: usize,
}

/// A field's type and, when the examples settled it, the sentence that says so for its doc.
struct Typed {
    ty: Type,
    note: Option<String>,
}

impl Typing<'_> {
    /// The type of field `f` of `owner` (a message name, or `{Rpc}Request.query` for query parameters), spelled
    /// in `file`; `nested` names the message a message-typed field holds.
    fn field(&mut self, f: &FieldNode, nested: Option<&str>, owner: &str, file: &str) -> Typed {
        let (element, note) = match (&f.kind, nested) {
            (Kind::Message { .. }, Some(n)) => (Type::Message { name: n.to_string() }, None),
            (Kind::Enum { name, .. }, _) => (Type::Enum { name: name.clone() }, None),
            _ => match self.ov.field_type(owner, &f.wire()) {
                Some(t) => return Typed { ty: t, note: None },
                None => self.scalar(f, owner, file),
            },
        };
        if note.is_some() {
            self.inferred += 1;
        }
        let ty = match &f.spelled.ty {
            TypeExpr::List(_) => Type::List { item: Box::new(element) },
            TypeExpr::Map(_) => Type::Map { value: Box::new(element) },
            _ => element,
        };
        Typed { ty, note }
    }

    fn scalar(&mut self, f: &FieldNode, owner: &str, file: &str) -> (Type, Option<String>) {
        let values = self.ev.get(owner, &f.wire());
        let strs: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        // The docs spell bytes, durations and int64 as `str`/`int`; the wire form in the examples tells them apart.
        let shown = |s: &str| format!("the reference's JSON example shows `{}`.", Value::from(s));
        match f.spelled.ty.element() {
            TypeExpr::String => {
                if strs.contains(&BYTES_PLACEHOLDER) {
                    (Type::Bytes, Some(format!("On the wire this is bytes (base64): {}", shown(BYTES_PLACEHOLDER))))
                } else if !strs.is_empty() && strs.iter().all(|s| is_duration(s)) {
                    let note = format!("On the wire this is a Duration (`\"1.5s\"`): {}", shown(strs[0]));
                    (Type::Duration, Some(note))
                } else {
                    (Type::String, None)
                }
            }
            TypeExpr::Bool => (Type::Bool, None),
            // int64 is written as a string in ProtoJSON; the examples show which ints those are.
            TypeExpr::Int | TypeExpr::Number if !strs.is_empty() => {
                let note = format!("On the wire this is a 64-bit integer written as a string: {}", shown(strs[0]));
                (Type::Int64, Some(note))
            }
            TypeExpr::Int => (Type::Int32, None),
            TypeExpr::Number => {
                if values.iter().any(|v| v.is_f64()) {
                    (Type::Double, None)
                } else if self.ev.python_ints.contains(&f.wire()) {
                    (Type::Int32, None)
                } else {
                    // Neither an example nor the Python dialect says whether this `number` is an integer.
                    if let Some(p) = self.pages.get(file) {
                        let message = format!(
                            "`{owner}.{}` is an HTTP `number` no other page types; read as double \
                             (spec/overrides.toml can say otherwise)",
                            f.wire()
                        );
                        self.warnings.push(p.warning(f.offset, message));
                    }
                    (Type::Double, None)
                }
            }
            TypeExpr::Float => (Type::Double, None),
            TypeExpr::Timestamp => (Type::Timestamp, None),
            TypeExpr::Bytes => (Type::Bytes, None),
            TypeExpr::Any | TypeExpr::Object(_) | TypeExpr::Named(_) => (Type::Any, None),
            TypeExpr::List(_) | TypeExpr::Map(_) => (Type::Any, None),
        }
    }
}

/// A field's cleaned doc with the note on how its type was settled, as a paragraph of its own.
fn with_note(doc: String, note: Option<String>) -> String {
    match note {
        Some(n) if doc.is_empty() => n,
        Some(n) => format!("{doc}\n\n{n}"),
        None => doc,
    }
}

fn collect_enums(res: &Resolution) -> Vec<Enum> {
    let mut enums: BTreeMap<String, Vec<String>> = BTreeMap::new();
    fn walk(fields: &[FieldNode], enums: &mut BTreeMap<String, Vec<String>>) {
        for f in fields {
            match &f.kind {
                Kind::Enum { name, values } => merge_values(enums.entry(name.clone()).or_default(), values),
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

/// Longest documented order wins; values only another place lists are appended.
fn merge_values(into: &mut Vec<String>, values: &[String]) {
    if values.len() > into.len() && values.starts_with(into) || into.is_empty() {
        let extra: Vec<String> = into.iter().filter(|v| !values.contains(v)).cloned().collect();
        *into = values.to_vec();
        into.extend(extra);
    } else {
        for v in values {
            if !into.contains(v) {
                into.push(v.clone());
            }
        }
    }
}

fn services(
    res: &Resolution,
    roots: &[(usize, usize)],
    b: &Builder,
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
                    name: f.wire(),
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
            pagination: pagination(&b.insts, resp, names, !query.is_empty()),
            query,
            doc_aliases: DocAliases { request: b.insts[req].alias.clone(), response: b.insts[resp].alias.clone() },
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

/// A list method: query `token`/`pageSize`, a `pagination` with `nextToken` and one repeated message field.
fn pagination(insts: &[Inst], resp: usize, names: &[String], has_query: bool) -> Option<Pagination> {
    let r = &insts[resp];
    let pag = r.fields.iter().position(|f| f.wire() == "pagination")?;
    let pag_inst = r.child_inst[pag]?;
    if !has_query || !insts[pag_inst].fields.iter().any(|f| f.wire() == "nextToken") {
        return None;
    }
    let lists: Vec<usize> = (0..r.fields.len())
        .filter(|&i| matches!(r.fields[i].spelled.ty, TypeExpr::List(_)) && r.child_inst[i].is_some())
        .collect();
    let [items] = lists.as_slice() else { return None };
    Some(Pagination {
        items: r.fields[*items].wire(),
        item_type: names[r.child_inst[*items]?].clone(),
        next_token: "pagination.nextToken".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
