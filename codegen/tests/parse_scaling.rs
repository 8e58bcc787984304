//! The parser's cost grows linearly with the input, or the input meets a limit with a clear diagnostic.
//!
//! Each shape is generated at 1k, 2k, 4k and 8k (nesting levels or items) and timed; the checks are ratios
//! between sizes (time may at most about double when the size doubles), never absolute times.

use gitpod_codegen::parse::{parse_pages, Parsed};
use gitpod_codegen::SpecPage;
use std::time::{Duration, Instant};

/// One method whose parameter list is `items`.
fn page(items: &[String]) -> SpecPage {
    let mut text = String::from(
        "# Things ## CreateThing `things.create(ThingCreateParams**kwargs) -> object` \
         **post** `/gitpod.v1.ThingService/CreateThing` Creates a thing. ### Parameters",
    );
    for item in items {
        text.push_str(" - `");
        text.push_str(item);
        text.push_str("` a field");
    }
    text.push_str(" ### Returns - `object`");
    SpecPage { file: "things.python.md".into(), text }
}

fn parse(p: &SpecPage) -> (Duration, Result<Parsed, Vec<gitpod_codegen::diag::Diagnostic>>) {
    // The fastest of three runs: the least disturbed by other work on the machine.
    let mut best = Duration::MAX;
    let mut result = None;
    for _ in 0..3 {
        let start = Instant::now();
        let r = parse_pages(std::slice::from_ref(p), None);
        best = best.min(start.elapsed());
        result = Some(r);
    }
    (best, result.expect("ran"))
}

/// Times `make(n)` for n = 1k..8k; each doubling may cost at most `max_ratio` times as much (2 is linear;
/// a quadratic cost shows 4). `check` looks at each result (e.g. for a limit diagnostic).
fn scales(
    what: &str,
    make: impl Fn(usize) -> Vec<String>,
    check: impl Fn(usize, &Result<Parsed, Vec<gitpod_codegen::diag::Diagnostic>>),
) {
    let sizes = [1000, 2000, 4000, 8000];
    let mut times = vec![];
    for n in sizes {
        let (t, r) = parse(&page(&make(n)));
        check(n, &r);
        times.push(t);
    }
    let ratios: Vec<f64> = times.windows(2).map(|w| w[1].as_secs_f64() / w[0].as_secs_f64().max(1e-6)).collect();
    eprintln!("{what}: {times:?}, ratios {ratios:.2?}");
    // Small sizes are noisy: judge the growth from 2k to 8k as a whole (linear: 4x; quadratic: 16x).
    // Under 50 ms at 8k the figures are timer noise, and the cost is small whatever its growth.
    let overall = times[3].as_secs_f64() / times[1].as_secs_f64().max(1e-6);
    assert!(
        overall < 7.0 || times[3] < Duration::from_millis(50),
        "{what}: 2k → 8k took {overall:.1}x as long ({times:?}): not linear"
    );
}

fn warned(r: &Result<Parsed, Vec<gitpod_codegen::diag::Diagnostic>>, needle: &str) -> bool {
    match r {
        Ok(p) => p.warnings.iter().any(|w| w.message.contains(needle)),
        Err(e) => e.iter().any(|w| w.message.contains(needle)),
    }
}

fn nesting_depth_meets_the_limit_with_a_diagnostic_in_linear_time() {
    // Each message field is directly followed by its first child: `a0 { a1 { a2 { … } } }`.
    scales(
        "message depth",
        |n| (0..n).map(|i| format!("a{i}: Optional[A{i}]")).chain(Some("leaf: Optional[str]".into())).collect(),
        |n, r| assert!(warned(r, "nesting limit"), "depth {n}: no limit diagnostic"),
    );
}

fn type_spelling_depth_meets_the_limit_with_a_diagnostic() {
    scales(
        "type depth",
        |n| vec![format!("x: Optional[{}str{}]", "List[".repeat(n), "]".repeat(n)), "y: Optional[str]".into()],
        |n, r| assert!(warned(r, "type nesting limit"), "type depth {n}: no limit diagnostic"),
    );
}

fn repeated_fields_scale_linearly() {
    // A message open at the top, then many fields the sort order cannot place for sure.
    scales(
        "repeated fields",
        |n| {
            let mut items = vec!["spec: Optional[Spec]".to_string()];
            items.extend((0..n).map(|i| format!("f{i:05}: Optional[str]")));
            items
        },
        |_, r| assert!(r.is_ok()),
    );
}

/// One test, so the shapes are timed one after another rather than competing for the cores.
#[test]
fn parse_time_grows_linearly_or_meets_a_limit() {
    nesting_depth_meets_the_limit_with_a_diagnostic_in_linear_time();
    type_spelling_depth_meets_the_limit_with_a_diagnostic();
    repeated_fields_scale_linearly();
}

#[test]
fn repeated_enum_values_scale_linearly() {
    scales(
        "repeated enum values",
        |n| {
            let mut items = vec!["phase: Optional[Phase]".to_string()];
            items.extend((0..n).map(|i| format!("\"PHASE_{}\"", i % 50)));
            items.push("zeta: Optional[str]".into());
            items
        },
        |_, r| assert!(r.is_ok()),
    );
}

#[test]
fn repeated_messages_of_one_type_scale_linearly() {
    // One type expanded, then named again and again (each needs "was it expanded before?").
    scales(
        "repeated messages",
        |n| {
            let mut items = vec![];
            for i in 0..n {
                items.push(format!("m{i:05}: Optional[Inner]"));
                items.push("a: Optional[str]".into());
                items.push("b: Optional[str]".into());
            }
            items
        },
        |_, r| assert!(r.is_ok()),
    );
}
