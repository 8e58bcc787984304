//! The naming pass: every Rust identifier the emitter writes is decided here, once, before any code
//! is written (as typify does), and the rest of the emitter only looks names up in [`Names`].
//!
//! Two steps:
//! - [`convert`] turns any model string into a valid identifier of one style (snake_case,
//!   PascalCase, SHOUTY_CASE): ASCII only (other characters are escaped as `u{hex}`, so no lint about
//!   confusable or uncommon code points fires), never empty, never starting with a digit (`_` in
//!   front), and keyword-safe the way prost-build's `ident.rs` does it: a raw identifier where Rust
//!   allows one, a trailing underscore for `self`, `super`, `crate`, `Self` and `_`, which cannot be raw.
//! - a [`Scope`] holds the names that share one namespace (the types of `types`, the fields of one
//!   message, the variants of one enum, the methods of one client, the service modules of the
//!   crate, the generated test functions), with the names the generated code itself defines there.
//!   Two names that collide after case conversion, or a name that hits a reserved one, are resolved
//!   deterministically: the best-ranked name keeps its spelling (ranked by: converted without loss,
//!   already spelled as converted, then the original name; never by input order), the others get a
//!   qualified alternative where one exists, else a fixed suffix (reserved names) or a suffix hashed
//!   from their own original name, so a name's spelling does not depend on which other names exist.
//!   Every such rename is a warning.

use super::EmitWarning;
use crate::model::Model;
use heck::ToShoutySnakeCase;
use proc_macro2::{Ident, Span};
use std::collections::{BTreeMap, BTreeSet};

/// Keywords of every edition (strict and reserved) that need escaping when used as identifiers.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let",
    "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual", "yield", "async", "await", "dyn", "try", "gen",
];
/// Keywords that cannot be raw identifiers.
const NON_RAW: &[&str] = &["self", "super", "crate", "Self", "_"];

/// Names of the Rust 2021 prelude (and `Self`): a generated type, trait or client with one of these
/// names would shadow what the generated code means by it (`Result`, `Option`, `Send`, `Clone`...).
const PRELUDE_TYPES: &[&str] = &[
    "Copy",
    "Send",
    "Sized",
    "Sync",
    "Unpin",
    "Drop",
    "Fn",
    "FnMut",
    "FnOnce",
    "Box",
    "ToOwned",
    "Clone",
    "PartialEq",
    "PartialOrd",
    "Eq",
    "Ord",
    "AsRef",
    "AsMut",
    "Into",
    "From",
    "Default",
    "Iterator",
    "Extend",
    "IntoIterator",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "ToString",
    "Vec",
    "TryFrom",
    "TryInto",
    "FromIterator",
];

/// Items the crate root defines or re-exports next to the service traits and clients.
const ROOT_TYPES: &[&str] = &["Client", "Code", "ConnectError", "Error", "ReadmeDoctests"];

/// Names a service module must not take: files and modules of the crate (`lib.rs`, `types.rs`,
/// `runtime`), crates the generated code names by path (a `tokio` module would shadow `#[tokio::test]`
/// in the tests that import every module), the tests' own module, and the methods of the root `Client`
/// whose accessors are named by module.
const RESERVED_MODULES: &[&str] = &[
    "lib",
    "main",
    "types",
    "runtime",
    "samples",
    "std",
    "core",
    "alloc",
    "serde",
    "serde_json",
    "serde_with",
    "axum",
    "tokio",
    "gitpod_runtime",
    "new",
    "clone",
    "fmt",
];

/// Methods every generated client has (and `Clone`/`Debug`'s, which an inherent method would shadow).
const RESERVED_METHODS: &[&str] = &["new", "from_transport", "with_options", "clone", "fmt"];

/// Constants of every `procedures` module besides the methods' own.
const RESERVED_CONSTANTS: &[&str] = &["SERVICE_PREFIX"];

/// The catch-all variant that keeps values this crate does not know.
pub const UNKNOWN_VARIANT: &str = "Unrecognized";

/// The flattened field of a message that keeps the fields the reference does not describe.
pub const UNDOCUMENTED_FIELD: &str = "undocumented";

/// How an identifier is cased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// fields, functions, methods, modules
    Snake,
    /// types, traits, enum variants
    Pascal,
    /// constants
    Shouty,
}

/// A model string as a valid identifier of `style`, with a note when the conversion lost information
/// beyond case and punctuation (non-ASCII characters escaped, nothing left to name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The cased ASCII name before keyword and digit escaping (`type`, `3rd_party`, `self`); names
    /// derived from this one (`{name}_stream`, `{Name}Client`) are built from it.
    pub base: String,
    /// What was lost, for the warning.
    pub lossy: Option<&'static str>,
}

