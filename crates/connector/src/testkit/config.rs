//! [`ConfigBuilder`]: a configuration from typed fields, rendered as TOML and loaded like a file.
//!
//! The defaults are the example configuration (`crates/core/example.toml`) pointed at a fake cloud (`ConfigBuilder::new`); a
//! unit test below keeps the two equal. Nothing here edits the example's text.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use s4s_core::config::{self, Config, PagePer, ProcessEnv};
use s4s_fakecloud::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION, DEFAULT_TEAM_SECRET,
    DEFAULT_TENANT_ID, DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_ID,
};
use toml::{Table, Value};

/// `tenant.signl4.inbound_token` of `config/example.toml`: the path secret of the connector's
/// SIGNL4 webhook receiver (`http://{addr}/signl4/{INBOUND_TOKEN}`).
pub const INBOUND_TOKEN: &str = "emulator-inbound-token-0123456789";

/// A whole configuration file. Every field is public; the methods are shortcuts for the
/// settings tests change most.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    /// `server.listen`; the default `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    /// `server.admin_token` (or `env:NAME` / `file:PATH`); `None` leaves it out.
    pub admin_token: Option<String>,
    pub storage: Storage,
    pub delivery: DeliverySpec,
    pub tenants: Vec<TenantSpec>,
    /// `[ops]` as written (none: no section).
    pub ops: Option<Table>,
    /// Further `[server]` keys as a file would hold them (`header_timeout`, `max_connections`, …).
    pub server: Table,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    Sqlite(PathBuf),
    /// A PostgreSQL URL (or `env:NAME` / `file:PATH`).
    Postgres(String),
}

/// `[delivery]`; `None` leaves a key out (the connector's default applies).
#[derive(Debug, Clone)]
pub struct DeliverySpec {
    pub concurrency: usize,
    pub dead_letter_after: Duration,
    pub lease: Option<Duration>,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
}

/// One `[[tenant]]`.
#[derive(Debug, Clone)]
pub struct TenantSpec {
    pub name: String,
    pub tenant_id: String,
    /// Empty: the key is left out (a system-assigned managed identity).
    pub client_id: String,
    /// Empty: the key is left out (a certificate, managed or workload identity in `extra`).
    pub client_secret: String,
    pub enabled: Option<bool>,
    /// `public`, `usgov` or `china`.
    pub cloud: String,
    /// `graph = false` reads Sentinel only; `None` leaves the key out (Graph on).
    pub graph: Option<bool>,
    pub poll_interval: Duration,
    /// `min_poll_interval`; `None` leaves it out (2 s, at most `poll_interval`).
    pub min_poll_interval: Option<Duration>,
    /// `late_window`; `None` leaves it out (30 s).
    pub late_window: Option<Duration>,
    pub lookback: Duration,
    pub overlap: Duration,
    pub overlap_interval: Duration,
    pub page_size: Option<u32>,
    /// `[tenant.limits]`; `None` leaves a key out.
    pub limits: LimitsSpec,
    /// `[tenant.endpoints]`; `None` uses the cloud's preset (a real tenant).
    pub endpoints: Option<EndpointsSpec>,
    pub filter: FilterSpec,
    pub signl4: Signl4Spec,
    pub sync: SyncSpec,
    pub sentinel: Vec<SentinelSpec>,
    /// `[[tenant.route]]`, each as the TOML table a file would hold (`name`, `team_secret`,
    /// `continue`, `match = { … }`, …).
    pub routes: Vec<Table>,
    /// Further keys as a file would hold them (`credential`, `certificate_path`, …); a table
    /// value is merged into the table of that name (`endpoints = { imds = … }`).
    pub extra: Table,
}

/// `[tenant.limits]`.
#[derive(Debug, Clone, Default)]
pub struct LimitsSpec {
    pub share: Option<f64>,
    pub graph_requests_per_minute: Option<u32>,
}

/// `[tenant.endpoints]`: base URLs of every upstream service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointsSpec {
    pub authority: String,
    pub graph: String,
    pub arm: String,
    pub log_analytics: String,
    pub logs_ingestion: Option<String>,
    pub signl4_webhook: String,
    pub signl4_api: String,
}

