//! The audit log: an append-only, hash-chained record of who did or saw what — sign-ins, entry
//! pages viewed, exports and downloads, enrolment codes, device and member changes, settled
//! conflicts, redactions, holds, retention changes and purges, views of shared aggregates.
//!
//! A record holds who (member id and their name at the time, or the server), when, the action (a
//! stable snake_case code, [`AuditAction::code`]) and its ids and parameters as JSON — never entry
//! text, passwords or tokens. Each organisation has a chain of its own, and failed sign-ins under
//! names no member has go into one more (organisation `""`). A record carries its number in its
//! chain (`chain_seq`, from 1), the previous record's hash (`prev_hash`; [`GENESIS_HASH`] for the
//! first) and `hash`, the SHA-256 over `prev_hash`, a newline and the record's canonical content
//! (the JSON array `[org_id, chain_seq, at_ms, actor_id, actor_name, action, details]`, see
//! [`record_hash`]). [`verify`] recomputes every hash and checks the links and the numbering.
//!
//! A state-changing action is recorded by [`record`] inside the same write job as the change, so
//! both commit or neither does; a read (an entry page, an export) by `Store::record_view`, a write job
//! of its own that completes before the page or file is handed out.
//!
//! Pruning (the audit retention, [`prune`]) removes a chain's oldest records but first appends an
//! `audit_pruned` anchor naming the last record removed and its hash, so the chain still verifies
//! from its first remaining record.

use super::{Store, StoreError, on_backend, postgres};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use vaka_shared::{AreaId, DeviceId, EntityId, MemberId, OrgId};

/// The `prev_hash` of a chain's first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// How long an organisation keeps its audit log unless set otherwise, in days (three years); also
/// the period of the chain of failed sign-ins under unknown names.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 1095;
/// The shortest audit retention an organisation may set, in days.
pub const MIN_AUDIT_RETENTION_DAYS: u32 = 90;
/// The longest audit retention an organisation may set, in days (ten years).
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 3650;
/// Characters kept of a sign-in name typed in a failed sign-in.
pub const LOGIN_KEPT_CHARS: usize = 40;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A member (their name at the time is looked up and kept with the record).
    Member(MemberId),
    /// The server itself (the retention purge, the audit log's own pruning).
    Server,
    /// An operator at the server's command line.
    CommandLine,
    /// Nobody known (a failed sign-in).
    Nobody,
}

/// The name recorded for [`Actor::Server`].
pub const SERVER_ACTOR: &str = "server";
/// The name recorded for [`Actor::CommandLine`].
pub const COMMAND_LINE_ACTOR: &str = "command line";

impl Actor {
    /// `(actor_id, actor_name)` as stored.
    fn resolve(self, conn: &Connection) -> Result<(Option<String>, String), StoreError> {
        Ok(match self {
            Self::Member(id) => {
                let name: Option<String> = conn
                    .prepare_cached("SELECT display_name FROM members WHERE id = ?1")?
                    .query_row([id.to_string()], |r| r.get(0))
                    .optional()?;
                (Some(id.to_string()), name.unwrap_or_default())
            }
            Self::Server => (None, SERVER_ACTOR.to_owned()),
            Self::CommandLine => (None, COMMAND_LINE_ACTOR.to_owned()),
            Self::Nobody => (None, String::new()),
        })
    }
}

/// How a report was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// The report page.
    Page,
    /// The PDF.
    Pdf,
    /// The CSV (of entries, or of aggregates where only those are shared).
    Csv,
    /// The GeoJSON.
    Geojson,
}

