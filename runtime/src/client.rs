//! Connect JSON client: [`Transport`] (one per API client, cheap to clone), [`ClientConfig`],
//! per-call [`CallOptions`] and [`paginate`].
//!
//! Behaviour follows the official SDKs: `POST {base}/{procedure}` with a JSON body, bearer token,
//! 60 s timeout, 2 retries with exponential backoff (`min(0.5·2^n, 8)` s, jitter) or the server's
//! `retry-after-ms` / `Retry-After` (up to 60 s). Unlike the SDKs:
//!
//! - the timeout is a deadline for the whole call (all attempts and the sleeps between them),
//!   not for one attempt;
//! - 409 (`already_exists`, `aborted`) and 501 (`unimplemented`) are never retried;
//! - there are two retry policies. [`Transport::unary`] / [`Transport::unary_page`] (idempotent
//!   calls) retry as the SDKs do: connection errors, timeouts, 408, 429 and 5xx.
//!   [`Transport::unary_non_idempotent`] (e.g. `Create*`) retries only when the request provably
//!   was not processed: the connection could not be established, the server answered 429 or 503,
//!   or it sent `x-should-retry: true`.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{redact_json_excerpt, redact_message, truncate, ConnectError, Error};
use crate::redact::Redacted;
pub use crate::stream::Framing;
use crate::stream::{Frame, FrameDecoder};

mod hooks;
mod options;
mod response;
pub use hooks::{ClientHook, HookFuture, HookRequest, HookResponse};
pub use options::IDEMPOTENCY_KEY_HEADER;
pub use response::Response;

/// The default base URL of the Gitpod API.
pub const DEFAULT_BASE_URL: &str = "https://app.gitpod.io/api";
/// The default timeout of a call (a deadline covering every attempt and the sleeps between them).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The default base of the exponential backoff (the first retry waits about this long).
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest computed backoff between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The longest server-requested delay (`Retry-After`, `retry-after-ms`) that is honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The default limit of a response body (after decompression) and of one stream message: 4 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// How much of an error (non-200) body is read: 64 KiB; the rest is not read (the connection
/// is closed instead of drained), so a huge error body costs no more than this per attempt.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// The default page limit of a `*_stream` over pages ([`Transport::paginate`]).
pub const DEFAULT_MAX_PAGES: u64 = 10_000;
/// Environment variable holding the API token.
pub const ENV_API_KEY: &str = "GITPOD_API_KEY";
/// Environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "GITPOD_BASE_URL";
/// The `User-Agent` sent by default: `gitpod-runtime/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// Client configuration. `Debug` never shows the token, nor credentials in the base URL
/// (`https://user:pw@host` prints as `https://<redacted>@host`).
#[derive(Clone)]
pub struct ClientConfig {
    max_response_bytes: usize,
    max_pages: u64,
    base_url: Option<String>,
    bearer_token: Option<String>,
    timeout: Duration,
    max_retries: u32,
    user_agent: String,
    backoff_base: Duration,
    http_client: Option<reqwest::Client>,
    stream_idle_timeout: Option<Duration>,
    stream_framing: Framing,
    hooks: Vec<Arc<dyn ClientHook>>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_deref().map(redact_url))
            .field("bearer_token", &Redacted(&self.bearer_token))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_pages", &self.max_pages)
            .field("user_agent", &self.user_agent)
            .field("backoff_base", &self.backoff_base)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("stream_framing", &self.stream_framing)
            .field("hooks", &self.hooks.len())
            .finish_non_exhaustive()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientConfig {
    /// Defaults: base URL from `GITPOD_BASE_URL` or `https://app.gitpod.io/api`, token from
    /// `GITPOD_API_KEY` (both read by [`Transport::new`] when not set here), 60 s timeout, 2 retries.
    pub fn new() -> Self {
        ClientConfig {
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_pages: DEFAULT_MAX_PAGES,
            base_url: None,
            bearer_token: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            backoff_base: DEFAULT_BACKOFF_BASE,
            http_client: None,
            stream_idle_timeout: None,
            stream_framing: Framing::Jsonl,
            hooks: Vec::new(),
        }
    }

    /// Like [`ClientConfig::new`], with `GITPOD_BASE_URL` and `GITPOD_API_KEY` read now.
    pub fn from_env() -> Self {
        let mut c = Self::new();
        c.base_url = env_nonempty(ENV_BASE_URL);
        c.bearer_token = env_nonempty(ENV_API_KEY);
        c
    }

    /// The base URL, e.g. `http://127.0.0.1:8080` or `https://app.gitpod.io/api`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The bearer token sent as `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// The timeout of a call (default 60 s): a deadline for the whole call, retries and backoff
    /// included. Each attempt gets the time that remains and sends it as `Connect-Timeout-Ms`;
    /// when it passes the call fails with [`Error::Timeout`] holding this duration.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Retries after the first attempt (default 2; 0 disables retries).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The largest response body accepted, counted after decompression (default 4 MiB,
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]); also the largest message of a server stream. The body is
    /// read chunk by chunk and reading stops at the limit, so a huge (or endless, or gzip-bomb)
    /// answer costs at most this much memory: the call fails with [`Error::ResponseTooLarge`]
    /// and is not retried. Per call: [`CallOptions::max_response_bytes`]. Error (non-200) bodies
    /// are read up to [`MAX_ERROR_BODY_BYTES`] only.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// The most pages a `*_stream` over pages fetches (default 10,000, [`DEFAULT_MAX_PAGES`]):
    /// when the last allowed page still has a `nextToken`, its items are yielded and then
    /// [`Error::TooManyPages`] ends the stream. Per call: [`CallOptions::max_pages`].
    pub fn max_pages(mut self, n: u64) -> Self {
        self.max_pages = n;
        self
    }

    /// The `User-Agent` header (default `gitpod-runtime/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Uses this reqwest client (proxies, custom roots, ...) instead of building one.
    /// Its own timeout settings should not be shorter than the configured timeout.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Server streams: fail with [`Error::Timeout`] when no bytes arrive for this long once the
    /// stream is open (default: none, a watch may be quiet for hours). Per stream:
    /// [`ResponseStream::idle_timeout`].
    pub fn stream_idle_timeout(mut self, d: Duration) -> Self {
        self.stream_idle_timeout = Some(d);
        self
    }

    /// Server streams: the framing to ask for (default [`Framing::Jsonl`], as the official SDKs).
    /// Per stream: [`ResponseStream::framing`].
    pub fn stream_framing(mut self, framing: Framing) -> Self {
        self.stream_framing = framing;
        self
    }

    /// Adds a [`ClientHook`] (middleware) that runs around every attempt of every call, in the
    /// order hooks were added: e.g. one that sets `authorization` from a token provider.
    pub fn hook(mut self, hook: impl ClientHook) -> Self {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// The base of the exponential backoff (default 500 ms, as the SDKs). For tests.
    #[doc(hidden)]
    pub fn backoff_base(mut self, d: Duration) -> Self {
        self.backoff_base = d;
        self
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Per-call overrides of the client configuration. `#[non_exhaustive]`: build it with
/// [`CallOptions::new`] and the setters, so options can be added without breaking callers.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// Timeout of this call: a deadline for all its attempts (see [`ClientConfig::timeout`]).
    pub timeout: Option<Duration>,
    /// Retries for this call.
    pub max_retries: Option<u32>,
    /// The response size limit of this call (see [`ClientConfig::max_response_bytes`]).
    pub max_response_bytes: Option<usize>,
    /// The page limit of a `*_stream` (see [`ClientConfig::max_pages`]).
    pub max_pages: Option<u64>,
    /// Headers, query parameters and body fields this call adds ([`CallOptions::header`],
    /// [`CallOptions::query_param`], [`CallOptions::extra_field`], [`CallOptions::idempotency_key`]).
    /// (Behind an `Arc`: cheap to clone, and a transport stays small.)
    pub(crate) extras: Arc<options::Extras>,
}

impl CallOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// Sets the retries.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }
    /// Sets the response size limit.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = Some(n);
        self
    }
    /// Sets the page limit of a `*_stream`.
    pub fn max_pages(mut self, n: u64) -> Self {
        self.max_pages = Some(n);
        self
    }
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    /// `base_url` parsed: each call's URL is a clone with the path set.
    url: reqwest::Url,
    /// `{base}/{procedure}` of the plain procedures called so far (at most [`MAX_CACHED_URLS`]).
    urls: std::sync::RwLock<std::collections::HashMap<Box<str>, reqwest::Url>>,
    token: String,
    /// The headers of every unary request, built once: content type, accept, protocol version,
    /// user agent and the token (a sensitive value). Streams replace content type and accept.
    headers: http::HeaderMap,
    timeout: Duration,
    max_retries: u32,
    backoff_base: Duration,
    stream_idle_timeout: Option<Duration>,
    stream_framing: Framing,
    max_response_bytes: usize,
    max_pages: u64,
    hooks: Vec<Arc<dyn ClientHook>>,
}

