//! Hand-written runtime of the generated Gitpod API crate.
//!
//! The generator emits thin code (messages, one client method per RPC, a server trait and its
//! route registration); everything that talks to the network or implements a wire rule is here:
//!
//! - [`wire`]: ProtoJSON encodings (int64 as strings, bytes as base64, Timestamp, Duration,
//!   `null` as default) as [`serde_with`] adapters; [`enums`]: open enums. Always available.
//! - [`Code`], [`ConnectError`], [`Error`]: the Connect error model. Always available.
//! - `client` (feature `client`): a Connect JSON [`client::Transport`] over reqwest + rustls with
//!   timeouts, retries and pagination.
//! - `server` (feature `server`): a [`server::ConnectRouter`] on axum that serves Connect JSON.
//! - `stream` (with either feature): the two framings of server-streaming methods (JSONL as the
//!   SDKs read it, Connect envelopes); [`client::ResponseStream`] and [`server::MessageStream`]
//!   are the two ends.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(any(feature = "client", feature = "server"))]
mod decode;
pub mod enums;
pub mod error;
mod redact;
#[cfg(any(feature = "client", feature = "server"))]
pub mod stream;
pub mod testing;
pub mod wire;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;

pub use enums::{ProtoEnum, UnknownEnumValue};
pub use error::{Code, ConnectError, Error};
pub use redact::{Redacted, RedactedValue};

/// A point in time in UTC (ProtoJSON `google.protobuf.Timestamp`), encoded by [`wire::Timestamp`].
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Re-export so generated code can write `#[::gitpod_runtime::serde_with::serde_as]`.
pub use serde_with;

/// The stream trait `*_stream` client methods return.
pub use futures_core::Stream;

/// Re-export of `chrono` so users can build [`Timestamp`] values without a direct dependency.
pub use chrono;
