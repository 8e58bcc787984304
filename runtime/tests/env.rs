//! Environment handling of the client (its own test binary: it changes process env vars).

use gitpod_runtime::client::{ClientConfig, Transport, DEFAULT_BASE_URL};
use gitpod_runtime::Error;

#[test]
fn token_and_base_url_from_env_or_config() {
    // SAFETY-free in edition 2021; this binary has a single test, so no other thread reads env.
    std::env::remove_var("GITPOD_API_KEY");
    std::env::remove_var("GITPOD_BASE_URL");
    let err = Transport::new(ClientConfig::new()).unwrap_err();
    let Error::Config(msg) = &err else { panic!("{err:?}") };
    assert!(msg.contains("GITPOD_API_KEY"), "{msg}");

    let t = Transport::new(ClientConfig::new().bearer_token("x")).unwrap();
    assert_eq!(t.base_url(), DEFAULT_BASE_URL);

    std::env::set_var("GITPOD_API_KEY", "from-env");
    std::env::set_var("GITPOD_BASE_URL", "http://127.0.0.1:9/api/");
    let t = Transport::new(ClientConfig::new()).unwrap();
    assert_eq!(t.base_url(), "http://127.0.0.1:9/api");
    assert!(!format!("{t:?}").contains("from-env"));
    let t = Transport::new(ClientConfig::from_env()).unwrap();
    assert_eq!(t.base_url(), "http://127.0.0.1:9/api");
    let t = Transport::new(ClientConfig::new().base_url("http://localhost:1")).unwrap();
    assert_eq!(t.base_url(), "http://localhost:1", "config wins over the environment");
    std::env::remove_var("GITPOD_API_KEY");
    std::env::remove_var("GITPOD_BASE_URL");
}
