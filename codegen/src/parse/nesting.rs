//! Recovers nesting from a flat run of field items.
//!
//! A message-typed field is followed directly by its first child; where the children end is not written down.
//! For every later field while a message is open we decide which open level it belongs to, using (strongest first):
//! the JSON response example, field sets of the same type confirmed elsewhere (JSON-resolved or Domain Types),
//! the `XxxParam` → `Xxx` twin, HTTP `object { a, b }` summaries, "no object repeats a key", and the sort order the
//! reference uses inside an object. If only the sort order speaks and it allows more than one level, the
//! boundary is ambiguous: we take the innermost level and say so in a warning.

use super::dialect::Dialect;
pub use super::fields::{DecisionStats, Entry, FieldNode, Finding, Kind, Outcome, Registry, Signal};
use super::json_ref::{JsonAt, JsonRef};
use super::limits;
use super::names::{inline_enum_name, wire};
use super::types::{Head, TypeExpr};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};
use std::rc::Rc;

#[derive(Clone)]
struct Level<'j> {
    field: Option<FieldNode>,
    children: Vec<FieldNode>,
    /// The wire names of `children`, for the "no object repeats a key" check (asked of every open level for
    /// every field; Fx: the keys are short names).
    names: FxHashSet<Rc<str>>,
    known: Vec<Known<'j>>,
    json: Option<JsonAt<'j>>,
    /// The members of `json` when it is an object.
    json_members: Option<Rc<ObjectMembers<'j>>>,
    /// Set when the fields contradict every known set: the name is shared by a different structure.
    refuted: bool,
    /// How many fields the message has, when the page says (HTTP `object { a, b, 2 more... }`).
    count: Option<usize>,
    /// The indentation of the field that opened this level, when the page kept it.
    indent: Option<usize>,
    /// The placement clock when this level was opened.
    opened_at: usize,
    /// The extent of the fields placed in this level so far.
    below: Extent,
}

/// How much a field tree holds: its fields at every level, and how many message levels it spans (a message of
/// scalars spans 1). Kept as fields are placed, so copying an expansion can be bounded without walking it.
#[derive(Clone, Copy, Debug, Default)]
struct Extent {
    fields: usize,
    depth: usize,
}

impl<'j> Level<'j> {
    fn new(field: Option<FieldNode>, known: Vec<Known<'j>>, json: Option<JsonAt<'j>>) -> Self {
        Level {
            field,
            children: vec![],
            names: FxHashSet::default(),
            known,
            json,
            json_members: None,
            refuted: false,
            count: None,
            indent: None,
            opened_at: 0,
            below: Extent::default(),
        }
    }
    /// Adds a child; the known sets it contradicts stop being live (kept incrementally, so each decision costs
    /// the same however many children the level has).
    fn push(&mut self, child: FieldNode, extent: Extent) {
        self.below.fields += 1 + extent.fields;
        self.below.depth = self.below.depth.max(extent.depth);
        let seen = self.children.len();
        for k in &mut self.known {
            k.live &= k.accepts(child.wire(), seen);
        }
        self.names.insert(Rc::clone(child.shared_wire()));
        self.children.push(child);
    }
    /// Makes room for the fields the known sets and the stated count expect (bounded: a count is whatever the
    /// page says). Growing a level field by field moved its children and rehashed its names several times.
    fn reserve_expected(&mut self) {
        const MOST_RESERVED: usize = 64;
        let expected = self.known.iter().map(Known::len).chain(self.count).max().unwrap_or(0).min(MOST_RESERVED);
        self.children.reserve(expected);
        self.names.reserve(expected);
    }
    fn has(&self, wire: &str) -> bool {
        self.names.contains(wire)
    }
    /// Whether the JSON example of this object, if there is one, has the key `wire`.
    fn json_allows(&self, wire: &str) -> bool {
        !self.known.iter().any(|k| k.signal == Signal::JsonExample && !k.contains(wire))
    }
    /// Known sets that still agree with every child seen so far (an iterator, not a list: this runs for every
    /// field at every open level).
    fn live_known<'s>(&'s self, open_child: Option<&'s FieldNode>) -> impl Iterator<Item = &'s Known<'j>> {
        let seen = self.children.len();
        let refuted = self.refuted;
        self.known.iter().filter(move |k| !refuted && k.live && open_child.is_none_or(|c| k.accepts(c.wire(), seen)))
    }
}