/// The transport every generated client method calls. Cheap to clone (an `Arc` inside).
/// `Debug` never shows the token nor credentials in the base URL.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
    opts: CallOptions,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &redact_url(&self.inner.base_url))
            .field("bearer_token", &Redacted(&self.inner.token))
            .field("timeout", &self.effective_timeout())
            .field("max_retries", &self.effective_retries())
            .field("max_response_bytes", &self.effective_max_response_bytes())
            .field("max_pages", &self.effective_max_pages())
            .finish_non_exhaustive()
    }
}

/// Which requests may be sent again after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RetryPolicy {
    /// The SDKs' policy: connection errors, timeouts, 408, 429, 5xx (not 501), `x-should-retry`.
    Idempotent,
    /// Only when the request provably was not processed: connect errors, 429, 503,
    /// `x-should-retry: true`.
    NonIdempotent,
}

/// The outcome of one attempt.
enum Attempt<T> {
    Done(Result<T, Error>),
    Retry { error: Error, delay: Option<Duration> },
}

impl Transport {
    /// Builds the transport. Reads `GITPOD_BASE_URL` / `GITPOD_API_KEY` for what the config does
    /// not set; [`Error::Config`] when there is no token anywhere or the base URL is invalid.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let base_url = config
            .base_url
            .clone()
            .or_else(|| env_nonempty(ENV_BASE_URL))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = base_url.trim_end_matches('/').to_owned();
        let url = match reqwest::Url::parse(&base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
            _ => return Err(Error::Config(format!("invalid base URL {:?}", redact_url(&base_url)))),
        };
        let token = config.bearer_token.clone().or_else(|| env_nonempty(ENV_API_KEY)).ok_or_else(|| {
            Error::Config(format!(
                "no API token: set one with ClientConfig::bearer_token or in the {ENV_API_KEY} environment variable"
            ))
        })?;
        let Ok(mut authorization) = http::HeaderValue::from_str(&format!("Bearer {token}")) else {
            return Err(Error::Config("the API token contains characters not allowed in a header".into()));
        };
        authorization.set_sensitive(true);
        let user_agent = http::HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::Config("the user agent contains characters not allowed in a header".into()))?;
        let mut headers = http::HeaderMap::with_capacity(8);
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
        headers.insert(CONNECT_PROTOCOL_VERSION, http::HeaderValue::from_static("1"));
        headers.insert(http::header::USER_AGENT, user_agent);
        headers.insert(http::header::AUTHORIZATION, authorization);
        let http = match config.http_client {
            Some(c) => c,
            None => reqwest::Client::builder()
                .gzip(true)
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                base_url,
                url,
                urls: Default::default(),
                token,
                headers,
                timeout: config.timeout,
                max_retries: config.max_retries,
                backoff_base: config.backoff_base,
                stream_idle_timeout: config.stream_idle_timeout,
                stream_framing: config.stream_framing,
                max_response_bytes: config.max_response_bytes,
                max_pages: config.max_pages,
                hooks: config.hooks,
            }),
            opts: CallOptions::default(),
        })
    }

    /// A transport sharing this one's connection pool, with per-call overrides applied on top of
    /// the current ones.
    pub fn with_options(&self, opts: CallOptions) -> Self {
        Transport {
            inner: self.inner.clone(),
            opts: CallOptions {
                timeout: opts.timeout.or(self.opts.timeout),
                max_retries: opts.max_retries.or(self.opts.max_retries),
                max_response_bytes: opts.max_response_bytes.or(self.opts.max_response_bytes),
                max_pages: opts.max_pages.or(self.opts.max_pages),
                extras: Arc::new(self.opts.extras.merged(&opts.extras)),
            },
        }
    }

    /// The base URL in use (without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    fn effective_timeout(&self) -> Duration {
        self.opts.timeout.unwrap_or(self.inner.timeout)
    }

    fn effective_retries(&self) -> u32 {
        self.opts.max_retries.unwrap_or(self.inner.max_retries)
    }

    fn effective_max_response_bytes(&self) -> usize {
        self.opts.max_response_bytes.unwrap_or(self.inner.max_response_bytes)
    }

    fn effective_max_pages(&self) -> u64 {
        self.opts.max_pages.unwrap_or(self.inner.max_pages)
    }

    /// [`paginate`] with this transport's page limit ([`ClientConfig::max_pages`],
    /// [`CallOptions::max_pages`]): what generated `*_stream` methods call.
    pub fn paginate<Fetch: FetchPage, Split: SplitPage<Fetch::Page>>(
        &self,
        fetch: Fetch,
        split: Split,
    ) -> impl Stream<Item = Result<Split::Item, Error>> + Send + 'static {
        paginate_with_limit(self.effective_max_pages(), fetch, split)
    }

    /// One unary call of an **idempotent** procedure: `POST {base}/{procedure}` with `req` as
    /// JSON; decodes the 200 body. `procedure` is `gitpod.v1.Service/Method` (a leading `/` is
    /// allowed).
    ///
    /// Retries (up to `max_retries`, within the call's deadline) as the official SDKs do: on
    /// connection errors, on attempts that timed out, on 408, 429 and 5xx, and whenever the
    /// server sends `x-should-retry: true` (`x-should-retry: false` disables the retry). Never on
    /// 409 or 501. Such a request may be sent again after the server processed it, so use
    /// [`Transport::unary_non_idempotent`] for procedures that must not run twice (`Create*`).
    ///
    /// The timeout (client or [`CallOptions::timeout`]) is a deadline for the whole call; when it
    /// passes the call fails with [`Error::Timeout`].
    pub async fn unary<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        req: &Req,
    ) -> Result<Resp, Error> {
        let body = serde_json::to_vec(req).map_err(|e| Error::Encode(e.to_string()))?;
        self.call(procedure, body, Vec::new(), RetryPolicy::Idempotent).await.map(|a| a.message)
    }

    /// [`Transport::unary`] returning the message with the answer's status, headers and request id.
    pub async fn unary_with_response<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        req: &Req,
    ) -> Result<Response<Resp>, Error> {
        let body = serde_json::to_vec(req).map_err(|e| Error::Encode(e.to_string()))?;
        self.call(procedure, body, Vec::new(), RetryPolicy::Idempotent).await.map(Answer::into_response)
    }

    /// One unary call of a **non-idempotent** procedure (e.g. `CreateRunner`): like
    /// [`Transport::unary`], but it is retried only when the request provably was not processed:
    ///
    /// - the connection could not be established (nothing was sent);
    /// - the server answered 429 or 503 (it refused the work);
    /// - the server sent `x-should-retry: true` (except on 409 and 501, never retried).
    ///
    /// It is never retried after a timeout, a connection lost after the request was sent, 408,
    /// 500, 502 or 504, nor when the server sends `x-should-retry: false`: the server may have
    /// committed the request. The timeout is a deadline for the whole call, as for `unary`.
    pub async fn unary_non_idempotent<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        req: &Req,
    ) -> Result<Resp, Error> {
        let body = serde_json::to_vec(req).map_err(|e| Error::Encode(e.to_string()))?;
        self.call(procedure, body, Vec::new(), RetryPolicy::NonIdempotent).await.map(|a| a.message)
    }

    /// [`Transport::unary_non_idempotent`] returning the message with the answer's status,
    /// headers and request id.
    pub async fn unary_non_idempotent_with_response<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        req: &Req,
    ) -> Result<Response<Resp>, Error> {
        let body = serde_json::to_vec(req).map_err(|e| Error::Encode(e.to_string()))?;
        self.call(procedure, body, Vec::new(), RetryPolicy::NonIdempotent).await.map(Answer::into_response)
    }

    /// A call of a list method (idempotent; retried as [`Transport::unary`]). When `token` is set
    /// (and not empty) it is sent both as `?token=` in the query string, as the official SDKs
    /// send it, and as `pagination.token` in the JSON body (the `pagination` object is created
    /// when absent; its `pageSize` is kept), so a server that reads only the body pages correctly
    /// too. The request's `pagination.pageSize`, when set, is also sent as `pageSize=`.
    pub async fn unary_page<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        req: &Req,
        token: Option<&str>,
    ) -> Result<Resp, Error> {
        let mut value = serde_json::to_value(req).map_err(|e| Error::Encode(e.to_string()))?;
        let mut query = Vec::new();
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            query.push(("token".to_owned(), t.to_owned()));
            if let serde_json::Value::Object(body) = &mut value {
                let pagination =
                    body.entry("pagination").or_insert_with(|| serde_json::Value::Object(Default::default()));
                if !pagination.is_object() {
                    // `null` (unset) or something unexpected: replace it.
                    *pagination = serde_json::Value::Object(Default::default());
                }
                if let serde_json::Value::Object(p) = pagination {
                    p.insert("token".to_owned(), serde_json::Value::String(t.to_owned()));
                }
            }
        }
        if let Some(size) = value.get("pagination").and_then(|p| p.get("pageSize")) {
            let size = match size {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if let Some(s) = size {
                query.push(("pageSize".to_owned(), s));
            }
        }
        let body = serde_json::to_vec(&value).map_err(|e| Error::Encode(e.to_string()))?;
        self.call(procedure, body, query, RetryPolicy::Idempotent).await.map(|a| a.message)
    }

    /// The retry loop. The timeout is a deadline for the whole call: each attempt gets the time
    /// that remains, sleeps are clamped to it, and once it has passed the call fails with
    /// `Error::Timeout(timeout)`.
    async fn call<Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        body: Vec<u8>,
        mut query: Vec<(String, String)>,
        policy: RetryPolicy,
    ) -> Result<Answer<Resp>, Error> {
        let procedure = procedure.trim_start_matches('/');
        let span = tracing::debug_span!("gitpod.client.call", procedure, attempts = tracing::field::Empty);
        let body = self.opts.extras.apply_to_body(body)?;
        query.extend(self.opts.extras.query.iter().cloned());
        let url = self.url(procedure, &query)?;
        tracing::Instrument::instrument(self.call_inner(procedure, url, body, policy, span.clone()), span).await
    }

    /// `{base}/{procedure}?{query}`. A procedure of plain characters (letters, digits, `.`, `_`,
    /// `-`, `/`: every generated one) is the path of a clone of the base URL parsed in
    /// `Transport::new` (the host is not parsed again), and that URL is kept for the next call of
    /// the procedure; anything else (a `?` in it, say) goes through a full parse of
    /// `{base}/{procedure}`, as it always did.
    fn url(&self, procedure: &str, query: &[(String, String)]) -> Result<reqwest::Url, Error> {
        let procedure = procedure.trim_start_matches('/');
        let cached = self.inner.urls.read().ok().and_then(|urls| urls.get(procedure).cloned());
        let mut url = match cached {
            Some(url) => url,
            None => self.new_url(procedure)?,
        };
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        Ok(url)
    }

    #[cold]
    fn new_url(&self, procedure: &str) -> Result<reqwest::Url, Error> {
        let base = &self.inner.url;
        let plain = procedure.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
        if !(plain && base.query().is_none() && base.fragment().is_none()) {
            let url = format!("{}/{procedure}", self.inner.base_url);
            return reqwest::Url::parse(&url).map_err(|e| {
                Error::Config(format!("invalid request: builder error for url ({}): {e}", redact_url(&url)))
            });
        }
        let mut url = base.clone();
        url.set_path(&format!("{}/{procedure}", base.path().trim_end_matches('/')));
        if let Ok(mut urls) = self.inner.urls.write() {
            if urls.len() < MAX_CACHED_URLS {
                urls.insert(procedure.into(), url.clone());
            }
        }
        Ok(url)
    }

    async fn call_inner<Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        url: reqwest::Url,
        body: Vec<u8>,
        policy: RetryPolicy,
        span: tracing::Span,
    ) -> Result<Answer<Resp>, Error> {
        let timeout = self.effective_timeout();
        let retries = self.effective_retries();
        let deadline = tokio::time::Instant::now() + timeout;
        // The call's one deadline timer: every attempt races it, a backoff that would pass it
        // waits for it. (Registered when first polled, i.e. once the first attempt waits.)
        let expired = tokio::time::sleep_until(deadline);
        tokio::pin!(expired);
        let body = bytes::Bytes::from(body);
        let mut attempt: u32 = 0;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Err(Error::Timeout(timeout));
            }
            span.record("attempts", attempt + 1);
            let attempt_span = tracing::debug_span!(
                "gitpod.client.attempt",
                procedure,
                attempt,
                status = tracing::field::Empty,
                code = tracing::field::Empty
            );
            let call = AttemptCall { procedure, url: &url, remaining, timeout, policy, attempt };
            let outcome = tracing::Instrument::instrument(
                self.attempt::<Resp>(call, body.clone(), expired.as_mut(), attempt_span.clone()),
                attempt_span,
            )
            .await;
            match outcome {
                Attempt::Done(r) => return r,
                Attempt::Retry { error, delay } => {
                    if attempt >= retries {
                        return Err(error);
                    }
                    let delay = delay.unwrap_or_else(|| self.backoff(attempt));
                    tracing::debug!(
                        procedure,
                        attempt,
                        code = error.code().as_str(),
                        delay_ms = delay.as_millis() as u64,
                        "gitpod.client.retry"
                    );
                    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if delay >= remaining {
                        // The next attempt could not start before the deadline.
                        expired.as_mut().await;
                        return Err(Error::Timeout(timeout));
                    }
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// A call of a **server-streaming** procedure: a lazy [`ResponseStream`] of its messages. The
    /// request is sent when the stream is first polled.
    ///
    /// - JSONL (default, as the SDKs): `POST` with the JSON request and `Accept: application/jsonl`,
    ///   one message per line; Connect ([`Framing::Connect`]): `Content-Type: application/connect+json`
    ///   and envelopes. Each message is yielded as soon as its line / envelope has arrived.
    /// - Opening the stream (until the response headers) is bounded by the call's timeout and
    ///   retried as [`Transport::unary`] is (connection errors, 408, 429, 5xx, `Retry-After`).
    ///   Once the server answered 200 nothing is retried: a failure is yielded and ends the stream.
    /// - An error line, an end-of-stream error or a non-200 answer is [`Error::Connect`]; no bytes
    ///   for the idle timeout (if set) is [`Error::Timeout`]. The stream ends after an error.
    /// - Dropping the stream closes the connection (the server stops producing).
    pub fn server_stream<Req: Serialize, Resp: DeserializeOwned + Send + 'static>(
        &self,
        procedure: &str,
        req: &Req,
    ) -> ResponseStream<Resp> {
        let body = serde_json::to_vec(req)
            .map_err(|e| Error::Encode(e.to_string()))
            .and_then(|b| self.opts.extras.apply_to_body(b));
        ResponseStream {
            pending: Some(PendingCall {
                transport: self.clone(),
                url: format!("{}/{}", self.inner.base_url, procedure.trim_start_matches('/')),
                body,
                idle_timeout: self.inner.stream_idle_timeout,
                framing: self.inner.stream_framing,
                procedure: procedure.trim_start_matches('/').to_owned(),
                max_message_bytes: self.effective_max_response_bytes(),
            }),
            running: None,
            trailers: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// Opens a stream: the retry loop of [`Transport::call`] up to a 200 answer (whose body is
    /// then read frame by frame by the caller).
    async fn open_stream(
        &self,
        procedure: &str,
        body: bytes::Bytes,
        framing: Framing,
    ) -> Result<reqwest::Response, Error> {
        let error_cap = self.effective_max_response_bytes().min(MAX_ERROR_BODY_BYTES);
        let timeout = self.effective_timeout();
        let retries = self.effective_retries();
        let deadline = tokio::time::Instant::now() + timeout;
        let (content_type, accept) = match framing {
            Framing::Jsonl => ("application/json", crate::stream::JSONL_CONTENT_TYPE),
            Framing::Connect => (crate::stream::CONNECT_JSON_CONTENT_TYPE, crate::stream::CONNECT_JSON_CONTENT_TYPE),
        };
        let mut stream_headers = self.inner.headers.clone();
        stream_headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
        stream_headers.insert(http::header::ACCEPT, http::HeaderValue::from_static(accept));
        let url = self.url(procedure, &[])?;
        // Connect streaming requests are enveloped too (one message, flags 0).
        let body = match framing {
            Framing::Jsonl => body,
            Framing::Connect => bytes::Bytes::from(crate::stream::envelope(0, &body)),
        };
        let mut attempt: u32 = 0;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Err(Error::Timeout(timeout));
            }
            let extra = self.request_extras(procedure, attempt).await?;
            let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
            request.headers_mut().clone_from(&stream_headers);
            extra.apply(&mut request);
            *request.body_mut() = Some(body.clone().into());
            let outcome = tokio::time::timeout(remaining, async {
                let resp = self.inner.http.execute(request).await?;
                if resp.status() == reqwest::StatusCode::OK {
                    return Ok(Ok(resp));
                }
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let mut resp = resp;
                let bytes = read_capped(&mut resp, error_cap).await?.bytes;
                Ok::<_, reqwest::Error>(Err((status, headers, bytes)))
            })
            .await;
            let (error, delay) = match outcome {
                Err(_) => (Error::Timeout(timeout), None),
                Ok(Err(e)) if e.is_builder() => return Err(Error::Config(format!("invalid request: {e}"))),
                Ok(Err(e)) if e.is_timeout() && !e.is_connect() => (Error::Timeout(timeout), None),
                Ok(Err(e)) => (transport_error(e), None),
                Ok(Ok(Ok(resp))) => return Ok(resp),
                Ok(Ok(Err((code, headers, bytes)))) => {
                    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
                    let err = Error::Connect(ConnectError::from_response(code, &bytes, request_id));
                    let retry = match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
                        _ if code == 409 || code == 501 => false,
                        Some("true") => true,
                        Some("false") => false,
                        _ => code == 408 || code == 429 || (500..=599).contains(&code),
                    };
                    if !retry {
                        return Err(err);
                    }
                    (err, retry_after(&headers))
                }
            };
            if attempt >= retries {
                return Err(error);
            }
            let delay = delay.unwrap_or_else(|| self.backoff(attempt));
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if delay >= remaining {
                tokio::time::sleep_until(deadline).await;
                return Err(Error::Timeout(timeout));
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// `min(base·2^n, 8 s)` times a jitter factor in (0.75, 1], as the SDKs compute it.
    fn backoff(&self, n: u32) -> Duration {
        let base = self.inner.backoff_base.as_secs_f64() * 2f64.powi(n.min(30) as i32);
        let capped = base.min(MAX_BACKOFF.as_secs_f64());
        let jitter = 1.0 - 0.25 * fastrand::f64();
        Duration::from_secs_f64(capped * jitter)
    }

    /// One attempt: the request (the transport's headers, `Connect-Timeout-Ms`, then the call's
    /// and the hooks' headers), raced against the call's deadline.
    async fn attempt<Resp: DeserializeOwned>(
        &self,
        call: AttemptCall<'_>,
        body: bytes::Bytes,
        expired: std::pin::Pin<&mut tokio::time::Sleep>,
        span: tracing::Span,
    ) -> Attempt<Answer<Resp>> {
        let AttemptCall { procedure, url, remaining, timeout, policy, attempt } = call;
        let extra = match self.request_extras(procedure, attempt).await {
            Ok(extra) => extra,
            Err(e) => return Attempt::Done(Err(e)),
        };
        // Only hooks read the attempt's duration.
        let started = (!self.inner.hooks.is_empty()).then(std::time::Instant::now);
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        let headers = request.headers_mut();
        // Room for what is added below and by reqwest and hyper (accept-encoding, host,
        // content-length): no regrowth.
        *headers = http::HeaderMap::with_capacity(REQUEST_HEADERS_CAPACITY);
        for (name, value) in &self.inner.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(CONNECT_TIMEOUT_MS, timeout_ms(remaining));
        extra.apply(&mut request);
        *request.body_mut() = Some(body.into());
        let limit = self.effective_max_response_bytes();
        let fut = async {
            let mut resp = self.inner.http.execute(request).await?;
            let status = resp.status();
            // Moved out, not cloned: the body is read from here on, the headers go to the hooks,
            // to the `Response` or to the error.
            let headers = std::mem::take(resp.headers_mut());
            // A success body up to the limit; an error body up to its small cap (the rest is
            // never read: dropping the response closes the connection).
            let cap = if status == reqwest::StatusCode::OK { limit } else { limit.min(MAX_ERROR_BODY_BYTES) };
            let body = read_capped(&mut resp, cap).await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        };
        // Failures before a response: retried under the idempotent policy; under the
        // non-idempotent one only when the connection could not be established (nothing sent).
        let failed = |error: Error, retryable: bool| {
            if retryable {
                Attempt::Retry { error, delay: None }
            } else {
                Attempt::Done(Err(error))
            }
        };
        let idempotent = policy == RetryPolicy::Idempotent;
        let outcome = tokio::select! {
            biased;
            outcome = fut => Some(outcome),
            () = expired => None,
        };
        let (status, headers, body) = match outcome {
            None => {
                self.after_attempt(procedure, attempt, None, None, started, &span);
                return failed(Error::Timeout(timeout), idempotent);
            }
            Some(Err(e)) => {
                self.after_attempt(procedure, attempt, None, None, started, &span);
                if e.is_builder() {
                    return Attempt::Done(Err(Error::Config(format!("invalid request: {e}"))));
                }
                // `is_connect` first: a connect timeout sent nothing either.
                if e.is_connect() {
                    return failed(transport_error(e), true);
                }
                if e.is_timeout() {
                    return failed(Error::Timeout(timeout), idempotent);
                }
                return failed(transport_error(e), idempotent);
            }
            Some(Ok(r)) => r,
        };
        self.after_attempt(procedure, attempt, Some(status), Some(&headers), started, &span);
        if status == reqwest::StatusCode::OK {
            if body.over {
                let procedure = procedure.trim_start_matches('/').to_owned();
                return Attempt::Done(Err(Error::ResponseTooLarge { procedure, limit }));
            }
            let bytes = body.bytes;
            let slice: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) { b"{}" } else { &bytes };
            let r = crate::decode::decode_json::<Resp>(slice);
            let r = r.map_err(|e| decode_error(procedure, &e, &bytes));
            return Attempt::Done(r.map(|message| Answer { message, status, headers, attempt }));
        }
        let bytes = body.bytes;
        let code = status.as_u16();
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let err = Error::Connect(ConnectError::from_response(code, &bytes, request_id));
        span.record("code", err.code().as_str());
        let should_retry = match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
            _ if code == 409 || code == 501 => false,
            Some("true") => true,
            Some("false") => false,
            _ => match policy {
                RetryPolicy::Idempotent => code == 408 || code == 429 || (500..=599).contains(&code),
                // The server refused the work: rate limited or unavailable.
                RetryPolicy::NonIdempotent => code == 429 || code == 503,
            },
        };
        if should_retry {
            Attempt::Retry { error: err, delay: retry_after(&headers) }
        } else {
            Attempt::Done(Err(err))
        }
    }
}

