//! A mock Gitpod API server built from the API reference: what Prism is to OpenAPI users, built
//! from our docs.
//!
//! [`MockServer`] serves every method of every service in the model over the real Connect JSON wire
//! (through [`gitpod_runtime::server::ConnectRouter`]), answering each call with the method's
//! documented JSON response example, exactly as documented (`{}` for methods without one). It checks
//! every request against the model first (unknown fields, wrong JSON types, enum strings not in the
//! enum, bad int64/bytes/timestamp/duration encodings are `invalid_argument` errors naming the field
//! path); [`MockOptions::lenient`] turns the checks off. Each call is logged to stderr in one line.
//!
//! Server-streaming methods (`-> JSONLDecoder[X]`) answer with a stream of the documented example:
//! [`MockOptions::stream_repeat`] copies (default 1), [`MockOptions::stream_interval`] apart, then
//! the end of the stream, in either framing (JSONL or Connect envelopes).
//!
//! List methods: the first page is the documented example; a request whose page token (query
//! `token`, or the body's `pagination.token`) equals the example's `nextToken` gets an empty last
//! page (no items, no `nextToken`), so clients that follow tokens terminate.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use gitpod_mock::{MockOptions, MockServer};
//!
//! let mock = MockServer::builtin(MockOptions::default())?; // the model checked in with the workspace
//! let running = mock.start("127.0.0.1:0").await?;          // a free port
//! let base_url = running.base_url();                       // e.g. http://127.0.0.1:41234
//! // ... point a client at `base_url` (GITPOD_BASE_URL) and call it ...
//! running.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! The built-in model is `generated/api-model.json`, the model `cargo xtask regen` writes from
//! `spec/` (and `cargo xtask regen --check` keeps current), embedded at compile time and
//! deserialized by [`MockServer::builtin`]: the mock needs neither the spec pages nor the parser
//! (`gitpod-codegen`) to build or to start. The model types are [`gitpod_model`]'s, re-exported as
//! [`model`].
#![deny(missing_docs)]

mod validate;

pub use validate::Invalid;

/// The model types (`gitpod-model`; also `gitpod_codegen::model`): what [`MockServer::from_model`] takes.
pub use gitpod_model as model;

use axum::body::Body;
use axum::http::{Request, Response};
use gitpod_model::{Method, Model};
use gitpod_runtime::server::{ConnectRouter, MessageStream, RequestContext};
use gitpod_runtime::ConnectError;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use validate::Schema;

/// The README's Rust example is compiled as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The model of the workspace's `spec/` as `cargo xtask regen` wrote it (`generated/api-model.json`).
const BUILTIN_MODEL_JSON: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../generated/api-model.json"));

/// How the mock behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockOptions {
    /// Do not validate requests against the model: every well-formed JSON object is accepted
    /// (and an unknown page token gets the first page instead of an error).
    pub lenient: bool,
    /// Log every call in one line to stderr (default `true`).
    pub log: bool,
    /// Server-streaming methods: how many times the documented example is sent before the end
    /// of the stream (default 1).
    pub stream_repeat: u32,
    /// Server-streaming methods: the pause before each message after the first (default none).
    pub stream_interval: Duration,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions { lenient: false, log: true, stream_repeat: 1, stream_interval: Duration::ZERO }
    }
}

impl MockOptions {
    /// Strict validation, logging on (the default).
    pub fn strict() -> Self {
        Self::default()
    }

    /// No request validation, logging on.
    pub fn lenient() -> Self {
        MockOptions { lenient: true, ..Self::default() }
    }

    /// Server streams: send the example `n` times, `interval` apart.
    pub fn stream(mut self, n: u32, interval: Duration) -> Self {
        self.stream_repeat = n;
        self.stream_interval = interval;
        self
    }

    /// Turns logging on or off.
    pub fn log(mut self, on: bool) -> Self {
        self.log = on;
        self
    }
}

/// Why a mock could not be built.
#[derive(Debug, Clone)]
pub enum MockError {
    /// The embedded model (`generated/api-model.json`) is not a serialized [`Model`].
    Model(String),
    /// A method's documented response example is not valid JSON.
    Example {
        /// The procedure (`gitpod.v1.RunnerService/GetRunner`).
        procedure: String,
        /// The JSON parse error.
        message: String,
    },
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MockError::Model(message) => {
                write!(f, "the embedded model (generated/api-model.json) does not deserialize: {message}")
            }
            MockError::Example { procedure, message } => {
                write!(f, "the response example of {procedure} is not valid JSON: {message}")
            }
        }
    }
}

