//! `cargo xtask regen`: spec → model → files in `generated/`, written only when everything succeeded.
//!
//! Like rust-analyzer's `ensure_file_contents`, but over a whole set of files: regen owns exactly
//! the files whose first line is [`GENERATED_HEADER`]; it rewrites those that changed, removes those
//! no longer produced, and never touches hand-written files.

use gitpod_codegen::diag::Diagnostic;
use gitpod_codegen::diff::{self, Change};
use gitpod_codegen::emit::{self, EmitOptions, EmitWarning, GeneratedFile, GENERATED_HEADER};
use gitpod_codegen::model::Model;
use gitpod_codegen::parse;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Everything regen would do, computed before anything is written.
pub struct Plan {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
    /// Names the emitter had to change to make them valid, distinct Rust identifiers.
    pub emit_warnings: Vec<EmitWarning>,
    /// Files to write: path relative to the output dir → new contents.
    pub write: BTreeMap<String, String>,
    pub unchanged: Vec<String>,
    /// Owned files that are no longer produced.
    pub remove: Vec<String>,
    /// How the API differs from the model regen wrote last time (`api-model.json`).
    pub api_changes: Vec<Change>,
}

/// The model as regen last wrote it, checked in beside the code so that the next regen can say
/// what changed in the API (and reviewers can read the model's diff).
pub const MODEL_FILE: &str = "api-model.json";

/// Why regen stopped before writing anything.
pub enum RegenError {
    Spec(Vec<Diagnostic>),
    Emit(emit::EmitError),
    Io(String),
}

impl std::fmt::Display for RegenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegenError::Spec(diags) => {
                for d in diags {
                    writeln!(f, "{d}")?;
                }
                write!(f, "regen: {} error(s) in the spec; generated/ was left unchanged", diags.len())
            }
            RegenError::Emit(e) => write!(f, "{e}\nregen: generated/ was left unchanged"),
            RegenError::Io(e) => write!(f, "regen: {e}"),
        }
    }
}

/// Parses the spec directory into the model (shared by `regen`, `model` and `mock`).
pub fn load_model(spec_dir: &Path) -> Result<parse::Parsed, RegenError> {
    let (pages, overrides) =
        parse::load_spec_dir(spec_dir).map_err(|e| RegenError::Io(format!("{}: {e}", spec_dir.display())))?;
    parse::parse_pages(&pages, overrides.as_ref()).map_err(RegenError::Spec)
}

/// One crate regen writes: the spec it reads, the crate directory it writes into.
pub struct Target {
    /// A spec directory, or a model as JSON (`model.json`: a fixture of models the pages cannot express).
    pub source: PathBuf,
    pub out_dir: PathBuf,
    pub options: EmitOptions,
}

/// The crates regen owns: `generated/` from `spec/`, and one small crate per fixture in
/// `fixtures/*/` (its own `spec/`), which the workspace builds so the fixtures' output is compiled.
pub fn targets(root: &Path) -> Result<Vec<Target>, RegenError> {
    let mut targets = vec![Target {
        source: root.join("spec"),
        out_dir: root.join("generated"),
        options: EmitOptions { crate_name: "gitpod_api".into(), readme: Some("../../README.md".into()) },
    }];
    let fixtures = root.join("fixtures");
    let entries = fs::read_dir(&fixtures).map_err(|e| RegenError::Io(format!("{}: {e}", fixtures.display())))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("spec").is_dir() || p.join(FIXTURE_MODEL).is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().replace('-', "_")).unwrap_or_default();
        let spec = dir.join("spec");
        targets.push(Target {
            source: if spec.is_dir() { spec } else { dir.join(FIXTURE_MODEL) },
            out_dir: dir.clone(),
            options: EmitOptions { crate_name: format!("fixture_{name}"), readme: None },
        });
    }
    Ok(targets)
}

/// A fixture whose model the pages cannot express gives it as JSON instead of a `spec/` directory.
pub const FIXTURE_MODEL: &str = "model.json";

