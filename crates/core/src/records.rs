//! Plain records the store persists: alert versions, outbox jobs to create, sync bookkeeping,
//! audit trail rows.
//!
//! They live in the pure core so that decisions (what to ingest, which jobs a change causes)
//! are computed and unit-tested without a database; `s4s-store` persists them.

use serde_json::Value;

use crate::job_kind::JobKind;
use crate::sync::Signl4State;

/// One version of an alert as read from the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub tenant: String,
    pub source: String,
    pub alert_id: String,
    /// Normalised `lastUpdateDateTime`; equal versions are duplicates.
    pub version: String,
    pub status: String,
    pub severity: String,
    /// Graph incident id (alerts_v2 `incidentId`), for the incident roll-up.
    pub incident_id: Option<String>,
    pub raw: String,
}

/// What happened (`Action` column; the README and the Bicep template list the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// SIGNL4 accepted the page (`Signl4EventId` is its event id).
    Paged,
    /// SIGNL4 said whether the page reached somebody (delivery verification).
    Delivered,
    Acknowledged,
    /// A note was added in SIGNL4.
    Annotated,
    Escalated,
    Closed,
    /// A SIGNL4 response was written to the Graph alert / Sentinel incident.
    WrittenBack,
    /// Writing it back failed for good (the job is in the dead letters).
    WriteBackFailed,
    /// Not paged now: held by the team's storm budget or quiet hours.
    HeldBack,
    /// The alert was routed to a team (one record per team it pages).
    Routed,
    /// Processing the item failed (a panic included): it is quarantined, not paged.
    Quarantined,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::Paged,
        Action::Delivered,
        Action::Acknowledged,
        Action::Annotated,
        Action::Escalated,
        Action::Closed,
        Action::WrittenBack,
        Action::WriteBackFailed,
        Action::HeldBack,
        Action::Routed,
        Action::Quarantined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Paged => "paged",
            Action::Delivered => "delivered",
            Action::Acknowledged => "acknowledged",
            Action::Annotated => "annotated",
            Action::Escalated => "escalated",
            Action::Closed => "closed",
            Action::WrittenBack => "written_back",
            Action::WriteBackFailed => "write_back_failed",
            Action::HeldBack => "held_back",
            Action::Routed => "routed",
            Action::Quarantined => "quarantined",
        }
    }

    /// The action of a recorded SIGNL4 event (`sync::on_event`'s note): `acknowledged`,
    /// `closed`, `escalated`, `note`/`annotated`.
    pub fn of_event_note(note: &str) -> Option<Action> {
        match note {
            "acknowledged" => Some(Action::Acknowledged),
            "closed" => Some(Action::Closed),
            "escalated" => Some(Action::Escalated),
            "note" | "annotated" => Some(Action::Annotated),
            _ => None,
        }
    }
}

/// One row of `SIGNL4_CL` (built and turned into a row in `audit`). Empty strings are sent as
/// absent values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Deterministic: see [`crate::audit::record_id`].
    pub record_id: String,
    pub tenant: String,
    /// When it happened (ms since the epoch): `TimeGenerated`.
    pub time_ms: i64,
    /// `graph` or `sentinel`.
    pub source: String,
    pub alert_id: String,
    pub incident_id: String,
    pub title: String,
    /// `informational`, `low`, `medium` or `high`.
    pub severity: String,
    /// The SIGNL4 team (route) paged; `default` for the tenant's own team.
    pub team: String,
    pub signl4_alert_id: String,
    pub signl4_event_id: String,
    pub action: Action,
    /// The SIGNL4 user, or [`crate::audit::CONNECTOR`].
    pub actor: String,
    pub status: String,
    pub latency_ms: Option<i64>,
    /// More about it, as JSON (`Details`, dynamic).
    pub details: Value,
}

/// Merges a pending job's payload with a newer one (coalescing).
pub type Merge = fn(old: &str, new: &str) -> String;

