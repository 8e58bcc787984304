//! Server streams over real sockets on 127.0.0.1: the runtime's client ([`ResponseStream`]) against
//! its router ([`ConnectRouter::server_stream`]), in both framings (JSONL as the SDKs read it,
//! Connect envelopes), plus raw-wire checks of what the server sends.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gitpod_runtime::client::{Framing, ResponseStream};
use gitpod_runtime::server::{ConnectRouter, MessageStream, RequestContext};
use gitpod_runtime::{Code, ConnectError, Error};
use serde::{Deserialize, Serialize};

const WATCH: &str = "test.v1.EventService/Watch";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WatchRequest {
    /// How many messages to send.
    count: u32,
    /// Delay before each message, in ms.
    delay_ms: u64,
    /// Fail after this many messages.
    fail_after: Option<u32>,
    /// Fail before the stream starts.
    fail_early: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    seq: u32,
    resource_id: String,
}

/// What the server's producers did, shared with the test.
#[derive(Default)]
struct Probe {
    /// Messages produced (taken from the stream) so far, over all calls.
    produced: AtomicUsize,
    /// Set when a producer ran to its end.
    finished: AtomicBool,
    /// Set when a producer was dropped (finished or not).
    dropped: AtomicBool,
    /// Handler invocations.
    calls: AtomicUsize,
}

/// Sets `dropped` when the producer (the stream state holding it) is dropped.
struct DropFlag(Arc<Probe>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
    }
}

fn router(probe: Arc<Probe>) -> axum::Router {
    ConnectRouter::new()
        .server_stream(WATCH, move |_ctx: RequestContext, req: WatchRequest| {
            let probe = probe.clone();
            async move {
                probe.calls.fetch_add(1, Ordering::SeqCst);
                if req.fail_early {
                    return Err(ConnectError::not_found("no such scope"));
                }
                let state = (0u32, DropFlag(probe.clone()));
                let stream = futures_util::stream::unfold(state, move |(seq, flag)| {
                    let req = req.clone();
                    async move {
                        if Some(seq) == req.fail_after {
                            let e = ConnectError::failed_precondition("boom after 3");
                            return Some((Err(e), (u32::MAX, flag)));
                        }
                        if seq >= req.count {
                            flag.0.finished.store(true, Ordering::SeqCst);
                            return None;
                        }
                        if req.delay_ms > 0 {
                            tokio::time::sleep(Duration::from_millis(req.delay_ms)).await;
                        }
                        flag.0.produced.fetch_add(1, Ordering::SeqCst);
                        Some((Ok(Event { seq, resource_id: format!("r-{seq}") }), (seq + 1, flag)))
                    }
                });
                Ok(MessageStream::new(stream).with_trailer("x-stream", "done"))
            }
        })
        .into_axum()
}

async fn setup() -> (String, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let base = common::spawn(router(probe.clone())).await;
    (base, probe)
}

fn watch(base: &str, framing: Framing, req: WatchRequest) -> ResponseStream<Event> {
    common::client(base).server_stream::<_, Event>(WATCH, &req).framing(framing)
}

/// Waits (bounded) until `cond` holds.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const BOTH: [Framing; 2] = [Framing::Jsonl, Framing::Connect];

#[tokio::test]
async fn first_message_arrives_before_the_handler_finishes_and_dropping_stops_the_producer() {
    for framing in BOTH {
        let (base, probe) = setup().await;
        // 1,000 messages, 5 ms apart: the handler needs at least 5 s to finish.
        let mut stream = watch(&base, framing, WatchRequest { count: 1000, delay_ms: 5, ..Default::default() });
        let started = Instant::now();
        let first = stream.message().await.unwrap().unwrap();
        assert_eq!(first, Event { seq: 0, resource_id: "r-0".into() });
        assert!(started.elapsed() < Duration::from_secs(2), "{framing:?}: first message took {:?}", started.elapsed());
        assert!(!probe.finished.load(Ordering::SeqCst), "{framing:?}: the handler had already finished");
        for seq in 1..10 {
            assert_eq!(stream.message().await.unwrap().unwrap().seq, seq);
        }
        drop(stream);
        // The server notices the closed connection and drops the producer ...
        eventually("the producer is dropped", || probe.dropped.load(Ordering::SeqCst)).await;
        let at_drop = probe.produced.load(Ordering::SeqCst);
        // ... which then produces nothing more.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let later = probe.produced.load(Ordering::SeqCst);
        assert_eq!(later, at_drop, "{framing:?}: the producer kept going");
        assert!(later < 100, "{framing:?}: {later} messages produced after the client left early");
        assert!(!probe.finished.load(Ordering::SeqCst));
        println!("{framing:?}: producer stopped after {later} of 1000 messages");
    }
}