/// Converts `original` to a cased ASCII name (the base of an identifier, see [`finish`]).
pub fn convert(original: &str, style: Style) -> Converted {
    let mut lossy = None;
    let escaped;
    // Most names are ASCII already: converted as they are, without a copy.
    let ascii = if original.is_ascii() {
        original
    } else {
        let mut ascii = String::with_capacity(original.len());
        for c in original.chars() {
            if c.is_ascii() {
                ascii.push(c);
            } else if c.is_alphanumeric() {
                // Escaped as its own word, so case conversion keeps it apart: `٣` → `u0663`.
                ascii.push_str(&format!(" u{:04x} ", c as u32));
                lossy = Some("non-ASCII characters are escaped");
            } else {
                ascii.push(' ');
            }
        }
        escaped = ascii;
        &escaped
    };
    let mut base = String::with_capacity(ascii.len() + 4);
    let separator = if style == Style::Pascal { "" } else { "_" };
    ascii_words(ascii, |word| {
        if !base.is_empty() {
            base.push_str(separator);
        }
        match style {
            Style::Snake => base.extend(word.chars().map(|c| c.to_ascii_lowercase())),
            Style::Shouty => base.extend(word.chars().map(|c| c.to_ascii_uppercase())),
            Style::Pascal => {
                let mut chars = word.chars();
                base.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                base.extend(chars.map(|c| c.to_ascii_lowercase()));
            }
        }
    });
    if base.is_empty() {
        base = match style {
            Style::Snake => "empty",
            Style::Pascal => "Empty",
            Style::Shouty => "EMPTY",
        }
        .to_string();
        // The empty string (a documented enum value) is faithfully `Empty`; punctuation alone loses something.
        if !original.is_empty() {
            lossy = Some("it has no letters or digits");
        }
    }
    Converted { base, lossy }
}

/// The words of an ASCII string as heck splits them (heck 0.5's `transform`, which [`convert`] used to call:
/// heck writes every char through `fmt`, most of the naming pass's cost): runs of letters and digits, split
/// further before an uppercase letter that follows a lowercase one (digits in between keep the case before
/// them) and before the last capital of an acronym followed by a lowercase letter (`HTTPServer`: `HTTP`, `Server`).
fn ascii_words(s: &str, mut word: impl FnMut(&str)) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Boundary,
        Lower,
        Upper,
    }
    for run in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        let bytes = run.as_bytes();
        let (mut start, mut mode) = (0, Mode::Boundary);
        for (i, &c) in bytes.iter().enumerate() {
            let Some(&next) = bytes.get(i + 1) else {
                word(&run[start..]);
                break;
            };
            let next_mode = if c.is_ascii_lowercase() {
                Mode::Lower
            } else if c.is_ascii_uppercase() {
                Mode::Upper
            } else {
                mode
            };
            if next_mode == Mode::Lower && next.is_ascii_uppercase() {
                word(&run[start..=i]);
                (start, mode) = (i + 1, Mode::Boundary);
            } else if mode == Mode::Upper && c.is_ascii_uppercase() && next.is_ascii_lowercase() {
                word(&run[start..i]);
                (start, mode) = (i, Mode::Boundary);
            } else {
                mode = next_mode;
            }
        }
    }
}

/// The identifier for a base name: `_` before a leading digit, keywords escaped (a raw identifier
/// where `raw` allows it and Rust does, else a trailing underscore).
pub fn finish(base: &str, raw: bool) -> String {
    // No keyword is longer than 8 bytes: most names skip the two lists.
    let short = base.len() <= 8;
    let keyword = short && KEYWORDS.contains(&base);
    if base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{base}")
    } else if (short && NON_RAW.contains(&base)) || (!raw && keyword) {
        format!("{base}_")
    } else if keyword {
        format!("r#{base}")
    } else {
        base.to_string()
    }
}

/// The identifier for any string, without a scope (the crate name, tests).
pub fn to_ident(original: &str, style: Style) -> Ident {
    ident(&finish(&convert(original, style).base, true))
}

