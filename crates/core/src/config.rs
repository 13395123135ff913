//! Configuration: TOML file + environment overrides → validated [`Config`].
//!
//! Parsing and validation are pure; the only inputs from the outside world (environment
//! variables and secret files) come in through the [`Env`] trait so tests use plain data.
//! Every error names the key (`tenant[0].poll_interval`) and says how to fix it; secret values
//! never appear in errors or `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::{self, Deserializer};
use url::Url;

use crate::alert::Severity;
use crate::filter::AlertFilter;

/// Prefix of environment variables that override file values:
/// `SIGNL4_SENTINEL__STORAGE__PATH=/data/s4s.db`,
/// `SIGNL4_SENTINEL__TENANT__0__POLL_INTERVAL=30s`.
pub const ENV_PREFIX: &str = "SIGNL4_SENTINEL__";

/// Where environment variables and secret files come from.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
    fn vars(&self) -> Vec<(String, String)>;
    fn read_file(&self, path: &str) -> Result<String, String>;
}

/// The real process environment and file system.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// A configuration error: which key, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.problem)?;
        } else {
            write!(f, "`{}`: {}", self.key, self.problem)?;
        }
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

fn err(key: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), problem: problem.into(), fix: fix.into() }
}

// ---------------------------------------------------------------------------------------------
// Raw (file) shape
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default, rename = "tenant")]
    tenants: Vec<RawTenant>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    backend: Option<String>,
    path: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    #[serde(default, deserialize_with = "opt_u64")]
    concurrency: Option<u64>,
    dead_letter_after: Option<String>,
    lease: Option<String>,
    initial_backoff: Option<String>,
    max_backoff: Option<String>,
    request_timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    name: String,
    tenant_id: String,
    client_id: String,
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    enabled: Option<bool>,
    cloud: Option<String>,
    #[serde(default)]
    endpoints: RawEndpoints,
    poll_interval: Option<String>,
    lookback: Option<String>,
    overlap: Option<String>,
    overlap_interval: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    page_size: Option<u64>,
    #[serde(default)]
    filter: RawFilter,
    signl4: Option<RawSignl4>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default, deserialize_with = "opt_bool")]
    graph: Option<bool>,
    #[serde(default)]
    sentinel: Vec<RawSentinel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSentinel {
    name: String,
    subscription_id: String,
    resource_group: String,
    workspace_name: String,
    workspace_id: Option<String>,
    api_version: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    statuses: Option<Vec<String>>,
    min_severity: Option<String>,
    page_per: Option<String>,
    close_classification: Option<String>,
    close_classification_reason: Option<String>,
    label: Option<String>,
    #[serde(default)]
    enrichment: RawEnrichment,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEnrichment {
    #[serde(default, deserialize_with = "opt_bool")]
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "opt_u64")]
    rows: Option<u64>,
    budget: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEndpoints {
    authority: Option<String>,
    graph: Option<String>,
    arm: Option<String>,
    log_analytics: Option<String>,
    logs_ingestion: Option<String>,
    signl4_webhook: Option<String>,
    signl4_api: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    min_severity: Option<String>,
    #[serde(default, deserialize_with = "opt_list")]
    include_service_sources: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    exclude_service_sources: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_list")]
    statuses: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignl4 {
    team_secret: Option<String>,
    service: Option<String>,
    source_system: Option<String>,
    #[serde(default)]
    scenario: BTreeMap<String, String>,
    inbound_token: Option<String>,
    api_key: Option<String>,
    api_poll_interval: Option<String>,
    team_id: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSync {
    #[serde(default, deserialize_with = "opt_bool")]
    enabled: Option<bool>,
    close_classification: Option<String>,
    close_determination: Option<String>,
    incident_tag: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    ack_on_in_progress: Option<bool>,
    #[serde(default)]
    user_map: BTreeMap<String, String>,
}

/// Numbers may come as TOML integers or, from environment overrides, as strings.
fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Int(u64),
        Str(String),
    }
    match Option::<N>::deserialize(d)? {
        None => Ok(None),
        Some(N::Int(n)) => Ok(Some(n)),
        Some(N::Str(s)) => {
            s.trim().parse().map(Some).map_err(|_| de::Error::custom(format!("expected a whole number, got \"{s}\"")))
        }
    }
}

fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
    }
    match Option::<B>::deserialize(d)? {
        None => Ok(None),
        Some(B::Bool(b)) => Ok(Some(b)),
        Some(B::Str(s)) => match s.trim() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(de::Error::custom(format!("expected true or false, got \"{s}\""))),
        },
    }
}

/// Lists may come as TOML arrays or, from environment overrides, as comma-separated strings.
fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum L {
        List(Vec<String>),
        Str(String),
    }
    Ok(Option::<L>::deserialize(d)?.map(|l| match l {
        L::List(v) => v,
        L::Str(s) => s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Validated shape
// ---------------------------------------------------------------------------------------------

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub delivery: DeliveryConfig,
    pub tenants: Vec<TenantConfig>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone)]
pub enum StorageConfig {
    Sqlite { path: PathBuf },
    Postgres { url: SecretString },
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Concurrent SIGNL4 deliveries.
    pub concurrency: usize,
    /// A job still failing this long after it was created moves to the dead-letter state.
    pub dead_letter_after: Duration,
    /// How long a worker owns a claimed job before another may take it over.
    pub lease: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            concurrency: 4,
            dead_letter_after: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Base URLs of every upstream service. Overridable one by one: that is how national clouds,
/// proxies and the fake cloud work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Entra ID authority, e.g. `https://login.microsoftonline.com`.
    pub authority: Url,
    /// Graph root without version, e.g. `https://graph.microsoft.com`.
    pub graph: Url,
    pub arm: Url,
    pub log_analytics: Url,
    pub logs_ingestion: Url,
    /// SIGNL4 inbound webhook base, e.g. `https://connect.signl4.com/webhook`.
    pub signl4_webhook: Url,
    pub signl4_api: Url,
}

/// Token scopes (audiences) for each Microsoft resource. They follow the cloud preset, not
/// the base URLs: a proxy or emulator in front of Graph still issues Graph-audience tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    pub graph: String,
    pub arm: String,
    pub log_analytics: String,
    pub logs_ingestion: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Public,
    UsGov,
    China,
}

