//! The `[[tenant]]` sections: identity, polling, alert filter, and the assembly of each tenant's sub-sections.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::audit::{self, AuditConfig, RawAudit};
use super::credential::{self, Credential, RawCredential, env_names};
use super::endpoints::{self, Endpoints, RawEndpoints, Scopes};
use super::env::Env;
use super::error::{ConfigError, err};
use super::limits::{LimitsConfig, RawLimits};
use super::routes::{self, RawRoute, Route};
use super::sentinel::{self, RawSentinel, SentinelConfig};
use super::signl4::{RawSignl4, Signl4Options};
use super::sync::{RawSync, SyncConfig};
use super::values::{check_name, duration, opt_bool, opt_list, opt_u64};
use crate::alert::Severity;
use crate::filter::AlertFilter;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTenant {
    name: String,
    /// Default: `AZURE_TENANT_ID`.
    tenant_id: Option<String>,
    /// Default: `AZURE_CLIENT_ID`; optional for a system-assigned managed identity.
    client_id: Option<String>,
    /// `secret` | `certificate` | `managed_identity` | `workload_identity`; default: the kind
    /// whose keys are set (`credential.rs`).
    credential: Option<String>,
    client_secret: Option<String>,
    /// When the client secret expires (the portal shows it): self-monitoring warns before.
    client_secret_expires: Option<String>,
    certificate_path: Option<String>,
    certificate_password: Option<String>,
    certificate_algorithm: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    send_certificate_chain: Option<bool>,
    federated_token_file: Option<String>,
    identity_header: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    enabled: Option<bool>,
    cloud: Option<String>,
    #[serde(default)]
    endpoints: RawEndpoints,
    poll_interval: Option<String>,
    min_poll_interval: Option<String>,
    late_window: Option<String>,
    lookback: Option<String>,
    overlap: Option<String>,
    overlap_interval: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    page_size: Option<u64>,
    #[serde(default)]
    filter: RawFilter,
    signl4: Option<RawSignl4>,
    #[serde(default)]
    route: Vec<RawRoute>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default, deserialize_with = "opt_bool")]
    graph: Option<bool>,
    #[serde(default)]
    sentinel: Vec<RawSentinel>,
    audit: Option<RawAudit>,
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

/// One source a tenant reads. The file keeps its own keys for each (`graph = true`,
/// `[[tenant.sentinel]]`); [`TenantConfig::graph`] and [`TenantConfig::sentinel`] read them back.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// Microsoft Graph Security alerts (and, with sync, their incidents).
    Graph,
    /// A Sentinel workspace read through the Azure REST API.
    Sentinel(Box<SentinelConfig>),
}

#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Short name used in logs, metrics and dedup keys.
    pub name: String,
    pub tenant_id: String,
    /// The app's (or user-assigned managed identity's) client id; empty for a
    /// system-assigned managed identity.
    pub client_id: String,
    /// How tokens are obtained (`credential`).
    pub credential: Credential,
    /// `client_secret_expires`: the secret's expiry (self-monitoring warns before it).
    pub client_secret_expires: Option<time::OffsetDateTime>,
    pub enabled: bool,
    pub endpoints: Endpoints,
    pub scopes: Scopes,
    /// The slowest poll interval: polling backs off to it under load or throttling.
    pub poll_interval: Duration,
    /// The fastest poll interval, used while the request budget is mostly free (equal to
    /// `poll_interval`: fixed interval).
    pub min_poll_interval: Duration,
    /// Every poll re-reads this much behind the cursor (by id and version only, cheap), so an
    /// alert that becomes visible late is paged within seconds; 0 = off.
    pub late_window: Duration,
    pub lookback: Duration,
    pub overlap: Duration,
    /// How often a sweep re-reads the `overlap` window (other sweeps start at the cursor).
    pub overlap_interval: Duration,
    pub page_size: u32,
    pub filter: AlertFilter,
    pub signl4: Signl4Options,
    /// `[[tenant.route]]`, in order (`routing::select`).
    pub routes: Vec<Route>,
    /// The tenant's own team as a route: where alerts no route matched go.
    pub default_route: Route,
    /// Alerts no route matched page the default route (`signl4.unrouted = "page"`, the
    /// default) or nothing (`"drop"`).
    pub unrouted_pages: bool,
    pub sync: SyncConfig,
    pub limits: LimitsConfig,
    /// What the tenant reads: Graph Security alerts (`graph`, default true) and each
    /// `[[tenant.sentinel]]` workspace, in that order.
    pub sources: Vec<SourceConfig>,
    /// `[tenant.audit]`: the `SIGNL4_CL` audit trail; `None`: none is written.
    pub audit: Option<AuditConfig>,
}

