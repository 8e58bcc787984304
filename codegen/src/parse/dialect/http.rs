//! The HTTP dialect: no signatures, `optional array of X` spellings, `object { a, b, 2 more... }` summaries
//! with member counts, query parameters in a section of their own, type names only for top-level types.

use super::{Dialect, Rules, Signature};
use crate::parse::fields::Entry;
use crate::parse::types::{is_ident, quoted_list, trim, Members, Spelled, TypeExpr};

pub struct Http;

impl Rules for Http {
    fn dialect(&self) -> Dialect {
        Dialect::Http
    }

    fn signature(&self, _code: &str) -> Option<Signature> {
        None
    }

    fn spelling(&self, s: &str, _notes: &mut Vec<String>) -> Option<Spelled> {
        let s = trim(s);
        match s.strip_prefix("optional ") {
            Some(inner) => Some(Spelled { ty: parse(inner)?, optional: true }),
            None => Some(Spelled { ty: parse(s)?, optional: false }),
        }
    }

    /// Query parameters have their own `### Query Parameters` section.
    fn query_among_body(&self, _params: &[Entry], _returns_page: bool) -> Option<usize> {
        None
    }

    /// Without a signature there is no result spelling: a list method's envelope is documented field by field.
    fn page_item(&self, _returns: &str) -> Option<String> {
        None
    }

    /// Without a signature, the description's first verb is the only word on streaming.
    fn streams_by_description(&self, doc: &str) -> bool {
        doc.starts_with("Streams ")
    }

    fn unmangle<'a>(&self, name: &'a str) -> &'a str {
        name
    }

    /// Nested types are spelled in place (`object { … }`); a type name always names a top-level type.
    fn type_names_are_global(&self) -> bool {
        true
    }
}

fn parse(s: &str) -> Option<TypeExpr> {
    let s = trim(s);
    Some(match s {
        "string" => TypeExpr::String,
        "boolean" => TypeExpr::Bool,
        "number" => TypeExpr::Number,
        "integer" => TypeExpr::Int,
        "unknown" | "object" => TypeExpr::Any,
        _ => {
            if let Some(inner) = s.strip_prefix("array of ") {
                return Some(TypeExpr::List(Box::new(parse(inner)?)));
            }
            if let Some(inner) = s.strip_prefix("map of ") {
                return Some(TypeExpr::Map(Box::new(parse(inner)?)));
            }
            if let Some(inner) = s.strip_prefix("map[").and_then(|r| r.strip_suffix(']')) {
                return Some(TypeExpr::Map(Box::new(parse(inner)?)));
            }
            if s.starts_with('"') {
                let (values, _) = quoted_list(&s.replace(" or ", ","), ',');
                return (!values.is_empty()).then_some(TypeExpr::InlineEnum(values));
            }
            if let Some(inner) = s.strip_prefix("object {").and_then(|r| r.strip_suffix('}')) {
                return Some(TypeExpr::Object(Members::parse(inner)));
            }
            if is_ident(s) && s.starts_with(|c: char| c.is_ascii_uppercase()) {
                TypeExpr::Named(s.to_string())
            } else {
                return None;
            }
        }
    })
}
