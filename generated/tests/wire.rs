//! Proofs 2, 3 and 5 of issue 4, through the generated clients and a server built from the
//! generated traits (runtime/tests covers the runtime generically; this proves the generated
//! crate wires it up right), all over 127.0.0.1:
//!
//! - (a) each of the 16 Connect codes returned by a handler reaches the generated client as
//!   `Error::Connect` with its code, message, details and HTTP status (the BRIEF's table), and
//!   (b) is attempted exactly as often as it should be (counted on the server): 3 attempts for
//!   429/5xx except 501, 1 for everything else, notably 409 and 501;
//! - (b) a handler failing `unavailable` twice then succeeding → the call succeeds on attempt 3;
//!   a create answered `already_exists` is sent once even with 5 retries allowed; a method the
//!   implementation does not override answers `unimplemented` (501) once; a per-call timeout
//!   fires as `Error::Timeout` against a slow handler (and is retried per `max_retries`);
//! - (c) `list_runner_policies_stream` over three pages yields every item once, in order, with
//!   `?token=` in the query of pages 2 and 3; a server repeating a token ends the stream with
//!   `Error::Pagination` instead of looping;
//! - (d) bad input from raw HTTP gets the right Connect error JSON and status, ProtoJSON leniency
//!   is accepted (unknown fields, snake_case names, enum numbers, null), and the server keeps
//!   serving afterwards.
#![allow(deprecated)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use futures_util::StreamExt;
use gitpod_api::runtime::client::{CallOptions, ClientConfig};
use gitpod_api::runtime::server::{ConnectRouter, RequestContext};
use gitpod_api::{project_service, runner_configuration_service, runner_service, types};
use gitpod_api::{Code, ConnectError, Error};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// The server under test: the generated traits, a few methods overridden.

#[derive(Default)]
struct Counters {
    /// Handler invocations per key (a runner id, or a method name).
    hits: Mutex<HashMap<String, u32>>,
    /// `path?query` of every HTTP request, in order (counts attempts of any method, even of the
    /// trait's default `unimplemented` bodies).
    uris: Mutex<Vec<String>>,
    /// `pagination.token` as the list handler decoded it, per request.
    page_tokens: Mutex<Vec<Option<String>>>,
    /// Whether the slow handler saw a deadline (`Connect-Timeout-Ms`).
    deadlines: Mutex<Vec<bool>>,
    /// Requests of the lenient-decoding checks, as the handler got them (Debug).
    requests: Mutex<Vec<String>>,
}

impl Counters {
    fn hit(&self, key: &str) -> u32 {
        let mut hits = self.hits.lock().unwrap();
        let n = hits.entry(key.to_owned()).or_default();
        *n += 1;
        *n
    }
    fn hits(&self, key: &str) -> u32 {
        self.hits.lock().unwrap().get(key).copied().unwrap_or(0)
    }
    fn requests_to(&self, procedure: &str) -> Vec<String> {
        self.uris.lock().unwrap().iter().filter(|u| u.split('?').next() == Some(procedure)).cloned().collect()
    }
}

struct Wire(Arc<Counters>);

fn runner(id: Option<String>) -> types::Runner {
    types::Runner { runner_id: id, ..Default::default() }
}

fn policy(n: usize) -> types::RunnerPolicy {
    types::RunnerPolicy { group_id: Some(format!("group-{n}")), role: Some(types::RunnerRole::User) }
}

impl runner_service::RunnerService for Wire {
    async fn get_runner(
        &self,
        context: RequestContext,
        request: types::GetRunnerRequest,
    ) -> Result<types::GetRunnerResponse, ConnectError> {
        let id = request.runner_id.clone().unwrap_or_default();
        let n = self.0.hit(&id);
        self.0.requests.lock().unwrap().push(format!("{request:?}"));
        if let Some(code) = id.strip_prefix("code:") {
            return Err(ConnectError::new(Code::parse(code), format!("the handler says {code}"))
                .with_detail(json!({ "type": "test.v1.Why", "value": "AAEC", "debug": { "code": code } })));
        }
        match id.as_str() {
            "flaky" if n <= 2 => Err(ConnectError::unavailable(format!("attempt {n}: try again"))),
            "slow" => {
                self.0.deadlines.lock().unwrap().push(context.deadline().is_some());
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok(types::GetRunnerResponse { runner: runner(request.runner_id) })
            }
            "panic" => panic!("this handler panics on purpose"),
            _ => Ok(types::GetRunnerResponse { runner: runner(request.runner_id) }),
        }
    }

