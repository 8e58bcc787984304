//! `cargo bench -p gitpod-codegen`: the cost of each stage of regen, as ratios to a baseline
//! measured in the same run (so the figures do not depend on the machine).
//!
//! - parse: `parse_pages` over every spec page vs. a whitespace scan of the same text (splitting it into
//!   words: the least any reader of the pages must look at);
//! - emit: `emit` of the whole model vs. serializing the same model to JSON (a plain walk of it);
//! - regen vs. floor, for `spec/` alone and for `spec/` + `corpus/pages-flat/` read as one spec (a user whose
//!   `spec/` holds the whole reference; the sticky-name and collision warnings that gives are expected):
//!   - regen: read the pages, `parse_pages`, `emit` (what `cargo xtask regen` does for one crate);
//!   - floor: read the pages, one pulldown-cmark pass over them (the standard CommonMark parser: the least
//!     work any Markdown reader must do), then `syn` + `prettyplease::unparse` of the files regen
//!     emits, one item at a time (the work any token-based emitter must do at the end);
//!   - CPU ms per method (regen's CPU time / the model's method count), and spec + corpus over spec alone:
//!     1.0 means the cost per method stays flat as the spec grows; then where it goes: parse CPU per KiB of
//!     pages (parsing's input) and emit CPU per method (emitting's output), spec + corpus over spec alone;
//!   - the floor's CPU per method, spec + corpus over spec alone (what the reference's shape costs any
//!     implementation: bigger files parse and format slower per byte);
//!   - CPU µs per KiB of code emitted, spec + corpus over spec alone (the corpus's methods come with more types
//!     each, so this is the cost per unit of output whatever the reference's shape).
//!
//! `BENCH_ROUNDS` sets the rounds (default 11). `PIPELINE_ONE=regen|parse|floor` (or the same with `-spec`) runs
//! that one subject once for spec + corpus (or spec alone) and prints nothing else: for a profiler, e.g.
//! `valgrind --tool=callgrind`, whose instruction counts do not vary with the machine's load (`floor` runs
//! regen first, for the files it formats: subtract the `regen` count).
//!
//! Every figure is a median with [min–max] over interleaved runs (the subjects of one round run one after
//! the other, in an order that rotates each round), in process CPU time: the process is single-threaded, and
//! CPU time does not count the time other processes on a shared machine take the core. Both run with the
//! allocator `cargo xtask regen` uses (mimalloc), with its options.

use gitpod_codegen::emit::{emit, format_items, EmitOptions};
use gitpod_codegen::parse::{load_spec_dir, parse_pages};
use gitpod_codegen::SpecPage;
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// The allocator `cargo xtask regen` runs with (xtask/src/main.rs), for regen and floor alike.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator options `cargo xtask regen` sets (xtask/src/main.rs `keep_freed_memory`): freed memory is
/// kept for reuse, not returned to the OS.
fn keep_freed_memory() {
    // mimalloc.h's `mi_option_purge_delay` (between eager_commit_delay, 14, and use_numa_nodes, 16, which
    // libmimalloc-sys names); -1: never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_set only stores an option value; any option and value are accepted.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// CPU time of this process so far, in seconds.
fn cpu_now() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is supported on every target we run.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU seconds `f` takes.
fn cpu(f: impl FnOnce()) -> f64 {
    let start = cpu_now();
    f();
    cpu_now() - start
}

/// Median, min and max.
fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.total_cmp(b));
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn ms(xs: Vec<f64>) -> String {
    let (m, lo, hi) = stats(xs);
    format!("{:>8.2} ms [{:.2}–{:.2}]", m * 1e3, lo * 1e3, hi * 1e3)
}

fn us(xs: Vec<f64>) -> String {
    let (m, lo, hi) = stats(xs);
    format!("{:>8.1} µs [{:.1}–{:.1}]", m * 1e6, lo * 1e6, hi * 1e6)
}

fn ratio(xs: Vec<f64>) -> String {
    let (m, lo, hi) = stats(xs);
    format!("{m:>5.2}x [{lo:.2}–{hi:.2}]")
}

/// The ratio of `a` to `b` in each round.
fn per_round(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a / b).collect()
}

/// Each round's figure divided by `n` (a count of methods, KiB, ...).
fn per_unit(xs: &[f64], n: f64) -> Vec<f64> {
    xs.iter().map(|x| x / n).collect()
}

/// One line comparing a cost per unit at spec + corpus with spec alone: both, printed by `unit`, and the ratio
/// per round.
fn growth(label: &str, unit: fn(Vec<f64>) -> String, spec: &[f64], both: &[f64]) -> String {
    format!(
        "{label} spec {}   spec+corpus {}   ratio {}",
        unit(spec.to_vec()),
        unit(both.to_vec()),
        ratio(per_round(both, spec))
    )
}

