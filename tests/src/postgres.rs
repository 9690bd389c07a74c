//! A fresh PostgreSQL database per test, in the throwaway cluster `scripts/test` starts on a free
//! loopback port (its address in `VAKA_TEST_POSTGRES`, a URL of the cluster's `postgres`
//! database). Without it the PostgreSQL tests fail with a message that says how to run them.

use anyhow::Context;
use tokio_postgres::NoTls;

/// The environment variable naming the test cluster.
pub const ENV: &str = "VAKA_TEST_POSTGRES";

/// Creates an empty database in the test cluster and returns its URL.
pub async fn fresh_database() -> anyhow::Result<String> {
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
    let name = format!("vaka_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .context("creating a test database")?;
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .context("the cluster URL names no database")?;
    Ok(format!("{base}/{name}"))
}
