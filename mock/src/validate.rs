//! Request validation against the model, with ProtoJSON's input rules: lowerCamelCase and
//! snake_case names, `null` as unset, 64-bit integers as strings or numbers, enums as names or
//! numbers, bytes as (URL-safe or standard, padded or not) base64, RFC 3339 timestamps, `"1.5s"`
//! durations. Unlike a ProtoJSON decoder, unknown fields are errors: the mock exists to catch them.
//!
//! The scalar rules are not restated here: every number, bytes, timestamp and duration value is
//! read with the runtime's own functions ([`gitpod_runtime::wire`]: `parse_int32`, `parse_uint32`,
//! `parse_int64`, `parse_uint64`, `parse_float`, `parse_double`, `decode_base64`,
//! `parse_timestamp`, `parse_duration`), the ones the generated code decodes with, so the mock
//! accepts exactly what a generated server accepts. Enum numbers follow the int32 rule, as
//! `gitpod_runtime::enums::deserialize` does for numbers.

use gitpod_model::{Enum, Message, Model, Type};
use gitpod_runtime::wire;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// A request that does not fit the schema: where (`spec.configuration.releaseChannel`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted path of the offending field, wire (lowerCamelCase) names, `[i]` for list items.
    /// Empty when the whole body is wrong.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "request body: {}", self.problem)
        } else {
            write!(f, "field `{}`: {}", self.path, self.problem)
        }
    }
}

