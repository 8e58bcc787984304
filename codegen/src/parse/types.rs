//! Item heads and type spellings of both dialects (Python SDK and HTTP) → one small type grammar.

use std::rc::Rc;

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
    /// HTTP `object { a, b, 2 more... }`: an inline message, its first members and how many it has.
    Object(Members),
    /// An enum spelled in place (`Literal["A", "B", 2 more]`, `"A" or "B" or 2 more`): the values it lists
    /// (the complete list follows as value items).
    InlineEnum(Vec<String>),
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

/// The members an HTTP `object { a, b, c, 2 more... }` summary lists: the first names (wire) and the count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Members {
    pub names: Vec<String>,
    pub count: usize,
}

impl Members {
    /// Reads the inside of `{ … }`: names separated by commas, optionally ending in `N more...`.
    pub(crate) fn parse(inner: &str) -> Members {
        let mut names = vec![];
        let mut more = 0;
        for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            // A member name has no space: only an `N more...` part is worth the substring search.
            if !part.as_bytes().contains(&b' ') {
                names.push(part.to_string());
                continue;
            }
            match part.split_once(" more").and_then(|(n, _)| n.trim().parse::<usize>().ok()) {
                Some(n) => more += n,
                None => names.push(part.to_string()),
            }
        }
        let count = names.len() + more;
        Members { names, count }
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
    /// (The name is shared with the field nodes nesting makes of this item.)
    Field { name: Rc<str>, spelled: Spelled },
    /// `"VALUE"`: one enum value.
    Value(String),
    /// `class X: …` (Python) or `X object { a, b }` (HTTP).
    Class { name: String, fields: Option<Members> },
    /// `Literal["A", "B", 2 more]` or `X = "A" or "B"`; `truncated` when the list ends in `N more`.
    EnumDecl { name: Option<String>, values: Vec<String>, truncated: bool },
    /// Bare `object`, `unknown`, or `X = unknown`: an empty or untyped result.
    Untyped { name: Option<String> },
}

/// Reads one item head; `None` when it matches no known form. A type that reads only approximately (a `Union`
/// the model has no type for) adds a note to `notes`, for the caller to report.
pub fn parse_head_noted(head: &str, notes: &mut Vec<String>) -> Option<Head> {
    let mut mine = vec![];
    let parsed = read_head(head, &mut mine);
    if parsed.is_some() {
        notes.append(&mut mine);
    }
    parsed
}

/// [`parse_head_noted`] for tests, which look at the result only.
#[cfg(test)]
pub fn parse_head(head: &str) -> Option<Head> {
    parse_head_noted(head, &mut vec![])
}

fn read_head(head: &str, notes: &mut Vec<String>) -> Option<Head> {
    let head = trim(head);
    if let Some(v) = head.strip_prefix('"').and_then(|h| h.strip_suffix('"')) {
        return Some(Head::Value(v.to_string()));
    }
    if head == "object" || head == "unknown" {
        return Some(Head::Untyped { name: None });
    }
    if let Some(rest) = head.strip_prefix("class ") {
        let name = rest.trim_end_matches(['…', '.', ' ']).trim_end_matches(':').trim();
        return is_ident(name).then(|| Head::Class { name: name.to_string(), fields: None });
    }
    if let Some(inner) = head.strip_prefix("Literal[").and_then(|h| h.strip_suffix(']')) {
        let (values, truncated) = quoted_list(inner, ',');
        return Some(Head::EnumDecl { name: None, values, truncated });
    }
    // Most heads are fields (`name: Type`): one byte search rules the two spelled-out forms below out before
    // the substring searches, which cost more.
    let spelled_out = memchr::memchr2(b'=', b'{', head.as_bytes()).is_some();
    let has = |b: u8| spelled_out && memchr::memchr(b, head.as_bytes()).is_some();
    if let Some((name, rhs)) = has(b'=').then(|| head.split_once(" = ")).flatten() {
        let name = name.trim();
        if !is_ident(name) {
            return None;
        }
        if rhs.trim() == "unknown" || rhs.trim() == "object" {
            return Some(Head::Untyped { name: Some(name.to_string()) });
        }
        let (values, truncated) = quoted_list(&rhs.replace(" or ", ","), ',');
        return Some(Head::EnumDecl { name: Some(name.to_string()), values, truncated });
    }
    if let Some((name, rest)) = has(b'{').then(|| head.split_once(" object {")).flatten() {
        if is_ident(name) {
            return Some(Head::Class {
                name: name.to_string(),
                fields: Some(Members::parse(rest.trim_end_matches('}'))),
            });
        }
    }
    // The name is short: a plain byte loop finds its `:` sooner than a searcher is set up.
    let colon = head.bytes().position(|b| b == b':')?;
    let (name, ty) = (trim(&head[..colon]), &head[colon + 1..]);
    if !is_ident(name) {
        return None;
    }
    // Every dialect trims the spelling itself.
    Some(Head::Field { name: name.into(), spelled: super::dialect::spelling(ty, notes)? })
}

