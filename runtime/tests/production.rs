//! What a team needs in production (issue 10), over real sockets on 127.0.0.1: per-call headers,
//! query parameters, extra body fields and idempotency keys; the response wrapper; client hooks;
//! a user's tower-http layer on the server; tracing spans without secrets.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::{client, client_with, layered_router, spawn, ECHO};
use gitpod_runtime::client::{CallOptions, ClientHook, HookFuture, HookRequest, HookResponse};
use gitpod_runtime::Code;
use serde_json::{json, Value};

#[tokio::test]
async fn per_call_headers_query_fields_and_idempotency_key_reach_the_server() {
    let base = spawn(layered_router()).await;
    let t = client(&base);
    let options = CallOptions::new()
        .header("x-trace-id", "abc-123")
        .header("authorization", "Bearer tenant-b")
        .query_param("pageSize", "7")
        .query_param("token", "next")
        .extra_field("continuousProfiling", json!({"enabled": true}))
        .extra_field("name", "overridden")
        .idempotency_key("key-1");
    let got: Value = t.with_options(options).unary(ECHO, &json!({"name": "n", "kept": 1})).await.unwrap();
    assert_eq!(got["headers"]["x-trace-id"], "abc-123");
    assert_eq!(got["headers"]["authorization"], "Bearer tenant-b", "a per-call header replaces the client's");
    assert_eq!(got["headers"]["idempotency-key"], "key-1");
    assert_eq!(got["query"], json!([["pageSize", "7"], ["token", "next"]]));
    assert_eq!(got["body"], json!({"name": "overridden", "kept": 1, "continuousProfiling": {"enabled": true}}));

    // Without options: the client's own headers, no query, the message as it is.
    let got: Value = t.unary(ECHO, &json!({"name": "n"})).await.unwrap();
    assert_eq!(got["headers"]["authorization"], "Bearer test-token");
    assert!(got["headers"].get("x-trace-id").is_none());
    assert_eq!((&got["query"], &got["body"]), (&json!([]), &json!({"name": "n"})));

    // Options stack: a later with_options adds to (and overrides) an earlier one.
    let stacked = t.with_options(CallOptions::new().header("x-a", "1").header("x-b", "1"));
    let got: Value = stacked.with_options(CallOptions::new().header("x-b", "2")).unary(ECHO, &json!({})).await.unwrap();
    assert_eq!((&got["headers"]["x-a"], &got["headers"]["x-b"]), (&json!("1"), &json!("2")));

    // An invalid header fails the call before anything is sent.
    let err = t.with_options(CallOptions::new().header("bad header", "x")).unary::<_, Value>(ECHO, &json!({})).await;
    assert!(matches!(err, Err(gitpod_runtime::Error::Config(_))), "{err:?}");
    // Debug never shows header values.
    let debug = format!("{:?}", CallOptions::new().header("authorization", "Bearer s3cret"));
    assert!(!debug.contains("s3cret") && debug.contains("authorization"), "{debug}");
}

#[tokio::test]
async fn response_wrapper_has_status_headers_and_request_id() {
    let base = spawn(layered_router()).await;
    let t = client(&base);
    let r = t.unary_with_response::<_, Value>(ECHO, &json!({"name": "n"})).await.unwrap();
    assert_eq!(r.status, http::StatusCode::OK);
    assert_eq!(r.request_id.as_deref(), Some("req-42"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("99"));
    assert_eq!(r.attempt, 0);
    assert_eq!(r.message["body"]["name"], "n");
    let r = t.unary_non_idempotent_with_response::<_, Value>(ECHO, &json!({})).await.unwrap();
    assert_eq!(r.request_id.as_deref(), Some("req-42"));
    // Errors keep the request id too.
    let err = client_with(&base, |c| c.max_retries(0)).unary::<_, Value>(ECHO, &json!({"fail": 1})).await.unwrap_err();
    assert_eq!((err.code(), err.request_id()), (Code::Unavailable, Some("req-42")));
}

/// A hook that counts attempts and answers, and rewrites the token from a provider.
struct Counting {
    before: AtomicU32,
    after: Mutex<Vec<(u32, Option<u16>)>>,
    provider: Arc<TokenProvider>,
}

/// A token provider that hands out a fresh token on every refresh.
struct TokenProvider {
    refreshes: AtomicU32,
}

impl TokenProvider {
    async fn token(&self) -> String {
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst);
        format!("fresh-{n}")
    }
}

impl ClientHook for Counting {
    fn before_request<'a>(&'a self, request: &'a mut HookRequest) -> HookFuture<'a> {
        Box::pin(async move {
            self.before.fetch_add(1, Ordering::SeqCst);
            let token = self.provider.token().await;
            request.headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
            request.headers.insert("x-attempt", request.attempt.to_string().parse().unwrap());
            Ok(())
        })
    }
    fn after_response(&self, response: &HookResponse<'_>) {
        self.after.lock().unwrap().push((response.attempt, response.status.map(|s| s.as_u16())));
    }
}

#[tokio::test]
async fn a_client_hook_counts_and_rewrites() {
    let base = spawn(layered_router()).await;
    let provider = Arc::new(TokenProvider { refreshes: AtomicU32::new(0) });
    let hook = Arc::new(Counting { before: AtomicU32::new(0), after: Mutex::default(), provider });
    struct Shared(Arc<Counting>);
    impl ClientHook for Shared {
        fn before_request<'a>(&'a self, request: &'a mut HookRequest) -> HookFuture<'a> {
            self.0.before_request(request)
        }
        fn after_response(&self, response: &HookResponse<'_>) {
            self.0.after_response(response)
        }
    }
    let t = client_with(&base, |c| c.hook(Shared(hook.clone())));
    let got: Value = t.unary(ECHO, &json!({})).await.unwrap();
    assert_eq!(got["headers"]["authorization"], "Bearer fresh-0");
    assert_eq!(got["headers"]["x-attempt"], "0");
    // A retried call: the hook runs before each attempt (a fresh token each time) and after each.
    let err = t.unary::<_, Value>(ECHO, &json!({"fail": 1})).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(hook.before.load(Ordering::SeqCst), 4);
    assert_eq!(*hook.after.lock().unwrap(), vec![(0, Some(200)), (0, Some(503)), (1, Some(503)), (2, Some(503))]);
    // A hook's error ends the call.
    struct Deny;
    impl ClientHook for Deny {
        fn before_request<'a>(&'a self, _: &'a mut HookRequest) -> HookFuture<'a> {
            Box::pin(async { Err(gitpod_runtime::Error::Config("no token today".into())) })
        }
    }
    let err = client_with(&base, |c| c.hook(Deny)).unary::<_, Value>(ECHO, &json!({})).await.unwrap_err();
    assert!(err.to_string().contains("no token today"), "{err}");
}
