//! Bounded sign-in on PostgreSQL, as [`crate::store::sign_in`] on SQLite: an attempt admitted
//! and recorded in one write job, in the database every server process shares, so a guesser
//! spreading attempts over the processes meets one count (the group transactions of all
//! processes run one at a time, so concurrent attempts cannot race past it).

use super::{audit, sessions};
use crate::config::SignInLimits;
use crate::secrets;
use crate::store::StoreError;
use crate::store::audit::{Actor, AuditAction};
use crate::store::sessions::{LoginCandidate, NewSession};
use crate::store::sign_in::{Admission, Attempt, Failures, TRUSTED_BROWSER_FAILURES, wait_ms};
use deadpool_postgres::GenericClient;
use vaka_shared::OrgId;

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2)
}

async fn failures(
    db: &impl GenericClient,
    sql: &str,
    key: Option<&str>,
    since: i64,
) -> Result<Failures, StoreError> {
    let stmt = db.prepare_cached(sql).await?;
    let row = db.query_one(&stmt, &[&key, &since]).await?;
    let count: i64 = row.try_get(0)?;
    let latest: Option<i64> = row.try_get(1)?;
    Ok(Failures {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        latest_ms: latest.unwrap_or(0),
    })
}

/// Admits `attempt` now or says how long it must wait; an admitted attempt is recorded as a
/// failure until [`succeeded`] (see [`crate::store::sign_in::admit`]).
pub async fn admit(
    db: &impl GenericClient,
    attempt: Attempt<'_>,
    limits: &SignInLimits,
    now_ms: i64,
) -> Result<Admission, StoreError> {
    let Attempt {
        login,
        address,
        browser,
    } = attempt;
    let since = now_ms.saturating_sub(millis(limits.window));
    db.execute("DELETE FROM sign_in_attempts WHERE at_ms <= $1", &[&since])
        .await?;
    db.execute(
        "DELETE FROM trusted_browsers WHERE expires_at_ms <= $1",
        &[&now_ms],
    )
    .await?;
    let trusted = match browser {
        Some(token) => db
            .query_opt(
                "SELECT 1 FROM trusted_browsers WHERE token_hash = $1 AND login = $2",
                &[&secrets::hash_token(token), &login],
            )
            .await?
            .is_some(),
        None => false,
    };
    if !trusted {
        let name = failures(
            db,
            "SELECT COUNT(*), MAX(at_ms) FROM sign_in_attempts WHERE login = $1 AND at_ms > $2",
            Some(login),
            since,
        )
        .await?;
        let from_address = failures(
            db,
            "SELECT COUNT(*), MAX(at_ms) FROM sign_in_attempts WHERE address = $1 AND at_ms > $2",
            Some(address),
            since,
        )
        .await?;
        let overall = failures(
            db,
            "SELECT COUNT(*), MAX(at_ms) FROM sign_in_attempts
             WHERE NOT trusted AND at_ms > $2 AND $1::text IS NULL",
            None,
            since,
        )
        .await?;
        let wait = wait_ms(name, limits.free_per_name, limits, now_ms)
            .max(wait_ms(
                from_address,
                limits.free_per_address,
                limits,
                now_ms,
            ))
            .max(wait_ms(overall, limits.free_overall, limits, now_ms));
        if wait > 0 {
            return Ok(Admission::Wait {
                retry_after_ms: wait,
            });
        }
    }
    let id: i64 = db
        .query_one(
            "INSERT INTO sign_in_attempts (login, address, trusted, at_ms) VALUES ($1, $2, $3, $4)
             RETURNING id",
            &[&login, &address, &trusted, &now_ms],
        )
        .await?
        .try_get(0)?;
    Ok(Admission::Go { attempt: id })
}

