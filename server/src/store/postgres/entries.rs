//! The dashboard's reads of the `entries` projection on PostgreSQL, as [`crate::store::entries`]
//! on SQLite: the inbox with its filters, counts and sorts, one entry with its duplicates,
//! history, conflicts and comments, the entries of a period, and marking a conflict settled.
//! Results come out as on SQLite, order included: text sorts by code point (`COLLATE "C"`, as
//! SQLite's binary collation) and `NULL` sorts as SQLite's smallest value.

use super::choices;
use super::ops::parsed;
use crate::store::StoreError;
use crate::store::entries::{
    COUNT_CAP, CommentRow, ConflictRow, ConflictToSettle, DUPLICATE_ROWS, DUPLICATE_WINDOW_MS,
    ENTRY_COLUMNS, ENTRY_JOINS, EntryPage, EntryRow, HistoryItem, InboxFilter, InboxPage,
    InboxSort, InboxView, ReviewTargets, json_list, nearest, settled_value, total_of, values_of,
};
use crate::store::row::known;
use deadpool_postgres::GenericClient;
use serde_json::{Map, Value};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use vaka_shared::model::ReviewStatus;
use vaka_shared::op::EntityKind;

/// A query parameter owned by the query being built.
type Param = Box<dyn ToSql + Sync + Send>;

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// Reads a row selected with [`ENTRY_COLUMNS`].
fn entry_row(r: &Row) -> Result<EntryRow, StoreError> {
    Ok(EntryRow {
        id: parsed(r, 0)?,
        kind: known(r.try_get(1)?, EntityKind::from_wire)?,
        author: parsed(r, 2)?,
        author_name: r.try_get(3)?,
        author_group: r.try_get(4)?,
        created_seq: r.try_get(5)?,
        received_at_ms: r.try_get(6)?,
        occurred_at_ms: r.try_get(7)?,
        ended_at_ms: r.try_get(8)?,
        area_id: super::ops::parsed_opt(r, 9)?,
        area_name: r.try_get(10)?,
        category: r.try_get(11)?,
        severity: r.try_get(12)?,
        review_status: known(r.try_get(13)?, ReviewStatus::from_wire)?,
        assignee: r.try_get(14)?,
        duplicate_of: r.try_get(15)?,
        tags: json_list(r.try_get(16)?),
        forwarded_to: json_list(r.try_get(17)?),
        lat: r.try_get(18)?,
        lon: r.try_get(19)?,
        place: r.try_get(20)?,
        description: r.try_get(21)?,
        participants: r.try_get(22)?,
        people_involved: r.try_get(23)?,
        minors_involved: r.try_get(24)?,
        police_line: r.try_get(25)?,
        police_contacted_ms: r.try_get(26)?,
        police_attended_ms: r.try_get(27)?,
        police_event_number: r.try_get(28)?,
        retracted: r.try_get(29)?,
        attachments: r.try_get(30)?,
    })
}

fn entry_rows(rows: &[Row]) -> Result<Vec<EntryRow>, StoreError> {
    rows.iter().map(entry_row).collect()
}

/// The `WHERE` clause of the inbox's filter (fixed fragments with numbered parameters, `$1`
/// being `org`) and its parameters; without the status filter when `with_status` is false.
fn clause(filter: &InboxFilter, org: &str, with_status: bool) -> (String, Vec<Param>) {
    let mut sql = String::from("x.org_id = $1");
    let mut params: Vec<Param> = vec![Box::new(org.to_owned())];
    let mut add = |compared: &str, value: Param| {
        params.push(value);
        sql.push_str(&format!(" AND {compared} ${}", params.len()));
    };
    if let Some(v) = filter.from_ms {
        add("x.occurred_at_ms >=", Box::new(v));
    }
    if let Some(v) = filter.to_ms {
        add("x.occurred_at_ms <", Box::new(v));
    }
    if let Some(v) = &filter.area {
        add("x.area_id =", Box::new(v.to_string()));
    }
    if let Some(v) = &filter.kind {
        add("x.kind =", Box::new(v.as_str().to_owned()));
    }
    if let Some(v) = &filter.category {
        add("x.category =", Box::new(v.clone()));
    }
    if let Some(v) = filter.severity {
        add("x.severity =", Box::new(v));
    }
    if with_status && let Some(v) = &filter.status {
        add("x.review_status =", Box::new(v.as_str().to_owned()));
    }
    if let Some(v) = &filter.group {
        add("x.author_group =", Box::new(v.clone()));
    }
    if let Some(v) = &filter.author {
        add("x.author =", Box::new(v.to_string()));
    }
    if filter.conflicts_only {
        sql.push_str(
            " AND x.id IN (SELECT entity_id FROM conflicts WHERE org_id = $1 AND resolved_seq IS NULL)",
        );
    }
    (sql, params)
}

