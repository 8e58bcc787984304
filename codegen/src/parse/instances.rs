//! Message instances: one per place a message structure appears (a method's request or response, a Domain
//! Types class, every nested message under them), each with a structure signature.
//!
//! Instances, not messages, are the unit here because the same docs name can carry different structures
//! (and different docs names the same one); the signature is what later tells them apart, so naming and
//! assembly never have to compare field lists themselves. This module also decides which Domain Types classes
//! are only another copy of a method's response (absorbed into it, never named or emitted) and which docs name
//! such a response carries.

use super::fields::{FieldNode, Kind};
use super::json_ref::JsonRef;
use super::names::pascal;
use super::resolve::{Resolution, Response};
use super::types::{Head, TypeExpr};
use serde_json::Value;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Side {
    Request,
    Response,
}

/// One place a message structure appears. Its fields and example are borrowed from the resolution: an instance
/// per nested message must not copy the subtree under it.
#[derive(Debug)]
pub(super) struct Inst<'a> {
    /// Fixed name for method roots (`{Rpc}Request`); `None` for named or inline types.
    pub(super) root: Option<String>,
    pub(super) base: String,
    pub(super) alias: Option<String>,
    pub(super) fields: &'a [FieldNode],
    /// Instance index of each field's nested message.
    pub(super) child_inst: Vec<Option<usize>>,
    pub(super) owner: Option<usize>,
    pub(super) side: Side,
    pub(super) domain_top: bool,
    pub(super) file: &'a str,
    pub(super) offset: usize,
    pub(super) json: Option<&'a Value>,
    pub(super) sig: String,
}

impl Inst<'_> {
    /// A Domain Types copy of a method's response: merged into that response, never named or emitted.
    pub(super) fn absorbed(&self) -> bool {
        self.root.as_deref() == Some("")
    }
}

/// Every instance, and for each method (in resolution order) the indices of its request and response roots.
pub(super) struct Instances<'a> {
    pub(super) insts: Vec<Inst<'a>>,
    pub(super) method_roots: Vec<(usize, usize)>,
}

struct Builder<'a> {
    insts: Vec<Inst<'a>>,
    names_in_docs: BTreeSet<String>,
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
    json: Option<&'a Value>,
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

impl<'a> Builder<'a> {
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
    fn add(&mut self, origin: Origin<'a>, fields: &'a [FieldNode]) -> usize {
        let idx = self.insts.len();
        let Origin { root, base, alias, owner, side, domain_top, file, offset, json } = origin;
        self.insts.push(Inst {
            root,
            base,
            alias,
            fields,
            child_inst: vec![None; fields.len()],
            owner,
            side,
            domain_top,
            file,
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
                    json: json.as_ref().map(JsonRef::get),
                };
                let c = self.add(child, children);
                self.insts[idx].child_inst[i] = Some(c);
            }
        }
        self.insts[idx].sig = sig_of(&self.insts, idx);
        idx
    }
}

/// Structure signature: field wire names and types, nested messages by base name and the digest of their own
/// signature. A digest, not the nested signature itself: spelled out, every level would repeat the whole
/// subtree below it and signatures would grow with the square of the nesting depth.
fn sig_of(insts: &[Inst], idx: usize) -> String {
    let inst = &insts[idx];
    // Written into one string (`wire:type`, comma-separated), with no string per field and no formatting
    // machinery (this runs once per instance, thousands of times).
    let mut sig = String::new();
    for (i, (f, c)) in inst.fields.iter().zip(&inst.child_inst).enumerate() {
        if i > 0 {
            sig.push(',');
        }
        let (open, close) = match &f.spelled.ty {
            TypeExpr::List(_) => ("[", "]"),
            TypeExpr::Map(_) => ("map[", "]"),
            _ => ("", ""),
        };
        sig.push_str(f.wire());
        sig.push(':');
        sig.push_str(open);
        match (&f.kind, c) {
            (Kind::Message { .. }, Some(c)) => {
                sig.push_str("msg ");
                sig.push_str(&insts[*c].base);
                sig.push('{');
                push_hex16(&mut sig, digest(&insts[*c].sig));
                sig.push('}');
            }
            (Kind::Enum { name, .. }, _) => {
                sig.push_str("enum ");
                sig.push_str(name);
            }
            _ => sig.push_str(scalar_sig(f.spelled.ty.element())),
        }
        sig.push_str(close);
    }
    sig
}

/// `value` as 16 lowercase hex digits, zero-padded (what `{:016x}` writes).
fn push_hex16(out: &mut String, value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        out.push(char::from(DIGITS[((value >> (shift * 4)) & 0xf) as usize]));
    }
}

/// 64-bit FNV-1a: stable across Rust versions and platforms (signatures order names, so they must not change
/// with the toolchain), and with a few thousand structures a collision is out of reach.
fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
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
        TypeExpr::InlineEnum(_) => "enum",
        TypeExpr::List(_) | TypeExpr::Map(_) => "nested",
    }
}

/// Every instance of `res`: roots first (request and response of every method, then Domain Types classes),
/// each followed by its nested messages.
pub(super) fn collect(res: &Resolution) -> Instances<'_> {
    let mut names_in_docs = BTreeSet::new();
    collect_names(res, &mut names_in_docs);
    let mut b = Builder { insts: vec![], names_in_docs };

    let mut method_roots = vec![];
    for m in &res.methods {
        let rpc = rpc_name(&m.raw.path, &m.raw.rpc);
        let req_root = Some(format!("{rpc}Request"));
        let alias = m.raw.params_alias.clone();
        let origin = Origin::top(req_root, String::new(), alias, Side::Request, &m.raw.file, m.raw.params_offset);
        let req = b.add(origin, &m.body);
        let (fields, alias) = match &m.response {
            Response::Empty => (&[][..], None),
            Response::Fields { class_name, fields } => (fields.as_slice(), class_name.clone()),
        };
        let alias =
            alias.or_else(|| m.raw.returns_spelling.clone().filter(|s| super::types::is_ident(s) && s != "object"));
        let resp_root = Some(format!("{rpc}Response"));
        let origin = Origin {
            json: m.json.as_deref(),
            ..Origin::top(resp_root, String::new(), alias, Side::Response, &m.raw.file, m.raw.returns_offset)
        };
        let resp = b.add(origin, fields);
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
    Instances { insts: b.insts, method_roots }
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

/// The RPC name of a method: the last segment of its path, else its title.
pub(super) fn rpc_name(path: &Option<String>, title: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digest_matches_the_format_spelling() {
        for value in [0, 1, 0xf, 0xabc, 0x0123_4567_89ab_cdef, u64::MAX, digest("a:string")] {
            let mut out = String::new();
            push_hex16(&mut out, value);
            assert_eq!(out, format!("{value:016x}"));
        }
    }
}
