//! ProtoJSON encodings of the well-known scalar types, as [`serde_with`] adapters.
//!
//! Each adapter implements [`SerializeAs`] and [`DeserializeAs`], so it composes with
//! `Option<_>`, `Vec<_>` and `HashMap<String, _>` inside `#[serde_as(as = "...")]`:
//!
//! ```
//! use gitpod_runtime::serde_with::serde_as;
//! use gitpod_runtime::wire;
//!
//! #[serde_as(crate = "gitpod_runtime::serde_with")]
//! #[derive(serde::Serialize, serde::Deserialize, Default, PartialEq, Debug)]
//! #[serde(rename_all = "camelCase")]
//! struct Example {
//!     #[serde_as(as = "Option<wire::Int64>")]
//!     #[serde(default, skip_serializing_if = "Option::is_none")]
//!     size: Option<i64>,
//!     #[serde_as(as = "wire::NullAsDefault<Vec<wire::Bytes>>")]
//!     #[serde(default, skip_serializing_if = "wire::is_default")]
//!     blobs: Vec<Vec<u8>>,
//! }
//!
//! let e: Example = serde_json::from_str(r#"{"size": "12", "blobs": null}"#).unwrap();
//! assert_eq!(e, Example { size: Some(12), blobs: vec![] });
//! assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"size":"12"}"#);
//! ```

use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use serde_with::{DeserializeAs, SerializeAs};

/// Returns true when `v` equals `T::default()`; for `skip_serializing_if` (ProtoJSON omits
/// fields at their default value).
pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

// ---------------------------------------------------------------- 64-bit integers

/// `i64` as a JSON string (`"123"`); decodes strings and numbers (`"123"`, `123`, `1e3`).
pub struct Int64;
/// `u64` as a JSON string (`"123"`); decodes strings and numbers.
pub struct Uint64;

macro_rules! int_adapter {
    ($adapter:ident, $ty:ty, $what:literal) => {
        impl SerializeAs<$ty> for $adapter {
            fn serialize_as<S: Serializer>(v: &$ty, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(v)
            }
        }

        impl<'de> DeserializeAs<'de, $ty> for $adapter {
            fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!($what, " as a string or a number"))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        <$ty>::try_from(v).map_err(|_| E::custom(concat!("out of range for ", $what)))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        <$ty>::try_from(v).map_err(|_| E::custom(concat!("out of range for ", $what)))
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                        float_to_int::<$ty, E>(v, $what)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        if let Ok(n) = v.parse::<$ty>() {
                            return Ok(n);
                        }
                        // ProtoJSON also accepts exponent notation such as "1e3", but only where the
                        // float reading is exact: "12345678901234567.5" must not round to an integer.
                        match v.parse::<f64>() {
                            Ok(f) if !v.trim().is_empty() && v.trim() == v => exact_float_to_int::<$ty, E>(f, v, $what),
                            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                        }
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// Largest integer up to which every integer has an exact `f64`.
const MAX_EXACT_F64_INT: f64 = 9_007_199_254_740_992.0;

/// An integer written in float notation in a string: accepted only where `f64` holds it exactly.
fn exact_float_to_int<T: TryFrom<i128>, E: de::Error>(v: f64, text: &str, what: &str) -> Result<T, E> {
    if v.abs() > MAX_EXACT_F64_INT {
        return Err(E::custom(format_args!("{text:?} is not an exact integer ({what})")));
    }
    float_to_int(v, what)
}

fn float_to_int<T: TryFrom<i128>, E: de::Error>(v: f64, what: &str) -> Result<T, E> {
    if v.fract() != 0.0 || !v.is_finite() {
        return Err(E::custom(format_args!("{v} is not an integer ({what})")));
    }
    if v.abs() > 1.8446744073709552e19 {
        return Err(E::custom(format_args!("out of range for {what}")));
    }
    T::try_from(v as i128).map_err(|_| E::custom(format_args!("out of range for {what}")))
}

int_adapter!(Int64, i64, "int64");
int_adapter!(Uint64, u64, "uint64");

// ---------------------------------------------------------------- bytes

/// `Vec<u8>` as base64: standard alphabet with padding out; decodes the standard and the
/// URL-safe alphabet, padded or not.
pub struct Bytes;

const B64_LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes base64 in any of the forms ProtoJSON allows (standard or URL-safe, padded or not).
pub fn decode_base64(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    if s.contains(['-', '_']) {
        let std: String = s
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        B64_LENIENT.decode(std)
    } else {
        B64_LENIENT.decode(s)
    }
}

impl SerializeAs<Vec<u8>> for Bytes {
    fn serialize_as<S: Serializer>(v: &Vec<u8>, s: S) -> Result<S::Ok, S::Error> {
        let engine = base64::engine::general_purpose::STANDARD;
        // Up to 96 bytes (keys, hashes, tokens) are encoded in place, without a String.
        let mut text = [0u8; 128];
        if v.len() <= 96 {
            if let Ok(n) = engine.encode_slice(v, &mut text) {
                if let Ok(text) = std::str::from_utf8(&text[..n]) {
                    return s.serialize_str(text);
                }
            }
        }
        s.serialize_str(&engine.encode(v))
    }
}

impl<'de> DeserializeAs<'de, Vec<u8>> for Bytes {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        decode_base64(&s).map_err(|e| de::Error::custom(format_args!("invalid base64: {e}")))
    }
}

// ---------------------------------------------------------------- Timestamp

/// [`crate::Timestamp`] as RFC 3339 in UTC with `Z` and 0, 3, 6 or 9 fractional digits
/// (`"2024-01-02T03:04:05.123456789Z"`); decodes any RFC 3339 offset.
pub struct Timestamp;

/// Formats a timestamp the ProtoJSON way (UTC, `Z`, 0/3/6/9 fractional digits).
pub fn format_timestamp(t: &crate::Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_timestamp(s: &str) -> Result<crate::Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("invalid RFC 3339 timestamp {s:?}: {e}"))
}

