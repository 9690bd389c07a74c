//! Moving a store: every table of a SQLite store copied into an empty PostgreSQL database, and
//! then every row of every table compared on both sides (`vaka-server migrate`). The SQLite file
//! is only read; the server should be stopped while it runs, so nothing is written meanwhile.

use super::PgStore;
use crate::store::StoreError;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use tokio_postgres::types::ToSql;

/// The tables in an order that keeps every reference to a row already copied, each with the
/// columns it orders by for the comparison.
const TABLES: &[(&str, &str)] = &[
    ("orgs", "id"),
    ("members", "id"),
    ("enrollment_codes", "code_hash"),
    ("devices", "id"),
    ("dashboard_devices", "member_id"),
    ("sessions", "token_hash"),
    ("ops", "seq"),
    ("rejected_ops", "device_id, device_seq"),
    ("entities", "id"),
    ("conflicts", "id"),
    ("areas", "id"),
    ("report_summaries", "org_id, period_from, period_to"),
    ("entries", "id"),
    ("blobs", "org_id, sha256"),
    ("blob_chunks", "org_id, sha256, \"offset\""),
    ("sign_in_attempts", "id"),
    ("trusted_browsers", "token_hash"),
    ("removals", "seq"),
    ("redactions", "id"),
    ("purged_entities", "entity_id"),
    ("purge_runs", "id"),
    ("shares", "from_org, to_org"),
    ("audit_log", "id"),
    ("notify_rules", "id"),
    ("webhooks", "id"),
    ("notifications", "id"),
    ("deliveries", "id"),
    ("delivery_attempts", "delivery_id, attempt"),
];

/// Tables whose `id` PostgreSQL generates (an identity column): copied with their ids, and the
/// identity moved past the highest.
const IDENTITY: &[&str] = &[
    "conflicts",
    "sign_in_attempts",
    "redactions",
    "purge_runs",
    "audit_log",
];

/// What a move copied: rows per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    /// `(table, rows)`, in copy order.
    pub tables: Vec<(String, u64)>,
}

/// Why a move did not happen or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PostgreSQL database holds data already.
    #[error("the PostgreSQL database is not empty (table {0} has rows); move into an empty one")]
    NotEmpty(String),
    /// A table differs after the copy.
    #[error("table {table} differs after the copy: {detail}")]
    Differs {
        /// The table.
        table: String,
        /// How.
        detail: String,
    },
}

/// One value, as both sides are compared: text, integer, real, bytes or nothing.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// A PostgreSQL column's type, as far as a copy needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgType {
    Text,
    BigInt,
    Bool,
    Double,
    Bytes,
}

fn pg_type(name: &str) -> PgType {
    match name {
        "bigint" | "integer" => PgType::BigInt,
        "boolean" => PgType::Bool,
        "double precision" | "real" => PgType::Double,
        "bytea" => PgType::Bytes,
        _ => PgType::Text,
    }
}

fn sqlite_cell(value: SqlValue) -> Cell {
    match value {
        SqlValue::Null => Cell::Null,
        SqlValue::Integer(n) => Cell::Int(n),
        SqlValue::Real(x) => Cell::Real(x),
        SqlValue::Text(s) => Cell::Text(s),
        SqlValue::Blob(b) => Cell::Bytes(b),
    }
}

fn pg_cell(row: &tokio_postgres::Row, index: usize, kind: PgType) -> Result<Cell, StoreError> {
    Ok(match kind {
        PgType::Text => row
            .try_get::<_, Option<String>>(index)?
            .map_or(Cell::Null, Cell::Text),
        PgType::BigInt => row
            .try_get::<_, Option<i64>>(index)?
            .map_or(Cell::Null, Cell::Int),
        PgType::Bool => row
            .try_get::<_, Option<bool>>(index)?
            .map_or(Cell::Null, |b| Cell::Int(i64::from(b))),
        PgType::Double => row
            .try_get::<_, Option<f64>>(index)?
            .map_or(Cell::Null, Cell::Real),
        PgType::Bytes => row
            .try_get::<_, Option<Vec<u8>>>(index)?
            .map_or(Cell::Null, Cell::Bytes),
    })
}

