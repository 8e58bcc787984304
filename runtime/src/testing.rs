//! Helpers for tests of generated types (used by the generated example tests).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Decodes `json` into `T`, encodes it back, and panics with the differing paths unless the result
/// equals `json` as JSON: key order does not matter, and strings that are the same Timestamp or
/// Duration written differently (`"+1.5s"` vs `"1.5s"`, `.117Z` vs `.117000Z`) count as equal, and a
/// field the example shows with its default value (`""`, `0`, `false`, `[]`, an enum's `*_UNSPECIFIED`) may be
/// left out, as ProtoJSON leaves out the default values of fields without presence.
pub fn assert_json_round_trip<T: Serialize + DeserializeOwned>(json: &str) {
    let expected: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("the example is not JSON: {e}"));
    let decoded: T = {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de)
            .unwrap_or_else(|e| panic!("decode failed at `{}`: {}", e.path(), e.inner()))
    };
    let actual = serde_json::to_value(&decoded).unwrap_or_else(|e| panic!("encode failed: {e}"));
    let mut differences = Vec::new();
    diff("", &expected, &actual, &mut differences);
    assert!(differences.is_empty(), "round trip changed the JSON:\n{}", differences.join("\n"));
}

fn diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let p = format!("{path}.{key}");
                match a.get(key) {
                    Some(av) => diff(&p, ev, av, out),
                    None if is_protojson_default(ev) => {}
                    None => out.push(format!("{p}: lost (was {ev})")),
                }
            }
            for key in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{key}: added ({})", a[key]));
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        (Value::String(e), Value::String(a)) if same_well_known_value(e, a) => {}
        // A double written back as `3.0` is the `3` of the example.
        (Value::Number(e), Value::Number(a)) if e.as_f64().is_some() && e.as_f64() == a.as_f64() => {}
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{path}: {e} became {a}")),
    }
}

fn is_protojson_default(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty() || s == "0" || s.ends_with("_UNSPECIFIED"),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Null => true,
    }
}

fn same_well_known_value(expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    if let (Ok(e), Ok(a)) = (crate::wire::parse_duration(expected), crate::wire::parse_duration(actual)) {
        return e == a;
    }
    if let (Ok(e), Ok(a)) = (crate::wire::parse_timestamp(expected), crate::wire::parse_timestamp(actual)) {
        return e == a;
    }
    false
}
