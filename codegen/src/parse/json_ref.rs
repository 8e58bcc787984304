//! A value inside a shared JSON example: the parsed example and the path to the value.
//!
//! Nesting hands every level its part of the example, every field its value, and look-ahead clones whole
//! stacks of levels; with plain values each of those copied the subtree. A `JsonRef` costs its path instead.

use serde_json::Value;
use std::fmt;
use std::rc::Rc;

#[derive(Clone)]
pub struct JsonRef {
    root: Rc<Value>,
    /// The last step, linked to the steps before it: a step further shares the path so far (one allocation,
    /// no copy of the path).
    path: Option<Rc<Link>>,
}

#[derive(PartialEq)]
struct Link {
    before: Option<Rc<Link>>,
    step: Step,
}

#[derive(Clone, PartialEq)]
enum Step {
    Key(Rc<str>),
    Index(usize),
}

impl JsonRef {
    /// The whole of `value`.
    pub fn new(value: Rc<Value>) -> Self {
        JsonRef { root: value, path: None }
    }

    /// The value this points at.
    pub fn get(&self) -> &Value {
        follow(&self.root, self.path.as_deref())
    }

    fn step(&self, step: Step) -> JsonRef {
        JsonRef { root: self.root.clone(), path: Some(Rc::new(Link { before: self.path.clone(), step })) }
    }

    /// The value under `key`, when this is an object that has it.
    pub fn key(&self, key: &str) -> Option<JsonRef> {
        self.get().get(key).map(|_| self.step(Step::Key(key.into())))
    }

    /// The element at `index`, when this is an array that long.
    pub fn index(&self, index: usize) -> Option<JsonRef> {
        self.get().get(index).map(|_| self.step(Step::Index(index)))
    }

    /// The first value of an object (a map's example: the message is its first value).
    pub fn first_value(&self) -> Option<JsonRef> {
        let key = self.get().as_object()?.keys().next()?;
        Some(self.step(Step::Key(key.as_str().into())))
    }
}

/// A [`JsonRef`] with the value it points at, looked up once: a walk down an example (the nesting pass, one level
/// per open message) steps from values it already holds instead of following every path from the root again.
#[derive(Clone)]
pub struct JsonAt<'v> {
    pub at: JsonRef,
    pub value: &'v Value,
}

impl<'v> JsonAt<'v> {
    /// `at` and its value (borrowed from `at`, which keeps the example alive).
    pub fn new(at: &'v JsonRef) -> Self {
        JsonAt { at: at.clone(), value: at.get() }
    }

    /// The member `key` of this object, whose value `value` the caller looked up.
    pub fn member(&self, key: &Rc<str>, value: &'v Value) -> JsonAt<'v> {
        JsonAt { at: self.at.step(Step::Key(Rc::clone(key))), value }
    }

    /// [`JsonRef::index`].
    pub fn index(&self, index: usize) -> Option<JsonAt<'v>> {
        let value = self.value.get(index)?;
        Some(JsonAt { at: self.at.step(Step::Index(index)), value })
    }

    /// [`JsonRef::first_value`].
    pub fn first_value(&self) -> Option<JsonAt<'v>> {
        let (key, value) = self.value.as_object()?.iter().next()?;
        Some(JsonAt { at: self.at.step(Step::Key(key.as_str().into())), value })
    }
}

/// The value `path` leads to from `root` (its steps in order, first to last; as deep as the example nests).
fn follow<'v>(root: &'v Value, path: Option<&Link>) -> &'v Value {
    let Some(link) = path else { return root };
    let v = follow(root, link.before.as_deref());
    // Every path was built from values that exist, so the lookups cannot miss.
    match &link.step {
        Step::Key(k) => v.get(&**k).unwrap_or(&Value::Null),
        Step::Index(i) => v.get(*i).unwrap_or(&Value::Null),
    }
}

impl PartialEq for JsonRef {
    /// Equal values; the same place in the same example is equal without comparing the values.
    fn eq(&self, other: &Self) -> bool {
        (Rc::ptr_eq(&self.root, &other.root) && self.path == other.path) || self.get() == other.get()
    }
}

impl fmt::Debug for JsonRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::JsonRef;
    use std::rc::Rc;

    #[test]
    fn steps_into_objects_and_arrays_without_copying() {
        let root = JsonRef::new(Rc::new(serde_json::json!({"a": [{"b": 1}], "m": {"k": {"c": 2}}})));
        let b = root.key("a").and_then(|a| a.index(0)).and_then(|e| e.key("b"));
        assert_eq!(b.map(|b| b.get().clone()), Some(serde_json::json!(1)));
        assert_eq!(
            root.key("m").and_then(|m| m.first_value()).map(|v| v.get().clone()),
            Some(serde_json::json!({"c": 2}))
        );
        assert!(root.key("missing").is_none() && root.index(0).is_none());
        assert_eq!(root.key("a"), JsonRef::new(Rc::new(serde_json::json!([{"b": 1}]))).into());
    }
}
