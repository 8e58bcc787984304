//! Connect JSON server on axum: a [`ConnectRouter`] maps procedure paths to handlers and turns
//! into an [`axum::Router`].
//!
//! What it does for every request, in order:
//! 1. unknown procedure → HTTP 404 (`unimplemented`); a method other than POST → 405 with
//!    `Allow: POST`; a content type other than `application/json` (parameters such as
//!    `charset=utf-8` allowed) → 415 with `Accept-Post: application/json`;
//! 2. `Connect-Timeout-Ms` becomes the deadline of everything that follows (`deadline_exceeded`);
//! 3. the [`AuthHook`] runs (it can reject, or hand an identity to the handler);
//! 4. the body is read up to [`ServerConfig::max_body_bytes`] (`resource_exhausted` past it),
//!    gunzipped when `Content-Encoding: gzip`; an empty body is `{}`;
//! 5. for paged routes the query's `token` / `pageSize` override the body's `pagination`;
//! 6. the body is decoded (strict enums, `invalid_argument` naming the field on error) and the
//!    handler runs; a panic becomes `internal` and the server keeps serving;
//! 7. the response is JSON (gzipped when the client accepts it and it is large enough); errors are
//!    `{"code","message","details"?}` with the HTTP status of [`Code::http_status`].
//!
//! `Connect-Protocol-Version` is not required.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt, TryFutureExt};
use http::{header, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Code, ConnectError};
use crate::stream::Framing;

mod layers;
use layers::{decode_request, LayerFn};

/// The request headers an [`AuthHook`] and [`RequestContext::headers`] give (re-exported from `http`).
pub use http::HeaderMap;

/// A boxed, sendable future (what [`AuthHook::authenticate`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an auth hook returns on success: an identity handed to handlers (or none).
pub type Identity = Arc<dyn Any + Send + Sync>;

/// What a handler sees besides its request message.
#[derive(Clone)]
pub struct RequestContext {
    headers: HeaderMap,
    bearer_token: Option<String>,
    /// Shared with the route (no copy per call).
    procedure: Arc<str>,
    deadline: Option<Instant>,
    identity: Option<Identity>,
    /// The URL's query parameters, decoded (the SDKs send `token`/`pageSize` there).
    query: Vec<(String, String)>,
    /// Unknown enum names in the request are errors ([`ServerConfig::strict_enums`]).
    strict_enums: bool,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("procedure", &self.procedure)
            .field("bearer_token", &crate::Redacted(&self.bearer_token))
            .field("deadline", &self.deadline)
            .field("has_identity", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// A context for `procedure` with no headers, token, deadline or identity (for tests and for
    /// calling a service implementation directly).
    pub fn new(procedure: impl Into<String>) -> Self {
        RequestContext {
            headers: HeaderMap::new(),
            bearer_token: None,
            procedure: Arc::from(procedure.into()),
            deadline: None,
            identity: None,
            query: Vec::new(),
            strict_enums: false,
        }
    }

    /// Replaces the headers (and the bearer token taken from their `Authorization`).
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.bearer_token = bearer_from(&headers);
        self.headers = headers;
        self
    }

    /// Sets the identity.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The token of an `Authorization: Bearer <token>` header, if any.
    pub fn bearer_token(&self) -> Option<&str> {
        self.bearer_token.as_deref()
    }

    /// The procedure, e.g. `gitpod.v1.RunnerService/ListRunners` (no leading slash).
    pub fn procedure(&self) -> &str {
        &self.procedure
    }

    /// The deadline from `Connect-Timeout-Ms`, if the client sent one.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The identity the auth hook handed over, if it is a `T`.
    pub fn identity<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.identity.as_deref().and_then(|i| i.downcast_ref::<T>())
    }

    /// The value of query parameter `name` in the request URL, if present. The reference lists some
    /// parameters as query parameters only (e.g. `token`/`pageSize` of `ListSCMOrganizations`).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every query parameter of the request URL, decoded, in order.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The identity the auth hook handed over, untyped.
    pub fn identity_any(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }
}

fn bearer_from(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The one authentication hook of a router: it sees the headers and the bearer token before any
/// handler runs, and either rejects the request (normally with `unauthenticated`) or lets it
/// through, optionally with an identity that handlers read with [`RequestContext::identity`].
///
/// Synchronous closures `Fn(&HeaderMap, Option<&str>) -> Result<Option<Identity>, ConnectError>`
/// implement it.
pub trait AuthHook: Send + Sync + 'static {
    /// Decides about one request.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        bearer_token: Option<&str>,
    ) -> BoxFuture<'static, Result<Option<Identity>, ConnectError>>;
}

impl<F> AuthHook for F
where
    F: Fn(&HeaderMap, Option<&str>) -> Result<Option<Identity>, ConnectError> + Send + Sync + 'static,
{
    fn authenticate(
        &self,
        headers: &HeaderMap,
        bearer_token: Option<&str>,
    ) -> BoxFuture<'static, Result<Option<Identity>, ConnectError>> {
        let r = self(headers, bearer_token);
        Box::pin(std::future::ready(r))
    }
}

/// The default [`ServerConfig::compress_min_bytes`]: responses of 16 KiB or more are gzipped.
pub const DEFAULT_COMPRESS_MIN_BYTES: usize = 16 * 1024;