impl Cloud {
    fn parse(s: &str) -> Option<Cloud> {
        match s {
            "public" => Some(Cloud::Public),
            "usgov" => Some(Cloud::UsGov),
            "china" => Some(Cloud::China),
            _ => None,
        }
    }

    /// Preset endpoints and scopes (`microsoft-apis.md` §1.4 for audiences).
    pub fn preset(self) -> (Endpoints, Scopes) {
        let u = |s: &str| Url::parse(s).expect("preset URLs are valid");
        let (login, graph, arm, la, monitor) = match self {
            Cloud::Public => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://management.azure.com",
                "https://api.loganalytics.io",
                "https://monitor.azure.com",
            ),
            Cloud::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://management.usgovcloudapi.net",
                "https://api.loganalytics.us",
                "https://monitor.azure.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
                "https://api.loganalytics.azure.cn",
                "https://monitor.azure.cn",
            ),
        };
        (
            Endpoints {
                authority: u(login),
                graph: u(graph),
                arm: u(arm),
                log_analytics: u(la),
                logs_ingestion: u(monitor),
                signl4_webhook: u("https://connect.signl4.com/webhook"),
                signl4_api: u("https://connect.signl4.com/api"),
            },
            Scopes {
                graph: format!("{graph}/.default"),
                arm: format!("{arm}/.default"),
                log_analytics: format!("{la}/.default"),
                logs_ingestion: format!("{monitor}/.default"),
            },
        )
    }
}

/// SIGNL4 alerting scenario (`signl4.md` §1.4).
pub const SCENARIOS: [&str; 3] = ["single_ack", "multi_ack", "emergency"];

#[derive(Debug, Clone)]
pub struct Signl4Options {
    pub team_secret: SecretString,
    /// `X-S4-Service` (category); none = the team's default category.
    pub service: Option<String>,
    /// `X-S4-SourceSystem`.
    pub source_system: String,
    /// `X-S4-AlertingScenario` per severity key (`informational`, `low`, `medium`, `high`,
    /// `unknown`).
    pub scenario: BTreeMap<String, String>,
    /// Secret path segment of this team's outbound-webhook URL
    /// (`http://connector/signl4/{inbound_token}`); none = receiver off for this tenant.
    pub inbound_token: Option<SecretString>,
    /// SIGNL4 REST API key (`X-S4-Api-Key`) for the polling fallback; none = off.
    pub api_key: Option<SecretString>,
    pub api_poll_interval: Duration,
    /// SIGNL4 team id, to narrow REST polling to this team.
    pub team_id: Option<String>,
}

/// Two-way sync settings of a tenant.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Write SIGNL4 acknowledgements, closes and notes back to Graph.
    pub enabled: bool,
    pub options: crate::sync::SyncOptions,
    /// Tag added to the Graph incident's `customTags` when its first alert is paged.
    pub incident_tag: Option<String>,
    /// Acknowledge the SIGNL4 alert when an analyst moves the alert to inProgress.
    pub ack_on_in_progress: bool,
}

/// Graph alert `classification` values (`microsoft-apis.md` §2.2).
pub const CLASSIFICATIONS: [&str; 4] = ["unknown", "falsePositive", "truePositive", "informationalExpectedActivity"];
/// Graph alert `determination` values (member table of §2.2).
pub const DETERMINATIONS: [&str; 15] = [
    "unknown",
    "apt",
    "malware",
    "securityPersonnel",
    "securityTesting",
    "unwantedSoftware",
    "other",
    "multiStagedAttack",
    "compromisedAccount",
    "phishing",
    "maliciousUserActivity",
    "notMalicious",
    "notEnoughDataToValidate",
    "confirmedActivity",
    "lineOfBusinessApplication",
];

impl Signl4Options {
    pub fn scenario_for(&self, severity: &Severity) -> Option<&str> {
        self.scenario.get(severity.key()).map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Short name used in logs, metrics and dedup keys.
    pub name: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub enabled: bool,
    pub endpoints: Endpoints,
    pub scopes: Scopes,
    pub poll_interval: Duration,
    pub lookback: Duration,
    pub overlap: Duration,
    /// How often a sweep re-reads the `overlap` window (other sweeps start at the cursor).
    pub overlap_interval: Duration,
    pub page_size: u32,
    pub filter: AlertFilter,
    pub signl4: Signl4Options,
    pub sync: SyncConfig,
    /// Read Graph Security alerts (default true).
    pub graph: bool,
    /// Sentinel workspaces read through the Azure REST API.
    pub sentinel: Vec<SentinelConfig>,
}

/// Whether a Sentinel workspace pages once per incident or once per alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePer {
    Incident,
    Alert,
}