/// A small text written in place (no heap): what the timestamp and duration adapters serialize.
struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        StackText { buf: [0; N], len: 0 }
    }
    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }
    /// `n` as exactly `width` decimal digits (zero-padded; `n` must fit).
    fn digits(&mut self, mut n: u64, width: usize) {
        for i in (0..width).rev() {
            self.buf[self.len + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.len += width;
    }
    /// `n` in decimal, no padding.
    fn number(&mut self, n: u64) {
        let width = n.checked_ilog10().map_or(1, |d| d as usize + 1);
        self.digits(n, width);
    }
    /// `.` and the fraction with 3, 6 or 9 digits (none when `nanos` is 0), as ProtoJSON writes it.
    fn fraction(&mut self, nanos: u32) {
        if nanos == 0 {
            return;
        }
        self.push(b'.');
        if nanos.is_multiple_of(1_000_000) {
            self.digits(u64::from(nanos / 1_000_000), 3);
        } else if nanos.is_multiple_of(1_000) {
            self.digits(u64::from(nanos / 1_000), 6);
        } else {
            self.digits(u64::from(nanos), 9);
        }
    }
    fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever pushed.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// [`format_timestamp`] without allocating, for years 0000–9999 outside leap seconds (the
/// others, `None`, go through chrono).
fn timestamp_text(t: &crate::Timestamp) -> Option<StackText<32>> {
    use chrono::{Datelike, Timelike};
    // The fields of the UTC date and time, read once (each accessor of a `DateTime` works out
    // the local date and time again).
    let utc = t.naive_utc();
    let (date, time) = (utc.date(), utc.time());
    let (year, nanos) = (date.year(), time.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut text = StackText::new();
    text.digits(year as u64, 4);
    text.push(b'-');
    text.digits(u64::from(date.month()), 2);
    text.push(b'-');
    text.digits(u64::from(date.day()), 2);
    text.push(b'T');
    text.digits(u64::from(time.hour()), 2);
    text.push(b':');
    text.digits(u64::from(time.minute()), 2);
    text.push(b':');
    text.digits(u64::from(time.second()), 2);
    text.fraction(nanos);
    text.push(b'Z');
    Some(text)
}

impl SerializeAs<crate::Timestamp> for Timestamp {
    fn serialize_as<S: Serializer>(v: &crate::Timestamp, s: S) -> Result<S::Ok, S::Error> {
        match timestamp_text(v) {
            Some(text) => s.serialize_str(text.as_str()),
            None => s.serialize_str(&format_timestamp(v)),
        }
    }
}

impl<'de> DeserializeAs<'de, crate::Timestamp> for Timestamp {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<crate::Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_timestamp(&s).map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------- Duration

/// [`std::time::Duration`] as seconds with an `s` suffix (`"1.5s"`, `"0s"`, `"1.000000001s"`,
/// 0/3/6/9 fractional digits); decodes an optional leading `+` and up to 9 fractional digits.
/// Negative durations cannot be represented by `std::time::Duration` and are rejected.
pub struct Duration;

/// Formats a duration the ProtoJSON way.
pub fn format_duration(d: &std::time::Duration) -> String {
    duration_text(d).as_str().to_owned()
}

/// [`format_duration`] without allocating: at most 20 digits, `.`, 9 digits and `s`.
fn duration_text(d: &std::time::Duration) -> StackText<32> {
    let mut text = StackText::new();
    text.number(d.as_secs());
    text.fraction(d.subsec_nanos());
    text.push(b's');
    text
}

/// Parses a ProtoJSON duration (`"1.5s"`, `"+2s"`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let err = || format!("invalid duration {s:?} (expected e.g. \"1.5s\")");
    let body = s.strip_suffix('s').ok_or_else(err)?;
    if body.starts_with('-') {
        return Err(format!("negative duration {s:?} is not supported"));
    }
    let body = body.strip_prefix('+').unwrap_or(body);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(err());
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    if frac.len() > 9 {
        return Err(format!("duration {s:?} has more than 9 fractional digits"));
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| err())? };
    if secs > 315_576_000_000 {
        return Err(format!("duration {s:?} is out of range"));
    }
    let nanos: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().map_err(|_| err())? };
    Ok(std::time::Duration::new(secs, nanos))
}

impl SerializeAs<std::time::Duration> for Duration {
    fn serialize_as<S: Serializer>(v: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(duration_text(v).as_str())
    }
}

impl<'de> DeserializeAs<'de, std::time::Duration> for Duration {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_duration(&s).map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------- 32-bit numbers

/// ProtoJSON `int32`, `uint32`, `float` and `double` (`i32`, `u32`, `f32`, `f64`).
///
/// - Integers are written as JSON numbers. They are read from numbers, integral floats included
///   (`5`, `5.0`, `1e1`), or from strings holding such a number (`"5"`, `"1e1"`); fractions
///   (`1.5`) and values out of the type's range are rejected.
/// - Floats are written as JSON numbers, except NaN and the infinities, written as the strings
///   `"NaN"`, `"Infinity"` and `"-Infinity"`. They are read from numbers, from those three
///   strings and from numeric strings (`"1.5"`, `"-2e3"`). An `f32` out of range is rejected.
pub struct Number;

/// Parses a JSON-number-like string (no surrounding space, no `inf`/`nan` spellings).
fn parse_numeric_str(v: &str) -> Option<f64> {
    let plausible = !v.is_empty()
        && v.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && v.bytes().any(|b| b.is_ascii_digit());
    if !plausible {
        return None;
    }
    v.parse::<f64>().ok()
}

macro_rules! int32_adapter {
    ($ty:ty, $what:literal) => {
        impl SerializeAs<$ty> for Number {
            fn serialize_as<S: Serializer>(v: &$ty, s: S) -> Result<S::Ok, S::Error> {
                serde::Serialize::serialize(v, s)
            }
        }

        impl<'de> DeserializeAs<'de, $ty> for Number {
            fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!($what, " as a number or a numeric string"))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        <$ty>::try_from(v).map_err(|_| E::custom(format_args!("{v} is out of range for {}", $what)))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        <$ty>::try_from(v).map_err(|_| E::custom(format_args!("{v} is out of range for {}", $what)))
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                        float_to_int::<$ty, E>(v, $what)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        if let Ok(n) = v.parse::<$ty>() {
                            return Ok(n);
                        }
                        match parse_numeric_str(v) {
                            Some(f) => float_to_int::<$ty, E>(f, $what),
                            None => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                        }
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

int32_adapter!(i32, "int32");
int32_adapter!(u32, "uint32");

/// A 32-bit integer whose signedness the reference does not tell (the pages say `int` for both
/// `int32` and `uint32`), held in an `i64`: decoded like [`Number`] from every value in
/// `i32::MIN..=u32::MAX` (so `4294967295` from a `uint32` field and `-2147483648` from an `int32`
/// field both decode), written back as the same JSON number. Values outside that range are
/// rejected, as a ProtoJSON decoder of either type would.
pub struct Int32Wide;

impl SerializeAs<i64> for Int32Wide {
    fn serialize_as<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*v)
    }
}

impl<'de> DeserializeAs<'de, i64> for Int32Wide {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v: i64 = <Int64 as DeserializeAs<'de, i64>>::deserialize_as(d)?;
        if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) {
            Ok(v)
        } else {
            Err(de::Error::custom(format_args!("{v} is out of range for a 32-bit integer")))
        }
    }
}

