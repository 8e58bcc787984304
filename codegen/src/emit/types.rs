//! Messages and enums → `src/types.rs` (re-exports) and one file per module in `src/types/`.

use super::docs::doc_attrs;
use super::names::{self, Names, UNDOCUMENTED_FIELD, UNKNOWN_VARIANT};
use super::secrets::is_secret_field;
use super::{moved, str_lit, Moved};
use crate::model::{Enum, Field, Message, Model, Type};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::collections::{BTreeMap, BTreeSet};

/// How one model type is spelled in Rust and on the wire.
struct RustType {
    /// The Rust type of the value, without `Option`.
    ty: TokenStream,
    /// The `serde_with` adapter for it, when the plain serde encoding is not ProtoJSON's.
    adapter: Option<String>,
}

/// Lookup tables the emitter needs about the model, computed once.
pub struct TypeIndex<'m> {
    /// Every identifier the emitter writes (the naming pass).
    pub names: Names,
    messages: BTreeMap<&'m str, &'m Message>,
    enums: BTreeMap<&'m str, &'m Enum>,
    /// Message fields that must be boxed to break a cycle: (message, field wire name).
    boxed: BTreeSet<(&'m str, &'m str)>,
    /// Where each message or enum is used, for docs: `request of /S/M`, `Runner.spec`.
    uses: BTreeMap<String, Vec<String>>,
}

impl<'m> TypeIndex<'m> {
    pub fn new(model: &'m Model, crate_name: &str) -> Self {
        let messages: BTreeMap<&str, &Message> = model.messages.iter().map(|m| (m.name.as_str(), m)).collect();
        let boxed = cyclic_fields(&messages);
        let enums = model.enums.iter().map(|e| (e.name.as_str(), e)).collect();
        TypeIndex { names: Names::new(model, crate_name), messages, enums, boxed, uses: uses(model) }
    }

    /// Where `name` is used (method roles first, then fields), for a type the reference gives no doc.
    pub fn uses(&self, name: &str) -> &[String] {
        self.uses.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn message(&self, name: &str) -> Option<&'m Message> {
        self.messages.get(name).copied()
    }

    /// The documented values of enum `name`.
    pub fn enum_values(&self, name: &str) -> Option<&'m [String]> {
        self.enums.get(name).map(|e| e.values.as_slice())
    }

    /// Whether `message.field` (wire name) is boxed to break a cycle.
    pub fn is_boxed(&self, message: &str, field: &str) -> bool {
        self.boxed.contains(&(message, field))
    }
}

fn uses(model: &Model) -> BTreeMap<String, Vec<String>> {
    let mut uses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for method in model.services.iter().flat_map(|s| &s.methods) {
        uses.entry(method.request.clone()).or_default().push(format!("the request of `{}`", method.path));
        uses.entry(method.response.clone()).or_default().push(format!("the response of `{}`", method.path));
    }
    fn named(ty: &Type) -> Option<&str> {
        match ty {
            Type::Message { name } | Type::Enum { name } => Some(name),
            Type::List { item: inner } | Type::Map { value: inner } => named(inner),
            _ => None,
        }
    }
    for message in &model.messages {
        for field in &message.fields {
            if let Some(name) = named(&field.ty) {
                uses.entry(name.to_string()).or_default().push(format!("`{}.{}`", message.name, field.name));
            }
        }
    }
    uses
}

/// "Used as ..." for a type the reference documents nowhere but where it is used.
fn usage_doc(kind: &str, name: &str, index: &TypeIndex) -> String {
    const SHOWN: usize = 3;
    let uses = index.uses(name);
    if uses.is_empty() {
        return format!("The `{name}` {kind}.");
    }
    let mut list = uses.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if uses.len() > SHOWN {
        list.push_str(&format!(" and {} more", uses.len() - SHOWN));
    }
    let first = list.remove(0).to_uppercase().collect::<String>();
    if list.starts_with("he request") || list.starts_with("he response") {
        format!("{first}{list}.")
    } else {
        format!("The `{name}` {kind}, used by {first}{list}.")
    }
}

