//! The end-to-end test harness: a real `vaka-server` on `127.0.0.1:0` with a temporary store
//! (in-process, or as a child process that can be killed), organisations and members to enrol,
//! and a raw protocol client for testing the server's rules op by op.

pub mod browser;
pub mod peers;
pub mod postgres;
pub mod proxy;
pub mod raw;

use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::oneshot;
use vaka_server::store::accounts::{self, NewMember};
use vaka_server::store::postgres::{PgStore, accounts as pg_accounts};
use vaka_server::store::reports;
use vaka_server::{Config, Server, now_ms};
use vaka_shared::merge::EntityState;
use vaka_shared::model::Role;
use vaka_shared::{EntityId, EntityKind, MemberId, OrgId};

/// Entity id to kind and current field values: what a replica holds.
pub type Snapshot =
    std::collections::BTreeMap<EntityId, (EntityKind, serde_json::Map<String, serde_json::Value>)>;

/// `PRAGMA integrity_check` of an SQLite file: `ok` when sound. A phone's file (encrypted, with
/// its key file beside it) is opened with its key.
pub fn integrity(path: &Path) -> anyhow::Result<String> {
    let conn = read_only(path)?;
    Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
}

/// A read-only connection to an SQLite file: a server's as it is, a phone's (encrypted, with
/// `<file>.key` beside it) with its key.
pub fn read_only(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let mut key_file = path.as_os_str().to_owned();
    key_file.push(".key");
    if Path::new(&key_file).exists() {
        return Ok(vaka_device::Device::open_read_only_file(path)?);
    }
    Ok(rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?)
}

/// An organisation set up for a test.
#[derive(Debug, Clone)]
pub struct TestOrg {
    /// Its id.
    pub id: OrgId,
    /// A coordinator.
    pub coordinator: MemberId,
    /// Volunteers.
    pub volunteers: Vec<MemberId>,
}

/// Admin operations straight on a server's store, on either backend.
#[derive(Debug, Clone)]
pub struct Admin {
    server: Server,
}

/// The environment variable that runs the in-process test servers on PostgreSQL: `postgres`
/// (each server on a fresh database of the cluster in [`postgres::ENV`]); unset or `sqlite`, on
/// SQLite in a temporary folder.
pub const BACKEND_ENV: &str = "VAKA_TEST_BACKEND";

/// Whether the tests' servers run on PostgreSQL ([`BACKEND_ENV`]).
pub fn on_postgres() -> bool {
    std::env::var(BACKEND_ENV).is_ok_and(|b| b == "postgres")
}

/// A job on the PostgreSQL store: `pg_job!(pg, write, |tx| async body)`.
macro_rules! pg_job {
    ($pg:expr, $how:ident, |$db:ident| $body:expr) => {
        $pg.$how(move |$db| Box::pin(async move { $body }))
    };
}

impl Admin {
    /// Opens the PostgreSQL database at `url` in this process (beside server processes on it).
    pub async fn open_database(url: &str) -> anyhow::Result<Self> {
        let config = Config {
            database: Some(url.to_owned()),
            read_connections: 2,
            ..Config::default()
        };
        Ok(Self {
            server: Server::open(config).await?,
        })
    }