/// A field set some other place confirms for an open object: its JSON example's keys (unordered), or the fields
/// of the same docs type elsewhere (in documented order, so the children seen so far must be its beginning).
#[derive(Clone, Debug)]
struct Known<'j> {
    signal: Signal,
    members: Members<'j>,
    /// Still agrees with every child pushed so far.
    live: bool,
}

#[derive(Clone, Debug)]
enum Members<'j> {
    /// A JSON example's keys, in any order.
    Keys(Rc<ObjectMembers<'j>>),
    /// A confirmed field list, in documented order (shared with the registry).
    Order(Rc<[String]>),
}

impl<'j> Known<'j> {
    fn keys(signal: Signal, object: Rc<ObjectMembers<'j>>) -> Self {
        Known { signal, members: Members::Keys(object), live: true }
    }
    fn fields(signal: Signal, fields: &Rc<[String]>) -> Self {
        Known { signal, members: Members::Order(Rc::clone(fields)), live: true }
    }
    /// Whether `wire` may come after the children `seen` (a count).
    fn accepts(&self, wire: &str, seen: usize) -> bool {
        match &self.members {
            Members::Order(order) => order.get(seen).is_some_and(|n| n == wire),
            Members::Keys(object) => object.contains_key(wire),
        }
    }
    /// How many fields the set has.
    fn len(&self) -> usize {
        match &self.members {
            Members::Order(order) => order.len(),
            Members::Keys(object) => object.len(),
        }
    }
    /// Whether the set holds `wire` at all, in any place.
    fn contains(&self, wire: &str) -> bool {
        match &self.members {
            Members::Order(order) => order.iter().any(|n| n == wire),
            Members::Keys(object) => object.contains_key(wire),
        }
    }
}

enum Fit {
    Yes(Signal),
    No(Signal),
}

fn order_rank(f: &FieldNode) -> (u8, &str) {
    let s = f.snake();
    let rank = match s {
        "id" => 0,
        "token" => 1,
        _ if !f.spelled.optional => 2,
        _ => 3,
    };
    (rank, s)
}

/// Whether `f` can continue `level`, whose still-open last child (a message being filled) is `open_child`.
fn fits(level: &Level, open_child: Option<&FieldNode>, f: &FieldNode) -> Fit {
    let w = f.wire();
    if level.has(w) || open_child.is_some_and(|c| c.wire() == w) {
        return Fit::No(Signal::DuplicateKey);
    }
    let live = || level.live_known(open_child);
    // The JSON example shows this very object: it settles it outright.
    if let Some(k) = live().find(|k| k.signal == Signal::JsonExample) {
        return if k.contains(w) { Fit::Yes(Signal::JsonExample) } else { Fit::No(Signal::JsonExample) };
    }
    // So does a stated member count.
    if let Some(n) = level.count {
        let have = level.children.len() + usize::from(open_child.is_some());
        return if have < n { Fit::Yes(Signal::InlineObject) } else { Fit::No(Signal::InlineObject) };
    }
    if let Some(signal) = live().map(|k| k.signal).min() {
        let seen = level.children.len() + usize::from(open_child.is_some());
        return if live().any(|k| k.accepts(w, seen)) { Fit::Yes(signal) } else { Fit::No(signal) };
    }
    match open_child.or(level.children.last()) {
        Some(last) if order_rank(f) <= order_rank(last) => Fit::No(Signal::FieldOrder),
        _ => Fit::Yes(Signal::FieldOrder),
    }
}

/// A JSON example object's members by key, hashed: every field asks its level's example whether it has the
/// field's key (an ordered map compared strings at every node) and takes its own example from there.
type ObjectMembers<'j> = FxHashMap<&'j str, &'j Value>;

fn index_members(object: &Map<String, Value>) -> Rc<ObjectMembers<'_>> {
    Rc::new(object.iter().map(|(key, value)| (key.as_str(), value)).collect())
}

