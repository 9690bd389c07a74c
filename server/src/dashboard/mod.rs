//! The coordinator dashboard: server-rendered HTML (maud) in Swedish or English, signed in with a
//! password and a session cookie, CSRF tokens on every form. A folder per concern: `auth`
//! (sign-in, sessions, CSRF), `inbox`, `entry` (one entry, review, comments, conflicts),
//! `people` (members, enrolment codes as QR, devices), `areas` (GeoJSON upload and map),
//! `messages` (messages to the walkers' phones with their received and read counts), `report` (the situation report page), `exports` (PDF, CSV, GeoJSON), `charts` (SVG and PDF
//! drawings from one display list).
//!
//! Every query is scoped to the signed-in member's organisation: another organisation's id
//! answers 404, as if it did not exist.

mod aggregates;
mod area_file;
mod areas;
mod audit;
mod auth;
mod charts;
mod entry;
mod exports;
pub mod i18n;
mod inbox;
mod layout;
mod messages;
mod notify;
mod pdf;
mod people;
mod privacy;
mod report;
mod words;

use crate::AppState;
use crate::store::StoreError;
use crate::store::reports::local;
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use time::Date;
use vaka_shared::model::Lang;

pub use area_file::{UploadError, UploadedArea, read as read_area_file};
pub use auth::{CSRF_FIELD, SESSION_COOKIE};
pub use pdf::shown_text;

/// The dashboard's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/lang", get(auth::switch_language))
        .route("/start", get(auth::start))
        .route("/inbox", get(inbox::page))
        .route("/entries/{id}", get(entry::page))
        .route("/entries/{id}/review", post(entry::review))
        .route("/entries/{id}/comments", post(entry::comment))
        .route("/conflicts/{id}/settle", post(entry::settle))
        .route("/photos/{sha256}", get(entry::photo))
        .route("/people", get(people::page).post(people::add_member))
        .route("/people/{member}/update", post(people::update_member))
        .route("/people/{member}/code", post(people::enrolment_code))
        .route("/devices/{id}/revoke", post(people::revoke))
        .route("/devices/{id}/lost", post(privacy::lost))
        .route("/devices/{id}/retire", post(privacy::retire))
        .route("/people/{member}/remove", post(privacy::remove_member))
        .route("/entries/{id}/hold", post(privacy::hold))
        .route("/entries/{id}/redact", post(privacy::redact))
        .route("/settings", get(privacy::settings_page))
        .route("/audit", get(audit::page))
        .route("/notifications", get(notify::page))
        .route("/notifications/rules", post(notify::add_rule))
        .route(
            "/notifications/rules/{id}/remove",
            post(notify::remove_rule),
        )
        .route("/notifications/webhooks", post(notify::add_webhook))
        .route(
            "/notifications/webhooks/{id}/remove",
            post(notify::remove_webhook),
        )
        .route("/notifications/log", get(notify::log))
        .route(
            "/notifications/deliveries/{id}/resend",
            post(notify::resend),
        )
        .route("/audit.csv", get(audit::csv))
        .route("/settings/retention", post(privacy::set_retention))
        .route("/settings/share", post(privacy::share))
        .route("/settings/withdraw", post(privacy::withdraw))
        .route("/messages", get(messages::page).post(messages::send))
        .route("/messages/{id}/end", post(messages::end))
        .route("/areas", get(areas::page).post(areas::upload))
        .route("/areas/{id}/rename", post(areas::rename))
        .route("/areas/{id}/remove", post(areas::remove))
        .route("/report", get(report::page))
        .route("/report/summary", post(report::save_summary))
        .route("/report.pdf", get(exports::pdf))
        .route("/report.csv", get(exports::csv))
        .route("/report.geojson", get(exports::geojson))
        .route("/dashboard.css", get(layout::stylesheet))
}

/// What a dashboard request can fail with; rendered as a page in the user's language.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No such thing in the caller's organisation.
    #[error("not found")]
    NotFound,
    /// The form's CSRF token is missing or wrong.
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// The request was understood but refused, with a message for the user.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error("store failure")]
    Store(#[from] StoreError),
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Refused(_) => StatusCode::BAD_REQUEST,
            Self::Store(e) if e.is_busy() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error as a page in `lang`.
    pub fn render(&self, lang: Lang) -> Response {
        let t = i18n::texts(lang);
        let (title, text) = match self {
            Self::NotFound => (t.not_found, t.not_found_text.to_owned()),
            Self::Csrf => (t.bad_request, t.csrf_failed.to_owned()),
            Self::Refused(message) => (t.bad_request, message.clone()),
            Self::Store(e) => {
                tracing::error!(error = ?e, "dashboard request failed");
                (t.bad_request, t.server_error.to_owned())
            }
        };
        let body = maud::html! {
            h1 { (title) }
            p.error { (text) }
            p { a href="/inbox" { (t.inbox) } }
        };
        (self.status(), layout::page(lang, None, title, body)).into_response()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.render(Lang::Sv)
    }
}