/// Reads a JSON value with exactly the rule of [`Int32Wide`] (range `i32::MIN..=u32::MAX`).
pub fn parse_int32_wide(v: &serde_json::Value) -> Result<i64, String> {
    read_as::<i64, Int32Wide>(v)
}

macro_rules! float_adapter {
    ($ty:ty, $what:literal, $serialize:ident) => {
        impl SerializeAs<$ty> for Number {
            fn serialize_as<S: Serializer>(v: &$ty, s: S) -> Result<S::Ok, S::Error> {
                if v.is_nan() {
                    s.serialize_str("NaN")
                } else if v.is_infinite() {
                    s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
                } else {
                    s.$serialize(*v)
                }
            }
        }

        impl<'de> DeserializeAs<'de, $ty> for Number {
            fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                struct V;
                impl V {
                    fn finite<E: de::Error>(v: f64) -> Result<$ty, E> {
                        let out = v as $ty;
                        if v.is_finite() && !out.is_finite() {
                            return Err(E::custom(format_args!("{v} is out of range for {}", $what)));
                        }
                        Ok(out)
                    }
                }
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!(
                            $what,
                            " as a number, a numeric string, \"NaN\", \"Infinity\" or \"-Infinity\""
                        ))
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        Ok(v as $ty)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        Ok(v as $ty)
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$ty, E> {
                        V::finite(v)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        match v {
                            "NaN" => Ok(<$ty>::NAN),
                            "Infinity" => Ok(<$ty>::INFINITY),
                            "-Infinity" => Ok(<$ty>::NEG_INFINITY),
                            _ => match parse_numeric_str(v) {
                                Some(f) if f.is_finite() => V::finite(f),
                                Some(_) => Err(E::custom(format_args!("{v} is out of range for {}", $what))),
                                None => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                            },
                        }
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

float_adapter!(f32, "float", serialize_f32);
float_adapter!(f64, "double", serialize_f64);

// ---------------------------------------------------------------- the input rules on a JSON value

/// Reads `v` with the adapter `A`: the same visitor, so the same rule, as a generated message field.
fn read_as<'a, T, A: DeserializeAs<'a, T>>(v: &'a serde_json::Value) -> Result<T, String> {
    A::deserialize_as(v).map_err(|e| e.to_string())
}

/// Reads a ProtoJSON `int32` from a JSON value, with exactly the rule of [`Number`] (what a
/// generated `i32` field accepts): a number or a numeric string (`5`, `"5"`, `5.0`, `"1e1"`, `"+5"`)
/// holding an integer in range. Fractions, out-of-range values, space around a string, other JSON
/// types and `null` (unset, which callers handle first) are errors, as text for a message.
///
/// For callers that check JSON against a model without decoding it into generated types (the
/// mock server's request validation) and for query parameters (`pageSize`), so that they accept
/// exactly what the generated code accepts.
///
/// ```
/// use gitpod_runtime::wire::parse_int32;
/// use serde_json::json;
/// assert_eq!(parse_int32(&json!("1e1")), Ok(10));
/// assert_eq!(parse_int32(&json!(7.0)), Ok(7));
/// assert!(parse_int32(&json!(1.5)).is_err());
/// assert!(parse_int32(&json!(3_000_000_000_u64)).is_err());
/// assert!(parse_int32(&json!(" 7")).is_err());
/// ```
pub fn parse_int32(v: &serde_json::Value) -> Result<i32, String> {
    read_as::<i32, Number>(v)
}

/// Reads a ProtoJSON `uint32` from a JSON value: the rule of [`parse_int32`], range `0..=u32::MAX`.
pub fn parse_uint32(v: &serde_json::Value) -> Result<u32, String> {
    read_as::<u32, Number>(v)
}

/// Reads a ProtoJSON `int64` from a JSON value, with exactly the rule of [`Int64`]: a decimal
/// string or a number, exponent notation and integral fractions included (`"12"`, `12`, `"1e3"`,
/// `5.0`), in range; no space around a string.
///
/// ```
/// use gitpod_runtime::wire::parse_int64;
/// use serde_json::json;
/// assert_eq!(parse_int64(&json!("-9223372036854775808")), Ok(i64::MIN));
/// assert_eq!(parse_int64(&json!("1e3")), Ok(1000));
/// assert!(parse_int64(&json!("12x")).is_err());
/// ```
pub fn parse_int64(v: &serde_json::Value) -> Result<i64, String> {
    read_as::<i64, Int64>(v)
}

/// Reads a ProtoJSON `uint64` from a JSON value: the rule of [`parse_int64`] ([`Uint64`]), range
/// `0..=u64::MAX`.
pub fn parse_uint64(v: &serde_json::Value) -> Result<u64, String> {
    read_as::<u64, Uint64>(v)
}

/// Reads a ProtoJSON `float` from a JSON value, with exactly the rule of [`Number`] for `f32`: a
/// number, a numeric string (`"1.5"`, `"-2e3"`) or `"NaN"`, `"Infinity"`, `"-Infinity"`; a finite
/// value beyond `f32`'s range (`1e39`) is an error.
///
/// ```
/// use gitpod_runtime::wire::parse_float;
/// use serde_json::json;
/// assert_eq!(parse_float(&json!("3.5")), Ok(3.5));
/// assert_eq!(parse_float(&json!("-Infinity")), Ok(f32::NEG_INFINITY));
/// assert!(parse_float(&json!(1e39)).is_err());
/// assert!(parse_float(&json!("inf")).is_err());
/// ```
pub fn parse_float(v: &serde_json::Value) -> Result<f32, String> {
    read_as::<f32, Number>(v)
}

/// Reads a ProtoJSON `double` from a JSON value: the rule of [`parse_float`] for `f64`.
pub fn parse_double(v: &serde_json::Value) -> Result<f64, String> {
    read_as::<f64, Number>(v)
}

// ---------------------------------------------------------------- null = default

/// Decodes `null` as `T::default()` (ProtoJSON: `null` means unset). Serializes as `U`.
///
/// `NullAsDefault` alone wraps plain serde (`Vec<Message>`, `HashMap<String, String>`, `bool`);
/// `NullAsDefault<Vec<Int64>>` wraps another adapter.
pub struct NullAsDefault<U = serde_with::Same>(PhantomData<U>);

impl<T, U: SerializeAs<T>> SerializeAs<T> for NullAsDefault<U> {
    fn serialize_as<S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        U::serialize_as(v, s)
    }
}

impl<'de, T: Default, U: DeserializeAs<'de, T>> DeserializeAs<'de, T> for NullAsDefault<U> {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let v: Option<serde_with::de::DeserializeAsWrap<T, U>> = Option::deserialize(d)?;
        Ok(v.map(|w| w.into_inner()).unwrap_or_default())
    }
}

