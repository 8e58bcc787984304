//! The emitter on the real spec and on the edge-case fixture pages: no warnings, and output that does not
//! depend on page order or on the order of sections within a page. The output itself is checked once, as the
//! checked-in crates (`generated/`, `fixtures/*/`) that `cargo xtask regen --check` compares with.

mod parse_common;

use gitpod_codegen::emit::{emit, EmitOptions, GeneratedFile};
use gitpod_codegen::parse::{load_spec_dir, parse_pages};
use gitpod_codegen::SpecPage;
use parse_common::parse_spec;
use std::path::Path;

fn emit_pages(pages: &[SpecPage]) -> Vec<GeneratedFile> {
    let parsed = parse_pages(pages, None).unwrap_or_else(|e| panic!("{e:?}"));
    emit(&parsed.model, &EmitOptions::default()).expect("the model emits").files
}

#[test]
fn the_spec_emits_without_warnings() {
    let emitted = emit(&parse_spec().model, &EmitOptions::default()).unwrap();
    assert!(emitted.warnings.is_empty(), "{:?}", emitted.warnings);
    assert!(emitted.files.len() >= 8);
}

#[test]
fn the_edge_case_fixture_parses_and_emits_without_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/edge-cases/spec");
    let (pages, overrides) = load_spec_dir(&dir).unwrap();
    let parsed = parse_pages(&pages, overrides.as_ref()).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let options = EmitOptions { crate_name: "fixture_edge_cases".into(), readme: None };
    let emitted = emit(&parsed.model, &options).unwrap();
    assert!(emitted.warnings.is_empty(), "{:?}", emitted.warnings);
}

/// Splits a collapsed page into its `## Method` sections (before the first: the page head).
fn sections(text: &str) -> (String, Vec<String>) {
    let mut parts = text.split(" ## ");
    let head = parts.next().unwrap_or_default().to_string();
    (head, parts.map(|s| format!(" ## {s}")).collect())
}

#[test]
fn output_does_not_depend_on_page_or_section_order() {
    let (pages, _) = load_spec_dir(&parse_common::spec_dir()).unwrap();
    let baseline = emit_pages(&pages);

    let mut reversed = pages.clone();
    reversed.reverse();
    assert_eq!(emit_pages(&reversed), baseline, "page order changed the output");

    // Method sections of the big page in reverse order, within each run of movable sections: a
    // Domain Types section, or one that ends with the next resource's `# Heading`, stays put.
    let mut shuffled = pages.clone();
    let page = shuffled.iter_mut().find(|p| p.file == "runners.python.md").unwrap();
    let (head, mut parts) = sections(&page.text);
    let ends_with_resource_heading = |part: &str| {
        part.rsplit_once(" # ").is_some_and(|(_, tail)| tail.chars().all(|c| c.is_ascii_alphabetic() || c == ' '))
    };
    let movable = |part: &str| !part.starts_with(" ## Domain Types") && !ends_with_resource_heading(part);
    let mut runs: Vec<Vec<usize>> = vec![vec![]];
    for (i, part) in parts.iter().enumerate() {
        if movable(part) {
            runs.last_mut().unwrap().push(i);
        } else {
            runs.push(vec![]);
        }
    }
    let original = parts.clone();
    for run in runs.iter().filter(|r| r.len() > 1) {
        for (dst, src) in run.iter().zip(run.iter().rev()) {
            parts[*dst] = original[*src].clone();
        }
    }
    assert_ne!(parts, original, "the test must actually reorder sections");
    page.text = format!("{head}{}", parts.concat());
    assert_eq!(emit_pages(&shuffled), baseline, "section order changed the output");
}

/// `emit` formats a file one item at a time (so the syntax tree it holds is one item's); the result must be
/// what prettyplease makes of the whole file, on the biggest files regen writes: spec + every corpus page as
/// one spec. Blank lines are left out of the comparison (the emitter adds one between items).
#[test]
fn files_are_formatted_as_prettyplease_formats_the_whole_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pages = load_spec_dir(&parse_common::spec_dir()).unwrap().0;
    pages.extend(load_spec_dir(&root.join("corpus/pages-flat")).unwrap().0);
    let files = emit_pages(&pages);
    let code_lines = |text: &str| text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect::<Vec<_>>();
    for file in &files {
        let body = file.contents.split_once('\n').expect("a header line").1;
        let whole = prettyplease::unparse(&syn::parse_file(body).unwrap_or_else(|e| panic!("{}: {e}", file.path)));
        assert_eq!(code_lines(body), code_lines(&whole), "{}", file.path);
    }
    let biggest = files.iter().map(|f| f.contents.len()).max().unwrap();
    assert!(files.len() > 20 && biggest > 200_000, "{} files, biggest {biggest} bytes", files.len());
}
