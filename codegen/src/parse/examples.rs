//! Example text in one canonical form, whatever the page's whitespace: JSON pretty-printed in document order,
//! the Python call cut out of its script, YAML kept with whitespace collapsed.

/// Pretty-prints JSON text with two-space indentation, keeping key order and string contents as written.
/// Returns `None` when the text is not valid JSON.
pub fn canonical_json(text: &str) -> Option<String> {
    // Validated without building the value (IgnoredAny accepts exactly the JSON a Value would).
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
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
    Some(out)
}

/// The `client.….…(...)` call of a Python example, whitespace collapsed. Parentheses inside strings are skipped.
pub fn python_call(code: &str) -> Option<String> {
    let flat: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
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
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
