//! A team's storm budget settings: `[tenant.signl4.storm]`, or a route's own team's
//! `[tenant.route.storm]` → [`StormPolicy`] (the budget itself is counted in `storm`).

use std::time::Duration;

use serde::Deserialize;

use super::error::{ConfigError, err};
use super::values::duration;
use crate::alert::Severity;

/// A team's storm settings (`[tenant.signl4.storm]`, or a route's own team's `storm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormPolicy {
    /// Pages per window before alerts are held back; 0 = no budget.
    pub budget: u32,
    pub window: Duration,
    /// Pages per window for high-severity alerts and incidents once the budget is spent.
    pub high_lane: u32,
    /// The lowest severity that uses the high lane.
    pub high_severity: Severity,
}

impl Default for StormPolicy {
    fn default() -> StormPolicy {
        StormPolicy { budget: 20, window: Duration::from_secs(300), high_lane: 5, high_severity: Severity::High }
    }
}

/// `[tenant.signl4.storm]` (or a route's own team's `[tenant.route.storm]`).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorm {
    budget: Option<u32>,
    window: Option<String>,
    high_lane: Option<u32>,
    high_severity: Option<String>,
}

impl RawStorm {
    pub(super) fn parse_at(at: &str, raw: Option<RawStorm>) -> Result<StormPolicy, ConfigError> {
        let d = StormPolicy::default();
        let Some(raw) = raw else { return Ok(d) };
        let high_severity = match raw.high_severity.as_deref() {
            None => d.high_severity,
            Some(s @ ("informational" | "low" | "medium" | "high")) => Severity::parse(s),
            Some(other) => {
                return Err(err(
                    format!("{at}.storm.high_severity"),
                    format!("unknown severity \"{other}\""),
                    "use informational, low, medium or high",
                ));
            }
        };
        Ok(StormPolicy {
            budget: raw.budget.unwrap_or(d.budget),
            window: duration(&format!("{at}.storm.window"), raw.window.as_ref(), d.window, Duration::from_secs(1))?,
            high_lane: raw.high_lane.unwrap_or(d.high_lane),
            high_severity,
        })
    }
}
