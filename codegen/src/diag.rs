//! Diagnostics: every error and warning names the spec file, a position and an excerpt.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about the input, tied to a place in a spec file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Spec file name relative to the spec directory.
    pub file: String,
    /// Byte offset into the file.
    pub offset: usize,
    /// 1-based line and column of `offset` (column counts chars); 0 until [`locate`] has run, which
    /// `parse_pages` does for every diagnostic it returns.
    pub line: usize,
    pub column: usize,
    /// What was found and what was expected (or, for ambiguities, the candidate readings).
    pub message: String,
    /// A short excerpt of the text around `offset`.
    pub excerpt: String,
}

impl Diagnostic {
    /// Builds a diagnostic for `offset` in `text` with its excerpt. Line and column are left at 0 until
    /// [`locate`] fills them in for every diagnostic of a page in one pass: computed here, each would scan the
    /// page up to its offset, and a page with many findings would cost their product.
    pub fn at(severity: Severity, file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let window = floor_char_boundary(text, offset.saturating_sub(30));
        let start = text[window..offset].rfind('\n').map_or(window, |i| window + i + 1);
        let end = floor_char_boundary(text, (offset + 50).min(text.len()));
        let end = text[offset..end].find('\n').map_or(end, |i| offset + i);
        let excerpt = text[start..end].to_string();
        Diagnostic { severity, file: file.to_string(), offset, line: 0, column: 0, message: message.into(), excerpt }
    }

    pub fn error(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Self::at(Severity::Error, file, text, offset, message)
    }

    pub fn warning(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Self::at(Severity::Warning, file, text, offset, message)
    }
}

/// Fills in line and column of every diagnostic from its offset, one pass over each page they point into
/// (`text_of` gives a page's text by file name; a diagnostic of an unknown file gets line 1, column 1).
pub fn locate<'a>(diags: &mut [Diagnostic], text_of: impl Fn(&str) -> Option<&'a str>) {
    let mut order: Vec<usize> = (0..diags.len()).collect();
    order.sort_by(|&a, &b| (&diags[a].file, diags[a].offset).cmp(&(&diags[b].file, diags[b].offset)));
    let mut current: Option<(String, &str, usize, usize, usize)> = None;
    for i in order {
        let d = &mut diags[i];
        if current.as_ref().is_none_or(|(file, ..)| *file != d.file) {
            current = Some((d.file.clone(), text_of(&d.file).unwrap_or(""), 0, 1, 1));
        }
        let Some((_, text, pos, line, column)) = current.as_mut() else { continue };
        let target = floor_char_boundary(text, d.offset.min(text.len())).max(*pos);
        // Lines by memchr, columns as a char count of the last line's stretch (std counts chars in bulk): a
        // flattened page is one line a megabyte long.
        let stretch = &text[*pos..target];
        match memchr::memrchr(b'\n', stretch.as_bytes()) {
            Some(last) => {
                *line += memchr::memchr_iter(b'\n', stretch.as_bytes()).count();
                *column = 1 + stretch[last + 1..].chars().count();
            }
            None => *column += stretch.chars().count(),
        }
        *pos = target;
        (d.line, d.column) = (*line, *column);
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{sev}: {}:{}:{} (byte {}): {}\n    | {}",
            self.file, self.line, self.column, self.offset, self.message, self.excerpt
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line and column of `offset` the plain way: every char before it.
    fn naive(text: &str, offset: usize) -> (usize, usize) {
        let (mut line, mut column) = (1, 1);
        for c in text[..floor_char_boundary(text, offset.min(text.len()))].chars() {
            if c == '\n' {
                (line, column) = (line + 1, 1);
            } else {
                column += 1;
            }
        }
        (line, column)
    }

    #[test]
    fn locate_gives_line_and_column_of_every_offset() {
        let pages = [("a.md", "ab\ncd é\n\nfg日h\n"), ("b.md", "one line, no newline ü"), ("c.md", "")];
        let mut diags = vec![];
        for (file, text) in pages {
            // Every offset (char boundary or not, and past the end), in an order locate must sort.
            for offset in (0..=text.len() + 2).rev() {
                diags.push(Diagnostic::warning(file, text, offset, "m"));
            }
        }
        diags.push(Diagnostic::warning("unknown.md", "", 5, "m"));
        let text_of = |file: &str| pages.iter().find(|(f, _)| *f == file).map(|(_, t)| *t);
        locate(&mut diags, text_of);
        for d in &diags {
            let expected = naive(text_of(&d.file).unwrap_or(""), d.offset);
            assert_eq!((d.line, d.column), expected, "{} at {}", d.file, d.offset);
        }
    }
}
