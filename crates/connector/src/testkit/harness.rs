//! [`Harness`]: a seeded fake cloud and a temporary directory, and the connector started against them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use s4s_fakecloud::{DEFAULT_TEAM_SECRET, DEFAULT_TENANT_ID, FakeCloud, Outbound, ResponderPlan, Settings};

use super::{ConfigBuilder, INBOUND_TOKEN, wait_for};
use crate::app::App;

/// The fake cloud's default tenant (the example's `tenant_id`).
pub const TENANT: &str = DEFAULT_TENANT_ID;
/// The fake cloud's default SIGNL4 team (the example's `team_secret`).
pub const TEAM: &str = DEFAULT_TEAM_SECRET;

/// A seeded fake cloud on a free loopback port and a temporary directory for the
/// connector's state and configuration file. Dropping it stops the fake cloud and removes the
/// directory.
pub struct Harness {
    pub fake: FakeCloud,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// A fake cloud seeded with the example's tenant, app, team and workspace, its settings
    /// changed by `settings` (throttles, token lifetime).
    pub async fn launch(settings: impl FnOnce(&mut Settings)) -> anyhow::Result<Harness> {
        let fake = FakeCloud::start_local().await.context("the fake cloud cannot listen on loopback")?;
        fake.seed_defaults();
        fake.configure(settings);
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        Ok(Harness { fake, dir })
    }

    /// The end-to-end tests' fake cloud, throttling at the documented limits like the real
    /// services (Graph 150/min per app and tenant, SIGNL4 commercial plan, ARM buckets): the
    /// connector must stay within them on its own. A test that needs otherwise says why.
    pub async fn new() -> Harness {
        Harness::launch(|_| {}).await.expect("fake cloud starts")
    }

    /// The connector's SQLite file.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("s4s.db")
    }

    /// The example configuration pointed at this fake cloud and [`Harness::db`].
    pub fn example(&self) -> ConfigBuilder {
        ConfigBuilder::new(&self.fake.url(), &self.db())
    }

    /// [`Harness::example`] with the end-to-end tests' timing: polls every 250 ms, retries
    /// after 50 ms backing off to at most 500 ms.
    pub fn config(&self) -> ConfigBuilder {
        self.example().poll_interval(Duration::from_millis(250)).delivery(|d| {
            d.initial_backoff = Duration::from_millis(50);
            d.max_backoff = Duration::from_millis(500);
        })
    }

    /// Starts the connector in this process; returns once its HTTP server listens.
    pub async fn try_start(&self, cfg: &ConfigBuilder) -> anyhow::Result<App> {
        let cfg = cfg.try_build().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        App::start(cfg).await
    }

    /// [`Harness::try_start`] for tests: panics when the connector does not start.
    pub async fn start(&self, cfg: &ConfigBuilder) -> App {
        self.try_start(cfg).await.expect("the connector starts")
    }

    /// [`Harness::start`], then the fake SIGNL4 posts its outbound webhooks to the
    /// connector (see [`Harness::connect_outbound`]).
    pub async fn start_connected(
        &self,
        cfg: &ConfigBuilder,
        duplicate_probability: f64,
        responders: Option<ResponderPlan>,
    ) -> App {
        let app = self.start(cfg).await;
        self.connect_outbound(app.addr, duplicate_probability, responders);
        app
    }

    /// Points the fake SIGNL4 team's outbound webhook at the connector listening on `addr`
    /// (with the example's inbound token), repeating each delivery with
    /// `duplicate_probability`, with virtual `responders` if given.
    pub fn connect_outbound(&self, addr: SocketAddr, duplicate_probability: f64, responders: Option<ResponderPlan>) {
        self.fake.set_outbound(
            TEAM,
            Some(Outbound { url: format!("http://{addr}/signl4/{INBOUND_TOKEN}"), responders, duplicate_probability }),
        );
    }

    /// Writes `cfg` to `s4s.toml` in the temporary directory, for the binary's `--config`.
    pub fn write_config(&self, cfg: &ConfigBuilder) -> PathBuf {
        let path = self.dir.path().join("s4s.toml");
        std::fs::write(&path, cfg.toml()).expect("write the configuration file");
        path
    }

    /// SIGNL4 pages received by the default team, by external id.
    pub fn pages(&self) -> BTreeMap<String, usize> {
        self.fake.pages_by_external_id(TEAM)
    }

    /// How many requests of kind `name` (`graph.alerts.list`, `entra.token`, …) the fake
    /// cloud has served.
    pub fn requests(&self, name: &str) -> u64 {
        self.fake.requests().get(name).copied().unwrap_or(0)
    }

    /// Graph alert list requests so far (one or more per poll).
    pub fn graph_lists(&self) -> u64 {
        self.requests("graph.alerts.list")
    }

    /// Waits until the connector has polled Graph `n` more times.
    pub async fn polls(&self, n: u64) {
        let start = self.graph_lists();
        wait_for("connector polls", Duration::from_secs(20), async || self.graph_lists() >= start + n).await;
    }
}

/// A fresh schema in the PostgreSQL database at `S4S_TEST_POSTGRES_URL` (default
/// `postgres://postgres@127.0.0.1:5432/test`), as a URL whose connections use it. `None` only
/// when PostgreSQL is unreachable and `S4S_SKIP_POSTGRES=1` says to skip; panics otherwise.
pub async fn postgres_schema_url() -> Option<String> {
    use sqlx::Connection;
    let url =
        std::env::var("S4S_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut conn = match sqlx::postgres::PgConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) if std::env::var("S4S_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("skipping: {e}");
            return None;
        }
        Err(e) => panic!("PostgreSQL not reachable at {url}: {e}"),
    };
    let schema = format!(
        "s4s_e2e_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0)
            % 1_000_000_000
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

/// Starts the connector binary `bin` (`env!("CARGO_BIN_EXE_signl4-sentinel")`) as
/// `run --config config` with `RUST_LOG=rust_log`, its standard output discarded and its
/// standard error to `stderr`. The process is killed when the handle is dropped.
pub fn spawn_run(bin: &Path, config: &Path, rust_log: &str, stderr: Stdio) -> tokio::process::Child {
    tokio::process::Command::new(bin)
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
}
