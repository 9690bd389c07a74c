//! Helpers for the tests of crates on top of the device core (the app's): an enrolled device
//! without a server, server answers applied as if a sync brought them, an area, a QR image.
//! Built for this crate's tests and with the `test-support` feature; not part of the API.

use crate::store::{self, Identity};
use crate::{Device, WallClock};
use image::{GrayImage, Luma};
use std::io::Cursor;
use vaka_shared::model::{CategoryCode, IncidentFields, Role, Severity};
use vaka_shared::sync::{AreaInfo, PullPage, PushResult, ServerOp, SyncResponse};
use vaka_shared::{AreaId, DeviceId, MemberId, OrgId};

/// 2026-11-21T22:00:00Z.
pub const T0: i64 = 1_795_298_400_000;

/// A device in a temporary directory, enrolled as `role`, whose wall clock shows [`T0`].
pub fn enrolled(role: Role) -> (tempfile::TempDir, Device, Identity) {
    enrolled_at(role, WallClock::manual(T0))
}

/// Like [`enrolled`] with a given wall clock.
pub fn enrolled_at(role: Role, wall: WallClock) -> (tempfile::TempDir, Device, Identity) {
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
pub fn incident(severity: u8) -> IncidentFields {
    IncidentFields {
        category: Some(CategoryCode::from("disturbance")),
        severity: Some(Severity(severity)),
        description: Some("Loud quarrel at the square".to_owned()),
        ..Default::default()
    }
}

/// A server answer.
pub fn response(
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
            removals: Vec::new(),
        }),
        retention_days: 730,
        retire: false,
    }
}

/// Applies an answer to `device` as if a sync brought it at the wall clock's now.
pub fn apply(device: &Device, response: &SyncResponse) {
    let now = device.inner.wall.now_ms();
    device
        .write_tx(|tx| {
            crate::sync::apply::apply_response(tx, &device.inner.wall, response, now, now)
        })
        .expect("applies");
}

/// A square area around (`lon`, `lat`), `half` degrees to each side.
pub fn square(name: &str, lon: f64, lat: f64, half: f64) -> AreaInfo {
    AreaInfo {
        id: AreaId::new(),
        name: name.into(),
        rings: vec![vec![
            [lon - half, lat - half],
            [lon + half, lat - half],
            [lon + half, lat + half],
            [lon - half, lat + half],
            [lon - half, lat - half],
        ]],
    }
}

/// A PNG of a QR code holding `text`, `module` pixels per module, with the quiet zone.
pub fn qr_png(text: &str, module: u32) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("fits in a QR code");
    let width = u32::try_from(code.width()).expect("small");
    let colors = code.to_colors();
    let quiet = 4;
    let side = (width + 2 * quiet) * module;
    let picture = GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / module, y / module);
        let dark = mx >= quiet
            && my >= quiet
            && mx < width + quiet
            && my < width + quiet
            && colors[((my - quiet) * width + (mx - quiet)) as usize] == qrcode::Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    });
    let mut png = Cursor::new(Vec::new());
    picture
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encodes");
    png.into_inner()
}

/// The device's database connection, for tests that set a state no public call reaches (an op
/// refused by the server, a retiring phone).
pub fn conn(device: &Device) -> impl std::ops::Deref<Target = rusqlite::Connection> + '_ {
    device.conn()
}

/// Stores `areas` as if a sync had fetched them.
pub fn replace_areas(device: &Device, areas: &[AreaInfo]) {
    device.replace_areas(areas).expect("areas stored");
}

/// Wipes the phone as a server's answer would.
pub async fn wipe(device: &Device, reason: crate::WipeReason) {
    device.wipe(reason).await.expect("wipes");
}
