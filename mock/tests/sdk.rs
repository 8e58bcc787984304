//! The proof with the official SDK: `gitpod-sdk==0.11.0` (installed by `interop/setup.sh`, from this
//! test) calls every method of the three services against the built-in mock with the parameters of
//! the method's documented Python example (`examples.python`, evaluated as written with `client`
//! bound), iterating every page of list methods; every call must succeed and what the SDK parsed must
//! equal the documented response example.
//!
//! Not skipped: python3 is required (CI has it). Bounded: setup 10 min (first pip install), driver 5 min.

use gitpod_mock::{MockOptions, MockServer};
use gitpod_model::{Method, Model, Type};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Documented examples whose keyword arguments do not fit the request schema, with the field the
/// mock names and why. They are reported by name (and re-run against a lenient mock so their
/// responses are still proven); the test fails when this list goes stale in either direction.
const KNOWN_MISFITS: &[(&str, &str, &str)] = &[
    (
        "gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken",
        "expiresAt",
        "expires_at=datetime.fromisoformat(\"2024-12-31T23:59:59\") is a naive datetime; the SDK sends \
         its isoformat() \"2024-12-31T23:59:59\", which has no offset and is not an RFC 3339 timestamp",
    ),
    (
        "gitpod.v1.RunnerConfigurationService/UpdateHostAuthenticationToken",
        "expiresAt",
        "same naive datetime as CreateHostAuthenticationToken",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("mock/ is inside the workspace").to_path_buf()
}

/// Runs `cmd` with a deadline; returns (success, stdout, stderr). Kills it when the deadline passes.
fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.success(), out_reader.join().unwrap_or_default(), err_reader.join().unwrap_or_default())
}

fn venv_python() -> String {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("interop/setup.sh")).current_dir(root());
    let (ok, out, err) = run_bounded(cmd, Duration::from_secs(600), "interop/setup.sh");
    assert!(ok, "interop/setup.sh failed (python3 with venv and network to PyPI are required):\n{err}");
    out.lines().last().expect("setup.sh prints the venv python").trim().to_owned()
}

/// The SDK method for a method the reference gives no Python call for (the HTTP-flavoured page):
/// `{resource}.{verb}` with the SDK's verbs (Get → retrieve).
fn sdk_call_path(m: &Method) -> Option<String> {
    let verb = match m.sdk_name.as_deref() {
        Some(v) => v.to_owned(),
        None => {
            let verbs = [
                ("Create", "create"),
                ("Get", "retrieve"),
                ("Update", "update"),
                ("Delete", "delete"),
                ("List", "list"),
            ];
            verbs.iter().find(|(p, _)| m.name.starts_with(p)).map(|(_, v)| (*v).to_owned())?
        }
    };
    (!m.resource.is_empty()).then(|| format!("{}.{verb}", m.resource))
}

/// A JSON request value (wire names) as Python keyword arguments (snake_case, as the SDK takes them).
fn to_kwargs(model: &Model, message: &str, v: &Value) -> Value {
    let Some(msg) = model.messages.iter().find(|m| m.name == message) else { return v.clone() };
    let Value::Object(obj) = v else { return v.clone() };
    let mut out = serde_json::Map::new();
    for (k, x) in obj {
        match msg.fields.iter().find(|f| f.name == *k || f.proto_name == *k) {
            Some(f) => {
                out.insert(f.proto_name.clone(), convert(model, &f.ty, x));
            }
            None => {
                out.insert(k.clone(), x.clone());
            }
        }
    }
    Value::Object(out)
}

fn convert(model: &Model, ty: &Type, v: &Value) -> Value {
    match (ty, v) {
        (Type::Message { name }, _) => to_kwargs(model, name, v),
        (Type::List { item }, Value::Array(xs)) => Value::Array(xs.iter().map(|x| convert(model, item, x)).collect()),
        (Type::Map { value }, Value::Object(m)) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), convert(model, value, x))).collect())
        }
        _ => v.clone(),
    }
}

/// The calls file for examples_driver.py; methods with no usable example are returned by name.
fn calls(model: &Model) -> (Vec<Value>, Vec<String>, Vec<String>) {
    let mut calls = Vec::new();
    let mut from_yaml = Vec::new();
    let mut unusable = Vec::new();
    for s in &model.services {
        for m in &s.methods {
            let id = m.path.trim_start_matches('/').to_owned();
            if let Some(py) = &m.examples.python {
                calls.push(json!({"id": id, "python": py}));
            } else if let (Some(path), Some(value)) =
                (sdk_call_path(m), m.examples.requests.iter().find_map(|r| r.value.as_ref()))
            {
                from_yaml.push(id.clone());
                calls.push(json!({"id": id, "call": path, "kwargs": to_kwargs(model, &m.request, value)}));
            } else {
                unusable.push(format!("{id}: the reference has neither a Python example nor a request example"));
            }
        }
    }
    (calls, from_yaml, unusable)
}

