//! Example text in one canonical form, whatever the page's whitespace: JSON pretty-printed in document order,
//! the Python call cut out of its script, YAML kept with whitespace collapsed.

/// Pretty-prints JSON text with two-space indentation, keeping key order and string contents as written.
/// Returns `None` when the text is not valid JSON.
pub fn canonical_json(text: &str) -> Option<String> {
    // Validated without building the value (IgnoredAny accepts exactly the JSON a Value would).
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    // Valid JSON is ASCII outside its strings: the text is walked byte by byte, strings copied whole, and
    // every cut falls on a char boundary.
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut indent = 0usize;
    let newline = |out: &mut String, indent: usize| {
        out.push('\n');
        for _ in 0..indent {
            out.push_str("  ");
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                // To the closing quote; an escaped char is copied with its backslash.
                let mut end = i + 1;
                loop {
                    match bytes.get(end..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
                        Some(at) if bytes[end + at] == b'\\' => end += at + 2,
                        Some(at) => {
                            end += at + 1;
                            break;
                        }
                        None => {
                            end = bytes.len();
                            break;
                        }
                    }
                }
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
            b'{' | b'[' => {
                let close = if b == b'{' { '}' } else { ']' };
                let next = skip_whitespace(text, i + 1);
                if text[next..].starts_with(close) {
                    out.push(char::from(b));
                    out.push(close);
                    i = next + 1;
                } else {
                    out.push(char::from(b));
                    indent += 1;
                    newline(&mut out, indent);
                    i = next;
                }
                continue;
            }
            b'}' | b']' => {
                indent = indent.saturating_sub(1);
                newline(&mut out, indent);
                out.push(char::from(b));
            }
            b',' => {
                out.push(',');
                newline(&mut out, indent);
            }
            b':' => out.push_str(": "),
            b if b.is_ascii() => {
                if !matches!(b, b'\t'..=b'\r' | b' ') {
                    out.push(char::from(b));
                }
            }
            _ => {
                // Not in valid JSON outside a string; kept as the char-by-char reading kept it.
                let c = text[i..].chars().next().unwrap_or(' ');
                if !c.is_whitespace() {
                    out.push(c);
                }
                i += c.len_utf8();
                continue;
            }
        }
        i += 1;
    }
    Some(out)
}

/// Where the whitespace (any Unicode whitespace) starting at byte `i` of `text` ends.
fn skip_whitespace(text: &str, i: usize) -> usize {
    text[i..].find(|c: char| !c.is_whitespace()).map_or(text.len(), |at| i + at)
}

/// The `client.….…(...)` call of a Python example, whitespace collapsed. Parentheses inside strings are skipped.
pub fn python_call(code: &str) -> Option<String> {
    let flat = collapsed(code);
    let start = flat.find("client.")?;
    let open = start + flat[start..].find('(')?;
    let mut depth = 0i32;
    let mut in_str: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in flat[open..].char_indices() {
        match in_str {
            Some(q) if c == q && prev != '\\' => in_str = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => in_str = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(flat[start..open + i + 1].to_string());
                    }
                }
                _ => {}
            },
        }
        prev = c;
    }
    None
}

pub fn collapse(text: &str) -> String {
    collapsed(text).into_owned()
}

