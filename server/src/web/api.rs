//! Handlers of the JSON API: enrolment, sync, health and the OpenAPI document.

use super::auth::DeviceAuth;
use super::zstd_json;
use crate::error::AppError;
use crate::store::accounts;
use crate::store::push::PushCounts;
use crate::sync::{PushLimits, RawPullPage};
use crate::{AppState, now_ms};
use axum::Json;
use axum::extract::{FromRequest, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use std::time::Instant;
use utoipa::OpenApi;
use vaka_shared::sync::{
    ApiError, AreaInfo, AreasResponse, EnrollRequest, EnrollResponse, Health, PushResult,
    SyncRequest, SyncResponse,
};

/// JSON in and out, with body errors turned into [`AppError`].
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// The OpenAPI document of the API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Vaka sync API",
        description = "Sync, enrolment, photos and health of the Vaka server. See docs/protocol.md."
    ),
    paths(
        enroll,
        sync,
        retired,
        areas,
        healthz,
        super::scrape::metrics,
        super::blobs::put_chunk,
        super::blobs::status,
        super::blobs::content
    ),
    components(schemas(
        ApiError,
        SyncResponse,
        AreasResponse,
        vaka_shared::op::Op,
        vaka_shared::sync::ServerOp,
        vaka_shared::model::PatrolFields,
        vaka_shared::model::TrackSegmentFields,
        vaka_shared::model::IncidentFields,
        vaka_shared::model::ObservationFields,
        vaka_shared::model::CommentFields,
        vaka_shared::model::MessageFields,
        vaka_shared::model::MessageReceiptFields,
        vaka_shared::model::Audience,
        vaka_shared::OpId,
        vaka_shared::DeviceId,
        vaka_shared::EntityId,
        vaka_shared::MemberId,
        vaka_shared::Hlc,
        vaka_shared::blob::BlobStatus
    )),
    modifiers(&DeviceToken)
)]
pub struct ApiDoc;

/// Declares the device token (`Authorization: Bearer <token>`) as the API's security scheme.
#[derive(Debug)]
struct DeviceToken;

impl utoipa::Modify for DeviceToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token a device got at enrolment (at most 128 characters).",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /`: a short page that says what this is.
pub async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

/// Exchange a one-time enrolment code for a device token.
#[utoipa::path(
    post,
    path = "/api/v1/enroll",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "The device is enrolled", body = EnrollResponse),
        (status = 400, description = "Malformed or invalid body (`malformed_json`, `invalid_body`), or a `device_name` that is blank or longer than 80 characters once trimmed (`invalid_request`)", body = ApiError),
        (status = 403, description = "Unknown, used or expired code (`invalid_enrollment_code`)", body = ApiError),
        (status = 408, description = "The body did not arrive in time (`request_timeout`)", body = ApiError),
        (status = 413, description = "Body too large (`payload_too_large`)", body = ApiError),
        (status = 415, description = "Not `application/json` (`unsupported_media_type`), or an unknown `Content-Encoding` (empty body)", body = ApiError),
        (status = 500, description = "The server failed (`internal`); nothing was stored", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`); nothing was stored", body = ApiError),
        (status = 507, description = "The server's disk is full (`storage_full`); nothing was stored", body = ApiError),
    )
)]
pub async fn enroll(
    State(app): State<AppState>,
    ApiJson(request): ApiJson<EnrollRequest>,
) -> Result<ApiJson<EnrollResponse>, AppError> {
    let name = match request.trimmed_device_name() {
        Ok(name) => name.to_owned(),
        Err(refused) => {
            app.metrics.count_request("enroll", 400);
            return Err(AppError::InvalidRequest(refused.to_string()));
        }
    };
    let now = now_ms();
    let enrolled = app
        .store
        .redeem_enrollment_code(request.code, name, now)
        .await?;
    let Some(e) = enrolled else {
        app.metrics.count_request("enroll", 400);
        return Err(AppError::InvalidEnrollmentCode);
    };
    tracing::info!(device = %e.device_id, member = %e.member_id, "device enrolled");
    app.metrics.count_request("enroll", 200);
    Ok(ApiJson(EnrollResponse {
        device_id: e.device_id,
        token: e.token,
        org_id: e.org_id,
        org_name: e.org_name,
        member_id: e.member_id,
        member_name: e.member_name,
        role: e.role,
        server_time_ms: now_ms(),
    }))
}

/// The answer to a sync; serialises like [`SyncResponse`].
#[derive(Debug, Serialize)]
pub struct SyncResponseBody {
    server_time_ms: i64,
    push: PushResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull: Option<RawPullPage>,
    retention_days: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    retire: bool,
}

/// Push a device's ops and pull the organisation's in one round trip.
#[utoipa::path(
    post,
    path = "/api/v1/sync",
    request_body = SyncRequest,
    security(("device_token" = [])),
    responses(
        (status = 200, description = "Pushed ops acknowledged (or refused with reasons) and a page pulled", body = SyncResponse),
        (status = 400, description = "Malformed or invalid body (`malformed_json`, `invalid_body`, `invalid_request`)", body = ApiError),
        (status = 401, description = "Missing, unknown (`unauthorized`) or revoked (`token_revoked`) token", body = ApiError),
        (status = 408, description = "The body did not arrive in time (`request_timeout`)", body = ApiError),
        (status = 413, description = "Body too large (`payload_too_large`) or too many ops (`too_many_ops`)", body = ApiError),
        (status = 415, description = "Not `application/json` (`unsupported_media_type`), or an unknown `Content-Encoding` (empty body)", body = ApiError),
        (status = 500, description = "The server failed (`internal`); nothing was stored", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`); nothing was stored", body = ApiError),
        (status = 507, description = "The server's disk is full (`storage_full`); nothing was stored", body = ApiError),
    )
)]
pub async fn sync(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
    headers: HeaderMap,
    ApiJson(mut request): ApiJson<SyncRequest>,
) -> Result<Response, AppError> {
    let started = Instant::now();
    let result = sync_inner(&app, caller, &mut request).await;
    app.metrics.observe_sync(started.elapsed());
    let status = match &result {
        Ok(_) => 200,
        Err(e) => e.status_code(),
    };
    app.metrics.count_request("sync", status);
    result.map(|body| zstd_json::response(&body, zstd_json::accepts_zstd(&headers)))
}

