//! A fresh PostgreSQL database per test, in the throwaway cluster `scripts/test` starts on a free
//! loopback port (its address in `VAKA_TEST_POSTGRES`, a URL of the cluster's `postgres`
//! database). Without it the PostgreSQL tests fail with a message that says how to run them.
//!
//! A test database is named after the process that made it (`vaka_test_PID_…`), and making one
//! first drops those whose process has ended: a whole run keeps only the databases of the tests
//! still running, not one for every test it ran.

use anyhow::Context;
use tokio_postgres::{Client, NoTls};

/// The environment variable naming the test cluster.
pub const ENV: &str = "VAKA_TEST_POSTGRES";

/// The prefix of every test database's name.
const PREFIX: &str = "vaka_test_";

/// Creates an empty database in the test cluster and returns its URL.
pub async fn fresh_database() -> anyhow::Result<String> {
    fresh_database_with("").await
}

/// Creates an empty database with these further `CREATE DATABASE` options (a template, a
/// collation) and returns its URL.
pub async fn fresh_database_with(options: &str) -> anyhow::Result<String> {
    let admin = std::env::var(ENV).with_context(|| {
        format!(
            "the PostgreSQL tests need a cluster: {ENV}=postgres://USER@127.0.0.1:PORT/postgres \
             (scripts/test starts a throwaway one)"
        )
    })?;
    let (client, connection) = tokio_postgres::connect(&admin, NoTls)
        .await
        .with_context(|| format!("connecting to the test cluster at {admin}"))?;
    tokio::spawn(connection);
    drop_ended(&client).await?;
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name} {options}"))
        .await
        .context("creating a test database")?;
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .context("the cluster URL names no database")?;
    Ok(format!("{base}/{name}"))
}

/// Drops the test databases whose process has ended (the cluster runs on this machine, so
/// `/proc` tells). Another process may be dropping the same one: that is no failure.
async fn drop_ended(client: &Client) -> anyhow::Result<()> {
    let rows = client
        .query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
            &[&PREFIX],
        )
        .await
        .context("listing the test databases")?;
    for row in rows {
        let name: String = row.get(0);
        let ended = name[PREFIX.len()..]
            .split_once('_')
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
            .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
        if ended {
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
    Ok(())
}
