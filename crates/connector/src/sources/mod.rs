//! Where alerts and SIGNL4 events come from: pull sources behind one trait, run by one
//! [`driver`] (lease, cursor, lookback, overlap, paging, progress, shutdown), the alert
//! sources storing their pages through one [`pipeline`], and the SIGNL4 webhook receiver as a
//! push source. Sources share only core types, [`pipeline`] and [`events`].

pub mod driver;
pub mod events;
pub mod graph_alerts;
pub mod graph_incidents;
pub mod pipeline;
pub mod quarantine;
pub mod sentinel_incidents;
pub mod signl4_rest;
pub mod webhook;

use std::time::Duration;

use async_trait::async_trait;
use s4s_core::budget::Priority;
use s4s_store::{Fence, Store};
use serde_json::Value;
use time::OffsetDateTime;

/// One page read from a source: its items and the link (or continuation) to the next page.
pub struct Page {
    pub items: Vec<Value>,
    pub next: Option<String>,
}

/// What storing one page did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stored {
    /// Newest change time among the page's items (the cursor may move there).
    pub newest: Option<OffsetDateTime>,
    /// Items that changed something.
    pub read: usize,
    pub new: usize,
    pub updated: usize,
    /// Jobs queued (pages, status changes, write-backs).
    pub queued: usize,
}

impl Stored {
    pub fn add(&mut self, o: Stored) {
        self.newest = self.newest.max(o.newest);
        self.read += o.read;
        self.new += o.new;
        self.updated += o.updated;
        self.queued += o.queued;
    }
}

/// A source read by polling: changes since a cursor, in pages.
#[async_trait]
pub trait PullSource: Send + Sync {
    /// The cursor's name in the store (e.g. `graph-alert`).
    fn cursor(&self) -> String;
    /// What it is, for logs and errors.
    fn describe(&self) -> String;
    /// How far behind the cursor this sweep starts reading.
    fn overlap(&self) -> Duration;
    /// A failure of an optional source is logged but does not fail the poll cycle.
    fn optional(&self) -> bool {
        false
    }
    /// Its priority at the request budget (reading new alerts first; sweeps that only mirror
    /// portal closes are housekeeping).
    fn priority(&self) -> Priority {
        Priority::Poll
    }
    /// Swept at most this often, even when the poller cycles faster (adaptive polling).
    fn min_interval(&self) -> Duration {
        Duration::ZERO
    }
    /// How far behind the cursor every sweep re-reads cheaply for late-visible items
    /// ([`PullSource::reread`]); zero: not supported or off.
    fn late_window(&self) -> Duration {
        Duration::ZERO
    }
    /// Re-reads items changed in `[from, to)` by id and version only, fetching and storing the
    /// ones not stored yet (late-visible). Returns what storing them did.
    async fn reread(
        &self,
        _store: &dyn Store,
        _fence: Option<&Fence>,
        _from: OffsetDateTime,
        _to: OffsetDateTime,
    ) -> anyhow::Result<Stored> {
        Ok(Stored::default())
    }
    /// After a sweep: re-reads what the listing cannot show (e.g. a portal comment that may
    /// not move its incident's `lastModifiedTimeUtc`) on the source's own schedule. Returns
    /// how many jobs it queued.
    async fn recheck(&self, _store: &dyn Store) -> anyhow::Result<usize> {
        Ok(0)
    }
    async fn first_page(&self, since: OffsetDateTime) -> anyhow::Result<Page>;
    async fn next_page(&self, next: &str) -> anyhow::Result<Page>;
    /// Stores one page in the outbox (with the jobs it causes), fenced by the polling lease
    /// (`fence`: None with one process per SQLite file): a replica that lost the lease
    /// commits nothing.
    async fn store_page(&self, store: &dyn Store, fence: Option<&Fence>, items: Vec<Value>) -> anyhow::Result<Stored>;
}
