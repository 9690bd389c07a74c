//! The sync client: rounds of push-and-pull against `POST /api/v1/sync` until the outbox is empty
//! and the pull has caught up. Decisions live in [`plan`], the local effects of an answer in
//! [`apply`], the wire in [`crate::client`]; this file runs the rounds and what follows them: the
//! phone's own retention purge, a retired phone's hand-over and wipe, a lost phone's wipe.

pub(crate) mod apply;
pub(crate) mod plan;

use super::Device;
use super::error::{DeviceError, Result};
use super::removal;
use super::store::{self, OP_COLUMNS, i64_of, op_from_row};
use super::wipe::WipeReason;
use crate::client::{ServerClient, encode_sync};
use std::sync::Arc;
use std::time::Instant;
use vaka_shared::sync::{ErrorCode, PullRequest, StopCode, SyncRequest, SyncResponse, limits};

/// Rounds in a row that may move neither the push nor the pull before sync gives up.
const MAX_STUCK_ROUNDS: u32 = 3;

/// Room left in a request body for everything around the ops, in bytes.
const BODY_MARGIN: usize = 64 * 1024;

/// What one [`Device::sync_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Round trips made.
    pub rounds: u32,
    /// Own ops the server acknowledged (accepted or rejected).
    pub acked: u64,
    /// Own ops the server refused.
    pub rejected: usize,
    /// Ops pulled.
    pub pulled: usize,
    /// Own ops re-stamped after the server found the phone's clock ahead.
    pub restamped: usize,
    /// Entries the server's retention purge removed from the phone.
    pub purged: usize,
    /// Entries the server purged that stay on the phone, as it has changes of them not sent
    /// yet (the server refuses those changes with `purged`; the phone shows them).
    pub kept_unsent: usize,
    /// Redactions that changed something the phone held.
    pub redacted: usize,
    /// Entries the phone removed by itself as older than the retention period.
    pub expired: usize,
    /// Messages from the desk this sync brought (their receipts go to the server).
    pub messages: usize,
    /// Set when the server asked this phone to retire.
    pub retire: bool,
    /// Set when the phone wiped itself at the end of this sync (a retired phone that handed
    /// over everything).
    pub wiped: Option<WipeReason>,
}

/// A request ready to send.
struct Prepared {
    server_url: String,
    token: String,
    body: Vec<u8>,
}

impl Device {
    /// Syncs until nothing is left to push and the pull has caught up, then removes entries
    /// older than the retention period. A network or server error ends it with an error and
    /// changes nothing but the recorded last error; what the rounds before it applied stays
    /// applied. A phone the server says is lost wipes itself and ends with
    /// [`DeviceError::Wiped`]; a retired phone hands over everything, wipes itself and says so
    /// in [`SyncReport::wiped`].
    pub async fn sync_once(&self, http: &reqwest::Client) -> Result<SyncReport> {
        let _one_at_a_time = self.inner.sync_lock.lock().await;
        let result = match self.sync_rounds(http).await {
            Ok(report) => self.after_rounds(http, report).await,
            Err(error) if error.server_code() == Some(ErrorCode::TokenRevoked) => {
                self.retired_already(error).await
            }
            Err(error) => Err(error),
        };
        let mut result = self.wipe_if_lost(result).await;
        let wiped = match &result {
            Ok(report) => report.wiped.is_some(),
            Err(error) => matches!(error, DeviceError::Wiped(_)),
        };
        if wiped {
            return result;
        }
        if result.is_ok()
            && self.blocking(Device::areas_stale).await?
            && let Err(error) = self.refresh_areas(http).await
        {
            if let DeviceError::Wiped(_) = error {
                return Err(error);
            }
            tracing::info!(%error, "areas not fetched; the phone keeps its copy");
        }
        if let Ok(report) = &mut result {
            report.expired += self.blocking(Device::expire_old_entries).await?;
        }
        let record = match &result {
            Ok(_) => Ok(self.inner.wall.now_ms()),
            Err(error) => Err(error.to_string()),
        };
        self.blocking(move |device| {
            store::store_sync_outcome(
                &device.conn(),
                record.as_ref().map(|ms| *ms).map_err(String::as_str),
            )
        })
        .await?;
        result
    }

    /// After rounds that caught up: a phone asked to retire hands over and wipes.
    async fn after_rounds(&self, http: &reqwest::Client, report: SyncReport) -> Result<SyncReport> {
        if !report.retire {
            return Ok(report);
        }
        self.hand_over_and_wipe(http).await?;
        Ok(SyncReport {
            wiped: Some(WipeReason::Retired),
            ..report
        })
    }

