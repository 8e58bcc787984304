// Scores a model against the facts of `corpus/expected/*.json` (format `gitpod-corpus-expected/1`).
// Included with `mod` by the corpus tests; kept small on purpose: it is the parser's main quality signal.
#![allow(dead_code)]

use gitpod_codegen::model::{Model, Type};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// One expected fact file.
pub struct Expected {
    pub resource: String,
    pub json: Value,
}

pub fn load_expected() -> Vec<Expected> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join("expected"))
        .expect("corpus/expected is readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| Expected {
            resource: p.file_stem().unwrap().to_string_lossy().into_owned(),
            json: serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
        })
        .collect()
}

/// Matched / total for one kind of fact, plus what did not match.
#[derive(Default, Clone)]
pub struct Tally {
    pub matched: usize,
    pub total: usize,
    pub misses: Vec<String>,
}

impl Tally {
    fn check(&mut self, ok: bool, miss: impl FnOnce() -> String) {
        self.total += 1;
        if ok {
            self.matched += 1;
        } else {
            self.misses.push(miss());
        }
    }
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            100.0 * self.matched as f64 / self.total as f64
        }
    }
}

#[derive(Default, Clone)]
pub struct Score {
    pub methods: Tally,
    pub request: Tally,
    pub response: Tally,
    pub enums: Tally,
    /// Query parameters, pagination items and streaming kind: one check per method.
    pub shape: Tally,
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} methods, request {:.1}% of {} paths, response {:.1}% of {} paths, enums {:.1}% of {}, \
             query/pagination/streaming {:.1}% of {}",
            self.methods.matched,
            self.methods.total,
            self.request.percent(),
            self.request.total,
            self.response.percent(),
            self.response.total,
            self.enums.percent(),
            self.enums.total,
            self.shape.percent(),
            self.shape.total,
        )
    }
}

impl Score {
    pub fn misses(&self) -> impl Iterator<Item = &String> {
        [&self.methods, &self.request, &self.response, &self.enums, &self.shape].into_iter().flat_map(|t| &t.misses)
    }
}

