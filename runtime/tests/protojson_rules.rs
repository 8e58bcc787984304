//! The ProtoJSON input rules on a `serde_json::Value` (`wire::parse_int32` and friends, used by the
//! mock's request validation and by the server's `pageSize` query parameter) are the adapters' rules:
//! over a corpus of spellings, each function accepts exactly what the matching generated field
//! (`wire::Number`, `wire::Int64`, `wire::Uint64`) decodes, to the same value.

use gitpod_runtime::serde_with::serde_as;
use gitpod_runtime::server::{ConnectRouter, RequestContext};
use gitpod_runtime::wire;
use serde::Deserialize;
use serde_json::{json, Value};

#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Deserialize)]
struct I32(#[serde_as(as = "wire::Number")] i32);
#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Deserialize)]
struct U32(#[serde_as(as = "wire::Number")] u32);
#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Deserialize)]
struct I64(#[serde_as(as = "wire::Int64")] i64);
#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Deserialize)]
struct U64(#[serde_as(as = "wire::Uint64")] u64);
#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Deserialize)]
struct F32(#[serde_as(as = "wire::Number")] f32);
#[serde_as(crate = "gitpod_runtime::serde_with")]
#[derive(Deserialize)]
struct F64(#[serde_as(as = "wire::Number")] f64);

/// Strings and numbers around every edge the rules have: signs, space, exponents, fractions, the
/// 32/64-bit bounds, f32's range, the non-finite spellings, other JSON types.
fn corpus() -> Vec<Value> {
    // `|`-separated, so that the empty string and the spaced ones stay visible.
    let texts: Vec<&str> = concat!(
        "| |0|-0|+0|5|+5|-5| 5|5 |5.|.5|5.0|5.5|1e1|1E1|+1e1|-1e1|1e-1|1e+1|0x10|1_000|inf|-inf|infinity|",
        "Infinity|-Infinity|NaN|nan|e5|1e|--1|twenty|2147483647|2147483648|-2147483648|-2147483649|4294967295|",
        "4294967296|2.147483647e9|9223372036854775807|9223372036854775808|-9223372036854775808|",
        "18446744073709551615|18446744073709551616|1.9e19|1e20|3.4e38|3.5e38|1e39|-1e39|1e308|1e309|00012|1.0e0|-0.0",
    )
    .split('|')
    .collect();
    let mut out: Vec<Value> = texts.iter().map(|t| json!(t)).collect();
    out.extend(texts.iter().filter_map(|t| serde_json::from_str::<Value>(t).ok()).filter(Value::is_number));
    out.extend([json!(null), json!(true), json!([]), json!({}), json!(1.5), json!(u64::MAX), json!(i64::MIN)]);
    out
}

/// `Ok(value)` or `Err(())`: what the generated field decodes `v` to.
fn field<T: for<'de> Deserialize<'de>, R>(v: &Value, get: impl Fn(T) -> R) -> Result<R, ()> {
    serde_json::from_value::<T>(v.clone()).map(get).map_err(drop)
}

#[test]
fn value_rules_are_the_adapters_rules() {
    for v in corpus() {
        assert_eq!(wire::parse_int32(&v).map_err(drop), field(&v, |x: I32| x.0), "int32 {v}");
        assert_eq!(wire::parse_uint32(&v).map_err(drop), field(&v, |x: U32| x.0), "uint32 {v}");
        assert_eq!(wire::parse_int64(&v).map_err(drop), field(&v, |x: I64| x.0), "int64 {v}");
        assert_eq!(wire::parse_uint64(&v).map_err(drop), field(&v, |x: U64| x.0), "uint64 {v}");
        // Compared bitwise so that NaN equals NaN.
        assert_eq!(
            wire::parse_float(&v).map(f32::to_bits).map_err(drop),
            field(&v, |x: F32| x.0.to_bits()),
            "float {v}"
        );
        assert_eq!(
            wire::parse_double(&v).map(f64::to_bits).map_err(drop),
            field(&v, |x: F64| x.0.to_bits()),
            "double {v}"
        );
    }
}

#[test]
fn value_rules_pinned() {
    assert_eq!(wire::parse_int32(&json!("1e1")), Ok(10));
    assert_eq!(wire::parse_int32(&json!(5.0)), Ok(5));
    assert_eq!(wire::parse_int32(&json!("+5")), Ok(5));
    for bad in [json!(" 5"), json!("5.5"), json!(2_147_483_648_u64), json!("inf"), json!(true), json!(null)] {
        assert!(wire::parse_int32(&bad).is_err(), "int32 {bad}");
    }
    assert_eq!(wire::parse_uint32(&json!("4294967295")), Ok(u32::MAX));
    assert!(wire::parse_uint32(&json!(-1)).is_err());
    assert_eq!(wire::parse_int64(&json!("-9223372036854775808")), Ok(i64::MIN));
    assert!(wire::parse_int64(&json!("9223372036854775808")).is_err());
    assert_eq!(wire::parse_uint64(&json!(u64::MAX)), Ok(u64::MAX));
    assert!(wire::parse_uint64(&json!("18446744073709551616")).is_err());
    assert_eq!(wire::parse_float(&json!("-Infinity")), Ok(f32::NEG_INFINITY));
    assert!(wire::parse_float(&json!(1e39)).is_err(), "beyond f32");
    assert_eq!(wire::parse_double(&json!(1e39)), Ok(1e39));
    assert!(wire::parse_double(&json!("NaN")).unwrap().is_nan());
    assert!(wire::parse_double(&json!("nan")).is_err());
    // The message names the problem (the mock passes it on as its validation error).
    assert_eq!(wire::parse_int32(&json!(3_000_000_000_u64)).unwrap_err(), "3000000000 is out of range for int32");
}

/// The query `pageSize` follows the same int32 rule as a body's `pagination.pageSize`.
#[tokio::test]
async fn query_page_size_is_an_int32() {
    let router = ConnectRouter::new()
        .unary_json("gitpod.v1.T/List", true, |_ctx: RequestContext, body: Value| async move { Ok(body) })
        .into_axum();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gitpod_runtime::server::serve(listener, router));
    let http = reqwest::Client::new();
    let call = |query: &'static str| {
        let request = http
            .post(format!("{base}/gitpod.v1.T/List?{query}"))
            .header("content-type", "application/json")
            .body(r#"{"pagination":{"pageSize":3}}"#);
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    for (query, want) in [("pageSize=7", 7), ("pageSize=1e1", 10), ("page_size=5.0", 5), ("pageSize=-2", -2)] {
        let (status, body) = call(query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["pagination"], json!({"pageSize": want}), "{query}");
    }
    for query in ["pageSize=many", "pageSize=2147483648", "pageSize=1.5", "pageSize=%207", "pageSize="] {
        let (status, body) = call(query).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_argument")), "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains("query parameter pageSize"), "{query}: {body}");
    }
}
