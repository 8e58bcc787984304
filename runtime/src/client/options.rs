//! Per-call request metadata on [`CallOptions`]: headers, query parameters, extra body fields
//! and an idempotency key. Kept apart from the transport so the wire path stays readable.

use std::fmt;

use http::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::CallOptions;
use crate::Error;

/// The header [`CallOptions::idempotency_key`] sets.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// What a call adds to its request. `Debug` shows names only (header values, query values and
/// extra field values may be secrets).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Extras {
    pub(crate) headers: http::HeaderMap,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) fields: Map<String, Value>,
    /// A header name or value that was not valid: the call fails with `Error::Config`.
    pub(crate) invalid: Option<String>,
}

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extras")
            .field("headers", &self.headers.keys().map(HeaderName::as_str).collect::<Vec<_>>())
            .field("query", &self.query.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Extras {
    /// `self` then `later`: a header or field of `later` replaces the same-named one of `self`;
    /// query parameters add up.
    pub(crate) fn merged(&self, later: &Extras) -> Extras {
        let mut out = self.clone();
        for name in later.headers.keys() {
            out.headers.remove(name);
        }
        for (name, value) in &later.headers {
            out.headers.append(name.clone(), value.clone());
        }
        out.query.extend(later.query.iter().cloned());
        for (k, v) in &later.fields {
            out.fields.insert(k.clone(), v.clone());
        }
        if later.invalid.is_some() {
            out.invalid = later.invalid.clone();
        }
        out
    }

    /// The request body with the extra fields merged in (top level; an extra field replaces a
    /// field the message already has).
    pub(crate) fn apply_to_body(&self, body: Vec<u8>) -> Result<Vec<u8>, Error> {
        if let Some(problem) = &self.invalid {
            return Err(Error::Config(problem.clone()));
        }
        if self.fields.is_empty() {
            return Ok(body);
        }
        let mut value: Value = serde_json::from_slice(&body).map_err(|e| Error::Encode(e.to_string()))?;
        let Value::Object(object) = &mut value else {
            return Err(Error::Encode("extra fields need a request that is a JSON object".into()));
        };
        for (k, v) in &self.fields {
            object.insert(k.clone(), v.clone());
        }
        serde_json::to_vec(&value).map_err(|e| Error::Encode(e.to_string()))
    }
}

impl CallOptions {
    /// Adds a request header to this call; it replaces a header of the same name the client
    /// would send (`authorization` for a per-tenant token, `user-agent`, ...). Several values of
    /// one name given here are all sent. An invalid name or value makes the call fail with
    /// [`Error::Config`] (nothing is sent). Values never appear in `Debug` output nor in logs.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(mut value)) => {
                if is_sensitive(&name) {
                    value.set_sensitive(true);
                }
                std::sync::Arc::make_mut(&mut self.extras).headers.append(name, value);
            }
            (Err(_), _) => {
                std::sync::Arc::make_mut(&mut self.extras).invalid =
                    Some("CallOptions::header: invalid header name".into())
            }
            (_, Err(_)) => {
                std::sync::Arc::make_mut(&mut self.extras).invalid =
                    Some("CallOptions::header: invalid header value".into())
            }
        }
        self
    }

    /// Adds a query parameter to this call's URL (e.g. one the reference documents and the
    /// request message lacks: `ListSCMOrganizations`' `token`/`pageSize`). Added after the
    /// parameters the client sends itself.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        std::sync::Arc::make_mut(&mut self.extras).query.push((name.into(), value.into()));
        self
    }

    /// Adds a top-level field to the JSON request body, for a field the reference does not
    /// describe yet (it replaces a field of the same JSON name the message would send). Use the
    /// JSON (lowerCamelCase) name and the ProtoJSON encoding of the value.
    pub fn extra_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        std::sync::Arc::make_mut(&mut self.extras).fields.insert(name.into(), value.into());
        self
    }

    /// Sends `Idempotency-Key: key` with every attempt of this call (the same key on each retry).
    /// It does not change the retry policy: a `Create*` call is still retried only when it surely
    /// was not processed, since the reference does not say that the server deduplicates by key.
    pub fn idempotency_key(self, key: impl Into<String>) -> Self {
        let key: String = key.into();
        self.header(HeaderName::from_static(IDEMPOTENCY_KEY_HEADER), key)
    }

    /// The headers this call adds.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.extras.headers
    }

    /// The query parameters this call adds.
    pub fn query_params(&self) -> &[(String, String)] {
        &self.extras.query
    }

    /// The body fields this call adds.
    pub fn extra_fields(&self) -> &Map<String, Value> {
        &self.extras.fields
    }
}

/// Headers whose values are credentials: marked sensitive (hyper and `http`'s `Debug` hide them).
pub(crate) fn is_sensitive(name: &HeaderName) -> bool {
    matches!(name.as_str(), "authorization" | "proxy-authorization" | "cookie" | "x-api-key")
        || name.as_str().contains("token")
        || name.as_str().contains("secret")
}
