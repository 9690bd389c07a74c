//! Passwords: argon2id with the parameters OWASP's Password Storage Cheat Sheet recommends
//! (19 MiB of memory, 2 passes, 1 lane), and a bounded pool that checks them.
//!
//! A check costs 19 MiB and tens of milliseconds, so sign-in must not run as many of them as
//! arrive: [`PasswordChecker`] runs at most `checks_at_once` (one per core by default) on threads
//! of its own, each reusing one preallocated block of argon2 memory, and lets at most `queue`
//! more wait; beyond that a check is refused at once. Memory for passwords is thus fixed at
//! start, whatever arrives.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher, Version};
use rand::RngCore;
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::{Semaphore, oneshot};

/// OWASP's recommended argon2id memory cost, in KiB.
pub const M_COST_KIB: u32 = 19 * 1024;
/// OWASP's recommended argon2id passes.
pub const T_COST: u32 = 2;
/// OWASP's recommended argon2id lanes.
pub const P_COST: u32 = 1;
/// The longest password checked; longer ones are refused without a check.
pub const MAX_PASSWORD_BYTES: usize = 1000;

fn params() -> Params {
    Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or_default()
}

fn hasher(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// An argon2id hash of a password, in PHC string form.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(hasher(params())
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches `stored`, computed in `memory` (grown only if the stored hash
/// asks for more than it holds, up to OWASP's cost times four; more is refused).
fn verify_in(password: &str, stored: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    if hash.algorithm.as_str() != "argon2id" {
        return false;
    }
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(&hash), hash.salt, hash.hash)
    else {
        return false;
    };
    if params.m_cost() > M_COST_KIB * 4 {
        return false;
    }
    let version = hash
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .unwrap_or(Version::V0x13);
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(Algorithm::Argon2id, version, params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_err()
    {
        return false;
    }
    argon2::password_hash::Output::new(&out).is_ok_and(|out| out == expected)
}

/// Whether `password` matches a stored argon2id hash (outside the pool: admin commands, tests).
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_in(password, stored, &mut Vec::new())
}

/// The pool is full: the check was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks waiting")]
pub struct Busy;

struct Check {
    password: String,
    stored: Option<String>,
    reply: oneshot::Sender<bool>,
}

/// Runs password checks on a fixed number of threads with a bounded queue.
#[derive(Debug, Clone)]
pub struct PasswordChecker {
    jobs: mpsc::SyncSender<Check>,
    admitted: Arc<Semaphore>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Check")
    }
}

impl PasswordChecker {
    /// Starts `at_once` checking threads that take up to `queue` waiting checks.
    pub fn start(at_once: usize, queue: usize) -> Self {
        let at_once = at_once.max(1);
        let (jobs, receiver) = mpsc::sync_channel::<Check>(queue.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        // What an unknown name is checked against, so that it costs the same as a known one.
        let decoy = Arc::new(hash_password(&crate::secrets::new_token()).unwrap_or_default());
        for n in 0..at_once {
            let receiver = receiver.clone();
            let decoy = decoy.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("vaka-password-{n}"))
                .spawn(move || {
                    let mut memory = vec![Block::default(); params().block_count()];
                    loop {
                        let next = receiver
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok(check) = next else { break };
                        let matches = match &check.stored {
                            Some(stored) => verify_in(&check.password, stored, &mut memory),
                            None => {
                                let _ = verify_in(&check.password, &decoy, &mut memory);
                                false
                            }
                        };
                        let _ = check.reply.send(matches);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password check thread");
            }
        }
        Self {
            jobs,
            admitted: Arc::new(Semaphore::new(at_once + queue.max(1))),
        }
    }

    /// A place in the pool, or [`Busy`] when it is full: taken before anything else is done
    /// for a sign-in, so a flood costs neither a database write nor a check.
    pub fn reserve(&self) -> Result<Reserved, Busy> {
        let permit = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy)?;
        Ok(Reserved {
            jobs: self.jobs.clone(),
            _permit: permit,
        })
    }
}

/// A reserved place in the pool.
#[derive(Debug)]
pub struct Reserved {
    jobs: mpsc::SyncSender<Check>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Reserved {
    /// Checks `password` against `stored` (or, for an unknown name, against a decoy at the same
    /// cost).
    pub async fn check(self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let (reply, answer) = oneshot::channel();
        let check = Check {
            password,
            stored,
            reply,
        };
        // The permit bounds the checks in the channel, so this fails only if the threads died.
        self.jobs.try_send(check).map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_carry_owasps_parameters_and_verify_only_their_password() {
        let stored = hash_password("rätt häst batteri häftklammer").expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify_password("rätt häst batteri häftklammer", &stored));
        assert!(!verify_password("fel", &stored));
        assert!(!verify_password("fel", "not a hash"));
    }

    #[test]
    fn hashes_made_with_the_crates_defaults_still_verify() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let stored = Argon2::default()
            .hash_password(b"gammalt", &salt)
            .expect("hash")
            .to_string();
        assert!(verify_password("gammalt", &stored));
    }

    #[tokio::test]
    async fn the_pool_refuses_what_it_cannot_queue() {
        let checker = PasswordChecker::start(1, 1);
        let stored = hash_password("rätt").expect("hash");
        let checks: Vec<_> = (0..8)
            .map(|_| {
                let (checker, stored) = (checker.clone(), stored.clone());
                tokio::spawn(async move {
                    match checker.reserve() {
                        Ok(place) => place.check("fel".into(), Some(stored)).await,
                        Err(busy) => Err(busy),
                    }
                })
            })
            .collect();
        let mut results = Vec::new();
        for check in checks {
            results.push(check.await.expect("task"));
        }
        assert!(results.contains(&Err(Busy)), "{results:?}");
        assert!(results.contains(&Ok(false)), "{results:?}");
        let place = checker.reserve().expect("free again");
        assert_eq!(place.check("rätt".into(), Some(stored)).await, Ok(true));
    }
}
