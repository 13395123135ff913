//! Code both backends share: SQL texts, and macros each backend instantiates with its sqlx types.
//!
//! The macros generate the same functions and trait impls into `sqlite` and `postgres`; only
//! what the dialects really disagree on stays in those modules. A backend module that invokes
//! them provides:
//! - `helpers!` (row mapping, job insert/coalesce, alert update, migration runner): nothing.
//! - `alert_store!`: `insert_or_lock_alert(conn, alert, now_ms)` (None when the alert is new,
//!   else its stored `(version, paged)`, locked for the transaction), and the inherent methods
//!   `begin_write()` (a write transaction) and `fetch_alert_states(tenant, source, ids)`.
//! - `outbox!`: `begin_write()` and the inherent method `claim(owner, now_ms, lease_ms, limit)`.
//! - `coordination!`, `inspection!`: a `pool` field.

mod alerts;
mod coordination;
mod helpers;
mod inspection;
mod outbox;
pub(crate) mod sql;

pub(crate) use alerts::alert_store;
pub(crate) use coordination::coordination;
pub(crate) use helpers::helpers;
pub(crate) use inspection::inspection;
pub(crate) use outbox::outbox;

/// Claim order of a new job (`jobs.priority`, lower first): pages and write-backs 0, follow-up
/// pages of an incident that already paged 1 (set at ingest), housekeeping 2 — so incident
/// tags and roll-ups never take worker slots ahead of pages (`JobKind::priority`).
pub(crate) fn claim_priority(kind: s4s_core::jobs::JobKind) -> i64 {
    use s4s_core::budget::Priority;
    match kind.priority() {
        Priority::Housekeeping => 2,
        _ => 0,
    }
}
