//! The rendered overview page (plain text): only used to cross-check that every path it lists is in the model.

use crate::diag::Diagnostic;
use crate::SpecPage;

/// Procedure paths the overview lists (`post/gitpod.v1.RunnerService/GetRunner`), with their offsets.
pub fn paths(page: &SpecPage) -> Vec<(String, usize)> {
    let t = &page.text;
    let mut out = vec![];
    let mut from = 0;
    while let Some(i) = t[from..].find("post/gitpod.") {
        let start = from + i + "post".len();
        let end = t[start..].find(|c: char| c.is_whitespace()).map_or(t.len(), |e| start + e);
        out.push((t[start..end].to_string(), start));
        from = end;
    }
    out
}

pub fn check(page: &SpecPage, known: &std::collections::BTreeSet<String>) -> Vec<Diagnostic> {
    paths(page)
        .into_iter()
        .filter(|(p, _)| !known.contains(p))
        .map(|(p, at)| {
            Diagnostic::warning(
                &page.file,
                &page.text,
                at,
                format!("the overview lists `{p}`, which no reference page documents"),
            )
        })
        .collect()
}
