//! The parser on the whole reference: every corpus resource (`corpus/`, 8 resources, 100 methods) is parsed
//! and its model compared with the facts in `corpus/expected/`. Prints the figures; fails below the bar.
//! `CORPUS_MISSES=1` prints every fact that did not match.

mod corpus_score;

use corpus_score::{corpus_dir, load_expected, score, Score};
use gitpod_codegen::parse::{parse_pages, Parsed};
use gitpod_codegen::SpecPage;

fn pages(dir: &str, dialects: &[&str]) -> Vec<SpecPage> {
    let dir = corpus_dir().join(dir);
    let mut out = vec![];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if dialects.iter().any(|d| file.ends_with(&format!(".{d}.md"))) {
            out.push(SpecPage { file, text: std::fs::read_to_string(&path).unwrap() });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

fn parse(pages: &[SpecPage]) -> Parsed {
    parse_pages(pages, None).unwrap_or_else(|errors| {
        panic!("corpus does not parse:\n{}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))
    })
}

fn report(label: &str, s: &Score) {
    println!("corpus ({label}): {s}");
    if std::env::var_os("CORPUS_MISSES").is_some() {
        for m in s.misses() {
            println!("  {m}");
        }
    }
}

fn assert_bar(label: &str, s: &Score) {
    assert_eq!(s.methods.matched, s.methods.total, "{label}: every method is in the model");
    for (what, tally) in [("request", &s.request), ("response", &s.response), ("enums", &s.enums)] {
        assert!(tally.percent() >= 99.0, "{label}: {what} {:.1}% is below the 99% bar", tally.percent());
    }
    assert_eq!(s.shape.matched, s.shape.total, "{label}: query parameters, pagination and streaming");
}

#[test]
fn corpus_flat_pages_both_dialects() {
    let expected = load_expected();
    let parsed = parse(&pages("pages-flat", &["python", "http"]));
    let s = score(&parsed.model, &expected);
    report("flat, both dialects", &s);
    assert_bar("flat, both dialects", &s);
}

#[test]
fn corpus_each_dialect_alone() {
    let expected = load_expected();
    for dir in ["pages-flat", "pages"] {
        for dialect in ["python", "http"] {
            let label = format!("{dir}, {dialect} only");
            let s = score(&parse(&pages(dir, &[dialect])).model, &expected);
            report(&label, &s);
            assert_bar(&label, &s);
        }
    }
}