/// `[tenant.filter]`.
#[derive(Debug, Clone)]
pub struct FilterSpec {
    /// `informational`, `low`, `medium` or `high`.
    pub min_severity: String,
    pub statuses: Vec<String>,
    pub include_service_sources: Vec<String>,
    pub exclude_service_sources: Vec<String>,
}

/// `[tenant.signl4]`.
#[derive(Debug, Clone)]
pub struct Signl4Spec {
    pub team_secret: String,
    pub service: Option<String>,
    pub source_system: String,
    pub inbound_token: Option<String>,
    pub api_key: Option<String>,
    pub api_poll_interval: Option<Duration>,
    pub team_id: Option<String>,
    /// `commercial` or `free`; `None` leaves it out (commercial).
    pub plan: Option<String>,
    /// `[tenant.signl4.scenario]`: severity → alerting scenario.
    pub scenario: BTreeMap<String, String>,
    /// `verify` (delivery verification with an API key); `None` leaves it out (on).
    pub verify: Option<bool>,
    /// `fallback`: `none`, `emergency` or `team`; `fallback_team_secret`.
    pub fallback: Option<String>,
    pub fallback_team_secret: Option<String>,
    /// `[tenant.signl4.storm]`. Tests turn the storm budget off (`budget = 0`) unless they test
    /// it, so bursts page alert by alert; `None` leaves the section out (20 pages per 5 min).
    pub storm: Option<Table>,
    /// `group`: `alert` or `incident`; `None` leaves it out (one page per alert).
    pub group: Option<String>,
    /// `[tenant.signl4.quiet]`; `None` leaves it out (no quiet hours).
    pub quiet: Option<Table>,
}

/// `[tenant.sync]`.
#[derive(Debug, Clone)]
pub struct SyncSpec {
    pub enabled: bool,
    pub close_classification: Option<String>,
    pub close_determination: Option<String>,
    pub incident_tag: String,
    pub ack_on_in_progress: bool,
    pub user_map: BTreeMap<String, String>,
}

/// One `[[tenant.sentinel]]` workspace.
#[derive(Debug, Clone)]
pub struct SentinelSpec {
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub workspace_name: String,
    pub workspace_id: Option<String>,
    pub api_version: String,
    pub statuses: Vec<String>,
    /// `Informational`, `Low`, `Medium` or `High`.
    pub min_severity: String,
    pub page_per: PagePer,
    pub close_classification: String,
    pub close_classification_reason: Option<String>,
    pub label: Option<String>,
    /// `comment_recheck`; none = the default (5 min).
    pub comment_recheck: Option<Duration>,
    pub enrichment: EnrichmentSpec,
}

/// `[tenant.sentinel.enrichment]`.
#[derive(Debug, Clone)]
pub struct EnrichmentSpec {
    pub enabled: bool,
    pub rows: usize,
    pub budget: Duration,
}

impl EndpointsSpec {
    /// Every service of the fake cloud at `base` (`http://127.0.0.1:PORT`).
    pub fn fake(base: &str) -> EndpointsSpec {
        let base = base.trim_end_matches('/');
        EndpointsSpec {
            authority: format!("{base}/entra"),
            graph: format!("{base}/graph"),
            arm: format!("{base}/arm"),
            log_analytics: format!("{base}/loganalytics"),
            logs_ingestion: None,
            signl4_webhook: format!("{base}/signl4/webhook"),
            signl4_api: format!("{base}/signl4/api"),
        }
    }
}