/// Validates the `[[tenant]]` sections: at least one, each with a unique name.
pub(super) fn from_raw(raw: Vec<RawTenant>, env: &dyn Env) -> Result<Vec<TenantConfig>, ConfigError> {
    if raw.is_empty() {
        return Err(err(
            "tenant",
            "no tenant configured",
            "add at least one [[tenant]] section (see `signl4-sentinel config example`)",
        ));
    }
    let mut tenants: Vec<TenantConfig> = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let tenant = TenantConfig::from_raw(&format!("tenant[{i}]"), t, &tenants, env)?;
        tenants.push(tenant);
    }
    Ok(tenants)
}

impl TenantConfig {
    /// Whether the tenant reads Graph Security alerts (`graph`, default true).
    pub fn graph(&self) -> bool {
        self.sources.iter().any(|s| matches!(s, SourceConfig::Graph))
    }

    /// The Sentinel workspaces the tenant reads (`[[tenant.sentinel]]`), in order.
    pub fn sentinel(&self) -> Vec<&SentinelConfig> {
        self.sources
            .iter()
            .filter_map(|s| match s {
                SourceConfig::Sentinel(w) => Some(w.as_ref()),
                SourceConfig::Graph => None,
            })
            .collect()
    }

    /// The app secret, when the tenant uses one (`credential = "secret"`).
    pub fn client_secret(&self) -> Option<&SecretString> {
        match &self.credential {
            Credential::Secret { client_secret } => Some(client_secret),
            _ => None,
        }
    }

