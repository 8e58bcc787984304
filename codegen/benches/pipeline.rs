//! `cargo bench -p gitpod-codegen`: the cost of each stage of regen, as ratios to a baseline
//! measured in the same run (so the figures do not depend on the machine).
//!
//! - parse: `parse_pages` over every spec page vs. a bare pulldown-cmark pass over the same text
//!   (the least any Markdown reader must do);
//! - emit: `emit` of the whole model vs. serializing the same model to JSON (a plain walk of it).

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
    let markdown = median(runs, || {
        for page in &pages {
            black_box(pulldown_cmark::Parser::new(&page.text).count());
        }
    });
    let parse = median(runs, || {
        black_box(parse_pages(&pages, overrides.as_ref()).expect("spec parses"));
    });
    report("parse", parse, "pulldown-cmark pass", markdown);

    let model = parse_pages(&pages, overrides.as_ref()).expect("spec parses").model;
    let json = median(runs, || {
        black_box(serde_json::to_string(&model).unwrap());
    });
    let emitted = median(runs, || {
        black_box(emit(&model, &EmitOptions::default()).expect("model emits"));
    });
    report("emit", emitted, "model to JSON", json);
}
