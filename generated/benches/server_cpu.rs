//! `cargo bench -p gitpod-api --bench server_cpu`: where the server's time goes, in figures that
//! the machine's other load disturbs less than the requests per second of `--bench http`.
//!
//! - Default: server CPU time per request (the server threads' `/proc/self/task/*/schedstat`),
//!   each server on its own one-thread runtime, load from a third: the generated router under
//!   `gitpod_runtime::server::serve` against the same router under `axum::serve` (what the
//!   connection handling costs), and that against the hand-written axum + serde_json server (what
//!   the Connect handling and the generated types cost). `GZ=1` adds the `Accept-Encoding: gzip`
//!   lines.
//! - `ROUTER=1`: both routers called in-process (`tower::ServiceExt::oneshot`, no TCP), thread
//!   CPU time per call. `ROUTER=gen` / `ROUTER=hand`: one router for 300,000 calls (to profile:
//!   `perf record --call-graph dwarf`; `ROUTER_CALLS=n` sets the calls, e.g. fewer under
//!   `valgrind --tool=callgrind`).
//! - `ONLY=gen|ga|hand` (`C=` concurrency, default 1): 40,000 requests to one server (to profile;
//!   `ONLY_CALLS=n` sets the requests).
mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use common::{pairs, plain, report};
use gitpod_api::runtime::server::RequestContext;
use gitpod_api::types::{GetRunnerRequest, GetRunnerResponse};
use gitpod_api::ConnectError;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

fn thread_cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn cpu_ns(name: &str) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir("/proc/self/task").unwrap() {
        let p = e.unwrap().path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let s = std::fs::read_to_string(p.join("schedstat")).unwrap_or_default();
            total += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    total
}

async fn load(client: &reqwest::Client, url: &str, gzip: bool, concurrency: usize, total: usize) {
    let next = Arc::new(AtomicUsize::new(0));
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
}

fn main() {
    let one = format!(r#"{{"runner":{}}}"#, common::RUNNER);
    let generated_answer: GetRunnerResponse = serde_json::from_str(&one).unwrap();
    let plain_answer: plain::GetRunnerResponse = serde_json::from_str(&one).unwrap();
    if std::env::var("ROUTER").is_ok() {
        let grouter = gitpod_api::runner_service::router(Runners(generated_answer.clone()));
        let hrouter = axum::Router::new()
            .route(&format!("/{PROCEDURE}"), axum::routing::post(hand_written))
            .with_state(Arc::new(plain_answer.clone()));
        let rt1 = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let run = |r: &axum::Router, n: u32| {
            rt1.block_on(async {
                let start = thread_cpu_ns();
                for _ in 0..n {
                    let req = axum::http::Request::builder()
                        .method("POST")
                        .uri(format!("/{PROCEDURE}"))
                        .header(header::CONTENT_TYPE, "application/json")
                        .header(header::CONTENT_LENGTH, "51")
                        .header(header::HOST, "127.0.0.1:5555")
                        .header(header::ACCEPT, "*/*")
                        .body(axum::body::Body::from(r#"{"runnerId":"d2c94c27-3b76-4a42-b88c-95a85e392c68"}"#))
                        .unwrap();
                    let resp = tower::ServiceExt::oneshot(r.clone(), req).await.unwrap();
                    let b = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
                    black_box(b);
                }
                (thread_cpu_ns() - start) as f64 / 1e3 / n as f64
            })
        };
        // `ROUTER_CALLS`: calls of the one-router runs (default 300,000; fewer under valgrind).
        let calls = std::env::var("ROUTER_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
        match std::env::var("ROUTER").as_deref() {
            Ok("gen") => return println!("{}", run(&grouter, calls)),
            Ok("hand") => return println!("{}", run(&hrouter, calls)),
            _ => {}
        }
        // 50,000 calls a measurement: a thread's schedstat time advances at the scheduler tick
        // while it runs (4 ms here), which is 0.8 µs a call over 5,000 calls.
        let p = pairs(21, || run(&grouter, 50_000), || run(&hrouter, 50_000));
        report("router in-process (µs/call)", "µs", &p, "-");
        return;
    }
    let srv = |name: &str| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name(name).enable_all().build().unwrap()
    };
    let (gen_rt, hand_rt, ga_rt) = (srv("srv-gen"), srv("srv-hand"), srv("srv-ga"));
    let ga_url = ga_rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/{PROCEDURE}", listener.local_addr().unwrap());
        let router = gitpod_api::runner_service::router(Runners(generated_answer.clone()));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        url
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let gen_url = gen_rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/{PROCEDURE}", listener.local_addr().unwrap());
        let router = gitpod_api::runner_service::router(Runners(generated_answer));
        tokio::spawn(gitpod_api::runtime::server::serve(listener, router));
        url
    });
    let hand_url = hand_rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/{PROCEDURE}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route(&format!("/{PROCEDURE}"), axum::routing::post(hand_written))
            .with_state(Arc::new(plain_answer));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        url
    });
    let only = std::env::var("ONLY").ok();
    let loadgen = || reqwest::Client::builder().gzip(false).pool_max_idle_per_host(64).build().unwrap();
    let (gen_client, hand_client, ga_client) = (loadgen(), loadgen(), loadgen());
    if let Some(which) = only {
        // Profiling: load one server for a while.
        let (c, u, name) = match which.as_str() {
            "gen" => (&gen_client, &gen_url, "srv-gen"),
            "ga" => (&ga_client, &ga_url, "srv-ga"),
            _ => (&hand_client, &hand_url, "srv-hand"),
        };
        let before = cpu_ns(name);
        let conc: usize = std::env::var("C").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
        let n = std::env::var("ONLY_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(40_000);
        rt.block_on(load(c, u, false, conc, n));
        println!("{name}: {:.2} µs/req", (cpu_ns(name) - before) as f64 / 1e3 / n as f64);
        return;
    }
    let rounds = 9;
    let gzips: &[bool] = if std::env::var("GZ").is_ok() { &[false, true] } else { &[false] };
    for &gzip in gzips {
        for (concurrency, total) in [(1usize, 2000usize), (32, 6000)] {
            let measure = |c: &reqwest::Client, u: &str, name: &str| {
                let before = cpu_ns(name);
                rt.block_on(load(c, u, gzip, concurrency, total));
                (cpu_ns(name) - before) as f64 / 1e3 / total as f64
            };
            let p =
                pairs(rounds, || measure(&gen_client, &gen_url, "srv-gen"), || measure(&ga_client, &ga_url, "srv-ga"));
            report(&format!("gen/gen-axum c={concurrency} gzip {gzip} (µs/req)"), "µs", &p, "-");
            let p = pairs(
                rounds,
                || measure(&ga_client, &ga_url, "srv-ga"),
                || measure(&hand_client, &hand_url, "srv-hand"),
            );
            report(&format!("gen-axum/hand c={concurrency} gzip {gzip} (µs/req)"), "µs", &p, "-");
        }
    }
}