    async fn create_runner(
        &self,
        _context: RequestContext,
        request: types::CreateRunnerRequest,
    ) -> Result<types::CreateRunnerResponse, ConnectError> {
        let name = request.name.unwrap_or_default();
        self.0.hit(&format!("create_runner:{name}"));
        match name.as_str() {
            // A create that may have been committed before the server failed.
            "internal" => Err(ConnectError::internal("the database went away after the insert")),
            // The server refused the work: safe to send again.
            "busy" => Err(ConnectError::unavailable("try again later")),
            _ => Err(ConnectError::already_exists(format!("runner {name:?} already exists"))),
        }
    }

    async fn create_runner_policy(
        &self,
        _context: RequestContext,
        request: types::CreateRunnerPolicyRequest,
    ) -> Result<types::CreateRunnerPolicyResponse, ConnectError> {
        self.0.requests.lock().unwrap().push(format!("{request:?}"));
        Ok(types::CreateRunnerPolicyResponse {
            policy: types::RunnerPolicy { group_id: request.group_id, role: request.role },
        })
    }

    async fn list_runner_policies(
        &self,
        _context: RequestContext,
        request: types::ListRunnerPoliciesRequest,
    ) -> Result<types::ListRunnerPoliciesResponse, ConnectError> {
        let token = request.pagination.as_ref().and_then(|p| p.token.clone());
        self.0.page_tokens.lock().unwrap().push(token.clone());
        let page = |items: Vec<types::RunnerPolicy>, next: Option<&str>| types::ListRunnerPoliciesResponse {
            policies: items,
            pagination: Some(types::PaginationResponse { next_token: next.map(str::to_owned) }),
        };
        if request.runner_id.as_deref() == Some("loop") {
            return Ok(page(vec![policy(0)], Some("again")));
        }
        match token.as_deref() {
            None | Some("") => Ok(page(vec![policy(1), policy(2)], Some("t2"))),
            Some("t2") => Ok(page(vec![policy(3), policy(4)], Some("t3"))),
            Some("t3") => Ok(page(vec![policy(5)], Some(""))),
            Some(other) => Err(ConnectError::invalid_argument(format!("unknown page token {other:?}"))),
        }
    }
}

impl runner_configuration_service::RunnerConfigurationService for Wire {
    async fn update_host_authentication_token(
        &self,
        _context: RequestContext,
        request: types::UpdateHostAuthenticationTokenRequest,
    ) -> Result<types::UpdateHostAuthenticationTokenResponse, ConnectError> {
        self.0.requests.lock().unwrap().push(format!("{request:?}"));
        Ok(Default::default())
    }
}

/// Every method keeps the trait's default body (`unimplemented`).
impl project_service::ProjectService for Wire {}

async fn record_uri(State(counters): State<Arc<Counters>>, request: Request) -> Request {
    let pq = request.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_default();
    counters.uris.lock().unwrap().push(pq);
    request
}

struct Server {
    addr: SocketAddr,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start() -> Server {
        Self::start_with(gitpod_api::runtime::server::ServerConfig::default()).await
    }

