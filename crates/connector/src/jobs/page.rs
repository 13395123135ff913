//! Job: page a Graph alert (POST the stored SIGNL4 body), then remember SIGNL4's event id and
//! ask for the incident tag, committed with the completion.

use async_trait::async_trait;
use s4s_core::ids::ExternalId;
use s4s_core::jobs::{self, JobKind};
use s4s_store::{AlertKey, AlertUpdate, FollowUp};
use serde_json::{Map, Value};

use crate::jobs::deliver::{self, Delivered};
use crate::jobs::{JobContext, JobHandler, Outcome};
use crate::telemetry;
use crate::tenant::{TenantContext, audit};

pub struct PageJob;

/// The alert row a page's external id names.
pub fn alert_key(external_id: &str) -> Option<AlertKey> {
    let ext = ExternalId::parse(external_id)?;
    Some(AlertKey { tenant: ext.tenant, source: ext.source, alert_id: ext.id })
}

/// SIGNL4's event id of a page, recorded on its alert row (fallback correlation).
pub fn remember_event_id(external_id: &str, event_id: Option<&str>) -> Option<(AlertKey, AlertUpdate)> {
    let (key, ev) = (alert_key(external_id)?, event_id?);
    Some((key, AlertUpdate { signl4_event_id: Some(ev.into()), ..Default::default() }))
}

/// After a Graph page: the event id and — for the first page of an incident — its tag, a plain
/// once-only job separate from the coalescing roll-up (the plan skips a tag already there).
fn after_page(rt: &TenantContext, external_id: &str, event_id: Option<&str>, incident: Option<&str>) -> FollowUp {
    let mut f = FollowUp { update: remember_event_id(external_id, event_id), ..Default::default() };
    if let (Some(tag), true, Some(inc)) = (&rt.cfg.sync.incident_tag, rt.cfg.sync.enabled, incident) {
        f.jobs.push(jobs::incident_tag(&rt.cfg.name, inc, tag));
    }
    f
}

#[async_trait]
impl JobHandler for PageJob {
    const KIND: JobKind = JobKind::Page;
    type Payload = Map<String, Value>;

    async fn run(&self, cx: &JobContext<'_>, body: Map<String, Value>) -> Outcome {
        let rt = cx.tenant;
        let started = std::time::Instant::now();
        let title = body.get("Title").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let external_id = body.get("X-S4-ExternalID").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let incident = body.get("Incident ID").and_then(|v| v.as_str()).map(str::to_string);
        let original = body.clone();
        let route = original.get(jobs::ROUTE_FIELD).and_then(Value::as_str).unwrap_or(s4s_core::route::DEFAULT_ROUTE);
        let done = match deliver::page(cx, body).await {
            Ok(d) => d,
            Err(outcome) => return outcome,
        };
        let tenant = rt.cfg.name.clone();
        if let Delivered::Sent { event_id, .. } = &done {
            rt.breaker.page_sent(&rt.health, &rt.cfg.name, &rt.team(route).route);
            metrics::counter!(telemetry::PAGES_SENT, "tenant" => tenant.clone()).increment(1);
            metrics::histogram!(telemetry::SIGNL4_REQUEST_SECONDS).record(started.elapsed().as_secs_f64());
            let ext = ExternalId::parse(&external_id);
            tracing::info!(
                tenant = %tenant,
                source = ext.as_ref().map(|e| e.source.as_str()).unwrap_or("-"),
                alert_id = ext.as_ref().map(|e| e.id.as_str()).unwrap_or("-"),
                external_id = %external_id,
                job_key = %cx.job.key,
                event_id = event_id.as_deref().unwrap_or("-"),
                title = %title,
                "paged"
            );
        }
        let mut follow = after_page(rt, &external_id, done.event_id(), incident.as_deref());
        if let Delivered::Sent { event_id, .. } = &done {
            follow.jobs.extend(deliver::verify_job(cx, &external_id, event_id.as_deref(), &original));
        }
        let found = match &done {
            Delivered::Found { alert_id, .. } => Some(alert_id.as_str()),
            Delivered::Sent { .. } => None,
        };
        follow
            .audit
            .extend(audit::paged(rt, cx.store.as_ref(), cx.job, &external_id, route, done.event_id(), found).await);
        Outcome::DoneWith(done.result(), follow)
    }
}
