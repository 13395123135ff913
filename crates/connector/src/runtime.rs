//! Per-tenant runtime: configuration, clients and health status.

use std::sync::{Arc, Mutex};

use s4s_core::config::{DeliveryConfig, TenantConfig};
use serde::Serialize;
use time::OffsetDateTime;

use crate::entra::TokenProvider;
use crate::graph::GraphClient;
use crate::signl4::Signl4Client;
use crate::upstream::http_client;

/// Job kind that sends a page to SIGNL4.
pub const JOB_PAGE: &str = "page";
/// Job kind that writes SIGNL4 acknowledgements / closes / notes to a Graph alert.
pub const JOB_GRAPH_SYNC: &str = "graph-sync";
/// Job kind that makes a Graph incident follow its alerts (status, owner, tag).
pub const JOB_INCIDENT_SYNC: &str = "incident-sync";
/// Job kind that closes or acknowledges a SIGNL4 alert after a change in the portal.
pub const JOB_SIGNL4_STATUS: &str = "signl4-status";

#[derive(Debug, Clone, Default, Serialize)]
pub struct TenantStatus {
    pub last_poll_ok: Option<String>,
    pub last_poll_error: Option<String>,
    pub consecutive_poll_failures: u32,
    /// Set when SIGNL4 rejected the team secret: pages are parked until a restart.
    pub signl4_rejected: Option<String>,
    pub pages_sent: u64,
    /// Last error of the SIGNL4 REST polling fallback, if it is failing.
    pub signl4_api_error: Option<String>,
    /// Another replica holds the polling lease for this tenant; this one stands by.
    pub standby: bool,
}