/// Server settings (of the router; the listener's are [`ServeConfig`]).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest request body accepted, after gunzip (default 4 MiB); larger is
    /// `resource_exhausted` (HTTP 429). The compressed body is read up to this size, and gunzip
    /// stops at it: nothing larger is ever held in memory.
    pub max_body_bytes: usize,
    /// The most JSON values (elements of arrays and objects, counted before decoding) a request
    /// body may hold (default 100,000); more is `resource_exhausted`. Bounds what decoding into
    /// `serde_json::Value` (untyped routes, the mock, `object` fields) can allocate.
    pub max_json_values: usize,
    /// The deepest nesting of arrays and objects a request body may have (default 64); deeper
    /// is `invalid_argument`.
    pub max_json_depth: usize,
    /// How long reading the request body may take (default 30 s; `Connect-Timeout-Ms`, when
    /// shorter, wins); slower is `deadline_exceeded`. Ends slow uploads.
    pub body_read_timeout: Duration,
    /// Gzip responses when the client sends `Accept-Encoding: gzip` (default true).
    pub compress_responses: bool,
    /// Smallest response body that is gzipped (default [`DEFAULT_COMPRESS_MIN_BYTES`], 16 KiB).
    /// Below it gzip costs the server more CPU than the bytes it saves are worth (measured:
    /// `cargo bench -p gitpod-api --bench http`); `usize::MAX` never compresses.
    pub compress_min_bytes: usize,
    /// Reject unknown enum names in requests with `invalid_argument` (default false: they are
    /// decoded as the enum's `Unrecognized` value, as ProtoJSON servers that tolerate unknown
    /// values do, and the handler decides). Unknown enum numbers are always accepted.
    pub strict_enums: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 4 * 1024 * 1024,
            max_json_values: 100_000,
            max_json_depth: 64,
            body_read_timeout: Duration::from_secs(30),
            compress_responses: true,
            compress_min_bytes: DEFAULT_COMPRESS_MIN_BYTES,
            strict_enums: false,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::strict_enums`].
    pub fn strict_enums(mut self, strict: bool) -> Self {
        self.strict_enums = strict;
        self
    }
    /// Sets [`ServerConfig::max_body_bytes`].
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }
    /// Sets [`ServerConfig::max_json_values`].
    pub fn max_json_values(mut self, n: usize) -> Self {
        self.max_json_values = n;
        self
    }
    /// Sets [`ServerConfig::max_json_depth`].
    pub fn max_json_depth(mut self, n: usize) -> Self {
        self.max_json_depth = n;
        self
    }
    /// Sets [`ServerConfig::body_read_timeout`].
    pub fn body_read_timeout(mut self, d: Duration) -> Self {
        self.body_read_timeout = d;
        self
    }
    /// Sets [`ServerConfig::compress_responses`].
    pub fn compress_responses(mut self, on: bool) -> Self {
        self.compress_responses = on;
        self
    }
    /// Sets [`ServerConfig::compress_min_bytes`].
    pub fn compress_min_bytes(mut self, n: usize) -> Self {
        self.compress_min_bytes = n;
        self
    }
}

/// A route's handler after typing: a routed call in, its answer out. The one future it returns
/// holds everything of the call that depends on the route's types (auth, reading the body,
/// decoding, the handler, encoding): one allocation per call.
type Handler = Arc<dyn Fn(Call) -> BoxFuture<'static, Result<Answer, ConnectError>> + Send + Sync>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unary,
    ServerStream,
}

#[derive(Clone)]
struct Route {
    /// The procedure (no leading slash), handed to each call's [`RequestContext`].
    procedure: Arc<str>,
    paged: bool,
    kind: Kind,
    handler: Handler,
    /// The length of the last unary answer (at most [`ENCODE_HINT_MAX`]): the next answer's
    /// buffer starts that large instead of growing by doubling from 128 bytes.
    encode_hint: Arc<AtomicUsize>,
}

/// The largest first allocation for a unary answer's encoding.
const ENCODE_HINT_MAX: usize = 64 * 1024;

impl Route {
    fn new(paged: bool, kind: Kind, handler: Handler) -> Self {
        Route { procedure: Arc::from(""), paged, kind, handler, encode_hint: Arc::default() }
    }
}

/// Makes a route's [`Handler`]: [`prepare`] the call, `decode` the request, `run` the handler.
/// Combinators rather than an `async` block: each stage's state overlaps the others' in the
/// one boxed future, where an `async` block would keep what it captured beside what it awaits.
fn route_handler<Req, D, F, Fut>(decode: D, run: F) -> Handler
where
    Req: Send + 'static,
    D: Fn(&RequestContext, &[u8]) -> Result<Req, ConnectError> + Copy + Send + Sync + 'static,
    F: Fn(RequestContext, Req, Arc<Route>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Answer, ConnectError>> + Send + 'static,
{
    let run = Arc::new(run);
    Arc::new(move |call: Call| {
        let run = run.clone();
        Box::pin(Apart { future: prepare(call) }.and_then(move |Prepared { ctx, body, route }| {
            match decode(&ctx, &body) {
                Ok(req) => {
                    drop(body);
                    futures_util::future::Either::Left(run(ctx, req, route))
                }
                Err(e) => futures_util::future::Either::Right(std::future::ready(Err(e))),
            }
        }))
    })
}

/// What a server-streaming handler answers with: a stream of messages (an `Err` item ends the
/// stream with that error), plus trailers sent in the Connect end-of-stream message.
///
/// The router sends each message as soon as the stream yields it, and drops the stream (so the
/// producer stops) when the client goes away or the deadline passes.
pub struct MessageStream<M> {
    inner: Pin<Box<dyn futures_core::Stream<Item = Result<M, ConnectError>> + Send + 'static>>,
    trailers: BTreeMap<String, Vec<String>>,
}

impl<M> std::fmt::Debug for MessageStream<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream").field("trailers", &self.trailers).finish_non_exhaustive()
    }
}

impl<M: Send + 'static> MessageStream<M> {
    /// Wraps any sendable stream of messages.
    pub fn new(stream: impl futures_core::Stream<Item = Result<M, ConnectError>> + Send + 'static) -> Self {
        MessageStream { inner: Box::pin(stream), trailers: BTreeMap::new() }
    }

    /// The given messages (and errors), in order.
    pub fn iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = Result<M, ConnectError>>,
        I::IntoIter: Send + 'static,
    {
        Self::new(futures_util::stream::iter(items))
    }

    /// A stream driven by an async step function (`futures_util::stream::unfold` without the
    /// dependency): `f(state)` yields the next item and state, or `None` at the end.
    pub fn unfold<S, F, Fut>(init: S, f: F) -> Self
    where
        S: Send + 'static,
        F: FnMut(S) -> Fut + Send + 'static,
        Fut: Future<Output = Option<(Result<M, ConnectError>, S)>> + Send + 'static,
    {
        Self::new(futures_util::stream::unfold(init, f))
    }

    /// A stream that ends at once, without messages.
    pub fn empty() -> Self {
        Self::new(futures_util::stream::empty())
    }

    /// Adds a trailer (Connect end-of-stream `metadata`; JSONL has no trailers).
    pub fn with_trailer(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.trailers.entry(name.into()).or_default().push(value.into());
        self
    }

    /// The trailers set so far.
    pub fn trailers(&self) -> &BTreeMap<String, Vec<String>> {
        &self.trailers
    }

    /// Maps every message (e.g. to its encoding), keeping the trailers.
    pub fn map_messages<N: Send + 'static>(
        self,
        f: impl FnMut(M) -> Result<N, ConnectError> + Send + 'static,
    ) -> MessageStream<N> {
        let mut f = f;
        MessageStream { inner: Box::pin(self.inner.map(move |r| r.and_then(&mut f))), trailers: self.trailers }
    }
}

impl<M> futures_core::Stream for MessageStream<M> {
    type Item = Result<M, ConnectError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Routes Connect procedures to handlers. Build it, then [`ConnectRouter::into_axum`].
#[derive(Clone, Default)]
pub struct ConnectRouter {
    routes: BTreeMap<String, Arc<Route>>,
    config: ServerConfig,
    auth: Option<Arc<dyn AuthHook>>,
    layers: Vec<LayerFn>,
}

impl std::fmt::Debug for ConnectRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectRouter")
            .field("procedures", &self.routes.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .field("auth", &self.auth.is_some())
            .field("layers", &self.layers.len())
            .finish()
    }
}

fn normalize(procedure: &str) -> String {
    procedure.trim_start_matches('/').to_owned()
}

impl ConnectRouter {
    /// An empty router with the default [`ServerConfig`] and no auth hook.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the server settings.
    pub fn config(mut self, c: ServerConfig) -> Self {
        self.config = c;
        self
    }

    /// Sets the auth hook (replacing any earlier one).
    pub fn auth(mut self, hook: impl AuthHook) -> Self {
        self.auth = Some(Arc::new(hook));
        self
    }

    fn add(mut self, procedure: &str, mut route: Route) -> Self {
        let key = normalize(procedure);
        route.procedure = Arc::from(key.as_str());
        assert!(
            !key.is_empty() && key.contains('/'),
            "procedure {procedure:?} must look like `package.Service/Method`"
        );
        if self.routes.insert(key, Arc::new(route)).is_some() {
            panic!("procedure {procedure:?} registered twice");
        }
        self
    }

    /// Registers a typed unary handler for `procedure` (`gitpod.v1.Service/Method`, a leading `/`
    /// allowed). `paged`: query `token`/`pageSize` override the body's `pagination.token` /
    /// `pagination.pageSize` before decoding. Panics when the procedure is already registered.
    pub fn unary<Req, Resp, F, Fut>(self, procedure: &'static str, paged: bool, handler: F) -> Self
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + Send + 'static,
        F: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, ConnectError>> + Send + 'static,
    {
        let h =
            route_handler(decode_request::<Req>, move |ctx, req, route| Encoded { handler: handler(ctx, req), route });
        self.add(procedure, Route::new(paged, Kind::Unary, h))
    }

    /// Registers a typed **server-streaming** handler for `procedure`: it returns the stream of
    /// messages (or an error before the first one). The router answers
    ///
    /// - `Content-Type: application/connect+json` requests with Connect envelopes, ending with an
    ///   end-of-stream envelope (the error, if any, and the trailers); errors before the stream
    ///   (auth, decode, the handler's own) are an end-of-stream envelope too, with HTTP 200;
    /// - `Content-Type: application/json` requests (the SDKs send `Accept: application/jsonl`) with
    ///   JSON lines; an error before the first message is an ordinary Connect error response
    ///   (non-200 status), one after it a last line `{"error": {...}}`.
    ///
    /// Each message is written as soon as the stream yields it; when the client disconnects the
    /// stream is dropped. `Connect-Timeout-Ms` bounds the whole stream (`deadline_exceeded`).
    pub fn server_stream<Req, Resp, F, Fut>(self, procedure: &'static str, handler: F) -> Self
    where
        Req: DeserializeOwned + Send + 'static,
        Resp: Serialize + Send + 'static,
        F: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<MessageStream<Resp>, ConnectError>> + Send + 'static,
    {
        let h = route_handler(decode_request::<Req>, move |ctx, req, _| handler(ctx, req).map_ok(encode_stream));
        self.add(procedure, Route::new(false, Kind::ServerStream, h))
    }

    /// Registers an untyped server-streaming handler working on JSON values (used by mock servers).
    pub fn server_stream_json<F, Fut>(self, procedure: impl Into<String>, handler: F) -> Self
    where
        F: Fn(RequestContext, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<MessageStream<serde_json::Value>, ConnectError>> + Send + 'static,
    {
        let h = route_handler(decode_untyped, move |ctx, req, _| handler(ctx, req).map_ok(encode_stream));
        let procedure: String = procedure.into();
        self.add(&procedure, Route::new(false, Kind::ServerStream, h))
    }

    /// Registers an untyped handler working on JSON values (used by mock servers).
    pub fn unary_json<F, Fut>(self, procedure: impl Into<String>, paged: bool, handler: F) -> Self
    where
        F: Fn(RequestContext, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Value, ConnectError>> + Send + 'static,
    {
        let h = route_handler(decode_untyped, move |ctx, req, route| Encoded { handler: handler(ctx, req), route });
        let procedure: String = procedure.into();
        self.add(&procedure, Route::new(paged, Kind::Unary, h))
    }

    /// Adds every route of `other` (its config and auth hook are ignored). Panics on a procedure
    /// registered in both.
    pub fn merge(mut self, other: ConnectRouter) -> Self {
        for (k, r) in other.routes {
            self = self.add(&k, Arc::unwrap_or_clone(r));
        }
        self
    }

    /// The registered procedures (`package.Service/Method`, no leading slash), sorted.
    pub fn procedures(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// An axum router serving every procedure at `/{procedure}` (nest it to serve under a prefix).
    pub fn into_axum(mut self) -> axum::Router {
        let layers = std::mem::take(&mut self.layers);
        let shared = Arc::new(self);
        // Each procedure is a route of its own (axum finds it by its path; nothing is looked up
        // per call); the fallback answers the rest (unknown procedures: 404) and procedures whose
        // names axum's paths cannot hold.
        let mut router = axum::Router::new();
        for (procedure, route) in &shared.routes {
            if is_plain_path(procedure) {
                let service = ConnectService { router: shared.clone(), route: Some(route.clone()) };
                router = router.route_service(&format!("/{procedure}"), service);
            }
        }
        let router = router.fallback_service(ConnectService { router: shared, route: None });
        layers.iter().fold(router, |router, layer| layer(router))
    }
}

/// Whether `/{procedure}` is a literal axum path: segments of letters, digits, `.`, `_` and `-`.
fn is_plain_path(procedure: &str) -> bool {
    procedure.split('/').all(|segment| {
        !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    })
}

/// Polls `future` in a stack frame of its own. The stages of a call (reading the body, the
/// handler building its answer, encoding it) are nested futures; inlined into one another their
/// temporaries (the answer being built: a few KiB for large messages) take separate stack, and
/// what a call touches outgrows the L1 data cache (32 KiB here). Called, each stage reuses the
/// stack the previous one used.
#[inline(never)]
fn poll_apart<F: Future>(future: Pin<&mut F>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
    future.poll(cx)
}

pin_project_lite::pin_project! {
    /// `future`, polled with [`poll_apart`].
    struct Apart<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Apart<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        poll_apart(self.project().future, cx)
    }
}

pin_project_lite::pin_project! {
    /// A unary handler's future, then its answer encoded where the handler left it (no copy of
    /// the message on the way to the encoder).
    struct Encoded<F> {
        #[pin]
        handler: F,
        route: Arc<Route>,
    }
}

impl<F, Resp> Future for Encoded<F>
where
    F: Future<Output = Result<Resp, ConnectError>>,
    Resp: Serialize,
{
    type Output = Result<Answer, ConnectError>;
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = self.project();
        std::task::Poll::Ready(match std::task::ready!(poll_apart(this.handler, cx)) {
            Ok(answer) => encode_answer(&answer, &this.route.encode_hint).map(Answer::Unary),
            Err(e) => Err(e),
        })
    }
}

/// The request decoding of untyped routes.
fn decode_untyped(_: &RequestContext, body: &[u8]) -> Result<serde_json::Value, ConnectError> {
    crate::decode::decode_json(body).map_err(|m| ConnectError::invalid_argument(format!("invalid request: {m}")))
}

/// A server stream's messages, encoded.
fn encode_stream<M: Serialize + Send + 'static>(stream: MessageStream<M>) -> Answer {
    Answer::Stream(stream.map_messages(|m| {
        serde_json::to_vec(&m).map_err(|e| ConnectError::internal(format!("cannot encode a stream message: {e}")))
    }))
}

/// Encodes a unary answer into a buffer sized by the route's last answer, and records this one's
/// length for the next.
fn encode_answer<T: Serialize + ?Sized>(value: &T, hint: &AtomicUsize) -> Result<Vec<u8>, ConnectError> {
    let mut out = ANSWER_BUFFERS.try_with(|pool| pool.borrow_mut().pop()).ok().flatten().unwrap_or_default();
    out.reserve(hint.load(Ordering::Relaxed).max(128));
    serde_json::to_writer(&mut out, value)
        .map_err(|e| ConnectError::internal(format!("cannot encode the response: {e}")))?;
    hint.store((out.len() + out.len() / 8 + 16).min(ENCODE_HINT_MAX), Ordering::Relaxed);
    Ok(out)
}

thread_local! {
    /// Unary answer buffers to encode into, reused on this thread: an answer goes to hyper as
    /// `Bytes` owned by a [`PooledAnswer`], which puts its buffer back here once hyper has written
    /// it. A reused buffer is in cache, and a fresh one the size of a typical answer (more than
    /// 1 KiB) would come from glibc's slower large bins.
    static ANSWER_BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The most buffers [`ANSWER_BUFFERS`] keeps per thread (each at most [`ENCODE_HINT_MAX`]).
const POOLED_ANSWERS: usize = 4;

/// An encoded answer whose buffer goes back to [`ANSWER_BUFFERS`] when dropped.
struct PooledAnswer(Vec<u8>);

impl AsRef<[u8]> for PooledAnswer {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for PooledAnswer {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.0);
        if buf.capacity() > ENCODE_HINT_MAX {
            return;
        }
        buf.clear();
        let _ = ANSWER_BUFFERS.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut() {
                if pool.len() < POOLED_ANSWERS {
                    pool.push(buf);
                }
            }
        });
    }
}

fn error_response(status: StatusCode, err: &ConnectError) -> Response {
    let body = serde_json::to_vec(&err.to_json()).unwrap_or_else(|_| b"{\"code\":\"internal\"}".to_vec());
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

impl IntoResponse for ConnectError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error_response(status, &self)
    }
}

fn is_json_content_type(content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = ct.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    // A charset other than UTF-8 is not JSON as Connect speaks it.
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

fn parse_timeout(headers: &HeaderMap) -> Result<Option<Duration>, ConnectError> {
    let Some(v) = headers.get("connect-timeout-ms") else { return Ok(None) };
    let s = v.to_str().unwrap_or("").trim();
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConnectError::invalid_argument(format!(
            "invalid Connect-Timeout-Ms header {s:?}: expected at most 10 digits"
        )));
    }
    Ok(Some(Duration::from_millis(s.parse().unwrap_or(u64::MAX))))
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|item| {
            let mut it = item.split(';');
            let name = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q == 0.0)
            });
            name.eq_ignore_ascii_case("gzip") && !q_zero
        })
    })
}

fn too_large(limit: usize) -> ConnectError {
    ConnectError::resource_exhausted(format!("request body is larger than the limit of {limit} bytes"))
}

async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ConnectError> {
    if let Some(len) =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(too_large(limit));
        }
    }
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim()) {
        None => false,
        Some(e) if e.is_empty() || e.eq_ignore_ascii_case("identity") => false,
        Some(e) if e.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return Err(ConnectError::unimplemented_encoding(&other.to_ascii_lowercase()));
        }
    };
    // A body that arrives in one chunk (the usual case) is kept as it is, without a copy.
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ConnectError::canceled(format!("cannot read the request body: {e}")))?;
        let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
        if held + chunk.len() > limit {
            return Err(too_large(limit));
        }
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            held => {
                if let Some(held) = held {
                    buf.extend_from_slice(&held);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    let buf = match first {
        Some(only) => only,
        None => Bytes::from(buf),
    };
    if !gzip {
        return Ok(buf);
    }
    match gunzip(&buf, limit) {
        Ok(Some(out)) => Ok(Bytes::from(out)),
        Ok(None) => Err(too_large(limit)),
        Err(e) => Err(ConnectError::invalid_argument(format!("invalid gzip request body: {e}"))),
    }
}

/// Counts the values and the nesting of a JSON body without decoding it (one pass over the bytes,
/// no allocation): at most `max_values` elements (commas and containers outside strings, plus
/// one) and `max_depth` levels of arrays and objects. Malformed JSON passes: the decoder says why.
/// Returns the first byte that is not whitespace (`None`: the body is empty or blank), which
/// tells an array from an object without another pass.
fn check_json_shape(body: &[u8], max_values: usize, max_depth: usize) -> Result<Option<u8>, ConnectError> {
    let Some(start) = body.iter().position(|b| !b.is_ascii_whitespace()) else { return Ok(None) };
    let (mut values, mut depth) = (1usize, 0usize);
    let mut i = start;
    while i < body.len() {
        match body[i] {
            b'"' => {
                // To the closing quote, over escapes (a string's bytes need no other test).
                i += 1;
                while i < body.len() {
                    match body[i] {
                        b'"' => break,
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                values += 1;
                if depth > max_depth {
                    return Err(ConnectError::invalid_argument(format!(
                        "invalid request: nested deeper than {max_depth} levels"
                    )));
                }
                if values > max_values {
                    return Err(too_many_values(max_values));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' => {
                values += 1;
                if values > max_values {
                    return Err(too_many_values(max_values));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(Some(body[start]))
}

fn too_many_values(max_values: usize) -> ConnectError {
    ConnectError::resource_exhausted(format!("request body holds more than {max_values} JSON values"))
}

impl ConnectError {
    fn unimplemented_encoding(enc: &str) -> ConnectError {
        ConnectError::new(Code::Unimplemented, format!("unsupported Content-Encoding {enc:?}: use gzip or identity"))
    }
}

/// The decoded query parameters of a request URL.
fn query_pairs(uri: &http::Uri) -> Result<Vec<(String, String)>, ConnectError> {
    if uri.query().is_none_or(str::is_empty) {
        return Ok(Vec::new());
    }
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ConnectError::invalid_argument(format!("invalid query string: {e}")))
}

/// Applies the query's `token` / `pageSize` to the body's `pagination`.
fn override_pagination(body: Bytes, pairs: &[(String, String)]) -> Result<Bytes, ConnectError> {
    if pairs.is_empty() {
        return Ok(body);
    }
    let pairs = pairs.to_vec();
    let mut token = None;
    let mut page_size = None;
    for (k, v) in pairs {
        match k.as_str() {
            "token" => token = Some(v),
            "pageSize" | "page_size" => {
                // `pageSize` is an int32 field: the query value follows its ProtoJSON rule, as in a body.
                let n = crate::wire::parse_int32(&serde_json::Value::String(v.clone())).map_err(|e| {
                    ConnectError::invalid_argument(format!("query parameter pageSize: {v:?} is not an int32 ({e})"))
                })?;
                page_size = Some(n);
            }
            _ => {}
        }
    }
    if token.is_none() && page_size.is_none() {
        return Ok(body);
    }
    let mut value: serde_json::Value = crate::decode::decode_json(&body)
        .map_err(|m| ConnectError::invalid_argument(format!("invalid request: {m}")))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| ConnectError::invalid_argument("invalid request: the body must be a JSON object"))?;
    let pagination = obj.entry("pagination").or_insert_with(|| serde_json::json!({}));
    if pagination.is_null() {
        *pagination = serde_json::json!({});
    }
    let p = pagination
        .as_object_mut()
        .ok_or_else(|| ConnectError::invalid_argument("invalid request: field `pagination` must be an object"))?;
    if let Some(t) = token {
        p.insert("token".into(), t.into());
    }
    if let Some(n) = page_size {
        p.remove("page_size");
        p.insert("pageSize".into(), n.into());
    }
    serde_json::to_vec(&value).map(Bytes::from).map_err(|e| ConnectError::internal(e.to_string()))
}

/// The service axum calls for a procedure's route (`route` known) or for any other path (the
/// fallback: `route` is looked up, or the answer is 404). Routing, method, content type and
/// headers are checked at once; the rest is the route handler's one boxed future inside a
/// [`CallFuture`].
#[derive(Clone)]
struct ConnectService {
    router: Arc<ConnectRouter>,
    route: Option<Arc<Route>>,
}

impl tower::Service<Request> for ConnectService {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = CallFuture;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> CallFuture {
        match start_call(&self.router, self.route.as_ref(), req) {
            Ok(running) => CallFuture(CallState::Running(running)),
            Err(answer) => CallFuture(CallState::Answered(Some(answer))),
        }
    }
}

/// Everything after routing that [`prepare`] needs: the request head's headers and URI, its body,
/// and what the routing found out.
struct Call {
    router: Arc<ConnectRouter>,
    route: Arc<Route>,
    headers: HeaderMap,
    uri: http::Uri,
    body: Body,
    deadline: Option<Instant>,
    framing: Option<Framing>,
    bearer_token: Option<String>,
}

/// A call ready for its handler: the context and the request's JSON.
struct Prepared {
    ctx: RequestContext,
    body: Bytes,
    route: Arc<Route>,
}

// The error answer is moved once, into the future: boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
fn start_call(router: &Arc<ConnectRouter>, route: Option<&Arc<Route>>, req: Request) -> Result<Running, Response> {
    let (parts, body) = req.into_parts();
    let route = match route.or_else(|| router.routes.get(parts.uri.path().trim_start_matches('/'))) {
        Some(route) => route.clone(),
        None => {
            return Err(error_response(
                StatusCode::NOT_FOUND,
                &ConnectError::new(
                    Code::Unimplemented,
                    format!("unknown procedure /{}", parts.uri.path().trim_start_matches('/')),
                ),
            ))
        }
    };
    if parts.method != Method::POST {
        let mut r = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &ConnectError::new(
                Code::Unimplemented,
                format!("method {} is not allowed for /{}: use POST", parts.method, route.procedure),
            ),
        );
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Err(r);
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE);
    let framing = match (route.kind, content_type_essence(content_type)) {
        (Kind::ServerStream, Some(ct)) if ct.eq_ignore_ascii_case(crate::stream::CONNECT_JSON_CONTENT_TYPE) => {
            Some(Framing::Connect)
        }
        (Kind::ServerStream, _) if is_json_content_type(content_type) => Some(Framing::Jsonl),
        (Kind::Unary, _) if is_json_content_type(content_type) => None,
        (kind, _) => {
            let ct = content_type.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default();
            let accepted = match kind {
                Kind::Unary => "application/json",
                Kind::ServerStream => "application/json, application/connect+json",
            };
            let mut r = error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &ConnectError::new(
                    Code::Unimplemented,
                    format!("unsupported content type {ct:?}: this server speaks {accepted}"),
                ),
            );
            r.headers_mut().insert("accept-post", HeaderValue::from_static(accepted));
            return Err(r);
        }
    };
    let timeout = parse_timeout(&parts.headers).map_err(|e| error_answer(framing, e))?;
    let deadline = timeout.map(|t| Instant::now() + t);
    let gzip_ok = router.config.compress_responses && accepts_gzip(&parts.headers);
    let bearer_token = bearer_from(&parts.headers);
    let span = tracing::debug_span!("gitpod.server.call", procedure = %route.procedure, code = tracing::field::Empty);
    let work = (route.handler.clone())(Call {
        router: router.clone(),
        route,
        headers: parts.headers,
        uri: parts.uri,
        body,
        deadline,
        framing,
        bearer_token,
    });
    Ok(Running {
        work: Some(work),
        timer: timeout.map(|t| (Box::pin(tokio::time::sleep(t)), t)),
        span,
        router: router.clone(),
        framing,
        gzip_ok,
        deadline,
    })
}

/// An error as the call's answer: a Connect stream reports every error in its end-of-stream
/// envelope, with HTTP 200; everything else answers with the error's status.
fn error_answer(framing: Option<Framing>, e: ConnectError) -> Response {
    match framing {
        Some(Framing::Connect) => stream_response(Framing::Connect, None, Some(e), None),
        _ => e.into_response(),
    }
}

/// The future of one call, which axum boxes per call: a few words beside the route handler's
/// own boxed future (allocations of 1,009 bytes and more take glibc's slow path).
struct CallFuture(CallState);

enum CallState {
    /// Answered without the handler (404, 405, 415, a bad header); `None` once taken.
    Answered(Option<Response>),
    Running(Running),
}

/// A call whose handler runs: its future runs inside the call's span, a panic in it is
/// `internal`, and `Connect-Timeout-Ms` (`timer`) ends it with `deadline_exceeded`.
struct Running {
    /// `None` once it finished.
    work: Option<BoxFuture<'static, Result<Answer, ConnectError>>>,
    timer: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
    span: tracing::Span,
    router: Arc<ConnectRouter>,
    framing: Option<Framing>,
    gzip_ok: bool,
    deadline: Option<Instant>,
}

impl Future for CallFuture {
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match &mut self.get_mut().0 {
            CallState::Answered(answer) => {
                std::task::Poll::Ready(Ok(answer.take().expect("CallFuture polled after it finished")))
            }
            CallState::Running(running) => running.poll(cx).map(Ok),
        }
    }
}

impl Running {
    fn poll(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Response> {
        let result = {
            let _entered = self.span.enter();
            let work = self.work.as_mut().expect("CallFuture polled after it finished");
            let result = match std::panic::catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
                Ok(std::task::Poll::Ready(result)) => result,
                Err(_panic) => Err(ConnectError::internal("the handler panicked")),
                // As `tokio::time::timeout`: the work first, then the deadline.
                Ok(std::task::Poll::Pending) => match &mut self.timer {
                    Some((sleep, t)) => match sleep.as_mut().poll(cx) {
                        std::task::Poll::Ready(()) => {
                            Err(ConnectError::deadline_exceeded(format!("the deadline of {} ms passed", t.as_millis())))
                        }
                        std::task::Poll::Pending => return std::task::Poll::Pending,
                    },
                    None => return std::task::Poll::Pending,
                },
            };
            // Dropped inside the span, as `tracing::Instrumented` drops what it wraps.
            self.work = None;
            result
        };
        std::task::Poll::Ready(self.answer(result))
    }

    /// The response to the call's result (a frame of its own: the polls above stay small).
    #[inline(never)]
    fn answer(&mut self, result: Result<Answer, ConnectError>) -> Response {
        self.span.record("code", result.as_ref().err().map_or("ok", |e| e.code.as_str()));
        let config = &self.router.config;
        match (result, self.framing) {
            (Ok(Answer::Unary(body)), _) => {
                json_response(body, config.compress_responses, self.gzip_ok, config.compress_min_bytes)
            }
            (Ok(Answer::Stream(messages)), Some(framing)) => {
                let timeout = self.timer.as_ref().map(|(_, t)| *t);
                stream_response(framing, Some(messages), None, self.deadline.zip(timeout))
            }
            (Ok(Answer::Stream(_)), None) => ConnectError::internal("a stream for a unary route").into_response(),
            (Err(e), _) => error_answer(self.framing, e),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A call dropped before it finished (the client went away): inside its span too.
        if let Some(work) = self.work.take() {
            let _entered = self.span.enter();
            drop(work);
        }
    }
}

/// One call after routing: auth, the body (read, checked, paged), the handler's context.
///
/// An `async` block rather than an `async fn`: an `async fn` keeps each argument twice in its
/// future (as given and as moved into the body), and this future is in the one boxed per call.
fn prepare(call: Call) -> impl Future<Output = Result<Prepared, ConnectError>> + Send {
    let Call { router, route, headers, uri, body, deadline, framing, bearer_token } = call;
    async move {
        let config = &router.config;
        let identity = match &router.auth {
            Some(hook) => hook.authenticate(&headers, bearer_token.as_deref()).await?,
            None => None,
        };
        let mut body = read_body_in_time(body, &headers, config.max_body_bytes, config.body_read_timeout).await?;
        if framing == Some(Framing::Connect) {
            body = unenvelope_request(body)?;
        }
        match check_json_shape(&body, config.max_json_values, config.max_json_depth)? {
            None => body = Bytes::from_static(b"{}"),
            Some(b'[') => {
                return Err(ConnectError::invalid_argument(
                    "invalid request: the body must be a JSON object, not an array",
                ))
            }
            Some(_) => {}
        }
        let query = query_pairs(&uri)?;
        if route.paged {
            body = override_pagination(body, &query)?;
        }
        let ctx = RequestContext {
            headers,
            bearer_token,
            procedure: route.procedure.clone(),
            deadline,
            identity,
            query,
            strict_enums: config.strict_enums,
        };
        Ok(Prepared { ctx, body, route })
    }
}

/// [`read_body`] within `timeout`. The timer is only armed when the body is not there at once
/// (a small body usually arrives with the request head).
async fn read_body_in_time(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ConnectError> {
    let mut read = std::pin::pin!(read_body(body, headers, limit));
    let first = std::future::poll_fn(|cx| match read.as_mut().poll(cx) {
        std::task::Poll::Ready(r) => std::task::Poll::Ready(Some(r)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    });
    if let Some(r) = first.await {
        return r;
    }
    // Boxed: the rare path keeps its timer out of every call's future.
    match Box::pin(tokio::time::timeout(timeout, read)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::deadline_exceeded(format!(
            "the request body was not read within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// The request message of a Connect streaming call: one envelope (flags 0). An unenveloped JSON
/// object (what an SDK-style client sends) is accepted as it is.
fn unenvelope_request(body: Bytes) -> Result<Bytes, ConnectError> {
    match body.first() {
        None => Ok(body),
        Some(b) if b.is_ascii_whitespace() || *b == b'{' => Ok(body),
        Some(&flags) => {
            if body.len() < 5 {
                return Err(ConnectError::invalid_argument("invalid request: a truncated envelope"));
            }
            if flags & crate::stream::COMPRESSED_FLAG != 0 {
                return Err(ConnectError::unimplemented("compressed request envelopes are not supported"));
            }
            let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
            if flags != 0 || len != body.len() - 5 {
                return Err(ConnectError::invalid_argument(
                    "invalid request: expected exactly one request envelope with flags 0",
                ));
            }
            Ok(body.slice(5..))
        }
    }
}

/// What a handler produced.
enum Answer {
    Unary(Vec<u8>),
    Stream(MessageStream<Vec<u8>>),
}

/// The media type of the request, without parameters (compare it ignoring ASCII case).
fn content_type_essence(content_type: Option<&HeaderValue>) -> Option<&str> {
    let ct = content_type?.to_str().ok()?;
    Some(ct.split(';').next().unwrap_or("").trim())
}

/// Where a server stream is.
struct StreamState {
    framing: Framing,
    messages: Option<MessageStream<Vec<u8>>>,
    trailers: BTreeMap<String, Vec<String>>,
    /// An error to end with before anything else.
    error: Option<ConnectError>,
    deadline: Option<(Instant, Duration)>,
    done: bool,
}

/// A streaming response (HTTP 200): each message framed and written as it is produced, then the
/// end of the stream. Dropping the body (the client went away) drops the message stream.
fn stream_response(
    framing: Framing,
    messages: Option<MessageStream<Vec<u8>>>,
    error: Option<ConnectError>,
    deadline: Option<(Instant, Duration)>,
) -> Response {
    let trailers = messages.as_ref().map(|m| m.trailers.clone()).unwrap_or_default();
    let state = StreamState { framing, messages, trailers, error, deadline, done: false };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let end = |st: &mut StreamState, error: Option<ConnectError>| {
            st.done = true;
            st.messages = None; // stop the producer now
            Bytes::from(st.framing.end(error.as_ref(), &st.trailers))
        };
        if let Some(e) = st.error.take() {
            let b = end(&mut st, Some(e));
            return Some((Ok::<_, std::convert::Infallible>(b), st));
        }
        let Some(messages) = st.messages.as_mut() else {
            let b = end(&mut st, None);
            return Some((Ok(b), st));
        };
        let next = AssertUnwindSafe(messages.next()).catch_unwind();
        let next = match st.deadline {
            Some((at, t)) => {
                tokio::select! {
                    n = next => n,
                    _ = tokio::time::sleep_until(at.into()) => Ok(Some(Err(ConnectError::deadline_exceeded(
                        format!("the deadline of {} ms passed", t.as_millis()),
                    )))),
                }
            }
            None => next.await,
        };
        let b = match next {
            Ok(Some(Ok(json))) => Bytes::from(st.framing.message(&json)),
            Ok(Some(Err(e))) => end(&mut st, Some(e)),
            Ok(None) => end(&mut st, None),
            Err(_panic) => end(&mut st, Some(ConnectError::internal("the handler panicked"))),
        };
        Some((Ok(b), st))
    })
    .filter(|r| std::future::ready(!matches!(r, Ok(b) if b.is_empty())));
    let mut resp = Response::new(Body::from_stream(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(framing.content_type()));
    resp
}

/// A unary answer: gzipped when the client accepts it and it is at least `min_bytes`. Only such
/// answers (the ones that depend on `Accept-Encoding`) carry `Vary: Accept-Encoding`.
fn json_response(body: Vec<u8>, compress: bool, gzip_ok: bool, min_bytes: usize) -> Response {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = PooledAnswer(body);
    let body = if compress && body.0.len() >= min_bytes {
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if gzip_ok {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Bytes::from(gzip(&body.0))
        } else {
            Bytes::from_owner(body)
        }
    } else {
        Bytes::from_owner(body)
    };
    let mut resp = Response::new(Body::from(body));
    *resp.headers_mut() = headers;
    resp
}

/// Settings of the listener side of [`serve_with_config`] (what [`serve`] and
/// [`serve_with_shutdown`] use with the defaults): how long a connection may take to send a
/// request head or stay idle, how many connections (and HTTP/2 streams per connection) are served
/// at once, how large an HTTP/2 header list may be, how many reset streams an HTTP/2 connection
/// may cause, how long shutdown waits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeConfig {
    /// How long a client may take to send a complete request head (default 10 s). A new
    /// connection has this long, from its start, to complete its first request head (the HTTP/2
    /// preface and protocol sniffing included). HTTP/1 keep-alive: a later request head has this
    /// long from its first byte (the wait before that byte is `idle_timeout`'s); the connection's
    /// watchdog sees that byte when it next looks (every half of the shorter of the two timeouts
    /// while the connection is idle), so such a head is cut between `header_read_timeout` and 1.5
    /// times it after its first byte (when `header_read_timeout <= idle_timeout`). A connection
    /// that is slower (slowloris) is dropped without an answer. HTTP/2: also how long a
    /// keep-alive ping may go unanswered.
    pub header_read_timeout: Duration,
    /// How long a connection may wait on its client (default 60 s), then it is closed
    /// gracefully (HTTP/2 `GOAWAY`; dropped a second later if still open). It waits on its client
    /// when no call is in flight (HTTP/1: until the first byte of the next request head) or when
    /// every call in flight is a response the client does not take (its HTTP/2 flow-control
    /// window or its socket is full and no frame went out since the watchdog last looked). A call
    /// is over once its response body has given its last frame, so a unary answer the client
    /// never reads does not keep a connection busy. HTTP/2: also the keep-alive ping interval.
    pub idle_timeout: Duration,
    /// The most connections served at once (default 1,024). Further connections wait in the
    /// listen backlog (they are accepted when a connection closes); keep it below the process's
    /// open-file limit.
    pub max_connections: usize,
    /// After the shutdown signal: how long in-flight calls may take to finish (default 30 s);
    /// connections still busy then are closed.
    pub shutdown_timeout: Duration,
    /// HTTP/2: the most streams (calls) in flight on one connection (default 200, advertised as
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`). A stream over it is refused (`RST_STREAM
    /// REFUSED_STREAM`, which the client may retry); the handler never runs.
    pub max_concurrent_streams: u32,
    /// HTTP/2: the largest request header list, decoded, in bytes (default 16 KiB, advertised as
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`). A larger one is answered `431`; one far larger, or one
    /// spread over too many `CONTINUATION` frames, ends the connection (`GOAWAY`). HTTP/1 heads
    /// are bounded by hyper's read buffer (about 400 KiB) and 100 headers.
    pub max_header_list_size: u32,
    /// HTTP/2 rapid reset (CVE-2023-44487): how many streams the client may open and reset
    /// before the server took them up, at once, before the connection is ended with `GOAWAY
    /// ENHANCE_YOUR_CALM` (default 20).
    pub max_pending_accept_reset_streams: usize,
    /// HTTP/2: how many streams the server may reset because of the client's errors (a stream
    /// over `max_concurrent_streams`, a malformed request) over the connection's life before it
    /// is ended with `GOAWAY ENHANCE_YOUR_CALM` (default 1,024).
    pub max_local_error_reset_streams: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(30),
            max_concurrent_streams: 200,
            max_header_list_size: 16 * 1024,
            max_pending_accept_reset_streams: 20,
            max_local_error_reset_streams: 1024,
        }
    }
}

