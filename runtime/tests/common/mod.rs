//! Helpers shared by the integration tests: servers on 127.0.0.1:0 and a fast client.
#![allow(dead_code)]

mod echo;
#[allow(unused_imports)] // not every test binary uses the echo server
pub use echo::{layered_router, ECHO};

use std::time::Duration;

use gitpod_runtime::client::{ClientConfig, Transport};

/// Serves `router` on an ephemeral port of 127.0.0.1; returns `http://127.0.0.1:PORT`.
pub async fn spawn(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gitpod_runtime::server::serve(listener, router));
    format!("http://{addr}")
}

/// A client with a token, a 5 s timeout and a 5 ms backoff base (tests must not sleep 0.5 s).
pub fn client(base: &str) -> Transport {
    client_with(base, |c| c)
}

/// Like [`client`], with more configuration.
pub fn client_with(base: &str, f: impl FnOnce(ClientConfig) -> ClientConfig) -> Transport {
    let cfg = ClientConfig::new()
        .base_url(base)
        .bearer_token("test-token")
        .timeout(Duration::from_secs(5))
        .backoff_base(Duration::from_millis(5));
    Transport::new(f(cfg)).unwrap()
}

/// Every Connect code with its HTTP status.
pub fn code_table() -> Vec<(gitpod_runtime::Code, u16)> {
    gitpod_runtime::Code::ALL.iter().map(|c| (c.clone(), c.http_status())).collect()
}

/// Peak resident memory of this process (VmHWM, Linux), in KiB; 0 where /proc does not say.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