/// A job to create in the outbox.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant: String,
    /// Stored by its name ([`JobKind::as_str`]); the store orders claims by its priority.
    pub kind: JobKind,
    /// Idempotency key: a second job with the same key is never created.
    pub key: String,
    pub payload: String,
    /// `None`: a job with this key is created once, ever. `Some(merge)`: a coalescing job —
    /// if one with this key is pending, its payload becomes `merge(old, new)`; if it is done or
    /// dead, it is re-armed with the new payload. Either way its `rev` increases, so a worker
    /// that is running the old revision does not mark it done (`Outbox::complete_job`).
    pub coalesce: Option<Merge>,
}

impl NewJob {
    pub fn once(tenant: &str, kind: JobKind, key: String, payload: String) -> NewJob {
        NewJob { tenant: tenant.into(), kind, key, payload, coalesce: None }
    }
    pub fn coalescing(tenant: &str, kind: JobKind, key: String, payload: String, merge: Merge) -> NewJob {
        NewJob { tenant: tenant.into(), kind, key, payload, coalesce: Some(merge) }
    }
}

/// Identifies an alert row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertKey {
    pub tenant: String,
    pub source: String,
    pub alert_id: String,
}

/// Sync bookkeeping on an alert row; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertUpdate {
    /// Where the SIGNL4 alert stands ([`Signl4State::as_str`]; set it with [`AlertUpdate::state`]).
    pub signl4_state: Option<String>,
    /// The status the connector itself last wrote to Graph (echo suppression).
    pub written_status: Option<String>,
    /// SIGNL4's `eventId` of the page (fallback correlation).
    pub signl4_event_id: Option<String>,
    /// Mark the alert as paged without a page job of its own (a Sentinel incident whose
    /// alerts are paged one by one).
    pub paged: Option<bool>,
    /// The routes the alert paged, comma-separated (`routing::select`), recorded with its page.
    pub routes: Option<String>,
    /// A reopened alert's new episode (each episode pages once).
    pub episode: Option<i64>,
    /// The external id of the incident page this alert was grouped into (`group = "incident"`).
    pub grouped_into: Option<String>,
    /// Who acknowledged the page in SIGNL4 (e-mail or name as SIGNL4 sends it). Only the
    /// first acknowledgement is kept: later ones leave it unchanged.
    pub acknowledged_by: Option<String>,
    /// When that first acknowledgement happened (Unix ms).
    pub acknowledged_ms: Option<i64>,
}

/// What a finished job records and causes, committed together with its completion.
#[derive(Debug, Clone, Default)]
pub struct FollowUp {
    pub update: Option<(AlertKey, AlertUpdate)>,
    pub jobs: Vec<NewJob>,
    /// `SIGNL4_CL` records of what the job did (each once, by its id), committed with the
    /// completion; they arm their tenant's upload job (`jobs::audit_upload`).
    pub audit: Vec<AuditRecord>,
}

/// A SIGNL4 outbound-webhook event, recorded once by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    pub event_id: String,
    pub tenant: String,
    pub meaning: String,
    /// `SIGNL4_CL` records of the event, stored with it (only when it is not a repeat).
    pub audit: Vec<AuditRecord>,
}

/// An item (Graph alert or incident, Sentinel incident, SIGNL4 event) whose processing failed
/// — a panic included — kept aside with its raw JSON instead of failing its page: the rest of
/// the page is stored and the cursor moves on (the quarantined item is durable here).
/// Stored once per `(tenant, source, item_id)`; seeing it again updates it and counts an
/// attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineItem {
    pub tenant: String,
    /// The source's cursor name (`graph-alert`, `graph-incident`, `sentinel.<ws>`,
    /// `signl4-webhook`, `signl4-rest`).
    pub source: String,
    /// The item's id as the source names it (alert id, incident name, event id).
    pub item_id: String,
    /// The item as received (JSON text).
    pub raw: String,
    /// Why: the panic message or the error, at most [`QuarantineItem::MAX_REASON`] characters.
    pub reason: String,
    /// The `quarantined` `SIGNL4_CL` record, stored with the item when it is new.
    pub audit: Vec<AuditRecord>,
}

