//! A tenant's optional `[tenant.audit]` section: the `SIGNL4_CL` audit trail through the Logs
//! Ingestion API (`microsoft-apis.md` §5.2): data collection endpoint, rule, stream, batching.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::endpoints::Endpoints;
use super::error::{ConfigError, err};
use super::values::{duration, opt_bool, opt_u64};

/// The stream of the data collection rule `deploy/bicep/main.bicep` creates.
pub const DEFAULT_STREAM: &str = "Custom-SIGNL4_CL";

/// The Logs Ingestion API's limit per call: 1 MB, compressed or not (§5.2). Batches stay
/// below this many bytes of uncompressed JSON, so they are below it compressed too.
pub const MAX_REQUEST_BYTES: usize = 1_000_000;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    #[serde(default, deserialize_with = "opt_bool")]
    enabled: Option<bool>,
    /// The data collection endpoint's logs ingestion URI; default `[tenant.endpoints]
    /// logs_ingestion` when that is set.
    endpoint: Option<String>,
    dcr_immutable_id: Option<String>,
    stream: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    batch: Option<u64>,
    interval: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    max_request_bytes: Option<u64>,
}

/// Where and how the audit trail is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The data collection endpoint (DCE) logs ingestion URI, e.g.
    /// `https://signl4-sentinel-dce-abcd.westeurope-1.ingest.monitor.azure.com`.
    pub endpoint: Url,
    /// The DCR's immutable id (`dcr-…`).
    pub dcr_immutable_id: String,
    /// The DCR's stream (default `Custom-SIGNL4_CL`, as the Bicep template declares it).
    pub stream: String,
    /// Most records per request (default 500).
    pub batch: usize,
    /// How long a record may wait for others to share its request (default 5 s).
    pub interval: Duration,
    /// Largest request body, uncompressed (default and most 1,000,000 bytes: the API takes
    /// 1 MB per call).
    pub max_request_bytes: usize,
}

impl AuditConfig {
    /// `POST {endpoint}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01` (§5.2).
    pub fn upload_url(&self) -> String {
        format!(
            "{}/dataCollectionRules/{}/streams/{}?api-version=2023-01-01",
            self.endpoint.as_str().trim_end_matches('/'),
            self.dcr_immutable_id,
            self.stream
        )
    }
}

/// Validates `<prefix>.audit`; `None` (absent or `enabled = false`): no audit trail.
pub(super) fn from_raw(
    prefix: &str,
    raw: Option<RawAudit>,
    endpoints: &Endpoints,
    preset_ingestion: &Url,
) -> Result<Option<AuditConfig>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.enabled == Some(false) {
        return Ok(None);
    }
    let k = |field: &str| format!("{prefix}.audit.{field}");
    let endpoint = match &raw.endpoint {
        Some(e) => {
            let u = Url::parse(e.trim_end_matches('/')).map_err(|x| {
                err(
                    k("endpoint"),
                    format!("invalid URL \"{e}\": {x}"),
                    "use the DCE's logs ingestion URI (https://…ingest.monitor.azure.com)",
                )
            })?;
            if u.scheme() != "https" && u.scheme() != "http" {
                return Err(err(
                    k("endpoint"),
                    format!("unsupported scheme \"{}\"", u.scheme()),
                    "use an https:// URL",
                ));
            }
            super::endpoints::check_endpoint(&k("endpoint"), &u, endpoints.allow_insecure_http, prefix)?;
            u
        }
        // `[tenant.endpoints] logs_ingestion` set to something other than the cloud's audience.
        None if &endpoints.logs_ingestion != preset_ingestion => endpoints.logs_ingestion.clone(),
        None => {
            return Err(err(
                k("endpoint"),
                "is missing",
                "set it to the data collection endpoint's logs ingestion URI (the Bicep output logsIngestionEndpoint)",
            ));
        }
    };
    let dcr = raw.dcr_immutable_id.unwrap_or_default();
    if dcr.trim().is_empty() {
        return Err(err(
            k("dcr_immutable_id"),
            "is missing",
            "set it to the data collection rule's immutable id (\"dcr-…\", the Bicep output dcrImmutableId)",
        ));
    }
    if !dcr.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(err(
            k("dcr_immutable_id"),
            format!("\"{dcr}\" is not an immutable id"),
            "use the DCR's immutable id, like dcr-0123456789abcdef0123456789abcdef",
        ));
    }
    let stream = raw.stream.unwrap_or_else(|| DEFAULT_STREAM.to_string());
    let name = stream.strip_prefix("Custom-").unwrap_or_default();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(err(
            k("stream"),
            format!("\"{stream}\" is not a custom stream"),
            format!("use the DCR's stream declaration, \"{DEFAULT_STREAM}\" for the Bicep template"),
        ));
    }
    let batch = match raw.batch {
        None => 500,
        Some(n @ 1..=10_000) => n as usize,
        Some(n) => return Err(err(k("batch"), format!("{n} is out of range"), "use 1 to 10000 records per request")),
    };
    let max_request_bytes = match raw.max_request_bytes {
        None => MAX_REQUEST_BYTES,
        Some(n) if (1024..=MAX_REQUEST_BYTES as u64).contains(&n) => n as usize,
        Some(n) => {
            return Err(err(
                k("max_request_bytes"),
                format!("{n} is out of range"),
                format!("use 1024 to {MAX_REQUEST_BYTES} (the Logs Ingestion API takes 1 MB per call)"),
            ));
        }
    };
    let interval = duration(&k("interval"), raw.interval.as_ref(), Duration::from_secs(5), Duration::ZERO)?;
    Ok(Some(AuditConfig { endpoint, dcr_immutable_id: dcr, stream, batch, interval, max_request_bytes }))
}
