//! The tenant's `SIGNL4_CL` records (`s4s_core::audit`) as jobs and sources build them: the
//! alert's columns read from its stored row, and the page record both page jobs share. Only
//! when `[tenant.audit]` is configured; the records travel with the store write they describe.

use s4s_core::audit::AlertFacts;
use s4s_core::ids::ExternalId;
use s4s_core::records::{Action, AuditRecord};
use s4s_store::{Job, Store, StoredAlert};
use serde_json::json;

use crate::clock::now_ms;
use crate::tenant::TenantContext;

/// The audit columns of a stored alert.
pub fn facts_of(a: &StoredAlert) -> AlertFacts {
    let r = &a.record;
    AlertFacts::from_stored(&r.source, &r.alert_id, r.incident_id.as_deref(), &r.severity, &r.raw)
}

/// The audit columns of the alert an external id names (its stored row; the id's parts when
/// the row cannot be read).
pub async fn facts(store: &dyn Store, external_id: &str) -> AlertFacts {
    let Some(ext) = ExternalId::parse(external_id) else { return AlertFacts::default() };
    match store.get_alert(&ext.tenant, &ext.source, &ext.id).await {
        Ok(Some(a)) => facts_of(&a),
        _ => AlertFacts::from_stored(&ext.source, &ext.id, None, "", ""),
    }
}

/// The team (route) an alert's records name: the first it paged, else the tenant's own.
pub fn team_of(a: &StoredAlert) -> String {
    a.routes.first().cloned().unwrap_or_else(|| s4s_core::route::DEFAULT_ROUTE.to_string())
}

/// The `paged` record of a page job that SIGNL4 accepted (or that an in-doubt look-up found):
/// `LatencyMs` from the page job's creation (the alert recorded) to SIGNL4's answer.
pub async fn paged(
    tenant: &TenantContext,
    store: &dyn Store,
    job: &Job,
    external_id: &str,
    route: &str,
    event_id: Option<&str>,
    found_alert: Option<&str>,
) -> Option<AuditRecord> {
    tenant.cfg.audit.as_ref()?;
    let now = now_ms();
    let f = facts(store, external_id).await;
    let mut r = AuditRecord::new(&tenant.cfg.name, Action::Paged, &job.key, now, &f);
    r.team = route.to_string();
    r.signl4_event_id = event_id.unwrap_or_default().to_string();
    r.signl4_alert_id = found_alert.unwrap_or_default().to_string();
    r.status = "open".into();
    r.latency_ms = Some((now - job.created_ms).max(0));
    r.details = json!({"externalId": external_id, "inDoubt": found_alert.map(|_| "found")});
    Some(r)
}

/// A record of what a finished job did to the alert of `external_id` (write-backs, held
/// pages), keyed by the job and its revision (a coalescing job finishes once per revision).
#[allow(clippy::too_many_arguments)]
pub async fn of_job(
    tenant: &TenantContext,
    store: &dyn Store,
    job: &Job,
    action: Action,
    external_id: &str,
    route: Option<&str>,
    status: &str,
    details: serde_json::Value,
) -> Option<AuditRecord> {
    tenant.cfg.audit.as_ref()?;
    let now = now_ms();
    let ext = ExternalId::parse(external_id);
    let stored = match &ext {
        Some(e) => store.get_alert(&e.tenant, &e.source, &e.id).await.ok().flatten(),
        None => None,
    };
    let f = match &stored {
        Some(a) => facts_of(a),
        None => facts(store, external_id).await,
    };
    let mut r = AuditRecord::new(&tenant.cfg.name, action, &format!("{}#{}", job.key, job.rev), now, &f);
    r.team = match (route, &stored) {
        (Some(route), _) => route.to_string(),
        (None, Some(a)) => team_of(a),
        (None, None) => s4s_core::route::DEFAULT_ROUTE.to_string(),
    };
    r.signl4_event_id = stored.as_ref().and_then(|a| a.signl4_event_id.clone()).unwrap_or_default();
    r.status = status.to_string();
    r.latency_ms = Some((now - job.created_ms).max(0));
    r.details = details;
    Some(r)
}
