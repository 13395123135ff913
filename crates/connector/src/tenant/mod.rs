//! A tenant's context: its configuration, its clients by name, its health, and its small
//! limiters (request schedulers per upstream, SIGNL4 breaker, overlap timer) as separate types.

pub mod audit;
pub mod health;
pub mod limits;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use s4s_core::budget::BudgetSpec;
use s4s_core::config::{DeliveryConfig, Route, Signl4Options, TenantConfig};
use s4s_core::route::DEFAULT_ROUTE;
use s4s_store::{Fence, Store};
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use crate::clients::entra::TokenProvider;
use crate::clients::graph::GraphClient;
use crate::clients::http::http_client;
use crate::clients::logs_ingestion::LogsIngestionClient;
use crate::clients::scheduler::{Scheduler, SharedSchedulers};
use crate::clients::sentinel::SentinelClient;
use crate::clients::signl4::Signl4Client;
use crate::clients::signl4_api::Signl4Api;
pub use health::{Health, TenantStatus};
use limits::{OverlapTimer, Signl4Breaker};

/// The request schedulers of one tenant, one per upstream (`clients/scheduler.rs`).
pub struct Schedulers {
    /// Graph: 150 requests per minute per app and tenant (`microsoft-apis.md` §2.8).
    pub graph: Arc<Scheduler>,
    /// ARM, per subscription (§3.6).
    pub arm: HashMap<String, Arc<Scheduler>>,
    /// Log Analytics queries per principal (§4.4).
    pub log_analytics: Arc<Scheduler>,
    /// Logs Ingestion (the `SIGNL4_CL` audit trail, §5.2), per data collection rule.
    pub logs_ingestion: Arc<Scheduler>,
    /// SIGNL4 events of the tenant's own team (shared with other tenants of the same team).
    pub signl4: Arc<Scheduler>,
    /// SIGNL4 REST endpoints of the tenant's own team.
    pub signl4_rest: Arc<Scheduler>,
}

impl Schedulers {
    fn new(cfg: &TenantConfig, shared: &SharedSchedulers) -> Schedulers {
        let share = cfg.limits.share;
        let (events, rest) = team_schedulers(cfg, &cfg.signl4, shared);
        Schedulers {
            graph: Scheduler::new("Graph", &cfg.name, &cfg.limits.graph()),
            arm: cfg
                .sentinel()
                .into_iter()
                .map(|w| {
                    (
                        w.subscription_id.clone(),
                        Scheduler::new("Azure Resource Manager", &cfg.name, &BudgetSpec::arm(share)),
                    )
                })
                .collect(),
            log_analytics: Scheduler::new("Log Analytics", &cfg.name, &BudgetSpec::log_analytics(share)),
            logs_ingestion: Scheduler::new("Logs Ingestion", &cfg.name, &BudgetSpec::logs_ingestion(share)),
            signl4: events,
            signl4_rest: rest,
        }
    }
}

/// A team's event and REST schedulers, shared by every tenant and route paging that team
/// (keyed by its team secret / API key).
fn team_schedulers(
    cfg: &TenantConfig,
    team: &Signl4Options,
    shared: &SharedSchedulers,
) -> (Arc<Scheduler>, Arc<Scheduler>) {
    let (share, plan) = (cfg.limits.share, team.plan);
    let secret = team.team_secret.expose_secret();
    let events = shared.signl4(
        "SIGNL4",
        cfg.endpoints.signl4_webhook.as_str(),
        secret,
        &cfg.name,
        &BudgetSpec::signl4_events(plan, share),
    );
    let rest = shared.signl4(
        "SIGNL4 API",
        cfg.endpoints.signl4_api.as_str(),
        team.api_key.as_ref().map(|k| k.expose_secret()).unwrap_or(secret),
        &cfg.name,
        &BudgetSpec::signl4_rest(plan, share),
    );
    (events, rest)
}

/// One SIGNL4 team a tenant pages: the tenant's own (`[tenant.signl4]`) or a route's own
/// (`[[tenant.route]]` with a `team_secret`), with its settings and clients.
pub struct Team {
    /// The route that names the team (`default` for the tenant's own).
    pub route: String,
    /// The team's settings (API key, verification, fallback, plan).
    pub opts: Signl4Options,
    pub webhook: Signl4Client,
    /// SIGNL4's REST API, when the team has an API key.
    pub api: Option<Signl4Api>,
    /// The fallback team's webhook (`fallback = "team"`).
    pub fallback: Option<Signl4Client>,
    pub rest_sched: Arc<Scheduler>,
    /// Pages sent in the current storm window (`s4s_core::storm`), kept in the store after each
    /// page (cursor `storm:{route}`) and taken up again at start and when this replica takes
    /// over the tenant's polling lease ([`TenantContext::restore_storms`]).
    pub storm: std::sync::Mutex<s4s_core::storm::StormBudget>,
    /// Serialises keeping the storm window in the store: pages admitted at the same time
    /// must not commit their counts out of order (a lower count written last would grant
    /// pages again after a restart).
    pub storm_save: tokio::sync::Mutex<()>,
}