/// The object whose keys a JSON example shows (the first element for lists).
fn json_object_keys(v: Option<&Value>) -> Option<&Map<String, Value>> {
    match v? {
        Value::Object(m) => Some(m),
        Value::Array(a) => json_object_keys(a.first()),
        _ => None,
    }
}

/// The object a message field's example holds (first element for lists).
fn json_message(v: Option<JsonAt<'_>>) -> Option<JsonAt<'_>> {
    let v = v?;
    match v.value {
        Value::Array(_) => json_message(v.index(0)),
        Value::Object(_) => Some(v),
        _ => None,
    }
}

/// Nests a flat list. `json` is the example object matching the list's top level, when there is one.
/// `root_type` names the class the list defines (Domain Types), whose confirmed field sets then apply.
/// `dialect` says whether a type name in the list names a top-level type (HTTP: member counts of named types
/// apply) or possibly a nested one of the same short name (Python).
pub fn nest(
    entries: &[Entry],
    json: Option<JsonRef>,
    root_type: Option<&str>,
    registry: &Registry,
    dialect: Dialect,
) -> Outcome {
    let named_counts = super::dialect::rules(dialect).type_names_are_global();
    let mut out = Outcome::default();
    // Every level's example lies inside this one, so the values are borrowed from it for the whole pass.
    let json = json.as_ref().map(JsonAt::new);
    let keys = json_object_keys(json.as_ref().map(|j| j.value)).map(index_members);
    let members = keys.clone().filter(|_| json.as_ref().is_some_and(|j| j.value.is_object()));
    let mut root = Level::new(None, vec![], json);
    root.json_members = members;
    if let Some(keys) = keys {
        root.known.push(Known::keys(Signal::JsonExample, keys));
    }
    if let Some(t) = root_type {
        root.known.extend(registry.shapes_of(t).iter().map(|(_, fields)| Known::fields(Signal::KnownType, fields)));
    }
    root.count = root_type.filter(|_| named_counts).and_then(|t| registry.counts.get(t).copied());
    root.reserve_expected();
    let mut stack = Stack { levels: vec![root], pushed: 0, expansions: FxHashMap::default(), fitting: vec![] };
    let walk = Walk { entries, registry, lookahead: true, named_counts, until: entries.len() };
    run(walk, 0, &mut stack, &mut out);
    while stack.len() > 1 {
        close(&mut stack, &mut out);
    }
    out.fields = stack.pop().map(|l| l.children).unwrap_or_default();
    out
}

/// What stays the same while one list is placed.
#[derive(Clone, Copy)]
struct Walk<'a> {
    entries: &'a [Entry],
    registry: &'a Registry,
    /// The final pass: ambiguous boundaries are probed ahead and reported. Off inside a probe.
    lookahead: bool,
    /// Named types have the member counts of their HTTP Domain Types headers.
    named_counts: bool,
    /// Entries from here on are not placed: where a probe stops reading ahead.
    until: usize,
}

/// Places every entry from `from` on. Returns false at a dead end (a field no open level accepts).
/// Without `lookahead`, stops at the first dead end: that is how look-ahead probes a reading.
fn run(w: Walk, from: usize, stack: &mut Stack, out: &mut Outcome) -> bool {
    let Walk { entries, lookahead, until, .. } = w;
    let mut ok = true;
    for i in from..entries.len().min(until) {
        if !step(w, i, stack, out, None) {
            ok = false;
            if !lookahead {
                return false;
            }
        }
    }
    ok
}

