//! Self-monitoring: every `[ops] check_interval` the connector looks at itself (each tenant's
//! credentials, polling and SIGNL4 health, credential expiry, quarantined items; the
//! database; dead letters),
//! asks core (`s4s_core::selfmon`) which conditions need an admin, and raises each once — an
//! `error` log line, `/readyz`, and with `[ops] team_secret` a page to the admins' SIGNL4 team
//! — and clears it when it is gone (the page is closed by the same external id).
//!
//! Pages go straight to SIGNL4, not through the outbox: the database may be what is down.
//! At most one request per condition change, so no tenant's request budget is involved. The
//! keys raised are kept in the store (cursor `ops:raised`) when it is reachable, so a restart
//! neither pages again nor forgets to close. With replicas, the holder of the `selfmon` lease
//! does this (each replica raises "database unreachable" itself: it cannot ask the others).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use s4s_core::config::OpsConfig;
use s4s_core::selfmon::{self, Condition, Observation, TenantObservation, Thresholds};
use s4s_store::Store;
use secrecy::ExposeSecret;
use tokio::sync::watch;

use crate::clock::now_ms;
use crate::tenant::TenantContext;

const RAISED_CURSOR: (&str, &str) = ("ops", "raised");
const LEASE: &str = "selfmon";

/// The window and bound of the sign-in failures self-monitoring looks at.
pub const RECENT_FAILURE_WINDOW_MS: i64 = 10 * 60_000;
const RECENT_FAILURES_KEPT: usize = 1000;

/// Failed sign-ins of the last [`RECENT_FAILURE_WINDOW_MS`] (at most `RECENT_FAILURES_KEPT`
/// remembered), process-wide: the status page's sign-in records them
/// (`http/status/auth.rs`), self-monitoring raises a burst of them.
pub struct RecentFailures(Mutex<VecDeque<i64>>);

pub static RECENT_FAILURES: RecentFailures = RecentFailures(Mutex::new(VecDeque::new()));

impl RecentFailures {
    /// Records one failed sign-in (the status page's sign-in form calls this).
    pub fn record(&self, now_ms: i64) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= RECENT_FAILURES_KEPT {
            q.pop_front();
        }
        q.push_back(now_ms);
    }

    /// Failed sign-ins within the window before `now_ms`.
    pub fn count(&self, now_ms: i64) -> u64 {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while q.front().is_some_and(|t| now_ms - t >= RECENT_FAILURE_WINDOW_MS) {
            q.pop_front();
        }
        q.len() as u64
    }
}

/// The conditions raised now, for `/readyz` (and the status page).
#[derive(Default)]
pub struct Board {
    raised: Mutex<Vec<Condition>>,
}