    async fn start_with(config: gitpod_api::runtime::server::ServerConfig) -> Server {
        let counters = Arc::new(Counters::default());
        let service = Arc::new(Wire(counters.clone()));
        let router = ConnectRouter::new().config(config);
        let router = project_service::register(router, service.clone());
        let router = runner_configuration_service::register(router, service.clone());
        let router = runner_service::register(router, service);
        let app = router.into_axum().layer(axum::middleware::map_request_with_state(counters.clone(), record_uri));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(gitpod_api::runtime::server::serve(listener, app));
        Server { addr, counters, task }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Client config: this server, a token, the default 2 retries with a 1 ms backoff base.
    fn config(&self) -> ClientConfig {
        ClientConfig::new()
            .base_url(self.base_url())
            .bearer_token("wire-test-token")
            .backoff_base(Duration::from_millis(1))
            .timeout(Duration::from_secs(10))
    }

    fn runners(&self) -> gitpod_api::RunnerServiceClient {
        gitpod_api::RunnerServiceClient::new(self.config()).unwrap()
    }
}

fn get(id: &str) -> types::GetRunnerRequest {
    types::GetRunnerRequest { runner_id: Some(id.to_owned()) }
}

/// The HTTP status of each Connect code, as ../shared/BRIEF.md lists it (independent of
/// `Code::http_status`, which is what is being checked).
const CODES: [(&str, u16); 16] = [
    ("canceled", 499),
    ("unknown", 500),
    ("invalid_argument", 400),
    ("deadline_exceeded", 504),
    ("not_found", 404),
    ("already_exists", 409),
    ("permission_denied", 403),
    ("resource_exhausted", 429),
    ("failed_precondition", 400),
    ("aborted", 409),
    ("out_of_range", 400),
    ("unimplemented", 501),
    ("internal", 500),
    ("unavailable", 503),
    ("data_loss", 500),
    ("unauthenticated", 401),
];

// ---------------------------------------------------------------------------------------------
// (a) + (b): every code, typed, with its attempts counted.

#[tokio::test]
async fn every_connect_code_reaches_the_generated_client_typed_and_is_retried_only_where_it_should() {
    let server = Server::start().await;
    let client = server.runners(); // 2 retries (the default), 1 ms backoff base
    let mut table = Vec::new();
    for (name, status) in CODES {
        let key = format!("code:{name}");
        let err = client.get_runner(get(&key)).await.expect_err(name);
        let Error::Connect(e) = &err else { panic!("{name}: want Error::Connect, got {err:?}") };
        assert_eq!(e.code, Code::parse(name), "{name}");
        assert_eq!(e.code.as_str(), name);
        assert!(!matches!(e.code, Code::Other(_)), "{name} is one of the 16 codes");
        assert_eq!(e.message, format!("the handler says {name}"), "{name}");
        assert_eq!(e.http_status, Some(status), "{name}");
        assert_eq!(err.http_status(), Some(status), "{name}");
        assert_eq!(err.code(), e.code, "{name}");
        assert_eq!(
            e.details,
            vec![json!({ "type": "test.v1.Why", "value": "AAEC", "debug": { "code": name } })],
            "{name}"
        );
        // Retried as the SDKs do (408, 429, 5xx), except 501; never 409.
        let retryable = status == 429 || ((500..=599).contains(&status) && status != 501);
        let attempts = server.counters.hits(&key);
        assert_eq!(attempts, if retryable { 3 } else { 1 }, "{name} ({status}) attempts");
        table.push(format!("{name}={status}x{attempts}"));
    }
    println!("codes (status x attempts): {}", table.join(" "));
}

#[tokio::test]
async fn unavailable_twice_then_success_takes_three_attempts() {
    let server = Server::start().await;
    let response = server.runners().get_runner(get("flaky")).await.expect("succeeds on the third attempt");
    assert_eq!(response.runner.runner_id.as_deref(), Some("flaky"));
    assert_eq!(server.counters.hits("flaky"), 3);
    assert_eq!(server.counters.requests_to(runner_service::procedures::GET_RUNNER).len(), 3);

    // With one retry allowed per call, the same handler (fresh key) fails after 2 attempts.
    let server = Server::start().await;
    let err = server
        .runners()
        .with_options(CallOptions::new().max_retries(1))
        .get_runner(get("flaky"))
        .await
        .expect_err("2 attempts are not enough");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(server.counters.hits("flaky"), 2);
}

#[tokio::test]
async fn a_create_is_not_resent_after_it_may_have_been_processed() {
    let server = Server::start().await;
    let client = server.runners().with_options(CallOptions::new().max_retries(2));
    let create = |name: &str| types::CreateRunnerRequest { name: Some(name.into()), ..Default::default() };
    // 500: the server may have committed the runner before failing; `get_runner` would retry it.
    let err = client.create_runner(create("internal")).await.expect_err("internal");
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(server.counters.hits("create_runner:internal"), 1, "a create answered 500 is sent once");
    // 503: the server refused the work, so it is retried (and fails again here).
    let err = client.create_runner(create("busy")).await.expect_err("unavailable");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(server.counters.hits("create_runner:busy"), 3, "a refused create is retried");
}

#[tokio::test]
async fn already_exists_and_unimplemented_are_attempted_exactly_once() {
    let server = Server::start().await;
    let client = server.runners().with_options(CallOptions::new().max_retries(5));
    let err = client
        .create_runner(types::CreateRunnerRequest { name: Some("dup".into()), ..Default::default() })
        .await
        .expect_err("already exists");
    let e = err.as_connect().expect("a Connect error");
    assert_eq!((e.code.clone(), e.http_status), (Code::AlreadyExists, Some(409)));
    assert_eq!(e.message, "runner \"dup\" already exists");
    assert_eq!(server.counters.hits("create_runner:dup"), 1, "a create must not be sent again");
    assert_eq!(server.counters.requests_to(runner_service::procedures::CREATE_RUNNER).len(), 1);

    // ProjectService keeps the trait's default bodies: `unimplemented`, 501, not retried.
    let projects = gitpod_api::ProjectServiceClient::new(server.config().max_retries(5)).unwrap();
    let err =
        projects.create_project_policy(types::CreateProjectPolicyRequest::default()).await.expect_err("unimplemented");
    let e = err.as_connect().expect("a Connect error");
    assert_eq!((e.code.clone(), e.http_status), (Code::Unimplemented, Some(501)));
    assert!(e.message.contains("CreateProjectPolicy"), "{}", e.message);
    assert_eq!(server.counters.requests_to(project_service::procedures::CREATE_PROJECT_POLICY).len(), 1);
}

#[tokio::test]
async fn a_per_call_timeout_fires_as_error_timeout() {
    let server = Server::start().await;
    let client = server.runners(); // client timeout 10 s
    let short = Duration::from_millis(300);

    let started = Instant::now();
    let err = client
        .with_options(CallOptions::new().timeout(short).max_retries(0))
        .get_runner(get("slow"))
        .await
        .expect_err("the handler sleeps 3 s");
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Timeout(d) if d == short), "want Error::Timeout({short:?}), got {err:?}");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(elapsed >= short && elapsed < Duration::from_millis(2000), "took {elapsed:?}");
    assert_eq!(server.counters.hits("slow"), 1);

    // The timeout bounds the whole call, retries included: with a retry allowed, the first
    // attempt uses up the time and the call still ends at the deadline, not twice as late.
    let started = Instant::now();
    let err = client
        .with_options(CallOptions::new().timeout(short).max_retries(1))
        .get_runner(get("slow"))
        .await
        .expect_err("the deadline passes");
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Timeout(d) if d == short), "{err:?}");
    assert!(elapsed >= short && elapsed < 2 * short, "took {elapsed:?}");
    assert_eq!(server.counters.hits("slow"), 2);
    // The deadline travelled as Connect-Timeout-Ms: the handler had one every time.
    assert_eq!(*server.counters.deadlines.lock().unwrap(), vec![true, true]);
}