/// Places entry `i`; `forced` imposes the level (used when probing a reading).
fn step(w: Walk, i: usize, stack: &mut Stack, out: &mut Outcome, forced: Option<usize>) -> bool {
    let Walk { entries, registry, lookahead, named_counts, .. } = w;
    let mut placed = true;
    {
        let e = &entries[i];
        let i = i + 1;
        let (name, spelled) = match &e.head {
            Head::Field { name, spelled } => (name, spelled),
            Head::Value(v) => {
                attach_value(stack, v, e, out);
                return true;
            }
            _ => {
                out.findings.push(Finding {
                    offset: e.offset,
                    message: format!("unexpected header item inside a field list: {:?}", e.head),
                });
                return true;
            }
        };
        let mut node = FieldNode::new(Rc::clone(name), spelled.clone(), e.text.clone(), e.offset, Kind::Scalar);
        // What the field holds when it is placed: nothing, or a copy of an earlier expansion.
        let mut extent = Extent::default();

        // Indentation, where the page kept it, says which open message the field belongs to.
        let by_indent = e
            .indent
            .filter(|_| stack[1..].iter().all(|l| l.indent.is_some()))
            .map(|at| (1..stack.len()).rev().find(|&j| stack[j].indent.is_some_and(|open| open < at)).unwrap_or(0));
        let forced = forced.or(by_indent);
        // The first child follows its message directly; every later field needs a decision.
        if by_indent.is_some() && stack.len() > 1 {
            placed = decide_level(w, stack, &node, i - 1, out, forced);
            out.boundaries.record(Signal::Indentation);
        } else if stack.len() > 1 && stack.last().is_some_and(|l| !l.children.is_empty() || !l.json_allows(node.wire()))
        {
            placed = decide_level(w, stack, &node, i - 1, out, forced);
        } else if !lookahead && stack.len() == 1 {
            // A probe also fails when a top-level field breaks the top level's sort order.
            let open_child = None;
            if matches!(fits(&stack[0], open_child, &node), Fit::No(_)) {
                placed = false;
            }
        }
        let example = stack.last().and_then(|l| {
            let value = l.json_members.as_ref()?.get(node.wire())?;
            Some(l.json.as_ref()?.member(node.shared_wire(), value))
        });
        node.example = example.as_ref().map(|j| j.at.clone());

        // With indentation, a message has children only when the next item is indented further.
        let next = entries
            .get(i)
            .filter(|n| match (e.indent, n.indent) {
                (Some(here), Some(there)) => there > here || matches!(n.head, Head::Value(_)),
                _ => true,
            })
            .map(|n| &n.head);
        // Matched on the entry's type (not a copy of it): only what a kind keeps is copied.
        let opened = match spelled.ty.element() {
            TypeExpr::Named(x) => {
                let next_is_value = matches!(next, Some(Head::Value(_)));
                let next_is_field = matches!(next, Some(Head::Field { .. }));
                // A type expanded earlier in the list may show only its name later: surely when no field
                // follows, and when the next field is not its first one again, unless an example or a
                // list of top-level names can still say this one is expanded here.
                let reuse = stack.expansions.get(x).is_some_and(|earlier| {
                    !next_is_field
                        || (!starts_expansion(&earlier.kind, next)
                            && (named_counts || stack.last().is_some_and(|l| l.json.is_none())))
                });
                if next_is_value {
                    out.kinds.record(Signal::EnumValues);
                    node.kind = Kind::Enum { name: x.clone(), values: vec![], inline: false };
                    None
                } else if registry.enums.contains(x) {
                    out.kinds.record(Signal::KnownEnum);
                    node.kind = Kind::Enum { name: x.clone(), values: vec![], inline: false };
                    None
                } else if let Some((kind, copied)) = reuse.then(|| expanded_before(stack, x, out, e.offset)).flatten() {
                    out.kinds.record(Signal::KnownType);
                    node.kind = kind;
                    extent = copied;
                    None
                } else if next_is_field {
                    out.kinds.record(Signal::FirstChild);
                    Some(open_level(Some(x), registry, named_counts))
                } else {
                    out.findings.push(Finding {
                        offset: e.offset,
                        message: format!(
                            "`{}: {x}` has neither fields nor enum values after it; read as an empty message",
                            node.name
                        ),
                    });
                    out.kinds.record(Signal::Ambiguous);
                    node.kind = Kind::Message { type_name: Some(x.clone()), children: Rc::default(), json: None };
                    None
                }
            }
            TypeExpr::InlineEnum(values) => {
                out.kinds.record(Signal::EnumValues);
                node.kind =
                    Kind::Enum { name: inline_enum_name(values, &node.name), values: values.clone(), inline: true };
                None
            }
            TypeExpr::Object(members) => {
                if members.count == 0 || !matches!(next, Some(Head::Field { .. })) {
                    node.kind = Kind::Message { type_name: None, children: Rc::default(), json: None };
                    None
                } else {
                    let (mut level, kind) = open_level(None, registry, false);
                    level.count = Some(members.count);
                    Some((level, kind))
                }
            }
            _ => None,
        };
        // Past the nesting limit a message is not opened: its fields are read one level up, reported once.
        let opened = match opened {
            Some((_, kind)) if stack.len() > limits::MAX_NESTING => {
                if !out.depth_reported {
                    out.depth_reported = true;
                    out.findings.push(Finding {
                        offset: e.offset,
                        message: format!(
                            "nesting limit: `{}` would open message level {}, over the limit of {}; \
                             it is read as an empty message and the fields after it one level up",
                            node.name,
                            stack.len(),
                            limits::MAX_NESTING
                        ),
                    });
                }
                node.kind = kind;
                None
            }
            other => other,
        };
        match opened {
            Some((mut level, kind)) => {
                // A map's example is keyed by map keys; the message is its first value.
                let example = match (&node.spelled.ty, example) {
                    (TypeExpr::Map(_), Some(map)) if map.value.is_object() => map.first_value(),
                    (_, example) => example,
                };
                if let Some(obj) = json_message(example) {
                    if let Some(keys) = json_object_keys(Some(obj.value)).map(index_members) {
                        level.known.insert(0, Known::keys(Signal::JsonExample, Rc::clone(&keys)));
                        level.json_members = Some(keys);
                    }
                    level.json = Some(obj);
                }
                node.kind = kind;
                level.field = Some(node);
                level.indent = e.indent;
                level.opened_at = stack.pushed;
                level.reserve_expected();
                stack.push(level);
            }
            None => stack.push_child(node, extent),
        }
    }
    placed
}

