//! Field types: settled from the spelled type and the evidence around it, because the docs spell several
//! wire types alike.
//!
//! In order: for a scalar field `spec/overrides.toml` wins; then the reference's JSON example values tell bytes (the base64
//! placeholder), durations (`"1.5s"`) and int64 (an int written as a string) from plain strings and ints;
//! an HTTP `number` is a double when an example shows a fraction, an int32 when the Python dialect types a
//! field of that wire name `int`, and otherwise a double with a warning. Types read from example values
//! carry a note for the field's doc instead of a warning, and are counted.

use super::fields::{FieldNode, Kind};
use super::instances::Inst;
use super::json_ref::JsonRef;
use super::overrides::Overrides;
use super::page::Page;
use super::resolve::Resolution;
use super::types::TypeExpr;
use crate::diag::Diagnostic;
use crate::model::Type;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// JSON example values seen per (message, field), borrowed from the instances (not copies of every subtree).
#[derive(Default)]
struct Evidence<'a> {
    /// By message, then field wire name (looked up by `&str`, so a lookup allocates nothing).
    values: BTreeMap<String, BTreeMap<&'a str, Vec<&'a Value>>>,
    /// Python `int` fields by wire name, for HTTP `number`.
    python_ints: BTreeSet<String>,
}

impl<'a> Evidence<'a> {
    /// Evidence from every emitted instance (under its final name in `names`) and every query parameter.
    fn gather(res: &Resolution, insts: &[Inst<'a>], names: &[String]) -> Self {
        let mut evidence = Evidence::default();
        for (i, inst) in insts.iter().enumerate() {
            if inst.absorbed() {
                continue;
            }
            evidence.add(&names[i], inst);
        }
        for f in res.methods.iter().flat_map(|m| &m.query) {
            if matches!(f.spelled.ty.element(), TypeExpr::Int) {
                evidence.python_ints.insert(f.wire().to_string());
            }
        }
        evidence
    }

    fn add(&mut self, msg: &str, inst: &Inst<'a>) {
        if !self.values.contains_key(msg) {
            self.values.insert(msg.to_string(), BTreeMap::new());
        }
        let Some(by_field) = self.values.get_mut(msg) else { return };
        let python_ints = &mut self.python_ints;
        for f in inst.fields {
            if matches!(f.spelled.ty.element(), TypeExpr::Int) && !python_ints.contains(f.wire()) {
                python_ints.insert(f.wire().to_string());
            }
            // The field's own example, then the instance's: an array counts as its elements.
            let own = f.example.as_ref().map(JsonRef::get);
            let in_instance = match inst.json {
                Some(Value::Object(o)) => o.get(f.wire()),
                _ => None,
            };
            let e = by_field.entry(f.wire()).or_default();
            for v in own.into_iter().chain(in_instance) {
                match v {
                    Value::Array(a) => e.extend(a.iter()),
                    other => e.push(other),
                }
            }
        }
    }
    fn get(&self, msg: &str, field: &str) -> &[&'a Value] {
        self.values.get(msg).and_then(|by_field| by_field.get(field)).map_or(&[], Vec::as_slice)
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
pub(super) struct Typing<'a> {
    ev: Evidence<'a>,
    ov: &'a Overrides,
    pages: &'a BTreeMap<String, Page<'a>>,
    warnings: Vec<Diagnostic>,
    /// Fields typed bytes, duration or int64 from their example values alone.
    inferred: usize,
}

/// A field's type and, when the examples settled it, the sentence that says so for its doc.
pub(super) struct Typed {
    pub(super) ty: Type,
    pub(super) note: Option<String>,
}

impl<'a> Typing<'a> {
    /// Typing with the evidence of `insts` (named by `names`) and the query parameters of `res`.
    pub(super) fn new(
        res: &Resolution,
        insts: &[Inst<'a>],
        names: &[String],
        ov: &'a Overrides,
        pages: &'a BTreeMap<String, Page<'a>>,
    ) -> Self {
        Typing { ev: Evidence::gather(res, insts, names), ov, pages, warnings: vec![], inferred: 0 }
    }

    /// The warnings given and the number of fields typed from example values alone.
    pub(super) fn finish(self) -> (Vec<Diagnostic>, usize) {
        (self.warnings, self.inferred)
    }

    /// The type of field `f` of `owner` (a message name, or `{Rpc}Request.query` for query parameters), spelled
    /// in `file`; `nested` names the message a message-typed field holds.
    pub(super) fn field(&mut self, f: &FieldNode, nested: Option<&str>, owner: &str, file: &str) -> Typed {
        let (element, note) = match (&f.kind, nested) {
            (Kind::Message { .. }, Some(n)) => (Type::Message { name: n.to_string() }, None),
            (Kind::Enum { name, .. }, _) => (Type::Enum { name: name.clone() }, None),
            _ => match self.ov.field_type(owner, f.wire()) {
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
        let values = self.ev.get(owner, f.wire());
        let strs: Vec<&str> = values.iter().filter_map(|v| v.as_str()).collect();
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
                } else if self.ev.python_ints.contains(f.wire()) {
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
            TypeExpr::Any | TypeExpr::Object(_) | TypeExpr::Named(_) | TypeExpr::InlineEnum(_) => (Type::Any, None),
            TypeExpr::List(_) | TypeExpr::Map(_) => (Type::Any, None),
        }
    }
}

/// A field's cleaned doc with the note on how its type was settled, as a paragraph of its own.
pub(super) fn with_note(doc: String, note: Option<String>) -> String {
    match note {
        Some(n) if doc.is_empty() => n,
        Some(n) => format!("{doc}\n\n{n}"),
        None => doc,
    }
}
