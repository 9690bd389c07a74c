//! The HTTP side of sync, enrolment and a retired device's last word: request bodies
//! (zstd-compressed JSON), the bearer token, and reading the server's answers and typed errors.

use crate::error::{DeviceError, Result};
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use vaka_shared::sync::{
    ApiError, AreasResponse, EnrollRequest, EnrollResponse, SyncRequest, SyncResponse,
};

/// zstd level for request bodies: fast, and JSON of ops shrinks well at it.
const ZSTD_LEVEL: i32 = 3;

/// A request body: the JSON of `request`, zstd-compressed.
pub(crate) fn encode_sync(request: &SyncRequest) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(request)?;
    zstd::encode_all(json.as_slice(), ZSTD_LEVEL).map_err(DeviceError::Compress)
}

/// `POST {server}/api/v1/sync` with an encoded body.
pub(crate) async fn post_sync(
    http: &reqwest::Client,
    server_url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<SyncResponse> {
    let response = http
        .post(format!("{server_url}/api/v1/sync"))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, "zstd")
        .body(body)
        .send()
        .await?;
    decode(response).await
}

/// `POST {server}/api/v1/enroll`.
pub(crate) async fn post_enroll(
    http: &reqwest::Client,
    server_url: &str,
    request: &EnrollRequest,
) -> Result<EnrollResponse> {
    let response = http
        .post(format!("{server_url}/api/v1/enroll"))
        .json(request)
        .send()
        .await?;
    decode(response).await
}

/// `GET {server}/api/v1/areas`.
pub(crate) async fn get_areas(
    http: &reqwest::Client,
    server_url: &str,
    token: &str,
) -> Result<AreasResponse> {
    let response = http
        .get(format!("{server_url}/api/v1/areas"))
        .bearer_auth(token)
        .send()
        .await?;
    decode(response).await
}

/// `POST {server}/api/v1/device/retired`: a retired device says it handed over everything and
/// is wiping itself; the server answers 204 and refuses the token from then on.
pub(crate) async fn post_retired(
    http: &reqwest::Client,
    server_url: &str,
    token: &str,
) -> Result<()> {
    let response = http
        .post(format!("{server_url}/api/v1/device/retired"))
        .bearer_auth(token)
        .send()
        .await?;
    if response.status().is_success() {
        return Ok(());
    }
    error_of(response).await
}

/// The answer's JSON, or the server's typed error.
async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    if status.is_success() {
        return Ok(response.json().await?);
    }
    error_of(response).await
}

/// The server's typed error of an answer that is not a success.
async fn error_of<T>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    let body = response.bytes().await?;
    Err(match serde_json::from_slice::<ApiError>(&body) {
        Ok(error) => DeviceError::Server {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        },
        Err(_) => DeviceError::UnexpectedStatus {
            status: status.as_u16(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaka_shared::sync::PullRequest;

    #[test]
    fn request_bodies_are_zstd_compressed_json() {
        let request = SyncRequest {
            push: vec![],
            pull: Some(PullRequest {
                cursor: 42,
                limit: None,
            }),
        };
        let body = encode_sync(&request).expect("encodes");
        let json = zstd::decode_all(body.as_slice()).expect("is zstd");
        let back: SyncRequest = serde_json::from_slice(&json).expect("is the request");
        assert_eq!(back, request);
    }
}