fn run_driver(python: &str, base_url: &str, calls: &[Value], tag: &str) -> Vec<Value> {
    let file = std::env::temp_dir().join(format!("gitpod-mock-sdk-{}-{tag}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec_pretty(calls).expect("json")).expect("write calls file");
    let mut cmd = Command::new(python);
    cmd.arg(root().join("interop/examples_driver.py"))
        .args(["--base-url", base_url, "--token", "mock-token"])
        .arg(&file)
        .env_remove("GITPOD_API_KEY")
        .env_remove("GITPOD_BASE_URL");
    let (ok, out, err) = run_bounded(cmd, Duration::from_secs(300), "examples_driver.py");
    let _ = std::fs::remove_file(&file);
    assert!(ok, "examples_driver.py failed:\n{err}\n{out}");
    let lines: Vec<Value> =
        out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("driver line {l:?}: {e}"))).collect();
    assert_eq!(lines.len(), calls.len(), "one line per call:\n{out}\n{err}");
    lines
}

/// Where `got` (what the SDK parsed) differs from `want` (the documented example), after what the
/// SDK legitimately changes: timestamps are compared as instants at microsecond precision (the SDK
/// parses them into datetimes and truncates nanoseconds), numbers by value (`1` = `1.0`).
fn diff(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::String(a), Value::String(b)) if a != b => {
            let (ta, tb) = (gitpod_runtime::wire::parse_timestamp(a), gitpod_runtime::wire::parse_timestamp(b));
            match (ta, tb) {
                (Ok(ta), Ok(tb))
                    if (ta.timestamp(), ta.timestamp_subsec_micros())
                        == (tb.timestamp(), tb.timestamp_subsec_micros()) =>
                {
                    None
                }
                _ => Some(format!("{path}: documented {a:?}, SDK parsed {b:?}")),
            }
        }
        (Value::Number(a), Value::Number(b)) => (a.as_f64() != b.as_f64()).then(|| format!("{path}: {a} vs {b}")),
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} items documented, SDK has {}", a.len(), b.len()));
            }
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| diff(x, y, &format!("{path}[{i}]")))
        }
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().chain(b.keys()) {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = diff(x, y, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    (Some(_), None) => return Some(format!("{path}.{k}: documented, missing in what the SDK parsed")),
                    (None, Some(_)) => {
                        return Some(format!("{path}.{k}: not documented, present in what the SDK parsed"))
                    }
                    (None, None) => {}
                }
            }
            None
        }
        _ => (want != got).then(|| format!("{path}: documented {want}, SDK parsed {got}")),
    }
}

struct Outcome {
    ok: Vec<String>,
    failures: Vec<String>,
    misfits: Vec<(String, String)>,
    pages: u64,
}

fn check_lines(mock: &MockServer, lines: &[Value], strict: bool) -> Outcome {
    let mut outcome = Outcome { ok: vec![], failures: vec![], misfits: vec![], pages: 0 };
    for line in lines {
        let id = line["id"].as_str().unwrap_or_default().to_owned();
        let method = mock
            .model()
            .services
            .iter()
            .flat_map(|s| &s.methods)
            .find(|m| m.path.trim_start_matches('/') == id)
            .expect("a method of the model");
        let call = line["call"].as_str().unwrap_or("?");
        if line["ok"] != json!(true) {
            let err = &line["error"];
            if strict && err["code"] == "invalid_argument" {
                let message = err["body"]["message"].as_str().unwrap_or_default().to_owned();
                outcome.misfits.push((id, message));
            } else {
                outcome.failures.push(format!("{id}: `{call}` failed: {err}"));
            }
            continue;
        }
        let example = mock.example_response(&id).expect("served").clone();
        let problem = match &method.pagination {
            Some(p) => {
                let pages = line["pages"].as_u64().unwrap_or(0);
                outcome.pages += pages;
                let want_items = example.get(&p.items).cloned().unwrap_or(json!([]));
                let want_pages = if mock.last_page(&id).is_some() { 2 } else { 1 };
                if line.get("pages").is_none() {
                    Some("a list method, but the SDK did not return a page".to_owned())
                } else if pages != want_pages {
                    Some(format!("{pages} pages fetched, expected {want_pages}"))
                } else {
                    diff(&want_items, &line["result"], &p.items)
                }
            }
            None => {
                outcome.pages += 1;
                diff(&example, &line["result"], "response")
            }
        };
        match problem {
            Some(p) => outcome.failures.push(format!("{id}: `{call}`: {p}")),
            None => outcome.ok.push(id),
        }
    }
    outcome
}