/// The password check of an admitted attempt failed: it stays counted, and a trusted browser's
/// token loses its trust after [`TRUSTED_BROWSER_FAILURES`].
pub async fn failed(db: &impl GenericClient, attempt: Attempt<'_>) -> Result<(), StoreError> {
    let Attempt { login, browser, .. } = attempt;
    if let Some(token) = browser {
        let hash = secrets::hash_token(token);
        db.execute(
            "UPDATE trusted_browsers SET failures = failures + 1
             WHERE token_hash = $1 AND login = $2",
            &[&hash, &login],
        )
        .await?;
        db.execute(
            "DELETE FROM trusted_browsers WHERE token_hash = $1 AND failures >= $2",
            &[&hash, &TRUSTED_BROWSER_FAILURES],
        )
        .await?;
    }
    Ok(())
}

/// The password check of attempt `id` passed: its failures are forgiven and the browser gets a
/// new trusted-browser token (returned; only its hash is stored).
pub async fn succeeded(
    db: &impl GenericClient,
    id: i64,
    attempt: Attempt<'_>,
    candidate: &LoginCandidate,
    limits: &SignInLimits,
    now_ms: i64,
) -> Result<String, StoreError> {
    let Attempt {
        login,
        address,
        browser,
    } = attempt;
    db.execute(
        "DELETE FROM sign_in_attempts WHERE id = $1 OR (login = $2 AND address = $3)",
        &[&id, &login, &address],
    )
    .await?;
    if let Some(old) = browser {
        db.execute(
            "DELETE FROM trusted_browsers WHERE token_hash = $1",
            &[&secrets::hash_token(old)],
        )
        .await?;
    }
    let token = secrets::new_token();
    db.execute(
        "INSERT INTO trusted_browsers (token_hash, member_id, login, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &secrets::hash_token(&token),
            &candidate.member_id.to_string(),
            &login,
            &now_ms,
            &now_ms.saturating_add(millis(limits.trusted_browser_ttl)),
        ],
    )
    .await?;
    Ok(token)
}

/// Admits `attempt` or says how long it must wait, and for an admitted one the member whose
/// password it is to be checked against, in the caller's write job (see
/// [`crate::store::sign_in::admit_candidate`]).
pub async fn admit_candidate(
    db: &impl GenericClient,
    attempt: Attempt<'_>,
    limits: &SignInLimits,
    now_ms: i64,
) -> Result<(Admission, Option<LoginCandidate>), StoreError> {
    let admission = admit(db, attempt, limits, now_ms).await?;
    let candidate = match admission {
        Admission::Go { .. } => sessions::login_candidate(db, attempt.login).await?,
        Admission::Wait { .. } => None,
    };
    Ok((admission, candidate))
}

/// Attempt `id`'s password was right: forgiven, a session for `candidate` and the sign-in's
/// audit record, in the caller's write job (see [`crate::store::sign_in::start_session`]).
pub async fn start_session(
    db: &impl GenericClient,
    id: i64,
    attempt: Attempt<'_>,
    candidate: &LoginCandidate,
    limits: &SignInLimits,
    now_ms: i64,
    session_ttl_ms: i64,
) -> Result<(NewSession, String), StoreError> {
    let trusted = succeeded(db, id, attempt, candidate, limits, now_ms).await?;
    let session = sessions::create_session(db, candidate, now_ms, session_ttl_ms).await?;
    let signed_in = AuditAction::SignedIn {
        address: attempt.address.to_owned(),
    };
    let member = Actor::Member(candidate.member_id);
    audit::record(db, Some(candidate.org_id), member, &signed_in, now_ms).await?;
    Ok((session, trusted))
}

/// The attempt's password was wrong: counted, and recorded in `org`'s audit chain (`None`: the
/// chain of unknown names), in the caller's write job.
pub async fn refuse(
    db: &impl GenericClient,
    attempt: Attempt<'_>,
    org: Option<OrgId>,
    now_ms: i64,
) -> Result<(), StoreError> {
    failed(db, attempt).await?;
    let failed = AuditAction::sign_in_failed(attempt.login, attempt.address);
    audit::record(db, org, Actor::Nobody, &failed, now_ms).await?;
    Ok(())
}
