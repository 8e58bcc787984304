//! `cargo xtask mock --addr 127.0.0.1:PORT [--lenient] [--spec DIR] [--stream-repeat N] [--stream-interval-ms M]`:
//! serves the model of `spec/` (or DIR) with
//! `gitpod_mock::MockServer` (every method answers its documented example) until Ctrl-C.

use std::path::Path;

/// Runs the mock; `args` are the words after `mock`.
pub fn run(root: &Path, args: &[&str]) -> Result<(), String> {
    let mut addr = "127.0.0.1:4010".to_owned();
    let mut options = gitpod_mock::MockOptions::default();
    let mut spec = root.join("spec");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--addr" => addr = it.next().ok_or("--addr needs a value, e.g. --addr 127.0.0.1:4010")?.to_string(),
            a if a.starts_with("--addr=") => addr = a["--addr=".len()..].to_owned(),
            "--lenient" => options.lenient = true,
            "--quiet" => options.log = false,
            "--spec" => spec = root.join(it.next().ok_or("--spec needs a folder, e.g. --spec fixtures/edge-cases/spec")?),
            "--stream-repeat" => {
                let n = it.next().ok_or("--stream-repeat needs a count, e.g. --stream-repeat 10")?;
                options.stream_repeat = n.parse().map_err(|_| format!("--stream-repeat: {n:?} is not a count"))?;
            }
            "--stream-interval-ms" => {
                let ms = it.next().ok_or("--stream-interval-ms needs milliseconds, e.g. --stream-interval-ms 500")?;
                let ms: u64 = ms.parse().map_err(|_| format!("--stream-interval-ms: {ms:?} is not a number"))?;
                options.stream_interval = std::time::Duration::from_millis(ms);
            }
            other => {
                return Err(format!(
                    "mock: unknown argument {other:?} (expected --addr ADDR, --lenient, --quiet, --spec DIR, --stream-repeat N, \
                     --stream-interval-ms M)"
                ))
            }
        }
    }
    let parsed = crate::regen::load_model(&spec).map_err(|e| e.to_string())?;
    if !parsed.warnings.is_empty() {
        eprintln!("mock: the spec has {} warnings (`cargo xtask model` prints them)", parsed.warnings.len());
    }
    let mock = gitpod_mock::MockServer::from_model(parsed.model, options).map_err(|e| e.to_string())?;
    mock.serve_until_ctrl_c(&addr).map_err(|e| format!("mock: cannot serve on {addr}: {e}"))
}
