//! Notifications end to end: rules set off by real phones' entries and by the police check,
//! e-mail received by a real SMTP server (aiosmtpd), webhooks received by a real receiver that
//! checks every signature with the Standard Webhooks reference implementation, retries, a 410,
//! a SIGKILL between commit and delivery, and two server processes on one PostgreSQL database.

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use vaka_device::Device;
use vaka_server::config::{SmtpConfig, SmtpTls};
use vaka_server::notify::rules::{RuleSpec, Trigger};
use vaka_server::notify::webhook::new_secret;
use vaka_server::{Config, Server, now_ms};
use vaka_shared::model::{CategoryCode, IncidentFields, Role, Severity};
use vaka_shared::op::EntityKind;
use vaka_shared::{EntityId, MemberId, Timestamp};
use vaka_tests::peers::{Peer, free_port};
use vaka_tests::{Admin, ServerProcess, StoreAt, TestPhone, TestServer, cli_at, http};

const WITHIN: Duration = Duration::from_secs(30);
const MIN: i64 = 60_000;

fn rule(name: &str, trigger: Trigger) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        trigger,
        kinds: vec![EntityKind::Incident],
        severities: vec![],
        categories: vec![],
        areas: vec![],
        groups: vec![],
        emails: vec![],
        webhooks: vec![],
    }
}

fn incident(severity: u8, text: &str) -> IncidentFields {
    IncidentFields {
        category: Some(CategoryCode::from("violence_threat")),
        severity: Some(Severity(severity)),
        description: Some(text.to_owned()),
        ..Default::default()
    }
}

/// Fast retries and polls for tests.
fn quick(config: &mut Config) {
    config.notify.poll_interval = Duration::from_millis(50);
    config.notify.retry_delays = vec![Duration::from_millis(200); 4];
    config.notify.allow_private_targets = true;
}

async fn admin_of(server: &TestServer, org: vaka_shared::OrgId) -> anyhow::Result<MemberId> {
    server
        .admin
        .org_member(org, "Admin Adminsson", Role::Admin)
        .await
}

async fn rows(server: &TestServer, sql: &str, params: &[&str]) -> anyhow::Result<Vec<Vec<Value>>> {
    server.admin.rows(sql, params).await
}

/// Waits until the store's deliveries are all settled (none pending), or `WITHIN` passes.
async fn settled(admin: &Admin) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + WITHIN;
    loop {
        let pending = admin
            .rows("SELECT id FROM deliveries WHERE status = 'pending'", &[])
            .await?;
        if pending.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "deliveries still pending: {pending:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_matching_entry_is_mailed_with_its_facts_only_and_others_are_not() -> anyhow::Result<()> {
    let smtp = Peer::smtp()?;
    let server = TestServer::start_with(|c| {
        quick(c);
        c.public_url = Some("https://vaka.kommun.example".into());
        c.notify.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: smtp.port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "Vaka <vaka@test.example>".into(),
        });
    })
    .await?;
    let org = server.admin.org("Nattvandrarna Testby", 1).await?;
    let admin = admin_of(&server, org.id).await?;
    let spec = RuleSpec {
        severities: vec![3, 4],
        emails: vec!["desk@kommun.example".into()],
        ..rule("Akuta händelser", Trigger::Entry)
    };
    server
        .admin
        .store()
        .add_notify_rule_by(org.id, admin, spec, now_ms())
        .await?;

    let phone = TestPhone::enrolled(&server, org.volunteers[0]).await?;
    let calm = phone
        .device
        .create_incident(incident(1, "Lugnt samtal med Kalle Svensson vid torget"))?;
    let acute = phone.device.create_incident(incident(
        4,
        "Kalle Svensson slog en person vid busshållplatsen",
    ))?;
    phone.device.sync_once(&http()).await?;

    let mails = smtp.wait_until(WITHIN, |m| !m.is_empty()).await?;
    settled(&server.admin).await?;
    let mails = smtp.received().len().max(mails.len());
    assert_eq!(mails, 1, "one e-mail, for the acute incident only");
    let mail = &smtp.received()[0];
    assert_eq!(mail["to"][0], "desk@kommun.example");
    let subject = mail["subject"].as_str().unwrap_or_default();
    let body = mail["body"].as_str().unwrap_or_default();
    assert!(subject.contains("allvarlighet 4"), "{subject}");
    assert!(body.contains("Allvarlighet: 4 av 4"), "{body}");
    assert!(body.contains("Våld"), "the category in words: {body}");
    assert!(
        body.contains(&format!("https://vaka.kommun.example/entries/{acute}")),
        "{body}"
    );
    for secret in ["Kalle", "Svensson", "busshållplatsen", "slog"] {
        assert!(
            !body.contains(secret) && !subject.contains(secret),
            "free text leaked: {secret}"
        );
    }
    let notified = rows(&server, "SELECT entity_id FROM notifications", &[]).await?;
    assert_eq!(notified, vec![vec![Value::from(acute.to_string())]]);
    assert!(!notified.iter().any(|r| r[0] == calm.to_string()));
    Ok(())
}

