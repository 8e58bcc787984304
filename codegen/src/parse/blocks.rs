//! Restores the Markdown block structure of a page whose whitespace may have been collapsed.
//!
//! Every page is first collapsed (each whitespace run becomes one space) so that a page with intact newlines and
//! the same page flattened to one line go through exactly the same code; an offset map leads back to the original
//! bytes for diagnostics. The collapsed text is then cut into blocks (headings, list items, fenced code, paragraphs)
//! by the rules the reference pages follow; `page` folds them into sections. (No Markdown parser runs over the
//! result: the blocks already are the structure, and a re-parse would only lose their offsets.)

use crate::diag::Diagnostic;
use std::borrow::Cow;

/// A page with whitespace collapsed, plus the way back to original offsets.
#[derive(Debug, Clone)]
pub struct Collapsed<'a> {
    /// The page itself when it has nothing to collapse (a flattened page usually has not).
    pub text: Cow<'a, str>,
    /// The way back, as runs: `(collapsed, original)` where a run starts; inside a run, collapsed and original
    /// bytes correspond one to one (the space that stands for a whitespace run maps to its first byte, which
    /// is where the run before it ends). A byte inside a multi-byte char maps to where that char starts.
    /// (One entry per whitespace run, not one per byte of the page.)
    runs: Vec<(usize, usize)>,
    src_len: usize,
}

impl<'a> Collapsed<'a> {
    pub fn new(src: &'a str) -> Self {
        if is_collapsed(src) {
            let runs = if src.is_empty() { vec![] } else { vec![(0, 0)] };
            return Collapsed { text: Cow::Borrowed(src), runs, src_len: src.len() };
        }
        let mut text = String::with_capacity(src.len());
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let n = src.len();
        // Each word (a maximal run of non-whitespace), with one space before it unless it is the first. Words
        // the page already separates by one plain space are copied as one span: the text only departs from
        // the page, and a new run starts, after other whitespace.
        let bytes = src.as_bytes();
        let plain = |b: u8| PLAIN[usize::from(b)];
        let mut i = skip_whitespace(src, 0);
        let mut span = i;
        if i < n {
            runs.push((0, i));
        }
        while i < n {
            // The common case in one tight loop: ASCII word bytes, and a single space before one.
            i += bytes[i..].iter().position(|&b| !plain(b)).unwrap_or(n - i);
            let Some(&b) = bytes.get(i) else { break };
            if b == b' ' && bytes.get(i + 1).copied().is_some_and(plain) {
                i += 2;
                continue;
            }
            if b >= 0x80 && whitespace_len(src, i) == 0 {
                i = word_end(src, i);
                continue;
            }
            // A whitespace run starts at `i`.
            let next = skip_whitespace(src, i);
            if next == n {
                break;
            }
            if next == i + 1 && b == b' ' {
                i = next;
                continue;
            }
            // The space maps to the first whitespace byte, right where the span ended: it extends that run.
            text.push_str(&src[span..i]);
            text.push(' ');
            runs.push((text.len(), next));
            span = next;
            i = next;
        }
        text.push_str(&src[span..i.min(n)]);
        Collapsed { text: Cow::Owned(text), runs, src_len: n }
    }

    /// `sub`, a stretch of the collapsed text, as a block's text: borrowed from the page when the page needed no
    /// collapsing (most pages, and no copy of them), else copied out of the collapsed text. Inlined: it runs
    /// twice per item, and the borrowed case is a few instructions.
    #[inline]
    fn piece(&self, sub: &str) -> Cow<'a, str> {
        match &self.text {
            Cow::Borrowed(whole) => {
                let start = sub.as_ptr() as usize - whole.as_ptr() as usize;
                Cow::Borrowed(&whole[start..start + sub.len()])
            }
            Cow::Owned(_) => Cow::Owned(sub.to_string()),
        }
    }

    /// [`Collapsed::original`] for offsets taken in ascending order: the run search resumes at `run` (start it
    /// at 0) and steps forward, instead of a binary search over every run of the page per offset.
    pub fn original_from(&self, collapsed: usize, run: &mut usize) -> usize {
        if collapsed >= self.text.len() {
            return self.src_len;
        }
        let mut c = collapsed;
        while !self.text.is_char_boundary(c) {
            c -= 1;
        }
        if self.runs.get(*run).is_none_or(|&(start, _)| start > c) {
            *run = self.runs.partition_point(|&(start, _)| start <= c).saturating_sub(1);
        }
        while self.runs.get(*run + 1).is_some_and(|&(start, _)| start <= c) {
            *run += 1;
        }
        self.runs.get(*run).map_or(self.src_len, |&(start, origin)| origin + (c - start))
    }

    /// Original byte offset of a collapsed offset.
    pub fn original(&self, collapsed: usize) -> usize {
        if collapsed >= self.text.len() {
            return self.src_len;
        }
        let mut c = collapsed;
        while !self.text.is_char_boundary(c) {
            c -= 1;
        }
        let run = self.runs.partition_point(|&(start, _)| start <= c).saturating_sub(1);
        self.runs.get(run).map_or(self.src_len, |&(start, origin)| origin + (c - start))
    }
}