impl Team {
    fn new(
        cfg: &TenantConfig,
        route: &str,
        opts: &Signl4Options,
        http: &reqwest::Client,
        shared: &SharedSchedulers,
    ) -> Team {
        let (events, rest) = team_schedulers(cfg, opts, shared);
        let webhook = Signl4Client::new(http.clone(), &cfg.endpoints.signl4_webhook, opts.team_secret.clone(), events);
        let api = opts.api_key.as_ref().map(|key| {
            Signl4Api::new(http.clone(), &cfg.endpoints.signl4_api, key.clone(), opts.team_id.clone(), rest.clone())
        });
        let fallback = match &opts.fallback {
            s4s_core::config::Fallback::Team(secret) => {
                let sch = shared.signl4(
                    "SIGNL4",
                    cfg.endpoints.signl4_webhook.as_str(),
                    secret.expose_secret(),
                    &cfg.name,
                    &BudgetSpec::signl4_events(opts.plan, cfg.limits.share),
                );
                Some(Signl4Client::new(http.clone(), &cfg.endpoints.signl4_webhook, secret.clone(), sch))
            }
            _ => None,
        };
        let storm = std::sync::Mutex::new(s4s_core::storm::StormBudget::new(opts.storm.clone()));
        Team {
            route: route.to_string(),
            opts: opts.clone(),
            webhook,
            api,
            fallback,
            rest_sched: rest,
            storm,
            storm_save: tokio::sync::Mutex::new(()),
        }
    }
}

/// The clients of one tenant.
pub struct Clients {
    pub tokens: Arc<TokenProvider>,
    pub graph: GraphClient,
    /// The tenant's own team first, then each route's own team.
    pub teams: Vec<Team>,
    /// Sentinel workspaces of this tenant.
    pub sentinel: Vec<Arc<SentinelClient>>,
    /// The `SIGNL4_CL` audit trail (`[tenant.audit]`), if configured.
    pub audit: Option<LogsIngestionClient>,
}

impl Clients {
    pub fn new(
        cfg: &TenantConfig,
        delivery: &DeliveryConfig,
        sched: &Schedulers,
        shared: &SharedSchedulers,
    ) -> Clients {
        let http = http_client(delivery.request_timeout);
        let tokens = Arc::new(TokenProvider::for_tenant(http.clone(), cfg));
        let graph = GraphClient::new(
            http.clone(),
            &cfg.endpoints.graph,
            &cfg.scopes.graph,
            tokens.clone(),
            sched.graph.clone(),
        );
        let mut teams = vec![Team::new(cfg, DEFAULT_ROUTE, &cfg.signl4, &http, shared)];
        for r in cfg.routes.iter().filter(|r| r.own_team) {
            teams.push(Team::new(cfg, &r.name, &r.signl4, &http, shared));
        }
        let sentinel = cfg
            .sentinel()
            .into_iter()
            .map(|w| {
                let arm = sched.arm.get(&w.subscription_id).cloned().unwrap_or_else(|| sched.graph.clone());
                Arc::new(SentinelClient::new(
                    http.clone(),
                    &cfg.endpoints,
                    &cfg.scopes,
                    tokens.clone(),
                    w.clone(),
                    arm,
                    sched.log_analytics.clone(),
                ))
            })
            .collect();
        let audit = cfg.audit.as_ref().map(|a| {
            LogsIngestionClient::new(
                http.clone(),
                a,
                &cfg.scopes.logs_ingestion,
                tokens.clone(),
                sched.logs_ingestion.clone(),
            )
        });
        Clients { tokens, graph, teams, sentinel, audit }
    }

    /// The tenant's own team (`[tenant.signl4]`).
    pub fn default_team(&self) -> &Team {
        &self.teams[0]
    }
}

/// The polling lease of tenant `t` is named `poll:t`; its holder also runs `t`'s jobs.
pub const POLL_LEASE: &str = "poll";
pub const POLL_LEASE_PREFIX: &str = "poll:";

