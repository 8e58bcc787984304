//! Server-streaming methods: the mock answers with the documented example as a stream (repeated
//! and paced by the options), in both framings, after validating the request. The model is the
//! edge-case fixture's (`WatchThings`, `-> JSONLDecoder[ThingWatchResponse]`).

use std::time::{Duration, Instant};

use gitpod_mock::{model::Model, MockOptions, MockServer};
use gitpod_runtime::client::{ClientConfig, Framing, Transport};
use gitpod_runtime::Code;
use serde_json::{json, Value};

const WATCH: &str = "test.v1.ThingService/WatchThings";

fn fixture_model() -> Model {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/edge-cases/api-model.json"))
        .expect("fixtures/edge-cases/api-model.json");
    serde_json::from_str(&text).expect("the fixture model deserializes")
}

async fn read_all(base: &str, framing: Framing, request: Value) -> Result<Vec<Value>, gitpod_runtime::Error> {
    let transport = Transport::new(ClientConfig::new().base_url(base).bearer_token("t").max_retries(0)).unwrap();
    let mut stream = transport.server_stream::<_, Value>(WATCH, &request).framing(framing);
    let mut out = Vec::new();
    while let Some(m) = stream.message().await? {
        out.push(m);
    }
    Ok(out)
}

#[tokio::test]
async fn a_streaming_method_answers_its_example_as_a_stream() {
    let example = json!({"operation": "THING_OPERATION_UNSPECIFIED", "thingId": "thingId"});
    // Default: the example once, then the end of the stream.
    let mock = MockServer::from_model(fixture_model(), MockOptions::default().log(false)).unwrap();
    assert_eq!(mock.example_response(WATCH), Some(&example));
    let server = mock.start("127.0.0.1:0").await.unwrap();
    for framing in [Framing::Jsonl, Framing::Connect] {
        assert_eq!(read_all(&server.base_url(), framing, json!({})).await.unwrap(), vec![example.clone()]);
        // Requests are validated as for unary methods.
        let err = read_all(&server.base_url(), framing, json!({"kinds": ["THING_KIND_HUGE"]})).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{framing:?}: {err}");
    }
    server.shutdown().await.unwrap();

    // --stream-repeat 5 --stream-interval-ms 40
    let options = MockOptions::default().log(false).stream(5, Duration::from_millis(40));
    let server = MockServer::from_model(fixture_model(), options).unwrap().start("127.0.0.1:0").await.unwrap();
    let started = Instant::now();
    let got = read_all(&server.base_url(), Framing::Jsonl, json!({"thingId": "t-1"})).await.unwrap();
    assert_eq!(got, vec![example; 5]);
    assert!(started.elapsed() >= Duration::from_millis(160), "{:?}", started.elapsed());
    server.shutdown().await.unwrap();
}