/// The searcher for two spaces, built once: most texts checked are a few dozen bytes, where building it costs
/// more than the search.
static DOUBLE_SPACE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"  "));

/// Whether `src` is already collapsed: no whitespace but single plain spaces, none at either end. Checked with
/// memchr and memmem (a few bytes per instruction), so a page with nothing to collapse is not copied byte by byte.
pub(crate) fn is_collapsed(src: &str) -> bool {
    let bytes = src.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    if memchr::memchr3(b'\t', b'\n', b'\r', bytes).is_some()
        || memchr::memchr2(0x0b, 0x0c, bytes).is_some()
        || DOUBLE_SPACE.find(bytes).is_some()
    {
        return false;
    }
    // Non-ASCII chars are rare: skip all-ASCII windows (checked a word at a time) and decode only the chars
    // that are not ASCII, looking for Unicode whitespace. `i` is always a char boundary. (256-byte windows
    // cost fewer instructions on the reference than 64 or 1024.)
    let mut i = 0;
    while i < bytes.len() {
        let end = (i + 256).min(bytes.len());
        let window = &bytes[i..end];
        if window.is_ascii() {
            i = end;
            continue;
        }
        let Some(at) = window.iter().position(|&b| b >= 0x80) else { break };
        let Some(c) = src[i + at..].chars().next() else { break };
        if c.is_whitespace() {
            return false;
        }
        i += at + c.len_utf8();
    }
    true
}

/// Where the word starting at byte `i` ends: the next whitespace char, or the end. ASCII bytes are judged in
/// place; only a non-ASCII byte needs its char decoded (a page is mostly ASCII).
fn word_end(src: &str, mut i: usize) -> usize {
    let bytes = src.as_bytes();
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if is_ascii_whitespace(b) {
                break;
            }
            i += 1;
        } else {
            let c = src[i..].chars().next().unwrap_or(' ');
            if c.is_whitespace() {
                break;
            }
            i += c.len_utf8();
        }
    }
    i
}

/// Where the whitespace starting at byte `i` ends.
fn skip_whitespace(src: &str, mut i: usize) -> usize {
    while i < src.len() {
        match whitespace_len(src, i) {
            0 => break,
            ws => i += ws,
        }
    }
    i
}

/// The length of the whitespace char at byte `i` of `src` (a char boundary), or 0 when it is not whitespace.
fn whitespace_len(src: &str, i: usize) -> usize {
    let b = src.as_bytes()[i];
    if b < 0x80 {
        return usize::from(is_ascii_whitespace(b));
    }
    src[i..].chars().next().filter(|c| c.is_whitespace()).map_or(0, char::len_utf8)
}

