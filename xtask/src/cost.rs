//! `cargo xtask regen-cost`: regen against its floor in instructions (valgrind's callgrind), not seconds.
//!
//! `cargo bench -p gitpod-codegen` measures CPU time, which on a shared 2-core machine varies with what else
//! runs (caches, memory bandwidth): its spreads are wide. An instruction count is the same on every run of the
//! same binary and input, so this gives the same ratios on a loaded machine as on a quiet one. It runs the
//! pipeline bench's subjects once each (`PIPELINE_ONE`) under callgrind and prints regen / floor for `spec/`
//! and for `spec/` + `corpus/pages-flat/`, and the instructions per method.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn run(root: &Path) -> Result<(), String> {
    let bench = build_pipeline_bench(root)?;
    let count = |subject: &str| instructions(root, &bench, subject);
    let (regen_spec, floor_spec_total) = (count("regen-spec")?, count("floor-spec")?);
    let (regen_both, floor_both_total) = (count("regen")?, count("floor")?);
    // A floor run first runs regen for the files it formats; its own part is the difference.
    let floor_spec = floor_spec_total.saturating_sub(regen_spec).max(1);
    let floor_both = floor_both_total.saturating_sub(regen_both).max(1);
    let methods = |dirs: &[&str]| -> Result<u64, String> {
        let mut pages = Vec::new();
        let mut overrides = None;
        for dir in dirs {
            let (p, o) = gitpod_codegen::parse::load_spec_dir(&root.join(dir)).map_err(|e| e.to_string())?;
            pages.extend(p);
            overrides = overrides.or(o);
        }
        let parsed = gitpod_codegen::parse::parse_pages(&pages, overrides.as_ref())
            .map_err(|d| format!("{} diagnostics parsing {}", d.len(), dirs.join(" + ")))?;
        Ok(parsed.model.services.iter().map(|s| s.methods.len() as u64).sum())
    };
    let (spec_methods, both_methods) = (methods(&["spec"])?, methods(&["spec", "corpus/pages-flat"])?);
    let m = |n: u64| n as f64 / 1e6;
    println!("instructions (millions)       regen     floor   regen / floor");
    println!(
        "spec                      {:>9.1} {:>9.1}   {:.2}x",
        m(regen_spec),
        m(floor_spec),
        ratio(regen_spec, floor_spec)
    );
    println!(
        "spec + corpus             {:>9.1} {:>9.1}   {:.2}x",
        m(regen_both),
        m(floor_both),
        ratio(regen_both, floor_both)
    );
    let (per_spec, per_both) = (regen_spec as f64 / spec_methods as f64, regen_both as f64 / both_methods as f64);
    println!(
        "regen per method: spec {:.2} M ({spec_methods} methods), spec + corpus {:.2} M ({both_methods} methods): {:.2}x",
        per_spec / 1e6,
        per_both / 1e6,
        per_both / per_spec
    );
    Ok(())
}

fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

/// Builds the pipeline bench and returns its executable (from cargo's JSON messages).
fn build_pipeline_bench(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["bench", "-p", "gitpod-codegen", "--bench", "pipeline", "--no-run", "--message-format=json"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("building the pipeline bench failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["target"]["name"] == "pipeline")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo did not report the pipeline bench's executable".to_string())
}

/// Instructions one run of `subject` takes, as callgrind counts them.
fn instructions(root: &Path, bench: &Path, subject: &str) -> Result<u64, String> {
    let out_file = std::env::temp_dir().join(format!("regen-cost-{}-{subject}.callgrind", std::process::id()));
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(bench)
        .env("PIPELINE_ONE", subject)
        .current_dir(root.join("codegen"))
        .output()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    let _ = std::fs::remove_file(&out_file);
    if !out.status.success() {
        return Err(format!("valgrind on {subject} failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    // callgrind's summary line: `==pid== Collected : 1234` (event Ir, instructions).
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.split_once("Collected :").map(|(_, n)| n.trim().replace(',', "")))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no instruction count in valgrind's output for {subject}:\n{stderr}"))
}
