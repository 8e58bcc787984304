//! The parser + emitter fuzz runner: deterministic mutants of the spec and corpus pages go through
//! `parse_pages` and, when they parse, `emit`. Neither may panic, abort, hang, or take over a second (release
//! build) on any mutant, and the emitter may not refuse a model the parser accepted.
//!
//! Mutant `i` depends only on the seed and `i`, so any finding can be replayed alone (`FUZZ_ONLY=i`). Each
//! mutant is a piece of one page (the page's title and one to three consecutive sections, or subsections of a
//! large section such as Domain Types, with that section's head) mutated one to three times (see `parse_common/mutate.rs`): small pieces keep a million runs within
//! minutes, and every section of every page is a starting point.
//!
//! In `cargo xtask test` a bounded run (`FUZZ_MUTANTS`, default 300) checks no panic and no hang. The long run:
//!
//! ```text
//! FUZZ_MUTANTS=1000000 cargo test --release -p gitpod-codegen --test fuzz -- --nocapture
//! ```
//!
//! prints the mutants run, parsed, rejected, emitted, the slowest parse and emit (CPU time of the thread, with
//! the mutant's number), throughput and peak RSS. `FUZZ_EMIT_EVERY=n` emits only every n-th parsed mutant
//! (emitting costs about three times what parsing does). Findings (panics, calls over the bound, hangs caught by the watchdog) are written to
//! `target/fuzz-findings/` and fail the run; each one, once fixed, belongs in `tests/fuzz_regressions/`, which
//! this test replays first. Other knobs: `FUZZ_SEED` (default 1), `FUZZ_THREADS` (default: the cores).

mod parse_common;

use gitpod_codegen::emit::{emit, EmitOptions};
use gitpod_codegen::parse::{load_spec_dir, parse_pages};
use gitpod_codegen::SpecPage;
use parse_common::measure::{peak_rss_mib, thread_cpu};
use parse_common::mutate::{floor, mutate, Lcg, KINDS};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest one parse or one emit may take (release build; a debug build gets ten times as long).
fn bound() -> Duration {
    Duration::from_secs(if cfg!(debug_assertions) { 10 } else { 1 })
}

/// How long a call may run before the watchdog calls it a hang and stops the run.
const HANG: Duration = Duration::from_secs(60);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every page of `spec/`, `corpus/pages-flat/` and `corpus/pages/` (flat and with newlines, both dialects).
fn seed_pages() -> Vec<SpecPage> {
    let mut pages = vec![];
    for dir in ["spec", "corpus/pages-flat", "corpus/pages"] {
        let (p, _) = load_spec_dir(&root().join(dir)).unwrap_or_else(|e| panic!("{dir} is readable: {e}"));
        pages.extend(p);
    }
    pages
}

/// Where each heading `marker` (`## ` or `### `) starts in `text[from..to]`: at the start of a line or after
/// a space, not part of a deeper heading.
fn headings(text: &str, marker: &str, from: usize, to: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![];
    let mut at = from;
    while let Some(i) = text[at..to].find(marker).map(|i| i + at) {
        let before = if i == 0 { b'\n' } else { bytes[i - 1] };
        if before == b'\n' || before == b' ' {
            starts.push(i);
        }
        at = i + marker.len();
    }
    starts
}

/// Sections larger than this are cut into their `### ` subsections (each with the section's own head), so a
/// piece stays a few KiB however large the page.
const MAX_UNIT: usize = 8 << 10;

