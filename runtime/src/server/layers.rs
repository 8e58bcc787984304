//! User tower layers around the router ([`ConnectRouter::layer`]) and the request decoding
//! shared by the typed routes (enum strictness).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::Route;
use serde::de::DeserializeOwned;
use tower::{Layer, Service};

use super::{ConnectRouter, RequestContext};
use crate::error::ConnectError;

/// A layer kept until [`ConnectRouter::into_axum`] applies it.
pub(super) type LayerFn = Arc<dyn Fn(axum::Router) -> axum::Router + Send + Sync>;

impl ConnectRouter {
    /// Wraps every route (unknown procedures included) in a tower layer, as
    /// [`axum::Router::layer`] does: `tower-http`'s CORS, request ids, tracing, a concurrency
    /// limit, ... Layers run outside the Connect handling (auth, body limits, decoding), the last
    /// one added outermost. Equivalent to `router.into_axum().layer(layer)`, but keeps the
    /// `ConnectRouter` open for more routes.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.layers.push(Arc::new(move |router: axum::Router| router.layer(layer.clone())));
        self
    }
}

/// Decodes a request for a typed route: unknown enum names become `Unrecognized` unless the
/// router's [`super::ServerConfig::strict_enums`] is set, then they are `invalid_argument`.
pub(super) fn decode_request<Req: DeserializeOwned>(ctx: &RequestContext, body: &[u8]) -> Result<Req, ConnectError> {
    let decode = || crate::decode::decode_json::<Req>(body);
    let r = if ctx.strict_enums { crate::enums::with_strict(decode) } else { decode() };
    r.map_err(|m| ConnectError::invalid_argument(format!("invalid request: {m}")))
}
