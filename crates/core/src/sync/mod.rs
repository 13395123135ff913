//! The two-way sync state machine, pure, split by concern; everything public is re-exported here.
//!
//! - `inbound`: [`on_event`]: a SIGNL4 event's [`Meaning`] (ack / close / note / escalation) → the new SIGNL4
//!   state of the alert and the Graph write it asks for ([`AlertSync`]), with echo suppression.
//! - `coalesce`: [`AlertSync::merge`]: coalescing of pending writes (ack then close during an
//!   outage → one `resolved` write, comments in order), and the outbox's [`merge_json`].
//! - `writeback`: [`alert_plan`]: desired state + the alert as Graph has it now → the minimal
//!   PATCH and the comments not yet posted (comment refs make retries idempotent);
//!   [`incident_rollup`] and [`incident_plan`]: the incident follows when all its tracked alerts
//!   did; tags and existing assignment are preserved.
//! - `portal`: [`portal_change`]: an alert changed in the portal → close / acknowledge in
//!   SIGNL4, unless it is the echo of our own write; [`incident_closes_alert`].
//! - `state` ([`Signl4State`]) and `intent` ([`AlertSync`], [`IncidentSync`], [`SyncComment`]):
//!   the shared types, leaves that use no other part.

mod coalesce;
mod inbound;
mod intent;
mod portal;
mod state;
mod writeback;

pub use coalesce::{Coalesce, merge_alert_sync_json, merge_incident_sync_json, merge_json};
pub use inbound::{InboundDecision, Meaning, SyncOptions, on_event};
pub use intent::{AlertSync, IncidentSync, SyncComment};
pub use portal::{PortalAction, incident_closes_alert, portal_change, reopened};
pub use state::Signl4State;
pub use writeback::{AlertPlan, alert_plan, incident_plan, incident_rollup};