/// The model of a target: parsed from its spec directory, or read from its model JSON.
fn load_source(source: &Path, previous: Option<&Model>) -> Result<parse::Parsed, RegenError> {
    if !source.is_file() {
        let (pages, overrides) =
            parse::load_spec_dir(source).map_err(|e| RegenError::Io(format!("{}: {e}", source.display())))?;
        return parse::parse_pages_after(&pages, overrides.as_ref(), previous).map_err(RegenError::Spec);
    }
    let io = |e: String| RegenError::Io(format!("{}: {e}", source.display()));
    let text = fs::read_to_string(source).map_err(|e| io(e.to_string()))?;
    let model = serde_json::from_str(&text).map_err(|e| io(e.to_string()))?;
    Ok(parse::Parsed { model, warnings: Vec::new(), stats: Default::default() })
}

/// Computes what regen would change in `target.out_dir` without writing.
pub fn plan(target: &Target) -> Result<Plan, RegenError> {
    let out_dir = &target.out_dir;
    let existing = owned_files(out_dir).map_err(RegenError::Io)?;
    // The model regen wrote last: what the API report compares with, and the names to keep.
    let previous = existing.get(MODEL_FILE).and_then(|old| serde_json::from_str::<Model>(old).ok());
    let parsed = load_source(&target.source, previous.as_ref())?;
    let emitted = emit::emit(&parsed.model, &target.options).map_err(RegenError::Emit)?;
    let mut files = emitted.files;
    let model_json = serde_json::to_string_pretty(&parsed.model).map_err(|e| RegenError::Io(e.to_string()))?;
    files.push(GeneratedFile { path: MODEL_FILE.to_string(), contents: format!("{model_json}\n") });
    let api_changes = previous.map(|old| diff::diff(&old, &parsed.model)).unwrap_or_default();
    let mut write = BTreeMap::new();
    let mut unchanged = Vec::new();
    for GeneratedFile { path, contents } in files {
        if existing.get(&path) == Some(&contents) {
            unchanged.push(path);
        } else {
            write.insert(path, contents);
        }
    }
    let remove = existing.keys().filter(|p| !write.contains_key(*p) && !unchanged.contains(p)).cloned().collect();
    Ok(Plan {
        model: parsed.model,
        warnings: parsed.warnings,
        emit_warnings: emitted.warnings,
        write,
        unchanged,
        remove,
        api_changes,
    })
}

/// Applies a plan: each file is written to a temporary sibling and renamed into place.
pub fn apply(plan: &Plan, out_dir: &Path) -> Result<(), RegenError> {
    let io = |path: &Path, e: std::io::Error| RegenError::Io(format!("{}: {e}", path.display()));
    for (rel, contents) in &plan.write {
        let target = out_dir.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let tmp = tmp_path(&target);
        fs::write(&tmp, contents).map_err(|e| io(&tmp, e))?;
        fs::rename(&tmp, &target).map_err(|e| io(&target, e))?;
    }
    for rel in &plan.remove {
        let target = out_dir.join(rel);
        fs::remove_file(&target).map_err(|e| io(&target, e))?;
    }
    Ok(())
}

fn tmp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.regen-tmp"))
}

/// Files under `dir` whose first line is the generated header, keyed by relative path with `/`.
fn owned_files(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    if dir.exists() {
        for (path, text) in rust_files(dir)? {
            if is_generated(&text) {
                let rel = path.strip_prefix(dir).expect("rust_files stays under its root");
                let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                out.insert(rel, text);
            }
        }
    }
    let model = dir.join(MODEL_FILE);
    if model.is_file() {
        let text = fs::read_to_string(&model).map_err(|e| format!("{}: {e}", model.display()))?;
        out.insert(MODEL_FILE.to_string(), text);
    }
    Ok(out)
}

/// Whether a file's text is regen's (its first line is the generated header).
pub fn is_generated(text: &str) -> bool {
    text.lines().next() == Some(GENERATED_HEADER)
}

