//! The runtime client against small hand-written axum servers on 127.0.0.1.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use gitpod_runtime::client::{paginate, CallOptions, ClientConfig, Transport};
use gitpod_runtime::serde_with::serde_as;
use gitpod_runtime::{wire, Code, Error};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use common::{client, client_with, spawn};

#[derive(Default)]
struct Counters(Mutex<HashMap<String, usize>>);

impl Counters {
    fn hit(&self, key: &str) -> usize {
        let mut m = self.0.lock().unwrap();
        let n = m.entry(key.to_owned()).or_default();
        *n += 1;
        *n
    }
    fn get(&self, key: &str) -> usize {
        self.0.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

/// `POST /t.v1.S/Fail/{key}/{status}/{times}`: answers `status` (with a Connect body when the
/// status is in the table) the first `times` requests, then 200 `{"ok":true,"attempts":N}`.
/// Query `retryAfterMs`, `retryAfter`, `shouldRetry` add those headers (`x-should-retry`).
async fn fail(
    State(c): State<Arc<Counters>>,
    Path((key, status, times)): Path<(String, u16, usize)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let n = c.hit(&key);
    if n > times {
        return axum::Json(json!({"ok": true, "attempts": n})).into_response();
    }
    let code = match q.get("code") {
        Some(c) => Code::parse(c),
        None => Code::ALL.iter().find(|c| c.http_status() == status).cloned().unwrap_or(Code::Unknown),
    };
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", format!("req-{key}-{n}").parse().unwrap());
    if let Some(ms) = q.get("retryAfterMs") {
        headers.insert("retry-after-ms", ms.parse().unwrap());
    }
    if let Some(s) = q.get("retryAfter") {
        headers.insert("retry-after", s.parse().unwrap());
    }
    if let Some(s) = q.get("shouldRetry") {
        headers.insert("x-should-retry", s.parse().unwrap());
    }
    let body = json!({"code": code.as_str(), "message": format!("attempt {n}")});
    (StatusCode::from_u16(status).unwrap(), headers, axum::Json(body)).into_response()
}

async fn fail_server() -> (String, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let router =
        axum::Router::new().route("/t.v1.S/Fail/{key}/{status}/{times}", post(fail)).with_state(counters.clone());
    (spawn(router).await, counters)
}

#[derive(Deserialize, Debug)]
struct Ok_ {
    ok: bool,
    attempts: usize,
}

async fn call(t: &Transport, path: &str) -> Result<Ok_, Error> {
    t.unary(path, &json!({})).await
}

#[tokio::test]
async fn sends_connect_headers_and_decodes_gzip() {
    let seen = Arc::new(Mutex::new(None::<(HeaderMap, Option<String>, Value)>));
    let s = seen.clone();
    let router = axum::Router::new().route(
        "/gitpod.v1.RunnerService/ListRunners",
        post(move |headers: HeaderMap, uri: axum::http::Uri, body: axum::body::Bytes| {
            let s = s.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap();
                *s.lock().unwrap() = Some((headers, uri.query().map(str::to_owned), v));
                let big = json!({"runners": vec![json!({"name": "r"}); 200], "pagination": {"nextToken": ""}});
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                std::io::Write::write_all(&mut enc, big.to_string().as_bytes()).unwrap();
                ([("content-type", "application/json"), ("content-encoding", "gzip")], enc.finish().unwrap())
            }
        }),
    );
    let base = spawn(router).await;
    let t = client(&base);
    let req = json!({"pagination": {"pageSize": 7}, "filter": {}});
    let resp: Value = t.unary_page("/gitpod.v1.RunnerService/ListRunners", &req, Some("tok 2")).await.unwrap();
    assert_eq!(resp["runners"].as_array().unwrap().len(), 200);
    let (h, query, body) = seen.lock().unwrap().take().unwrap();
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["connect-protocol-version"], "1");
    assert_eq!(h["authorization"], "Bearer test-token");
    assert!(h["user-agent"].to_str().unwrap().starts_with("gitpod-runtime/0."), "{:?}", h["user-agent"]);
    assert_eq!(h["connect-timeout-ms"], "5000");
    assert!(h["accept-encoding"].to_str().unwrap().contains("gzip"));
    assert_eq!(query.as_deref(), Some("token=tok+2&pageSize=7"));
    assert_eq!(
        body,
        json!({"pagination": {"pageSize": 7, "token": "tok 2"}, "filter": {}}),
        "the token is also in the body; the rest is unchanged"
    );
}