/// An open enum ([`crate::ProtoEnum`]) as its name; decodes names and numbers (see
/// [`crate::enums::deserialize`]). Composes with `Option<_>`, `Vec<_>`, maps.
pub struct Enum;

impl<E: crate::ProtoEnum> SerializeAs<E> for Enum {
    fn serialize_as<S: Serializer>(v: &E, s: S) -> Result<S::Ok, S::Error> {
        crate::enums::serialize(v, s)
    }
}

impl<'de, E: crate::ProtoEnum> DeserializeAs<'de, E> for Enum {
    fn deserialize_as<D: Deserializer<'de>>(d: D) -> Result<E, D::Error> {
        crate::enums::deserialize(d)
    }
}

/// `deserialize_with` for the `undocumented` map of generated messages (fields the reference does
/// not describe): keys in proto-name spelling (`continuous_profiling`, valid ProtoJSON input) are
/// normalized to JSON names (`continuousProfiling`), so the same field lands under one key
/// whichever spelling the server used. Top-level keys only: a value's own keys are the field's
/// data. When both spellings arrive, the JSON name's value wins.
pub mod json_names {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};

    /// The JSON name of a proto field name, as protoc computes it: each `_` dropped and the next
    /// letter upper-cased (`include_verbose_metrics` → `includeVerboseMetrics`).
    pub fn to_json_name(name: &str) -> String {
        let mut out = String::with_capacity(name.len());
        let mut upper = false;
        for c in name.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Deserializes a map, normalizing its keys with [`to_json_name`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, serde_json::Value>, D::Error> {
        let raw = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let mut out = BTreeMap::new();
        for (key, value) in raw {
            if key.contains('_') {
                out.entry(to_json_name(&key)).or_insert(value);
            } else {
                out.insert(key, value);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_written_in_place_match_chrono() {
        let cases = [
            Utc.with_ymd_and_hms(2019, 12, 27, 18, 11, 19).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
        ];
        for base in cases {
            for nanos in [0, 117_000_000, 117_001_000, 117_000_001, 1, 999_999_999] {
                let t = base + chrono::Duration::nanoseconds(nanos);
                assert_eq!(timestamp_text(&t).unwrap().as_str(), format_timestamp(&t), "{t:?}");
            }
        }
        let far = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        assert!(timestamp_text(&far).is_none());
    }

    #[test]
    fn bytes_written_in_place_or_not_are_standard_padded_base64() {
        #[serde_with::serde_as(crate = "serde_with")]
        #[derive(serde::Serialize)]
        struct B(#[serde_as(as = "Bytes")] Vec<u8>);
        for len in 0..=200usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let want = serde_json::to_string(&base64::engine::general_purpose::STANDARD.encode(&data)).unwrap();
            assert_eq!(serde_json::to_string(&B(data)).unwrap(), want, "{len} bytes");
        }
    }

    #[test]
    fn durations_written_in_place() {
        let cases = [
            (std::time::Duration::ZERO, "0s"),
            (std::time::Duration::new(1, 500_000_000), "1.500s"),
            (std::time::Duration::new(9_125_115, 360_000_000), "9125115.360s"),
            (std::time::Duration::new(0, 1_000), "0.000001s"),
            (std::time::Duration::new(10, 1), "10.000000001s"),
            (std::time::Duration::new(u64::MAX, 999_999_999), "18446744073709551615.999999999s"),
        ];
        for (d, text) in cases {
            assert_eq!(format_duration(&d), text);
        }
    }
}