/// What an attempt needs of its call (besides the body and the deadline).
#[derive(Clone, Copy)]
struct AttemptCall<'a> {
    procedure: &'a str,
    url: &'a reqwest::Url,
    /// The time left before the deadline (sent as `Connect-Timeout-Ms`).
    remaining: Duration,
    /// The call's timeout (what `Error::Timeout` holds).
    timeout: Duration,
    policy: RetryPolicy,
    attempt: u32,
}

/// A successful unary answer before it becomes a [`Response`] (which `unary` does not need).
struct Answer<T> {
    message: T,
    status: http::StatusCode,
    headers: http::HeaderMap,
    attempt: u32,
}

impl<T> Answer<T> {
    fn into_response(self) -> Response<T> {
        Response::new(self.message, self.status, self.headers, self.attempt)
    }
}

/// A body read up to a cap.
struct CappedBody {
    /// At most the cap's bytes.
    bytes: bytes::Bytes,
    /// The body was longer than the cap (reading stopped there).
    over: bool,
}

/// Reads `resp`'s body chunk by chunk (decompressed, when the server gzipped it) and stops as
/// soon as more than `cap` bytes arrived, or at once when `Content-Length` says so: never more
/// than `cap` plus one chunk in memory. Keeps the first `cap` bytes. A body that arrives in one
/// chunk (most small answers) is kept as that chunk, not copied.
async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<CappedBody, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Ok(CappedBody { bytes: bytes::Bytes::new(), over: true });
    }
    let Some(first) = resp.chunk().await? else {
        return Ok(CappedBody { bytes: bytes::Bytes::new(), over: false });
    };
    if first.len() > cap {
        return Ok(CappedBody { bytes: first.slice(..cap), over: true });
    }
    let Some(mut chunk) = resp.chunk().await? else {
        return Ok(CappedBody { bytes: first, over: false });
    };
    let expected = resp.content_length().map_or(0, |n| n as usize).min(cap);
    let mut bytes = Vec::with_capacity(expected.max(first.len() + chunk.len()).min(cap));
    bytes.extend_from_slice(&first);
    loop {
        if bytes.len() + chunk.len() > cap {
            let room = cap - bytes.len();
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(CappedBody { bytes: bytes.into(), over: true });
        }
        bytes.extend_from_slice(&chunk);
        match resp.chunk().await? {
            Some(next) => chunk = next,
            None => return Ok(CappedBody { bytes: bytes.into(), over: false }),
        }
    }
}