async fn sync_inner(
    app: &AppState,
    caller: accounts::DeviceCaller,
    request: &mut SyncRequest,
) -> Result<SyncResponseBody, AppError> {
    let config = &app.config;
    if request.push.len() > config.max_push_ops {
        return Err(AppError::TooManyOps {
            count: request.push.len(),
            max: config.max_push_ops,
        });
    }
    let pull = match request.pull {
        None => None,
        Some(p) => {
            let limit = p.limit.unwrap_or(config.default_pull_page);
            if limit == 0 || limit > config.max_pull_page {
                return Err(AppError::InvalidRequest(format!(
                    "pull.limit must be between 1 and {}",
                    config.max_pull_page
                )));
            }
            Some((p.cursor, limit))
        }
    };
    let mut ops = std::mem::take(&mut request.push);
    ops.sort_by_key(|op| op.device_seq);
    let limits = PushLimits {
        max_clock_ahead_ms: config.max_clock_ahead_ms,
    };
    let now = now_ms();
    let (push, counts) = if ops.is_empty() {
        // Nothing to store: answer from a read connection and note the sync time for the
        // next batched write, so a pull never waits for (or fails for lack of) the writer.
        app.last_sync.note(caller.device_id, now);
        let held = app.store.held_seq(caller.device_id).await?;
        (
            PushResult {
                acked_through: held,
                rejected: Vec::new(),
                stopped: None,
            },
            PushCounts::default(),
        )
    } else {
        app.store.push(caller, ops, now, limits).await?
    };
    app.metrics.count_ops("accepted", counts.accepted);
    app.metrics.count_ops("duplicate", counts.duplicate);
    app.metrics.count_ops("rejected", counts.rejected);
    if push.stopped.is_some() {
        app.metrics.count_ops("stopped", 1);
    }
    let pull = match pull {
        None => None,
        Some((cursor, limit)) => {
            let page = app.store.pull(caller, cursor, limit).await?;
            app.metrics.count_pulled(page.ops.len());
            Some(page)
        }
    };
    tracing::debug!(
        device = %caller.device_id,
        accepted = counts.accepted,
        duplicate = counts.duplicate,
        rejected = counts.rejected,
        stopped = ?push.stopped.as_ref().map(|s| s.code),
        pulled = pull.as_ref().map_or(0, |p| p.ops.len()),
        "sync"
    );
    Ok(SyncResponseBody {
        server_time_ms: now_ms(),
        push,
        pull,
        retention_days: caller.retention_days,
        retire: caller.retired,
    })
}

