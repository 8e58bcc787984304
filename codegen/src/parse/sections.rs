//! Reads a page's section tree into raw methods and Domain Types definitions (still flat field lists).

use super::dialect;
use super::examples;
use super::fields::Entry;
use super::limits;
use super::page::{Node, Page, Section};
use super::types::parse_head_noted;
use crate::diag::Diagnostic;
use crate::model::RequestExample;

pub use super::dialect::Dialect;

/// One `## RpcName` section as written, before nesting.
#[derive(Debug, Clone)]
pub struct RawMethod {
    pub file: String,
    pub offset: usize,
    pub rpc: String,
    pub dialect: Dialect,
    /// Title of the `#` heading above the method (`Policies`), if any.
    pub group_title: Option<String>,
    /// From the Python signature: `runners.policies`, `create`, `PolicyCreateParams`, `SyncPoliciesPage[RunnerPolicy]`.
    pub sdk_resource: Option<String>,
    pub sdk_name: Option<String>,
    pub params_alias: Option<String>,
    pub returns_spelling: Option<String>,
    /// The server answers with a stream of messages (`-> JSONLDecoder[X]`).
    pub streaming: bool,
    pub path: Option<String>,
    pub doc: String,
    pub request_examples: Vec<RequestExample>,
    pub python: Option<String>,
    pub json_text: Option<String>,
    pub json_offset: usize,
    pub params: Vec<Entry>,
    pub params_offset: usize,
    pub query: Vec<Entry>,
    pub returns: Vec<Entry>,
    pub returns_offset: usize,
    /// The same method's page in the other dialect, when there is one: its structure is evidence for this one.
    pub twin: Option<Box<RawMethod>>,
}

/// One `### Title` definition under `## Domain Types`.
#[derive(Debug, Clone)]
pub struct RawDomain {
    pub file: String,
    pub offset: usize,
    pub title: String,
    pub entries: Vec<Entry>,
    pub dialect: Dialect,
    /// The same definition in the other dialect's page, evidence for this one's nesting.
    pub twin: Option<Box<RawDomain>>,
}

#[derive(Debug, Default)]
pub struct RawPage {
    pub methods: Vec<RawMethod>,
    pub domains: Vec<RawDomain>,
}

pub fn read_page(page: &Page, warnings: &mut Vec<Diagnostic>) -> RawPage {
    let mut raw = RawPage::default();
    visit(page, &page.root, None, &mut raw, warnings);
    // A page is in one dialect: the Python one when any method has a Python signature.
    let dialect =
        if raw.methods.iter().any(|m| m.dialect == Dialect::Python) { Dialect::Python } else { Dialect::Http };
    for d in &mut raw.domains {
        d.dialect = dialect;
    }
    raw
}

fn visit(page: &Page, s: &Section, group: Option<&str>, raw: &mut RawPage, warnings: &mut Vec<Diagnostic>) {
    for child in &s.children {
        match child.level {
            1 => visit(page, child, Some(&child.title), raw, warnings),
            2 if child.title == "Domain Types" => {
                for d in &child.children {
                    raw.domains.push(RawDomain {
                        file: page.file.clone(),
                        offset: d.offset,
                        title: d.title.clone(),
                        entries: entries(page, &d.body, warnings),
                        dialect: Dialect::Http,
                        twin: None,
                    });
                }
            }
            2 => raw.methods.push(read_method(page, child, group, warnings)),
            _ => warnings.push(page.warning(
                child.offset,
                format!("section `{}` is not under a method or Domain Types; ignored", child.title),
            )),
        }
    }
}

/// Item nodes → entries; items whose head is not a known form are reported and skipped.
fn entries(page: &Page, body: &[Node], warnings: &mut Vec<Diagnostic>) -> Vec<Entry> {
    // Sized for every node an item (most are): the list is not regrown as it fills.
    let mut out = Vec::with_capacity(body.len().min(limits::MAX_ITEMS));
    for n in body {
        if let Node::Item { head: Some(h), text, offset } = n {
            if out.len() == limits::MAX_ITEMS {
                let limit = limits::MAX_ITEMS;
                warnings.push(
                    page.warning(
                        *offset,
                        format!("item limit: a list has more than {limit} items; the rest is ignored"),
                    ),
                );
                break;
            }
            if let Some(depth) = limits::over_type_depth(h) {
                let (h, limit) = (limits::excerpt(h), limits::MAX_TYPE_DEPTH);
                warnings.push(page.warning(
                    *offset,
                    format!("item `{h}` nests {depth} levels, over the type nesting limit of {limit}; ignored"),
                ));
                continue;
            }
            let mut notes = vec![];
            let parsed = parse_head_noted(h, &mut notes);
            for note in notes {
                warnings.push(page.warning(*offset, format!("item `{h}`: {note}")));
            }
            match parsed {
                Some(head) => out.push(Entry {
                    head,
                    text: std::rc::Rc::from(&**text),
                    offset: *offset,
                    indent: indent_at(page, *offset),
                }),
                None => warnings.push(
                    page.warning(*offset, format!("item `{h}` is not a field, enum value or type header; ignored")),
                ),
            }
        }
    }
    out
}