/// The decode error of a response or stream message: the procedure, the serde message with
/// quoted values redacted, and a redacted excerpt of the body (never the bytes themselves).
fn decode_error(procedure: &str, message: &str, body: &[u8]) -> Error {
    Error::Decode {
        procedure: procedure.trim_start_matches('/').to_owned(),
        message: redact_message(message),
        body: redact_json_excerpt(body, 256),
    }
}

/// `Error::Transport` for a reqwest error, with any credentials of its URL removed.
fn transport_error(e: reqwest::Error) -> Error {
    let url = e.url().filter(|u| !u.username().is_empty() || u.password().is_some()).cloned();
    let e = match url {
        Some(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            e.with_url(u)
        }
        None => e,
    };
    Error::Transport(Box::new(e))
}

/// A URL for `Debug` output: user and password (`https://user:pw@host`) replaced by `<redacted>`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_owned() };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..].find(['/', '?', '#']).map_or(url.len(), |i| authority_start + i);
    match url[authority_start..authority_end].rfind('@') {
        Some(at) => format!("{}<redacted>{}", &url[..authority_start], &url[authority_start + at..]),
        None => url.to_owned(),
    }
}

/// `Connect-Timeout-Ms` for the time that remains: whole milliseconds rounded up (so a first
/// attempt sends the configured timeout), at least 1, at most 10 digits.
fn timeout_ms(remaining: Duration) -> http::HeaderValue {
    let ms = remaining.as_nanos().div_ceil(1_000_000).clamp(1, 9_999_999_999);
    http::HeaderValue::from(ms as u64)
}

