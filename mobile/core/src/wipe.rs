//! Lost and retired phones. A phone a coordinator marked lost is refused with `device_lost` and
//! wipes itself at once; a retired one first hands over every op and photo the server does not
//! hold, says so with `POST /api/v1/device/retired`, then wipes. A wipe removes everything the
//! phone held (entities, ops, photos, areas, identity and token) and vacuums the file, so no
//! old page remains; only the app's display preferences and the reason stay, for the
//! enrolment screen.

use super::Device;
use super::error::{DeviceError, Result};
use super::removal;
use super::store;
use rusqlite::{Connection, TransactionBehavior};
use vaka_shared::sync::ErrorCode;

/// Why the phone wiped itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WipeReason {
    /// A coordinator marked it lost.
    Lost,
    /// A coordinator retired it, and it handed over everything first.
    Retired,
}

impl WipeReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lost => "lost",
            Self::Retired => "retired",
        }
    }

    /// From the stored name.
    pub fn from_wire(text: &str) -> Option<Self> {
        match text {
            "lost" => Some(Self::Lost),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }

    /// In words, for logs and the command line.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Lost => "marked lost",
            Self::Retired => "retired, everything handed over",
        }
    }
}

/// The app's display preferences, kept across a wipe: they say nothing about any entry.
const KEPT_SETTINGS: &str = "'lang', 'theme', 'location', 'photos_wifi_only'";

/// Removes everything the phone holds and records why; then vacuums and truncates the WAL.
pub(crate) fn wipe(conn: &mut Connection, reason: WipeReason, now_ms: i64) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(&format!(
        "DELETE FROM ops;
         DELETE FROM entities;
         DELETE FROM blobs;
         DELETE FROM areas;
         DELETE FROM settings WHERE key NOT IN ({KEPT_SETTINGS});"
    ))?;
    tx.execute(
        "UPDATE meta SET server_url = NULL, device_id = NULL, token = NULL, org_id = NULL,
             org_name = NULL, member_id = NULL, member_name = NULL, role = NULL, cursor = 0,
             next_device_seq = 1, push_from = 1, hlc_last = NULL, clock_offset_ms = 0,
             last_sync_ok_at_ms = NULL, last_sync_error = NULL, retention_days = 730,
             retiring = 0, wiped = ?1, wiped_at_ms = ?2
         WHERE id = 1",
        rusqlite::params![reason.as_str(), now_ms],
    )?;
    tx.commit()?;
    conn.execute_batch("VACUUM")?;
    removal::checkpoint(conn)?;
    tracing::info!(
        reason = reason.describe(),
        "the phone wiped everything it held"
    );
    Ok(())
}

impl Device {
    /// Why the phone last wiped itself, until it is enrolled again.
    pub fn wiped(&self) -> Result<Option<WipeReason>> {
        Ok(store::load_meta(&self.reader())?.wiped)
    }

    /// Wipes the phone now, recording `reason`.
    pub(crate) async fn wipe(&self, reason: WipeReason) -> Result<()> {
        self.blocking(move |device| {
            let now = device.inner.wall.now_ms();
            wipe(&mut device.conn(), reason, now)
        })
        .await
    }

    /// Turns the server's `device_lost` into a wipe: the phone forgets everything and the
    /// caller gets [`DeviceError::Wiped`]. Any other result passes through.
    pub(crate) async fn wipe_if_lost<T>(&self, result: Result<T>) -> Result<T> {
        match result {
            Err(error) if error.is_device_lost() => {
                self.wipe(WipeReason::Lost).await?;
                Err(DeviceError::Wiped(WipeReason::Lost))
            }
            other => other,
        }
    }

    /// The last step of a retired phone: once its outbox is empty, it uploads every photo the
    /// server lacks, checks that nothing is left, tells the server, and wipes. A server that
    /// already refuses the token (an earlier call went through but its answer was lost) is
    /// taken as the same answer, but only with nothing left to hand over.
    pub(crate) async fn hand_over_and_wipe(&self, http: &reqwest::Client) -> Result<()> {
        self.upload_photos(http, super::DEFAULT_CHUNK_BYTES).await?;
        self.blocking(Device::nothing_left_to_hand_over).await?;
        match self.server(http).await?.retired().await {
            Ok(()) => {}
            Err(error) if error.server_code() == Some(ErrorCode::TokenRevoked) => {}
            Err(error) => return self.wipe_if_lost(Err(error)).await,
        }
        self.wipe(WipeReason::Retired).await
    }

