//! Connect error codes, the error a server answers with ([`ConnectError`]) and the error a
//! client call returns ([`Error`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Connect error code. The wire form is the snake_case string (`"invalid_argument"`).
///
/// All sixteen codes of the Connect protocol are variants; a code this crate does not know is
/// kept verbatim in [`Code::Other`] so it is never lost.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// `canceled` (HTTP 499): the caller canceled the operation.
    Canceled,
    /// `unknown` (HTTP 500): an error without a more specific code.
    Unknown,
    /// `invalid_argument` (HTTP 400): the request is invalid regardless of system state.
    InvalidArgument,
    /// `deadline_exceeded` (HTTP 504): the deadline passed before the operation completed.
    DeadlineExceeded,
    /// `not_found` (HTTP 404): a requested entity was not found.
    NotFound,
    /// `already_exists` (HTTP 409): the entity the caller tried to create already exists.
    AlreadyExists,
    /// `permission_denied` (HTTP 403): the caller may not perform this operation.
    PermissionDenied,
    /// `resource_exhausted` (HTTP 429): a quota or a size limit was exceeded.
    ResourceExhausted,
    /// `failed_precondition` (HTTP 400): the system is not in a state required for the operation.
    FailedPrecondition,
    /// `aborted` (HTTP 409): the operation was aborted, typically because of a concurrency issue.
    Aborted,
    /// `out_of_range` (HTTP 400): the operation was attempted past the valid range.
    OutOfRange,
    /// `unimplemented` (HTTP 501): the operation is not implemented or not supported.
    Unimplemented,
    /// `internal` (HTTP 500): an invariant of the server is broken.
    Internal,
    /// `unavailable` (HTTP 503): the service is currently unavailable; retrying may help.
    Unavailable,
    /// `data_loss` (HTTP 500): unrecoverable data loss or corruption.
    DataLoss,
    /// `unauthenticated` (HTTP 401): the request has no valid credentials.
    Unauthenticated,
    /// A code this crate does not know, kept verbatim as it was on the wire.
    Other(String),
}

impl Code {
    /// Every known code, in the order of their Connect/gRPC numbers (1..=16).
    pub const ALL: [Code; 16] = [
        Code::Canceled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The wire string, e.g. `"invalid_argument"`. [`Code::Other`] returns its kept text.
    pub fn as_str(&self) -> &str {
        match self {
            Code::Canceled => "canceled",
            Code::Unknown => "unknown",
            Code::InvalidArgument => "invalid_argument",
            Code::DeadlineExceeded => "deadline_exceeded",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::PermissionDenied => "permission_denied",
            Code::ResourceExhausted => "resource_exhausted",
            Code::FailedPrecondition => "failed_precondition",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out_of_range",
            Code::Unimplemented => "unimplemented",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::DataLoss => "data_loss",
            Code::Unauthenticated => "unauthenticated",
            Code::Other(s) => s,
        }
    }

    /// The HTTP status a Connect server answers with for this code (unknown codes: 500).
    pub fn http_status(&self) -> u16 {
        match self {
            Code::Canceled => 499,
            Code::Unknown | Code::Internal | Code::DataLoss | Code::Other(_) => 500,
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists | Code::Aborted => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::Unimplemented => 501,
            Code::Unavailable => 503,
            Code::Unauthenticated => 401,
        }
    }

    /// The code a client infers from an HTTP status when the body holds no Connect error:
    /// 400→internal, 401→unauthenticated, 403→permission_denied, 404→unimplemented,
    /// 429/502/503/504→unavailable, anything else→unknown.
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }

    /// Parses a wire string; never fails (unknown strings become [`Code::Other`]).
    pub fn parse(s: &str) -> Code {
        Code::ALL.iter().find(|c| c.as_str() == s).cloned().unwrap_or_else(|| Code::Other(s.to_owned()))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Code {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Code::parse(s))
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Code::parse(&s))
    }
}

/// A Connect error: what a server handler returns and what a client gets back from a server.
///
/// On the wire it is the JSON body `{"code": "...", "message": "...", "details": [...]}` of a
/// non-200 response whose HTTP status follows [`Code::http_status`].
///
/// `#[non_exhaustive]`: its fields are public to read; build one with [`ConnectError::new`] or a
/// constructor per code (and [`ConnectError::with_detail`]), so fields can be added later.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ConnectError {
    /// The Connect code.
    pub code: Code,
    /// A message for developers (may be empty).
    pub message: String,
    /// Error details as sent on the wire (`{"type": ..., "value": ...}` objects in Connect).
    pub details: Vec<serde_json::Value>,
    /// The HTTP status of the response this error came from (client side only).
    pub http_status: Option<u16>,
    /// The `x-request-id` response header, if the server sent one (client side only).
    pub request_id: Option<String>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> Self {
                Self::new(Code::$code, message)
            }
        )*
    };
}

