//! `/healthz` (liveness) and `/readyz` (database reachable, every tenant polling and accepted
//! by SIGNL4), with the tenant's status as JSON.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::ServerState;
use crate::http::metrics::publish_job_counts;

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

pub async fn readyz(State(s): State<ServerState>) -> Response {
    let db = s.store.ping().await;
    let counts = s.store.job_counts().await.ok();
    let mut ready = db.is_ok();
    let mut tenants = BTreeMap::new();
    for t in &s.tenants {
        let ok = t.health.ready();
        ready &= ok;
        tenants.insert(t.cfg.name.clone(), json!({"ready": ok, "status": t.status()}));
    }
    if let Some(c) = counts {
        publish_job_counts(&c);
    }
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": {"backend": s.store.backend(), "ok": db.is_ok(), "error": db.err().map(|e| e.to_string())},
        "jobs": counts.map(|c| json!({"pending": c.pending, "paused": c.paused, "done": c.done, "dead": c.dead})),
        "tenants": tenants,
        // What needs an admin (self-monitoring): each with what to do.
        "conditions": s.conditions.conditions().iter().map(|c| json!({
            "condition": c.key, "tenant": c.tenant, "title": c.title, "detail": c.detail, "fix": c.fix,
        })).collect::<Vec<_>>(),
    });
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, axum::Json(body)).into_response()
}
