//! Bounded sign-in: admission of a sign-in attempt, decided and recorded in one write job (so
//! concurrent attempts cannot race past the count), the outcome of its password check, and
//! trusted browsers.
//!
//! An admitted attempt counts as a failure until its password check passes. Past a free number
//! of failures within the window, the next attempt of a scope (the sign-in name, the client
//! address, everything) must wait a delay after the scope's latest failure that doubles with
//! each further failure, up to a cap. A browser that signed in as the name before presents its
//! trusted-browser token and is held back only by that token's own failures.

use super::audit::{self, Actor, AuditAction};
use super::sessions::{self, LoginCandidate, NewSession};
use super::{Store, StoreError, on_backend, postgres};
use crate::config::SignInLimits;
use crate::secrets;
use rusqlite::{Connection, OptionalExtension, params};
use vaka_shared::OrgId;

/// Failures with one trusted-browser token before the token is withdrawn.
pub const TRUSTED_BROWSER_FAILURES: i64 = 5;

/// Failures of one scope within the window and when the latest happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// How many.
    pub count: u32,
    /// The latest, Unix ms.
    pub latest_ms: i64,
}

/// How long an attempt must still wait, in ms, given a scope's failures and its free count
/// (0: it may go now). Pure, so the rule can be read off a table of cases.
pub fn wait_ms(failures: Failures, free: u32, limits: &SignInLimits, now_ms: i64) -> i64 {
    if failures.count < free {
        return 0;
    }
    let doublings = (failures.count - free).min(40);
    let first = i64::try_from(limits.first_delay.as_millis()).unwrap_or(i64::MAX);
    let cap = i64::try_from(limits.max_delay.as_millis()).unwrap_or(i64::MAX);
    let delay = first.saturating_mul(1i64 << doublings).min(cap);
    (failures.latest_ms.saturating_add(delay) - now_ms).max(0)
}

/// Who tries to sign in: the name, the client's address and the browser's trusted-browser
/// token, if it sent one.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The sign-in name.
    pub login: &'a str,
    /// The client's address.
    pub address: &'a str,
    /// The trusted-browser token the browser holds.
    pub browser: Option<&'a str>,
}

/// Who tries to sign in, owned, to hand to a write job: see [`Attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInBy {
    /// The sign-in name.
    pub login: String,
    /// The client's address.
    pub address: String,
    /// The trusted-browser token the browser holds.
    pub browser: Option<String>,
}

impl SignInBy {
    /// The attempt as the sign-in rules read it.
    pub fn attempt(&self) -> Attempt<'_> {
        Attempt {
            login: &self.login,
            address: &self.address,
            browser: self.browser.as_deref(),
        }
    }
}

/// The answer to a sign-in attempt before its password is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Check the password; report the outcome with this attempt id.
    Go {
        /// The attempt, recorded as a failure until [`succeeded`] says otherwise.
        attempt: i64,
    },
    /// Refused without checking: try again after this many ms.
    Wait {
        /// How long.
        retry_after_ms: i64,
    },
}