/// The page for a path no route has: "not found" in the user's language.
pub fn not_found_page(headers: &axum::http::HeaderMap) -> Response {
    PageError::NotFound.render(auth::lang_of(headers))
}

/// An error with the language to render it in.
#[derive(Debug)]
pub struct LangError(pub Lang, pub PageError);

impl IntoResponse for LangError {
    fn into_response(self) -> Response {
        self.1.render(self.0)
    }
}

/// A page result: the page or an error page in the user's language.
pub type PageResult = Result<Response, LangError>;

/// Attaches the language to an error.
trait WithLang<T> {
    fn lang(self, lang: Lang) -> Result<T, LangError>;
}

impl<T, E: Into<PageError>> WithLang<T> for Result<T, E> {
    fn lang(self, lang: Lang) -> Result<T, LangError> {
        self.map_err(|e| LangError(lang, e.into()))
    }
}

/// The pairs of an `application/x-www-form-urlencoded` text (query string or form body), in
/// order; repeated names (checkboxes) are kept.
#[derive(Debug, Clone, Default)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    /// Parses `text`.
    pub fn parse(text: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(text)
                .map(|(k, v)| (without_nul(&k), without_nul(&v)))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed, if not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

/// A path parameter as text. One that is not UTF-8 once percent-decoded answers 404 like an
/// unknown id, as a page in the user's language.
#[derive(Debug, Clone)]
pub struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => Ok(Self(text)),
            Err(_) => Err(PageError::NotFound.render(auth::lang_of(&parts.headers))),
        }
    }
}

/// The first day a period in the dashboard may name: no entry happened earlier (see
/// `vaka_shared::validate::limits::EARLIEST_MS`).
pub const FIRST_DAY: Date = time::macros::date!(2000 - 01 - 01);
/// The last day a period in the dashboard may name, far from the calendar's end.
pub const LAST_DAY: Date = time::macros::date!(2100 - 12 - 31);

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// `text` with every U+0000 replaced by U+FFFD, as a browser's parser does: no form a person
/// fills in holds one, and neither backend's text may keep it (PostgreSQL refuses it).
pub fn without_nul(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// At most `max` characters of a user's text, to repeat it in a message.
fn quoted(text: &str, max: usize) -> String {
    format!("«{}»", inbox::short(text, max))
}

/// The day in field `name` of a form or query string: `Ok(None)` when absent or empty, a message
/// for the user when it is not a date from [`FIRST_DAY`] to [`LAST_DAY`].
pub fn day_field(q: &Pairs, name: &str, lang: Lang) -> Result<Option<Date>, String> {
    let t = i18n::texts(lang);
    let Some(text) = q.get(name) else {
        return Ok(None);
    };
    match parse_date(text) {
        Some(day) if (FIRST_DAY..=LAST_DAY).contains(&day) => Ok(Some(day)),
        Some(_) => Err(format!(
            "{} {FIRST_DAY} {} {LAST_DAY}: {}",
            t.date_out_of_range,
            t.and,
            quoted(text, 40)
        )),
        None => Err(format!("{} {}", t.bad_date, quoted(text, 40))),
    }
}

/// The period `from`–`to` of a form or query string, each end optional; a message for the user
/// when a day is not one or the period ends before it begins.
pub fn period_fields(q: &Pairs, lang: Lang) -> Result<(Option<Date>, Option<Date>), String> {
    let from = day_field(q, "from", lang)?;
    let to = day_field(q, "to", lang)?;
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(i18n::texts(lang).reversed_period.to_owned()),
        _ => Ok((from, to)),
    }
}

/// `2026-11-21 19:05` in Swedish local time.
pub fn fmt_time(ms: i64) -> String {
    let t = local(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// The label of an entry kind.
pub fn kind_label(kind: &str, lang: Lang) -> &'static str {
    let t = i18n::texts(lang);
    match kind {
        "patrol" => t.kind_patrol,
        "observation" => t.kind_observation,
        _ => t.kind_incident,
    }
}

/// The label of a category code of an entry of `kind` (patrols: their kind of walk).
pub fn category_label(kind: &str, code: &str, lang: Lang) -> String {
    use vaka_shared::model::{CategoryCode, ObservationCategory, PatrolKind};
    let label = match kind {
        "patrol" => PatrolKind::from_wire(code).map(|k| k.label(lang)),
        "observation" => ObservationCategory::from_wire(code).map(|k| k.label(lang)),
        _ => CategoryCode::from(code)
            .default_category()
            .map(|c| c.label(lang)),
    };
    label.map(str::to_owned).unwrap_or_else(|| code.to_owned())
}
