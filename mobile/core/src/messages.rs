//! Messages from the desk: a coordinator's short message to the organisation, an area or a
//! group, pulled like any op and shown until it ends. The phone notes each message it receives
//! in a receipt of its own (received when a pulled page brings it, in that page's transaction;
//! read when the walker marks it so), which the server counts for the dashboard.

use super::Device;
use super::clock::corrected_ms;
use super::error::{DeviceError, Result};
use super::store::{self, parse};
use super::writes::{Mode, write_in};
use rusqlite::{Connection, Row};
use serde_json::Value;
use vaka_shared::merge::EntityState;
use vaka_shared::model::{Audience, MessageFields, MessageReceiptFields};
use vaka_shared::{EntityId, EntityKind, MemberId, OpBody, Timestamp};

/// A message as the phone shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id.
    pub id: EntityId,
    /// The coordinator who sent it.
    pub author: MemberId,
    /// The text.
    pub text: String,
    /// Who it is for.
    pub audience: Option<Audience>,
    /// When it was sent.
    pub sent_at: Option<Timestamp>,
    /// When it stops being shown.
    pub ends_at: Option<Timestamp>,
    /// When this phone received it (its receipt), if it noted that.
    pub received_at: Option<Timestamp>,
    /// When the walker marked it read on this phone.
    pub read_at: Option<Timestamp>,
}

impl Message {
    /// Whether it is shown at `now`: it has not ended.
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.ends_at.is_some_and(|ends| ends > now)
    }

    /// Whether the walker marked it read on this phone.
    pub fn read(&self) -> bool {
        self.read_at.is_some()
    }
}

/// The messages with this phone's receipt of each, newest sent first: through the index of the
/// messages alone (`entities_messages`), whatever else the phone holds.
const ALL: &str = "SELECT m.id, m.author, m.state, r.state FROM entities m
     LEFT JOIN entities r
         ON r.parent_id = m.id AND r.kind = 'message_receipt' AND r.author = ?1
     WHERE m.kind = 'message'
     ORDER BY m.created_ms DESC, m.id DESC";

/// The messages the phone holds with this phone's receipt of each, in one query: newest sent
/// first. `me` is the phone's member (whose receipts count).
pub(crate) fn all(conn: &Connection, me: Option<MemberId>) -> Result<Vec<Message>> {
    let mut statement = conn.prepare_cached(ALL)?;
    let me = me.map(|m| m.to_string());
    let mut rows = statement.query([me])?;
    let mut messages = Vec::new();
    while let Some(row) = rows.next()? {
        messages.push(message_of(row)?);
    }
    Ok(messages)
}

fn fields_of<T: serde::de::DeserializeOwned>(state: &str) -> Result<T> {
    let state: EntityState = serde_json::from_str(state)?;
    Ok(serde_json::from_value(Value::Object(state.values()))?)
}

fn message_of(row: &Row<'_>) -> Result<Message> {
    let fields: MessageFields = fields_of(&row.get::<_, String>(2)?)?;
    let receipt: Option<MessageReceiptFields> = row
        .get::<_, Option<String>>(3)?
        .map(|state| fields_of(&state))
        .transpose()?;
    let receipt = receipt.unwrap_or_default();
    Ok(Message {
        id: parse("entity id", &row.get::<_, String>(0)?)?,
        author: parse("member id", &row.get::<_, String>(1)?)?,
        text: fields.text.unwrap_or_default(),
        audience: fields.audience,
        sent_at: fields.sent_at,
        ends_at: fields.ends_at,
        received_at: receipt.received_at,
        read_at: receipt.read_at,
    })
}

/// This phone's receipt of `message`, if it wrote one.
fn own_receipt(conn: &Connection, message: EntityId, me: MemberId) -> Result<Option<EntityId>> {
    use rusqlite::OptionalExtension;
    let id: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM entities
             WHERE parent_id = ?1 AND kind = 'message_receipt' AND author = ?2",
        )?
        .query_row([message.to_string(), me.to_string()], |r| r.get(0))
        .optional()?;
    id.map(|id| parse("entity id", &id)).transpose()
}

/// Notes the receipt of each of `messages` (pulled just now, in the caller's transaction) that
/// is still shown and has no receipt of this phone yet; returns how many it noted. A retiring
/// phone writes none.
pub(crate) fn receive(
    conn: &Connection,
    wall: &super::clock::WallClock,
    messages: &[EntityId],
) -> Result<usize> {
    let meta = store::load_meta(conn)?;
    let Some(me) = meta.identity.as_ref().map(|i| i.member_id) else {
        return Ok(0);
    };
    if meta.retiring || messages.is_empty() {
        return Ok(0);
    }
    let now = super::clock::timestamp(corrected_ms(wall, meta.clock_offset_ms));
    let held = all(conn, Some(me))?;
    let mut noted = 0;
    for message in held
        .iter()
        .filter(|m| messages.contains(&m.id) && m.active_at(now) && m.received_at.is_none())
    {
        if own_receipt(conn, message.id, me)?.is_some() {
            continue;
        }
        let id = message.id;
        write_in(conn, wall, EntityId::new(), Mode::Create, |_, now| {
            Ok(OpBody::MessageReceipt(MessageReceiptFields {
                message_id: Some(id),
                received_at: Some(now),
                read_at: None,
            }))
        })?;
        noted += 1;
    }
    Ok(noted)
}

impl Device {
    /// The messages shown now (not ended, by the phone's corrected clock), newest first, each
    /// with whether this phone received and read it.
    pub fn active_messages(&self) -> Result<Vec<Message>> {
        let conn = self.reader();
        let meta = store::load_meta(&conn)?;
        let now = super::clock::timestamp(corrected_ms(&self.inner.wall, meta.clock_offset_ms));
        active(&conn, meta.identity.map(|i| i.member_id), now)
    }

