//! The client against a hostile server on 127.0.0.1 (issue 12): huge, endless, gzip-bomb and
//! huge-error bodies, endless page tokens, an endless stream line. Each call ends with its typed
//! error, and the process's peak RSS (VmHWM, Linux) stays under 100 MB, although the server
//! offers gigabytes. The server writes its bodies chunk by chunk from one 64 KiB buffer: it
//! never holds them either. Every loop ends by itself (a byte budget, or the client hanging up).
//!
//! One `#[test]` does the memory-measured part so no other test of this binary runs beside it.

mod common;

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gitpod_runtime::client::{CallOptions, ClientConfig, Transport, DEFAULT_MAX_PAGES, DEFAULT_MAX_RESPONSE_BYTES};
use gitpod_runtime::{Code, Error};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: u64 = 1024 * 1024;

/// What the raw server answers on a path.
#[derive(Clone)]
struct Hostile {
    /// A gzip body (precomputed, small) for `/bomb`.
    bomb: Arc<Vec<u8>>,
    /// Bytes written per connection, summed (to show what the client did not read).
    written: Arc<AtomicUsize>,
    /// Connections accepted per path kind.
    error_attempts: Arc<AtomicUsize>,
}

/// Writes `total` bytes of `fill` as HTTP/1.1 chunks of 64 KiB (after `prefix`), stopping early
/// when the client hangs up.
async fn write_chunked(s: &mut tokio::net::TcpStream, prefix: &[u8], fill: u8, total: u64, written: &AtomicUsize) {
    let mut chunk = Vec::with_capacity(64 * 1024 + 16);
    let body = vec![fill; 64 * 1024];
    let mut sent = 0u64;
    if !prefix.is_empty() {
        chunk.clear();
        write!(chunk, "{:x}\r\n", prefix.len()).unwrap();
        chunk.extend_from_slice(prefix);
        chunk.extend_from_slice(b"\r\n");
        if s.write_all(&chunk).await.is_err() {
            return;
        }
    }
    while sent < total {
        chunk.clear();
        write!(chunk, "{:x}\r\n", body.len()).unwrap();
        chunk.extend_from_slice(&body);
        chunk.extend_from_slice(b"\r\n");
        if s.write_all(&chunk).await.is_err() {
            return;
        }
        sent += body.len() as u64;
        written.fetch_add(body.len(), Ordering::Relaxed);
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
}

async fn handle(mut s: tokio::net::TcpStream, h: Hostile) {
    // Read the request head and its (small) body.
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = s.read(&mut tmp).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match s.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
    let json_chunked = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    match path.as_str() {
        // 1 GiB announced: refused from the header, before a byte of the body is read.
        "/t.v1.s/big" => {
            let head =
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", 1024 * MIB);
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let zeros = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < 1024 * MIB {
                if s.write_all(&zeros).await.is_err() {
                    return;
                }
                sent += zeros.len() as u64;
                h.written.fetch_add(zeros.len(), Ordering::Relaxed);
            }
        }
        // 1 GiB, chunked (no length to refuse it by): the cap stops the reading.
        "/t.v1.s/bigchunked" => {
            if s.write_all(json_chunked.as_bytes()).await.is_ok() {
                write_chunked(&mut s, b"{\"items\":[\"", b'a', 1024 * MIB, &h.written).await;
            }
        }
        // Endless: no end of its own but the client hanging up (or, for safety, 64 GiB).
        "/t.v1.s/endless" => {
            if s.write_all(json_chunked.as_bytes()).await.is_ok() {
                write_chunked(&mut s, b"[", b'1', 64 * 1024 * MIB, &h.written).await;
            }
        }
        "/t.v1.s/bomb" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                h.bomb.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&h.bomb).await;
        }
        // A 500 whose body is 300 MB.
        "/t.v1.s/error" => {
            h.error_attempts.fetch_add(1, Ordering::Relaxed);
            let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_ok() {
                write_chunked(&mut s, b"{\"code\":\"internal\",\"message\":\"", b'x', 300 * 1000 * 1000, &h.written)
                    .await;
            }
        }
        // A JSONL stream whose first line never ends.
        "/t.v1.s/stream" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/jsonl\r\ntransfer-encoding: chunked\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_ok() {
                write_chunked(&mut s, b"{\"a\":\"", b'a', 64 * 1024 * MIB, &h.written).await;
            }
        }
        _ => {
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
        }
    }
}

async fn spawn_hostile(h: Hostile) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(handle(s, h.clone()));
        }
    });
    format!("http://{addr}")
}