/// Each whitespace run as one space, none at either end. Texts from a page's blocks already are (the page is
/// collapsed before it is cut): those are borrowed, after a check that runs a few bytes per instruction.
fn collapsed(text: &str) -> std::borrow::Cow<'_, str> {
    if super::blocks::is_collapsed(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_canonical_in_both_forms() {
        let flat = r#"{ "b": { "x": "a b" }, "a": [ 1, 2 ], "e": {} }"#;
        let tall = "{\n  \"b\": {\n      \"x\": \"a b\"\n  },\n  \"a\": [1,\n 2],\n \"e\": { }\n}";
        assert_eq!(canonical_json(flat), canonical_json(tall));
        assert_eq!(
            canonical_json(flat).unwrap(),
            "{\n  \"b\": {\n    \"x\": \"a b\"\n  },\n  \"a\": [\n    1,\n    2\n  ],\n  \"e\": {}\n}"
        );
        assert_eq!(canonical_json("{ oops"), None);
    }

    /// Collapsing borrows a text with nothing to collapse, and reads every other text as the word-by-word join.
    #[test]
    fn collapse_is_the_word_join() {
        let join = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut texts: Vec<String> =
            ["", " ", "a", "a b", " a", "a ", "a  b", "a\nb", "a\u{a0}b", "é ü", "x\u{3000}", "\u{85}y"]
                .iter()
                .map(|t| t.to_string())
                .collect();
        for src in crate::parse::reference_pages(&["spec", "corpus/pages", "corpus/pages-flat"]) {
            texts.extend(src.split("```").map(str::to_string));
            let flat = super::super::blocks::Collapsed::new(&src).text.into_owned();
            texts.extend(flat.split("```").map(str::to_string));
        }
        for t in &texts {
            assert_eq!(collapse(t), join(t), "{t:?}");
        }
    }

    /// The char-by-char pretty-printer the byte walk replaces.
    fn canonical_json_by_chars(text: &str) -> String {
        let mut out = String::new();
        let mut indent = 0usize;
        let mut chars = text.chars().peekable();
        let newline = |out: &mut String, indent: usize| {
            out.push('\n');
            out.push_str(&"  ".repeat(indent));
        };
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    out.push('"');
                    while let Some(s) = chars.next() {
                        out.push(s);
                        if s == '\\' {
                            if let Some(esc) = chars.next() {
                                out.push(esc);
                            }
                        } else if s == '"' {
                            break;
                        }
                    }
                }
                '{' | '[' => {
                    let close = if c == '{' { '}' } else { ']' };
                    while chars.peek().is_some_and(|n| n.is_whitespace()) {
                        chars.next();
                    }
                    if chars.peek() == Some(&close) {
                        chars.next();
                        out.push(c);
                        out.push(close);
                    } else {
                        out.push(c);
                        indent += 1;
                        newline(&mut out, indent);
                    }
                }
                '}' | ']' => {
                    indent = indent.saturating_sub(1);
                    newline(&mut out, indent);
                    out.push(c);
                }
                ',' => {
                    out.push(',');
                    newline(&mut out, indent);
                }
                ':' => out.push_str(": "),
                c if c.is_whitespace() => {}
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn json_walk_matches_the_char_by_char_reading() {
        let texts = [
            r#"{ "b": { "x": "a b" }, "a": [ 1, 2 ], "e": {} }"#,
            "{\n  \"q\": \"say \\\"hi\\\" \\\\\", \"u\": \"\\u00e9 é 日本\",\r\n\t\"n\": [ ], \"z\": null }",
            "[ [ ], { }, [ {\"a\" : -1.5e3 } ], true, false ]",
            "\"just a string\"",
            "  42  ",
        ];
        for text in texts {
            assert_eq!(canonical_json(text).as_deref(), Some(canonical_json_by_chars(text).as_str()), "{text:?}");
        }
        let mut checked = 0;
        for src in crate::parse::reference_pages(&["spec", "corpus/pages-flat"]) {
            for block in src.split("```json").skip(1) {
                let Some((body, _)) = block.split_once("```") else { continue };
                if let Some(json) = canonical_json(body) {
                    assert_eq!(json, canonical_json_by_chars(body));
                    checked += 1;
                }
            }
        }
        assert!(checked > 20, "only {checked} JSON examples found");
    }

    #[test]
    fn python_call_is_cut_out() {
        let code = "import os client = Gitpod( bearer_token=x, # This is the default and can be omitted ) \
                    policy = client.runners.policies.create( group_id=\"a(\", pagination={ \"page_size\": 20 }, ) \
                    print(policy)";
        assert_eq!(
            python_call(code).unwrap(),
            "client.runners.policies.create( group_id=\"a(\", pagination={ \"page_size\": 20 }, )"
        );
    }
}