impl ServeConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets [`ServeConfig::header_read_timeout`].
    pub fn header_read_timeout(mut self, d: Duration) -> Self {
        self.header_read_timeout = d;
        self
    }
    /// Sets [`ServeConfig::idle_timeout`].
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }
    /// Sets [`ServeConfig::max_connections`] (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }
    /// Sets [`ServeConfig::shutdown_timeout`].
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }
    /// Sets [`ServeConfig::max_concurrent_streams`] (at least 1).
    pub fn max_concurrent_streams(mut self, n: u32) -> Self {
        self.max_concurrent_streams = n.max(1);
        self
    }
    /// Sets [`ServeConfig::max_header_list_size`].
    pub fn max_header_list_size(mut self, n: u32) -> Self {
        self.max_header_list_size = n;
        self
    }
    /// Sets [`ServeConfig::max_pending_accept_reset_streams`].
    pub fn max_pending_accept_reset_streams(mut self, n: usize) -> Self {
        self.max_pending_accept_reset_streams = n;
        self
    }
    /// Sets [`ServeConfig::max_local_error_reset_streams`].
    pub fn max_local_error_reset_streams(mut self, n: usize) -> Self {
        self.max_local_error_reset_streams = n;
        self
    }
}

/// Serves `router` on `listener` until the process ends (or the task is dropped), with the
/// default [`ServeConfig`].
pub async fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> std::io::Result<()> {
    serve_with_config(listener, router, ServeConfig::default(), std::future::pending()).await
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests
/// (at most [`ServeConfig::shutdown_timeout`], default 30 s), with the default [`ServeConfig`].
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_config(listener, router, ServeConfig::default(), shutdown).await
}