impl std::error::Error for MockError {}

/// One served method.
#[derive(Debug, Clone)]
struct Endpoint {
    /// `gitpod.v1.RunnerService/GetRunner` (no leading slash).
    procedure: String,
    request: String,
    /// Query `token`/`pageSize` go into the body's `pagination` (the runtime does it).
    paged: bool,
    /// The documented response, or `{}`.
    example: Value,
    /// For list methods: the empty last page and the token that asks for it.
    last_page: Option<(String, Value)>,
    /// A server-streaming method: the example is sent as a stream.
    streaming: bool,
}

struct Inner {
    model: Model,
    options: MockOptions,
    schema: Schema,
    endpoints: BTreeMap<String, Endpoint>,
}

/// A mock server for every method of a model. Cheap to clone; build it once, start it as often as
/// needed (each [`MockServer::start`] binds its own listener).
#[derive(Clone)]
pub struct MockServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("options", &self.inner.options)
            .field("procedures", &self.inner.endpoints.len())
            .finish()
    }
}

fn procedure_of(service: &str, m: &Method) -> String {
    let p = m.path.trim_start_matches('/');
    if p.contains('/') {
        p.to_owned()
    } else {
        format!("{service}/{}", m.name)
    }
}

/// Follows a dotted path (`pagination.nextToken`) into a JSON value.
fn at_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn remove_path(v: &mut Value, path: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cur = v;
    for k in parts {
        match cur.get_mut(k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(obj) = cur.as_object_mut() {
        obj.remove(last);
    }
}

impl MockServer {
    /// A mock of the API reference checked in with this crate: the model of the workspace's `spec/`
    /// (`generated/api-model.json`, embedded at build time; see [`builtin_model`]).
    pub fn builtin(options: MockOptions) -> Result<Self, MockError> {
        Self::from_model(builtin_model()?, options)
    }

    /// A mock of `model` (e.g. from `gitpod_codegen::parse::parse_pages`, or deserialized from the
    /// JSON `cargo xtask model` prints).
    pub fn from_model(model: Model, options: MockOptions) -> Result<Self, MockError> {
        let schema = Schema::new(&model);
        let mut endpoints = BTreeMap::new();
        for service in &model.services {
            for m in &service.methods {
                let procedure = procedure_of(&service.name, m);
                if endpoints.contains_key(&procedure) {
                    continue; // the model lists each method once; be safe against duplicates
                }
                let example = match &m.examples.response {
                    Some(text) if !text.trim().is_empty() => serde_json::from_str::<Value>(text)
                        .map_err(|e| MockError::Example { procedure: procedure.clone(), message: e.to_string() })?,
                    _ => json!({}),
                };
                let has_pagination_field = match model.messages.iter().find(|msg| msg.name == m.request) {
                    Some(msg) => msg.fields.iter().any(|f| f.name == "pagination"),
                    None => true, // not described: let the runtime apply the query as for any list
                };
                let paged = (m.pagination.is_some() || !m.query.is_empty()) && has_pagination_field;
                let last_page = m.pagination.as_ref().and_then(|p| {
                    let token = at_path(&example, &p.next_token)?.as_str()?.to_owned();
                    if token.is_empty() {
                        return None;
                    }
                    let mut page = example.clone();
                    remove_path(&mut page, &p.next_token);
                    if let Some(obj) = page.as_object_mut() {
                        obj.insert(p.items.clone(), json!([]));
                    }
                    Some((token, page))
                });
                endpoints.insert(
                    procedure.clone(),
                    Endpoint {
                        procedure,
                        request: m.request.clone(),
                        paged,
                        example,
                        last_page,
                        streaming: m.streaming == gitpod_model::Streaming::Server,
                    },
                );
            }
        }
        Ok(MockServer { inner: Arc::new(Inner { model, options, schema, endpoints }) })
    }

    /// The model this mock serves.
    pub fn model(&self) -> &Model {
        &self.inner.model
    }

    /// The options it was built with.
    pub fn options(&self) -> &MockOptions {
        &self.inner.options
    }

    /// Every served procedure (`gitpod.v1.RunnerService/GetRunner`, no leading slash), sorted.
    pub fn procedures(&self) -> impl Iterator<Item = &str> {
        self.inner.endpoints.keys().map(String::as_str)
    }

    /// What the mock answers `procedure` with (the first page for list methods).
    pub fn example_response(&self, procedure: &str) -> Option<&Value> {
        self.inner.endpoints.get(procedure.trim_start_matches('/')).map(|e| &e.example)
    }

    /// For list methods whose example has a `nextToken`: that token and the empty last page
    /// the mock answers it with.
    pub fn last_page(&self, procedure: &str) -> Option<(&str, &Value)> {
        let e = self.inner.endpoints.get(procedure.trim_start_matches('/'))?;
        e.last_page.as_ref().map(|(t, v)| (t.as_str(), v))
    }

    /// Checks `body` against the request message of `procedure` (regardless of
    /// [`MockOptions::lenient`]). Unknown procedures and messages the model lacks pass.
    pub fn validate_request(&self, procedure: &str, body: &Value) -> Result<(), Invalid> {
        match self.inner.endpoints.get(procedure.trim_start_matches('/')) {
            Some(e) => self.inner.schema.check_request(body, &e.request),
            None => Ok(()),
        }
    }

    /// The answer to one call, without the network: validation (unless lenient), then the
    /// documented example or, for the example's `nextToken`, the empty last page.
    pub fn respond(&self, procedure: &str, body: &Value) -> Result<Value, ConnectError> {
        let procedure = procedure.trim_start_matches('/');
        let e = self.inner.endpoints.get(procedure).ok_or_else(|| ConnectError::unimplemented(procedure))?;
        respond(&self.inner, e, body)
    }

    /// Request message names the model does not describe (their requests are not validated).
    pub fn unvalidated_methods(&self) -> Vec<&str> {
        let inner = &self.inner;
        inner
            .endpoints
            .values()
            .filter(|e| !inner.schema.has_message(&e.request))
            .map(|e| e.procedure.as_str())
            .collect()
    }

    /// The Connect router with one route per procedure (to merge into a larger server).
    pub fn connect_router(&self) -> ConnectRouter {
        let mut router = ConnectRouter::new();
        for e in self.inner.endpoints.values() {
            let inner = self.inner.clone();
            let procedure = e.procedure.clone();
            if e.streaming {
                router = router.server_stream_json(e.procedure.clone(), move |_ctx: RequestContext, body: Value| {
                    let inner = inner.clone();
                    let procedure = procedure.clone();
                    async move {
                        let e =
                            inner.endpoints.get(&procedure).ok_or_else(|| ConnectError::unimplemented(&procedure))?;
                        let example = respond(&inner, e, &body)?;
                        let (repeat, interval) = (inner.options.stream_repeat, inner.options.stream_interval);
                        Ok(MessageStream::unfold(0u32, move |sent| {
                            let example = example.clone();
                            async move {
                                if sent >= repeat {
                                    return None;
                                }
                                if sent > 0 && !interval.is_zero() {
                                    tokio::time::sleep(interval).await;
                                }
                                Some((Ok(example), sent + 1))
                            }
                        }))
                    }
                });
                continue;
            }
            router = router.unary_json(e.procedure.clone(), e.paged, move |_ctx: RequestContext, body: Value| {
                let inner = inner.clone();
                let procedure = procedure.clone();
                async move {
                    let e = inner.endpoints.get(&procedure).ok_or_else(|| ConnectError::unimplemented(&procedure))?;
                    respond(&inner, e, &body)
                }
            });
        }
        router
    }

    /// An axum router serving every procedure at `/{procedure}`, with the one-line call log
    /// when [`MockOptions::log`] is on.
    pub fn router(&self) -> axum::Router {
        let router = self.connect_router().into_axum();
        if self.inner.options.log {
            router.layer(axum::middleware::from_fn(log_call))
        } else {
            router
        }
    }

    /// Binds `addr` (`127.0.0.1:0` for a free port) and serves in a background task until
    /// [`RunningMock::shutdown`] or drop. Needs a tokio runtime.
    pub async fn start(&self, addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<RunningMock> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            gitpod_runtime::server::serve_with_shutdown(listener, router, async {
                let _ = rx.await;
            })
            .await
        });
        Ok(RunningMock { addr, shutdown: Some(tx), task: Some(task) })
    }

    /// Serves on `addr` until Ctrl-C, on a runtime of its own (for `cargo xtask mock`).
    pub fn serve_until_ctrl_c(&self, addr: &str) -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        rt.block_on(async {
            let running = self.start(addr).await?;
            eprintln!(
                "gitpod-mock: serving {} methods at {} ({}); Ctrl-C stops",
                self.inner.endpoints.len(),
                running.base_url(),
                if self.inner.options.lenient { "lenient: requests are not validated" } else { "validating requests" }
            );
            tokio::signal::ctrl_c().await?;
            eprintln!("gitpod-mock: stopping");
            running.shutdown().await
        })
    }
}

