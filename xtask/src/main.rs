//! Project tasks: `cargo xtask regen [--check]`, `cargo xtask model`, `cargo xtask mock --addr ADDR`.

mod cost;
mod fmt;
mod mock;
mod regen;

use std::path::{Path, PathBuf};

/// Regen allocates millions of small strings and token trees; see xtask/Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Regen is a short batch job: memory it frees is kept for its own later allocations rather than returned to
/// the OS (mimalloc's default, after 1 s), which would only be faulted in and zeroed again. Measured with the
/// pipeline bench repeated in one process: the system time of regen for spec + corpus fell from 6% to 1%.
/// The pipeline bench sets the same option, for regen and its floor alike.
fn keep_freed_memory() {
    // mimalloc.h's `mi_option_purge_delay` (between eager_commit_delay, 14, and use_numa_nodes, 16, which
    // libmimalloc-sys names); -1: never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_set only stores an option value; any option and value are accepted.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  regen [--check]   regenerate generated/ from spec/ (--check: fail naming each stale file)
  model             print the model of spec/ as JSON on stdout
  test              run every check CI runs: tests, clippy, rustdoc, regen --check
  regen-cost        regen against its floor in instructions (valgrind), for spec/ and spec/ + corpus
  mock --addr ADDR [--lenient] [--spec DIR] [--stream-repeat N] [--stream-interval-ms M]
                    serve every method's documented example on ADDR until Ctrl-C (spec/ unless --spec;
                    streaming methods: the example N times, M ms apart)";

fn main() -> ExitCode {
    keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = project_root();
    let result = match args.as_slice() {
        ["regen"] => run_regen(&root, false),
        ["regen", "--check"] => run_regen(&root, true),
        ["model"] => run_model(&root),
        ["test"] => run_tests(&root),
        ["regen-cost"] => cost::run(&root),
        ["fmt"] => fmt::run(&root, false),
        ["fmt", "--check"] => fmt::run(&root, true),
        ["mock", rest @ ..] => mock::run(&root, rest),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

fn run_regen(root: &Path, check: bool) -> Result<(), String> {
    // Plan every target before writing any, so a failure anywhere leaves every crate as it was.
    let mut plans = Vec::new();
    for target in regen::targets(root).map_err(|e| e.to_string())? {
        let plan = regen::plan(&target).map_err(|e| format!("{}: {e}", target.source.display()))?;
        plans.push((target, plan));
    }
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    if check {
        let mut stale = Vec::new();
        for (target, plan) in &plans {
            let dir = rel(&target.out_dir);
            stale.extend(plan.write.keys().map(|p| format!("{dir}/{p} is out of date")));
            stale.extend(plan.remove.iter().map(|p| format!("{dir}/{p} is no longer generated")));
        }
        if !stale.is_empty() {
            return Err(format!("{}\nrun `cargo xtask regen` and commit the result", stale.join("\n")));
        }
        let files: usize = plans.iter().map(|(_, p)| p.unchanged.len()).sum();
        eprintln!("regen --check: {files} generated files are up to date");
        return Ok(());
    }
    for (target, plan) in &plans {
        for warning in &plan.warnings {
            eprintln!("{warning}");
        }
        for warning in &plan.emit_warnings {
            eprintln!("{warning}");
        }
        regen::apply(plan, &target.out_dir).map_err(|e| e.to_string())?;
        if !plan.api_changes.is_empty() {
            let breaking = plan.api_changes.iter().filter(|c| c.breaking).count();
            eprintln!("API changes in {} ({} breaking):", rel(&target.out_dir), breaking);
            for change in &plan.api_changes {
                eprintln!("  {change}");
            }
        }
        let model = &plan.model;
        let methods: usize = model.services.iter().map(|s| s.methods.len()).sum();
        eprintln!(
            "regen {}: {} services, {} methods, {} messages, {} enums, {} warnings; files: {} written, {} unchanged, {} removed",
            rel(&target.out_dir),
            model.services.len(),
            methods,
            model.messages.len(),
            model.enums.len(),
            plan.warnings.len() + plan.emit_warnings.len(),
            plan.write.len(),
            plan.unchanged.len(),
            plan.remove.len()
        );
    }
    // Last, the files a reviewer has to read.
    let changed: Vec<String> = plans
        .iter()
        .flat_map(|(target, plan)| {
            let dir = rel(&target.out_dir);
            let written = plan.write.keys().map(move |p| format!("  written {dir}/{p}"));
            let dir = rel(&target.out_dir);
            written.chain(plan.remove.iter().map(move |p| format!("  removed {dir}/{p}")))
        })
        .collect();
    if changed.is_empty() {
        eprintln!("regen: no file changed");
    } else {
        eprintln!("regen: {} files changed:\n{}", changed.len(), changed.join("\n"));
    }
    Ok(())
}

fn run_model(root: &Path) -> Result<(), String> {
    let parsed = regen::load_model(&root.join("spec")).map_err(|e| e.to_string())?;
    for warning in &parsed.warnings {
        eprintln!("{warning}");
    }
    let json = serde_json::to_string_pretty(&parsed.model).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

/// Everything CI checks, in order of how fast it fails.
fn run_tests(root: &Path) -> Result<(), String> {
    run_regen(root, true)?;
    fmt::run(root, true)?;
    /// (what, cargo arguments, extra environment)
    type Step<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let steps: &[Step] = &[
        // Benches are not run here (timing belongs to `cargo bench`); clippy below still builds them.
        ("tests", &["test", "--workspace", "--lib", "--bins", "--tests", "--examples"], &[]),
        ("doctests", &["test", "--workspace", "--doc"], &[]),
        ("clippy", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[]),
        ("rustdoc", &["doc", "--workspace", "--no-deps"], &[("RUSTDOCFLAGS", "-D warnings")]),
        (
            "generated crate without default features",
            &["clippy", "-p", "gitpod-api", "--no-default-features", "--", "-D", "warnings"],
            &[],
        ),
    ];
    for (name, args, env) in steps {
        eprintln!("==> {name}: cargo {}", args.join(" "));
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(*args)
            .envs(env.iter().copied())
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("{name} failed"));
        }
    }
    eprintln!("all checks passed");
    Ok(())
}
