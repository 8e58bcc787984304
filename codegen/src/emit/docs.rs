//! Doc comments cleaned for rustdoc (in the spirit of prost-build's `ast.rs`).
//!
//! The reference's Markdown is mostly fine for rustdoc, except for what rustdoc reads differently:
//! `[x]` becomes an intra-doc link (broken), bare URLs trip `rustdoc::bare_urls`, `<word>` trips
//! `rustdoc::invalid_html_tags`, and an unlabelled code fence becomes a Rust doctest.

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::cell::RefCell;

/// `#[doc = "..."]` attributes, one per line, for a cleaned description. Empty text gives nothing.
pub fn doc_attrs(markdown: &str) -> TokenStream {
    // Built token by token (what `quote! { #( #[doc = #lines] )* }` makes), without an identifier check and a
    // copy of each literal per line: docs are most of the emitter's tokens.
    let mut tokens = TokenStream::new();
    LINES.with(|groups| {
        let mut groups = groups.borrow_mut();
        clean_lines(markdown, |line| {
            let group = match groups.get(line) {
                Some(group) => group.clone(),
                None => {
                    let group = doc_group(line);
                    groups.insert(line.into(), group.clone());
                    group
                }
            };
            tokens.extend([TokenTree::Punct(Punct::new('#', Spacing::Alone)), group.into()]);
        });
    });
    tokens
}

thread_local! {
    /// The `[doc = "..."]` group of every line written since [`forget_lines`]: about half the doc lines repeat
    /// (blank lines, the doc examples' boilerplate, the enums'), and a copy of a group shares its tokens.
    static LINES: RefCell<FxHashMap<Box<str>, Group>> = RefCell::new(FxHashMap::default());
}

/// Empties the doc line cache (each `emit` starts with an empty one: it holds one crate's lines at most).
pub fn forget_lines() {
    LINES.with(|groups| groups.borrow_mut().clear());
}

/// `[doc = "line"]`.
fn doc_group(line: &str) -> Group {
    let lit = if line.is_empty() { Literal::string("") } else { doc_line(line) };
    let attr =
        [TokenTree::Ident(Ident::new("doc", Span::call_site())), Punct::new('=', Spacing::Alone).into(), lit.into()];
    Group::new(Delimiter::Bracket, attr.into_iter().collect())
}

/// One doc line as a raw string literal `r" line"` (a leading space, as `///` gives): the doc text is copied as
/// it is, where `Literal::string` would escape it char by char and syn unescape it again (most of the cost of
/// docs in regen). The formatter prints the line's value, so the spelling of the literal never shows. A line a
/// raw string cannot hold (a control character) is spelled as an escaped string.
fn doc_line(line: &str) -> Literal {
    let control = if line.is_ascii() {
        line.bytes().any(|b| b.is_ascii_control() && b != b'\t')
    } else {
        line.chars().any(|c| c.is_control() && c != '\t')
    };
    if control {
        return Literal::string(&format!(" {line}"));
    }
    // Enough `#`s that no `"#…#` inside the line closes the literal early.
    let mut hashes = 0;
    if line.contains('"') {
        let mut run: Option<usize> = None;
        for c in line.bytes() {
            run = match (c, run) {
                (b'"', _) => Some(0),
                (b'#', Some(n)) => Some(n + 1),
                _ => None,
            };
            if let Some(n) = run {
                hashes = hashes.max(n + 1);
            }
        }
    }
    let mut repr = String::with_capacity(line.len() + 4 + 2 * hashes);
    repr.push('r');
    repr.extend(std::iter::repeat_n('#', hashes));
    repr.push_str("\" ");
    repr.push_str(line);
    repr.push('"');
    repr.extend(std::iter::repeat_n('#', hashes));
    repr.parse().unwrap_or_else(|_| Literal::string(&format!(" {line}")))
}

/// Cleans Markdown for rustdoc; see the module docs for what changes.
#[cfg(test)]
pub fn clean(markdown: &str) -> String {
    let mut out = Vec::new();
    clean_lines(markdown, |line| out.push(line.to_string()));
    out.join("\n")
}

/// Cleans Markdown for rustdoc line by line (see the module docs for what changes), handing each line to `f`.
fn clean_lines(markdown: &str, mut f: impl FnMut(&str)) {
    let mut in_fence = false;
    for line in markdown.trim().lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_fence {
                in_fence = false;
                f(line.trim_end());
            } else {
                in_fence = true;
                let indent = &line[..line.len() - trimmed.len()];
                // An unlabelled or Rust-looking fence would be compiled as a doctest.
                let lang = if info.trim().is_empty() { "text" } else { info.trim() };
                f(&format!("{indent}```{lang}"));
            }
            continue;
        }
        if in_fence {
            f(line.trim_end());
        } else {
            f(&clean_inline(line.trim_end()));
        }
    }
    if in_fence {
        f("```");
    }
}

