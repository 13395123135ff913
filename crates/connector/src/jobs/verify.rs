//! Job: follow a page's SIGNL4 event until SIGNL4 says whether anybody was paged.
//!
//! A `201` from the webhook only means SIGNL4 accepted the event (`signl4.md` §2.4): it can
//! be filtered, suppressed, discarded, match no rule, or reach a team with nobody on duty.
//! With the team's API key, `GET /v2/events/{eventId}` (and the target alert's
//! `alertDeliveryStatus`) tells; a page that reached nobody becomes a metric, a `/readyz`
//! detail, a comment on the Graph alert / Sentinel incident and, if configured, a fallback
//! page (`signl4.fallback`).

use std::time::Duration;

use async_trait::async_trait;
use s4s_core::config::Fallback;
use s4s_core::ids::ExternalId;
use s4s_core::jobs::{self, JobKind, PageJob, VerifyJob};
use s4s_core::signl4::rest::{NotDelivered, Verdict, alert_delivery, event_verdict};
use s4s_core::source::WriteBack;
use s4s_core::sync::{AlertSync, SyncComment};
use s4s_store::FollowUp;

use crate::clock::now_ms;
use crate::jobs::{JobContext, JobHandler, Outcome};
use crate::telemetry;
use crate::tenant::audit;
use s4s_core::records::Action;

pub struct Verify;

/// How often an unsettled event is looked at again, and when to stop looking.
const EVERY: Duration = Duration::from_secs(5);
const GIVE_UP: Duration = Duration::from_secs(15 * 60);

fn done(verdict: &str) -> Outcome {
    Outcome::Done(serde_json::json!({ "verdict": verdict }).to_string())
}

#[async_trait]
impl JobHandler for Verify {
    const KIND: JobKind = jobs::verify::KIND;
    type Payload = VerifyJob;

    async fn run(&self, cx: &JobContext<'_>, p: VerifyJob) -> Outcome {
        let (result, mut follow) = match check(cx, &p).await {
            Outcome::Done(r) => (r, FollowUp::default()),
            Outcome::DoneWith(r, f) => (r, f),
            other => return other,
        };
        // The verdict is the `delivered` record of the audit trail (`[tenant.audit]`).
        let details: serde_json::Value = serde_json::from_str(&result).unwrap_or_default();
        let status = details["verdict"].as_str().unwrap_or("").to_string();
        let route = p.route.as_deref().unwrap_or(s4s_core::route::DEFAULT_ROUTE);
        let rec = audit::of_job(
            cx.tenant,
            cx.store.as_ref(),
            cx.job,
            Action::Delivered,
            &p.external_id,
            Some(route),
            &status,
            details,
        );
        if let Some(mut r) = rec.await {
            r.signl4_event_id = p.event_id.clone();
            follow.audit.push(r);
        }
        Outcome::DoneWith(result, follow)
    }
}

/// Asks SIGNL4 about the page's event: done with a verdict, or later.
async fn check(cx: &JobContext<'_>, p: &VerifyJob) -> Outcome {
    let tenant = cx.tenant;
    let team = tenant.team(p.route.as_deref().unwrap_or(s4s_core::route::DEFAULT_ROUTE));
    let Some(api) = &team.api else { return done("not verified (no API key)") };
    let age = Duration::from_millis((now_ms() - cx.job.created_ms).max(0) as u64);
    let later = |why: &str| {
        if age >= GIVE_UP {
            done(&format!("unsettled after {} min: {why}", GIVE_UP.as_secs() / 60))
        } else {
            Outcome::Later(EVERY)
        }
    };
    let event = match api.event(&p.event_id).await {
        Ok(Some(e)) => e,
        // Unknown to this API key (another team?) or not visible yet: a minute at most.
        Ok(None) if age >= Duration::from_secs(60) => {
            return done("not verifiable: SIGNL4 does not show the event to this API key");
        }
        Ok(None) => return later("SIGNL4 does not know the event yet"),
        Err(e) => return e.into(),
    };
    let reason = match event_verdict(&event) {
        Verdict::Pending => return later("still processing"),
        Verdict::Delivered => return done("delivered"),
        Verdict::Unknown(code) => {
            tracing::info!(tenant = %tenant.cfg.name, event_id = %p.event_id, code, "SIGNL4 event status unknown to this version; counted as delivered");
            return done(&format!("delivered (status {code})"));
        }
        Verdict::NotDelivered(r) => r,
        Verdict::Signled { alert_ids } => {
            let mut reason = None;
            for id in alert_ids.iter().take(3) {
                match api.alert(id).await {
                    Ok(Some(a)) => match alert_delivery(&a) {
                        Some(r) => reason = Some(r),
                        None => return done("delivered"),
                    },
                    Ok(None) => {}
                    Err(e) => return e.into(),
                }
            }
            match reason {
                Some(r) => r,
                None => return done("delivered"),
            }
        }
    };
    Outcome::DoneWith(
        serde_json::json!({ "verdict": "not delivered", "reason": reason.as_str() }).to_string(),
        not_delivered(cx, p, reason),
    )
}

/// Says loudly that a page reached nobody, and what follows from it.
fn not_delivered(cx: &JobContext<'_>, p: &VerifyJob, reason: NotDelivered) -> FollowUp {
    let tenant = cx.tenant;
    let name = tenant.cfg.name.as_str();
    metrics::counter!(telemetry::PAGES_NOT_DELIVERED, "tenant" => name.to_string(), "reason" => reason.as_str())
        .increment(1);
    tenant.health.page_not_delivered(&format!("{}: {}", p.external_id, reason.describe()));
    let team = tenant.team(p.route.as_deref().unwrap_or(s4s_core::route::DEFAULT_ROUTE));
    let fallback = match (&team.opts.fallback, &p.page, p.fallback) {
        (Fallback::Emergency, Some(page), false) => Some((
            jobs::fallback_page(name, routed(page, p), false, reason.as_str()),
            "paged the same team again with the emergency scenario",
        )),
        (Fallback::Team(_), Some(page), false) => {
            Some((jobs::fallback_page(name, routed(page, p), true, reason.as_str()), "paged the fallback team"))
        }
        _ => None,
    };
    tracing::error!(tenant = %name, external_id = %p.external_id, event_id = %p.event_id, reason = reason.describe(), fallback = fallback.as_ref().map(|f| f.1).unwrap_or("none"), "SIGNL4 ACCEPTED A PAGE THAT REACHED NOBODY");
    let mut text = format!("SIGNL4: not delivered — {}.", reason.describe());
    if let Some((_, what)) = &fallback {
        text.push_str(&format!(" The connector {what}."));
    }
    let mut follow = FollowUp::default();
    if tenant.cfg.sync.enabled
        && let Some(ext) = ExternalId::parse(&p.external_id)
    {
        let change = format!("undelivered:{}", p.event_id);
        let intent = AlertSync {
            alert_id: ext.id.clone(),
            comments: vec![SyncComment::new(&change, text)],
            ..Default::default()
        };
        follow.jobs.push(jobs::write_back(name, &WriteBack::of(&ext.source), &p.external_id, &intent));
    }
    if let Some((job, _)) = fallback {
        follow.jobs.push(job);
    }
    follow
}

/// The page to fall back from, to the route the verified page went to (a page stored by an
/// earlier version may not name it).
fn routed(page: &PageJob, p: &VerifyJob) -> PageJob {
    let mut page = page.clone();
    if page.route.is_none() {
        page.route = p.route.clone();
    }
    page
}