/// The capacity of a request's header map.
const REQUEST_HEADERS_CAPACITY: usize = 12;

/// How many procedure URLs a transport keeps (more than any generated API has).
const MAX_CACHED_URLS: usize = 1024;

/// `Connect-Protocol-Version`.
const CONNECT_PROTOCOL_VERSION: http::HeaderName = http::HeaderName::from_static("connect-protocol-version");
/// `Connect-Timeout-Ms`: the time left before the call's deadline.
const CONNECT_TIMEOUT_MS: http::HeaderName = http::HeaderName::from_static("connect-timeout-ms");

/// The server-requested delay: `retry-after-ms` (milliseconds), else `Retry-After` (seconds or an
/// HTTP date); honoured when it is positive and at most 60 s. A zero or negative value (or a date
/// in the past) counts as absent, as in the SDKs: the computed backoff applies.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let d = if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        Some(ms / 1000.0)
    } else if let Some(v) = get("retry-after") {
        match v.parse::<f64>() {
            Ok(s) => Some(s),
            Err(_) => chrono::DateTime::parse_from_rfc2822(v)
                .ok()
                .map(|t| (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds() as f64 / 1000.0),
        }
    } else {
        None
    }?;
    (d.is_finite() && d > 0.0 && d <= MAX_RETRY_AFTER.as_secs_f64()).then(|| Duration::from_secs_f64(d))
}