    /// Every message the phone holds, ended ones too, newest first.
    pub fn messages(&self) -> Result<Vec<Message>> {
        let conn = self.reader();
        let me = store::load_meta(&conn)?.identity.map(|i| i.member_id);
        all(&conn, me)
    }

    /// Marks a message read on this phone: its receipt gets the time (a receipt is written
    /// now when the phone had none), one op in the outbox.
    pub fn mark_message_read(&self, message: EntityId) -> Result<()> {
        self.write_tx(|tx| {
            let meta = store::load_meta(tx)?;
            let me = meta.enrolled()?.member_id;
            let held =
                super::entities::load(tx, message)?.ok_or(DeviceError::UnknownEntity(message))?;
            if held.kind != EntityKind::Message {
                return Err(DeviceError::WrongKind {
                    id: message,
                    kind: held.kind,
                });
            }
            match own_receipt(tx, message, me)? {
                Some(receipt) => write_in(tx, &self.inner.wall, receipt, Mode::Edit, |_, now| {
                    Ok(OpBody::MessageReceipt(MessageReceiptFields {
                        read_at: Some(now),
                        ..Default::default()
                    }))
                }),
                None => write_in(
                    tx,
                    &self.inner.wall,
                    EntityId::new(),
                    Mode::Create,
                    |_, now| {
                        Ok(OpBody::MessageReceipt(MessageReceiptFields {
                            message_id: Some(message),
                            received_at: Some(now),
                            read_at: Some(now),
                        }))
                    },
                ),
            }?;
            Ok(())
        })
    }
}

/// The messages of [`all`] not ended at `now`.
pub(crate) fn active(
    conn: &Connection,
    me: Option<MemberId>,
    now: Timestamp,
) -> Result<Vec<Message>> {
    Ok(all(conn, me)?
        .into_iter()
        .filter(|m| m.active_at(now))
        .collect())
}

#[cfg(test)]
mod tests {
    use crate::test_support::{T0, apply, enrolled, response};
    use vaka_shared::model::{Audience, MessageFields, Role};
    use vaka_shared::sync::{PushResult, ServerOp};
    use vaka_shared::{DeviceId, EntityId, Hlc, MemberId, Op, OpBody, OpId, Timestamp};

    const HOUR_MS: i64 = 3_600_000;

    #[test]
    fn the_messages_are_found_through_their_own_index_not_by_reading_every_entity() {
        let (_dir, device, me) = enrolled(Role::Volunteer);
        let plan: Vec<String> = device
            .reader()
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::ALL))
            .expect("plans")
            .query_map([me.member_id.to_string()], |r| r.get(3))
            .expect("plans")
            .collect::<rusqlite::Result<_>>()
            .expect("plans");
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX entities_messages")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|step| step == "SCAN m"), "{plan:?}");
    }

    fn message(sent_ms: i64, ends_ms: i64) -> (EntityId, ServerOp) {
        let desk = DeviceId::new();
        let id = EntityId::new();
        let op = Op {
            op_id: OpId::new(),
            device_id: desk,
            device_seq: 1,
            hlc: Hlc {
                ms: sent_ms as u64,
                counter: 0,
                device: desk,
            },
            base_seq: 0,
            entity_id: id,
            body: OpBody::Message(MessageFields {
                text: Some("Undvik gångtunneln ikväll".into()),
                audience: Some(Audience::Org(true)),
                sent_at: Timestamp::from_unix_ms(sent_ms),
                ends_at: Timestamp::from_unix_ms(ends_ms),
            }),
        };
        let served = ServerOp {
            seq: 1,
            author: MemberId::new(),
            op,
        };
        (id, served)
    }

    fn nothing_pushed() -> PushResult {
        PushResult {
            acked_through: 0,
            rejected: vec![],
            stopped: None,
        }
    }

    #[test]
    fn a_pulled_message_gets_one_receipt_in_the_pulls_transaction_and_is_read_once_marked() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let (id, served) = message(T0 - HOUR_MS, T0 + HOUR_MS);
        apply(
            &device,
            &response(T0, nothing_pushed(), vec![served.clone()], 1),
        );
        let shown = device.active_messages().expect("reads");
        assert_eq!(shown.len(), 1);
        assert!(shown[0].received_at.is_some() && !shown[0].read());
        assert_eq!(device.outbox_len().expect("counts"), 1, "the receipt waits");
        // The same page again writes no second receipt.
        apply(&device, &response(T0, nothing_pushed(), vec![served], 1));
        assert_eq!(device.outbox_len().expect("counts"), 1);
        device.mark_message_read(id).expect("marks");
        let shown = device.active_messages().expect("reads");
        assert!(shown[0].read());
        assert_eq!(device.outbox_len().expect("counts"), 2);
        let receipts = device
            .state_snapshot()
            .expect("reads")
            .into_iter()
            .filter(|(_, (kind, _))| *kind == vaka_shared::EntityKind::MessageReceipt)
            .count();
        assert_eq!(receipts, 1, "one receipt per phone and message");
    }

    #[test]
    fn an_ended_message_is_not_shown_and_gets_no_receipt() {
        let (_dir, device, _) = enrolled(Role::Volunteer);
        let (_, served) = message(T0 - 3 * HOUR_MS, T0 - HOUR_MS);
        apply(&device, &response(T0, nothing_pushed(), vec![served], 1));
        assert!(device.active_messages().expect("reads").is_empty());
        assert_eq!(device.messages().expect("reads").len(), 1);
        assert_eq!(device.outbox_len().expect("counts"), 0);
    }
}
