//! `cargo bench -p gitpod-api --bench http`: the generated server and client over HTTP on
//! 127.0.0.1, against hand-written baselines measured in the same run as interleaved pairs.
//!
//! - Server: a bounded load generator (a fixed number of `GetRunner` calls, 1 or 32 in flight,
//!   reqwest without decompression) against the generated `runner_service::router` served by
//!   `gitpod_runtime::server::serve`, and against a hand-written axum + serde_json server
//!   (`axum::serve`, the same route, plain serde types, no compression); with and without
//!   `Accept-Encoding: gzip`. Figure: requests per second; ratio generated / hand-written.
//! - Client: the generated `RunnerServiceClient::get_runner` against raw reqwest + serde_json
//!   (POST, bearer token, status check, `from_slice` into the same generated types), both calling
//!   the hand-written server, one call at a time and 32 at once. Figure: µs per call (wall time
//!   / calls); ratio generated / raw.
//!
//! `BENCH_ONLY=server` runs only the server lines, `BENCH_ONLY=client` only the client lines.
//!
//! Client, server and load generator share the process (and the machine's cores): the figures
//! that matter are the ratios.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{pairs, plain, report};
use gitpod_api::runtime::client::ClientConfig;
use gitpod_api::runtime::server::RequestContext;
use gitpod_api::types::{GetRunnerRequest, GetRunnerResponse};
use gitpod_api::ConnectError;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const PROCEDURE: &str = "gitpod.v1.RunnerService/GetRunner";

struct Runners(GetRunnerResponse);

impl gitpod_api::RunnerService for Runners {
    async fn get_runner(
        &self,
        _context: RequestContext,
        request: GetRunnerRequest,
    ) -> Result<GetRunnerResponse, ConnectError> {
        let mut response = self.0.clone();
        response.runner.runner_id = request.runner_id;
        Ok(response)
    }
}