impl ConnectError {
    /// A new error with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ConnectError { code, message: message.into(), details: Vec::new(), http_status: None, request_id: None }
    }

    /// `unimplemented`, with a message naming the procedure (what unimplemented trait methods return).
    pub fn unimplemented(procedure: &str) -> Self {
        Self::new(Code::Unimplemented, format!("{} is not implemented", procedure.trim_start_matches('/')))
    }

    constructors! {
        /// A `canceled` error.
        canceled => Canceled;
        /// An `unknown` error.
        unknown => Unknown;
        /// An `invalid_argument` error.
        invalid_argument => InvalidArgument;
        /// A `deadline_exceeded` error.
        deadline_exceeded => DeadlineExceeded;
        /// A `not_found` error.
        not_found => NotFound;
        /// An `already_exists` error.
        already_exists => AlreadyExists;
        /// A `permission_denied` error.
        permission_denied => PermissionDenied;
        /// A `resource_exhausted` error.
        resource_exhausted => ResourceExhausted;
        /// A `failed_precondition` error.
        failed_precondition => FailedPrecondition;
        /// An `aborted` error.
        aborted => Aborted;
        /// An `out_of_range` error.
        out_of_range => OutOfRange;
        /// An `internal` error.
        internal => Internal;
        /// An `unavailable` error.
        unavailable => Unavailable;
        /// A `data_loss` error.
        data_loss => DataLoss;
        /// An `unauthenticated` error.
        unauthenticated => Unauthenticated;
    }

    /// Adds one detail (any JSON value; Connect uses `{"type": "...", "value": "<base64>"}`).
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.details.push(detail);
        self
    }

    /// The JSON body a server sends: `{"code","message"}` plus `"details"` when there are any.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("code".into(), self.code.as_str().into());
        m.insert("message".into(), self.message.clone().into());
        if !self.details.is_empty() {
            m.insert("details".into(), self.details.clone().into());
        }
        serde_json::Value::Object(m)
    }

    /// Builds the error a client sees from a non-200 response: the code from the JSON body, else
    /// from the HTTP status ([`Code::from_http_status`]).
    pub fn from_response(status: u16, body: &[u8], request_id: Option<String>) -> Self {
        #[derive(Deserialize)]
        struct Wire {
            code: Option<String>,
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            details: Option<Vec<serde_json::Value>>,
        }
        let parsed =
            serde_json::from_slice::<Wire>(body).ok().filter(|w| w.code.as_deref().is_some_and(|c| !c.is_empty()));
        let mut err = match parsed {
            Some(w) => {
                let mut e = ConnectError::new(
                    Code::parse(w.code.as_deref().unwrap_or_default()),
                    w.message.unwrap_or_default(),
                );
                e.details = w.details.unwrap_or_default();
                e
            }
            None => {
                let text = String::from_utf8_lossy(body);
                let text = truncate(text.trim(), 512);
                let message = if text.is_empty() {
                    http::StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .map(|r| format!("HTTP {status} {r}"))
                        .unwrap_or_else(|| format!("HTTP {status}"))
                } else {
                    format!("HTTP {status}: {text}")
                };
                ConnectError::new(Code::from_http_status(status), message)
            }
        };
        err.http_status = Some(status);
        err.request_id = request_id;
        err
    }
}

