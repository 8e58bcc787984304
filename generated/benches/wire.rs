//! `cargo bench -p gitpod-api`: the cost of the generated ProtoJSON types, as ratios to a baseline
//! measured in the same run: decoding and encoding a page of 100 runners (the reference's
//! `ListRunners` example item, repeated) as typed messages vs. as an untyped `serde_json::Value`.

use gitpod_api::types::ListRunnersResponse;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The reference's example runner (one item of the `ListRunners` response example).
const RUNNER: &str = r#"{"createdAt":"2019-12-27T18:11:19.117Z","creator":{"id":"182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e","principal":"PRINCIPAL_UNSPECIFIED"},"kind":"RUNNER_KIND_UNSPECIFIED","name":"name","provider":"RUNNER_PROVIDER_UNSPECIFIED","runnerId":"runnerId","runnerManagerId":"182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e","spec":{"configuration":{"autoUpdate":true,"continuousProfiling":true,"devcontainerImageCacheEnabled":true,"encryptedHoneycombApiKey":"U3RhaW5sZXNzIHJvY2tz","logLevel":"LOG_LEVEL_UNSPECIFIED","metrics":{"enabled":true,"includeVerboseMetrics":true,"managedMetricsEnabled":true,"password":"password","url":"url","username":"username"},"region":"region","releaseChannel":"RUNNER_RELEASE_CHANNEL_UNSPECIFIED","updateWindow":{"endHour":0,"startHour":0}},"desiredPhase":"RUNNER_PHASE_UNSPECIFIED","variant":"RUNNER_VARIANT_UNSPECIFIED"},"status":{"additionalInfo":[{"key":"key","value":"value"}],"capabilities":["RUNNER_CAPABILITY_UNSPECIFIED"],"gatewayInfo":{"gateway":{"name":"name","url":"url","region":"region"},"latency":"+9125115.360s"},"llmUrl":"llmUrl","logUrl":"logUrl","message":"message","phase":"RUNNER_PHASE_UNSPECIFIED","publicKey":"U3RhaW5sZXNzIHJvY2tz","region":"region","supportBundleUrl":"supportBundleUrl","systemDetails":"systemDetails","updatedAt":"2019-12-27T18:11:19.117Z","version":"version"},"updatedAt":"2019-12-27T18:11:19.117Z"}"#;

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn report(name: &str, typed: Duration, untyped: Duration) {
    println!(
        "{name:<7} typed {:>8.3} ms   baseline (serde_json::Value) {:>8.3} ms   ratio {:>5.2}x",
        typed.as_secs_f64() * 1e3,
        untyped.as_secs_f64() * 1e3,
        typed.as_secs_f64() / untyped.as_secs_f64()
    );
}

fn main() {
    let items = vec![RUNNER; 100].join(",");
    let page = format!(r#"{{"pagination":{{"nextToken":"t"}},"runners":[{items}]}}"#);
    println!("page: 100 runners, {} KiB", page.len() / 1024);
    let runs = 51;

    let untyped = median(runs, || {
        black_box(serde_json::from_str::<serde_json::Value>(&page).unwrap());
    });
    let typed = median(runs, || {
        black_box(serde_json::from_str::<ListRunnersResponse>(&page).unwrap());
    });
    report("decode", typed, untyped);

    let value: serde_json::Value = serde_json::from_str(&page).unwrap();
    let message: ListRunnersResponse = serde_json::from_str(&page).unwrap();
    let untyped = median(runs, || {
        black_box(serde_json::to_vec(&value).unwrap());
    });
    let typed = median(runs, || {
        black_box(serde_json::to_vec(&message).unwrap());
    });
    report("encode", typed, untyped);
}
