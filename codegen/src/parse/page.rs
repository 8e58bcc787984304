//! A page's blocks → a syntax tree of sections, list items, paragraphs and code blocks.

use super::blocks::{self, BlockKind, Collapsed};
use super::limits;
use crate::diag::Diagnostic;
use std::borrow::Cow;

/// One node of a section's body. `offset` is a byte offset in the original page text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node<'a> {
    Para {
        text: Cow<'a, str>,
        offset: usize,
    },
    /// A list item; `head` is its leading code span when there is one.
    Item {
        head: Option<Cow<'a, str>>,
        text: Cow<'a, str>,
        offset: usize,
    },
    Code {
        lang: String,
        body: Cow<'a, str>,
        offset: usize,
    },
}

impl Node<'_> {
    pub fn offset(&self) -> usize {
        match self {
            Node::Para { offset, .. } | Node::Item { offset, .. } | Node::Code { offset, .. } => *offset,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section<'a> {
    /// 0 for the page root.
    pub level: u8,
    pub title: String,
    pub offset: usize,
    pub body: Vec<Node<'a>>,
    pub children: Vec<Section<'a>>,
}

/// A parsed page: its file name, original text (borrowed from the spec page), and section tree.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub file: String,
    pub src: &'a str,
    pub root: Section<'a>,
    /// Byte offsets of the newlines in `src`, ascending: where a line starts is a binary search, not a scan back
    /// through the page (flattened pages are one long line, with thousands of items on it).
    newlines: Vec<usize>,
}

impl Page<'_> {
    pub fn warning(&self, offset: usize, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(&self.file, self.src, offset, msg)
    }
    pub fn error(&self, offset: usize, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(&self.file, self.src, offset, msg)
    }
    /// Where the line holding `offset` starts, when a newline comes before it (`None` on the first line, and
    /// for an offset that is not a char boundary of `src`).
    pub fn line_start(&self, offset: usize) -> Option<usize> {
        self.src.get(..offset)?;
        let before = self.newlines.partition_point(|&n| n < offset);
        before.checked_sub(1).map(|i| self.newlines[i] + 1)
    }
}

/// Restores the block structure and folds the blocks straight into the section tree: a heading opens a section
/// (closing those at its level or deeper), every other block joins the innermost open section. Offsets are the
/// blocks' own, mapped back to the original text.
pub fn parse_page<'a>(file: &str, src: &'a str) -> Result<Page<'a>, Diagnostic> {
    if src.len() > limits::MAX_PAGE_BYTES {
        let (size, limit) = (src.len(), limits::MAX_PAGE_BYTES);
        return Err(Diagnostic::error(
            file,
            src,
            0,
            format!("page size limit: {size} bytes, over the limit of {limit}"),
        ));
    }
    let collapsed = Collapsed::new(src);
    let blocks = blocks::split_blocks(file, src, &collapsed)?;
    // A section's body is the run of non-heading blocks right after its heading (the root's: before the first
    // heading), so each body is sized exactly once instead of growing.
    // `lens[i]`: how many non-heading blocks follow block `i` before the next heading (backwards, so each is
    // counted once); at the end, `following` is the root's.
    let mut lens = Vec::with_capacity(blocks.len());
    let mut following = 0;
    for b in blocks.iter().rev() {
        lens.push(following);
        following = if matches!(b.kind, BlockKind::Heading { .. }) { 0 } else { following + 1 };
    }
    let mut stack: Vec<Section> = vec![Section { body: Vec::with_capacity(following), ..Section::default() }];
    // Block offsets ascend: each original offset is looked up from where the last one was found.
    let mut run = 0;
    for (b, body_len) in blocks.into_iter().zip(lens.into_iter().rev()) {
        let offset = collapsed.original_from(b.offset, &mut run);
        let node = match b.kind {
            BlockKind::Heading { level, title } => {
                while stack.len() > 1 && stack.last().is_some_and(|s| s.level >= level) {
                    close_top(&mut stack);
                }
                stack.push(Section { level, title, offset, body: Vec::with_capacity(body_len), ..Section::default() });
                continue;
            }
            BlockKind::Item { head, text } => Node::Item { head, text, offset },
            BlockKind::Code { lang, body } => Node::Code { lang, body, offset },
            BlockKind::Para { text } => Node::Para { text, offset },
        };
        if let Some(top) = stack.last_mut() {
            top.body.push(node);
        }
    }
    while stack.len() > 1 {
        close_top(&mut stack);
    }
    let root = stack.pop().unwrap_or_default();
    let newlines = memchr::memchr_iter(b'\n', src.as_bytes()).collect();
    Ok(Page { file: file.to_string(), src, root, newlines })
}

fn close_top(stack: &mut Vec<Section<'_>>) {
    if let Some(done) = stack.pop() {
        if let Some(parent) = stack.last_mut() {
            parent.children.push(done);
        }
    }
}