/// A `proc_macro2::Ident` for an identifier [`finish`] produced (`r#type` becomes a raw identifier).
pub fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// The identifier without its raw prefix: what two identifiers are compared by.
fn unraw(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// A 32-bit FNV-1a hash: a suffix derived from a name alone, the same on every platform and run.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

/// One name to place in a [`Scope`].
#[derive(Debug, Clone)]
pub struct Entry {
    /// What the model calls it, for ranking and warnings (`Get_Thing`, `a-b`, `foo_bar`).
    pub original: String,
    /// Unique within the scope when the model is consistent (a path, a wire name); the hashed suffix
    /// is derived from it.
    pub id: String,
    /// The preferred base name, already converted.
    pub converted: Converted,
    /// A more qualified base tried first when the preferred one is taken (a service's package).
    pub alternative: Option<String>,
}

impl Entry {
    pub fn new(original: &str, id: &str, style: Style) -> Self {
        Entry::with_converted(original, id, convert(original, style))
    }

    /// An entry whose preferred name is not `original` converted (so `original` is not converted for nothing).
    pub fn with_converted(original: &str, id: &str, converted: Converted) -> Self {
        Entry { original: original.to_string(), id: id.to_string(), converted, alternative: None }
    }
}

/// Which identifiers one base name takes in its namespace(s). Keys are finished identifiers without
/// `r#`; prefixes (`t:`, `m:`) separate namespaces that share a scope.
pub type Keys<'a> = &'a dyn Fn(usize, &str) -> Vec<String>;

/// The names that share one namespace, and the names the generated code defines there.
pub struct Scope<'a> {
    /// Says where, in warnings: `fields of message `Thing``.
    pub label: String,
    pub style: Style,
    /// Reserved keys (as [`Keys`] spells them).
    pub reserved: BTreeSet<String>,
    /// Appended to a base that only collides with a reserved name (`new` → `new_rpc`).
    pub reserved_suffix: &'a str,
    pub keys: Keys<'a>,
}

/// The plain keys of a one-namespace scope: the finished identifier.
pub fn single_key(raw: bool) -> impl Fn(usize, &str) -> Vec<String> {
    move |_, base| vec![unraw(&finish(base, raw)).to_string()]
}

impl Scope<'_> {
    /// Chooses a base name for every entry (in input order); see the module docs for the rule.
    pub fn resolve(&self, entries: &[Entry], warnings: &mut Vec<EmitWarning>) -> Vec<String> {
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by(|&a, &b| {
            let rank = |i: usize| {
                let e = &entries[i];
                (e.converted.lossy.is_some(), e.original != e.converted.base, e.id.as_str(), e.original.as_str())
            };
            rank(a).cmp(&rank(b)).then(a.cmp(&b))
        });
        // Key → the entry that holds it (`None`: reserved by the generated code).
        let mut taken: BTreeMap<String, Option<usize>> = self.reserved.iter().map(|k| (k.clone(), None)).collect();
        let fits = |taken: &BTreeMap<String, Option<usize>>, keys: &[String]| {
            let distinct: BTreeSet<&String> = keys.iter().collect();
            distinct.len() == keys.len() && keys.iter().all(|k| !taken.contains_key(k))
        };
        let mut chosen: Vec<Option<String>> = vec![None; entries.len()];
        // For each numbered name's stem (base and id hash), the first number not yet tried: entries that share
        // an id (a mangled page can repeat a name a thousand times) take the next number, not a probe from 2
        // each (quadratic). Numbers below it were taken, or did not fit an entry with the same stem; `taken`
        // only grows.
        let mut next_number: BTreeMap<(&str, u32), usize> = BTreeMap::new();
        // First every entry that can keep its preferred name, best-ranked first...
        for &i in &order {
            let keys = (self.keys)(i, &entries[i].converted.base);
            if fits(&taken, &keys) {
                taken.extend(keys.into_iter().map(|k| (k, Some(i))));
                chosen[i] = Some(entries[i].converted.base.clone());
            }
        }
        // ...then the others, so a fallback never takes the name another entry prefers.
        for &i in &order {
            let entry = &entries[i];
            if let Some(base) = &chosen[i] {
                if let Some(lossy) = entry.converted.lossy {
                    warnings.push(EmitWarning::new(
                        &self.label,
                        format!("`{}` is named `{}`: {lossy}", entry.original, finish(base, true)),
                    ));
                }
                continue;
            }
            let base = &entry.converted.base;
            let keys = (self.keys)(i, base);
            let holders: BTreeSet<Option<usize>> = keys.iter().filter_map(|k| taken.get(k).copied()).collect();
            let reserved_only = holders.iter().all(Option::is_none);
            let hash = fnv1a(&entry.id);
            let hashed = |digits: String| match self.style {
                Style::Pascal => format!("{base}{}", digits.to_uppercase()),
                Style::Snake => format!("{base}_{digits}"),
                Style::Shouty => format!("{base}_{}", digits.to_uppercase()),
            };
            let mut candidates: Vec<String> = entry.alternative.iter().cloned().collect();
            if reserved_only && !holders.is_empty() {
                candidates.push(format!("{base}{}", self.reserved_suffix));
            }
            candidates.push(hashed(format!("{:04x}", hash & 0xffff)));
            candidates.push(hashed(format!("{hash:08x}")));
            let first_number = next_number.get(&(base.as_str(), hash)).copied().unwrap_or(2);
            let (pick, number) = candidates
                .into_iter()
                .map(|c| (c, None))
                .chain((first_number..).map(|n| (hashed(format!("{hash:08x}_{n}")), Some(n))))
                .find(|(c, _)| fits(&taken, &(self.keys)(i, c)))
                .expect("the numbered candidates are unbounded");
            if let Some(n) = number {
                next_number.insert((base.as_str(), hash), n + 1);
            }
            let why = if holders.is_empty() {
                "names two items itself".to_string()
            } else if reserved_only {
                "is a name the generated code defines here".to_string()
            } else {
                let others: Vec<String> =
                    holders.iter().flatten().map(|&j| format!("`{}`", entries[j].original)).collect();
                format!("collides with {} after case conversion", others.join(", "))
            };
            let lossy = entry.converted.lossy.map(|l| format!(" ({l})")).unwrap_or_default();
            warnings.push(EmitWarning::new(
                &self.label,
                format!(
                    "`{}` would be `{}`, which {why}; it is named `{}`{lossy}",
                    entry.original,
                    finish(base, true),
                    finish(&pick, true)
                ),
            ));
            taken.extend((self.keys)(i, &pick).into_iter().map(|k| (k, Some(i))));
            chosen[i] = Some(pick);
        }
        chosen.into_iter().map(|c| c.expect("every entry is named")).collect()
    }
}

