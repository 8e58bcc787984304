//! Client middleware: [`ClientHook`]s run around every attempt of every call.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::Error;

/// A boxed future borrowing the hook and the request (what [`ClientHook::before_request`] returns).
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// The request of one attempt as a hook sees it. `#[non_exhaustive]`: more may be exposed later.
#[derive(Debug)]
#[non_exhaustive]
pub struct HookRequest {
    /// `gitpod.v1.Service/Method` (no leading slash).
    pub procedure: String,
    /// 0 for the first attempt, then 1, 2, ... for retries.
    pub attempt: u32,
    /// Headers to send: pre-filled with the call's own ([`super::CallOptions::header`]); each
    /// one here replaces the client's header of that name (`authorization` included).
    pub headers: http::HeaderMap,
    /// Query parameters to add to the URL.
    pub query: Vec<(String, String)>,
}

/// What a hook learns about an attempt once it ended. `#[non_exhaustive]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct HookResponse<'a> {
    /// `gitpod.v1.Service/Method`.
    pub procedure: &'a str,
    /// 0 for the first attempt.
    pub attempt: u32,
    /// The HTTP status; `None` when no answer came (connection error, timeout).
    pub status: Option<http::StatusCode>,
    /// The response headers, when an answer came.
    pub headers: Option<&'a http::HeaderMap>,
    /// How long the attempt took.
    pub elapsed: Duration,
}

/// Client middleware, added with [`super::ClientConfig::hook`]: `before_request` runs before
/// every attempt (async: it may fetch or refresh a token) and may add or replace headers and
/// query parameters, or fail the call; `after_response` runs after every attempt (metrics,
/// logging). Hooks run in the order they were added. Both default to doing nothing.
pub trait ClientHook: Send + Sync + 'static {
    /// Runs before each attempt. An `Err` ends the call with that error (not retried).
    fn before_request<'a>(&'a self, request: &'a mut HookRequest) -> HookFuture<'a> {
        let _ = request;
        Box::pin(async { Ok(()) })
    }

    /// Runs after each attempt, with what came back.
    fn after_response(&self, response: &HookResponse<'_>) {
        let _ = response;
    }
}

/// The headers and query parameters one attempt adds: the call's own, then the hooks'.
pub(super) enum AttemptExtras<'a> {
    /// No hooks: the call's own headers, as they are.
    Call(&'a http::HeaderMap),
    /// What the hooks left (they started from a copy of the call's headers).
    Hooked { headers: http::HeaderMap, query: Vec<(String, String)> },
}

impl AttemptExtras<'_> {
    /// Adds them to a request: the query parameters after the URL's own; each header name
    /// replaces the client's header of that name (all the values given for it are sent).
    pub(super) fn apply(self, request: &mut reqwest::Request) {
        match self {
            AttemptExtras::Call(headers) => replace_headers(request.headers_mut(), headers),
            AttemptExtras::Hooked { headers, query } => {
                if !query.is_empty() {
                    let url = request.url_mut();
                    url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                }
                replace_headers(request.headers_mut(), &headers);
            }
        }
    }
}

/// As `reqwest::RequestBuilder::headers`: each name of `src` replaces that header of `dst`
/// with all its values.
fn replace_headers(dst: &mut http::HeaderMap, src: &http::HeaderMap) {
    for name in src.keys() {
        let mut values = src.get_all(name).iter();
        if let Some(first) = values.next() {
            dst.insert(name.clone(), first.clone());
        }
        for value in values {
            dst.append(name.clone(), value.clone());
        }
    }
}

impl super::Transport {
    /// The call's headers, then what each hook's `before_request` adds (streams: query too).
    pub(super) async fn request_extras(&self, procedure: &str, attempt: u32) -> Result<AttemptExtras<'_>, Error> {
        if let Some(problem) = &self.opts.extras.invalid {
            return Err(Error::Config(problem.clone()));
        }
        if self.inner.hooks.is_empty() {
            return Ok(AttemptExtras::Call(&self.opts.extras.headers));
        }
        let headers = self.opts.extras.headers.clone();
        let mut request = HookRequest { procedure: procedure.to_owned(), attempt, headers, query: Vec::new() };
        for hook in &self.inner.hooks {
            hook.before_request(&mut request).await?;
        }
        for (name, value) in request.headers.iter_mut() {
            if super::options::is_sensitive(name) {
                value.set_sensitive(true);
            }
        }
        Ok(AttemptExtras::Hooked { headers: request.headers, query: request.query })
    }

    /// Records the attempt's status on its span and tells the hooks (`started`: when the attempt
    /// started, taken when there are hooks).
    pub(super) fn after_attempt(
        &self,
        procedure: &str,
        attempt: u32,
        status: Option<http::StatusCode>,
        headers: Option<&http::HeaderMap>,
        started: Option<std::time::Instant>,
        span: &tracing::Span,
    ) {
        if let Some(s) = status {
            span.record("status", s.as_u16());
        }
        let Some(started) = started else { return };
        if self.inner.hooks.is_empty() {
            return;
        }
        let response = HookResponse { procedure, attempt, status, headers, elapsed: started.elapsed() };
        for hook in &self.inner.hooks {
            hook.after_response(&response);
        }
    }
}
