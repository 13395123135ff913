//! The one store-a-page pipeline of the alert sources: parse → prior rows → page state →
//! each item's reads → decide (guarded, with the audit of its routes) → one fenced ingest with
//! the quarantined items → metrics. A source provides the hooks ([`PageSource`]).

use std::collections::HashMap;

use async_trait::async_trait;
use s4s_core::config::TenantConfig;
use s4s_core::records::IngestItem;
use s4s_core::{ingest, timefmt};
use s4s_store::{Fence, Store, StoredAlert};
use serde_json::Value;
use time::OffsetDateTime;

use crate::sources::{Stored, quarantine};
use crate::telemetry;

/// An item a source could not read (no id, a missing field).
pub struct Malformed {
    /// Its id, when it has one: then it is quarantined; without one it is only counted.
    pub id: Option<String>,
    pub error: String,
}

/// What a source provides to the pipeline: how to read its items, what to read before
/// deciding and the (pure) decision.
#[async_trait]
pub trait PageSource: Send + Sync {
    /// One parsed item (a Graph alert, a Sentinel incident).
    type Item: Send + Sync;
    /// Page-wide state the decisions share and update in order (e.g. incident groups).
    type State: Send;
    /// One item's reads before its decision (the decision does no I/O and runs guarded).
    type Extra: Send;
    /// Decide (and page) the oldest item of a page first.
    const OLDEST_FIRST: bool = false;

    fn tenant(&self) -> &TenantConfig;
    /// The stored source name of its rows and quarantined items.
    fn source(&self) -> String;
    /// What it is, for logs.
    fn describe(&self) -> String;
    /// The id of a raw item, to quarantine it by when parsing it panics.
    fn raw_key(raw: &Value) -> Option<String>;
    fn parse(raw: Value) -> Result<Self::Item, Malformed>;
    fn key(item: &Self::Item) -> &str;
    /// When the item last changed (the cursor moves to the newest of a page).
    fn changed_at(item: &Self::Item) -> OffsetDateTime;
    fn raw(item: &Self::Item) -> &Value;
    /// Reads the page-wide state (`prior`: the stored rows of the page's items, by key).
    async fn state(
        &self,
        store: &dyn Store,
        items: &[Self::Item],
        prior: &HashMap<String, StoredAlert>,
    ) -> anyhow::Result<Self::State>;
    /// Reads what one item's decision needs beyond its stored row.
    async fn enrich(
        &self,
        store: &dyn Store,
        item: &Self::Item,
        prior: Option<&StoredAlert>,
    ) -> anyhow::Result<Self::Extra>;
    /// What to store for the item, its pages and jobs (pure).
    fn decide(
        &self,
        state: &mut Self::State,
        item: &Self::Item,
        prior: Option<&StoredAlert>,
        extra: Self::Extra,
    ) -> Vec<IngestItem>;
}

/// Stores one page of `src` in the outbox (with the jobs it causes), fenced by the polling
/// lease: a replica that lost the lease commits nothing. An item whose processing fails (a
/// panic included) is quarantined with the page; the rest goes on.
pub async fn store_page<S: PageSource>(
    src: &S,
    store: &dyn Store,
    fence: Option<&Fence>,
    items: Vec<Value>,
) -> anyhow::Result<Stored> {
    let t = src.tenant();
    let source = src.source();
    let mut poisoned = Vec::new();
    let mut parsed: Vec<S::Item> = Vec::with_capacity(items.len());
    let mut skipped: Vec<String> = Vec::new();
    for raw in items {
        let id = S::raw_key(&raw);
        let copy = raw.clone();
        match ingest::guarded(|| S::parse(raw)) {
            Ok(Ok(item)) => parsed.push(item),
            Ok(Err(m)) => {
                metrics::counter!(telemetry::ALERTS_MALFORMED, "tenant" => t.name.clone()).increment(1);
                match m.id {
                    Some(id) => poisoned.push(quarantine::item(t, &source, &id, &copy, &m.error)),
                    // Without an id there is nothing to key it by, retry or show.
                    None => skipped.push(m.error),
                }
            }
            Err(reason) => {
                poisoned.push(quarantine::item(t, &source, &id.unwrap_or_default(), &copy, &reason));
            }
        }
    }
    if let Some(first) = skipped.first() {
        tracing::warn!(tenant = %t.name, source = %src.describe(), skipped = skipped.len(), error = %first, "skipping items without an id (counted as malformed)");
    }
    // What we knew of these items before (paged? SIGNL4 state? our own last write?).
    let keys: Vec<String> = parsed.iter().map(|i| S::key(i).to_string()).collect();
    let prior: HashMap<String, StoredAlert> =
        store.get_alerts(&t.name, &source, &keys).await?.into_iter().map(|a| (a.record.alert_id.clone(), a)).collect();
    let mut state = src.state(store, &parsed, &prior).await?;
    if S::OLDEST_FIRST {
        parsed.sort_by_key(|i| S::changed_at(i));
    }
    let mut out = Stored::default();
    let mut batch = Vec::with_capacity(parsed.len());
    let now = timefmt::millis(OffsetDateTime::now_utc());
    // With routes, which team(s) each new page goes to is part of the audit trail.
    let audit_routes = t.audit.is_some() && !t.routes.is_empty();
    for item in &parsed {
        // A quarantined item counts as stored for the cursor: it is durable in the
        // quarantine table, written with this page's items.
        out.newest = out.newest.max(Some(S::changed_at(item)));
        let key = S::key(item);
        let p = prior.get(key);
        let extra = src.enrich(store, item, p).await?;
        let decided = ingest::guarded(|| {
            let mut items = src.decide(&mut state, item, p, extra);
            if audit_routes {
                for i in &mut items {
                    i.audit = s4s_core::audit::routed(i, now);
                }
            }
            items
        });
        match decided {
            Ok(items) => batch.extend(
                // A version we already stored that asks for nothing new (the overlap re-read)
                // needs no write transaction at all.
                items
                    .into_iter()
                    .filter(|i| !(i.alert.source == source && i.alert.alert_id == key && ingest::unchanged(p, i))),
            ),
            Err(reason) => poisoned.push(quarantine::item(t, &source, key, S::raw(item), &reason)),
        }
    }
    if S::OLDEST_FIRST {
        batch.sort_by(|a, b| a.alert.version.cmp(&b.alert.version));
    }
    out.read = batch.len();
    // The poisoned items are stored with the page, in one transaction: durable exactly when
    // the page is, so the cursor moves past both.
    quarantine::prepare(t, &mut poisoned, now);
    let (o, new) = store.ingest_page(&batch, &poisoned, fence, now).await?;
    quarantine::report(t, &poisoned, new);
    for (result, n) in [("new", o.new), ("updated", o.updated), ("unchanged", o.unchanged)] {
        metrics::counter!(telemetry::ALERTS_INGESTED, "tenant" => t.name.clone(), "result" => result)
            .increment(n as u64);
    }
    metrics::counter!(telemetry::PAGE_JOBS_CREATED, "tenant" => t.name.clone()).increment(o.jobs_created as u64);
    let grouped = batch.iter().filter(|i| i.update.signl4_state.as_deref() == Some("grouped")).count();
    metrics::counter!(telemetry::ALERTS_GROUPED, "tenant" => t.name.clone()).increment(grouped as u64);
    out.new = o.new;
    out.updated = o.updated;
    out.queued = o.jobs_created + batch.iter().map(|i| i.jobs.len()).sum::<usize>();
    Ok(out)
}
