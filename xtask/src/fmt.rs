//! `cargo xtask fmt [--check]`: rustfmt over every hand-written Rust file.
//!
//! Generated files are left out: prettyplease formats them, and `regen --check` already proves
//! they are exactly what the generator writes.

use crate::regen::{is_generated, rust_files};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every `.rs` file under `root` that does not start with the generated header.
fn hand_written_rust_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(rust_files(root)?.into_iter().filter(|(_, text)| !is_generated(text)).map(|(path, _)| path).collect())
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