fn respond(inner: &Inner, e: &Endpoint, body: &Value) -> Result<Value, ConnectError> {
    if !inner.options.lenient {
        inner.schema.check_request(body, &e.request).map_err(|inv| ConnectError::invalid_argument(inv.to_string()))?;
    }
    if let Some((next, last)) = &e.last_page {
        let token = body.get("pagination").and_then(|p| p.get("token")).and_then(Value::as_str).unwrap_or("");
        if !token.is_empty() {
            if token == next {
                return Ok(last.clone());
            }
            if !inner.options.lenient {
                return Err(ConnectError::invalid_argument(format!(
                    "field `pagination.token`: unknown page token {token:?} (this mock knows {next:?}, the documented example's nextToken)"
                )));
            }
        }
    }
    Ok(e.example.clone())
}

/// The built-in model: `generated/api-model.json` (the model `cargo xtask regen` writes from the
/// workspace's `spec/`), embedded at build time and deserialized here. No parsing at run time.
pub fn builtin_model() -> Result<Model, MockError> {
    serde_json::from_str(BUILTIN_MODEL_JSON).map_err(|e| MockError::Model(e.to_string()))
}

/// The one-line call log: `gitpod-mock: POST /gitpod.v1.RunnerService/GetRunner -> 200 ok (0.3 ms)`.
async fn log_call(req: Request<Body>, next: axum::middleware::Next) -> Response<Body> {
    let start = Instant::now();
    let method = req.method().clone();
    let target = req.uri().path_and_query().map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    let status = resp.status();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if status.is_success() {
        eprintln!(
            "gitpod-mock: {method} {target} -> {} ok ({ms:.1} ms)",
            status.as_u16(),
            target = escape_controls(&target)
        );
        return resp;
    }
    // Errors are small Connect JSON bodies: read the code and message, then pass the body on.
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let code = parsed.get("code").and_then(Value::as_str).unwrap_or("?");
    let message = parsed.get("message").and_then(Value::as_str).unwrap_or("");
    let (target, code, message) = (escape_controls(&target), escape_controls(code), escape_controls(message));
    eprintln!("gitpod-mock: {method} {target} -> {} {code} ({ms:.1} ms): {message}", status.as_u16());
    Response::from_parts(parts, Body::from(bytes))
}