impl Board {
    pub fn conditions(&self) -> Vec<Condition> {
        self.raised.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub struct SelfMonitor {
    pub cfg: OpsConfig,
    pub tenants: Vec<Arc<TenantContext>>,
    pub store: Arc<dyn Store>,
    pub owner: String,
    pub board: Arc<Board>,
    http: reqwest::Client,
    /// Keys raised (logged, and paged when there is a team).
    raised: tokio::sync::Mutex<Option<BTreeSet<String>>>,
}

impl SelfMonitor {
    pub fn new(cfg: OpsConfig, tenants: Vec<Arc<TenantContext>>, store: Arc<dyn Store>, owner: &str) -> SelfMonitor {
        SelfMonitor {
            cfg,
            tenants,
            store,
            owner: owner.to_string(),
            board: Arc::default(),
            http: crate::clients::http::http_client(Duration::from_secs(15)),
            raised: tokio::sync::Mutex::new(None),
        }
    }

    /// Checks every `check_interval` until shutdown.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            self.check().await;
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.check_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn observe(&self) -> Observation {
        let now = now_ms();
        let storage_error = self.store.ping().await.err().map(|e| e.to_string());
        let dead_letters = match storage_error {
            None => self.store.job_counts().await.ok().map(|c| c.dead),
            Some(_) => None,
        };
        // (tenant, source, count) of the quarantine; unknown while the database is down.
        let quarantined = match storage_error {
            None => self.store.quarantine_counts().await.unwrap_or_default(),
            Some(_) => Vec::new(),
        };
        let tenants = self
            .tenants
            .iter()
            .map(|t| {
                let s = t.status();
                let tokens = &t.clients.tokens;
                let expiry = match tokens.certificate_not_after() {
                    Some(secs) => Some(("certificate".to_string(), secs * 1000)),
                    None => t
                        .cfg
                        .client_secret_expires
                        .filter(|_| t.cfg.client_secret().is_some())
                        .map(|at| ("client secret".to_string(), at.unix_timestamp() * 1000)),
                };
                TenantObservation {
                    tenant: t.cfg.name.clone(),
                    credential_error: tokens.credential_error(),
                    failing_since_ms: s.failing_since_ms.filter(|_| !s.standby),
                    last_error: s.last_poll_error,
                    signl4_rejected: s.signl4_rejected,
                    signl4_api_failing_since_ms: s.signl4_api_failing_since_ms,
                    signl4_api_error: s.signl4_api_error,
                    credential_expiry: expiry,
                    quarantined: quarantined
                        .iter()
                        .filter(|(tenant, _, _)| *tenant == t.cfg.name)
                        .map(|(_, source, n)| (source.clone(), *n))
                        .collect(),
                }
            })
            .collect();
        // Failed sign-ins to the status page (process-wide, recorded by `http/status/auth.rs`).
        let signin_failures = RECENT_FAILURES.count(now);
        Observation { now_ms: now, tenants, storage_error, dead_letters, signin_failures }
    }

    /// One evaluation: raise what is new, clear what is gone.
    pub async fn check(&self) {
        let obs = self.observe().await;
        let db_up = obs.storage_error.is_none();
        // With replicas, one of them speaks for all (the database being down aside).
        if db_up && !self.store.single_instance() {
            let ttl = (self.cfg.check_interval * 3).as_millis() as i64;
            if !self.store.try_lease(LEASE, &self.owner, obs.now_ms, ttl).await.unwrap_or(false) {
                return;
            }
        }
        let th = Thresholds { failing_after: self.cfg.failing_after, expiry_warning: self.cfg.expiry_warning };
        let now = selfmon::conditions(&obs, th);
        let mut guard = self.raised.lock().await;
        if guard.is_none() && db_up {
            // What a previous run raised (best effort: a fresh start raises again).
            let stored = self.store.get_cursor(RAISED_CURSOR.0, RAISED_CURSOR.1).await.ok().flatten();
            *guard = Some(stored.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default());
        }
        let raised = guard.get_or_insert_with(BTreeSet::new);
        let (raise, clear) = selfmon::changes(raised, &now);
        let (raise, clear): (Vec<Condition>, Vec<String>) = (raise.into_iter().cloned().collect(), clear);
        let mut changed = false;
        for c in &raise {
            tracing::error!(condition = %c.key, tenant = c.tenant.as_deref().unwrap_or("-"), detail = %c.detail, fix = %c.fix, "{}", c.title);
            if self.send(&selfmon::raise_body(c)).await {
                raised.insert(c.key.clone());
                changed = true;
                metrics::counter!(crate::telemetry::OPS_PAGES, "what" => "raised").increment(1);
            }
        }
        for key in clear {
            tracing::info!(condition = %key, "recovered: {key}");
            if self.send(&selfmon::clear_body(&key)).await {
                raised.remove(&key);
                changed = true;
                metrics::counter!(crate::telemetry::OPS_PAGES, "what" => "cleared").increment(1);
            }
        }
        if changed && db_up {
            let v = serde_json::to_string(&*raised).unwrap_or_default();
            if let Err(e) = self.store.set_cursor(RAISED_CURSOR.0, RAISED_CURSOR.1, &v, obs.now_ms).await {
                tracing::warn!(error = %e, "cannot record the raised self-monitoring conditions");
            }
        }
        metrics::gauge!(crate::telemetry::OPS_CONDITIONS).set(now.len() as f64);
        *self.board.raised.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }

    /// Sends one body to the `[ops]` team; true when SIGNL4 took it (or there is no team).
    async fn send(&self, body: &serde_json::Map<String, serde_json::Value>) -> bool {
        let Some(secret) = &self.cfg.team_secret else { return true };
        let url = format!("{}/{}", self.cfg.webhook.as_str().trim_end_matches('/'), secret.expose_secret());
        match self.http.post(&url).json(body).send().await {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                // SIGNL4 echoes an unknown secret in its 404 body (signl4.md §1.6): status only.
                tracing::error!(
                    status = r.status().as_u16(),
                    "the [ops] SIGNL4 team did not accept a self-monitoring page (check ops.team_secret)"
                );
                false
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "cannot reach SIGNL4 for a self-monitoring page; trying again at the next check");
                false
            }
        }
    }
}
