//! `cargo xtask fmt [--check]`: rustfmt over every hand-written Rust file.
//!
//! Generated files are left out: prettyplease formats them, and `regen --check` already proves
//! they are exactly what the generator writes.

use gitpod_codegen::emit::GENERATED_HEADER;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every `.rs` file under `root` that does not start with the generated header.
fn hand_written_rust_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".rs") {
                let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                if text.lines().next() != Some(GENERATED_HEADER) {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Formats (or with `check`, verifies the formatting of) the hand-written files.
pub fn run(root: &Path, check: bool) -> Result<(), String> {
    let files = hand_written_rust_files(root)?;
    let mut command = Command::new("rustfmt");
    command.arg("--edition").arg("2021").current_dir(root);
    if check {
        command.arg("--check");
    }
    let status = command.args(&files).status().map_err(|e| format!("cannot run rustfmt: {e}"))?;
    if !status.success() {
        return Err(if check {
            "some hand-written files are not formatted: run `cargo xtask fmt`".to_string()
        } else {
            "rustfmt failed".to_string()
        });
    }
    eprintln!("fmt: {} hand-written files {}", files.len(), if check { "are formatted" } else { "formatted" });
    Ok(())
}
