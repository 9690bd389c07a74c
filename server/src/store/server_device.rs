//! Ops the server makes itself: a coordinator's writes from the dashboard (review fields,
//! comments, settled conflicts) and the demo's synthetic phones. Each goes through
//! [`super::push::push`] exactly like a phone's op, from a device the store holds, so phones pull
//! it like any other op and every rule of the push path applies.

use super::StoreError;
use super::accounts::DeviceCaller;
use super::audit::{Actor, AuditAction};
use super::ops as log;
use super::sessions;
use crate::sync::rules::PushLimits;
use rusqlite::Connection;
use vaka_shared::op::{Op, OpBody};
use vaka_shared::sync::PushResult;
use vaka_shared::{EntityId, Hlc, HlcClock, MemberId, OpId, OrgId};

/// When an op was made, and with what knowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// Now, with knowledge of every write the server holds: stamped above every write of the
    /// entity whatever the phones' clocks said, so the value a coordinator chose is the value
    /// kept.
    Now,
    /// At `ms` (the demo's history), having pulled through `base_seq`.
    At {
        /// When.
        ms: i64,
        /// The server sequence its maker had seen.
        base_seq: u64,
    },
}

/// A device the server writes through, resumed from what the store holds of it.
#[derive(Debug)]
pub struct ServerDevice {
    caller: DeviceCaller,
    clock: HlcClock,
    held_seq: u64,
}

impl ServerDevice {
    /// A device going on from what the store holds of it: its newest clock and the last
    /// `device_seq` the server holds (either backend reads these).
    pub(crate) fn from_held(caller: DeviceCaller, newest: Option<Hlc>, held_seq: u64) -> Self {
        let clock = match newest {
            Some(last) => HlcClock::resume(caller.device_id, last),
            None => HlcClock::new(caller.device_id),
        };
        Self {
            caller,
            clock,
            held_seq,
        }
    }

    /// The device `member`'s dashboard writes go through (created on first use).
    pub fn of_dashboard(
        conn: &Connection,
        member: MemberId,
        now_ms: i64,
    ) -> Result<Self, StoreError> {
        let caller = sessions::dashboard_device(conn, member, now_ms)?;
        Self::resume(conn, caller)
    }

    /// The enrolled device `caller`, going on from its last op.
    pub fn resume(conn: &Connection, caller: DeviceCaller) -> Result<Self, StoreError> {
        let newest = log::newest_hlc_of_device(conn, caller.device_id)?;
        Ok(Self::from_held(
            caller,
            newest,
            log::held_seq(conn, caller.device_id)?,
        ))
    }

    /// Who writes.
    pub fn caller(&self) -> &DeviceCaller {
        &self.caller
    }

    /// The next op of this device: `body` to `entity`, stamped at `at_ms` (after
    /// `newest_of_entity`, the newest clock among the entity's writes, when given), having seen
    /// `base_seq`.
    pub(crate) fn next_op(
        &mut self,
        entity: EntityId,
        body: OpBody,
        at_ms: i64,
        base_seq: u64,
        newest_of_entity: Option<Hlc>,
    ) -> Op {
        if let Some(newest) = newest_of_entity {
            self.clock.observe(newest);
        }
        Op {
            op_id: OpId::new(),
            device_id: self.caller.device_id,
            device_seq: self.held_seq + 1,
            hlc: self.clock.tick(at_ms.max(0) as u64),
            base_seq,
            entity_id: entity,
            body,
        }
    }

    /// The limits a server-made op is pushed with: its stamp is the server's own time, or just
    /// above an op the server accepted, never a wrong phone clock to refuse.
    pub(crate) fn limits() -> PushLimits {
        PushLimits {
            max_clock_ahead_ms: i64::MAX / 4,
        }
    }

    /// Takes in the push's answer to [`Self::next_op`]'s op: `Err(message)` when it was
    /// refused (validation or policy), for the user.
    pub(crate) fn answered(&mut self, result: PushResult) -> Result<(), String> {
        self.held_seq = result.acked_through;
        if let Some(rejected) = result.rejected.first() {
            return Err(rejected.message.clone());
        }
        if let Some(stop) = result.stopped {
            return Err(stop.message);
        }
        Ok(())
    }

    /// Writes `body` to `entity` through the push path. `Ok(Ok(seq))` is the accepted op's
    /// server sequence; `Ok(Err(message))` a refusal (validation or policy) to show the user.
    pub fn write(
        &mut self,
        conn: &Connection,
        entity: EntityId,
        body: OpBody,
        made: Made,
        now_ms: i64,
    ) -> Result<Result<u64, String>, StoreError> {
        let (at_ms, base_seq, newest) = match made {
            Made::Now => (
                now_ms,
                log::last_op_seq(conn)?,
                log::newest_hlc_of_entity(conn, entity)?,
            ),
            Made::At { ms, base_seq } => (ms, base_seq, None),
        };
        let op = self.next_op(entity, body, at_ms, base_seq, newest);
        let (result, _) = super::push::push(
            conn,
            &self.caller,
            std::slice::from_ref(&op),
            now_ms,
            Self::limits(),
        )?;
        if let Err(refusal) = self.answered(result) {
            return Ok(Err(refusal));
        }
        Ok(log::seq_of(conn, self.caller.device_id, op.device_seq)?
            .ok_or_else(|| "the change was not stored".to_owned()))
    }
}

/// What else a coordinator's write does in its transaction once the op is accepted.
#[derive(Debug, Clone, Default)]
pub struct AlongWith {
    /// The conflict the write settles (marked settled by the op's sequence).
    pub settles: Option<i64>,
    /// The audit record of the change.
    pub audit: Option<(OrgId, AuditAction)>,
}

/// The dashboard's writes.
impl super::Store {
    /// Writes `body` to `entity` as `member` through the push path, from the member's
    /// server-side device, and in the same transaction does what `along` says once it is
    /// accepted. `Ok(Ok(seq))` is the accepted op's server sequence; `Ok(Err(message))` a
    /// refusal (validation or policy) to show the user.
    pub async fn write_as_member(
        &self,
        member: MemberId,
        entity: EntityId,
        body: OpBody,
        along: AlongWith,
        now_ms: i64,
    ) -> Result<Result<u64, String>, StoreError> {
        super::on_backend!(self,
            s => s.write(move |conn| {
                let written = ServerDevice::of_dashboard(conn, member, now_ms)?
                    .write(conn, entity, body, Made::Now, now_ms)?;
                if let Ok(seq) = &written {
                    if let Some(conflict) = along.settles {
                        super::entries::mark_settled(conn, conflict, *seq)?;
                    }
                    if let Some((org, action)) = &along.audit {
                        let by = Actor::Member(member);
                        super::audit::record(conn, Some(*org), by, action, now_ms)?;
                    }
                }
                Ok(written)
            }).await,
            p => p.write(move |tx| Box::pin(async move {
                let mut device = super::postgres::server_device::of_dashboard(tx, member, now_ms).await?;
                let written = super::postgres::server_device::write(
                    &mut device, tx, entity, body, Made::Now, now_ms,
                ).await?;
                if let Ok(seq) = &written {
                    if let Some(conflict) = along.settles {
                        super::postgres::entries::mark_settled(tx, conflict, *seq).await?;
                    }
                    if let Some((org, action)) = &along.audit {
                        let by = Actor::Member(member);
                        super::postgres::audit::record(tx, Some(*org), by, action, now_ms).await?;
                    }
                }
                Ok(written)
            })).await,
        )
    }
}
