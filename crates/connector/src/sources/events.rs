//! Recording a SIGNL4 event (from the webhook or the REST fallback): correlate it with the
//! alert we paged, decide its effect (core `sync::on_event`), and record it together with its
//! write-back jobs in one transaction, deduplicated by its change key.

use s4s_core::ids::ExternalId;
use s4s_core::jobs;
use s4s_core::scope::{self, Grant, Verdict};
use s4s_core::signl4::event::Event;
use s4s_core::source::{SourceId, WriteBack};
use s4s_core::sync;
use s4s_core::sync::Meaning;
use s4s_store::{AlertUpdate, InboundEvent, NewJob, Store, StoreError, StoredAlert};

use crate::clock::now_ms;
use crate::tenant::{TenantContext, audit};
use s4s_core::records::{Action, AuditRecord};

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded, with this effect (`acknowledged`, `closed`, `note`, …).
    Effect(&'static str),
    Duplicate,
    UnknownAlert,
    Ignored,
    SyncDisabled,
    /// Recording it failed (a panic included): kept in the quarantine table instead
    /// ([`record_or_quarantine`]); answered like a recorded event, so SIGNL4 does not redeliver
    /// it for ever.
    Quarantined,
    /// The credential's team(s) may not act on this alert (`scope::check`): nothing recorded.
    Refused,
}

impl Recorded {
    pub fn is_effect(self) -> bool {
        matches!(self, Recorded::Effect(_))
    }

    /// A short label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Recorded::Effect(n) => n,
            Recorded::Duplicate => "duplicate",
            Recorded::UnknownAlert => "unknown-alert",
            Recorded::Ignored => "ignored",
            Recorded::SyncDisabled => "sync-disabled",
            Recorded::Quarantined => "quarantined",
            Recorded::Refused => "refused",
        }
    }
}

async fn correlate(
    store: &dyn Store,
    tenant: &TenantContext,
    event: &Event,
) -> Result<Option<StoredAlert>, StoreError> {
    if let Some(ext) = event.external_id().and_then(ExternalId::parse) {
        if ext.tenant != tenant.cfg.name {
            return Ok(None);
        }
        if let Some(a) = store.get_alert(&ext.tenant, &ext.source, &ext.id).await? {
            return Ok(Some(a));
        }
    }
    match event.signl4_event_id() {
        Some(ev) => store.find_alert_by_signl4_event(&tenant.cfg.name, ev).await,
        None => Ok(None),
    }
}

/// The incident a write-back moves with its alert: a Graph alert's incident, a Sentinel
/// alert's (per-alert mode); none for a Sentinel incident itself (its `incident_id` is the
/// Defender XDR incident it mirrors, which its own write-back does not touch).
fn sync_incident<'a>(source: &str, incident: Option<&'a str>) -> Option<&'a str> {
    incident.filter(|_| !SourceId::parse(source).is_some_and(|s| s.is_incident_page()))
}

/// Where a quarantined webhook event is kept (`quarantine.source`).
pub const SOURCE_SIGNL4_WEBHOOK: &str = "signl4-webhook";

/// [`record`] for an event the webhook received (`body`, its raw JSON): a panic while
/// recording it quarantines it under [`SOURCE_SIGNL4_WEBHOOK`].
pub async fn record_webhook(
    store: &dyn Store,
    tenant: &TenantContext,
    grant: &Grant,
    event: &Event,
    body: &[u8],
) -> Result<Recorded, StoreError> {
    let mut raw: serde_json::Value =
        serde_json::from_slice(body).unwrap_or_else(|_| String::from_utf8_lossy(body).into());
    // The teams the delivering URL's token named go with the quarantined event, so that a
    // re-run acts with that token's rights only, not the tenant's.
    if let Some(o) = raw.as_object_mut() {
        o.insert(GRANT_FIELD.into(), serde_json::json!(grant.teams));
    }
    record_or_quarantine(store, tenant, grant, event, SOURCE_SIGNL4_WEBHOOK, &raw).await
}

/// Where a quarantined webhook event keeps the routes of the teams its URL's token named
/// (SIGNL4's parser ignores unknown fields; SIGNL4 itself never sends this name).
pub const GRANT_FIELD: &str = "s4sGrantedTeams";

