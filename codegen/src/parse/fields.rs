//! The types the parse stages hand each other: list entries as read off a page, nested fields as the nesting
//! pass builds them, what other places confirm about a type (the registry), and how decisions were settled.

use super::json_ref::JsonRef;
use super::names::shared_names;
use super::types::{Head, Spelled};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The signal that settled one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    JsonExample,
    KnownType,
    ParamTwin,
    InlineObject,
    DuplicateKey,
    FieldOrder,
    /// The sort order allowed several levels, but only one lets the rest of the list be placed.
    Lookahead,
    EnumValues,
    KnownEnum,
    FirstChild,
    /// The page kept its indentation.
    Indentation,
    /// Nothing settled it: a warning was emitted and the innermost reading taken.
    Ambiguous,
}

/// One list item as the nesting pass sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub head: Head,
    /// Shared with the field nodes nesting makes of this entry (every pass makes new ones).
    pub text: Rc<str>,
    pub offset: usize,
    /// The item's indentation when the page kept its newlines: it settles nesting outright.
    pub indent: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar,
    Enum {
        name: String,
        values: Vec<String>,
        /// Spelled in place (`Literal[...]`) rather than named: its name is derived, and scoped later.
        inline: bool,
    },
    /// `type_name` is the docs' name, `None` for an HTTP inline object. The children are shared: a type shown
    /// again by name only takes its earlier expansion, and copying it must not cost its size.
    Message {
        type_name: Option<String>,
        children: Rc<Vec<FieldNode>>,
        json: Option<JsonRef>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldNode {
    /// The name as spelled (snake_case in Python, camelCase in HTTP), shared with its list item.
    pub name: Rc<str>,
    pub spelled: Spelled,
    pub text: Rc<str>,
    pub offset: usize,
    pub kind: Kind,
    /// The JSON example value of this field, when the list had one.
    pub example: Option<JsonRef>,
    /// `name` as the wire and the sort order spell it, computed once: the nesting pass compares names on every
    /// decision, and case conversion there was most of the parse time. Shared with the conversion memo, so
    /// making and copying nodes allocates no names.
    wire: Rc<str>,
    snake: Rc<str>,
}

impl FieldNode {
    pub fn new(name: Rc<str>, spelled: Spelled, text: Rc<str>, offset: usize, kind: Kind) -> Self {
        let (wire, snake) = shared_names(&name);
        FieldNode { name, spelled, text, offset, kind, example: None, wire, snake }
    }
    /// The lowerCamelCase wire name.
    pub fn wire(&self) -> &str {
        &self.wire
    }
    /// [`FieldNode::wire`], shared.
    pub fn shared_wire(&self) -> &Rc<str> {
        &self.wire
    }
    /// The snake_case name (the documented sort order compares these).
    pub fn snake(&self) -> &str {
        &self.snake
    }
}

/// What other places have confirmed: field sets of named messages and the names of enums.
///
/// `enums` and `counts` are filled before any list is nested; field sets grow while the resolver's first pass
/// runs. Every read of a type's field sets is logged ([`Registry::take_reads`]), so a nesting result can be reused
/// while the sets it read are unchanged (see `resolve::NestCache`).
#[derive(Debug, Default)]
pub struct Registry {
    /// Field lists (wire names, documented order) confirmed for a docs type name. Only ever appended to; each
    /// list is shared with the nesting levels that check against it.
    ///
    /// (Hashed, Fx: looked up for every named field of every list nested, and never walked in order.)
    shapes: FxHashMap<String, Vec<Shape>>,
    pub enums: FxHashSet<String>,
    /// How many fields a named message has, from HTTP Domain Types headers (`X object { a, b, 3 more... }`).
    pub counts: FxHashMap<String, usize>,
    /// The type names whose field sets were read since the last [`Registry::take_reads`], each with how
    /// many sets it had then.
    reads: RefCell<Vec<(String, usize)>>,
}

/// A field list confirmed for a type (wire names in documented order) and the signal that confirmed it.
pub type Shape = (Signal, Rc<[String]>);

/// Type names whose field sets a nesting read, with how many sets each had.
pub type Reads = Vec<(String, usize)>;

impl Registry {
    pub fn add_shape(&mut self, name: &str, signal: Signal, fields: Vec<String>) {
        let entry = self.shapes.entry(name.to_string()).or_default();
        if !entry.iter().any(|(_, s)| **s == *fields) {
            entry.push((signal, fields.into()));
        }
    }

    /// The field sets confirmed for `name` (logged as read).
    pub fn shapes_of(&self, name: &str) -> &[Shape] {
        let sets = self.shapes.get(name).map_or(&[][..], Vec::as_slice);
        self.reads.borrow_mut().push((name.to_string(), sets.len()));
        sets
    }

    /// The reads logged since the last call, and a fresh log.
    pub fn take_reads(&self) -> Reads {
        let mut reads = std::mem::take(&mut *self.reads.borrow_mut());
        reads.sort_unstable();
        reads.dedup();
        reads
    }

    /// Whether every read in `reads` would see the same field sets now (sets are only appended, so the
    /// same number of sets means the same sets).
    pub fn unchanged(&self, reads: &Reads) -> bool {
        reads.iter().all(|(name, len)| self.shapes.get(name).map_or(0, Vec::len) == *len)
    }
}

/// Counts of decisions per signal.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct DecisionStats {
    pub total: usize,
    pub by_signal: BTreeMap<Signal, usize>,
}

