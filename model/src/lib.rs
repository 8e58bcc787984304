//! The intermediate model: plain data that the parser produces and the emitter reads.
//!
//! Everything here is serde-serializable so `cargo xtask model` can dump it and insta can snapshot it.
//! The emitter must treat a [`Model`] as read-only. Collections are kept in a deterministic order
//! (services and methods sorted by name, messages and enums sorted by name)
//! so that output does not depend on page order. The model holds no source positions, so it does not change
//! when a page's whitespace changes; positions live in diagnostics. Keys missing from a serialized model
//! read as defaults, so regen can still compare against a model written by an older generator.

use serde::{Deserialize, Serialize};

/// The whole API: every service, message and enum the reference pages describe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Model {
    pub services: Vec<Service>,
    /// Sorted by `name`.
    pub messages: Vec<Message>,
    /// Sorted by `name`.
    pub enums: Vec<Enum>,
}

/// A Connect service, e.g. `gitpod.v1.RunnerService`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    /// Fully qualified protobuf name: `gitpod.v1.RunnerService`.
    pub name: String,
    /// Last segment of `name`: `RunnerService`.
    pub short_name: String,
    pub methods: Vec<Method>,
}

/// One unary RPC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Method {
    /// RPC name as in the path: `ListRunnerPolicies`.
    pub name: String,
    /// Procedure path: `/gitpod.v1.RunnerService/ListRunnerPolicies`.
    pub path: String,
    /// Resource the docs list the method under, dotted: `runners.policies`.
    pub resource: String,
    /// Python SDK method name when the docs give it (`create`, `retrieve`, `list`), else `None`.
    pub sdk_name: Option<String>,
    /// Cleaned Markdown description.
    pub doc: String,
    /// Name of the request message (body fields only), always `{Rpc}Request`.
    pub request: String,
    /// Name of the response message, always `{Rpc}Response`.
    pub response: String,
    /// Query-string parameters (list methods: `token`, `pageSize`).
    pub query: Vec<Field>,
    pub pagination: Option<Pagination>,
    /// Whether the server answers with one message or a stream of them.
    pub streaming: Streaming,
    pub deprecated: bool,
    /// Whether sending the request twice has the effect of sending it once, so a client may retry
    /// it after a timeout or a server error. The reference does not say; every RPC except the
    /// `Create*` ones (which make a new resource with a server-chosen id each time) is.
    pub idempotent: bool,
    /// The names the docs themselves use (`PolicyCreateParams`, `PolicyCreateResponse`).
    pub doc_aliases: DocAliases,
    pub examples: Examples,
}

/// How many messages a method answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Streaming {
    /// One response message (Connect unary).
    #[default]
    Unary,
    /// A stream of response messages (`-> JSONLDecoder[X]` in the Python dialect).
    Server,
}

/// The docs' own names for a method's request and response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocAliases {
    pub request: Option<String>,
    pub response: Option<String>,
}

/// How a list method pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pagination {
    /// Wire name of the repeated items field in the response: `policies`.
    pub items: String,
    /// Message name of one item: `RunnerPolicy`.
    pub item_type: String,
    /// Path of the next-page token in the response: `pagination.nextToken`.
    pub next_token: String,
}

/// The examples the reference gives for a method, kept verbatim for later use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Examples {
    /// YAML request examples, with their titles (`Create admin policy: Grants admin access to a group.`).
    pub requests: Vec<RequestExample>,
    /// The Python SDK call (`client.runners.policies.create(...)`), extracted from the code block.
    pub python: Option<String>,
    /// The JSON response example, as written.
    pub response: Option<String>,
    /// The Python call's keyword arguments read against the request type, as a JSON request value.
    pub python_args: Option<serde_json::Value>,
}

/// One YAML request example.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestExample {
    pub title: String,
    pub yaml: String,
    /// The YAML read against the request type, as a JSON request value (`None` if it does not fit).
    pub value: Option<serde_json::Value>,
}

/// A message (struct).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    /// Unique Rust-ready PascalCase name (scoped when two different types share a doc name).
    pub name: String,
    pub doc: String,
    pub fields: Vec<Field>,
    /// Other names the docs use for this same message (`PolicyCreateParams`, `RunnerSpecParam`).
    pub aliases: Vec<String>,
    /// Fields seen in JSON examples that the reference does not describe (wire names).
    pub undocumented_fields: Vec<String>,
}

/// A message field or a query parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Wire name, lowerCamelCase exactly as the JSON examples spell it: `supportsOauth2`.
    pub name: String,
    /// snake_case name as the Python docs spell it: `supports_oauth2`.
    pub proto_name: String,
    #[serde(rename = "type")]
    pub ty: Type,
    pub optional: bool,
    pub doc: String,
    pub deprecated: bool,
    /// The description carries `+required` although the type is optional.
    pub required_marker: bool,
}

impl Field {
    /// An optional field without docs, the way most fields of the reference read (`Optional[...]`).
    pub fn optional(name: &str, proto_name: &str, ty: Type) -> Self {
        Field {
            name: name.to_string(),
            proto_name: proto_name.to_string(),
            ty,
            optional: true,
            doc: String::new(),
            deprecated: false,
            required_marker: false,
        }
    }
}

/// The type system every dialect is mapped to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Type {
    String,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Float,
    Double,
    /// base64 on the wire.
    Bytes,
    /// RFC 3339 string on the wire.
    Timestamp,
    /// `"1.5s"` on the wire.
    Duration,
    /// Untyped JSON (`object`, `unknown`).
    Any,
    Message {
        name: String,
    },
    Enum {
        name: String,
    },
    List {
        item: Box<Type>,
    },
    Map {
        value: Box<Type>,
    },
}

/// An enum with its values in documented order (the first is the `*_UNSPECIFIED` default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Enum {
    pub name: String,
    pub doc: String,
    pub values: Vec<String>,
}
