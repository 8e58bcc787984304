//! Interop: the official Python SDK (`gitpod-sdk==0.11.0`, installed into `target/interop-venv` by
//! `interop/setup.sh`) reads a server stream served by this runtime's router. The SDK's
//! `client.events.watch(...)` posts to `/gitpod.v1.EventService/WatchEvents` with
//! `Accept: application/jsonl` and reads the body with its `JSONLDecoder`; the driver is
//! `interop/stream_driver.py`. Never skipped: failing to install the SDK fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gitpod_runtime::server::{ConnectRouter, MessageStream, RequestContext};
use gitpod_runtime::ConnectError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const WATCH_EVENTS: &str = "/gitpod.v1.EventService/WatchEvents";
const TOKEN: &str = "sdk-stream-token";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WatchRequest {
    environment_id: Option<String>,
    organization: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    operation: &'static str,
    resource_id: String,
    resource_type: &'static str,
}

fn event(i: usize) -> Event {
    Event {
        operation: "RESOURCE_OPERATION_UPDATE",
        resource_id: format!("r-{i}"),
        resource_type: "RESOURCE_TYPE_ENVIRONMENT",
    }
}

/// What the server saw: `Accept` header and bearer token of each call.
type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>, Option<bool>)>>>;

fn router(seen: Seen) -> axum::Router {
    ConnectRouter::new()
        .server_stream(WATCH_EVENTS, move |ctx: RequestContext, req: WatchRequest| {
            let accept = ctx.headers().get("accept").and_then(|v| v.to_str().ok()).map(str::to_owned);
            seen.lock().unwrap().push((accept, ctx.bearer_token().map(str::to_owned), req.organization));
            async move {
                match req.environment_id.as_deref().unwrap_or("") {
                    "fail-early" => Err(ConnectError::not_found("no such environment")),
                    "fail-after-3" => Ok(MessageStream::iter(
                        (0..3).map(|i| Ok(event(i))).chain([Err(ConnectError::failed_precondition("stream broke"))]),
                    )),
                    _ => {
                        // 20 events, 50 ms apart: the SDK must see them as they come.
                        let stream = futures_util::stream::unfold(0usize, |i| async move {
                            if i == 20 {
                                return None;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Some((Ok(event(i)), i + 1))
                        });
                        Ok(MessageStream::new(stream))
                    }
                }
            }
        })
        .into_axum()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs `cmd`, killing it after `limit`.
fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> std::process::Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn setup_venv(root: &Path) -> PathBuf {
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("interop/setup.sh")).current_dir(root);
    let out = run_bounded(cmd, Duration::from_secs(900), "bash interop/setup.sh");
    assert!(out.status.success(), "interop/setup.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").trim())
}

/// Runs the driver with `kwargs`; returns its JSON lines.
async fn sdk_watch(python: &Path, base: &str, kwargs: Value) -> Vec<Value> {
    let mut cmd = Command::new(python);
    cmd.arg(repo_root().join("interop/stream_driver.py"))
        .args(["--base-url", base, "--token", TOKEN])
        .arg(kwargs.to_string());
    let out = tokio::task::spawn_blocking(move || run_bounded(cmd, Duration::from_secs(60), "stream_driver.py"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "driver failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_reads_a_server_stream() {
    let root = repo_root();
    let python = tokio::task::spawn_blocking(move || setup_venv(&root)).await.unwrap();
    let seen: Seen = Arc::default();
    let base = common::spawn(router(seen.clone())).await;

    // Every message, in order, each as it was sent.
    let lines = sdk_watch(&python, &base, json!({"organization": true})).await;
    assert_eq!(lines.last().unwrap(), &json!({"end": true, "count": 20}), "{lines:#?}");
    let items: Vec<&Value> = lines.iter().filter_map(|l| l.get("item")).collect();
    let want: Vec<Value> = (0..20).map(|i| serde_json::to_value(event(i)).unwrap()).collect();
    assert_eq!(items, want.iter().collect::<Vec<_>>());
    // Received over about a second (20 × 50 ms), not all at once at the end.
    let times: Vec<f64> = lines.iter().filter_map(|l| l.get("t")?.as_f64()).collect();
    let spread = times.last().unwrap() - times.first().unwrap();
    assert!(spread > 0.6, "the SDK received the messages within {spread:.3} s: not incrementally");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], (Some("application/jsonl".into()), Some(TOKEN.into()), Some(true)));
    }

    // An error after 3 messages: the SDK's decoder yields the error line as a 4th item, whose
    // `error` extra attribute carries the Connect error.
    let lines = sdk_watch(&python, &base, json!({"environment_id": "fail-after-3"})).await;
    let items: Vec<&Value> = lines.iter().filter_map(|l| l.get("item")).collect();
    assert_eq!(items.len(), 4, "{lines:#?}");
    assert_eq!(items[2]["resourceId"], "r-2");
    assert_eq!(items[3], &json!({"error": {"code": "failed_precondition", "message": "stream broke"}}));
    assert_eq!(lines.last().unwrap()["end"], true);

    // An error before the first message is an HTTP error: the SDK raises its typed exception.
    let lines = sdk_watch(&python, &base, json!({"environment_id": "fail-early"})).await;
    assert_eq!(
        lines,
        vec![json!({"exception": {"type": "NotFoundError", "status": 404,
            "body": {"code": "not_found", "message": "no such environment"}}, "count": 0})]
    );
}