#[tokio::test]
async fn every_code_reaches_the_client_typed() {
    let (base, counters) = fail_server().await;
    let t = client_with(&base, |c| c.max_retries(0));
    for (code, status) in common::code_table() {
        let key = format!("code-{}", code.as_str());
        let err = call(&t, &format!("t.v1.S/Fail/{key}/{status}/99?code={code}")).await.unwrap_err();
        let Error::Connect(e) = &err else { panic!("{code}: {err:?}") };
        assert_eq!(e.code, code);
        assert_eq!(e.http_status, Some(status));
        assert_eq!(e.message, "attempt 1");
        assert_eq!(e.request_id.as_deref(), Some(format!("req-{key}-1").as_str()));
        assert_eq!(err.code(), code);
        assert_eq!(counters.get(&key), 1);
    }
}

#[tokio::test]
async fn status_without_connect_body_uses_the_http_table() {
    let router =
        axum::Router::new().route(
            "/t.v1.S/Status/{status}",
            post(|Path(status): Path<u16>| async move {
                (StatusCode::from_u16(status).unwrap(), "<html>proxy says no</html>")
            }),
        );
    let base = spawn(router).await;
    let t = client_with(&base, |c| c.max_retries(0));
    for (status, code) in [
        (400, Code::Internal),
        (401, Code::Unauthenticated),
        (403, Code::PermissionDenied),
        (404, Code::Unimplemented),
        (429, Code::Unavailable),
        (502, Code::Unavailable),
        (503, Code::Unavailable),
        (504, Code::Unavailable),
        (500, Code::Unknown),
        (418, Code::Unknown),
    ] {
        let err = call(&t, &format!("t.v1.S/Status/{status}")).await.unwrap_err();
        assert_eq!(err.code(), code, "{status}");
        assert_eq!(err.http_status(), Some(status));
    }
}

