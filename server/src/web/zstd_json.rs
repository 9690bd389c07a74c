//! JSON answers compressed with zstd in one call, for the sync API.
//!
//! The general compression layer compresses as a stream: it cannot know the answer's size, so
//! every answer in flight holds a full-size zstd context (about a megabyte). With a thousand
//! devices syncing at once those contexts were most of the server's memory. An answer compressed
//! whole, by a context kept per worker thread, needs tables only as large as the answer.

use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::cell::RefCell;

/// zstd level of answers: the same as the devices use for their requests.
const LEVEL: i32 = 3;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
}

/// Whether the request's `Accept-Encoding` allows zstd (present and not `q=0`).
pub fn accepts_zstd(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case("zstd") && !refused
        })
}

fn compress(json: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match cell.as_mut() {
            Some(c) => c,
            None => cell.insert(zstd::bulk::Compressor::new(LEVEL)?),
        };
        compressor.compress(json)
    })
}

/// `value` as JSON, zstd-compressed when `zstd` is true (and compression works), plain otherwise
/// (the compression layer may still gzip it).
pub fn response<T: Serialize>(value: &T, zstd: bool) -> Response {
    let json = match serde_json::to_vec(value) {
        Ok(json) => json,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise an answer");
            return crate::error::AppError::Http(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
        }
    };
    let json_type = [(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    if zstd {
        match compress(&json) {
            Ok(body) => {
                return (
                    [
                        json_type[0].clone(),
                        (CONTENT_ENCODING, HeaderValue::from_static("zstd")),
                        (VARY, HeaderValue::from_static("accept-encoding")),
                    ],
                    body,
                )
                    .into_response();
            }
            Err(e) => tracing::warn!(error = %e, "zstd compression failed; answering plain"),
        }
    }
    (json_type, json).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("zstd", true)]
    #[case("gzip, zstd", true)]
    #[case("gzip;q=1.0, ZSTD;q=0.5", true)]
    #[case("zstd;q=0", false)]
    #[case("gzip, br", false)]
    #[case("", false)]
    fn reads_accept_encoding(#[case] header: &str, #[case] expected: bool) {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_str(header).expect("header"),
        );
        assert_eq!(accepts_zstd(&headers), expected);
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec()
    }

    #[tokio::test]
    async fn answers_decompress_to_the_json_or_come_plain() {
        let value = serde_json::json!({"ops": vec!["Bråk vid kiosken"; 100]});
        let json = serde_json::to_vec(&value).expect("json");
        let compressed = response(&value, true);
        assert_eq!(compressed.headers()[CONTENT_ENCODING], "zstd");
        let wire = body(compressed).await;
        assert!(wire.len() < json.len() / 4, "{} bytes", wire.len());
        assert_eq!(zstd::decode_all(wire.as_slice()).expect("zstd"), json);
        let plain = response(&value, false);
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());
        assert_eq!(body(plain).await, json);
    }
}
