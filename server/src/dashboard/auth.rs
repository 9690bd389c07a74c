//! Signing in and out, the session cookie, CSRF tokens and the language cookie.
//!
//! The session cookie is `HttpOnly`, `SameSite=Lax` and, when the server is configured for TLS,
//! `Secure`; the server keeps only its SHA-256 hash, with an expiry. Every form carries the
//! session's CSRF token (the sign-in form a double-submit token of its own). Failed sign-ins are
//! counted per sign-in name; past the limit, sign-in is refused for a while without checking the
//! password.

use super::layout;
use super::{LangError, PageError, Pairs, i18n};
use crate::store::sessions::{self, MAX_FAILURES, SessionUser};
use crate::{AppState, now_ms, secrets};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use vaka_shared::model::Lang;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vaka_session";
/// The name of the CSRF field in every form.
pub const CSRF_FIELD: &str = "csrf";
const LOGIN_CSRF_COOKIE: &str = "vaka_login_csrf";
const LANG_COOKIE: &str = "vaka_lang";

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The language chosen with the language cookie; Swedish by default.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Sv,
    }
}

/// A `Set-Cookie` value; without `max_age_s` the cookie lasts until the browser closes (the
/// server enforces a session's expiry itself).
fn set_cookie(app: &AppState, name: &str, value: &str, max_age_s: Option<i64>) -> String {
    let secure = if app.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = max_age_s
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{max_age}{secure}")
}

/// Equal without an early exit.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in coordinator or admin, and their language.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Who.
    pub user: SessionUser,
    /// Their language.
    pub lang: Lang,
}

impl Signed {
    /// The organisation id as stored.
    pub fn org(&self) -> String {
        self.user.org_id.to_string()
    }

    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, form: &Pairs) -> Result<(), LangError> {
        match form.get(CSRF_FIELD) {
            Some(token) if same(token, &self.user.csrf) => Ok(()),
            _ => Err(LangError(self.lang, PageError::Csrf)),
        }
    }
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| t.len() <= 128) else {
            return Err(see_other("/login"));
        };
        let now = now_ms();
        match app
            .store
            .read(move |conn| sessions::session(conn, &token, now))
            .await
        {
            Ok(Some(user)) => Ok(Self { user, lang }),
            Ok(None) => Err(see_other("/login?expired=1")),
            Err(e) => Err(PageError::from(e).render(lang)),
        }
    }
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
}

fn login_form(app: &AppState, lang: Lang, status: StatusCode, message: Option<&str>) -> Response {
    let t = i18n::texts(lang);
    let csrf = secrets::new_token();
    let body = html! {
        section.login {
            h1 { (t.sign_in) }
            @if let Some(message) = message { p.error role="alert" { (message) } }
            form method="post" action="/login" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label { (t.login_name) input name="login" autocomplete="username" required autofocus; }
                label { (t.password) input name="password" type="password" autocomplete="current-password" required; }
                button type="submit" { (t.sign_in) }
            }
            p.muted { (t.privacy_note) }
        }
    };
    let mut response = (status, layout::page(lang, None, t.sign_in, body)).into_response();
    if let Ok(value) = set_cookie(app, LOGIN_CSRF_COOKIE, &csrf, Some(3600)).parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// `GET /login`.
pub async fn login_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let lang = lang_of(&headers);
    let message = query.expired.map(|_| i18n::texts(lang).session_expired);
    login_form(&app, lang, StatusCode::OK, message)
}

/// `POST /login`: checks the password and starts a session.
pub async fn login(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = lang_of(&headers);
    let t = i18n::texts(lang);
    let form = Pairs::parse(&body);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    match form.get(CSRF_FIELD) {
        Some(token) if !expected.is_empty() && same(token, &expected) => {}
        _ => return PageError::Csrf.render(lang),
    }
    let login = form.get("login").unwrap_or_default().to_owned();
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if login.is_empty() || login.len() > 100 || password.len() > 1000 {
        return login_form(&app, lang, StatusCode::UNAUTHORIZED, Some(t.wrong_password));
    }
    let now = now_ms();
    let lookup = {
        let login = login.clone();
        app.store
            .read(move |conn| {
                Ok((
                    sessions::recent_failures(conn, &login, now)?,
                    sessions::login_candidate(conn, &login)?,
                ))
            })
            .await
    };
    let (failures, candidate) = match lookup {
        Ok(found) => found,
        Err(e) => return PageError::from(e).render(lang),
    };
    if failures >= MAX_FAILURES {
        return login_form(
            &app,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            Some(t.too_many_attempts),
        );
    }
    // argon2 is slow on purpose: off the async executor. An unknown name costs the same.
    let stored = candidate.as_ref().map(|c| c.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => secrets::verify_password(&password, &hash),
        None => {
            let _ = secrets::hash_password(&password);
            false
        }
    })
    .await
    .unwrap_or(false);
    let ttl_ms = i64::try_from(app.config.session_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let result = match (matches, candidate) {
        (true, Some(candidate)) => {
            let login = login.clone();
            app.store
                .write(move |conn| {
                    sessions::create_session(conn, &candidate, &login, now, ttl_ms).map(Some)
                })
                .await
        }
        _ => {
            let login = login.clone();
            app.store
                .write(move |conn| sessions::record_failure(conn, &login, now).map(|()| None))
                .await
        }
    };
    match result {
        Ok(Some(session)) => {
            tracing::info!(login = %login, "dashboard sign-in");
            let mut response = see_other("/inbox");
            for value in [
                set_cookie(&app, SESSION_COOKIE, &session.token, None),
                set_cookie(&app, LOGIN_CSRF_COOKIE, "", Some(0)),
            ] {
                if let Ok(value) = value.parse() {
                    response.headers_mut().append(SET_COOKIE, value);
                }
            }
            response
        }
        Ok(None) => {
            tracing::info!(login = %login, "dashboard sign-in refused");
            login_form(&app, lang, StatusCode::UNAUTHORIZED, Some(t.wrong_password))
        }
        Err(e) => PageError::from(e).render(lang),
    }
}

/// `POST /logout`.
pub async fn logout(
    State(app): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, LangError> {
    signed.check_csrf(&Pairs::parse(&body))?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        app.store
            .write(move |conn| sessions::delete_session(conn, &token))
            .await
            .map_err(|e| LangError(signed.lang, e.into()))?;
    }
    let mut response = see_other("/login");
    if let Ok(value) = set_cookie(&app, SESSION_COOKIE, "", Some(0)).parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}

/// Query of the language switch.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    to: String,
    back: Option<String>,
}

/// `GET /lang?to=en&back=/inbox`: sets the language cookie and goes back (only to a path of
/// this site).
pub async fn switch_language(State(app): State<AppState>, Query(q): Query<LangQuery>) -> Response {
    let lang = if q.to == "en" { "en" } else { "sv" };
    let back = q
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/inbox".to_owned());
    let mut response = see_other(&back);
    if let Ok(value) = set_cookie(&app, LANG_COOKIE, lang, Some(365 * 24 * 3600)).parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
