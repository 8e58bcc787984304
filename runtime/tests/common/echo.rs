//! An echo server for the production-API tests: it answers with the headers, query and body it saw.

use gitpod_runtime::server::{ConnectRouter, RequestContext};
use gitpod_runtime::ConnectError;
use http::HeaderValue;
use serde_json::{json, Value};
use tower_http::set_header::SetResponseHeaderLayer;

pub const ECHO: &str = "test.v1.Meta/Echo";

/// A server answering with what it saw: headers, query parameters and the body.
fn echo_router() -> ConnectRouter {
    ConnectRouter::new().unary_json(ECHO, false, |ctx: RequestContext, body: Value| async move {
        let headers: serde_json::Map<String, Value> = ctx
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), Value::String(String::from_utf8_lossy(v.as_bytes()).into())))
            .collect();
        let query: Vec<Value> = ctx.query().iter().map(|(k, v)| json!([k, v])).collect();
        if body.get("fail").is_some() {
            return Err(ConnectError::unavailable("try again"));
        }
        Ok(json!({ "headers": headers, "query": query, "body": body }))
    })
}

/// The echo router with a user-added tower-http layer setting `x-request-id` and a rate-limit header.
pub fn layered_router() -> axum::Router {
    echo_router()
        .layer(SetResponseHeaderLayer::overriding(
            http::header::HeaderName::from_static("x-request-id"),
            HeaderValue::from_static("req-42"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            http::header::HeaderName::from_static("x-ratelimit-remaining"),
            HeaderValue::from_static("99"),
        ))
        .into_axum()
}
