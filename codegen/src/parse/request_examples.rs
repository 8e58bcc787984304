//! The request examples (YAML blocks and the Python call's keyword arguments) read back into JSON
//! request values, guided by the request message's fields.
//!
//! After the whitespace collapse a YAML block like `spec: desiredPhase: X configuration: region: "r"`
//! no longer says where `configuration` belongs, so the reader walks the request type: a key opens
//! the field it names in the innermost open message that has such a field. The same walk reads the
//! blocks whose indentation survived, so both forms give the same value. Python calls are parsed as
//! the literal subset of Python they use (strings, numbers, booleans, `None`, dicts, lists) and their
//! snake_case keys mapped to wire names through the same fields.

use super::literals::{python_kwargs, yaml_tokens, YamlScalar, YamlToken};
use crate::model::{Field, Message, Model, Type};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// An example that does not fit its request type.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleProblem {
    /// Procedure path of the method.
    pub method: String,
    /// Which example: the YAML block's title, or `Python call`.
    pub example: String,
    pub message: String,
}

/// Fills `RequestExample::value` and `Examples::python_args` for every method of `model`.
pub fn read_all(model: &mut Model) -> Vec<ExampleProblem> {
    let messages: BTreeMap<String, Message> = model.messages.iter().map(|m| (m.name.clone(), m.clone())).collect();
    let enums: BTreeMap<String, Vec<String>> = model.enums.iter().map(|e| (e.name.clone(), e.values.clone())).collect();
    let mut problems = Vec::new();
    for method in model.services.iter_mut().flat_map(|s| s.methods.iter_mut()) {
        let Some(request) = messages.get(&method.request) else {
            continue;
        };
        let reader = TypedReader { messages: &messages, enums: &enums };
        for example in &mut method.examples.requests {
            match reader.yaml(&example.yaml, request) {
                Ok(value) => example.value = Some(value),
                Err(message) => problems.push(ExampleProblem {
                    method: method.path.clone(),
                    example: example.title.clone(),
                    message,
                }),
            }
        }
        if let Some(call) = &method.examples.python {
            match python_kwargs(call).and_then(|args| reader.python(&args, request)) {
                Ok(value) => method.examples.python_args = Some(value),
                Err(message) => problems.push(ExampleProblem {
                    method: method.path.clone(),
                    example: "Python call".to_string(),
                    message,
                }),
            }
        }
    }
    problems
}

struct TypedReader<'a> {
    messages: &'a BTreeMap<String, Message>,
    enums: &'a BTreeMap<String, Vec<String>>,
}

/// A field of a message found by its wire name or its snake_case name.
fn find_field<'m>(message: &'m Message, key: &str) -> Option<&'m Field> {
    message.fields.iter().find(|f| f.name == key).or_else(|| message.fields.iter().find(|f| f.proto_name == key))
}

