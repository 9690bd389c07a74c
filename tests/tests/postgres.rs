//! The PostgreSQL store against a real PostgreSQL (a fresh database per test in the test
//! cluster): migrations applied once however many processes start together, group commit, the
//! push and pull rules, and the sequence lock that keeps commit order equal to sequence order
//! across server processes, so no pull by cursor skips an op.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use vaka_server::now_ms;
use vaka_server::store::StoreError;
use vaka_server::store::accounts::{DeviceCaller, NewMember, TokenLookup};
use vaka_server::store::postgres::{PgStore, accounts as pg_accounts, next_seq, push as pg_push};
use vaka_server::sync::PushLimits;
use vaka_shared::model::{IncidentFields, Role, Severity};
use vaka_shared::op::{Op, OpBody};
use vaka_shared::sync::StopCode;
use vaka_shared::{EntityId, HlcClock, OpId};
use vaka_tests::postgres::fresh_database;

async fn open(url: &str) -> PgStore {
    PgStore::open(url, 4, 64, Arc::default())
        .await
        .expect("open the PostgreSQL store")
}

/// Two server processes' stores on one fresh database.
async fn two_processes() -> [PgStore; 2] {
    let url = fresh_database().await.expect("a test database");
    [open(&url).await, open(&url).await]
}

async fn table_count(store: &PgStore) -> i64 {
    store
        .read(|client| {
            Box::pin(async move {
                let row = client
                    .query_one(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                        &[],
                    )
                    .await?;
                Ok(row.get::<_, i64>(0))
            })
        })
        .await
        .expect("count tables")
}

#[tokio::test]
async fn processes_starting_together_apply_each_migration_once() {
    let url = fresh_database().await.expect("a test database");
    let (a, b, c) = tokio::join!(open(&url), open(&url), open(&url));
    let applied: i64 = a
        .read(|client| {
            Box::pin(async move {
                Ok(client
                    .query_one("SELECT count(*) FROM schema_migrations", &[])
                    .await?
                    .get(0))
            })
        })
        .await
        .expect("read the migrations");
    let count = i64::try_from(vaka_server::store::postgres::MIGRATIONS.len()).expect("count");
    assert_eq!(applied, count, "every migration recorded once");
    assert!(table_count(&b).await >= 20, "the schema is there");
    drop((a, b, c));
    // Opening again applies nothing and changes nothing.
    let again = open(&url).await;
    assert!(table_count(&again).await >= 20);
}

#[tokio::test]
async fn a_failing_job_rolls_back_alone_and_the_others_commit() {
    let url = fresh_database().await.expect("a test database");
    let store = open(&url).await;
    let insert = |name: &'static str, fail: bool| {
        store.write(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "INSERT INTO orgs (id, name, created_at_ms) VALUES ($1, $2, 0)",
                    &[&uuid::Uuid::now_v7().to_string(), &name],
                )
                .await?;
                if fail {
                    return Err(StoreError::WriterGone);
                }
                Ok(())
            })
        })
    };
    let (failed, kept) = tokio::join!(insert("Rullas tillbaka", true), insert("Sparas", false));
    assert!(failed.is_err());
    kept.expect("the other job commits");
    let names: Vec<String> = store
        .read(|client| {
            Box::pin(async move {
                Ok(client
                    .query("SELECT name FROM orgs", &[])
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect())
            })
        })
        .await
        .expect("read");
    assert_eq!(names, vec!["Sparas".to_owned()]);
}

