//! The device token extractor: `Authorization: Bearer <token>` to the calling device.

use crate::AppState;
use crate::error::AppError;
use crate::store::accounts::{DeviceCaller, TokenLookup};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// The device a request comes from.
#[derive(Debug, Clone, Copy)]
pub struct DeviceAuth(pub DeviceCaller);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or(AppError::Unauthorized)?
            .to_owned();
        match state.store.device_by_token(token).await? {
            TokenLookup::Valid(caller) => Ok(Self(caller)),
            TokenLookup::Revoked => Err(AppError::TokenRevoked),
            TokenLookup::Lost => Err(AppError::DeviceLost),
            TokenLookup::Unknown => Err(AppError::Unauthorized),
        }
    }
}
