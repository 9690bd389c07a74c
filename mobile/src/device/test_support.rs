//! Helpers for the unit tests of the device core: an enrolled device without a server, and
//! builders of server answers.

use super::store::{self, Identity};
use super::{Device, WallClock};
use vaka_shared::model::{CategoryCode, IncidentFields, Role, Severity};
use vaka_shared::sync::{PullPage, PushResult, ServerOp, SyncResponse};
use vaka_shared::{DeviceId, MemberId, Op, OrgId};

/// 2026-11-21T22:00:00Z.
pub(crate) const T0: i64 = 1_795_298_400_000;

/// A device in a temporary directory, enrolled as `role`, whose wall clock shows [`T0`].
pub(crate) fn enrolled(role: Role) -> (tempfile::TempDir, Device, Identity) {
    enrolled_at(role, WallClock::manual(T0))
}

/// Like [`enrolled`] with a given wall clock.
pub(crate) fn enrolled_at(role: Role, wall: WallClock) -> (tempfile::TempDir, Device, Identity) {
    let dir = tempfile::tempdir().expect("temp dir");
    let device = Device::open_with_clock(dir.path().join("device.db"), wall).expect("opens");
    let identity = Identity {
        server_url: "http://127.0.0.1:9".to_owned(),
        device_id: DeviceId::new(),
        org_id: OrgId::new(),
        org_name: "Nattvandrarna".to_owned(),
        member_id: MemberId::new(),
        member_name: "Anna".to_owned(),
        role,
    };
    store::store_identity(&device.conn(), &identity, "secret-token", 0).expect("enrols");
    (dir, device, identity)
}

/// A valid new incident.
pub(crate) fn incident(severity: u8) -> IncidentFields {
    IncidentFields {
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(severity)),
        description: Some("Loud quarrel at the square".to_owned()),
        ..Default::default()
    }
}

/// Every op in this device's log, own and pulled, in device_seq order of each device.
pub(crate) fn own_ops(device: &Device) -> Vec<(Op, String)> {
    let conn = device.conn();
    let mut statement = conn
        .prepare(&format!(
            "SELECT {}, status FROM ops WHERE status != 'remote' ORDER BY device_seq",
            store::OP_COLUMNS
        ))
        .expect("prepares");
    let mut rows = statement.query([]).expect("queries");
    let mut ops = Vec::new();
    while let Some(row) = rows.next().expect("row") {
        let (op, _) = store::op_from_row(row).expect("op");
        ops.push((op, row.get(9).expect("status")));
    }
    ops
}

/// A server answer.
pub(crate) fn response(
    server_time_ms: i64,
    push: PushResult,
    pulled: Vec<ServerOp>,
    cursor: u64,
) -> SyncResponse {
    SyncResponse {
        server_time_ms,
        push,
        pull: Some(PullPage {
            ops: pulled,
            cursor,
            more: false,
        }),
    }
}

/// Applies an answer to `device` as if the round trip took no time at the wall clock's now.
pub(crate) fn apply(device: &Device, response: &SyncResponse) -> super::sync::apply::RoundOutcome {
    let now = device.inner.wall.now_ms();
    device
        .write_tx(|tx| {
            super::sync::apply::apply_response(tx, &device.inner.wall, response, now, now)
        })
        .expect("applies")
}
