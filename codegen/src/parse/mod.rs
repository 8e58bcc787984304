//! Spec pages → model.
//!
//! Stages, one module each:
//! - [`blocks`]: collapse whitespace and restore the block structure (headings, items, fences) of a page;
//! - [`page`]: the blocks folded into a section tree;
//! - `sections`: a page's sections → raw methods and Domain Types definitions (flat field lists);
//! - `dialect`: what each dialect (Python SDK, HTTP) spells its own way, one module each behind one trait
//!   (signatures, type spellings, query parameters, SDK renames, whether type names are global);
//! - `types`: item heads, dispatching type spellings to the dialects;
//! - `fields`: the types the stages hand each other (entries, nested fields, the registry, signals);
//! - `nesting` / `resolve`: recover which fields belong to which nested message;
//! - `inline_enums`: names for enums spelled in place, scoped until each stands for one value set;
//! - `merge` (with `instances`, `naming`, `typing`): one model from every page, scoped and sticky names,
//!   types settled with the examples' evidence;
//! - `limits`: the bounds on page size, nesting and list length;
//! - `docs`, `examples`, `names`: description cleanup, canonical example text, name conversions;
//! - `overview`, `overrides`: the plain-text overview page and `spec/overrides.toml`.

pub mod blocks;
mod dialect;
mod docs;
mod examples;
pub mod fields;
mod inline_enums;
mod instances;
pub mod json_ref;
pub mod limits;
mod literals;
mod merge;
mod names;
mod naming;
pub mod nesting;
mod overrides;
mod overview;
pub mod page;
mod request_examples;
mod resolve;
mod sections;
pub mod types;
mod typing;

/// The text of every page in `dirs` (folders of the workspace), for unit tests that check a routine on the
/// whole reference we have.
#[cfg(test)]
pub(crate) fn reference_pages(dirs: &[&str]) -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pages = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(root.join(dir)).expect("reference directory") {
            pages.push(std::fs::read_to_string(entry.expect("directory entry").path()).expect("page text"));
        }
    }
    pages
}

use crate::diag::{Diagnostic, Severity};
use crate::model::Model;
use crate::SpecPage;
use dialect::Dialect;
use fields::DecisionStats;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The result of a successful parse: the model and the warnings the pages left.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
    pub stats: ParseStats,
}

/// How nesting was recovered: each decision and the signal that settled it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ParseStats {
    /// For each field after the first child of an open message: which open level it belongs to.
    pub boundaries: DecisionStats,
    /// For each field of a named type: message (children follow) or enum.
    pub kinds: DecisionStats,
    pub methods: usize,
    pub messages: usize,
    pub enums: usize,
    /// Fields whose type the example values settled (`str` shown as base64 or `"1.5s"`, `int` written as a
    /// string): no warning, their doc says it.
    pub inferred_from_examples: usize,
}

/// Reads every page in `dir` (sorted by name) and the optional `overrides.toml`.
pub fn load_spec_dir(dir: &Path) -> std::io::Result<(Vec<SpecPage>, Option<SpecPage>)> {
    let mut files: Vec<_> =
        std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?.into_iter().map(|e| e.path()).collect();
    files.sort();
    let mut pages = vec![];
    let mut overrides = None;
    for path in files {
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let is_page = name.ends_with(".md") || name.ends_with(".txt");
        if !path.is_file() || !(is_page || name == "overrides.toml") {
            continue;
        }
        let page = SpecPage { file: name.clone(), text: std::fs::read_to_string(&path)? };
        if name == "overrides.toml" {
            overrides = Some(page);
        } else {
            pages.push(page);
        }
    }
    Ok((pages, overrides))
}

/// Parses every page (and the optional `overrides.toml` page) into one model.
/// Errors (never panics) carry file, position and excerpt.
pub fn parse_pages(pages: &[SpecPage], overrides: Option<&SpecPage>) -> Result<Parsed, Vec<Diagnostic>> {
    parse_pages_after(pages, overrides, None)
}

