//! Sending one page to SIGNL4 exactly once, as far as SIGNL4 lets us know.
//!
//! Every attempt is recorded before it sends (`Outbox::begin_attempt`, fenced by the job
//! lease). A page job claimed with an attempt still recorded is *in doubt*: the process died
//! (or the request timed out) between sending and committing, and SIGNL4 may have the alert.
//! With the team's API key, the alert is looked up by its external id (`POST /v2/alerts/paged`
//! with `externalId`, `signl4.md` §2.4) and, when found, the job completes with what was
//! found instead of paging again. Without an API key the page is sent again, visibly marked
//! as a possible repeat, so the responder knows.

use std::time::Duration;

use s4s_core::ids::ExternalId;
use s4s_core::jobs::PageJob;
use s4s_store::{AlertKey, AlertUpdate};
use serde_json::{Map, Value};

use crate::clock::now_ms;
use crate::jobs::{JobContext, JobError, Outcome, signl4};
use crate::telemetry;

/// How long after an attempt began SIGNL4 is given to create the alert before we look for it
/// (the webhook answers before the alert exists; processing is asynchronous, §2.4).
const SETTLE: Duration = Duration::from_secs(5);

/// Suffix of the title of a page sent again after an in-doubt attempt, without an API key.
pub const REPEAT_SUFFIX: &str = " (possible repeat)";
/// The parameter saying so.
pub const REPEAT_PARAMETER: &str = "Possible repeat";

/// What delivering a page did.
pub enum Delivered {
    /// SIGNL4 accepted the page now.
    Sent {
        event_id: Option<String>,
        /// What resolved an in-doubt earlier attempt, if there was one.
        in_doubt: Option<&'static str>,
    },
    /// An earlier, in-doubt attempt had reached SIGNL4: nothing was sent again.
    Found { alert_id: String, event_id: Option<String> },
}

impl Delivered {
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Delivered::Sent { event_id, .. } | Delivered::Found { event_id, .. } => event_id.as_deref(),
        }
    }

    /// The job's stored result.
    pub fn result(&self) -> String {
        match self {
            Delivered::Sent { event_id, in_doubt } => {
                let mut r = serde_json::json!({ "eventId": event_id });
                if let Some(o) = in_doubt {
                    r["inDoubt"] = Value::from(*o);
                }
                r.to_string()
            }
            Delivered::Found { alert_id, event_id } => {
                serde_json::json!({ "eventId": event_id, "inDoubt": "found", "signl4AlertId": alert_id }).to_string()
            }
        }
    }
}

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

fn in_doubt_metric(tenant: &str, outcome: &'static str) {
    metrics::counter!(telemetry::IN_DOUBT_PAGES, "tenant" => tenant.to_string(), "outcome" => outcome).increment(1);
}

/// Asks the route's quiet hours and maintenance windows about one page. `Some`: held until the
/// window ends — done, marked held, counted into the window's digest job. A lowered page
/// gets the quiet scenario in `body`.
fn quiet_check(
    cx: &JobContext<'_>,
    route: &str,
    external_id: &str,
    severity: &s4s_core::alert::Severity,
    body: &mut Map<String, Value>,
) -> Option<Outcome> {
    use s4s_core::quiet::Quiet;
    let quiet = cx.tenant.route(route).signl4.quiet.as_ref()?;
    let tenant = cx.tenant.cfg.name.as_str();
    match quiet.check(now_ms(), severity) {
        Quiet::Page => None,
        Quiet::Lower(scenario) => {
            tracing::info!(tenant, route, external_id, scenario = %scenario, "quiet hours: paging with the lower scenario");
            body.insert("X-S4-AlertingScenario".into(), Value::from(scenario));
            None
        }
        Quiet::Hold { end_ms, label } => {
            metrics::counter!(telemetry::PAGES_QUIET, "tenant" => tenant.to_string(), "route" => route.to_string())
                .increment(1);
            let title = body.get("Title").and_then(Value::as_str).unwrap_or("");
            let job = s4s_core::jobs::summary::digest_job(tenant, route, now_ms(), end_ms, &label, title, external_id);
            tracing::info!(tenant, route, external_id, window = %label, digest = %job.key, "quiet hours: alert held for the digest");
            let result = serde_json::json!({ "held": label, "digest": job.key }).to_string();
            Some(Outcome::DoneWith(
                result,
                s4s_store::FollowUp { update: held_update(external_id), jobs: vec![job], ..Default::default() },
            ))
        }
    }
}