#[tokio::test]
async fn retries_exactly_where_they_should() {
    let (base, counters) = fail_server().await;
    let t = client(&base); // 2 retries by default
                           // retried: 503, 429, 408, 500, 502, 504 -> third attempt succeeds
    for status in [503, 429, 408, 500, 502, 504] {
        let key = format!("ok-{status}");
        let r = call(&t, &format!("t.v1.S/Fail/{key}/{status}/2")).await.unwrap();
        assert!(r.ok);
        assert_eq!((r.attempts, counters.get(&key)), (3, 3), "{status}");
    }
    // exhausted: 3 attempts, last error returned
    let err = call(&t, "t.v1.S/Fail/always/503/99").await.unwrap_err();
    assert_eq!((err.code(), counters.get("always")), (Code::Unavailable, 3));
    // never retried: 409 (already_exists/aborted), 501, 400, 401, 403, 404
    for status in [409, 501, 400, 401, 403, 404] {
        let key = format!("no-{status}");
        let err = call(&t, &format!("t.v1.S/Fail/{key}/{status}/99")).await.unwrap_err();
        assert_eq!(err.http_status(), Some(status));
        assert_eq!(counters.get(&key), 1, "{status} must not be retried");
    }
    // per-client and per-call retry counts
    let one = client_with(&base, |c| c.max_retries(1));
    assert!(call(&one, "t.v1.S/Fail/client1/503/99").await.is_err());
    assert_eq!(counters.get("client1"), 2);
    assert!(call(&t.with_options(CallOptions::new().max_retries(0)), "t.v1.S/Fail/call0/503/99").await.is_err());
    assert_eq!(counters.get("call0"), 1);
    assert!(call(&t.with_options(CallOptions::new().max_retries(4)), "t.v1.S/Fail/call4/503/4").await.is_ok());
    assert_eq!(counters.get("call4"), 5);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (base, counters) = fail_server().await;
    let t = client(&base);
    let start = Instant::now();
    let r = call(&t, "t.v1.S/Fail/ms/429/2?retryAfterMs=60").await.unwrap();
    let took = start.elapsed();
    assert_eq!((r.attempts, counters.get("ms")), (3, 3));
    assert!(took >= Duration::from_millis(120), "retry-after-ms: 60 twice, took {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    let start = Instant::now();
    call(&t, "t.v1.S/Fail/secs/503/1?retryAfter=0.1").await.unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(100), "Retry-After: 0.1, took {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // without a header the test backoff (5 ms base) applies: fast
    let start = Instant::now();
    call(&t, "t.v1.S/Fail/backoff/503/2").await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(500), "{:?}", start.elapsed());

    // a Retry-After beyond 60 s is ignored (backoff instead)
    let start = Instant::now();
    call(&t, "t.v1.S/Fail/huge/503/1?retryAfter=3600").await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn zero_retry_after_means_absent() {
    // backoff base 200 ms: the first computed backoff is 150..200 ms; a zero header must not
    // turn it into an immediate retry.
    let (base, counters) = fail_server().await;
    let t = client_with(&base, |c| c.backoff_base(Duration::from_millis(200)));
    for (key, query) in [("zero-ms", "retryAfterMs=0"), ("zero-s", "retryAfter=0"), ("neg-s", "retryAfter=-3")] {
        let start = Instant::now();
        let r = call(&t, &format!("t.v1.S/Fail/{key}/503/1?{query}")).await.unwrap();
        let took = start.elapsed();
        assert_eq!((r.attempts, counters.get(key)), (2, 2));
        assert!(took >= Duration::from_millis(150), "{query}: retried after {took:?}, expected the backoff");
        assert!(took < Duration::from_secs(2), "{query}: {took:?}");
    }
}

#[tokio::test]
async fn per_call_timeout_is_a_deadline_for_the_whole_call() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let router = axum::Router::new().route(
        "/t.v1.S/Slow",
        post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3)).await;
                "{}"
            }
        }),
    );
    let base = spawn(router).await;
    // retries allowed, but the first attempt uses up the whole deadline: ~timeout, not 3x it
    let t = client_with(&base, |c| c.max_retries(2));
    let start = Instant::now();
    let err =
        call(&t.with_options(CallOptions::new().timeout(Duration::from_millis(300))), "t.v1.S/Slow").await.unwrap_err();
    let took = start.elapsed();
    eprintln!("slow handler, timeout 300 ms, 2 retries allowed: {took:?}, {} attempt(s)", hits.load(Ordering::SeqCst));
    assert!(matches!(err, Error::Timeout(d) if d == Duration::from_millis(300)), "{err:?}");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    // Three attempts would take 900 ms; the margin is for a loaded machine.
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(800), "{took:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no time left for a retry");

    // per-client timeout
    let t = client_with(&base, |c| c.max_retries(0).timeout(Duration::from_millis(80)));
    let start = Instant::now();
    assert!(matches!(call(&t, "t.v1.S/Slow").await, Err(Error::Timeout(_))));
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn connection_errors_are_retried() {
    // A raw listener that resets the first two connections and answers the third.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let n = a.fetch_add(1, Ordering::SeqCst) + 1;
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            if n <= 2 {
                #[allow(deprecated)] // zero linger does not block: it sends RST on drop
                let _ = sock.set_linger(Some(Duration::ZERO));
                drop(sock);
            } else {
                let body = r#"{"ok":true,"attempts":3}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        }
    });
    let t = client(&format!("http://{addr}"));
    let r = call(&t, "t.v1.S/Reset").await.unwrap();
    assert!(r.ok);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);

    // connection refused: a port nobody listens on -> Transport after 3 attempts
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let t = client(&format!("http://{free}"));
    let start = Instant::now();
    let err = call(&t, "t.v1.S/Refused").await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.code(), Code::Unavailable);
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// Non-idempotent calls (`Create*`) are retried only when the request provably was not processed.
async fn create(t: &Transport, path: &str) -> Result<Ok_, Error> {
    t.unary_non_idempotent(path, &json!({"name": "r"})).await
}