/// What was done or seen, with its ids and parameters (never entry text, passwords or tokens).
/// The serialised form of a variant without its tag is the record's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "audit_action", rename_all = "snake_case")]
pub enum AuditAction {
    /// A dashboard sign-in succeeded.
    SignedIn {
        /// The client's address.
        address: String,
    },
    /// A dashboard sign-in failed (wrong password, or a name no one has).
    SignInFailed {
        /// The name typed, cut to [`LOGIN_KEPT_CHARS`] characters.
        login: String,
        /// The client's address.
        address: String,
    },
    /// An entry page was viewed.
    EntryViewed {
        /// The entry.
        entry: EntityId,
    },
    /// A photo was downloaded.
    PhotoDownloaded {
        /// Its SHA-256.
        sha256: String,
    },
    /// The situation report was viewed or downloaded.
    ReportViewed {
        /// First day (`YYYY-MM-DD`).
        from: String,
        /// Last day.
        to: String,
        /// Area ids; empty means every area.
        areas: Vec<String>,
        /// Page, PDF, CSV or GeoJSON.
        format: ReportFormat,
    },
    /// Aggregates another organisation shares (or a combined report over several) were viewed;
    /// recorded in the viewer's organisation and in the sharing one.
    SharedAggregatesViewed {
        /// The organisation whose aggregates were seen.
        report_org: OrgId,
        /// The organisation of the viewer.
        viewer_org: OrgId,
        /// First day (`YYYY-MM-DD`).
        from: String,
        /// Last day.
        to: String,
        /// Page, PDF, CSV or GeoJSON.
        format: ReportFormat,
    },
    /// The organisation began sharing its aggregates with a municipal one; recorded on both
    /// sides.
    AggregatesShared {
        /// The other organisation.
        with_org: OrgId,
    },
    /// The organisation stopped sharing its aggregates with a municipal one; on both sides.
    SharingWithdrawn {
        /// The other organisation.
        with_org: OrgId,
    },
    /// The audit log was exported as CSV, with these filters.
    AuditExported {
        /// The action filtered on.
        action: Option<String>,
        /// The member filtered on.
        member: Option<String>,
        /// First day.
        from: Option<String>,
        /// Last day.
        to: Option<String>,
    },
    /// A one-time enrolment code was made for a member's phone.
    EnrolmentCodeCreated {
        /// The member.
        member: MemberId,
    },
    /// A device's token was revoked.
    DeviceRevoked {
        /// The device.
        device: DeviceId,
    },
    /// A device was marked lost (it wipes at its next contact).
    DeviceMarkedLost {
        /// The device.
        device: DeviceId,
    },
    /// A device was retired (it hands over what it has not sent, then wipes).
    DeviceRetired {
        /// The device.
        device: DeviceId,
    },
    /// A member was created.
    MemberCreated {
        /// The member.
        member: MemberId,
        /// Their role.
        role: String,
        /// Their group.
        group: Option<String>,
    },
    /// A member was removed (they left; shown under a neutral label from then on).
    MemberRemoved {
        /// The member.
        member: MemberId,
    },
    /// A member's role changed.
    MemberRoleChanged {
        /// The member.
        member: MemberId,
        /// The role before.
        from: String,
        /// The role after.
        to: String,
    },
    /// A member's group changed.
    MemberGroupChanged {
        /// The member.
        member: MemberId,
        /// The group before.
        from: Option<String>,
        /// The group after.
        to: Option<String>,
    },
    /// A member's area changed (which messages to an area reach their phones).
    MemberAreaChanged {
        /// The member.
        member: MemberId,
        /// The area before.
        from: Option<AreaId>,
        /// The area after.
        to: Option<AreaId>,
    },
    /// A coordinator sent a message to the walkers' phones (its id and audience kind only,
    /// never its text).
    MessageSent {
        /// The message.
        message: EntityId,
        /// `org`, `area` or `group`.
        audience: String,
    },
    /// A coordinator ended a message before its end time.
    MessageEnded {
        /// The message.
        message: EntityId,
    },
    /// A conflict was settled.
    ConflictSettled {
        /// The conflict record.
        conflict: i64,
        /// Its entry.
        entry: EntityId,
        /// The field.
        field: String,
        /// `winner` or `loser`: which write was kept.
        choice: String,
    },
    /// A text of an entry was redacted.
    TextRedacted {
        /// The entry.
        entry: EntityId,
        /// The field.
        field: String,
    },
    /// An entry was held past the retention period.
    HoldSet {
        /// The entry.
        entry: EntityId,
    },
    /// An entry's hold was released.
    HoldReleased {
        /// The entry.
        entry: EntityId,
    },
    /// The organisation's retention period changed.
    RetentionChanged {
        /// Days before.
        from_days: u32,
        /// Days after.
        to_days: u32,
    },
    /// The organisation's audit retention changed.
    AuditRetentionChanged {
        /// Days before.
        from_days: u32,
        /// Days after.
        to_days: u32,
    },
    /// A retention purge removed entries (one record per write job of the purge).
    EntriesPurged {
        /// Entries that happened before this time went, Unix ms.
        cutoff_ms: i64,
        /// Entries removed.
        entries: u64,
        /// Comments and track segments removed with them.
        children: u64,
        /// Photos removed.
        photos: u64,
    },
    /// A notification rule was added.
    NotifyRuleAdded {
        /// The rule.
        rule: String,
    },
    /// A notification rule was removed.
    NotifyRuleRemoved {
        /// The rule.
        rule: String,
    },
    /// A webhook endpoint was added (its secret is never recorded).
    WebhookAdded {
        /// The endpoint.
        webhook: String,
    },
    /// A webhook endpoint was removed.
    WebhookRemoved {
        /// The endpoint.
        webhook: String,
    },
    /// A failed notification delivery was sent again.
    NotificationResent {
        /// The delivery.
        delivery: String,
    },
    /// The chain's records up to `through_seq` were pruned by the audit retention; this anchor
    /// lets the chain verify from its first remaining record.
    AuditPruned {
        /// Records before this time went, Unix ms.
        before_ms: i64,
        /// The last record removed.
        through_seq: u64,
        /// Its hash (the `prev_hash` of the first record kept).
        through_hash: String,
        /// Records removed.
        records: u64,
    },
}

/// Every action code, in the order the dashboard's filter lists them.
pub const ACTION_CODES: &[&str] = &[
    "signed_in",
    "sign_in_failed",
    "entry_viewed",
    "photo_downloaded",
    "report_viewed",
    "shared_aggregates_viewed",
    "aggregates_shared",
    "sharing_withdrawn",
    "audit_exported",
    "enrolment_code_created",
    "device_revoked",
    "device_marked_lost",
    "device_retired",
    "member_created",
    "member_removed",
    "member_role_changed",
    "member_group_changed",
    "member_area_changed",
    "message_sent",
    "message_ended",
    "conflict_settled",
    "text_redacted",
    "hold_set",
    "hold_released",
    "retention_changed",
    "audit_retention_changed",
    "entries_purged",
    "notify_rule_added",
    "notify_rule_removed",
    "webhook_added",
    "webhook_removed",
    "notification_resent",
    "audit_pruned",
];

impl AuditAction {
    /// A failed sign-in: the name typed (cut to [`LOGIN_KEPT_CHARS`] characters) and the address.
    pub fn sign_in_failed(login: &str, address: &str) -> Self {
        Self::SignInFailed {
            login: login.chars().take(LOGIN_KEPT_CHARS).collect(),
            address: address.to_owned(),
        }
    }

