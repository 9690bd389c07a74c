//! The push rules of DESIGN section 4 as pure functions: what to do with an op given what the
//! server holds. No I/O here; [`super::push`] looks up what these functions need in the store,
//! asks them, and writes what they decide.
//!
//! The rules, in order, for each op:
//! 1. `device_seq` at or below what the server holds: acknowledged again, nothing changes; a
//!    different op under that number stops the push (`op_mismatch`). ([`verdict`])
//! 2. A gap before it: stop and say where to resume (`gap`). ([`verdict`])
//! 3. Its clock too far ahead of the server's: stop (`clock_ahead`); the device re-stamps.
//!    ([`verdict`])
//! 4. Invalid or not allowed: recorded as rejected with the reason, acknowledged, and the queue
//!    moves on. ([`admit`])
//! 5. Otherwise accepted: it gets the next server sequence and is merged into the entity; the
//!    conflict records of the fields it wrote are brought to the conflicts among their writes.
//!    ([`reconcile_conflicts`])

use crate::store::accounts::DeviceCaller;
use vaka_shared::merge::{Conflict, EntityState};
use vaka_shared::model::{Audience, CommentFields};
use vaka_shared::op::{EntityKind, Op, OpBody};
use vaka_shared::policy::{self, Existing};
use vaka_shared::sync::{PushStop, RejectCode, RejectedOp, StopCode};
use vaka_shared::validate::validate;
use vaka_shared::{EntityId, Hlc, MemberId, OpId, OrgId, Timestamp};

/// Bounds the push is checked against.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// How far an op's clock may be ahead of `now_ms`.
    pub max_clock_ahead_ms: i64,
}

/// Why an op is refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why, as a stable code.
    pub code: RejectCode,
    /// Why, in words.
    pub message: String,
    /// The field at fault, if one is.
    pub field: Option<String>,
}

impl Rejection {
    fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The refusal as it goes back to the device.
    pub fn for_op(&self, op: &Op) -> RejectedOp {
        RejectedOp {
            device_seq: op.device_seq,
            op_id: op.op_id,
            code: self.code,
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

/// What the server holds under an op's `device_seq` of its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldOp {
    /// An accepted op with this id.
    Accepted(OpId),
    /// A refused op with this id, and why.
    Rejected(OpId, Rejection),
}

/// What to do with an op, by its number and clock alone (rules 1 to 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Held already and accepted: acknowledged again, nothing changes.
    Duplicate,
    /// Held already and refused: the refusal is reported again (the answer that carried it may
    /// have been lost).
    DuplicateRejected(Rejection),
    /// The push stops here.
    Stop(PushStop),
    /// The next op of the device: check and apply it.
    Next,
}

/// Rules 1 to 3 for `op`, given the highest `device_seq` of its device the server holds
/// (`held_seq`) and, when `op.device_seq <= held_seq`, what is held under its number.
pub fn verdict(
    op: &Op,
    held_seq: u64,
    held: Option<&HeldOp>,
    now_ms: i64,
    limits: PushLimits,
) -> Verdict {
    if op.device_seq <= held_seq {
        return match held {
            Some(HeldOp::Accepted(id)) if *id == op.op_id => Verdict::Duplicate,
            Some(HeldOp::Rejected(id, rejection)) if *id == op.op_id => {
                Verdict::DuplicateRejected(rejection.clone())
            }
            _ => Verdict::Stop(PushStop {
                at_seq: op.device_seq,
                code: StopCode::OpMismatch,
                message: format!(
                    "a different op is already stored as number {} of this device",
                    op.device_seq
                ),
            }),
        };
    }
    if op.device_seq != held_seq + 1 {
        return Verdict::Stop(PushStop {
            at_seq: held_seq + 1,
            code: StopCode::Gap,
            message: format!("op {} is missing; send from there", held_seq + 1),
        });
    }
    let ahead_ms = i128::from(op.hlc.ms) - i128::from(now_ms);
    if op.hlc.ms > 0 && ahead_ms > i128::from(limits.max_clock_ahead_ms) {
        return Verdict::Stop(PushStop {
            at_seq: op.device_seq,
            code: StopCode::ClockAhead,
            message: format!(
                "the op's clock is {} s ahead of the server's; correct the clock and re-stamp",
                ahead_ms / 1000
            ),
        });
    }
    Verdict::Next
}

/// What the server knows of a stored entity that decides whether an op may write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityFacts {
    /// Its organisation.
    pub org_id: OrgId,
    /// Its kind.
    pub kind: EntityKind,
    /// The member whose device created it.
    pub author: MemberId,
    /// The member whose entries it belongs with, for pull scoping.
    pub scope_member: MemberId,
}

