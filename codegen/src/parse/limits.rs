//! The parser's limits. Inputs within them parse in time and memory linear in the page size, and no recursion
//! over a type spelling or a field tree goes deeper than these depths (a few dozen frames), so nothing can
//! overflow the stack. An input beyond a limit gets a diagnostic naming the file, the position and the limit.

/// A page larger than this is rejected (the largest reference page is well under 1 MiB).
pub const MAX_PAGE_BYTES: usize = 16 << 20;
/// Brackets (`List[`, `{`) and `array of` / `map of` nested in one type spelling (the reference uses 3).
pub const MAX_TYPE_DEPTH: usize = 32;
/// Message levels nested in one field list (the reference uses 10). Deeper fields are read one level up.
pub const MAX_NESTING: usize = 64;
/// Fields one list may copy from earlier expansions of types it shows again by name only. A copy can hold
/// copies, so without a bound a few hundred items could stand for an exponential tree; the reference (spec +
/// corpus) copies at most 21 fields in one list.
pub const MAX_COPIED_FIELDS: usize = 20_000;
/// Items in one field list; the rest of the list is ignored.
pub const MAX_ITEMS: usize = 50_000;
/// How far one look-ahead probe of an ambiguous boundary reads ahead, and how many probes one list may run:
/// together they keep the look-ahead linear in the list's length.
pub const LOOKAHEAD_ENTRIES: usize = 64;
pub const LOOKAHEAD_PROBES: usize = 64;

/// The depth of a spelling that nests deeper than [`MAX_TYPE_DEPTH`], `None` for one within it. Every level
/// [`type_depth`] counts is a byte of its own (a bracket, or the `o` of an `of`), so a spelling no longer than
/// the limit is within it and is not scanned.
pub fn over_type_depth(spelling: &str) -> Option<usize> {
    if spelling.len() <= MAX_TYPE_DEPTH || level_bytes(spelling) <= MAX_TYPE_DEPTH {
        return None;
    }
    Some(type_depth(spelling)).filter(|&depth| depth > MAX_TYPE_DEPTH)
}

/// How many bytes could each be a level of [`type_depth`]: opening brackets and braces, and every `o`. A bound
/// on the depth, counted without looking at neighbours (a loop the compiler turns into vector code), so a
/// spelling that cannot be too deep is not scanned byte by byte.
fn level_bytes(spelling: &str) -> usize {
    // Counted per 64-byte chunk in a `u8`, which the compiler keeps in vector lanes.
    let is_level = |b: u8| u8::from(b == b'[' || b == b'{' || b == b'o');
    spelling.as_bytes().chunks(64).map(|chunk| usize::from(chunk.iter().fold(0u8, |n, &b| n + is_level(b)))).sum()
}

/// How deeply a type spelling nests: brackets and braces, plus HTTP `array of` / `map of` words.
pub fn type_depth(spelling: &str) -> usize {
    // One pass over the bytes: spellings are short (30 bytes on average), so a searcher's setup would cost more
    // than the scan.
    let bytes = spelling.as_bytes();
    let (mut depth, mut max, mut words) = (0usize, 0usize, 0usize);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'o' if i > 0 && bytes[i - 1] == b' ' && bytes.get(i + 1..i + 3) == Some(b"f ".as_slice()) => words += 1,
            _ => {}
        }
    }
    max + words
}

/// The start of a long text, for a message that quotes it.
pub fn excerpt(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_depth_counts_brackets_braces_and_of_words() {
        let cases = [
            ("str", 0),
            ("Optional[str]", 1),
            ("Dict[str, List[Foo]]", 2),
            ("[]]][", 1),
            ("array of string", 1),
            ("array of array of object { a, b }", 3),
            ("map of x", 1),
            ("of x", 0),
            ("proof of", 0),
            ("a  of b", 1),
            ("x offer y", 0),
        ];
        for (spelling, depth) in cases {
            assert_eq!(type_depth(spelling), depth, "{spelling}");
            assert!(depth <= spelling.len(), "{spelling}");
        }
    }

    #[test]
    fn only_spellings_over_the_limit_report_a_depth() {
        let deep = |n: usize| format!("{}str{}", "List[".repeat(n), "]".repeat(n));
        assert_eq!(over_type_depth(&deep(MAX_TYPE_DEPTH)), None);
        assert_eq!(over_type_depth(&deep(MAX_TYPE_DEPTH + 1)), Some(MAX_TYPE_DEPTH + 1));
        assert_eq!(over_type_depth(&"[".repeat(MAX_TYPE_DEPTH)), None);
        assert_eq!(over_type_depth(&"[".repeat(MAX_TYPE_DEPTH + 1)), Some(MAX_TYPE_DEPTH + 1));
        assert_eq!(over_type_depth(&" of".repeat(MAX_TYPE_DEPTH + 1)), None);
        assert_eq!(over_type_depth(&" of ".repeat(MAX_TYPE_DEPTH + 1)), Some(MAX_TYPE_DEPTH + 1));
    }

    /// The byte count bounds the depth, so answering from it first changes no answer: checked on spellings
    /// near the limit, on `o`-heavy words that are no levels, and on every item head of the reference pages.
    #[test]
    fn level_bytes_bound_the_depth() {
        let mut spellings = vec![
            "o".repeat(40),
            "{".repeat(40),
            format!("{}str{}", "Dict[".repeat(33), "]".repeat(33)),
            format!("{}x", "array of ".repeat(33)),
            format!("{}x", "proof of ".repeat(40)),
            format!("{}x{}", "List[".repeat(20), "]".repeat(20)) + &" map of".repeat(13) + " o",
        ];
        for src in crate::parse::reference_pages(&["spec", "corpus/pages", "corpus/pages-flat"]) {
            spellings.extend(src.split("- `").skip(1).filter_map(|s| s.split('`').next()).map(str::to_string));
        }
        assert!(spellings.len() > 1000, "only {} spellings", spellings.len());
        for s in &spellings {
            assert!(type_depth(s) <= level_bytes(s), "{s}");
            let scanned = Some(type_depth(s)).filter(|&d| s.len() > MAX_TYPE_DEPTH && d > MAX_TYPE_DEPTH);
            assert_eq!(over_type_depth(s), scanned, "{s}");
        }
    }
}