/// The names of one service's items.
#[derive(Debug, Clone)]
pub struct ServiceNames {
    /// Module and file name: `runner_service` (`src/runner_service.rs`); never a raw identifier.
    pub module: Ident,
    /// The server trait: `RunnerService`.
    pub trait_name: Ident,
    /// The client: `RunnerServiceClient`.
    pub client: Ident,
    /// The client's variable in the generated tests: `runner_service_client`.
    pub client_var: Ident,
    /// In `service.methods` order.
    pub methods: Vec<MethodNames>,
}

/// The names derived from one method.
#[derive(Debug, Clone)]
pub struct MethodNames {
    /// Client and trait method: `create_runner`.
    pub func: Ident,
    /// The paging stream of a list method: `list_runners_stream`.
    pub stream: Option<Ident>,
    /// The unary call that also returns status, headers and request id: `get_runner_with_response`.
    pub with_response: Ident,
    /// The procedure path constant: `CREATE_RUNNER`.
    pub constant: Ident,
    /// Sample functions and test functions (unique across the crate): `create_runner_request`,
    /// `create_runner_response`, `create_runner_response_example`, `create_runner_request_examples`.
    pub request_fn: Ident,
    pub response_fn: Ident,
    pub response_example_test: Ident,
    pub request_examples_test: Ident,
}

/// Every identifier the emitter writes for a model, and the warnings about names it had to change.
#[derive(Debug, Clone)]
pub struct Names {
    /// Message or enum name → Rust type name.
    types: BTreeMap<String, Ident>,
    /// Message name → field identifiers, in field order.
    fields: BTreeMap<String, Vec<Ident>>,
    /// Enum name → variant identifiers, in value order.
    variants: BTreeMap<String, Vec<Ident>>,
    /// In `model.services` order.
    pub services: Vec<ServiceNames>,
    /// The generated crate as Rust code names it.
    pub krate: Ident,
    pub warnings: Vec<EmitWarning>,
}

impl Names {
    /// The naming pass over the whole model.
    pub fn new(model: &Model, crate_name: &str) -> Self {
        let mut warnings = Vec::new();
        let krate = finish(&convert(crate_name, Style::Snake).base, false);
        Names {
            types: type_names(model, &mut warnings),
            fields: model.messages.iter().map(|m| (m.name.clone(), field_names(m, &mut warnings))).collect(),
            variants: model.enums.iter().map(|e| (e.name.clone(), variant_names(e, &mut warnings))).collect(),
            services: service_names(model, &krate, &mut warnings),
            krate: ident(&krate),
            warnings,
        }
    }

    /// The Rust name of a message or enum.
    pub fn type_ident(&self, model_name: &str) -> Ident {
        self.types.get(model_name).cloned().unwrap_or_else(|| to_ident(model_name, Style::Pascal))
    }

    /// The Rust names of a message's fields, in field order.
    pub fn fields(&self, message: &str) -> &[Ident] {
        self.fields.get(message).map_or(&[], Vec::as_slice)
    }

    /// The Rust names of an enum's variants, in value order.
    pub fn variants(&self, enum_name: &str) -> &[Ident] {
        self.variants.get(enum_name).map_or(&[], Vec::as_slice)
    }
}

