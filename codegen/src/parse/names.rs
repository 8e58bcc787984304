//! Name conversions between the docs' spellings.

use heck::{ToLowerCamelCase, ToSnakeCase};

/// Wire name: lowerCamelCase of the snake_case name (`supports_oauth2` → `supportsOauth2`); camelCase stays.
pub fn wire(name: &str) -> String {
    name.to_lower_camel_case()
}

/// snake_case as the Python docs spell it (`groupId` → `group_id`).
pub fn snake(name: &str) -> String {
    name.to_snake_case()
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
    }
}