/// Serves `router` on `listener` (HTTP/1.1 and HTTP/2 without TLS, as [`axum::serve()`]) with the
/// limits of `config`, until `shutdown` resolves. Then it stops accepting, lets every
/// connection finish its in-flight calls (idle ones close at once; HTTP/2 gets a GOAWAY) for
/// at most [`ServeConfig::shutdown_timeout`], and returns.
pub async fn serve_with_config(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // HTTP/1 has no timer: its header-read timeout is the connection watchdog's (hyper's own
    // costs a boxed timer per request; see `serve_connection`).
    builder.http1().header_read_timeout(None).keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.idle_timeout)
        .keep_alive_timeout(config.header_read_timeout)
        .max_concurrent_streams(config.max_concurrent_streams)
        .max_header_list_size(config.max_header_list_size)
        .max_pending_accept_reset_streams(config.max_pending_accept_reset_streams)
        .max_local_error_reset_streams(config.max_local_error_reset_streams);
    let builder = Arc::new(builder);
    let permits = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let shutdown = shutdown;
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        // Past the cap, connections wait in the listen backlog until one closes.
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Per-connection failures (reset before accept) are nothing; others (out of
                    // file descriptors) pass with time.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionRefused
                    ) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(
            builder.clone(),
            router.clone(),
            stream,
            config.clone(),
            stop_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_timeout, drain).await.is_err() {
        connections.shutdown().await;
    }
    Ok(())
}