    /// A refused token on a phone that was retiring and has nothing left to hand over: an
    /// earlier `retired` call went through and only its answer was lost, so the phone wipes as
    /// it would have. Otherwise the error stands (nothing unsent is given up).
    async fn retired_already(&self, error: DeviceError) -> Result<SyncReport> {
        let done = self
            .blocking(|device| {
                Ok(store::load_meta(&device.conn())?.retiring
                    && device.nothing_left_to_hand_over().is_ok())
            })
            .await?;
        if !done {
            return Err(error);
        }
        self.wipe(WipeReason::Retired).await?;
        Ok(SyncReport {
            wiped: Some(WipeReason::Retired),
            ..SyncReport::default()
        })
    }

    /// Removes the entries older than the organisation's retention period (as the server last
    /// said it; 730 days before the first answer), except held ones and those with own ops
    /// not yet acknowledged. Runs on open and after each sync; returns how many went. The
    /// entries are looked for through the index of their times on the read connection, so the
    /// write connection is taken only when some are to go.
    pub fn expire_old_entries(&self) -> Result<usize> {
        let candidates = {
            let reader = self.reader();
            let meta = store::load_meta(&reader)?;
            let now = super::clock::corrected_ms(&self.inner.wall, meta.clock_offset_ms);
            removal::expired_entries(&reader, now, meta.retention_days)?
        };
        if candidates.is_empty() {
            return Ok(0);
        }
        let removed = self.write_tx(|tx| {
            let meta = store::load_meta(tx)?;
            let now = super::clock::corrected_ms(&self.inner.wall, meta.clock_offset_ms);
            removal::expire(tx, &candidates, now, meta.retention_days)
        })?;
        if removed > 0 {
            removal::checkpoint(&self.conn())?;
            tracing::info!(removed, "entries older than the retention period removed");
        }
        Ok(removed)
    }