/// The messages and enums of a model, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    messages: HashMap<String, Message>,
    enums: HashMap<String, Enum>,
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Schema {
    pub(crate) fn new(model: &Model) -> Self {
        Schema {
            messages: model.messages.iter().map(|m| (m.name.clone(), m.clone())).collect(),
            enums: model.enums.iter().map(|e| (e.name.clone(), e.clone())).collect(),
        }
    }

    pub(crate) fn has_message(&self, name: &str) -> bool {
        self.messages.contains_key(name)
    }

    /// Checks a request body against the message `name`.
    pub(crate) fn check_request(&self, body: &Value, name: &str) -> Result<(), Invalid> {
        match self.messages.get(name) {
            Some(m) => self.check_message(body, m, ""),
            // The model does not describe the message: nothing to check against.
            None => Ok(()),
        }
    }

    fn check_message(&self, v: &Value, msg: &Message, path: &str) -> Result<(), Invalid> {
        let Value::Object(obj) = v else {
            return Err(Invalid {
                path: path.to_owned(),
                problem: format!("expected an object ({}), got {}", msg.name, kind(v)),
            });
        };
        let mut seen: HashMap<usize, &str> = HashMap::new();
        for (key, value) in obj {
            let found = msg.fields.iter().position(|f| {
                f.name == *key
                    || f.proto_name == *key
                    || gitpod_runtime::wire::json_names::to_json_name(&f.proto_name) == *key
            });
            if found.is_none()
                && msg
                    .undocumented_fields
                    .iter()
                    .any(|u| *u == *key || *u == gitpod_runtime::wire::json_names::to_json_name(key))
            {
                // A field the model records from the examples (not described): accepted as is.
                continue;
            }
            let Some(i) = found else {
                let mut known: Vec<&str> = msg.fields.iter().map(|f| f.name.as_str()).collect();
                known.sort_unstable();
                let known = if known.is_empty() {
                    "it has no fields".to_owned()
                } else {
                    format!("known: {}", known.join(", "))
                };
                return Err(Invalid {
                    path: join(path, key),
                    problem: format!("unknown field of {} ({known})", msg.name),
                });
            };
            let field = &msg.fields[i];
            if let Some(other) = seen.insert(i, key) {
                return Err(Invalid {
                    path: join(path, &field.name),
                    problem: format!("given twice, as `{other}` and as `{key}`"),
                });
            }
            if value.is_null() {
                continue; // ProtoJSON: null means unset
            }
            self.check_type(value, &field.ty, &join(path, &field.name))?;
        }
        Ok(())
    }

    fn check_type(&self, v: &Value, ty: &Type, path: &str) -> Result<(), Invalid> {
        let bad = |problem: String| Err(Invalid { path: path.to_owned(), problem });
        // The runtime's message is the one a generated server gives for the same value.
        let scalar = |read: Result<(), String>| read.map_err(|problem| Invalid { path: path.to_owned(), problem });
        match ty {
            Type::String => match v {
                Value::String(_) => Ok(()),
                _ => bad(format!("expected a string, got {}", describe(v))),
            },
            Type::Bool => match v {
                Value::Bool(_) => Ok(()),
                _ => bad(format!("expected a bool, got {}", describe(v))),
            },
            Type::Int32 => scalar(wire::parse_int32_wide(v).map(drop)),
            Type::Uint32 => scalar(wire::parse_uint32(v).map(drop)),
            Type::Int64 => scalar(wire::parse_int64(v).map(drop)),
            Type::Uint64 => scalar(wire::parse_uint64(v).map(drop)),
            Type::Float => scalar(wire::parse_float(v).map(drop)),
            Type::Double => scalar(wire::parse_double(v).map(drop)),
            Type::Bytes => match v {
                Value::String(s) => match wire::decode_base64(s) {
                    Ok(_) => Ok(()),
                    Err(e) => bad(format!("expected base64 bytes, got {s:?} ({e})")),
                },
                _ => bad(format!("expected base64 bytes (a string), got {}", describe(v))),
            },
            Type::Timestamp => match v {
                Value::String(s) => match wire::parse_timestamp(s) {
                    Ok(_) => Ok(()),
                    Err(e) => bad(format!("expected an RFC 3339 timestamp: {e}")),
                },
                _ => bad(format!("expected an RFC 3339 timestamp (a string), got {}", describe(v))),
            },
            Type::Duration => match v {
                Value::String(s) => match wire::parse_duration(s) {
                    Ok(_) => Ok(()),
                    Err(e) => bad(e),
                },
                _ => bad(format!("expected a duration like \"1.5s\", got {}", describe(v))),
            },
            Type::Any => Ok(()),
            Type::Message { name } => match self.messages.get(name) {
                Some(m) => self.check_message(v, m, path),
                None => match v {
                    Value::Object(_) => Ok(()),
                    _ => bad(format!("expected an object ({name}), got {}", describe(v))),
                },
            },
            Type::Enum { name } => {
                let e = self.enums.get(name);
                match v {
                    Value::String(s) => match e {
                        Some(e) if !e.values.iter().any(|x| x == s) => {
                            bad(format!("{s:?} is not a value of {name} (one of {})", e.values.join(", ")))
                        }
                        _ => Ok(()),
                    },
                    // Open enums: any int32 number is accepted (integral floats such as `1.0` included).
                    Value::Number(_) => {
                        scalar(wire::parse_int32(v).map(drop).map_err(|e| format!("not a {name} number: {e}")))
                    }
                    _ => bad(format!("expected a {name} value (a string), got {}", describe(v))),
                }
            }
            Type::List { item } => match v {
                Value::Array(items) => {
                    for (i, x) in items.iter().enumerate() {
                        let p = format!("{path}[{i}]");
                        if x.is_null() {
                            return Err(Invalid { path: p, problem: "null is not allowed in a list".into() });
                        }
                        self.check_type(x, item, &p)?;
                    }
                    Ok(())
                }
                _ => bad(format!("expected an array, got {}", describe(v))),
            },
            Type::Map { value } => match v {
                Value::Object(entries) => {
                    for (k, x) in entries {
                        let p = join(path, k);
                        if x.is_null() {
                            return Err(Invalid { path: p, problem: "null is not allowed as a map value".into() });
                        }
                        self.check_type(x, value, &p)?;
                    }
                    Ok(())
                }
                _ => bad(format!("expected an object (map), got {}", describe(v))),
            },
        }
    }
}