async fn hand_written(State(answer): State<Arc<plain::GetRunnerResponse>>, body: Bytes) -> Response {
    let request: plain::GetRunnerRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut response = (*answer).clone();
    response.runner.runner_id = request.runner_id;
    let body = serde_json::to_vec(&response).unwrap();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// The load generator: `total` calls, `concurrency` in flight, on one keep-alive pool. Requests
/// per second.
async fn load(client: &reqwest::Client, url: &str, gzip: bool, concurrency: usize, total: usize) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, next) = (client.clone(), url.to_owned(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let mut rb = client
                        .post(&url)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(r#"{"runnerId":"d2c94c27-3b76-4a42-b88c-95a85e392c68"}"#);
                    if gzip {
                        rb = rb.header(header::ACCEPT_ENCODING, "gzip");
                    }
                    let resp = rb.send().await.expect("send");
                    assert_eq!(resp.status(), 200);
                    black_box(resp.bytes().await.expect("body"));
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// CPU time of this process so far (every thread: client, server and runtime), from
/// `/proc/self/task/*/schedstat` (nanoseconds); 0 where that is not available.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Microseconds per call (wall time / calls) of `total` calls of `call`, `concurrency` in flight,
/// and the process's CPU microseconds per call (client and server: steadier than wall time on a
/// busy machine).
async fn per_call<F, Fut>(call: F, concurrency: usize, total: usize) -> (f64, f64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let (start, cpu) = (Instant::now(), process_cpu_ns());
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (call, next) = (call.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    call().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let cpu = process_cpu_ns() - cpu;
    (start.elapsed().as_secs_f64() * 1e6 / total as f64, cpu as f64 / 1e3 / total as f64)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let one = format!(r#"{{"runner":{}}}"#, common::RUNNER);
    let generated_answer: GetRunnerResponse = serde_json::from_str(&one).unwrap();
    let plain_answer: plain::GetRunnerResponse = serde_json::from_str(&one).unwrap();

    let (generated_url, hand_url) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let generated = format!("http://{}", listener.local_addr().unwrap());
        let router = gitpod_api::runner_service::router(Runners(generated_answer));
        tokio::spawn(gitpod_api::runtime::server::serve(listener, router));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hand = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route(&format!("/{PROCEDURE}"), axum::routing::post(hand_written))
            .with_state(Arc::new(plain_answer));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (generated, hand)
    });
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(9);
    // `BENCH_ONLY=client` / `BENCH_ONLY=server`: one part only (`client-generated` / `client-raw`: below).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    println!(
        "http: {rounds} interleaved pairs per line; GetRunner, answer {} B; {} worker threads",
        one.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Server: one load-generator client (its own pool) per server.
    let loadgen = || reqwest::Client::builder().gzip(false).pool_max_idle_per_host(64).build().unwrap();
    let (gen_client, hand_client) = (loadgen(), loadgen());
    let gen_url = format!("{generated_url}/{PROCEDURE}");
    let hand_url_full = format!("{hand_url}/{PROCEDURE}");
    for gzip in [false, true] {
        if only.starts_with("client") {
            break;
        }
        for (concurrency, total) in [(1usize, 2000usize), (32, 6000)] {
            let p = pairs(
                rounds,
                || rt.block_on(load(&gen_client, &gen_url, gzip, concurrency, total)),
                || rt.block_on(load(&hand_client, &hand_url_full, gzip, concurrency, total)),
            );
            let what = format!("server c={concurrency} gzip {} (req/s)", if gzip { "asked" } else { "not asked" });
            report(&what, "r/s", &p, ">= 0.95x");
        }
    }

    if only == "server" {
        return;
    }
    // Client: the generated client against raw reqwest + serde_json, both calling the
    // hand-written server.
    let config = ClientConfig::new().base_url(hand_url.clone()).bearer_token("secret-token");
    let generated = gitpod_api::RunnerServiceClient::new(config).unwrap();
    let raw = reqwest::Client::builder().gzip(true).build().unwrap();
    let generated_call = move || {
        let generated = generated.clone();
        async move {
            let request = GetRunnerRequest { runner_id: Some("d2c94c27-3b76-4a42-b88c-95a85e392c68".into()) };
            black_box(generated.get_runner(request).await.unwrap());
        }
    };
    let raw_url: Arc<str> = hand_url_full.as_str().into();
    let raw_call = move || {
        // An Arc, as the generated client's base URL: no String copy per call on either side.
        let (raw, url) = (raw.clone(), raw_url.clone());
        async move {
            let request = GetRunnerRequest { runner_id: Some("d2c94c27-3b76-4a42-b88c-95a85e392c68".into()) };
            let resp = raw
                .post(&*url)
                .header(header::CONTENT_TYPE, "application/json")
                .header("connect-protocol-version", "1")
                .bearer_auth("secret-token")
                .body(serde_json::to_vec(&request).unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let bytes = resp.bytes().await.unwrap();
            black_box(serde_json::from_slice::<GetRunnerResponse>(&bytes).unwrap());
        }
    };
    // `BENCH_ONLY=client-generated` / `client-raw`: that side alone, `BENCH_CALLS` calls
    // (default 100,000) with `BENCH_CONCURRENCY` in flight (default 1), for a profiler.
    if let Some(side) = only.strip_prefix("client-") {
        let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        let (concurrency, total) = (env("BENCH_CONCURRENCY", 1), env("BENCH_CALLS", 100_000));
        let (us, cpu) = match side {
            "generated" => rt.block_on(per_call(generated_call, concurrency, total)),
            _ => rt.block_on(per_call(raw_call, concurrency, total)),
        };
        println!("client-{side} c={concurrency}: {us:.1} µs/call, CPU {cpu:.1} µs/call over {total} calls");
        return;
    }
    // `BENCH_CALLS`: calls per measurement (default 2,000 one at a time, 6,000 at 32); on a busy
    // machine many short pairs (`BENCH_ROUNDS=61 BENCH_CALLS=500`) give steadier medians.
    let calls = std::env::var("BENCH_CALLS").ok().and_then(|v| v.parse::<usize>().ok());
    for (concurrency, total) in [(1usize, calls.unwrap_or(2000)), (32, calls.unwrap_or(6000))] {
        // Wall time is the figure; the CPU time of the same runs is kept beside it.
        let cpu = std::cell::RefCell::new((Vec::new(), Vec::new()));
        let p = pairs(
            rounds,
            || {
                let (us, c) = rt.block_on(per_call(generated_call.clone(), concurrency, total));
                cpu.borrow_mut().0.push(c);
                us
            },
            || {
                let (us, c) = rt.block_on(per_call(raw_call.clone(), concurrency, total));
                cpu.borrow_mut().1.push(c);
                us
            },
        );
        report(&format!("client c={concurrency} (µs/call)"), "µs", &p, "<= 1.05x");
        // The first run of each side warmed up (not a pair).
        let (subject, baseline) = cpu.into_inner();
        let (subject, baseline) = (subject[1..].to_vec(), baseline[1..].to_vec());
        let ratio = subject.iter().zip(&baseline).map(|(s, b)| s / b).collect();
        report(&format!("client c={concurrency} CPU (µs/call)"), "µs", &common::Pairs { subject, baseline, ratio }, "");
    }
}