pub struct TenantRuntime {
    pub cfg: TenantConfig,
    /// Identity of this replica's pollers for the polling leases.
    pub owner: String,
    pub tokens: Arc<TokenProvider>,
    pub graph: GraphClient,
    pub signl4: Signl4Client,
    /// Sentinel workspaces of this tenant.
    pub sentinel: Vec<Arc<crate::sentinel::SentinelClient>>,
    status: Mutex<TenantStatus>,
    /// When SIGNL4 last rejected the team secret (to probe again only every few minutes).
    rejected_at: Mutex<Option<std::time::Instant>>,
    /// Fixed-window budget for Graph incident housekeeping (tag, roll-up): (window start, used).
    incident_budget: Mutex<(std::time::Instant, u32)>,
    /// When each source last re-read its overlap window.
    overlap_reads: Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// Graph incident updates (tag, roll-up) allowed per minute and tenant: well under Graph's
/// 150 requests/min (`microsoft-apis.md` §2.8), so polling and alert write-backs keep room.
pub const INCIDENT_JOBS_PER_MINUTE: u32 = 30;

/// While SIGNL4 rejects the team secret, one page is let through this often to notice a
/// fix made on the SIGNL4 side; all others are parked without a request.
pub const REJECTED_PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

impl TenantRuntime {
    pub fn new(cfg: TenantConfig, delivery: &DeliveryConfig) -> TenantRuntime {
        let http = http_client(delivery.request_timeout);
        let tokens = Arc::new(TokenProvider::new(
            http.clone(),
            &cfg.endpoints.authority,
            &cfg.tenant_id,
            &cfg.client_id,
            cfg.client_secret.clone(),
        ));
        let graph = GraphClient::new(http.clone(), &cfg.endpoints.graph, &cfg.scopes.graph, tokens.clone());
        let signl4 = Signl4Client::new(http.clone(), &cfg.endpoints.signl4_webhook, cfg.signl4.team_secret.clone());
        let sentinel = cfg
            .sentinel
            .iter()
            .map(|w| {
                Arc::new(crate::sentinel::SentinelClient::new(
                    http.clone(),
                    &cfg.endpoints,
                    &cfg.scopes,
                    tokens.clone(),
                    w.clone(),
                ))
            })
            .collect();
        TenantRuntime {
            owner: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            cfg,
            tokens,
            graph,
            signl4,
            sentinel,
            status: Mutex::new(TenantStatus::default()),
            rejected_at: Mutex::new(None),
            incident_budget: Mutex::new((std::time::Instant::now(), 0)),
            overlap_reads: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The overlap to apply to `source`'s cursor on this sweep: the configured overlap once
    /// every `overlap_interval` (and on the first sweep after start), zero otherwise. Re-reading
    /// the window catches alerts that become visible late; doing it on every poll would re-list
    /// every recent alert each time (see BENCHMARKS.md).
    pub fn overlap_for(&self, source: &str) -> std::time::Duration {
        let mut m = self.overlap_reads.lock().unwrap_or_else(|e| e.into_inner());
        let due = m.get(source).is_none_or(|t| t.elapsed() >= self.cfg.overlap_interval);
        if due {
            m.insert(source.to_string(), std::time::Instant::now());
            self.cfg.overlap
        } else {
            std::time::Duration::ZERO
        }
    }

    /// Takes one unit of the incident-housekeeping budget, or says how long to wait.
    pub fn take_incident_budget(&self) -> Result<(), std::time::Duration> {
        let mut b = self.incident_budget.lock().unwrap_or_else(|e| e.into_inner());
        let window = std::time::Duration::from_secs(60);
        if b.0.elapsed() >= window {
            *b = (std::time::Instant::now(), 0);
        }
        if b.1 >= INCIDENT_JOBS_PER_MINUTE {
            return Err(
                window.saturating_sub(b.0.elapsed()) + std::time::Duration::from_millis(rand::random::<u64>() % 1000)
            );
        }
        b.1 += 1;
        Ok(())
    }

    pub fn workspace(&self, name: &str) -> Option<&Arc<crate::sentinel::SentinelClient>> {
        self.sentinel.iter().find(|c| c.cfg.name == name)
    }

    fn with<R>(&self, f: impl FnOnce(&mut TenantStatus) -> R) -> R {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn status(&self) -> TenantStatus {
        self.with(|s| s.clone())
    }

    pub fn poll_succeeded(&self) {
        let now = s4s_core::timefmt::odata(OffsetDateTime::now_utc());
        self.with(|s| {
            if s.consecutive_poll_failures > 0 {
                tracing::info!(tenant = %self.cfg.name, "polling Microsoft Graph works again");
            }
            s.last_poll_ok = Some(now);
            s.last_poll_error = None;
            s.consecutive_poll_failures = 0;
        });
        metrics::gauge!("s4s_last_successful_poll_timestamp_seconds", "tenant" => self.cfg.name.clone())
            .set(OffsetDateTime::now_utc().unix_timestamp() as f64);
    }

    /// Records a failed poll; returns true if this error is new (worth an error log).
    pub fn poll_failed(&self, msg: &str) -> bool {
        self.with(|s| {
            s.consecutive_poll_failures += 1;
            let new = s.last_poll_error.as_deref() != Some(msg);
            s.last_poll_error = Some(msg.to_string());
            new
        })
    }

    /// True while SIGNL4 rejects the team secret and no probe is due: park without sending.
    pub fn should_park_pages(&self) -> bool {
        let mut at = self.rejected_at.lock().unwrap_or_else(|e| e.into_inner());
        match *at {
            Some(t) if t.elapsed() < REJECTED_PROBE_INTERVAL => true,
            Some(_) => {
                // Let this one through as a probe; park the rest until it answers.
                *at = Some(std::time::Instant::now());
                false
            }
            None => false,
        }
    }

    /// Records that SIGNL4 rejected the team secret; returns true the first time.
    pub fn signl4_rejected(&self, msg: &str) -> bool {
        *self.rejected_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
        let first = self.with(|s| {
            let first = s.signl4_rejected.is_none();
            s.signl4_rejected = Some(msg.to_string());
            first
        });
        metrics::gauge!("s4s_signl4_team_rejected", "tenant" => self.cfg.name.clone()).set(1.0);
        first
    }

    /// Takes or renews the named polling lease. With one process per SQLite file this always
    /// succeeds; with replicas on PostgreSQL exactly one replica polls each source.
    pub async fn hold_lease(&self, store: &dyn s4s_store::Store, name: &str, ttl: std::time::Duration) -> bool {
        let now = s4s_core::timefmt::millis(OffsetDateTime::now_utc());
        let ttl = ttl.max(std::time::Duration::from_secs(2)).as_millis() as i64;
        match store.try_lease(&format!("{name}:{}", self.cfg.name), &self.owner, now, ttl).await {
            Ok(held) => {
                let was = self.with(|s| std::mem::replace(&mut s.standby, !held));
                if was == held {
                    tracing::info!(tenant = %self.cfg.name, lease = name, active = held, "polling lease {}", if held { "acquired: this replica polls" } else { "held by another replica: standing by" });
                }
                held
            }
            Err(e) => {
                tracing::warn!(tenant = %self.cfg.name, error = %e, "cannot take the polling lease; skipping this cycle");
                false
            }
        }
    }

    pub fn set_signl4_api_error(&self, e: Option<String>) {
        self.with(|s| s.signl4_api_error = e);
    }

    pub fn page_sent(&self) {
        *self.rejected_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.with(|s| {
            s.pages_sent += 1;
            if s.signl4_rejected.take().is_some() {
                metrics::gauge!("s4s_signl4_team_rejected", "tenant" => self.cfg.name.clone()).set(0.0);
            }
        });
    }
}
