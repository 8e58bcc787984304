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
pub(super) struct AttemptExtras {
    headers: http::HeaderMap,
    query: Vec<(String, String)>,
}

impl AttemptExtras {
    /// Adds them to a request: each header replaces the client's header of that name.
    pub(super) fn apply(self, mut rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if !self.query.is_empty() {
            rb = rb.query(&self.query);
        }
        if !self.headers.is_empty() {
            rb = rb.headers(self.headers);
        }
        rb
    }
}

impl super::Transport {
    /// The call's headers, then what each hook's `before_request` adds (streams: query too).
    pub(super) async fn request_extras(&self, procedure: &str, attempt: u32) -> Result<AttemptExtras, Error> {
        if let Some(problem) = &self.opts.extras.invalid {
            return Err(Error::Config(problem.clone()));
        }
        let headers = self.opts.extras.headers.clone();
        if self.inner.hooks.is_empty() {
            return Ok(AttemptExtras { headers, query: Vec::new() });
        }
        let mut request = HookRequest { procedure: procedure.to_owned(), attempt, headers, query: Vec::new() };
        for hook in &self.inner.hooks {
            hook.before_request(&mut request).await?;
        }
        for (name, value) in request.headers.iter_mut() {
            if super::options::is_sensitive(name) {
                value.set_sensitive(true);
            }
        }
        Ok(AttemptExtras { headers: request.headers, query: request.query })
    }

    /// Records the attempt's status on the current span and tells the hooks.
    pub(super) fn after_attempt(
        &self,
        procedure: &str,
        attempt: u32,
        status: Option<http::StatusCode>,
        headers: Option<&http::HeaderMap>,
        started: std::time::Instant,
    ) {
        if let Some(s) = status {
            tracing::Span::current().record("status", s.as_u16());
        }
        if self.inner.hooks.is_empty() {
            return;
        }
        let response = HookResponse { procedure, attempt, status, headers, elapsed: started.elapsed() };
        for hook in &self.inner.hooks {
            hook.after_response(&response);
        }
    }
}