/// A seed page cut into its title and units: whole `## ` sections, or the `### ` subsections of large ones.
struct Seed {
    page: SpecPage,
    title_end: usize,
    /// Each unit's text range and the range of the head it needs (its section's text before the first `### `).
    units: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Seed {
    fn new(page: SpecPage) -> Self {
        let text = &page.text;
        let sections = headings(text, "## ", 0, text.len());
        let title_end = sections.first().copied().unwrap_or(text.len());
        let mut units = vec![];
        for (k, &start) in sections.iter().enumerate() {
            let end = sections.get(k + 1).copied().unwrap_or(text.len());
            let subs = headings(text, "### ", start, end);
            if end - start <= MAX_UNIT || subs.is_empty() {
                units.push((start..end, start..start));
                continue;
            }
            let head = start..subs[0];
            for (j, &sub) in subs.iter().enumerate() {
                units.push((sub..subs.get(j + 1).copied().unwrap_or(end), head.clone()));
            }
        }
        Seed { page, title_end, units }
    }

    /// The title, then `count` consecutive units from `first` (with the head of the first one).
    fn piece(&self, first: usize, count: usize) -> String {
        let text = &self.page.text;
        if self.units.is_empty() {
            return text.clone();
        }
        let first = first % self.units.len();
        let last = (first + count).min(self.units.len()) - 1;
        let mut piece = text[..self.title_end].to_string();
        piece.push_str(&text[self.units[first].1.clone()]);
        piece.push_str(&text[self.units[first].0.start..self.units[last].0.end]);
        piece
    }
}

/// Mutant `i` of the run with `seed`: which page it comes from and its text.
fn mutant(seeds: &[Seed], seed: u64, i: usize) -> SpecPage {
    let mut rng = Lcg(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.next(2);
    let from = &seeds[rng.next(seeds.len())];
    let other = &seeds[rng.next(seeds.len())];
    let (first, count) = (rng.next(1 << 16), 1 + rng.next(3));
    let mut text = from.piece(first, count);
    // Splices come from a piece of the other page, not all of it: mutants stay small.
    let donor = other.piece(rng.next(1 << 16), 1);
    for _ in 0..1 + rng.next(3) {
        let kind = rng.next(KINDS);
        text = mutate(&text, &donor, &mut rng, kind);
        // Repetition can compound: keep a mutant under 1 MiB (the pages' own limit is far above).
        if text.len() > 1 << 20 {
            text.truncate(floor(&text, 1 << 20));
        }
    }
    SpecPage { file: from.page.file.clone(), text }
}

/// What one mutant did.
enum Outcome {
    /// The parser answered with diagnostics.
    Rejected,
    /// Parsed; not given to the emitter (see `FUZZ_EMIT_EVERY`).
    Parsed,
    /// Parsed and emitted.
    Emitted,
}

/// A problem found: what happened and on which input.
struct Finding {
    what: String,
    page: SpecPage,
}

/// Parses one page and, when that succeeds and `emit_too`, emits its model; a panic or a call over the bound
/// (CPU time of the thread) is a finding.
fn run_one(page: &SpecPage, slowest: &Slowest, id: usize, emit_too: bool) -> Result<Outcome, Finding> {
    let finding = |what: String| Finding { what, page: page.clone() };
    let start = thread_cpu();
    let parsed = catch_unwind(AssertUnwindSafe(|| parse_pages(std::slice::from_ref(page), None)))
        .map_err(|p| finding(format!("parse panicked: {}", panic_text(&p))))?;
    let took = thread_cpu().saturating_sub(start);
    slowest.parse.note(took, id);
    if took > bound() {
        return Err(finding(format!("parse took {took:?}")));
    }
    let Ok(parsed) = parsed else { return Ok(Outcome::Rejected) };
    if !emit_too {
        return Ok(Outcome::Parsed);
    }
    let start = thread_cpu();
    let emitted = catch_unwind(AssertUnwindSafe(|| emit(&parsed.model, &EmitOptions::default())))
        .map_err(|p| finding(format!("emit panicked: {}", panic_text(&p))))?;
    let took = thread_cpu().saturating_sub(start);
    slowest.emit.note(took, id);
    if took > bound() {
        return Err(finding(format!("emit took {took:?}")));
    }
    // A model the parser accepts must emit: what the emitter cannot write, the parser must leave out with a
    // warning.
    emitted.map_err(|e| finding(format!("the emitter refused the parsed model: {e}")))?;
    Ok(Outcome::Emitted)
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

/// The slowest call of one kind so far, and its mutant.
#[derive(Default)]
struct Max {
    nanos: AtomicU64,
    id: AtomicUsize,
}

impl Max {
    fn note(&self, d: Duration, id: usize) {
        let n = d.as_nanos() as u64;
        if self.nanos.fetch_max(n, Ordering::Relaxed) < n {
            self.id.store(id, Ordering::Relaxed);
        }
    }
    fn get(&self) -> (Duration, usize) {
        (Duration::from_nanos(self.nanos.load(Ordering::Relaxed)), self.id.load(Ordering::Relaxed))
    }
}

#[derive(Default)]
struct Slowest {
    parse: Max,
    emit: Max,
}

fn findings_dir() -> PathBuf {
    root().join("target/fuzz-findings")
}

fn save(finding: &Finding, name: &str) -> PathBuf {
    let dir = findings_dir();
    std::fs::create_dir_all(&dir).expect("target/ is writable");
    let path = dir.join(format!("{name}.{}", finding.page.file));
    std::fs::write(&path, &finding.page.text).expect("finding is written");
    path
}

/// Every input kept from earlier findings still parses and emits without a panic and within the bound.
#[test]
fn kept_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut entries: Vec<_> = std::fs::read_dir(&dir).expect("tests/fuzz_regressions exists").flatten().collect();
    entries.sort_by_key(|e| e.path());
    let slowest = Slowest::default();
    let mut replayed = 0;
    for entry in entries {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !name.ends_with(".md") {
            continue;
        }
        // The name is `{what}.{page file}`: the page file's dialect suffix decides how it is read.
        let file = name.split_once('.').map_or(name.clone(), |(_, f)| f.to_string());
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("readable")).into_owned();
        if let Err(f) = run_one(&SpecPage { file, text }, &slowest, replayed, true) {
            panic!("{name}: {}", f.what);
        }
        replayed += 1;
    }
    assert!(replayed > 0, "tests/fuzz_regressions holds the inputs of earlier findings");
}

#[test]
fn mutants_never_panic_hang_or_take_over_the_bound() {
    let seed = env_usize("FUZZ_SEED", 1) as u64;
    let total = env_usize("FUZZ_MUTANTS", 300);
    // Emitting costs several times what parsing does: a long run may emit every n-th parsed mutant.
    let emit_every = env_usize("FUZZ_EMIT_EVERY", 1).max(1);
    let threads = env_usize("FUZZ_THREADS", std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let seeds: Vec<Seed> = seed_pages().into_iter().map(Seed::new).collect();
    assert!(seeds.len() >= 30, "spec and corpus pages are found");

    if let Ok(only) = std::env::var("FUZZ_ONLY") {
        let i: usize = only.parse().expect("FUZZ_ONLY is a mutant number");
        let page = mutant(&seeds, seed, i);
        let path = save(&Finding { what: String::new(), page: page.clone() }, &format!("mutant-{i}"));
        eprintln!("mutant {i} ({} bytes) written to {}", page.text.len(), path.display());
        if let Err(f) = run_one(&page, &Slowest::default(), i, true) {
            panic!("mutant {i}: {}", f.what);
        }
        return;
    }

    // Silence the default hook: a panic is caught and reported as a finding with its input.
    std::panic::set_hook(Box::new(|_| {}));
    let next = AtomicUsize::new(0);
    let counts = [(); 3].map(|_| AtomicUsize::new(0));
    let findings = Mutex::new(Vec::<(usize, Finding)>::new());
    let slowest = Slowest::default();
    let done = AtomicBool::new(false);
    // What each worker is running and since when (ms since the run began), for the watchdog.
    let current: Vec<(AtomicUsize, AtomicU64)> =
        (0..threads).map(|_| (AtomicUsize::new(usize::MAX), AtomicU64::new(0))).collect();
    let began = Instant::now();
    std::thread::scope(|s| {
        for worker in &current {
            let (seeds, next, counts, findings, slowest) = (&seeds, &next, &counts, &findings, &slowest);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let page = mutant(seeds, seed, i);
                worker.1.store(began.elapsed().as_millis() as u64, Ordering::Relaxed);
                worker.0.store(i, Ordering::Relaxed);
                match run_one(&page, slowest, i, i % emit_every == 0) {
                    Ok(outcome) => _ = counts[outcome as usize].fetch_add(1, Ordering::Relaxed),
                    Err(f) => findings.lock().unwrap().push((i, f)),
                }
                worker.0.store(usize::MAX, Ordering::Relaxed);
            });
        }
        // The watchdog: a call running past HANG is saved as a finding and the run stops (it cannot be
        // interrupted from here). Progress every 10 s on long runs.
        s.spawn(|| {
            let mut last_report = Instant::now();
            while !done.load(Ordering::Relaxed) && next.load(Ordering::Relaxed) < total + threads {
                std::thread::sleep(Duration::from_millis(100));
                for (id, since) in &current {
                    let id = id.load(Ordering::Relaxed);
                    let since = Duration::from_millis(since.load(Ordering::Relaxed));
                    if id != usize::MAX && began.elapsed().saturating_sub(since) > HANG {
                        let page = mutant(&seeds, seed, id);
                        let path = save(&Finding { what: String::new(), page }, &format!("hang-{id}"));
                        eprintln!("mutant {id} ran over {HANG:?}: input written to {}", path.display());
                        std::process::exit(101);
                    }
                }
                if total >= 100_000 && last_report.elapsed() > Duration::from_secs(10) {
                    last_report = Instant::now();
                    eprintln!(
                        "fuzz: {} of {total} mutants, {:.0?}",
                        next.load(Ordering::Relaxed).min(total),
                        began.elapsed()
                    );
                }
            }
        });
        // The workers end on their own; the watchdog ends once they have all taken their last mutant.
    });
    done.store(true, Ordering::Relaxed);
    let _ = std::panic::take_hook();

