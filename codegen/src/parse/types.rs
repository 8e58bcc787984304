//! Item heads and type spellings of both dialects (Python SDK and HTTP) → one small type grammar.

/// A type as spelled in the docs, before messages and enums are told apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeExpr {
    String,
    Bool,
    /// Python `int`: int32 or int64, settled later from the JSON examples.
    Int,
    /// HTTP `number`: an integer or a float, settled later from the other dialect.
    Number,
    Float,
    Timestamp,
    Bytes,
    /// `object`, `unknown`: any JSON.
    Any,
    /// A named message or enum.
    Named(String),
    List(Box<TypeExpr>),
    Map(Box<TypeExpr>),
    /// HTTP `object { a, b }`: an inline message with the listed wire names.
    Object(Vec<String>),
}

impl TypeExpr {
    /// The named type or inline object a field holds, directly or as list items.
    pub fn element(&self) -> &TypeExpr {
        match self {
            TypeExpr::List(inner) | TypeExpr::Map(inner) => inner.element(),
            other => other,
        }
    }
}

/// A field's spelled type: optional in the Python `Optional[...]` / HTTP `optional` sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spelled {
    pub ty: TypeExpr,
    pub optional: bool,
}

/// What a list item's leading code span says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// `name: Type`
    Field { name: String, spelled: Spelled },
    /// `"VALUE"`: one enum value.
    Value(String),
    /// `class X: …` (Python) or `X object { a, b }` (HTTP).
    Class { name: String, fields: Option<Vec<String>> },
    /// `Literal["A", "B", 2 more]` or `X = "A" or "B"`; `truncated` when the list ends in `N more`.
    EnumDecl {
        name: Option<String>,
        values: Vec<String>,
        truncated: bool,
    },
    /// Bare `object`, `unknown`, or `X = unknown`: an empty or untyped result.
    Untyped { name: Option<String> },
}

/// Reads one item head; `None` when it matches no known form.
pub fn parse_head(head: &str) -> Option<Head> {
    let head = head.trim();
    if let Some(v) = head.strip_prefix('"').and_then(|h| h.strip_suffix('"')) {
        return Some(Head::Value(v.to_string()));
    }
    if head == "object" || head == "unknown" {
        return Some(Head::Untyped { name: None });
    }
    if let Some(rest) = head.strip_prefix("class ") {
        let name = rest.trim_end_matches(['…', '.', ' ']).trim_end_matches(':').trim();
        return is_ident(name).then(|| Head::Class {
            name: name.to_string(),
            fields: None,
        });
    }
    if let Some(inner) = head.strip_prefix("Literal[").and_then(|h| h.strip_suffix(']')) {
        let (values, truncated) = quoted_list(inner, ',');
        return Some(Head::EnumDecl {
            name: None,
            values,
            truncated,
        });
    }
    if let Some((name, rhs)) = head.split_once(" = ") {
        let name = name.trim();
        if !is_ident(name) {
            return None;
        }
        if rhs.trim() == "unknown" || rhs.trim() == "object" {
            return Some(Head::Untyped {
                name: Some(name.to_string()),
            });
        }
        let (values, truncated) = quoted_list(&rhs.replace(" or ", ","), ',');
        return Some(Head::EnumDecl {
            name: Some(name.to_string()),
            values,
            truncated,
        });
    }
    if let Some((name, rest)) = head.split_once(" object {") {
        if is_ident(name) {
            let fields = rest
                .trim_end_matches('}')
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            return Some(Head::Class {
                name: name.to_string(),
                fields: Some(fields.collect()),
            });
        }
    }
    let (name, ty) = head.split_once(':')?;
    let name = name.trim();
    if !is_ident(name) {
        return None;
    }
    Some(Head::Field {
        name: name.to_string(),
        spelled: parse_spelled(ty.trim())?,
    })
}

fn quoted_list(s: &str, sep: char) -> (Vec<String>, bool) {
    let mut values = Vec::new();
    let mut truncated = false;
    for part in s.split(sep).map(str::trim).filter(|p| !p.is_empty()) {
        match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            Some(v) => values.push(v.to_string()),
            None => truncated = true,
        }
    }
    (values, truncated)
}

pub fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Parses a field's type in either dialect.
pub fn parse_spelled(s: &str) -> Option<Spelled> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("Optional[").and_then(|r| r.strip_suffix(']')) {
        return Some(Spelled {
            ty: parse_python(inner)?,
            optional: true,
        });
    }
    if let Some(inner) = s.strip_prefix("optional ") {
        return Some(Spelled {
            ty: parse_http(inner)?,
            optional: true,
        });
    }
    let ty = parse_python(s).or_else(|| parse_http(s))?;
    Some(Spelled { ty, optional: false })
}