/// A SQLite value as the parameter of a PostgreSQL column of type `kind`.
fn param(cell: &Cell, kind: PgType) -> Box<dyn ToSql + Sync + Send> {
    match (cell, kind) {
        (Cell::Null, PgType::Text) => Box::new(None::<String>),
        (Cell::Null, PgType::BigInt) => Box::new(None::<i64>),
        (Cell::Null, PgType::Bool) => Box::new(None::<bool>),
        (Cell::Null, PgType::Double) => Box::new(None::<f64>),
        (Cell::Null, PgType::Bytes) => Box::new(None::<Vec<u8>>),
        (Cell::Int(n), PgType::Bool) => Box::new(*n != 0),
        (Cell::Int(n), PgType::Double) => Box::new(*n as f64),
        (Cell::Int(n), PgType::Text) => Box::new(n.to_string()),
        (Cell::Int(n), _) => Box::new(*n),
        (Cell::Real(x), PgType::BigInt) => Box::new(*x as i64),
        (Cell::Real(x), _) => Box::new(*x),
        (Cell::Text(s), _) => Box::new(s.clone()),
        (Cell::Bytes(b), _) => Box::new(b.clone()),
    }
}

/// A SQLite cell as it reads back from a PostgreSQL column of type `kind`.
fn as_stored(cell: Cell, kind: PgType) -> Cell {
    match (cell, kind) {
        (Cell::Int(n), PgType::Bool) => Cell::Int(i64::from(n != 0)),
        (Cell::Int(n), PgType::Double) => Cell::Real(n as f64),
        (Cell::Int(n), PgType::Text) => Cell::Text(n.to_string()),
        (Cell::Real(x), PgType::BigInt) => Cell::Int(x as i64),
        (cell, _) => cell,
    }
}

/// The columns of `table` on PostgreSQL, in their order, with their types.
async fn pg_columns(store: &PgStore, table: &str) -> Result<Vec<(String, PgType)>, StoreError> {
    let table = table.to_owned();
    store
        .read(move |db| {
            Box::pin(async move {
                Ok(db
                    .query(
                        "SELECT column_name, data_type FROM information_schema.columns
                         WHERE table_schema = 'public' AND table_name = $1
                         ORDER BY ordinal_position",
                        &[&table],
                    )
                    .await?
                    .iter()
                    .map(|r| (r.get::<_, String>(0), pg_type(r.get::<_, &str>(1))))
                    .collect())
            })
        })
        .await
}

fn quoted(column: &str) -> String {
    format!("\"{column}\"")
}