    /// Opens the store in `data_dir` in this process (for checks after a server process ended).
    pub async fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let config = Config {
            data_dir: data_dir.to_path_buf(),
            ..Config::default()
        };
        Ok(Self {
            server: Server::open(config).await?,
        })
    }

    /// The PostgreSQL store, when the server runs on one.
    fn pg(&self) -> Option<&PgStore> {
        self.server.store().as_postgres()
    }

    /// The SQLite store, when the server runs on one.
    fn sqlite(&self) -> anyhow::Result<&vaka_server::store::SqliteStore> {
        self.server
            .store()
            .as_sqlite()
            .context("this check is of the SQLite store only")
    }

    /// The server's store.
    pub fn store(&self) -> &vaka_server::store::Store {
        self.server.store()
    }

    /// Creates an organisation with a coordinator and `volunteers` volunteers.
    pub async fn org(&self, name: &str, volunteers: usize) -> anyhow::Result<TestOrg> {
        let name = name.to_owned();
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, write, |tx| {
                let now = now_ms();
                let id = pg_accounts::create_org(tx, &name, now).await?;
                let member = |name: String, role| async move {
                    let new = NewMember {
                        org: id,
                        name: &name,
                        role,
                        group: None,
                        login: None,
                        password_hash: None,
                    };
                    pg_accounts::create_member(tx, &new, now).await
                };
                let coordinator = member("Samordnare".into(), Role::Coordinator).await?;
                let mut members = Vec::with_capacity(volunteers);
                for i in 0..volunteers {
                    members.push(member(format!("Volontär {i}"), Role::Volunteer).await?);
                }
                Ok(TestOrg {
                    id,
                    coordinator,
                    volunteers: members,
                })
            })
            .await?);
        }
        let org = self
            .sqlite()?
            .write(move |conn| {
                let now = now_ms();
                let id = accounts::create_org(conn, &name, now)?;
                let member = |name: &str, role| {
                    accounts::create_member(
                        conn,
                        &NewMember {
                            org: id,
                            name,
                            role,
                            group: None,
                            login: None,
                            password_hash: None,
                        },
                        now,
                    )
                };
                let coordinator = member("Samordnare", Role::Coordinator)?;
                let volunteers = (0..volunteers)
                    .map(|i| member(&format!("Volontär {i}"), Role::Volunteer))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(TestOrg {
                    id,
                    coordinator,
                    volunteers,
                })
            })
            .await?;
        Ok(org)
    }

    /// A one-time enrolment code for `member`.
    pub async fn code(&self, member: MemberId) -> anyhow::Result<String> {
        if let Some(pg) = self.pg() {
            return pg_job!(pg, write, |tx| {
                pg_accounts::create_enrollment_code(tx, member, now_ms(), 3_600_000).await
            })
            .await?
            .context("no such member");
        }
        self.sqlite()?
            .write(move |conn| accounts::create_enrollment_code(conn, member, now_ms(), 3_600_000))
            .await?
            .context("no such member")
    }

    /// Revokes a device.
    pub async fn revoke(&self, device: vaka_shared::DeviceId) -> anyhow::Result<bool> {
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, write, |tx| {
                pg_accounts::revoke_device(tx, device, None, now_ms()).await
            })
            .await?);
        }
        Ok(self
            .sqlite()?
            .write(move |conn| accounts::revoke_device(conn, device, None, now_ms()))
            .await?)
    }

    /// Sets whether volunteers of `org` see each other's entries.
    pub async fn set_volunteers_see_all(&self, org: OrgId, see_all: bool) -> anyhow::Result<()> {
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, write, |tx| {
                pg_accounts::set_volunteers_see_all(tx, org, see_all).await
            })
            .await?);
        }
        Ok(self
            .sqlite()?
            .write(move |conn| accounts::set_volunteers_see_all(conn, org, see_all))
            .await?)
    }

    /// Adds a member with `role` to `org`.
    pub async fn org_member(&self, org: OrgId, name: &str, role: Role) -> anyhow::Result<MemberId> {
        let name = name.to_owned();
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, write, |tx| {
                let new = NewMember {
                    org,
                    name: &name,
                    role,
                    group: None,
                    login: None,
                    password_hash: None,
                };
                pg_accounts::create_member(tx, &new, now_ms()).await
            })
            .await?);
        }
        Ok(self
            .sqlite()?
            .write(move |conn| {
                accounts::create_member(
                    conn,
                    &NewMember {
                        org,
                        name: &name,
                        role,
                        group: None,
                        login: None,
                        password_hash: None,
                    },
                    now_ms(),
                )
            })
            .await?)
    }

    /// Makes `org` a municipality-level organisation (associations may share aggregates with it).
    pub async fn make_municipality(&self, org: OrgId) -> anyhow::Result<()> {
        use vaka_server::store::sharing::OrgLevel;
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, write, |tx| {
                vaka_server::store::postgres::sharing::set_level(tx, org, OrgLevel::Municipality)
                    .await
            })
            .await?);
        }
        Ok(self
            .sqlite()?
            .write(move |conn| {
                vaka_server::store::sharing::set_level(
                    conn,
                    org,
                    vaka_server::store::sharing::OrgLevel::Municipality,
                )
            })
            .await?)
    }

    /// Changes a member's role (as an admin would in the dashboard).
    pub async fn set_role(&self, member: MemberId, role: Role) -> anyhow::Result<()> {
        if let Some(pg) = self.pg() {
            pg_job!(pg, write, |tx| {
                tx.execute(
                    "UPDATE members SET role = $2 WHERE id = $1",
                    &[&member.to_string(), &role.as_str()],
                )
                .await?;
                Ok(())
            })
            .await?;
            return Ok(());
        }
        self.sqlite()?
            .write(move |conn| {
                conn.execute(
                    "UPDATE members SET role = ?2 WHERE id = ?1",
                    rusqlite::params![member.to_string(), role.as_str()],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Gives `member` a dashboard sign-in name and password.
    pub async fn set_login(
        &self,
        member: MemberId,
        login: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        let hash = vaka_server::secrets::hash_password(password)
            .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
        let login = login.to_owned();
        if let Some(pg) = self.pg() {
            pg_job!(pg, write, |tx| {
                tx.execute(
                    "UPDATE members SET login = $2, password_hash = $3 WHERE id = $1",
                    &[&member.to_string(), &login, &hash],
                )
                .await?;
                Ok(())
            })
            .await?;
            return Ok(());
        }
        self.sqlite()?
            .write(move |conn| {
                conn.execute(
                    "UPDATE members SET login = ?2, password_hash = ?3 WHERE id = ?1",
                    rusqlite::params![member.to_string(), login, hash],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Makes every dashboard session of `member` expire now.
    pub async fn expire_sessions(&self, member: MemberId) -> anyhow::Result<()> {
        if let Some(pg) = self.pg() {
            pg_job!(pg, write, |tx| {
                tx.execute(
                    "UPDATE sessions SET expires_at_ms = $2 WHERE member_id = $1",
                    &[&member.to_string(), &now_ms()],
                )
                .await?;
                Ok(())
            })
            .await?;
            return Ok(());
        }
        self.sqlite()?
            .write(move |conn| {
                vaka_server::store::sessions::expire_sessions(conn, member, now_ms())
            })
            .await?;
        Ok(())
    }

    /// The merged state of every entity of `org`, in the same shape as a device's snapshot.
    pub async fn snapshot(&self, org: OrgId) -> anyhow::Result<Snapshot> {
        let rows: Vec<(String, String, String)> = if let Some(pg) = self.pg() {
            pg_job!(pg, read, |db| {
                let rows = db
                    .query(
                        "SELECT id, kind, state FROM entities WHERE org_id = $1",
                        &[&org.to_string()],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect())
            })
            .await?
        } else {
            self.query(move |c| {
                let mut stmt =
                    c.prepare("SELECT id, kind, state FROM entities WHERE org_id = ?1")?;
                let rows =
                    stmt.query_map([org.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect()
            })
            .await?
        };
        rows.into_iter()
            .map(|(id, kind, state)| {
                let state: EntityState = serde_json::from_str(&state)?;
                let kind = EntityKind::from_wire(&kind).context("entity kind")?;
                Ok((id.parse()?, (kind, state.values())))
            })
            .collect()
    }

    /// Lets the database grow only `extra_pages` beyond its present size (a full disk, as far as
    /// SQLite can tell). Returns the present size in pages.
    pub async fn limit_database_pages(&self, extra_pages: u64) -> anyhow::Result<u64> {
        Ok(self
            .sqlite()?
            .write(move |conn| {
                let pages: u64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                let _: u64 = conn.query_row(
                    &format!("PRAGMA max_page_count = {}", pages + extra_pages),
                    [],
                    |r| r.get(0),
                )?;
                Ok(pages)
            })
            .await?)
    }

    /// Adds a named area to `org`, as a coordinator's GeoJSON upload does; returns its id.
    pub async fn area(
        &self,
        org: OrgId,
        name: &str,
        geometry: serde_json::Value,
    ) -> anyhow::Result<vaka_shared::AreaId> {
        let name = name.to_owned();
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, write, |tx| {
                let geometry = geometry.to_string();
                vaka_server::store::postgres::reports::add_area(tx, org, &name, &geometry, now_ms())
                    .await
            })
            .await?);
        }
        Ok(self
            .sqlite()?
            .write(move |conn| {
                reports::add_area(
                    conn,
                    &org.to_string(),
                    &name,
                    &geometry.to_string(),
                    now_ms(),
                )
            })
            .await?)
    }

    /// Holds the store's writer busy until `release` receives (or its sender is dropped): for
    /// showing what does not wait for the writer. Returns once the writer is running the
    /// holding job.
    pub async fn hold_writer(
        &self,
        release: std::sync::mpsc::Receiver<()>,
    ) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
        let store = self.server.store().clone();
        let (held, holding) = tokio::sync::oneshot::channel();
        if let Some(pg) = store.as_postgres().cloned() {
            let task = tokio::spawn(async move {
                pg_job!(pg, write, |_tx| {
                    let _ = held.send(());
                    let _ = tokio::task::spawn_blocking(move || release.recv()).await;
                    Ok(())
                })
                .await?;
                Ok(())
            });
            holding.await?;
            return Ok(task);
        }
        let sqlite = self.sqlite()?.clone();
        let task = tokio::spawn(async move {
            sqlite
                .write(move |_| {
                    let _ = held.send(());
                    let _ = release.recv();
                    Ok(())
                })
                .await?;
            Ok(())
        });
        holding.await?;
        Ok(task)
    }

    /// The rows of `sql` on the store, whichever backend: written with `?1`-style parameters
    /// (`$1` on PostgreSQL), every parameter text, each value as JSON (`null`, a number, a bool
    /// or a string).
    pub async fn rows(
        &self,
        sql: &str,
        params: &[&str],
    ) -> anyhow::Result<Vec<Vec<serde_json::Value>>> {
        let params: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
        if let Some(pg) = self.pg() {
            let sql = sql.replace('?', "$");
            return Ok(pg_job!(pg, read, |db| {
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                let rows = db.query(&sql, &refs).await?;
                Ok(rows.iter().map(pg_values).collect())
            })
            .await?);
        }
        let sql = sql.to_owned();
        self.query(move |c| {
            let mut stmt = c.prepare(&sql)?;
            let width = stmt.column_count();
            let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
                (0..width)
                    .map(|i| Ok(sqlite_value(r.get_ref(i)?)))
                    .collect()
            })?;
            rows.collect()
        })
        .await
    }

    /// Whether `needle` is anywhere in the store: in the raw bytes of the SQLite file or its
    /// journals (free pages included); on PostgreSQL in any row of any table of the database.
    pub async fn holds_text(&self, needle: &str) -> anyhow::Result<bool> {
        let needle = needle.to_owned();
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, read, |db| {
                let tables = db
                    .query(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                        &[],
                    )
                    .await?;
                for table in tables {
                    let table: String = table.get(0);
                    let sql = format!(
                        "SELECT 1 FROM \"{table}\" t WHERE strpos(t::text, $1) > 0 LIMIT 1"
                    );
                    if db.query_opt(&sql, &[&needle]).await?.is_some() {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .await?);
        }
        let db = self.server.config().database_path();
        let mut found = false;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let path = format!("{}{suffix}", db.display());
            if let Ok(bytes) = std::fs::read(&path) {
                found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            }
        }
        Ok(found)
    }

    /// Checks the store's structure: `ok` when sound. SQLite's `PRAGMA integrity_check`; on
    /// PostgreSQL every B-tree index of the schema checked against its table (`amcheck`).
    pub async fn integrity(&self) -> anyhow::Result<String> {
        if let Some(pg) = self.pg() {
            return Ok(pg_job!(pg, read, |db| {
                db.batch_execute("CREATE EXTENSION IF NOT EXISTS amcheck")
                    .await?;
                db.query(
                    "SELECT bt_index_check(c.oid, true) FROM pg_index i
                     JOIN pg_class c ON c.oid = i.indexrelid
                     JOIN pg_am am ON am.oid = c.relam
                     WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace",
                    &[],
                )
                .await?;
                Ok("ok".to_owned())
            })
            .await?);
        }
        self.query(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
            .await
    }

    /// Runs a read-only query on the store (SQLite only: on PostgreSQL it fails with a message
    /// naming the backend).
    pub async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R> + Send + 'static,
    ) -> anyhow::Result<R> {
        Ok(self.sqlite()?.read(move |conn| Ok(f(conn)?)).await?)
    }
}

/// A real server in this process, on a loopback port, with a temporary store.
#[derive(Debug)]
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Admin access to its store.
    pub admin: Admin,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dir: TempDir,
    database: Option<String>,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed its configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let database = match on_postgres() {
            true => Some(postgres::fresh_database().await?),
            false => None,
        };
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            database: database.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::default()
        };
        adjust(&mut config);
        let server = Server::open(config.clone()).await?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (shutdown, stop) = oneshot::channel();
        let task = tokio::spawn(server.clone().serve(listener, async {
            let _ = stop.await;
        }));
        Ok(Self {
            url,
            admin: Admin { server },
            shutdown: Some(shutdown),
            task: Some(task),
            dir,
            database,
        })
    }

    /// Runs the server's command line on its store (`binary --data DIR ARGS…`, or
    /// `--database URL` on PostgreSQL) and returns what it printed.
    pub fn cli(&self, binary: &Path, args: &[&str]) -> anyhow::Result<String> {
        match &self.database {
            Some(url) => run_cli(binary, &["--database", url], args),
            None => cli(binary, self.dir.path(), args),
        }
    }

    /// The folder of its store.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops serving and waits until it has stopped.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A real `vaka-server` as a child process, so a test can kill it with SIGKILL.
#[derive(Debug)]
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    store: StoreAt,
    port: u16,
    env: Vec<(String, String)>,
}