/// Runs `subjects` `rounds` times, interleaved: round `r` starts at subject `r % n` (after one warm-up
/// round); returns each subject's CPU seconds per round.
fn interleaved(rounds: usize, subjects: &mut [&mut dyn FnMut()]) -> Vec<Vec<f64>> {
    for s in subjects.iter_mut() {
        s();
    }
    let n = subjects.len();
    let mut times = vec![Vec::with_capacity(rounds); n];
    for r in 0..rounds {
        for k in 0..n {
            let i = (r + k) % n;
            times[i].push(cpu(&mut *subjects[i]));
        }
    }
    times
}

/// Reads the pages of every directory in `dirs` as one spec (the first directory's `overrides.toml`, if any).
fn load(dirs: &[PathBuf]) -> (Vec<SpecPage>, Option<SpecPage>) {
    let mut pages = Vec::new();
    let mut overrides = None;
    for dir in dirs {
        let (p, o) = load_spec_dir(dir).expect("spec directory is readable");
        pages.extend(p);
        overrides = overrides.or(o);
    }
    (pages, overrides)
}

/// What `cargo xtask regen` does for one crate, short of comparing with and writing the files: the
/// emitted files' contents and the model's method count.
fn regen(dirs: &[PathBuf]) -> (Vec<String>, usize) {
    let (pages, overrides) = load(dirs);
    let model = parse_pages(&pages, overrides.as_ref()).expect("pages parse").model;
    let files = emit(&model, &EmitOptions::default()).expect("model emits").files;
    (files.into_iter().map(|f| f.contents).collect(), model.services.iter().map(|s| s.methods.len()).sum())
}

/// The least work regen must do: read the pages, one CommonMark pass over them, and `syn` + prettyplease over
/// the files regen emits.
fn floor(dirs: &[PathBuf], outputs: &[String]) {
    let (pages, overrides) = load(dirs);
    for page in pages.iter().chain(&overrides) {
        black_box(pulldown_cmark::Parser::new(&page.text).count());
    }
    for output in outputs {
        black_box(syn::parse::Parser::parse_str(format_items, output).expect("emitted file parses"));
    }
}

fn main() {
    keep_freed_memory();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let spec = root.join("spec");
    if let Ok(one) = std::env::var("PIPELINE_ONE") {
        let both = [spec.clone(), root.join("corpus/pages-flat")];
        let dirs: &[PathBuf] = if one.ends_with("-spec") { &both[..1] } else { &both };
        // `PIPELINE_REPEAT=n` runs the subject n times in this process (for a sampling profiler); `floor` runs
        // regen once, before, for the files it formats.
        let repeat = std::env::var("PIPELINE_REPEAT").ok().and_then(|n| n.parse().ok()).unwrap_or(1);
        let outputs = if one.starts_with("floor") { regen(dirs).0 } else { Vec::new() };
        for _ in 0..repeat {
            match one.trim_end_matches("-spec") {
                "regen" => drop(black_box(regen(dirs))),
                "parse" => {
                    let (pages, overrides) = load(dirs);
                    drop(black_box(parse_pages(&pages, overrides.as_ref()).expect("pages parse")));
                }
                "floor" => floor(dirs, &outputs),
                other => panic!("PIPELINE_ONE={other}: expected regen, parse, floor, or one of them with -spec"),
            }
        }
        return;
    }
    let (pages, overrides) = load_spec_dir(&spec).expect("spec/ is readable");
    let bytes: usize = pages.iter().map(|p| p.text.len()).sum();
    println!("spec: {} pages, {} KiB", pages.len(), bytes / 1024);

    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(11);
    let mut scan_f = || scan_words(&pages);
    let mut parse_f = || {
        black_box(parse_pages(&pages, overrides.as_ref()).expect("spec parses"));
    };
    let [scan, parse] = <[_; 2]>::try_from(interleaved(rounds, &mut [&mut scan_f, &mut parse_f])).unwrap();
    println!(
        "parse      {}   baseline (whitespace scan) {}   ratio {}",
        ms(parse.clone()),
        ms(scan.clone()),
        ratio(per_round(&parse, &scan))
    );

    let model = parse_pages(&pages, overrides.as_ref()).expect("spec parses").model;
    let mut json_f = || {
        black_box(serde_json::to_string(&model).unwrap());
    };
    let mut emit_f = || {
        black_box(emit(&model, &EmitOptions::default()).expect("model emits"));
    };
    let [json, emitted] = <[_; 2]>::try_from(interleaved(rounds, &mut [&mut json_f, &mut emit_f])).unwrap();
    println!(
        "emit       {}   baseline (model to JSON)   {}   ratio {}",
        ms(emitted.clone()),
        ms(json.clone()),
        ratio(per_round(&emitted, &json))
    );

    let corpus = root.join("corpus/pages-flat");
    let (corpus_pages, _) = load_spec_dir(&corpus).expect("corpus/pages-flat/ is readable");
    let corpus_bytes: usize = corpus_pages.iter().map(|p| p.text.len()).sum();
    println!("corpus: {} pages, {} KiB", corpus_pages.len(), corpus_bytes / 1024);

    let spec_dirs = [spec.clone()];
    let both_dirs = [spec, corpus];
    let (spec_out, spec_methods) = regen(&spec_dirs);
    let (both_out, both_methods) = regen(&both_dirs);
    println!(
        "regen output: spec {} files, {} methods; spec + corpus {} files, {} methods",
        spec_out.len(),
        spec_methods,
        both_out.len(),
        both_methods
    );
    let mut regen_spec = || {
        black_box(regen(&spec_dirs));
    };
    let mut floor_spec = || floor(&spec_dirs, &spec_out);
    let mut regen_both = || {
        black_box(regen(&both_dirs));
    };
    let mut floor_both = || floor(&both_dirs, &both_out);
    let [r_spec, f_spec, r_both, f_both] = <[_; 4]>::try_from(interleaved(
        rounds,
        &mut [&mut regen_spec, &mut floor_spec, &mut regen_both, &mut floor_both],
    ))
    .unwrap();
    for (name, r, f) in [("spec", &r_spec, &f_spec), ("spec+corpus", &r_both, &f_both)] {
        println!("regen {name:<12} {}   floor {}   ratio {}", ms(r.clone()), ms(f.clone()), ratio(per_round(r, f)));
    }
    let (spec_n, both_n) = (spec_methods as f64, both_methods as f64);
    println!("{}", growth("regen CPU per method:", ms, &per_unit(&r_spec, spec_n), &per_unit(&r_both, both_n)));
    // The floor's own cost per method, the same way: what any implementation pays for the reference's shape.
    println!("{}", growth("floor CPU per method:", ms, &per_unit(&f_spec, spec_n), &per_unit(&f_both, both_n)));
    // The same per unit of output: the corpus's methods come with more types each, so code emitted is the
    // measure of work that does not depend on how a reference spreads its types over its methods.
    let kib = |files: &[String]| files.iter().map(String::len).sum::<usize>() as f64 / 1024.0;
    let (spec_kib, both_kib) = (kib(&spec_out), kib(&both_out));
    println!(
        "{}   ({:.1} / {:.1} KiB emitted per method)",
        growth("regen CPU per KiB emitted:", us, &per_unit(&r_spec, spec_kib), &per_unit(&r_both, both_kib)),
        spec_kib / spec_n,
        both_kib / both_n
    );
    split_per_method(rounds, &spec_dirs, &both_dirs);
}