/// Messages and enums share one namespace (`types`, which re-exports every module of `src/types/`).
fn type_names(model: &Model, warnings: &mut Vec<EmitWarning>) -> BTreeMap<String, Ident> {
    let all: Vec<&str> =
        model.messages.iter().map(|m| m.name.as_str()).chain(model.enums.iter().map(|e| e.name.as_str())).collect();
    let entries: Vec<Entry> = all.iter().map(|name| Entry::new(name, name, Style::Pascal)).collect();
    let keys = single_key(true);
    let scope = Scope {
        label: "types".to_string(),
        style: Style::Pascal,
        reserved: PRELUDE_TYPES.iter().chain(["Self"].iter()).map(|s| s.to_string()).collect(),
        reserved_suffix: "_",
        keys: &keys,
    };
    let bases = scope.resolve(&entries, warnings);
    all.iter().zip(bases).map(|(name, base)| (name.to_string(), ident(&finish(&base, true)))).collect()
}

/// A message's fields, named from their snake_case (proto) names, beside the catch-all field.
fn field_names(message: &crate::model::Message, warnings: &mut Vec<EmitWarning>) -> Vec<Ident> {
    let entries: Vec<Entry> = message
        .fields
        .iter()
        .map(|f| {
            // Named from the snake_case name; known, ranked and reported by the wire name.
            let snake = if f.proto_name.is_empty() { &f.name } else { &f.proto_name };
            Entry::with_converted(&f.name, &f.name, convert(snake, Style::Snake))
        })
        .collect();
    let keys = single_key(true);
    let mut reserved = BTreeSet::new();
    if !message.undocumented_fields.is_empty() {
        reserved.insert(UNDOCUMENTED_FIELD.to_string());
    }
    let scope = Scope {
        label: format!("fields of message `{}`", message.name),
        style: Style::Snake,
        reserved,
        reserved_suffix: "_",
        keys: &keys,
    };
    scope.resolve(&entries, warnings).iter().map(|b| ident(&finish(b, true))).collect()
}

/// An enum's variants: the common `ENUM_NAME_` prefix is stripped (`RUNNER_ROLE_ADMIN` → `Admin`)
/// unless that would make a name empty, start with a digit or collide; beside `Unrecognized`.
fn variant_names(e: &crate::model::Enum, warnings: &mut Vec<EmitWarning>) -> Vec<Ident> {
    let keys = single_key(true);
    let reserved: BTreeSet<String> = [UNKNOWN_VARIANT.to_string()].into();
    let prefix = format!("{}_", convert(&e.name, Style::Shouty).base);
    let stripped: Vec<Option<String>> = e
        .values
        .iter()
        .map(|v| match v.strip_prefix(&prefix) {
            Some(rest) if !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_digit()) => {
                let converted = convert(rest, Style::Pascal);
                converted.lossy.is_none().then_some(converted.base)
            }
            _ => None,
        })
        .collect();
    let stripped_keys: BTreeSet<String> = stripped.iter().flatten().flat_map(|b| keys(0, b)).collect();
    let strip = stripped.iter().all(Option::is_some)
        && stripped_keys.len() == e.values.len()
        && stripped_keys.is_disjoint(&reserved);
    let entries: Vec<Entry> = e
        .values
        .iter()
        .zip(&stripped)
        .map(|(value, stripped)| match (strip, stripped) {
            // A stripped name is lossless, and so is the whole value then (its prefix is ASCII).
            (true, Some(base)) => Entry::with_converted(value, value, Converted { base: base.clone(), lossy: None }),
            _ => Entry::new(value, value, Style::Pascal),
        })
        .collect();
    let scope = Scope {
        label: format!("values of enum `{}`", e.name),
        style: Style::Pascal,
        reserved,
        reserved_suffix: "_",
        keys: &keys,
    };
    scope.resolve(&entries, warnings).iter().map(|b| ident(&finish(b, true))).collect()
}

/// Services share the crate root: a module (and file) each, a trait and a client each, beside the
/// root's own items. A short name two services share is qualified with the package.
fn service_names(model: &Model, krate: &str, warnings: &mut Vec<EmitWarning>) -> Vec<ServiceNames> {
    let entries: Vec<Entry> = model
        .services
        .iter()
        .map(|s| {
            let short = if s.short_name.is_empty() { &s.name } else { &s.short_name };
            let mut entry = Entry::new(short, &s.name, Style::Pascal);
            let qualified = convert(&s.name, Style::Pascal);
            entry.alternative = (qualified.base != entry.converted.base).then_some(qualified.base);
            entry
        })
        .collect();
    let keys = |_: usize, base: &str| {
        vec![
            format!("m:{}", finish(&convert(base, Style::Snake).base, false)),
            format!("t:{}", finish(base, false)),
            format!("t:{}", finish(&format!("{base}Client"), false)),
        ]
    };
    let mut reserved: BTreeSet<String> = RESERVED_MODULES.iter().map(|m| format!("m:{m}")).collect();
    reserved.insert(format!("m:{krate}"));
    reserved.extend(PRELUDE_TYPES.iter().chain(ROOT_TYPES).chain(["Self"].iter()).map(|t| format!("t:{t}")));
    let scope =
        Scope { label: "services".to_string(), style: Style::Pascal, reserved, reserved_suffix: "_", keys: &keys };
    let bases = scope.resolve(&entries, warnings);
    let module_bases: Vec<String> = bases.iter().map(|b| convert(b, Style::Snake).base).collect();
    let methods = method_names(model, &module_bases, warnings);
    bases
        .iter()
        .zip(&module_bases)
        .zip(methods)
        .map(|((base, module), methods)| ServiceNames {
            module: ident(&finish(module, false)),
            trait_name: ident(&finish(base, false)),
            client: ident(&finish(&format!("{base}Client"), false)),
            client_var: ident(&finish(&format!("{module}_client"), false)),
            methods,
        })
        .collect()
}