#[tokio::test]
async fn non_idempotent_calls_are_not_retried_after_they_may_have_been_processed() {
    let (base, counters) = fail_server().await;
    let t = client(&base); // 2 retries allowed
    for status in [500, 502, 504, 408, 409, 501] {
        let key = format!("create-{status}");
        let err = create(&t, &format!("t.v1.S/Fail/{key}/{status}/1")).await.unwrap_err();
        assert_eq!(err.http_status(), Some(status));
        assert_eq!(counters.get(&key), 1, "{status}: a create must be attempted exactly once");
    }
    // x-should-retry: false wins over 503
    let err = create(&t, "t.v1.S/Fail/create-503-no/503/1?shouldRetry=false").await.unwrap_err();
    assert_eq!((err.http_status(), counters.get("create-503-no")), (Some(503), 1));
    // ... but never over 409/501
    let err = create(&t, "t.v1.S/Fail/create-409-yes/409/1?shouldRetry=true").await.unwrap_err();
    assert_eq!((err.http_status(), counters.get("create-409-yes")), (Some(409), 1));

    // the idempotent unary still retries 500
    let r = call(&t, "t.v1.S/Fail/get-500/500/2").await.unwrap();
    assert_eq!((r.attempts, counters.get("get-500")), (3, 3));
}

#[tokio::test]
async fn non_idempotent_calls_are_retried_when_the_server_refused_the_work() {
    let (base, counters) = fail_server().await;
    let t = client(&base);
    for status in [503, 429] {
        let key = format!("create-refused-{status}");
        let r = create(&t, &format!("t.v1.S/Fail/{key}/{status}/2")).await.unwrap();
        assert!(r.ok);
        assert_eq!((r.attempts, counters.get(&key)), (3, 3), "{status}");
    }
    // the server says retrying is safe
    let r = create(&t, "t.v1.S/Fail/create-500-yes/500/1?shouldRetry=true").await.unwrap();
    assert_eq!((r.attempts, counters.get("create-500-yes")), (2, 2));
    // retries are still bounded
    let err = create(&t, "t.v1.S/Fail/create-always/503/99").await.unwrap_err();
    assert_eq!((err.code(), counters.get("create-always")), (Code::Unavailable, 3));
}

