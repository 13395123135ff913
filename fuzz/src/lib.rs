//! Shared fixtures for the fuzz targets: an environment with nothing in it, the example
//! configuration's tenant and Sentinel workspace, stored alerts, and the page envelopes the
//! connector's adapters read (`value` / `@odata.nextLink` / `nextLink`).
//!
//! The envelope readers mirror `crates/connector/src/clients/graph.rs` (`alerts_page`) and
//! `crates/connector/src/sources/{graph_incidents,sentinel_incidents}.rs` (`next_page`): those
//! live in the connector crate, not in `s4s-core`, so the fuzz targets re-state them here.

use std::sync::OnceLock;

use s4s_core::config::{self, Config, Env, SentinelConfig, TenantConfig};
use s4s_core::records::{AlertRecord, StoredAlert};
use s4s_core::sync::Signl4State;
use serde_json::Value;

/// No environment variables, no files: `env:` / `file:` secrets fail to resolve.
pub struct EmptyEnv;

impl Env for EmptyEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
    fn vars(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("{path}: no files in the fuzzer"))
    }
}

/// The example configuration (`crates/core/example.toml`), loaded once.
pub fn example() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| config::load(config::example(), &EmptyEnv).expect("example.toml loads"))
}

pub fn tenant() -> &'static TenantConfig {
    &example().tenants[0]
}

pub fn workspace() -> &'static SentinelConfig {
    tenant().sentinel()[0]
}

/// A stored alert as the store would return it.
pub fn stored(
    source: &str,
    alert_id: &str,
    version: &str,
    paged: bool,
    state: Signl4State,
    written: Option<&str>,
) -> StoredAlert {
    StoredAlert {
        record: AlertRecord {
            tenant: tenant().name.clone(),
            source: source.into(),
            alert_id: alert_id.into(),
            version: version.into(),
            status: "new".into(),
            severity: "high".into(),
            incident_id: None,
            raw: "{}".into(),
        },
        paged,
        signl4_state: state.as_str().into(),
        written_status: written.map(str::to_string),
        signl4_event_id: None,
        routes: Vec::new(),
        episode: 0,
        grouped_into: None,
        acknowledged_by: None,
        acknowledged_ms: None,
    }
}

/// Every SIGNL4 state a stored alert can be in.
pub const STATES: [Signl4State; 6] = [
    Signl4State::None,
    Signl4State::Open,
    Signl4State::Acknowledged,
    Signl4State::Closed,
    Signl4State::AcknowledgedByPortal,
    Signl4State::ClosedByPortal,
];

/// A Graph `alerts_v2` page as `GraphClient::alerts_page` reads it: `value` must be an array
/// (else the connector answers `UpstreamError::Invalid` "alerts_v2 response has no `value`
/// array"), `@odata.nextLink` is followed verbatim when it is a string.
pub fn graph_alerts_envelope(v: &Value) -> Result<(Vec<Value>, Option<String>), &'static str> {
    let value = match v.get("value") {
        Some(Value::Array(a)) => a.clone(),
        _ => return Err("alerts_v2 response has no `value` array"),
    };
    Ok((value, v.get("@odata.nextLink").and_then(Value::as_str).map(str::to_string)))
}

/// A page as `GraphIncidents::next_page` / `SentinelIncidents::next_page` read it: a missing
/// or non-array `value` is an empty page; `next_key` is `@odata.nextLink` (Graph) or `nextLink`
/// (ARM).
pub fn lenient_envelope(v: &Value, next_key: &str) -> (Vec<Value>, Option<String>) {
    (
        v.get("value").and_then(Value::as_array).cloned().unwrap_or_default(),
        v.get(next_key).and_then(Value::as_str).map(str::to_string),
    )
}

/// Parses the fuzz input as JSON the way the connector's HTTP clients do (`serde_json` on the
/// response body); None for bytes that are not JSON (the client reports an upstream error).
pub fn json(data: &[u8]) -> Option<Value> {
    serde_json::from_slice(data).ok()
}
