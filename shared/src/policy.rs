//! Who may write what. The same rules run on the server (which enforces them) and on the device
//! (which can tell its user before it sends).

use crate::ids::MemberId;
use crate::model::REVIEW_FIELDS;
use crate::model::Role;
use crate::op::{EntityKind, OpBody};

/// What the writer knows of the entity an op writes, if it exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    /// Its kind.
    pub kind: EntityKind,
    /// The member whose device created it.
    pub author: MemberId,
}

/// Why a write is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Volunteers do not write review fields.
    #[error("field `{0}` is a review field; only coordinators and admins may write it")]
    ReviewField(&'static str),
    /// Volunteers edit only what they logged themselves.
    #[error("only the member who logged this entry, or a coordinator, may change it")]
    NotAuthor,
    /// Comments and track segments are written once.
    #[error("a {} is written once and cannot be changed", .0.as_str().replace('_', " "))]
    CreateOnce(EntityKind),
    /// Messages to the walkers are written by coordinators and admins only.
    #[error("only coordinators and admins may write a {}", .0.as_str().replace('_', " "))]
    CoordinatorsOnly(EntityKind),
    /// The id belongs to an entity of another kind.
    #[error("this id belongs to an entity of kind `{}`, not `{}`", .existing.as_str(), .written.as_str())]
    KindMismatch {
        /// The kind stored.
        existing: EntityKind,
        /// The kind the op writes.
        written: EntityKind,
    },
}