/// What a block is. Text is kept exactly as it stands in the collapsed page (borrowed from the page when it
/// needed no collapsing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind<'a> {
    Heading {
        level: u8,
        title: String,
    },
    /// A list item: `head` is the leading code span (without backticks) when there is one.
    Item {
        head: Option<Cow<'a, str>>,
        text: Cow<'a, str>,
    },
    Code {
        lang: String,
        body: Cow<'a, str>,
    },
    Para {
        text: Cow<'a, str>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block<'a> {
    pub kind: BlockKind<'a>,
    /// Byte offset in the collapsed text.
    pub offset: usize,
}

/// Cuts collapsed text into blocks. Fails (with a diagnostic) only on an unterminated code fence or code span
/// in an item head, the two places where the rest of the page cannot be read safely.
pub fn split_blocks<'a>(file: &str, src: &str, page: &Collapsed<'a>) -> Result<Vec<Block<'a>>, Diagnostic> {
    let t = &*page.text;
    // The reference has a block every 80 bytes or so: sized for that, the list rarely grows (a megabyte page
    // would otherwise be copied at every doubling).
    let mut blocks = Vec::with_capacity(t.len() / 64);
    let mut pos = 0;
    let mut in_examples = false;
    let err = |at: usize, msg: String| Diagnostic::error(file, src, page.original(at), msg);
    while pos < t.len() {
        if t[pos..].starts_with(' ') {
            pos += 1;
            continue;
        }
        let rest = &t[pos..];
        if let Some(after_ticks) = rest.strip_prefix("```") {
            let lang_end = memchr::memchr(b' ', after_ticks.as_bytes()).map_or(rest.len(), |i| i + 3);
            let lang = rest[3..lang_end].to_string();
            let Some(close) = find_fence_close(t, pos + lang_end) else {
                return Err(err(pos, "unterminated code fence: no closing ``` before the end of the page".into()));
            };
            let body = page.piece(trim_collapsed(&t[(pos + lang_end).min(close)..close]));
            blocks.push(Block { kind: BlockKind::Code { lang, body }, offset: pos });
            pos = close + 3;
            continue;
        }
        if let Some((level, title, end)) = heading_at(t, pos) {
            in_examples = level == 3 && title == "Examples";
            if level <= 2 {
                in_examples = false;
            }
            blocks.push(Block { kind: BlockKind::Heading { level, title }, offset: pos });
            pos = end;
            continue;
        }
        if rest.starts_with("- `") {
            let head_start = pos + 3;
            let Some(close) = memchr::memchr(b'`', &t.as_bytes()[head_start..]).map(|i| head_start + i) else {
                return Err(err(pos, "list item code span is not closed".into()));
            };
            let head = page.piece(&t[head_start..close]);
            let end = next_block_start(t, close + 1, in_examples);
            let text = page.piece(trim_collapsed(&t[close + 1..end]));
            blocks.push(Block { kind: BlockKind::Item { head: Some(head), text }, offset: pos });
            pos = end;
            continue;
        }
        if in_examples && rest.starts_with("- ") {
            let end = next_block_start(t, pos + 2, in_examples);
            let text = page.piece(trim_collapsed(&t[pos + 2..end]));
            blocks.push(Block { kind: BlockKind::Item { head: None, text }, offset: pos });
            pos = end;
            continue;
        }
        let end = next_block_start(t, pos, in_examples).max(pos + 1);
        let end = floor_boundary(t, end);
        let text = trim_collapsed(&t[pos..end]);
        if !text.is_empty() {
            let text = page.piece(text);
            blocks.push(Block { kind: BlockKind::Para { text }, offset: pos });
        }
        pos = end.max(pos + rest.chars().next().map_or(1, char::len_utf8));
    }
    Ok(blocks)
}

/// [`str::trim`] of a stretch of collapsed text, where the only whitespace is a single plain space: at most
/// one at each end to drop, so no char is decoded.
fn trim_collapsed(s: &str) -> &str {
    let s = s.strip_prefix(' ').unwrap_or(s);
    s.strip_suffix(' ').unwrap_or(s)
}

