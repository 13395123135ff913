//! `/healthz` (liveness) and `/readyz` (readiness: this process can do its work — the
//! database answers and the server is up), with each tenant's health in the body. One
//! customer revoking consent must not take the pod out of the Service and stop SIGNL4's
//! webhooks for every other customer, so tenants' health is not in the status code unless
//! `server.strict_readiness` is set.
//!
//! Off loopback (the peer address of the connection), `/readyz`'s details and `/metrics` need
//! `Authorization: Bearer` with `server.admin_token` or `server.metrics_token`; without it
//! `/readyz` answers its bare status (`{"status":"ready"}`) and `/metrics` `401`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use s4s_core::config::ServerConfig;
use s4s_core::ct::digest;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::http::ServerState;
use crate::http::metrics::publish_job_counts;
use crate::http::serve::peer;

/// Who may read the probes' details and the metrics, and what readiness means.
pub struct Probes {
    /// `server.strict_readiness`: 503 when any tenant is unhealthy.
    pub strict: bool,
    /// SHA-256 of the tokens that open the details: admin and metrics token.
    tokens: Vec<[u8; 32]>,
}

impl Probes {
    pub fn new(cfg: &ServerConfig) -> Probes {
        Probes::with(cfg.strict_readiness, [cfg.admin_token.as_ref(), cfg.metrics_token.as_ref()])
    }

    pub fn with<'a>(strict: bool, tokens: impl IntoIterator<Item = Option<&'a SecretString>>) -> Probes {
        let tokens = tokens.into_iter().flatten().map(|t| digest(t.expose_secret().as_bytes())).collect();
        Probes { strict, tokens }
    }

    /// Whether the caller may read details: a loopback peer, or a bearer token that is one of
    /// the configured ones (compared as SHA-256 digests in constant time, every one of them).
    /// A request without a known peer is not on loopback.
    pub fn may_read(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
        if peer.is_some_and(|p| p.ip().to_canonical().is_loopback()) {
            return true;
        }
        let Some(presented) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| digest(t.trim().as_bytes()))
        else {
            return false;
        };
        self.tokens.iter().fold(false, |ok, t| ok | bool::from(t.ct_eq(&presented)))
    }
}

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

pub async fn readyz(State(s): State<ServerState>, parts: Parts) -> Response {
    let db = s.store.ping().await;
    let mut tenants = BTreeMap::new();
    let mut unhealthy = Vec::new();
    for t in &s.tenants {
        let ok = t.health.ready();
        if !ok {
            unhealthy.push(t.cfg.name.clone());
        }
        tenants.insert(t.cfg.name.clone(), json!({"ready": ok, "status": t.status()}));
    }
    let ready = db.is_ok() && (!s.probes.strict || unhealthy.is_empty());
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = if ready { "ready" } else { "not ready" };
    if !s.probes.may_read(peer(&parts), &parts.headers) {
        return (code, axum::Json(json!({"status": status}))).into_response();
    }
    // With the database down, each further query would wait for the pool's acquire timeout:
    // answer with what is known instead of making the probe itself time out.
    let counts = if db.is_ok() { s.store.job_counts().await.ok() } else { None };
    if let Some(c) = counts {
        publish_job_counts(&c);
    }
    // Items kept aside because processing them failed (`jobs` lists them), by tenant.
    let mut quarantined: BTreeMap<String, i64> = BTreeMap::new();
    let quarantine = if db.is_ok() { s.store.quarantine_counts().await.unwrap_or_default() } else { Vec::new() };
    for (tenant, _, n) in quarantine {
        *quarantined.entry(tenant).or_default() += n;
    }
    let body = json!({
        "status": status,
        "strict_readiness": s.probes.strict,
        "database": {"backend": s.store.backend(), "ok": db.is_ok(), "error": db.err().map(|e| crate::redactor::redact(&e.to_string()))},
        "jobs": counts.map(|c| json!({"pending": c.pending, "paused": c.paused, "done": c.done, "dead": c.dead})),
        // Tenants that cannot work now (credentials revoked, polling failing, SIGNL4 rejecting
        // a team): readiness is not affected unless strict_readiness is set.
        "tenants_unhealthy": unhealthy,
        "tenants": tenants,
        "quarantined": quarantined,
        // What needs an admin (self-monitoring): each with what to do.
        "conditions": s.conditions.conditions().iter().map(|c| json!({
            "condition": c.key, "tenant": c.tenant, "title": c.title, "detail": c.detail, "fix": c.fix,
        })).collect::<Vec<_>>(),
    });
    (code, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_need_loopback_or_a_configured_token() {
        let admin = SecretString::from("admin-token-0123456789");
        let metrics = SecretString::from("metrics-token-0123456789");
        let p = Probes::with(false, [Some(&admin), Some(&metrics)]);
        let bearer = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        let lan: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        assert!(p.may_read(Some(local), &HeaderMap::new()));
        assert!(p.may_read(Some(mapped), &HeaderMap::new()));
        assert!(!p.may_read(Some(lan), &HeaderMap::new()));
        assert!(!p.may_read(None, &HeaderMap::new()), "no peer: not loopback");
        assert!(p.may_read(Some(lan), &bearer("Bearer admin-token-0123456789")));
        assert!(p.may_read(Some(lan), &bearer("Bearer metrics-token-0123456789")));
        assert!(!p.may_read(Some(lan), &bearer("Bearer admin-token-012345678")), "a prefix is not the token");
        assert!(!p.may_read(Some(lan), &bearer("Bearer ")));
        assert!(!p.may_read(Some(lan), &bearer("Basic admin-token-0123456789")));
        // No token configured: nothing opens the details off loopback.
        assert!(!Probes::with(false, [None, None]).may_read(Some(lan), &bearer("Bearer ")));
    }
}