impl DecisionStats {
    pub fn record(&mut self, s: Signal) {
        self.total += 1;
        *self.by_signal.entry(s).or_default() += 1;
    }
    pub fn add(&mut self, other: &DecisionStats) {
        self.total += other.total;
        for (k, v) in &other.by_signal {
            *self.by_signal.entry(*k).or_default() += v;
        }
    }
}

/// A finding of the nesting pass, positioned at an entry's offset.
#[derive(Debug, Clone)]
pub struct Finding {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub fields: Vec<FieldNode>,
    /// Where each open message ended (boundaries) and whether named types are messages or enums (kinds).
    pub boundaries: DecisionStats,
    pub kinds: DecisionStats,
    pub findings: Vec<Finding>,
    /// The nesting limit was met (reported once per list).
    pub depth_reported: bool,
    /// Look-ahead probes run so far in this list (bounded by `limits::LOOKAHEAD_PROBES`).
    pub probes: usize,
    /// Fields copied from earlier expansions of a type shown again by name (bounded by
    /// `limits::MAX_COPIED_FIELDS`), and whether meeting that bound was reported.
    pub copied_fields: usize,
    pub copy_limit_reported: bool,
}

#[cfg(test)]
mod tests {
    use super::{Registry, Signal};

    #[test]
    fn a_read_holds_until_the_sets_it_saw_change() {
        let mut registry = Registry::default();
        registry.add_shape("Spec", Signal::JsonExample, vec!["a".into()]);
        assert_eq!(registry.shapes_of("Spec").len(), 1);
        assert!(registry.shapes_of("Missing").is_empty());
        let reads = registry.take_reads();
        assert_eq!(reads, vec![("Missing".to_string(), 0), ("Spec".to_string(), 1)]);
        assert!(registry.take_reads().is_empty(), "taking the reads starts a fresh log");
        // The same set again changes nothing; a new set for a read name, or a first set for a name read as
        // missing, does.
        registry.add_shape("Spec", Signal::KnownType, vec!["a".into()]);
        registry.add_shape("Other", Signal::KnownType, vec!["b".into()]);
        assert!(registry.unchanged(&reads));
        registry.add_shape("Missing", Signal::KnownType, vec!["c".into()]);
        assert!(!registry.unchanged(&reads));
        let reads = vec![("Spec".to_string(), 1)];
        registry.add_shape("Spec", Signal::KnownType, vec!["a".into(), "d".into()]);
        assert!(!registry.unchanged(&reads));
        // Reads of one name that saw different counts hold for no count.
        registry.shapes_of("Spec");
        registry.add_shape("Spec", Signal::KnownType, vec!["e".into()]);
        registry.shapes_of("Spec");
        assert!(!registry.unchanged(&registry.take_reads()));
    }
}