    /// The stable code and the details (the variant's fields as a JSON object).
    pub fn code_and_details(&self) -> Result<(String, String), StoreError> {
        let mut value = serde_json::to_value(self)?;
        let code = value
            .as_object_mut()
            .and_then(|fields| fields.remove("audit_action"))
            .and_then(|code| code.as_str().map(str::to_owned))
            .unwrap_or_default();
        Ok((code, serde_json::to_string(&value)?))
    }

    /// The stable snake_case code of the action (one of [`ACTION_CODES`]).
    pub fn code(&self) -> String {
        self.code_and_details().map(|(c, _)| c).unwrap_or_default()
    }
}

/// The canonical content of a record: what its hash covers besides the previous hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content<'a> {
    /// The organisation (`""` for the chain of unknown names).
    pub org_id: &'a str,
    /// Its number in the chain.
    pub chain_seq: u64,
    /// When, Unix ms.
    pub at_ms: i64,
    /// The member, if a member did it.
    pub actor_id: Option<&'a str>,
    /// Their name at the time, or the server's marker.
    pub actor_name: &'a str,
    /// The action's code.
    pub action: &'a str,
    /// Its details, JSON.
    pub details: &'a str,
}

/// The SHA-256 (lower-case hex) over `prev_hash`, a newline and the canonical JSON of `content`.
pub fn record_hash(prev_hash: &str, content: &Content<'_>) -> Result<String, StoreError> {
    let canonical = serde_json::to_string(&(
        content.org_id,
        content.chain_seq,
        content.at_ms,
        content.actor_id,
        content.actor_name,
        content.action,
        content.details,
    ))?;
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The chain's newest record: `(chain_seq, hash)`, or `(0, GENESIS_HASH)` for an empty chain.
fn head(conn: &Connection, org: &str) -> Result<(u64, String), StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT chain_seq, hash FROM audit_log WHERE org_id = ?1 ORDER BY chain_seq DESC LIMIT 1",
        )?
        .query_row([org], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or_else(|| (0, GENESIS_HASH.to_owned())))
}

/// Appends `action` by `actor` to `org`'s chain (`None`: the chain of unknown sign-in names), in
/// the caller's write job. Returns the record's number in its chain.
pub fn record(
    conn: &Connection,
    org: Option<OrgId>,
    actor: Actor,
    action: &AuditAction,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let org = org.map(|o| o.to_string()).unwrap_or_default();
    let (actor_id, actor_name) = actor.resolve(conn)?;
    let (code, details) = action.code_and_details()?;
    let (last, prev_hash) = head(conn, &org)?;
    let chain_seq = last + 1;
    let hash = record_hash(
        &prev_hash,
        &Content {
            org_id: &org,
            chain_seq,
            at_ms: now_ms,
            actor_id: actor_id.as_deref(),
            actor_name: &actor_name,
            action: &code,
            details: &details,
        },
    )?;
    conn.prepare_cached(
        "INSERT INTO audit_log (org_id, chain_seq, at_ms, actor_id, actor_name, action, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        org, chain_seq, now_ms, actor_id, actor_name, code, details, prev_hash, hash
    ])?;
    Ok(chain_seq)
}

/// A member's role and group, before or after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleAndGroup<'a> {
    /// The role's wire name (`volunteer`, `coordinator`, `admin`, `liaison`).
    pub role: &'a str,
    /// The group, if any.
    pub group: Option<&'a str>,
}

/// Records what changed of `member` between `before` and `after` — `member_role_changed`,
/// `member_group_changed`, one record each, nothing when neither changed — by `by`, in the
/// caller's write job (the people page's handlers call it beside the change they make).
pub fn record_member_change(
    conn: &Connection,
    org: OrgId,
    by: Actor,
    member: MemberId,
    before: RoleAndGroup<'_>,
    after: RoleAndGroup<'_>,
    now_ms: i64,
) -> Result<(), StoreError> {
    if before.role != after.role {
        let changed = AuditAction::MemberRoleChanged {
            member,
            from: before.role.to_owned(),
            to: after.role.to_owned(),
        };
        record(conn, Some(org), by, &changed, now_ms)?;
    }
    if before.group != after.group {
        let changed = AuditAction::MemberGroupChanged {
            member,
            from: before.group.map(str::to_owned),
            to: after.group.map(str::to_owned),
        };
        record(conn, Some(org), by, &changed, now_ms)?;
    }
    Ok(())
}

// ----- Reading -----

/// One record as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its number in the organisation's chain.
    pub chain_seq: u64,
    /// When, Unix ms.
    pub at_ms: i64,
    /// The member, if a member did it.
    pub actor_id: Option<MemberId>,
    /// Their name at the time ([`SERVER_ACTOR`], [`COMMAND_LINE_ACTOR`] or empty otherwise).
    pub actor_name: String,
    /// The action's code.
    pub action: String,
    /// Its details, JSON.
    pub details: String,
    /// The record's hash.
    pub hash: String,
}

/// Which records to show: each part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this action code.
    pub action: Option<String>,
    /// Only records by this member.
    pub member: Option<String>,
    /// From this time, Unix ms.
    pub from_ms: Option<i64>,
    /// Before this time, Unix ms.
    pub until_ms: Option<i64>,
}

const FILTERED: &str = "FROM audit_log WHERE org_id = ?1 AND (?2 IS NULL OR action = ?2)
     AND (?3 IS NULL OR actor_id = ?3) AND (?4 IS NULL OR at_ms >= ?4) AND (?5 IS NULL OR at_ms < ?5)";

