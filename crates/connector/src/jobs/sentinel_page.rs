//! Job: page a Sentinel incident (or one of its alerts), with rule-query results when they
//! arrive within the enrichment budget; otherwise a later job adds them as a comment.

use async_trait::async_trait;
use s4s_core::ids;
use s4s_core::jobs::{self, JobKind, PageJob, SentinelPageJob};
use s4s_core::sentinel::{self as model, Enrichment, Incident, SentinelAlert};
use s4s_core::signl4::payload as signl4_payload;
use s4s_core::sync::AlertSync;
use s4s_store::FollowUp;

use crate::clients::sentinel::enrich;
use crate::jobs::deliver::{self, Delivered, remember_event_id};
use crate::jobs::{JobContext, JobHandler, Outcome, signl4};
use crate::telemetry;
use crate::tenant::audit;

pub struct SentinelPage;

#[async_trait]
impl JobHandler for SentinelPage {
    const KIND: JobKind = jobs::sentinel_page::KIND;
    type Payload = SentinelPageJob;

    async fn run(&self, cx: &JobContext<'_>, p: SentinelPageJob) -> Outcome {
        if let Some(parked) = signl4::parked(cx, p.route.as_deref().unwrap_or(s4s_core::route::DEFAULT_ROUTE)) {
            return parked;
        }
        let tenant = cx.tenant;
        let Some(client) = tenant.workspace(&p.workspace).cloned() else {
            return Outcome::Broken(format!("Sentinel workspace {} is no longer configured", p.workspace));
        };
        let Some(inc) = Incident::from_json(p.incident.clone()) else {
            return Outcome::Broken("stored incident is unreadable".into());
        };
        let alerts: Vec<SentinelAlert> = p.alerts.iter().cloned().filter_map(SentinelAlert::from_json).collect();
        let target: Vec<SentinelAlert> = match &p.alert {
            Some(a) => SentinelAlert::from_json(a.clone()).into_iter().collect(),
            None => alerts.clone(),
        };
        let enrichment = enrich(&client, &target, Some(client.cfg.enrichment_budget)).await;
        let route = tenant.route(p.route.as_deref().unwrap_or(s4s_core::route::DEFAULT_ROUTE));
        let mut page = match &p.alert {
            Some(_) if !target.is_empty() => {
                signl4_payload::alert_page(&tenant.cfg.name, &client.cfg, &inc, &target[0], &enrichment, &route.signl4)
            }
            _ => {
                signl4_payload::incident_page(&tenant.cfg.name, &client.cfg, &inc, &alerts, &enrichment, &route.signl4)
            }
        };
        page = page.reopened(p.episode);
        let title = page.body.get("Title").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let job = PageJob::new(page.body.clone()).to(&route.name);
        let done = match deliver::page(cx, &job, false).await {
            Ok(d) => d,
            Err(outcome) => return outcome,
        };
        if let Delivered::Sent { .. } = &done {
            tenant.breaker.page_sent(&tenant.health, &tenant.cfg.name, &tenant.team(&route.name).route);
            metrics::counter!(telemetry::PAGES_SENT, "tenant" => tenant.cfg.name.clone()).increment(1);
            tracing::info!(
                tenant = %tenant.cfg.name,
                source = %model::source(&p.workspace),
                alert_id = %inc.name,
                external_id = %page.external_id,
                job_key = %cx.job.key,
                event_id = done.event_id().unwrap_or("-"),
                workspace = %p.workspace,
                title = %title,
                enrichment = ?std::mem::discriminant(&enrichment),
                "paged (Sentinel)"
            );
        }
        let mut follow =
            FollowUp { update: remember_event_id(&page.external_id, done.event_id()), ..Default::default() };
        if tenant.cfg.sync.enabled && client.cfg.label.is_some() {
            let intent = AlertSync { alert_id: inc.name.clone(), ..Default::default() };
            let ext = ids::external_id(&tenant.cfg.name, &model::source(&p.workspace), &inc.name);
            follow.jobs.push(jobs::sentinel_sync(&tenant.cfg.name, &p.workspace, &ext, intent, true));
        }
        if let Delivered::Sent { event_id, .. } = &done {
            follow.jobs.extend(deliver::verify_job(cx, &job, event_id.as_deref()));
        }
        let found = match &done {
            Delivered::Found { alert_id, .. } => Some(alert_id.as_str()),
            Delivered::Sent { .. } => None,
        };
        follow.audit.extend(
            audit::paged(tenant, cx.store.as_ref(), cx.job, &page.external_id, &route.name, done.event_id(), found)
                .await,
        );
        if enrichment == Enrichment::Pending {
            follow.jobs.push(jobs::sentinel_enrich(&tenant.cfg.name, &page.external_id, &p));
        }
        Outcome::DoneWith(done.result(), follow)
    }
}
