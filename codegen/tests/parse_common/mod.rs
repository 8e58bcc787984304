// Shared helpers for the parse_* tests (included with `mod`, not a test target of its own).
#![allow(dead_code)]

pub mod measure;
pub mod mutate;

use gitpod_codegen::parse::{load_spec_dir, parse_pages, Parsed};
use gitpod_codegen::SpecPage;
use std::path::{Path, PathBuf};

pub fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

pub fn spec_pages() -> (Vec<SpecPage>, Option<SpecPage>) {
    load_spec_dir(&spec_dir()).expect("spec/ is readable")
}

pub fn parse_spec() -> Parsed {
    let (pages, ov) = spec_pages();
    match parse_pages(&pages, ov.as_ref()) {
        Ok(p) => p,
        Err(errs) => {
            panic!("spec does not parse:\n{}", errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))
        }
    }
}

/// Every whitespace run becomes one space: how the published pages were flattened.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn fixture(name: &str) -> SpecPage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    SpecPage { file: name.to_string(), text: std::fs::read_to_string(path).expect("fixture exists") }
}
