//! The Python SDK dialect: `runners.create(RunnerCreateParams**kwargs) -> RunnerCreateResponse` signatures,
//! `Optional[List[X]]` spellings, query parameters among the body fields, list results spelled as pages of
//! their items, SDK renames of field names.

use super::{field_name, Dialect, Rules, Signature};
use crate::parse::fields::Entry;
use crate::parse::types::{is_ident, quoted_list, split_top_level, trim, Spelled, TypeExpr};

pub struct Python;

impl Rules for Python {
    fn dialect(&self) -> Dialect {
        Dialect::Python
    }

    fn signature(&self, code: &str) -> Option<Signature> {
        let (call, ret) = code.split_once(" -> ")?;
        let (target, args) = call.split_once('(')?;
        let (sdk_resource, sdk_name) = match target.rsplit_once('.') {
            Some((res, name)) => (Some(res.to_string()), Some(name.to_string())),
            None => (None, None),
        };
        let alias = args.trim_end_matches(')').trim_end_matches("**kwargs").trim();
        let ret = ret.trim();
        // A streamed response is spelled as its decoder over the message type.
        let (returns, streaming) = match ret.strip_prefix("JSONLDecoder[").and_then(|r| r.strip_suffix(']')) {
            Some(message) => (message.trim().to_string(), true),
            None => (ret.to_string(), false),
        };
        Some(Signature {
            sdk_resource,
            sdk_name,
            params_alias: (!alias.is_empty()).then(|| alias.to_string()),
            returns: Some(returns),
            streaming,
        })
    }

    fn spelling(&self, s: &str, notes: &mut Vec<String>) -> Option<Spelled> {
        let s = trim(s);
        match s.strip_prefix("Optional[").and_then(|r| r.strip_suffix(']')) {
            Some(inner) => Some(Spelled { ty: parse(inner, notes)?, optional: true }),
            None => Some(Spelled { ty: parse(s, notes)?, optional: false }),
        }
    }

    /// `token`, `page_size` first in any method; after the required fields in a method that returns a page.
    fn query_among_body(&self, params: &[Entry], returns_page: bool) -> Option<usize> {
        let is_pair =
            |i: usize| field_name(params.get(i)) == Some("token") && field_name(params.get(i + 1)) == Some("page_size");
        (0..params.len().saturating_sub(1)).find(|&i| is_pair(i) && (i == 0 || returns_page))
    }

    /// A list method returns `SyncPoliciesPage[RunnerPolicy]`: a page of `RunnerPolicy`.
    fn page_item(&self, returns: &str) -> Option<String> {
        let (outer, inner) = returns.split_once('[')?;
        (outer.starts_with("Sync") && outer.ends_with("Page")).then(|| inner.trim_end_matches(']').to_string())
    }

    fn streams_by_description(&self, _doc: &str) -> bool {
        false
    }

    /// Python keywords get a trailing `_` (`class_`, `from_`), and names pydantic reserves (`model_*`) an
    /// `api_` prefix (`api_model_states`).
    fn unmangle<'a>(&self, name: &'a str) -> &'a str {
        if let Some(kept) = name.strip_prefix("api_").filter(|rest| rest.starts_with("model_")) {
            return kept;
        }
        match name.strip_suffix('_') {
            Some(kept) if !kept.is_empty() && !kept.ends_with('_') => kept,
            _ => name,
        }
    }

    /// The SDK names nested classes by their short name (`Filter`, `Spec`): one name, many types.
    fn type_names_are_global(&self) -> bool {
        false
    }
}

fn parse(s: &str, notes: &mut Vec<String>) -> Option<TypeExpr> {
    let s = trim(s);
    Some(match s {
        "str" => TypeExpr::String,
        "bool" => TypeExpr::Bool,
        "int" => TypeExpr::Int,
        "float" => TypeExpr::Float,
        "datetime" => TypeExpr::Timestamp,
        "object" => TypeExpr::Any,
        _ => {
            // Type names are short: a byte loop finds the bracket sooner than a searcher is set up.
            if let Some(open) = s.bytes().position(|b| b == b'[') {
                let (outer, inner) = (&s[..open], &s[open + 1..]);
                let inner = inner.strip_suffix(']')?;
                return match outer {
                    "List" | "Sequence" | "Iterable" => Some(TypeExpr::List(Box::new(parse(inner, notes)?))),
                    "Optional" => parse(inner, notes),
                    "Dict" | "Mapping" => match split_top_level(inner).as_slice() {
                        [_, v] => Some(TypeExpr::Map(Box::new(parse(v, notes)?))),
                        _ => None,
                    },
                    "Union" => union(inner, notes),
                    "Literal" => Some(TypeExpr::InlineEnum(quoted_list(inner, ',').0)),
                    _ => None,
                };
            }
            if is_ident(s) && s.starts_with(|c: char| c.is_ascii_uppercase()) {
                TypeExpr::Named(s.to_string())
            } else {
                return None;
            }
        }
    })
}

/// `Union[str, datetime]` (and its clearable `null` form) is a timestamp; `Union[str, Base64FileInput]` is bytes;
/// a union of one type is that type. Any other union has no type in the model: read as any, with a note.
fn union(inner: &str, notes: &mut Vec<String>) -> Option<TypeExpr> {
    let parts: Vec<&str> = split_top_level(inner).into_iter().filter(|p| *p != "null" && *p != "None").collect();
    match parts.as_slice() {
        [] => None,
        ["str", "datetime"] | ["datetime", "str"] => Some(TypeExpr::Timestamp),
        ["str", "Base64FileInput"] | ["Base64FileInput", "str"] => Some(TypeExpr::Bytes),
        [one] => parse(one, notes),
        _ => {
            // The members must still be types, or this is no type spelling at all.
            for p in &parts {
                parse(p, &mut vec![])?;
            }
            notes.push(format!(
                "`Union[{inner}]` is none of the unions the model knows (`Union[str, datetime]`, \
                 `Union[str, Base64FileInput]`); read as any JSON value"
            ));
            Some(TypeExpr::Any)
        }
    }
}
