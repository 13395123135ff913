//! The `[ops]` section: the SIGNL4 team the connector pages about itself (self-monitoring).

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::env::Env;
use super::error::ConfigError;
use super::values::{duration, resolve_secret, url};

/// The `[ops]` keys that messages outside the configuration name.
pub const KEY_OPS_TEAM_SECRET: &str = "ops.team_secret";
pub const KEY_OPS_WEBHOOK: &str = "ops.webhook";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOps {
    team_secret: Option<String>,
    webhook: Option<String>,
    failing_after: Option<String>,
    expiry_warning: Option<String>,
    check_interval: Option<String>,
}

/// Self-monitoring. Without `[ops]` (or without its `team_secret`) the same conditions are
/// logged at `error` level and shown by `/readyz`; with it they also page this team, one
/// SIGNL4 alert per condition, closed when the condition clears.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    /// The admins' SIGNL4 team (`None`: log and `/readyz` only).
    pub team_secret: Option<SecretString>,
    /// SIGNL4 inbound webhook base (default `https://connect.signl4.com/webhook`).
    pub webhook: Url,
    /// An upstream failing this long is a condition (default 10 min).
    pub failing_after: Duration,
    /// A client secret or certificate expiring within this is a condition (default 14 days).
    pub expiry_warning: Duration,
    /// How often the conditions are evaluated (default 30 s).
    pub check_interval: Duration,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            team_secret: None,
            webhook: Url::parse("https://connect.signl4.com/webhook").expect("static URL"),
            failing_after: Duration::from_secs(600),
            expiry_warning: Duration::from_secs(14 * 86_400),
            check_interval: Duration::from_secs(30),
        }
    }
}

impl OpsConfig {
    pub(super) fn from_raw(raw: Option<RawOps>, env: &dyn Env) -> Result<OpsConfig, ConfigError> {
        let d = OpsConfig::default();
        let Some(r) = raw else { return Ok(d) };
        Ok(OpsConfig {
            team_secret: match &r.team_secret {
                Some(_) => Some(resolve_secret("ops.team_secret", r.team_secret.as_ref(), env)?),
                None => None,
            },
            webhook: url("ops.webhook", r.webhook.as_ref(), &d.webhook)?,
            failing_after: duration(
                "ops.failing_after",
                r.failing_after.as_ref(),
                d.failing_after,
                Duration::from_secs(1),
            )?,
            expiry_warning: duration(
                "ops.expiry_warning",
                r.expiry_warning.as_ref(),
                d.expiry_warning,
                Duration::from_secs(3600),
            )?,
            check_interval: duration(
                "ops.check_interval",
                r.check_interval.as_ref(),
                d.check_interval,
                Duration::from_millis(100),
            )?,
        })
    }
}
