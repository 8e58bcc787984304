//! Snapshots of the warnings and the nesting statistics (review diffs with `cargo insta review`). The model
//! itself is checked in once, as `generated/api-model.json`.

mod parse_common;

use parse_common::parse_spec;

#[test]
fn warnings_snapshot() {
    let warnings: Vec<String> = parse_spec().warnings.iter().map(|w| w.to_string()).collect();
    insta::assert_json_snapshot!("warnings", warnings);
}

#[test]
fn nesting_stats_snapshot() {
    let parsed = parse_spec();
    // The one boundary nothing in the pages settles is reported, never guessed silently.
    let ambiguous: Vec<_> = parsed.warnings.iter().filter(|w| w.message.starts_with("ambiguous nesting")).collect();
    assert_eq!(ambiguous.len(), 1);
    assert!(ambiguous[0].message.contains("`virtual_directory` may belong to `scm_integration` or the top level"));
    assert_eq!(ambiguous[0].file, "runners.python.md");
    insta::assert_json_snapshot!("stats", parsed.stats);
}
