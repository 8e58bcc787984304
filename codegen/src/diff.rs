//! What changed in the API between two models: added, removed and changed methods, messages,
//! fields and enum values, each marked breaking or not, so a reviewer sees the API change and
//! not only the text change.
//!
//! "Breaking" means an existing client or server built against the old crate may stop working or
//! stop compiling: something it uses is gone, or a type changed under it. Additions are not
//! breaking: on the wire, messages ignore unknown fields and enums are open; in Rust, generated
//! enums are `#[non_exhaustive]` and messages are meant to be built with `..Default::default()`
//! (as every generated example does), so a new field or value does not break a build.

use crate::model::{Enum, Field, Message, Method, Model, Type};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One change of the API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    pub breaking: bool,
    /// What changed, e.g. `method gitpod.v1.RunnerService/CreateRunner` or `field Runner.name`.
    pub subject: String,
    /// `added`, `removed`, or what changed (`type int32 -> string`).
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.breaking { "BREAKING" } else { "        " };
        write!(f, "{mark} {}: {}", self.subject, self.what)
    }
}

fn added(subject: String) -> Change {
    Change { breaking: false, subject, what: "added".into() }
}

fn removed(subject: String) -> Change {
    Change { breaking: true, subject, what: "removed".into() }
}

/// The changes from `old` to `new`, breaking ones first, each group sorted by subject.
pub fn diff(old: &Model, new: &Model) -> Vec<Change> {
    let mut changes = Vec::new();
    let methods = |m: &Model| -> BTreeMap<String, Method> {
        m.services.iter().flat_map(|s| s.methods.iter().map(|m| (m.path.clone(), m.clone()))).collect()
    };
    pair(&methods(old), &methods(new), "method", &mut changes, |subject, a, b, out| {
        for (what, x, y) in [("request", &a.request, &b.request), ("response", &a.response, &b.response)] {
            if x != y {
                out.push(Change { breaking: true, subject: subject.into(), what: format!("{what} {x} -> {y}") });
            }
        }
        if !a.deprecated && b.deprecated {
            out.push(Change { breaking: false, subject: subject.into(), what: "deprecated".into() });
        }
        if a.pagination.is_some() != b.pagination.is_some() {
            let what = if b.pagination.is_some() { "now paginated" } else { "no longer paginated" };
            out.push(Change { breaking: a.pagination.is_some(), subject: subject.into(), what: what.into() });
        }
    });
    let messages =
        |m: &Model| -> BTreeMap<String, Message> { m.messages.iter().map(|m| (m.name.clone(), m.clone())).collect() };
    pair(&messages(old), &messages(new), "message", &mut changes, |subject, a, b, out| {
        let fields =
            |m: &Message| -> BTreeMap<String, Field> { m.fields.iter().map(|f| (f.name.clone(), f.clone())).collect() };
        let name = subject.trim_start_matches("message ");
        pair(&fields(a), &fields(b), &format!("field {name}."), out, field_changes);
    });
    let enums = |m: &Model| -> BTreeMap<String, Enum> { m.enums.iter().map(|e| (e.name.clone(), e.clone())).collect() };
    pair(&enums(old), &enums(new), "enum", &mut changes, |subject, a, b, out| {
        let name = subject.trim_start_matches("enum ");
        for value in a.values.iter().filter(|v| !b.values.contains(v)) {
            out.push(removed(format!("enum value {name}.{value}")));
        }
        for value in b.values.iter().filter(|v| !a.values.contains(v)) {
            out.push(added(format!("enum value {name}.{value}")));
        }
    });
    changes.sort_by(|a, b| b.breaking.cmp(&a.breaking).then_with(|| a.subject.cmp(&b.subject)));
    changes
}

fn field_changes(subject: &str, a: &Field, b: &Field, out: &mut Vec<Change>) {
    if a.ty != b.ty {
        out.push(Change {
            breaking: true,
            subject: subject.into(),
            what: format!("type {} -> {}", type_name(&a.ty), type_name(&b.ty)),
        });
    }
    if a.optional != b.optional {
        let what = if b.optional { "now optional" } else { "now required" };
        out.push(Change { breaking: true, subject: subject.into(), what: what.into() });
    }
    if !a.deprecated && b.deprecated {
        out.push(Change { breaking: false, subject: subject.into(), what: "deprecated".into() });
    }
}

/// Compares two keyed collections: removed, added, and `changed` on the keys both have.
fn pair<T>(
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    kind: &str,
    out: &mut Vec<Change>,
    changed: impl Fn(&str, &T, &T, &mut Vec<Change>),
) {
    // `kind` is either a word (`method`) or a prefix ending in `.` (`field Runner.`).
    let subject = |key: &str| if kind.ends_with('.') { format!("{kind}{key}") } else { format!("{kind} {key}") };
    for (key, a) in old {
        match new.get(key) {
            None => out.push(removed(subject(key))),
            Some(b) => changed(&subject(key), a, b, out),
        }
    }
    for key in new.keys().filter(|k| !old.contains_key(*k)) {
        out.push(added(subject(key)));
    }
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::Message { name } | Type::Enum { name } => name.clone(),
        Type::List { item } => format!("list of {}", type_name(item)),
        Type::Map { value } => format!("map of {}", type_name(value)),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Service, Type};

    fn model() -> Model {
        Model {
            services: vec![Service {
                name: "x.v1.S".into(),
                short_name: "S".into(),
                methods: vec![Method {
                    name: "Get".into(),
                    path: "/x.v1.S/Get".into(),
                    request: "GetRequest".into(),
                    response: "GetResponse".into(),
                    ..Default::default()
                }],
            }],
            messages: vec![
                Message {
                    name: "GetRequest".into(),
                    fields: vec![Field::optional("id", "id", Type::String)],
                    ..Default::default()
                },
                Message {
                    name: "GetResponse".into(),
                    fields: vec![Field::optional("size", "size", Type::Int32)],
                    ..Default::default()
                },
            ],
            enums: vec![Enum {
                name: "Kind".into(),
                doc: String::new(),
                values: vec!["KIND_UNSPECIFIED".into(), "KIND_A".into()],
            }],
        }
    }

    #[test]
    fn no_change_no_report() {
        assert!(diff(&model(), &model()).is_empty());
    }

    #[test]
    fn additions_are_not_breaking_removals_and_type_changes_are() {
        let old = model();
        let mut new = model();
        new.messages[0].fields.push(Field::optional("name", "name", Type::String));
        new.messages[1].fields[0].ty = Type::Int64;
        new.enums[0].values.retain(|v| v != "KIND_A");
        new.enums[0].values.push("KIND_B".into());
        new.services[0].methods[0].deprecated = true;
        let report: Vec<String> = diff(&old, &new).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            report,
            [
                "BREAKING enum value Kind.KIND_A: removed",
                "BREAKING field GetResponse.size: type int32 -> int64",
                "         enum value Kind.KIND_B: added",
                "         field GetRequest.name: added",
                "         method /x.v1.S/Get: deprecated",
            ]
        );
        let back: Vec<String> = diff(&new, &old).iter().filter(|c| c.breaking).map(|c| c.subject.clone()).collect();
        assert_eq!(back, ["enum value Kind.KIND_B", "field GetRequest.name", "field GetResponse.size"]);
    }
}