async fn hooked(
    server: &TestServer,
    receiver_secret: &Path,
    url: &str,
) -> anyhow::Result<(TestPhone, vaka_server::notify::WebhookId)> {
    let org = server.admin.org("Grannsamverkan Test", 1).await?;
    let admin = admin_of(server, org.id).await?;
    let store = server.admin.store();
    let secret = new_secret();
    std::fs::write(receiver_secret, &secret)?;
    let webhook = store
        .add_webhook_by(org.id, admin, url.to_owned(), secret, now_ms())
        .await?;
    let spec = RuleSpec {
        webhooks: vec![webhook],
        ..rule("Till larmcentralen", Trigger::Entry)
    };
    store
        .add_notify_rule_by(org.id, admin, spec, now_ms())
        .await?;
    Ok((
        TestPhone::enrolled(server, org.volunteers[0]).await?,
        webhook,
    ))
}

#[tokio::test]
async fn a_webhook_is_signed_retried_after_failures_and_delivered_exactly_once()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "")?;
    let receiver = Peer::webhook_receiver(&secret_file, "500,500,200", 0)?;
    let server = TestServer::start_with(quick).await?;
    let (phone, _) = hooked(&server, &secret_file, &receiver.url()).await?;
    let id = phone
        .device
        .create_incident(incident(3, "Kalle Svensson hotade en vakt"))?;
    phone.device.sync_once(&http()).await?;

    receiver
        .wait_until(WITHIN, |r| r.iter().any(|m| m["status"] == 200))
        .await?;
    settled(&server.admin).await?;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        3,
        "two failures, then one success: {received:#?}"
    );
    assert_eq!(received.iter().filter(|m| m["status"] == 200).count(), 1);
    assert!(
        received.iter().all(|m| m["verified"] == true),
        "every signature verifies"
    );
    assert!(
        received.iter().all(|m| m["id"] == received[0]["id"]),
        "one message id throughout"
    );
    let payload = &received[2]["body"];
    assert_eq!(payload["type"], "entry.matched");
    assert_eq!(payload["data"]["entry"], id.to_string());
    assert_eq!(payload["data"]["severity"], 3);
    assert_eq!(payload["data"]["category"], "violence_threat");
    assert!(
        !payload.to_string().contains("Svensson"),
        "no free text: {payload}"
    );
    let attempts = rows(
        &server,
        "SELECT outcome FROM delivery_attempts ORDER BY attempt",
        &[],
    )
    .await?;
    assert_eq!(
        attempts,
        vec![
            vec![Value::from("retry")],
            vec![Value::from("retry")],
            vec![Value::from("delivered")]
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_nothing_more_is_sent_to_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "")?;
    let receiver = Peer::webhook_receiver(&secret_file, "410", 0)?;
    let server = TestServer::start_with(quick).await?;
    let (phone, webhook) = hooked(&server, &secret_file, &receiver.url()).await?;
    phone.device.create_incident(incident(2, "Första"))?;
    phone.device.sync_once(&http()).await?;
    receiver.wait_until(WITHIN, |r| !r.is_empty()).await?;
    settled(&server.admin).await?;
    let disabled = rows(
        &server,
        "SELECT disabled_reason FROM webhooks WHERE id = ?1 AND disabled_at_ms IS NOT NULL",
        &[&webhook.to_string()],
    )
    .await?;
    assert_eq!(disabled.len(), 1, "the endpoint is disabled");

    phone.device.create_incident(incident(2, "Andra"))?;
    phone.device.sync_once(&http()).await?;
    let notifications = rows(&server, "SELECT id FROM notifications", &[]).await?;
    assert_eq!(
        notifications.len(),
        2,
        "the second entry still made a notification"
    );
    let statuses = rows(
        &server,
        "SELECT status FROM deliveries ORDER BY created_at_ms",
        &[],
    )
    .await?;
    assert_eq!(
        statuses,
        vec![vec![Value::from("disabled")]],
        "but no delivery to a disabled endpoint"
    );
    assert_eq!(receiver.received().len(), 1, "nothing more was sent to it");
    Ok(())
}