/// `org`'s records matching `filter`, newest first, `limit` of them after skipping `offset`.
pub fn list(
    conn: &Connection,
    org: OrgId,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<AuditRow>, StoreError> {
    let sql = format!(
        "SELECT chain_seq, at_ms, actor_id, actor_name, action, details, hash {FILTERED}
         ORDER BY chain_seq DESC LIMIT ?6 OFFSET ?7"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                org.to_string(),
                filter.action,
                filter.member,
                filter.from_ms,
                filter.until_ms,
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX),
            ],
            |r| {
                Ok(AuditRow {
                    chain_seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    actor_id: super::row::parsed_opt(r, 2)?,
                    actor_name: r.get(3)?,
                    action: r.get(4)?,
                    details: r.get(5)?,
                    hash: r.get(6)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many of `org`'s records match `filter`.
pub fn count(conn: &Connection, org: OrgId, filter: &AuditFilter) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) {FILTERED}");
    Ok(conn.prepare_cached(&sql)?.query_row(
        params![
            org.to_string(),
            filter.action,
            filter.member,
            filter.from_ms,
            filter.until_ms
        ],
        |r| r.get(0),
    )?)
}

/// The members who appear as actors in `org`'s chain: `(id, name at their newest record)`, by name.
pub fn actors(conn: &Connection, org: OrgId) -> Result<Vec<(String, String)>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT actor_id, actor_name FROM audit_log a
             WHERE org_id = ?1 AND actor_id IS NOT NULL
               AND chain_seq = (SELECT MAX(chain_seq) FROM audit_log b
                                WHERE b.org_id = a.org_id AND b.actor_id = a.actor_id)
             ORDER BY actor_name, actor_id",
        )?
        .query_map([org.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One page of the audit log as the admins' page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// How many records match the filter, on every page.
    pub total: u64,
    /// This page's records, newest first.
    pub rows: Vec<AuditRow>,
    /// The organisation's members' current names by id, for the members the details name.
    pub names: BTreeMap<String, String>,
    /// The organisation's audit retention, in days.
    pub kept_days: u32,
}

/// A page of `org`'s records matching `filter` (`limit` after skipping `offset`), with the count,
/// the members' names and the retention, in one read.
pub fn page(
    conn: &Connection,
    org: OrgId,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<AuditPage, StoreError> {
    Ok(AuditPage {
        total: count(conn, org, filter)?,
        rows: list(conn, org, filter, offset, limit)?,
        names: super::choices::member_names(conn, &org.to_string())?,
        kept_days: retention_days(conn, org)?,
    })
}

// ----- Retention -----

/// `org`'s audit retention, in days.
pub fn retention_days(conn: &Connection, org: OrgId) -> Result<u32, StoreError> {
    Ok(conn.query_row(
        "SELECT audit_retention_days FROM orgs WHERE id = ?1",
        [org.to_string()],
        |r| r.get(0),
    )?)
}

/// An audit retention outside the allowed bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the audit retention must be {MIN_AUDIT_RETENTION_DAYS} to {MAX_AUDIT_RETENTION_DAYS} days"
)]
pub struct AuditRetentionOutOfBounds;

/// Sets `org`'s audit retention and records the change, by `actor`.
pub fn set_retention_days(
    conn: &Connection,
    org: OrgId,
    actor: Actor,
    days: u32,
    now_ms: i64,
) -> Result<Result<(), AuditRetentionOutOfBounds>, StoreError> {
    if !(MIN_AUDIT_RETENTION_DAYS..=MAX_AUDIT_RETENTION_DAYS).contains(&days) {
        return Ok(Err(AuditRetentionOutOfBounds));
    }
    let before = retention_days(conn, org)?;
    if before != days {
        conn.execute(
            "UPDATE orgs SET audit_retention_days = ?2 WHERE id = ?1",
            params![org.to_string(), days],
        )?;
        let change = AuditAction::AuditRetentionChanged {
            from_days: before,
            to_days: days,
        };
        record(conn, Some(org), actor, &change, now_ms)?;
    }
    Ok(Ok(()))
}

/// Removes `org`'s records older than its audit retention (`None`: the chain of unknown sign-in
/// names, kept [`DEFAULT_AUDIT_RETENTION_DAYS`]), in the caller's write job: first an
/// `audit_pruned` anchor naming the last record to go and its hash is appended, then the chain's
/// records up to that one are deleted. Returns how many went.
pub fn prune(conn: &Connection, org: Option<OrgId>, now_ms: i64) -> Result<u64, StoreError> {
    let days = match org {
        Some(org) => retention_days(conn, org)?,
        None => DEFAULT_AUDIT_RETENTION_DAYS,
    };
    let key = org.map(|o| o.to_string()).unwrap_or_default();
    let before_ms = now_ms.saturating_sub(i64::from(days) * DAY_MS);
    let last: Option<(u64, String)> = conn
        .prepare_cached(
            "SELECT chain_seq, hash FROM audit_log WHERE org_id = ?1 AND at_ms < ?2
             ORDER BY chain_seq DESC LIMIT 1",
        )?
        .query_row(params![key, before_ms], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((through_seq, through_hash)) = last else {
        return Ok(0);
    };
    let records: u64 = conn.query_row(
        "SELECT COUNT(*) FROM audit_log WHERE org_id = ?1 AND chain_seq <= ?2",
        params![key, through_seq],
        |r| r.get(0),
    )?;
    let anchor = AuditAction::AuditPruned {
        before_ms,
        through_seq,
        through_hash,
        records,
    };
    record(conn, org, Actor::Server, &anchor, now_ms)?;
    conn.execute(
        "DELETE FROM audit_log WHERE org_id = ?1 AND chain_seq <= ?2",
        params![key, through_seq],
    )?;
    Ok(records)
}

/// The admins' audit pages on either backend.
impl Store {
    /// The members who appear as actors in `org`'s chain (see [`actors`]).
    pub async fn audit_actors(&self, org: OrgId) -> Result<Vec<(String, String)>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| actors(c, org)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::audit::actors(db, org).await
            })).await,
        )
    }

    /// A page of `org`'s records matching `filter`, with what the page shows beside them (see
    /// [`page`]).
    pub async fn audit_page(
        &self,
        org: OrgId,
        filter: AuditFilter,
        offset: u64,
        limit: u64,
    ) -> Result<AuditPage, StoreError> {
        on_backend!(self,
            s => s.read(move |c| page(c, org, &filter, offset, limit)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::audit::page(db, org, &filter, offset, limit).await
            })).await,
        )
    }

    /// `org`'s records matching `filter`, newest first, `limit` after skipping `offset` (see
    /// [`list`]).
    pub async fn audit_list(
        &self,
        org: OrgId,
        filter: AuditFilter,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        on_backend!(self,
            s => s.read(move |c| list(c, org, &filter, offset, limit)).await,
            p => p.read(move |db| Box::pin(async move {
                postgres::audit::list(db, org, &filter, offset, limit).await
            })).await,
        )
    }
}