/// The page fetcher of [`paginate`]: called with the page token (`None` for the first page), it
/// returns a `Send` future of the page. Every closure of that shape is one (blanket impl), so this
/// only states the bounds once.
pub trait FetchPage: FnMut(Option<String>) -> <Self as FetchPage>::Fut + Send + 'static {
    /// The response that carries one page.
    type Page: Send + 'static;
    /// The future of one page.
    type Fut: Future<Output = Result<Self::Page, Error>> + Send + 'static;
}

impl<F, Fut, Page> FetchPage for F
where
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page, Error>> + Send + 'static,
    Page: Send + 'static,
{
    type Page = Page;
    type Fut = Fut;
}

/// Takes a page of [`paginate`] apart: its items and the next page token. Every closure of that
/// shape is one (blanket impl).
pub trait SplitPage<Page>:
    FnMut(Page) -> (Vec<<Self as SplitPage<Page>>::Item>, Option<String>) + Send + 'static
{
    /// One item of a page.
    type Item: Send + 'static;
}

impl<S, Page, Item> SplitPage<Page> for S
where
    S: FnMut(Page) -> (Vec<Item>, Option<String>) + Send + 'static,
    Item: Send + 'static,
{
    type Item = Item;
}

/// Turns a page fetcher into a stream of items: calls `fetch(None)`, then `fetch(Some(token))`
/// with each non-empty `nextToken` that `split` returns, and stops on an empty or absent token.
/// When a page's `nextToken` is one the server already returned, that page is most likely a
/// repeat (e.g. a server that ignored the token and sent the first page again): its items are
/// not yielded, and [`Error::Pagination`] ends the stream instead of looping forever. A fetch
/// error is yielded and ends the stream. At most [`DEFAULT_MAX_PAGES`] pages are fetched
/// ([`paginate_with_limit`], [`Transport::paginate`]: a configured limit).
pub fn paginate<Fetch: FetchPage, Split: SplitPage<Fetch::Page>>(
    fetch: Fetch,
    split: Split,
) -> impl Stream<Item = Result<Split::Item, Error>> + Send + 'static {
    paginate_with_limit(DEFAULT_MAX_PAGES, fetch, split)
}

