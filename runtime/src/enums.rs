//! Open enums: serde functions for types implementing [`ProtoEnum`].
//!
//! Values are written as their names. Names and numbers are both accepted; a value this crate
//! does not know becomes the enum's catch-all variant (via [`ProtoEnum::unrecognized`]) so that a newer
//! server never breaks an older client. While a server decodes a request, *strict mode* is on
//! (see [`with_strict`]): then an unknown name is a decode error naming the field.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// An open protobuf enum as generated code models it: known variants, in documented order, plus one
/// catch-all variant that keeps a value this crate does not know.
///
/// An implementation only lists its values ([`ProtoEnum::VALUES`]) and names its catch-all variant;
/// lookups by name and number are provided.
pub trait ProtoEnum: Sized + Clone + PartialEq + 'static {
    /// Every known value with its wire name, in documented order: the position is the number.
    const VALUES: &'static [(Self, &'static str)];

    /// Builds the catch-all variant, keeping the raw text (a name, or a number as decimal text).
    fn unrecognized(raw: String) -> Self;

    /// The kept text when `self` is the catch-all variant; `None` for known values.
    fn as_unrecognized(&self) -> Option<&str>;

    /// The position of a known value in [`ProtoEnum::VALUES`] (its number); `None` for the
    /// catch-all variant. Generated code implements it with a `match`; this default scans.
    fn index(&self) -> Option<usize> {
        if self.as_unrecognized().is_some() {
            return None;
        }
        Self::VALUES.iter().position(|(v, _)| v == self)
    }

    /// The value with this wire name, for known values only. Generated code implements it with
    /// a `match` on the name; this default scans.
    fn from_name(name: &str) -> Option<Self> {
        Self::VALUES.iter().find(|(_, n)| *n == name).map(|(v, _)| v.clone())
    }

    /// The value with this number (documented order = number), for known values only.
    fn from_number(n: i32) -> Option<Self> {
        usize::try_from(n).ok().and_then(|i| Self::VALUES.get(i)).map(|(v, _)| v.clone())
    }

    /// The wire string; the catch-all variant returns its kept text. Generated code implements it
    /// with a `match` of string literals; this default looks the value up in [`ProtoEnum::VALUES`].
    fn name(&self) -> &str {
        match self.index().and_then(|i| Self::VALUES.get(i)) {
            Some((_, name)) => name,
            None => self.as_unrecognized().unwrap_or(""),
        }
    }

    /// The number of a known value; `None` for the catch-all variant.
    fn number(&self) -> Option<i32> {
        self.index().and_then(|i| i32::try_from(i).ok())
    }
}

thread_local! {
    static STRICT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with strict enum decoding on this thread: an unknown enum *name* is an error instead
/// of an `Unknown` value. The server decodes requests this way; unknown *numbers* stay accepted.
pub fn with_strict<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            STRICT.with(|s| s.set(self.0));
        }
    }
    let _reset = Reset(STRICT.with(|s| s.replace(true)));
    f()
}

/// True while [`with_strict`] is running on this thread.
pub fn is_strict() -> bool {
    STRICT.with(|s| s.get())
}

/// Serializes an enum as its name (an unknown value kept from a number is written as that number).
/// Known values go through [`ProtoEnum::name`] (generated code: a `match` of string literals, no
/// look-up in [`ProtoEnum::VALUES`]).
pub fn serialize<E: ProtoEnum, S: Serializer>(v: &E, s: S) -> Result<S::Ok, S::Error> {
    let Some(raw) = v.as_unrecognized() else { return s.serialize_str(v.name()) };
    match raw.parse::<i32>() {
        Ok(n) => s.serialize_i32(n),
        Err(_) => s.serialize_str(raw),
    }
}

/// Deserializes an enum from a name or a number. Unknown values become `E::unrecognized(text)`,
/// except unknown names in strict mode (server side), which are errors.
pub fn deserialize<'de, E: ProtoEnum, D: Deserializer<'de>>(d: D) -> Result<E, D::Error> {
    struct V<E>(std::marker::PhantomData<E>);
    impl<'de, E: ProtoEnum> Visitor<'de> for V<E> {
        type Value = E;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an enum value name or number")
        }
        fn visit_str<Er: de::Error>(self, v: &str) -> Result<E, Er> {
            if let Some(e) = E::from_name(v) {
                return Ok(e);
            }
            if is_strict() {
                return Err(Er::custom(format_args!("unknown enum value {v:?}")));
            }
            Ok(E::unrecognized(v.to_owned()))
        }
        fn visit_i64<Er: de::Error>(self, v: i64) -> Result<E, Er> {
            let n = i32::try_from(v).map_err(|_| Er::custom("enum number out of range"))?;
            Ok(E::from_number(n).unwrap_or_else(|| E::unrecognized(n.to_string())))
        }
        fn visit_u64<Er: de::Error>(self, v: u64) -> Result<E, Er> {
            let n = i32::try_from(v).map_err(|_| Er::custom("enum number out of range"))?;
            Ok(E::from_number(n).unwrap_or_else(|| E::unrecognized(n.to_string())))
        }
        fn visit_f64<Er: de::Error>(self, v: f64) -> Result<E, Er> {
            if v.fract() == 0.0 && v >= i32::MIN as f64 && v <= i32::MAX as f64 {
                self.visit_i64(v as i64)
            } else {
                Err(Er::custom(format_args!("{v} is not an enum number")))
            }
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// `FromStr` on a generated enum failed: the text is not one of the enum's documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEnumValue {
    /// The enum's Rust name.
    pub enum_name: &'static str,
    /// The text that did not match.
    pub value: String,
}

impl UnknownEnumValue {
    /// The error for `value` not being a value of `enum_name`.
    pub fn new(enum_name: &'static str, value: &str) -> Self {
        UnknownEnumValue { enum_name, value: value.to_string() }
    }
}

impl std::fmt::Display for UnknownEnumValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not a known value of {}", self.value, self.enum_name)
    }
}

impl std::error::Error for UnknownEnumValue {}