/// The grant a quarantined webhook event is re-run with: the teams stored with it, each
/// still configured; without any stored (an item from before), the tenant's own team's.
fn stored_grant(tenant: &TenantContext, raw: &serde_json::Value) -> Grant {
    let stored: Option<Vec<String>> = raw
        .get(GRANT_FIELD)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect());
    match stored {
        Some(routes) => {
            grant(tenant, |i| tenant.clients.teams.get(i).is_some_and(|t| routes.contains(&t.route)), |_| true)
        }
        None => {
            let has_own = |i: usize| tenant.clients.teams.get(i).is_some_and(|t| t.opts.inbound_token.is_some());
            grant(tenant, |i| i == 0, has_own)
        }
    }
}

/// [`record`], guarded: a panic while recording the event (correlating it,
/// deciding its effect) quarantines it with `raw` (its JSON as received, `source` where it came
/// from) instead of failing the delivery or the poll; nothing of it was written (the event and
/// its jobs are one transaction at the end of [`record`]). A store error is returned as is
/// (not recorded: deliver it again).
pub async fn record_or_quarantine(
    store: &dyn Store,
    tenant: &TenantContext,
    grant: &Grant,
    event: &Event,
    source: &str,
    raw: &serde_json::Value,
) -> Result<Recorded, StoreError> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(record(store, tenant, grant, event)).catch_unwind().await {
        Ok(r) => r,
        Err(p) => {
            let reason = format!("internal error (panic): {}", crate::telemetry::panic_text(&p));
            let item = crate::sources::quarantine::item(&tenant.cfg, source, &event.id, raw, &reason);
            crate::sources::quarantine::record(store, None, &tenant.cfg, vec![item])
                .await
                .map_err(|e| e.downcast::<StoreError>().unwrap_or_else(|e| StoreError::Corrupt(format!("{e:#}"))))?;
            Ok(Recorded::Quarantined)
        }
    }
}

/// Re-runs the quarantined webhook events of `tenant` an operator asked for (`jobs retry
/// quarantine:<id>`): parsed again and recorded through [`record_or_quarantine`] (deduplicated
/// by change key as always). Called by the tenant's poller each cycle. Returns how many had an
/// effect.
pub async fn rerun_quarantined_webhooks(store: &dyn Store, tenant: &TenantContext) -> anyhow::Result<usize> {
    let mut effects = 0;
    for (q, raw) in crate::sources::quarantine::due(store, &tenant.cfg, SOURCE_SIGNL4_WEBHOOK).await? {
        let body = serde_json::to_vec(&raw)?;
        match s4s_core::signl4::event::parse(&body) {
            Ok(event) => {
                let grant = stored_grant(tenant, &raw);
                if record_or_quarantine(store, tenant, &grant, &event, SOURCE_SIGNL4_WEBHOOK, &raw).await?.is_effect() {
                    effects += 1;
                }
            }
            Err(e) => {
                let item = crate::sources::quarantine::item(
                    &tenant.cfg,
                    SOURCE_SIGNL4_WEBHOOK,
                    &q.item_id,
                    &raw,
                    &e.to_string(),
                );
                crate::sources::quarantine::record(store, None, &tenant.cfg, vec![item]).await?;
            }
        }
        crate::sources::quarantine::finish(store, &q, false).await?;
    }
    Ok(effects)
}

/// The teams of `tenant` that a credential names: the teams `holds` says it belongs to; the
/// tenant's own team's credential also covers the teams without one of their own (`has_own`
/// false: a route's team that set no `inbound_token` / `api_key` is reached through the
/// tenant's, as before routes had their own).
pub fn grant(tenant: &TenantContext, holds: impl Fn(usize) -> bool, has_own: impl Fn(usize) -> bool) -> Grant {
    let mut g = Grant::default();
    let own = holds(0);
    for (i, team) in tenant.clients.teams.iter().enumerate() {
        if holds(i) || (own && !has_own(i)) {
            g.teams.push(team.route.clone());
            g.team_ids.push(team.opts.team_id.clone().unwrap_or_default());
        }
    }
    g
}

/// Whether `grant` may act on `alert` (`scope::check`): by the teams its page went to — a
/// grouped alert's: the page it was grouped into — or by the team the event names.
async fn check_scope(
    store: &dyn Store,
    tenant: &TenantContext,
    grant: &Grant,
    alert: &StoredAlert,
    event: &Event,
) -> Result<Verdict, StoreError> {
    let page = match alert.grouped_into.as_deref().and_then(ExternalId::parse) {
        Some(p) if p.tenant == tenant.cfg.name => store.get_alert(&p.tenant, &p.source, &p.id).await?,
        _ => None,
    };
    let routes = &page.as_ref().unwrap_or(alert).routes;
    let teams = scope::alert_teams(routes, |r| tenant.team(r).route.clone());
    Ok(scope::check(grant, &teams, event.team_id()))
}