impl Default for DeliverySpec {
    /// `[delivery]` of the example.
    fn default() -> Self {
        DeliverySpec {
            concurrency: 4,
            dead_letter_after: Duration::from_secs(24 * 3600),
            lease: None,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5 * 60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl SentinelSpec {
    /// The example's workspace `soc` (the fake cloud's default workspace).
    pub fn example() -> SentinelSpec {
        SentinelSpec {
            name: "soc".into(),
            subscription_id: DEFAULT_SUBSCRIPTION.into(),
            resource_group: DEFAULT_RESOURCE_GROUP.into(),
            workspace_name: DEFAULT_WORKSPACE.into(),
            workspace_id: Some(DEFAULT_WORKSPACE_ID.into()),
            api_version: "2025-12-01".into(),
            statuses: vec!["New".into()],
            min_severity: "Low".into(),
            page_per: PagePer::Incident,
            close_classification: "Undetermined".into(),
            close_classification_reason: None,
            label: Some("SIGNL4".into()),
            comment_recheck: None,
            enrichment: EnrichmentSpec { enabled: true, rows: 10, budget: Duration::from_secs(10) },
        }
    }
}

impl TenantSpec {
    /// The example's tenant `contoso` with every endpoint at the fake cloud `fake_url`.
    pub fn example(fake_url: &str) -> TenantSpec {
        TenantSpec {
            name: "contoso".into(),
            tenant_id: DEFAULT_TENANT_ID.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            enabled: None,
            cloud: "public".into(),
            graph: None,
            poll_interval: Duration::from_secs(10),
            min_poll_interval: None,
            late_window: None,
            limits: LimitsSpec::default(),
            lookback: Duration::from_secs(24 * 3600),
            overlap: Duration::from_secs(2 * 60),
            overlap_interval: Duration::from_secs(60),
            page_size: None,
            endpoints: Some(EndpointsSpec::fake(fake_url)),
            filter: FilterSpec {
                min_severity: "low".into(),
                statuses: vec!["new".into()],
                include_service_sources: Vec::new(),
                exclude_service_sources: Vec::new(),
            },
            signl4: Signl4Spec {
                team_secret: DEFAULT_TEAM_SECRET.into(),
                service: Some("Security".into()),
                source_system: "Microsoft Security".into(),
                inbound_token: Some(INBOUND_TOKEN.into()),
                api_key: None,
                api_poll_interval: None,
                team_id: None,
                plan: None,
                scenario: BTreeMap::from([("high".to_string(), "multi_ack".to_string())]),
                verify: None,
                fallback: None,
                fallback_team_secret: None,
                storm: Some(table([("budget", Value::Integer(0))])),
                group: None,
                quiet: None,
            },
            sync: SyncSpec {
                enabled: true,
                close_classification: None,
                close_determination: None,
                incident_tag: "SIGNL4".into(),
                ack_on_in_progress: false,
                user_map: BTreeMap::new(),
            },
            sentinel: vec![SentinelSpec::example()],
            routes: Vec::new(),
            extra: Table::new(),
        }
    }
}

impl ConfigBuilder {
    /// `config/example.toml` pointed at the fake cloud `fake_url`, with its SQLite file at `db`
    /// and the HTTP server on a free loopback port. Everything else as in the example.
    pub fn new(fake_url: &str, db: &Path) -> ConfigBuilder {
        ConfigBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: None,
            storage: Storage::Sqlite(db.to_path_buf()),
            delivery: DeliverySpec::default(),
            tenants: vec![TenantSpec::example(fake_url)],
            ops: None,
            server: Table::new(),
        }
    }

    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// `server.admin_token` (the status page's; required when `listen` is not loopback).
    pub fn admin_token(mut self, token: &str) -> Self {
        self.admin_token = Some(token.to_string());
        self
    }

    /// Sets `[server]` key `key` (e.g. `header_timeout = "300ms"`, `max_connections = 8`).
    pub fn server(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.server.insert(key.to_string(), value.into());
        self
    }

    /// `[ops]` (self-monitoring) with these keys, e.g. `team_secret`, `webhook`, `check_interval`.
    pub fn ops<'a>(mut self, keys: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.ops = Some(keys.into_iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect());
        self
    }

    /// `storage.backend = "postgres"` with `storage.url = url`.
    pub fn postgres(mut self, url: &str) -> Self {
        self.storage = Storage::Postgres(url.to_string());
        self
    }

    /// `poll_interval` of every tenant.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        for t in &mut self.tenants {
            t.poll_interval = every;
        }
        self
    }

    /// For benchmarks of the connector's own speed against an unthrottled fake cloud: Graph
    /// budget 100,000/min and SIGNL4 `plan = "unlimited"` for every tenant (429s would still
    /// be honoured).
    pub fn unthrottled(mut self) -> Self {
        for t in &mut self.tenants {
            t.limits.graph_requests_per_minute = Some(100_000);
            t.signl4.plan = Some("unlimited".into());
        }
        self
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.delivery.concurrency = n;
        self
    }

    /// Changes `[delivery]`.
    pub fn delivery(mut self, f: impl FnOnce(&mut DeliverySpec)) -> Self {
        f(&mut self.delivery);
        self
    }

    /// Changes the first tenant.
    pub fn tenant(mut self, f: impl FnOnce(&mut TenantSpec)) -> Self {
        f(self.tenants.first_mut().expect("ConfigBuilder::tenant: no tenant"));
        self
    }

    /// Changes the first tenant's first Sentinel workspace.
    pub fn sentinel(self, f: impl FnOnce(&mut SentinelSpec)) -> Self {
        self.tenant(|t| f(t.sentinel.first_mut().expect("ConfigBuilder::sentinel: no workspace")))
    }

    /// The configuration as a TOML table.
    pub fn table(&self) -> Table {
        let mut root = Table::new();
        let mut server = table([("listen", s(self.listen.to_string()))]);
        opt(&mut server, "admin_token", self.admin_token.as_deref().map(s));
        server.extend(self.server.clone());
        root.insert("server".into(), server.into());
        root.insert(
            "storage".into(),
            match &self.storage {
                Storage::Sqlite(path) => table([("backend", s("sqlite")), ("path", s(path.display().to_string()))]),
                Storage::Postgres(url) => table([("backend", s("postgres")), ("url", s(url))]),
            }
            .into(),
        );
        let d = &self.delivery;
        let mut delivery = table([
            ("concurrency", int(d.concurrency)),
            ("dead_letter_after", dur(d.dead_letter_after)),
            ("initial_backoff", dur(d.initial_backoff)),
            ("max_backoff", dur(d.max_backoff)),
            ("request_timeout", dur(d.request_timeout)),
        ]);
        opt(&mut delivery, "lease", d.lease.map(dur));
        root.insert("delivery".into(), delivery.into());
        root.insert("tenant".into(), Value::Array(self.tenants.iter().map(|t| t.table().into()).collect()));
        if let Some(ops) = &self.ops {
            root.insert("ops".into(), ops.clone().into());
        }
        root
    }

    /// The configuration file's text.
    pub fn toml(&self) -> String {
        toml::to_string(&self.table()).expect("a TOML table renders")
    }

    /// Loads [`ConfigBuilder::toml`] with `s4s_core::config::load` and the process
    /// environment, as `run --config` would: the same validation and overrides apply.
    pub fn try_build(&self) -> Result<Config, config::ConfigError> {
        config::load(&self.toml(), &ProcessEnv)
    }

    /// [`ConfigBuilder::try_build`] for configurations that must be valid; panics with the
    /// error otherwise.
    pub fn build(&self) -> Config {
        self.try_build().unwrap_or_else(|e| panic!("ConfigBuilder: invalid configuration: {e}\n{}", self.toml()))
    }
}

