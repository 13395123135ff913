//! Poison isolation for every source: an item whose processing failed — a panic
//! included ([`s4s_core::ingest::guarded`]) — is recorded in the quarantine table with its raw
//! JSON and the reason, counted (`s4s_quarantined_total`), logged and audited, and the rest of
//! its page goes on; the cursor moves past it (it is durable in the table). `jobs retry
//! quarantine:<id>` marks it for a re-run, which the source's next cycle does through its
//! normal path ([`rerun`]).

use s4s_core::config::TenantConfig;
use s4s_core::records::{QuarantineItem, Quarantined};
use s4s_store::{Fence, Store};
use serde_json::Value;

use crate::clock::now_ms;
use crate::telemetry;

/// Re-runs taken up per source and cycle at most (the rest wait for the next cycle).
pub const RERUNS_PER_CYCLE: i64 = 50;

/// `s4s_quarantined_total` at 0 for the tenant's Graph alerts (a series before the first item,
/// so a rate or an alert rule has something to read); other sources appear with their first.
pub fn init_series(t: &TenantConfig) {
    metrics::counter!(telemetry::QUARANTINED, "tenant" => t.name.clone(), "source" => s4s_core::ids::SOURCE_GRAPH_ALERT)
        .increment(0);
}

/// The item `id` of `source` that failed with `reason`, as kept aside.
pub fn item(t: &TenantConfig, source: &str, id: &str, raw: &Value, reason: &str) -> QuarantineItem {
    QuarantineItem::new(&t.name, source, id, raw, reason)
}

/// Records `items` (one tenant's) in one transaction, fenced like the page they came from,
/// with each new item's audit record when the tenant keeps an audit trail; counts and logs them.
/// A page source stores them with its page instead ([`prepare`], `AlertStore::ingest_page`,
/// [`report`]).
pub async fn record(
    store: &dyn Store,
    fence: Option<&Fence>,
    t: &TenantConfig,
    mut items: Vec<QuarantineItem>,
) -> anyhow::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    prepare(t, &mut items, now);
    let new = store.quarantine(&items, fence, now).await?;
    report(t, &items, new);
    Ok(())
}

/// Adds each item's `quarantined` audit record when the tenant keeps an audit trail (stored
/// only with a new item).
pub fn prepare(t: &TenantConfig, items: &mut [QuarantineItem], now_ms: i64) {
    if t.audit.is_some() {
        for q in items {
            q.audit = vec![s4s_core::audit::quarantined(q, now_ms)];
        }
    }
}

/// Logs the recorded items and counts the `new` ones in `s4s_quarantined_total`.
pub fn report(t: &TenantConfig, items: &[QuarantineItem], new: usize) {
    for q in items {
        tracing::warn!(tenant = %q.tenant, source = %q.source, item = %q.item_id, reason = %q.reason,
            "quarantined an item whose processing failed; the rest of its page goes on (`signl4-sentinel jobs` lists it, `jobs retry quarantine:<id>` re-runs it)");
    }
    if new > 0 {
        // Counted once per item (seeing it again is an attempt, not a new quarantine).
        let source = items.first().map(|q| q.source.clone()).unwrap_or_default();
        metrics::counter!(telemetry::QUARANTINED, "tenant" => t.name.clone(), "source" => source).increment(new as u64);
    }
}

/// The items of `source` an operator asked to re-run (`jobs retry quarantine:<id>`), at most
/// [`RERUNS_PER_CYCLE`], each with its stored raw JSON. The source runs each through its normal
/// path, which quarantines it again (attempts + 1, retry cleared) if it still fails, then
/// calls [`finish`].
pub async fn due(store: &dyn Store, t: &TenantConfig, source: &str) -> anyhow::Result<Vec<(Quarantined, Value)>> {
    let mut out = Vec::new();
    for q in store.quarantine_retries(&t.name, source, RERUNS_PER_CYCLE).await? {
        match serde_json::from_str::<Value>(&q.raw) {
            Ok(raw) => out.push((q, raw)),
            Err(e) => {
                // Cannot be (only JSON values are quarantined): kept, with why, retry cleared.
                let reason = format!("the stored raw JSON is unreadable: {e}");
                let mut again = QuarantineItem::new(&t.name, source, &q.item_id, &Value::Null, &reason);
                again.raw = q.raw.clone();
                store.quarantine(&[again], None, now_ms()).await?;
            }
        }
    }
    Ok(out)
}

/// After a re-run (`superseded`: not run, a newer version was processed since): releases the
/// item unless the re-run quarantined it again.
pub async fn finish(store: &dyn Store, q: &Quarantined, superseded: bool) -> anyhow::Result<()> {
    let released = store.release_quarantined(q.id).await?;
    let (tenant, source, item) = (&q.tenant, &q.source, &q.item_id);
    match (released, superseded) {
        (true, true) => {
            tracing::info!(%tenant, %source, %item, "quarantined item superseded by a newer version that was processed: released")
        }
        (true, false) => tracing::info!(%tenant, %source, %item, "quarantined item re-run and processed: released"),
        (false, _) => {
            tracing::warn!(%tenant, %source, %item, "quarantined item re-run and still failing: it stays quarantined")
        }
    }
    Ok(())
}
