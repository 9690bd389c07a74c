//! A raw protocol client: enrols and sends hand-made ops, so tests can check the server's push
//! and pull rules one by one, without the device core's own bookkeeping in between.

use anyhow::Context;
use reqwest::StatusCode;
use serde::Serialize;
use vaka_shared::model::{CategoryCode, IncidentFields, Severity};
use vaka_shared::op::{Op, OpBody};
use vaka_shared::sync::{
    ApiError, EnrollRequest, EnrollResponse, PullRequest, SyncRequest, SyncResponse,
};
use vaka_shared::{DeviceId, EntityId, HlcClock, OpId, Timestamp};

/// An enrolled device driven by hand.
#[derive(Debug)]
pub struct RawDevice {
    /// Server base URL.
    pub url: String,
    /// The enrolment answer (token, ids, role).
    pub enrolled: EnrollResponse,
    /// The device's clock.
    pub clock: HlcClock,
    /// The last `device_seq` handed out.
    pub seq: u64,
    http: reqwest::Client,
}

/// What an HTTP call answered: the body on success, the status and error otherwise.
pub type Answer<T> = Result<T, (StatusCode, ApiError)>;

impl RawDevice {
    /// Enrols with `code`.
    pub async fn enroll(url: &str, code: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{url}/api/v1/enroll"))
            .json(&EnrollRequest {
                code: code.to_owned(),
                device_name: "Testtelefon".into(),
            })
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "enrol failed: {}",
            response.text().await?
        );
        let enrolled: EnrollResponse = response.json().await?;
        Ok(Self {
            url: url.to_owned(),
            clock: HlcClock::new(enrolled.device_id),
            enrolled,
            seq: 0,
            http,
        })
    }

    /// The device id.
    pub fn id(&self) -> DeviceId {
        self.enrolled.device_id
    }

    /// A new op on `entity_id` with the next `device_seq`, stamped now.
    pub fn op(&mut self, entity_id: EntityId, body: OpBody, base_seq: u64) -> Op {
        let now = Timestamp::now_utc().unix_ms() as u64;
        self.op_at(entity_id, body, base_seq, now)
    }

    /// A new op stamped at `wall_ms`.
    pub fn op_at(&mut self, entity_id: EntityId, body: OpBody, base_seq: u64, wall_ms: u64) -> Op {
        self.seq += 1;
        Op {
            op_id: OpId::new(),
            device_id: self.id(),
            device_seq: self.seq,
            hlc: self.clock.tick(wall_ms),
            base_seq,
            entity_id,
            body,
        }
    }

    /// Pushes `ops` and pulls from `cursor` (if given).
    pub async fn sync(
        &self,
        ops: Vec<Op>,
        cursor: Option<u64>,
        limit: Option<u32>,
    ) -> anyhow::Result<Answer<SyncResponse>> {
        let request = SyncRequest {
            push: ops,
            pull: cursor.map(|cursor| PullRequest { cursor, limit }),
        };
        self.post_json("/api/v1/sync", &request).await
    }

    /// Posts any JSON body with this device's token.
    pub async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> anyhow::Result<Answer<T>> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.enrolled.token)
            .json(body)
            .send()
            .await?;
        answer(response).await
    }

    /// Posts raw bytes with this device's token and the given headers.
    pub async fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Answer<serde_json::Value>> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.enrolled.token)
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer(request.send().await?).await
    }

    /// Pulls everything from `cursor` on, page by page; returns the ops and the final cursor.
    pub async fn pull_all(
        &self,
        mut cursor: u64,
        limit: u32,
    ) -> anyhow::Result<(Vec<vaka_shared::sync::ServerOp>, u64, usize)> {
        let mut ops = Vec::new();
        let mut pages = 0;
        loop {
            let response = self
                .sync(Vec::new(), Some(cursor), Some(limit))
                .await?
                .map_err(|(s, e)| anyhow::anyhow!("{s}: {e:?}"))?;
            let page = response.pull.context("pull page")?;
            pages += 1;
            anyhow::ensure!(page.ops.len() <= limit as usize, "page larger than asked");
            cursor = page.cursor;
            ops.extend(page.ops);
            if !page.more {
                return Ok((ops, cursor, pages));
            }
        }
    }
}

async fn answer<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> anyhow::Result<Answer<T>> {
    let status = response.status();
    let text = response.text().await?;
    if status.is_success() {
        Ok(Ok(
            serde_json::from_str(&text).with_context(|| format!("parsing {text}"))?
        ))
    } else {
        let error: ApiError = serde_json::from_str(&text)
            .with_context(|| format!("error body of {status}: {text}"))?;
        Ok(Err((status, error)))
    }
}

/// The fields of a valid new incident.
pub fn new_incident(category: &str, severity: u8) -> OpBody {
    OpBody::Incident(IncidentFields {
        occurred_at: Some(Timestamp::now_utc()),
        category: Some(CategoryCode::from(category)),
        severity: Some(Severity(severity)),
        description: Some("Grupp vid busshållplatsen, lugnt efter samtal.".into()),
        ..Default::default()
    })
}
