//! Markdown API reference → model → Rust code.
//!
//! The pipeline has three stages with narrow interfaces:
//! - [`parse`]: spec pages (`SpecPage`) → [`model::Model`] plus warnings ([`diag::Diagnostic`]);
//! - [`model`]: plain serde data, the only thing the emitter sees;
//! - [`emit`]: `&Model` → generated files (path + contents), formatted with prettyplease;
//! - [`diff`]: what changed in the API between two models (for regen's report).

pub mod diag;
pub mod diff;
pub mod emit;
pub mod parse;

/// The model types live in their own crate (`gitpod-model`, serde only) so that users of the model
/// (e.g. `gitpod-mock`) need not build the parser and emitter; every `gitpod_codegen::model::X` path
/// keeps working.
pub use gitpod_model as model;

/// One input page: its file name relative to the spec directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecPage {
    pub file: String,
    pub text: String,
}
