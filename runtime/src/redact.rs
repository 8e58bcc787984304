//! [`Redacted`]: a `Debug` wrapper that hides secrets (tokens) but says whether one is set.

use std::fmt;

/// Prints `"<redacted>"` for a set value, `None` for `Option::None` and `""` for an empty string,
/// never the value itself. Generated `Debug` impls wrap secret fields in it.
pub struct Redacted<'a, T: ?Sized>(pub &'a T);

/// Whether a value is "set", for [`Redacted`].
pub trait RedactedValue {
    /// How an unset value prints (`None`, `""`), or `None` when the value is set.
    fn unset_repr(&self) -> Option<&'static str>;
}

impl RedactedValue for str {
    fn unset_repr(&self) -> Option<&'static str> {
        self.is_empty().then_some("\"\"")
    }
}
impl RedactedValue for String {
    fn unset_repr(&self) -> Option<&'static str> {
        self.as_str().unset_repr()
    }
}
impl<T> RedactedValue for Vec<T> {
    fn unset_repr(&self) -> Option<&'static str> {
        self.is_empty().then_some("[]")
    }
}
impl<T: RedactedValue> RedactedValue for Option<T> {
    fn unset_repr(&self) -> Option<&'static str> {
        match self {
            None => Some("None"),
            Some(_) => None,
        }
    }
}
impl<T: RedactedValue + ?Sized> RedactedValue for &T {
    fn unset_repr(&self) -> Option<&'static str> {
        (**self).unset_repr()
    }
}
impl<T: RedactedValue + ?Sized> RedactedValue for Box<T> {
    fn unset_repr(&self) -> Option<&'static str> {
        (**self).unset_repr()
    }
}
impl RedactedValue for serde_json::Value {
    fn unset_repr(&self) -> Option<&'static str> {
        self.is_null().then_some("Null")
    }
}

impl<T: RedactedValue + ?Sized> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.unset_repr().unwrap_or("<redacted>"))
    }
}
