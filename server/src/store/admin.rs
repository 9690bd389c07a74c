//! The operator's commands on the store (`vaka-server org|user|enroll-code|device|purge|audit`):
//! each one write job that makes the change and records it in the audit log, as the command line.

use super::accounts::{self, NewMember};
use super::audit::{self, Actor, AuditAction, AuditRetentionOutOfBounds, ChainHead, Damage};
use super::retention::{self, PurgeSummary};
use super::sharing::{self, OrgLevel};
use super::{SqliteStore, StoreError};
use vaka_shared::model::Role;
use vaka_shared::{DeviceId, MemberId, OrgId};

/// A member the operator adds.
#[derive(Debug, Clone)]
pub struct MemberToAdd {
    /// The organisation.
    pub org: OrgId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Group, e.g. "Nattvandrarna".
    pub group: Option<String>,
    /// Sign-in name for the dashboard.
    pub login: Option<String>,
    /// argon2id hash of the password.
    pub password_hash: Option<String>,
}

impl SqliteStore {
    /// Creates an organisation at `level`.
    pub async fn create_org_at(
        &self,
        name: String,
        level: OrgLevel,
        now_ms: i64,
    ) -> Result<OrgId, StoreError> {
        self.write(move |c| {
            let id = accounts::create_org(c, &name, now_ms)?;
            sharing::set_level(c, id, level)?;
            Ok(id)
        })
        .await
    }

    /// Adds a member, recorded as the command line's doing.
    pub async fn add_member(
        &self,
        member: MemberToAdd,
        now_ms: i64,
    ) -> Result<MemberId, StoreError> {
        self.write(move |c| {
            let id = accounts::create_member(
                c,
                &NewMember {
                    org: member.org,
                    name: &member.name,
                    role: member.role,
                    group: member.group.as_deref(),
                    login: member.login.as_deref(),
                    password_hash: member.password_hash.as_deref(),
                },
                now_ms,
            )?;
            let created = AuditAction::MemberCreated {
                member: id,
                role: member.role.as_str().to_owned(),
                group: member.group,
            };
            audit::record(c, Some(member.org), Actor::CommandLine, &created, now_ms)?;
            Ok(id)
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
        self.write(move |c| {
            let code = accounts::create_enrollment_code(c, member, now_ms, ttl_ms)?;
            if code.is_some() {
                let org = accounts::org_of_member(c, member)?;
                let created = AuditAction::EnrolmentCodeCreated { member };
                audit::record(c, org, Actor::CommandLine, &created, now_ms)?;
            }
            Ok(code)
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
        self.write(move |c| {
            let revoked = accounts::revoke_device(c, device, None, now_ms)?;
            if revoked {
                let org = accounts::org_of_device(c, device)?;
                let action = AuditAction::DeviceRevoked { device };
                audit::record(c, org, Actor::CommandLine, &action, now_ms)?;
            }
            Ok(revoked)
        })
        .await
    }

    /// What a purge would remove now, per organisation, without removing anything.
    pub async fn purge_dry_run(&self, now_ms: i64) -> Result<Vec<PurgeSummary>, StoreError> {
        self.read(move |c| {
            retention::orgs(c)?
                .into_iter()
                .map(|org| retention::dry_run(c, org, now_ms))
                .collect()
        })
        .await
    }

    /// Checks every chain of the audit log.
    pub async fn verify_audit(&self) -> Result<Result<Vec<ChainHead>, Damage>, StoreError> {
        self.read(audit::verify).await
    }

    /// Sets `org`'s audit retention, recorded as the command line's doing.
    pub async fn set_audit_retention(
        &self,
        org: OrgId,
        days: u32,
        now_ms: i64,
    ) -> Result<Result<(), AuditRetentionOutOfBounds>, StoreError> {
        self.write(move |c| audit::set_retention_days(c, org, Actor::CommandLine, days, now_ms))
            .await
    }
}
