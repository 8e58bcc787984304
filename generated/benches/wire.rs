//! `cargo bench -p gitpod-api --bench wire`: decoding and encoding the generated ProtoJSON types
//! against plain serde types with the same fields (`common/plain.rs`), as interleaved pairs in one
//! run: a page of 100 runners (the reference's `ListRunners` example item) and one runner (the
//! `GetRunner` answer). Decoding is `serde_json::from_slice` (what client and server run first),
//! encoding `serde_json::to_vec`.

mod common;

use common::{micros, pairs, plain, report};
use gitpod_api::types::{GetRunnerResponse, ListRunnersResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hint::black_box;
use std::time::Instant;

/// Microseconds per operation, over `iters` operations.
fn time_decode<T: DeserializeOwned>(bytes: &[u8], iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(serde_json::from_slice::<T>(black_box(bytes)).unwrap());
    }
    micros(start.elapsed()) / f64::from(iters)
}

fn time_encode<T: Serialize>(value: &T, iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(serde_json::to_vec(black_box(value)).unwrap());
    }
    micros(start.elapsed()) / f64::from(iters)
}

fn main() {
    let rounds = 31;
    let page = common::page(100);
    let one = format!(r#"{{"runner":{}}}"#, common::RUNNER);
    println!(
        "wire: {rounds} interleaved pairs; page = 100 runners ({} KiB), one = 1 runner ({} B)",
        page.len() / 1024,
        one.len()
    );

    let p = pairs(
        rounds,
        || time_decode::<ListRunnersResponse>(page.as_bytes(), 20),
        || time_decode::<plain::ListRunnersResponse>(page.as_bytes(), 20),
    );
    report("decode page (µs/op)", "µs", &p, "<= 1.10x");
    let p = pairs(
        rounds,
        || time_decode::<GetRunnerResponse>(one.as_bytes(), 2000),
        || time_decode::<plain::GetRunnerResponse>(one.as_bytes(), 2000),
    );
    report("decode one (µs/op)", "µs", &p, "<= 1.10x");

    let typed: ListRunnersResponse = serde_json::from_str(&page).unwrap();
    let untyped: plain::ListRunnersResponse = serde_json::from_str(&page).unwrap();
    let p = pairs(rounds, || time_encode(&typed, 20), || time_encode(&untyped, 20));
    report("encode page (µs/op)", "µs", &p, "<= 1.10x");
    let typed: GetRunnerResponse = serde_json::from_str(&one).unwrap();
    let untyped: plain::GetRunnerResponse = serde_json::from_str(&one).unwrap();
    let p = pairs(rounds, || time_encode(&typed, 2000), || time_encode(&untyped, 2000));
    report("encode one (µs/op)", "µs", &p, "<= 1.10x");
}