/// Finds message-typed (non-list) fields through which a message reaches itself; those get a `Box`.
fn cyclic_fields<'m>(messages: &BTreeMap<&str, &'m Message>) -> BTreeSet<(&'m str, &'m str)> {
    fn reaches(from: &str, target: &str, messages: &BTreeMap<&str, &Message>, seen: &mut BTreeSet<String>) -> bool {
        if !seen.insert(from.to_string()) {
            return false;
        }
        let Some(message) = messages.get(from) else { return false };
        message.fields.iter().any(|f| match &f.ty {
            Type::Message { name } => name == target || reaches(name, target, messages, seen),
            _ => false,
        })
    }
    let mut boxed = BTreeSet::new();
    for message in messages.values() {
        for field in &message.fields {
            if let Type::Message { name } = &field.ty {
                if name == &message.name || reaches(name, &message.name, messages, &mut BTreeSet::new()) {
                    boxed.insert((message.name.as_str(), field.name.as_str()));
                }
            }
        }
    }
    boxed
}

fn rust_type(ty: &Type, names: &Names) -> RustType {
    let plain = |ty: TokenStream| RustType { ty, adapter: None };
    let adapted = |ty: TokenStream, adapter: &str| RustType { ty, adapter: Some(adapter.to_string()) };
    match ty {
        Type::String => plain(quote!(String)),
        Type::Bool => plain(quote!(bool)),
        // The pages say `int` for int32 and uint32 alike: an i64 holds every value of either.
        Type::Int32 => adapted(quote!(i64), "::gitpod_runtime::wire::Int32Wide"),
        Type::Uint32 => adapted(quote!(u32), "::gitpod_runtime::wire::Number"),
        Type::Float => adapted(quote!(f32), "::gitpod_runtime::wire::Number"),
        Type::Double => adapted(quote!(f64), "::gitpod_runtime::wire::Number"),
        Type::Int64 => adapted(quote!(i64), "::gitpod_runtime::wire::Int64"),
        Type::Uint64 => adapted(quote!(u64), "::gitpod_runtime::wire::Uint64"),
        Type::Bytes => adapted(quote!(Vec<u8>), "::gitpod_runtime::wire::Bytes"),
        Type::Timestamp => adapted(quote!(::gitpod_runtime::Timestamp), "::gitpod_runtime::wire::Timestamp"),
        Type::Duration => adapted(quote!(::std::time::Duration), "::gitpod_runtime::wire::Duration"),
        Type::Any => plain(quote!(::serde_json::Value)),
        Type::Message { name } | Type::Enum { name } => {
            let id = names.type_ident(name);
            plain(quote!(#id))
        }
        Type::List { item } => {
            let inner = rust_type(item, names);
            let ty = moved(inner.ty);
            RustType { ty: quote!(Vec<#ty>), adapter: inner.adapter.map(|a| format!("Vec<{a}>")) }
        }
        Type::Map { value } => {
            let inner = rust_type(value, names);
            let ty = moved(inner.ty);
            RustType {
                ty: quote!(::std::collections::BTreeMap<String, #ty>),
                adapter: inner.adapter.map(|a| format!("::std::collections::BTreeMap<::serde_with::Same, {a}>")),
            }
        }
    }
}

/// The module of `src/types/` every message and enum goes to: the service whose methods alone use it
/// (`runner_service`), else the resource of the methods that use it (`runners`, from `runners.policies`), else
/// `shared` (methods of several resources, or none). A change to one service's pages so changes that
/// service's or resource's file, and a reviewer reads one part of the API at a time.
pub fn type_modules(model: &Model, names: &Names) -> BTreeMap<String, String> {
    fn named(ty: &Type) -> Option<&str> {
        match ty {
            Type::Message { name } | Type::Enum { name } => Some(name),
            Type::List { item: inner } | Type::Map { value: inner } => named(inner),
            _ => None,
        }
    }
    // A module file needs a plain name: a keyword gets a trailing `_` rather than `r#`.
    let plain = |name: &str| {
        let id = names::to_ident(name, names::Style::Snake).to_string();
        id.strip_prefix("r#").map(|k| format!("{k}_")).unwrap_or(id)
    };
    let messages: BTreeMap<&str, &Message> = model.messages.iter().map(|m| (m.name.as_str(), m)).collect();
    // For every type: the services and the resources whose methods reach it.
    let mut users: BTreeMap<&str, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut resources: BTreeMap<&str, String> = BTreeMap::new();
    for (service, service_names) in model.services.iter().zip(&names.services) {
        let module = service_names.module.to_string();
        for method in &service.methods {
            let resource = method.resource.split('.').next().filter(|r| !r.is_empty()).unwrap_or("shared");
            // Named once per resource, not once per method.
            let resource = resources.entry(resource).or_insert_with(|| plain(resource)).clone();
            let mut todo = vec![method.request.as_str(), method.response.as_str()];
            let mut seen = BTreeSet::new();
            while let Some(name) = todo.pop() {
                if !seen.insert(name) {
                    continue;
                }
                let entry = users.entry(name).or_default();
                entry.0.insert(module.clone());
                entry.1.insert(resource.clone());
                if let Some(message) = messages.get(name) {
                    todo.extend(message.fields.iter().filter_map(|f| named(&f.ty)));
                }
            }
        }
    }
    let all = model.messages.iter().map(|m| &m.name).chain(model.enums.iter().map(|e| &e.name));
    all.map(|name| {
        let module = match users.get(name.as_str()) {
            Some((services, _)) if services.len() == 1 => plain(services.first().map_or("", String::as_str)),
            Some((_, resources)) if resources.len() == 1 => resources.first().cloned().unwrap_or_default(),
            _ => "shared".to_string(),
        };
        (name.clone(), module)
    })
    .collect()
}

/// `src/types.rs` (the modules, re-exported flat so `types::Runner` names every type) and one file per module.
/// One file of `src/types/`: its module name and the messages and enums it holds, in model order.
pub struct TypeModule<'a> {
    pub module: String,
    messages: Vec<&'a Message>,
    enums: Vec<&'a Enum>,
}

/// Which module of `src/types/` each message and enum goes to, and the root `src/types.rs` that declares and
/// re-exports them. The modules' code is emitted one at a time ([`emit_type_module`]), so each file is
/// formatted while its tokens are still in the cache and no more than one file's tokens are held at once.
pub fn plan_types<'a>(model: &'a Model, index: &TypeIndex) -> (TokenStream, Vec<TypeModule<'a>>) {
    let modules = type_modules(model, &index.names);
    let mut plan: BTreeMap<&str, TypeModule<'a>> = BTreeMap::new();
    let new = |module: &str| TypeModule { module: module.to_string(), messages: vec![], enums: vec![] };
    for m in &model.messages {
        let module = modules[&m.name].as_str();
        plan.entry(module).or_insert_with(|| new(module)).messages.push(m);
    }
    for e in &model.enums {
        let module = modules[&e.name].as_str();
        plan.entry(module).or_insert_with(|| new(module)).enums.push(e);
    }
    let idents: Vec<proc_macro2::Ident> = plan.keys().map(|m| format_ident!("{}", m)).collect();
    let docs = plan.keys().map(|m| format!("`{m}`"));
    let module_docs: Vec<proc_macro2::Literal> = docs.map(|d| str_lit(&format!("The types of {d}."))).collect();
    let root = quote! {
        //! Every message and enum of the API, all re-exported here: one module per service for the types only
        //! its methods use, one per resource for the types several of its services use, and `shared`.

        #(
            #[doc = #module_docs]
            pub mod #idents;
            pub use #idents::*;
        )*
    };
    (root, plan.into_values().collect())
}

/// The code of one file of `src/types/`.
pub fn emit_type_module(types: &TypeModule, index: &TypeIndex) -> TokenStream {
    let doc = if types.module == "shared" {
        "The messages and enums that methods of several resources use (or none), sorted by name.".to_string()
    } else {
        format!("The messages and enums of `{}` alone, sorted by name.", types.module)
    };
    let doc = str_lit(&doc);
    let mut tokens = quote! {
        #![doc = #doc]
        #![allow(deprecated)]

        #[allow(unused_imports)]
        use super::*;
    };
    // Moved in, not interpolated: `quote!` would copy every item's tokens.
    tokens.extend(types.messages.iter().map(|m| emit_message(m, index)));
    tokens.extend(types.enums.iter().map(|e| emit_enum(e, index)));
    tokens
}

fn emit_message(message: &Message, index: &TypeIndex) -> TokenStream {
    let name = index.names.type_ident(&message.name);
    let mut doc = message.doc.trim().to_string();
    if doc.is_empty() {
        doc = usage_doc("message", &message.name, index);
    }
    if !message.aliases.is_empty() {
        let aliases: Vec<String> = message.aliases.iter().map(|a| format!("`{a}`")).collect();
        doc.push_str(&format!("\n\nThe reference also calls this {}.", aliases.join(", ")));
    }
    // The docs, fields and impl are moved into the struct's code (`moved`), not copied.
    let docs = moved(doc_attrs(&doc));
    let rust_names = index.names.fields(&message.name);
    let wire_names: BTreeSet<&str> = message.fields.iter().map(|f| f.name.as_str()).collect();
    let mut needs_serde_as = false;
    let fields: Vec<Moved> = message
        .fields
        .iter()
        .zip(rust_names)
        .map(|(field, rust_name)| {
            let boxed = index.is_boxed(&message.name, &field.name);
            let (tokens, uses_adapter) = emit_field(field, rust_name, boxed, &wire_names, &index.names);
            needs_serde_as |= uses_adapter;
            moved(tokens)
        })
        .collect();
    let undocumented = moved(emit_undocumented_field(message));
    // Secrets, and the values of undocumented fields (which may be secrets), stay out of `Debug`.
    let has_secret =
        message.fields.iter().any(|f| is_secret_field(&message.name, f)) || !message.undocumented_fields.is_empty();
    let derive_debug = if has_secret { quote!() } else { quote!(Debug,) };
    let serde_as = if needs_serde_as { quote!(#[::serde_with::serde_as]) } else { quote!() };
    let has_option = message.fields.iter().any(|f| f.optional && !matches!(f.ty, Type::List { .. } | Type::Map { .. }));
    let skip_none = if has_option { quote!(#[::serde_with::skip_serializing_none]) } else { quote!() };
    let debug_impl = moved(if has_secret { emit_redacted_debug(message, &name, rust_names) } else { quote!() });
    quote! {
        #docs
        #serde_as
        #skip_none
        #[derive(#derive_debug Clone, PartialEq, Default, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(default, rename_all = "camelCase")]
        pub struct #name {
            #( #fields )*
            #undocumented
        }
        #debug_impl
    }
}

/// Returns the field tokens and whether they use a `serde_as` adapter.
fn emit_field(
    field: &Field,
    id: &proc_macro2::Ident,
    boxed: bool,
    wire_names: &BTreeSet<&str>,
    names: &Names,
) -> (TokenStream, bool) {
    let wire = &field.name;
    let RustType { ty, adapter } = rust_type(&field.ty, names);
    let ty = if boxed {
        let ty = moved(ty);
        quote!(Box<#ty>)
    } else {
        ty
    };
    let is_list = matches!(field.ty, Type::List { .. } | Type::Map { .. });
    let is_message = matches!(field.ty, Type::Message { .. });
    let optional = field.optional && !is_list;

    let mut serde_args = Vec::new();
    // The struct says `rename_all = "camelCase"`; only names that rule does not produce are spelled out.
    if names::serde_camel_case(&id.to_string()) != *wire {
        let wire = str_lit(wire);
        serde_args.push(quote!(rename = #wire));
    }
    // The snake_case alias is accepted on input unless another field owns that wire name.
    if field.proto_name != *wire && !field.proto_name.is_empty() && !wire_names.contains(field.proto_name.as_str()) {
        let alias = str_lit(&field.proto_name);
        serde_args.push(quote!(alias = #alias));
    }
    // ProtoJSON omits unset fields; `null` means unset, so non-optional fields read null as default.
    // (`skip_serializing_none` on the struct omits unset options.)
    let (full_ty, skip, as_adapter) = if optional {
        let ty = moved(ty);
        (quote!(Option<#ty>), String::new(), adapter.map(|a| format!("Option<{a}>")))
    } else if is_list {
        let skip = if matches!(field.ty, Type::Map { .. }) {
            "::std::collections::BTreeMap::is_empty"
        } else {
            "Vec::is_empty"
        };
        (ty, skip.to_string(), Some(default_on_null(adapter)))
    } else if is_message {
        // A required message is always written, as the reference shows it.
        (ty, String::new(), Some("::gitpod_runtime::wire::NullAsDefault".to_string()))
    } else {
        (ty, "::gitpod_runtime::wire::is_default".to_string(), Some(default_on_null(adapter)))
    };
    if !skip.is_empty() {
        let skip = str_lit(&skip);
        serde_args.push(quote!(skip_serializing_if = #skip));
    }
    let serde_attr = if serde_args.is_empty() { quote!() } else { quote!(#[serde(#(#serde_args),*)]) };
    let uses_adapter = as_adapter.is_some();
    let as_attr = match as_adapter {
        Some(a) => {
            let a = str_lit(&a);
            quote!(#[serde_as(as = #a)])
        }
        None => quote!(),
    };
    let mut doc = field.doc.trim().to_string();
    if doc.is_empty() {
        doc = format!("`{wire}`");
    }
    if field.required_marker {
        doc.push_str("\n\nThe server requires this field.");
    }
    let (docs, full_ty) = (moved(doc_attrs(&doc)), moved(full_ty));
    let deprecated = if field.deprecated { quote!(#[deprecated]) } else { quote!() };
    (
        quote! {
            #docs
            #deprecated
            #as_attr
            #serde_attr
            pub #id: #full_ty,
        },
        uses_adapter,
    )
}

/// The runtime's `NullAsDefault` (ProtoJSON: `null` means unset) around an adapter, or around the plain encoding.
fn default_on_null(adapter: Option<String>) -> String {
    match adapter {
        Some(a) => format!("::gitpod_runtime::wire::NullAsDefault<{a}>"),
        None => "::gitpod_runtime::wire::NullAsDefault".to_string(),
    }
}

/// Messages whose JSON examples show fields the reference does not describe keep every field they
/// do not know, so a read-modify-write round trip does not drop what the server sent.
fn emit_undocumented_field(message: &Message) -> TokenStream {
    if message.undocumented_fields.is_empty() {
        return quote!();
    }
    let seen: Vec<String> = message.undocumented_fields.iter().map(|f| format!("`{f}`")).collect();
    let doc = doc_attrs(&format!(
        "Fields the server sends that the reference does not describe (its examples show {}), kept (proto \
         names such as `continuous_profiling` normalized to JSON names) so that sending this message back \
         does not lose them.",
        seen.join(", ")
    ));
    let undocumented = format_ident!("{}", UNDOCUMENTED_FIELD);
    quote! {
        #doc
        #[serde(flatten, deserialize_with = "::gitpod_runtime::wire::json_names::deserialize")]
        pub #undocumented: ::std::collections::BTreeMap<String, ::serde_json::Value>,
    }
}

fn emit_redacted_debug(message: &Message, name: &proc_macro2::Ident, rust_names: &[proc_macro2::Ident]) -> TokenStream {
    let name_str = str_lit(&name.to_string());
    let undocumented = if message.undocumented_fields.is_empty() {
        quote!()
    } else {
        // Only the keys: the values are unknown to the reference, so they may well be secrets.
        quote!(.field("undocumented", &self.undocumented.keys().collect::<Vec<_>>()))
    };
    let fields = message.fields.iter().zip(rust_names).map(|(field, id)| {
        // As `derive(Debug)` writes it: the field's name without a raw prefix.
        let label = str_lit(id.to_string().trim_start_matches("r#"));
        if is_secret_field(&message.name, field) {
            quote!(.field(#label, &::gitpod_runtime::Redacted(&self.#id)))
        } else {
            quote!(.field(#label, &self.#id))
        }
    });
    quote! {
        impl ::std::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(#name_str)
                    #( #fields )*
                    #undocumented
                    .finish()
            }
        }
    }
}

fn emit_enum(e: &Enum, index: &TypeIndex) -> TokenStream {
    let name = index.names.type_ident(&e.name);
    let doc = if e.doc.trim().is_empty() { usage_doc("enum", &e.name, index) } else { e.doc.clone() };
    let docs = moved(doc_attrs(&doc));
    let variants = index.names.variants(&e.name);
    // Each wire name is spelled three times: one literal, cloned.
    let wire: Vec<proc_macro2::Literal> = e.values.iter().map(|v| str_lit(v)).collect();
    let name_str = str_lit(&name.to_string());
    let unknown = format_ident!("{}", UNKNOWN_VARIANT);
    let indices = (0..variants.len()).map(proc_macro2::Literal::usize_unsuffixed);
    let variant_defs = variants.iter().zip(&e.values).enumerate().map(|(i, (v, w))| {
        let doc =
            moved(doc_attrs(&if w.is_empty() { "`\"\"` (the empty string)".to_string() } else { format!("`{w}`") }));
        let default = if i == 0 { quote!(#[default]) } else { quote!() };
        moved(quote!(#doc #default #v,))
    });
    quote! {
        #docs
        ///
        /// Open: values this crate does not know are kept in `Unrecognized` and sent back unchanged.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum #name {
            #( #variant_defs )*
            /// A value this version of the crate does not know, kept as received.
            #unknown(String),
        }

        impl #name {
            /// The wire name of the value.
            pub fn as_str(&self) -> &str {
                ::gitpod_runtime::ProtoEnum::name(self)
            }
        }

        /// The value table (the position is the number); lookups by name and position, and the
        /// name of a value, are `match`es.
        impl ::gitpod_runtime::ProtoEnum for #name {
            const VALUES: &'static [(Self, &'static str)] = &[
                #( (Self::#variants, #wire), )*
            ];

            fn index(&self) -> Option<usize> {
                match self {
                    #( Self::#variants => Some(#indices), )*
                    Self::#unknown(_) => None,
                }
            }

            #[allow(unreachable_patterns)]
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    #( #wire => Some(Self::#variants), )*
                    _ => None,
                }
            }

            fn name(&self) -> &str {
                match self {
                    #( Self::#variants => #wire, )*
                    Self::#unknown(raw) => raw,
                }
            }

            fn unrecognized(raw: String) -> Self {
                Self::#unknown(raw)
            }

            fn as_unrecognized(&self) -> Option<&str> {
                match self {
                    Self::#unknown(raw) => Some(raw),
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for #name {
            type Err = ::gitpod_runtime::UnknownEnumValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as ::gitpod_runtime::ProtoEnum>::from_name(s)
                    .ok_or_else(|| ::gitpod_runtime::UnknownEnumValue::new(#name_str, s))
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                ::gitpod_runtime::enums::serialize(self, serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                ::gitpod_runtime::enums::deserialize(deserializer)
            }
        }
    }
}