    /// Validates one tenant, `prefix` being its key (`tenant[0]`); `earlier` are the tenants
    /// before it, whose names it must not repeat.
    fn from_raw(
        prefix: &str,
        mut t: RawTenant,
        earlier: &[TenantConfig],
        env: &dyn Env,
    ) -> Result<TenantConfig, ConfigError> {
        let k = |field: &str| format!("{prefix}.{field}");
        check_name(k("name"), &t.name, "tenant", earlier.iter().any(|x| x.name == t.name))?;
        let Some(tenant_id) = t.tenant_id.or_else(|| env.var(env_names::TENANT_ID)) else {
            return Err(err(
                k("tenant_id"),
                "is missing",
                "set tenant_id to the Directory (tenant) ID from Entra ID → Overview, or export AZURE_TENANT_ID",
            ));
        };
        if tenant_id.trim().is_empty() {
            return Err(err(k("tenant_id"), "is empty", "use the Directory (tenant) ID from Entra ID → Overview"));
        }
        let client_id = t.client_id.or_else(|| env.var(env_names::CLIENT_ID).filter(|c| !c.trim().is_empty()));
        if client_id.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err(err(k("client_id"), "is empty", "use the Application (client) ID of the app registration"));
        }
        if t.endpoints.authority.is_none() {
            t.endpoints.authority = env.var(env_names::AUTHORITY_HOST).filter(|a| !a.trim().is_empty());
        }
        let (endpoints, scopes) = endpoints::resolve(prefix, t.cloud.as_ref(), &t.endpoints)?;
        let preset_ingestion = endpoints::Cloud::parse(t.cloud.as_deref().unwrap_or("public"))
            .map(|c| c.preset().0.logs_ingestion)
            .unwrap_or_else(|| endpoints.logs_ingestion.clone());
        let audit = audit::from_raw(prefix, t.audit.take(), &endpoints, &preset_ingestion)?;
        let raw_credential = RawCredential {
            credential: t.credential.take(),
            client_secret: t.client_secret.take(),
            certificate_path: t.certificate_path.take(),
            certificate_password: t.certificate_password.take(),
            certificate_algorithm: t.certificate_algorithm.take(),
            send_certificate_chain: t.send_certificate_chain,
            federated_token_file: t.federated_token_file.take(),
            identity_header: t.identity_header.take(),
            imds: t.endpoints.imds.take(),
            identity: t.endpoints.identity.take(),
        };
        let credential = credential::resolve(prefix, raw_credential, client_id.as_deref(), env)?;
        let client_secret_expires = match t.client_secret_expires.as_deref() {
            None => None,
            Some(v) => Some(expiry_date(v).ok_or_else(|| {
                err(
                    k("client_secret_expires"),
                    format!("\"{v}\" is not a date"),
                    "use the date the portal shows under Certificates & secrets → Expires, e.g. \"2027-03-31\"",
                )
            })?),
        };
        let mut filter = filter_from_raw(prefix, t.filter)?;
        let unrouted = t.signl4.as_ref().and_then(|s| s.unrouted.clone());
        let signl4 = Signl4Options::from_raw(prefix, t.signl4, env)?;
        let unrouted_pages = match unrouted.as_deref().unwrap_or("page") {
            "page" => true,
            "drop" => {
                if t.route.is_empty() {
                    return Err(err(
                        k("signl4.unrouted"),
                        "is \"drop\" but the tenant has no [[tenant.route]]: nothing would ever page",
                        "add routes, or remove signl4.unrouted",
                    ));
                }
                false
            }
            other => {
                return Err(err(
                    k("signl4.unrouted"),
                    format!("unknown value \"{other}\""),
                    "use \"page\" (alerts no route matched page this team) or \"drop\" (they are stored, not paged)",
                ));
            }
        };
        let routes = routes::from_raw(prefix, t.route, &signl4, env)?;
        let default_route = Route::default_route(&signl4);
        let sync = SyncConfig::from_raw(prefix, t.sync)?;
        let sentinel = sentinel::from_raw(prefix, t.sentinel)?;
        let limits = LimitsConfig::from_raw(prefix, t.limits)?;
        let graph_enabled = t.graph.unwrap_or(true);
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
        let poll_interval = duration(
            &k("poll_interval"),
            t.poll_interval.as_ref(),
            Duration::from_secs(10),
            Duration::from_millis(100),
        )?;
        let min_poll_interval = duration(
            &k("min_poll_interval"),
            t.min_poll_interval.as_ref(),
            Duration::from_secs(2),
            Duration::from_millis(100),
        )?
        .min(poll_interval);
        Ok(TenantConfig {
            name: t.name,
            tenant_id,
            client_id: client_id.unwrap_or_default(),
            credential,
            client_secret_expires,
            enabled: t.enabled.unwrap_or(true),
            endpoints,
            scopes,
            poll_interval,
            min_poll_interval,
            late_window: duration(&k("late_window"), t.late_window.as_ref(), Duration::from_secs(30), Duration::ZERO)?,
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
            signl4,
            routes,
            default_route,
            unrouted_pages,
            sync,
            limits,
            sources: graph_enabled
                .then_some(SourceConfig::Graph)
                .into_iter()
                .chain(sentinel.into_iter().map(|w| SourceConfig::Sentinel(Box::new(w))))
                .collect(),
            audit,
        })
    }
}

/// Validates `<prefix>.filter`: which Graph alerts page.
fn filter_from_raw(prefix: &str, f: RawFilter) -> Result<AlertFilter, ConfigError> {
    let k = |field: &str| format!("{prefix}.{field}");
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
    Ok(AlertFilter {
        min_severity,
        include_service_sources: f.include_service_sources.unwrap_or_default(),
        exclude_service_sources: f.exclude_service_sources.unwrap_or_default(),
        statuses,
    })
}

/// A date (`2027-03-31`, midnight UTC) or a timestamp (RFC 3339).
fn expiry_date(v: &str) -> Option<time::OffsetDateTime> {
    let d = time::Date::parse(v.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok();
    d.map(|d| d.midnight().assume_utc()).or_else(|| crate::timefmt::parse(v))
}
