//! No valid answer of the real API fails to decode (issue 10): extreme numbers and proto-name
//! keys through the generated types, re-encoded unchanged (as canonical ProtoJSON).

use gitpod_api::types::{EnvironmentClassInt, RunnerConfiguration, UpdateWindow};
use serde_json::{json, Value};

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(input: Value) -> (T, Value) {
    let typed: T = serde_json::from_value(input.clone()).unwrap_or_else(|e| panic!("{input}: {e}"));
    let out = serde_json::to_value(&typed).unwrap();
    (typed, out)
}

#[test]
fn int_fields_hold_every_32_bit_value_signed_and_unsigned() {
    // `UpdateWindow.endHour` is uint32 in the API, documented as `int`.
    for (end, start) in [(u32::MAX as i64, i32::MIN as i64), (i32::MAX as i64, 0), (0, -1)] {
        let (w, out) = round_trip::<UpdateWindow>(json!({"endHour": end, "startHour": start}));
        assert_eq!((w.end_hour, w.start_hour), (Some(end), Some(start)));
        assert_eq!(out, json!({"endHour": end, "startHour": start}));
    }
    // Strings and integral floats are valid ProtoJSON input too; the output is the number.
    let (_, out) =
        round_trip::<EnvironmentClassInt>(json!({"min": "-2147483648", "max": "4294967295", "default": 1e1}));
    assert_eq!(out, json!({"min": i32::MIN, "max": u32::MAX, "default": 10}));
    // Outside both types' range: rejected.
    for bad in [json!({"endHour": 4294967296u64}), json!({"endHour": -2147483649i64}), json!({"endHour": 1.5})] {
        assert!(serde_json::from_value::<UpdateWindow>(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn proto_name_keys_are_normalized_everywhere_including_undocumented_fields() {
    let proto_names = json!({
        "auto_update": true,
        "log_level": "LOG_LEVEL_DEBUG",
        "release_channel": "RUNNER_RELEASE_CHANNEL_FUTURE",
        "update_window": {"end_hour": u32::MAX, "start_hour": i32::MIN},
        "metrics": {"managed_metrics_enabled": true, "include_verbose_metrics": true},
        "continuous_profiling": true,
        "encrypted_honeycomb_api_key": "U3RhaW5sZXNzIHJvY2tz"
    });
    let json_names = json!({
        "autoUpdate": true,
        "logLevel": "LOG_LEVEL_DEBUG",
        "releaseChannel": "RUNNER_RELEASE_CHANNEL_FUTURE",
        "updateWindow": {"endHour": u32::MAX, "startHour": i32::MIN},
        "metrics": {"managedMetricsEnabled": true, "includeVerboseMetrics": true},
        "continuousProfiling": true,
        "encryptedHoneycombApiKey": "U3RhaW5sZXNzIHJvY2tz"
    });
    let (from_proto, out) = round_trip::<RunnerConfiguration>(proto_names);
    let (from_json, out2) = round_trip::<RunnerConfiguration>(json_names.clone());
    assert_eq!(from_proto, from_json, "both spellings decode to the same value");
    assert_eq!(out, json_names);
    assert_eq!(out2, json_names);
    assert_eq!(from_proto.undocumented.keys().collect::<Vec<_>>(), ["continuousProfiling", "encryptedHoneycombApiKey"]);
    // An unknown enum value (a newer server) is kept and sent back unchanged.
    assert_eq!(out["releaseChannel"], "RUNNER_RELEASE_CHANNEL_FUTURE");
}