// ----- Verification -----

/// A chain that verified: how many records it holds and its newest record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The organisation (`""`: failed sign-ins under unknown names).
    pub org_id: String,
    /// Records in the chain.
    pub records: u64,
    /// The newest record's number.
    pub head_seq: u64,
    /// The newest record's hash: note it elsewhere to detect a later truncation.
    pub head_hash: String,
}

/// What is wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Its content does not hash to its stored hash: it was edited (or renumbered).
    Edited,
    /// Records before it are missing (its number is not the next one, or the chain's start is
    /// not anchored): they were removed.
    Removed {
        /// The number the chain expected here.
        expected: u64,
    },
    /// Its `prev_hash` is not the hash of the record before it.
    BrokenLink,
    /// It is stored before a record that precedes it in the chain: records were reordered.
    Reordered,
}

/// The first damaged record found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The chain (organisation id, `""` for unknown sign-in names).
    pub org_id: String,
    /// The record's number in the chain, as stored.
    pub chain_seq: u64,
    /// Its row id.
    pub row_id: i64,
    /// What is wrong.
    pub problem: Problem,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chain = if self.org_id.is_empty() {
            "the chain of unknown sign-in names".to_owned()
        } else {
            format!("the chain of organisation {}", self.org_id)
        };
        let what = match &self.problem {
            Problem::Edited => "its content does not match its hash: it was edited".to_owned(),
            Problem::Removed { expected } => format!(
                "the chain expected record #{expected} here: records before it were removed"
            ),
            Problem::BrokenLink => {
                "its previous hash is not the hash of the record before it: a record was removed, replaced or reordered".to_owned()
            }
            Problem::Reordered => "it is stored after a record that follows it: records were reordered".to_owned(),
        };
        write!(
            f,
            "record #{} (row {}) in {chain}: {what}",
            self.chain_seq, self.row_id
        )
    }
}

/// A stored record with everything its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its row's id (storage order).
    pub row_id: i64,
    /// Its number in the chain.
    pub chain_seq: u64,
    /// When, Unix ms.
    pub at_ms: i64,
    /// The member, if a member did it.
    pub actor_id: Option<String>,
    /// The actor's name at the time.
    pub actor_name: String,
    /// The action's code.
    pub action: String,
    /// Its details, JSON.
    pub details: String,
    /// The previous record's hash.
    pub prev_hash: String,
    /// Its hash.
    pub hash: String,
}

/// The anchor an `audit_pruned` record's details name: `(through_seq, through_hash)`.
pub fn anchor_of(details: &str) -> Option<(u64, String)> {
    let value = serde_json::from_str::<serde_json::Value>(details).ok()?;
    Some((
        value.get("through_seq")?.as_u64()?,
        value.get("through_hash")?.as_str()?.to_owned(),
    ))
}

/// Checks one chain's records in chain order, one at a time, whichever store they come from:
/// each record's hash, each link to the record before, the numbering, the storage order, and that
/// a chain not starting at #1 is anchored by an `audit_pruned` record.
#[derive(Debug)]
pub struct ChainCheck {
    org_id: String,
    anchors: Vec<(u64, String)>,
    previous: Option<(u64, String, i64)>,
    records: u64,
}

impl ChainCheck {
    /// A check of `org_id`'s chain, whose pruning anchors are `anchors`.
    pub fn new(org_id: &str, anchors: Vec<(u64, String)>) -> Self {
        Self {
            org_id: org_id.to_owned(),
            anchors,
            previous: None,
            records: 0,
        }
    }

