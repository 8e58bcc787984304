//! Wire adapters, open enums, codes and redaction (no network).

use std::collections::HashMap;
use std::time::Duration;

use gitpod_runtime::serde_with::serde_as;
use gitpod_runtime::{enums, wire, Code, ConnectError, ProtoEnum, Redacted, Timestamp};
use serde::{Deserialize, Serialize};

#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase", default)]
struct Msg {
    #[serde_as(as = "wire::NullAsDefault<wire::Int64>")]
    #[serde(skip_serializing_if = "wire::is_default")]
    count: i64,
    #[serde_as(as = "Option<wire::Uint64>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    big: Option<u64>,
    #[serde_as(as = "wire::NullAsDefault<Vec<wire::Int64>>")]
    #[serde(skip_serializing_if = "wire::is_default")]
    ids: Vec<i64>,
    #[serde_as(as = "wire::NullAsDefault<HashMap<_, wire::Int64>>")]
    #[serde(skip_serializing_if = "wire::is_default")]
    sizes: HashMap<String, i64>,
    #[serde_as(as = "wire::NullAsDefault<wire::Bytes>")]
    #[serde(skip_serializing_if = "wire::is_default")]
    data: Vec<u8>,
    #[serde_as(as = "Option<wire::Timestamp>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<Timestamp>,
    #[serde_as(as = "Option<wire::Duration>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<Duration>,
    #[serde_as(as = "wire::NullAsDefault")]
    #[serde(skip_serializing_if = "wire::is_default")]
    names: Vec<String>,
    #[serde_as(as = "Option<wire::Enum>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<Phase>,
    #[serde_as(as = "wire::NullAsDefault<Vec<wire::Enum>>")]
    #[serde(skip_serializing_if = "wire::is_default")]
    phases: Vec<Phase>,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Unspecified,
    Running,
    Stopped,
    Unknown(String),
}

