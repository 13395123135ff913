//! Configuration: TOML file + environment overrides → validated [`Config`].
//!
//! Parsing and validation are pure; the only inputs from the outside world (environment
//! variables and secret files) come in through the [`Env`] trait so tests use plain data.
//! Every error names the key (`tenant[0].poll_interval`) and says how to fix it; secret values
//! never appear in errors or `Debug` output.
//!
//! One module per section, each owning its file shape (`Raw*`) and its validation:
//! `server`, `storage`, `delivery` and `tenant` (which assembles a tenant from `endpoints`,
//! `signl4`, `sync` and `sentinel`); below them `values` (durations, secrets, URLs), `env`
//! (environment and overrides) and `error`. Everything public is re-exported here.

mod audit;
mod credential;
mod delivery;
mod endpoints;
mod env;
mod error;
mod limits;
mod ops;
mod routes;
mod sentinel;
mod server;
mod signl4;
mod storage;
mod storm;
mod sync;
mod tenant;
#[cfg(test)]
mod tests;
mod values;

use secrecy::ExposeSecret;
use serde::Deserialize;

pub use audit::{AuditConfig, DEFAULT_STREAM, MAX_REQUEST_BYTES};
pub use credential::{
    AssertionAlgorithm, CertificateCredential, Credential, IMDS_DEFAULT, ManagedIdentity, ManagedIdentitySource,
    env_names,
};
pub use delivery::DeliveryConfig;
pub use endpoints::{Cloud, Endpoints, Scopes};
pub use env::{ENV_PREFIX, Env, ProcessEnv};
pub use error::ConfigError;
pub use limits::LimitsConfig;
pub use ops::{KEY_OPS_TEAM_SECRET, KEY_OPS_WEBHOOK, OpsConfig};
pub use routes::{Route, team_secret_key};
pub use sentinel::{CLASSIFICATION_REASONS, PagePer, SentinelConfig, check_classification};
pub use server::{ADMIN_TOKEN_MIN_LEN, ServerConfig};
pub use signl4::{Fallback, GroupBy, KEY_API_KEY, KEY_TEAM_SECRET, SCENARIOS, Signl4Options};
pub use storage::StorageConfig;
pub use storm::StormPolicy;
pub use sync::{CLASSIFICATIONS, DETERMINATIONS, SyncConfig};
pub use tenant::{SourceConfig, TenantConfig};
pub use values::parse_duration;

use env::apply_env_overrides;
use error::err;

/// The file's top level.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: server::RawServer,
    #[serde(default)]
    storage: storage::RawStorage,
    #[serde(default)]
    delivery: delivery::RawDelivery,
    #[serde(default, rename = "tenant")]
    tenants: Vec<tenant::RawTenant>,
    ops: Option<ops::RawOps>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub delivery: DeliveryConfig,
    pub tenants: Vec<TenantConfig>,
    /// Self-monitoring (`[ops]`).
    pub ops: OpsConfig,
}

impl TenantConfig {
    /// Where an alert no route matched goes (`routing::select`): the default route, or none
    /// when the tenant drops unrouted alerts (`signl4.unrouted = "drop"`).
    pub fn unrouted(&self) -> Option<&Route> {
        self.unrouted_pages.then_some(&self.default_route)
    }
}

/// Parses and validates a configuration file's text.
pub fn load(text: &str, env: &dyn Env) -> Result<Config, ConfigError> {
    let mut tree: toml::Value = toml::from_str(text).map_err(|e| {
        let key = e
            .span()
            .map(|s| format!("line {}", crate::text::prefix_bytes(text, s.start).lines().count().max(1)))
            .unwrap_or_default();
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

/// Validates the sections in the order server, storage, delivery, tenants, ops; the first error wins.
fn validate(raw: RawConfig, env: &dyn Env) -> Result<Config, ConfigError> {
    Ok(Config {
        server: ServerConfig::from_raw(raw.server, env)?,
        storage: StorageConfig::from_raw(raw.storage, env)?,
        delivery: DeliveryConfig::from_raw(raw.delivery)?,
        tenants: tenant::from_raw(raw.tenants, env)?,
        ops: OpsConfig::from_raw(raw.ops, env)?,
    })
}

/// Checks that secrets never leak through `Debug`.
pub fn debug_is_redacted(c: &Config) -> bool {
    let dbg = format!("{c:?}");
    c.tenants.iter().all(|t| {
        t.credential.secrets().iter().all(|s| !dbg.contains(s)) && !dbg.contains(t.signl4.team_secret.expose_secret())
    })
}

/// A commented example configuration that works against `signl4-sentinel emulator` on its
/// default port.
pub fn example() -> &'static str {
    include_str!("../../example.toml")
}