/// A log field with every control character (terminal escapes, newlines) written as `\u{..}`,
/// so a request cannot forge log lines or drive the terminal; at most 1,000 characters.
fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(1000));
    for (i, c) in s.chars().enumerate() {
        if i == 1000 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A mock serving in the background. Dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct RunningMock {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningMock {
    /// `http://127.0.0.1:PORT`: the base URL to give a client (`GITPOD_BASE_URL`); procedures
    /// are served right below it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for in-flight calls (at most 5 s: idle keep-alive
    /// connections of clients that are still alive are then cut).
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(mut task) = self.task.take() else { return Ok(()) };
        match tokio::time::timeout(std::time::Duration::from_secs(5), &mut task).await {
            Ok(joined) => joined.map_err(std::io::Error::other)?,
            Err(_elapsed) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded file is exactly a serialized `Model` of this crate's `gitpod-model`: reading it
    /// loses no key (a field renamed in the model would otherwise silently read as its default) and
    /// it describes the whole reference.
    #[test]
    fn builtin_model_round_trips() {
        let model = builtin_model().expect("generated/api-model.json deserializes");
        let file: Value = serde_json::from_str(BUILTIN_MODEL_JSON).expect("JSON");
        assert_eq!(serde_json::to_value(&model).expect("serialize"), file);
        let methods: usize = model.services.iter().map(|s| s.methods.len()).sum();
        assert_eq!(methods, 36);
    }

    #[test]
    fn log_fields_escape_control_characters() {
        assert_eq!(escape_controls("field `\u{1b}[31mred\nx`"), "field `\\u{1b}[31mred\\u{a}x`");
        assert_eq!(escape_controls("plain näme"), "plain näme");
        assert_eq!(escape_controls(&"a".repeat(2000)).chars().count(), 1001);
    }

    #[test]
    fn a_model_that_does_not_deserialize_is_a_model_error() {
        let err = serde_json::from_str::<Model>(r#"{"services": 5}"#).map_err(|e| MockError::Model(e.to_string()));
        let text = err.expect_err("not a model").to_string();
        assert!(text.starts_with("the embedded model (generated/api-model.json) does not deserialize"), "{text}");
    }
}