/// A held page's outcome with its `held_back` record (`[tenant.audit]` only).
async fn held_back(cx: &JobContext<'_>, held: Outcome, external_id: &str, route: &str, why: &str) -> Outcome {
    let Outcome::DoneWith(result, mut follow) = held else { return held };
    let details = serde_json::json!({"reason": why, "externalId": external_id, "then": follow.jobs.first().map(|j| j.key.clone())});
    let store = cx.store.as_ref();
    let rec = crate::tenant::audit::of_job(
        cx.tenant,
        store,
        cx.job,
        s4s_core::records::Action::HeldBack,
        external_id,
        Some(route),
        "held",
        details,
    );
    follow.audit.extend(rec.await);
    Outcome::DoneWith(result, follow)
}

/// The alert row of a held page, marked held.
fn held_update(external_id: &str) -> Option<(s4s_store::AlertKey, s4s_store::AlertUpdate)> {
    let held = s4s_store::AlertUpdate {
        signl4_state: Some(s4s_core::sync::Signl4State::Held.as_str().into()),
        ..Default::default()
    };
    alert_key(external_id).map(|key| (key, held))
}

/// Asks the team's storm budget about one page. `Some`: held back — the job is done with the
/// alert marked held and counted into the window's summary job.
fn storm_check(
    cx: &JobContext<'_>,
    team: &crate::tenant::Team,
    external_id: &str,
    severity: &s4s_core::alert::Severity,
    body: &Map<String, Value>,
) -> Option<Outcome> {
    use s4s_core::storm::Admit;
    let tenant = cx.tenant.cfg.name.as_str();
    let admit = team.storm.lock().unwrap_or_else(|p| p.into_inner()).admit(now_ms(), severity);
    let labels = [("tenant", tenant.to_string()), ("team", team.route.clone())];
    match admit {
        Admit::Page => None,
        Admit::HighLane => {
            metrics::counter!(telemetry::PAGES_HIGH_LANE, &labels).increment(1);
            tracing::info!(tenant, team = %team.route, external_id, "storm budget spent: paging through the high-severity lane");
            None
        }
        Admit::Hold { start_ms, end_ms } => {
            metrics::counter!(telemetry::PAGES_HELD, &labels).increment(1);
            let title = body.get("Title").and_then(Value::as_str).unwrap_or("");
            let job = s4s_core::jobs::summary::summary_job(tenant, &team.route, (start_ms, end_ms), title, external_id);
            tracing::warn!(tenant, team = %team.route, external_id, title, summary = %job.key, "storm budget spent: alert held back, counted into the summary page");
            let update = held_update(external_id);
            let result = serde_json::json!({ "held": "storm budget", "summary": job.key }).to_string();
            Some(Outcome::DoneWith(result, s4s_store::FollowUp { update, jobs: vec![job], ..Default::default() }))
        }
    }
}

/// Keeps the team's storm window in the store after a page it let through (before sending:
/// a crash then counts that page twice, never zero times).
async fn save_storm(cx: &JobContext<'_>, team: &crate::tenant::Team) {
    // The state is read inside the serialised section, so the last write is the newest count.
    let _one_at_a_time = team.storm_save.lock().await;
    let Some(state) = team.storm.lock().unwrap_or_else(|p| p.into_inner()).state() else {
        return; // no budget
    };
    let cursor = s4s_core::storm::state_cursor(&team.route);
    if let Err(e) = cx.store.set_cursor(&cx.tenant.cfg.name, &cursor, &state, now_ms()).await {
        tracing::warn!(tenant = %cx.tenant.cfg.name, team = %team.route, error = %e, "cannot keep the storm window; a restart would count afresh");
    }
}

/// After a page that SIGNL4 accepted: the job that follows its event, when the team has an API
/// key and verification is on (`signl4.verify`).
pub fn verify_job(cx: &JobContext<'_>, page: &PageJob, event_id: Option<&str>) -> Option<s4s_store::NewJob> {
    let tenant = cx.tenant;
    let event_id = event_id?;
    let team = tenant.team(page.route());
    if !team.opts.verify || team.api.is_none() {
        return None;
    }
    if page.fallback_team {
        // The fallback team's events may not be visible with this team's API key.
        return None;
    }
    let keep_page = !page.fallback && !matches!(team.opts.fallback, s4s_core::config::Fallback::None);
    let payload = s4s_core::jobs::VerifyJob {
        external_id: page.external_id.clone(),
        event_id: event_id.to_string(),
        page: keep_page.then(|| page.clone()),
        fallback: page.fallback,
        route: page.route.clone(),
    };
    Some(s4s_core::jobs::verify(&tenant.cfg.name, &payload))
}

