//! Description cleanup: one canonical text whatever the page's whitespace, protobuf boilerplate shortened.

/// Collapses whitespace, shortens the well-known-type boilerplate, strips `+required`/`+optional` markers
/// (they become data) and puts plain `- ` bullets after a colon on their own lines. Links are kept.
pub fn clean(text: &str) -> String {
    // Texts come from pages already collapsed, so there is mostly nothing to collapse: a copy, not a pass
    // word by word.
    let t = if super::blocks::is_collapsed(text) { text.to_string() } else { collapse_whitespace(text) };
    let mut t = shorten_boilerplate(t);
    // Most descriptions have no marker: skip the five copying passes then.
    if t.contains('+') {
        for marker in [" +required", "+required ", "+required", " +optional", "+optional "] {
            t = t.replace(marker, if marker.starts_with(' ') { "" } else { " " });
        }
    }
    let trimmed = t.trim();
    if trimmed.len() != t.len() {
        t = trimmed.to_string();
    }
    bullets(t)
}

/// Each whitespace run as one space, none at either end.
fn collapse_whitespace(text: &str) -> String {
    let mut t = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !t.is_empty() {
            t.push(' ');
        }
        t.push_str(word);
    }
    t
}

const TIMESTAMP_START: &str = "A Timestamp represents a point in time";
const DURATION_START: &str = "A Duration represents a signed, fixed-length span of time";

/// Replaces the protobuf Timestamp/Duration text (with its `# Examples` and `# JSON Mapping` parts) by one
/// sentence; text the docs put before it is kept.
fn shorten_boilerplate(t: String) -> String {
    // Both boilerplate texts start with "A ", which most descriptions never contain at all.
    if !t.contains("A ") {
        return t;
    }
    if let Some(i) = t.find(TIMESTAMP_START) {
        let before = t[..i].trim_end();
        let short = "A point in time, independent of any time zone, at nanosecond resolution; on the wire an \
                     [RFC 3339](https://www.ietf.org/rfc/rfc3339.txt) string such as `2017-01-15T01:30:15.01Z`.";
        return join(before, short);
    }
    if let Some(i) = t.find(DURATION_START) {
        let before = t[..i].trim_end();
        let short = "A signed, fixed-length span of time at nanosecond resolution; on the wire a decimal number of \
                     seconds with an `s` suffix, such as `1.5s`.";
        return join(before, short);
    }
    t
}

fn join(before: &str, short: &str) -> String {
    if before.is_empty() {
        short.to_string()
    } else {
        format!("{before} {short}")
    }
}

/// `Use this method to: - A - B` → a Markdown list on its own lines.
fn bullets(t: String) -> String {
    let Some(colon) = t.find(": - ") else {
        return t;
    };
    let (intro, rest) = t.split_at(colon + 1);
    let items: Vec<&str> = rest.trim_start().trim_start_matches("- ").split(" - ").map(str::trim).collect();
    let mut out = intro.to_string();
    out.push('\n');
    for item in items {
        out.push_str("\n- ");
        out.push_str(item);
    }
    out
}

/// Deprecation in prose: `Deprecated: …`, `deprecated, will be removed …`.
pub fn is_deprecated(text: &str) -> bool {
    // Most texts never say it: look for the word, ASCII case-insensitively (no other char lowercases to one of
    // its letters), before lowercasing the whole text.
    let bytes = text.as_bytes();
    let mentions = memchr::memchr2_iter(b'd', b'D', bytes)
        .any(|i| bytes.get(i + 1..i + 10).is_some_and(|rest| rest.eq_ignore_ascii_case(b"eprecated")));
    if !mentions {
        return false;
    }
    let lower = text.to_lowercase();
    lower.starts_with("deprecated")
        || lower.contains(". deprecated")
        || lower.contains("deprecated:")
        || lower.contains(" deprecated,")
}

pub fn has_required_marker(text: &str) -> bool {
    text.contains("+required")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boilerplate_and_bullets() {
        let t =
            clean("Time when created. A Timestamp represents a point in time ... # Examples ... # JSON Mapping ...");
        assert_eq!(t, format!("Time when created. {}", clean("A Timestamp represents a point in time")));
        assert!(!t.contains("JSON Mapping"));
        assert_eq!(clean("Does x. Use this method to: - A - B"), "Does x. Use this method to:\n\n- A\n- B");
        assert_eq!(clean("start hour. +required"), "start hour.");
        assert!(is_deprecated("deprecated, will be removed. Use exchange_token instead."));
        assert!(is_deprecated("Maximum. Deprecated: Use pagination.page_size instead"));
        assert!(!is_deprecated("the deprecated_field name"));
    }

    #[test]
    fn collapsed_texts_clean_like_the_word_by_word_pass() {
        let texts = ["", "a", "a b", " a", "a ", "a  b", "a\nb", "a\u{a0}b", "\u{3000}a", "é ü", "a\u{b}b", "a\u{1c}b"];
        for text in texts {
            assert_eq!(clean(text), clean(&collapse_whitespace(text)), "{text:?}");
            if super::super::blocks::is_collapsed(text) {
                assert_eq!(collapse_whitespace(text), text, "{text:?}");
            }
        }
    }
}
