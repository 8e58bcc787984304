//! Restored Markdown → a per-page syntax tree of sections, list items, paragraphs and code blocks.

use super::blocks::{self, Collapsed};
use crate::diag::Diagnostic;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// One node of a section's body. `offset` is a byte offset in the original page text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Para {
        text: String,
        offset: usize,
    },
    /// A list item; `head` is its leading code span when there is one.
    Item {
        head: Option<String>,
        text: String,
        offset: usize,
    },
    Code {
        lang: String,
        body: String,
        offset: usize,
    },
}

impl Node {
    pub fn offset(&self) -> usize {
        match self {
            Node::Para { offset, .. } | Node::Item { offset, .. } | Node::Code { offset, .. } => *offset,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// 0 for the page root.
    pub level: u8,
    pub title: String,
    pub offset: usize,
    pub body: Vec<Node>,
    pub children: Vec<Section>,
}

/// A parsed page: its file name, original text, and section tree.
#[derive(Debug, Clone)]
pub struct Page {
    pub file: String,
    pub src: String,
    pub root: Section,
}

impl Page {
    pub fn warning(&self, offset: usize, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(&self.file, &self.src, offset, msg)
    }
    pub fn error(&self, offset: usize, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(&self.file, &self.src, offset, msg)
    }
}

/// Restores block structure, runs pulldown-cmark over it and builds the section tree.
pub fn parse_page(file: &str, src: &str) -> Result<Page, Diagnostic> {
    let collapsed = Collapsed::new(src);
    let blocks = blocks::split_blocks(file, src, &collapsed)?;
    let (md, starts) = blocks::to_markdown(&blocks);
    // Original offset of the block that produced the Markdown at `md_offset`.
    let origin = |md_offset: usize| -> usize {
        let i = starts.partition_point(|&(s, _)| s <= md_offset).saturating_sub(1);
        starts.get(i).and_then(|&(_, b)| blocks.get(b)).map_or(0, |b| collapsed.original(b.offset))
    };

    // (heading level and title, or a node), with the original offset where it starts.
    type Entry = (Option<(u8, String)>, Option<Node>, usize);
    let mut nodes: Vec<Entry> = Vec::new();
    let mut list_depth = 0usize;
    let mut heading: Option<(u8, String, usize)> = None;
    let mut item: Option<(usize, std::ops::Range<usize>)> = None;
    let mut code: Option<(String, String, usize)> = None;
    let mut para: Option<std::ops::Range<usize>> = None;
    for (event, range) in Parser::new_ext(&md, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((heading_level(level), String::new(), range.start))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, title, at)) = heading.take() {
                    nodes.push((Some((level, title.trim().to_string())), None, origin(at)));
                }
            }
            Event::Start(Tag::List(_)) => list_depth += 1,
            Event::End(TagEnd::List(_)) => list_depth = list_depth.saturating_sub(1),
            Event::Start(Tag::Item) if list_depth == 1 => item = Some((range.start, range)),
            Event::End(TagEnd::Item) if list_depth == 1 => {
                if let Some((at, range)) = item.take() {
                    let raw = md[range].trim_end();
                    let raw = raw.strip_prefix("- ").unwrap_or(raw);
                    nodes.push((None, Some(item_node(raw, origin(at))), origin(at)));
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(l) => l.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new(), range.start));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((lang, body, at)) = code.take() {
                    let body = body.trim().to_string();
                    nodes.push((None, Some(Node::Code { lang, body, offset: origin(at) }), origin(at)));
                }
            }
            Event::Start(Tag::Paragraph) if list_depth == 0 && heading.is_none() => para = Some(range),
            Event::End(TagEnd::Paragraph) if list_depth == 0 => {
                if let Some(range) = para.take() {
                    let at = origin(range.start);
                    nodes.push((None, Some(Node::Para { text: md[range].trim().to_string(), offset: at }), at));
                }
            }
            Event::Text(s) | Event::Code(s) => {
                if let Some((_, body, _)) = code.as_mut() {
                    body.push_str(&s);
                } else if let Some((_, title, _)) = heading.as_mut() {
                    title.push_str(&s);
                }
            }
            _ => {}
        }
    }

    // Fold the flat run of headings and nodes into nested sections.
    let mut stack: Vec<Section> = vec![Section::default()];
    for (head, node, offset) in nodes {
        if let Some((level, title)) = head {
            while stack.len() > 1 && stack.last().is_some_and(|s| s.level >= level) {
                close_top(&mut stack);
            }
            stack.push(Section { level, title, offset, ..Section::default() });
        } else if let (Some(node), Some(top)) = (node, stack.last_mut()) {
            top.body.push(node);
        }
    }
    while stack.len() > 1 {
        close_top(&mut stack);
    }
    let root = stack.pop().unwrap_or_default();
    Ok(Page { file: file.to_string(), src: src.to_string(), root })
}

fn close_top(stack: &mut Vec<Section>) {
    if let Some(done) = stack.pop() {
        if let Some(parent) = stack.last_mut() {
            parent.children.push(done);
        }
    }
}

fn heading_level(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Splits an item's Markdown into its leading code span and the rest.
fn item_node(raw: &str, offset: usize) -> Node {
    if let Some(rest) = raw.strip_prefix('`') {
        if let Some(close) = rest.find('`') {
            let head = rest[..close].to_string();
            let text = rest[close + 1..].trim().to_string();
            return Node::Item { head: Some(head), text, offset };
        }
    }
    Node::Item { head: None, text: raw.trim().to_string(), offset }
}