/// Where a server process keeps its store.
#[derive(Debug, Clone)]
pub enum StoreAt {
    /// The SQLite store in this data folder (`--data`).
    Data(PathBuf),
    /// This PostgreSQL database (`--database`).
    Database(String),
}

impl ServerProcess {
    /// Starts `vaka-server serve` on `data_dir` on a free loopback port and waits until
    /// `/healthz` answers.
    pub async fn start(binary: &Path, data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_at(binary, StoreAt::Data(data_dir.to_path_buf())).await
    }

    /// Starts `vaka-server serve` on `store` on a free loopback port and waits until `/healthz`
    /// answers.
    pub async fn start_at(binary: &Path, store: StoreAt) -> anyhow::Result<Self> {
        Self::start_at_with(binary, store, &[]).await
    }

    /// Starts `vaka-server serve` on `store` with the environment variables `env` set (the
    /// server's options, `VAKA_…`), on a free loopback port.
    pub async fn start_at_with(
        binary: &Path,
        store: StoreAt,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::start_on(binary, store, port, env).await
    }

    /// Starts it again on the same store, port and environment (after a kill).
    pub async fn restart(self, binary: &Path) -> anyhow::Result<Self> {
        let (store, port, env) = (self.store.clone(), self.port, self.env.clone());
        drop(self);
        Self::start_on(binary, store, port, env).await
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    async fn start_on(
        binary: &Path,
        store: StoreAt,
        port: u16,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        match &store {
            StoreAt::Data(dir) => command.arg("--data").arg(dir),
            StoreAt::Database(url) => command.env("VAKA_DATABASE", url),
        };
        let child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        let process = Self {
            url,
            child,
            store,
            port,
            env,
        };
        wait_healthy(&process.url, Duration::from_secs(30)).await?;
        Ok(process)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL: no shutdown, no flushing.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server's command line (`binary --data DIR ARGS…`) and returns what it printed.
pub fn cli(binary: &Path, data_dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let data = data_dir.to_string_lossy();
    run_cli(binary, &["--data", &data], args)
}

/// Runs the server's command line on `store` (`--data DIR` or `--database URL`) and returns what
/// it printed.
pub fn cli_at(binary: &Path, store: &StoreAt, args: &[&str]) -> anyhow::Result<String> {
    match store {
        StoreAt::Data(dir) => cli(binary, dir, args),
        StoreAt::Database(url) => run_cli(binary, &["--database", url], args),
    }
}

/// Runs `binary STORE… ARGS…` and returns what it printed.
fn run_cli(binary: &Path, store: &[&str], args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(binary).args(store).args(args).output()?;
    anyhow::ensure!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// Polls `/healthz` until it answers or `deadline` passes.
pub async fn wait_healthy(url: &str, within: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        if let Ok(response) = client.get(format!("{url}/healthz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "server at {url} did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An HTTP client for device cores in tests (a 20 s timeout, so a hung server fails the test).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// A real device core with its own file in a temporary folder, enrolled as a member.
#[derive(Debug)]
pub struct TestPhone {
    /// The device core.
    pub device: vaka_device::Device,
    dir: TempDir,
}

impl TestPhone {
    /// Enrols a new phone for `member` on `server` with a fresh code.
    pub async fn enrolled(server: &TestServer, member: MemberId) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let device = vaka_device::Device::open(dir.path().join("phone.sqlite3"))?;
        let code = server.admin.code(member).await?;
        device
            .enroll(&http(), &server.url, &code, "Testtelefon")
            .await?;
        Ok(Self { device, dir })
    }

    /// The phone's database file.
    pub fn file(&self) -> PathBuf {
        self.dir.path().join("phone.sqlite3")
    }
}

fn sqlite_value(value: rusqlite::types::ValueRef<'_>) -> serde_json::Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => f.into(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned().into(),
    }
}

fn pg_values(row: &tokio_postgres::Row) -> Vec<serde_json::Value> {
    use tokio_postgres::types::Type;
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_().clone();
            let value: Option<serde_json::Value> = if ty == Type::INT8 {
                row.get::<_, Option<i64>>(i).map(Into::into)
            } else if ty == Type::INT4 {
                row.get::<_, Option<i32>>(i).map(Into::into)
            } else if ty == Type::BOOL {
                // As SQLite keeps them.
                row.get::<_, Option<bool>>(i).map(|b| i64::from(b).into())
            } else if ty == Type::FLOAT8 {
                row.get::<_, Option<f64>>(i).map(Into::into)
            } else {
                row.get::<_, Option<String>>(i).map(Into::into)
            };
            value.unwrap_or(serde_json::Value::Null)
        })
        .collect()
}

/// A phone enrolled straight on a store (no HTTP), making ops by hand: for tests that compare
/// the backends' answers to the same pushes.
#[derive(Debug)]
pub struct StorePhone {
    /// Who it is.
    pub caller: vaka_server::store::accounts::DeviceCaller,
    clock: vaka_shared::HlcClock,
    seq: u64,
}

impl StorePhone {
    /// Enrols a phone for `member` on `store` at `now_ms`, called `name`.
    pub async fn enrolled(
        store: &vaka_server::store::Store,
        member: MemberId,
        name: &str,
        now_ms: i64,
    ) -> anyhow::Result<Self> {
        use vaka_server::store::accounts::TokenLookup;
        let code = store
            .enrolment_code_for(member, 600_000, now_ms)
            .await?
            .context("no such member")?;
        let enrolled = store
            .redeem_enrollment_code(code, name.to_owned(), now_ms)
            .await?
            .context("the code was refused")?;
        let TokenLookup::Valid(caller) = store.device_by_token(enrolled.token).await? else {
            anyhow::bail!("the new device's token is not valid");
        };
        Ok(Self {
            caller,
            clock: vaka_shared::HlcClock::new(caller.device_id),
            seq: 0,
        })
    }

    /// Its next op: `body` to `entity`, stamped at `wall_ms`, having seen `base_seq`.
    pub fn op_at(
        &mut self,
        entity: EntityId,
        body: vaka_shared::op::OpBody,
        base_seq: u64,
        wall_ms: i64,
    ) -> vaka_shared::op::Op {
        self.seq += 1;
        vaka_shared::op::Op {
            op_id: vaka_shared::OpId::new(),
            device_id: self.caller.device_id,
            device_seq: self.seq,
            hlc: self.clock.tick(wall_ms.max(0) as u64),
            base_seq,
            entity_id: entity,
            body,
        }
    }
}