/// The kind of an earlier field of this list whose type `type_name` was expanded (a message with fields): the
/// first such field in document order. `None` when a copy of it here would take the list past the nesting
/// limit or past its budget of copied fields (copies of expansions that hold copies grow exponentially);
/// that is reported once per list, at `offset`.
fn expanded_before(stack: &Stack, type_name: &str, out: &mut Outcome, offset: usize) -> Option<(Kind, Extent)> {
    let e = stack.expansions.get(type_name)?;
    let fits = stack.len() + e.extent.depth <= limits::MAX_NESTING
        && out.copied_fields + e.extent.fields <= limits::MAX_COPIED_FIELDS;
    if fits {
        out.copied_fields += e.extent.fields;
        return Some((Kind::clone(&e.kind), e.extent));
    }
    if !out.copy_limit_reported {
        out.copy_limit_reported = true;
        out.findings.push(Finding {
            offset,
            message: format!(
                "`{type_name}` shown by name only would repeat its earlier expansion past the limits \
                 ({} nested levels, {} copied fields per list); it is read as written here",
                limits::MAX_NESTING,
                limits::MAX_COPIED_FIELDS
            ),
        });
    }
    None
}

/// The open levels of a list being placed, and the first expansion of each type name placed so far.
#[derive(Clone)]
struct Stack<'j> {
    levels: Vec<Level<'j>>,
    /// Fields placed so far (a clock: a level's fields were placed after its `opened_at`).
    pushed: usize,
    /// For each docs type name, the first expanded message of that type in document order and when it was
    /// placed. Kept as fields are placed, so "was this type expanded before?" costs a lookup, not a walk of
    /// everything placed so far.
    /// (Fx: looked up for every named field, never walked in order.)
    expansions: FxHashMap<String, Expansion>,
    /// Scratch space for [`decide_level`], empty between decisions.
    fitting: Vec<(usize, Signal)>,
}

/// The first expanded message of a docs type in a list: when it was placed, its kind, and its extent (what a
/// copy of it adds to the list).
#[derive(Clone)]
struct Expansion {
    at: usize,
    kind: Rc<Kind>,
    extent: Extent,
}

impl<'j> std::ops::Deref for Stack<'j> {
    type Target = Vec<Level<'j>>;
    fn deref(&self) -> &Vec<Level<'j>> {
        &self.levels
    }
}

