//! Connect JSON client: [`Transport`] (one per API client, cheap to clone), [`ClientConfig`],
//! per-call [`CallOptions`] and [`paginate`].
//!
//! Behaviour follows the official SDKs: `POST {base}/{procedure}` with a JSON body, bearer token,
//! 60 s timeout, 2 retries on connection errors, timeouts, 408, 429 and 5xx with exponential
//! backoff (`min(0.5·2^n, 8)` s, jitter) or the server's `retry-after-ms` / `Retry-After`
//! (up to 60 s). Unlike the SDKs it never retries 409 (`already_exists`, `aborted`) or 501
//! (`unimplemented`).

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{truncate, ConnectError, Error};
use crate::redact::Redacted;

/// The default base URL of the Gitpod API.
pub const DEFAULT_BASE_URL: &str = "https://app.gitpod.io/api";
/// The default timeout of one request attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The default base of the exponential backoff (the first retry waits about this long).
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest computed backoff between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The longest server-requested delay (`Retry-After`, `retry-after-ms`) that is honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Environment variable holding the API token.
pub const ENV_API_KEY: &str = "GITPOD_API_KEY";
/// Environment variable overriding the base URL.
pub const ENV_BASE_URL: &str = "GITPOD_BASE_URL";
/// The `User-Agent` sent by default: `gitpod-runtime/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// Client configuration. `Debug` never shows the token.
#[derive(Clone)]
pub struct ClientConfig {
    base_url: Option<String>,
    bearer_token: Option<String>,
    timeout: Duration,
    max_retries: u32,
    user_agent: String,
    backoff_base: Duration,
    http_client: Option<reqwest::Client>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("bearer_token", &Redacted(&self.bearer_token))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("user_agent", &self.user_agent)
            .field("backoff_base", &self.backoff_base)
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
            base_url: None,
            bearer_token: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            backoff_base: DEFAULT_BACKOFF_BASE,
            http_client: None,
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

    /// The timeout of one attempt (default 60 s); also sent as `Connect-Timeout-Ms`.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Retries after the first attempt (default 2; 0 disables retries).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
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

/// Per-call overrides of the client configuration.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct CallOptions {
    /// Timeout of one attempt for this call.
    pub timeout: Option<Duration>,
    /// Retries for this call.
    pub max_retries: Option<u32>,
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
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    token: String,
    user_agent: String,
    timeout: Duration,
    max_retries: u32,
    backoff_base: Duration,
}

/// The transport every generated client method calls. Cheap to clone (an `Arc` inside).
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
    opts: CallOptions,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.inner.base_url)
            .field("bearer_token", &Redacted(&self.inner.token))
            .field("timeout", &self.effective_timeout())
            .field("max_retries", &self.effective_retries())
            .finish_non_exhaustive()
    }
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
        match reqwest::Url::parse(&base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => return Err(Error::Config(format!("invalid base URL {base_url:?}"))),
        }
        let token = config.bearer_token.clone().or_else(|| env_nonempty(ENV_API_KEY)).ok_or_else(|| {
            Error::Config(format!(
                "no API token: set one with ClientConfig::bearer_token or in the {ENV_API_KEY} environment variable"
            ))
        })?;
        if http::HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(Error::Config("the API token contains characters not allowed in a header".into()));
        }
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
                token,
                user_agent: config.user_agent,
                timeout: config.timeout,
                max_retries: config.max_retries,
                backoff_base: config.backoff_base,
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

    /// One unary call: `POST {base}/{procedure}` with `req` as JSON; decodes the 200 body.
    /// `procedure` is `gitpod.v1.Service/Method` (a leading `/` is allowed).
    pub async fn unary<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        req: &Req,
    ) -> Result<Resp, Error> {
        let body = serde_json::to_vec(req).map_err(|e| Error::Encode(e.to_string()))?;
        self.call(procedure, body, Vec::new()).await
    }

    /// A call of a list method: like [`Transport::unary`] with the body unchanged, plus
    /// `?token=` (when `token` is set) and `pageSize=` (when the request's `pagination.pageSize`
    /// is set) in the query string, as the official SDKs send them.
    pub async fn unary_page<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        req: &Req,
        token: Option<&str>,
    ) -> Result<Resp, Error> {
        let value = serde_json::to_value(req).map_err(|e| Error::Encode(e.to_string()))?;
        let mut query = Vec::new();
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            query.push(("token".to_owned(), t.to_owned()));
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
        self.call(procedure, body, query).await
    }

    async fn call<Resp: DeserializeOwned>(
        &self,
        procedure: &str,
        body: Vec<u8>,
        query: Vec<(String, String)>,
    ) -> Result<Resp, Error> {
        let url = format!("{}/{}", self.inner.base_url, procedure.trim_start_matches('/'));
        let timeout = self.effective_timeout();
        let retries = self.effective_retries();
        let body = bytes::Bytes::from(body);
        let mut attempt: u32 = 0;
        loop {
            match self.attempt::<Resp>(&url, &query, body.clone(), timeout).await {
                Attempt::Done(r) => return r,
                Attempt::Retry { error, delay } => {
                    if attempt >= retries {
                        return Err(error);
                    }
                    let delay = delay.unwrap_or_else(|| self.backoff(attempt));
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// `min(base·2^n, 8 s)` times a jitter factor in (0.75, 1], as the SDKs compute it.
    fn backoff(&self, n: u32) -> Duration {
        let base = self.inner.backoff_base.as_secs_f64() * 2f64.powi(n.min(30) as i32);
        let capped = base.min(MAX_BACKOFF.as_secs_f64());
        let jitter = 1.0 - 0.25 * fastrand::f64();
        Duration::from_secs_f64(capped * jitter)
    }

    async fn attempt<Resp: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(String, String)],
        body: bytes::Bytes,
        timeout: Duration,
    ) -> Attempt<Resp> {
        let mut rb = self
            .inner
            .http
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .header("connect-protocol-version", "1")
            .header(http::header::USER_AGENT, &self.inner.user_agent)
            .header(http::header::AUTHORIZATION, format!("Bearer {}", self.inner.token))
            .header("connect-timeout-ms", timeout.as_millis().clamp(1, 9_999_999_999).to_string())
            .body(body);
        if !query.is_empty() {
            rb = rb.query(query);
        }
        let fut = async {
            let resp = rb.send().await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, bytes))
        };
        let (status, headers, bytes) = match tokio::time::timeout(timeout, fut).await {
            Err(_) => {
                return Attempt::Retry { error: Error::Timeout(timeout), delay: None };
            }
            Ok(Err(e)) => {
                if e.is_builder() {
                    return Attempt::Done(Err(Error::Config(format!("invalid request: {e}"))));
                }
                if e.is_timeout() {
                    return Attempt::Retry { error: Error::Timeout(timeout), delay: None };
                }
                return Attempt::Retry { error: Error::Transport(Box::new(e)), delay: None };
            }
            Ok(Ok(r)) => r,
        };
        if status == reqwest::StatusCode::OK {
            let slice: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) { b"{}" } else { &bytes };
            let r = crate::decode::decode_json::<Resp>(slice);
            return Attempt::Done(r.map_err(|e| Error::Decode {
                message: e,
                body: truncate(&String::from_utf8_lossy(&bytes), 1024),
            }));
        }
        let code = status.as_u16();
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let err = Error::Connect(ConnectError::from_response(code, &bytes, request_id));
        let should_retry = match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
            _ if code == 409 || code == 501 => false,
            Some("true") => true,
            Some("false") => false,
            _ => code == 408 || code == 429 || (500..=599).contains(&code),
        };
        if should_retry {
            Attempt::Retry { error: err, delay: retry_after(&headers) }
        } else {
            Attempt::Done(Err(err))
        }
    }
}