fn police_call(contacted_ms: i64, attended_ms: Option<i64>) -> IncidentFields {
    let ts = |ms| Timestamp::from_unix_ms(ms).expect("time");
    IncidentFields {
        occurred_at: Some(ts(contacted_ms - 2 * MIN)),
        police_contacted_at: Some(Some(ts(contacted_ms))),
        police_attended_at: Some(attended_ms.map(ts)),
        ..incident(3, "")
    }
}

#[tokio::test]
async fn the_police_no_show_rule_fires_once_after_the_wait_and_not_when_they_came_in_time()
-> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.notify.no_show_interval = Duration::from_secs(24 * 60 * 60);
    })
    .await?;
    let org = server.admin.org("Väktarna Test", 1).await?;
    let admin = admin_of(&server, org.id).await?;
    let store = server.admin.store();
    let spec = RuleSpec {
        emails: vec!["polis-samverkan@kommun.example".into()],
        ..rule("Polisen kom inte", Trigger::PoliceNoShow { minutes: 30 })
    };
    let now = now_ms();
    store.add_notify_rule_by(org.id, admin, spec, now).await?;

    let phone = TestPhone::enrolled(&server, org.volunteers[0]).await?;
    let waiting = phone
        .device
        .create_incident(police_call(now - 10 * MIN, None))?;
    let came = phone
        .device
        .create_incident(police_call(now - 10 * MIN, Some(now - 2 * MIN)))?;
    phone.device.sync_once(&http()).await?;

    let notified = |ids: Vec<Vec<Value>>| -> Vec<EntityId> {
        ids.iter()
            .filter_map(|r| r[0].as_str().and_then(|s| s.parse().ok()))
            .collect()
    };
    // The clock is handed in: 29 minutes after the call, nothing; 31, the waiting one; later,
    // nothing more.
    assert_eq!(store.raise_police_no_shows(now + 19 * MIN).await?, 0);
    assert_eq!(store.raise_police_no_shows(now + 21 * MIN).await?, 1);
    assert_eq!(store.raise_police_no_shows(now + 40 * MIN).await?, 0);
    assert_eq!(store.raise_police_no_shows(now + 4 * 60 * MIN).await?, 0);
    let made = notified(rows(&server, "SELECT entity_id FROM notifications", &[]).await?);
    assert_eq!(made, vec![waiting]);
    assert!(
        !made.contains(&came),
        "police who came in time notify no one"
    );
    let facts = rows(&server, "SELECT event, facts FROM notifications", &[]).await?;
    assert_eq!(facts[0][0], "police.no_show");
    let facts: Value = serde_json::from_str(facts[0][1].as_str().unwrap_or_default())?;
    assert_eq!(facts["wait_minutes"], 30);
    Ok(())
}

