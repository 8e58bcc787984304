//! Name conversions between the docs' spellings.

use heck::{ToLowerCamelCase, ToSnakeCase, ToUpperCamelCase};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::rc::Rc;

/// Wire name: lowerCamelCase of the snake_case name (`supports_oauth2` → `supportsOauth2`); camelCase stays.
pub fn wire(name: &str) -> String {
    shared_wire(name).to_string()
}

/// The proto (snake_case) name (`groupId` → `group_id`), with the Python SDK's renames undone.
pub fn snake(name: &str) -> String {
    shared_snake(name).to_string()
}

/// [`wire`], shared with the memo (no copy).
pub fn shared_wire(name: &str) -> Rc<str> {
    shared_names(name).0
}

/// [`snake`], shared with the memo (no copy).
pub fn shared_snake(name: &str) -> Rc<str> {
    shared_names(name).1
}

/// [`wire`] and [`snake`] of `name`, from one lookup (a field node needs both).
pub fn shared_names(name: &str) -> (Rc<str>, Rc<str>) {
    NAMES.with(|c| {
        if let Some((wire, snake)) = c.borrow().get(name) {
            return (Rc::clone(wire), Rc::clone(snake));
        }
        let plain = unmangle(name);
        let converted: (Rc<str>, Rc<str>) = (plain.to_lower_camel_case().into(), plain.to_snake_case().into());
        let mut c = c.borrow_mut();
        if c.len() >= MEMO_LIMIT {
            c.clear();
        }
        c.insert(name.into(), converted.clone());
        converted
    })
}

/// (Fx: the keys are short names, for which SipHash costs more than the conversion lookup saves.)
type Memo = RefCell<FxHashMap<Box<str>, (Rc<str>, Rc<str>)>>;

thread_local! {
    /// Conversions already made: a spec has a few thousand distinct field names, and the nesting passes
    /// convert each of them many times (every pass, every probe). A conversion depends on the name alone.
    static NAMES: Memo = RefCell::new(FxHashMap::default());
}

/// Names kept before the memo starts over (a bound on memory, far above any spec's count).
const MEMO_LIMIT: usize = 1 << 16;

/// The documented name with the SDK's renames undone (each dialect says which: `class_` → `class`).
fn unmangle(name: &str) -> &str {
    super::dialect::unmangle(name)
}

/// A name for an enum spelled in place: the shared `SCREAMING_` prefix of its values when they have one
/// (`CLONE_TARGET_MODE_UNSPECIFIED`, … → `CloneTargetMode`, as protobuf names values), else the field's name.
pub fn inline_enum_name(values: &[String], field: &str) -> String {
    let stem = values.iter().find_map(|v| v.strip_suffix("_UNSPECIFIED"));
    match stem {
        // (Checked in place: a `format!("{stem}_")` per value was most of this function's cost.)
        Some(stem) if values.iter().all(|v| v.strip_prefix(stem).is_some_and(|rest| rest.starts_with('_'))) => {
            stem.to_lowercase().to_upper_camel_case()
        }
        // The memoized snake_case conversion (the same as `unmangle(field).to_snake_case()`).
        _ => pascal(&shared_snake(field)),
    }
}

/// PascalCase that keeps existing capitals (`pagination` → `Pagination`, `scmIntegration` → `ScmIntegration`).
pub fn pascal(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(['_', ' ']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// A Domain Types title as a type name, acronyms kept (`Runner Parse Context URL Response`).
pub fn title_to_type(title: &str) -> String {
    pascal(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(wire("supports_oauth2"), "supportsOauth2");
        assert_eq!(wire("groupId"), "groupId");
        assert_eq!(snake("pageSize"), "page_size");
        assert_eq!(pascal("scm_integration"), "ScmIntegration");
        assert_eq!(title_to_type("Runner Parse Context URL Response"), "RunnerParseContextURLResponse");
        assert_eq!(wire("class_"), "class");
        assert_eq!(wire("api_model_states"), "modelStates");
        assert_eq!(snake("api_model_states"), "model_states");
        assert_eq!(wire("api_key"), "apiKey");
        let values: Vec<String> = ["CLONE_MODE_UNSPECIFIED", "CLONE_MODE_HEAD"].map(String::from).to_vec();
        assert_eq!(inline_enum_name(&values, "target_mode"), "CloneMode");
        let values: Vec<String> = ["", "default", "ai-agent"].map(String::from).to_vec();
        assert_eq!(inline_enum_name(&values, "kind"), "Kind");
    }
}