impl TenantSpec {
    fn table(&self) -> Table {
        let mut t = table([
            ("name", s(&self.name)),
            ("tenant_id", s(&self.tenant_id)),
            ("cloud", s(&self.cloud)),
            ("poll_interval", dur(self.poll_interval)),
            ("lookback", dur(self.lookback)),
            ("overlap", dur(self.overlap)),
            ("overlap_interval", dur(self.overlap_interval)),
        ]);
        opt(&mut t, "client_id", Some(&self.client_id).filter(|c| !c.is_empty()).map(s));
        opt(&mut t, "client_secret", Some(&self.client_secret).filter(|c| !c.is_empty()).map(s));
        opt(&mut t, "enabled", self.enabled.map(Value::Boolean));
        opt(&mut t, "graph", self.graph.map(Value::Boolean));
        opt(&mut t, "page_size", self.page_size.map(|n| Value::Integer(n.into())));
        opt(&mut t, "min_poll_interval", self.min_poll_interval.map(dur));
        opt(&mut t, "late_window", self.late_window.map(dur));
        let mut limits = Table::new();
        opt(&mut limits, "share", self.limits.share.map(Value::Float));
        opt(
            &mut limits,
            "graph_requests_per_minute",
            self.limits.graph_requests_per_minute.map(|n| Value::Integer(n.into())),
        );
        if !limits.is_empty() {
            t.insert("limits".into(), limits.into());
        }
        if let Some(e) = &self.endpoints {
            let mut et = table([
                ("authority", s(&e.authority)),
                ("graph", s(&e.graph)),
                ("arm", s(&e.arm)),
                ("log_analytics", s(&e.log_analytics)),
                ("signl4_webhook", s(&e.signl4_webhook)),
                ("signl4_api", s(&e.signl4_api)),
            ]);
            opt(&mut et, "logs_ingestion", e.logs_ingestion.as_deref().map(s));
            t.insert("endpoints".into(), et.into());
        }
        let f = &self.filter;
        t.insert(
            "filter".into(),
            table([
                ("min_severity", s(&f.min_severity)),
                ("statuses", list(&f.statuses)),
                ("include_service_sources", list(&f.include_service_sources)),
                ("exclude_service_sources", list(&f.exclude_service_sources)),
            ])
            .into(),
        );
        let g = &self.signl4;
        let mut signl4 = table([("team_secret", s(&g.team_secret)), ("source_system", s(&g.source_system))]);
        opt(&mut signl4, "service", g.service.as_deref().map(s));
        opt(&mut signl4, "inbound_token", g.inbound_token.as_deref().map(s));
        opt(&mut signl4, "api_key", g.api_key.as_deref().map(s));
        opt(&mut signl4, "api_poll_interval", g.api_poll_interval.map(dur));
        opt(&mut signl4, "team_id", g.team_id.as_deref().map(s));
        opt(&mut signl4, "plan", g.plan.as_deref().map(s));
        opt(&mut signl4, "verify", g.verify.map(Value::Boolean));
        opt(&mut signl4, "fallback", g.fallback.as_deref().map(s));
        opt(&mut signl4, "fallback_team_secret", g.fallback_team_secret.as_deref().map(s));
        signl4.insert("scenario".into(), map(&g.scenario).into());
        opt(&mut signl4, "storm", g.storm.clone().map(Value::Table));
        opt(&mut signl4, "group", g.group.as_deref().map(s));
        opt(&mut signl4, "quiet", g.quiet.clone().map(Value::Table));
        t.insert("signl4".into(), signl4.into());
        let y = &self.sync;
        let mut sync = table([
            ("enabled", Value::Boolean(y.enabled)),
            ("incident_tag", s(&y.incident_tag)),
            ("ack_on_in_progress", Value::Boolean(y.ack_on_in_progress)),
        ]);
        opt(&mut sync, "close_classification", y.close_classification.as_deref().map(s));
        opt(&mut sync, "close_determination", y.close_determination.as_deref().map(s));
        sync.insert("user_map".into(), map(&y.user_map).into());
        t.insert("sync".into(), sync.into());
        if !self.sentinel.is_empty() {
            t.insert("sentinel".into(), Value::Array(self.sentinel.iter().map(|w| w.table().into()).collect()));
        }
        if !self.routes.is_empty() {
            t.insert("route".into(), Value::Array(self.routes.iter().cloned().map(Value::Table).collect()));
        }
        for (k, v) in &self.extra {
            match (t.get_mut(k), v) {
                (Some(Value::Table(have)), Value::Table(more)) => have.extend(more.clone()),
                _ => {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        t
    }
}

impl SentinelSpec {
    fn table(&self) -> Table {
        let mut t = table([
            ("name", s(&self.name)),
            ("subscription_id", s(&self.subscription_id)),
            ("resource_group", s(&self.resource_group)),
            ("workspace_name", s(&self.workspace_name)),
            ("api_version", s(&self.api_version)),
            ("statuses", list(&self.statuses)),
            ("min_severity", s(&self.min_severity)),
            ("page_per", s(if self.page_per == PagePer::Alert { "alert" } else { "incident" })),
            ("close_classification", s(&self.close_classification)),
        ]);
        opt(&mut t, "workspace_id", self.workspace_id.as_deref().map(s));
        opt(&mut t, "close_classification_reason", self.close_classification_reason.as_deref().map(s));
        opt(&mut t, "label", self.label.as_deref().map(s));
        opt(&mut t, "comment_recheck", self.comment_recheck.map(dur));
        let e = &self.enrichment;
        t.insert(
            "enrichment".into(),
            table([("enabled", Value::Boolean(e.enabled)), ("rows", int(e.rows)), ("budget", dur(e.budget))]).into(),
        );
        t
    }
}

fn table<const N: usize>(entries: [(&str, Value); N]) -> Table {
    entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn opt(t: &mut Table, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        t.insert(key.to_string(), v);
    }
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn int(n: usize) -> Value {
    Value::Integer(i64::try_from(n).expect("fits in a TOML integer"))
}

fn list(v: &[String]) -> Value {
    Value::Array(v.iter().map(s).collect())
}

fn map(m: &BTreeMap<String, String>) -> Table {
    m.iter().map(|(k, v)| (k.clone(), s(v))).collect()
}

/// A duration in the largest unit that states it exactly (`24h`, `2m`, `10s`, `250ms`).
fn dur(d: Duration) -> Value {
    let ms = d.as_millis();
    assert!(d.subsec_nanos().is_multiple_of(1_000_000), "ConfigBuilder: {d:?} is finer than a millisecond");
    let text = match ms {
        0 => "0s".to_string(),
        ms if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        ms if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        ms if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    };
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The builder's defaults are the example file with only what `ConfigBuilder::new`
    /// documents changed: endpoints, storage path and listen address — and the storm budget,
    /// which tests turn off unless they test it.
    #[test]
    fn defaults_are_the_example_pointed_at_the_fake_cloud() {
        let fake = "http://127.0.0.1:4999";
        let db = Path::new("/tmp/s4s-test.db");
        let mut example: Table = toml::from_str(config::example()).unwrap();
        example["server"]["listen"] = s("127.0.0.1:0");
        example["storage"]["path"] = s("/tmp/s4s-test.db");
        let tenant = example["tenant"].as_array_mut().unwrap()[0].as_table_mut().unwrap();
        for (_, url) in tenant["endpoints"].as_table_mut().unwrap().iter_mut() {
            *url = s(url.as_str().unwrap().replacen("http://127.0.0.1:4010", fake, 1));
        }
        let mut built = ConfigBuilder::new(fake, db);
        built.tenants[0].signl4.storm = None;
        assert_eq!(built.table(), example);
    }

    #[test]
    fn every_option_renders_and_loads() {
        let b = ConfigBuilder::new("http://127.0.0.1:4999", Path::new("x.db"))
            .poll_interval(Duration::from_millis(250))
            .delivery(|d| d.lease = Some(Duration::from_secs(90)))
            .tenant(|t| {
                t.graph = Some(false);
                t.page_size = Some(3);
                t.signl4.api_key = Some("k".into());
                t.signl4.api_poll_interval = Some(Duration::from_millis(200));
                t.sync.close_classification = Some("truePositive".into());
            })
            .sentinel(|w| {
                w.page_per = PagePer::Alert;
                w.close_classification = "FalsePositive".into();
                w.close_classification_reason = Some("InaccurateData".into());
            });
        let c = b.build();
        let t = &c.tenants[0];
        assert_eq!(t.poll_interval, Duration::from_millis(250));
        assert_eq!((t.graph(), t.page_size), (false, 3));
        assert_eq!(t.signl4.api_poll_interval, Duration::from_millis(200));
        assert_eq!(t.sentinel()[0].page_per, PagePer::Alert);
        assert_eq!(t.sentinel()[0].close_classification_reason.as_deref(), Some("InaccurateData"));
        assert_eq!(c.delivery.lease, Duration::from_secs(90));
        let pg = b.postgres("postgres://u@h/db").build();
        assert!(matches!(pg.storage, config::StorageConfig::Postgres { .. }));
    }
}
