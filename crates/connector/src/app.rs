//! Wiring: configuration → store, clients, pollers, delivery workers and the HTTP server.
//! Used by `run`, `demo` and the end-to-end tests alike.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use s4s_core::config::{Config, StorageConfig};
use s4s_store::{SqliteStore, Store};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::delivery::Delivery;
use crate::runtime::TenantRuntime;
use crate::server::{ServerState, metrics_handle, router};

pub struct App {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub tenants: Vec<Arc<TenantRuntime>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
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
        let tenants: Vec<Arc<TenantRuntime>> = cfg
            .tenants
            .iter()
            .filter(|t| t.enabled)
            .map(|t| Arc::new(TenantRuntime::new(t.clone(), &cfg.delivery)))
            .collect();
        let listener = tokio::net::TcpListener::bind(cfg.server.listen)
            .await
            .with_context(|| format!("cannot listen on {} (server.listen)", cfg.server.listen))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let mut tasks = Vec::new();

        let app = router(ServerState { store: store.clone(), tenants: tenants.clone(), wake: wake.clone() });
        let mut srx = rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = srx.wait_for(|v| *v).await;
                })
                .await;
        }));

        let owner = format!("{}-{}", std::process::id(), rand::random::<u32>());
        let delivery = Arc::new(Delivery {
            store: store.clone(),
            tenants: tenants.iter().map(|t| (t.cfg.name.clone(), t.clone())).collect::<HashMap<_, _>>(),
            cfg: cfg.delivery.clone(),
            wake: wake.clone(),
            owner,
        });
        tasks.push(tokio::spawn(delivery.run(rx.clone())));
        for t in &tenants {
            tasks.push(tokio::spawn(crate::poller::run(t.clone(), store.clone(), wake.clone(), rx.clone())));
            if let (Some(key), true) = (&t.cfg.signl4.api_key, t.cfg.sync.enabled) {
                let api = crate::signl4_rest::Signl4Api::new(
                    crate::upstream::http_client(cfg.delivery.request_timeout),
                    &t.cfg.endpoints.signl4_api,
                    key.clone(),
                    t.cfg.signl4.team_id.clone(),
                );
                tasks.push(tokio::spawn(crate::signl4_rest::run(
                    t.clone(),
                    api,
                    store.clone(),
                    wake.clone(),
                    rx.clone(),
                )));
            }
        }
        tracing::info!(listen = %addr, tenants = tenants.len(), storage = store.backend(), "signl4-sentinel started");
        Ok(App { addr, store, tenants, shutdown: tx, tasks })
    }

    /// Graceful stop: pollers stop, in-flight deliveries finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
