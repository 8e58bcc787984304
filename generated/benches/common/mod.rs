//! What the benches share: the example runner, and ratios measured as interleaved pairs.
#![allow(dead_code)]

pub mod plain;

use std::time::Duration;

/// The reference's example runner (one item of the `ListRunners` response example).
pub const RUNNER: &str = r#"{"createdAt":"2019-12-27T18:11:19.117Z","creator":{"id":"182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e","principal":"PRINCIPAL_UNSPECIFIED"},"kind":"RUNNER_KIND_UNSPECIFIED","name":"name","provider":"RUNNER_PROVIDER_UNSPECIFIED","runnerId":"runnerId","runnerManagerId":"182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e","spec":{"configuration":{"autoUpdate":true,"continuousProfiling":true,"devcontainerImageCacheEnabled":true,"encryptedHoneycombApiKey":"U3RhaW5sZXNzIHJvY2tz","logLevel":"LOG_LEVEL_UNSPECIFIED","metrics":{"enabled":true,"includeVerboseMetrics":true,"managedMetricsEnabled":true,"password":"password","url":"url","username":"username"},"region":"region","releaseChannel":"RUNNER_RELEASE_CHANNEL_UNSPECIFIED","updateWindow":{"endHour":0,"startHour":0}},"desiredPhase":"RUNNER_PHASE_UNSPECIFIED","variant":"RUNNER_VARIANT_UNSPECIFIED"},"status":{"additionalInfo":[{"key":"key","value":"value"}],"capabilities":["RUNNER_CAPABILITY_UNSPECIFIED"],"gatewayInfo":{"gateway":{"name":"name","url":"url","region":"region"},"latency":"+9125115.360s"},"llmUrl":"llmUrl","logUrl":"logUrl","message":"message","phase":"RUNNER_PHASE_UNSPECIFIED","publicKey":"U3RhaW5sZXNzIHJvY2tz","region":"region","supportBundleUrl":"supportBundleUrl","systemDetails":"systemDetails","updatedAt":"2019-12-27T18:11:19.117Z","version":"version"},"updatedAt":"2019-12-27T18:11:19.117Z"}"#;

/// A page of `n` example runners, as the `ListRunners` response.
pub fn page(n: usize) -> String {
    let items = vec![RUNNER; n].join(",");
    format!(r#"{{"pagination":{{"nextToken":"t"}},"runners":[{items}]}}"#)
}

/// Median, min and max of a sample.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(|a, b| a.total_cmp(b));
    let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
    Stats { median, min: v[0], max: v[v.len() - 1] }
}

/// The measurements of `rounds` interleaved pairs: subject and baseline, in alternating order
/// (A B, B A, ...), so drift (thermal, other load) falls on both alike. Each ratio is
/// subject / baseline of one pair.
pub struct Pairs {
    pub subject: Vec<f64>,
    pub baseline: Vec<f64>,
    pub ratio: Vec<f64>,
}

pub fn pairs(rounds: usize, mut subject: impl FnMut() -> f64, mut baseline: impl FnMut() -> f64) -> Pairs {
    // One unrecorded pair warms caches, pools and connections.
    subject();
    baseline();
    let mut p = Pairs { subject: Vec::new(), baseline: Vec::new(), ratio: Vec::new() };
    for i in 0..rounds {
        let (s, b) = if i % 2 == 0 {
            let s = subject();
            (s, baseline())
        } else {
            let b = baseline();
            (subject(), b)
        };
        p.subject.push(s);
        p.baseline.push(b);
        p.ratio.push(s / b);
    }
    p
}

/// Prints one line: the subject's and the baseline's medians (with min–max) and the median ratio
/// (with min–max) over the pairs, and the bar the ratio must meet.
pub fn report(what: &str, unit: &str, p: &Pairs, bar: &str) {
    let (s, b, r) = (stats(p.subject.clone()), stats(p.baseline.clone()), stats(p.ratio.clone()));
    println!(
        "{what:<44} generated {:>9.1} {unit} [{:.1}–{:.1}]  baseline {:>9.1} {unit} [{:.1}–{:.1}]  ratio {:.3}x [{:.3}–{:.3}]  bar {bar}",
        s.median, s.min, s.max, b.median, b.min, b.max, r.median, r.min, r.max
    );
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
