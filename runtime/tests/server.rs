//! A `ConnectRouter` on 127.0.0.1, exercised with the runtime client and with raw reqwest.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gitpod_runtime::client::CallOptions;
use gitpod_runtime::serde_with::serde_as;
use gitpod_runtime::server::{ConnectRouter, Identity, RequestContext, ServerConfig};
use gitpod_runtime::{wire, Code, ConnectError, Error, ProtoEnum, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use common::{client, client_with, spawn};

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Unspecified,
    Running,
    Unknown(String),
}
impl ProtoEnum for Phase {
    const VALUES: &'static [(Self, &'static str)] =
        &[(Phase::Unspecified, "PHASE_UNSPECIFIED"), (Phase::Running, "PHASE_RUNNING")];
    fn unrecognized(raw: String) -> Self {
        Phase::Unknown(raw)
    }
    fn as_unrecognized(&self) -> Option<&str> {
        match self {
            Phase::Unknown(raw) => Some(raw),
            _ => None,
        }
    }
}

#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", default)]
struct Pagination {
    #[serde(skip_serializing_if = "String::is_empty")]
    token: String,
    #[serde(alias = "page_size", skip_serializing_if = "wire::is_default")]
    page_size: i32,
}

#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase", default)]
struct EchoReq {
    #[serde_as(as = "wire::NullAsDefault")]
    name: String,
    #[serde_as(as = "wire::NullAsDefault<wire::Int64>")]
    count: i64,
    #[serde_as(as = "Option<wire::Enum>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<Phase>,
    #[serde_as(as = "Option<wire::Timestamp>")]
    #[serde(skip_serializing_if = "Option::is_none", alias = "created_at")]
    created_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pagination: Option<Pagination>,
}

#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase", default)]
struct EchoResp {
    req: EchoReq,
    user: Option<String>,
    bearer: Option<String>,
    procedure: String,
    has_deadline: bool,
    #[serde(default)]
    query_token: Option<String>,
}

#[derive(Debug)]
struct User(String);

struct Fixture {
    base: String,
    handled: Arc<AtomicUsize>,
    raw: reqwest::Client,
}

fn router(handled: Arc<AtomicUsize>) -> ConnectRouter {
    let h = handled.clone();
    let echo = move |ctx: RequestContext, req: EchoReq| {
        h.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok::<_, ConnectError>(EchoResp {
                user: ctx.identity::<User>().map(|u| u.0.clone()),
                bearer: ctx.bearer_token().map(str::to_owned),
                procedure: ctx.procedure().to_owned(),
                has_deadline: ctx.deadline().is_some(),
                query_token: ctx.query_param("token").map(str::to_owned),
                req,
            })
        }
    };
    ConnectRouter::new()
        .auth(|_h: &http::HeaderMap, token: Option<&str>| -> Result<Option<Identity>, ConnectError> {
            match token {
                Some("bad") => Err(ConnectError::unauthenticated("bad token")),
                Some(t) => Ok(Some(Arc::new(User(t.to_owned())) as Identity)),
                None => Ok(None),
            }
        })
        .unary("/gitpod.v1.TestService/Echo", false, echo.clone())
        .unary("gitpod.v1.TestService/List", true, echo)
        .unary_json("gitpod.v1.TestService/Fail", false, |_ctx, v: Value| async move {
            let mut e = ConnectError::new(Code::parse(v["code"].as_str().unwrap_or("unknown")), "failed on purpose");
            if let Some(d) = v.get("detail") {
                e = e.with_detail(d.clone());
            }
            Err::<Value, _>(e)
        })
        .unary_json("gitpod.v1.TestService/Panic", false, |_ctx, _v: Value| async move {
            if true {
                panic!("handler bug");
            }
            Ok(json!({}))
        })
        .unary_json("gitpod.v1.TestService/Slow", false, |_ctx, _v: Value| async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(json!({}))
        })
        .unary_json("gitpod.v1.TestService/Big", false, |_ctx, _v: Value| async move {
            Ok(json!({"data": "x".repeat(20_000)}))
        })
}

async fn fixture() -> Fixture {
    fixture_with(ServerConfig::default()).await
}

async fn fixture_with(cfg: ServerConfig) -> Fixture {
    let handled = Arc::new(AtomicUsize::new(0));
    let base = spawn(router(handled.clone()).config(cfg).into_axum()).await;
    Fixture { base, handled, raw: reqwest::Client::builder().no_gzip().build().unwrap() }
}