/// A Sentinel workspace (`microsoft-apis.md` §3, §4).
#[derive(Debug, Clone)]
pub struct SentinelConfig {
    /// Short name used in keys, logs and SIGNL4 external ids; never change it.
    pub name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub workspace_name: String,
    /// Log Analytics workspace id (GUID), for rule-query enrichment.
    pub workspace_id: Option<String>,
    pub api_version: String,
    /// Incident statuses that page (`New`, `Active`).
    pub statuses: Vec<String>,
    /// `Informational`, `Low`, `Medium`, `High`.
    pub min_severity: Severity,
    pub page_per: PagePer,
    pub close_classification: String,
    pub close_classification_reason: Option<String>,
    /// Label added to paged incidents (`SecurityIncident | where Labels contains "SIGNL4"`).
    pub label: Option<String>,
    pub enrichment_enabled: bool,
    pub enrichment_rows: usize,
    pub enrichment_budget: Duration,
}

/// Sentinel classification → the classification reasons it accepts (`microsoft-apis.md`
/// §3.3; the service rejects other pairs).
pub const CLASSIFICATION_REASONS: [(&str, &[&str]); 4] = [
    ("TruePositive", &["SuspiciousActivity"]),
    ("BenignPositive", &["SuspiciousButExpected"]),
    ("FalsePositive", &["IncorrectAlertLogic", "InaccurateData"]),
    ("Undetermined", &[]),
];