fn failures(
    conn: &Connection,
    sql: &str,
    key: Option<&str>,
    since: i64,
) -> Result<Failures, StoreError> {
    let (count, latest): (i64, Option<i64>) = conn
        .prepare_cached(sql)?
        .query_row(params![key, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Failures {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        latest_ms: latest.unwrap_or(0),
    })
}

/// Decides whether `attempt` may check its password now, and if so records it.
pub fn admit(
    conn: &Connection,
    attempt: Attempt<'_>,
    limits: &SignInLimits,
    now_ms: i64,
) -> Result<Admission, StoreError> {
    let Attempt {
        login,
        address,
        browser,
    } = attempt;
    let window = i64::try_from(limits.window.as_millis()).unwrap_or(i64::MAX);
    let since = now_ms.saturating_sub(window);
    conn.prepare_cached("DELETE FROM sign_in_attempts WHERE at_ms <= ?1")?
        .execute([since])?;
    conn.prepare_cached("DELETE FROM trusted_browsers WHERE expires_at_ms <= ?1")?
        .execute([now_ms])?;
    let trusted = match browser {
        Some(token) => conn
            .prepare_cached("SELECT 1 FROM trusted_browsers WHERE token_hash = ?1 AND login = ?2")?
            .query_row(params![secrets::hash_token(token), login], |_| Ok(()))
            .optional()?
            .is_some(),
        None => false,
    };
    if !trusted {
        let name = failures(
            conn,
            "SELECT COUNT(*), MAX(at_ms) FROM sign_in_attempts WHERE login = ?1 AND at_ms > ?2",
            Some(login),
            since,
        )?;
        let from_address = failures(
            conn,
            "SELECT COUNT(*), MAX(at_ms) FROM sign_in_attempts WHERE address = ?1 AND at_ms > ?2",
            Some(address),
            since,
        )?;
        let overall = failures(
            conn,
            "SELECT COUNT(*), MAX(at_ms) FROM sign_in_attempts
             WHERE trusted = 0 AND at_ms > ?2 AND ?1 IS NULL",
            None,
            since,
        )?;
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
    conn.prepare_cached(
        "INSERT INTO sign_in_attempts (login, address, trusted, at_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![login, address, trusted, now_ms])?;
    Ok(Admission::Go {
        attempt: conn.last_insert_rowid(),
    })
}

/// The attempt's password was wrong: it stays counted; a trusted token used with it is
/// withdrawn after [`TRUSTED_BROWSER_FAILURES`].
pub fn failed(conn: &Connection, attempt: Attempt<'_>) -> Result<(), StoreError> {
    let Attempt { login, browser, .. } = attempt;
    if let Some(token) = browser {
        let hash = secrets::hash_token(token);
        conn.prepare_cached(
            "UPDATE trusted_browsers SET failures = failures + 1 WHERE token_hash = ?1 AND login = ?2",
        )?
        .execute(params![hash, login])?;
        conn.prepare_cached(
            "DELETE FROM trusted_browsers WHERE token_hash = ?1 AND failures >= ?2",
        )?
        .execute(params![hash, TRUSTED_BROWSER_FAILURES])?;
    }
    Ok(())
}

/// The attempt's password was right: it and the earlier failures of that name from that
/// address (the owner's own typing errors) are forgotten, and the browser gets a new trusted
/// token for the name (the old one, if any, is replaced). Returns the new token.
pub fn succeeded(
    conn: &Connection,
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
    conn.prepare_cached(
        "DELETE FROM sign_in_attempts WHERE id = ?1 OR (login = ?2 AND address = ?3)",
    )?
    .execute(params![id, login, address])?;
    if let Some(old) = browser {
        conn.prepare_cached("DELETE FROM trusted_browsers WHERE token_hash = ?1")?
            .execute([secrets::hash_token(old)])?;
    }
    let token = secrets::new_token();
    let ttl = i64::try_from(limits.trusted_browser_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    conn.prepare_cached(
        "INSERT INTO trusted_browsers (token_hash, member_id, login, created_at_ms, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        secrets::hash_token(&token),
        candidate.member_id.to_string(),
        login,
        now_ms,
        now_ms.saturating_add(ttl)
    ])?;
    Ok(token)
}

/// Admits `attempt` or says how long it must wait (see [`admit`]), and for an admitted one the
/// member whose password it is to be checked against, in one write job.
pub fn admit_candidate(
    conn: &Connection,
    attempt: Attempt<'_>,
    limits: &SignInLimits,
    now_ms: i64,
) -> Result<(Admission, Option<LoginCandidate>), StoreError> {
    let admission = admit(conn, attempt, limits, now_ms)?;
    let candidate = match admission {
        Admission::Go { .. } => sessions::login_candidate(conn, attempt.login)?,
        Admission::Wait { .. } => None,
    };
    Ok((admission, candidate))
}

/// Attempt `id`'s password was right: the attempt is forgiven (see [`succeeded`]), a session
/// starts for `candidate`, valid for `session_ttl_ms`, and the sign-in is recorded in their
/// organisation's audit chain — one write job. Returns the session and the browser's new
/// trusted-browser token.
pub fn start_session(
    conn: &Connection,
    id: i64,
    attempt: Attempt<'_>,
    candidate: &LoginCandidate,
    limits: &SignInLimits,
    now_ms: i64,
    session_ttl_ms: i64,
) -> Result<(NewSession, String), StoreError> {
    let trusted = succeeded(conn, id, attempt, candidate, limits, now_ms)?;
    let session = sessions::create_session(conn, candidate, now_ms, session_ttl_ms)?;
    let signed_in = AuditAction::SignedIn {
        address: attempt.address.to_owned(),
    };
    let member = Actor::Member(candidate.member_id);
    audit::record(conn, Some(candidate.org_id), member, &signed_in, now_ms)?;
    Ok((session, trusted))
}

/// The attempt's password was wrong (or its name no one's): it stays counted (see [`failed`])
/// and the failure is recorded in `org`'s audit chain (`None`: the chain of unknown names), in
/// one write job.
pub fn refuse(
    conn: &Connection,
    attempt: Attempt<'_>,
    org: Option<OrgId>,
    now_ms: i64,
) -> Result<(), StoreError> {
    failed(conn, attempt)?;
    let failed = AuditAction::sign_in_failed(attempt.login, attempt.address);
    audit::record(conn, org, Actor::Nobody, &failed, now_ms)?;
    Ok(())
}

/// Bounded sign-in on either backend.
impl Store {
    /// Admits `by`'s attempt or says how long it must wait, with the member to check the
    /// password against (see [`admit_candidate`]).
    pub async fn admit_sign_in(
        &self,
        by: SignInBy,
        limits: SignInLimits,
        now_ms: i64,
    ) -> Result<(Admission, Option<LoginCandidate>), StoreError> {
        on_backend!(self,
            s => s.write(move |c| admit_candidate(c, by.attempt(), &limits, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::sign_in::admit_candidate(tx, by.attempt(), &limits, now_ms).await
            })).await,
        )
    }

    /// Attempt `id`'s password was right: a session and a trusted-browser token (see
    /// [`start_session`]).
    pub async fn sign_in_succeeded(
        &self,
        id: i64,
        by: SignInBy,
        candidate: LoginCandidate,
        limits: SignInLimits,
        now_ms: i64,
        session_ttl_ms: i64,
    ) -> Result<(NewSession, String), StoreError> {
        on_backend!(self,
            s => s.write(move |c| {
                start_session(c, id, by.attempt(), &candidate, &limits, now_ms, session_ttl_ms)
            }).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::sign_in::start_session(
                    tx, id, by.attempt(), &candidate, &limits, now_ms, session_ttl_ms,
                ).await
            })).await,
        )
    }

    /// `by`'s password was wrong: counted and recorded in `org`'s chain (see [`refuse`]).
    pub async fn sign_in_failed(
        &self,
        by: SignInBy,
        org: Option<OrgId>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_backend!(self,
            s => s.write(move |c| refuse(c, by.attempt(), org, now_ms)).await,
            p => p.write(move |tx| Box::pin(async move {
                postgres::sign_in::refuse(tx, by.attempt(), org, now_ms).await
            })).await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::time::Duration;

    fn limits() -> SignInLimits {
        SignInLimits {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            ..SignInLimits::default()
        }
    }

    #[rstest]
    #[case::under_the_free_count(4, 1_000, 1_000, 0)]
    #[case::at_the_free_count_one_second(5, 1_000, 1_000, 1_000)]
    #[case::waited_long_enough(5, 1_000, 2_000, 0)]
    #[case::doubles(7, 1_000, 1_000, 4_000)]
    #[case::part_waited(7, 1_000, 4_000, 1_000)]
    #[case::capped(30, 1_000, 1_000, 60_000)]
    #[case::huge_count_stays_capped(u32::MAX, 1_000, 1_000, 60_000)]
    fn the_delay_doubles_with_each_failure_past_the_free_ones(
        #[case] count: u32,
        #[case] latest_ms: i64,
        #[case] now_ms: i64,
        #[case] expected: i64,
    ) {
        let failures = Failures { count, latest_ms };
        assert_eq!(wait_ms(failures, 5, &limits(), now_ms), expected);
    }
}
