//! The built-in mock over real sockets (127.0.0.1, free port): every method answers its documented
//! example, list methods terminate, bad requests get `invalid_argument` naming the field, lenient
//! mode accepts them, and the server keeps serving.

use gitpod_mock::{MockOptions, MockServer, RunningMock};
use serde_json::{json, Value};
use std::time::Duration;

struct Harness {
    mock: MockServer,
    running: RunningMock,
    http: reqwest::Client,
}

async fn start(options: MockOptions) -> Harness {
    let mock = MockServer::builtin(options.log(false)).expect("the checked-in spec builds a mock");
    let running = mock.start("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    Harness { mock, running, http }
}

impl Harness {
    /// POSTs `body` to `/{procedure}{query}`; returns (status, JSON body).
    async fn call(&self, procedure: &str, query: &str, body: &Value) -> (u16, Value) {
        let url = format!("{}/{procedure}{query}", self.running.base_url());
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("authorization", "Bearer test-token")
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{procedure}: request failed: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{procedure}: body {text:?} is not JSON: {e}"));
        (status, value)
    }

    async fn stop(self) {
        drop(self.http);
        tokio::time::timeout(Duration::from_secs(10), self.running.shutdown())
            .await
            .expect("shutdown within 10 s")
            .expect("server task ends cleanly");
    }
}

/// The documented example of every method, straight from the model (independent of the mock).
fn documented(mock: &MockServer) -> Vec<(String, Option<Value>, Option<gitpod_model::Pagination>)> {
    let mut out = Vec::new();
    for s in &mock.model().services {
        for m in &s.methods {
            let example = m.examples.response.as_deref().map(|t| serde_json::from_str(t).expect("example is JSON"));
            out.push((m.path.trim_start_matches('/').to_owned(), example, m.pagination.clone()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_its_documented_example() {
    let h = start(MockOptions::strict()).await;
    let methods = documented(&h.mock);
    assert_eq!(methods.len(), 36, "the reference documents 36 methods");
    assert_eq!(h.mock.procedures().count(), 36);
    let mut with_example = 0;
    for (procedure, example, _) in &methods {
        let (status, body) = h.call(procedure, "", &json!({})).await;
        assert_eq!(status, 200, "{procedure}: {body}");
        match example {
            Some(example) => {
                with_example += 1;
                assert_eq!(&body, example, "{procedure} answers its documented example");
            }
            None => assert_eq!(body, json!({}), "{procedure} has no example and answers {{}}"),
        }
    }
    eprintln!("{} methods served, {with_example} with a documented example", methods.len());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_methods_terminate_by_query_and_by_body_token() {
    let h = start(MockOptions::strict()).await;
    let mut lists = 0;
    for (procedure, example, pagination) in documented(&h.mock) {
        let Some(p) = pagination else { continue };
        let example = example.expect("list methods have an example");
        lists += 1;
        for by_query in [true, false] {
            // Follow nextToken the way the SDKs do: re-send the first body, the token in the query.
            let first = json!({"pagination": {"pageSize": 20}});
            let mut items = Vec::new();
            let mut token: Option<String> = None;
            let mut pages = 0;
            loop {
                pages += 1;
                assert!(pages <= 10, "{procedure}: more than 10 pages");
                let (query, body) = match (&token, by_query) {
                    (None, _) => (String::new(), first.clone()),
                    (Some(t), true) => (format!("?token={t}&pageSize=20"), first.clone()),
                    (Some(t), false) => (String::new(), json!({"pagination": {"token": t, "pageSize": 20}})),
                };
                let (status, page) = h.call(&procedure, &query, &body).await;
                assert_eq!(status, 200, "{procedure} page {pages}: {page}");
                if pages == 1 {
                    assert_eq!(page, example, "{procedure}: the first page is the documented example");
                }
                items.extend(page.get(&p.items).and_then(Value::as_array).cloned().unwrap_or_default());
                token = page
                    .pointer("/pagination/nextToken")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            assert_eq!(pages, 2, "{procedure}: the example page, then the empty last page");
            assert_eq!(Some(&Value::Array(items)), example.get(&p.items), "{procedure}: the items over all pages");
        }
        // A token the mock never handed out is an error (strict), naming the field.
        let (status, err) = h.call(&procedure, "?token=bogus", &json!({})).await;
        assert_eq!((status, err["code"].as_str()), (400, Some("invalid_argument")), "{procedure}: {err}");
        assert!(err["message"].as_str().unwrap_or("").contains("pagination.token"), "{err}");
    }
    assert_eq!(lists, 6, "six list methods");
    h.stop().await;
}

/// (procedure, bad body, the field path the error must name).
fn bad_requests() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "gitpod.v1.RunnerService/CreateRunner",
            json!({"spec": {"configuration": {"releaseChannel": "RUNNER_RELEASE_CHANNEL_NIGHTLY"}}}),
            "spec.configuration.releaseChannel",
        ),
        (
            "gitpod.v1.RunnerService/CreateRunner",
            json!({"spec": {"configuration": {"auto_update": "yes"}}}),
            "spec.configuration.autoUpdate",
        ),
        (
            "gitpod.v1.RunnerService/CreateRunner",
            json!({"spec": {"configuration": {"updateWindow": {"startHour": 1.5}}}}),
            "spec.configuration.updateWindow.startHour",
        ),
        ("gitpod.v1.RunnerService/CreateRunner", json!({"spec": {"desiredPhase": true}}), "spec.desiredPhase"),
        ("gitpod.v1.RunnerService/CreateRunner", json!({"spec": {"bogusField": 1}}), "spec.bogusField"),
        ("gitpod.v1.RunnerService/CreateRunner", json!({"spec": "not an object"}), "spec"),
        ("gitpod.v1.RunnerService/CreateRunnerPolicy", json!({"runnerId": "r", "bogus": 1}), "bogus"),
        ("gitpod.v1.RunnerService/GetRunner", json!({"runnerId": 42}), "runnerId"),
        ("gitpod.v1.RunnerService/GetRunner", json!({"runnerId": ["r"]}), "runnerId"),
        ("gitpod.v1.RunnerService/DeleteRunner", json!({"force": "true"}), "force"),
        (
            "gitpod.v1.RunnerService/ListRunners",
            json!({"filter": {"providers": "RUNNER_PROVIDER_AWS_EC2"}}),
            "filter.providers",
        ),
        (
            "gitpod.v1.RunnerService/ListRunners",
            json!({"filter": {"providers": ["RUNNER_PROVIDER_MOON"]}}),
            "filter.providers[0]",
        ),
        (
            "gitpod.v1.RunnerService/ListRunnerPolicies",
            json!({"pagination": {"pageSize": "twenty"}}),
            "pagination.pageSize",
        ),
        ("gitpod.v1.RunnerService/SearchRepositories", json!({"limit": 5_000_000_000_u64}), "limit"),
        (
            "gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken",
            json!({"expiresAt": "2024-12-31T23:59:59"}),
            "expiresAt",
        ),
        (
            "gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken",
            json!({"expiresAt": 1735689599}),
            "expiresAt",
        ),
        ("gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken", json!({"scopes": [null]}), "scopes[0]"),
        (
            "gitpod.v1.RunnerConfigurationService/CreateEnvironmentClass",
            json!({"configuration": [{"key": "cpu", "value": 8}]}),
            "configuration[0].value",
        ),
        (
            "gitpod.v1.RunnerConfigurationService/ValidateRunnerConfiguration",
            json!({"scmIntegration": {"oauthEncryptedClientSecret": "not base64!"}}),
            "scmIntegration.oauthEncryptedClientSecret",
        ),
        (
            "gitpod.v1.RunnerConfigurationService/ValidateRunnerConfiguration",
            json!({"environmentClass": {"configuration": [{"kee": "cpu"}]}}),
            "environmentClass.configuration[0].kee",
        ),
        ("gitpod.v1.ProjectService/CreateProjectPolicy", json!({"role": "PROJECT_ROLE_OWNER"}), "role"),
        ("gitpod.v1.ProjectService/CreateProjectPolicy", json!({"projectId": "p", "project_id": "p"}), "projectId"),
    ]
}

/// ProtoJSON spellings the mock must accept.
fn good_requests() -> Vec<(&'static str, Value)> {
    vec![
        (
            "gitpod.v1.RunnerService/CreateRunner",
            json!({"spec": {"configuration": {"release_channel": "RUNNER_RELEASE_CHANNEL_STABLE", "auto_update": true, "updateWindow": {"startHour": "3", "end_hour": 5.0}}, "desired_phase": 1}}),
        ),
        (
            "gitpod.v1.RunnerService/CreateRunner",
            json!({"name": null, "spec": null, "provider": "RUNNER_PROVIDER_AWS_EC2"}),
        ),
        (
            "gitpod.v1.RunnerService/ListRunners",
            json!({"filter": {"providers": ["RUNNER_PROVIDER_AWS_EC2"], "creator_ids": []}, "pagination": {"page_size": 5}}),
        ),
        (
            "gitpod.v1.RunnerConfigurationService/CreateHostAuthenticationToken",
            json!({"expires_at": "2024-12-31T23:59:59.123456789Z", "scopes": ["repo"]}),
        ),
        (
            "gitpod.v1.RunnerConfigurationService/UpdateHostAuthenticationToken",
            json!({"expiresAt": "2024-12-31T23:59:59+02:00"}),
        ),
        (
            "gitpod.v1.RunnerConfigurationService/ValidateRunnerConfiguration",
            json!({"scm_integration": {"oauth_encrypted_client_secret": "c2VjcmV0"}}),
        ),
        (
            "gitpod.v1.RunnerConfigurationService/ValidateRunnerConfiguration",
            json!({"scmIntegration": {"oauthEncryptedClientSecret": "_-8"}}),
        ),
        (
            "gitpod.v1.ProjectService/CreateProjectPolicy",
            json!({"group_id": "g", "project_id": "p", "role": "PROJECT_ROLE_ADMIN"}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_field_and_the_server_keeps_serving() {
    let h = start(MockOptions::strict()).await;
    let cases = bad_requests();
    for (procedure, body, path) in &cases {
        let (status, err) = h.call(procedure, "", body).await;
        assert_eq!(status, 400, "{procedure} {body}: {err}");
        assert_eq!(err["code"], "invalid_argument", "{procedure} {body}: {err}");
        let message = err["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("`{path}`")), "{procedure} {body}: message {message:?} should name `{path}`");
        // ... and the next good call is served.
        let (status, ok) = h.call(procedure, "", &json!({})).await;
        assert_eq!(status, 200, "{procedure} after a bad request: {ok}");
    }
    for (procedure, body) in good_requests() {
        let (status, resp) = h.call(procedure, "", &body).await;
        assert_eq!(status, 200, "{procedure} {body} should be accepted: {resp}");
        assert_eq!(Some(&resp), h.mock.example_response(procedure));
    }
    // Not JSON at all, and a query pageSize that is not a number: the runtime's own checks.
    let url = format!("{}/gitpod.v1.RunnerService/GetRunner", h.running.base_url());
    let resp = h.http.post(&url).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let (status, err) = h.call("gitpod.v1.RunnerService/ListRunners", "?pageSize=ten", &json!({})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_argument")), "{err}");
    let (status, err) = h.call("gitpod.v1.RunnerService/NoSuchMethod", "", &json!({})).await;
    assert_eq!(status, 404, "{err}");
    let (status, _) = h.call("gitpod.v1.RunnerService/GetRunner", "", &json!({"runnerId": "r"})).await;
    assert_eq!(status, 200, "still serving");
    eprintln!(
        "{} invalid requests rejected naming the field, {} ProtoJSON spellings accepted",
        cases.len(),
        good_requests().len()
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_mode_accepts_what_strict_rejects() {
    let h = start(MockOptions::lenient()).await;
    for (procedure, body, _) in bad_requests() {
        let (status, resp) = h.call(procedure, "", &body).await;
        assert_eq!(status, 200, "{procedure} {body} (lenient): {resp}");
        assert_eq!(Some(&resp), h.mock.example_response(procedure));
    }
    // An unknown page token gets the first page instead of an error.
    let (status, resp) = h.call("gitpod.v1.RunnerService/ListRunners", "?token=bogus", &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(Some(&resp), h.mock.example_response("gitpod.v1.RunnerService/ListRunners"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mocks_side_by_side_and_clean_shutdown() {
    let a = start(MockOptions::strict()).await;
    let b = start(MockOptions::strict()).await;
    assert_ne!(a.running.base_url(), b.running.base_url());
    let (status, _) = a.call("gitpod.v1.RunnerService/GetRunner", "", &json!({})).await;
    assert_eq!(status, 200);
    let addr = a.running.local_addr();
    a.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed after shutdown");
    let (status, _) = b.call("gitpod.v1.RunnerService/GetRunner", "", &json!({})).await;
    assert_eq!(status, 200);
    b.stop().await;
}

/// A small gzip request inflating to 4 MiB of numbers (2 M JSON values, ~68 MiB as an untyped
/// tree) is refused before decoding, as is a body nested 100 deep; the mock keeps serving.
#[tokio::test]
async fn bounded_decoding_of_hostile_requests() {
    let h = start(MockOptions::default()).await;
    let procedure = "gitpod.v1.RunnerService/GetRunner";
    let mut numbers = b"{\"runnerId\":[".to_vec();
    numbers.extend(std::iter::repeat_n(b"1,".as_slice(), 2 * 1024 * 1024 - 16).flatten());
    numbers.extend_from_slice(b"1]}");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, &numbers).unwrap();
    let gz = enc.finish().unwrap();
    assert!(gz.len() < 16 * 1024, "{} bytes", gz.len());
    let resp = h
        .http
        .post(format!("{}/{procedure}", h.running.base_url()))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "resource_exhausted", "{body}");
    let deep = format!("{{\"runnerId\":{}1{}}}", "[".repeat(100), "]".repeat(100));
    let resp = h
        .http
        .post(format!("{}/{procedure}", h.running.base_url()))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let (status, _) = h.call(procedure, "", &json!({"runnerId": "r"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn undocumented_fields_the_model_records_are_accepted() {
    // Get-then-create: a runner's configuration as the server sends it, undocumented fields
    // included (both spellings), is a valid CreateRunner request; an unknown field is not.
    let h = start(MockOptions::default()).await;
    let configuration = json!({
        "autoUpdate": true,
        "continuousProfiling": true,
        "encrypted_honeycomb_api_key": "U3RhaW5sZXNzIHJvY2tz",
        "metrics": {"enabled": true, "includeVerboseMetrics": true},
        "updateWindow": {"endHour": 4294967295u32, "startHour": -2147483648i64}
    });
    let (status, body) =
        h.call("gitpod.v1.RunnerService/CreateRunner", "", &json!({"spec": {"configuration": configuration}})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = h
        .call("gitpod.v1.RunnerService/CreateRunner", "", &json!({"spec": {"configuration": {"noSuchField": 1}}}))
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_argument")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("noSuchField"), "{body}");
}
