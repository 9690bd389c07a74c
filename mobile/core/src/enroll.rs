//! Enrolment: trading a one-time code from a coordinator for this device's identity and token.

use super::Device;
use super::client::ServerClient;
use super::error::{DeviceError, Result};
use super::store::{self, Identity};
use super::sync::plan;
use vaka_shared::sync::EnrollRequest;

impl Device {
    /// Enrols the device at `server_url` with a one-time `code`, and stores who it is. A device
    /// is enrolled once.
    pub async fn enroll(
        &self,
        http: &reqwest::Client,
        server_url: &str,
        code: &str,
        device_name: &str,
    ) -> Result<Identity> {
        if self.identity()?.is_some() {
            return Err(DeviceError::AlreadyEnrolled);
        }
        let server_url = server_url.trim_end_matches('/').to_owned();
        let request = EnrollRequest {
            code: code.to_owned(),
            device_name: device_name.to_owned(),
        };
        let sent_ms = self.inner.wall.now_ms();
        let response = ServerClient::new(http, &server_url)
            .enroll(&request)
            .await?;
        let received_ms = self.inner.wall.now_ms();
        let offset = plan::clock_offset(response.server_time_ms, sent_ms, received_ms);
        let identity = Identity {
            server_url,
            device_id: response.device_id,
            org_id: response.org_id,
            org_name: response.org_name,
            member_id: response.member_id,
            member_name: response.member_name,
            role: response.role,
        };
        let stored = identity.clone();
        let token = response.token;
        self.blocking(move |device| {
            device.write_tx(|tx| {
                if store::load_meta(tx)?.identity.is_some() {
                    return Err(DeviceError::AlreadyEnrolled);
                }
                store::store_identity(tx, &stored, &token, offset)
            })
        })
        .await?;
        Ok(identity)
    }
}