/// [`parse_pages`], keeping the names of `previous` (the model the last regen wrote): where several structures
/// share a docs name, one that `previous` already named keeps that name, so adding pages never renames a type
/// the added pages do not describe.
pub fn parse_pages_after(
    pages: &[SpecPage],
    overrides: Option<&SpecPage>,
    previous: Option<&Model>,
) -> Result<Parsed, Vec<Diagnostic>> {
    let mut errors = vec![];
    let mut warnings = vec![];
    let ov = match overrides.map(overrides::Overrides::parse).transpose() {
        Ok(ov) => ov.unwrap_or_default(),
        Err(e) => {
            errors.push(e);
            overrides::Overrides::default()
        }
    };

    // Sorted by file name so nothing depends on the order pages were passed in.
    let mut sorted: Vec<&SpecPage> = pages.iter().collect();
    sorted.sort_by(|a, b| a.file.cmp(&b.file));
    let mut trees = BTreeMap::new();
    let mut overviews = vec![];
    let mut methods = vec![];
    let mut domains = vec![];
    for p in sorted {
        if p.file.ends_with(".txt") {
            overviews.push(p);
            continue;
        }
        match page::parse_page(&p.file, &p.text) {
            Ok(tree) => {
                let raw = sections::read_page(&tree, &mut warnings);
                methods.extend(raw.methods);
                domains.extend(raw.domains);
                trees.insert(p.file.clone(), tree);
            }
            Err(e) => errors.push(e),
        }
    }
    let methods = dedupe_methods(methods, &trees, &mut errors, &mut warnings);
    let method_places: BTreeMap<String, (String, usize)> =
        methods.iter().filter_map(|m| Some((m.path.clone()?, (m.file.clone(), m.offset)))).collect();
    let domains = dedupe_domains(domains);

    let res = resolve::resolve(methods, domains, &trees, &mut warnings);
    let mut built = merge::build(&res, &trees, &ov, previous);
    warnings.extend(built.warnings);
    // Request examples are read against the request types, so they come after the model is built.
    for problem in request_examples::read_all(&mut built.model) {
        if let Some(page) =
            method_places.get(&problem.method).and_then(|(file, offset)| Some((trees.get(file)?, *offset)))
        {
            let message = format!(
                "request example `{}` of {} does not fit the request type: {}",
                problem.example, problem.method, problem.message
            );
            warnings.push(page.0.warning(page.1, message));
        }
    }
    let known: BTreeSet<String> =
        built.model.services.iter().flat_map(|s| s.methods.iter().map(|m| m.path.clone())).collect();
    for o in overviews {
        warnings.extend(overview::check(o, &known));
    }
    warnings.sort_by(|a, b| (&a.file, a.offset, &a.message).cmp(&(&b.file, b.offset, &b.message)));
    warnings.dedup();
    errors.extend(warnings.iter().filter(|w| w.severity == Severity::Error).cloned());
    let text_of = |file: &str| pages.iter().chain(overrides).find(|p| p.file == file).map(|p| p.text.as_str());
    crate::diag::locate(&mut warnings, text_of);
    crate::diag::locate(&mut errors, text_of);
    if !errors.is_empty() {
        errors.sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
        return Err(errors);
    }
    let model = built.model;
    let stats = ParseStats {
        boundaries: res.boundaries,
        kinds: res.kinds,
        methods: model.services.iter().map(|s| s.methods.len()).sum(),
        messages: model.messages.len(),
        enums: model.enums.len(),
        inferred_from_examples: built.inferred_from_examples,
    };
    Ok(Parsed { model, warnings, stats })
}

/// One copy of a thing documented in several dialects or on several pages: a method, a Domain Types definition.
trait Documented: Sized {
    fn dialect(&self) -> Dialect;
    /// Where the copy in another dialect is kept, as evidence for this copy's nesting.
    fn twin(&mut self) -> &mut Option<Box<Self>>;
}

impl Documented for sections::RawMethod {
    fn dialect(&self) -> Dialect {
        self.dialect
    }
    fn twin(&mut self) -> &mut Option<Box<Self>> {
        &mut self.twin
    }
}

impl Documented for sections::RawDomain {
    fn dialect(&self) -> Dialect {
        self.dialect
    }
    fn twin(&mut self) -> &mut Option<Box<Self>> {
        &mut self.twin
    }
}

/// The copies of one thing after [`choose_copies`]: the copy that is read (with its twin) and the others,
/// in order of preference.
struct Choice<T> {
    chosen: T,
    others: Vec<T>,
}

/// The one rule for a thing documented more than once. The copies with the same `key` are ordered most precise
/// dialect first (Python: `datetime`, `int`; see [`Dialect`]), then by `tie_break`, and the first is the copy
/// read. The first copy in another dialect (HTTP states member counts) becomes its twin, evidence for its
/// nesting, when `pairs` says the two describe the same thing. One [`Choice`] per key, in key order.
fn choose_copies<T: Documented, K: Ord>(
    items: Vec<T>,
    key: impl Fn(&T) -> K,
    tie_break: impl Fn(&T, &T) -> Ordering,
    pairs: impl Fn(&T, &T) -> bool,
) -> Vec<Choice<T>> {
    let mut by_key: BTreeMap<K, Vec<T>> = BTreeMap::new();
    for item in items {
        by_key.entry(key(&item)).or_default().push(item);
    }
    let mut out = vec![];
    for mut copies in by_key.into_values() {
        copies.sort_by(|a, b| a.dialect().cmp(&b.dialect()).then_with(|| tie_break(a, b)));
        let mut chosen = copies.remove(0);
        if let Some(i) = copies.iter().position(|c| c.dialect() != chosen.dialect()) {
            if pairs(&chosen, &copies[i]) {
                *chosen.twin() = Some(Box::new(copies.remove(i)));
            }
        }
        out.push(Choice { chosen, others: copies });
    }
    out
}