/// Each service's methods share its client (with the client's own methods), its trait and its
/// `procedures` constants; the sample and test functions of all methods share the test files.
fn method_names(model: &Model, modules: &[String], warnings: &mut Vec<EmitWarning>) -> Vec<Vec<MethodNames>> {
    let mut per_service = Vec::new();
    for service in &model.services {
        let entries: Vec<Entry> = service.methods.iter().map(|m| Entry::new(&m.name, &m.path, Style::Snake)).collect();
        let keys = |i: usize, base: &str| {
            let mut keys = vec![format!("f:{}", unraw(&finish(base, true))), format!("c:{}", base.to_uppercase())];
            if service.methods[i].pagination.is_some() {
                keys.push(format!("f:{}", finish(&format!("{base}_stream"), true)));
            }
            if service.methods[i].streaming == crate::model::Streaming::Unary {
                keys.push(format!("f:{}", finish(&format!("{base}_with_response"), true)));
            }
            keys
        };
        let mut reserved: BTreeSet<String> = RESERVED_METHODS.iter().map(|m| format!("f:{m}")).collect();
        reserved.extend(RESERVED_CONSTANTS.iter().map(|c| format!("c:{c}")));
        let scope = Scope {
            label: format!("methods of service `{}`", service.name),
            style: Style::Snake,
            reserved,
            reserved_suffix: "_rpc",
            keys: &keys,
        };
        per_service.push(scope.resolve(&entries, warnings));
    }
    // Sample and test functions, named like the methods: one namespace for the whole crate; a method
    // name two services share is qualified with the service's module.
    let mut entries = Vec::new();
    for ((service, module), bases) in model.services.iter().zip(modules).zip(&per_service) {
        for (method, base) in service.methods.iter().zip(bases) {
            // The methods' scope already reported what the conversion lost.
            let converted = Converted { base: base.clone(), lossy: None };
            let mut entry = Entry::with_converted(&method.name, &method.path, converted);
            entry.alternative = Some(format!("{module}_{base}"));
            entries.push(entry);
        }
    }
    let keys = single_key(false);
    let scope = Scope {
        label: "sample and test functions".to_string(),
        style: Style::Snake,
        reserved: BTreeSet::new(),
        reserved_suffix: "_",
        keys: &keys,
    };
    let mut samples = scope.resolve(&entries, warnings).into_iter();
    model
        .services
        .iter()
        .zip(per_service)
        .map(|(service, bases)| {
            service
                .methods
                .iter()
                .zip(bases)
                .map(|(method, base)| {
                    let sample = samples.next().expect("one sample name per method");
                    let derived = |suffix: &str| ident(&finish(&format!("{sample}{suffix}"), false));
                    MethodNames {
                        func: ident(&finish(&base, true)),
                        stream: method.pagination.as_ref().map(|_| ident(&finish(&format!("{base}_stream"), true))),
                        with_response: ident(&finish(&format!("{base}_with_response"), true)),
                        constant: ident(&finish(&base.to_uppercase(), true)),
                        request_fn: derived("_request"),
                        response_fn: derived("_response"),
                        response_example_test: derived("_response_example"),
                        request_examples_test: derived("_request_examples"),
                    }
                })
                .collect()
        })
        .collect()
}

/// The JSON name serde's `rename_all = "camelCase"` gives a Rust field, so a field needs an explicit
/// `rename` only where the wire name differs from it. Mirrors serde_derive: the raw prefix is
/// removed, the name is PascalCased at underscores, then its first character lowercased.
pub fn serde_camel_case(field: &str) -> String {
    let field = unraw(field);
    let mut pascal = String::with_capacity(field.len());
    let mut capitalize = true;
    for ch in field.chars() {
        if ch == '_' {
            capitalize = true;
        } else if capitalize {
            pascal.push(ch.to_ascii_uppercase());
            capitalize = false;
        } else {
            pascal.push(ch);
        }
    }
    let mut chars = pascal.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => pascal,
    }
}