/// The kind of one expected TYPE, in the words the model can be compared with. Strings that carry int64 or
/// Duration values keep that (the model types them); `uuid` is only a format of `string`.
fn expected_kind(ty: &Value) -> String {
    let kind = ty["kind"].as_str().unwrap_or("?");
    match kind {
        "array" => format!("array of {}", expected_kind(&ty["items"])),
        "map" => format!("map of {}", expected_kind(&ty["values"])),
        "enum" => {
            let values: Vec<&str> = ty["values"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            format!("enum {values:?}")
        }
        "object" => "object".into(),
        "string" => match ty["format"].as_str() {
            Some("int64") => "int64".into(),
            Some("duration") => "duration".into(),
            _ => "string".into(),
        },
        other => other.into(),
    }
}

fn expected_paths(fields: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    for f in fields.as_array().into_iter().flatten() {
        let path = format!("{prefix}{}", f["wire"].as_str().unwrap());
        let ty = &f["type"];
        out.insert(path.clone(), expected_kind(ty));
        let (mut inner, mut suffix) = (ty, String::new());
        loop {
            match inner["kind"].as_str() {
                Some("array") => {
                    inner = &inner["items"];
                    suffix.push_str("[]");
                }
                Some("map") => {
                    inner = &inner["values"];
                    suffix.push_str("{}");
                }
                _ => break,
            }
        }
        if inner["kind"] == "object" {
            expected_paths(&inner["fields"], &format!("{path}{suffix}."), out);
        }
    }
}

fn model_kind(model: &Model, ty: &Type) -> String {
    match ty {
        Type::String | Type::Bytes => "string".into(),
        Type::Bool => "boolean".into(),
        Type::Int32 | Type::Uint32 | Type::Uint64 => "integer".into(),
        Type::Int64 => "int64".into(),
        Type::Float | Type::Double => "number".into(),
        Type::Timestamp => "datetime".into(),
        Type::Duration => "duration".into(),
        Type::Any => "unknown".into(),
        Type::Message { .. } => "object".into(),
        Type::Enum { name } => {
            let values = model.enums.iter().find(|e| &e.name == name).map(|e| e.values.clone()).unwrap_or_default();
            format!("enum {values:?}")
        }
        Type::List { item } => format!("array of {}", model_kind(model, item)),
        Type::Map { value } => format!("map of {}", model_kind(model, value)),
    }
}

fn model_paths(model: &Model, message: &str, prefix: &str, depth: usize, out: &mut BTreeMap<String, String>) {
    let Some(msg) = model.messages.iter().find(|m| m.name == message) else { return };
    if depth > 16 {
        return;
    }
    for f in &msg.fields {
        let path = format!("{prefix}{}", f.name);
        out.insert(path.clone(), model_kind(model, &f.ty));
        let (mut inner, mut suffix) = (&f.ty, String::new());
        loop {
            match inner {
                Type::List { item } => {
                    inner = item;
                    suffix.push_str("[]");
                }
                Type::Map { value } => {
                    inner = value;
                    suffix.push_str("{}");
                }
                _ => break,
            }
        }
        if let Type::Message { name } = inner {
            model_paths(model, name, &format!("{path}{suffix}."), depth + 1, out);
        }
    }
}

/// Whether the model's kind is the expected one. ProtoJSON writes int64 and Duration as strings, and a page that
/// shows them only as `str` with a placeholder example cannot say more: `string` is right for them on the wire.
fn same_kind(expected: &str, have: &str) -> bool {
    expected == have || (matches!(expected, "int64" | "duration") && have == "string")
}

fn compare(tally: &mut Tally, label: &str, expected: &BTreeMap<String, String>, got: &BTreeMap<String, String>) {
    for (path, kind) in expected {
        let have = got.get(path);
        let ok = have.is_some_and(|h| same_kind(kind, h));
        tally.check(ok, || format!("{label} {path}: expected {kind}, got {have:?}"));
    }
}

/// Scores `model` against the facts of every resource in `expected`.
pub fn score(model: &Model, expected: &[Expected]) -> Score {
    let mut s = Score::default();
    let methods: BTreeMap<&str, &gitpod_codegen::model::Method> =
        model.services.iter().flat_map(|sv| &sv.methods).map(|m| (m.path.as_str(), m)).collect();
    let mut model_enum_sets: BTreeSet<Vec<String>> = BTreeSet::new();
    for e in &model.enums {
        model_enum_sets.insert(e.values.clone());
    }
    for exp in expected {
        let j = &exp.json;
        for em in j["methods"].as_array().unwrap() {
            let path = em["path"].as_str().unwrap();
            let got = methods.get(path);
            s.methods.check(got.is_some(), || format!("method {path}: missing"));
            let Some(m) = got else { continue };
            for (side, tally, message) in
                [("request", &mut s.request, &m.request), ("response", &mut s.response, &m.response)]
            {
                let mut want = BTreeMap::new();
                expected_paths(&em[side]["fields"], "", &mut want);
                let mut have = BTreeMap::new();
                model_paths(model, message, "", 0, &mut have);
                compare(tally, &format!("{} {side}", m.name), &want, &have);
            }
            let want_query: Vec<String> = em["query"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| format!("{}: {}", q["wire"].as_str().unwrap(), expected_kind(&q["type"])))
                .collect();
            let have_query: Vec<String> =
                m.query.iter().map(|q| format!("{}: {}", q.name, model_kind(model, &q.ty))).collect();
            let want_items = em["pagination"]["items_field"].as_str().map(str::to_string);
            let have_items = m.pagination.as_ref().map(|p| p.items.clone());
            let want_stream = em["streaming"].is_string();
            let have_stream = m.streaming == gitpod_codegen::model::Streaming::Server;
            let ok = want_query == have_query && want_items == have_items && want_stream == have_stream;
            s.shape.check(ok, || {
                format!(
                    "{} shape: query {want_query:?} vs {have_query:?}, items {want_items:?} vs {have_items:?}, \
                     streaming {want_stream:?} vs {have_stream:?}",
                    m.name
                )
            });
        }
        let named = j["enums"].as_object().unwrap().values();
        let inline = j["inline_enums"].as_array().unwrap().iter();
        for values in named.chain(inline) {
            let values: Vec<String> = serde_json::from_value(values.clone()).unwrap();
            s.enums.check(model_enum_sets.contains(&values), || format!("{} enum {values:?}: missing", exp.resource));
        }
    }
    s
}