    let elapsed = began.elapsed();
    let [rejected, parsed, emitted] = counts.map(|c| c.into_inner());
    let (parse_max, parse_id) = slowest.parse.get();
    let (emit_max, emit_id) = slowest.emit.get();
    let findings = findings.into_inner().unwrap();
    println!(
        "fuzz: seed {seed}, {total} mutants on {threads} threads in {elapsed:.1?} ({:.0}/s): {rejected} rejected with \
         diagnostics, {parsed} parsed (not emitted: FUZZ_EMIT_EVERY={emit_every}), {emitted} emitted; {} findings; slowest parse {parse_max:?} CPU (mutant {parse_id}), slowest emit \
         {emit_max:?} CPU (mutant {emit_id}); peak RSS {:.0} MiB",
        total as f64 / elapsed.as_secs_f64(),
        findings.len(),
        peak_rss_mib().unwrap_or(f64::NAN),
    );
    for (i, f) in &findings {
        let path = save(f, &format!("mutant-{i}"));
        eprintln!("mutant {i}: {} (input: {})", f.what, path.display());
    }
    assert!(findings.is_empty(), "{} mutants failed (inputs in {})", findings.len(), findings_dir().display());
    assert_eq!(rejected + parsed + emitted, total);
    assert!(emitted > 0 && rejected > 0, "mutants must reach both the emitter and the diagnostics");
}