impl ProtoEnum for Phase {
    const VALUES: &'static [(Self, &'static str)] = &[
        (Phase::Unspecified, "PHASE_UNSPECIFIED"),
        (Phase::Running, "PHASE_RUNNING"),
        (Phase::Stopped, "PHASE_STOPPED"),
    ];
    fn unrecognized(raw: String) -> Self {
        Phase::Unknown(raw)
    }
    fn as_unrecognized(&self) -> Option<&str> {
        match self {
            Phase::Unknown(raw) => Some(raw),
            _ => None,
        }
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct WithEnum {
    #[serde(serialize_with = "enums::serialize", deserialize_with = "enums::deserialize")]
    phase: Phase,
}

fn de(json: &str) -> Msg {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

#[test]
fn int64_strings_and_numbers() {
    assert_eq!(de(r#"{"count":"123"}"#).count, 123);
    assert_eq!(de(r#"{"count":123}"#).count, 123);
    assert_eq!(de(r#"{"count":"-9223372036854775808"}"#).count, i64::MIN);
    assert_eq!(de(r#"{"count":"1e3"}"#).count, 1000);
    assert_eq!(de(r#"{"count":null}"#).count, 0);
    assert_eq!(de(r#"{"big":"18446744073709551615"}"#).big, Some(u64::MAX));
    assert_eq!(de(r#"{"big":18446744073709551615}"#).big, Some(u64::MAX));
    assert_eq!(de(r#"{"ids":["1",2,"-3"]}"#).ids, vec![1, 2, -3]);
    assert_eq!(de(r#"{"sizes":{"a":"5","b":6}}"#).sizes["b"], 6);
    for bad in [r#"{"count":"12x"}"#, r#"{"count":1.5}"#, r#"{"count":"9223372036854775808"}"#, r#"{"big":-1}"#] {
        assert!(serde_json::from_str::<Msg>(bad).is_err(), "{bad} must fail");
    }
    let m = Msg { count: -7, big: Some(u64::MAX), ids: vec![1, 2], ..Default::default() };
    assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"count":"-7","big":"18446744073709551615","ids":["1","2"]}"#);
}

#[test]
fn bytes_base64_variants() {
    let raw: Vec<u8> = vec![0xfb, 0xff, 0xfe, 0x00, 0x41];
    // standard padded, standard unpadded, url-safe padded, url-safe unpadded
    for enc in ["+//+AEE=", "+//+AEE", "-__-AEE=", "-__-AEE"] {
        assert_eq!(de(&format!(r#"{{"data":"{enc}"}}"#)).data, raw, "{enc}");
    }
    let out = serde_json::to_string(&Msg { data: raw.clone(), ..Default::default() }).unwrap();
    assert_eq!(out, r#"{"data":"+//+AEE="}"#);
    assert!(serde_json::from_str::<Msg>(r#"{"data":"!!"}"#).is_err());
    assert_eq!(de(r#"{"data":null}"#).data, Vec::<u8>::new());
}

#[test]
fn timestamps_with_nanos() {
    let cases = [
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05.100Z", "2024-01-02T03:04:05.100Z"),
        ("2024-01-02T03:04:05.123456Z", "2024-01-02T03:04:05.123456Z"),
        ("2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456789Z"),
        ("2024-01-02T03:04:05.1Z", "2024-01-02T03:04:05.100Z"),
        ("2024-01-02T05:04:05.000000001+02:00", "2024-01-02T03:04:05.000000001Z"),
    ];
    for (input, output) in cases {
        let m = de(&format!(r#"{{"createdAt":"{input}"}}"#));
        let t = m.created_at.unwrap();
        assert_eq!(wire::format_timestamp(&t), output);
        assert_eq!(serde_json::to_string(&m).unwrap(), format!(r#"{{"createdAt":"{output}"}}"#));
        assert_eq!(de(&serde_json::to_string(&m).unwrap()), m, "round trip {input}");
    }
    assert!(serde_json::from_str::<Msg>(r#"{"createdAt":"yesterday"}"#).is_err());
    assert!(serde_json::from_str::<Msg>(r#"{"createdAt":"2024-13-02T03:04:05Z"}"#).is_err());
    assert_eq!(de(r#"{"createdAt":null}"#).created_at, None);
}

#[test]
fn durations() {
    let cases = [
        ("1.5s", Duration::from_millis(1500), "1.500s"),
        ("0s", Duration::ZERO, "0s"),
        ("+2s", Duration::from_secs(2), "2s"),
        ("1.000000001s", Duration::new(1, 1), "1.000000001s"),
        ("3.000002s", Duration::new(3, 2000), "3.000002s"),
        (".5s", Duration::from_millis(500), "0.500s"),
        ("315576000000s", Duration::from_secs(315_576_000_000), "315576000000s"),
    ];
    for (input, d, output) in cases {
        assert_eq!(wire::parse_duration(input).unwrap(), d, "{input}");
        assert_eq!(wire::format_duration(&d), output);
        let m = de(&format!(r#"{{"timeout":"{input}"}}"#));
        assert_eq!(m.timeout, Some(d));
        assert_eq!(de(&serde_json::to_string(&m).unwrap()), m);
    }
    for bad in ["1.5", "s", "abc", "-1s", "1.0000000001s", "1,5s", "1.5 s", "315576000001s"] {
        assert!(wire::parse_duration(bad).is_err(), "{bad} must fail");
    }
}

#[test]
fn null_as_default_and_omission() {
    let m = de(r#"{"names":null,"ids":null,"sizes":null,"phases":null,"unknownField":{"x":1}}"#);
    assert_eq!(m, Msg::default());
    assert_eq!(serde_json::to_string(&Msg::default()).unwrap(), "{}");
}

#[test]
fn open_enums() {
    let m = de(r#"{"phase":"PHASE_RUNNING","phases":["PHASE_STOPPED",1,"PHASE_FROM_THE_FUTURE",7]}"#);
    assert_eq!(m.phase, Some(Phase::Running));
    assert_eq!(
        m.phases,
        vec![
            Phase::Stopped,
            Phase::Running,
            Phase::Unknown("PHASE_FROM_THE_FUTURE".into()),
            Phase::Unknown("7".into())
        ]
    );
    // unknown values survive a round trip: names as names, numbers as numbers
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"phase":"PHASE_RUNNING","phases":["PHASE_STOPPED","PHASE_RUNNING","PHASE_FROM_THE_FUTURE",7]}"#
    );
    let w: WithEnum = serde_json::from_str(r#"{"phase":2}"#).unwrap();
    assert_eq!(w.phase, Phase::Stopped);
    assert_eq!(serde_json::to_string(&w).unwrap(), r#"{"phase":"PHASE_STOPPED"}"#);

    // strict mode (the server's): unknown names fail, numbers still pass
    let strict = enums::with_strict(|| serde_json::from_str::<WithEnum>(r#"{"phase":"NOPE"}"#));
    assert!(strict.unwrap_err().to_string().contains("unknown enum value \"NOPE\""));
    assert!(enums::with_strict(|| serde_json::from_str::<WithEnum>(r#"{"phase":9}"#)).is_ok());
    assert!(!enums::is_strict(), "strict mode must be reset");
    assert!(serde_json::from_str::<WithEnum>(r#"{"phase":"NOPE"}"#).is_ok());
}

#[test]
fn codes_and_http_table() {
    let table = [
        (Code::Canceled, "canceled", 499),
        (Code::Unknown, "unknown", 500),
        (Code::InvalidArgument, "invalid_argument", 400),
        (Code::DeadlineExceeded, "deadline_exceeded", 504),
        (Code::NotFound, "not_found", 404),
        (Code::AlreadyExists, "already_exists", 409),
        (Code::PermissionDenied, "permission_denied", 403),
        (Code::ResourceExhausted, "resource_exhausted", 429),
        (Code::FailedPrecondition, "failed_precondition", 400),
        (Code::Aborted, "aborted", 409),
        (Code::OutOfRange, "out_of_range", 400),
        (Code::Unimplemented, "unimplemented", 501),
        (Code::Internal, "internal", 500),
        (Code::Unavailable, "unavailable", 503),
        (Code::DataLoss, "data_loss", 500),
        (Code::Unauthenticated, "unauthenticated", 401),
    ];
    assert_eq!(table.len(), Code::ALL.len());
    for (code, s, status) in table {
        assert_eq!(code.as_str(), s);
        assert_eq!(code.http_status(), status);
        assert_eq!(s.parse::<Code>().unwrap(), code);
        assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{s}\""));
    }
    assert_eq!(Code::parse("teapot"), Code::Other("teapot".into()));
    for (status, code) in [
        (400, Code::Internal),
        (401, Code::Unauthenticated),
        (403, Code::PermissionDenied),
        (404, Code::Unimplemented),
        (429, Code::Unavailable),
        (502, Code::Unavailable),
        (503, Code::Unavailable),
        (504, Code::Unavailable),
        (500, Code::Unknown),
        (418, Code::Unknown),
    ] {
        assert_eq!(Code::from_http_status(status), code, "{status}");
    }
    let e = ConnectError::from_response(
        409,
        br#"{"code":"already_exists","message":"dup","details":[{"type":"x"}]}"#,
        Some("r1".into()),
    );
    assert_eq!(
        (e.code.clone(), e.message.as_str(), e.details.len(), e.http_status),
        (Code::AlreadyExists, "dup", 1, Some(409))
    );
    let e = ConnectError::from_response(502, b"<html>bad gateway</html>", None);
    assert_eq!(e.code, Code::Unavailable);
    let e = ConnectError::from_response(400, b"{\"code\":\"brand_new\"}", None);
    assert_eq!(e.code, Code::Other("brand_new".into()));
}

#[test]
fn redaction() {
    let tok = String::from("secret-token");
    assert_eq!(format!("{:?}", Redacted(&tok)), "<redacted>");
    assert_eq!(format!("{:?}", Redacted(&Some(tok.clone()))), "<redacted>");
    assert_eq!(format!("{:?}", Redacted(&None::<String>)), "None");
    assert_eq!(format!("{:?}", Redacted(&String::new())), "\"\"");
}

// ---------------------------------------------------------------- 32-bit numbers

#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase", default)]
struct Nums {
    #[serde_as(as = "Option<wire::Number>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    i: Option<i32>,
    #[serde_as(as = "Option<wire::Number>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    u: Option<u32>,
    #[serde_as(as = "Option<wire::Number>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    f: Option<f32>,
    #[serde_as(as = "Option<wire::Number>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    d: Option<f64>,
    #[serde_as(as = "wire::NullAsDefault<Vec<wire::Number>>")]
    #[serde(skip_serializing_if = "wire::is_default")]
    ds: Vec<f64>,
}

fn nums(json: &str) -> Result<Nums, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

#[test]
fn number_integers_follow_protojson() {
    for (json, want) in [
        ("5", 5),
        ("-5", -5),
        ("5.0", 5),
        ("1e1", 10),
        ("-2E2", -200),
        ("\"5\"", 5),
        ("\"-7\"", -7),
        ("\"5.0\"", 5),
        ("\"1e1\"", 10),
        ("2147483647", i32::MAX),
        ("-2147483648", i32::MIN),
        ("\"-2147483648\"", i32::MIN),
        ("-0.0", 0),
    ] {
        assert_eq!(nums(&format!(r#"{{"i": {json}}}"#)).unwrap().i, Some(want), "{json}");
    }
    for json in [
        "5.5",
        "1e-1",
        "2147483648",
        "-2147483649",
        "1e10",
        "\"5.5\"",
        "\"x\"",
        "\"\"",
        "\" 5\"",
        "\"5 \"",
        "\"NaN\"",
        "\"Infinity\"",
        "\"inf\"",
        "true",
        "[]",
    ] {
        let r = nums(&format!(r#"{{"i": {json}}}"#));
        assert!(r.is_err(), "int32 {json} must be rejected: {r:?}");
    }
    for (json, want) in [("0", 0), ("4294967295", u32::MAX), ("4.294967295e9", u32::MAX), ("\"3e0\"", 3)] {
        assert_eq!(nums(&format!(r#"{{"u": {json}}}"#)).unwrap().u, Some(want), "{json}");
    }
    for json in ["-1", "4294967296", "\"-1\"", "0.5"] {
        assert!(nums(&format!(r#"{{"u": {json}}}"#)).is_err(), "uint32 {json}");
    }
    // written as JSON numbers; null is unset
    let n = Nums { i: Some(-3), u: Some(7), ..Default::default() };
    assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"i":-3,"u":7}"#);
    assert_eq!(nums(r#"{"i": null, "u": null}"#).unwrap(), Nums::default());
}

#[test]
fn number_floats_follow_protojson() {
    for (json, want) in [
        ("1.5", 1.5),
        ("2", 2.0),
        ("-3", -3.0),
        ("1e300", 1e300),
        ("\"1.5\"", 1.5),
        ("\"-2e3\"", -2000.0),
        ("\"7\"", 7.0),
        ("\"Infinity\"", f64::INFINITY),
        ("\"-Infinity\"", f64::NEG_INFINITY),
    ] {
        assert_eq!(nums(&format!(r#"{{"d": {json}}}"#)).unwrap().d, Some(want), "{json}");
    }
    assert!(nums(r#"{"d": "NaN"}"#).unwrap().d.unwrap().is_nan());
    assert!(nums(r#"{"f": "NaN"}"#).unwrap().f.unwrap().is_nan());
    assert_eq!(nums(r#"{"f": "-Infinity"}"#).unwrap().f, Some(f32::NEG_INFINITY));
    assert_eq!(nums(r#"{"f": 0.25}"#).unwrap().f, Some(0.25));
    assert_eq!(nums(r#"{"f": "3.5"}"#).unwrap().f, Some(3.5));
    for json in ["\"nan\"", "\"inf\"", "\"infinity\"", "\"\"", "\" 1\"", "\"1.5x\"", "\"1e999\"", "true"] {
        let r = nums(&format!(r#"{{"d": {json}}}"#));
        assert!(r.is_err(), "double {json} must be rejected: {r:?}");
    }
    // float out of range
    assert!(nums(r#"{"f": 1e39}"#).is_err());
    assert!(nums(r#"{"f": "-1e39"}"#).is_err());

    // written as numbers; NaN and the infinities as strings (never null)
    let n = Nums {
        f: Some(f32::NAN),
        d: Some(f64::INFINITY),
        ds: vec![1.5, f64::NEG_INFINITY, f64::NAN, -0.5],
        ..Default::default()
    };
    assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"f":"NaN","d":"Infinity","ds":[1.5,"-Infinity","NaN",-0.5]}"#);
    let n = Nums { f: Some(0.1), d: Some(2.0), ..Default::default() };
    assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"f":0.1,"d":2.0}"#);
    // round trip through the wire form
    let back = nums(r#"{"f":"NaN","d":"Infinity","ds":[1.5,"-Infinity","NaN",-0.5]}"#).unwrap();
    assert_eq!(back.d, Some(f64::INFINITY));
    assert_eq!(back.ds[..2], [1.5, f64::NEG_INFINITY]);
    assert!(back.ds[2].is_nan());
    // through serde_json::Value too (the server decodes from a Value after query overrides)
    let v = serde_json::json!({"i": 5.0, "u": "1e1", "d": "NaN"});
    let n: Nums = serde_json::from_value(v).unwrap();
    assert_eq!((n.i, n.u), (Some(5), Some(10)));
    assert!(n.d.unwrap().is_nan());
}

#[test]
fn int64_strings_in_float_notation_must_be_exact() {
    #[serde_as(crate = "gitpod_runtime::serde_with")]
    #[derive(Deserialize, Debug)]
    struct M {
        #[serde_as(as = "wire::Int64")]
        v: i64,
    }
    let read = |s: &str| serde_json::from_str::<M>(&format!("{{\"v\": {s}}}")).map(|m| m.v);
    assert_eq!(read("\"1e3\"").unwrap(), 1000);
    assert_eq!(read("\"9007199254740992\"").unwrap(), 9_007_199_254_740_992);
    assert_eq!(read("\"9223372036854775807\"").unwrap(), i64::MAX);
    assert!(read("\"12345678901234567.5\"").is_err(), "a fraction must not round to an integer");
    assert!(read("\"-9223372036854775809\"").is_err(), "one below i64::MIN must not saturate");
    assert!(read("\"1.5\"").is_err());
}