#[tokio::test]
async fn non_idempotent_call_that_times_out_is_attempted_once() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let router = axum::Router::new().route(
        "/t.v1.S/SlowCreate",
        post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3)).await;
                "{}"
            }
        }),
    );
    let base = spawn(router).await;
    // A reqwest client whose own timeout (100 ms) is shorter than the call's deadline (2 s):
    // an idempotent call would have time to retry, a create must not.
    let http = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let t = client_with(&base, |c| c.http_client(http).timeout(Duration::from_secs(2)));
    let start = Instant::now();
    let err = create(&t, "t.v1.S/SlowCreate").await.unwrap_err();
    let took = start.elapsed();
    eprintln!("create timing out: {err:?} after {took:?}, {} attempt(s)", hits.load(Ordering::SeqCst));
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(took < Duration::from_secs(1), "{took:?}");

    // the same with an idempotent call: retried within the deadline
    let err = call(&t, "t.v1.S/SlowCreate").await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 4, "1 + 3 attempts");

    // and with the call's own deadline
    let t = client_with(&base, |c| c.timeout(Duration::from_millis(150)));
    let err = create(&t, "t.v1.S/SlowCreate").await.unwrap_err();
    assert!(matches!(err, Error::Timeout(d) if d == Duration::from_millis(150)), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn non_idempotent_call_is_not_retried_when_the_connection_drops_after_sending() {
    // A raw listener that reads the request and resets the connection: the server may have
    // processed it, so the create is not sent again.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            a.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            #[allow(deprecated)]
            let _ = sock.set_linger(Some(Duration::ZERO));
            drop(sock);
        }
    });
    let t = client(&format!("http://{addr}"));
    let err = create(&t, "t.v1.S/Reset").await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn non_idempotent_call_is_retried_when_the_connection_is_refused() {
    // Nothing listens on the port at first; the server starts after the first attempt failed
    // and before the first backoff (>= 150 ms with a 200 ms base) ends.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let router = axum::Router::new().route(
        "/t.v1.S/Create",
        post(move || {
            let n = h.fetch_add(1, Ordering::SeqCst) + 1;
            async move { axum::Json(json!({"ok": true, "attempts": n})) }
        }),
    );
    let t = client_with(&format!("http://{addr}"), |c| c.backoff_base(Duration::from_millis(200)));
    let start = Instant::now();
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        gitpod_runtime::server::serve(listener, router).await
    });
    let r = create(&t, "t.v1.S/Create").await.unwrap();
    let took = start.elapsed();
    eprintln!("refused then served: {took:?}, server saw {} request(s)", hits.load(Ordering::SeqCst));
    assert!(r.ok);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the refused attempt never reached a server");
    assert!(took >= Duration::from_millis(150), "a retry after the backoff: {took:?}");
    server.abort();

    // nothing ever listens: Transport after 1 + 2 attempts with backoffs in between
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let t = client_with(&format!("http://{free}"), |c| c.backoff_base(Duration::from_millis(50)));
    let start = Instant::now();
    let err = create(&t, "t.v1.S/Create").await.unwrap_err();
    let took = start.elapsed();
    eprintln!("refused 3 times: {took:?}");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    // backoffs: 50 ms and 100 ms, times a jitter in (0.75, 1]
    assert!(took >= Duration::from_millis(110) && took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn retry_after_is_clamped_to_the_deadline() {
    let (base, counters) = fail_server().await;
    let t = client_with(&base, |c| c.timeout(Duration::from_millis(300)));
    let start = Instant::now();
    let err = call(&t, "t.v1.S/Fail/ra/503/99?retryAfterMs=1000").await.unwrap_err();
    let took = start.elapsed();
    eprintln!("503 + retry-after-ms 1000, timeout 300 ms: {err} after {took:?}, {} attempt(s)", counters.get("ra"));
    assert!(matches!(err, Error::Timeout(d) if d == Duration::from_millis(300)), "{err:?}");
    assert!(took < Duration::from_millis(600), "{took:?}");
    assert_eq!(counters.get("ra"), 1);
}

#[tokio::test]
async fn each_attempt_gets_the_remaining_time() {
    let seen = Arc::new(Mutex::new(Vec::<u64>::new()));
    let s = seen.clone();
    let router = axum::Router::new().route(
        "/t.v1.S/Flaky",
        post(move |headers: HeaderMap| {
            let s = s.clone();
            async move {
                let ms: u64 = headers["connect-timeout-ms"].to_str().unwrap().parse().unwrap();
                let n = {
                    let mut v = s.lock().unwrap();
                    v.push(ms);
                    v.len()
                };
                if n < 3 {
                    let mut h = HeaderMap::new();
                    h.insert("retry-after-ms", "100".parse().unwrap());
                    (StatusCode::SERVICE_UNAVAILABLE, h, axum::Json(json!({"code": "unavailable"}))).into_response()
                } else {
                    axum::Json(json!({"ok": true, "attempts": n})).into_response()
                }
            }
        }),
    );
    let base = spawn(router).await;
    let t = client_with(&base, |c| c.timeout(Duration::from_millis(1000)));
    let r = call(&t, "t.v1.S/Flaky").await.unwrap();
    assert_eq!(r.attempts, 3);
    let seen = seen.lock().unwrap().clone();
    eprintln!("connect-timeout-ms per attempt: {seen:?}");
    assert!(seen[0] <= 1000 && seen[0] > 900, "{seen:?}");
    assert!(seen[1] <= 900 && seen[1] > 700, "{seen:?}");
    assert!(seen[2] <= 800 && seen[2] > 500, "{seen:?}");
}

#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Sized_ {
    #[serde_as(as = "wire::Int64")]
    size: i64,
}