#[test]
fn official_python_sdk_runs_every_documented_example_against_the_mock() {
    let python = venv_python();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let strict = MockServer::builtin(MockOptions::strict().log(false)).expect("builtin mock");
    let lenient = MockServer::builtin(MockOptions::lenient().log(false)).expect("builtin mock");
    let running = rt.block_on(strict.start("127.0.0.1:0")).expect("bind");
    let running_lenient = rt.block_on(lenient.start("127.0.0.1:0")).expect("bind");

    let (calls, from_yaml, unusable) = calls(strict.model());
    let services: std::collections::BTreeSet<&str> = strict.model().services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(services.len(), 3, "three services: {services:?}");
    assert_eq!(calls.len() + unusable.len(), 36, "36 methods");

    // 1. Every example against the strict mock.
    let lines = run_driver(&python, &running.base_url(), &calls, "strict");
    let strict_outcome = check_lines(&strict, &lines, true);

    // 2. Examples whose arguments the strict mock rejected: reported by name, and their responses still
    //    proven against the lenient mock.
    let misfit_ids: Vec<&str> = strict_outcome.misfits.iter().map(|(id, _)| id.as_str()).collect();
    let rerun: Vec<Value> =
        calls.iter().filter(|c| misfit_ids.contains(&c["id"].as_str().unwrap_or(""))).cloned().collect();
    let lenient_outcome = if rerun.is_empty() {
        Outcome { ok: vec![], failures: vec![], misfits: vec![], pages: 0 }
    } else {
        check_lines(&lenient, &run_driver(&python, &running_lenient.base_url(), &rerun, "lenient"), false)
    };

    eprintln!(
        "gitpod-sdk 0.11.0 against the mock ({} methods of {} services):",
        calls.len() + unusable.len(),
        services.len()
    );
    eprintln!(
        "  {} calls succeeded with the documented response (strict mock), {} pages/responses fetched",
        strict_outcome.ok.len(),
        strict_outcome.pages
    );
    if !from_yaml.is_empty() {
        eprintln!("  called with the YAML request example's parameters (the reference has no Python example):");
        for id in &from_yaml {
            eprintln!("    {id}");
        }
    }
    if !strict_outcome.misfits.is_empty() {
        eprintln!(
            "  documented Python arguments that do not fit the request schema (strict mock said invalid_argument):"
        );
        for (id, message) in &strict_outcome.misfits {
            eprintln!("    {id}: {message}");
        }
        eprintln!(
            "  ... the same calls against the lenient mock: {} succeeded with the documented response, {} pages/responses",
            lenient_outcome.ok.len(),
            lenient_outcome.pages
        );
    }

    let mut problems: Vec<String> = unusable;
    problems.extend(strict_outcome.failures);
    problems.extend(lenient_outcome.failures.iter().map(|f| format!("(lenient) {f}")));
    for (id, message) in &strict_outcome.misfits {
        match KNOWN_MISFITS.iter().find(|(k, _, _)| k == id) {
            Some((_, field, _)) if message.contains(&format!("`{field}`")) => {}
            _ => problems.push(format!("{id}: the documented arguments do not fit the request schema: {message}")),
        }
    }
    for (id, field, why) in KNOWN_MISFITS {
        if !misfit_ids.contains(id) {
            problems.push(format!(
                "{id}: listed in KNOWN_MISFITS ({field}: {why}) but its example now fits; update the list"
            ));
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
    assert_eq!(strict_outcome.ok.len() + lenient_outcome.ok.len(), 36, "all 36 methods proven");

    rt.block_on(async {
        running.shutdown().await.expect("shutdown");
        running_lenient.shutdown().await.expect("shutdown");
    });
}

#[test]
fn the_comparison_normalises_only_what_the_sdk_changes() {
    let doc = json!({"runner": {"createdAt": "2019-12-27T18:11:19.117Z", "n": 1, "tags": ["a"]}});
    let parsed = json!({"runner": {"createdAt": "2019-12-27T18:11:19.117000Z", "n": 1.0, "tags": ["a"]}});
    assert_eq!(diff(&doc, &parsed, "response"), None);
    let nanos = json!({"t": "2019-12-27T18:11:19.123456789Z"});
    assert_eq!(diff(&nanos, &json!({"t": "2019-12-27T18:11:19.123456Z"}), "r"), None, "truncated to microseconds");
    assert!(diff(&nanos, &json!({"t": "2019-12-27T18:11:19.123457Z"}), "r").is_some());
    let changed = json!({"runner": {"createdAt": "2019-12-27T18:11:20.117Z", "n": 1, "tags": ["a"]}});
    assert_eq!(
        diff(&doc, &changed, "response").as_deref().map(|d| d.starts_with("response.runner.createdAt")),
        Some(true)
    );
    assert!(diff(&doc, &json!({"runner": {"createdAt": "2019-12-27T18:11:19.117Z", "n": 1}}), "r").is_some());
    assert!(
        diff(&doc, &json!({"runner": {"createdAt": "2019-12-27T18:11:19.117Z", "n": 2, "tags": ["a"]}}), "r").is_some()
    );
    assert!(diff(&json!({"a": "x"}), &json!({"a": "x", "b": 1}), "r").is_some());
}