/// The inbox's `ORDER BY` terms (fixed text only), ordering as SQLite does: `NULL` first going
/// up and last going down, text by code point.
fn order_by(sort: InboxSort, ascending: bool) -> String {
    let (dir, nulls) = if ascending {
        ("ASC", "FIRST")
    } else {
        ("DESC", "LAST")
    };
    let key = match sort {
        InboxSort::Occurred => {
            return format!("x.occurred_at_ms {dir} NULLS {nulls}, x.created_seq {dir}");
        }
        InboxSort::Received => return format!("x.created_seq {dir}"),
        InboxSort::Kind => "x.kind COLLATE \"C\"",
        InboxSort::Severity => "x.severity",
        InboxSort::Area => "a.name COLLATE \"C\"",
        InboxSort::Status => {
            "CASE x.review_status WHEN 'new' THEN 0 WHEN 'needs_info' THEN 1 \
             WHEN 'reviewed' THEN 2 WHEN 'forwarded' THEN 3 WHEN 'closed' THEN 4 ELSE 5 END"
        }
    };
    format!("{key} {dir} NULLS LAST, x.occurred_at_ms DESC NULLS LAST, x.created_seq DESC")
}

/// A page of `org`'s inbox (see [`crate::store::entries::inbox`]).
pub async fn inbox(
    db: &impl GenericClient,
    org: &str,
    filter: &InboxFilter,
    offset: i64,
    limit: i64,
) -> Result<InboxPage, StoreError> {
    // Per status, each count stopping at the cap.
    let (where_, values) = clause(filter, org, false);
    let count = db
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM entries x
             WHERE {where_} AND x.review_status = ${} LIMIT ${}) c",
            values.len() + 1,
            values.len() + 2
        ))
        .await?;
    let mut by_status = Vec::new();
    let mut capped = false;
    for status in ReviewStatus::ALL {
        let name = status.as_str();
        let mut params = refs(&values);
        params.push(&name);
        params.push(&COUNT_CAP);
        let n: i64 = db.query_one(&count, &params).await?.try_get(0)?;
        capped |= n >= COUNT_CAP;
        by_status.push((name.to_owned(), n));
    }
    let total = total_of(filter, &by_status);
    let (where_, mut values) = clause(filter, org, true);
    let n = values.len();
    values.push(Box::new(limit));
    values.push(Box::new(offset));
    let page = db
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS} WHERE {where_}
             ORDER BY {} LIMIT ${} OFFSET ${}",
            order_by(filter.sort, filter.ascending),
            n + 1,
            n + 2
        ))
        .await?;
    let entries = entry_rows(&db.query(&page, &refs(&values)).await?)?;
    Ok(InboxPage {
        entries,
        total,
        by_status,
        capped,
    })
}

/// One entry of `org`; `None` when there is none (or it belongs to another organisation).
pub async fn entry(
    db: &impl GenericClient,
    org: &str,
    id: &str,
) -> Result<Option<EntryRow>, StoreError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS} WHERE x.id = $1 AND x.org_id = $2"
        ))
        .await?;
    db.query_opt(&stmt, &[&id, &org])
        .await?
        .as_ref()
        .map(entry_row)
        .transpose()
}

/// The likely duplicates of `of` (see [`crate::store::entries::duplicate_candidates`]).
pub async fn duplicate_candidates(
    db: &impl GenericClient,
    org: &str,
    of: &EntryRow,
) -> Result<Vec<EntryRow>, StoreError> {
    let Some(at) = of.occurred_at_ms else {
        return Ok(Vec::new());
    };
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS}
             WHERE x.org_id = $1 AND x.kind = $2 AND x.id <> $3 AND NOT x.retracted
               AND x.occurred_at_ms BETWEEN $4 AND $5
             ORDER BY abs(x.occurred_at_ms - $6), x.created_seq LIMIT {DUPLICATE_ROWS}"
        ))
        .await?;
    let rows = db
        .query(
            &stmt,
            &[
                &org,
                &of.kind.as_str(),
                &of.id.to_string(),
                &at.saturating_sub(DUPLICATE_WINDOW_MS),
                &at.saturating_add(DUPLICATE_WINDOW_MS),
                &at,
            ],
        )
        .await?;
    Ok(nearest(of, at, entry_rows(&rows)?))
}