/// What a connection is doing, as its calls and its socket see it: calls in flight (a call lasts
/// until its response body has given its last frame, so a server stream counts), whether one was
/// seen, whether it speaks HTTP/2, when the count last dropped to zero, how many response bodies
/// gave a frame that the client has not taken yet, and whether bytes came in since the last call
/// ended (the next HTTP/1 request head has begun). Calls, frames and reads only touch atomics (no
/// lock, no wake-up, no timer, no clock but the end of a call's): the connection's one timer
/// reads them when it fires.
struct Activity {
    in_flight: AtomicUsize,
    seen: AtomicBool,
    http2: AtomicBool,
    /// When the last call ended, in nanoseconds since `epoch` (0: none ended yet).
    idle_since: AtomicU64,
    /// `idle_since + 1` as it was when bytes were last read with no call in flight (0: never).
    /// Equal to `idle_since + 1` now: bytes came in since the last call ended.
    head_begun: AtomicU64,
    /// Frames given by response bodies that were not polled again yet (`parks`), and how many of
    /// those were polled again (or dropped) since (`unparks`). `parks - unparks` bodies wait for
    /// the client to take their data (its flow-control window or its socket); `parks` grows with
    /// every frame a server stream sends.
    parks: AtomicU64,
    unparks: AtomicU64,
    epoch: tokio::time::Instant,
}