/// The server-requested delay: `retry-after-ms` (milliseconds), else `Retry-After` (seconds or an
/// HTTP date); honoured when it is between 0 and 60 s.
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let d = if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        Some(ms / 1000.0)
    } else if let Some(v) = get("retry-after") {
        match v.parse::<f64>() {
            Ok(s) => Some(s),
            Err(_) => chrono::DateTime::parse_from_rfc2822(v).ok().map(|t| {
                (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds() as f64 / 1000.0
            }),
        }
    } else {
        None
    }?;
    (d.is_finite() && d >= 0.0 && d <= MAX_RETRY_AFTER.as_secs_f64()).then(|| Duration::from_secs_f64(d))
}

/// Turns a page fetcher into a stream of items: calls `fetch(None)`, then `fetch(Some(token))`
/// with each non-empty `nextToken` that `split` returns, and stops on an empty or absent token.
/// When the server returns a token it already returned, the page's items are yielded and then
/// [`Error::Pagination`] ends the stream (instead of looping forever). A fetch error is yielded
/// and ends the stream.
pub fn paginate<Resp, Item, Fetch, Fut, Split>(
    fetch: Fetch,
    split: Split,
) -> impl Stream<Item = Result<Item, Error>> + Send + 'static
where
    Fetch: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Resp, Error>> + Send + 'static,
    Split: FnMut(Resp) -> (Vec<Item>, Option<String>) + Send + 'static,
    Resp: Send + 'static,
    Item: Send + 'static,
{
    struct State<Fetch, Split, Item> {
        fetch: Fetch,
        split: Split,
        token: Option<String>,
        seen: HashSet<String>,
        buf: VecDeque<Item>,
        pending_error: Option<Error>,
        done: bool,
    }
    let state = State {
        fetch,
        split,
        token: None,
        seen: HashSet::new(),
        buf: VecDeque::new(),
        pending_error: None,
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
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
            let resp = match (st.fetch)(st.token.clone()).await {
                Ok(r) => r,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            let (items, next) = (st.split)(resp);
            st.buf.extend(items);
            match next.filter(|t| !t.is_empty()) {
                None => st.done = true,
                Some(t) => {
                    if !st.seen.insert(t.clone()) {
                        st.pending_error = Some(Error::Pagination(format!(
                            "the server returned the page token {:?} twice; stopping instead of looping",
                            truncate(&t, 64)
                        )));
                    }
                    st.token = Some(t);
                }
            }
        }
    })
}
