//! The naming pass: every Rust identifier the emitter writes is decided here, once.
//!
//! Keyword handling follows prost-build's `ident.rs`: raw identifiers where Rust allows them,
//! a trailing underscore for the few keywords that cannot be raw (`self`, `super`, `crate`, `Self`).

use heck::{ToPascalCase, ToShoutySnakeCase, ToSnakeCase};
use proc_macro2::{Ident, Span};
use std::collections::BTreeSet;

/// Keywords of every edition that need escaping when used as identifiers.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let",
    "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual", "yield", "async", "await", "dyn", "try", "gen",
];
/// Keywords that cannot be raw identifiers.
const NON_RAW: &[&str] = &["self", "super", "crate", "Self", "_"];

/// A keyword-safe identifier from an already-cased name.
pub fn ident(name: &str) -> Ident {
    if NON_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() {
        Ident::new(&format!("_{name}"), Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// Type names the generated code uses unqualified; a model type with one of these names gets a
/// trailing underscore so it cannot shadow them.
const RESERVED_TYPES: &[&str] = &["Option", "String", "Vec", "Box", "Result", "Some", "None", "Ok", "Err"];

/// The Rust identifier of a message or enum.
pub fn type_ident(model_name: &str) -> Ident {
    let name = pascal(model_name);
    if RESERVED_TYPES.contains(&name.as_str()) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else {
        ident(&name)
    }
}

/// snake_case Rust name for a field, method or module.
pub fn snake(name: &str) -> String {
    name.to_snake_case()
}

/// PascalCase Rust name for a type or variant.
pub fn pascal(name: &str) -> String {
    name.to_pascal_case()
}

/// The JSON name serde's `rename_all = "camelCase"` gives a Rust field (raw prefix removed), so a
/// field needs an explicit `rename` only where the wire name differs from it.
pub fn serde_camel_case(field: &str) -> String {
    let field = field.strip_prefix("r#").unwrap_or(field);
    let mut out = String::with_capacity(field.len());
    let mut capitalize = false;
    for (i, ch) in field.chars().enumerate() {
        if ch == '_' {
            capitalize = true;
        } else if capitalize {
            out.push(ch.to_ascii_uppercase());
            capitalize = false;
        } else if i == 0 {
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// SCREAMING_SNAKE_CASE name for a constant.
pub fn shouty(name: &str) -> String {
    name.to_shouty_snake_case()
}

/// Gives each name a unique spelling, in order: a later name that collides with an earlier one
/// (after case conversion) gets `_2`, `_3`, ... so output stays deterministic.
pub fn dedupe(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .into_iter()
        .map(|name| {
            let mut candidate = name.clone();
            let mut n = 2;
            while !seen.insert(candidate.clone()) {
                candidate = format!("{name}_{n}");
                n += 1;
            }
            candidate
        })
        .collect()
}

/// Rust variant names for an enum's wire values: the common `ENUM_NAME_` prefix is stripped
/// (`RUNNER_ROLE_ADMIN` → `Admin`) unless that would make a name empty, start with a digit or collide.
pub fn enum_variants(enum_name: &str, values: &[String]) -> Vec<String> {
    let prefix = format!("{}_", shouty(enum_name));
    let stripped: Vec<String> = values
        .iter()
        .map(|v| match v.strip_prefix(&prefix) {
            Some(rest) if !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_digit()) => pascal(rest),
            _ => pascal(v),
        })
        .collect();
    let unique: BTreeSet<&String> = stripped.iter().collect();
    if unique.len() == stripped.len() && !stripped.iter().any(|s| s == UNKNOWN_VARIANT) {
        stripped
    } else {
        dedupe(values.iter().map(|v| pascal(v)))
    }
}

/// The catch-all variant that keeps values this crate does not know.
pub const UNKNOWN_VARIANT: &str = "Unrecognized";

/// Module name for a service file: `RunnerService` → `runner_service`.
pub fn service_module(short_name: &str) -> String {
    snake(short_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("match").to_string(), "r#match");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("ref").to_string(), "r#ref");
        assert_eq!(ident("plain").to_string(), "plain");
        assert_eq!(ident("2fa").to_string(), "_2fa");
    }

    #[test]
    fn serde_camel_case_matches_serde() {
        assert_eq!(serde_camel_case("supports_oauth2"), "supportsOauth2");
        assert_eq!(serde_camel_case("r#type"), "type");
        assert_eq!(serde_camel_case("self_"), "self");
        assert_eq!(serde_camel_case("foo_bar_2"), "fooBar2");
        assert_eq!(serde_camel_case("id"), "id");
    }

    #[test]
    fn collisions_get_suffixes_in_order() {
        let names = dedupe(["foo_bar".to_string(), "foo_bar".to_string(), "baz".to_string(), "foo_bar".to_string()]);
        assert_eq!(names, ["foo_bar", "foo_bar_2", "baz", "foo_bar_3"]);
    }

    #[test]
    fn enum_prefix_is_stripped() {
        let values = ["RUNNER_ROLE_UNSPECIFIED".to_string(), "RUNNER_ROLE_ADMIN".to_string()];
        assert_eq!(enum_variants("RunnerRole", &values), ["Unspecified", "Admin"]);
        let odd = ["LEVEL_1".to_string(), "OTHER".to_string()];
        assert_eq!(enum_variants("Level", &odd), ["Level1", "Other"]);
    }
}