#[tokio::test]
async fn all_messages_arrive_in_order() {
    for framing in BOTH {
        let (base, probe) = setup().await;
        let mut stream = watch(&base, framing, WatchRequest { count: 1000, ..Default::default() });
        let mut seqs = Vec::new();
        while let Some(e) = stream.message().await.unwrap() {
            assert_eq!(e.resource_id, format!("r-{}", e.seq));
            seqs.push(e.seq);
        }
        assert_eq!(seqs, (0..1000).collect::<Vec<_>>(), "{framing:?}");
        assert!(probe.finished.load(Ordering::SeqCst));
        let trailers = stream.trailers().expect("the end was read");
        match framing {
            Framing::Connect => assert_eq!(trailers.get("x-stream"), Some(&vec!["done".to_string()])),
            Framing::Jsonl => assert!(trailers.is_empty()),
        }
        // The stream stays ended.
        assert!(stream.next().await.is_none());
    }
}

#[tokio::test]
async fn an_error_after_three_messages_arrives_typed_after_exactly_three_items() {
    for framing in BOTH {
        let (base, probe) = setup().await;
        let mut stream = watch(&base, framing, WatchRequest { count: 10, fail_after: Some(3), ..Default::default() });
        let mut items: Vec<Result<Event, Error>> = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item);
        }
        assert_eq!(items.len(), 4, "{framing:?}: {items:?}");
        for (i, item) in items[..3].iter().enumerate() {
            assert_eq!(item.as_ref().unwrap().seq, i as u32);
        }
        let Err(Error::Connect(e)) = &items[3] else { panic!("{framing:?}: {:?}", items[3]) };
        assert_eq!(e.code, Code::FailedPrecondition);
        assert_eq!(e.message, "boom after 3");
        // The end-of-stream metadata (Connect's trailers) arrive with the error; JSONL has none.
        let trailers = stream.trailers().expect("the end was read");
        if framing == Framing::Connect {
            assert_eq!(trailers.get("x-stream"), Some(&vec!["done".to_string()]));
        } else {
            assert!(trailers.is_empty());
        }
        assert_eq!(probe.calls.load(Ordering::SeqCst), 1, "never retried once a message was yielded");
    }
}

#[tokio::test]
async fn an_error_before_the_stream_is_a_typed_error() {
    for framing in BOTH {
        let (base, probe) = setup().await;
        let client = common::client_with(&base, |c| c.max_retries(2));
        let mut stream =
            client.server_stream::<_, Event>(WATCH, &WatchRequest { fail_early: true, ..Default::default() });
        stream = stream.framing(framing);
        let err = stream.message().await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{framing:?}");
        // JSONL: an ordinary Connect error response (the SDK raises NotFoundError); Connect: HTTP 200
        // with the error in the end-of-stream envelope.
        let status = if framing == Framing::Jsonl { Some(404) } else { None };
        assert_eq!(err.http_status(), status, "{framing:?}");
        assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn opening_a_stream_is_retried_but_nothing_after_a_message() {
    // 503 twice, then a stream: the client retries the opening (no message was yielded yet).
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let router = ConnectRouter::new()
        .server_stream(WATCH, move |_ctx: RequestContext, _req: WatchRequest| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    return Err(ConnectError::unavailable("warming up"));
                }
                // One message, then a retryable error: must not be retried.
                Ok(MessageStream::iter(vec![
                    Ok(Event { seq: 0, resource_id: "r".into() }),
                    Err(ConnectError::unavailable("gone")),
                ]))
            }
        })
        .into_axum();
    let base = common::spawn(router).await;
    let items: Vec<_> =
        common::client(&base).server_stream::<_, Event>(WATCH, &WatchRequest::default()).collect().await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(items[1].as_ref().unwrap_err().code(), Code::Unavailable);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "two refused openings, one stream, no retry after it");
}