    /// Succeeds when no own op waits for the server and every photo is on it.
    pub(crate) fn nothing_left_to_hand_over(&self) -> Result<()> {
        let ops = self.outbox_len()?;
        let photos = self.pending_photos()?.len();
        if ops > 0 || photos > 0 {
            return Err(DeviceError::HandOverIncomplete { ops, photos });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::WipeReason;
    use crate::photos::tests::jpeg_with_exif;
    use crate::test_support::{
        FakeServer, T0, api_error, apply, enrolled, enrolled_plain, file_holds, incident, own_ops,
        response,
    };
    use crate::{Device, DeviceError, SyncStatus};
    use rstest::rstest;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use vaka_shared::blob::{BlobState, BlobStatus};
    use vaka_shared::model::{IncidentFields, Role};
    use vaka_shared::sync::{ErrorCode, PushResult};

    const SECRET: &str = "Bråk vid kiosken på Torget";

    fn count(device: &Device, table: &str) -> i64 {
        device
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("counts")
    }

    /// Asserts that nothing of what the phone held is left, and why it wiped.
    fn assert_wiped(device: &Device, reason: WipeReason) {
        assert_eq!(device.identity().expect("reads"), None);
        assert_eq!(device.wiped().expect("reads"), Some(reason));
        for table in ["ops", "entities", "blobs", "areas"] {
            assert_eq!(count(device, table), 0, "{table}");
        }
        let token: Option<String> = device
            .conn()
            .query_row("SELECT token FROM meta", [], |r| r.get(0))
            .expect("reads");
        assert_eq!(token, None);
        let state = device.sync_state().expect("state");
        assert_eq!((state.cursor, state.pending, state.retiring), (0, 0, false));
    }

    /// The request that meets `device_lost`.
    #[derive(Debug, Clone, Copy)]
    enum Contact {
        Sync,
        Photos,
        Areas,
    }

    #[rstest]
    #[case::sync(Contact::Sync)]
    #[case::photos(Contact::Photos)]
    #[case::areas(Contact::Areas)]
    #[tokio::test]
    async fn a_phone_marked_lost_wipes_everything_at_its_next_contact(#[case] contact: Contact) {
        let (dir, device, _) = enrolled_plain(Role::Volunteer);
        let photo = device
            .store_photo(&jpeg_with_exif(300, 200))
            .expect("stores");
        device
            .create_incident(IncidentFields {
                description: Some(SECRET.to_owned()),
                attachments: Some(vec![photo]),
                ..incident(2)
            })
            .expect("logs");
        device
            .replace_areas(&[crate::testing::square("Torget", 18.0, 59.3, 0.01)])
            .expect("areas");
        device.set_setting("lang", "en").expect("a preference");
        let path = dir.path().join("device.db");
        assert!(file_holds(&path, SECRET));

        let server = FakeServer::start(|_| (401, api_error(ErrorCode::DeviceLost))).await;
        server.serve(&device);
        let http = reqwest::Client::new();
        let error = match contact {
            Contact::Sync => device.sync_once(&http).await.map(|_| ()),
            Contact::Photos => device.upload_photos(&http, 1024).await.map(|_| ()),
            Contact::Areas => device.refresh_areas(&http).await.map(|_| ()),
        }
        .expect_err("refused");
        assert!(
            matches!(error, DeviceError::Wiped(WipeReason::Lost)),
            "{error:?}"
        );
        assert_wiped(&device, WipeReason::Lost);
        assert_eq!(
            device.setting("lang").expect("reads").as_deref(),
            Some("en"),
            "the language stays for the enrolment screen"
        );
        assert!(!file_holds(&path, SECRET), "the text lingers in the file");
        assert!(!file_holds(&path, "secret-token"), "the token lingers");
        assert!(matches!(
            device.create_incident(incident(1)),
            Err(DeviceError::NotEnrolled)
        ));
    }

    #[tokio::test]
    async fn a_retired_phone_hands_over_its_outbox_and_photos_then_wipes() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let photo = device
            .store_photo(&jpeg_with_exif(300, 200))
            .expect("stores");
        device
            .create_incident(IncidentFields {
                attachments: Some(vec![photo.clone()]),
                ..incident(2)
            })
            .expect("logs");
        device.create_incident(incident(3)).expect("logs");
        let retired_called = Arc::new(AtomicBool::new(false));
        let called = Arc::clone(&retired_called);
        let size = photo.size;
        let server = FakeServer::start(move |request| {
            assert!(!called.load(Ordering::SeqCst), "nothing after `retired`");
            match (request.method.as_str(), request.path.as_str()) {
                ("POST", "/api/v1/sync") => {
                    let pushed = request.sync_request().push;
                    // One op per round, so the phone has to keep pushing.
                    let through = pushed.first().map_or(2, |op| op.device_seq);
                    let mut answer = response(
                        T0,
                        PushResult {
                            acked_through: through,
                            rejected: vec![],
                            stopped: None,
                        },
                        vec![],
                        0,
                    );
                    answer.retire = true;
                    (200, serde_json::to_string(&answer).expect("json"))
                }
                ("GET", path) if path.starts_with("/api/v1/blobs/") => {
                    (404, api_error(ErrorCode::NotFound))
                }
                ("PUT", path) if path.starts_with("/api/v1/blobs/") => {
                    assert_eq!(request.body.len() as u64, size, "one chunk");
                    let status = BlobStatus {
                        sha256: path["/api/v1/blobs/".len()..64 + "/api/v1/blobs/".len()]
                            .to_owned(),
                        state: BlobState::Complete,
                        received: size,
                        size: Some(size),
                    };
                    (200, serde_json::to_string(&status).expect("json"))
                }
                ("POST", "/api/v1/device/retired") => {
                    called.store(true, Ordering::SeqCst);
                    (204, String::new())
                }
                other => panic!("unexpected request {other:?}"),
            }
        })
        .await;
        server.serve(&device);

        let report = device
            .sync_once(&reqwest::Client::new())
            .await
            .expect("hands over");
        assert_eq!(report.wiped, Some(WipeReason::Retired));
        assert!(report.retire);
        assert_eq!(report.acked, 2);
        assert!(retired_called.load(Ordering::SeqCst));
        let requests = server.requests();
        let mut pushed: Vec<u64> = requests
            .iter()
            .filter(|r| r.path == "/api/v1/sync")
            .flat_map(|r| r.sync_request().push)
            .map(|op| op.device_seq)
            .collect();
        // Round 1 sends both and only the first is taken; round 2 sends the second again.
        assert_eq!(pushed, vec![1, 2, 2]);
        pushed.dedup();
        assert_eq!(pushed, vec![1, 2], "every op handed over, in order");
        let uploads = requests.iter().filter(|r| r.method == "PUT").count();
        assert_eq!(uploads, 1, "the photo handed over");
        assert_eq!(
            requests.last().map(|r| r.path.as_str()),
            Some("/api/v1/device/retired")
        );
        assert_wiped(&device, WipeReason::Retired);
    }

    #[test]
    fn a_retiring_phone_takes_no_new_entries_or_photos() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let id = device.create_incident(incident(2)).expect("logs");
        let mut answer = response(
            T0,
            PushResult {
                acked_through: 0,
                rejected: vec![],
                stopped: None,
            },
            vec![],
            0,
        );
        answer.retire = true;
        apply(&device, &answer);
        assert!(device.sync_state().expect("state").retiring);
        assert!(matches!(
            device.create_incident(incident(1)),
            Err(DeviceError::Retiring)
        ));
        assert!(matches!(
            device.store_photo(&jpeg_with_exif(100, 100)),
            Err(DeviceError::Retiring)
        ));
        let entry = device.entry(id).expect("reads").expect("kept");
        assert_eq!(entry.status, SyncStatus::OnPhone, "still to hand over");
    }

    #[tokio::test]
    async fn a_retiring_phone_refused_its_token_wipes_only_when_nothing_is_left_to_send() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        device.create_incident(incident(2)).expect("logs");
        let mut answer = response(
            T0,
            PushResult {
                acked_through: 0,
                rejected: vec![],
                stopped: None,
            },
            vec![],
            0,
        );
        answer.retire = true;
        apply(&device, &answer);
        let server = FakeServer::start(|_| (401, api_error(ErrorCode::TokenRevoked))).await;
        server.serve(&device);
        let http = reqwest::Client::new();
        let error = device.sync_once(&http).await.expect_err("refused");
        assert_eq!(error.server_code(), Some(ErrorCode::TokenRevoked));
        assert_eq!(own_ops(&device).len(), 1, "an op not sent stays");
        assert!(device.identity().expect("reads").is_some());

        // Once the op is on the server (the answer that said so came before the token went).
        answer.push.acked_through = 1;
        apply(&device, &answer);
        let report = device.sync_once(&http).await.expect("wipes");
        assert_eq!(report.wiped, Some(WipeReason::Retired));
        assert_wiped(&device, WipeReason::Retired);
    }
}
