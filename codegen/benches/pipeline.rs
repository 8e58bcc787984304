//! `cargo bench -p gitpod-codegen`: the cost of each stage of regen, as ratios to a baseline
//! measured in the same run (so the figures do not depend on the machine).
//!
//! - parse: `parse_pages` over every spec page vs. a whitespace scan of the same text (splitting it into
//!   words: the least any reader of the pages must do);
//! - emit: `emit` of the whole model vs. serializing the same model to JSON (a plain walk of it);
//! - regen: parse + emit of `spec/` and of `corpus/pages-flat/` (what `cargo xtask regen` does for the main
//!   crate and `fixtures/corpus`) vs. the same whitespace scan over those pages; also printed in ms, as the
//!   figure the "well under 2 s" goal is about.

use gitpod_codegen::emit::{emit, EmitOptions};
use gitpod_codegen::parse::{load_spec_dir, parse_pages};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// Median wall time of `f` over `runs` runs (after one warm-up run).
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn report(name: &str, subject: Duration, baseline_name: &str, baseline: Duration) {
    println!(
        "{name:<8} {:>9.3} ms   baseline ({baseline_name}) {:>8.3} ms   ratio {:>6.1}x",
        subject.as_secs_f64() * 1e3,
        baseline.as_secs_f64() * 1e3,
        subject.as_secs_f64() / baseline.as_secs_f64()
    );
}

fn main() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let (pages, overrides) = load_spec_dir(&spec).expect("spec/ is readable");
    let bytes: usize = pages.iter().map(|p| p.text.len()).sum();
    println!("spec: {} pages, {} KiB", pages.len(), bytes / 1024);

    let runs = 15;
    let scan = median(runs, || scan_words(&pages));
    let parse = median(runs, || {
        black_box(parse_pages(&pages, overrides.as_ref()).expect("spec parses"));
    });
    report("parse", parse, "whitespace scan", scan);

    let model = parse_pages(&pages, overrides.as_ref()).expect("spec parses").model;
    let json = median(runs, || {
        black_box(serde_json::to_string(&model).unwrap());
    });
    let emitted = median(runs, || {
        black_box(emit(&model, &EmitOptions::default()).expect("model emits"));
    });
    report("emit", emitted, "model to JSON", json);

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/pages-flat");
    let (corpus_pages, _) = load_spec_dir(&corpus).expect("corpus/pages-flat/ is readable");
    let corpus_bytes: usize = corpus_pages.iter().map(|p| p.text.len()).sum();
    println!("corpus: {} pages, {} KiB", corpus_pages.len(), corpus_bytes / 1024);
    let both = [(&pages, overrides.as_ref()), (&corpus_pages, None)];
    let scan = median(5, || {
        for (p, _) in both {
            scan_words(p);
        }
    });
    let regen = median(5, || {
        for (p, ov) in both {
            let model = parse_pages(p, ov).expect("pages parse").model;
            black_box(emit(&model, &EmitOptions::default()).expect("model emits"));
        }
    });
    report("regen", regen, "whitespace scan", scan);
}

/// The baseline: every word of every page, the least any reader of the pages must look at.
fn scan_words(pages: &[gitpod_codegen::SpecPage]) {
    for page in pages {
        black_box(page.text.split_whitespace().count());
    }
}