#[tokio::test]
async fn idle_timeout_ends_a_quiet_stream() {
    let (base, _probe) = setup().await;
    let mut stream = watch(&base, Framing::Jsonl, WatchRequest { count: 2, delay_ms: 3_000, ..Default::default() })
        .idle_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let err = stream.message().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(d) if d == Duration::from_millis(200)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn opening_is_bounded_by_the_call_timeout() {
    // A server that never answers the headers.
    let router = ConnectRouter::new()
        .server_stream(WATCH, |_ctx: RequestContext, _req: WatchRequest| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(MessageStream::<Event>::empty())
        })
        .into_axum();
    let base = common::spawn(router).await;
    let client = common::client_with(&base, |c| c.timeout(Duration::from_millis(300)).max_retries(0));
    let started = Instant::now();
    let err = client.server_stream::<_, Event>(WATCH, &WatchRequest::default()).message().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Raw request helper: returns status, content type and the whole body.
async fn raw(
    base: &str,
    content_type: &str,
    accept: Option<&str>,
    timeout_ms: Option<u64>,
    body: &str,
) -> (u16, String, Vec<u8>) {
    let mut rb = reqwest::Client::new()
        .post(format!("{base}/{WATCH}"))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(a) = accept {
        rb = rb.header("accept", a);
    }
    if let Some(t) = timeout_ms {
        rb = rb.header("connect-timeout-ms", t.to_string());
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn the_wire_jsonl_and_connect_envelopes() {
    let (base, _probe) = setup().await;
    let req = r#"{"count":2,"failAfter":1}"#;
    // JSONL, as the SDK asks for it; a plain JSON request of a streaming method gets JSONL too.
    for accept in [Some("application/jsonl"), None] {
        let (status, ct, body) = raw(&base, "application/json", accept, None, req).await;
        assert_eq!((status, ct.as_str()), (200, "application/jsonl"));
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"seq\":0,\"resourceId\":\"r-0\"}\n{\"error\":{\"code\":\"failed_precondition\",\"message\":\"boom after 3\"}}\n"
        );
    }
    // Connect envelopes: flag 0 + length + message, then flag 2 + end-of-stream.
    let (status, ct, body) = raw(&base, "application/connect+json", None, None, req).await;
    assert_eq!((status, ct.as_str()), (200, "application/connect+json"));
    let msg = br#"{"seq":0,"resourceId":"r-0"}"#;
    assert_eq!(body[0], 0);
    assert_eq!(u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize, msg.len());
    assert_eq!(&body[5..5 + msg.len()], msg);
    let end = &body[5 + msg.len()..];
    assert_eq!(end[0], 2);
    let end_json: serde_json::Value = serde_json::from_slice(&end[5..]).unwrap();
    assert_eq!(u32::from_be_bytes(end[1..5].try_into().unwrap()) as usize, end.len() - 5);
    assert_eq!(
        end_json,
        serde_json::json!({
            "error": {"code": "failed_precondition", "message": "boom after 3"},
            "metadata": {"x-stream": ["done"]}
        })
    );
    // The request may be enveloped (as connect-go sends it) or plain JSON.
    let enveloped = gitpod_runtime::stream::envelope(0, req.as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("{base}/{WATCH}"))
        .header("content-type", "application/connect+json")
        .body(enveloped)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.bytes().await.unwrap().to_vec(), body);
    // A successful Connect stream ends with an end-of-stream envelope holding the trailers only.
    let (_, _, body) = raw(&base, "application/connect+json", None, None, r#"{"count":0}"#).await;
    assert_eq!(body[0], 2);
    assert_eq!(&body[5..], br#"{"metadata":{"x-stream":["done"]}}"#);
    // Other content types: 415 naming both.
    let (status, _, _) = raw(&base, "application/proto", None, None, "").await;
    assert_eq!(status, 415);
}

#[tokio::test]
async fn connect_timeout_ms_bounds_the_whole_stream() {
    for (content_type, framing) in
        [("application/json", Framing::Jsonl), ("application/connect+json", Framing::Connect)]
    {
        let (base, probe) = setup().await;
        let started = Instant::now();
        let (status, _, body) = raw(&base, content_type, None, Some(300), r#"{"count":100000,"delayMs":10}"#).await;
        let elapsed = started.elapsed();
        assert_eq!(status, 200);
        assert!(elapsed >= Duration::from_millis(280) && elapsed < Duration::from_secs(3), "{elapsed:?}");
        // The body ends with the deadline error.
        let mut decoder = gitpod_runtime::stream::FrameDecoder::new(framing, 1 << 20);
        decoder.push(&body);
        let mut messages = 0;
        let mut end = None;
        while let Some(frame) = decoder.next_frame().unwrap() {
            match frame {
                gitpod_runtime::stream::Frame::Message(_) => messages += 1,
                gitpod_runtime::stream::Frame::End { error, .. } => end = error,
            }
        }
        assert!(messages > 0 && messages < 100, "{messages}");
        assert_eq!(end.map(|e| e.code), Some(Code::DeadlineExceeded), "{framing:?}");
        eventually("the producer is dropped at the deadline", || probe.dropped.load(Ordering::SeqCst)).await;
    }
}

/// Resets VmHWM to the current RSS (Linux: write 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `cargo test -p gitpod-runtime --release --test streaming -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "memory measurement: streams 100,000 messages through client and server"]
async fn streaming_100k_messages_holds_memory_flat() {
    let (base, _probe) = setup().await;
    for framing in BOTH {
        for count in [10_000u32, 100_000] {
            // Warm up the connection pool and allocator, then measure the peak from here.
            let _ = watch(&base, framing, WatchRequest { count: 100, ..Default::default() }).collect::<Vec<_>>().await;
            reset_peak_rss();
            let before = common::peak_rss_kib();
            let started = Instant::now();
            let mut stream = watch(&base, framing, WatchRequest { count, ..Default::default() });
            let mut n = 0u32;
            while let Some(e) = stream.message().await.unwrap() {
                assert_eq!(e.seq, n);
                n += 1;
            }
            assert_eq!(n, count);
            let peak = common::peak_rss_kib();
            println!(
                "{framing:?}: {count} messages in {:?}; RSS before {before} KiB, peak during {peak} KiB (+{} KiB)",
                started.elapsed(),
                peak.saturating_sub(before)
            );
        }
    }
}
