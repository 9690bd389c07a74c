//! Coordinators' writes from the dashboard (review fields, comments, settled conflicts) become
//! ops from the coordinator's server-side device ([`crate::store::server_device`]), pushed
//! exactly like a phone's, so phones pull them like any other op.

use crate::store::StoreError;
use crate::store::server_device::{Made, ServerDevice};
use rusqlite::Connection;
use vaka_shared::op::OpBody;
use vaka_shared::{EntityId, MemberId};

/// Writes `body` to `entity` as `member` through the push path. `Ok(Ok(seq))` is the accepted
/// op's server sequence; `Ok(Err(message))` a refusal (validation or policy) to show the user.
pub fn write(
    conn: &Connection,
    member: MemberId,
    entity: EntityId,
    body: OpBody,
    now_ms: i64,
) -> Result<Result<u64, String>, StoreError> {
    ServerDevice::of_dashboard(conn, member, now_ms)?.write(conn, entity, body, Made::Now, now_ms)
}
