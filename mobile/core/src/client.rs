//! The one client of the server's API that a device uses: sync, enrolment, areas, photo
//! uploads and a retired device's last word. It holds the HTTP client, the server's address and
//! the device's token; request bodies of sync are zstd-compressed JSON, and every answer that is
//! not a success becomes the server's typed error ([`DeviceError::Server`]).

use crate::error::{DeviceError, Result};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use vaka_shared::blob::BlobStatus;
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

/// The server at one address, as this device (with its token, once enrolled) talks to it.
#[derive(Debug, Clone)]
pub(crate) struct ServerClient<'a> {
    http: &'a reqwest::Client,
    server_url: String,
    token: Option<String>,
}

impl<'a> ServerClient<'a> {
    /// A client of the server at `server_url` (no trailing slash) before enrolment.
    pub(crate) fn new(http: &'a reqwest::Client, server_url: &str) -> Self {
        Self {
            http,
            server_url: server_url.trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// The same server, with the device's bearer token.
    pub(crate) fn with_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.server_url)
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder> {
        let token = self.token.as_deref().ok_or(DeviceError::NotEnrolled)?;
        Ok(request.bearer_auth(token))
    }

    /// `POST /api/v1/sync` with an encoded body ([`encode_sync`]).
    pub(crate) async fn sync(&self, body: Vec<u8>) -> Result<SyncResponse> {
        let request = self
            .http
            .post(self.url("sync"))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "zstd")
            .body(body);
        decode(self.authorised(request)?.send().await?).await
    }

    /// `POST /api/v1/enroll`.
    pub(crate) async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse> {
        let response = self
            .http
            .post(self.url("enroll"))
            .json(request)
            .send()
            .await?;
        decode(response).await
    }

    /// `GET /api/v1/areas`.
    pub(crate) async fn areas(&self) -> Result<AreasResponse> {
        let request = self.http.get(self.url("areas"));
        decode(self.authorised(request)?.send().await?).await
    }

    /// `POST /api/v1/device/retired`: a retired device says it handed over everything and is
    /// wiping itself; the server answers 204 and refuses the token from then on.
    pub(crate) async fn retired(&self) -> Result<()> {
        let request = self.http.post(self.url("device/retired"));
        let response = self.authorised(request)?.send().await?;
        if response.status().is_success() {
            return Ok(());
        }
        error_of(response).await
    }

    /// `GET /api/v1/blobs/{sha256}`: how many bytes of the photo the server holds (0 when it
    /// has none).
    pub(crate) async fn blob_offset(&self, sha256: &str) -> Result<u64> {
        let request = self.http.get(self.url(&format!("blobs/{sha256}")));
        let response = self.authorised(request)?.send().await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(0);
        }
        match read_status(response).await? {
            Ok(status) => Ok(status.received),
            Err(error) => Err(DeviceError::Server {
                status: 0,
                code: error.code,
                message: error.message,
            }),
        }
    }

    /// `PUT /api/v1/blobs/{sha256}?offset=…&size=…`: one chunk of a photo of `size` bytes,
    /// starting at `offset`. The server's status of the blob afterwards, or its typed refusal
    /// (an offset mismatch is one the caller recovers from).
    pub(crate) async fn put_blob_chunk(
        &self,
        sha256: &str,
        offset: u64,
        size: u64,
        chunk: Vec<u8>,
    ) -> Result<std::result::Result<BlobStatus, ApiError>> {
        let request = self
            .http
            .put(self.url(&format!("blobs/{sha256}?offset={offset}&size={size}")))
            .header(CONTENT_TYPE, "image/jpeg")
            .body(chunk);
        read_status(self.authorised(request)?.send().await?).await
    }
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

/// A blob status, or the server's typed error.
async fn read_status(
    response: reqwest::Response,
) -> Result<std::result::Result<BlobStatus, ApiError>> {
    let status = response.status();
    let body = response.bytes().await?;
    if status.is_success() {
        return Ok(Ok(serde_json::from_slice(&body)?));
    }
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(error) => Ok(Err(error)),
        Err(_) => Err(DeviceError::UnexpectedStatus {
            status: status.as_u16(),
        }),
    }
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