impl TypedReader<'_> {
    fn message(&self, name: &str) -> Result<&Message, String> {
        self.messages.get(name).ok_or_else(|| format!("unknown message `{name}`"))
    }

    /// Reads a (possibly whitespace-collapsed) YAML mapping as a value of `request`.
    fn yaml(&self, text: &str, request: &Message) -> Result<Value, String> {
        let tokens = yaml_tokens(text)?;
        let mut i = 0;
        let value = self.yaml_message(&tokens, &mut i, request)?;
        match tokens.get(i) {
            None => Ok(Value::Object(value)),
            Some(YamlToken::Key(key)) => {
                Err(format!("`{key}` is not a field of `{}` or of any message it opens", request.name))
            }
            Some(other) => Err(format!("unexpected {other:?} at the top level")),
        }
    }

    /// Reads keys into one message for as long as they name fields it does not have yet; the
    /// first key that does not belongs to an enclosing message (the innermost-first reading).
    fn yaml_message(
        &self,
        tokens: &[YamlToken],
        i: &mut usize,
        message: &Message,
    ) -> Result<Map<String, Value>, String> {
        let mut object = Map::new();
        while let Some(YamlToken::Key(key)) = tokens.get(*i) {
            let Some(field) = find_field(message, key).filter(|f| !object.contains_key(&f.name)) else {
                break;
            };
            *i += 1;
            let value = match (&field.ty, tokens.get(*i)) {
                (Type::Message { name }, Some(YamlToken::Key(_))) => {
                    Value::Object(self.yaml_message(tokens, i, self.message(name)?)?)
                }
                (Type::List { item }, Some(YamlToken::Dash)) => {
                    let mut items = Vec::new();
                    while let Some(YamlToken::Dash) = tokens.get(*i) {
                        *i += 1;
                        items.push(match (&**item, tokens.get(*i)) {
                            (Type::Message { name }, Some(YamlToken::Key(_))) => {
                                Value::Object(self.yaml_message(tokens, i, self.message(name)?)?)
                            }
                            (_, Some(YamlToken::Scalar(raw))) => {
                                *i += 1;
                                self.scalar(raw, item).map_err(|e| format!("`{key}`: {e}"))?
                            }
                            (_, other) => return Err(format!("`{key}`: a list item has no value (found {other:?})")),
                        });
                    }
                    Value::Array(items)
                }
                (_, Some(YamlToken::Scalar(raw))) => {
                    *i += 1;
                    self.scalar(raw, &field.ty).map_err(|e| format!("`{key}`: {e}"))?
                }
                (_, Some(YamlToken::Flow(raws))) => {
                    let Type::List { item } = &field.ty else {
                        return Err(format!("`{key}` is not a list but the example gives one"));
                    };
                    *i += 1;
                    Value::Array(raws.iter().map(|raw| self.scalar(raw, item)).collect::<Result<Vec<_>, _>>()?)
                }
                (_, other) => return Err(format!("`{key}` has no value that fits its type (found {other:?})")),
            };
            object.insert(field.name.clone(), value);
        }
        Ok(object)
    }

    /// A YAML scalar as a JSON value of type `ty`.
    fn scalar(&self, raw: &YamlScalar, ty: &Type) -> Result<Value, String> {
        let text = match raw {
            YamlScalar::Quoted(s) => return self.typed_string(s, ty),
            YamlScalar::Plain(s) => s.as_str(),
        };
        match ty {
            Type::Bool => match text {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("`{text}` is not a boolean")),
            },
            Type::Int32 | Type::Uint32 | Type::Float | Type::Double => {
                text.parse::<Number>().map(Value::Number).map_err(|_| format!("`{text}` is not a number"))
            }
            Type::Int64 | Type::Uint64 => text
                .parse::<i128>()
                .map(|_| Value::String(text.to_string()))
                .map_err(|_| format!("`{text}` is not an integer")),
            _ => self.typed_string(text, ty),
        }
    }

    fn typed_string(&self, s: &str, ty: &Type) -> Result<Value, String> {
        match ty {
            Type::String | Type::Bytes | Type::Timestamp | Type::Duration | Type::Int64 | Type::Uint64 | Type::Any => {
                Ok(Value::String(s.to_string()))
            }
            Type::Enum { name } => self.enum_value(s, name),
            other => Err(format!("a string does not fit a field of type {other:?}")),
        }
    }

    fn enum_value(&self, s: &str, enum_name: &str) -> Result<Value, String> {
        match self.enums.get(enum_name) {
            Some(values) if values.iter().any(|v| v == s) => Ok(Value::String(s.to_string())),
            Some(_) => Err(format!("`{s}` is not a value of `{enum_name}`")),
            None => Err(format!("unknown enum `{enum_name}`")),
        }
    }

    /// Python keyword arguments (already parsed) as a value of `request`, keys mapped to wire names.
    fn python(&self, value: &Value, request: &Message) -> Result<Value, String> {
        let Value::Object(args) = value else {
            return Err("keyword arguments are not a mapping".into());
        };
        let mut out = Map::new();
        for (key, v) in args {
            let field =
                find_field(request, key).ok_or_else(|| format!("`{key}` is not a field of `{}`", request.name))?;
            out.insert(field.name.clone(), self.python_value(v, &field.ty).map_err(|e| format!("`{key}`: {e}"))?);
        }
        Ok(Value::Object(out))
    }

    fn python_value(&self, value: &Value, ty: &Type) -> Result<Value, String> {
        match (ty, value) {
            (Type::Message { name }, Value::Object(_)) => self.python(value, self.message(name)?),
            (Type::List { item }, Value::Array(items)) => {
                items.iter().map(|v| self.python_value(v, item)).collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            (Type::Map { value: inner }, Value::Object(map)) => map
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.python_value(v, inner)?)))
                .collect::<Result<Map<_, _>, String>>()
                .map(Value::Object),
            (Type::Int64 | Type::Uint64, Value::Number(n)) => Ok(Value::String(n.to_string())),
            (_, Value::Null) => Ok(Value::Null),
            (Type::Bool, Value::Bool(_))
            | (Type::Int32 | Type::Uint32 | Type::Float | Type::Double, Value::Number(_))
            | (Type::Any, _) => Ok(value.clone()),
            (Type::Enum { name }, Value::String(s)) => self.enum_value(s, name),
            (
                Type::String | Type::Bytes | Type::Timestamp | Type::Duration | Type::Int64 | Type::Uint64,
                Value::String(_),
            ) => Ok(value.clone()),
            (ty, v) => Err(format!("{v} does not fit a field of type {ty:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Field, Message};

    fn messages() -> BTreeMap<String, Message> {
        let msg = |name: &str, fields: Vec<Field>| Message { name: name.into(), fields, ..Default::default() };
        let list = vec![
            msg(
                "Req",
                vec![
                    Field::optional("name", "name", Type::String),
                    Field::optional("spec", "spec", Type::Message { name: "Spec".into() }),
                    Field::optional("pagination", "pagination", Type::Message { name: "Page".into() }),
                    Field::optional(
                        "providers",
                        "providers",
                        Type::List { item: Box::new(Type::Enum { name: "P".into() }) },
                    ),
                    Field::optional(
                        "pairs",
                        "pairs",
                        Type::List { item: Box::new(Type::Message { name: "Pair".into() }) },
                    ),
                    Field::optional("expiresAt", "expires_at", Type::Timestamp),
                ],
            ),
            msg(
                "Spec",
                vec![
                    Field::optional("configuration", "configuration", Type::Message { name: "Config".into() }),
                    Field::optional("desiredPhase", "desired_phase", Type::Enum { name: "Phase".into() }),
                ],
            ),
            msg(
                "Config",
                vec![
                    Field::optional("autoUpdate", "auto_update", Type::Bool),
                    Field::optional("region", "region", Type::String),
                ],
            ),
            msg("Page", vec![Field::optional("pageSize", "page_size", Type::Int32)]),
            msg(
                "Pair",
                vec![Field::optional("key", "key", Type::String), Field::optional("value", "value", Type::String)],
            ),
        ];
        list.into_iter().map(|m| (m.name.clone(), m)).collect()
    }

    fn enums() -> BTreeMap<String, Vec<String>> {
        [("Phase".to_string(), vec!["ACTIVE".to_string()]), ("P".to_string(), vec!["A".to_string(), "B".to_string()])]
            .into_iter()
            .collect()
    }

    #[test]
    fn collapsed_and_indented_yaml_read_the_same() {
        let messages = messages();
        let enums = enums();
        let reader = TypedReader { messages: &messages, enums: &enums };
        let req = &messages["Req"];
        let collapsed = concat!(
            r#"name: "Prod" spec: desiredPhase: ACTIVE configuration: region: "us" autoUpdate: true "#,
            r#"pagination: pageSize: 20 providers: ["A", "B"]"#,
        );
        let indented = concat!(
            "name: \"Prod\"\nspec:\n  desiredPhase: ACTIVE\n",
            "  configuration:\n    region: \"us\"\n    autoUpdate: true\n",
            "pagination:\n  pageSize: 20\nproviders: [\"A\", \"B\"]\n",
        );
        let want = serde_json::json!({
            "name": "Prod",
            "spec": {"desiredPhase": "ACTIVE", "configuration": {"region": "us", "autoUpdate": true}},
            "pagination": {"pageSize": 20},
            "providers": ["A", "B"]
        });
        assert_eq!(reader.yaml(collapsed, req).unwrap(), want);
        assert_eq!(reader.yaml(indented, req).unwrap(), want);
    }

    #[test]
    fn python_kwargs_map_to_wire_names() {
        let messages = messages();
        let enums = enums();
        let reader = TypedReader { messages: &messages, enums: &enums };
        let call = concat!(
            r#"client.x.create( name="Prod", spec={ "configuration": { "auto_update": True, "region": "us", }, "#,
            r#""desired_phase": "ACTIVE", }, pagination={"page_size": 20}, )"#,
        );
        let args = python_kwargs(call).unwrap();
        let value = reader.python(&args, &messages["Req"]).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "name": "Prod",
                "spec": {"configuration": {"autoUpdate": true, "region": "us"}, "desiredPhase": "ACTIVE"},
                "pagination": {"pageSize": 20}
            })
        );
    }

    #[test]
    fn block_sequences_and_datetimes() {
        let messages = messages();
        let enums = enums();
        let reader = TypedReader { messages: &messages, enums: &enums };
        let yaml = r#"name: "n" pairs: - key: "cpu" value: "8" - key: "mem" value: "16" spec: desiredPhase: ACTIVE"#;
        assert_eq!(
            reader.yaml(yaml, &messages["Req"]).unwrap(),
            serde_json::json!({
                "name": "n",
                "pairs": [{"key": "cpu", "value": "8"}, {"key": "mem", "value": "16"}],
                "spec": {"desiredPhase": "ACTIVE"}
            })
        );
        let args = python_kwargs(r#"client.x(expires_at=datetime.fromisoformat("2024-12-31T23:59:59"), )"#).unwrap();
        assert_eq!(
            reader.python(&args, &messages["Req"]).unwrap(),
            serde_json::json!({"expiresAt": "2024-12-31T23:59:59Z"})
        );
    }

    #[test]
    fn misfits_are_reported_not_guessed() {
        let messages = messages();
        let enums = enums();
        let reader = TypedReader { messages: &messages, enums: &enums };
        assert!(reader.yaml("nope: 1", &messages["Req"]).unwrap_err().contains("`nope`"));
        assert!(reader.yaml("pagination: pageSize: abc", &messages["Req"]).is_err());
        assert!(reader.yaml("spec: desiredPhase: GONE", &messages["Req"]).unwrap_err().contains("GONE"));
        assert!(python_kwargs("client.x(name=undefined_variable)").is_err());
    }
}
