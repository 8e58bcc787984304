//! The dialects the reference is published in, one module each behind [`Rules`]: what a dialect spells its
//! own way (a method's signature, a field's type, where query parameters are documented, the SDK's renames,
//! whether a type name names a top-level type, whether a list method's result is spelled as a page of items).
//! Everything else is shared. A new dialect is one more module and one more entry in [`ALL`].

mod envelope;
mod http;
mod python;

pub use envelope::PageEnvelope;

use super::fields::Entry;
use super::types::Spelled;

/// Ordered most precise spelling first: where a method or type is documented in several dialects, the first
/// one's copy is read and the others' are its twins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dialect {
    Python,
    Http,
}

/// What a method's signature says (`runners.policies.create(PolicyCreateParams**kwargs) -> PolicyCreateResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signature {
    /// `runners.policies`.
    pub sdk_resource: Option<String>,
    /// `create`.
    pub sdk_name: Option<String>,
    /// The docs' name of the parameters: `PolicyCreateParams`.
    pub params_alias: Option<String>,
    /// The docs' spelling of the result: `SyncPoliciesPage[RunnerPolicy]`, the message of a stream.
    pub returns: Option<String>,
    /// The server answers with a stream of messages.
    pub streaming: bool,
}

/// The rules of one dialect.
pub trait Rules: Sync {
    fn dialect(&self) -> Dialect;
    /// Reads a method signature from the code span that opens a method's description; `None` when this
    /// dialect has no signature or the span is not one.
    fn signature(&self, code: &str) -> Option<Signature>;
    /// Reads a field's type spelling (`Optional[List[str]]`, `optional array of string`).
    fn spelling(&self, s: &str, notes: &mut Vec<String>) -> Option<Spelled>;
    /// Where the query parameters sit among a method's documented body fields (`token`, `page_size`), when
    /// the dialect documents them there: the index of the first of the two.
    fn query_among_body(&self, params: &[Entry], returns_page: bool) -> Option<usize>;
    /// The item type of a list method's result, when the dialect spells the result (`returns`, from the
    /// signature) as a page of items and documents only the item type, not the envelope the server answers
    /// with ([`PageEnvelope`]).
    fn page_item(&self, returns: &str) -> Option<String>;
    /// Whether the description marks a method as server-streaming (for a dialect without signatures).
    fn streams_by_description(&self, doc: &str) -> bool;
    /// The documented field name with the SDK's renames undone (`class_` → `class`).
    fn unmangle<'a>(&self, name: &'a str) -> &'a str;
    /// Whether a type name in a field list always names a top-level type, so that the member count of its
    /// Domain Types header applies wherever it is used.
    fn type_names_are_global(&self) -> bool;
}

/// Every dialect, most precise spelling first.
pub const ALL: [&dyn Rules; 2] = [&python::Python, &http::Http];

pub fn rules(dialect: Dialect) -> &'static dyn Rules {
    match dialect {
        Dialect::Python => &python::Python,
        Dialect::Http => &http::Http,
    }
}

/// The dialect whose signature the code span is, with what it says.
pub fn signature(code: &str) -> Option<(Dialect, Signature)> {
    ALL.iter().find_map(|d| Some((d.dialect(), d.signature(code)?)))
}

/// A field's type in whichever dialect spells it.
pub fn spelling(s: &str, notes: &mut Vec<String>) -> Option<Spelled> {
    ALL.iter().find_map(|d| d.spelling(s, notes))
}

/// A documented field name with every dialect's renames undone (each leaves the others' names alone).
pub fn unmangle(name: &str) -> &str {
    ALL.iter().fold(name, |n, d| d.unmangle(n))
}

/// The name of a field entry.
fn field_name(e: Option<&Entry>) -> Option<&str> {
    match e.map(|e| &e.head) {
        Some(super::types::Head::Field { name, .. }) => Some(&**name),
        _ => None,
    }
}