    async fn sync_rounds(&self, http: &reqwest::Client) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let mut stuck = 0;
        let mut position = None;
        loop {
            let prepared = self.blocking(Device::prepare_round).await?;
            let sent_ms = self.inner.wall.now_ms();
            let server = ServerClient::new(http, &prepared.server_url).with_token(prepared.token);
            let response = server.sync(prepared.body).await?;
            let received_ms = self.inner.wall.now_ms();
            let outcome = self.apply_round(response, sent_ms, received_ms).await?;
            report.rounds += 1;
            report.acked += outcome.acked;
            report.rejected += outcome.rejected;
            report.pulled += outcome.pulled;
            report.restamped += outcome.restamped;
            report.purged += outcome.purged;
            report.kept_unsent += outcome.kept_unsent;
            report.redacted += outcome.redacted;
            report.messages += outcome.messages_received;
            report.retire = outcome.retire;
            if outcome.removals > 0 {
                // Old page versions holding a removed text do not stay in the WAL.
                self.blocking(|device| removal::checkpoint(&device.conn()))
                    .await?;
            }
            if let Some(stop) = &outcome.stop {
                tracing::info!(at_seq = stop.at_seq, code = ?stop.code, "{}", stop.message);
                if stop.code == StopCode::OpMismatch {
                    return Err(DeviceError::PushStopped {
                        at_seq: stop.at_seq,
                        code: stop.code,
                        message: stop.message.clone(),
                    });
                }
            }
            let nothing_to_push = outcome.push_from >= outcome.next_device_seq;
            if nothing_to_push && !outcome.more_to_pull {
                return Ok(report);
            }
            let now = (outcome.push_from, outcome.cursor);
            if position == Some(now) {
                stuck += 1;
                if stuck >= MAX_STUCK_ROUNDS {
                    return Err(DeviceError::NoProgress { rounds: stuck });
                }
            } else {
                stuck = 0;
            }
            position = Some(now);
        }
    }

    /// Applies the answer to one round: the answer with the first part of its pulled page in
    /// one local transaction, then each further part in its own ([`apply::PULL_PART`] items or
    /// [`apply::PULL_PART_TIME`], whichever ends it first), each
    /// on a blocking thread, so a save made meanwhile waits for one part at most.
    async fn apply_round(
        &self,
        response: SyncResponse,
        sent_ms: i64,
        received_ms: i64,
    ) -> Result<apply::RoundOutcome> {
        let response = Arc::new(response);
        let answer = Arc::clone(&response);
        let (mut outcome, mut next) = self
            .blocking(move |device| {
                device.write_tx(|tx| {
                    let mut outcome =
                        apply::apply_answer(tx, &device.inner.wall, &answer, sent_ms, received_ms)?;
                    let next = match &answer.pull {
                        Some(page) => apply::apply_page_part(
                            tx,
                            &device.inner.wall,
                            page,
                            0,
                            apply::PULL_PART,
                            Some(Instant::now() + apply::PULL_PART_TIME),
                            &mut outcome,
                        )?,
                        None => 0,
                    };
                    Ok((outcome, next))
                })
            })
            .await?;
        while response
            .pull
            .as_ref()
            .is_some_and(|page| next < apply::page_len(page))
        {
            let page = Arc::clone(&response);
            (outcome, next) = self
                .blocking(move |device| {
                    device.write_tx(|tx| {
                        let mut outcome = outcome;
                        let next = match &page.pull {
                            Some(page) => apply::apply_page_part(
                                tx,
                                &device.inner.wall,
                                page,
                                next,
                                apply::PULL_PART,
                                Some(Instant::now() + apply::PULL_PART_TIME),
                                &mut outcome,
                            )?,
                            None => next,
                        };
                        Ok((outcome, next))
                    })
                })
                .await?;
        }
        Ok(outcome)
    }

    /// Plans the next round: the own ops to push (bounded in count and bytes) and the pull.
    fn prepare_round(&self) -> Result<Prepared> {
        let conn = self.conn();
        let meta = store::load_meta(&conn)?;
        let me = meta.enrolled()?;
        let token = meta.token.clone().ok_or(DeviceError::NotEnrolled)?;
        let mut push = Vec::new();
        if let Some(range) =
            plan::push_range(meta.push_from, meta.next_device_seq, limits::MAX_PUSH_OPS)
        {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {OP_COLUMNS} FROM ops
                 WHERE device_id = ?1 AND device_seq BETWEEN ?2 AND ?3 AND status != 'remote'
                 ORDER BY device_seq"
            ))?;
            let mut rows = statement.query(rusqlite::params![
                me.device_id.to_string(),
                i64_of(*range.start()),
                i64_of(*range.end()),
            ])?;
            while let Some(row) = rows.next()? {
                push.push(op_from_row(row)?.0);
            }
            let expected = range.clone().count();
            let contiguous = push.iter().zip(range).all(|(op, seq)| op.device_seq == seq);
            if push.len() != expected || !contiguous {
                return Err(DeviceError::damaged(
                    "outbox",
                    format!(
                        "ops {} to {} are not all present",
                        meta.push_from,
                        meta.next_device_seq - 1
                    ),
                ));
            }
            let sizes = push
                .iter()
                .map(|op| serde_json::to_vec(op).map(|json| json.len()))
                .collect::<serde_json::Result<Vec<_>>>()?;
            let budget = limits::MAX_BODY_BYTES.saturating_sub(BODY_MARGIN);
            push.truncate(plan::fit_batch(&sizes, budget));
        }
        let request = SyncRequest {
            push,
            pull: Some(PullRequest {
                cursor: meta.cursor,
                limit: None,
            }),
        };
        Ok(Prepared {
            server_url: me.server_url.clone(),
            token,
            body: encode_sync(&request)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::DeviceError;
    use crate::test_support::{enrolled, incident, own_ops};
    use vaka_shared::model::Role;

    #[tokio::test]
    async fn a_server_that_cannot_be_reached_changes_nothing_but_the_last_error() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        device.create_incident(incident(2)).expect("logs");
        let before = (own_ops(&device), device.state_snapshot().expect("snapshot"));

        // A port nothing listens on any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("binds")
            .port();
        device
            .conn()
            .execute(
                "UPDATE meta SET server_url = ?1",
                [format!("http://127.0.0.1:{port}")],
            )
            .expect("points at the port");

        let error = device
            .sync_once(&reqwest::Client::new())
            .await
            .expect_err("nobody answers");
        assert!(matches!(error, DeviceError::Network(_)), "{error:?}");
        assert_eq!(
            (own_ops(&device), device.state_snapshot().expect("snapshot")),
            before
        );
        let state = device.sync_state().expect("state");
        assert_eq!(state.pending, 1);
        assert!(state.last_error.is_some() && state.last_sync_ok_at.is_none());
    }
}