/// The same method documented on several pages (000 and 004 are excerpts of 001) is read once
/// ([`choose_copies`]); copies in the chosen one's dialect whose field lists differ are reported.
fn dedupe_methods(
    methods: Vec<sections::RawMethod>,
    trees: &BTreeMap<String, page::Page>,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<sections::RawMethod> {
    let mut with_path = vec![];
    for m in methods {
        match &m.path {
            Some(p) if p.starts_with('/') && p.matches('/').count() == 2 => with_path.push(m),
            _ => {
                if let Some(t) = trees.get(&m.file) {
                    errors.push(
                        t.error(m.offset, format!("method `{}` has no `**post** `/service/Method`` path", m.rpc)),
                    );
                }
            }
        }
    }
    // Tie-break within a dialect: the richest copy (most items, then a JSON example), then the file name.
    let richness = |m: &sections::RawMethod| (m.params.len() + m.returns.len() + m.query.len(), m.json_text.is_some());
    let tie_break = |a: &sections::RawMethod, b: &sections::RawMethod| {
        richness(b).cmp(&richness(a)).then_with(|| a.file.cmp(&b.file))
    };
    let heads = |m: &sections::RawMethod| {
        m.params.iter().chain(&m.returns).map(|e| format!("{:?}", e.head)).collect::<Vec<_>>()
    };
    let mut out = vec![];
    for Choice { mut chosen, others } in choose_copies(with_path, |m| m.path.clone(), tie_break, |_, _| true) {
        // Only the Python signature says a method streams for sure; any copy that says so decides.
        chosen.streaming |= others.iter().chain(chosen.twin.as_deref()).any(|c| c.streaming);
        for other in others.iter().filter(|c| c.dialect == chosen.dialect) {
            if heads(other) != heads(&chosen) {
                if let Some(t) = trees.get(&other.file) {
                    warnings.push(t.warning(
                        other.offset,
                        format!(
                            "`{}` is also documented in {} with different fields; that copy is used",
                            chosen.rpc, chosen.file
                        ),
                    ));
                }
            }
        }
        out.push(chosen);
    }
    out
}

/// Identical Domain Types definitions on several pages count once; a definition documented in both dialects is
/// read from its Python copy (precise types), with the HTTP copy (member counts) as its twin ([`choose_copies`]).
fn dedupe_domains(domains: Vec<sections::RawDomain>) -> Vec<sections::RawDomain> {
    let by_place = |a: &sections::RawDomain, b: &sections::RawDomain| (&a.file, a.offset).cmp(&(&b.file, b.offset));
    let mut sorted = domains;
    sorted.sort_by(by_place);
    // A copy is a later definition with the same title and the same items (heads and texts), compared in place
    // with the earlier ones of that title rather than through a formatted key per item.
    let same_items = |a: &sections::RawDomain, b: &sections::RawDomain| {
        a.entries.len() == b.entries.len()
            && a.entries.iter().zip(&b.entries).all(|(x, y)| x.head == y.head && x.text == y.text)
    };
    let mut kept_by_title: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut keep = vec![false; sorted.len()];
    for (i, d) in sorted.iter().enumerate() {
        let kept = kept_by_title.entry(d.title.as_str()).or_default();
        if !kept.iter().any(|&j| same_items(&sorted[j], d)) {
            kept.push(i);
            keep[i] = true;
        }
    }
    let unique: Vec<sections::RawDomain> = sorted.into_iter().zip(keep).filter_map(|(d, k)| k.then_some(d)).collect();
    // Different resources may use one title for different types: a twin lists the same fields and values.
    // (Compared as sorted lists of shared names and borrowed values: no string is made per entry.)
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Member<'a> {
        Field(std::rc::Rc<str>),
        Value(&'a str),
    }
    fn members(d: &sections::RawDomain) -> Vec<Member<'_>> {
        let mut members: Vec<Member> = d
            .entries
            .iter()
            .filter_map(|e| match &e.head {
                types::Head::Field { name, .. } => Some(Member::Field(names::shared_wire(name))),
                types::Head::Value(v) => Some(Member::Value(v)),
                _ => None,
            })
            .collect();
        members.sort_unstable();
        members.dedup();
        members
    }
    // Tie-break within a dialect: the first definition by file and position. Every copy but the twin stays.
    let same_type = |a: &sections::RawDomain, b: &sections::RawDomain| members(a) == members(b);
    let mut out = vec![];
    for Choice { chosen, others } in choose_copies(unique, |d| d.title.clone(), by_place, same_type) {
        out.push(chosen);
        out.extend(others);
    }
    out.sort_by(by_place);
    out
}