/// [`paginate`] fetching at most `max_pages` pages: when page `max_pages` still has a next
/// token, its items are yielded and then [`Error::TooManyPages`] ends the stream. Memory stays
/// bounded however many pages there are: seen tokens are kept as 64-bit hashes.
pub fn paginate_with_limit<Fetch: FetchPage, Split: SplitPage<Fetch::Page>>(
    max_pages: u64,
    fetch: Fetch,
    split: Split,
) -> impl Stream<Item = Result<Split::Item, Error>> + Send + 'static {
    struct State<Fetch, Split, Item> {
        fetch: Fetch,
        split: Split,
        token: Option<String>,
        seen: HashSet<u64>,
        hasher: std::collections::hash_map::RandomState,
        pages: u64,
        buf: VecDeque<Item>,
        pending_error: Option<Error>,
        done: bool,
    }
    let state = State {
        fetch,
        split,
        token: None,
        seen: HashSet::new(),
        hasher: std::collections::hash_map::RandomState::new(),
        pages: 0,
        buf: VecDeque::new(),
        pending_error: None,
        done: false,
    };
    futures_util::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(item) = st.buf.pop_front() {
                return Some((Ok(item), st));
            }
            if let Some(e) = st.pending_error.take() {
                st.done = true;
                return Some((Err(e), st));
            }
            if st.done {
                return None;
            }
            st.pages += 1;
            let resp = match (st.fetch)(st.token.clone()).await {
                Ok(r) => r,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            let (items, next) = (st.split)(resp);
            match next.filter(|t| !t.is_empty()) {
                None => {
                    st.buf.extend(items);
                    st.done = true;
                }
                Some(t) if !st.seen.insert(std::hash::BuildHasher::hash_one(&st.hasher, &t)) => {
                    // Checked before yielding: this page's items would be duplicates.
                    st.pending_error = Some(Error::Pagination(format!(
                        "the server returned the page token {:?} twice; stopping instead of looping",
                        truncate(&t, 64)
                    )));
                }
                Some(_) if st.pages >= max_pages => {
                    st.buf.extend(items);
                    st.pending_error = Some(Error::TooManyPages { limit: max_pages });
                }
                Some(t) => {
                    st.buf.extend(items);
                    st.token = Some(t);
                }
            }
        }
    })
}

/// What a server-streaming call needs before it starts.
struct PendingCall {
    transport: Transport,
    url: String,
    body: Result<Vec<u8>, Error>,
    idle_timeout: Option<Duration>,
    framing: Framing,
    procedure: String,
    max_message_bytes: usize,
}

type Trailers = std::collections::BTreeMap<String, Vec<String>>;

type BoxStream<T> = std::pin::Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// The messages of a server-streaming call, as [`Transport::server_stream`] describes: a
/// [`Stream`] of `Result<T, Error>` that ends after the last message or after an error. Lazy:
/// nothing is sent until it is first polled. Dropping it closes the connection.
///
/// Read it with [`ResponseStream::message`] (no extra crate needed) or as a `Stream`
/// (`futures_util::StreamExt::next`, `TryStreamExt::try_collect`, ...).
pub struct ResponseStream<T> {
    pending: Option<PendingCall>,
    running: Option<BoxStream<T>>,
    trailers: Arc<std::sync::Mutex<Option<Trailers>>>,
}

