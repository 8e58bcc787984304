//! The parser's cost grows linearly with the input, or the input meets a limit with a clear diagnostic.
//!
//! Each shape is generated at 1k, 2k, 4k and 8k (nesting levels or items) and parsed; the checks are ratios
//! between sizes, never absolute times, on two measures:
//! - heap allocations (count and bytes), counted by this binary's allocator: deterministic, so the bar is
//!   tight (linear grows 4x from 2k to 8k; the bar is 6x);
//! - CPU time of the parsing thread (the fastest of three runs), which also catches quadratic work that does
//!   not allocate; CPU time still varies with the machine's load (cache, page faults), so its bar is loose
//!   (10x; quadratic is 16x).
//!
//! The shapes run one after another in one test, so they do not compete for the cores or the counters.

mod parse_common;

use gitpod_codegen::parse::{parse_pages, Parsed};
use gitpod_codegen::SpecPage;
use parse_common::measure::thread_cpu;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// The system allocator, counting allocations and bytes asked for.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED_BYTES.fetch_add(layout.size() as u64, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED_BYTES.fetch_add(new_size.saturating_sub(layout.size()) as u64, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one parse cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    cpu: Duration,
    allocations: u64,
    bytes: u64,
}

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

fn parse(p: &SpecPage) -> (Cost, Result<Parsed, Vec<gitpod_codegen::diag::Diagnostic>>) {
    // The fastest of three runs: the least disturbed by other work on the machine. The allocation counts
    // are the same every run.
    let mut best = Duration::MAX;
    let mut result = None;
    let (mut allocations, mut bytes) = (0, 0);
    for _ in 0..3 {
        drop(result.take());
        let (a0, b0) = (ALLOCATIONS.load(Relaxed), ALLOCATED_BYTES.load(Relaxed));
        let start = thread_cpu();
        let r = parse_pages(std::slice::from_ref(p), None);
        best = best.min(thread_cpu().saturating_sub(start));
        (allocations, bytes) = (ALLOCATIONS.load(Relaxed) - a0, ALLOCATED_BYTES.load(Relaxed) - b0);
        result = Some(r);
    }
    (Cost { cpu: best, allocations, bytes }, result.expect("ran"))
}

/// Parses `make(n)` for n = 1k..8k; from 2k to 8k (linear: 4x; quadratic: 16x) allocations and bytes may
/// grow at most 6x, CPU time at most 10x. `check` looks at each result (e.g. for a limit diagnostic).
fn scales(
    what: &str,
    make: impl Fn(usize) -> Vec<String>,
    check: impl Fn(usize, &Result<Parsed, Vec<gitpod_codegen::diag::Diagnostic>>),
) {
    let sizes = [1000, 2000, 4000, 8000];
    let mut costs = vec![];
    for n in sizes {
        let (cost, r) = parse(&page(&make(n)));
        check(n, &r);
        costs.push(cost);
    }
    let growth = |measure: fn(&Cost) -> f64| measure(&costs[3]) / measure(&costs[1]).max(1e-9);
    let (cpu, allocations, bytes) =
        (growth(|c| c.cpu.as_secs_f64()), growth(|c| c.allocations as f64), growth(|c| c.bytes as f64));
    let cpu_times: Vec<Duration> = costs.iter().map(|c| c.cpu).collect();
    eprintln!("{what}: CPU {cpu_times:?}; 2k → 8k: CPU {cpu:.1}x, allocations {allocations:.1}x, bytes {bytes:.1}x");
    assert!(allocations < 6.0, "{what}: 2k → 8k made {allocations:.1}x as many allocations ({costs:?}): not linear");
    assert!(bytes < 6.0, "{what}: 2k → 8k allocated {bytes:.1}x as many bytes ({costs:?}): not linear");
    // Under 50 ms at 8k the figures are timer noise, and the cost is small whatever its growth.
    assert!(
        cpu < 10.0 || costs[3].cpu < Duration::from_millis(50),
        "{what}: 2k → 8k took {cpu:.1}x as much CPU time ({costs:?}): not linear"
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
    repeated_enum_values_scale_linearly();
    repeated_messages_of_one_type_scale_linearly();
}

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
