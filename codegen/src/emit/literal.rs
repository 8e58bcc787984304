//! A request example (a JSON value the parser read against the request type) as a Rust
//! expression, for the examples in the client methods' rustdoc.

use super::types::TypeIndex;
use super::{moved, str_lit};
use crate::model::{Message, Type};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

/// Builds Rust expressions for example values; `types` is the path of the generated types module
/// as the example's code spells it.
pub struct LiteralWriter<'a, 'm> {
    pub index: &'a TypeIndex<'m>,
    pub types: TokenStream,
    /// The generated crate's name, for runtime helpers (`gitpod_api::runtime::wire`).
    pub krate: proc_macro2::Ident,
}

impl LiteralWriter<'_, '_> {
    /// `value` as an expression of message type `name`; `None` when it does not fit.
    pub fn message(&self, name: &str, value: &Value) -> Option<TokenStream> {
        let message: &Message = self.index.message(name)?;
        let Value::Object(object) = value else { return None };
        let names = self.index.names.fields(name);
        let types = &self.types;
        let ty = self.index.names.type_ident(name);
        let mut fields = Vec::new();
        for (key, v) in object {
            let (field, id) = message.fields.iter().zip(names).find(|(f, _)| &f.name == key)?;
            if v.is_null() {
                continue;
            }
            // Nested values are moved into the code around them (`moved`), not copied per level.
            let mut expr = self.value(&field.ty, v)?;
            if self.index.is_boxed(&message.name, &field.name) {
                let inner = moved(expr);
                expr = quote!(Box::new(#inner));
            }
            let is_collection = matches!(field.ty, Type::List { .. } | Type::Map { .. });
            let expr = moved(expr);
            fields.push(moved(if field.optional && !is_collection {
                quote!(#id: Some(#expr))
            } else {
                quote!(#id: #expr)
            }));
        }
        let rest = if fields.len() < message.fields.len() || !message.undocumented_fields.is_empty() {
            quote!(..Default::default())
        } else {
            quote!()
        };
        Some(quote!(#types::#ty { #( #fields, )* #rest }))
    }

    fn value(&self, ty: &Type, value: &Value) -> Option<TokenStream> {
        let types = &self.types;
        let krate = &self.krate;
        Some(match (ty, value) {
            (Type::String, Value::String(s)) => {
                let s = str_lit(s);
                quote!(#s.into())
            }
            (Type::Bool, Value::Bool(b)) => quote!(#b),
            (Type::Int32, Value::Number(n)) => {
                let v = n.as_i64().filter(|v| (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(v))?;
                quote!(#v)
            }
            (Type::Uint32, Value::Number(n)) => {
                let v = u32::try_from(n.as_u64()?).ok()?;
                quote!(#v)
            }
            (Type::Int64, v) => {
                let n: i64 = json_integer(v)?;
                quote!(#n)
            }
            (Type::Uint64, v) => {
                let n: u64 = json_integer(v)?;
                quote!(#n)
            }
            (Type::Float, Value::Number(n)) => {
                let v = n.as_f64()? as f32;
                quote!(#v)
            }
            (Type::Double, Value::Number(n)) => {
                let v = n.as_f64()?;
                quote!(#v)
            }
            (Type::Timestamp, Value::String(s)) => {
                let s = str_lit(s);
                quote!(#s.parse().unwrap())
            }
            (Type::Duration, Value::String(s)) => {
                let s = str_lit(s);
                quote!(#krate::runtime::wire::parse_duration(#s).unwrap())
            }
            (Type::Bytes, Value::String(s)) => {
                let s = str_lit(s);
                quote!(#krate::runtime::wire::decode_base64(#s).unwrap())
            }
            (Type::Any, v) => {
                let text = str_lit(&v.to_string());
                quote!(serde_json::from_str(#text).unwrap())
            }
            (Type::Enum { name }, Value::String(s)) => {
                let values = self.index.enum_values(name)?;
                let position = values.iter().position(|v| v == s)?;
                let variant = self.index.names.variants(name).get(position)?;
                let ty = self.index.names.type_ident(name);
                quote!(#types::#ty::#variant)
            }
            (Type::Message { name }, v) => self.message(name, v)?,
            (Type::List { item }, Value::Array(items)) => {
                let items = items.iter().map(|v| self.value(item, v).map(moved)).collect::<Option<Vec<_>>>()?;
                quote!(vec![#( #items ),*])
            }
            (Type::Map { value: inner }, Value::Object(map)) => {
                let entries = map
                    .iter()
                    .map(|(k, v)| {
                        let k = str_lit(k);
                        let v = moved(self.value(inner, v)?);
                        Some(moved(quote!((#k.to_string(), #v))))
                    })
                    .collect::<Option<Vec<_>>>()?;
                quote!([#( #entries ),*].into_iter().collect())
            }
            _ => return None,
        })
    }
}

fn json_integer<T: std::str::FromStr>(value: &Value) -> Option<T> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}
