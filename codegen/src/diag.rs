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
    /// 1-based line and column of `offset` (column counts chars).
    pub line: usize,
    pub column: usize,
    /// What was found and what was expected (or, for ambiguities, the candidate readings).
    pub message: String,
    /// A short excerpt of the text around `offset`.
    pub excerpt: String,
}

impl Diagnostic {
    /// Builds a diagnostic for `offset` in `text`, computing line, column and excerpt.
    pub fn at(severity: Severity, file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        let start = floor_char_boundary(text, offset.saturating_sub(30).max(line_start));
        let end = floor_char_boundary(text, (offset + 50).min(text.len()));
        let end = text[offset..end].find('\n').map_or(end, |i| offset + i);
        let excerpt = text[start..end].to_string();
        Diagnostic { severity, file: file.to_string(), offset, line, column, message: message.into(), excerpt }
    }

    pub fn error(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Self::at(Severity::Error, file, text, offset, message)
    }

    pub fn warning(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Self::at(Severity::Warning, file, text, offset, message)
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
