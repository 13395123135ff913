//! A tenant's health as shown by `/readyz`: last poll, errors, SIGNL4 rejection, standby.

use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, Default, Serialize)]
pub struct TenantStatus {
    pub last_poll_ok: Option<String>,
    pub last_poll_error: Option<String>,
    pub consecutive_poll_failures: u32,
    /// Since when polling has been failing (ms since the epoch; none while it works).
    pub failing_since_ms: Option<i64>,
    /// Set when SIGNL4 rejected the team secret: pages are parked until a restart.
    pub signl4_rejected: Option<String>,
    pub pages_sent: u64,
    /// Last error of the SIGNL4 REST polling fallback, if it is failing.
    pub signl4_api_error: Option<String>,
    /// Since when the SIGNL4 REST fallback has been failing (ms since the epoch).
    pub signl4_api_failing_since_ms: Option<i64>,
    /// Another replica holds the polling lease for this tenant; this one stands by.
    pub standby: bool,
    /// Pages SIGNL4 accepted but that reached nobody (delivery verification, API key only).
    pub pages_not_delivered: u64,
    /// The last of them: external id and why.
    pub last_not_delivered: Option<String>,
    /// The last successful poll (Unix ms), for the status page's lag.
    #[serde(skip)]
    pub last_poll_ok_ms: Option<i64>,
    /// When the next poll of Microsoft Graph / Sentinel starts (Unix ms), and the interval it
    /// waits (adaptive: faster while the budget is mostly free).
    #[serde(skip)]
    pub next_poll_ms: Option<i64>,
    #[serde(skip)]
    pub poll_interval_ms: Option<i64>,
    /// The `SIGNL4_CL` audit upload is failing (e.g. the app lacks *Monitoring Metrics
    /// Publisher* on the DCR); records wait in the store. Readiness is not affected.
    pub audit_error: Option<String>,
}

/// The mutable health record of one tenant.
#[derive(Default)]
pub struct Health {
    tenant: String,
    status: Mutex<TenantStatus>,
}

impl Health {
    pub fn new(tenant: &str) -> Health {
        Health { tenant: tenant.to_string(), status: Mutex::default() }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut TenantStatus) -> R) -> R {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn snapshot(&self) -> TenantStatus {
        self.with(|s| s.clone())
    }

    /// Whether `/readyz` counts this tenant as ready.
    pub fn ready(&self) -> bool {
        self.with(|s| s.signl4_rejected.is_none() && s.consecutive_poll_failures < 3 && s.signl4_api_error.is_none())
    }

    pub fn poll_succeeded(&self) {
        let now = s4s_core::timefmt::odata(OffsetDateTime::now_utc());
        self.with(|s| {
            if s.consecutive_poll_failures > 0 {
                tracing::info!(tenant = %self.tenant, "polling Microsoft Graph works again");
            }
            s.last_poll_ok = Some(now);
            s.last_poll_ok_ms = Some(crate::clock::now_ms());
            s.last_poll_error = None;
            s.consecutive_poll_failures = 0;
            s.failing_since_ms = None;
        });
        metrics::gauge!(crate::telemetry::LAST_SUCCESSFUL_POLL, "tenant" => self.tenant.clone())
            .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
    }

    /// Records a failed poll; returns true if this error is new (worth an error log).
    pub fn poll_failed(&self, msg: &str) -> bool {
        self.with(|s| {
            s.consecutive_poll_failures += 1;
            s.failing_since_ms.get_or_insert_with(crate::clock::now_ms);
            let new = s.last_poll_error.as_deref() != Some(msg);
            s.last_poll_error = Some(msg.to_string());
            new
        })
    }

    /// A verified page reached nobody (shown by `/readyz`; readiness is not affected: the
    /// connector works, the team's duty plan does not).
    pub fn page_not_delivered(&self, what: &str) {
        self.with(|s| {
            s.pages_not_delivered += 1;
            s.last_not_delivered = Some(what.to_string());
        });
    }

    /// The poller waits `interval` and polls next at `at_ms` (Unix ms).
    pub fn set_next_poll(&self, at_ms: i64, interval: std::time::Duration) {
        self.with(|s| {
            s.next_poll_ms = Some(at_ms);
            s.poll_interval_ms = Some(interval.as_millis() as i64);
        });
    }

    /// Records the audit upload's state; returns true when the error is new (worth an error log).
    pub fn set_audit_error(&self, e: Option<String>) -> bool {
        self.with(|s| {
            let new = e.is_some() && s.audit_error != e;
            if e.is_none() && s.audit_error.is_some() {
                tracing::info!(tenant = %self.tenant, "the SIGNL4_CL audit upload works again");
            }
            s.audit_error = e;
            new
        })
    }

    pub fn set_signl4_api_error(&self, e: Option<String>) {
        self.with(|s| {
            match e.is_some() {
                true => _ = s.signl4_api_failing_since_ms.get_or_insert_with(crate::clock::now_ms),
                false => s.signl4_api_failing_since_ms = None,
            }
            s.signl4_api_error = e;
        });
    }

    /// Records whether this replica polls; returns true when that changed.
    pub fn set_standby(&self, standby: bool) -> bool {
        self.with(|s| std::mem::replace(&mut s.standby, standby) != standby)
    }
}
