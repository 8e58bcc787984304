//! The runtime's server (`server::serve_with_config`) against abusive clients on 127.0.0.1
//! (issue 12): slowloris connections are closed after the header-read timeout while a normal
//! call still succeeds, the connection cap queues the excess, idle connections are closed, and
//! graceful shutdown completes the calls in flight. HTTP/1 keep-alive: `idle_timeout` between
//! calls, `header_read_timeout` for a head once begun. Inside one HTTP/2 connection (frames
//! written by hand): the stream cap, rapid reset, large header lists and CONTINUATION floods, a
//! client that never reads its answers, slow request bodies, a stream that sends headers and
//! nothing more. Every loop here is bounded, and every test has an overall timeout.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gitpod_runtime::client::{ClientConfig, Transport};
use gitpod_runtime::server::{
    serve_with_config, ConnectRouter, MessageStream, RequestContext, ServeConfig, ServerConfig,
};
use gitpod_runtime::ConnectError;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A router with `t.v1.S/Echo` (counts its calls in `echoes`), `t.v1.S/Slow` (sleeps `ms`,
/// counts concurrent calls) and `t.v1.S/Tick` (a server stream of `n` messages of `pad` bytes
/// every `ms`, counting the messages it made; its stream's drop is counted in `ticks_dropped`).
fn router(counters: &Counters, config: ServerConfig) -> axum::Router {
    let (echoes, concurrent, max_seen) =
        (counters.echoes.clone(), counters.concurrent.clone(), counters.max_seen.clone());
    let (ticks, ticks_dropped) = (counters.ticks.clone(), counters.ticks_dropped.clone());
    ConnectRouter::new()
        .config(config)
        .unary_json("t.v1.S/Echo", false, move |_c: RequestContext, v: Value| {
            echoes.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, ConnectError>(v) }
        })
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
        .server_stream_json("t.v1.S/Tick", move |_c: RequestContext, v: Value| {
            let (ticks, dropped) = (ticks.clone(), DropCount(ticks_dropped.clone()));
            async move {
                let n = v.get("n").and_then(Value::as_u64).unwrap_or(10);
                let ms = v.get("ms").and_then(Value::as_u64).unwrap_or(10);
                let pad = "x".repeat(v.get("pad").and_then(Value::as_u64).unwrap_or(0) as usize);
                Ok(MessageStream::unfold((0u64, dropped), move |(i, dropped)| {
                    let (ticks, pad) = (ticks.clone(), pad.clone());
                    async move {
                        if i >= n {
                            return None;
                        }
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                        Some((Ok(json!({"i": i, "pad": pad})), (i + 1, dropped)))
                    }
                }))
            }
        })
        .into_axum()
}

/// Counts its drop (a server stream's state: the stream ended or was abandoned).
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Default)]
struct Counters {
    echoes: Arc<AtomicUsize>,
    concurrent: Arc<AtomicUsize>,
    max_seen: Arc<AtomicUsize>,
    ticks: Arc<AtomicUsize>,
    ticks_dropped: Arc<AtomicUsize>,
}

struct Server {
    base: String,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    max_seen: Arc<AtomicUsize>,
    counters: Counters,
}

async fn start(config: ServeConfig) -> Server {
    start_with(config, ServerConfig::default()).await
}

async fn start_with(config: ServeConfig, router_config: ServerConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counters = Counters::default();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(&counters, router_config);
    let task = tokio::spawn(serve_with_config(listener, app, config, async {
        let _ = rx.await;
    }));
    Server { base: format!("http://{addr}"), addr, stop: Some(tx), task, max_seen: counters.max_seen.clone(), counters }
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

// ---- shared by the tests below ----

/// Runs a test body with an overall bound.
async fn within<F: std::future::Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f).await.expect("the test ran past its overall timeout")
}

/// A normal call over a fresh HTTP/1 connection and one over a fresh HTTP/2 connection (prior
/// knowledge); returns the slower one's time. Panics when either fails.
async fn normal_calls(base: &str) -> Duration {
    let start = Instant::now();
    let h1 = reqwest::Client::builder().pool_max_idle_per_host(0).http1_only().build().unwrap();
    let h2 = reqwest::Client::builder().pool_max_idle_per_host(0).http2_prior_knowledge().build().unwrap();
    for (client, version) in [(h1, reqwest::Version::HTTP_11), (h2, reqwest::Version::HTTP_2)] {
        let resp = client
            .post(format!("{base}/t.v1.S/Echo"))
            .header("content-type", "application/json")
            .body(r#"{"ok":true}"#)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("a normal call from another connection");
        assert_eq!(resp.version(), version);
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap(), json!({"ok": true}));
    }
    start.elapsed()
}