/// What the server holds of an entity id: the entity, the fact that it was purged, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Stored.
    Stored(EntityFacts),
    /// Removed by the retention period; only its id is kept.
    Purged,
    /// Never seen.
    Unknown,
}

/// What the server holds of an op's entity and, for a comment or track segment that would be
/// new, of the entry it hangs on (`parent`, `None` when the op has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The entity the op writes.
    pub entity: Held,
    /// The entry a new child hangs on.
    pub parent: Option<Held>,
}

/// An op that may be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The member whose entries the entity belongs with, for pull scoping.
    pub scope_member: MemberId,
    /// Whether the op creates the entity.
    pub creates: bool,
}

/// Rule 4: whether `caller` may apply `op`, given what is held (`context`), at server time `now`.
/// An id of another organisation is treated as unknown: nothing about it is revealed.
pub fn admit(
    caller: &DeviceCaller,
    op: &Op,
    context: Context,
    now: Timestamp,
) -> Result<Admission, Rejection> {
    if op.device_id != caller.device_id || op.hlc.device != caller.device_id {
        return Err(Rejection::new(
            RejectCode::DeviceMismatch,
            "the op names another device than the one that sent it",
        ));
    }
    let stored = match context.entity {
        Held::Stored(entity) if entity.org_id != caller.org_id => {
            return Err(Rejection::new(
                RejectCode::UnknownEntry,
                "no such entry in your organisation",
            ));
        }
        Held::Stored(entity) => Some(entity),
        Held::Purged | Held::Unknown => None,
    };
    if let Err(e) = validate(&op.body, now, stored.is_none()) {
        return Err(Rejection {
            code: RejectCode::InvalidField,
            message: e.to_string(),
            field: Some(e.field),
        });
    }
    if context.entity == Held::Purged {
        return Err(purged());
    }
    let existing = stored.map(|e| Existing {
        kind: e.kind,
        author: e.author,
    });
    if let Err(refusal) = policy::check_write(caller.role, caller.member_id, &op.body, existing) {
        return Err(refused(&refusal));
    }
    if let Some(entity) = stored {
        return Ok(Admission {
            scope_member: entity.scope_member,
            creates: false,
        });
    }
    let scope_member = match (parent_of(&op.body), context.parent) {
        (None, _) => caller.member_id,
        (Some((kind, _)), parent) => match parent {
            // A receipt stays with the phone's member, whoever sent the message.
            Some(Held::Stored(parent))
                if op.kind() == EntityKind::MessageReceipt
                    && parent.org_id == caller.org_id
                    && parent.kind == kind =>
            {
                caller.member_id
            }
            Some(Held::Stored(parent))
                if parent.org_id == caller.org_id
                    && parent.kind == kind
                    && (caller.role.reviews()
                        || caller.volunteers_see_all
                        || parent.scope_member == caller.member_id) =>
            {
                parent.scope_member
            }
            Some(Held::Purged) => return Err(purged()),
            _ => {
                return Err(Rejection {
                    code: RejectCode::UnknownEntry,
                    message: format!("no such {} in your organisation", kind.as_str()),
                    field: Some(parent_field(&op.body).to_owned()),
                });
            }
        },
    };
    Ok(Admission {
        scope_member,
        creates: true,
    })
}

fn refused(refusal: &policy::Refusal) -> Rejection {
    let code = match refusal {
        policy::Refusal::ReviewField(_) | policy::Refusal::CoordinatorsOnly(_) => {
            RejectCode::ReviewFieldForbidden
        }
        policy::Refusal::NotAuthor => RejectCode::NotAuthor,
        policy::Refusal::CreateOnce(_) => RejectCode::CreateOnce,
        policy::Refusal::KindMismatch { .. } => RejectCode::KindMismatch,
    };
    let field = match refusal {
        policy::Refusal::ReviewField(f) => Some((*f).to_owned()),
        _ => None,
    };
    Rejection {
        code,
        message: refusal.to_string(),
        field,
    }
}