pub struct TenantContext {
    pub cfg: TenantConfig,
    /// Identity of this replica's pollers for the polling leases.
    pub owner: String,
    pub clients: Clients,
    /// Request budgets per upstream; every request goes through one.
    pub sched: Schedulers,
    pub health: Health,
    pub breaker: Signl4Breaker,
    pub overlap: OverlapTimer,
}

impl TenantContext {
    /// `owner` identifies this replica (the same for all its tenants: the job runner claims
    /// the jobs of the tenants whose polling lease it holds).
    pub fn new(cfg: TenantConfig, delivery: &DeliveryConfig, owner: &str, shared: &SharedSchedulers) -> TenantContext {
        let sched = Schedulers::new(&cfg, shared);
        TenantContext {
            owner: owner.to_string(),
            clients: Clients::new(&cfg, delivery, &sched, shared),
            sched,
            health: Health::new(&cfg.name),
            breaker: Signl4Breaker::default(),
            overlap: OverlapTimer::new(cfg.overlap, cfg.overlap_interval),
            cfg,
        }
    }

    pub fn status(&self) -> TenantStatus {
        self.health.snapshot()
    }

    /// The route named `route` (`default` or unknown: the tenant's own route).
    pub fn route(&self, route: &str) -> &Route {
        self.cfg.routes.iter().find(|r| r.name == route).unwrap_or(&self.cfg.default_route)
    }

    /// The team a route pages: the route's own, or the tenant's own for a route without a
    /// team secret, for `default`, and for a route no longer configured (logged).
    pub fn team(&self, route: &str) -> &Team {
        if route != DEFAULT_ROUTE && !self.cfg.routes.iter().any(|r| r.name == route) {
            tracing::warn!(tenant = %self.cfg.name, route, "route no longer configured: using the tenant's own SIGNL4 team");
        }
        self.clients.teams.iter().find(|t| t.route == route).unwrap_or(self.clients.default_team())
    }

    /// Takes up each team's storm window from the store, so a restart or a replica taking over
    /// does not grant a fresh budget in the middle of a storm.
    pub async fn restore_storms(&self, store: &dyn Store) {
        let now = crate::clock::now_ms();
        for team in &self.clients.teams {
            let cursor = s4s_core::storm::state_cursor(&team.route);
            match store.get_cursor(&self.cfg.name, &cursor).await {
                Ok(Some(state)) => team.storm.lock().unwrap_or_else(|p| p.into_inner()).restore(&state, now),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(tenant = %self.cfg.name, team = %team.route, error = %e, "cannot read the storm window; counting afresh")
                }
            }
        }
    }

    pub fn workspace(&self, name: &str) -> Option<&Arc<SentinelClient>> {
        self.clients.sentinel.iter().find(|c| c.cfg.name == name)
    }

    /// Takes or renews the named polling lease. With one process per SQLite file (its lock
    /// file) there is nobody to share with: always held, no write, no fence. With replicas on
    /// PostgreSQL exactly one replica polls each source. `None`: not held; `Some(fence)`: held,
    /// and the cursor and ingest writes of this cycle are fenced with it.
    pub async fn hold_lease(&self, store: &dyn Store, name: &str, ttl: Duration) -> Option<Option<Fence>> {
        if store.single_instance() {
            return Some(None);
        }
        let now = s4s_core::timefmt::millis(OffsetDateTime::now_utc());
        let ttl = ttl.max(Duration::from_secs(2)).as_millis() as i64;
        let lease = format!("{name}:{}", self.cfg.name);
        match store.acquire_lease(&lease, &self.owner, now, ttl).await {
            Ok(generation) => {
                let held = generation.is_some();
                if self.health.set_standby(!held) {
                    if held && POLL_LEASE_PREFIX.strip_suffix(':') == Some(name) {
                        // Taking over the tenant's jobs (they go with the poll lease) from
                        // another replica: go on with its storm windows.
                        self.restore_storms(store).await;
                    }
                    tracing::info!(tenant = %self.cfg.name, lease = name, active = held, "polling lease {}", if held { "acquired: this replica polls" } else { "held by another replica: standing by" });
                }
                generation.map(|generation| Some(Fence { lease, owner: self.owner.clone(), generation }))
            }
            Err(e) => {
                tracing::warn!(tenant = %self.cfg.name, error = %e, "cannot take the polling lease; skipping this cycle");
                None
            }
        }
    }
}