/// Records one event and its effects; 2xx may be answered only after this returned `Ok`.
/// `grant` names the teams whose credential brought the event: an event for an alert of
/// another team is [`Recorded::Refused`] and changes nothing.
pub async fn record(
    store: &dyn Store,
    tenant: &TenantContext,
    grant: &Grant,
    event: &Event,
) -> Result<Recorded, StoreError> {
    let meaning = event.meaning();
    if let Meaning::Ignore(why) = meaning {
        tracing::debug!(tenant = %tenant.cfg.name, event_type = event.event_type, why, "SIGNL4 event ignored");
        return Ok(Recorded::Ignored);
    }
    if !tenant.cfg.sync.enabled {
        return Ok(Recorded::SyncDisabled);
    }
    let Some(alert) = correlate(store, tenant, event).await? else {
        tracing::debug!(tenant = %tenant.cfg.name, external_id = event.external_id().unwrap_or("-"), "SIGNL4 event for an alert this connector did not create; ignored");
        return Ok(Recorded::UnknownAlert);
    };
    let moved_to = match check_scope(store, tenant, grant, &alert, event).await? {
        Verdict::Allowed => None,
        Verdict::MovedTo(team) => Some(team),
        Verdict::Refused => {
            tracing::warn!(tenant = %tenant.cfg.name, source = %alert.record.source, alert_id = %alert.record.alert_id, teams = ?grant.teams, "SIGNL4 event refused: the alert was not paged to the team whose credential sent it");
            return Ok(Recorded::Refused);
        }
    };
    let state = alert.state();
    let r = &alert.record;
    // Keyed by the change, not the delivery: repeats and the REST fallback dedupe on it.
    let change = event.change_key();
    let decision = sync::on_event(
        &meaning,
        event.who(),
        &change,
        state,
        &r.alert_id,
        sync_incident(&r.source, r.incident_id.as_deref()),
        &tenant.cfg.sync.options,
    );
    let ext = ExternalId::new(&r.tenant, &r.source, &r.alert_id).to_string();
    let write_back = WriteBack::of(&r.source);
    let mut jobs: Vec<NewJob> =
        decision.sync.iter().map(|s| jobs::write_back(&tenant.cfg.name, &write_back, &ext, s)).collect();
    // The page of an incident (`group = "incident"`, or the page of a Defender incident that
    // its Sentinel twin joined): the response acts on every alert that was grouped into it,
    // as if each had been paged and answered on its own.
    if let Some(inc) = r.incident_id.as_deref() {
        for member in store.incident_alerts(&tenant.cfg.name, inc).await? {
            let is_self = member.record.source == r.source && member.record.alert_id == r.alert_id;
            if member.grouped_into.as_deref() != Some(ext.as_str()) || is_self {
                continue;
            }
            let m = &member.record;
            let d = sync::on_event(
                &meaning,
                event.who(),
                &change,
                state,
                &m.alert_id,
                sync_incident(&m.source, Some(inc)),
                &tenant.cfg.sync.options,
            );
            let member_ext = ExternalId::new(&r.tenant, &m.source, &m.alert_id).to_string();
            let write_back = WriteBack::of(&m.source);
            jobs.extend(d.sync.iter().map(|s| jobs::write_back(&tenant.cfg.name, &write_back, &member_ext, s)));
        }
    }
    // Paged to several teams (`continue` routes) and closed in one: close it in the others
    // too (a resolve of an alert already closed changes nothing in SIGNL4).
    if decision.new_state == Some(sync::Signl4State::Closed) && alert.routes.len() > 1 {
        let ext = ExternalId::new(&r.tenant, &r.source, &r.alert_id).with_episode(alert.episode).to_string();
        jobs.extend(jobs::signl4_status_routes(&tenant.cfg.name, &ext, "resolved", &alert.routes));
    }
    let key = alert.key();
    let mut update =
        AlertUpdate { signl4_state: decision.new_state.map(|s| s.as_str().to_string()), ..Default::default() };
    // SIGNL4 has the alert in the credential's team now (an escalation, `signl4.md` §2.4):
    // recorded with the event, so that team's later events are accepted.
    if let Some(team) = &moved_to {
        tracing::info!(tenant = %tenant.cfg.name, alert_id = %r.alert_id, team = %team, "SIGNL4 reports the alert in another team; its events are accepted from now on");
        update.routes = Some(scope::routes_after_move(&alert.routes, team).join(","));
    }
    // Who acknowledged and when, for the status page (the store keeps the first one): as
    // SIGNL4 dates it (`eventRaisedUtc`), or when it was seen here when that is missing or
    // in the future.
    if decision.new_state == Some(sync::Signl4State::Acknowledged) {
        let seen = now_ms();
        update.acknowledged_by = Some(event.who().unwrap_or("a responder").to_string());
        update.acknowledged_ms =
            Some(event.raised.map(s4s_core::timefmt::millis).filter(|t| *t <= seen).unwrap_or(seen));
    }
    let event_key = format!("{}:{change}", tenant.cfg.name);
    let audit = audit_record(tenant, &alert, event, &event_key, &meaning, decision.new_state.unwrap_or(state));
    let recorded = store
        .record_inbound(
            &InboundEvent {
                event_id: event_key.clone(),
                tenant: tenant.cfg.name.clone(),
                meaning: decision.note.to_string(),
                audit: audit.into_iter().collect(),
            },
            Some((&key, &update)),
            &jobs,
            now_ms(),
        )
        .await?;
    if !recorded {
        tracing::debug!(tenant = %tenant.cfg.name, event_id = %event.id, "repeated SIGNL4 delivery ignored");
        return Ok(Recorded::Duplicate);
    }
    let paged_ext = ExternalId::new(&r.tenant, &r.source, &r.alert_id).with_episode(alert.episode).to_string();
    if state == sync::Signl4State::Open && decision.new_state == Some(sync::Signl4State::Acknowledged) {
        time_to_acknowledge(store, tenant, &paged_ext, event).await;
    }
    tracing::info!(tenant = %tenant.cfg.name, source = %r.source, alert_id = %r.alert_id, external_id = %paged_ext, event_id = %event.id, what = decision.note, by = event.who().unwrap_or("-"), "SIGNL4 event recorded");
    Ok(Recorded::Effect(decision.note))
}