fn purged() -> Rejection {
    Rejection::new(
        RejectCode::Purged,
        "the entry was removed by the organisation's retention period before this change arrived",
    )
}

/// The entry a create-once child hangs on: a comment's entry, a track segment's patrol.
pub fn parent_of(body: &OpBody) -> Option<(EntityKind, EntityId)> {
    match body {
        OpBody::Comment(CommentFields {
            entry: Some(entry), ..
        }) => Some((entry.kind, entry.id)),
        OpBody::TrackSegment(f) => f.patrol_id.map(|id| (EntityKind::Patrol, id)),
        OpBody::MessageReceipt(f) => f.message_id.map(|id| (EntityKind::Message, id)),
        _ => None,
    }
}

fn parent_field(body: &OpBody) -> &'static str {
    match body {
        OpBody::TrackSegment(_) => "patrol_id",
        OpBody::MessageReceipt(_) => "message_id",
        _ => "entry",
    }
}

/// The key under which the pull finds an op beside its scope (the op log's `audience`): for
/// a message, its audience (`org`, `area:<id>`, `group:<name>`, from the op that creates it or
/// from the stored message an edit writes); for a receipt, its own member (`member:<id>`), so
/// no other volunteer pulls it. `None` for every other op: the scope rules apply as they are.
pub fn audience_key(
    body: &OpBody,
    stored: Option<&EntityState>,
    scope_member: MemberId,
) -> Option<String> {
    match body {
        OpBody::Message(fields) => {
            let audience = match &fields.audience {
                Some(audience) => Some(audience.clone()),
                None => stored
                    .and_then(|state| state.values().remove("audience"))
                    .and_then(|value| serde_json::from_value::<Audience>(value).ok()),
            };
            // A message with no audience readable reaches coordinators only.
            Some(audience.map_or_else(|| "none".to_owned(), |a| key_of(&a)))
        }
        OpBody::MessageReceipt(_) => Some(member_key(scope_member)),
        _ => None,
    }
}

/// The `audience` key of a message's audience.
pub fn key_of(audience: &Audience) -> String {
    match audience {
        Audience::Org(_) => "org".to_owned(),
        Audience::Area(area) => format!("area:{area}"),
        Audience::Group(group) => format!("group:{group}"),
    }
}

/// The `audience` key of what only `member`'s own phones pull.
pub fn member_key(member: MemberId) -> String {
    format!("member:{member}")
}

/// The `audience` keys a volunteer's pull takes beside its scope: the whole organisation, the
/// member's area and group (where they have one), and their own receipts.
pub fn pull_keys(
    member: MemberId,
    area: Option<vaka_shared::AreaId>,
    group: Option<&str>,
) -> [Option<String>; 4] {
    [
        Some("org".to_owned()),
        area.map(|a| key_of(&Audience::Area(a))),
        group
            .filter(|g| !g.is_empty())
            .map(|g| key_of(&Audience::Group(g.to_owned()))),
        Some(member_key(member)),
    ]
}

/// An open conflict record of a field, as stored: the two writes it is between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenConflict {
    /// The record's id.
    pub id: i64,
    /// The winning write's clock.
    pub winner_hlc: Hlc,
    /// The losing write's clock.
    pub loser_hlc: Hlc,
    /// The winning write's server sequence, if it was accepted here.
    pub winner_seq: Option<u64>,
    /// The losing write's server sequence, if it was accepted here.
    pub loser_seq: Option<u64>,
}

/// A change to the conflict records of one field.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictChange<'a> {
    /// The conflict was settled by the op (it was made with knowledge of both writes).
    Settle(i64),
    /// The record no longer describes a conflict and was not settled by the op: a side was
    /// superseded by a write that saw it, or a newer write won.
    Drop(i64),
    /// A new conflict to record.
    Record(&'a Conflict),
}