/// Two server processes on one database: while one holds its group transaction open after taking
/// a sequence number, the other cannot take one; once the first commits, the second's number is
/// higher. So no reader can see a higher number committed while a lower one is still to come.
#[tokio::test]
async fn a_held_transaction_keeps_later_sequence_numbers_behind_it() {
    let url = fresh_database().await.expect("a test database");
    let first = open(&url).await;
    let second = open(&url).await;

    let (taken_tx, taken) = oneshot::channel::<u64>();
    let (release, released) = oneshot::channel::<()>();
    let held = tokio::spawn({
        let first = first.clone();
        async move {
            first
                .write(move |tx| {
                    Box::pin(async move {
                        let seq = next_seq(tx).await?;
                        let _ = taken_tx.send(seq);
                        let _ = released.await;
                        Ok(seq)
                    })
                })
                .await
        }
    });
    let held_seq = taken.await.expect("the first process took a number");

    let later = tokio::spawn({
        let second = second.clone();
        async move {
            second
                .write(|tx| Box::pin(async move { next_seq(tx).await }))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !later.is_finished(),
        "the second process took a number while the first held its transaction open"
    );
    release.send(()).expect("release the first");
    let held_seq_committed = held.await.expect("join").expect("the first commits");
    let later_seq = later.await.expect("join").expect("the second commits");
    assert_eq!(held_seq, held_seq_committed);
    assert!(
        later_seq > held_seq,
        "the later transaction's number {later_seq} is above the held one's {held_seq}"
    );
}

/// A phone enrolled on the PostgreSQL store, making ops by hand.
struct PgPhone {
    caller: DeviceCaller,
    token: String,
    clock: HlcClock,
    seq: u64,
}

impl PgPhone {
    fn op(&mut self, entity: EntityId, body: OpBody) -> Op {
        self.seq += 1;
        Op {
            op_id: OpId::new(),
            device_id: self.caller.device_id,
            device_seq: self.seq,
            hlc: self.clock.tick(now_ms() as u64),
            base_seq: 0,
            entity_id: entity,
            body,
        }
    }
}

const LIMITS: PushLimits = PushLimits {
    max_clock_ahead_ms: 300_000,
};

/// An organisation with a coordinator, and `phones` enrolled volunteers' phones.
async fn org_with_phones(store: &PgStore, phones: usize) -> Vec<PgPhone> {
    let codes: Vec<String> = store
        .write(move |tx| {
            Box::pin(async move {
                let now = now_ms();
                let org = pg_accounts::create_org(tx, "Nattvandrarna Testby", now).await?;
                let mut codes = Vec::new();
                for n in 0..phones {
                    let name = format!("Volontär {n}");
                    let member = NewMember {
                        org,
                        name: &name,
                        role: Role::Volunteer,
                        group: None,
                        login: None,
                        password_hash: None,
                    };
                    let member = pg_accounts::create_member(tx, &member, now).await?;
                    codes.extend(
                        pg_accounts::create_enrollment_code(tx, member, now, 60_000).await?,
                    );
                }
                Ok(codes)
            })
        })
        .await
        .expect("an organisation");
    let mut enrolled = Vec::new();
    for code in codes {
        let device = store
            .redeem_enrollment_code(code.clone(), "Telefon".into(), now_ms())
            .await
            .expect("redeem")
            .expect("a valid code");
        assert!(
            store
                .redeem_enrollment_code(code, "Telefon".into(), now_ms())
                .await
                .expect("redeem again")
                .is_none(),
            "a code enrols one device"
        );
        let TokenLookup::Valid(caller) = store
            .device_by_token(device.token.clone())
            .await
            .expect("lookup")
        else {
            panic!("the new device's token is valid");
        };
        enrolled.push(PgPhone {
            caller,
            token: device.token,
            clock: HlcClock::new(caller.device_id),
            seq: 0,
        });
    }
    enrolled
}

fn incident() -> OpBody {
    vaka_tests::raw::new_incident("disturbance", 2)
}

#[tokio::test]
async fn pushes_are_acknowledged_merged_and_pulled_by_sequence() {
    let url = fresh_database().await.expect("a test database");
    let store = open(&url).await;
    let mut phones = org_with_phones(&store, 1).await;
    let phone = &mut phones[0];
    let entry = EntityId::new();
    let first = phone.op(entry, incident());
    let second = phone.op(
        entry,
        OpBody::Incident(IncidentFields {
            severity: Some(Severity(3)),
            ..Default::default()
        }),
    );
    let (result, counts) = store
        .push(
            phone.caller,
            vec![first.clone(), second.clone()],
            now_ms(),
            LIMITS,
        )
        .await
        .expect("push");
    assert_eq!(result.acked_through, 2);
    assert_eq!(counts.accepted, 2);
    // Sent again: acknowledged, nothing stored twice.
    let (again, counts) = store
        .push(phone.caller, vec![first, second], now_ms(), LIMITS)
        .await
        .expect("push again");
    assert_eq!((again.acked_through, counts.duplicate), (2, 2));
    // A gap stops the push where the device must resume.
    let mut skipped = phone.op(entry, incident());
    skipped.device_seq += 1;
    let (gap, _) = store
        .push(phone.caller, vec![skipped], now_ms(), LIMITS)
        .await
        .expect("push with a gap");
    assert_eq!(
        gap.stopped.map(|s| (s.code, s.at_seq)),
        Some((StopCode::Gap, 3))
    );

    let page = store.pull(phone.caller, 0, 100).await.expect("pull");
    let seqs: Vec<u64> = page.ops.iter().map(|op| op.seq).collect();
    assert_eq!(seqs.len(), 2, "{seqs:?}");
    assert!(seqs[0] < seqs[1]);
    assert_eq!(page.cursor, seqs[1]);
    assert_eq!(store.last_seq().await.expect("last seq"), seqs[1]);
    let severity: i64 = store
        .read(move |db| {
            Box::pin(async move {
                Ok(db
                    .query_one(
                        "SELECT severity FROM entries WHERE id = $1",
                        &[&entry.to_string()],
                    )
                    .await?
                    .get(0))
            })
        })
        .await
        .expect("the projection");
    assert_eq!(
        severity, 3,
        "the entry's projection follows the merged state"
    );
}

/// Two server processes on one database, phones pushing through either at random at once: a
/// device that pulls by cursor gets every accepted op exactly once, in sequence order.
#[tokio::test]
async fn pulls_by_cursor_miss_nothing_with_two_processes_writing() {
    let stores = two_processes().await;
    let phones = org_with_phones(&stores[0], 8).await;
    let coordinator = {
        let mut caller = phones[0].caller;
        caller.role = Role::Coordinator;
        caller
    };
    let mut tasks = Vec::new();
    for (n, mut phone) in phones.into_iter().enumerate() {
        let stores = stores.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..10 {
                let ops: Vec<Op> = (0..3)
                    .map(|_| phone.op(EntityId::new(), incident()))
                    .collect();
                let store = &stores[(n + round) % 2];
                store
                    .push(phone.caller, ops, now_ms(), LIMITS)
                    .await
                    .expect("push");
            }
        }));
    }
    // Meanwhile a coordinator's phone pulls by cursor from both processes in turn.
    let mut seen = Vec::new();
    let mut cursor = 0;
    let mut turn = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        let page = stores[turn % 2]
            .pull(coordinator, cursor, 7)
            .await
            .expect("pull");
        seen.extend(page.ops.iter().map(|op| op.seq));
        cursor = page.cursor;
        turn += 1;
    }
    for task in tasks {
        task.await.expect("the pushes");
    }
    loop {
        let page = stores[turn % 2]
            .pull(coordinator, cursor, 7)
            .await
            .expect("pull");
        seen.extend(page.ops.iter().map(|op| op.seq));
        cursor = page.cursor;
        turn += 1;
        if !page.more {
            break;
        }
    }
    let all = stores[0]
        .pull(coordinator, 0, 1000)
        .await
        .expect("pull all");
    let stored: Vec<u64> = all.ops.iter().map(|op| op.seq).collect();
    assert_eq!(stored.len(), 8 * 10 * 3, "every op stored once");
    assert_eq!(seen, stored, "pulled by cursor: every op once, in order");
}

