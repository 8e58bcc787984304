//! `spec/overrides.toml`: facts the reference pages do not state (never fixes for parser mistakes).
//!
//! ```toml
//! [field_types]
//! "Message.wireName" = "int64"   # a field type the docs cannot express
//! ```

use crate::diag::Diagnostic;
use crate::model::Type;
use crate::SpecPage;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[serde(default)]
    field_types: BTreeMap<String, String>,
}

impl Overrides {
    pub fn parse(page: &SpecPage) -> Result<Self, Diagnostic> {
        let ov: Overrides = toml::from_str(&page.text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            Diagnostic::error(&page.file, &page.text, at, format!("overrides: {}", e.message()))
        })?;
        for (key, ty) in &ov.field_types {
            if scalar(ty).is_none() || !key.contains('.') {
                return Err(Diagnostic::error(
                    &page.file,
                    &page.text,
                    page.text.find(key.as_str()).unwrap_or(0),
                    format!("overrides: `{key} = \"{ty}\"` must be \"Message.field\" = a scalar type name"),
                ));
            }
        }
        Ok(ov)
    }

    pub fn field_type(&self, message: &str, field: &str) -> Option<Type> {
        self.field_types.get(&format!("{message}.{field}")).and_then(|t| scalar(t))
    }
}

fn scalar(name: &str) -> Option<Type> {
    Some(match name {
        "string" => Type::String,
        "bool" => Type::Bool,
        "int32" => Type::Int32,
        "int64" => Type::Int64,
        "uint32" => Type::Uint32,
        "uint64" => Type::Uint64,
        "float" => Type::Float,
        "double" => Type::Double,
        "bytes" => Type::Bytes,
        "timestamp" => Type::Timestamp,
        "duration" => Type::Duration,
        "any" => Type::Any,
        _ => return None,
    })
}