fn floor_boundary(t: &str, mut i: usize) -> usize {
    i = i.min(t.len());
    while i > 0 && !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The bytes that are a whole char of a word: ASCII, not whitespace (a table: the collapse loop's one test).
static PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x80 {
        table[b] = !is_ascii_whitespace(b as u8);
        b += 1;
    }
    table
};

/// What `char::is_whitespace` says of an ASCII byte (unlike `u8::is_ascii_whitespace`, it counts U+000B).
const fn is_ascii_whitespace(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// A closing fence is ``` preceded by a space and followed by a space or the end.
fn find_fence_close(t: &str, from: usize) -> Option<usize> {
    let mut search = from;
    while let Some(i) = memchr::memmem::find(t.get(search..)?.as_bytes(), b" ```") {
        let at = search + i + 1;
        let after = &t[at + 3..];
        if after.is_empty() || after.starts_with(' ') {
            return Some(at);
        }
        search = at + 3;
    }
    None
}

/// Recognises a real heading at `pos`: `#`..`####` then a space. A level-1 heading is real only when a short
/// plain title is followed directly by ` ## ` (this rejects `# This is the default…` in code and `# Examples`
/// inside Timestamp descriptions). Returns level, title and the offset after the title.
fn heading_at(t: &str, pos: usize) -> Option<(u8, String, usize)> {
    let (level, title, end) = heading_span(t, pos)?;
    Some((level, title.to_string(), end))
}

/// [`heading_at`] with the title borrowed: a look-ahead that only asks whether a heading starts makes no copy.
fn heading_span(t: &str, pos: usize) -> Option<(u8, &str, usize)> {
    if pos > 0 && !t[..pos].ends_with(' ') {
        return None;
    }
    let rest = &t[pos..];
    let level = rest.bytes().take_while(|&b| b == b'#').count();
    if !(1..=4).contains(&level) || !rest[level..].starts_with(' ') {
        return None;
    }
    let title_start = pos + level + 1;
    if level == 1 {
        // A title longer than 60 bytes is not plain, so ` ## ` is only looked for where such a title can end
        // (not through the rest of the page, once per `#`).
        let window = floor_boundary(t, title_start + 64);
        let close = memchr::memmem::find(&t.as_bytes()[title_start..window], b" ## ")?;
        let title = &t[title_start..title_start + close];
        let plain = !title.is_empty()
            && title.len() <= 60
            && title.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
            && title.starts_with(|c: char| c.is_ascii_uppercase());
        return plain.then_some((1, title, title_start + close));
    }
    let end = title_end(t, title_start);
    let title = trim_collapsed(&t[title_start..end]);
    if title.is_empty() {
        return None;
    }
    Some((level as u8, title, end))
}

/// A heading title runs until the first item, code span, bold text, fence or heading after it (one scan that
/// stops there, rather than one search per marker, each of which may run to the end of the page).
fn title_end(t: &str, from: usize) -> usize {
    let bytes = t.as_bytes();
    let mut i = from;
    while let Some(space) = bytes[i..].iter().position(|&b| b == b' ') {
        let at = i + space;
        let next = &bytes[at + 1..];
        if next.starts_with(b"- ") || next.starts_with(b"`") || next.starts_with(b"**") || next.starts_with(b"#") {
            return at;
        }
        i = at + 1;
    }
    t.len()
}

/// Where the text starting at `from` ends: at the next item, fence or real heading.
fn next_block_start(t: &str, from: usize, in_examples: bool) -> usize {
    let bytes = t.as_bytes();
    // Every block starts with `-`, a backtick or `#` after a space: look only at those bytes (memchr), not at
    // every space of the text.
    for at in memchr::memchr3_iter(b'-', b'`', b'#', bytes.get(from + 1..).unwrap_or_default()) {
        let start = from + 1 + at;
        if bytes[start - 1] != b' ' {
            continue;
        }
        let next = &t[start..];
        if next.starts_with("- `") || next.starts_with("```") || (in_examples && next.starts_with("- ")) {
            return start - 1;
        }
        if next.starts_with('#') && heading_span(t, start).is_some() {
            return start - 1;
        }
    }
    t.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_maps_offsets_back() {
        let c = Collapsed::new("a\n\n  b c");
        assert_eq!(c.text, "a b c");
        assert_eq!(c.original(2), 5);
    }

    /// The per-byte map the runs replace: every collapsed byte's original offset, one more for the end.
    fn per_byte_origins(src: &str) -> (String, Vec<usize>) {
        let mut text = String::new();
        let mut origin = vec![];
        let mut pending_space: Option<usize> = None;
        for (i, ch) in src.char_indices() {
            if ch.is_whitespace() {
                if pending_space.is_none() && !text.is_empty() {
                    pending_space = Some(i);
                }
                continue;
            }
            if let Some(at) = pending_space.take() {
                text.push(' ');
                origin.push(at);
            }
            text.push(ch);
            origin.extend(std::iter::repeat_n(i, ch.len_utf8()));
        }
        origin.push(src.len());
        (text, origin)
    }

    #[test]
    fn collapse_runs_map_every_byte_like_a_per_byte_map() {
        let pages = [
            "",
            "   ",
            "a",
            "  a b  ",
            "a\n\n  b\tc\r\n",
            "é ü\u{a0}ß\u{2003}\u{3000}x  ",
            "\u{85}日本 語\n- `x` y",
            "a b c  d e f\ng h ",
            " one two\u{a0}three four",
            "a é b \u{a0}c\u{0}d  \u{3000} e\t f ",
            "x é",
        ];
        for src in pages {
            let c = Collapsed::new(src);
            let (text, origin) = per_byte_origins(src);
            assert_eq!(c.text, text, "{src:?}");
            let mut run = 0;
            for (i, &o) in origin.iter().enumerate() {
                assert_eq!(c.original(i), o, "{src:?} at {i}");
                assert_eq!(c.original_from(i, &mut run), o, "{src:?} at {i}, resumed");
            }
            assert_eq!(c.original(text.len() + 3), src.len());
            // Out of order, the search starts over.
            for (i, &o) in origin.iter().enumerate().rev() {
                assert_eq!(c.original_from(i, &mut run), o, "{src:?} at {i}, backwards");
            }
        }
    }

    /// The same comparison over every page of the reference we have, flat and with newlines (the flat ones
    /// take the borrowed path, the others the copying one).
    #[test]
    fn collapse_matches_the_per_byte_map_on_every_reference_page() {
        let pages = crate::parse::reference_pages(&["spec", "corpus/pages", "corpus/pages-flat"]);
        for src in &pages {
            let c = Collapsed::new(src);
            let (text, origin) = per_byte_origins(src);
            assert_eq!(c.text, text);
            let mut run = 0;
            for (i, &o) in origin.iter().enumerate().step_by(97) {
                assert_eq!(c.original(i), o, "at {i}");
                assert_eq!(c.original_from(i, &mut run), o, "at {i}, resumed");
            }
        }
        assert!(pages.len() > 20, "only {} pages found", pages.len());
    }

    /// The same comparison over many generated texts: every mix of word bytes, single and repeated spaces,
    /// other ASCII whitespace, non-ASCII letters and Unicode whitespace, at every position.
    #[test]
    fn collapse_matches_the_per_byte_map_on_generated_texts() {
        let pieces =
            ["a", "bc", " ", " ", "  ", "\n", "\t", "\r\n", "é", "\u{a0}", "\u{85}", "\u{3000}", "\u{0}", "日"];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            let src: String = (0..len).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
            let c = Collapsed::new(&src);
            let (text, origin) = per_byte_origins(&src);
            assert_eq!(c.text, text, "{src:?}");
            let mut run = 0;
            for (i, &o) in origin.iter().enumerate() {
                assert_eq!(c.original(i), o, "{src:?} at {i}");
                assert_eq!(c.original_from(i, &mut run), o, "{src:?} at {i}, resumed");
            }
        }
    }

    /// Every stretch of collapsed text trims the same with [`trim_collapsed`] as with [`str::trim`]: on
    /// generated texts (all stretches) and on every reference page (stretches between sampled boundaries).
    #[test]
    fn trim_collapsed_is_str_trim_on_collapsed_text() {
        let check = |text: &str, step: usize| {
            let bounds: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            for (n, &start) in bounds.iter().enumerate().step_by(step) {
                for &end in bounds[n..].iter().step_by(step).take(64) {
                    let sub = &text[start..end];
                    assert_eq!(trim_collapsed(sub), sub.trim(), "{sub:?}");
                }
            }
        };
        let pieces =
            ["a", "bc", " ", "  ", "\n", "\t", "é", "\u{a0}", "\u{85}", "\u{3000}", "\u{2028}", "日", "-", "`"];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 16) as usize;
            let src: String = (0..len).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
            check(&Collapsed::new(&src).text, 1);
        }
        for src in crate::parse::reference_pages(&["spec", "corpus/pages", "corpus/pages-flat"]) {
            check(&Collapsed::new(&src).text, 37);
        }
    }

    #[test]
    fn false_headings_stay_text() {
        let src = "# Policies ## M `x` ### Example ```python a = 1 # This is the default ``` \
                   ### Parameters - `a: str` see # Examples here";
        let c = Collapsed::new(src);
        let blocks = split_blocks("f", src, &c).unwrap();
        let headings: Vec<_> = blocks
            .iter()
            .filter_map(|b| match &b.kind {
                BlockKind::Heading { title, .. } => Some(title.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(headings, ["Policies", "M", "Example", "Parameters"]);
        assert!(blocks
            .iter()
            .any(|b| b.kind == BlockKind::Item { head: Some("a: str".into()), text: "see # Examples here".into() }));
    }
}
