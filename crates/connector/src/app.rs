//! Wiring, the only place that knows every source and job kind: configuration → store,
//! tenants, pollers, the job runner and the HTTP server. Used by `run`, `demo` and the tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use s4s_core::config::{Config, SourceConfig, StorageConfig};
use s4s_store::{SqliteStore, Store};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::clients::scheduler::SharedSchedulers;
use crate::http::metrics::metrics_handle;
use crate::http::{ServerState, router};
use crate::jobs::runner::Runner;
use crate::jobs::{
    Registry, annotate, audit, enrich, graph_sync, incident_sync, page, sentinel_page, sentinel_sync, signl4_status,
    summary, verify,
};
use crate::sources::driver::{Poller, Reports};
use crate::sources::webhook::{self, WebhookState};
use crate::sources::{PullSource, graph_alerts, graph_incidents, sentinel_incidents, signl4_rest};
use crate::tenant::{POLL_LEASE, TenantContext};

/// Every job kind this version runs.
fn registry() -> Registry {
    Registry::default()
        .with(page::PageHandler)
        .with(signl4_status::Signl4StatusJob)
        .with(graph_sync::GraphSyncJob)
        .with(incident_sync::IncidentSyncJob)
        .with(sentinel_page::SentinelPage)
        .with(sentinel_sync::SentinelSync)
        .with(enrich::SentinelEnrich)
        .with(verify::Verify)
        .with(summary::SummaryJob)
        .with(annotate::Annotate)
        .with(audit::AuditJob)
}

/// The pollers of one tenant: Microsoft sources under one lease, the SIGNL4 REST fallback
/// under its own.
fn pollers(t: &Arc<TenantContext>, store: &Arc<dyn Store>, wake: &Arc<Notify>) -> Vec<Poller> {
    let mut microsoft: Vec<Box<dyn PullSource>> = Vec::new();
    for source in &t.cfg.sources {
        match source {
            SourceConfig::Graph => {
                microsoft.push(Box::new(graph_alerts::GraphAlerts(t.clone())));
                if t.cfg.sync.enabled {
                    microsoft.push(Box::new(graph_incidents::GraphIncidents(t.clone())));
                }
            }
            SourceConfig::Sentinel(ws) => {
                if let Some(client) = t.workspace(&ws.name) {
                    microsoft.push(Box::new(sentinel_incidents::SentinelIncidents::new(t.clone(), client.clone())));
                }
            }
        }
    }
    let poller = |lease, poll_interval, min_poll_interval, budgets, reports, sources| Poller {
        lease,
        poll_interval,
        min_poll_interval,
        budgets,
        reports,
        tenant: t.clone(),
        sources,
        store: store.clone(),
        wake: wake.clone(),
        no_progress: Default::default(),
        last_reread: Default::default(),
        fence: Default::default(),
    };
    let mut budgets = vec![t.sched.graph.clone()];
    budgets.extend(t.sched.arm.values().cloned());
    let mut out = vec![poller(
        POLL_LEASE.to_string(),
        t.cfg.poll_interval,
        t.cfg.min_poll_interval,
        budgets,
        Reports::Microsoft,
        microsoft,
    )];
    // One REST poller per team with an API key (the tenant's own and each route's own).
    for (i, team) in t.clients.teams.iter().enumerate() {
        if team.api.is_none() || !t.cfg.sync.enabled {
            continue;
        }
        let rest: Vec<Box<dyn PullSource>> = vec![Box::new(signl4_rest::Signl4Rest::new(t.clone(), i))];
        let every = team.opts.api_poll_interval;
        let lease = if i == 0 { "signl4-rest".to_string() } else { format!("signl4-rest.{}", team.route) };
        out.push(poller(lease, every, every, vec![team.rest_sched.clone()], Reports::Signl4Api, rest));
    }
    out
}

/// Every HTTP route (operator routes and the SIGNL4 receiver) with their state; served by
/// `http::serve` (which adds the request and body timeouts).
pub fn http_app(
    cfg: &Config,
    store: &Arc<dyn Store>,
    tenants: &[Arc<TenantContext>],
    board: Arc<crate::selfmon::Board>,
    wake: &Arc<Notify>,
) -> axum::Router {
    let receiver = webhook::routes(WebhookState {
        store: store.clone(),
        tenants: tenants.to_vec(),
        wake: wake.clone(),
        concurrency: cfg.server.webhook_concurrency,
    });
    let auth = Arc::new(crate::http::status::StatusAuth::new(&cfg.server));
    router(
        ServerState {
            store: store.clone(),
            tenants: tenants.to_vec(),
            conditions: board,
            auth,
            wake: wake.clone(),
            probes: Arc::new(crate::http::health::Probes::new(&cfg.server)),
        },
        receiver,
    )
}

