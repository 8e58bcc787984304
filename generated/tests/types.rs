//! The generated types on their own: ProtoJSON encoding and decoding, open enums, redaction.

#![allow(deprecated)]

use gitpod_api::types::{
    CreateRunnerResponse, GatewayInfo, ListRunnersRequest, ListRunnersRequestFilter, RunnerPhase, RunnerProvider,
    RunnerStatus, UpdateHostAuthenticationTokenRequest,
};
use serde_json::json;
use std::str::FromStr;
use std::time::Duration;

#[test]
fn unset_fields_are_omitted_and_names_are_lower_camel_case() {
    let request = ListRunnersRequest {
        filter: Some(ListRunnersRequestFilter { providers: vec![RunnerProvider::AwsEc2], ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(serde_json::to_value(&request).unwrap(), json!({"filter": {"providers": ["RUNNER_PROVIDER_AWS_EC2"]}}));
    assert_eq!(serde_json::to_value(ListRunnersRequest::default()).unwrap(), json!({}));
}

#[test]
fn snake_case_names_and_null_are_accepted() {
    let status: RunnerStatus = serde_json::from_value(json!({
        "support_bundle_url": "https://x", "additionalInfo": null, "capabilities": null, "message": null
    }))
    .unwrap();
    assert_eq!(status.support_bundle_url.as_deref(), Some("https://x"));
    assert!(status.additional_info.is_empty() && status.capabilities.is_empty() && status.message.is_none());
}

#[test]
fn well_known_types_use_their_json_forms() {
    let status: RunnerStatus = serde_json::from_value(json!({
        "publicKey": "AAEC-_8", // URL-safe, unpadded
        "updatedAt": "2024-02-29T12:34:56.123456789+01:00",
    }))
    .unwrap();
    assert_eq!(status.public_key.as_deref(), Some(&[0u8, 1, 2, 251, 255][..]));
    let out = serde_json::to_value(&status).unwrap();
    assert_eq!(out["publicKey"], "AAEC+/8=");
    assert_eq!(out["updatedAt"], "2024-02-29T11:34:56.123456789Z");

    let gateway: GatewayInfo = serde_json::from_value(json!({"latency": "+1.500s"})).unwrap();
    assert_eq!(gateway.latency, Some(Duration::from_millis(1500)));
    assert_eq!(serde_json::to_value(&gateway).unwrap(), json!({"latency": "1.500s"}));

    let bad = serde_json::from_value::<UpdateHostAuthenticationTokenRequest>(json!({"expiresAt": "yesterday"}));
    assert!(bad.is_err());
}

#[test]
fn enums_are_open_and_round_trip_unknown_values() {
    let status: RunnerStatus = serde_json::from_value(json!({"phase": "RUNNER_PHASE_FROM_THE_FUTURE"})).unwrap();
    assert_eq!(status.phase, Some(RunnerPhase::Unrecognized("RUNNER_PHASE_FROM_THE_FUTURE".into())));
    assert_eq!(serde_json::to_value(&status).unwrap(), json!({"phase": "RUNNER_PHASE_FROM_THE_FUTURE"}));

    assert_eq!(RunnerPhase::default(), RunnerPhase::Unspecified);
    assert_eq!(RunnerPhase::Active.as_str(), "RUNNER_PHASE_ACTIVE");
    assert_eq!(RunnerPhase::Active.to_string(), "RUNNER_PHASE_ACTIVE");
    assert_eq!(RunnerPhase::from_str("RUNNER_PHASE_ACTIVE"), Ok(RunnerPhase::Active));
    assert!(RunnerPhase::from_str("ACTIVE").is_err());
    // Numbers are accepted on input (documented order), names written on output.
    let by_number: RunnerStatus = serde_json::from_value(json!({"phase": 3})).unwrap();
    assert_eq!(by_number.phase, Some(RunnerPhase::Active));
}

/// Every known value: `name()` (a generated `match`) is its table name, and that is what it
/// encodes to and decodes from.
fn names_match_the_value_table<E>()
where
    E: gitpod_api::runtime::ProtoEnum + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    for (i, (value, name)) in E::VALUES.iter().enumerate() {
        assert_eq!((value.name(), value.index()), (*name, Some(i)));
        assert_eq!(serde_json::to_value(value).unwrap(), json!(name));
        assert_eq!(&serde_json::from_value::<E>(json!(name)).unwrap(), value);
    }
    // A kept number is written back as that number.
    assert_eq!(serde_json::to_value(E::unrecognized("99".into())).unwrap(), json!(99));
}

#[test]
fn enum_names_match_the_value_table() {
    use gitpod_api::types::*;
    names_match_the_value_table::<RunnerPhase>();
    names_match_the_value_table::<RunnerProvider>();
    names_match_the_value_table::<RunnerKind>();
    names_match_the_value_table::<RunnerCapability>();
    names_match_the_value_table::<Principal>();
    names_match_the_value_table::<LogLevel>();
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let response = CreateRunnerResponse {
        access_token: Some("s3cr3t-access".into()),
        exchange_token: Some("s3cr3t-exchange".into()),
        ..Default::default()
    };
    let debug = format!("{response:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    // The values themselves are untouched.
    assert_eq!(serde_json::to_value(&response).unwrap()["exchangeToken"], "s3cr3t-exchange");
}
