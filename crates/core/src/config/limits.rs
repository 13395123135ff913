//! A tenant's `[tenant.limits]` section: how much of each upstream's documented limit the
//! connector may use, and the limits themselves where a tenant's differ.

use serde::Deserialize;

use super::error::{ConfigError, err};
use super::values::opt_u64;
use crate::budget::BudgetSpec;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    share: Option<f64>,
    #[serde(default, deserialize_with = "opt_u64")]
    graph_requests_per_minute: Option<u64>,
}

/// Request budgets per upstream (`budget.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct LimitsConfig {
    /// Share of every documented limit the connector uses (default 0.8: 20 % stays free for
    /// other apps and for safety).
    pub share: f64,
    /// Graph security API requests per minute per app and tenant (`microsoft-apis.md` §2.8).
    pub graph_requests_per_minute: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { share: 0.8, graph_requests_per_minute: 150 }
    }
}

impl LimitsConfig {
    pub(super) fn from_raw(prefix: &str, raw: RawLimits) -> Result<LimitsConfig, ConfigError> {
        let k = |field: &str| format!("{prefix}.limits.{field}");
        let share = raw.share.unwrap_or(0.8);
        if !(share > 0.0 && share <= 1.0) {
            return Err(err(
                k("share"),
                format!("{share} is out of range"),
                "use a fraction above 0 and at most 1 (0.8 = use at most 80 % of each limit)",
            ));
        }
        let graph_requests_per_minute = match raw.graph_requests_per_minute {
            None => 150,
            Some(n @ 1..=100_000) => n as u32,
            Some(n) => {
                return Err(err(
                    k("graph_requests_per_minute"),
                    format!("{n} is out of range"),
                    "use 1 to 100000 (Graph documents 150)",
                ));
            }
        };
        Ok(LimitsConfig { share, graph_requests_per_minute })
    }

    /// The Graph budget (smoothed per-minute window, `budget.rs`).
    pub fn graph(&self) -> BudgetSpec {
        BudgetSpec::per_minute(self.graph_requests_per_minute, self.share)
    }
}