    /// Checks the next record; the first damage found, if any.
    pub fn next(&mut self, s: Stored) -> Result<Result<(), Damage>, StoreError> {
        let damage = |problem| Damage {
            org_id: self.org_id.clone(),
            chain_seq: s.chain_seq,
            row_id: s.row_id,
            problem,
        };
        let computed = record_hash(
            &s.prev_hash,
            &Content {
                org_id: &self.org_id,
                chain_seq: s.chain_seq,
                at_ms: s.at_ms,
                actor_id: s.actor_id.as_deref(),
                actor_name: &s.actor_name,
                action: &s.action,
                details: &s.details,
            },
        )?;
        if computed != s.hash {
            return Ok(Err(damage(Problem::Edited)));
        }
        match &self.previous {
            None => {
                let anchored = s.chain_seq == 1 && s.prev_hash == GENESIS_HASH
                    || self
                        .anchors
                        .iter()
                        .any(|(seq, hash)| seq + 1 == s.chain_seq && *hash == s.prev_hash);
                if !anchored {
                    let problem = if s.chain_seq == 1 {
                        Problem::BrokenLink
                    } else {
                        Problem::Removed { expected: 1 }
                    };
                    return Ok(Err(damage(problem)));
                }
            }
            Some((seq, hash, row_id)) => {
                if s.chain_seq != seq + 1 {
                    return Ok(Err(damage(Problem::Removed { expected: seq + 1 })));
                }
                if s.prev_hash != *hash {
                    return Ok(Err(damage(Problem::BrokenLink)));
                }
                if s.row_id < *row_id {
                    return Ok(Err(damage(Problem::Reordered)));
                }
            }
        }
        self.records += 1;
        self.previous = Some((s.chain_seq, s.hash, s.row_id));
        Ok(Ok(()))
    }

    /// The chain's head once every record passed.
    pub fn head(self) -> ChainHead {
        let (head_seq, head_hash, _) = self.previous.unwrap_or((0, GENESIS_HASH.to_owned(), 0));
        ChainHead {
            org_id: self.org_id,
            records: self.records,
            head_seq,
            head_hash,
        }
    }
}