/// Checks a classification / reason pair; on error returns the list of valid pairs.
pub fn check_classification(classification: &str, reason: Option<&str>) -> Result<(), String> {
    let valid = || {
        CLASSIFICATION_REASONS
            .iter()
            .map(|(c, rs)| if rs.is_empty() { format!("{c} (no reason)") } else { format!("{c} → {}", rs.join(" | ")) })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((_, reasons)) = CLASSIFICATION_REASONS.iter().find(|(c, _)| *c == classification) else {
        return Err(valid());
    };
    match reason {
        None if reasons.is_empty() => Ok(()),
        Some(r) if reasons.contains(&r) => Ok(()),
        _ => Err(valid()),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Parses `10s`, `500ms`, `2m`, `24h`, `1d`, `1h30m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86400)?),
            _ => return None,
        };
        total = total.checked_add(d)?;
    }
    Some(total)
}

const DURATION_FIX: &str = "use a number followed by ms, s, m, h or d, e.g. \"10s\" or \"24h\"";

fn duration(key: &str, v: Option<&String>, default: Duration, min: Duration) -> Result<Duration, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let d = parse_duration(v).ok_or_else(|| err(key, format!("invalid duration \"{v}\""), DURATION_FIX))?;
    if d < min {
        return Err(err(key, format!("{v} is too short"), format!("use at least {}ms", min.as_millis())));
    }
    Ok(d)
}

fn resolve_secret(key: &str, value: Option<&String>, env: &dyn Env) -> Result<SecretString, ConfigError> {
    let Some(v) = value else {
        return Err(err(
            key,
            "missing secret",
            format!("set `{key}` to the secret itself, to \"env:VARIABLE\" or to \"file:/path/to/secret\""),
        ));
    };
    let resolved = if let Some(name) = v.strip_prefix("env:") {
        env.var(name).ok_or_else(|| {
            err(key, format!("environment variable {name} is not set"), format!("export {name}=… before starting"))
        })?
    } else if let Some(path) = v.strip_prefix("file:") {
        env.read_file(path)
            .map_err(|e| {
                err(key, format!("cannot read secret file {path}: {e}"), "check the path and its permissions")
            })?
            .trim()
            .to_string()
    } else {
        v.clone()
    };
    if resolved.trim().is_empty() {
        return Err(err(key, "secret is empty", "provide a non-empty secret"));
    }
    Ok(SecretString::from(resolved))
}

fn url(key: &str, v: Option<&String>, default: &Url) -> Result<Url, ConfigError> {
    let Some(v) = v else { return Ok(default.clone()) };
    let u = Url::parse(v.trim_end_matches('/'))
        .map_err(|e| err(key, format!("invalid URL \"{v}\": {e}"), "use an absolute http(s) URL"))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        return Err(err(key, format!("unsupported scheme \"{}\"", u.scheme()), "use an http:// or https:// URL"));
    }
    Ok(u)
}

/// Applies `SIGNL4_SENTINEL__A__B__0__C=value` overrides to the parsed TOML tree.
fn apply_env_overrides(root: &mut toml::Value, env: &dyn Env) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> = env.vars().into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
    vars.sort();
    for (name, value) in vars {
        let path: Vec<String> = name[ENV_PREFIX.len()..].split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(err(
                name.as_str(),
                "malformed override name",
                "use SIGNL4_SENTINEL__SECTION__KEY, e.g. SIGNL4_SENTINEL__STORAGE__PATH",
            ));
        }
        let mut node = &mut *root;
        for (i, seg) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            // `tenant` in the file is an array of tables.
            node = match node {
                toml::Value::Table(t) => {
                    if last {
                        t.insert(seg.clone(), toml::Value::String(value.clone()));
                        break;
                    }
                    let next_is_index = path[i + 1].parse::<usize>().is_ok();
                    t.entry(seg.clone()).or_insert_with(|| {
                        if next_is_index {
                            toml::Value::Array(Vec::new())
                        } else {
                            toml::Value::Table(Default::default())
                        }
                    })
                }
                toml::Value::Array(a) => {
                    let idx: usize = seg.parse().map_err(|_| {
                        err(
                            name.as_str(),
                            format!("\"{seg}\" is not an index"),
                            "use a number, e.g. SIGNL4_SENTINEL__TENANT__0__CLIENT_SECRET",
                        )
                    })?;
                    if idx >= a.len() {
                        return Err(err(
                            name.as_str(),
                            format!("index {idx} is out of range ({} entries)", a.len()),
                            "override only entries that exist in the file",
                        ));
                    }
                    if last {
                        a[idx] = toml::Value::String(value.clone());
                        break;
                    }
                    &mut a[idx]
                }
                _ => {
                    return Err(err(name.as_str(), "overrides a value that is not a table", "check the key path"));
                }
            };
        }
    }
    Ok(())
}

/// Parses and validates a configuration file's text.
pub fn load(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
    let mut tree: toml::Value = toml::from_str(text).map_err(|e| {
        let key = e.span().map(|s| format!("line {}", text[..s.start].lines().count().max(1))).unwrap_or_default();
        err(key, format!("invalid TOML: {}", e.message()), "check the syntax near that line")
    })?;
    apply_env_overrides(&mut tree, env)?;
    let raw: RawConfig = serde_path_to_error::deserialize(tree).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner().to_string();
        let fix = if inner.contains("unknown field") {
            "remove the key or fix its spelling (see `signl4-sentinel config example`)".to_string()
        } else {
            "see `signl4-sentinel config example` for the expected type".to_string()
        };
        err(if key == "." { String::new() } else { key }, inner, fix)
    })?;
    validate(raw, env)
}

fn validate(raw: RawConfig, env: &dyn Env) -> Result<Config, ConfigError> {
    let listen_s = raw.server.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_s.parse().map_err(|_| {
        err("server.listen", format!("\"{listen_s}\" is not an address"), "use IP:PORT, e.g. \"0.0.0.0:8080\"")
    })?;

    let storage = match raw.storage.backend.as_deref().unwrap_or("sqlite") {
        "sqlite" => StorageConfig::Sqlite {
            path: PathBuf::from(raw.storage.path.unwrap_or_else(|| "signl4-sentinel.db".into())),
        },
        "postgres" => StorageConfig::Postgres {
            url: resolve_secret("storage.url", raw.storage.url.as_ref(), env).map_err(|mut e| {
                e.fix = "set storage.url to postgres://user@host/db (or env:NAME / file:PATH)".into();
                e
            })?,
        },
        other => {
            return Err(err(
                "storage.backend",
                format!("unknown backend \"{other}\""),
                "use \"sqlite\" or \"postgres\"",
            ));
        }
    };

    let d = DeliveryConfig::default();
    let rd = raw.delivery;
    let delivery = DeliveryConfig {
        concurrency: match rd.concurrency {
            None => d.concurrency,
            Some(0) => return Err(err("delivery.concurrency", "must be at least 1", "use a number from 1 to 256")),
            Some(n) if n > 256 => {
                return Err(err("delivery.concurrency", format!("{n} is too high"), "use a number from 1 to 256"));
            }
            Some(n) => n as usize,
        },
        dead_letter_after: duration(
            "delivery.dead_letter_after",
            rd.dead_letter_after.as_ref(),
            d.dead_letter_after,
            Duration::from_secs(1),
        )?,
        lease: duration("delivery.lease", rd.lease.as_ref(), d.lease, Duration::from_secs(1))?,
        initial_backoff: duration(
            "delivery.initial_backoff",
            rd.initial_backoff.as_ref(),
            d.initial_backoff,
            Duration::from_millis(10),
        )?,
        max_backoff: duration(
            "delivery.max_backoff",
            rd.max_backoff.as_ref(),
            d.max_backoff,
            Duration::from_millis(10),
        )?,
        request_timeout: duration(
            "delivery.request_timeout",
            rd.request_timeout.as_ref(),
            d.request_timeout,
            Duration::from_millis(100),
        )?,
    };
    if delivery.max_backoff < delivery.initial_backoff {
        return Err(err(
            "delivery.max_backoff",
            "is shorter than delivery.initial_backoff",
            "make max_backoff ≥ initial_backoff",
        ));
    }

    if raw.tenants.is_empty() {
        return Err(err(
            "tenant",
            "no tenant configured",
            "add at least one [[tenant]] section (see `signl4-sentinel config example`)",
        ));
    }
    let mut tenants = Vec::new();
    for (i, t) in raw.tenants.into_iter().enumerate() {
        let k = |field: &str| format!("tenant[{i}].{field}");
        if t.name.is_empty() || !t.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(err(
                k("name"),
                format!("\"{}\" is not a valid name", t.name),
                "use letters, digits, '-' and '_' only",
            ));
        }
        if tenants.iter().any(|x: &TenantConfig| x.name == t.name) {
            return Err(err(
                k("name"),
                format!("duplicate tenant name \"{}\"", t.name),
                "give every tenant a unique name",
            ));
        }
        if t.tenant_id.trim().is_empty() {
            return Err(err(k("tenant_id"), "is empty", "use the Directory (tenant) ID from Entra ID → Overview"));
        }
        if t.client_id.trim().is_empty() {
            return Err(err(k("client_id"), "is empty", "use the Application (client) ID of the app registration"));
        }
        let cloud_s = t.cloud.clone().unwrap_or_else(|| "public".into());
        let cloud = Cloud::parse(&cloud_s).ok_or_else(|| {
            err(
                k("cloud"),
                format!("unknown cloud \"{cloud_s}\""),
                "use \"public\", \"usgov\" or \"china\", and [tenant.endpoints] for anything else",
            )
        })?;
        let (pe, scopes) = cloud.preset();
        let e = &t.endpoints;
        let endpoints = Endpoints {
            authority: url(&k("endpoints.authority"), e.authority.as_ref(), &pe.authority)?,
            graph: url(&k("endpoints.graph"), e.graph.as_ref(), &pe.graph)?,
            arm: url(&k("endpoints.arm"), e.arm.as_ref(), &pe.arm)?,
            log_analytics: url(&k("endpoints.log_analytics"), e.log_analytics.as_ref(), &pe.log_analytics)?,
            logs_ingestion: url(&k("endpoints.logs_ingestion"), e.logs_ingestion.as_ref(), &pe.logs_ingestion)?,
            signl4_webhook: url(&k("endpoints.signl4_webhook"), e.signl4_webhook.as_ref(), &pe.signl4_webhook)?,
            signl4_api: url(&k("endpoints.signl4_api"), e.signl4_api.as_ref(), &pe.signl4_api)?,
        };
        let client_secret = resolve_secret(&k("client_secret"), t.client_secret.as_ref(), env)?;

        let f = t.filter;
        let min_severity = match f.min_severity.as_deref().unwrap_or("low") {
            s @ ("informational" | "low" | "medium" | "high") => Severity::parse(s),
            other => {
                return Err(err(
                    k("filter.min_severity"),
                    format!("unknown severity \"{other}\""),
                    "use informational, low, medium or high",
                ));
            }
        };
        let statuses = f.statuses.unwrap_or_else(|| vec!["new".into()]);
        for s in &statuses {
            if !["new", "inProgress", "resolved"].contains(&s.as_str()) {
                return Err(err(
                    k("filter.statuses"),
                    format!("unknown status \"{s}\""),
                    "use any of \"new\", \"inProgress\", \"resolved\"",
                ));
            }
        }
        let filter = AlertFilter {
            min_severity,
            include_service_sources: f.include_service_sources.unwrap_or_default(),
            exclude_service_sources: f.exclude_service_sources.unwrap_or_default(),
            statuses,
        };

        let Some(s4) = t.signl4 else {
            return Err(err(
                k("signl4"),
                "missing [tenant.signl4] section",
                "add [tenant.signl4] with team_secret = \"env:SIGNL4_TEAM_SECRET\"",
            ));
        };
        let team_secret = resolve_secret(&k("signl4.team_secret"), s4.team_secret.as_ref(), env)?;
        for (sev, scen) in &s4.scenario {
            if !["informational", "low", "medium", "high", "unknown"].contains(&sev.as_str()) {
                return Err(err(
                    k(&format!("signl4.scenario.{sev}")),
                    "unknown severity",
                    "use informational, low, medium, high or unknown as keys",
                ));
            }
            if !SCENARIOS.contains(&scen.as_str()) {
                return Err(err(
                    k(&format!("signl4.scenario.{sev}")),
                    format!("unknown scenario \"{scen}\""),
                    "use single_ack, multi_ack or emergency",
                ));
            }
        }
        let inbound_token = match &s4.inbound_token {
            None => None,
            Some(_) => {
                let tok = resolve_secret(&k("signl4.inbound_token"), s4.inbound_token.as_ref(), env)?;
                if tok.expose_secret().len() < 16 {
                    return Err(err(
                        k("signl4.inbound_token"),
                        "is shorter than 16 characters",
                        "use a long random value, e.g. `openssl rand -hex 24`",
                    ));
                }
                if !tok.expose_secret().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    return Err(err(
                        k("signl4.inbound_token"),
                        "must be URL-safe",
                        "use letters, digits, '-' and '_' only",
                    ));
                }
                Some(tok)
            }
        };
        let api_key = match &s4.api_key {
            None => None,
            Some(_) => Some(resolve_secret(&k("signl4.api_key"), s4.api_key.as_ref(), env)?),
        };
        let rs = t.sync;
        if let Some(c) = &rs.close_classification
            && !CLASSIFICATIONS.contains(&c.as_str())
        {
            return Err(err(
                k("sync.close_classification"),
                format!("unknown classification \"{c}\""),
                format!("use one of {}", CLASSIFICATIONS.join(", ")),
            ));
        }
        if let Some(d) = &rs.close_determination {
            if !DETERMINATIONS.contains(&d.as_str()) {
                return Err(err(
                    k("sync.close_determination"),
                    format!("unknown determination \"{d}\""),
                    format!("use one of {}", DETERMINATIONS.join(", ")),
                ));
            }
            if rs.close_classification.is_none() {
                return Err(err(
                    k("sync.close_determination"),
                    "is set without sync.close_classification",
                    "set close_classification too (Graph expects a determination only with a classification)",
                ));
            }
        }
        let sync = SyncConfig {
            enabled: rs.enabled.unwrap_or(true),
            options: crate::sync::SyncOptions {
                close_classification: rs.close_classification,
                close_determination: rs.close_determination,
                user_map: rs.user_map.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
            },
            incident_tag: match rs.incident_tag {
                None => Some("SIGNL4".into()),
                Some(t) if t.is_empty() => None,
                Some(t) => Some(t),
            },
            ack_on_in_progress: rs.ack_on_in_progress.unwrap_or(false),
        };
        let mut sentinel: Vec<SentinelConfig> = Vec::new();
        for (j, w) in t.sentinel.into_iter().enumerate() {
            let sk = |f: &str| format!("tenant[{i}].sentinel[{j}].{f}");
            if w.name.is_empty() || !w.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(err(
                    sk("name"),
                    format!("\"{}\" is not a valid name", w.name),
                    "use letters, digits, '-' and '_' only",
                ));
            }
            if sentinel.iter().any(|x| x.name == w.name) {
                return Err(err(
                    sk("name"),
                    format!("duplicate workspace name \"{}\"", w.name),
                    "give every workspace a unique name",
                ));
            }
            for (f, v) in [
                ("subscription_id", &w.subscription_id),
                ("resource_group", &w.resource_group),
                ("workspace_name", &w.workspace_name),
            ] {
                if v.trim().is_empty() {
                    return Err(err(
                        sk(f),
                        "is empty",
                        "copy it from the workspace's Overview page in the Azure portal",
                    ));
                }
            }
            let statuses = w.statuses.unwrap_or_else(|| vec!["New".into()]);
            for st in &statuses {
                if !["New", "Active"].contains(&st.as_str()) {
                    return Err(err(
                        sk("statuses"),
                        format!("unknown status \"{st}\""),
                        "use \"New\" and/or \"Active\"",
                    ));
                }
            }
            let min_severity = match w.min_severity.as_deref().map(str::to_ascii_lowercase).as_deref().unwrap_or("low")
            {
                s @ ("informational" | "low" | "medium" | "high") => Severity::parse(s),
                other => {
                    return Err(err(
                        sk("min_severity"),
                        format!("unknown severity \"{other}\""),
                        "use Informational, Low, Medium or High",
                    ));
                }
            };
            let page_per = match w.page_per.as_deref().unwrap_or("incident") {
                "incident" => PagePer::Incident,
                "alert" => PagePer::Alert,
                other => {
                    return Err(err(
                        sk("page_per"),
                        format!("unknown value \"{other}\""),
                        "use \"incident\" or \"alert\"",
                    ));
                }
            };
            let close_classification = w.close_classification.unwrap_or_else(|| "Undetermined".into());
            if let Err(valid) = check_classification(&close_classification, w.close_classification_reason.as_deref()) {
                return Err(err(
                    sk("close_classification"),
                    format!(
                        "\"{close_classification}\" with reason {:?} is not a valid pair",
                        w.close_classification_reason.as_deref().unwrap_or("(none)")
                    ),
                    format!("use one of: {valid}"),
                ));
            }
            let rows = match w.enrichment.rows {
                None => 10,
                Some(n @ 0..=100) => n as usize,
                Some(n) => return Err(err(sk("enrichment.rows"), format!("{n} is too many"), "use 0 to 100")),
            };
            sentinel.push(SentinelConfig {
                name: w.name,
                subscription_id: w.subscription_id,
                resource_group: w.resource_group,
                workspace_name: w.workspace_name,
                workspace_id: w.workspace_id.filter(|s| !s.is_empty()),
                api_version: w.api_version.unwrap_or_else(|| "2025-12-01".into()),
                statuses,
                min_severity,
                page_per,
                close_classification,
                close_classification_reason: w.close_classification_reason,
                label: match w.label {
                    None => Some("SIGNL4".into()),
                    Some(l) if l.is_empty() => None,
                    Some(l) => Some(l),
                },
                enrichment_enabled: w.enrichment.enabled.unwrap_or(true),
                enrichment_rows: rows,
                enrichment_budget: duration(
                    &sk("enrichment.budget"),
                    w.enrichment.budget.as_ref(),
                    Duration::from_secs(10),
                    Duration::from_millis(10),
                )?,
            });
        }
        let graph_enabled = t.graph.unwrap_or(true);
        let mut filter = filter;
        if !sentinel.is_empty()
            && graph_enabled
            && !filter.exclude_service_sources.iter().any(|s| s == "microsoftSentinel")
        {
            // Sentinel incidents are read directly: do not page their alerts again via Graph.
            filter.exclude_service_sources.push("microsoftSentinel".into());
        }
        let page_size = match t.page_size {
            None => 500,
            Some(n @ 1..=1000) => n as u32,
            Some(n) => return Err(err(k("page_size"), format!("{n} is out of range"), "use 1 to 1000")),
        };
        tenants.push(TenantConfig {
            name: t.name,
            tenant_id: t.tenant_id,
            client_id: t.client_id,
            client_secret,
            enabled: t.enabled.unwrap_or(true),
            endpoints,
            scopes,
            poll_interval: duration(
                &k("poll_interval"),
                t.poll_interval.as_ref(),
                Duration::from_secs(10),
                Duration::from_millis(100),
            )?,
            lookback: duration(&k("lookback"), t.lookback.as_ref(), Duration::from_secs(24 * 3600), Duration::ZERO)?,
            overlap: duration(&k("overlap"), t.overlap.as_ref(), Duration::from_secs(120), Duration::ZERO)?,
            overlap_interval: duration(
                &k("overlap_interval"),
                t.overlap_interval.as_ref(),
                Duration::from_secs(60),
                Duration::ZERO,
            )?,
            page_size,
            filter,
            signl4: Signl4Options {
                team_secret,
                service: s4.service.filter(|s| !s.is_empty()),
                source_system: s4.source_system.unwrap_or_else(|| "Microsoft Security (signl4-sentinel)".into()),
                scenario: s4.scenario,
                inbound_token,
                api_key,
                api_poll_interval: duration(
                    &k("signl4.api_poll_interval"),
                    s4.api_poll_interval.as_ref(),
                    Duration::from_secs(30),
                    Duration::from_millis(100),
                )?,
                team_id: s4.team_id.filter(|s| !s.is_empty()),
            },
            sync,
            graph: graph_enabled,
            sentinel,
        });
    }
    Ok(Config { server: ServerConfig { listen }, storage, delivery, tenants })
}

/// Checks that secrets never leak through `Debug`.
pub fn debug_is_redacted(c: &Config) -> bool {
    let dbg = format!("{c:?}");
    c.tenants
        .iter()
        .all(|t| !dbg.contains(t.client_secret.expose_secret()) && !dbg.contains(t.signl4.team_secret.expose_secret()))
}

/// A commented example configuration that works against `signl4-sentinel emulator` on its
/// default port.
pub fn example() -> &'static str {
    include_str!("../../../config/example.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeEnv(Vec<(String, String)>);
    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }
        fn vars(&self) -> Vec<(String, String)> {
            self.0.clone()
        }
        fn read_file(&self, path: &str) -> Result<String, String> {
            if path == "/run/secrets/team" {
                Ok("team-from-file\n".into())
            } else {
                Err("No such file or directory".into())
            }
        }
    }
    fn env(pairs: &[(&str, &str)]) -> FakeEnv {
        FakeEnv(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    const MINIMAL: &str = r#"
        [[tenant]]
        name = "contoso"
        tenant_id = "t1"
        client_id = "c1"
        client_secret = "env:CONTOSO_SECRET"
        [tenant.signl4]
        team_secret = "file:/run/secrets/team"
    "#;

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let c = load(MINIMAL, &env(&[("CONTOSO_SECRET", "s3cr3t-value")])).unwrap();
        let t = &c.tenants[0];
        assert_eq!(t.poll_interval, Duration::from_secs(10));
        assert_eq!(t.lookback, Duration::from_secs(86400));
        assert_eq!(t.client_secret.expose_secret(), "s3cr3t-value");
        assert_eq!(t.signl4.team_secret.expose_secret(), "team-from-file");
        assert_eq!(t.endpoints.graph.as_str(), "https://graph.microsoft.com/");
        assert_eq!(t.scopes.graph, "https://graph.microsoft.com/.default");
        assert_eq!(t.filter.statuses, vec!["new"]);
        assert_eq!(c.delivery.dead_letter_after, Duration::from_secs(86400));
        assert!(matches!(c.storage, StorageConfig::Sqlite { .. }));
        assert!(debug_is_redacted(&c));
    }

    #[test]
    fn national_cloud_presets_and_explicit_overrides() {
        let text = MINIMAL.replace(
            "[tenant.signl4]",
            "cloud = \"usgov\"\n[tenant.endpoints]\ngraph = \"http://127.0.0.1:9/graph/\"\n[tenant.signl4]",
        );
        let c = load(&text, &env(&[("CONTOSO_SECRET", "x")])).unwrap();
        let t = &c.tenants[0];
        assert_eq!(t.endpoints.authority.as_str(), "https://login.microsoftonline.us/");
        assert_eq!(t.endpoints.graph.as_str(), "http://127.0.0.1:9/graph");
        assert_eq!(t.scopes.graph, "https://graph.microsoft.us/.default");
    }

    #[test]
    fn env_overrides_replace_file_values() {
        let c = load(
            MINIMAL,
            &env(&[
                ("CONTOSO_SECRET", "x"),
                ("SIGNL4_SENTINEL__TENANT__0__POLL_INTERVAL", "30s"),
                ("SIGNL4_SENTINEL__TENANT__0__FILTER__STATUSES", "new,inProgress"),
                ("SIGNL4_SENTINEL__DELIVERY__CONCURRENCY", "4"),
                ("SIGNL4_SENTINEL__STORAGE__PATH", "/data/s4s.db"),
            ]),
        )
        .unwrap();
        assert_eq!(c.tenants[0].poll_interval, Duration::from_secs(30));
        assert_eq!(c.tenants[0].filter.statuses, vec!["new", "inProgress"]);
        assert_eq!(c.delivery.concurrency, 4);
        assert!(matches!(&c.storage, StorageConfig::Sqlite { path } if path.to_str() == Some("/data/s4s.db")));
    }

    fn load_err(text: &str, pairs: &[(&str, &str)]) -> ConfigError {
        load(text, &env(pairs)).unwrap_err()
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let e = load_err(
            &MINIMAL.replace("name = \"contoso\"", "name = \"contoso\"\npoll_intervall = \"5s\""),
            &[("CONTOSO_SECRET", "x")],
        );
        assert_eq!(e.key, "tenant[0].poll_intervall");
        assert!(e.problem.contains("unknown field `poll_intervall`"), "{e}");

        let e = load_err(
            &MINIMAL.replace("name = \"contoso\"", "name = \"contoso\"\npoll_interval = \"5 parsecs\""),
            &[("CONTOSO_SECRET", "x")],
        );
        assert_eq!(e.key, "tenant[0].poll_interval");
        assert!(e.fix.contains("24h"));

        let e = load_err(MINIMAL, &[]);
        assert_eq!(e.key, "tenant[0].client_secret");
        assert!(e.to_string().contains("CONTOSO_SECRET is not set"));

        let e = load_err(
            &MINIMAL.replace("[tenant.signl4]", "[tenant.filter]\nmin_severity = \"severe\"\n[tenant.signl4]"),
            &[("CONTOSO_SECRET", "x")],
        );
        assert_eq!(e.key, "tenant[0].filter.min_severity");

        let e = load_err(&MINIMAL.replace("team_secret", "team_secret_x"), &[("CONTOSO_SECRET", "x")]);
        assert!(e.to_string().contains("team_secret_x"));

        let e = load_err("[storage]\nbackend = \"mysql\"\n", &[]);
        assert_eq!(e.key, "storage.backend");

        let e = load_err("", &[]);
        assert_eq!(e.key, "tenant");

        let e = load_err("[server\nlisten=1", &[]);
        assert!(e.problem.starts_with("invalid TOML"));
    }

    #[test]
    fn secrets_never_appear_in_errors() {
        // A literal secret in a config with a later error must not be echoed.
        let text = MINIMAL
            .replace("env:CONTOSO_SECRET", "SUPERSECRET-123")
            .replace("[tenant.signl4]", "cloud = \"mars\"\n[tenant.signl4]");
        let e = load_err(&text, &[]);
        assert!(!e.to_string().contains("SUPERSECRET"));
        assert_eq!(e.key, "tenant[0].cloud");
    }

    #[test]
    fn sync_settings_are_validated() {
        let with = |extra: &str| MINIMAL.replace("[tenant.signl4]", &format!("{extra}\n[tenant.signl4]"));
        let c = load(MINIMAL, &env(&[("CONTOSO_SECRET", "x")])).unwrap();
        assert!(c.tenants[0].sync.enabled);
        assert_eq!(c.tenants[0].sync.incident_tag.as_deref(), Some("SIGNL4"));
        assert!(c.tenants[0].signl4.inbound_token.is_none());
        let e = load_err(&with("[tenant.sync]\nclose_classification = \"bogus\""), &[("CONTOSO_SECRET", "x")]);
        assert_eq!(e.key, "tenant[0].sync.close_classification");
        assert!(e.fix.contains("truePositive"));
        let e = load_err(&with("[tenant.sync]\nclose_determination = \"malware\""), &[("CONTOSO_SECRET", "x")]);
        assert_eq!(e.key, "tenant[0].sync.close_determination");
        let c = load(&with("[tenant.sync]\nclose_classification = \"truePositive\"\nclose_determination = \"malware\"\nincident_tag = \"\"\n[tenant.sync.user_map]\n\"Rene@SIGNL4.com\" = \"rene@contoso.com\""), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
        assert_eq!(c.tenants[0].sync.incident_tag, None);
        assert_eq!(c.tenants[0].sync.options.owner_for("rene@signl4.com"), "rene@contoso.com");
        let short = MINIMAL.replace("[tenant.signl4]", "[tenant.signl4]\ninbound_token = \"short\"");
        assert_eq!(load_err(&short, &[("CONTOSO_SECRET", "x")]).key, "tenant[0].signl4.inbound_token");
    }

    #[test]
    fn sentinel_workspaces_and_classification_pairs() {
        let ws = |extra: &str| {
            MINIMAL.replace(
                "[tenant.signl4]",
                &format!("[[tenant.sentinel]]\nname = \"prod\"\nsubscription_id = \"s\"\nresource_group = \"rg\"\nworkspace_name = \"ws\"\n{extra}\n[tenant.signl4]"),
            )
        };
        let c = load(&ws(""), &env(&[("CONTOSO_SECRET", "x")])).unwrap();
        let w = &c.tenants[0].sentinel[0];
        assert_eq!((w.api_version.as_str(), w.page_per, w.enrichment_rows), ("2025-12-01", PagePer::Incident, 10));
        assert_eq!(w.close_classification, "Undetermined");
        assert_eq!(w.statuses, vec!["New"]);
        assert!(
            c.tenants[0].filter.exclude_service_sources.contains(&"microsoftSentinel".to_string()),
            "no double paging via Graph"
        );
        for (cl, reason) in [
            ("TruePositive", Some("SuspiciousActivity")),
            ("BenignPositive", Some("SuspiciousButExpected")),
            ("FalsePositive", Some("IncorrectAlertLogic")),
            ("FalsePositive", Some("InaccurateData")),
            ("Undetermined", None),
        ] {
            let extra = match reason {
                Some(r) => format!("close_classification = \"{cl}\"\nclose_classification_reason = \"{r}\""),
                None => format!("close_classification = \"{cl}\""),
            };
            assert!(load(&ws(&extra), &env(&[("CONTOSO_SECRET", "x")])).is_ok(), "{cl} {reason:?}");
        }
        for bad in [
            "close_classification = \"TruePositive\"",
            "close_classification = \"TruePositive\"\nclose_classification_reason = \"InaccurateData\"",
            "close_classification = \"Undetermined\"\nclose_classification_reason = \"SuspiciousActivity\"",
            "close_classification = \"Maybe\"",
        ] {
            let e = load_err(&ws(bad), &[("CONTOSO_SECRET", "x")]);
            assert_eq!(e.key, "tenant[0].sentinel[0].close_classification");
            assert!(
                e.fix.contains("TruePositive → SuspiciousActivity")
                    && e.fix.contains("FalsePositive → IncorrectAlertLogic | InaccurateData")
                    && e.fix.contains("Undetermined (no reason)"),
                "{e}"
            );
        }
        assert_eq!(
            load_err(&ws("page_per = \"team\""), &[("CONTOSO_SECRET", "x")]).key,
            "tenant[0].sentinel[0].page_per"
        );
        assert_eq!(
            load_err(&ws("statuses = [\"Closed\"]"), &[("CONTOSO_SECRET", "x")]).key,
            "tenant[0].sentinel[0].statuses"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let c = load(example(), &env(&[])).unwrap();
        assert_eq!(c.tenants.len(), 1);
        assert_eq!(c.tenants[0].endpoints.graph.as_str(), "http://127.0.0.1:4010/graph");
    }
}
