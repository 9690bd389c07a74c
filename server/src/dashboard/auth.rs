//! Signing in and out, the session cookie, CSRF tokens and the language cookie.
//!
//! The session cookie is `HttpOnly`, `SameSite=Lax` and, when the server is configured for TLS,
//! `Secure`; the server keeps only its SHA-256 hash, with an expiry. Every form carries the
//! session's CSRF token (the sign-in form a double-submit token of its own). Sign-in is bounded
//! (see `store::sign_in` and `passwords`): failures by name, address and overall earn growing
//! delays, a browser that signed in before is trusted past them, and password checks run in a
//! fixed pool.

use super::layout;
use super::{LangError, PageError, Pairs, i18n};
use crate::store::sessions::SessionUser;
use crate::store::sign_in::{Admission, SignInBy};
use crate::{AppState, now_ms, passwords, secrets};
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::header::RETRY_AFTER;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use std::net::SocketAddr;
use vaka_shared::model::{Lang, Role};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "vaka_session";
/// The name of the CSRF field in every form.
pub const CSRF_FIELD: &str = "csrf";
const LOGIN_CSRF_COOKIE: &str = "vaka_login_csrf";
const LANG_COOKIE: &str = "vaka_lang";
/// Held by a browser that signed in as a name before; lets it past the name's sign-in delays.
const TRUSTED_BROWSER_COOKIE: &str = "vaka_browser";

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
        match app.store.session(token, now).await {
            Ok(Some(user)) if user.role == Role::Liaison && !liaison_may_open(parts.uri.path()) => {
                // Entries, people and raw rows do not exist for a liaison.
                Err(PageError::NotFound.render(lang))
            }
            Ok(Some(user)) => Ok(Self { user, lang }),
            Ok(None) => Err(see_other("/login?expired=1")),
            Err(e) => Err(PageError::from(e).render(lang)),
        }
    }
}

/// The dashboard paths a liaison may open: the situation report as aggregates and its
/// downloads, the start page, the language switch and signing out. Everything else answers 404.
pub const LIAISON_PATHS: &[&str] = &[
    "/start",
    "/report",
    "/report.pdf",
    "/report.csv",
    "/report.geojson",
    "/lang",
    "/logout",
];

fn liaison_may_open(path: &str) -> bool {
    LIAISON_PATHS.contains(&path)
}

/// `GET /start`: where a sign-in leads: the situation report for a liaison, the inbox for
/// everyone else.
pub async fn start(signed: Signed) -> Response {
    if signed.user.role == Role::Liaison {
        see_other("/report")
    } else {
        see_other("/inbox")
    }
}