/// `a string ("x")`, `a number (5)`: the kind plus a short rendering of the value.
fn describe(v: &Value) -> String {
    match v {
        Value::Null | Value::Array(_) | Value::Object(_) => kind(v).to_owned(),
        _ => {
            let mut s = v.to_string();
            if s.len() > 40 {
                let mut end = 40;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.truncate(end);
                s.push('…');
            }
            format!("{} ({s})", kind(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitpod_model::Field;
    use serde_json::json;

    fn schema() -> Schema {
        let model = Model {
            services: vec![],
            messages: vec![
                Message {
                    name: "Req".into(),
                    fields: vec![
                        Field::optional("runnerId", "runner_id", Type::String),
                        Field::optional("count", "count", Type::Int64),
                        Field::optional("small", "small", Type::Int32),
                        Field::optional("when", "when", Type::Timestamp),
                        Field::optional("data", "data", Type::Bytes),
                        Field::optional("spec", "spec", Type::Message { name: "Spec".into() }),
                        Field::optional("tags", "tags", Type::List { item: Box::new(Type::String) }),
                        Field::optional("ttl", "ttl", Type::Duration),
                        Field::optional("ratio", "ratio", Type::Float),
                        Field::optional("weight", "weight", Type::Double),
                        Field::optional("big", "big", Type::Uint64),
                    ],
                    ..Default::default()
                },
                Message {
                    name: "Spec".into(),
                    fields: vec![Field::optional(
                        "releaseChannel",
                        "release_channel",
                        Type::Enum { name: "Channel".into() },
                    )],
                    ..Default::default()
                },
            ],
            enums: vec![Enum {
                name: "Channel".into(),
                doc: String::new(),
                values: vec!["CHANNEL_UNSPECIFIED".into(), "CHANNEL_STABLE".into()],
            }],
        };
        Schema::new(&model)
    }

    fn check(v: Value) -> Result<(), Invalid> {
        schema().check_request(&v, "Req")
    }

    fn path_of(v: Value) -> String {
        check(v).expect_err("should be invalid").path
    }

    #[test]
    fn accepts_protojson_spellings() {
        check(json!({})).unwrap();
        check(json!({"runnerId": "r", "count": "12", "small": 5, "when": "2024-01-02T03:04:05.123456789Z",
                     "data": "aGk", "spec": {"release_channel": "CHANNEL_STABLE"}, "tags": ["a"], "ttl": "1.5s"}))
        .unwrap();
        check(json!({"runner_id": "r", "count": 12, "small": "5", "data": "aGk_-w==", "spec": {"releaseChannel": 1}}))
            .unwrap();
        check(json!({"runnerId": null, "spec": null, "tags": null, "when": "2024-01-02T03:04:05+02:00"})).unwrap();
    }

    #[test]
    fn names_the_field() {
        assert_eq!(path_of(json!({"bogus": 1})), "bogus");
        assert_eq!(path_of(json!({"runnerId": 5})), "runnerId");
        assert_eq!(path_of(json!({"spec": {"releaseChannel": "NOPE"}})), "spec.releaseChannel");
        assert_eq!(path_of(json!({"spec": {"release_channel": true}})), "spec.releaseChannel");
        assert_eq!(path_of(json!({"spec": {"extra": 1}})), "spec.extra");
        assert_eq!(path_of(json!({"spec": []})), "spec");
        assert_eq!(path_of(json!({"count": "12x"})), "count");
        assert_eq!(path_of(json!({"count": 1.5})), "count");
        // `int` fields hold int32 and uint32 values (the pages cannot tell which): 3e9 fits, 5e9 does not.
        check(json!({"small": 3_000_000_000_u64})).unwrap();
        assert_eq!(path_of(json!({"small": 5_000_000_000_u64})), "small");
        assert_eq!(path_of(json!({"when": "2024-13-02T03:04:05Z"})), "when");
        assert_eq!(path_of(json!({"when": "2024-12-31T23:59:59"})), "when");
        assert_eq!(path_of(json!({"data": "not base64!"})), "data");
        assert_eq!(path_of(json!({"tags": ["a", 1]})), "tags[1]");
        assert_eq!(path_of(json!({"ttl": "5m"})), "ttl");
        assert_eq!(path_of(json!({"runnerId": "a", "runner_id": "b"})), "runnerId");
        assert_eq!(path_of(json!([])), "");
    }

    /// The scalar rules are the runtime's (what a generated server decodes), messages included.
    #[test]
    fn scalar_rules_are_the_runtimes() {
        let problem = |v: Value| check(v).expect_err("should be invalid").problem;
        // Before the rules were shared the mock accepted any finite number for a `float`; f32's range wins.
        assert_eq!(path_of(json!({"ratio": 1e39})), "ratio");
        assert_eq!(path_of(json!({"ratio": "-1e39"})), "ratio");
        check(json!({"ratio": "3.5", "weight": 1e39})).unwrap();
        check(json!({"ratio": "NaN", "weight": "-Infinity", "big": "18446744073709551615"})).unwrap();
        assert_eq!(path_of(json!({"weight": "nan"})), "weight");
        assert_eq!(path_of(json!({"big": -1})), "big");
        check(json!({"small": "1e1", "count": "+5", "big": 7.0, "spec": {"releaseChannel": 1.0}})).unwrap();
        assert_eq!(
            problem(json!({"small": 5_000_000_000_u64})),
            wire::parse_int32_wide(&json!(5_000_000_000_u64)).unwrap_err()
        );
        assert_eq!(problem(json!({"count": "12x"})), wire::parse_int64(&json!("12x")).unwrap_err());
        assert_eq!(path_of(json!({"spec": {"releaseChannel": 2_147_483_648_u64}})), "spec.releaseChannel");
        assert_eq!(path_of(json!({"spec": {"releaseChannel": 1.5}})), "spec.releaseChannel");
    }
}
