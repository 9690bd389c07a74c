//! The enrolment link a coordinator's dashboard shows as a QR code and the app reads: the
//! server's public address and a one-time code, so a phone enrols from the picture alone.
//!
//! The form (docs/protocol.md, "Enrolment by QR code"):
//! `vaka:enroll?server=<percent-encoded URL>&code=<code>`, e.g.
//! `vaka:enroll?server=https%3A%2F%2Fvaka.example.se&code=K7QM-2XNP-84RT`. The server is an
//! `http` or `https` URL without query or fragment; the code is the one-time enrolment code
//! (letters, digits and dashes). Parameters may come in any order; unknown ones are ignored, so
//! later versions can add some.

use std::fmt;

/// The scheme and path every enrolment link starts with.
pub const PREFIX: &str = "vaka:enroll?";

/// Longest link accepted, in bytes (a QR code holds far less than this anyway).
pub const MAX_LINK_BYTES: usize = 2048;

/// A server address and a one-time code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollLink {
    /// The server's public address, e.g. `https://vaka.example.se` (no trailing slash).
    pub server: String,
    /// The one-time enrolment code, as the dashboard shows it.
    pub code: String,
}

/// Why a text is not an enrolment link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnrollLinkError {
    /// It does not start with `vaka:enroll?`, or is too long.
    #[error("not a Vaka enrolment link")]
    NotALink,
    /// The server address is missing or not an http(s) URL.
    #[error("the link has no valid server address")]
    BadServer,
    /// The code is missing or holds other characters than letters, digits and dashes.
    #[error("the link has no valid enrolment code")]
    BadCode,
}

impl EnrollLink {
    /// Reads a link, e.g. the text of a scanned QR code (white space around it is ignored).
    pub fn parse(text: &str) -> Result<Self, EnrollLinkError> {
        let text = text.trim();
        if text.len() > MAX_LINK_BYTES {
            return Err(EnrollLinkError::NotALink);
        }
        let query = text.strip_prefix(PREFIX).ok_or(EnrollLinkError::NotALink)?;
        let mut server = None;
        let mut code = None;
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value);
            match key {
                "server" => server = value,
                "code" => code = value,
                _ => {}
            }
        }
        let server = server
            .map(|s| s.trim_end_matches('/').to_owned())
            .filter(|s| is_server_url(s))
            .ok_or(EnrollLinkError::BadServer)?;
        let code = code
            .map(|c| c.trim().to_owned())
            .filter(|c| {
                !c.is_empty()
                    && c.len() <= 64
                    && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
            })
            .ok_or(EnrollLinkError::BadCode)?;
        Ok(Self { server, code })
    }
}

impl fmt::Display for EnrollLink {
    /// The link as the QR code carries it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}server={}&code={}",
            percent_encode(self.server.trim_end_matches('/')),
            percent_encode(&self.code)
        )
    }
}

/// An `http` or `https` URL with a host and no query, fragment or white space.
fn is_server_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split('/').next().unwrap_or_default();
            !host.is_empty()
                && !rest.contains(['?', '#'])
                && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space); `None` when an escape is broken or the bytes are
/// not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn a_link_reads_back_as_written() {
        let link = EnrollLink {
            server: "https://vaka.example.se/".into(),
            code: "K7QM-2XNP-84RT".into(),
        };
        let text = link.to_string();
        assert_eq!(
            text,
            "vaka:enroll?server=https%3A%2F%2Fvaka.example.se&code=K7QM-2XNP-84RT"
        );
        let read = EnrollLink::parse(&text).expect("reads");
        assert_eq!(read.server, "https://vaka.example.se");
        assert_eq!(read.code, "K7QM-2XNP-84RT");
    }

    #[rstest]
    #[case::order_and_unknown_keys(
        "vaka:enroll?v=2&code=ABCD-EFGH&server=http%3A%2F%2F127.0.0.1%3A8080",
        "http://127.0.0.1:8080",
        "ABCD-EFGH"
    )]
    #[case::with_a_path(
        "vaka:enroll?server=https%3A%2F%2Fexample.se%2Fvaka&code=abc",
        "https://example.se/vaka",
        "abc"
    )]
    #[case::white_space_around(
        "  vaka:enroll?server=https%3A%2F%2Fa.se&code=X1\n",
        "https://a.se",
        "X1"
    )]
    fn good_links(#[case] text: &str, #[case] server: &str, #[case] code: &str) {
        let link = EnrollLink::parse(text).expect("reads");
        assert_eq!((link.server.as_str(), link.code.as_str()), (server, code));
    }

    #[rstest]
    #[case::old_form_without_server("vaka:enroll?code=K7QM-2XNP-84RT", EnrollLinkError::BadServer)]
    #[case::other_scheme("https://vaka.example.se/?code=K7QM", EnrollLinkError::NotALink)]
    #[case::ftp_server(
        "vaka:enroll?server=ftp%3A%2F%2Fa.se&code=X",
        EnrollLinkError::BadServer
    )]
    #[case::server_with_query(
        "vaka:enroll?server=https%3A%2F%2Fa.se%3Fx%3D1&code=X",
        EnrollLinkError::BadServer
    )]
    #[case::broken_escape(
        "vaka:enroll?server=https%3A%2F%2Fa.se%ZZ&code=X",
        EnrollLinkError::BadServer
    )]
    #[case::no_code("vaka:enroll?server=https%3A%2F%2Fa.se", EnrollLinkError::BadCode)]
    #[case::code_with_spaces(
        "vaka:enroll?server=https%3A%2F%2Fa.se&code=A%20B",
        EnrollLinkError::BadCode
    )]
    #[case::empty("", EnrollLinkError::NotALink)]
    fn bad_links(#[case] text: &str, #[case] error: EnrollLinkError) {
        assert_eq!(EnrollLink::parse(text), Err(error));
    }
}
