//! The operator's commands on PostgreSQL, as [`crate::store::admin`] on SQLite: each one write
//! job that makes the change and records it in the audit log as the command line's doing.

use super::{PgStore, accounts, audit, sharing};
use crate::store::StoreError;
use crate::store::accounts::NewMember;
use crate::store::admin::MemberToAdd;
use crate::store::audit::{Actor, AuditAction, AuditRetentionOutOfBounds, ChainHead, Damage};
use crate::store::sharing::OrgLevel;
use vaka_shared::{DeviceId, MemberId, OrgId};

impl PgStore {
    /// Creates an organisation at `level`.
    pub async fn create_org_at(
        &self,
        name: String,
        level: OrgLevel,
        now_ms: i64,
    ) -> Result<OrgId, StoreError> {
        self.write(move |tx| {
            Box::pin(async move {
                let id = accounts::create_org(tx, &name, now_ms).await?;
                sharing::set_level(tx, id, level).await?;
                Ok(id)
            })
        })
        .await
    }

    /// Adds a member, recorded as the command line's doing.
    pub async fn add_member(
        &self,
        member: MemberToAdd,
        now_ms: i64,
    ) -> Result<MemberId, StoreError> {
        self.write(move |tx| {
            Box::pin(async move {
                let new = NewMember {
                    org: member.org,
                    name: &member.name,
                    role: member.role,
                    group: member.group.as_deref(),
                    login: member.login.as_deref(),
                    password_hash: member.password_hash.as_deref(),
                };
                let id = accounts::create_member(tx, &new, now_ms).await?;
                let created = AuditAction::MemberCreated {
                    member: id,
                    role: member.role.as_str().to_owned(),
                    group: member.group.clone(),
                };
                audit::record(tx, Some(member.org), Actor::CommandLine, &created, now_ms).await?;
                Ok(id)
            })
        })
        .await
    }

    /// A one-time enrolment code for `member`, valid for `ttl_ms`, recorded as the command
    /// line's doing; `None` when there is no such member (or one who cannot have a phone).
    pub async fn enrolment_code_for(
        &self,
        member: MemberId,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        self.write(move |tx| {
            Box::pin(async move {
                let code = accounts::create_enrollment_code(tx, member, now_ms, ttl_ms).await?;
                if code.is_some() {
                    let org = audit::org_of_member(tx, member).await?;
                    let created = AuditAction::EnrolmentCodeCreated { member };
                    audit::record(tx, org, Actor::CommandLine, &created, now_ms).await?;
                }
                Ok(code)
            })
        })
        .await
    }

    /// Checks every chain of the audit log.
    pub async fn verify_audit(&self) -> Result<Result<Vec<ChainHead>, Damage>, StoreError> {
        self.read(|db| Box::pin(async move { audit::verify(db).await }))
            .await
    }

    /// Sets `org`'s audit retention, recorded as the command line's doing.
    pub async fn set_audit_retention(
        &self,
        org: OrgId,
        days: u32,
        now_ms: i64,
    ) -> Result<Result<(), AuditRetentionOutOfBounds>, StoreError> {
        self.write(move |tx| {
            Box::pin(async move {
                audit::set_retention_days(tx, org, Actor::CommandLine, days, now_ms).await
            })
        })
        .await
    }

    /// Revokes `device`'s token, recorded as the command line's doing; whether an active device
    /// was revoked.
    pub async fn revoke_device_by_operator(
        &self,
        device: DeviceId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |tx| {
            Box::pin(async move {
                let revoked = accounts::revoke_device(tx, device, None, now_ms).await?;
                if revoked {
                    let org = accounts::org_of_device(tx, device).await?;
                    let action = AuditAction::DeviceRevoked { device };
                    audit::record(tx, org, Actor::CommandLine, &action, now_ms).await?;
                }
                Ok(revoked)
            })
        })
        .await
    }

    /// Notes that a retired device wiped itself.
    pub async fn device_wiped(&self, device: DeviceId, now_ms: i64) -> Result<(), StoreError> {
        self.write(move |tx| {
            Box::pin(async move { accounts::device_wiped(tx, device, now_ms).await })
        })
        .await
    }
}
