//! Ops the server makes itself: a coordinator's writes from the dashboard (review fields,
//! comments, settled conflicts) and the demo's synthetic phones. Each goes through
//! [`super::push::push`] exactly like a phone's op, from a device the store holds, so phones pull
//! it like any other op and every rule of the push path applies.

use super::StoreError;
use super::accounts::DeviceCaller;
use super::ops as log;
use super::sessions;
use crate::sync::rules::PushLimits;
use rusqlite::Connection;
use vaka_shared::op::{Op, OpBody};
use vaka_shared::{EntityId, HlcClock, MemberId, OpId};

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
        let clock = match log::newest_hlc_of_device(conn, caller.device_id)? {
            Some(last) => HlcClock::resume(caller.device_id, last),
            None => HlcClock::new(caller.device_id),
        };
        Ok(Self {
            caller,
            clock,
            held_seq: log::held_seq(conn, caller.device_id)?,
        })
    }

    /// Who writes.
    pub fn caller(&self) -> &DeviceCaller {
        &self.caller
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
        let (at_ms, base_seq) = match made {
            Made::Now => {
                if let Some(newest) = log::newest_hlc_of_entity(conn, entity)? {
                    self.clock.observe(newest);
                }
                (now_ms, log::last_op_seq(conn)?)
            }
            Made::At { ms, base_seq } => (ms, base_seq),
        };
        let op = Op {
            op_id: OpId::new(),
            device_id: self.caller.device_id,
            device_seq: self.held_seq + 1,
            hlc: self.clock.tick(at_ms.max(0) as u64),
            base_seq,
            entity_id: entity,
            body,
        };
        // The stamp is the server's own time, or just above an op the server accepted: never a
        // wrong phone clock to refuse.
        let limits = PushLimits {
            max_clock_ahead_ms: i64::MAX / 4,
        };
        let (result, _) = super::push::push(
            conn,
            &self.caller,
            std::slice::from_ref(&op),
            now_ms,
            limits,
        )?;
        self.held_seq = result.acked_through;
        if let Some(rejected) = result.rejected.first() {
            return Ok(Err(rejected.message.clone()));
        }
        if let Some(stop) = result.stopped {
            return Ok(Err(stop.message));
        }
        Ok(log::seq_of(conn, self.caller.device_id, op.device_seq)?
            .ok_or_else(|| "the change was not stored".to_owned()))
    }
}