const ECHO_HEAD: &[u8] =
    b"POST /t.v1.S/Echo HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";

/// Reads one (small) HTTP/1 answer and checks it is a 200.
async fn read_ok(s: &mut tokio::net::TcpStream) {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await.expect("an answer").unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&buf[..n]));
}

/// Waits (at most `bound`) for the server to close `s`; returns how long that took.
async fn closed_within(s: &mut tokio::net::TcpStream, bound: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    loop {
        match tokio::time::timeout(bound.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Err(_) => panic!("still open after {bound:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// A raw HTTP/2 client: frames written by hand (an abusive client does not follow the rules),
/// a reader task that answers `SETTINGS` and `PING` (so keep-alive does not end the connection)
/// and records what the server sent.
mod raw {
    use std::collections::{HashMap, HashSet};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::tcp::OwnedWriteHalf;

    pub const DATA: u8 = 0;
    pub const HEADERS: u8 = 1;
    pub const RST_STREAM: u8 = 3;
    pub const SETTINGS: u8 = 4;
    pub const PING: u8 = 6;
    pub const GOAWAY: u8 = 7;
    pub const WINDOW_UPDATE: u8 = 8;
    pub const CONTINUATION: u8 = 9;
    pub const END_STREAM: u8 = 1;
    pub const END_HEADERS: u8 = 4;
    pub const REFUSED_STREAM: u32 = 7;
    pub const CANCEL: u32 = 8;
    pub const ENHANCE_YOUR_CALM: u32 = 11;

    pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// HPACK integer with a 7-bit prefix (string lengths, no Huffman).
    fn int7(mut v: usize, out: &mut Vec<u8>) {
        if v < 127 {
            out.push(v as u8);
            return;
        }
        out.push(127);
        v -= 127;
        while v >= 128 {
            out.push((v % 128) as u8 | 0x80);
            v /= 128;
        }
        out.push(v as u8);
    }

    /// A literal header field without indexing, new name.
    pub fn literal(name: &str, value: &str, out: &mut Vec<u8>) {
        out.push(0);
        int7(name.len(), out);
        out.extend_from_slice(name.as_bytes());
        int7(value.len(), out);
        out.extend_from_slice(value.as_bytes());
    }

    /// The header block of a JSON POST to `path` with `extra` headers.
    pub fn request(path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut b = Vec::new();
        for (n, v) in [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "a")] {
            literal(n, v, &mut b);
        }
        literal("content-type", "application/json", &mut b);
        for (n, v) in extra {
            literal(n, v, &mut b);
        }
        b
    }

    /// HEADERS (+ DATA with END_STREAM when `body` is given) of one call.
    pub fn call(stream: u32, path: &str, body: Option<&[u8]>) -> Vec<u8> {
        let mut out =
            frame(HEADERS, END_HEADERS | if body.is_none() { END_STREAM } else { 0 }, stream, &request(path, &[]));
        if let Some(body) = body {
            out.extend(frame(DATA, END_STREAM, stream, body));
        }
        out
    }

    #[derive(Default, Debug)]
    pub struct Seen {
        pub settings: usize,
        pub goaway: Option<(u32, Instant)>,
        pub resets: HashMap<u32, usize>,
        pub answered: HashSet<u32>,
        /// The first byte of each stream's response header block (0x88: `:status 200`).
        pub status_byte: HashMap<u32, u8>,
        /// The first bytes of each stream's response header block.
        pub block_start: HashMap<u32, Vec<u8>>,
        pub ended: HashSet<u32>,
        pub data_bytes: usize,
        pub closed: Option<Instant>,
        /// Our ACK of the server's SETTINGS is written (its windows hold once the server reads it).
        pub settings_acked: bool,
        /// Answers to our PINGs.
        pub pongs: usize,
    }

    pub struct Conn {
        w: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
        pub seen: Arc<Mutex<Seen>>,
    }

    impl Conn {
        /// Connects, sends the preface and `settings`, and returns once the server's SETTINGS are acknowledged
        /// and in force; with `window_updates`, gives back the flow-control window of every DATA frame received.
        pub async fn open(addr: std::net::SocketAddr, settings: &[(u16, u32)], window_updates: bool) -> Conn {
            let s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            let (mut r, w) = s.into_split();
            let w = Arc::new(tokio::sync::Mutex::new(w));
            let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            let mut p = Vec::new();
            for (id, v) in settings {
                p.extend_from_slice(&id.to_be_bytes());
                p.extend_from_slice(&v.to_be_bytes());
            }
            hello.extend(frame(SETTINGS, 0, 0, &p));
            w.lock().await.write_all(&hello).await.unwrap();
            let seen = Arc::new(Mutex::new(Seen::default()));
            let (w2, seen2) = (w.clone(), seen.clone());
            tokio::spawn(async move {
                let mut head = [0u8; 9];
                loop {
                    if r.read_exact(&mut head).await.is_err() {
                        break;
                    }
                    let len = (head[0] as usize) << 16 | (head[1] as usize) << 8 | head[2] as usize;
                    let (kind, flags) = (head[3], head[4]);
                    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
                    let mut payload = vec![0u8; len];
                    if r.read_exact(&mut payload).await.is_err() {
                        break;
                    }
                    let mut reply = None;
                    {
                        let mut seen = seen2.lock().unwrap();
                        match kind {
                            SETTINGS if flags & 1 == 0 => {
                                seen.settings += 1;
                                reply = Some(frame(SETTINGS, 1, 0, &[]));
                            }
                            PING if flags & 1 == 0 => reply = Some(frame(PING, 1, 0, &payload)),
                            PING => seen.pongs += 1,
                            GOAWAY if payload.len() >= 8 => {
                                let code = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
                                seen.goaway.get_or_insert((code, Instant::now()));
                            }
                            RST_STREAM if payload.len() == 4 => {
                                let code = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                                *seen.resets.entry(code).or_default() += 1;
                                seen.ended.insert(stream);
                            }
                            HEADERS => {
                                if seen.answered.insert(stream) {
                                    // Skip padding and priority fields (the server sends neither).
                                    if let Some(b) = payload.first() {
                                        seen.status_byte.insert(stream, *b);
                                    }
                                    seen.block_start.insert(stream, payload.iter().take(8).copied().collect());
                                }
                                if flags & END_STREAM != 0 {
                                    seen.ended.insert(stream);
                                }
                            }
                            DATA => {
                                seen.data_bytes += len;
                                if flags & END_STREAM != 0 {
                                    seen.ended.insert(stream);
                                }
                                if window_updates && len > 0 {
                                    let inc = (len as u32).to_be_bytes();
                                    let mut f = frame(WINDOW_UPDATE, 0, 0, &inc);
                                    f.extend(frame(WINDOW_UPDATE, 0, stream, &inc));
                                    reply = Some(f);
                                }
                            }
                            _ => {}
                        }
                    }
                    if let Some(reply) = reply {
                        let _ = w2.lock().await.write_all(&reply).await;
                        if kind == SETTINGS {
                            seen2.lock().unwrap().settings_acked = true;
                        }
                    }
                }
                seen2.lock().unwrap().closed = Some(Instant::now());
            });
            let conn = Conn { w, seen };
            // Until the server has read our ACK of its SETTINGS, it holds us to HTTP/2's default windows
            // (64 KiB): a test that sends more at once would race the handshake. A PING after the ACK comes
            // back only once the server has read the ACK.
            assert!(conn.wait_for(Duration::from_secs(5), |s| s.settings_acked).await, "the server sent SETTINGS");
            conn.send(&frame(PING, 0, 0, &[0; 8])).await.unwrap();
            assert!(conn.wait_for(Duration::from_secs(5), |s| s.pongs > 0).await, "the server answered a PING");
            conn
        }

        pub async fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
            self.w.lock().await.write_all(bytes).await
        }

        pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
            f(&self.seen.lock().unwrap())
        }

        /// Waits (at most `bound`) until `f` holds.
        pub async fn wait_for(&self, bound: Duration, f: impl Fn(&Seen) -> bool) -> bool {
            let start = Instant::now();
            while start.elapsed() < bound {
                if self.seen(&f) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            self.seen(&f)
        }
    }
}

// ---- HTTP/1 keep-alive: idle_timeout between calls, header_read_timeout for a head ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_keep_alive_waits_idle_timeout_and_a_head_gets_header_read_timeout() {
    within(30, async {
        let (header, idle) = (Duration::from_millis(300), Duration::from_secs(1));
        let server = start(ServeConfig::new().header_read_timeout(header).idle_timeout(idle)).await;
        // A head that begins 100 ms after an answer and grows a byte per 100 ms.
        let drip = tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
            s.write_all(ECHO_HEAD).await.unwrap();
            read_ok(&mut s).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let first_byte = Instant::now();
            let mut buf = [0u8; 64];
            for b in b"POST /t.v1.S/Echo HTTP/1.1\r\nhost: a\r\nx-slow: xxxxxxxxxxxxxxxxxxxxxxxxxxxxx" {
                if s.write_all(&[*b]).await.is_err() {
                    break;
                }
                if let Ok(r) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
                    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
                    break;
                }
            }
            first_byte.elapsed()
        });
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        s.write_all(ECHO_HEAD).await.unwrap();
        read_ok(&mut s).await;
        // Longer than header_read_timeout, shorter than idle_timeout: the next call is served,
        // its head sent in two parts 100 ms apart.
        tokio::time::sleep(Duration::from_millis(600)).await;
        s.write_all(&ECHO_HEAD[..20]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.write_all(&ECHO_HEAD[20..]).await.unwrap();
        read_ok(&mut s).await;
        // Then silence: closed after idle_timeout.
        let idle_closed = closed_within(&mut s, Duration::from_secs(3)).await;
        let head_closed = drip.await.unwrap();
        eprintln!(
            "HTTP/1 keep-alive (header {header:?}, idle {idle:?}): 2nd call after 600 ms served; idle \
             connection closed after {:.2} s; dripping head closed {:.2} s after its first byte",
            idle_closed.as_secs_f64(),
            head_closed.as_secs_f64()
        );
        assert!(
            idle_closed >= idle - Duration::from_millis(50) && idle_closed < idle + Duration::from_millis(600),
            "{idle_closed:?}"
        );
        assert!(
            head_closed >= header - Duration::from_millis(50)
                && head_closed < header * 3 / 2 + Duration::from_millis(250),
            "{head_closed:?}"
        );
        normal_calls(&server.base).await;
    })
    .await
}