/// The current field values of an entity of `org`.
pub async fn state_values(
    db: &impl GenericClient,
    org: &str,
    id: &str,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let stmt = db
        .prepare_cached("SELECT state FROM entities WHERE id = $1 AND org_id = $2")
        .await?;
    match db.query_opt(&stmt, &[&id, &org]).await? {
        None => Ok(None),
        Some(row) => values_of(row.try_get(0)?).map(Some),
    }
}

/// Every accepted op of an entity, oldest first.
pub async fn history(
    db: &impl GenericClient,
    org: &str,
    id: &str,
) -> Result<Vec<HistoryItem>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT o.seq, COALESCE(m.display_name, ''), COALESCE(d.name, ''), o.received_at_ms,
                    o.hlc, o.fields
             FROM ops o LEFT JOIN members m ON m.id = o.author LEFT JOIN devices d ON d.id = o.device_id
             WHERE o.entity_id = $1 AND o.org_id = $2 ORDER BY o.seq",
        )
        .await?;
    db.query(&stmt, &[&id, &org])
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryItem {
                seq: r.try_get(0)?,
                author_name: r.try_get(1)?,
                device_name: r.try_get(2)?,
                received_at_ms: r.try_get(3)?,
                hlc: r.try_get(4)?,
                fields: serde_json::from_str(r.try_get(5)?)?,
            })
        })
        .collect()
}

/// The conflicts recorded on an entity, oldest first.
pub async fn conflicts(
    db: &impl GenericClient,
    org: &str,
    id: &str,
) -> Result<Vec<ConflictRow>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT c.id, c.field, c.winner_value, COALESCE(mw.display_name, ''), c.loser_value,
                    COALESCE(ml.display_name, ''), c.resolved_seq, ms.display_name,
                    os.received_at_ms, os.fields
             FROM conflicts c
             LEFT JOIN ops ow ON ow.seq = c.winner_seq LEFT JOIN members mw ON mw.id = ow.author
             LEFT JOIN ops ol ON ol.seq = c.loser_seq LEFT JOIN members ml ON ml.id = ol.author
             LEFT JOIN ops os ON os.seq = c.resolved_seq LEFT JOIN members ms ON ms.id = os.author
             WHERE c.entity_id = $1 AND c.org_id = $2 ORDER BY c.id",
        )
        .await?;
    db.query(&stmt, &[&id, &org])
        .await?
        .iter()
        .map(|r| {
            let field: String = r.try_get(1)?;
            Ok(ConflictRow {
                id: r.try_get(0)?,
                winner_value: r.try_get(2)?,
                winner_author: r.try_get(3)?,
                loser_value: r.try_get(4)?,
                loser_author: r.try_get(5)?,
                resolved_seq: r.try_get(6)?,
                settled_by: r.try_get(7)?,
                settled_at_ms: r.try_get(8)?,
                settled_value: settled_value(&field, r.try_get(9)?),
                field,
            })
        })
        .collect()
}

/// One conflict of `org` with the entity it is on (for settling it).
pub async fn conflict(
    db: &impl GenericClient,
    org: &str,
    conflict_id: i64,
) -> Result<Option<(String, ConflictRow)>, StoreError> {
    let Some(row) = db
        .query_opt(
            "SELECT entity_id FROM conflicts WHERE id = $1 AND org_id = $2",
            &[&conflict_id, &org],
        )
        .await?
    else {
        return Ok(None);
    };
    let entity: String = row.try_get(0)?;
    Ok(conflicts(db, org, &entity)
        .await?
        .into_iter()
        .find(|c| c.id == conflict_id)
        .map(|c| (entity, c)))
}

/// Marks a conflict settled by the op with sequence `seq`; for the transaction that writes
/// that op.
pub async fn mark_settled(
    db: &impl GenericClient,
    conflict_id: i64,
    seq: u64,
) -> Result<(), StoreError> {
    let seq = i64::try_from(seq).map_err(|_| StoreError::Damaged(format!("sequence {seq}")))?;
    db.execute(
        "UPDATE conflicts SET resolved_seq = $2 WHERE id = $1",
        &[&conflict_id, &seq],
    )
    .await?;
    Ok(())
}