/// The indentation of the line an item starts, when it starts one (pages that kept their newlines).
fn indent_at(page: &Page, offset: usize) -> Option<usize> {
    let line_start = page.line_start(offset)?;
    let lead = &page.src[line_start..offset];
    lead.bytes().all(|b| b == b' ').then_some(lead.len())
}

fn read_method(page: &Page, s: &Section, group: Option<&str>, warnings: &mut Vec<Diagnostic>) -> RawMethod {
    let mut m = RawMethod {
        file: page.file.clone(),
        offset: s.offset,
        rpc: s.title.clone(),
        dialect: Dialect::Http,
        group_title: group.map(str::to_string),
        sdk_resource: None,
        sdk_name: None,
        params_alias: None,
        returns_spelling: None,
        streaming: false,
        path: None,
        doc: String::new(),
        request_examples: vec![],
        python: None,
        json_text: None,
        json_offset: s.offset,
        params: vec![],
        params_offset: s.offset,
        query: vec![],
        returns: vec![],
        returns_offset: s.offset,
        twin: None,
    };
    let mut doc_parts = vec![];
    for n in &s.body {
        if let Node::Para { text, .. } = n {
            doc_parts.push(read_intro(&mut m, text));
        }
    }
    m.doc = doc_parts.join(" ").trim().to_string();
    // The HTTP dialect has no signature; its only word on streaming is the description's first verb.
    if dialect::rules(m.dialect).streams_by_description(&m.doc) {
        m.streaming = true;
    }
    for sub in &s.children {
        match sub.title.as_str() {
            "Examples" => m.request_examples = request_examples(&sub.body),
            "Parameters" | "Body Parameters" => {
                m.params_offset = sub.offset;
                m.params.extend(entries(page, &sub.body, warnings));
            }
            "Query Parameters" => m.query.extend(entries(page, &sub.body, warnings)),
            "Returns" => {
                m.returns_offset = sub.offset;
                m.returns = entries(page, &sub.body, warnings);
            }
            "Example" => {
                for n in &sub.body {
                    if let Node::Code { lang, body, .. } = n {
                        if lang == "python" {
                            m.python = examples::python_call(body);
                        }
                    }
                }
                for resp in sub.children.iter().filter(|c| c.title == "Response") {
                    for n in &resp.body {
                        if let Node::Code { lang, body, offset } = n {
                            if lang == "json" {
                                m.json_text = Some(body.to_string());
                                m.json_offset = *offset;
                            }
                        }
                    }
                }
            }
            // Other subsections (`### Authorization`) are part of the description. In a flattened page the
            // title runs into the text, so title and text are joined the same way in both forms.
            other => {
                let text: Vec<&str> = sub
                    .body
                    .iter()
                    .filter_map(|n| match n {
                        Node::Para { text, .. } => Some(&**text),
                        _ => None,
                    })
                    .collect();
                let para = std::iter::once(other).chain(text).collect::<Vec<_>>().join(" ");
                m.doc = format!("{}\n\n{para}", m.doc).trim().to_string();
                if sub.body.iter().any(|n| matches!(n, Node::Item { head: Some(_), .. })) {
                    warnings.push(page.warning(
                        sub.offset,
                        format!("method subsection `{other}` lists items; read as description, its items ignored"),
                    ));
                }
            }
        }
    }
    m
}

/// Reads the signature (`` `runners.x.create(P**kwargs) -> R` ``) and `**post** `/path`` off the intro
/// paragraph and returns the remaining description.
fn read_intro(m: &mut RawMethod, text: &str) -> String {
    let mut rest = text.trim();
    if let Some((code, tail)) = rest.strip_prefix('`').and_then(|r| r.split_once('`')) {
        if let Some((dialect, sig)) = dialect::signature(code) {
            m.dialect = dialect;
            m.sdk_resource = sig.sdk_resource;
            m.sdk_name = sig.sdk_name;
            m.params_alias = sig.params_alias;
            m.returns_spelling = sig.returns;
            m.streaming = sig.streaming;
            rest = tail.trim();
        }
    }
    if let Some(after) = rest.strip_prefix("**post**").map(str::trim) {
        if let Some((path, tail)) = after.strip_prefix('`').and_then(|r| r.split_once('`')) {
            m.path = Some(path.to_string());
            rest = tail.trim();
        }
    }
    rest.to_string()
}

/// `- Title: description` items each followed by a ```yaml block.
fn request_examples(body: &[Node]) -> Vec<RequestExample> {
    let mut out = vec![];
    let mut title: Option<String> = None;
    for n in body {
        match n {
            Node::Item { head: None, text, .. } => title = Some(examples::collapse(text)),
            Node::Code { lang, body, .. } if lang == "yaml" => {
                out.push(RequestExample {
                    title: title.take().unwrap_or_default(),
                    yaml: examples::collapse(body),
                    value: None,
                });
            }
            _ => {}
        }
    }
    out
}