/// Escapes one line of prose outside code spans.
fn clean_inline(line: &str) -> Cow<'_, str> {
    // Every case below starts at one of these bytes (all ASCII: a position found by byte is a char boundary).
    let special = |b: u8| matches!(b, b'`' | b'\\' | b'[' | b']' | b'<' | b'>');
    // Most lines hold nothing to escape: those are used as they are.
    if !line.bytes().any(special) && !line.contains("http") {
        return Cow::Borrowed(line);
    }
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'`' => {
                // Copy a whole code span verbatim: a run of n backticks up to the next run of n.
                let run = backtick_run(bytes, i);
                let close = find_backtick_run(bytes, i + run, run);
                let end = close.map_or(i + run, |j| j + run);
                out.push_str(&line[i..end]);
                i = end;
            }
            b'\\' if i + 1 < bytes.len() => {
                // The backslash and the whole character after it.
                let end = i + 1 + line[i + 1..].chars().next().map_or(0, char::len_utf8);
                out.push_str(&line[i..end]);
                i = end;
            }
            b'[' => {
                if let Some(end) = markdown_link_end(line, i) {
                    out.push_str(&line[i..end]);
                    i = end;
                } else {
                    out.push_str("\\[");
                    i += 1;
                }
            }
            b']' => {
                out.push_str("\\]");
                i += 1;
            }
            b'<' => {
                if let Some(end) = autolink_end(line, i) {
                    out.push_str(&line[i..end]);
                    i = end;
                } else {
                    out.push_str("\\<");
                    i += 1;
                }
            }
            b'>' => {
                out.push_str("\\>");
                i += 1;
            }
            b'h' if is_url_start(line, i) => {
                let end = url_end(line, i);
                out.push('<');
                out.push_str(&line[i..end]);
                out.push('>');
                i = end;
            }
            _ => {
                // Plain text up to the next byte that may start a case above, copied at once.
                let end =
                    bytes[i + 1..].iter().position(|&b| special(b) || b == b'h').map_or(bytes.len(), |n| i + 1 + n);
                out.push_str(&line[i..end]);
                i = end;
            }
        }
    }
    Cow::Owned(out)
}

fn is_url_start(line: &str, at: usize) -> bool {
    line[at..].starts_with("http://") || line[at..].starts_with("https://")
}

/// The number of backticks from `at` on.
fn backtick_run(bytes: &[u8], at: usize) -> usize {
    bytes[at..].iter().take_while(|&&b| b == b'`').count()
}

fn find_backtick_run(bytes: &[u8], from: usize, len: usize) -> Option<usize> {
    let mut j = from;
    while j < bytes.len() {
        if bytes[j] == b'`' {
            let run = backtick_run(bytes, j);
            if run == len {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

/// End (exclusive, a byte index) of `[text](url)` starting at `start`, if it is one.
fn markdown_link_end(line: &str, start: usize) -> Option<usize> {
    let bytes = line.as_bytes();
    let close = bytes[start + 1..].iter().position(|&b| b == b']')? + start + 1;
    if bytes[start + 1..close].contains(&b'[') || bytes.get(close + 1) != Some(&b'(') {
        return None;
    }
    let paren = bytes[close + 2..].iter().position(|&b| b == b')')? + close + 2;
    if line[close + 2..paren].chars().any(char::is_whitespace) {
        return None;
    }
    Some(paren + 1)
}

/// End (exclusive, a byte index) of `<https://...>` starting at `start`, if it is one.
fn autolink_end(line: &str, start: usize) -> Option<usize> {
    if !is_url_start(line, start + 1) {
        return None;
    }
    let close = line.as_bytes()[start..].iter().position(|&b| b == b'>')? + start;
    if line[start..close].chars().any(char::is_whitespace) {
        return None;
    }
    Some(close + 1)
}

/// A bare URL ends at whitespace or a closing bracket; trailing punctuation is not part of it.
fn url_end(line: &str, start: usize) -> usize {
    let stop = |c: char| c.is_whitespace() || matches!(c, ')' | ']' | '>' | '"' | '\'' | '`');
    let mut end = line[start..].char_indices().find(|&(_, c)| stop(c)).map_or(line.len(), |(n, _)| start + n);
    // ASCII punctuation: the byte before `end` is one only if the character is.
    while end > start && matches!(line.as_bytes()[end - 1], b'.' | b',' | b';' | b':' | b'!' | b'?') {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::{clean, doc_line};

    #[test]
    fn doc_lines_keep_their_text_whatever_it_holds() {
        for line in
            ["plain", "a \"quote\"", "r\"#x\"# and \"## too", "tab\there", "cr\rhere", "nul\0", "back\\slash", "é ✓"]
        {
            let lit: syn::LitStr =
                syn::parse2(proc_macro2::TokenTree::Literal(doc_line(line)).into()).expect("a string literal");
            assert_eq!(lit.value(), format!(" {line}"), "{line:?}");
        }
    }

    #[test]
    fn brackets_urls_and_tags_are_escaped_outside_code() {
        assert_eq!(clean("a Optional[str] b"), "a Optional\\[str\\] b");
        assert_eq!(clean("see https://example.com/x."), "see <https://example.com/x>.");
        assert_eq!(clean("keep [link](https://x.io) and `a[0] <b>`"), "keep [link](https://x.io) and `a[0] <b>`");
        assert_eq!(clean("map<string, int>"), "map\\<string, int\\>");
        assert_eq!(clean("<https://x.io>"), "<https://x.io>");
    }

    #[test]
    fn unlabelled_fences_are_text() {
        assert_eq!(clean("x\n```\nfn main() {}\n```"), "x\n```text\nfn main() {}\n```");
        assert_eq!(clean("```yaml\na: [1]\n```"), "```yaml\na: [1]\n```");
    }
}