pub(crate) fn quoted_list(s: &str, sep: char) -> (Vec<String>, bool) {
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

/// [`str::trim`], answered at once for the usual text that neither starts nor ends with whitespace.
pub(crate) fn trim(s: &str) -> &str {
    // ASCII bytes above the space are no whitespace; anything else takes the full trim.
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b > b' ' && b.is_ascii());
    if plain(s.as_bytes().first()) && plain(s.as_bytes().last()) {
        s
    } else {
        s.trim()
    }
}

/// ASCII letters, digits and `_`, not starting with a digit. Judged on bytes: a non-ASCII char's bytes are
/// none of those, so no char is decoded.
pub fn is_ident(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(|b| !b.is_ascii_digit()) && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Splits at the commas outside brackets, trimmed: `str, Dict[str, int]` → `str`, `Dict[str, int]`.
pub(crate) fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = vec![];
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
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
    fn quick_trim_is_str_trim() {
        for s in ["", " ", "a", " a", "a ", "\ta\n", "a b", "\u{a0}a", "a\u{3000}", "é", "\u{7f}", "\u{b}x\u{c}"] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn python_spellings() {
        assert_eq!(field("a: Optional[str]"), Spelled { ty: TypeExpr::String, optional: true });
        assert_eq!(field("a: str"), Spelled { ty: TypeExpr::String, optional: false });
        assert_eq!(field("a: Optional[Union[str, datetime, null]]").ty, TypeExpr::Timestamp);
        assert_eq!(field("a: Optional[Union[str, Base64FileInput]]").ty, TypeExpr::Bytes);
        assert_eq!(
            field("a: Optional[Iterable[FieldValue]]").ty,
            TypeExpr::List(Box::new(TypeExpr::Named("FieldValue".into())))
        );
        assert_eq!(field("a: Optional[Sequence[str]]").ty, TypeExpr::List(Box::new(TypeExpr::String)));
    }

    #[test]
    fn nested_brackets_split_at_top_level_commas() {
        assert_eq!(
            split_top_level("str, Dict[str, int], List[Union[a, b]]"),
            ["str", "Dict[str, int]", "List[Union[a, b]]"]
        );
        assert_eq!(
            field("a: Optional[Dict[str, List[int]]]").ty,
            TypeExpr::Map(Box::new(TypeExpr::List(Box::new(TypeExpr::Int))))
        );
        assert_eq!(field("a: Dict[str, Union[str, datetime]]").ty, TypeExpr::Map(Box::new(TypeExpr::Timestamp)));
        assert_eq!(field("a: Optional[Union[Dict[str, int], None]]").ty, TypeExpr::Map(Box::new(TypeExpr::Int)));
        assert_eq!(parse_head("a: Dict[str]"), None);
    }

    #[test]
    fn other_unions_read_as_any_with_a_note() {
        let mut notes = vec![];
        let head = parse_head_noted("a: Optional[Union[str, Dict[str, int]]]", &mut notes);
        assert!(matches!(head, Some(Head::Field { spelled: Spelled { ty: TypeExpr::Any, optional: true }, .. })));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("`Union[str, Dict[str, int]]`"), "{}", notes[0]);
        // Known unions and unions of one type are settled without a note.
        let mut notes = vec![];
        parse_head_noted("a: Optional[Union[str, datetime, null]]", &mut notes);
        parse_head_noted("a: Union[int, None]", &mut notes);
        assert!(notes.is_empty(), "{notes:?}");
        // No note for a spelling that is not a type at all.
        assert_eq!(parse_head_noted("a: Union[str, ???]", &mut notes), None);
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn http_spellings() {
        assert_eq!(field("pageSize: optional number").ty, TypeExpr::Number);
        assert_eq!(
            field("p: optional object { token, pageSize }").ty,
            TypeExpr::Object(Members { names: vec!["token".into(), "pageSize".into()], count: 2 })
        );
        assert_eq!(
            field("p: optional array of ProjectPolicy").ty,
            TypeExpr::List(Box::new(TypeExpr::Named("ProjectPolicy".into())))
        );
    }

    #[test]
    fn headers() {
        assert_eq!(parse_head("class Runner: …"), Some(Head::Class { name: "Runner".into(), fields: None }));
        assert_eq!(
            parse_head(r#"Literal["A", "B", 2 more]"#),
            Some(Head::EnumDecl { name: None, values: vec!["A".into(), "B".into()], truncated: true })
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
            Some(Head::Untyped { name: Some("PolicyDeleteResponse".into()) })
        );
        assert_eq!(
            parse_head("ProjectPolicy object { groupId, role }"),
            Some(Head::Class {
                name: "ProjectPolicy".into(),
                fields: Some(Members { names: vec!["groupId".into(), "role".into()], count: 2 })
            })
        );
        assert_eq!(
            field("s: optional object { a, b, c, 4 more... }").ty,
            TypeExpr::Object(Members { names: vec!["a".into(), "b".into(), "c".into()], count: 7 })
        );
    }
}