/// A retired device says it has handed over everything and wiped itself; its token is refused
/// from then on.
#[utoipa::path(
    post,
    path = "/api/v1/device/retired",
    security(("device_token" = [])),
    responses(
        (status = 204, description = "Noted: the device's token is refused from now on"),
        (status = 401, description = "Missing, unknown (`unauthorized`), revoked (`token_revoked`) or lost (`device_lost`) device", body = ApiError),
        (status = 409, description = "The device was not retired by a coordinator (`invalid_request`)", body = ApiError),
        (status = 500, description = "The server failed (`internal`)", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`)", body = ApiError),
    )
)]
pub async fn retired(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
) -> Result<StatusCode, AppError> {
    if !caller.retired {
        return Err(AppError::NotRetired);
    }
    let now = now_ms();
    app.store.device_wiped(caller.device_id, now).await?;
    tracing::info!(device = %caller.device_id, "retired device wiped");
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's organisation's named areas with their outlines.
#[utoipa::path(
    get,
    path = "/api/v1/areas",
    security(("device_token" = [])),
    responses(
        (status = 200, description = "The organisation's areas, by name", body = AreasResponse),
        (status = 401, description = "Missing, unknown (`unauthorized`) or revoked (`token_revoked`) token", body = ApiError),
        (status = 500, description = "The server failed (`internal`)", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`)", body = ApiError),
    )
)]
pub async fn areas(
    State(app): State<AppState>,
    DeviceAuth(caller): DeviceAuth,
) -> Result<ApiJson<AreasResponse>, AppError> {
    // Archived areas are no longer offered as a choice.
    let shapes = app.store.active_area_shapes(caller.org_id).await?;
    let areas = shapes
        .into_iter()
        .map(|shape| {
            Ok(AreaInfo {
                id: shape.id,
                name: shape.name,
                rings: shape
                    .rings
                    .into_iter()
                    .map(|ring| ring.into_iter().map(|(lon, lat)| [lon, lat]).collect())
                    .collect(),
            })
        })
        .collect::<Result<_, crate::store::StoreError>>()?;
    app.metrics.count_request("areas", 200);
    Ok(ApiJson(AreasResponse { areas }))
}

/// Whether the server and its store answer.
#[utoipa::path(
    get,
    path = "/healthz",
    responses(
        (status = 200, description = "The server and its store answer", body = Health),
        (status = 500, description = "The store failed (`internal`)", body = ApiError),
        (status = 503, description = "Shutting down or busy (`unavailable`)", body = ApiError),
    )
)]
pub async fn healthz(State(app): State<AppState>) -> Result<ApiJson<Health>, AppError> {
    let last_seq = app.store.last_seq().await?;
    Ok(ApiJson(Health {
        status: "ok".into(),
        last_seq,
    }))
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Gives error responses that the HTTP layers made without a body (wrong method, unknown
/// content encoding) the API's JSON error body, on API paths.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if api && (status.is_client_error() || status.is_server_error()) && !is_json {
        // The same answer with a JSON body; headers the layers set (`Allow` on a 405,
        // `Accept-Encoding` on a 415, `Connection`) are kept.
        let mut json = AppError::Http(status).into_response();
        for (name, value) in response.headers() {
            if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
                json.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return json;
    }
    response
}

/// Any other path: the API's JSON error under `/api/` and for the service paths, otherwise the
/// dashboard's "not found" page in the user's language.
pub async fn not_found(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path == "/healthz" || path == "/metrics" {
        AppError::NotFound.into_response()
    } else {
        crate::dashboard::not_found_page(&headers)
    }
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_document_describes_every_entity_kind_and_every_schema_it_refers_to() {
        let doc = serde_json::to_value(super::ApiDoc::openapi()).expect("a JSON document");
        let schemas = doc["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .clone();
        for kind in vaka_shared::EntityKind::ALL {
            let text = doc.to_string();
            assert!(text.contains(&format!("\"{}\"", kind.as_str())), "{kind:?}");
        }
        let text = doc.to_string();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name: String = piece.chars().take_while(|c| *c != '"').collect();
            assert!(
                schemas.contains_key(&name),
                "{name} is referred to but not described"
            );
        }
    }
}
