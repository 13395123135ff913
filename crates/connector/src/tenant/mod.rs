//! A tenant's context: its configuration, its clients by name, its health, and its small
//! limiters (SIGNL4 breaker, incident budget, overlap timer) as separate types.

pub mod health;
pub mod limits;

use std::sync::Arc;
use std::time::Duration;

use s4s_core::config::{DeliveryConfig, TenantConfig};
use s4s_store::Store;
use time::OffsetDateTime;

use crate::clients::entra::TokenProvider;
use crate::clients::graph::GraphClient;
use crate::clients::http::http_client;
use crate::clients::sentinel::SentinelClient;
use crate::clients::signl4::Signl4Client;
use crate::clients::signl4_api::Signl4Api;
pub use health::{Health, TenantStatus};
use limits::{INCIDENT_JOBS_PER_MINUTE, OverlapTimer, Signl4Breaker, WindowBudget};

/// The clients of one tenant.
pub struct Clients {
    pub tokens: Arc<TokenProvider>,
    pub graph: GraphClient,
    pub signl4: Signl4Client,
    /// SIGNL4's REST API, when an API key is configured.
    pub signl4_api: Option<Signl4Api>,
    /// Sentinel workspaces of this tenant.
    pub sentinel: Vec<Arc<SentinelClient>>,
}

impl Clients {
    pub fn new(cfg: &TenantConfig, delivery: &DeliveryConfig) -> Clients {
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
        let signl4_api = cfg.signl4.api_key.as_ref().map(|key| {
            Signl4Api::new(http.clone(), &cfg.endpoints.signl4_api, key.clone(), cfg.signl4.team_id.clone())
        });
        let sentinel = cfg
            .sentinel
            .iter()
            .map(|w| {
                Arc::new(SentinelClient::new(http.clone(), &cfg.endpoints, &cfg.scopes, tokens.clone(), w.clone()))
            })
            .collect();
        Clients { tokens, graph, signl4, signl4_api, sentinel }
    }
}

pub struct TenantContext {
    pub cfg: TenantConfig,
    /// Identity of this replica's pollers for the polling leases.
    pub owner: String,
    pub clients: Clients,
    pub health: Health,
    pub breaker: Signl4Breaker,
    /// Graph incident housekeeping (tag, roll-up) per minute.
    pub incident_budget: WindowBudget,
    pub overlap: OverlapTimer,
}

impl TenantContext {
    pub fn new(cfg: TenantConfig, delivery: &DeliveryConfig) -> TenantContext {
        TenantContext {
            owner: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            clients: Clients::new(&cfg, delivery),
            health: Health::new(&cfg.name),
            breaker: Signl4Breaker::default(),
            incident_budget: WindowBudget::new(INCIDENT_JOBS_PER_MINUTE, Duration::from_secs(60)),
            overlap: OverlapTimer::new(cfg.overlap, cfg.overlap_interval),
            cfg,
        }
    }

    pub fn status(&self) -> TenantStatus {
        self.health.snapshot()
    }

    pub fn workspace(&self, name: &str) -> Option<&Arc<SentinelClient>> {
        self.clients.sentinel.iter().find(|c| c.cfg.name == name)
    }

    /// Takes or renews the named polling lease. With one process per SQLite file this always
    /// succeeds; with replicas on PostgreSQL exactly one replica polls each source.
    pub async fn hold_lease(&self, store: &dyn Store, name: &str, ttl: Duration) -> bool {
        let now = s4s_core::timefmt::millis(OffsetDateTime::now_utc());
        let ttl = ttl.max(Duration::from_secs(2)).as_millis() as i64;
        match store.try_lease(&format!("{name}:{}", self.cfg.name), &self.owner, now, ttl).await {
            Ok(held) => {
                if self.health.set_standby(!held) {
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
}