impl Fixture {
    async fn post(&self, procedure: &str, body: impl Into<reqwest::Body>) -> (u16, http::HeaderMap, Value) {
        self.send(
            self.raw.post(format!("{}/{procedure}", self.base)).header("content-type", "application/json").body(body),
        )
        .await
    }
    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, http::HeaderMap, Value) {
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("body is not JSON ({e}): {bytes:?}"));
        (status, headers, v)
    }
    async fn still_serves(&self) {
        let (status, _, v) = self.post("gitpod.v1.TestService/Echo", r#"{"name":"again"}"#).await;
        assert_eq!((status, v["req"]["name"].as_str()), (200, Some("again")));
    }
}

fn assert_error(got: &(u16, http::HeaderMap, Value), status: u16, code: &str, msg_contains: &str) {
    let (s, h, v) = got;
    assert_eq!((*s, v["code"].as_str()), (status, Some(code)), "{v}");
    assert_eq!(h["content-type"], "application/json");
    let m = v["message"].as_str().unwrap();
    assert!(m.contains(msg_contains), "message {m:?} should contain {msg_contains:?}");
}

#[tokio::test]
async fn echo_with_runtime_client_and_raw_requests() {
    let f = fixture().await;
    let t = client(&f.base);
    let req = EchoReq {
        name: "n".into(),
        count: i64::MAX,
        phase: Some(Phase::Running),
        created_at: Some("2024-05-06T07:08:09.123456789Z".parse().unwrap()),
        pagination: None,
    };
    let resp: EchoResp = t.unary("gitpod.v1.TestService/Echo", &req).await.unwrap();
    assert_eq!(resp.req, req);
    assert_eq!(resp.user.as_deref(), Some("test-token"), "identity from the auth hook");
    assert_eq!(resp.procedure, "gitpod.v1.TestService/Echo");
    assert!(resp.has_deadline, "the client sends Connect-Timeout-Ms");

    // raw: no Connect-Protocol-Version, charset parameter, snake_case, numbers for int64, unknown fields
    let (s, _, v) = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json; charset=utf-8")
                .body(r#"{"name":"x","count":5,"phase":1,"created_at":"2024-01-01T00:00:00+01:00","extra":{"a":[1]}}"#),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["req"], json!({"name":"x","count":"5","phase":"PHASE_RUNNING","createdAt":"2023-12-31T23:00:00Z"}));
    assert_eq!(v["user"], Value::Null);
    assert_eq!(v["hasDeadline"], false);

    // empty body and `null` fields decode as the empty message
    for body in ["", "  ", "{}", r#"{"name":null,"count":null}"#] {
        let (s, _, v) = f.post("gitpod.v1.TestService/Echo", body).await;
        assert_eq!((s, &v["req"]["name"]), (200, &json!("")), "{body:?}");
    }
    let mut procs: Vec<&str> = Vec::new();
    let r = router(Arc::default());
    procs.extend(r.procedures());
    assert!(procs.contains(&"gitpod.v1.TestService/Echo") && procs.len() == 6, "{procs:?}");
}

#[tokio::test]
async fn every_code_maps_to_its_status_and_back() {
    let f = fixture().await;
    let t = client_with(&f.base, |c| c.max_retries(0));
    for (code, status) in common::code_table() {
        let raw = f.post("gitpod.v1.TestService/Fail", json!({"code": code.as_str()}).to_string()).await;
        assert_error(&raw, status, code.as_str(), "failed on purpose");
        assert!(raw.2.get("details").is_none(), "no details key when there are none");
        let err = t.unary::<_, Value>("gitpod.v1.TestService/Fail", &json!({"code": code.as_str()})).await.unwrap_err();
        let e = err.as_connect().unwrap_or_else(|| panic!("{err:?}"));
        assert_eq!((&e.code, e.http_status, e.message.as_str()), (&code, Some(status), "failed on purpose"));
    }
    // details go through; an unknown code is 500 and kept as Other
    let detail = json!({"type": "google.rpc.RetryInfo", "value": "CgIIAQ"});
    let err = t
        .unary::<_, Value>("gitpod.v1.TestService/Fail", &json!({"code": "weird_code", "detail": detail}))
        .await
        .unwrap_err();
    let e = err.as_connect().unwrap();
    assert_eq!((&e.code, e.http_status, &e.details), (&Code::Other("weird_code".into()), Some(500), &vec![detail]));
}

#[tokio::test]
async fn routing_errors_404_405_415() {
    let f = fixture().await;
    let got = f.post("gitpod.v1.TestService/Nope", "{}").await;
    assert_error(&got, 404, "unimplemented", "/gitpod.v1.TestService/Nope");
    let err = client(&f.base).unary::<_, Value>("gitpod.v1.Nope/Nope", &json!({})).await.unwrap_err();
    assert_eq!((err.code(), err.http_status()), (Code::Unimplemented, Some(404)));

    let got = f.send(f.raw.get(format!("{}/gitpod.v1.TestService/Echo", f.base))).await;
    assert_error(&got, 405, "unimplemented", "use POST");
    assert_eq!(got.1["allow"], "POST");

    for ct in ["text/plain", "application/proto", "application/connect+json", "application/json; charset=latin1"] {
        let got = f
            .send(f.raw.post(format!("{}/gitpod.v1.TestService/Echo", f.base)).header("content-type", ct).body("{}"))
            .await;
        assert_error(&got, 415, "unimplemented", "application/json");
        assert_eq!(got.1["accept-post"], "application/json", "{ct}");
    }
    let got = f.send(f.raw.post(format!("{}/gitpod.v1.TestService/Echo", f.base)).body("{}")).await;
    assert_eq!(got.0, 415, "no content type");
    assert_eq!(f.handled.load(Ordering::SeqCst), 0);
    f.still_serves().await;
}

#[tokio::test]
async fn procedures_are_found_nested_under_a_prefix_and_by_unusual_paths() {
    let handled = Arc::new(AtomicUsize::new(0));
    // Names axum's paths cannot hold are served too (by the router's fallback).
    let odd = |_ctx: RequestContext, v: Value| async move { Ok(json!({ "got": v })) };
    let connect = router(handled.clone())
        .unary_json("weird.v1.Svc/:colon", false, odd)
        .unary_json("weird.v1.Svc/*star", false, odd)
        .unary_json("weird.v1.Svc/{braces}", false, odd);
    let app = axum::Router::new().nest("/api", connect.into_axum());
    let f = Fixture { base: spawn(app).await, handled, raw: reqwest::Client::builder().no_gzip().build().unwrap() };

    let (status, _, v) = f.post("api/gitpod.v1.TestService/Echo", r#"{"name":"nested"}"#).await;
    assert_eq!(
        (status, v["req"]["name"].as_str(), v["procedure"].as_str()),
        (200, Some("nested"), Some("gitpod.v1.TestService/Echo"))
    );
    let got = f.post("api/gitpod.v1.TestService/Nope", "{}").await;
    assert_error(&got, 404, "unimplemented", "/gitpod.v1.TestService/Nope");
    let got = f.send(f.raw.get(format!("{}/api/gitpod.v1.TestService/Echo", f.base))).await;
    assert_error(&got, 405, "unimplemented", "use POST");
    // Extra leading slashes are ignored, as before.
    let (status, _, v) = f.post("api//gitpod.v1.TestService/Echo", r#"{"name":"slashes"}"#).await;
    assert_eq!((status, v["req"]["name"].as_str()), (200, Some("slashes")));
    for path in ["api/weird.v1.Svc/:colon", "api/weird.v1.Svc/*star"] {
        let (status, _, v) = f.post(path, r#"{"n":1}"#).await;
        assert_eq!((status, &v), (200, &json!({"got": {"n": 1}})), "{path}");
    }
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_the_field() {
    // Strict enums: an unknown enum name is an error too (the default accepts it, below).
    let f = fixture_with(ServerConfig::default().strict_enums(true)).await;
    let cases = [
        (r#"{"name": "#, "EOF"),
        ("not json", "expected"),
        ("[]", "must be a JSON object"),
        ("\"str\"", "invalid type"),
        (r#"{"name":"a"} trailing"#, "trailing"),
        (r#"{"count":true}"#, "field `count`"),
        (r#"{"count":"12abc"}"#, "field `count`"),
        (r#"{"name":5}"#, "field `name`"),
        (r#"{"pagination":{"pageSize":"x"}}"#, "field `pagination.pageSize`"),
        (r#"{"phase":"PHASE_FROM_THE_FUTURE"}"#, "field `phase`: unknown enum value \"PHASE_FROM_THE_FUTURE\""),
        (r#"{"createdAt":"yesterday"}"#, "field `createdAt`"),
        (r#"{"createdAt":"2024-02-30T00:00:00Z"}"#, "field `createdAt`"),
    ];
    for (body, needle) in cases {
        let got = f.post("gitpod.v1.TestService/Echo", body).await;
        assert_error(&got, 400, "invalid_argument", needle);
    }
    // unknown enum numbers are accepted (open enums); the handler sees them
    let (s, _, v) = f.post("gitpod.v1.TestService/Echo", r#"{"phase":9}"#).await;
    assert_eq!((s, &v["req"]["phase"]), (200, &json!(9)));
    assert_eq!(f.handled.load(Ordering::SeqCst), 1);
    f.still_serves().await;
}

#[tokio::test]
async fn unknown_enum_names_reach_the_handler_unless_strict() {
    let f = fixture().await;
    let (s, _, v) = f.post("gitpod.v1.TestService/Echo", r#"{"phase":"PHASE_FROM_THE_FUTURE"}"#).await;
    assert_eq!((s, &v["req"]["phase"]), (200, &json!("PHASE_FROM_THE_FUTURE")), "{v}");
    assert_eq!(f.handled.load(Ordering::SeqCst), 1);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn body_limits_and_gzip() {
    let f = fixture().await;
    // 5 MiB > default 4 MiB
    let huge = format!(r#"{{"name":"{}"}}"#, "a".repeat(5 * 1024 * 1024));
    let got = f.post("gitpod.v1.TestService/Echo", huge.clone()).await;
    assert_error(&got, 429, "resource_exhausted", "limit of 4194304 bytes");
    // the same through the client: resource_exhausted arrives typed (and 429 is retried twice)
    let err = client_with(&f.base, |c| c.max_retries(0))
        .unary::<_, Value>("gitpod.v1.TestService/Echo", &json!({"name": "a".repeat(5 * 1024 * 1024)}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    // chunked (no content-length) over the limit
    let stream = futures_util::stream::iter((0..6).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024])));
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    assert_error(&got, 429, "resource_exhausted", "limit");

    // gzip request
    let body = gzip(br#"{"name":"zipped","count":"3"}"#);
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(body),
        )
        .await;
    assert_eq!((got.0, &got.2["req"]["name"]), (200, &json!("zipped")));
    // gzip bomb: 6 MiB of spaces compress to a few KiB, still over the limit once inflated
    let bomb = gzip(&vec![b' '; 6 * 1024 * 1024]);
    assert!(bomb.len() < 100_000);
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(bomb),
        )
        .await;
    assert_error(&got, 429, "resource_exhausted", "limit");
    // not gzip at all / unsupported encoding
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body("{}"),
        )
        .await;
    assert_error(&got, 400, "invalid_argument", "gzip");
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .header("content-encoding", "br")
                .body("{}"),
        )
        .await;
    assert_error(&got, 501, "unimplemented", "Content-Encoding");

    // gzip response when accepted and large enough
    let r = f
        .raw
        .post(format!("{}/gitpod.v1.TestService/Big", f.base))
        .header("content-type", "application/json")
        .header("accept-encoding", "gzip")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let compressed = r.bytes().await.unwrap();
    let mut out = String::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_string(&mut out).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["data"].as_str().unwrap().len(), 20_000);
    // and the runtime client decodes it transparently
    let v: Value = client(&f.base).unary("gitpod.v1.TestService/Big", &json!({})).await.unwrap();
    assert_eq!(v["data"].as_str().unwrap().len(), 20_000);
    f.still_serves().await;

    // configurable limit
    let small = fixture_with(ServerConfig::default().max_body_bytes(1024)).await;
    let got = small.post("gitpod.v1.TestService/Echo", format!(r#"{{"name":"{}"}}"#, "b".repeat(2000))).await;
    assert_error(&got, 429, "resource_exhausted", "limit of 1024 bytes");
    small.still_serves().await;
}

#[tokio::test]
async fn connect_timeout_ms_is_enforced() {
    let f = fixture().await;
    let start = Instant::now();
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Slow", f.base))
                .header("content-type", "application/json")
                .header("connect-timeout-ms", "50")
                .body("{}"),
        )
        .await;
    let took = start.elapsed();
    assert_error(&got, 504, "deadline_exceeded", "50 ms");
    assert!(took >= Duration::from_millis(50) && took < Duration::from_secs(1), "{took:?}");
    for bad in ["abc", "-5", "12345678901"] {
        let got = f
            .send(
                f.raw
                    .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                    .header("content-type", "application/json")
                    .header("connect-timeout-ms", bad)
                    .body("{}"),
            )
            .await;
        assert_error(&got, 400, "invalid_argument", "Connect-Timeout-Ms");
    }
    // the runtime client sends its per-call timeout as the deadline
    let t = client_with(&f.base, |c| c.max_retries(0));
    let start = Instant::now();
    let err = t
        .with_options(CallOptions::new().timeout(Duration::from_millis(150)))
        .unary::<_, Value>("gitpod.v1.TestService/Slow", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    f.still_serves().await;
}

#[tokio::test]
async fn a_panicking_handler_is_internal_and_the_server_keeps_serving() {
    let f = fixture().await;
    for _ in 0..3 {
        let got = f.post("gitpod.v1.TestService/Panic", "{}").await;
        assert_error(&got, 500, "internal", "panicked");
        f.still_serves().await;
    }
    let err = client_with(&f.base, |c| c.max_retries(0))
        .unary::<_, Value>("gitpod.v1.TestService/Panic", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
}

#[tokio::test]
async fn auth_hook_rejects_and_hands_over_identity() {
    let f = fixture().await;
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .header("authorization", "Bearer bad")
                .body("{}"),
        )
        .await;
    assert_error(&got, 401, "unauthenticated", "bad token");
    assert_eq!(f.handled.load(Ordering::SeqCst), 0, "the handler must not run");
    // rejection happens before the body is read or decoded
    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .header("authorization", "Bearer bad")
                .body("not json"),
        )
        .await;
    assert_eq!(got.0, 401);
    let err = client_with(&f.base, |c| c.bearer_token("bad"))
        .unary::<_, Value>("gitpod.v1.TestService/Echo", &json!({}))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.http_status()), (Code::Unauthenticated, Some(401)));

    let got = f
        .send(
            f.raw
                .post(format!("{}/gitpod.v1.TestService/Echo", f.base))
                .header("content-type", "application/json")
                .header("authorization", "bearer alice")
                .body("{}"),
        )
        .await;
    assert_eq!((got.0, &got.2["user"], &got.2["bearer"]), (200, &json!("alice"), &json!("alice")));
}

#[tokio::test]
async fn query_token_overrides_body_pagination_on_paged_routes() {
    let f = fixture().await;
    let body = r#"{"name":"l","pagination":{"token":"old","page_size":3}}"#;
    let (s, _, v) = f.post("gitpod.v1.TestService/List?token=abc&pageSize=7", body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["req"]["pagination"], json!({"token":"abc","pageSize":7}));
    // only the token in the query: the body's page size stays
    let (_, _, v) = f.post("gitpod.v1.TestService/List?token=t2", body).await;
    assert_eq!(v["req"]["pagination"], json!({"token":"t2","pageSize":3}));
    // no pagination in the body, or null
    let (_, _, v) = f.post("gitpod.v1.TestService/List?token=t3", r#"{"pagination":null}"#).await;
    assert_eq!(v["req"]["pagination"], json!({"token":"t3"}));
    let (_, _, v) = f.post("gitpod.v1.TestService/List?pageSize=2", "").await;
    assert_eq!(v["req"]["pagination"], json!({"pageSize":2}));
    // not a paged route: the body is left alone, and the handler can still read the query
    let (_, _, v) = f.post("gitpod.v1.TestService/Echo?token=abc%20d", body).await;
    assert_eq!(v["req"]["pagination"], json!({"token":"old","pageSize":3}));
    assert_eq!(v["queryToken"], "abc d");
    let got = f.post("gitpod.v1.TestService/List?pageSize=many", body).await;
    assert_error(&got, 400, "invalid_argument", "pageSize");

    // the runtime client's unary_page puts token and pageSize in the query
    let t = client(&f.base);
    let req = EchoReq { pagination: Some(Pagination { token: String::new(), page_size: 5 }), ..Default::default() };
    let v: EchoResp = t.unary_page("gitpod.v1.TestService/List", &req, Some("next-1")).await.unwrap();
    assert_eq!(v.req.pagination, Some(Pagination { token: "next-1".into(), page_size: 5 }));
}

#[tokio::test]
async fn concurrent_requests_are_served() {
    let f = fixture().await;
    let t = client(&f.base);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let t = t.clone();
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let r: EchoResp =
                t.unary("gitpod.v1.TestService/Echo", &EchoReq { count: i, ..Default::default() }).await.unwrap();
            seen.lock().unwrap().push(r.req.count);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut got = seen.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    let _unused: Option<Error> = None;
}
