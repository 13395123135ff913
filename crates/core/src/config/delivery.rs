//! The `[delivery]` section: concurrency, leases, backoff and timeouts of SIGNL4 deliveries.

use std::time::Duration;

use serde::Deserialize;

use super::error::{ConfigError, err};
use super::values::{duration, opt_u64};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    #[serde(default, deserialize_with = "opt_u64")]
    concurrency: Option<u64>,
    dead_letter_after: Option<String>,
    lease: Option<String>,
    initial_backoff: Option<String>,
    max_backoff: Option<String>,
    request_timeout: Option<String>,
    shutdown_timeout: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Concurrent SIGNL4 deliveries.
    pub concurrency: usize,
    /// A job still failing this long after it was created moves to the dead-letter state.
    pub dead_letter_after: Duration,
    /// How long a worker owns a claimed job before another may take it over. Renewed every
    /// third of it while the job runs, so a job of a replica that died is retried within
    /// about this long.
    pub lease: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
    /// On SIGTERM / Ctrl-C: how long in-flight deliveries may take to finish and commit
    /// before the process exits anyway (what is cut then is in doubt at the next start).
    pub shutdown_timeout: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            concurrency: 4,
            dead_letter_after: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(10),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

impl DeliveryConfig {
    pub(super) fn from_raw(rd: RawDelivery) -> Result<DeliveryConfig, ConfigError> {
        let d = DeliveryConfig::default();
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
            shutdown_timeout: duration(
                "delivery.shutdown_timeout",
                rd.shutdown_timeout.as_ref(),
                d.shutdown_timeout,
                Duration::from_millis(0),
            )?,
        };
        if delivery.max_backoff < delivery.initial_backoff {
            return Err(err(
                "delivery.max_backoff",
                "is shorter than delivery.initial_backoff",
                "make max_backoff ≥ initial_backoff",
            ));
        }
        Ok(delivery)
    }
}