/// A short excerpt of a JSON body that keeps its shape but none of its values: object keys (up to
/// 64 bytes each) and punctuation stay, every string value becomes `"*"`, every number `*`,
/// `true`/`false`/`null` stay; at most `max` bytes of output (then `…`). Control characters are
/// never copied. Used by `Debug`/`Display` of decode errors, since a response may hold secrets.
pub fn redact_json_excerpt(body: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    let push = |out: &mut String, s: &str| {
        out.push_str(s);
    };
    while i < body.len() && out.len() < max {
        let b = body[i];
        match b {
            b'"' => {
                // Find the end of the string literal (escapes skipped).
                let start = i + 1;
                let mut j = start;
                while j < body.len() && body[j] != b'"' {
                    j += if body[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(body.len());
                let mut k = end + 1;
                while k < body.len() && body[k].is_ascii_whitespace() {
                    k += 1;
                }
                let is_key = body.get(k) == Some(&b':');
                let text = String::from_utf8_lossy(&body[start..end]);
                if is_key && text.len() <= 64 && !text.chars().any(char::is_control) {
                    push(&mut out, &format!("\"{text}\""));
                } else {
                    push(&mut out, "\"*\"");
                }
                i = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                while i < body.len() && matches!(body[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                push(&mut out, "*");
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                out.push(b as char);
                i += 1;
            }
            _ if b.is_ascii_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
                i += 1;
            }
            _ if b.is_ascii_alphabetic() => {
                let start = i;
                while i < body.len() && body[i].is_ascii_alphabetic() {
                    i += 1;
                }
                match &body[start..i] {
                    w @ (b"true" | b"false" | b"null") => push(&mut out, std::str::from_utf8(w).unwrap_or("?")),
                    _ => push(&mut out, "?"),
                }
            }
            _ => {
                out.push('?');
                i += 1;
            }
        }
    }
    if i < body.len() {
        out.push('…');
    }
    out
}

/// A serde error message with the values it quotes redacted: `invalid type: string "s3cr3t",
/// expected u32` becomes `invalid type: string "<redacted>", expected u32`. Field paths and
/// names (quoted with backticks) stay.
pub fn redact_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(512));
    let mut rest = message;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        // The closing quote: serde_json escapes nothing in these messages, so the last quote
        // before the next `, expected` / end is the best guess; take the next quote.
        match after.find('"') {
            Some(end) => {
                out.push_str("\"<redacted>\"");
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("\"<redacted>");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.chars().map(|c| if c.is_control() { ' ' } else { c }).take(1024).collect()
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.code)?;
        } else {
            write!(f, "{}: {}", self.code, self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectError {}

/// What a client call returns when it fails.
///
/// `#[non_exhaustive]`: match the variants you handle and end with `_ =>` (or use
/// [`Error::code`]), so new kinds of failure are not a breaking change.
///
/// `Debug` and `Display` never show response bytes verbatim: a decode error keeps the procedure,
/// the field path and a redacted excerpt of the body (string values and numbers hidden), since a
/// response may carry secrets (a `CreateRunnerToken` answer holds the token).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a Connect error (or a non-200 status without one).
    Connect(ConnectError),
    /// The call's timeout passed (after all retries); holds the timeout that applied.
    Timeout(Duration),
    /// The request could not be sent or the response not read (connection refused, reset, TLS ...).
    Transport(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The 200 response body (or a stream message) is not the expected message.
    Decode {
        /// The procedure called (`gitpod.v1.RunnerService/GetRunner`).
        procedure: String,
        /// What went wrong, naming the field path when known (quoted values redacted).
        message: String,
        /// A short, redacted excerpt of the body: its shape and keys, with every string value and
        /// number replaced by `*` (see [`redact_json_excerpt`]).
        body: String,
    },
    /// The response body (after decompression), or one message of a server stream, is larger
    /// than the configured limit (`ClientConfig::max_response_bytes`, per call
    /// `CallOptions::max_response_bytes`). Reading stopped at the limit; nothing is retried.
    ResponseTooLarge {
        /// The procedure called.
        procedure: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A `*_stream` over pages fetched the page limit (`ClientConfig::max_pages`, per call
    /// `CallOptions::max_pages`) and the server still announced a next page. The items of
    /// every fetched page were yielded before this error.
    TooManyPages {
        /// The limit in pages.
        limit: u64,
    },
    /// The request message could not be encoded as JSON.
    Encode(String),
    /// The client is misconfigured, e.g. no token in the config nor in `GITPOD_API_KEY`.
    Config(String),
    /// The server broke the paging contract, e.g. it returned the same page token twice.
    Pagination(String),
}

impl Error {
    /// The Connect code this error corresponds to: the server's code for [`Error::Connect`],
    /// `deadline_exceeded` for timeouts, `unavailable` for transport errors, `internal` for
    /// decode/encode/pagination errors, `resource_exhausted` for the response size and page
    /// limits, `invalid_argument` for configuration errors.
    pub fn code(&self) -> Code {
        match self {
            Error::Connect(e) => e.code.clone(),
            Error::Timeout(_) => Code::DeadlineExceeded,
            Error::Transport(_) => Code::Unavailable,
            Error::Decode { .. } | Error::Encode(_) | Error::Pagination(_) => Code::Internal,
            Error::ResponseTooLarge { .. } | Error::TooManyPages { .. } => Code::ResourceExhausted,
            Error::Config(_) => Code::InvalidArgument,
        }
    }

    /// The server's error, if this is one.
    pub fn as_connect(&self) -> Option<&ConnectError> {
        match self {
            Error::Connect(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the error response, if the server answered.
    pub fn http_status(&self) -> Option<u16> {
        self.as_connect().and_then(|e| e.http_status)
    }

    /// The `x-request-id` header of the error response, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.as_connect().and_then(|e| e.request_id.as_deref())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "{e}"),
            Error::Timeout(d) => write!(f, "request timed out after {d:?}"),
            Error::Transport(e) => write!(f, "transport error: {e}"),
            Error::Decode { procedure, message, .. } => {
                write!(f, "cannot decode the response of {procedure}: {message}")
            }
            Error::ResponseTooLarge { procedure, limit } => {
                write!(f, "the response of {procedure} is larger than the limit of {limit} bytes")
            }
            Error::TooManyPages { limit } => {
                write!(f, "pagination: stopped after the limit of {limit} pages; the server announced more")
            }
            Error::Encode(m) => write!(f, "cannot encode request: {m}"),
            Error::Config(m) => write!(f, "client configuration: {m}"),
            Error::Pagination(m) => write!(f, "pagination: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect(e) => Some(e),
            Error::Transport(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<ConnectError> for Error {
    fn from(e: ConnectError) -> Self {
        Error::Connect(e)
    }
}
