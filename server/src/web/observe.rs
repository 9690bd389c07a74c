//! The outermost layer of the routers (put on by `web::door::serve`, outside the door's own
//! checks): counts every answer by endpoint and status code and
//! times it, so requests refused before a handler runs (a bad token, an unreadable or too large
//! body, a wrong content type, an unknown path, a limit) are counted like any other.
//!
//! The endpoint label is bounded: the matched route template for the API and the service
//! routes (`/api/v1/sync`, `/api/v1/blobs/{sha256}`, `/healthz`), a page group for the
//! dashboard (`inbox`, `entry`, `report`, `export`, `people`, `areas`, `login`, `static`), and
//! `other` for a path no route matched. A raw path never becomes a label.

use crate::metrics::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::time::Instant;

/// The middleware: `web::door::serve` puts it on with
/// `axum::middleware::from_fn_with_state(metrics, observe::observe)` as the last layer.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = endpoint(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    )
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe_http(&endpoint, response.status().as_u16(), started.elapsed());
    response
}

/// The label of a request whose matched route template is `template` (none: no route matched).
pub fn endpoint(template: Option<&str>) -> &str {
    let Some(template) = template else {
        return "other";
    };
    match template {
        "/login" | "/logout" | "/lang" => "login",
        "/inbox" => "inbox",
        "/people" => "people",
        "/areas" => "areas",
        "/report" => "report",
        "/report.pdf" | "/report.csv" | "/report.geojson" => "export",
        "/dashboard.css" => "static",
        t if t.starts_with("/entries/")
            || t.starts_with("/conflicts/")
            || t.starts_with("/photos/") =>
        {
            "entry"
        }
        t if t.starts_with("/people/") || t.starts_with("/devices/") => "people",
        t if t.starts_with("/report/") => "report",
        t if t.starts_with("/areas/") => "areas",
        // The API and service routes: their templates are few and fixed.
        t => t,
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint;
    use rstest::rstest;

    #[rstest]
    #[case(None, "other")]
    #[case(Some("/api/v1/sync"), "/api/v1/sync")]
    #[case(Some("/api/v1/blobs/{sha256}"), "/api/v1/blobs/{sha256}")]
    #[case(
        Some("/api/v1/blobs/{sha256}/content"),
        "/api/v1/blobs/{sha256}/content"
    )]
    #[case(Some("/healthz"), "/healthz")]
    #[case(Some("/metrics"), "/metrics")]
    #[case(Some("/login"), "login")]
    #[case(Some("/logout"), "login")]
    #[case(Some("/lang"), "login")]
    #[case(Some("/inbox"), "inbox")]
    #[case(Some("/entries/{id}"), "entry")]
    #[case(Some("/entries/{id}/review"), "entry")]
    #[case(Some("/conflicts/{id}/settle"), "entry")]
    #[case(Some("/photos/{sha256}"), "entry")]
    #[case(Some("/people"), "people")]
    #[case(Some("/people/{member}/code"), "people")]
    #[case(Some("/devices/{id}/revoke"), "people")]
    #[case(Some("/areas"), "areas")]
    #[case(Some("/report"), "report")]
    #[case(Some("/report/summary"), "report")]
    #[case(Some("/report.pdf"), "export")]
    #[case(Some("/report.csv"), "export")]
    #[case(Some("/report.geojson"), "export")]
    #[case(Some("/dashboard.css"), "static")]
    fn routes_map_to_bounded_endpoint_labels(#[case] template: Option<&str>, #[case] label: &str) {
        assert_eq!(endpoint(template), label);
    }
}