/// Delivers `page` for the running job; `counted`: it already counts at the team's storm
/// budget and quiet hours (a summary). `Err` is the job's outcome when nothing more is to be
/// done now.
pub async fn page(cx: &JobContext<'_>, page: &PageJob, counted: bool) -> Result<Delivered, Outcome> {
    let tenant = cx.tenant;
    let tenant_name = tenant.cfg.name.as_str();
    let (external_id, fallback, fallback_team) = (page.external_id.as_str(), page.fallback, page.fallback_team);
    let mut body = page.body.clone();
    let route = page.route();
    let team = tenant.team(route);
    let client = match (fallback_team, &team.fallback) {
        (false, _) => &team.webhook,
        (true, Some(c)) => c,
        (true, None) => {
            return Err(Outcome::Broken("fallback page, but the team's fallback is no longer \"team\"".into()));
        }
    };
    // A fallback page shares its alert's external id: a lookup would find the first page.
    let can_look_up = !external_id.is_empty() && !fallback;
    let mut in_doubt = None;
    if let Some(earlier) = &cx.job.attempt {
        match &team.api {
            Some(api) if can_look_up => {
                let age = Duration::from_millis((now_ms() - earlier.started_ms).max(0) as u64);
                if age < SETTLE {
                    tokio::time::sleep(SETTLE - age).await;
                }
                let found = api.alerts_by_external_id(external_id).await.map_err(Outcome::from)?;
                if let Some(a) = found.into_iter().next() {
                    in_doubt_metric(tenant_name, "found");
                    tracing::warn!(tenant = %tenant_name, external_id = %external_id, signl4_alert = %a.id, "in-doubt page: SIGNL4 already has it; not paging again");
                    return Ok(Delivered::Found { alert_id: a.id, event_id: a.event_id });
                }
                in_doubt_metric(tenant_name, "resent");
                in_doubt = Some("resent");
                tracing::info!(tenant = %tenant_name, external_id = %external_id, "in-doubt page: SIGNL4 does not have it; sending it");
            }
            _ => {
                // No way to ask: send again, visibly, so the responder knows.
                if let Some(Value::String(t)) = body.get_mut("Title")
                    && !t.ends_with(REPEAT_SUFFIX)
                {
                    t.push_str(REPEAT_SUFFIX);
                }
                body.insert(
                    REPEAT_PARAMETER.into(),
                    Value::from("yes: the connector stopped while sending this page and cannot check whether SIGNL4 received it (no SIGNL4 API key)"),
                );
                in_doubt_metric(tenant_name, "resent_marked");
                in_doubt = Some("resent_marked");
                tracing::warn!(tenant = %tenant_name, external_id = %external_id, "in-doubt page: sending it again marked as a possible repeat (configure signl4.api_key to check instead)");
            }
        }
    }
    // The team's storm budget: a page held back is counted into the window's summary instead
    // (a fallback page, a summary and an in-doubt repeat already count).
    if cx.job.attempt.is_none() && !fallback_team && !counted {
        let severity = s4s_core::alert::Severity::parse(&page.severity);
        if let Some(held) = quiet_check(cx, route, external_id, &severity, &mut body) {
            return Err(held_back(cx, held, external_id, route, "quiet hours").await);
        }
        if let Some(held) = storm_check(cx, team, external_id, &severity, &body) {
            return Err(held_back(cx, held, external_id, route, "storm budget").await);
        }
        save_storm(cx, team).await;
    }
    client.reserve().await.map_err(Outcome::from)?;
    let owner = cx.job.lease_owner.as_deref().unwrap_or("");
    let attempt = format!("{owner}:{:016x}", rand::random::<u64>());
    match cx.store.begin_attempt(cx.job.id, owner, &attempt, now_ms()).await {
        Ok(true) => {}
        Ok(false) => return Err(Outcome::Abandoned("the job lease expired before sending".into())),
        Err(e) => return Err(Outcome::Failed(JobError::Store(e))),
    }
    match client.post(&body).await {
        Ok(event_id) => {
            let queued_for = (now_ms() - cx.job.created_ms).max(0) as f64 / 1000.0;
            metrics::histogram!(telemetry::TIME_TO_PAGE, "tenant" => tenant_name.to_string(), "kind" => cx.job.kind.clone())
                .record(queued_for);
            Ok(Delivered::Sent { event_id, in_doubt })
        }
        Err(e) => {
            if e.certainly_not_delivered() {
                let _ = cx.store.end_attempt(cx.job.id, owner, now_ms()).await;
            }
            Err(signl4::failed(cx, route, e))
        }
    }
}
