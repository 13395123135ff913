//! Job: page a Graph alert (POST the stored SIGNL4 body), then remember SIGNL4's event id and
//! ask for the incident tag, committed with the completion.

use async_trait::async_trait;
use s4s_core::ids::ExternalId;
use s4s_core::jobs::{self, JobKind, PageJob};
use s4s_store::FollowUp;

use crate::jobs::deliver::{self, Delivered, remember_event_id};
use crate::jobs::{JobContext, JobHandler, Outcome, signl4};
use crate::telemetry;
use crate::tenant::{TenantContext, audit};

pub struct PageHandler;

/// After a Graph page: the event id and — for the first page of an incident — its tag, a plain
/// once-only job separate from the coalescing roll-up (the plan skips a tag already there).
fn after_page(tenant: &TenantContext, page: &PageJob, event_id: Option<&str>) -> FollowUp {
    let mut f = FollowUp { update: remember_event_id(&page.external_id, event_id), ..Default::default() };
    if let (Some(tag), true, Some(inc)) = (&tenant.cfg.sync.incident_tag, tenant.cfg.sync.enabled, &page.incident) {
        f.jobs.push(jobs::incident_tag(&tenant.cfg.name, inc, tag));
    }
    f
}

#[async_trait]
impl JobHandler for PageHandler {
    const KIND: JobKind = jobs::page::KIND;
    type Payload = PageJob;

    async fn run(&self, cx: &JobContext<'_>, page: PageJob) -> Outcome {
        if let Some(parked) = signl4::parked(cx, page.route()) {
            return parked;
        }
        let tenant = cx.tenant;
        let started = std::time::Instant::now();
        let external_id = page.external_id.as_str();
        let route = page.route();
        let done = match deliver::page(cx, &page, false).await {
            Ok(d) => d,
            Err(outcome) => return outcome,
        };
        let name = tenant.cfg.name.clone();
        if let Delivered::Sent { event_id, .. } = &done {
            tenant.breaker.page_sent(&tenant.health, &tenant.cfg.name, &tenant.team(route).route);
            metrics::counter!(telemetry::PAGES_SENT, "tenant" => name.clone()).increment(1);
            metrics::histogram!(telemetry::SIGNL4_REQUEST_SECONDS).record(started.elapsed().as_secs_f64());
            let ext = ExternalId::parse(external_id);
            tracing::info!(
                tenant = %name,
                source = ext.as_ref().map(|e| e.source.as_str()).unwrap_or("-"),
                alert_id = ext.as_ref().map(|e| e.id.as_str()).unwrap_or("-"),
                external_id = %external_id,
                job_key = %cx.job.key,
                event_id = event_id.as_deref().unwrap_or("-"),
                title = %page.title(),
                "paged"
            );
        }
        let mut follow = after_page(tenant, &page, done.event_id());
        if let Delivered::Sent { event_id, .. } = &done {
            follow.jobs.extend(deliver::verify_job(cx, &page, event_id.as_deref()));
        }
        let found = match &done {
            Delivered::Found { alert_id, .. } => Some(alert_id.as_str()),
            Delivered::Sent { .. } => None,
        };
        follow
            .audit
            .extend(audit::paged(tenant, cx.store.as_ref(), cx.job, external_id, route, done.event_id(), found).await);
        Outcome::DoneWith(done.result(), follow)
    }
}