// ---- HTTP/2: abuse inside one connection ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_concurrent_streams_are_capped_per_connection() {
    within(30, async {
        assert_eq!(ServeConfig::default().max_concurrent_streams, 200);
        let server = start(ServeConfig::new().max_concurrent_streams(8)).await;
        let conn = raw::Conn::open(server.addr, &[], true).await;
        assert!(conn.wait_for(Duration::from_secs(2), |s| s.settings > 0).await);
        // 64 calls of 800 ms at once on one connection.
        let mut burst = Vec::new();
        for i in 0..64u32 {
            burst.extend(raw::call(2 * i + 1, "/t.v1.S/Slow", Some(br#"{"ms":800}"#)));
        }
        conn.send(&burst).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let during = normal_calls(&server.base).await;
        assert!(
            conn.wait_for(Duration::from_secs(5), |s| s.ended.len() == 64).await,
            "{:?}",
            conn.seen(|s| s.ended.len())
        );
        let (refused, ok) = conn.seen(|s| {
            (
                s.resets.get(&raw::REFUSED_STREAM).copied().unwrap_or(0),
                s.status_byte.values().filter(|b| **b == 0x88).count(),
            )
        });
        let max_seen = server.max_seen.load(Ordering::SeqCst);
        eprintln!(
            "64 streams at once, cap 8: {ok} answered, {refused} refused (REFUSED_STREAM), at most {max_seen} \
             handlers at once; normal calls from other connections meanwhile took {:.3} s",
            during.as_secs_f64()
        );
        assert_eq!(max_seen, 8);
        assert_eq!((ok, refused), (8, 56));
        assert!(during < Duration::from_secs(1), "{during:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_rapid_reset_ends_the_connection() {
    within(30, async {
        let server = start(ServeConfig::new()).await;
        let rss_before = common::peak_rss_kib();
        let conn = raw::Conn::open(server.addr, &[], true).await;
        assert!(conn.wait_for(Duration::from_secs(2), |s| s.settings > 0).await);
        let start = Instant::now();
        // Up to 10,000 streams opened and cancelled at once, 100 per write.
        let mut sent = 0u32;
        for batch in 0..100u32 {
            let mut bytes = Vec::new();
            for i in 0..100u32 {
                let id = 2 * (batch * 100 + i) + 1;
                bytes.extend(raw::frame(raw::HEADERS, raw::END_HEADERS, id, &raw::request("/t.v1.S/Echo", &[])));
                bytes.extend(raw::frame(raw::RST_STREAM, 0, id, &raw::CANCEL.to_be_bytes()));
            }
            if conn.send(&bytes).await.is_err() {
                break;
            }
            sent += 100;
            if conn.seen(|s| s.goaway.is_some()) {
                break;
            }
        }
        assert!(conn.wait_for(Duration::from_secs(3), |s| s.closed.is_some()).await, "the connection is closed");
        let (goaway, closed) = conn.seen(|s| (s.goaway, s.closed.unwrap()));
        let after = normal_calls(&server.base).await;
        eprintln!(
            "rapid reset, 100 pairs per write: {sent} HEADERS+RST_STREAM pairs written; GOAWAY {:?} after {:.3} s; \
             closed after {:.3} s; normal calls after: {:.3} s",
            goaway.map(|g| g.0),
            goaway.map_or(0.0, |g| (g.1 - start).as_secs_f64()),
            (closed - start).as_secs_f64(),
            after.as_secs_f64(),
        );
        // Each stream opened and cancelled in writes of their own (the server may take a stream
        // up before its reset arrives: those are not "pending accept"), 5,000 at most, while
        // normal calls go on from other connections.
        let conn2 = raw::Conn::open(server.addr, &[], true).await;
        assert!(conn2.wait_for(Duration::from_secs(2), |s| s.settings > 0).await);
        let start2 = Instant::now();
        let base = server.base.clone();
        let calls = tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            for _ in 0..10 {
                slowest = slowest.max(normal_calls(&base).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            slowest
        });
        let mut sent2 = 0u32;
        for i in 0..5_000u32 {
            let id = 2 * i + 1;
            let h = raw::frame(raw::HEADERS, raw::END_HEADERS, id, &raw::request("/t.v1.S/Slow", &[]));
            if conn2.send(&h).await.is_err()
                || conn2.send(&raw::frame(raw::RST_STREAM, 0, id, &raw::CANCEL.to_be_bytes())).await.is_err()
            {
                break;
            }
            sent2 += 1;
            if conn2.seen(|s| s.closed.is_some()) {
                break;
            }
        }
        let flood2 = start2.elapsed();
        let slowest = calls.await.unwrap();
        conn2.wait_for(Duration::from_secs(1), |s| s.closed.is_some()).await;
        let (goaway2, closed2) = conn2.seen(|s| (s.goaway, s.closed));
        let rss_after = common::peak_rss_kib();
        eprintln!(
            "rapid reset, a write per frame: {sent2} pairs written in {:.2} s; GOAWAY {:?}, closed {:?}; slowest of 10 \
             normal call pairs meanwhile {:.3} s; peak RSS {rss_before} -> {rss_after} KiB",
            flood2.as_secs_f64(),
            goaway2.map(|g| g.0),
            closed2.map(|c| (c - start2).as_secs_f64()),
            slowest.as_secs_f64(),
        );
        assert!(slowest < Duration::from_secs(1), "{slowest:?}");
        // Streams reset a millisecond after they were opened (taken up by then: not counted as
        // rapid resets, each costs what a call does), 1,000 on one connection.
        let conn3 = raw::Conn::open(server.addr, &[], true).await;
        assert!(conn3.wait_for(Duration::from_secs(2), |s| s.settings > 0).await);
        let start3 = Instant::now();
        let mut sent3 = 0u32;
        for i in 0..1_000u32 {
            let id = 2 * i + 1;
            let h = raw::frame(raw::HEADERS, raw::END_HEADERS, id, &raw::request("/t.v1.S/Slow", &[]));
            if conn3.send(&h).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            if conn3.send(&raw::frame(raw::RST_STREAM, 0, id, &raw::CANCEL.to_be_bytes())).await.is_err() {
                break;
            }
            sent3 += 1;
        }
        let flood3 = start3.elapsed();
        let during3 = normal_calls(&server.base).await;
        let rss_after3 = common::peak_rss_kib();
        eprintln!(
            "reset after 1 ms: {sent3} streams in {:.2} s; GOAWAY {:?}; normal calls after {:.3} s; peak RSS -> {rss_after3} KiB",
            flood3.as_secs_f64(),
            conn3.seen(|s| s.goaway.map(|g| g.0)),
            during3.as_secs_f64()
        );
        assert!(during3 < Duration::from_secs(1), "{during3:?}");
        assert!(rss_after3.saturating_sub(rss_before) < 64 * 1024, "{rss_before} -> {rss_after3} KiB");
        assert_eq!(goaway.map(|g| g.0), Some(raw::ENHANCE_YOUR_CALM));
        assert!(sent < 10_000, "the flood went through: {sent}");
        assert!(closed - start < Duration::from_secs(2));
        assert!(after < Duration::from_secs(1), "{after:?}");
        assert!(rss_after.saturating_sub(rss_before) < 64 * 1024, "{rss_before} -> {rss_after} KiB");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_large_header_lists_are_refused_and_continuation_floods_end_the_connection() {
    within(30, async {
        assert_eq!(ServeConfig::default().max_header_list_size, 16 * 1024);
        let server = start(ServeConfig::new()).await;
        let rss_before = common::peak_rss_kib();
        // 1. A 48 KiB header over HEADERS + 2 CONTINUATION frames: that stream is refused, the
        //    handler does not run, the connection serves the next stream.
        let conn = raw::Conn::open(server.addr, &[], true).await;
        let big = "x".repeat(48 * 1024);
        let block = raw::request("/t.v1.S/Echo", &[("x-big", &big)]);
        let chunks: Vec<&[u8]> = block.chunks(16 * 1024).collect();
        let mut bytes = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let last = if i + 1 == chunks.len() { raw::END_HEADERS } else { 0 };
            let kind = if i == 0 { raw::HEADERS } else { raw::CONTINUATION };
            bytes.extend(raw::frame(kind, last | if i == 0 { raw::END_STREAM } else { 0 }, 1, c));
        }
        conn.send(&bytes).await.unwrap();
        assert!(
            conn.wait_for(Duration::from_secs(3), |s| s.ended.contains(&1)).await,
            "{:?}",
            conn.seen(|s| format!("{s:?}"))
        );
        conn.send(&raw::call(3, "/t.v1.S/Echo", Some(b"{}"))).await.unwrap();
        assert!(conn.wait_for(Duration::from_secs(3), |s| s.ended.contains(&3)).await);
        let (big_status, next_status) = conn.seen(|s| (s.status_byte.get(&1).copied(), s.status_byte.get(&3).copied()));
        // `:status 431`: a literal (indexed name 8), "431" plain or Huffman-coded.
        let block = conn.seen(|s| s.block_start.get(&1).cloned().unwrap_or_default());
        assert!(
            block.starts_with(&[0x48, 3, b'4', b'3', b'1']) || block.starts_with(&[0x48, 0x83, 0x69, 0x90, 0xff]),
            "{block:x?}"
        );
        assert_ne!(big_status, Some(0x88), "the oversized request was not answered 200");
        assert_eq!(next_status, Some(0x88), "the next stream is served");
        assert_eq!(server.counters.echoes.load(Ordering::SeqCst), 1, "only the second call reached the handler");

        // 2. CONTINUATION flood: a header block that never ends, 16 KiB frames, up to 10,000 (160 MiB).
        let conn = raw::Conn::open(server.addr, &[], true).await;
        let start = Instant::now();
        let mut filler = Vec::new();
        while filler.len() < 16 * 1024 - 64 {
            raw::literal("x-f", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", &mut filler);
        }
        conn.send(&raw::frame(raw::HEADERS, 0, 1, &raw::request("/t.v1.S/Echo", &[]))).await.unwrap();
        let mut frames_sent = 0;
        for _ in 0..10_000 {
            let f = raw::frame(raw::CONTINUATION, 0, 1, &filler);
            match tokio::time::timeout(Duration::from_secs(2), conn.send(&f)).await {
                Ok(Ok(())) => frames_sent += 1,
                _ => break,
            }
            if conn.seen(|s| s.closed.is_some()) {
                break;
            }
        }
        assert!(conn.wait_for(Duration::from_secs(3), |s| s.closed.is_some()).await, "the connection is closed");
        let (goaway, closed) = conn.seen(|s| (s.goaway, s.closed.unwrap()));
        let after = normal_calls(&server.base).await;
        let rss_after = common::peak_rss_kib();
        eprintln!(
            "48 KiB header list: stream answered 431, next stream 200; CONTINUATION \
             flood: {frames_sent} frames of 16 KiB written before the close, GOAWAY {:?}, closed after {:.3} s; \
             normal calls after: {:.3} s; peak RSS {rss_before} -> {rss_after} KiB",
            goaway.map(|g| g.0),
            (closed - start).as_secs_f64(),
            after.as_secs_f64()
        );
        assert!(goaway.is_some(), "GOAWAY before the close");
        assert!(frames_sent < 10_000);
        assert!(closed - start < Duration::from_secs(2));
        assert!(rss_after.saturating_sub(rss_before) < 64 * 1024, "{rss_before} -> {rss_after} KiB");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_a_client_that_never_reads_its_answers_is_closed_after_idle_timeout() {
    within(30, async {
        let idle = Duration::from_secs(1);
        let server = start(ServeConfig::new().header_read_timeout(Duration::from_secs(1)).idle_timeout(idle)).await;
        // SETTINGS_INITIAL_WINDOW_SIZE = 0: the server may not send a byte of any answer.
        let conn = raw::Conn::open(server.addr, &[(4, 0)], false).await;
        let pad = "x".repeat(200 * 1024);
        let body = format!(r#"{{"pad":"{pad}"}}"#);
        let mut bytes = Vec::new();
        for i in 0..4u32 {
            bytes.extend(raw::call(2 * i + 1, "/t.v1.S/Echo", Some(body.as_bytes())));
        }
        // A server stream, too (a message every 5 ms, for ever).
        bytes.extend(raw::call(9, "/t.v1.S/Tick", Some(br#"{"n":1000000,"ms":5,"pad":1000}"#)));
        // HEADERS fit in 16 KiB frames; the 200 KiB bodies go in DATA frames of at most 16 KiB.
        let mut framed = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let len = (rest[0] as usize) << 16 | (rest[1] as usize) << 8 | rest[2] as usize;
            let (f, r) = rest.split_at(9 + len);
            rest = r;
            if f[3] == raw::DATA && len > 16 * 1024 {
                let stream = u32::from_be_bytes([f[5], f[6], f[7], f[8]]);
                let chunks: Vec<&[u8]> = f[9..].chunks(16 * 1024).collect();
                for (i, c) in chunks.iter().enumerate() {
                    framed.extend(raw::frame(
                        raw::DATA,
                        if i + 1 == chunks.len() { raw::END_STREAM } else { 0 },
                        stream,
                        c,
                    ));
                }
            } else {
                framed.extend_from_slice(f);
            }
        }
        conn.send(&framed).await.unwrap();
        let start = Instant::now();
        let handlers_ran = async {
            while server.counters.echoes.load(Ordering::SeqCst) < 4 || server.counters.ticks.load(Ordering::SeqCst) == 0
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(3), handlers_ran).await.expect("the handlers ran");
        let during = normal_calls(&server.base).await;
        assert!(conn.wait_for(Duration::from_secs(5), |s| s.closed.is_some()).await, "the connection is closed");
        let (goaway, closed, data) = conn.seen(|s| (s.goaway, s.closed.unwrap(), s.data_bytes));
        let ticks = server.counters.ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        eprintln!(
            "window 0, 4 answers of 200 KiB and a server stream: {data} bytes of DATA sent; GOAWAY {:?} after {:.2} s, \
             closed after {:.2} s (idle {idle:?}); the stream made {ticks} messages; normal calls meanwhile {:.3} s",
            goaway.map(|g| g.0),
            goaway.map_or(0.0, |g| (g.1 - start).as_secs_f64()),
            (closed - start).as_secs_f64(),
            during.as_secs_f64()
        );
        assert_eq!(data, 0);
        assert!(closed - start >= idle - Duration::from_millis(100), "{:?}", closed - start);
        assert!(closed - start < idle * 3 + Duration::from_secs(1), "{:?}", closed - start);
        assert_eq!(server.counters.ticks_dropped.load(Ordering::SeqCst), 1, "the server stream was dropped");
        assert_eq!(server.counters.ticks.load(Ordering::SeqCst), ticks, "and makes no more messages");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_a_server_stream_that_the_client_never_reads_is_closed_after_idle_timeout() {
    within(30, async {
        let idle = Duration::from_secs(1);
        let server = start(ServeConfig::new().header_read_timeout(Duration::from_secs(1)).idle_timeout(idle)).await;
        let body = br#"{"n":1000000,"ms":1,"pad":60000}"#;
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST /t.v1.S/Tick HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let start = Instant::now();
        // Never read: the socket's buffers fill, then the stream waits on the client.
        let dropped = async {
            while server.counters.ticks_dropped.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), dropped).await.expect("the stream was dropped");
        let took = start.elapsed();
        let ticks = server.counters.ticks.load(Ordering::SeqCst);
        let during = normal_calls(&server.base).await;
        eprintln!(
            "HTTP/1 server stream of 60 KB messages never read: {ticks} messages ({:.1} MB) made, stream dropped \
             after {:.2} s (idle {idle:?}); normal calls {:.3} s",
            ticks as f64 * 0.06,
            took.as_secs_f64(),
            during.as_secs_f64()
        );
        assert!(took >= idle, "{took:?}");
        drop(s);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_bodies_end_with_body_read_timeout_on_both_protocols() {
    within(30, async {
        let body_timeout = Duration::from_millis(500);
        let server = start_with(ServeConfig::new(), ServerConfig::default().body_read_timeout(body_timeout)).await;
        // HTTP/2: a body of 100 bytes announced, one sent every 100 ms.
        let conn = raw::Conn::open(server.addr, &[], true).await;
        let headers = raw::request("/t.v1.S/Echo", &[("content-length", "100")]);
        conn.send(&raw::frame(raw::HEADERS, raw::END_HEADERS, 1, &headers)).await.unwrap();
        let start = Instant::now();
        for _ in 0..30 {
            if conn.seen(|s| s.answered.contains(&1)) {
                break;
            }
            conn.send(&raw::frame(raw::DATA, 0, 1, b" ")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(conn.wait_for(Duration::from_secs(3), |s| s.answered.contains(&1)).await);
        let h2_took = start.elapsed();
        // HTTP/1: the same.
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        s.write_all(
            b"POST /t.v1.S/Echo HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n",
        )
        .await
        .unwrap();
        let start = Instant::now();
        let mut buf = vec![0u8; 4096];
        let answer = loop {
            assert!(start.elapsed() < Duration::from_secs(3), "no answer");
            s.write_all(b" ").await.unwrap();
            if let Ok(r) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
                break String::from_utf8_lossy(&buf[..r.unwrap()]).into_owned();
            }
        };
        let h1_took = start.elapsed();
        let during = normal_calls(&server.base).await;
        eprintln!(
            "request body a byte per 100 ms, body_read_timeout {body_timeout:?}: HTTP/2 answered after {:.2} s, \
             HTTP/1 after {:.2} s ({}); normal calls {:.3} s",
            h2_took.as_secs_f64(),
            h1_took.as_secs_f64(),
            answer.lines().next().unwrap_or(""),
            during.as_secs_f64()
        );
        assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
        for took in [h2_took, h1_took] {
            assert!(
                took >= body_timeout - Duration::from_millis(50) && took < body_timeout + Duration::from_millis(600),
                "{took:?}"
            );
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_a_stream_that_sends_headers_then_nothing_is_closed() {
    within(30, async {
        let idle = Duration::from_secs(1);
        let server = start_with(
            ServeConfig::new().header_read_timeout(Duration::from_secs(1)).idle_timeout(idle),
            ServerConfig::default().body_read_timeout(Duration::from_secs(1)),
        )
        .await;
        let conn = raw::Conn::open(server.addr, &[], true).await;
        conn.send(&raw::frame(raw::HEADERS, raw::END_HEADERS, 1, &raw::request("/t.v1.S/Echo", &[]))).await.unwrap();
        let start = Instant::now();
        assert!(conn.wait_for(Duration::from_secs(6), |s| s.closed.is_some()).await, "the connection is closed");
        let (answered, goaway, closed) = conn.seen(|s| (s.answered.contains(&1), s.goaway, s.closed.unwrap()));
        eprintln!(
            "HTTP/2 stream with headers and no body (body_read_timeout 1 s, idle 1 s): answered {answered}, GOAWAY \
             after {:.2} s, closed after {:.2} s",
            goaway.map_or(0.0, |g| (g.1 - start).as_secs_f64()),
            (closed - start).as_secs_f64()
        );
        assert!(answered);
        assert!(closed - start >= Duration::from_millis(1900), "{:?}", closed - start);
        normal_calls(&server.base).await;
    })
    .await
}