/// Every `.rs` file under `dir` with its text, sorted by path; `target/` and hidden entries are skipped.
pub fn rust_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name == "target" || name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".rs") {
                let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                files.push((path, text));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-regen-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn snapshot(dir: &Path) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.insert(
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    fs::read_to_string(&path).unwrap(),
                );
            }
        }
        files
    }

    #[test]
    fn a_failed_regen_leaves_the_output_untouched() {
        let dir = scratch("failed");
        let spec = dir.join("spec");
        let out = dir.join("out");
        fs::create_dir_all(&spec).unwrap();
        fs::create_dir_all(out.join("src")).unwrap();
        // A method whose path is missing: the parser must reject it.
        fs::write(
            spec.join("broken.python.md"),
            "# Things\n\n## GetThing\n\n**post** nowhere\n\n### Parameters\n\n- `id: Optional[str]`\n",
        )
        .unwrap();
        fs::write(out.join("src/lib.rs"), format!("{GENERATED_HEADER}\n// old output\n")).unwrap();
        let before = snapshot(&out.join("src"));
        let target = Target { source: spec, out_dir: out.clone(), options: EmitOptions::default() };
        match plan(&target) {
            Err(RegenError::Spec(diags)) => assert!(diags.iter().all(|d| d.file == "broken.python.md")),
            Err(other) => panic!("expected spec errors, got {other}"),
            Ok(_) => panic!("a page without a path must not parse"),
        }
        assert_eq!(snapshot(&out.join("src")), before);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn regen_reports_api_changes_against_the_last_model() {
        let dir = scratch("api-changes");
        let spec = dir.join("spec");
        let out = dir.join("out");
        fs::create_dir_all(&spec).unwrap();
        let page = fs::read_to_string(root().join("fixtures/edge-cases/spec/things.python.md")).unwrap();
        fs::write(spec.join("things.python.md"), &page).unwrap();
        let target = Target {
            source: spec.clone(),
            out_dir: out.clone(),
            options: EmitOptions { crate_name: "fixture_edge_cases".into(), readme: None },
        };
        let first = plan(&target).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.api_changes.is_empty(), "no previous model: nothing to compare");
        apply(&first, &out).unwrap_or_else(|e| panic!("{e}"));

        // The docs drop an enum value and add a request field.
        let without_large: String =
            page.lines().filter(|l| !l.contains("THING_KIND_LARGE")).map(|l| format!("{l}\n")).collect();
        let changed = without_large
            .replace("- `id: Optional[str]`\n\n  id is the thing's identifier", "- `id: Optional[str]`\n\n  id is the thing's identifier\n\n- `verbose: Optional[bool]`\n\n  verbose asks for more");
        assert_ne!(changed, page);
        fs::write(spec.join("things.python.md"), changed).unwrap();
        let second = plan(&target).unwrap_or_else(|e| panic!("{e}"));
        let report: Vec<String> = second.api_changes.iter().map(|c| c.to_string()).collect();
        assert!(report.contains(&"BREAKING enum value ThingKind.THING_KIND_LARGE: removed".to_string()), "{report:#?}");
        assert!(report.contains(&"         field GetThingRequest.verbose: added".to_string()), "{report:#?}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn regen_owns_only_files_with_the_header() {
        let dir = scratch("owned");
        let out = dir.join("out");
        fs::create_dir_all(out.join("src")).unwrap();
        fs::write(out.join("src/stale.rs"), format!("{GENERATED_HEADER}\n// no longer produced\n")).unwrap();
        fs::write(out.join("src/handwritten.rs"), "// mine\n").unwrap();
        let target = Target {
            source: root().join("fixtures/edge-cases/spec"),
            out_dir: out.clone(),
            options: EmitOptions { crate_name: "fixture_edge_cases".into(), readme: None },
        };
        let first = plan(&target).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.remove, ["src/stale.rs"]);
        apply(&first, &out).unwrap_or_else(|e| panic!("{e}"));
        assert!(!out.join("src/stale.rs").exists());
        assert_eq!(fs::read_to_string(out.join("src/handwritten.rs")).unwrap(), "// mine\n");
        // A second run writes nothing: output is deterministic.
        let second = plan(&target).unwrap_or_else(|e| panic!("{e}"));
        assert!(second.write.is_empty() && second.remove.is_empty());
        assert_eq!(second.unchanged.len(), first.write.len());
        let _ = fs::remove_dir_all(&dir);
    }
}