#[tokio::test]
async fn a_notification_committed_before_a_sigkill_is_delivered_once_after_the_restart()
-> anyhow::Result<()> {
    let binary = Path::new(env!("CARGO_BIN_EXE_vaka-test-server"));
    let data = tempfile::tempdir()?;
    let store = match vaka_tests::on_postgres() {
        true => StoreAt::Database(vaka_tests::postgres::fresh_database().await?),
        false => StoreAt::Data(data.path().to_path_buf()),
    };
    let org = cli_at(
        binary,
        &store,
        &["org", "create", "--name", "Nattvandrarna Kill"],
    )?;
    let member = |role: &str, name: &str| {
        cli_at(
            binary,
            &store,
            &[
                "user", "create", "--org", &org, "--name", name, "--role", role,
            ],
        )
    };
    let volunteer = member("volunteer", "Vera Volontär")?;
    let admin: MemberId = member("admin", "Ada Admin")?.parse()?;
    let secret_file = data.path().join("secret");
    let port = free_port()?;
    {
        let setup = match &store {
            StoreAt::Database(url) => Admin::open_database(url).await?,
            StoreAt::Data(dir) => Admin::open(dir).await?,
        };
        let org = org.parse()?;
        let secret = new_secret();
        std::fs::write(&secret_file, &secret)?;
        let webhook = setup
            .store()
            .add_webhook_by(
                org,
                admin,
                format!("http://127.0.0.1:{port}/hook"),
                secret,
                now_ms(),
            )
            .await?;
        let spec = RuleSpec {
            webhooks: vec![webhook],
            ..rule("Akut", Trigger::Entry)
        };
        setup
            .store()
            .add_notify_rule_by(org, admin, spec, now_ms())
            .await?;
    }
    let env = [("VAKA_WEBHOOKS_ALLOW_PRIVATE", "true")];
    let mut server = ServerProcess::start_at_with(binary, store.clone(), &env).await?;
    let code = cli_at(binary, &store, &["enroll-code", "--member", &volunteer])?;
    let phone_dir = tempfile::tempdir()?;
    let device = Device::open(phone_dir.path().join("phone.sqlite3"))?;
    device
        .enroll(&http(), &server.url, &code, "Testtelefon")
        .await?;
    let id = device.create_incident(incident(4, "Rån vid stationen"))?;
    device.sync_once(&http()).await?;
    assert_eq!(
        device.outbox_len()?,
        0,
        "the entry is acknowledged: its notification committed"
    );
    // Nothing listens on the receiver's port yet, so nothing can have been delivered.
    server.kill()?;

    let receiver = Peer::webhook_receiver(&secret_file, "200", port)?;
    let mut server = server.restart(binary).await?;
    receiver
        .wait_until(WITHIN, |r| r.iter().any(|m| m["status"] == 200))
        .await?;
    let check = match &store {
        StoreAt::Database(url) => Admin::open_database(url).await?,
        StoreAt::Data(dir) => Admin::open(dir).await?,
    };
    settled(&check).await?;
    server.kill()?;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "delivered once: {received:#?}");
    assert_eq!(received[0]["verified"], true);
    assert_eq!(received[0]["body"]["data"]["entry"], id.to_string());
    let delivered = check.rows("SELECT status FROM deliveries", &[]).await?;
    assert_eq!(delivered, vec![vec![Value::from("delivered")]]);
    Ok(())
}

#[tokio::test]
async fn two_processes_on_one_postgresql_database_deliver_each_notification_once()
-> anyhow::Result<()> {
    let url = vaka_tests::postgres::fresh_database().await?;
    let dir = tempfile::tempdir()?;
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "")?;
    let receiver = Peer::webhook_receiver(&secret_file, "200", 0)?;
    let mut servers = Vec::new();
    for _ in 0..2 {
        let mut config = Config {
            database: Some(url.clone()),
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::default()
        };
        quick(&mut config);
        config.notify.batch = 4;
        let server = Server::open(config.clone()).await?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.clone().serve(listener, async {
            let _ = stopped.await;
        }));
        servers.push((server, stop, task));
    }
    let admin = Admin::open_database(&url).await?;
    let org = admin.org("Två servrar", 1).await?;
    let boss = admin.org_member(org.id, "Ada Admin", Role::Admin).await?;
    let store = servers[0].0.store();
    let secret = new_secret();
    std::fs::write(&secret_file, &secret)?;
    let webhook = store
        .add_webhook_by(org.id, boss, receiver.url(), secret, now_ms())
        .await?;
    let spec = RuleSpec {
        webhooks: vec![webhook],
        ..rule("Alla händelser", Trigger::Entry)
    };
    store
        .add_notify_rule_by(org.id, boss, spec, now_ms())
        .await?;
    let mut phone =
        vaka_tests::StorePhone::enrolled(store, org.volunteers[0], "Testtelefon", now_ms()).await?;
    const ENTRIES: usize = 40;
    for n in 0..ENTRIES {
        let op = phone.op_at(
            EntityId::new(),
            vaka_shared::op::OpBody::Incident(IncidentFields {
                occurred_at: Timestamp::from_unix_ms(now_ms() - MIN),
                ..incident(1 + (n % 4) as u8, "")
            }),
            0,
            now_ms(),
        );
        // Half through each process's writer.
        let through = servers[n % 2].0.store();
        through
            .push(
                phone.caller,
                vec![op],
                now_ms(),
                vaka_server::sync::rules::PushLimits {
                    max_clock_ahead_ms: 60_000,
                },
            )
            .await?;
    }
    receiver.wait_until(WITHIN, |r| r.len() >= ENTRIES).await?;
    settled(&admin).await?;
    for (_, stop, task) in servers {
        let _ = stop.send(());
        task.await??;
    }
    let received = receiver.received();
    let mut ids: Vec<&str> = received.iter().filter_map(|m| m["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        received.len(),
        ENTRIES,
        "each notification once: {} posts",
        received.len()
    );
    assert_eq!(ids.len(), ENTRIES);
    assert!(received.iter().all(|m| m["verified"] == true));
    Ok(())
}