/// The comment thread of an entry, oldest first.
pub async fn comments(
    db: &impl GenericClient,
    org: &str,
    id: &str,
) -> Result<Vec<CommentRow>, StoreError> {
    let stmt = db
        .prepare_cached(
            "SELECT COALESCE(m.display_name, ''), (e.state::jsonb) #>> '{body,v}',
                    (e.state::jsonb) #>> '{written_at,v}', e.created_seq
             FROM entities e LEFT JOIN members m ON m.id = e.author
             WHERE e.kind = 'comment' AND (e.state::jsonb) #>> '{entry,v,id}' = $1
               AND e.org_id = $2
             ORDER BY e.created_seq",
        )
        .await?;
    db.query(&stmt, &[&id, &org])
        .await?
        .iter()
        .map(|r| {
            Ok(CommentRow {
                author_name: r.try_get(0)?,
                body: r.try_get::<_, Option<String>>(1)?.unwrap_or_default(),
                written_at: r.try_get(2)?,
                seq: r.try_get(3)?,
            })
        })
        .collect()
}

/// Unsettled conflicts of `org`, for the inbox's notice.
pub async fn open_conflicts(db: &impl GenericClient, org: &str) -> Result<i64, StoreError> {
    let stmt = db
        .prepare_cached("SELECT COUNT(*) FROM conflicts WHERE org_id = $1 AND resolved_seq IS NULL")
        .await?;
    Ok(db.query_one(&stmt, &[&org]).await?.try_get(0)?)
}

/// The entries of `org` that happened in `[start_ms, end_ms)`, oldest first, without retracted
/// ones and duplicates (see [`crate::store::entries::in_period`]).
pub async fn in_period(
    db: &impl GenericClient,
    org: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<EntryRow>, StoreError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRY_JOINS}
             WHERE x.org_id = $1 AND x.occurred_at_ms >= $2 AND x.occurred_at_ms < $3
               AND NOT x.retracted AND x.review_status <> 'duplicate'
             ORDER BY x.occurred_at_ms, x.created_seq"
        ))
        .await?;
    entry_rows(&db.query(&stmt, &[&org, &start_ms, &end_ms]).await?)
}

/// The entry page of entry `id` of `org` (see [`crate::store::entries::entry_page`]).
pub async fn entry_page(
    db: &impl GenericClient,
    org: &str,
    id: &str,
) -> Result<Option<EntryPage>, StoreError> {
    let Some(row) = entry(db, org, id).await? else {
        return Ok(None);
    };
    let mut candidates = if row.kind == EntityKind::Patrol {
        Vec::new()
    } else {
        duplicate_candidates(db, org, &row).await?
    };
    if let Some(chosen) = &row.duplicate_of
        && !candidates.iter().any(|c| c.id.to_string() == *chosen)
        && let Some(found) = entry(db, org, chosen).await?
    {
        candidates.insert(0, found);
    }
    Ok(Some(EntryPage {
        candidates,
        values: state_values(db, org, id).await?.unwrap_or_default(),
        history: history(db, org, id).await?,
        conflicts: conflicts(db, org, id).await?,
        comments: comments(db, org, id).await?,
        choices: choices::choices(db, org).await?,
        shapes: super::reports::area_shapes(db, parsed_text(org)?).await?,
        redactions: super::redaction::redactions_of(db, org, id).await?,
        entry: row,
    }))
}

/// The review form's targets (see [`crate::store::entries::review_targets`]).
pub async fn review_targets(
    db: &impl GenericClient,
    org: &str,
    id: &str,
    duplicate_of: Option<&str>,
) -> Result<ReviewTargets, StoreError> {
    Ok(ReviewTargets {
        entry: entry(db, org, id).await?,
        duplicate_found: match duplicate_of {
            Some(d) => entry(db, org, d).await?.is_some(),
            None => true,
        },
        members: choices::choices(db, org).await?.members,
    })
}

/// Conflict `conflict_id` of `org` with its entity and the entry's kind.
pub async fn conflict_to_settle(
    db: &impl GenericClient,
    org: &str,
    conflict_id: i64,
) -> Result<Option<ConflictToSettle>, StoreError> {
    let Some((entity, conflict)) = conflict(db, org, conflict_id).await? else {
        return Ok(None);
    };
    let kind = entry(db, org, &entity).await?.map(|r| r.kind);
    Ok(Some(ConflictToSettle {
        entity: parsed_text(&entity)?,
        conflict,
        kind,
    }))
}

/// The inbox page of `org` (see [`crate::store::entries::inbox_view`]).
pub async fn inbox_view(
    db: &impl GenericClient,
    org: &str,
    filter: &InboxFilter,
    offset: i64,
    limit: i64,
) -> Result<InboxView, StoreError> {
    Ok(InboxView {
        page: inbox(db, org, filter, offset, limit).await?,
        choices: choices::choices(db, org).await?,
        open_conflicts: open_conflicts(db, org).await?,
    })
}

/// An id read earlier as text, parsed.
fn parsed_text<T: std::str::FromStr>(text: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Damaged(format!("not an id: {text:?}")))
}
