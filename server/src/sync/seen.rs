//! When each device last synced, kept off the request path: a sync that pushes nothing must not
//! wait for the writer, so its time is noted in memory and written for many devices at once by
//! [`LastSync::flush`], which the server runs on a timer and when it stops.

use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use vaka_shared::DeviceId;

/// Devices' last sync times not yet written to the store.
#[derive(Debug, Clone, Default)]
pub struct LastSync {
    pending: Arc<Mutex<HashMap<DeviceId, i64>>>,
}

impl LastSync {
    /// Notes that `device` synced at `now_ms`.
    pub fn note(&self, device: DeviceId, now_ms: i64) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = pending.entry(device).or_insert(now_ms);
        *at = (*at).max(now_ms);
    }

    /// Writes every noted time in one write job; a time is never moved backwards.
    pub async fn flush(&self, store: &Store) -> Result<(), StoreError> {
        let batch: Vec<(DeviceId, i64)> = std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_iter()
        .collect();
        if batch.is_empty() {
            return Ok(());
        }
        store.note_last_syncs(batch).await
    }
}