/// One call in flight; dropped when its response body has given its last frame (or is dropped).
struct CallGuard(Arc<Activity>);

impl Activity {
    fn enter(this: &Arc<Activity>, http2: bool) -> CallGuard {
        this.in_flight.fetch_add(1, Ordering::SeqCst);
        if !this.seen.load(Ordering::Relaxed) {
            this.seen.store(true, Ordering::SeqCst);
            this.http2.store(http2, Ordering::SeqCst);
        }
        CallGuard(this.clone())
    }

    /// When the connection became idle (the end of its last call, or its start).
    fn idle_since(&self) -> tokio::time::Instant {
        self.epoch + Duration::from_nanos(self.idle_since.load(Ordering::SeqCst))
    }

    /// Bytes were read: with no call in flight they begin the next request head (HTTP/1; HTTP/2
    /// reads are ignored). Two relaxed loads, a store only for the first read of a head.
    fn read(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let mark = self.idle_since.load(Ordering::Relaxed).wrapping_add(1);
            if self.head_begun.load(Ordering::Relaxed) != mark {
                self.head_begun.store(mark, Ordering::Relaxed);
            }
        }
    }

    /// With no call in flight: `Some(mark)` when bytes came in since the last call ended
    /// (`mark` names that wait; it changes when the next call ends).
    fn head_begun(&self) -> Option<u64> {
        let mark = self.idle_since.load(Ordering::SeqCst).wrapping_add(1);
        (self.head_begun.load(Ordering::SeqCst) == mark).then_some(mark)
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        // Before the count drops: a watchdog that sees zero calls sees this end (or a later one).
        let since = u64::try_from(self.0.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0.idle_since.fetch_max(since, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that holds its call's [`CallGuard`] until it has given its last frame (a
/// unary answer: its only frame), and counts the frames it gave that were not taken yet.
struct GuardedBody {
    inner: Body,
    guard: Option<CallGuard>,
    /// A frame was given and the body not polled since (counted in `Activity::parks`).
    parked: bool,
}

impl GuardedBody {
    fn unpark(&mut self) {
        if std::mem::take(&mut self.parked) {
            if let Some(guard) = &self.guard {
                guard.0.unparks.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        this.unpark();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let (std::task::Poll::Ready(frame), Some(guard)) = (&polled, &this.guard) {
            match frame {
                Some(Ok(_)) if !this.inner.is_end_stream() => {
                    // Hyper polls again once the client has room for it: until then the call
                    // waits on the client (a server stream between messages).
                    guard.0.parks.fetch_add(1, Ordering::SeqCst);
                    this.parked = true;
                }
                // The last frame (a unary answer's only one), an error or the end: the call is
                // over even if the client never takes it.
                _ => this.guard = None,
            }
        }
        polled
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for GuardedBody {
    fn drop(&mut self) {
        self.unpark();
    }
}

/// The connection's socket, as hyper sees it: reads tell [`Activity::read`] (one relaxed load
/// when a call is in flight); writes pass through.
struct WatchedIo {
    io: tokio::net::TcpStream,
    activity: Arc<Activity>,
}

impl tokio::io::AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Serves one connection: hyper does the protocol; this watchdog closes the connection when it
/// waits on its client too long, and on shutdown. The connection waits on its client when no call
/// is in flight, or when every call in flight is a response body whose last frame the client has
/// not taken and no frame was taken since the watchdog last looked (a client that stopped
/// reading: its HTTP/2 window or its socket is full). Limits on that wait:
/// - before the first call, `header_read_timeout` from the start (a client that never completes a
///   request head, HTTP/2 and the protocol sniffing included), then the connection is dropped;
/// - HTTP/1 between calls, `idle_timeout` until the first byte of the next request head, then
///   `header_read_timeout` from when the watchdog saw that byte (it looks every `period` while
///   the connection is idle), then the connection is dropped;
/// - otherwise `idle_timeout`, then a graceful close (HTTP/2 `GOAWAY`) with a second of grace.
///
/// The watchdog is one timer per connection, re-armed only when it fires: calls do not wake the
/// connection's task or touch the timer wheel (that cost more per call than the call's own
/// routing). When it fires it reads [`Activity`] and either acts or sleeps until the earliest
/// moment it could have to (at most `period` ahead).
async fn serve_connection(
    builder: Arc<hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>>,
    router: axum::Router,
    stream: tokio::net::TcpStream,
    config: ServeConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
    _permit: tokio::sync::OwnedSemaphorePermit,
) {
    /// How long a connection asked to close may stay idle before it is dropped.
    const CLOSE_GRACE: Duration = Duration::from_secs(1);
    let epoch = tokio::time::Instant::now();
    let activity = Arc::new(Activity {
        in_flight: AtomicUsize::new(0),
        seen: AtomicBool::new(false),
        http2: AtomicBool::new(false),
        idle_since: AtomicU64::new(0),
        head_begun: AtomicU64::new(0),
        parks: AtomicU64::new(0),
        unparks: AtomicU64::new(0),
        epoch,
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let guard = Activity::enter(&activity, req.version() == http::Version::HTTP_2);
            let call = tower::ServiceExt::oneshot(router.clone(), req.map(Body::new));
            async move {
                let resp = match call.await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                Ok::<_, std::convert::Infallible>(resp.map(|inner| GuardedBody {
                    inner,
                    guard: Some(guard),
                    parked: false,
                }))
            }
        })
    };
    let io = WatchedIo { io: stream, activity: activity.clone() };
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(conn);
    // How often the watchdog looks at a connection that is not waiting on its client, or that
    // waits between HTTP/1 calls.
    let period = (config.header_read_timeout.min(config.idle_timeout) / 2).max(Duration::from_millis(10));
    let watchdog = tokio::time::sleep_until(epoch + config.header_read_timeout);
    tokio::pin!(watchdog);
    // Set once the connection was asked to close: from then on, waiting a second is the end.
    let mut closing: Option<tokio::time::Instant> = None;
    // Every call in flight waits on the client: (`parks` then, when the watchdog first saw it).
    let mut stalled: Option<(u64, tokio::time::Instant)> = None;
    // An HTTP/1 request head has begun: (its mark, when the watchdog first saw it).
    let mut head: Option<(u64, tokio::time::Instant)> = None;
    if *stop.borrow() {
        conn.as_mut().graceful_shutdown();
        closing = Some(epoch);
        watchdog.as_mut().reset(epoch + CLOSE_GRACE);
    }
    loop {
        tokio::select! {
            biased;
            _ = conn.as_mut() => return,
            _ = watchdog.as_mut() => {
                let now = tokio::time::Instant::now();
                let in_flight = activity.in_flight.load(Ordering::SeqCst);
                // Since when the connection has been waiting on its client.
                let mut waiting_since = if in_flight == 0 {
                    stalled = None;
                    activity.idle_since()
                } else {
                    let unparks = activity.unparks.load(Ordering::SeqCst);
                    let parks = activity.parks.load(Ordering::SeqCst);
                    if parks.saturating_sub(unparks) < in_flight as u64 {
                        // Busy: a handler runs, or a response flows.
                        stalled = None;
                        let recheck = if closing.is_some() { period.min(CLOSE_GRACE) } else { period };
                        watchdog.as_mut().reset(now + recheck);
                        continue;
                    }
                    match stalled {
                        Some((p, since)) if p == parks => since,
                        _ => stalled.insert((parks, now)).1,
                    }
                };
                let seen = activity.seen.load(Ordering::SeqCst);
                let limit = match closing {
                    Some(at) => {
                        waiting_since = waiting_since.max(at);
                        CLOSE_GRACE
                    }
                    None if !seen => config.header_read_timeout,
                    None if activity.http2.load(Ordering::SeqCst) => config.idle_timeout,
                    None => match activity.head_begun().filter(|_| in_flight == 0) {
                        Some(mark) => {
                            // HTTP/1: the next request head has begun; it has
                            // `header_read_timeout` from when it was first seen.
                            let since = match head {
                                Some((m, since)) if m == mark => since,
                                _ => head.insert((mark, now)).1,
                            };
                            if now >= since + config.header_read_timeout {
                                return;
                            }
                            watchdog.as_mut().reset(since + config.header_read_timeout);
                            continue;
                        }
                        None => config.idle_timeout,
                    },
                };
                if now < waiting_since + limit {
                    watchdog.as_mut().reset((waiting_since + limit).min(now + period));
                    continue;
                }
                // After the grace of a close, or before any request (nothing to be graceful
                // about: the client never completed a request head), drop it.
                if closing.is_some() || !seen {
                    return;
                }
                conn.as_mut().graceful_shutdown();
                closing = Some(now);
                watchdog.as_mut().reset(now + CLOSE_GRACE);
            }
            r = stop.changed(), if closing.is_none() => {
                if r.is_err() || *stop.borrow() {
                    conn.as_mut().graceful_shutdown();
                    let now = tokio::time::Instant::now();
                    closing = Some(now);
                    watchdog.as_mut().reset(now + CLOSE_GRACE);
                }
            }
        }
    }
}

thread_local! {
    /// One deflate and one inflate state per worker thread, reset for each body: building them
    /// (tens to hundreds of KiB, zeroed) cost more than compressing a small body.
    static DEFLATE: std::cell::RefCell<flate2::Compress> =
        std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), false));
    static INFLATE: std::cell::RefCell<flate2::Decompress> =
        std::cell::RefCell::new(flate2::Decompress::new(false));
}

/// The gzip header we write: no name, no time, "fastest" (XFL 4), OS unknown.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];

/// Gzips `data` (one member, fast level) with this thread's deflate state.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    out.extend_from_slice(&GZIP_HEADER);
    DEFLATE.with(|cell| {
        let mut deflate = cell.borrow_mut();
        deflate.reset();
        let start_in = deflate.total_in();
        loop {
            let consumed = (deflate.total_in() - start_in) as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            match deflate.compress_vec(&data[consumed..], &mut out, flate2::FlushCompress::Finish) {
                Ok(flate2::Status::StreamEnd) => break,
                Ok(_) => {}
                // Deflating a byte slice into a growing Vec does not fail.
                Err(_) => unreachable!("deflate into a Vec failed"),
            }
        }
    });
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Gunzips the first member of `data` with this thread's inflate state: `Ok(None)` as soon as
/// the output would pass `limit` bytes (a gzip bomb stops there), `Err` for malformed input.
fn gunzip(data: &[u8], limit: usize) -> Result<Option<Vec<u8>>, &'static str> {
    const FTEXT_MASK: u8 = 0xe0;
    let [0x1f, 0x8b, method, flags, _, _, _, _, _, _, rest @ ..] = data else {
        return Err("not a gzip stream");
    };
    if *method != 8 || flags & FTEXT_MASK != 0 {
        return Err("unsupported gzip header");
    }
    let mut rest = rest;
    if flags & 0x04 != 0 {
        // FEXTRA: a 2-byte length, then that many bytes.
        let [lo, hi, tail @ ..] = rest else { return Err("truncated gzip header") };
        let n = usize::from(u16::from_le_bytes([*lo, *hi]));
        rest = tail.get(n..).ok_or("truncated gzip header")?;
    }
    for flag in [0x08, 0x10] {
        // FNAME, FCOMMENT: zero-terminated.
        if flags & flag != 0 {
            let end = rest.iter().position(|&b| b == 0).ok_or("truncated gzip header")?;
            rest = &rest[end + 1..];
        }
    }
    if flags & 0x02 != 0 {
        // FHCRC
        rest = rest.get(2..).ok_or("truncated gzip header")?;
    }
    let mut out = Vec::with_capacity((rest.len() * 4).min(limit.saturating_add(1)).max(256));
    let consumed = INFLATE.with(|cell| {
        let mut inflate = cell.borrow_mut();
        inflate.reset(false);
        let start_in = inflate.total_in();
        loop {
            let read = (inflate.total_in() - start_in) as usize;
            if out.len() == out.capacity() {
                if out.len() > limit {
                    return Ok(None);
                }
                // Never grow past one byte over the limit.
                let room = out.capacity().min(limit + 1 - out.len()).max(1);
                out.reserve_exact(room);
            }
            let before = (inflate.total_in(), inflate.total_out());
            match inflate.decompress_vec(&rest[read..], &mut out, flate2::FlushDecompress::None) {
                Ok(flate2::Status::StreamEnd) => {
                    return Ok(Some((inflate.total_in() - start_in) as usize));
                }
                Ok(_) if (inflate.total_in(), inflate.total_out()) == before && out.len() < out.capacity() => {
                    return Err("truncated gzip stream");
                }
                Ok(_) => {}
                Err(_) => return Err("corrupt deflate stream"),
            }
        }
    })?;
    let Some(consumed) = consumed else { return Ok(None) };
    if out.len() > limit {
        return Ok(None);
    }
    let trailer = rest.get(consumed..consumed + 8).ok_or("truncated gzip trailer")?;
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    let (want_crc, want_len) = trailer.split_at(4);
    if crc.sum().to_le_bytes() != want_crc || (out.len() as u32).to_le_bytes() != want_len {
        return Err("gzip checksum mismatch");
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::{gunzip, gzip};
    use std::io::{Read, Write};

    /// What is allocated per call stays below glibc's large-chunk size (requests of 1,009 bytes
    /// and more are served from its large bins, after consolidating the fast bins: every small
    /// allocation of the call then misses the fast paths). axum boxes the `CallFuture`; the
    /// route handler's box holds `prepare`'s future or the handler's.
    /// The shape check as it was written first (a flag per byte), against the one in use.
    #[test]
    fn json_shape_check_agrees_with_the_plain_scan() {
        use super::{check_json_shape, ConnectError};
        fn check_json_shape_reference(
            body: &[u8],
            max_values: usize,
            max_depth: usize,
        ) -> Result<Option<u8>, ConnectError> {
            let start = body.iter().position(|b| !b.is_ascii_whitespace());
            let Some(start) = start else { return Ok(None) };
            let first = body[start];
            let body = &body[start..];
            let (mut values, mut depth) = (1usize, 0usize);
            let (mut in_string, mut escaped) = (false, false);
            for &b in body {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => {
                        depth += 1;
                        values += 1;
                        if depth > max_depth {
                            return Err(ConnectError::invalid_argument(format!(
                                "invalid request: nested deeper than {max_depth} levels"
                            )));
                        }
                    }
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    b',' => values += 1,
                    _ => continue,
                }
                if values > max_values {
                    return Err(ConnectError::resource_exhausted(format!(
                        "request body holds more than {max_values} JSON values"
                    )));
                }
            }
            Ok(Some(first))
        }
        let pieces: [&[u8]; 14] =
            [b"{", b"}", b"[", b"]", b",", b"\"", b"\\", b"a", b" ", b":", b"1", b"\"x\\\"\"", b"{\"k\":[1,2]}", b"\n"];
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        for _ in 0..20_000 {
            let mut body = Vec::new();
            for _ in 0..next() % 40 {
                body.extend_from_slice(pieces[(next() % 14) as usize]);
            }
            for (values, depth) in [(100_000, 64), (5, 2), (1, 1), (3, 64)] {
                let (got, want) =
                    (check_json_shape(&body, values, depth), check_json_shape_reference(&body, values, depth));
                let show = |r: &Result<Option<u8>, ConnectError>| {
                    format!("{:?}", r.as_ref().map_err(|e| (&e.code, &e.message)))
                };
                assert_eq!(show(&got), show(&want), "{:?}", String::from_utf8_lossy(&body));
            }
        }
    }

    /// An answer's buffer is reused only after hyper (here: the test) let go of the answer.
    #[tokio::test]
    async fn answer_buffers_are_reused_only_when_released() {
        use super::*;
        let hint = AtomicUsize::new(0);
        let pooled = || ANSWER_BUFFERS.with(|pool| pool.borrow().len());
        let answer = |n: u32| {
            let body = encode_answer(&serde_json::json!({ "n": n, "pad": "x".repeat(2000) }), &hint).unwrap();
            json_response(body, true, false, DEFAULT_COMPRESS_MIN_BYTES).into_body()
        };
        let first = axum::body::to_bytes(answer(1), usize::MAX).await.unwrap();
        let before = pooled();
        let second = axum::body::to_bytes(answer(2), usize::MAX).await.unwrap();
        assert!(first.starts_with(br#"{"n":1,"#) && second.starts_with(br#"{"n":2,"#));
        assert_eq!(pooled(), before, "both answers are still held");
        drop(first);
        assert_eq!(pooled(), before + 1);
        let third = axum::body::to_bytes(answer(3), usize::MAX).await.unwrap();
        assert_eq!(pooled(), before, "the third answer took the released buffer");
        assert!(second.starts_with(br#"{"n":2,"#) && third.starts_with(br#"{"n":3,"#));
    }

    #[test]
    fn per_call_futures_stay_small() {
        use super::*;
        let size = std::mem::size_of::<CallFuture>();
        assert!(size <= 192, "CallFuture is {size} bytes");
        let handler: Handler = Arc::new(|_call: Call| Box::pin(std::future::ready(Err(ConnectError::internal("")))));
        let route = Arc::new(Route::new(false, Kind::Unary, handler));
        let call = Call {
            router: Arc::new(ConnectRouter::new()),
            route,
            headers: HeaderMap::new(),
            uri: http::Uri::from_static("/a.B/C"),
            body: Body::empty(),
            deadline: None,
            framing: None,
            bearer_token: None,
        };
        let size = std::mem::size_of_val(&prepare(call));
        assert!(size <= 640, "prepare's future is {size} bytes");
    }

    #[test]
    fn gzip_round_trips_with_reused_state() {
        for len in [0usize, 1, 1000, 20_000, 300_000] {
            let data: Vec<u8> =
                (0..len).map(|i| b"{\"name\":\"runner\",\"n\":12}"[i % 24] ^ (i / 7 % 3) as u8).collect();
            let packed = gzip(&data);
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
            assert_eq!(gunzip(&packed, len).unwrap().unwrap(), data);
            if len > 0 {
                assert!(gunzip(&packed, len - 1).unwrap().is_none(), "over the limit");
            }
        }
    }

    #[test]
    fn gunzip_reads_headers_and_rejects_bad_input() {
        let mut enc = flate2::GzBuilder::new()
            .filename("a.json")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), flate2::Compression::best());
        enc.write_all(b"{\"a\":1}").unwrap();
        let packed = enc.finish().unwrap();
        assert_eq!(gunzip(&packed, 100).unwrap().unwrap(), b"{\"a\":1}");
        assert!(gunzip(b"{}", 100).is_err());
        assert!(gunzip(&packed[..packed.len() - 4], 100).is_err(), "truncated trailer");
        assert!(gunzip(&packed[..packed.len() - 12], 100).is_err(), "truncated stream");
        let mut corrupt = packed.clone();
        let n = corrupt.len();
        corrupt[n - 8] ^= 1;
        assert!(gunzip(&corrupt, 100).is_err(), "bad crc");
    }
}