/// One process's group transaction held open after it stored an op; the other process's push
/// waits behind it. A pull meanwhile sees neither; afterwards both, the held one first.
#[tokio::test]
async fn no_pull_skips_an_op_whose_transaction_committed_late() {
    let url = fresh_database().await.expect("a test database");
    let first = open(&url).await;
    let second = open(&url).await;
    let mut phones = org_with_phones(&first, 2).await;
    let reader = {
        let mut caller = phones[0].caller;
        caller.role = Role::Coordinator;
        caller
    };
    let held_op = phones[0].op(EntityId::new(), incident());
    let later_op = phones[1].op(EntityId::new(), incident());
    let held_caller = phones[0].caller;
    let later_caller = phones[1].caller;

    let (stored_tx, stored) = oneshot::channel::<()>();
    let (release, released) = oneshot::channel::<()>();
    let held = tokio::spawn({
        let first = first.clone();
        async move {
            first
                .write(move |tx| {
                    Box::pin(async move {
                        let pushed =
                            pg_push::push(tx, &held_caller, &[held_op], now_ms(), LIMITS).await?;
                        let _ = stored_tx.send(());
                        let _ = released.await;
                        Ok(pushed)
                    })
                })
                .await
        }
    });
    stored.await.expect("the first process stored its op");
    let later = tokio::spawn({
        let second = second.clone();
        async move {
            second
                .push(later_caller, vec![later_op], now_ms(), LIMITS)
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = second
        .pull(reader, 0, 100)
        .await
        .expect("pull during the hold");
    assert!(
        during.ops.is_empty(),
        "nothing committed yet: {:?}",
        during.ops
    );
    assert_eq!(during.cursor, 0);
    assert!(
        !later.is_finished(),
        "the second process committed past a held sequence number"
    );

    release.send(()).expect("release");
    held.await.expect("join").expect("the held push commits");
    later.await.expect("join").expect("the later push commits");
    let after = first
        .pull(reader, during.cursor, 100)
        .await
        .expect("pull after");
    let devices: Vec<_> = after.ops.iter().map(|op| op.device_id).collect();
    assert_eq!(devices, vec![held_caller.device_id, later_caller.device_id]);
}

/// A photo uploaded in chunks through two processes in turn: each chunk only where the stored
/// part ends, a repeated last chunk answered again, the whole checked against its name.
#[tokio::test]
async fn a_photo_uploads_in_chunks_through_either_process() {
    use sha2::Digest;
    use vaka_server::store::blobs::{Chunk, ChunkOutcome};
    use vaka_shared::blob::BlobState;

    let stores = two_processes().await;
    let phones = org_with_phones(&stores[0], 1).await;
    let caller = phones[0].caller;
    let bytes: Vec<u8> = (0..3000u32).map(|n| (n % 251) as u8).collect();
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let chunk = |offset: usize, len: usize, name: &str| Chunk {
        org_id: caller.org_id,
        uploaded_by: caller.member_id.to_string(),
        sha256: name.to_owned(),
        size: bytes.len() as u64,
        content_type: "image/jpeg".into(),
        offset: offset as u64,
        bytes: bytes[offset..offset + len].to_vec(),
    };
    let state = |outcome: ChunkOutcome| match outcome {
        ChunkOutcome::Stored(status) => (status.state, status.received),
        other => panic!("not stored: {other:?}"),
    };
    let first = stores[0]
        .put_chunk(chunk(0, 1000, &sha256), now_ms())
        .await
        .expect("chunk");
    assert_eq!(state(first), (BlobState::Partial, 1000));
    let skipped = stores[1]
        .put_chunk(chunk(2000, 1000, &sha256), now_ms())
        .await
        .expect("chunk");
    assert_eq!(skipped, ChunkOutcome::OffsetMismatch { received: 1000 });
    let second = stores[1]
        .put_chunk(chunk(1000, 1000, &sha256), now_ms())
        .await
        .expect("chunk");
    assert_eq!(state(second), (BlobState::Partial, 2000));
    let repeated = stores[0]
        .put_chunk(chunk(1000, 1000, &sha256), now_ms())
        .await
        .expect("chunk");
    assert_eq!(
        state(repeated),
        (BlobState::Partial, 2000),
        "a repeat is answered again"
    );
    let last = stores[0]
        .put_chunk(chunk(2000, 1000, &sha256), now_ms())
        .await
        .expect("chunk");
    assert_eq!(state(last), (BlobState::Complete, 3000));
    let (content_type, stored) = stores[1]
        .blob_content(caller.org_id, sha256.clone())
        .await
        .expect("content")
        .expect("complete");
    assert_eq!(
        (content_type.as_str(), stored),
        ("image/jpeg", bytes.clone())
    );

    // Bytes that do not hash to the name are discarded at the end.
    let wrong = "0".repeat(64);
    for offset in [0, 1000] {
        stores[offset / 1000 % 2]
            .put_chunk(chunk(offset, 1000, &wrong), now_ms())
            .await
            .expect("chunk");
    }
    let mismatch = stores[0]
        .put_chunk(chunk(2000, 1000, &wrong), now_ms())
        .await
        .expect("chunk");
    assert_eq!(mismatch, ChunkOutcome::HashMismatch);
    assert_eq!(
        stores[1]
            .blob_status(caller.org_id, wrong)
            .await
            .expect("status"),
        None,
        "nothing of a refused upload is kept"
    );
}

/// The operator's commands through two processes append to one audit chain: numbered without a
/// gap or a repeat, each record's hash over its content and the previous hash, as on SQLite.
#[tokio::test]
async fn two_processes_append_to_one_audit_chain() {
    use vaka_server::store::admin::MemberToAdd;
    use vaka_server::store::audit::{Content, GENESIS_HASH, record_hash};
    use vaka_server::store::sharing::OrgLevel;

    let stores = two_processes().await;
    let org = stores[0]
        .create_org_at(
            "Nattvandrarna Testby".into(),
            OrgLevel::Association,
            now_ms(),
        )
        .await
        .expect("an organisation");
    let mut adds = Vec::new();
    for n in 0..6 {
        let store = stores[n % 2].clone();
        adds.push(tokio::spawn(async move {
            let member = MemberToAdd {
                org,
                name: format!("Volontär {n}"),
                role: Role::Volunteer,
                group: Some("Nattvandrarna".into()),
                login: None,
                password_hash: None,
            };
            let id = store.add_member(member, now_ms()).await.expect("add");
            store
                .enrolment_code_for(id, 60_000, now_ms())
                .await
                .expect("a code")
                .expect("the member exists")
        }));
    }
    for add in adds {
        add.await.expect("join");
    }
    let rows = stores[1]
        .read(move |db| {
            Box::pin(async move {
                Ok(db
                    .query(
                        "SELECT org_id, chain_seq, at_ms, actor_id, actor_name, action, details,
                                prev_hash, hash
                         FROM audit_log WHERE org_id = $1 ORDER BY chain_seq",
                        &[&org.to_string()],
                    )
                    .await?)
            })
        })
        .await
        .expect("the chain");
    assert_eq!(rows.len(), 12, "a record per member and per code");
    let mut prev = GENESIS_HASH.to_owned();
    for (n, row) in rows.iter().enumerate() {
        let chain_seq: i64 = row.get(1);
        assert_eq!(
            chain_seq,
            n as i64 + 1,
            "numbered without a gap or a repeat"
        );
        let stored_prev: String = row.get(7);
        assert_eq!(stored_prev, prev);
        let content = Content {
            org_id: row.get(0),
            chain_seq: chain_seq as u64,
            at_ms: row.get(2),
            actor_id: row.get(3),
            actor_name: row.get(4),
            action: row.get(5),
            details: row.get(6),
        };
        let hash: String = row.get(8);
        assert_eq!(record_hash(&prev, &content).expect("hash"), hash);
        prev = hash;
    }
    // The same verification as on SQLite: sound, then an edited record is found.
    let heads = stores[0]
        .verify_audit()
        .await
        .expect("verify")
        .expect("a sound chain");
    assert_eq!(heads.iter().map(|h| h.records).sum::<u64>(), 12);
    assert_eq!(
        stores[1]
            .set_audit_retention(org, 30, now_ms())
            .await
            .expect("set"),
        Err(vaka_server::store::audit::AuditRetentionOutOfBounds),
        "below the bound"
    );
    stores[1]
        .set_audit_retention(org, 400, now_ms())
        .await
        .expect("set")
        .expect("in bounds");
    stores[0]
        .write(|tx| {
            Box::pin(async move {
                tx.batch_execute(
                    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
                     UPDATE audit_log SET actor_name = 'någon annan' WHERE chain_seq = 3;
                     ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;",
                )
                .await?;
                Ok(())
            })
        })
        .await
        .expect("an intruder's edit");
    let damage = stores[1]
        .verify_audit()
        .await
        .expect("verify")
        .expect_err("the edit is found");
    assert_eq!(
        (damage.chain_seq, damage.problem),
        (3, vaka_server::store::audit::Problem::Edited)
    );
}

/// A coordinator signed in through one process is signed in through the other; signing out
/// through either ends it everywhere, and an expired session is no session.
#[tokio::test]
async fn a_session_made_by_one_process_holds_in_the_other() {
    use vaka_server::store::admin::MemberToAdd;
    use vaka_server::store::postgres::sessions as pg_sessions;
    use vaka_server::store::sharing::OrgLevel;

    let stores = two_processes().await;
    let org = stores[0]
        .create_org_at(
            "Nattvandrarna Testby".into(),
            OrgLevel::Association,
            now_ms(),
        )
        .await
        .expect("an organisation");
    let coordinator = MemberToAdd {
        org,
        name: "Samordnare".into(),
        role: Role::Coordinator,
        group: None,
        login: Some("samordnare".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
    };
    let member = stores[0]
        .add_member(coordinator, now_ms())
        .await
        .expect("add");
    let session = stores[0]
        .write(|tx| {
            Box::pin(async move {
                let candidate = pg_sessions::login_candidate(tx, "samordnare")
                    .await?
                    .ok_or(StoreError::WriterGone)?;
                pg_sessions::create_session(tx, &candidate, now_ms(), 60_000).await
            })
        })
        .await
        .expect("a session");
    let lookup = |store: PgStore, token: String, at: i64| async move {
        store
            .read(move |db| Box::pin(async move { pg_sessions::session(db, &token, at).await }))
            .await
            .expect("look up")
    };
    let user = lookup(stores[1].clone(), session.token.clone(), now_ms())
        .await
        .expect("signed in through the other process");
    assert_eq!(
        (user.member_id, user.role, user.csrf.clone()),
        (member, Role::Coordinator, session.csrf.clone())
    );
    assert!(
        lookup(stores[1].clone(), session.token.clone(), now_ms() + 60_001)
            .await
            .is_none(),
        "an expired session is no session"
    );
    let token = session.token.clone();
    stores[1]
        .write(move |tx| Box::pin(async move { pg_sessions::delete_session(tx, &token).await }))
        .await
        .expect("sign out");
    assert!(
        lookup(stores[0].clone(), session.token, now_ms())
            .await
            .is_none()
    );

    // The dashboard's device is made once, whichever process asks first.
    let (a, b) = tokio::join!(
        stores[0].write(move |tx| Box::pin(async move {
            pg_sessions::dashboard_device(tx, member, now_ms()).await
        })),
        stores[1].write(move |tx| Box::pin(async move {
            pg_sessions::dashboard_device(tx, member, now_ms()).await
        })),
    );
    assert_eq!(a.expect("device").device_id, b.expect("device").device_id);
}

/// Sign-in attempts spread over two processes meet one count: past the free failures of a name,
/// the next attempt waits whichever process it reaches; a success forgives and trusts the browser.
#[tokio::test]
async fn sign_in_limits_hold_across_processes() {
    use vaka_server::config::SignInLimits;
    use vaka_server::store::postgres::sign_in as pg_sign_in;
    use vaka_server::store::sign_in::{Admission, Attempt};

    let stores = two_processes().await;
    let limits = SignInLimits {
        free_per_name: 3,
        first_delay: Duration::from_secs(30),
        ..SignInLimits::default()
    };
    let admit = |store: PgStore, address: &'static str, limits: SignInLimits| async move {
        store
            .write(move |tx| {
                Box::pin(async move {
                    let attempt = Attempt {
                        login: "samordnare",
                        address,
                        browser: None,
                    };
                    pg_sign_in::admit(tx, attempt, &limits, now_ms()).await
                })
            })
            .await
            .expect("admit")
    };
    for n in 0..3 {
        let admitted = admit(stores[n % 2].clone(), "192.0.2.1", limits).await;
        assert!(
            matches!(admitted, Admission::Go { .. }),
            "attempt {n}: {admitted:?}"
        );
    }
    for store in &stores {
        let refused = admit(store.clone(), "198.51.100.7", limits).await;
        assert!(
            matches!(refused, Admission::Wait { retry_after_ms } if retry_after_ms > 0),
            "the name's failures count in every process: {refused:?}"
        );
    }
}

/// An association shares its aggregates with a municipality through one process and withdraws
/// through the other; sharing with an association is refused.
#[tokio::test]
async fn sharing_with_a_municipality_and_withdrawing() {
    use vaka_server::store::postgres::sharing as pg_sharing;
    use vaka_server::store::sharing::{OrgLevel, ShareRefused};

    let stores = two_processes().await;
    let association = stores[0]
        .create_org_at(
            "Nattvandrarna Testby".into(),
            OrgLevel::Association,
            now_ms(),
        )
        .await
        .expect("an association");
    let other = stores[0]
        .create_org_at(
            "Grannsamverkan Testby".into(),
            OrgLevel::Association,
            now_ms(),
        )
        .await
        .expect("another association");
    let municipality = stores[1]
        .create_org_at("Testby kommun".into(), OrgLevel::Municipality, now_ms())
        .await
        .expect("a municipality");
    let by = vaka_shared::MemberId::new();
    let shared = stores[0]
        .write(move |tx| {
            Box::pin(async move {
                let refused = pg_sharing::share(tx, association, other, by, now_ms()).await?;
                let shared = pg_sharing::share(tx, association, municipality, by, now_ms()).await?;
                let again = pg_sharing::share(tx, association, municipality, by, now_ms()).await?;
                Ok((refused, shared, again))
            })
        })
        .await
        .expect("share");
    assert_eq!(
        shared,
        (Err(ShareRefused::NotAMunicipality), Ok(()), Ok(()))
    );
    let (with, level) = stores[1]
        .read(move |db| {
            Box::pin(async move {
                Ok((
                    pg_sharing::sharing_with(db, municipality).await?,
                    pg_sharing::level(db, municipality).await?,
                ))
            })
        })
        .await
        .expect("read");
    assert_eq!(level, OrgLevel::Municipality);
    assert_eq!(
        with.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![association]
    );
    let withdrawn = stores[1]
        .write(move |tx| {
            Box::pin(async move { pg_sharing::withdraw(tx, association, municipality).await })
        })
        .await
        .expect("withdraw");
    assert!(withdrawn);
    let left = stores[0]
        .read(move |db| Box::pin(async move { pg_sharing::shares_of(db, association).await }))
        .await
        .expect("read");
    assert!(left.is_empty());
}

/// A coordinator redacts a name from a description through one process: every stored write of
/// it is rewritten, the phones get a redaction removal in the pull stream, and a late write of
/// the old text through the other process is stored redacted.
#[tokio::test]
async fn a_redaction_rewrites_every_write_and_reaches_the_pull_stream() {
    use vaka_server::store::postgres::redaction as pg_redaction;
    use vaka_shared::sync::RemovalKind;

    let stores = two_processes().await;
    let mut phones = org_with_phones(&stores[0], 1).await;
    let phone = &mut phones[0];
    let entry = EntityId::new();
    let named = "Kalle Svensson (tel 070-123 45 67) hotade en annan ungdom.";
    let create = phone.op(
        entry,
        OpBody::Incident(IncidentFields {
            description: Some(named.into()),
            ..match incident() {
                OpBody::Incident(f) => f,
                _ => unreachable!("an incident"),
            }
        }),
    );
    // A write made before the redaction that arrives after it (stamped before it, sent late).
    let mut late = phone.op(
        entry,
        OpBody::Incident(IncidentFields {
            description: Some(format!("{named} Polisen kontaktad.")),
            ..Default::default()
        }),
    );
    stores[0]
        .push(phone.caller, vec![create], now_ms(), LIMITS)
        .await
        .expect("push");
    let org = phone.caller.org_id;
    let by = phone.caller.member_id;
    let replacement = serde_json::json!("En ungdom hotade en annan ungdom.");
    let seq = stores[0]
        .write(move |tx| {
            Box::pin(async move {
                pg_redaction::redact(tx, org, by, entry, "description", replacement, now_ms()).await
            })
        })
        .await
        .expect("redact")
        .expect("allowed");
    late.hlc.ms = phone.clock.tick(0).ms.saturating_sub(10_000);
    stores[1]
        .push(phone.caller, vec![late], now_ms(), LIMITS)
        .await
        .expect("the late push");

    let texts: Vec<String> = stores[1]
        .read(move |db| {
            Box::pin(async move {
                let mut texts: Vec<String> = db
                    .query(
                        "SELECT fields FROM ops WHERE entity_id = $1",
                        &[&entry.to_string()],
                    )
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                for row in db
                    .query(
                        "SELECT state FROM entities WHERE id = $1",
                        &[&entry.to_string()],
                    )
                    .await?
                {
                    texts.push(row.get(0));
                }
                Ok(texts)
            })
        })
        .await
        .expect("read");
    assert_eq!(texts.len(), 3, "two ops and the state");
    for text in &texts {
        assert!(
            !text.contains("Kalle"),
            "the name is gone everywhere: {text}"
        );
    }
    let mut coordinator = phone.caller;
    coordinator.role = Role::Coordinator;
    let page = stores[1].pull(coordinator, 0, 100).await.expect("pull");
    let removal = page
        .removals
        .iter()
        .find(|r| r.seq == seq)
        .expect("the removal");
    assert!(
        matches!(&removal.what, RemovalKind::Redaction { entity_id, .. } if *entity_id == entry)
    );
}

/// Entries past the retention period go with every trace, through either process: a purge
/// removal reaches the pull stream, a recent entry stays, and a late op of a purged entry is
/// refused as purged.
#[tokio::test]
async fn retention_purges_every_trace_and_refuses_late_ops() {
    use vaka_shared::sync::{RejectCode, RemovalKind};

    let stores = two_processes().await;
    let mut phones = org_with_phones(&stores[0], 1).await;
    let phone = &mut phones[0];
    let org = phone.caller.org_id;
    stores[0]
        .write(move |tx| {
            Box::pin(async move {
                tx.execute(
                    "UPDATE orgs SET retention_days = 30 WHERE id = $1",
                    &[&org.to_string()],
                )
                .await?;
                Ok(())
            })
        })
        .await
        .expect("a short period");
    let at = |days_ago: i64| {
        vaka_shared::Timestamp::from_unix_ms(now_ms() - days_ago * 24 * 3600 * 1000).expect("time")
    };
    let old = EntityId::new();
    let recent = EntityId::new();
    let body = |days_ago: i64| match incident() {
        OpBody::Incident(f) => OpBody::Incident(IncidentFields {
            occurred_at: Some(at(days_ago)),
            ..f
        }),
        _ => unreachable!("an incident"),
    };
    let ops = vec![phone.op(old, body(40)), phone.op(recent, body(2))];
    stores[0]
        .push(phone.caller, ops, now_ms(), LIMITS)
        .await
        .expect("push");
    let dry = stores[1].purge_dry_run(now_ms()).await.expect("dry run");
    assert_eq!(dry.iter().map(|s| s.entries()).sum::<u64>(), 1);
    let summaries = stores[1].purge_all(now_ms()).await.expect("purge");
    assert_eq!(summaries.iter().map(|s| s.entries()).sum::<u64>(), 1);

    let mut coordinator = phone.caller;
    coordinator.role = Role::Coordinator;
    let page = stores[0].pull(coordinator, 0, 100).await.expect("pull");
    assert_eq!(
        page.ops.iter().map(|op| op.entity_id).collect::<Vec<_>>(),
        vec![recent],
        "the old entry's ops are gone"
    );
    assert!(
        page.removals
            .iter()
            .any(|r| matches!(&r.what, RemovalKind::Purge { entries } if entries == &vec![old]))
    );
    // A phone that never heard of the purge sends the entry again, whole.
    let late = phone.op(old, body(40));
    let (result, _) = stores[0]
        .push(phone.caller, vec![late], now_ms(), LIMITS)
        .await
        .expect("the late push");
    assert_eq!(
        result.rejected.iter().map(|r| r.code).collect::<Vec<_>>(),
        vec![RejectCode::Purged]
    );
    let traces: i64 = stores[1]
        .read(move |db| {
            Box::pin(async move {
                Ok(db
                    .query_one(
                        "SELECT (SELECT COUNT(*) FROM entities WHERE id = $1)
                              + (SELECT COUNT(*) FROM entries WHERE id = $1)
                              + (SELECT COUNT(*) FROM ops WHERE entity_id = $1)",
                        &[&old.to_string()],
                    )
                    .await?
                    .get(0))
            })
        })
        .await
        .expect("read");
    assert_eq!(traces, 0, "no trace of the purged entry");
}

/// Phones marked lost or retired through one process are answered so through the other; a
/// member who leaves gets the neutral label and their phone stops.
#[tokio::test]
async fn lost_retired_and_removed_hold_across_processes() {
    use vaka_server::store::accounts::DeviceMark;

    let stores = two_processes().await;
    let phones = org_with_phones(&stores[0], 3).await;
    let (lost, retired, leaver) = (phones[0].caller, phones[1].caller, phones[2].caller);
    let label = stores[0]
        .write(move |tx| {
            Box::pin(async move {
                let org = Some(lost.org_id);
                let now = now_ms();
                assert!(
                    pg_accounts::mark_device(tx, lost.device_id, org, DeviceMark::Lost, now)
                        .await?
                );
                assert!(
                    pg_accounts::mark_device(tx, retired.device_id, org, DeviceMark::Retired, now)
                        .await?
                );
                pg_accounts::remove_member(tx, leaver.org_id, leaver.member_id, now).await
            })
        })
        .await
        .expect("mark")
        .expect("the member was there");
    assert_eq!(label, "Tidigare medlem 1");
    let states: Vec<(bool, bool, bool)> = stores[1]
        .read(move |db| {
            Box::pin(async move {
                let mut states = Vec::new();
                for device in [lost.device_id, retired.device_id, leaver.device_id] {
                    let row = db
                        .query_one(
                            "SELECT lost_at_ms IS NOT NULL, retired_at_ms IS NOT NULL,
                                    revoked_at_ms IS NOT NULL FROM devices WHERE id = $1",
                            &[&device.to_string()],
                        )
                        .await?;
                    states.push((row.get(0), row.get(1), row.get(2)));
                }
                Ok(states)
            })
        })
        .await
        .expect("read");
    assert_eq!(
        states,
        vec![
            (true, false, false),
            (false, true, false),
            (false, false, true)
        ]
    );
    stores[1]
        .write(move |tx| {
            Box::pin(
                async move { pg_accounts::device_wiped(tx, retired.device_id, now_ms()).await },
            )
        })
        .await
        .expect("wiped");
    let revoked: bool = stores[0]
        .read(move |db| {
            Box::pin(async move {
                Ok(db
                    .query_one(
                        "SELECT revoked_at_ms IS NOT NULL FROM devices WHERE id = $1",
                        &[&retired.device_id.to_string()],
                    )
                    .await?
                    .get(0))
            })
        })
        .await
        .expect("read");
    assert!(revoked, "a wiped phone's token is refused from then on");
    let mut answers = Vec::new();
    for phone in &phones {
        answers.push(
            match stores[1]
                .device_by_token(phone.token.clone())
                .await
                .expect("lookup")
            {
                TokenLookup::Valid(_) => "valid",
                TokenLookup::Lost => "lost",
                TokenLookup::Revoked => "revoked",
                TokenLookup::Unknown => "unknown",
            },
        );
    }
    assert_eq!(answers, ["lost", "revoked", "revoked"]);
}

/// A database at the previous version is brought to the latest on open, its rows kept.
#[tokio::test]
async fn a_database_at_the_previous_version_is_migrated_with_its_rows() {
    let url = fresh_database().await.expect("a test database");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(include_str!(
            "../../server/migrations/postgres/0001_init.sql"
        ))
        .await
        .expect("version 1");
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,
                                             applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (1);
             INSERT INTO orgs (id, name, created_at_ms) VALUES ('o', 'Nattvandrarna Testby', 0);
             INSERT INTO areas (id, org_id, name, geojson, created_at_ms)
                 VALUES ('a', 'o', 'Centrum', '{}', 0);",
        )
        .await
        .expect("a store at version 1");
    let store = open(&url).await;
    let (versions, archived): (i64, Option<i64>) = store
        .read(|db| {
            Box::pin(async move {
                let versions = db
                    .query_one("SELECT MAX(version) FROM schema_migrations", &[])
                    .await?
                    .get(0);
                let archived = db
                    .query_one("SELECT archived_at_ms FROM areas WHERE id = 'a'", &[])
                    .await?
                    .get(0);
                Ok((versions, archived))
            })
        })
        .await
        .expect("read");
    let latest = vaka_server::store::postgres::MIGRATIONS
        .last()
        .map(|(v, _)| *v);
    assert_eq!(
        (Some(versions), archived),
        (latest, None),
        "migrated, the area kept"
    );
}

/// A SQLite store with the demo's data moves into an empty PostgreSQL database and compares
/// equal row by row; a second move into the now full database is refused, and a row changed on
/// one side afterwards is found.
#[tokio::test]
async fn a_sqlite_store_moves_to_postgresql_and_compares_equal() {
    use vaka_server::store::Store;
    use vaka_server::store::postgres::copy::{MoveError, compare, move_store};

    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("vaka.sqlite3");
    {
        let sqlite = Store::open(&path, 2, 64, Arc::default()).expect("a SQLite store");
        vaka_server::demo::ensure(&sqlite, now_ms())
            .await
            .expect("the demo's data");
    }
    let url = fresh_database().await.expect("a test database");
    let pg = open(&url).await;
    let moved = move_store(&path, &pg).await.expect("moved and equal");
    let rows = |table: &str| {
        moved
            .tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    for table in [
        "orgs", "members", "devices", "ops", "entities", "entries", "areas", "shares",
    ] {
        assert!(rows(table) > 0, "the demo has {table}");
    }
    assert!(matches!(
        move_store(&path, &pg).await,
        Err(MoveError::NotEmpty(_))
    ));
    // The moved store goes on where SQLite's stopped: the next number is above every one moved.
    let next: i64 = pg
        .write(|tx| Box::pin(async move { Ok(next_seq(tx).await? as i64) }))
        .await
        .expect("a number");
    let highest: i64 = pg
        .read(|db| {
            Box::pin(async move { Ok(db.query_one("SELECT MAX(seq) FROM ops", &[]).await?.get(0)) })
        })
        .await
        .expect("read");
    assert!(next > highest);
    pg.write(|tx| {
        Box::pin(async move {
            tx.execute(
                "UPDATE entities SET state = '{}' WHERE id = (SELECT MIN(id) FROM entities)",
                &[],
            )
            .await?;
            Ok(())
        })
    })
    .await
    .expect("a change on one side");
    assert!(matches!(
        compare(&path, &pg).await,
        Err(MoveError::Differs { table, .. }) if table == "entities"
    ));
}