/// A gzip body of `inflated` spaces, compressed 64 KiB at a time (never held inflated).
fn gzip_bomb(inflated: usize) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 64 * 1024];
    for _ in 0..inflated / block.len() {
        enc.write_all(&block).unwrap();
    }
    enc.finish().unwrap()
}

fn too_large(err: &Error) -> usize {
    match err {
        Error::ResponseTooLarge { limit, .. } => *limit,
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_end_with_typed_errors_in_bounded_memory() {
    let started = Instant::now();
    let bomb = gzip_bomb(64 * MIB as usize);
    let h = Hostile { bomb: Arc::new(bomb), written: Default::default(), error_attempts: Default::default() };
    let base = spawn_hostile(h.clone()).await;
    let t = Transport::new(
        ClientConfig::new()
            .base_url(&base)
            .bearer_token("t")
            .timeout(Duration::from_secs(20))
            .backoff_base(Duration::from_millis(5)),
    )
    .unwrap();
    let rss_before = common::peak_rss_kib() * 1024;
    let mut report = vec![format!("gzip bomb: {} KiB inflating to 64 MiB", h.bomb.len() / 1024)];
    let mut step = |name: &str, t0: Instant| {
        report.push(format!(
            "{name}: {:.2} s, peak RSS {} MiB",
            t0.elapsed().as_secs_f64(),
            (common::peak_rss_kib() * 1024) / MIB
        ));
    };

    // 1 GiB with Content-Length: refused from the header.
    let t0 = Instant::now();
    let err = t.unary::<_, Value>("t.v1.S/Big", &json!({})).await.unwrap_err();
    assert_eq!(too_large(&err), DEFAULT_MAX_RESPONSE_BYTES);
    assert_eq!(err.code(), Code::ResourceExhausted);
    step("1 GiB (content-length)", t0);

    // 1 GiB chunked: read up to the 4 MiB cap, then dropped.
    let t0 = Instant::now();
    let err = t.unary::<_, Value>("t.v1.S/BigChunked", &json!({})).await.unwrap_err();
    assert_eq!(too_large(&err), DEFAULT_MAX_RESPONSE_BYTES);
    step("1 GiB (chunked)", t0);

    // Endless.
    let t0 = Instant::now();
    let err = t.unary::<_, Value>("t.v1.S/Endless", &json!({})).await.unwrap_err();
    assert_eq!(too_large(&err), DEFAULT_MAX_RESPONSE_BYTES);
    // Per call, a smaller cap.
    let small = t.with_options(CallOptions::new().max_response_bytes(1024));
    let err = small.unary::<_, Value>("t.v1.S/Endless", &json!({})).await.unwrap_err();
    assert_eq!(too_large(&err), 1024);
    step("endless", t0);

    // Gzip bomb: the cap counts inflated bytes.
    let t0 = Instant::now();
    let err = t.unary::<_, Value>("t.v1.S/Bomb", &json!({})).await.unwrap_err();
    assert_eq!(too_large(&err), DEFAULT_MAX_RESPONSE_BYTES);
    step("gzip bomb", t0);

    // A 500 with a 300 MB body: the typed Connect error (code from the status), each of the
    // three attempts reading at most 64 KiB.
    let t0 = Instant::now();
    let err = t.unary::<_, Value>("t.v1.S/Error", &json!({})).await.unwrap_err();
    assert_eq!(err.http_status(), Some(500), "{err:?}");
    assert_eq!(err.code(), Code::Unknown);
    assert_eq!(h.error_attempts.load(Ordering::Relaxed), 3, "one call and two retries");
    assert!(err.to_string().len() < 2048, "the error carries an excerpt only");
    step("300 MB error body", t0);

    // A server stream whose line never ends: the per-message cap.
    let t0 = Instant::now();
    let mut stream = t.server_stream::<_, Value>("t.v1.S/Stream", &json!({}));
    let err = stream.next().await.expect("an item").unwrap_err();
    assert_eq!(too_large(&err), DEFAULT_MAX_RESPONSE_BYTES);
    assert!(stream.next().await.is_none());
    step("endless stream message", t0);

    // Endless page tokens (a real axum server, small pages).
    let t0 = Instant::now();
    let pages = Arc::new(AtomicUsize::new(0));
    let router = {
        let pages = pages.clone();
        axum::Router::new().route(
            "/t.v1.S/List",
            axum::routing::post(move || {
                let n = pages.fetch_add(1, Ordering::Relaxed);
                async move { axum::Json(json!({"items": [n], "pagination": {"nextToken": format!("token-{n}")}})) }
            }),
        )
    };
    let list_base = common::spawn(router).await;
    let lister = common::client_with(&list_base, |c| c.max_pages(2_000));
    let items = page_stream(&lister).collect::<Vec<_>>().await;
    assert_eq!(items.len(), 2_001, "2,000 pages of one item, then the error");
    assert!(items[..2_000].iter().all(Result::is_ok));
    assert!(matches!(items[2_000], Err(Error::TooManyPages { limit: 2_000 })), "{:?}", items[2_000]);
    assert_eq!(pages.load(Ordering::Relaxed), 2_000);
    // Per call.
    let items = page_stream(&lister.with_options(CallOptions::new().max_pages(3))).collect::<Vec<_>>().await;
    assert_eq!(items.len(), 4);
    assert_eq!(items[3].as_ref().unwrap_err().code(), Code::ResourceExhausted);
    assert_eq!(DEFAULT_MAX_PAGES, 10_000);
    step("endless page tokens (2,000 pages)", t0);

    let peak = common::peak_rss_kib() * 1024;
    let written = h.written.load(Ordering::Relaxed) as u64;
    eprintln!(
        "hostile client: {}\nbefore: {} MiB; peak: {} MiB; the server wrote {} MiB the client did not keep; {:.1} s",
        report.join("\n"),
        rss_before / MIB,
        peak / MIB,
        written / MIB,
        started.elapsed().as_secs_f64()
    );
    assert!(peak < 100 * 1000 * 1000, "peak RSS {} MiB", peak / MIB);
}

fn page_stream(t: &Transport) -> impl futures_util::Stream<Item = Result<u64, Error>> {
    #[derive(serde::Deserialize)]
    struct Page {
        items: Vec<u64>,
        pagination: Option<Pagination>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Pagination {
        next_token: Option<String>,
    }
    let transport = t.clone();
    t.paginate(
        move |token: Option<String>| {
            let transport = transport.clone();
            async move { transport.unary_page::<_, Page>("t.v1.S/List", &json!({}), token.as_deref()).await }
        },
        |p: Page| (p.items, p.pagination.and_then(|p| p.next_token)),
    )
}

/// `Debug`/`Display` of a decode error keep the procedure, the field path and the shape of the
/// body, never its values: a failed `CreateRunnerToken` does not print the token it was given.
#[tokio::test]
async fn decode_errors_do_not_show_response_values() {
    let router = axum::Router::new().route(
        "/t.v1.S/CreateToken",
        axum::routing::post(|| async {
            ([("content-type", "application/json")], r#"{"token":"s3cr3t-t0ken","expiresIn":"soon","count":"x9"}"#)
        }),
    );
    let base = common::spawn(router).await;
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Resp {
        token: String,
        #[serde(rename = "expiresIn")]
        expires_in: u32,
    }
    let err = common::client(&base).unary::<_, Resp>("t.v1.S/CreateToken", &json!({})).await.unwrap_err();
    let (debug, display) = (format!("{err:?}"), err.to_string());
    for text in [&debug, &display] {
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains("soon"), "{text}");
        assert!(text.contains("t.v1.S/CreateToken"), "{text}");
    }
    assert!(display.contains("expiresIn"), "{display}");
    let Error::Decode { body, .. } = &err else { panic!("{err:?}") };
    assert_eq!(body, r#"{"token":"*","expiresIn":"*","count":"*"}"#);
}

/// Credentials in the base URL never show in `Debug` of the config or the transport, nor in
/// transport errors.
#[tokio::test]
async fn url_credentials_are_redacted() {
    let config = ClientConfig::new().base_url("http://user:pa55w0rd@127.0.0.1:9/api").bearer_token("tok3n");
    let debug = format!("{config:?}");
    assert!(!debug.contains("pa55w0rd") && !debug.contains("user:") && !debug.contains("tok3n"), "{debug}");
    assert!(debug.contains("http://<redacted>@127.0.0.1:9/api"), "{debug}");
    let t = Transport::new(config.max_retries(0)).unwrap();
    let debug = format!("{t:?}");
    assert!(!debug.contains("pa55w0rd") && !debug.contains("tok3n"), "{debug}");
    // Port 9 (discard) is closed: a transport error, whose text names the URL without them.
    let err = t.unary::<_, Value>("t.v1.S/M", &json!({})).await.unwrap_err();
    let (debug, display) = (format!("{err:?}"), format!("{err} {:?}", std::error::Error::source(&err)));
    assert!(!debug.contains("pa55w0rd") && !display.contains("pa55w0rd"), "{debug} {display}");
    let stream = t.server_stream::<_, Value>("t.v1.S/W", &json!({}));
    assert!(!format!("{stream:?}").contains("pa55w0rd"));
    let err = Transport::new(ClientConfig::new().base_url("ftp://user:pa55w0rd@h").bearer_token("t")).unwrap_err();
    assert!(!err.to_string().contains("pa55w0rd"), "{err}");
}