/// The rows of `table` in the SQLite store, ordered by `order`, with `columns`.
fn sqlite_rows(
    conn: &Connection,
    table: &str,
    columns: &[(String, PgType)],
    order: &str,
) -> Result<Vec<Vec<Cell>>, StoreError> {
    let list: Vec<String> = columns.iter().map(|(c, _)| quoted(c)).collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY {order}", list.join(", "));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map([], |r| {
            (0..columns.len())
                .map(|i| r.get::<_, SqlValue>(i).map(sqlite_cell))
                .collect::<Result<Vec<_>, _>>()
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Copies the SQLite store at `sqlite` into the empty PostgreSQL store `pg`, then compares every
/// row of every table. `Ok` only when both sides hold the same.
pub async fn move_store(sqlite: &Path, pg: &PgStore) -> Result<Moved, MoveError> {
    let conn = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(StoreError::from)?;
    for (table, _) in TABLES {
        let t = (*table).to_owned();
        let has_rows = pg
            .read(move |db| {
                Box::pin(async move {
                    Ok(db
                        .query_opt(&format!("SELECT 1 FROM {t} LIMIT 1"), &[])
                        .await?
                        .is_some())
                })
            })
            .await?;
        if has_rows {
            return Err(MoveError::NotEmpty((*table).to_owned()));
        }
    }
    let mut moved = Moved::default();
    for (table, order) in TABLES {
        let columns = pg_columns(pg, table).await?;
        let rows = sqlite_rows(&conn, table, &columns, order)?;
        moved.tables.push(((*table).to_owned(), rows.len() as u64));
        let list: Vec<String> = columns.iter().map(|(c, _)| quoted(c)).collect();
        let overriding = if IDENTITY.contains(table) {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}){overriding} VALUES ({})",
            list.join(", "),
            marks.join(", ")
        );
        let kinds: Vec<PgType> = columns.iter().map(|(_, k)| *k).collect();
        // A few hundred rows a write job, so no job holds the writer long.
        for chunk in rows.chunks(500) {
            let params: Vec<Vec<Box<dyn ToSql + Sync + Send>>> = chunk
                .iter()
                .map(|row| row.iter().zip(&kinds).map(|(c, k)| param(c, *k)).collect())
                .collect();
            let sql = sql.clone();
            pg.write(move |tx| {
                Box::pin(async move {
                    let stmt = tx.prepare(&sql).await?;
                    for row in &params {
                        let refs: Vec<&(dyn ToSql + Sync)> = row
                            .iter()
                            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                            .collect();
                        tx.execute(&stmt, &refs).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        }
    }
    pg.write(|tx| {
        Box::pin(async move {
            for table in IDENTITY {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                       (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                    ),
                    &[],
                )
                .await?;
            }
            tx.execute(
                "SELECT setval('vaka_seq', GREATEST((SELECT COALESCE(MAX(seq), 0) FROM ops),
                                                    (SELECT COALESCE(MAX(seq), 0) FROM removals))
                                           + 1, false)",
                &[],
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    compare_with(&conn, pg).await?;
    Ok(moved)
}

/// Compares every row of every table of the SQLite store at `sqlite` and of `pg`.
pub async fn compare(sqlite: &Path, pg: &PgStore) -> Result<(), MoveError> {
    let conn = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(StoreError::from)?;
    compare_with(&conn, pg).await
}

async fn compare_with(conn: &Connection, pg: &PgStore) -> Result<(), MoveError> {
    for (table, order) in TABLES {
        let columns = pg_columns(pg, table).await?;
        let kinds: Vec<PgType> = columns.iter().map(|(_, k)| *k).collect();
        let expected: Vec<Vec<Cell>> = sqlite_rows(conn, table, &columns, order)?
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .zip(&kinds)
                    .map(|(c, k)| as_stored(c, *k))
                    .collect()
            })
            .collect();
        let list: Vec<String> = columns.iter().map(|(c, _)| quoted(c)).collect();
        let sql = format!("SELECT {} FROM {table} ORDER BY {order}", list.join(", "));
        let kinds_read = kinds.clone();
        let stored: Vec<Vec<Cell>> = pg
            .read(move |db| {
                Box::pin(async move {
                    db.query(&sql, &[])
                        .await?
                        .iter()
                        .map(|row| {
                            kinds_read
                                .iter()
                                .enumerate()
                                .map(|(i, k)| pg_cell(row, i, *k))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .collect()
                })
            })
            .await?;
        if stored.len() != expected.len() {
            return Err(MoveError::Differs {
                table: (*table).to_owned(),
                detail: format!(
                    "{} rows on SQLite, {} on PostgreSQL",
                    expected.len(),
                    stored.len()
                ),
            });
        }
        if let Some(n) = (0..stored.len()).find(|&n| stored[n] != expected[n]) {
            return Err(MoveError::Differs {
                table: (*table).to_owned(),
                detail: format!("row {} (by {order}) is not the same", n + 1),
            });
        }
    }
    Ok(())
}
