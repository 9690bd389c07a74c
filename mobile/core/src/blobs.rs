//! Photos on the phone and their way to the server: a photo is shrunk and stripped
//! ([`super::photos`]), stored by SHA-256 in the local file, referred to by an entry as an
//! [`AttachmentRef`], and uploaded out of band in resumable chunks through the [`crate::client::ServerClient`]. After each chunk the offset
//! the server confirmed is stored, and before each upload the server is asked where it stands,
//! so an upload cut off half-way goes on from where it stopped.

use super::Device;
use super::error::{DeviceError, Result};
use super::photos;
use super::store::{i64_of, u64_of};
use reqwest::StatusCode;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use vaka_shared::blob::BlobState;
use vaka_shared::model::AttachmentRef;
use vaka_shared::sync::ErrorCode;

/// The default chunk size of uploads: small enough to get through a bad connection.
pub const DEFAULT_CHUNK_BYTES: usize = 64 * 1024;

/// Where a photo stands, as this device sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoStatus {
    /// On the phone; `uploaded` of `size` bytes confirmed by the server.
    OnPhone {
        /// Bytes the server confirmed.
        uploaded: u64,
        /// The photo's size.
        size: u64,
    },
    /// The server has all of it, verified.
    OnServer,
    /// Not on this phone (a photo of someone else's entry).
    Elsewhere,
}

/// What one [`Device::upload_photos`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Photos that reached the server whole.
    pub completed: usize,
    /// Chunks sent.
    pub chunks: usize,
    /// Bytes sent.
    pub bytes: u64,
}

