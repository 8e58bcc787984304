//! The runtime's server (`server::serve_with_config`) against abusive clients on 127.0.0.1
//! (issue 12): slowloris connections are closed after the header-read timeout while a normal
//! call still succeeds, the connection cap queues the excess, idle connections are closed, and
//! graceful shutdown completes the calls in flight. Every loop here is bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gitpod_runtime::client::{ClientConfig, Transport};
use gitpod_runtime::server::{serve_with_config, ConnectRouter, RequestContext, ServeConfig};
use gitpod_runtime::ConnectError;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A router with `t.v1.S/Echo` and `t.v1.S/Slow` (sleeps `ms`, counts concurrent calls).
fn router(concurrent: Arc<AtomicUsize>, max_seen: Arc<AtomicUsize>) -> axum::Router {
    ConnectRouter::new()
        .unary_json("t.v1.S/Echo", false, |_c: RequestContext, v: Value| async move { Ok::<_, ConnectError>(v) })
        .unary_json("t.v1.S/Slow", false, move |_c: RequestContext, v: Value| {
            let (concurrent, max_seen) = (concurrent.clone(), max_seen.clone());
            async move {
                let now = concurrent.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(now, Ordering::SeqCst);
                let ms = v.get("ms").and_then(Value::as_u64).unwrap_or(300);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                concurrent.fetch_sub(1, Ordering::SeqCst);
                Ok(json!({"slept": ms}))
            }
        })
        .into_axum()
}

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    max_seen: Arc<AtomicUsize>,
}

async fn start(config: ServeConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let max_seen = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(Arc::new(AtomicUsize::new(0)), max_seen.clone());
    let task = tokio::spawn(serve_with_config(listener, app, config, async {
        let _ = rx.await;
    }));
    Server { base: format!("http://{addr}"), addr, stop: Some(tx), task, max_seen }
}

fn client(base: &str) -> Transport {
    Transport::new(ClientConfig::new().base_url(base).bearer_token("t").timeout(Duration::from_secs(10)).max_retries(0))
        .unwrap()
}

/// Sends `first`, then `drip` every 100 ms (at most 100 times), and returns how long the server
/// kept the connection open (`None`: still open at the end).
async fn slowloris(addr: std::net::SocketAddr, first: &'static [u8], drip: &'static [u8]) -> Option<Duration> {
    let start = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    if s.write_all(first).await.is_err() {
        return Some(start.elapsed());
    }
    let mut buf = [0u8; 1024];
    for _ in 0..100 {
        if s.write_all(drip).await.is_err() {
            return Some(start.elapsed());
        }
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {} // an error answer (408/400); the close follows
            Err(_) => {}
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_and_normal_calls_go_through() {
    let header_timeout = Duration::from_secs(1);
    let server =
        start(ServeConfig::new().header_read_timeout(header_timeout).idle_timeout(Duration::from_secs(5))).await;
    let started = Instant::now();
    // 180 HTTP/1 request heads that grow by a byte every 100 ms and never end, 20 HTTP/2
    // prefaces that stop half way (the protocol is not even known yet): 200 in all.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (first, drip): (&'static [u8], &'static [u8]) = if i % 10 == 0 {
            (b"PRI * HTTP/2.0\r\n\r\nSM", b"")
        } else {
            (b"POST /t.v1.S/Echo HTTP/1.1\r\nhost: a\r\nx-slow: ", b"x")
        };
        tasks.push(tokio::spawn(slowloris(server.addr, first, drip)));
    }
    // While they hang on, a normal call succeeds (several, over the whole window).
    let t = client(&server.base);
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let v: Value = t.unary("t.v1.S/Echo", &json!({"i": i})).await.expect("a normal call during the attack");
        assert_eq!(v, json!({"i": i}));
    }
    let mut closed_after = Vec::new();
    for task in tasks {
        closed_after.push(task.await.unwrap().expect("the server closed the slow connection"));
    }
    let slowest = closed_after.iter().max().unwrap();
    let fastest = closed_after.iter().min().unwrap();
    eprintln!(
        "200 slowloris connections closed after {:.2}..{:.2} s (header timeout {:?}); total {:.2} s",
        fastest.as_secs_f64(),
        slowest.as_secs_f64(),
        header_timeout,
        started.elapsed().as_secs_f64()
    );
    assert!(*fastest >= header_timeout - Duration::from_millis(50), "closed too early: {fastest:?}");
    assert!(*slowest < header_timeout + Duration::from_millis(1500), "closed too late: {slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed() {
    let server = start(
        ServeConfig::new().header_read_timeout(Duration::from_millis(600)).idle_timeout(Duration::from_millis(600)),
    )
    .await;
    // A silent connection, and a kept-alive one after a complete call.
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut kept = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    kept.write_all(
        b"POST /t.v1.S/Echo HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    )
    .await
    .unwrap();
    let start = Instant::now();
    let mut buf = vec![0u8; 4096];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    for s in [&mut silent, &mut kept] {
        let r = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await.expect("closed in time");
        assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    }
    assert!(start.elapsed() >= Duration::from_millis(500), "{:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_queues_the_excess() {
    let server = start(ServeConfig::new().max_connections(2)).await;
    // One connection per call (no pooling), 6 calls of 300 ms at once.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let t =
        Transport::new(ClientConfig::new().base_url(&server.base).bearer_token("t").http_client(http).max_retries(0))
            .unwrap();
    let start = Instant::now();
    let calls = (0..6).map(|_| {
        let t = t.clone();
        tokio::spawn(async move { t.unary::<_, Value>("t.v1.S/Slow", &json!({"ms": 300})).await })
    });
    for c in calls.collect::<Vec<_>>() {
        assert_eq!(c.await.unwrap().expect("queued, then served"), json!({"slept": 300}));
    }
    let elapsed = start.elapsed();
    eprintln!("6 calls of 300 ms through 2 connections: {:.2} s", elapsed.as_secs_f64());
    assert_eq!(server.max_seen.load(Ordering::SeqCst), 2, "never more than 2 connections served at once");
    assert!(elapsed >= Duration::from_millis(850), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_completes_calls_in_flight() {
    let mut server = start(ServeConfig::new().shutdown_timeout(Duration::from_secs(5))).await;
    let t = client(&server.base);
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.unary::<_, Value>("t.v1.S/Slow", &json!({"ms": 700})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    server.stop.take().unwrap().send(()).unwrap();
    for c in calls {
        assert_eq!(c.await.unwrap().expect("completed during shutdown"), json!({"slept": 700}));
    }
    tokio::time::timeout(Duration::from_secs(3), &mut server.task).await.expect("the server stops").unwrap().unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(2), "{took:?}");
    // Nothing listens any more.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}