/// Whether `caller`, with `role`, may write `body` to an entity that is `existing` (or new).
pub fn check_write(
    role: Role,
    caller: MemberId,
    body: &OpBody,
    existing: Option<Existing>,
) -> Result<(), Refusal> {
    let written = body.kind();
    if let Some(existing) = existing {
        if existing.kind != written {
            return Err(Refusal::KindMismatch {
                existing: existing.kind,
                written,
            });
        }
        if written.is_create_once() {
            return Err(Refusal::CreateOnce(written));
        }
    }
    if !role.reviews() && written == EntityKind::Message {
        return Err(Refusal::CoordinatorsOnly(written));
    }
    // A receipt is the phone's own: not even a coordinator changes another member's.
    if let Some(existing) = existing
        && written == EntityKind::MessageReceipt
        && existing.author != caller
    {
        return Err(Refusal::NotAuthor);
    }
    if !role.reviews() && written.has_review_fields() {
        let fields = body.field_map();
        if let Some(field) = REVIEW_FIELDS.iter().find(|f| fields.contains_key(**f)) {
            return Err(Refusal::ReviewField(field));
        }
    }
    if let Some(existing) = existing
        && !role.reviews()
        && existing.author != caller
    {
        return Err(Refusal::NotAuthor);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IncidentFields, ReviewStatus, Severity};
    use rstest::rstest;
    use uuid::Uuid;

    fn member(n: u128) -> MemberId {
        MemberId(Uuid::from_u128(n))
    }

    fn incident(existing_author: Option<u128>) -> Option<Existing> {
        existing_author.map(|a| Existing {
            kind: EntityKind::Incident,
            author: member(a),
        })
    }

    fn review_op() -> OpBody {
        OpBody::Incident(IncidentFields {
            review_status: Some(ReviewStatus::Reviewed),
            ..Default::default()
        })
    }

    fn entry_op() -> OpBody {
        OpBody::Incident(IncidentFields {
            severity: Some(Severity(2)),
            ..Default::default()
        })
    }

    #[rstest]
    #[case::volunteer_edits_own(Role::Volunteer, entry_op(), Some(1), Ok(()))]
    #[case::volunteer_creates(Role::Volunteer, entry_op(), None, Ok(()))]
    #[case::volunteer_edits_others(Role::Volunteer, entry_op(), Some(2), Err(Refusal::NotAuthor))]
    #[case::volunteer_reviews(
        Role::Volunteer,
        review_op(),
        Some(1),
        Err(Refusal::ReviewField("review_status"))
    )]
    #[case::volunteer_reviews_others(
        Role::Volunteer,
        review_op(),
        Some(2),
        Err(Refusal::ReviewField("review_status"))
    )]
    #[case::coordinator_reviews(Role::Coordinator, review_op(), Some(2), Ok(()))]
    #[case::coordinator_settles(Role::Coordinator, entry_op(), Some(2), Ok(()))]
    #[case::admin_reviews(Role::Admin, review_op(), Some(2), Ok(()))]
    fn who_may_write_what(
        #[case] role: Role,
        #[case] body: OpBody,
        #[case] author: Option<u128>,
        #[case] expected: Result<(), Refusal>,
    ) {
        assert_eq!(
            check_write(role, member(1), &body, incident(author)),
            expected
        );
    }

    #[test]
    fn a_comment_cannot_be_edited_even_by_its_author() {
        let body = OpBody::Comment(Default::default());
        let existing = Existing {
            kind: EntityKind::Comment,
            author: member(1),
        };
        assert_eq!(
            check_write(Role::Admin, member(1), &body, Some(existing)),
            Err(Refusal::CreateOnce(EntityKind::Comment))
        );
    }

    #[test]
    fn an_id_keeps_its_kind() {
        let existing = Existing {
            kind: EntityKind::Patrol,
            author: member(1),
        };
        let refusal = check_write(Role::Volunteer, member(1), &entry_op(), Some(existing))
            .expect_err("kind mismatch");
        assert_eq!(
            refusal.to_string(),
            "this id belongs to an entity of kind `patrol`, not `incident`"
        );
    }

    fn message_op() -> OpBody {
        OpBody::Message(crate::model::MessageFields {
            text: Some("Undvik gångtunneln ikväll".to_owned()),
            ..Default::default()
        })
    }

    fn receipt_op() -> OpBody {
        OpBody::MessageReceipt(crate::model::MessageReceiptFields {
            read_at: crate::Timestamp::from_unix_ms(1_796_000_000_000),
            ..Default::default()
        })
    }

    fn existing(kind: EntityKind, author: Option<u128>) -> Option<Existing> {
        author.map(|a| Existing {
            kind,
            author: member(a),
        })
    }

    #[rstest]
    #[case::volunteer_sends(
        Role::Volunteer,
        message_op(),
        None,
        Err(Refusal::CoordinatorsOnly(EntityKind::Message))
    )]
    #[case::volunteer_ends_own(
        Role::Volunteer,
        message_op(),
        Some(1),
        Err(Refusal::CoordinatorsOnly(EntityKind::Message))
    )]
    #[case::coordinator_sends(Role::Coordinator, message_op(), None, Ok(()))]
    #[case::admin_sends(Role::Admin, message_op(), None, Ok(()))]
    #[case::coordinator_ends_anothers(Role::Coordinator, message_op(), Some(2), Ok(()))]
    #[case::liaison_sends(
        Role::Liaison,
        message_op(),
        None,
        Err(Refusal::CoordinatorsOnly(EntityKind::Message))
    )]
    fn who_may_write_a_message(
        #[case] role: Role,
        #[case] body: OpBody,
        #[case] author: Option<u128>,
        #[case] expected: Result<(), Refusal>,
    ) {
        let existing = existing(EntityKind::Message, author);
        assert_eq!(check_write(role, member(1), &body, existing), expected);
    }

    #[rstest]
    #[case::volunteer_receives(Role::Volunteer, None, Ok(()))]
    #[case::volunteer_reads_own(Role::Volunteer, Some(1), Ok(()))]
    #[case::volunteer_reads_anothers(Role::Volunteer, Some(2), Err(Refusal::NotAuthor))]
    #[case::coordinator_receives(Role::Coordinator, None, Ok(()))]
    #[case::coordinator_reads_anothers(Role::Coordinator, Some(2), Err(Refusal::NotAuthor))]
    #[case::admin_reads_anothers(Role::Admin, Some(2), Err(Refusal::NotAuthor))]
    fn a_receipt_is_its_phones_own(
        #[case] role: Role,
        #[case] author: Option<u128>,
        #[case] expected: Result<(), Refusal>,
    ) {
        let existing = existing(EntityKind::MessageReceipt, author);
        assert_eq!(
            check_write(role, member(1), &receipt_op(), existing),
            expected
        );
    }
}