/// The `SIGNL4_CL` record of a recorded event (`[tenant.audit]` only), keyed by its change
/// key: acknowledged, closed, escalated or annotated, by the SIGNL4 user.
fn audit_record(
    tenant: &TenantContext,
    alert: &StoredAlert,
    event: &Event,
    event_key: &str,
    meaning: &Meaning,
    state_after: sync::Signl4State,
) -> Option<AuditRecord> {
    tenant.cfg.audit.as_ref()?;
    let action = match meaning {
        Meaning::Acknowledged => Action::Acknowledged,
        Meaning::Closed => Action::Closed,
        Meaning::Escalated => Action::Escalated,
        Meaning::Annotated(_) => Action::Annotated,
        Meaning::Ignore(_) => return None,
    };
    let time = event.raised.map(s4s_core::timefmt::millis).unwrap_or_else(now_ms);
    let mut r = AuditRecord::new(&tenant.cfg.name, action, event_key, time, &audit::facts_of(alert));
    r.team = audit::team_of(alert);
    r.actor = event.who().unwrap_or_default().to_string();
    r.signl4_alert_id = event.alert.as_ref().and_then(|a| a.id.clone()).unwrap_or_default();
    r.signl4_event_id = event.signl4_event_id().unwrap_or_default().to_string();
    r.status = state_after.as_str().to_string();
    let mut details = serde_json::json!({"eventType": event.event_type, "eventId": event.id});
    if let Meaning::Annotated(text) = meaning {
        details["text"] = serde_json::Value::from(text.as_str());
    }
    r.details = details;
    Some(r)
}

/// [`telemetry::TIME_TO_ACK`](crate::telemetry::TIME_TO_ACK) of the first acknowledgement of
/// a page: from the page job's completion (SIGNL4 accepted it) to the acknowledgement — as
/// SIGNL4 dates it (`eventRaisedUtc`), or when it was seen here when that is missing or off.
async fn time_to_acknowledge(store: &dyn Store, tenant: &TenantContext, paged_ext: &str, event: &Event) {
    let Ok(Some(page)) = store.get_job(&s4s_core::ids::job_key::page(paged_ext)).await else { return };
    if page.state != s4s_store::JobState::Done {
        return;
    }
    let seen = now_ms();
    let acked = event.raised.map(s4s_core::timefmt::millis).filter(|t| (page.updated_ms..=seen).contains(t));
    let secs = (acked.unwrap_or(seen) - page.updated_ms).max(0) as f64 / 1000.0;
    metrics::histogram!(crate::telemetry::TIME_TO_ACK, "tenant" => tenant.cfg.name.clone()).record(secs);
}