impl<'j> std::ops::DerefMut for Stack<'j> {
    fn deref_mut(&mut self) -> &mut Vec<Level<'j>> {
        &mut self.levels
    }
}

impl Stack<'_> {
    /// Places `child` in the innermost open level.
    fn push_child(&mut self, child: FieldNode, extent: Extent) {
        self.push_child_closing(child, usize::MAX, extent);
    }

    /// Places `child` (whose own fields were placed from `opened_at` on) in the innermost open level. Fields are
    /// always placed in the innermost level, so document order is placement order, except that a message
    /// comes before the fields inside it: an expansion recorded from inside `child` gives way to `child`.
    fn push_child_closing(&mut self, child: FieldNode, opened_at: usize, extent: Extent) {
        self.pushed += 1;
        if let Kind::Message { type_name: Some(t), children, .. } = &child.kind {
            if !children.is_empty() {
                let inside = self.expansions.get(t).is_some_and(|e| e.at >= opened_at);
                if inside || !self.expansions.contains_key(t) {
                    let expansion = Expansion { at: self.pushed, kind: Rc::new(child.kind.clone()), extent };
                    self.expansions.insert(t.clone(), expansion);
                }
            }
        }
        if let Some(top) = self.levels.last_mut() {
            top.push(child, extent);
        }
    }
}

/// Whether `next` is the first field of the expansion `kind`, i.e. the type is expanded again here.
fn starts_expansion(kind: &Kind, next: Option<&Head>) -> bool {
    match (kind, next) {
        (Kind::Message { children, .. }, Some(Head::Field { name, .. })) => {
            children.first().is_some_and(|c| c.wire() == wire(name))
        }
        _ => false,
    }
}

/// A level for a message of type `type_name` (`None`: an inline object), and the kind of the field that opens
/// it. The caller puts that field in the level.
fn open_level<'j>(type_name: Option<&str>, registry: &Registry, named_counts: bool) -> (Level<'j>, Kind) {
    let mut known = vec![];
    if let Some(x) = type_name {
        known.extend(
            registry.shapes_of(x).iter().map(|(s, fields)| {
                Known::fields(if *s == Signal::JsonExample { Signal::KnownType } else { *s }, fields)
            }),
        );
        if let Some(twin) = x.strip_suffix("Param") {
            known.extend(registry.shapes_of(twin).iter().map(|(_, fields)| Known::fields(Signal::ParamTwin, fields)));
        }
    }
    let kind = Kind::Message { type_name: type_name.map(str::to_string), children: Rc::default(), json: None };
    let mut level = Level::new(None, known, None);
    level.count = type_name.filter(|_| named_counts).and_then(|x| registry.counts.get(x).copied());
    (level, kind)
}

fn close(stack: &mut Stack, out: &mut Outcome) {
    let Some(level) = stack.pop() else { return };
    let opened_at = level.opened_at;
    let mut extent = Extent { fields: level.below.fields, depth: level.below.depth + 1 };
    let Some(mut field) = level.field else { return };
    if let Kind::Message { children, json, type_name } = &mut field.kind {
        // Opened but given no fields: a type expanded earlier in the list, shown here by name only.
        let offset = field.offset;
        let earlier = type_name
            .as_deref()
            .filter(|_| level.children.is_empty())
            .and_then(|t| expanded_before(stack, t, out, offset));
        match earlier {
            Some((kind, copied)) => {
                field.kind = kind;
                extent = copied;
            }
            None => {
                *children = Rc::new(level.children);
                *json = level.json.map(|j| j.at);
            }
        }
    }
    stack.push_child_closing(field, opened_at, extent);
}