impl QuarantineItem {
    /// Longest reason kept (characters).
    pub const MAX_REASON: usize = 2000;

    pub fn new(tenant: &str, source: &str, item_id: &str, raw: &serde_json::Value, reason: &str) -> QuarantineItem {
        QuarantineItem {
            tenant: tenant.to_string(),
            source: source.to_string(),
            item_id: item_id.to_string(),
            raw: raw.to_string(),
            reason: crate::text::truncate(reason, Self::MAX_REASON),
            audit: Vec::new(),
        }
    }
}

/// A quarantined item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Its row id: `jobs show quarantine:<id>`.
    pub id: i64,
    pub tenant: String,
    pub source: String,
    pub item_id: String,
    pub raw: String,
    pub reason: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// How often processing it failed (seen again, or retried and still failing).
    pub attempts: i64,
    /// An operator asked to re-run it (`jobs retry quarantine:<id>`); the source's next
    /// cycle does, and clears this.
    pub retry: bool,
}

/// An alert version and, if it should page, the page job.
#[derive(Debug, Clone)]
pub struct IngestItem {
    pub alert: AlertRecord,
    /// Created only if the alert has never been paged before (then `signl4_state` = open).
    pub page: Option<NewJob>,
    /// Pages to further teams (routes with `continue`), created together with `page` and only
    /// when it is.
    pub more_pages: Vec<NewJob>,
    /// Further jobs this version causes (e.g. close the SIGNL4 alert), created in the same
    /// transaction.
    pub jobs: Vec<NewJob>,
    /// Sync bookkeeping to apply in the same transaction.
    pub update: AlertUpdate,
    /// `SIGNL4_CL` records of the routing decision, stored only together with `page` (when
    /// the page job is created).
    pub audit: Vec<AuditRecord>,
}

impl IngestItem {
    pub fn new(alert: AlertRecord, page: Option<NewJob>) -> IngestItem {
        IngestItem {
            alert,
            page,
            more_pages: Vec::new(),
            jobs: Vec::new(),
            update: AlertUpdate::default(),
            audit: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub jobs_created: usize,
}

impl IngestOutcome {
    pub fn add(&mut self, o: IngestOutcome) {
        self.new += o.new;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.jobs_created += o.jobs_created;
    }
}

/// A stored alert with its paging and sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub record: AlertRecord,
    pub paged: bool,
    pub signl4_state: String,
    pub written_status: Option<String>,
    pub signl4_event_id: Option<String>,
    /// The routes the alert paged (empty: the default route, or paged before routes existed).
    pub routes: Vec<String>,
    /// 0 until the alert is reopened after a resolve; each reopening pages once.
    pub episode: i64,
    /// The incident page this alert was grouped into, if any.
    pub grouped_into: Option<String>,
    /// Who first acknowledged its page in SIGNL4, and when (Unix ms).
    pub acknowledged_by: Option<String>,
    pub acknowledged_ms: Option<i64>,
}

impl StoredAlert {
    /// Where the SIGNL4 alert stands, typed.
    pub fn state(&self) -> Signl4State {
        Signl4State::parse(&self.signl4_state)
    }

    /// The row's key.
    pub fn key(&self) -> AlertKey {
        AlertKey {
            tenant: self.record.tenant.clone(),
            source: self.record.source.clone(),
            alert_id: self.record.alert_id.clone(),
        }
    }
}

impl AlertUpdate {
    /// An update that only moves the SIGNL4 state.
    pub fn state(state: Signl4State) -> AlertUpdate {
        AlertUpdate { signl4_state: Some(state.as_str().to_string()), ..Default::default() }
    }
}

/// Proof that a writer still holds a lease: its name, owner and the generation it was granted
/// at. A takeover increments the generation, so a writer that lost the lease (and even one that
/// got it back since) cannot commit writes it prepared under the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub owner: String,
    pub generation: i64,
}
