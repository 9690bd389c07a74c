//! The HTTP surface: the JSON API under `/api/v1`, `/healthz`, `/metrics` and the OpenAPI
//! document. Only this module (and `error`) knows axum.

mod api;
mod auth;
mod blobs;
pub mod door;
pub mod observe;
mod scrape;
mod zstd_json;

use crate::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use tower::limit::ConcurrencyLimitLayer;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

pub use api::ApiDoc;
pub use scrape::metrics_router;

/// The whole application's routes.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route("/", get(api::index))
        .route("/api/v1/enroll", post(api::enroll))
        // A bounded number of syncs at once: beyond it requests wait before their bodies are
        // read, so a crowd of devices costs queueing time, not memory.
        .route(
            "/api/v1/sync",
            post(api::sync).layer(ConcurrencyLimitLayer::new(
                state.config.max_concurrent_syncs,
            )),
        )
        .route("/api/v1/device/retired", post(api::retired))
        .route("/api/v1/areas", get(api::areas))
        .route(
            "/api/v1/blobs/{sha256}",
            get(blobs::status).merge(put(blobs::put_chunk)),
        )
        .route("/api/v1/blobs/{sha256}/content", get(blobs::content))
        .route("/api/openapi.json", get(api::openapi))
        .route("/healthz", get(api::healthz))
        .merge(scrape::main_routes(&state.config))
        .merge(crate::dashboard::router())
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn(api::json_errors))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