// ---------------------------------------------------------------------------------------------
// (c) pagination through the generated stream.

#[tokio::test]
async fn list_runner_policies_stream_yields_three_pages_once_in_order() {
    let server = Server::start().await;
    let request = types::ListRunnerPoliciesRequest {
        runner_id: Some("r1".into()),
        pagination: Some(types::PaginationRequest { token: None, page_size: Some(2) }),
    };
    let items: Vec<_> = server.runners().list_runner_policies_stream(request).take(20).collect().await;
    let groups: Vec<String> = items.into_iter().map(|r| r.expect("no error").group_id.unwrap_or_default()).collect();
    assert_eq!(groups, ["group-1", "group-2", "group-3", "group-4", "group-5"]);
    // The handler decoded the query's token into pagination.token ...
    assert_eq!(*server.counters.page_tokens.lock().unwrap(), vec![None, Some("t2".to_owned()), Some("t3".to_owned())]);
    // ... which the client sent as `?token=` (with the request's page size), as the SDKs do.
    let uris = server.counters.requests_to(runner_service::procedures::LIST_RUNNER_POLICIES);
    let queries: Vec<&str> = uris.iter().map(|u| u.split_once('?').map(|(_, q)| q).unwrap_or("")).collect();
    assert_eq!(queries.len(), 3, "{uris:?}");
    assert!(!queries[0].contains("token="), "{uris:?}");
    assert!(queries[1].split('&').any(|p| p == "token=t2"), "{uris:?}");
    assert!(queries[2].split('&').any(|p| p == "token=t3"), "{uris:?}");
    assert!(queries.iter().all(|q| q.split('&').any(|p| p == "pageSize=2")), "{uris:?}");
}