impl<T> fmt::Debug for ResponseStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream")
            .field("started", &self.pending.is_none())
            .field("url", &self.pending.as_ref().map(|p| redact_url(&p.url)))
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> ResponseStream<T> {
    /// Fails the stream with [`Error::Timeout`] when no bytes arrive for `d` once it is open
    /// (overrides [`ClientConfig::stream_idle_timeout`]). No effect once the stream started.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        if let Some(p) = &mut self.pending {
            p.idle_timeout = Some(d);
        }
        self
    }

    /// The framing to ask for (overrides [`ClientConfig::stream_framing`]). No effect once the
    /// stream started.
    pub fn framing(mut self, framing: Framing) -> Self {
        if let Some(p) = &mut self.pending {
            p.framing = framing;
        }
        self
    }

    /// The next message: `Ok(None)` at the end of the stream (tonic's `Streaming::message`).
    pub async fn message(&mut self) -> Result<Option<T>, Error> {
        futures_util::StreamExt::next(self).await.transpose()
    }

    /// The trailers of the stream (Connect end-of-stream `metadata`), once the end was read.
    /// Empty for a JSONL stream, which has none.
    pub fn trailers(&self) -> Option<Trailers> {
        self.trailers.lock().ok().and_then(|t| t.clone())
    }

    fn start(&mut self) {
        let Some(p) = self.pending.take() else { return };
        let trailers = self.trailers.clone();
        let procedure: Arc<str> = p.procedure.as_str().into();
        let limit = p.max_message_bytes;
        // The decoder's only `resource_exhausted` is a message over the limit.
        let frame_error = {
            let procedure = procedure.clone();
            move |e: ConnectError| match e.code {
                crate::Code::ResourceExhausted => Error::ResponseTooLarge { procedure: procedure.to_string(), limit },
                _ => Error::Connect(e),
            }
        };
        enum St {
            Start(PendingCall),
            Open { resp: reqwest::Response, decoder: FrameDecoder, idle: Option<Duration>, ended: bool },
            Done,
        }
        let stream = futures_util::stream::unfold(St::Start(p), move |st| {
            let trailers = trailers.clone();
            let procedure = procedure.clone();
            let frame_error = frame_error.clone();
            async move {
                let (mut resp, mut decoder, idle, mut ended) = match st {
                    St::Done => return None,
                    St::Open { resp, decoder, idle, ended } => (resp, decoder, idle, ended),
                    St::Start(p) => {
                        let body = match p.body {
                            Ok(b) => bytes::Bytes::from(b),
                            Err(e) => return Some((Err(e), St::Done)),
                        };
                        let resp = match p.transport.open_stream(&p.procedure, body, p.framing).await {
                            Ok(r) => r,
                            Err(e) => return Some((Err(e), St::Done)),
                        };
                        if p.framing == Framing::Connect {
                            let ct = resp.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
                            if !ct.is_some_and(|c| c.starts_with(crate::stream::CONNECT_JSON_CONTENT_TYPE)) {
                                let ct = ct.unwrap_or("").to_owned();
                                let message = format!("expected a Connect stream, got content type {ct:?}");
                                let e = Error::Decode { procedure: p.procedure, message, body: String::new() };
                                return Some((Err(e), St::Done));
                            }
                        }
                        let decoder = FrameDecoder::new(p.framing, p.max_message_bytes);
                        (resp, decoder, p.idle_timeout, false)
                    }
                };
                loop {
                    let frame = match decoder.next_frame() {
                        Ok(Some(f)) => Some(f),
                        Ok(None) if ended => match decoder.finish() {
                            Ok(f) => f,
                            Err(e) => return Some((Err(frame_error(e)), St::Done)),
                        },
                        Ok(None) => None,
                        Err(e) => return Some((Err(frame_error(e)), St::Done)),
                    };
                    match frame {
                        Some(Frame::Message(json)) => {
                            let item = crate::decode::decode_json::<T>(&json)
                                .map_err(|message| decode_error(&procedure, &message, &json));
                            let next = if item.is_ok() { St::Open { resp, decoder, idle, ended } } else { St::Done };
                            return Some((item, next));
                        }
                        Some(Frame::End { error, trailers: t }) => {
                            if let Ok(mut slot) = trailers.lock() {
                                *slot = Some(t);
                            }
                            return error.map(|e| (Err(Error::Connect(e)), St::Done));
                        }
                        None if ended => {
                            if decoder.framing() == Framing::Connect {
                                let e = ConnectError::internal("the stream ended without an end-of-stream message");
                                return Some((Err(Error::Connect(e)), St::Done));
                            }
                            if let Ok(mut slot) = trailers.lock() {
                                *slot = Some(Trailers::new());
                            }
                            return None;
                        }
                        None => {}
                    }
                    let chunk = match idle {
                        Some(d) => match tokio::time::timeout(d, resp.chunk()).await {
                            Ok(c) => c,
                            Err(_) => return Some((Err(Error::Timeout(d)), St::Done)),
                        },
                        None => resp.chunk().await,
                    };
                    match chunk {
                        Ok(Some(bytes)) => decoder.push(&bytes),
                        Ok(None) => ended = true,
                        Err(e) => return Some((Err(transport_error(e)), St::Done)),
                    }
                }
            }
        });
        self.running = Some(Box::pin(stream));
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for ResponseStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.running.is_none() {
            if this.pending.is_none() {
                return std::task::Poll::Ready(None);
            }
            this.start();
        }
        let Some(running) = this.running.as_mut() else { return std::task::Poll::Ready(None) };
        let poll = running.as_mut().poll_next(cx);
        if let std::task::Poll::Ready(None) = poll {
            // Fused: the stream stays ended (and the connection is released now).
            this.running = None;
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(base: &str) -> Transport {
        Transport::new(ClientConfig::new().base_url(base).bearer_token("t")).unwrap()
    }

    #[test]
    fn call_urls_are_what_a_full_parse_of_base_slash_procedure_gives() {
        let bases = [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "https://app.gitpod.io/api",
            "https://app.gitpod.io/api/",
            "https://user:pw@Example.COM:443/a%20b/c",
            "http://[::1]:9/x/../y",
        ];
        let procedures = ["gitpod.v1.RunnerService/GetRunner", "/gitpod.v1.RunnerService/GetRunner", "a_b-c/D.e"];
        let query = [("token".to_owned(), "a b&c".to_owned()), ("pageSize".to_owned(), "7".to_owned())];
        for base in bases {
            let t = transport(base);
            for procedure in procedures {
                for q in [&query[..0], &query[..]] {
                    let mut expected = reqwest::Url::parse(&format!(
                        "{}/{}",
                        base.trim_end_matches('/'),
                        procedure.trim_start_matches('/')
                    ))
                    .unwrap();
                    if !q.is_empty() {
                        expected.query_pairs_mut().extend_pairs(q.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    }
                    // Twice: built, then from the cache.
                    assert_eq!(t.url(procedure, q).unwrap(), expected, "{base} {procedure}");
                    assert_eq!(t.url(procedure, q).unwrap(), expected, "{base} {procedure} (cached)");
                }
            }
        }
        // Not plain: parsed in full, as before (the `?` starts the query).
        let t = transport("http://h/api");
        assert_eq!(t.url("s/M?code=1", &[]).unwrap().as_str(), "http://h/api/s/M?code=1");
        assert!(t.inner.urls.read().unwrap().get("s/M?code=1").is_none());
    }

    #[test]
    fn an_invalid_user_agent_is_a_config_error_at_construction() {
        let config = ClientConfig::new().base_url("http://h").bearer_token("t").user_agent("bad\nagent");
        assert!(matches!(Transport::new(config), Err(Error::Config(m)) if m.contains("user agent")));
    }

    #[test]
    fn the_token_header_is_sensitive() {
        let t = transport("http://h");
        assert!(t.inner.headers[http::header::AUTHORIZATION].is_sensitive());
    }
}
