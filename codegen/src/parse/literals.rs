//! The syntax of request examples, without types: a YAML mapping whose layout may have been
//! collapsed (keys, scalars, flow sequences, `- ` items) and the literal subset of Python the SDK
//! examples use (strings, numbers, booleans, `None`, dicts, lists, `datetime.fromisoformat(...)`).
//! [`super::request_examples`] gives these tokens and values their meaning against a request type.

use serde_json::{Map, Number, Value};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum YamlScalar {
    Quoted(String),
    Plain(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum YamlToken {
    Key(String),
    Scalar(YamlScalar),
    /// A flow sequence `["A", "B"]`.
    Flow(Vec<YamlScalar>),
    /// A block sequence item marker `- `.
    Dash,
}

/// Splits YAML text into keys and values, ignoring layout (which may have been collapsed).
pub(super) fn yaml_tokens(text: &str) -> Result<Vec<YamlToken>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let (s, next) = quoted(&chars, i)?;
            tokens.push(YamlToken::Scalar(YamlScalar::Quoted(s)));
            i = next;
        } else if c == '[' {
            let mut items = Vec::new();
            i += 1;
            loop {
                while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                    i += 1;
                }
                match chars.get(i) {
                    None => return Err("unterminated `[` in the example".into()),
                    Some(']') => {
                        i += 1;
                        break;
                    }
                    Some('"' | '\'') => {
                        let (s, next) = quoted(&chars, i)?;
                        items.push(YamlScalar::Quoted(s));
                        i = next;
                    }
                    Some(_) => {
                        let start = i;
                        while i < chars.len() && !matches!(chars[i], ',' | ']') {
                            i += 1;
                        }
                        items.push(YamlScalar::Plain(chars[start..i].iter().collect::<String>().trim().to_string()));
                    }
                }
            }
            tokens.push(YamlToken::Flow(items));
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match word.strip_suffix(':') {
                Some(key) if !key.is_empty() => tokens.push(YamlToken::Key(key.to_string())),
                _ if word == "-" => tokens.push(YamlToken::Dash),
                _ => tokens.push(YamlToken::Scalar(YamlScalar::Plain(word))),
            }
        }
    }
    Ok(tokens)
}

/// A quoted YAML string starting at `start`; returns it and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = chars[start];
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote == '"' && i + 1 < chars.len() => {
                out.push(match chars[i + 1] {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                i += 2;
            }
            c if c == quote => {
                // A doubled single quote is an escaped quote.
                if quote == '\'' && chars.get(i + 1) == Some(&'\'') {
                    out.push('\'');
                    i += 2;
                    continue;
                }
                return Ok((out, i + 1));
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string in the example".into())
}

/// The keyword arguments of a Python call `client.a.b(k=v, ...)` as a JSON object.
pub(super) fn python_kwargs(call: &str) -> Result<Value, String> {
    let open = call.find('(').ok_or("the Python example has no call")?;
    let mut parser = PyParser { chars: call[open + 1..].chars().collect(), i: 0 };
    let mut args = Map::new();
    loop {
        parser.skip_ws();
        match parser.peek() {
            Some(')') => return Ok(Value::Object(args)),
            None => return Err("unterminated Python call".into()),
            _ => {}
        }
        let name = parser.identifier()?;
        parser.skip_ws();
        parser.expect('=')?;
        let value = parser.value()?;
        args.insert(name, value);
        parser.skip_ws();
        if parser.peek() == Some(',') {
            parser.i += 1;
        }
    }
}

struct PyParser {
    chars: Vec<char>,
    i: usize,
}

impl PyParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected `{c}` in the Python call at {:?}", self.rest()))
        }
    }

    fn rest(&self) -> String {
        self.chars[self.i.min(self.chars.len())..].iter().take(20).collect()
    }

    fn identifier(&mut self) -> Result<String, String> {
        self.skip_ws();
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.i += 1;
        }
        if start == self.i {
            return Err(format!("expected a name in the Python call at {:?}", self.rest()));
        }
        Ok(self.chars[start..self.i].iter().collect())
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        match self.peek() {
            Some('"' | '\'') => {
                let (s, next) = quoted(&self.chars, self.i)?;
                self.i = next;
                Ok(Value::String(s))
            }
            Some('{') => {
                self.i += 1;
                let mut map = Map::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some('}') {
                        self.i += 1;
                        return Ok(Value::Object(map));
                    }
                    let Value::String(key) = self.value()? else {
                        return Err("dict keys must be strings".into());
                    };
                    self.expect(':')?;
                    let v = self.value()?;
                    map.insert(key, v);
                    self.skip_ws();
                    if self.peek() == Some(',') {
                        self.i += 1;
                    }
                }
            }
            Some('[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(']') {
                        self.i += 1;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    self.skip_ws();
                    if self.peek() == Some(',') {
                        self.i += 1;
                    }
                }
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '_' | '+' | '-'))
                {
                    self.i += 1;
                }
                let text: String = self.chars[start..self.i].iter().filter(|&&c| c != '_').collect();
                text.parse::<Number>().map(Value::Number).map_err(|_| format!("`{text}` is not a number"))
            }
            Some(_) => {
                let mut name = self.identifier()?;
                while self.peek() == Some('.') {
                    self.i += 1;
                    name.push('.');
                    name.push_str(&self.identifier()?);
                }
                match name.as_str() {
                    "True" => Ok(Value::Bool(true)),
                    "False" => Ok(Value::Bool(false)),
                    "None" => Ok(Value::Null),
                    // `datetime.fromisoformat("2024-12-31T23:59:59")`: the SDK sends it as an ISO string;
                    // a naive time is read as UTC.
                    "datetime.fromisoformat" | "datetime.datetime.fromisoformat" => {
                        self.expect('(')?;
                        let Value::String(iso) = self.value()? else {
                            return Err("fromisoformat takes a string".into());
                        };
                        self.expect(')')?;
                        let has_offset =
                            iso.ends_with('Z') || iso.get(19..).is_some_and(|tail| tail.contains(['+', '-']));
                        Ok(Value::String(if has_offset { iso } else { format!("{iso}Z") }))
                    }
                    other => Err(format!("`{other}` is not a Python literal")),
                }
            }
            None => Err("unexpected end of the Python call".into()),
        }
    }
}
