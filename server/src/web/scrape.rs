//! `GET /metrics`: the metrics in the form the scraper's `Accept` header asks for, optionally
//! behind a bearer token (`Config::metrics_token`) and optionally on a listen address of its
//! own (`Config::metrics_listen`, served by [`metrics_router`]; the main router then has no
//! `/metrics`).

use super::api;
use crate::AppState;
use crate::config::Config;
use crate::error::AppError;
use crate::metrics::Format;
use axum::Router;
use axum::extract::State;
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, VARY, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// The server's metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "metrics",
    description = "The server's metrics. Prometheus text format (version 0.0.4) by default; \
        OpenMetrics 1.0.0 when the `Accept` header asks for `application/openmetrics-text`. \
        When the server is started with a metrics token (`--metrics-token` or \
        `VAKA_METRICS_TOKEN`) the request must carry it as `Authorization: Bearer <token>`; \
        when it is started with a metrics listen address (`--metrics-listen`) `/metrics` is \
        served only there. See docs/protocol.md for the metrics.",
    params(
        ("Accept" = Option<String>, Header, description = "`application/openmetrics-text` for OpenMetrics; anything else gives the Prometheus text format"),
        ("Authorization" = Option<String>, Header, description = "`Bearer <metrics token>`, needed only when the server has a metrics token"),
    ),
    responses(
        (status = 200, description = "The metrics", content(
            (String = "text/plain"),
            (String = "application/openmetrics-text"),
        )),
        (status = 401, description = "The server has a metrics token and the request did not carry it (`unauthorized`)", body = vaka_shared::sync::ApiError),
    )
)]
pub async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &app.config.metrics_token
        && !carries_token(&headers, token)
    {
        let mut refused = AppError::MetricsUnauthorized.into_response();
        refused
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return refused;
    }
    let format = Format::negotiate(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    match app.store.size_bytes().await {
        Ok(bytes) => app.metrics.sample(bytes),
        Err(e) => tracing::warn!(error = %e, "the database's size is not known"),
    }
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (VARY, HeaderValue::from_static("accept")),
        ],
        app.metrics.render(format),
    )
        .into_response()
}

/// Whether the request's `Authorization` header is `Bearer <token>`. Both sides are hashed
/// and the hashes compared without stopping at the first difference, so the time taken tells
/// nothing about the token.
fn carries_token(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let (given, expected) = (Sha256::digest(given), Sha256::digest(token));
    let difference = given
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// The `/metrics` route of the main router: none when the metrics have a listen address of
/// their own.
pub(super) fn main_routes(config: &Config) -> Router<AppState> {
    if config.metrics_listen.is_some() {
        Router::new()
    } else {
        Router::new().route("/metrics", get(metrics))
    }
}

/// The small router served on `Config::metrics_listen`: `/metrics` only, counted and timed like
/// the main router's answers.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(api::not_found)
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::carries_token;
    use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
    use rstest::rstest;

    #[rstest]
    #[case(None, false)]
    #[case(Some("Bearer s3cret-token"), true)]
    #[case(Some("Bearer s3cret-toke"), false)]
    #[case(Some("Bearer s3cret-token2"), false)]
    #[case(Some("bearer s3cret-token"), false)]
    #[case(Some("s3cret-token"), false)]
    #[case(Some("Bearer "), false)]
    fn only_the_exact_bearer_token_passes(#[case] header: Option<&str>, #[case] passes: bool) {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert(
                AUTHORIZATION,
                HeaderValue::from_str(h).expect("a header value"),
            );
        }
        assert_eq!(carries_token(&headers, "s3cret-token"), passes);
    }
}