/// The sign-in form, holding the sign-in name `login` the user gave (never the password).
fn login_form(
    app: &AppState,
    lang: Lang,
    status: StatusCode,
    message: Option<&str>,
    login: &str,
) -> Response {
    let t = i18n::texts(lang);
    let csrf = secrets::new_token();
    let body = html! {
        section.login {
            h1 { (t.sign_in) }
            @if let Some(message) = message { p.error role="alert" { (message) } }
            form method="post" action="/login" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label { (t.login_name) input name="login" value=(login) autocomplete="username" required autofocus; }
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
    RawQuery(query): RawQuery,
) -> Response {
    let lang = lang_of(&headers);
    let query = Pairs::parse(query.unwrap_or_default().as_bytes());
    let expired = query.0.iter().any(|(name, _)| name == "expired");
    let message = expired.then_some(i18n::texts(lang).session_expired);
    login_form(&app, lang, StatusCode::OK, message, "")
}

/// The client's address as the connection gives it ("unknown" where none was recorded).
fn client_address(parts: &axum::http::Extensions) -> String {
    parts
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string())
}

/// A sign-in refused before its password was checked: wait and try again.
fn refused_for_now(
    app: &AppState,
    lang: Lang,
    status: StatusCode,
    message: &str,
    retry_after_s: i64,
    login: &str,
) -> Response {
    let mut response = login_form(app, lang, status, Some(message), login);
    if let Ok(value) = retry_after_s.max(1).to_string().parse() {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

/// `POST /login`: checks the password and starts a session, within the sign-in limits
/// (`store::sign_in` decides who may try now; `passwords` bounds the checks).
pub async fn login(
    State(app): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
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
    if login.is_empty() || login.len() > 100 || password.len() > passwords::MAX_PASSWORD_BYTES {
        let kept = if login.len() > 100 { "" } else { &login };
        return login_form(
            &app,
            lang,
            StatusCode::UNAUTHORIZED,
            Some(t.wrong_password),
            kept,
        );
    }
    // A place among the password checks first: when they are all taken, nothing else is done.
    let Ok(place) = app.passwords.reserve() else {
        return refused_for_now(
            &app,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            t.sign_in_busy,
            1,
            &login,
        );
    };
    let address = client_address(&extensions);
    let browser = cookie(&headers, TRUSTED_BROWSER_COOKIE).filter(|b| b.len() <= 128);
    let now = now_ms();
    let limits = app.config.sign_in;
    let by = SignInBy {
        login: login.clone(),
        address,
        browser,
    };
    let admission = app.store.admit_sign_in(by.clone(), limits, now).await;
    let (attempt, candidate) = match admission {
        Ok((Admission::Go { attempt }, candidate)) => (attempt, candidate),
        Ok((Admission::Wait { retry_after_ms }, _)) => {
            let seconds = (retry_after_ms + 999) / 1000;
            tracing::info!(retry_after_s = seconds, "dashboard sign-in held back");
            let message = t.too_many_attempts.replace("{}", &seconds.to_string());
            return refused_for_now(
                &app,
                lang,
                StatusCode::TOO_MANY_REQUESTS,
                &message,
                seconds,
                &login,
            );
        }
        Err(e) => return PageError::from(e).render(lang),
    };
    let stored = candidate.as_ref().map(|c| c.password_hash.clone());
    // A failure under a member's name goes into their organisation's audit chain; one under a
    // name no one has, into the chain of unknown names.
    let candidate_org = candidate.as_ref().map(|c| c.org_id);
    let Ok(matches) = place.check(password, stored).await else {
        return refused_for_now(
            &app,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            t.sign_in_busy,
            1,
            &login,
        );
    };
    let ttl_ms = i64::try_from(app.config.session_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let result = match (matches, candidate) {
        (true, Some(candidate)) => app
            .store
            .sign_in_succeeded(attempt, by, candidate, limits, now, ttl_ms)
            .await
            .map(Some),
        _ => app
            .store
            .sign_in_failed(by, candidate_org, now)
            .await
            .map(|()| None),
    };
    match result {
        Ok(Some((session, trusted))) => {
            tracing::info!(login = %login, "dashboard sign-in");
            let mut response = see_other("/start");
            let trusted_max_age =
                i64::try_from(limits.trusted_browser_ttl.as_secs()).unwrap_or(i64::MAX);
            for value in [
                set_cookie(&app, SESSION_COOKIE, &session.token, None),
                set_cookie(&app, LOGIN_CSRF_COOKIE, "", Some(0)),
                set_cookie(
                    &app,
                    TRUSTED_BROWSER_COOKIE,
                    &trusted,
                    Some(trusted_max_age),
                ),
            ] {
                if let Ok(value) = value.parse() {
                    response.headers_mut().append(SET_COOKIE, value);
                }
            }
            response
        }
        Ok(None) => {
            tracing::info!(login = %login, "dashboard sign-in refused");
            login_form(
                &app,
                lang,
                StatusCode::UNAUTHORIZED,
                Some(t.wrong_password),
                &login,
            )
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
            .delete_session(token)
            .await
            .map_err(|e| LangError(signed.lang, e.into()))?;
    }
    let mut response = see_other("/login");
    if let Ok(value) = set_cookie(&app, SESSION_COOKIE, "", Some(0)).parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /lang?to=en&back=/inbox`: sets the language cookie and goes back (only to a path of
/// this site, written in visible ASCII as a `Location` header must be; anything else goes to
/// the inbox).
pub async fn switch_language(State(app): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let q = Pairs::parse(q.unwrap_or_default().as_bytes());
    let lang = if q.get("to") == Some("en") {
        "en"
    } else {
        "sv"
    };
    let back = q
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .filter(|b| b.bytes().all(|c| c.is_ascii_graphic()))
        .unwrap_or("/inbox");
    let mut response = see_other(back);
    if let Ok(value) = set_cookie(&app, LANG_COOKIE, lang, Some(365 * 24 * 3600)).parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
