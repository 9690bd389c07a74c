//! The wire types of `/api/v1/blobs`: photos travel out of band, by content hash, in resumable
//! chunks; an op only carries the attachment's `{sha256, size, type}`.

use serde::{Deserialize, Serialize};

/// Limits of the blob API.
pub mod limits {
    /// The largest blob the server accepts, in bytes, as for an attachment's `size` (a photo
    /// shrunk on the phone is far less).
    pub const MAX_BLOB_BYTES: u64 = 20 * 1024 * 1024;
    /// The media types a blob may have.
    pub const CONTENT_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];
    /// The largest chunk in one `PUT`, in bytes.
    pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
}

/// Where an upload stands on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BlobState {
    /// An entry refers to it, but no byte has arrived yet ("photo pending").
    Pending,
    /// Some bytes arrived; resume at `received`.
    Partial,
    /// Every byte arrived and the SHA-256 matched.
    Complete,
}

/// `GET /api/v1/blobs/{sha256}` and the answer to each `PUT` chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobStatus {
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// Where the upload stands.
    pub state: BlobState,
    /// Bytes stored so far: the offset the next chunk must start at.
    pub received: u64,
    /// The full size, once an upload announced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// Whether `text` is a lowercase hex SHA-256 (64 characters).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lowercase_hex_of_64_characters_is_a_hash() {
        assert!(is_sha256_hex(&"ab".repeat(32)));
        for bad in [
            "",
            "AB".repeat(32).as_str(),
            &"g".repeat(64),
            &"a".repeat(63),
        ] {
            assert!(!is_sha256_hex(bad), "{bad}");
        }
    }
}