#[tokio::test]
async fn decode_errors_name_the_field() {
    let router = axum::Router::new()
        .route("/t.v1.S/Bad", post(|| async { ([("content-type", "application/json")], r#"{"size":"x"}"#) }))
        .route("/t.v1.S/Empty", post(|| async { "" }));
    let base = spawn(router).await;
    let t = client(&base);
    let err = t.unary::<_, Sized_>("t.v1.S/Bad", &json!({})).await.unwrap_err();
    let Error::Decode { procedure, message, body } = &err else { panic!("{err:?}") };
    assert_eq!(procedure, "t.v1.S/Bad");
    assert!(message.contains("size"), "{message}");
    // The excerpt keeps the shape and keys, never the values (they may be secrets).
    assert_eq!(body, r#"{"size":"*"}"#);
    assert!(!message.contains("\"x\""), "{message}");
    // an empty 200 body is the empty message
    let v: Value = t.unary("t.v1.S/Empty", &json!({})).await.unwrap();
    assert_eq!(v, json!({}));
}

#[derive(Serialize, Deserialize, Default)]
struct ListReq {
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Value>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResp {
    items: Vec<u32>,
    pagination: Option<PageOut>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageOut {
    next_token: Option<String>,
}

fn list_stream(t: Transport, proc_: &'static str) -> impl futures_util::Stream<Item = Result<u32, Error>> {
    paginate(
        move |token: Option<String>| {
            let t = t.clone();
            async move { t.unary_page::<_, ListResp>(proc_, &ListReq::default(), token.as_deref()).await }
        },
        |r: ListResp| (r.items, r.pagination.and_then(|p| p.next_token)),
    )
}

#[tokio::test]
async fn pagination_over_three_pages() {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let tk = tokens.clone();
    let router = axum::Router::new()
        .route(
            "/t.v1.S/List",
            post(move |Query(q): Query<HashMap<String, String>>| {
                let tk = tk.clone();
                async move {
                    let token = q.get("token").cloned().unwrap_or_default();
                    tk.lock().unwrap().push(token.clone());
                    let (items, next) = match token.as_str() {
                        "" => (vec![1, 2, 3], "p2"),
                        "p2" => (vec![4, 5, 6], "p3"),
                        "p3" => (vec![7, 8], ""),
                        _ => (vec![], ""),
                    };
                    axum::Json(json!({"items": items, "pagination": {"nextToken": next}}))
                }
            }),
        )
        .route(
            "/t.v1.S/Loop",
            post(|| async { axum::Json(json!({"items": [1], "pagination": {"nextToken": "same"}})) }),
        )
        .route("/t.v1.S/NoPagination", post(|| async { axum::Json(json!({"items": [9]})) }));
    let base = spawn(router).await;
    let t = client(&base);

    let items: Vec<u32> = list_stream(t.clone(), "t.v1.S/List").map(|r| r.unwrap()).collect().await;
    assert_eq!(items, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(*tokens.lock().unwrap(), vec!["", "p2", "p3"]);

    // page 1 (token "same"), then page "same" returns "same" again: its items would repeat, so
    // the error comes before them
    let got: Vec<Result<u32, Error>> = list_stream(t.clone(), "t.v1.S/Loop").take(100).collect().await;
    assert_eq!(got.len(), 2, "page 1, then the error: {got:?}");
    assert!(matches!(got[0], Ok(1)), "{got:?}");
    assert!(matches!(got[1], Err(Error::Pagination(_))), "{got:?}");

    let got: Vec<u32> = list_stream(t, "t.v1.S/NoPagination").map(|r| r.unwrap()).collect().await;
    assert_eq!(got, vec![9]);
}

#[tokio::test]
async fn pagination_works_with_servers_reading_only_the_body_and_never_repeats_items() {
    fn page(token: &str) -> Value {
        let (items, next) = match token {
            "" => (vec![1, 2, 3], "p2"),
            "p2" => (vec![4, 5], "p3"),
            "p3" => (vec![6], ""),
            _ => (vec![], ""),
        };
        json!({"items": items, "pagination": {"nextToken": next}})
    }
    let router = axum::Router::new()
        // reads the token only from the body
        .route(
            "/t.v1.S/BodyOnly",
            post(|axum::Json(body): axum::Json<Value>| async move {
                axum::Json(page(body["pagination"]["token"].as_str().unwrap_or_default()))
            }),
        )
        // ignores the token: always the first page
        .route("/t.v1.S/IgnoresToken", post(|| async { axum::Json(page("")) }));
    let base = spawn(router).await;
    let t = client(&base);

    let items: Vec<u32> = list_stream(t.clone(), "t.v1.S/BodyOnly").map(|r| r.unwrap()).collect().await;
    assert_eq!(items, vec![1, 2, 3, 4, 5, 6]);

    // old behaviour: 1, 2, 3, 1, 2, 3, error. Now the repeated token is caught before the items.
    let got: Vec<Result<u32, Error>> = list_stream(t.clone(), "t.v1.S/IgnoresToken").take(100).collect().await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[..3].iter().map(|r| *r.as_ref().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(matches!(got[3], Err(Error::Pagination(_))), "{got:?}");
}

#[tokio::test]
async fn unary_page_puts_the_token_in_the_body() {
    let bodies = Arc::new(Mutex::new(Vec::<(Option<String>, Value)>::new()));
    let b = bodies.clone();
    let router = axum::Router::new().route(
        "/t.v1.S/Echo",
        post(move |uri: axum::http::Uri, axum::Json(body): axum::Json<Value>| {
            let b = b.clone();
            async move {
                b.lock().unwrap().push((uri.query().map(str::to_owned), body));
                axum::Json(json!({}))
            }
        }),
    );
    let base = spawn(router).await;
    let t = client(&base);
    for (req, token) in [
        (json!({}), Some("t1")),
        (json!({"pagination": null, "x": 1}), Some("t2")),
        (json!({"pagination": {"pageSize": 3, "token": "old"}}), Some("t3")),
        (json!({"pagination": {"pageSize": 3}}), None),
        (json!({"pagination": {"token": "start"}}), Some("")),
    ] {
        let _: Value = t.unary_page("t.v1.S/Echo", &req, token).await.unwrap();
    }
    let got = bodies.lock().unwrap().clone();
    assert_eq!(
        got,
        vec![
            (Some("token=t1".into()), json!({"pagination": {"token": "t1"}})),
            (Some("token=t2".into()), json!({"pagination": {"token": "t2"}, "x": 1})),
            (Some("token=t3&pageSize=3".into()), json!({"pagination": {"pageSize": 3, "token": "t3"}})),
            (Some("pageSize=3".into()), json!({"pagination": {"pageSize": 3}})),
            (None, json!({"pagination": {"token": "start"}})),
        ]
    );
}

#[tokio::test]
async fn token_never_shows_in_debug() {
    let cfg = ClientConfig::new().bearer_token("super-secret-token").base_url("http://127.0.0.1:1");
    assert!(!format!("{cfg:?}").contains("super-secret"));
    let t = Transport::new(cfg).unwrap();
    let dbg = format!("{t:?}");
    assert!(!dbg.contains("super-secret"), "{dbg}");
    assert!(dbg.contains("<redacted>"), "{dbg}");
    assert!(matches!(
        Transport::new(ClientConfig::new().bearer_token("t").base_url("not a url")),
        Err(Error::Config(_))
    ));
}