/// Chooses the open level the field `node` of entry `i` belongs to and closes the levels inside it.
fn decide_level(
    w: Walk,
    stack: &mut Stack,
    node: &FieldNode,
    i: usize,
    out: &mut Outcome,
    forced: Option<usize>,
) -> bool {
    let lookahead = w.lookahead;
    let e = &w.entries[i];
    if let Some(j) = forced {
        while stack.len() > j + 1 {
            close(stack, out);
        }
        return true;
    }
    let mut chosen = None;
    let mut first_exclusion = None;
    // The levels that take the field, innermost first (a buffer kept on the stack: one per decision cost an
    // allocation each).
    let mut fitting = std::mem::take(&mut stack.fitting);
    // Each round that finds no level refutes one more level's known sets, so one round per level is enough.
    for _ in 0..stack.len() {
        first_exclusion = None;
        fitting.clear();
        for j in (0..stack.len()).rev() {
            let open_child = stack.get(j + 1).and_then(|l| l.field.as_ref());
            match fits(&stack[j], open_child, node) {
                Fit::Yes(s) => fitting.push((j, s)),
                Fit::No(s) => {
                    if fitting.is_empty() && first_exclusion.is_none() {
                        first_exclusion = Some(s);
                    }
                }
            }
            // A message whose stated member count is not reached yet cannot end here: no outer level can take it.
            if stack[j].count.is_some_and(|n| stack[j].children.len() + usize::from(open_child.is_some()) < n) {
                break;
            }
        }
        if !fitting.is_empty() {
            break;
        }
        // Nothing accepts it: the innermost level still trusting a known set of its type name meets a
        // different structure under that name. Drop that set there and decide again.
        let open_child = |j: usize| stack.get(j + 1).and_then(|l| l.field.as_ref());
        let Some(j) = (1..stack.len()).rev().find(|&j| stack[j].live_known(open_child(j)).next().is_some()) else {
            break;
        };
        stack[j].refuted = true;
    }
    if let Some(&(j, s)) = fitting.first() {
        chosen = Some(j);
        let signal = if j == stack.len() - 1 { s } else { first_exclusion.unwrap_or(s) };
        let outer_fits = fitting.len() > 1;
        if s == Signal::FieldOrder && outer_fits && j == stack.len() - 1 && !lookahead {
            // Probing a reading: take the innermost level, as the final pass would without more evidence.
        } else if s == Signal::FieldOrder
            && outer_fits
            && j == stack.len() - 1
            && out.probes + fitting.len() <= limits::LOOKAHEAD_PROBES
        {
            // Only the sort order speaks and it allows several levels: keep the readings under which the rest
            // of the list can still be placed (a later field would otherwise sort out of order everywhere).
            // Each probe reads a bounded window ahead, and a list runs a bounded number of probes: past that,
            // the boundary is reported as ambiguous like any other the pages do not settle.
            out.probes += fitting.len();
            let viable: Vec<(usize, Signal)> = fitting
                .iter()
                .copied()
                .filter(|&(k, _)| {
                    let mut sim = stack.clone();
                    let mut scratch = Outcome::default();
                    let probe = Walk { lookahead: false, until: i + 1 + limits::LOOKAHEAD_ENTRIES, ..w };
                    step(probe, i, &mut sim, &mut scratch, Some(k)) && run(probe, i + 1, &mut sim, &mut scratch)
                })
                .collect();
            if viable.len() == 1 {
                chosen = Some(viable[0].0);
                out.boundaries.record(Signal::Lookahead);
            } else {
                let fitting = if viable.is_empty() { fitting.clone() } else { viable };
                chosen = Some(fitting[0].0);
                let readings: Vec<String> = fitting.iter().map(|&(k, _)| level_label(stack, k)).collect();
                out.findings.push(Finding {
                    offset: e.offset,
                    message: format!(
                        "ambiguous nesting: `{}` may belong to {}; nothing in the pages settles it, \
                     reading it as part of {}",
                        node.name,
                        readings.join(" or "),
                        readings[0]
                    ),
                });
                out.boundaries.record(Signal::Ambiguous);
            }
        } else if s == Signal::FieldOrder && outer_fits && j == stack.len() - 1 {
            // The probe budget is spent: report it as the ambiguity it is.
            let readings: Vec<String> = fitting.iter().map(|&(k, _)| level_label(stack, k)).collect();
            out.findings.push(Finding {
                offset: e.offset,
                message: format!(
                    "ambiguous nesting: `{}` may belong to {} (look-ahead limit reached: {} probes in this list); \
                     reading it as part of {}",
                    node.name,
                    readings.join(" or "),
                    limits::LOOKAHEAD_PROBES,
                    readings[0]
                ),
            });
            out.boundaries.record(Signal::Ambiguous);
        } else {
            out.boundaries.record(signal);
        }
    }
    let mut placed = true;
    let j = match chosen {
        Some(j) => j,
        None => {
            placed = false;
            // No level accepts it: keep the innermost level that does not already have it, and report.
            let j = (0..stack.len()).rev().find(|&k| !stack[k].has(node.wire())).unwrap_or(0);
            out.findings.push(Finding {
                offset: e.offset,
                message: format!(
                    "`{}` fits no open message by the known field sets or the field order; placed in {}",
                    node.name,
                    level_label(stack, j)
                ),
            });
            out.boundaries.record(Signal::Ambiguous);
            j
        }
    };
    while stack.len() > j + 1 {
        close(stack, out);
    }
    fitting.clear();
    stack.fitting = fitting;
    placed
}