/// Where regen's cost per method goes as the spec grows: `parse_pages` per KiB of pages (its input) and `emit`
/// per method (its output), for spec alone and spec + corpus, interleaved. The corpus documents each method
/// on more page bytes (both dialects, longer pages), so a flat parse cost per KiB still raises regen's cost
/// per method.
fn split_per_method(rounds: usize, spec_dirs: &[PathBuf], both_dirs: &[PathBuf]) {
    let inputs = [load(spec_dirs), load(both_dirs)];
    let kib = |(pages, _): &(Vec<SpecPage>, Option<SpecPage>)| {
        pages.iter().map(|p| p.text.len()).sum::<usize>() as f64 / 1024.0
    };
    let models: Vec<_> = inputs.iter().map(|(p, o)| parse_pages(p, o.as_ref()).expect("pages parse").model).collect();
    let methods: Vec<f64> =
        models.iter().map(|m| m.services.iter().map(|s| s.methods.len()).sum::<usize>() as f64).collect();
    let parse_one = |(pages, overrides): &(Vec<SpecPage>, Option<SpecPage>)| {
        black_box(parse_pages(pages, overrides.as_ref()).expect("pages parse"));
    };
    let emit_one = |model: &gitpod_codegen::model::Model| {
        black_box(emit(model, &EmitOptions::default()).expect("model emits"));
    };
    let (mut parse_spec, mut parse_both) = (|| parse_one(&inputs[0]), || parse_one(&inputs[1]));
    let (mut emit_spec, mut emit_both) = (|| emit_one(&models[0]), || emit_one(&models[1]));
    let [ps, pb, es, eb] = <[_; 4]>::try_from(interleaved(
        rounds,
        &mut [&mut parse_spec, &mut parse_both, &mut emit_spec, &mut emit_both],
    ))
    .unwrap();
    let (ps, pb) = (per_unit(&ps, kib(&inputs[0])), per_unit(&pb, kib(&inputs[1])));
    let (es, eb) = (per_unit(&es, methods[0]), per_unit(&eb, methods[1]));
    println!(
        "  pages per method: spec {:.1} KiB, spec+corpus {:.1} KiB",
        kib(&inputs[0]) / methods[0],
        kib(&inputs[1]) / methods[1]
    );
    println!("{}", growth("  parse CPU per KiB:  ", us, &ps, &pb));
    println!("{}", growth("  emit CPU per method:", ms, &es, &eb));
}

/// The parse baseline: every word of every page, the least any reader of the pages must look at.
fn scan_words(pages: &[SpecPage]) {
    for page in pages {
        black_box(page.text.split_whitespace().count());
    }
}
