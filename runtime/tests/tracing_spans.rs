//! Tracing spans of client calls and server handlers, captured by a test subscriber. Its own test binary:
//! tracing caches per callsite whether any subscriber wants it, and tests running beside this one in the same
//! process (with no subscriber) would race that cache.

mod common;

use std::sync::{Arc, Mutex};

use common::{client_with, layered_router, spawn, ECHO};
use gitpod_runtime::client::CallOptions;
use serde_json::{json, Value};

/// A subscriber that writes every span (name and fields) and event into one text, and keeps the
/// current span (one thread: the test runs a current-thread runtime).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>, Arc<Mutex<CaptureState>>);

#[derive(Default)]
struct CaptureState {
    metadata: Vec<&'static tracing::Metadata<'static>>,
    stack: Vec<u64>,
}

struct Fields<'a>(&'a mut String);
impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = self.0.lock().unwrap();
        let m = span.metadata();
        out.push_str(&format!("\nspan {} [{} {}]", m.name(), m.level(), m.target()));
        span.record(&mut Fields(&mut out));
        let mut state = self.1.lock().unwrap();
        state.metadata.push(m);
        tracing::span::Id::from_u64(state.metadata.len() as u64)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut out = self.0.lock().unwrap();
        out.push_str("\n  record");
        values.record(&mut Fields(&mut out));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().unwrap();
        let m = event.metadata();
        out.push_str(&format!("\nevent [{} {}]", m.level(), m.target()));
        event.record(&mut Fields(&mut out));
    }
    fn enter(&self, id: &tracing::span::Id) {
        self.1.lock().unwrap().stack.push(id.into_u64());
    }
    fn exit(&self, _: &tracing::span::Id) {
        self.1.lock().unwrap().stack.pop();
    }
    fn current_span(&self) -> tracing_core::span::Current {
        let state = self.1.lock().unwrap();
        match state.stack.last() {
            Some(&id) => {
                tracing_core::span::Current::new(tracing::span::Id::from_u64(id), state.metadata[id as usize - 1])
            }
            None => tracing_core::span::Current::none(),
        }
    }
}

#[test]
fn spans_name_procedure_attempt_status_and_delay_never_the_token() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let base = spawn(layered_router()).await;
            let t = client_with(&base, |c| c.bearer_token("SECRET-TOKEN-1"));
            let options = CallOptions::new().header("x-api-key", "SECRET-KEY-2").idempotency_key("SECRET-KEY-3");
            let _: Value = t.with_options(options.clone()).unary(ECHO, &json!({"password": "SECRET-4"})).await.unwrap();
            let _ = t.with_options(options).unary::<_, Value>(ECHO, &json!({"fail": 1, "x": "SECRET-5"})).await;
        });
    });
    let text = capture.0.lock().unwrap().clone();
    for needle in [
        "span gitpod.client.call [DEBUG gitpod_runtime::client] procedure=\"test.v1.Meta/Echo\"",
        "span gitpod.client.attempt [DEBUG gitpod_runtime::client] procedure=\"test.v1.Meta/Echo\" attempt=0",
        "record status=200",
        "record status=503",
        "code=\"unavailable\"",
        "attempt=2",
        "delay_ms=",
        "record attempts=3",
        "span gitpod.server.call [DEBUG gitpod_runtime::server] procedure=test.v1.Meta/Echo",
        "record code=\"ok\"",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from the captured spans:{text}");
    }
    assert!(!text.contains("SECRET"), "a secret in a span or event:{text}");
    let ours = text.lines().filter(|l| l.contains("gitpod_runtime"));
    assert!(ours.clone().count() >= 6);
    assert!(ours.clone().all(|l| l.contains("[DEBUG ")), "quiet by default (debug level only):{text}");
}