/// The router of `cfg` over its store, with the server's timeouts and without any task
/// (no polling, no jobs run, nothing listens): for driving it in-process with
/// `tower::ServiceExt::oneshot` (the webhook-router fuzz target and its in-suite twin).
pub async fn offline_router(cfg: &Config) -> anyhow::Result<(axum::Router, Arc<dyn Store>)> {
    let store = open_store(&cfg.storage).await?;
    let shared = SharedSchedulers::default();
    let tenants: Vec<Arc<TenantContext>> = cfg
        .tenants
        .iter()
        .filter(|t| t.enabled)
        .map(|t| Arc::new(TenantContext::new(t.clone(), &cfg.delivery, "offline", &shared)))
        .collect();
    let app = http_app(cfg, &store, &tenants, Default::default(), &Arc::new(Notify::new()));
    let limits = crate::http::serve::Limits::from_config(&cfg.server);
    Ok((crate::http::serve::with_timeouts(app, &limits), store))
}

pub struct App {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub tenants: Vec<Arc<TenantContext>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    held: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    shutdown_timeout: std::time::Duration,
}

pub async fn open_store(cfg: &StorageConfig) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match cfg {
        StorageConfig::Sqlite { path } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create directory {} for storage.path", dir.display()))?;
            }
            Arc::new(
                SqliteStore::open(path)
                    .await
                    .with_context(|| format!("cannot open SQLite database {} (storage.path)", path.display()))?,
            )
        }
        StorageConfig::Postgres { url } => Arc::new(
            s4s_store::PostgresStore::connect(url).await.context("cannot connect to PostgreSQL (storage.url)")?,
        ),
    })
}

impl App {
    /// Starts everything. Returns once the HTTP server listens.
    pub async fn start(cfg: Config) -> anyhow::Result<App> {
        let _ = metrics_handle();
        crate::redactor::install_redactor(&cfg);
        crate::clients::entra::check_credentials(&cfg).map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        let store = open_store(&cfg.storage).await?;
        let now = s4s_core::timefmt::millis(time::OffsetDateTime::now_utc());
        if store.single_instance() {
            // We hold the database's lock file, so every lease belongs to a dead process.
            let in_flight = store.release_leases(now).await?;
            if in_flight > 0 {
                tracing::warn!(
                    jobs = in_flight,
                    "deliveries were in flight when the previous process stopped; sending them again (SIGNL4 may show a duplicate if it had already accepted one)"
                );
            }
        }
        let unpaused = store.unpause_all(now).await?;
        if unpaused > 0 {
            tracing::info!(jobs = unpaused, "resuming pages parked by an earlier SIGNL4 rejection");
        }
        // One identity per replica: its polling leases and job claims go together.
        let owner = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let shared = SharedSchedulers::default();
        let tenants: Vec<Arc<TenantContext>> = cfg
            .tenants
            .iter()
            .filter(|t| t.enabled)
            .map(|t| Arc::new(TenantContext::new(t.clone(), &cfg.delivery, &owner, &shared)))
            .collect();
        for t in &tenants {
            t.restore_storms(store.as_ref()).await;
        }
        crate::http::metrics::init_series(&tenants);
        let listener = tokio::net::TcpListener::bind(cfg.server.listen)
            .await
            .with_context(|| format!("cannot listen on {} (server.listen)", cfg.server.listen))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let mut tasks = Vec::new();

        let monitor =
            Arc::new(crate::selfmon::SelfMonitor::new(cfg.ops.clone(), tenants.clone(), store.clone(), &owner));
        let app = http_app(&cfg, &store, &tenants, monitor.board.clone(), &wake);
        tasks.push(tokio::spawn(monitor.run(rx.clone())));
        // Timeouts, connection and webhook limits, `ConnectInfo<SocketAddr>` (http/serve.rs).
        let limits = crate::http::serve::Limits::from_config(&cfg.server);
        tasks.push(tokio::spawn(crate::http::serve::serve(listener, app, limits, rx.clone())));

        let held = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let runner = Arc::new(Runner {
            store: store.clone(),
            tenants: tenants.iter().map(|t| (t.cfg.name.clone(), t.clone())).collect::<HashMap<_, _>>(),
            registry: registry(),
            cfg: cfg.delivery.clone(),
            wake: wake.clone(),
            owner,
            held: held.clone(),
        });
        tasks.push(tokio::spawn(runner.run(rx.clone())));
        for t in &tenants {
            for p in pollers(t, &store, &wake) {
                tasks.push(tokio::spawn(p.run(rx.clone())));
            }
        }
        tracing::info!(listen = %addr, tenants = tenants.len(), storage = store.backend(), "signl4-sentinel started");
        let shutdown_timeout = cfg.delivery.shutdown_timeout;
        Ok(App { addr, store, tenants, shutdown: tx, tasks, held, shutdown_timeout })
    }

    /// Graceful stop: nothing more is claimed or polled, the HTTP server stops accepting,
    /// in-flight deliveries finish and commit — within `delivery.shutdown_timeout`. Returns
    /// false when the deadline cut work short (those jobs are in doubt at the next start).
    pub async fn stop(self) -> bool {
        let _ = self.shutdown.send(true);
        let all = async {
            for t in self.tasks {
                let _ = t.await;
            }
        };
        match tokio::time::timeout(self.shutdown_timeout, all).await {
            Ok(()) => true,
            Err(_) => {
                let n = Runner::in_flight(&self.held);
                tracing::error!(
                    in_flight = n,
                    deadline_s = self.shutdown_timeout.as_secs_f64(),
                    "stopping before in-flight work finished (delivery.shutdown_timeout); those deliveries are in doubt and are checked at the next start"
                );
                false
            }
        }
    }
}
