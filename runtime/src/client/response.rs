//! [`Response`]: a decoded message together with the HTTP metadata of the answer.

use std::fmt;

/// A successful unary answer: the typed message, the HTTP status, the response headers and the
/// request id (`x-request-id`). Generated clients return it from their `*_with_response`
/// methods. `Debug` shows header names, not their values.
#[non_exhaustive]
pub struct Response<T> {
    /// The decoded message.
    pub message: T,
    /// The HTTP status (200 for a Connect success).
    pub status: http::StatusCode,
    /// The response headers (rate-limit headers, `x-request-id`, ...).
    pub headers: http::HeaderMap,
    /// The `x-request-id` response header, when the server sent one.
    pub request_id: Option<String>,
    /// Which attempt succeeded (0 = the first; more after retries).
    pub attempt: u32,
}

impl<T> Response<T> {
    pub(crate) fn new(message: T, status: http::StatusCode, headers: http::HeaderMap, attempt: u32) -> Self {
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Response { message, status, headers, request_id, attempt }
    }

    /// The message alone.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// The message.
    pub fn message(&self) -> &T {
        &self.message
    }

    /// A response header as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The same metadata around another message.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            message: f(self.message),
            status: self.status,
            headers: self.headers,
            request_id: self.request_id,
            attempt: self.attempt,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Response<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("message", &self.message)
            .field("status", &self.status)
            .field("headers", &self.headers.keys().map(|k| k.as_str()).collect::<Vec<_>>())
            .field("request_id", &self.request_id)
            .field("attempt", &self.attempt)
            .finish()
    }
}