fn parse_python(s: &str) -> Option<TypeExpr> {
    let s = s.trim();
    Some(match s {
        "str" => TypeExpr::String,
        "bool" => TypeExpr::Bool,
        "int" => TypeExpr::Int,
        "float" => TypeExpr::Float,
        "datetime" => TypeExpr::Timestamp,
        "object" => TypeExpr::Any,
        _ => {
            if let Some((outer, inner)) = s.split_once('[') {
                let inner = inner.strip_suffix(']')?;
                return match outer {
                    "List" | "Sequence" | "Iterable" => Some(TypeExpr::List(Box::new(parse_python(inner)?))),
                    "Optional" => parse_python(inner),
                    "Dict" | "Mapping" => {
                        let (_, v) = inner.split_once(',')?;
                        Some(TypeExpr::Map(Box::new(parse_python(v)?)))
                    }
                    "Union" => parse_union(inner),
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

/// `Union[str, datetime]` (and its clearable `null` form) is a timestamp; `Union[str, Base64FileInput]` is bytes.
fn parse_union(inner: &str) -> Option<TypeExpr> {
    let parts: Vec<&str> = inner
        .split(',')
        .map(str::trim)
        .filter(|p| *p != "null" && *p != "None")
        .collect();
    if parts.contains(&"datetime") {
        return Some(TypeExpr::Timestamp);
    }
    if parts.contains(&"Base64FileInput") {
        return Some(TypeExpr::Bytes);
    }
    match parts.as_slice() {
        [one] => parse_python(one),
        _ => Some(TypeExpr::Any),
    }
}

fn parse_http(s: &str) -> Option<TypeExpr> {
    let s = s.trim();
    Some(match s {
        "string" => TypeExpr::String,
        "boolean" => TypeExpr::Bool,
        "number" => TypeExpr::Number,
        "integer" => TypeExpr::Int,
        "unknown" | "object" => TypeExpr::Any,
        _ => {
            if let Some(inner) = s.strip_prefix("array of ") {
                return Some(TypeExpr::List(Box::new(parse_http(inner)?)));
            }
            if let Some(inner) = s.strip_prefix("map of ") {
                return Some(TypeExpr::Map(Box::new(parse_http(inner)?)));
            }
            if let Some(inner) = s.strip_prefix("object {").and_then(|r| r.strip_suffix('}')) {
                let names = inner.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
                return Some(TypeExpr::Object(names.collect()));
            }
            if is_ident(s) && s.starts_with(|c: char| c.is_ascii_uppercase()) {
                TypeExpr::Named(s.to_string())
            } else {
                return None;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(h: &str) -> Spelled {
        match parse_head(h) {
            Some(Head::Field { spelled, .. }) => spelled,
            other => panic!("{h}: {other:?}"),
        }
    }

    #[test]
    fn python_spellings() {
        assert_eq!(
            field("a: Optional[str]"),
            Spelled {
                ty: TypeExpr::String,
                optional: true
            }
        );
        assert_eq!(
            field("a: str"),
            Spelled {
                ty: TypeExpr::String,
                optional: false
            }
        );
        assert_eq!(field("a: Optional[Union[str, datetime, null]]").ty, TypeExpr::Timestamp);
        assert_eq!(field("a: Optional[Union[str, Base64FileInput]]").ty, TypeExpr::Bytes);
        assert_eq!(
            field("a: Optional[Iterable[FieldValue]]").ty,
            TypeExpr::List(Box::new(TypeExpr::Named("FieldValue".into())))
        );
        assert_eq!(
            field("a: Optional[Sequence[str]]").ty,
            TypeExpr::List(Box::new(TypeExpr::String))
        );
    }

    #[test]
    fn http_spellings() {
        assert_eq!(field("pageSize: optional number").ty, TypeExpr::Number);
        assert_eq!(
            field("p: optional object { token, pageSize }").ty,
            TypeExpr::Object(vec!["token".into(), "pageSize".into()])
        );
        assert_eq!(
            field("p: optional array of ProjectPolicy").ty,
            TypeExpr::List(Box::new(TypeExpr::Named("ProjectPolicy".into())))
        );
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_head("class Runner: …"),
            Some(Head::Class {
                name: "Runner".into(),
                fields: None
            })
        );
        assert_eq!(
            parse_head(r#"Literal["A", "B", 2 more]"#),
            Some(Head::EnumDecl {
                name: None,
                values: vec!["A".into(), "B".into()],
                truncated: true
            })
        );
        assert_eq!(
            parse_head(r#"ProjectRole = "A" or "B""#),
            Some(Head::EnumDecl {
                name: Some("ProjectRole".into()),
                values: vec!["A".into(), "B".into()],
                truncated: false
            })
        );
        assert_eq!(
            parse_head("PolicyDeleteResponse = unknown"),
            Some(Head::Untyped {
                name: Some("PolicyDeleteResponse".into())
            })
        );
        assert_eq!(
            parse_head("ProjectPolicy object { groupId, role }"),
            Some(Head::Class {
                name: "ProjectPolicy".into(),
                fields: Some(vec!["groupId".into(), "role".into()])
            })
        );
    }
}
