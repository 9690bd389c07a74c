//! A browser without JavaScript for driving the dashboard over HTTP: keeps cookies, does not
//! follow redirects, reads the CSRF token of a page's form.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;
use std::time::Duration;

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    let escape = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    url: String,
    cookies: BTreeMap<String, String>,
}

/// The value of `name="csrf"` in a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..].split('"').next().unwrap_or_default().to_owned()
}

impl Browser {
    /// A browser for the server at `url`, without cookies.
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            url: url.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Gets `path` (with its query as given); returns the status and the redirect target (or
    /// the body).
    pub async fn get(&mut self, path: &str) -> anyhow::Result<(StatusCode, String)> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .header(COOKIE, self.cookie_header())
            .send()
            .await?;
        self.keep_cookies(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await?;
        Ok((
            status,
            if status.is_redirection() {
                location
            } else {
                body
            },
        ))
    }

    /// Gets `path`; returns the status, the content type and the body's bytes.
    pub async fn get_bytes(&mut self, path: &str) -> anyhow::Result<(StatusCode, String, Vec<u8>)> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .header(COOKIE, self.cookie_header())
            .send()
            .await?;
        let status = response.status();
        let kind = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((status, kind, response.bytes().await?.to_vec()))
    }

    /// Posts a form; returns the status and the redirect target (or the body).
    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<(StatusCode, String)> {
        self.post_raw(path, encode(form).into_bytes()).await
    }

    /// Posts `body` as a form body exactly as given (it may be any bytes); returns the status
    /// and the redirect target (or the body).
    pub async fn post_raw(
        &mut self,
        path: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(StatusCode, String)> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        self.keep_cookies(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await?;
        Ok((
            status,
            if status.is_redirection() {
                location
            } else {
                body
            },
        ))
    }

    /// Signs in through the sign-in form; returns the status of the form's answer.
    pub async fn sign_in(&mut self, login: &str, password: &str) -> anyhow::Result<StatusCode> {
        let (_, page) = self.get("/login").await?;
        let csrf = csrf_of(&page);
        let (status, _) = self
            .post(
                "/login",
                &[("csrf", &csrf), ("login", login), ("password", password)],
            )
            .await?;
        Ok(status)
    }
}
