//! Every file is stored once: no checked-in file is a byte copy of another (insta snapshots compared by their
//! body, without the header insta writes). Generated output is checked as the checked-in crates, so a
//! snapshot of a generated file, or a second copy of a page, would make one change show up twice in a diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = entry.file_name();
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() || name == "target" || name == ".git" {
            continue;
        }
        if kind.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The content that counts: an insta snapshot without its `---` header.
fn body(path: &Path, bytes: Vec<u8>) -> Vec<u8> {
    if path.extension().is_some_and(|e| e == "snap") {
        let text = String::from_utf8_lossy(&bytes);
        if let Some(rest) = text.strip_prefix("---\n").and_then(|t| t.split_once("\n---\n")) {
            return rest.1.trim().as_bytes().to_vec();
        }
    }
    bytes
}

#[test]
fn no_checked_in_file_is_stored_twice() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut all = vec![];
    files(root, &mut all);
    let mut seen: BTreeMap<Vec<u8>, PathBuf> = BTreeMap::new();
    let mut copies = vec![];
    for path in all {
        let content = body(&path, std::fs::read(&path).unwrap());
        if content.len() < 64 {
            continue; // empty or trivial files (an empty lib.rs) are not copies of anything
        }
        if let Some(first) = seen.get(&content) {
            copies.push(format!("{} = {}", path.display(), first.display()));
        } else {
            seen.insert(content, path);
        }
    }
    assert!(copies.is_empty(), "files stored twice:\n{}", copies.join("\n"));
}