fn level_label(stack: &[Level], k: usize) -> String {
    match stack.get(k).and_then(|l| l.field.as_ref()) {
        Some(f) => format!("`{}`", f.name),
        None => "the top level".to_string(),
    }
}

fn attach_value(stack: &mut [Level], v: &str, e: &Entry, out: &mut Outcome) {
    let target = stack.last_mut().and_then(|l| l.children.last_mut());
    match target {
        Some(FieldNode { kind: Kind::Enum { values, .. }, .. }) => {
            if !values.iter().any(|x| x == v) {
                values.push(v.to_string());
            }
        }
        _ => out.findings.push(Finding {
            offset: e.offset,
            message: format!("enum value \"{v}\" does not follow an enum-typed field; ignored"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::types::parse_head;

    fn entries(heads: &[&str]) -> Vec<Entry> {
        heads
            .iter()
            .enumerate()
            .map(|(i, h)| Entry { head: parse_head(h).unwrap(), text: "".into(), offset: i, indent: None })
            .collect()
    }

    fn shape(fields: &[FieldNode]) -> String {
        fields
            .iter()
            .map(|f| match &f.kind {
                Kind::Message { children, .. } => format!("{}{{{}}}", f.name, shape(children)),
                _ => f.name.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn json_example_settles_boundaries() {
        let e = entries(&[
            "runner: Runner",
            "created_at: Optional[datetime]",
            "spec: Optional[RunnerSpec]",
            "desired_phase: Optional[str]",
            "status: Optional[RunnerStatus]",
            "phase: Optional[str]",
            "updated_at: Optional[datetime]",
            "updated_at: Optional[datetime]",
            "access_token: Optional[str]",
        ]);
        let json: Value = serde_json::json!({
            "runner": {
                "createdAt": "x",
                "spec": {"desiredPhase": "a"},
                "status": {"phase": "p", "updatedAt": "t"},
                "updatedAt": "t"
            },
            "accessToken": "a"
        });
        let out = nest(&e, Some(JsonRef::new(std::rc::Rc::new(json))), None, &Registry::default(), Dialect::Python);
        assert_eq!(
            shape(&out.fields),
            "runner{created_at spec{desired_phase} status{phase updated_at} updated_at} access_token"
        );
        assert!(out.findings.is_empty(), "{:?}", out.findings);
    }

    #[test]
    fn field_order_and_duplicates_settle_boundaries_and_ambiguity_is_reported() {
        let e = entries(&[
            "environment_class: Optional[EnvironmentClass]",
            "id: str",
            "runner_id: str",
            "enabled: Optional[bool]",
            "runner_id: Optional[str]",
            "scm_integration: Optional[ScmIntegration]",
            "id: Optional[str]",
            "scm_id: Optional[str]",
            "virtual_directory: Optional[str]",
        ]);
        let out = nest(&e, None, None, &Registry::default(), Dialect::Python);
        assert_eq!(
            shape(&out.fields),
            "environment_class{id runner_id enabled} runner_id scm_integration{id scm_id virtual_directory}"
        );
        assert_eq!(out.findings.len(), 1);
        assert!(out.findings[0]
            .message
            .contains("`virtual_directory` may belong to `scm_integration` or the top level"));
        assert_eq!(out.boundaries.by_signal.get(&Signal::DuplicateKey), Some(&1));
    }
}