#[tokio::test]
async fn a_server_repeating_a_page_token_ends_the_stream_with_an_error() {
    let server = Server::start().await;
    let request = types::ListRunnerPoliciesRequest { runner_id: Some("loop".into()), pagination: None };
    let items: Vec<_> = server.runners().list_runner_policies_stream(request).take(20).collect().await;
    // The second page repeats the first page's token: its items are not yielded again.
    assert_eq!(items.len(), 2, "one page of one item, then the error: {items:?}");
    assert!(items[0].is_ok());
    assert!(matches!(items[1], Err(Error::Pagination(_))), "{:?}", items[1]);
    assert_eq!(server.counters.page_tokens.lock().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// (d) bad input from raw HTTP, leniency, and the server keeps serving.

struct Raw {
    http: reqwest::Client,
    base: String,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Raw {
    async fn send(&self, method: reqwest::Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
        let mut rb = self.http.request(method, format!("{}{path}", self.base)).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        let resp = rb.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{path}: the answer is not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        Answer { status, headers, body }
    }

    async fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Answer {
        self.send(reqwest::Method::POST, path, Some("application/json"), body.into()).await
    }
}

/// A Connect error answer: the status, `code`, a message containing `needle`, JSON content type.
fn assert_error(what: &str, a: &Answer, status: u16, code: &str, needle: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.body);
    assert_eq!(a.body["code"], json!(code), "{what}: {}", a.body);
    let message = a.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{what}: message {message:?} should contain {needle:?}");
    let ct = a.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{what}: content type {ct:?}");
}

#[tokio::test]
async fn bad_input_gets_the_right_connect_error_and_the_server_keeps_serving() {
    let server = Server::start().await;
    let raw = Raw { http: reqwest::Client::new(), base: server.base_url() };
    let get_runner = runner_service::procedures::GET_RUNNER;
    let create_policy = runner_service::procedures::CREATE_RUNNER_POLICY;
    let list_policies = runner_service::procedures::LIST_RUNNER_POLICIES;
    let update_token = runner_configuration_service::procedures::UPDATE_HOST_AUTHENTICATION_TOKEN;
    let mut checked = 0;

    let a = raw.post(get_runner, r#"{"runnerId": "#).await;
    assert_error("malformed JSON", &a, 400, "invalid_argument", "invalid request");
    checked += 1;
    let a = raw.post(get_runner, r#"{"runnerId": 5}"#).await;
    assert_error("wrong-typed field", &a, 400, "invalid_argument", "runnerId");
    checked += 1;
    let a = raw.post(list_policies, r#"{"pagination": {"pageSize": "many"}}"#).await;
    assert_error("wrong-typed nested field", &a, 400, "invalid_argument", "pagination.pageSize");
    checked += 1;
    // An unknown enum name reaches the handler (as `Unrecognized`) by default; strict mode rejects it.
    let a = raw.post(create_policy, r#"{"role": "NOT_A_ROLE"}"#).await;
    assert_ne!(a.body["code"], json!("invalid_argument"), "lenient enums: {}", a.body);
    let strict = Server::start_with(gitpod_api::runtime::server::ServerConfig::default().strict_enums(true)).await;
    let strict_raw = Raw { http: reqwest::Client::new(), base: strict.base_url() };
    let a = strict_raw.post(create_policy, r#"{"role": "NOT_A_ROLE"}"#).await;
    assert_error("invalid enum string", &a, 400, "invalid_argument", "role");
    checked += 1;
    let a = raw.post(update_token, r#"{"id": "t1", "expiresAt": "yesterday at noon"}"#).await;
    assert_error("invalid timestamp", &a, 400, "invalid_argument", "expiresAt");
    checked += 1;
    let a = raw.post(update_token, r#"{"expiresAt": "2024-02-30T12:00:00Z"}"#).await;
    assert_error("impossible date", &a, 400, "invalid_argument", "expiresAt");
    checked += 1;
    let a = raw.post(get_runner, "[]").await;
    assert_error("array body", &a, 400, "invalid_argument", "object");
    checked += 1;
    let huge = format!(r#"{{"runnerId": "{}"}}"#, "a".repeat(5 * 1024 * 1024));
    let a = raw.post(get_runner, huge).await;
    assert_error("5 MiB body", &a, 429, "resource_exhausted", "4194304");
    checked += 1;
    let a = raw.post("/gitpod.v1.RunnerService/NoSuchMethod", "{}").await;
    assert_error("unknown method", &a, 404, "unimplemented", "NoSuchMethod");
    checked += 1;
    let a = raw.post("/gitpod.v1.NoSuchService/GetRunner", "{}").await;
    assert_error("unknown service", &a, 404, "unimplemented", "NoSuchService");
    checked += 1;
    let a = raw.send(reqwest::Method::GET, get_runner, None, Vec::new()).await;
    assert_error("GET", &a, 405, "unimplemented", "POST");
    assert_eq!(a.headers.get("allow").map(|v| v.to_str().unwrap()), Some("POST"));
    checked += 1;
    let a = raw.send(reqwest::Method::PUT, get_runner, Some("application/json"), b"{}".to_vec()).await;
    assert_error("PUT", &a, 405, "unimplemented", "POST");
    checked += 1;
    let a = raw.send(reqwest::Method::POST, get_runner, Some("text/plain"), br#"{"runnerId":"r"}"#.to_vec()).await;
    assert_error("text/plain", &a, 415, "unimplemented", "text/plain");
    checked += 1;
    let a = raw.send(reqwest::Method::POST, get_runner, Some("application/proto"), Vec::new()).await;
    assert_error("application/proto", &a, 415, "unimplemented", "application/proto");
    checked += 1;
    let a = raw.post(get_runner, r#"{"runnerId": "panic"}"#).await;
    assert_error("handler panic", &a, 500, "internal", "panicked");
    checked += 1;
    let slow = raw
        .http
        .post(format!("{}{get_runner}", raw.base))
        .header("content-type", "application/json")
        .header("connect-timeout-ms", "100")
        .body(r#"{"runnerId": "slow"}"#)
        .send()
        .await
        .unwrap();
    let a =
        Answer { status: slow.status().as_u16(), headers: slow.headers().clone(), body: slow.json().await.unwrap() };
    assert_error("Connect-Timeout-Ms: 100 against a 3 s handler", &a, 504, "deadline_exceeded", "deadline");
    checked += 1;

    // After all of that, valid calls still succeed: raw and through the generated client.
    let a = raw.post(get_runner, r#"{"runnerId": "still-here"}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "runner": { "runnerId": "still-here" } })));
    let response = server.runners().get_runner(get("still-here-typed")).await.expect("the server keeps serving");
    assert_eq!(response.runner.runner_id.as_deref(), Some("still-here-typed"));
    println!("bad inputs answered with the right Connect error: {checked}");
}

#[tokio::test]
async fn protojson_leniency_unknown_fields_snake_case_enum_numbers_and_null() {
    let server = Server::start().await;
    let raw = Raw { http: reqwest::Client::new(), base: server.base_url() };
    let get_runner = runner_service::procedures::GET_RUNNER;
    let create_policy = runner_service::procedures::CREATE_RUNNER_POLICY;
    let list_policies = runner_service::procedures::LIST_RUNNER_POLICIES;

    // Unknown fields (top-level and nested, any JSON) are ignored.
    let a =
        raw.post(get_runner, r#"{"runnerId": "r-unknown", "futureField": {"a": [1, "x", null]}, "other": 3}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "runner": { "runnerId": "r-unknown" } })));
    let a = raw.post(list_policies, r#"{"runnerId": "r1", "pagination": {"pageSize": 2, "futureKnob": true}}"#).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["policies"].as_array().map(Vec::len), Some(2));

    // snake_case names are accepted, at every depth.
    let a = raw.post(get_runner, r#"{"runner_id": "r-snake"}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "runner": { "runnerId": "r-snake" } })));
    let a = raw.post(list_policies, r#"{"runner_id": "r1", "pagination": {"token": "t3", "page_size": 2}}"#).await;
    assert_eq!((a.status, &a.body["policies"]), (200, &json!([{ "groupId": "group-5", "role": "RUNNER_ROLE_USER" }])));

    // Enums: names, numbers (documented order), and unknown numbers (open enums) are accepted.
    let a = raw.post(create_policy, r#"{"group_id": "g", "role": "RUNNER_ROLE_ADMIN"}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "policy": { "groupId": "g", "role": "RUNNER_ROLE_ADMIN" } })));
    let a = raw.post(create_policy, r#"{"groupId": "g", "role": 2}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "policy": { "groupId": "g", "role": "RUNNER_ROLE_USER" } })));
    let a = raw.post(create_policy, r#"{"groupId": "g", "role": 0}"#).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = raw.post(create_policy, r#"{"groupId": "g", "role": 42}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "policy": { "groupId": "g", "role": 42 } })));

    // null is "unset"; an empty body is the empty message.
    let a = raw.post(get_runner, r#"{"runnerId": null}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "runner": {} })));
    let a = raw.post(create_policy, r#"{"groupId": null, "role": null, "runnerId": null}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({ "policy": {} })));
    let a = raw.post(get_runner, "").await;
    assert_eq!((a.status, &a.body), (200, &json!({ "runner": {} })));

    // Timestamps with an offset and nanoseconds are accepted (RFC 3339).
    let update_token = runner_configuration_service::procedures::UPDATE_HOST_AUTHENTICATION_TOKEN;
    let a = raw.post(update_token, r#"{"id": "t1", "expires_at": "2024-02-29T14:34:56.123456789+02:00"}"#).await;
    assert_eq!((a.status, &a.body), (200, &json!({})));
    let requests = server.counters.requests.lock().unwrap().clone();
    let last = requests.last().unwrap();
    assert!(last.contains("2024-02-29T12:34:56.123456789Z"), "{last}");
    // The Connect-Protocol-Version header is optional (none of the raw requests sent it).
}

/// BUG (reported, not fixed here): ProtoJSON accepts int32 values as numbers *or strings*
/// ("Either numbers or strings are accepted", protobuf.dev JSON mapping; protobuf-go/connect-go
/// servers accept `"pageSize": "2"`). The generated `i32` fields (here `PaginationRequest.pageSize`)
/// are plain serde `i32`, so a generated server answers 400 `invalid type: string "2", expected i32`.
#[tokio::test]
async fn int32_fields_accept_numbers_in_strings_as_protojson_requires() {
    let server = Server::start().await;
    let raw = Raw { http: reqwest::Client::new(), base: server.base_url() };
    let a = raw
        .post(
            runner_service::procedures::LIST_RUNNER_POLICIES,
            r#"{"runnerId": "r1", "pagination": {"pageSize": "2"}}"#,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["policies"].as_array().map(Vec::len), Some(2));
}