/// SCREAMING_SNAKE_CASE spelling of a name (for wire strings such as sample enum values, not identifiers).
pub fn shouty(name: &str) -> String {
    name.to_shouty_snake_case()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(original: &str, style: Style) -> String {
        finish(&convert(original, style).base, true)
    }

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(id("type", Style::Snake), "r#type");
        assert_eq!(id("match", Style::Snake), "r#match");
        assert_eq!(id("gen", Style::Snake), "r#gen");
        assert_eq!(id("ref", Style::Snake), "r#ref");
        assert_eq!(id("plain", Style::Snake), "plain");
        assert_eq!(finish("type", false), "type_");
        // `finish` looks only names of up to 8 bytes up in the lists.
        assert!(KEYWORDS.iter().chain(NON_RAW).all(|k| k.len() <= 8));
    }

    #[test]
    fn self_super_crate_cannot_be_raw() {
        assert_eq!(id("self", Style::Snake), "self_");
        assert_eq!(id("Self", Style::Snake), "self_");
        assert_eq!(id("self", Style::Pascal), "Self_");
        assert_eq!(id("super", Style::Snake), "super_");
        assert_eq!(id("crate", Style::Snake), "crate_");
        assert_eq!(finish("_", true), "__");
        for name in ["self_", "Self_", "super_", "crate_"] {
            assert_eq!(ident(name).to_string(), name);
        }
    }

    #[test]
    fn digits_get_an_underscore_in_front() {
        assert_eq!(id("2fa", Style::Snake), "_2fa");
        assert_eq!(id("3rdParty", Style::Snake), "_3rd_party");
        assert_eq!(id("3rdPartyRequest", Style::Pascal), "_3rdPartyRequest");
        assert_eq!(id("1st", Style::Shouty), "_1ST");
    }

    #[test]
    fn non_ascii_is_escaped_and_reported() {
        let digit = convert("٣", Style::Snake);
        assert_eq!(digit, Converted { base: "u0663".into(), lossy: Some("non-ASCII characters are escaped") });
        assert_eq!(id("Größe", Style::Pascal), "GrU00f6U00dfE");
        assert_eq!(id("größe", Style::Snake), "gr_u00f6_u00df_e");
        assert_eq!(id("名前", Style::Snake), "u540d_u524d");
        // Only the escape is ASCII: the identifier is always valid.
        for name in ["٣", "Größe", "名前", "→", "🚀x"] {
            for style in [Style::Snake, Style::Pascal, Style::Shouty] {
                let _ = ident(&id(name, style));
            }
        }
    }

    #[test]
    fn ascii_conversion_matches_heck() {
        use heck::{ToPascalCase, ToSnakeCase};
        for name in [
            "HTTPServer",
            "getHTTPResponse",
            "A1B",
            "ab1Cd",
            "Ab1Cd",
            "foo__bar",
            "_x_",
            "Get_Thing",
            "get-thing",
            "GET_THING",
            "3rdParty",
            "XMLHttpRequest2Go",
            "a",
            "A",
            "",
            "--/",
            "v1alpha1",
            "ABC",
            "aBC",
            "ABc",
            "AbcDEF",
            "camelCaseX",
            "x509Cert",
            "x509CERTs",
            "RUNNER_ROLE_ADMIN",
            "a b.c/d",
            "iOS",
            "IDs",
            "ID2Name",
            "snake_case_9",
            "9_lives",
            "OAuth2Token",
            "A_B_C",
            "aA1aA",
            "AA1a",
            "a1A",
            "1aA",
            " u00f6 x",
        ] {
            assert_eq!(
                convert(name, Style::Snake).base,
                Some(name.to_snake_case()).filter(|b| !b.is_empty()).unwrap_or("empty".into()),
                "{name:?}"
            );
            assert_eq!(
                convert(name, Style::Pascal).base,
                Some(name.to_pascal_case()).filter(|b| !b.is_empty()).unwrap_or("Empty".into()),
                "{name:?}"
            );
            assert_eq!(
                convert(name, Style::Shouty).base,
                Some(shouty(name)).filter(|b| !b.is_empty()).unwrap_or("EMPTY".into()),
                "{name:?}"
            );
        }
    }

    #[test]
    fn nothing_to_name_is_empty() {
        assert_eq!(convert("", Style::Pascal), Converted { base: "Empty".into(), lossy: None });
        assert_eq!(id("--/", Style::Snake), "empty");
        assert_eq!(id("→", Style::Shouty), "EMPTY");
    }

    #[test]
    fn serde_camel_case_matches_serde() {
        assert_eq!(serde_camel_case("supports_oauth2"), "supportsOauth2");
        assert_eq!(serde_camel_case("r#type"), "type");
        assert_eq!(serde_camel_case("self_"), "self");
        assert_eq!(serde_camel_case("foo_bar_2"), "fooBar2");
        assert_eq!(serde_camel_case("id"), "id");
        assert_eq!(serde_camel_case("_2fa"), "2fa");
        assert_eq!(serde_camel_case("_foo"), "foo");
    }

    /// The bases a one-namespace test scope chooses for `originals` (each its own id), in input order.
    fn bases(originals: &[&str], reserved: &[&str], style: Style) -> (Vec<String>, Vec<EmitWarning>) {
        let entries: Vec<Entry> = originals.iter().map(|o| Entry::new(o, o, style)).collect();
        let keys = single_key(true);
        let scope = Scope {
            label: "test".into(),
            style,
            reserved: reserved.iter().map(|r| r.to_string()).collect(),
            reserved_suffix: "_rpc",
            keys: &keys,
        };
        let mut warnings = Vec::new();
        let bases = scope.resolve(&entries, &mut warnings);
        (bases, warnings)
    }

    fn resolve(originals: &[&str], reserved: &[&str], style: Style) -> (BTreeMap<String, String>, Vec<EmitWarning>) {
        let (bases, warnings) = bases(originals, reserved, style);
        let named = originals.iter().zip(bases).map(|(o, b)| (o.to_string(), finish(&b, true))).collect();
        (named, warnings)
    }

    /// Entries that share an id (a mangled page repeating a field) are numbered one after the other: every
    /// name distinct, and the same names as probing each from 2 would give (2, 3, ... in entry order).
    #[test]
    fn repeated_ids_take_consecutive_numbers() {
        let (bases, _) = bases(&["same_name"; 300], &[], Style::Snake);
        let distinct: BTreeSet<&String> = bases.iter().collect();
        assert_eq!(distinct.len(), bases.len());
        let hash = fnv1a("same_name");
        assert_eq!(bases[0], "same_name");
        assert_eq!(bases[1], format!("same_name_{:04x}", hash & 0xffff));
        assert_eq!(bases[2], format!("same_name_{hash:08x}"));
        for (k, base) in bases[3..].iter().enumerate() {
            assert_eq!(*base, format!("same_name_{hash:08x}_{}", k + 2));
        }
    }

    #[test]
    fn collisions_resolve_the_same_way_in_any_input_order() {
        let names = ["Get_Thing", "GetThing", "get-thing", "GET_THING", "other"];
        let (first, warnings) = resolve(&names, &[], Style::Snake);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        let mut reversed = names;
        reversed.reverse();
        assert_eq!(resolve(&reversed, &[], Style::Snake).0, first);
        let mut rotated = names;
        rotated.rotate_left(2);
        assert_eq!(resolve(&rotated, &[], Style::Snake).0, first);
        // The best-ranked original keeps the name; the others get suffixes hashed from themselves.
        assert_eq!(first["GET_THING"], "get_thing");
        assert_eq!(first["other"], "other");
        let unique: BTreeSet<&String> = first.values().collect();
        assert_eq!(unique.len(), names.len());
        // A name's suffix does not depend on which other names collide with it.
        let (pair, _) = resolve(&["GetThing", "Get_Thing"], &[], Style::Snake);
        assert_eq!(pair["Get_Thing"], first["Get_Thing"]);
    }

    #[test]
    fn a_name_spelled_as_converted_wins() {
        let (named, _) = resolve(&["fooBar", "foo_bar"], &[], Style::Snake);
        assert_eq!(named["foo_bar"], "foo_bar");
        assert_ne!(named["fooBar"], "foo_bar");
        let (named, _) = resolve(&["a", "A", "a-b", "a_b", ""], &[], Style::Pascal);
        assert_eq!(named["A"], "A");
        assert!(named["a"].starts_with('A') && named["a"] != "A");
        assert_eq!(named[""], "Empty");
        let unique: BTreeSet<&String> = named.values().collect();
        assert_eq!(unique.len(), 5);
    }

    #[test]
    fn reserved_names_get_the_scope_suffix() {
        let (named, warnings) = resolve(&["New", "WithOptions", "GetThing"], &["new", "with_options"], Style::Snake);
        assert_eq!(named["New"], "new_rpc");
        assert_eq!(named["WithOptions"], "with_options_rpc");
        assert_eq!(named["GetThing"], "get_thing");
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].message.contains("generated code defines"), "{}", warnings[0]);
    }

    #[test]
    fn keyword_collisions_compare_identifiers() {
        // `self` and `self_` both finish as `self_`.
        let (named, _) = resolve(&["self", "self_", "type"], &[], Style::Snake);
        assert_eq!(named["self"], "self_");
        assert_ne!(named["self_"], "self_");
        assert_eq!(named["type"], "r#type");
    }
}
