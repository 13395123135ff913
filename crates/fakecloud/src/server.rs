//! The fake cloud's HTTP side: the router (every service under its path prefix, behind the
//! front door of `throttle.rs`) and starting and stopping a [`FakeCloud`] on a listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::limits::Limits;
use crate::state::State;
use crate::{FakeCloud, control, entra, graph, ingestion, rest, sentinel, signl4, throttle};

const ARM_INCIDENTS: &str = "/arm/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{ws}/providers/Microsoft.SecurityInsights/incidents";

/// Every fake service's routes on one router, behind the front door (limits, request log,
/// injected headers and next links).
pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/entra/{tenant}/oauth2/v2.0/token", post(entra::token))
        .route("/imds/metadata/identity/oauth2/token", get(entra::imds))
        .route("/msi/token", get(entra::app_service))
        .route("/graph/v1.0/security/alerts_v2", get(graph::list_alerts))
        .route("/graph/v1.0/security/alerts_v2/{id}", get(graph::get_alert).patch(graph::patch_alert))
        .route("/graph/v1.0/security/alerts_v2/{id}/comments", post(graph::post_comment))
        .route("/graph/v1.0/security/incidents", get(graph::list_incidents))
        .route("/graph/v1.0/security/incidents/{id}", get(graph::get_incident).patch(graph::patch_incident))
        .route("/graph/v1.0/security/incidents/{id}/comments", post(graph::post_incident_comment))
        .route("/signl4/webhook/{secret}", post(signl4::webhook))
        .route("/signl4/api/v2/alerts/paged", post(rest::alerts_paged))
        .route("/signl4/api/v2/alerts/{id}", get(rest::get_alert))
        .route("/signl4/api/v2/alerts/{id}/annotations", get(rest::annotations))
        .route("/signl4/api/v2/alerts/{id}/annotate", post(rest::annotate))
        .route("/signl4/api/v2/users", get(rest::users))
        .route("/signl4/api/v2/users/{id}", get(rest::user))
        .route("/signl4/api/v2/events/{id}", get(rest::event))
        .route("/signl4/api/webhooks", get(rest::webhooks))
        .route(ARM_INCIDENTS, get(sentinel::list_incidents))
        .route(&format!("{ARM_INCIDENTS}/{{id}}"), get(sentinel::get_incident).put(sentinel::put_incident))
        .route(&format!("{ARM_INCIDENTS}/{{id}}/alerts"), post(sentinel::list_alerts))
        .route(&format!("{ARM_INCIDENTS}/{{id}}/comments"), get(sentinel::list_comments))
        .route(&format!("{ARM_INCIDENTS}/{{id}}/comments/{{cid}}"), axum::routing::put(sentinel::put_comment))
        .route("/loganalytics/v1/workspaces/{wsid}/query", post(sentinel::la_query))
        .route("/logsingestion/dataCollectionRules/{dcr}/streams/{stream}", post(ingestion::upload))
        .route("/_control/dcrs/{dcr}/streams/{stream}", get(control::get_ingested_rows))
        .route("/_control/tenants", post(control::post_tenant))
        .route("/_control/tenants/{tenant}/alerts", post(control::post_alerts).get(control::get_alerts))
        .route("/_control/tenants/{tenant}/alerts/{id}", axum::routing::patch(control::patch_alert))
        .route("/_control/teams", post(control::post_team))
        .route("/_control/teams/{secret}/events", get(control::get_team_events))
        .route("/_control/teams/{secret}/alerts", get(control::get_team_alerts))
        .route("/_control/faults", post(control::post_fault).delete(control::delete_faults))
        .route(
            "/_control/next_link/{service}",
            axum::routing::put(control::put_next_link).delete(control::delete_next_link),
        )
        .route("/_control/workspaces/{ws}/incidents", post(control::post_incident))
        .route("/_control/workspaces/{ws}/incidents/{name}", axum::routing::patch(control::patch_incident))
        .route("/_control/teams/{secret}/outbound", axum::routing::put(control::put_outbound))
        .route("/_control/teams/{secret}/delivery", axum::routing::put(control::put_delivery))
        .route("/_control/teams/{secret}/signl4_events", get(control::get_team_signl4_events))
        .route("/_control/teams/{secret}/alerts/{ext}/{action}", post(control::post_action))
        .route("/_control/settings", get(control::get_settings).put(control::put_settings))
        .route("/_control/stats", get(control::get_stats))
        .route("/_control/tokens/expire", post(control::expire_tokens))
        .route("/_control/limits", get(control::get_limits).put(control::put_limits))
        .route("/_control/requests", get(control::get_requests).delete(control::delete_requests))
        .layer(axum::middleware::from_fn_with_state(state.clone(), throttle::front_door))
        .with_state(state)
}

/// Starts a [`FakeCloud`] with chosen limits: `FakeCloud::builder().limits(Limits::off()).start_local()`.
#[derive(Debug, Clone, Default)]
pub struct FakeCloudBuilder {
    limits: Option<Limits>,
}

impl FakeCloudBuilder {
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    pub async fn start(self, addr: SocketAddr) -> std::io::Result<FakeCloud> {
        let f = FakeCloud::start(addr).await?;
        if let Some(l) = self.limits {
            f.set_limits(l);
        }
        Ok(f)
    }

    pub async fn start_local(self) -> std::io::Result<FakeCloud> {
        self.start(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }
}

impl FakeCloud {
    pub fn builder() -> FakeCloudBuilder {
        FakeCloudBuilder::default()
    }

    /// Starts on `addr` (use port 0 for any free port), with [`Limits::documented`].
    pub async fn start(addr: SocketAddr) -> std::io::Result<FakeCloud> {
        let state = Arc::new(State::default());
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeCloud { state, addr, stop: Some(tx) })
    }

    /// Starts on a free loopback port.
    pub async fn start_local() -> std::io::Result<FakeCloud> {
        FakeCloud::start(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