/// A photo waiting for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPhoto {
    /// Its hash.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Bytes the server confirmed.
    pub uploaded: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Device {
    /// Shrinks and strips a photo from the camera, stores it on the phone and returns the
    /// reference an entry carries. Storing the same photo twice stores it once. A retiring
    /// phone takes no new photos ([`DeviceError::Retiring`]).
    pub fn store_photo(&self, raw: &[u8]) -> Result<AttachmentRef> {
        if super::store::load_meta(&self.conn())?.retiring {
            return Err(DeviceError::Retiring);
        }
        let prepared = photos::prepare(raw)?;
        let sha256 = hex(&Sha256::digest(&prepared.jpeg));
        let size = prepared.jpeg.len() as u64;
        let now = self.inner.wall.now_ms();
        self.conn().execute(
            "INSERT OR IGNORE INTO blobs (sha256, content_type, size, data, added_ms)
             VALUES (?1, 'image/jpeg', ?2, ?3, ?4)",
            params![sha256, i64_of(size), prepared.jpeg, now],
        )?;
        Ok(AttachmentRef {
            sha256,
            size,
            content_type: "image/jpeg".into(),
        })
    }

    /// The bytes of a photo stored on this phone.
    pub fn photo(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row("SELECT data FROM blobs WHERE sha256 = ?1", [sha256], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Where a photo stands.
    pub fn photo_status(&self, sha256: &str) -> Result<PhotoStatus> {
        let row: Option<(i64, i64, bool)> = self
            .conn()
            .query_row(
                "SELECT size, uploaded, done_at_ms IS NOT NULL FROM blobs WHERE sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(match row {
            None => PhotoStatus::Elsewhere,
            Some((_, _, true)) => PhotoStatus::OnServer,
            Some((size, uploaded, false)) => PhotoStatus::OnPhone {
                uploaded: u64_of(uploaded),
                size: u64_of(size),
            },
        })
    }

    /// Photos the server does not have whole yet, oldest first.
    pub fn pending_photos(&self) -> Result<Vec<PendingPhoto>> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT sha256, size, uploaded FROM blobs WHERE done_at_ms IS NULL ORDER BY added_ms",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(PendingPhoto {
                sha256: r.get(0)?,
                size: u64_of(r.get(1)?),
                uploaded: u64_of(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Uploads every pending photo in chunks of `chunk_bytes`, each from where the server's
    /// copy ends. Stops at the first network or server error; what was confirmed stays
    /// confirmed, and the next call goes on from there. A server that says the device was
    /// marked lost makes it wipe itself ([`DeviceError::Wiped`]).
    pub async fn upload_photos(
        &self,
        http: &reqwest::Client,
        chunk_bytes: usize,
    ) -> Result<UploadReport> {
        let result = self.upload_pending(http, chunk_bytes).await;
        self.wipe_if_lost(result).await
    }

    async fn upload_pending(
        &self,
        http: &reqwest::Client,
        chunk_bytes: usize,
    ) -> Result<UploadReport> {
        let chunk_bytes = chunk_bytes.clamp(1, vaka_shared::blob::limits::MAX_CHUNK_BYTES);
        let server = self.server(http).await?;
        let mut report = UploadReport::default();
        let pending = self.blocking(Device::pending_photos).await?;
        for photo in pending {
            let Some(data) = self.photo(&photo.sha256)? else {
                continue;
            };
            let mut offset = server.blob_offset(&photo.sha256).await?;
            loop {
                if offset >= photo.size {
                    self.record_upload(&photo.sha256, photo.size, true)?;
                    report.completed += 1;
                    break;
                }
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                let end = (start + chunk_bytes).min(data.len());
                let answer = server
                    .put_blob_chunk(&photo.sha256, offset, photo.size, data[start..end].to_vec())
                    .await?;
                report.chunks += 1;
                report.bytes += (end - start) as u64;
                match answer {
                    Ok(status) => {
                        offset = status.received;
                        let complete = status.state == BlobState::Complete;
                        self.record_upload(&photo.sha256, offset, complete)?;
                        if complete {
                            report.completed += 1;
                            break;
                        }
                    }
                    Err(error) if error.code == ErrorCode::BlobOffsetMismatch => {
                        offset = server.blob_offset(&photo.sha256).await?;
                    }
                    Err(error) => {
                        return Err(DeviceError::Server {
                            status: StatusCode::CONFLICT.as_u16(),
                            code: error.code,
                            message: error.message,
                        });
                    }
                }
            }
        }
        Ok(report)
    }

    fn record_upload(&self, sha256: &str, uploaded: u64, complete: bool) -> Result<()> {
        let done = complete.then(|| self.inner.wall.now_ms());
        self.conn().execute(
            "UPDATE blobs SET uploaded = ?2, done_at_ms = ?3 WHERE sha256 = ?1",
            params![sha256, i64_of(uploaded), done],
        )?;
        Ok(())
    }

    /// A setting of the app on this phone.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Stores a setting of the app on this phone.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::PhotoStatus;
    use crate::photos::tests::jpeg_with_exif;
    use crate::test_support::enrolled;
    use vaka_shared::model::Role;

    #[test]
    fn a_photo_is_stored_once_by_its_hash_and_waits_for_upload() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let raw = jpeg_with_exif(2000, 1000);
        let first = device.store_photo(&raw).expect("stores");
        let again = device.store_photo(&raw).expect("stores again");
        assert_eq!(first, again);
        assert_eq!(first.sha256.len(), 64);
        assert_eq!(first.content_type, "image/jpeg");
        let stored = device.photo(&first.sha256).expect("reads").expect("exists");
        assert_eq!(stored.len() as u64, first.size);
        assert_eq!(
            device.photo_status(&first.sha256).expect("status"),
            PhotoStatus::OnPhone {
                uploaded: 0,
                size: first.size
            }
        );
        assert_eq!(device.pending_photos().expect("lists").len(), 1);
    }

    #[test]
    fn settings_are_kept_and_overwritten() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        assert_eq!(device.setting("lang").expect("reads"), None);
        device.set_setting("lang", "en").expect("writes");
        device.set_setting("lang", "sv").expect("overwrites");
        assert_eq!(
            device.setting("lang").expect("reads").as_deref(),
            Some("sv")
        );
    }
}