/// Checks every chain (see [`ChainCheck`]). Returns each chain's head, or the first damaged
/// record.
pub fn verify(conn: &Connection) -> Result<Result<Vec<ChainHead>, Damage>, StoreError> {
    let orgs: Vec<String> = conn
        .prepare("SELECT DISTINCT org_id FROM audit_log ORDER BY org_id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut heads = Vec::with_capacity(orgs.len());
    for org in orgs {
        match verify_chain(conn, &org)? {
            Ok(head) => heads.push(head),
            Err(damage) => return Ok(Err(damage)),
        }
    }
    Ok(Ok(heads))
}

fn verify_chain(conn: &Connection, org: &str) -> Result<Result<ChainHead, Damage>, StoreError> {
    let anchors: Vec<(u64, String)> = conn
        .prepare("SELECT details FROM audit_log WHERE org_id = ?1 AND action = 'audit_pruned'")?
        .query_map([org], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .filter_map(|d| anchor_of(d))
        .collect();
    let mut check = ChainCheck::new(org, anchors);
    let mut stmt = conn.prepare(
        "SELECT id, chain_seq, at_ms, actor_id, actor_name, action, details, prev_hash, hash
         FROM audit_log WHERE org_id = ?1 ORDER BY chain_seq, id",
    )?;
    let mut rows = stmt.query([org])?;
    while let Some(r) = rows.next()? {
        let stored = Stored {
            row_id: r.get(0)?,
            chain_seq: r.get(1)?,
            at_ms: r.get(2)?,
            actor_id: r.get(3)?,
            actor_name: r.get(4)?,
            action: r.get(5)?,
            details: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        };
        if let Err(damage) = check.next(stored)? {
            return Ok(Err(damage));
        }
    }
    Ok(Ok(check.head()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts;

    fn conn() -> Connection {
        let mut conn = Connection::open_in_memory().expect("memory database");
        crate::store::migrate(&mut conn).expect("migrated");
        conn
    }

    fn viewed(conn: &Connection, org: OrgId, n: usize, at_ms: i64) {
        for _ in 0..n {
            let action = AuditAction::EntryViewed {
                entry: EntityId::new(),
            };
            record(conn, Some(org), Actor::Server, &action, at_ms).expect("recorded");
        }
    }

    fn verified(conn: &Connection) -> Result<Vec<ChainHead>, Damage> {
        verify(conn).expect("verification ran")
    }

    /// Lets the test edit the log as an intruder with the file would.
    fn unlock(conn: &Connection) {
        conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .expect("triggers dropped");
    }

    #[test]
    fn every_action_has_a_listed_snake_case_code_and_no_tag_in_its_details() {
        let entry = EntityId::new();
        let member = MemberId::new();
        let device = DeviceId::new();
        let org = OrgId::new();
        let samples = [
            AuditAction::SignedIn {
                address: "127.0.0.1".into(),
            },
            AuditAction::sign_in_failed("x", "127.0.0.1"),
            AuditAction::EntryViewed { entry },
            AuditAction::PhotoDownloaded {
                sha256: "ab".into(),
            },
            AuditAction::ReportViewed {
                from: "2026-01-01".into(),
                to: "2026-01-14".into(),
                areas: vec![],
                format: ReportFormat::Pdf,
            },
            AuditAction::SharedAggregatesViewed {
                report_org: org,
                viewer_org: org,
                from: "a".into(),
                to: "b".into(),
                format: ReportFormat::Page,
            },
            AuditAction::AggregatesShared { with_org: org },
            AuditAction::SharingWithdrawn { with_org: org },
            AuditAction::AuditExported {
                action: None,
                member: None,
                from: None,
                to: None,
            },
            AuditAction::EnrolmentCodeCreated { member },
            AuditAction::DeviceRevoked { device },
            AuditAction::DeviceMarkedLost { device },
            AuditAction::DeviceRetired { device },
            AuditAction::MemberCreated {
                member,
                role: "volunteer".into(),
                group: None,
            },
            AuditAction::MemberRemoved { member },
            AuditAction::MemberRoleChanged {
                member,
                from: "volunteer".into(),
                to: "coordinator".into(),
            },
            AuditAction::MemberGroupChanged {
                member,
                from: None,
                to: Some("Nattvandrarna".into()),
            },
            AuditAction::MemberAreaChanged {
                member,
                from: None,
                to: None,
            },
            AuditAction::MessageSent {
                message: entry,
                audience: "area".into(),
            },
            AuditAction::MessageEnded { message: entry },
            AuditAction::ConflictSettled {
                conflict: 1,
                entry,
                field: "severity".into(),
                choice: "winner".into(),
            },
            AuditAction::TextRedacted {
                entry,
                field: "description".into(),
            },
            AuditAction::HoldSet { entry },
            AuditAction::HoldReleased { entry },
            AuditAction::RetentionChanged {
                from_days: 730,
                to_days: 365,
            },
            AuditAction::AuditRetentionChanged {
                from_days: 1095,
                to_days: 365,
            },
            AuditAction::EntriesPurged {
                cutoff_ms: 0,
                entries: 1,
                children: 0,
                photos: 0,
            },
            AuditAction::NotifyRuleAdded { rule: "r".into() },
            AuditAction::NotifyRuleRemoved { rule: "r".into() },
            AuditAction::WebhookAdded {
                webhook: "w".into(),
            },
            AuditAction::WebhookRemoved {
                webhook: "w".into(),
            },
            AuditAction::NotificationResent {
                delivery: "d".into(),
            },
            AuditAction::AuditPruned {
                before_ms: 0,
                through_seq: 1,
                through_hash: GENESIS_HASH.into(),
                records: 1,
            },
        ];
        let codes: Vec<String> = samples.iter().map(AuditAction::code).collect();
        assert_eq!(
            codes,
            ACTION_CODES
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
        );
        for action in &samples {
            let (_, details) = action.code_and_details().expect("serialised");
            assert!(!details.contains("audit_action"), "{details}");
            assert!(details.starts_with('{'), "{details}");
        }
    }

    #[test]
    fn a_failed_sign_in_keeps_only_the_start_of_the_name_typed() {
        let long = "å".repeat(100);
        let AuditAction::SignInFailed { login, .. } = AuditAction::sign_in_failed(&long, "::1")
        else {
            panic!("not a failed sign-in");
        };
        assert_eq!(login.chars().count(), LOGIN_KEPT_CHARS);
    }

    #[test]
    fn records_chain_per_organisation_and_verify() {
        let conn = conn();
        let a = accounts::create_org(&conn, "A", 0).expect("org");
        let b = accounts::create_org(&conn, "B", 0).expect("org");
        viewed(&conn, a, 3, 10);
        viewed(&conn, b, 2, 20);
        record(
            &conn,
            None,
            Actor::Nobody,
            &AuditAction::sign_in_failed("vem", "10.0.0.1"),
            30,
        )
        .expect("recorded");
        let heads = verified(&conn).expect("untouched log verifies");
        let mut counts: Vec<(u64, u64)> = heads.iter().map(|h| (h.records, h.head_seq)).collect();
        counts.sort_unstable();
        assert_eq!(counts, vec![(1, 1), (2, 2), (3, 3)]);
        let first_prev: String = conn
            .query_row(
                "SELECT prev_hash FROM audit_log WHERE org_id = ?1 AND chain_seq = 1",
                [b.to_string()],
                |r| r.get(0),
            )
            .expect("first record");
        assert_eq!(first_prev, GENESIS_HASH);
    }

    #[test]
    fn the_log_refuses_updates_and_deletes_of_records_no_anchor_names() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        viewed(&conn, org, 2, 10);
        assert!(conn.execute("UPDATE audit_log SET at_ms = 11", []).is_err());
        assert!(conn.execute("DELETE FROM audit_log", []).is_err());
    }

    #[test]
    fn an_edited_record_is_found() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        viewed(&conn, org, 4, 10);
        unlock(&conn);
        conn.execute(
            "UPDATE audit_log SET actor_name = 'someone else' WHERE chain_seq = 2",
            [],
        )
        .expect("edited");
        let damage = verified(&conn).expect_err("an edit is found");
        assert_eq!(
            (damage.chain_seq, damage.problem.clone()),
            (2, Problem::Edited)
        );
    }

    #[test]
    fn an_edited_record_with_its_hash_recomputed_breaks_the_next_link() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        viewed(&conn, org, 3, 10);
        unlock(&conn);
        let prev: String = conn
            .query_row(
                "SELECT prev_hash FROM audit_log WHERE chain_seq = 2",
                [],
                |r| r.get(0),
            )
            .expect("record");
        let details = r#"{"entry":"00000000-0000-0000-0000-000000000000"}"#;
        let forged = record_hash(
            &prev,
            &Content {
                org_id: &org.to_string(),
                chain_seq: 2,
                at_ms: 10,
                actor_id: None,
                actor_name: SERVER_ACTOR,
                action: "entry_viewed",
                details,
            },
        )
        .expect("hash");
        conn.execute(
            "UPDATE audit_log SET details = ?1, hash = ?2 WHERE chain_seq = 2",
            params![details, forged],
        )
        .expect("forged");
        let damage = verified(&conn).expect_err("a forged record is found");
        assert_eq!(
            (damage.chain_seq, damage.problem.clone()),
            (3, Problem::BrokenLink)
        );
    }

    #[test]
    fn a_removed_record_is_found() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        viewed(&conn, org, 4, 10);
        unlock(&conn);
        conn.execute("DELETE FROM audit_log WHERE chain_seq = 2", [])
            .expect("deleted");
        let damage = verified(&conn).expect_err("a removal is found");
        assert_eq!(
            (damage.chain_seq, damage.problem.clone()),
            (3, Problem::Removed { expected: 2 })
        );
        conn.execute("DELETE FROM audit_log WHERE chain_seq = 1", [])
            .expect("deleted");
        let damage = verified(&conn).expect_err("a removed start is found");
        assert_eq!(damage.problem, Problem::Removed { expected: 1 });
    }

    #[test]
    fn swapped_records_are_found() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        viewed(&conn, org, 4, 10);
        unlock(&conn);
        // Their numbers swapped: each now claims the other's place.
        conn.execute_batch(
            "UPDATE audit_log SET chain_seq = -2 WHERE chain_seq = 2;
             UPDATE audit_log SET chain_seq = 2 WHERE chain_seq = 3;
             UPDATE audit_log SET chain_seq = 3 WHERE chain_seq = -2;",
        )
        .expect("swapped");
        let damage = verified(&conn).expect_err("a swap is found");
        assert_eq!(
            (damage.chain_seq, damage.problem.clone()),
            (2, Problem::Edited)
        );
        // Swapped back, then whole contents exchanged between the two rows.
        conn.execute_batch(
            "UPDATE audit_log SET chain_seq = -2 WHERE chain_seq = 2;
             UPDATE audit_log SET chain_seq = 2 WHERE chain_seq = 3;
             UPDATE audit_log SET chain_seq = 3 WHERE chain_seq = -2;",
        )
        .expect("swapped back");
        assert!(verified(&conn).is_ok());
        // The two rows' whole contents exchanged: the chain reads the same, stored out of order.
        conn.execute_batch(
            "UPDATE audit_log SET id = -2 WHERE chain_seq = 2;
             UPDATE audit_log SET id = 2 WHERE chain_seq = 3;
             UPDATE audit_log SET id = 3 WHERE chain_seq = 2;",
        )
        .expect("rows exchanged");
        let damage = verified(&conn).expect_err("a reordering is found");
        assert_eq!(damage.problem, Problem::Reordered);
    }

    #[test]
    fn pruning_leaves_an_anchor_and_the_chain_still_verifies() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        let day = DAY_MS;
        viewed(&conn, org, 3, day);
        viewed(&conn, org, 2, 2000 * day);
        let now = 1100 * day + 2 * day;
        assert_eq!(prune(&conn, Some(org), now).expect("pruned"), 3);
        let heads = verified(&conn).expect("a pruned chain verifies");
        assert_eq!((heads[0].records, heads[0].head_seq), (3, 6));
        let first: u64 = conn
            .query_row("SELECT MIN(chain_seq) FROM audit_log", [], |r| r.get(0))
            .expect("first");
        assert_eq!(first, 4);
        // Nothing more is old: a second prune removes nothing and adds no anchor.
        assert_eq!(prune(&conn, Some(org), now).expect("pruned"), 0);
        assert_eq!(verified(&conn).expect("verifies")[0].records, 3);
        // Pruning again later takes the old anchor too; the new one anchors the chain.
        assert_eq!(prune(&conn, Some(org), 4000 * day).expect("pruned"), 3);
        assert_eq!(verified(&conn).expect("verifies")[0].records, 1);
    }

    #[test]
    fn a_forged_start_without_its_anchor_is_found() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        viewed(&conn, org, 3, DAY_MS);
        viewed(&conn, org, 1, 2000 * DAY_MS);
        prune(&conn, Some(org), 1100 * DAY_MS + 2 * DAY_MS).expect("pruned");
        unlock(&conn);
        conn.execute("DELETE FROM audit_log WHERE action = 'audit_pruned'", [])
            .expect("anchor deleted");
        let damage = verified(&conn).expect_err("an unanchored start is found");
        assert_eq!(damage.problem, Problem::Removed { expected: 1 });
    }

    #[test]
    fn a_member_change_records_what_changed_and_nothing_else() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        let member = MemberId::new();
        let volunteer = RoleAndGroup {
            role: "volunteer",
            group: None,
        };
        let coordinator = RoleAndGroup {
            role: "coordinator",
            group: Some("Nattvandrarna"),
        };
        record_member_change(&conn, org, Actor::Server, member, volunteer, volunteer, 0)
            .expect("nothing");
        record_member_change(&conn, org, Actor::Server, member, volunteer, coordinator, 0)
            .expect("both");
        let actions: Vec<String> = conn
            .prepare("SELECT action FROM audit_log ORDER BY chain_seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("records");
        assert_eq!(actions, ["member_role_changed", "member_group_changed"]);
    }

    #[test]
    fn the_audit_retention_is_bounded_and_its_change_recorded() {
        let conn = conn();
        let org = accounts::create_org(&conn, "A", 0).expect("org");
        assert_eq!(
            retention_days(&conn, org).expect("days"),
            DEFAULT_AUDIT_RETENTION_DAYS
        );
        assert_eq!(
            set_retention_days(&conn, org, Actor::CommandLine, 10, 0).expect("ran"),
            Err(AuditRetentionOutOfBounds)
        );
        set_retention_days(&conn, org, Actor::CommandLine, 365, 0)
            .expect("ran")
            .expect("in bounds");
        assert_eq!(retention_days(&conn, org).expect("days"), 365);
        let action: String = conn
            .query_row("SELECT action FROM audit_log", [], |r| r.get(0))
            .expect("recorded");
        assert_eq!(action, "audit_retention_changed");
    }
}
