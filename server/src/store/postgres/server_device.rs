//! The server-side device on PostgreSQL, as [`crate::store::server_device`] on SQLite: the same
//! [`ServerDevice`] (its clock and next op are the backend's no business), resumed from and
//! pushed through this backend.

use super::ops as log;
use super::{push, sessions};
use crate::store::StoreError;
use crate::store::accounts::DeviceCaller;
use crate::store::server_device::{Made, ServerDevice};
use deadpool_postgres::{GenericClient, Transaction};
use vaka_shared::op::OpBody;
use vaka_shared::{DeviceId, EntityId, Hlc, MemberId};

/// The device `member`'s dashboard writes go through (created on first use).
pub async fn of_dashboard(
    tx: &Transaction<'_>,
    member: MemberId,
    now_ms: i64,
) -> Result<ServerDevice, StoreError> {
    let caller = sessions::dashboard_device(tx, member, now_ms).await?;
    resume(tx, caller).await
}

/// The enrolled device `caller`, going on from its last op.
pub async fn resume(
    db: &impl GenericClient,
    caller: DeviceCaller,
) -> Result<ServerDevice, StoreError> {
    let newest = newest_hlc(db, NEWEST_OF_DEVICE, &caller.device_id.to_string()).await?;
    let held = log::held_seq(db, caller.device_id).await?;
    Ok(ServerDevice::from_held(caller, newest, held))
}

/// Writes `body` to `entity` through the push path from `device`. `Ok(Ok(seq))` is the
/// accepted op's server sequence; `Ok(Err(message))` a refusal to show the user.
pub async fn write(
    device: &mut ServerDevice,
    tx: &Transaction<'_>,
    entity: EntityId,
    body: OpBody,
    made: Made,
    now_ms: i64,
) -> Result<Result<u64, String>, StoreError> {
    let (at_ms, base_seq, newest) = match made {
        Made::Now => (
            now_ms,
            last_op_seq(tx).await?,
            newest_hlc(tx, NEWEST_OF_ENTITY, &entity.to_string()).await?,
        ),
        Made::At { ms, base_seq } => (ms, base_seq, None),
    };
    let op = device.next_op(entity, body, at_ms, base_seq, newest);
    let caller = *device.caller();
    let (result, _) = push::push(
        tx,
        &caller,
        std::slice::from_ref(&op),
        now_ms,
        ServerDevice::limits(),
    )
    .await?;
    if let Err(refusal) = device.answered(result) {
        return Ok(Err(refusal));
    }
    Ok(seq_of(tx, caller.device_id, op.device_seq)
        .await?
        .ok_or_else(|| "the change was not stored".to_owned()))
}

const NEWEST_OF_DEVICE: &str = "SELECT MAX(hlc) FROM ops WHERE device_id = $1";
const NEWEST_OF_ENTITY: &str = "SELECT MAX(hlc) FROM ops WHERE entity_id = $1";

/// The newest clock among the ops `sql` ([`NEWEST_OF_DEVICE`] or [`NEWEST_OF_ENTITY`]) selects
/// for `id`.
async fn newest_hlc(
    db: &impl GenericClient,
    sql: &'static str,
    id: &str,
) -> Result<Option<Hlc>, StoreError> {
    let row = db.query_one(sql, &[&id]).await?;
    let text: Option<String> = row.get(0);
    text.map(|t| {
        t.parse()
            .map_err(|_| StoreError::Damaged(format!("a clock: {t}")))
    })
    .transpose()
}

/// The newest server sequence of an op.
async fn last_op_seq(db: &impl GenericClient) -> Result<u64, StoreError> {
    let row = db
        .query_one("SELECT COALESCE(MAX(seq), 0) FROM ops", &[])
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// The server sequence of op number `device_seq` of `device`, if it was accepted.
async fn seq_of(
    db: &impl GenericClient,
    device: DeviceId,
    device_seq: u64,
) -> Result<Option<u64>, StoreError> {
    let row = db
        .query_opt(
            "SELECT seq FROM ops WHERE device_id = $1 AND device_seq = $2",
            &[&device.to_string(), &(device_seq as i64)],
        )
        .await?;
    Ok(row.map(|r| r.get::<_, i64>(0) as u64))
}