/// Brings the open conflict records of one field (`open`) to the conflicts the merge finds among
/// all the writes of that field now (`now`, a function of the set of writes, not of the order
/// they came in). `base_seq` is the op's: it settles a record when it saw both of its writes.
pub fn reconcile_conflicts<'a>(
    open: &[OpenConflict],
    now: &[&'a Conflict],
    base_seq: u64,
) -> Vec<ConflictChange<'a>> {
    let same = |o: &OpenConflict, c: &Conflict| {
        o.winner_hlc == c.winner.stamp.hlc && o.loser_hlc == c.loser.stamp.hlc
    };
    let mut changes = Vec::new();
    for record in open {
        if now.iter().any(|c| same(record, c)) {
            continue;
        }
        let saw_both = [record.winner_seq, record.loser_seq]
            .iter()
            .all(|s| s.is_some_and(|s| base_seq >= s));
        changes.push(if saw_both {
            ConflictChange::Settle(record.id)
        } else {
            ConflictChange::Drop(record.id)
        });
    }
    for conflict in now {
        if !open.iter().any(|o| same(o, conflict)) {
            changes.push(ConflictChange::Record(conflict));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use uuid::Uuid;
    use vaka_shared::merge::{FieldWrite, WriteStamp};
    use vaka_shared::model::EntryRef;
    use vaka_shared::model::{IncidentFields, ReviewStatus, Role, Severity};
    use vaka_shared::{DeviceId, Hlc};

    const NOW_MS: i64 = 1_800_000_000_000;
    const LIMITS: PushLimits = PushLimits {
        max_clock_ahead_ms: 300_000,
    };

    fn caller(role: Role) -> DeviceCaller {
        DeviceCaller {
            device_id: DeviceId(Uuid::from_u128(1)),
            org_id: OrgId(Uuid::from_u128(10)),
            member_id: MemberId(Uuid::from_u128(100)),
            role,
            volunteers_see_all: false,
            retention_days: 730,
            retired: false,
        }
    }

    fn op_with(device_seq: u64, hlc_ms: u64, body: OpBody) -> Op {
        let device = DeviceId(Uuid::from_u128(1));
        Op {
            op_id: OpId(Uuid::from_u128(u128::from(device_seq) + 1000)),
            device_id: device,
            device_seq,
            hlc: Hlc {
                ms: hlc_ms,
                counter: 0,
                device,
            },
            base_seq: 0,
            entity_id: EntityId(Uuid::from_u128(500)),
            body,
        }
    }

    fn incident() -> OpBody {
        OpBody::Incident(IncidentFields {
            occurred_at: Some(Timestamp::from_unix_ms(NOW_MS - 60_000).expect("time")),
            category: Some("disturbance".into()),
            severity: Some(Severity(2)),
            ..Default::default()
        })
    }

    fn op(device_seq: u64) -> Op {
        op_with(device_seq, NOW_MS as u64, incident())
    }

    fn refusal(code: RejectCode) -> Rejection {
        Rejection::new(code, "refused")
    }

    #[rstest]
    #[case::next(op(5), 4, None, "next")]
    #[case::first(op(1), 0, None, "next")]
    #[case::sent_again(op(3), 4, Some(HeldOp::Accepted(op(3).op_id)), "duplicate")]
    #[case::refused_again(op(3), 4, Some(HeldOp::Rejected(op(3).op_id, refusal(RejectCode::NotAuthor))), "duplicate_rejected")]
    #[case::another_op_under_the_number(op(3), 4, Some(HeldOp::Accepted(op(9).op_id)), "op_mismatch")]
    #[case::another_refused_op_under_the_number(op(3), 4, Some(HeldOp::Rejected(op(9).op_id, refusal(RejectCode::NotAuthor))), "op_mismatch")]
    #[case::held_number_with_nothing_stored(op(3), 4, None, "op_mismatch")]
    #[case::gap(op(7), 4, None, "gap")]
    #[case::clock_ahead(op_with(5, NOW_MS as u64 + 300_001, incident()), 4, None, "clock_ahead")]
    #[case::clock_at_the_bound(op_with(5, NOW_MS as u64 + 300_000, incident()), 4, None, "next")]
    #[case::no_clock(op_with(5, 0, incident()), 4, None, "next")]
    #[case::duplicate_before_clock(op_with(3, u64::MAX, incident()), 4, Some(HeldOp::Accepted(op(3).op_id)), "duplicate")]
    fn verdicts(
        #[case] sent: Op,
        #[case] held_seq: u64,
        #[case] held: Option<HeldOp>,
        #[case] expected: &str,
    ) {
        let got = match verdict(&sent, held_seq, held.as_ref(), NOW_MS, LIMITS) {
            Verdict::Duplicate => "duplicate",
            Verdict::DuplicateRejected(_) => "duplicate_rejected",
            Verdict::Next => "next",
            Verdict::Stop(stop) => match stop.code {
                StopCode::Gap => {
                    assert_eq!(stop.at_seq, held_seq + 1, "a gap resumes after the held op");
                    "gap"
                }
                StopCode::ClockAhead => "clock_ahead",
                StopCode::OpMismatch => "op_mismatch",
            },
        };
        assert_eq!(got, expected);
    }

    fn facts(org: u128, kind: EntityKind, author: u128, scope: u128) -> Held {
        Held::Stored(EntityFacts {
            org_id: OrgId(Uuid::from_u128(org)),
            kind,
            author: MemberId(Uuid::from_u128(author)),
            scope_member: MemberId(Uuid::from_u128(scope)),
        })
    }

    fn review() -> OpBody {
        OpBody::Incident(IncidentFields {
            review_status: Some(ReviewStatus::Reviewed),
            ..Default::default()
        })
    }

    fn comment_on(entry: u128) -> OpBody {
        OpBody::Comment(CommentFields {
            entry: Some(EntryRef {
                kind: EntityKind::Incident,
                id: EntityId(Uuid::from_u128(entry)),
            }),
            body: Some("Polisen kontaktad.".into()),
            written_at: Some(Timestamp::from_unix_ms(NOW_MS - 60_000).expect("time")),
        })
    }

    fn other_device(mut op: Op) -> Op {
        op.device_id = DeviceId(Uuid::from_u128(2));
        op
    }

    fn at(ms: i64) -> Option<Timestamp> {
        Timestamp::from_unix_ms(ms)
    }

    fn message() -> OpBody {
        OpBody::Message(vaka_shared::model::MessageFields {
            text: Some("Polisinsats vid stationen ikväll – undvik gångtunneln".into()),
            audience: Some(Audience::Org(true)),
            sent_at: at(NOW_MS),
            ends_at: at(NOW_MS + 3_600_000),
        })
    }

    fn end_message() -> OpBody {
        OpBody::Message(vaka_shared::model::MessageFields {
            ends_at: at(NOW_MS),
            ..Default::default()
        })
    }

    fn receipt_of(message: u128) -> OpBody {
        OpBody::MessageReceipt(vaka_shared::model::MessageReceiptFields {
            message_id: Some(EntityId(Uuid::from_u128(message))),
            received_at: at(NOW_MS),
            read_at: None,
        })
    }

    fn read_receipt() -> OpBody {
        OpBody::MessageReceipt(vaka_shared::model::MessageReceiptFields {
            read_at: at(NOW_MS),
            ..Default::default()
        })
    }

    const MSG: EntityKind = EntityKind::Message;
    const RECEIPT: EntityKind = EntityKind::MessageReceipt;
    const INC: EntityKind = EntityKind::Incident;
    const ME: u128 = 100;
    const ORG: u128 = 10;

    #[rstest]
    #[case::new_entry(Role::Volunteer, op(1), Held::Unknown, None, Ok(ME))]
    #[case::own_entry(Role::Volunteer, op(1), facts(ORG, INC, ME, ME), None, Ok(ME))]
    #[case::others_entry(
        Role::Volunteer,
        op(1),
        facts(ORG, INC, 7, 7),
        None,
        Err(RejectCode::NotAuthor)
    )]
    #[case::coordinator_on_others_entry(
        Role::Coordinator,
        op(1),
        facts(ORG, INC, 7, 7),
        None,
        Ok(7)
    )]
    #[case::other_organisation(
        Role::Coordinator,
        op(1),
        facts(11, INC, 7, 7),
        None,
        Err(RejectCode::UnknownEntry)
    )]
    #[case::other_kind(
        Role::Volunteer,
        op(1),
        facts(ORG, EntityKind::Patrol, ME, ME),
        None,
        Err(RejectCode::KindMismatch)
    )]
    #[case::purged(Role::Volunteer, op(1), Held::Purged, None, Err(RejectCode::Purged))]
    #[case::another_device(
        Role::Volunteer,
        other_device(op(1)),
        Held::Unknown,
        None,
        Err(RejectCode::DeviceMismatch)
    )]
    #[case::invalid_before_purged(Role::Volunteer, op_with(1, NOW_MS as u64, OpBody::Incident(IncidentFields::default())), Held::Purged, None, Err(RejectCode::InvalidField))]
    #[case::volunteer_reviews(Role::Volunteer, op_with(1, NOW_MS as u64, review()), facts(ORG, INC, ME, ME), None, Err(RejectCode::ReviewFieldForbidden))]
    #[case::coordinator_reviews(Role::Coordinator, op_with(1, NOW_MS as u64, review()), facts(ORG, INC, 7, 7), None, Ok(7))]
    #[case::comment_on_own(Role::Volunteer, op_with(1, NOW_MS as u64, comment_on(9)), Held::Unknown, Some(facts(ORG, INC, ME, ME)), Ok(ME))]
    #[case::comment_on_others(Role::Volunteer, op_with(1, NOW_MS as u64, comment_on(9)), Held::Unknown, Some(facts(ORG, INC, 7, 7)), Err(RejectCode::UnknownEntry))]
    #[case::coordinator_comments_on_others(Role::Coordinator, op_with(1, NOW_MS as u64, comment_on(9)), Held::Unknown, Some(facts(ORG, INC, 7, 7)), Ok(7))]
    #[case::comment_on_other_organisation(Role::Coordinator, op_with(1, NOW_MS as u64, comment_on(9)), Held::Unknown, Some(facts(11, INC, 7, 7)), Err(RejectCode::UnknownEntry))]
    #[case::comment_on_missing(Role::Coordinator, op_with(1, NOW_MS as u64, comment_on(9)), Held::Unknown, Some(Held::Unknown), Err(RejectCode::UnknownEntry))]
    #[case::comment_on_purged(Role::Coordinator, op_with(1, NOW_MS as u64, comment_on(9)), Held::Unknown, Some(Held::Purged), Err(RejectCode::Purged))]
    #[case::comment_written_twice(Role::Coordinator, op_with(1, NOW_MS as u64, comment_on(9)), facts(ORG, EntityKind::Comment, ME, 7), Some(facts(ORG, INC, 7, 7)), Err(RejectCode::CreateOnce))]
    #[case::coordinator_sends_message(Role::Coordinator, op_with(1, NOW_MS as u64, message()), Held::Unknown, None, Ok(ME))]
    #[case::volunteer_sends_message(Role::Volunteer, op_with(1, NOW_MS as u64, message()), Held::Unknown, None, Err(RejectCode::ReviewFieldForbidden))]
    #[case::coordinator_ends_anothers_message(Role::Coordinator, op_with(1, NOW_MS as u64, end_message()), facts(ORG, MSG, 7, 7), None, Ok(7))]
    #[case::receipt_of_message(Role::Volunteer, op_with(1, NOW_MS as u64, receipt_of(9)), Held::Unknown, Some(facts(ORG, MSG, 7, 7)), Ok(ME))]
    #[case::receipt_of_an_incident(Role::Volunteer, op_with(1, NOW_MS as u64, receipt_of(9)), Held::Unknown, Some(facts(ORG, INC, ME, ME)), Err(RejectCode::UnknownEntry))]
    #[case::receipt_of_other_organisation(Role::Volunteer, op_with(1, NOW_MS as u64, receipt_of(9)), Held::Unknown, Some(facts(11, MSG, 7, 7)), Err(RejectCode::UnknownEntry))]
    #[case::receipt_of_purged(Role::Volunteer, op_with(1, NOW_MS as u64, receipt_of(9)), Held::Unknown, Some(Held::Purged), Err(RejectCode::Purged))]
    #[case::read_own_receipt(Role::Volunteer, op_with(1, NOW_MS as u64, read_receipt()), facts(ORG, RECEIPT, ME, ME), None, Ok(ME))]
    #[case::read_anothers_receipt(Role::Coordinator, op_with(1, NOW_MS as u64, read_receipt()), facts(ORG, RECEIPT, 7, 7), None, Err(RejectCode::NotAuthor))]
    fn admissions(
        #[case] role: Role,
        #[case] sent: Op,
        #[case] entity: Held,
        #[case] parent: Option<Held>,
        #[case] expected: Result<u128, RejectCode>,
    ) {
        let now = Timestamp::from_unix_ms(NOW_MS).expect("time");
        let got = admit(&caller(role), &sent, Context { entity, parent }, now)
            .map(|a| a.scope_member)
            .map_err(|r| r.code);
        assert_eq!(got, expected.map(|m| MemberId(Uuid::from_u128(m))));
    }

    fn hlc(ms: u64) -> Hlc {
        Hlc {
            ms,
            counter: 0,
            device: DeviceId(Uuid::from_u128(1)),
        }
    }

    fn conflict(winner: u64, loser: u64) -> Conflict {
        let write = |ms: u64| FieldWrite {
            stamp: WriteStamp {
                hlc: hlc(ms),
                seq: Some(ms),
                base_seq: 0,
            },
            value: serde_json::json!(ms),
        };
        Conflict {
            field: "severity".into(),
            winner: write(winner),
            loser: write(loser),
        }
    }

    fn open(id: i64, winner: u64, loser: u64) -> OpenConflict {
        OpenConflict {
            id,
            winner_hlc: hlc(winner),
            loser_hlc: hlc(loser),
            winner_seq: Some(winner),
            loser_seq: Some(loser),
        }
    }

    #[rstest]
    #[case::new_conflict(vec![], vec![conflict(2, 1)], 0, vec!["record 2/1"])]
    #[case::still_open(vec![open(7, 2, 1)], vec![conflict(2, 1)], 0, vec![])]
    #[case::settled_by_a_write_that_saw_both(vec![open(7, 2, 1)], vec![], 2, vec!["settle 7"])]
    #[case::dropped_by_a_write_that_saw_one(vec![open(7, 2, 1)], vec![], 1, vec!["drop 7"])]
    #[case::a_newer_write_wins(vec![open(7, 2, 1)], vec![conflict(3, 2)], 0, vec!["drop 7", "record 3/2"])]
    fn conflict_records(
        #[case] held: Vec<OpenConflict>,
        #[case] now: Vec<Conflict>,
        #[case] base_seq: u64,
        #[case] expected: Vec<&str>,
    ) {
        let now: Vec<&Conflict> = now.iter().collect();
        let got: Vec<String> = reconcile_conflicts(&held, &now, base_seq)
            .into_iter()
            .map(|c| match c {
                ConflictChange::Settle(id) => format!("settle {id}"),
                ConflictChange::Drop(id) => format!("drop {id}"),
                ConflictChange::Record(c) => {
                    format!("record {}/{}", c.winner.stamp.hlc.ms, c.loser.stamp.hlc.ms)
                }
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_message_op_is_pulled_by_its_audience_and_a_receipt_by_its_phone_alone() {
        let me = MemberId(Uuid::from_u128(ME));
        let area = vaka_shared::AreaId(Uuid::from_u128(42));
        let to_area = OpBody::Message(vaka_shared::model::MessageFields {
            audience: Some(Audience::Area(area)),
            ..Default::default()
        });
        let key = audience_key(&to_area, None, me);
        assert_eq!(key.as_deref(), Some(format!("area:{area}").as_str()));
        // Ending it early carries no audience: the stored message's is used.
        let mut stored = EntityState::default();
        stored.apply(
            WriteStamp {
                hlc: hlc(1),
                seq: Some(1),
                base_seq: 0,
            },
            &to_area.field_map(),
        );
        assert_eq!(audience_key(&end_message(), Some(&stored), me), key);
        assert_eq!(
            audience_key(&receipt_of(9), None, me),
            Some(format!("member:{me}"))
        );
        assert_eq!(audience_key(&incident(), None, me), None);
        let keys = pull_keys(me, Some(area), Some("Nattvandrarna"));
        for wanted in [
            key.as_deref(),
            Some("org"),
            Some("group:Nattvandrarna"),
            Some(format!("member:{me}").as_str()),
        ] {
            assert!(keys.iter().any(|k| k.as_deref() == wanted), "{wanted:?}");
        }
        assert_eq!(pull_keys(me, None, Some(""))[1..3], [None, None]);
    }
}
