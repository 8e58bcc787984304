//! Embeds the checked-in spec pages (`../spec`) so `MockServer::builtin()` needs no files at run time.
//! Writes `$OUT_DIR/spec_pages.rs`: a `&[(&str, &str)]` of (file name, `include_str!` of the file),
//! with the same selection as `gitpod_codegen::parse::load_spec_dir` (`*.md`, `*.txt`, `overrides.toml`).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let spec = manifest.join("..").join("spec");
    println!("cargo:rerun-if-changed={}", spec.display());
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&spec).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let wanted = name.ends_with(".md") || name.ends_with(".txt") || name == "overrides.toml";
        if !path.is_file() || !wanted {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let abs = path.canonicalize().expect("spec file path");
        writeln!(out, "    ({name:?}, include_str!({:?})),", abs.display().to_string()).expect("write to String");
    }
    out.push(']');
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("spec_pages.rs");
    std::fs::write(dest, out).expect("write spec_pages.rs");
}
