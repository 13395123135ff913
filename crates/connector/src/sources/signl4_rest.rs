//! Pull source: the SIGNL4 REST polling fallback, for when SIGNL4 cannot reach the connector.
//!
//! With `tenant.signl4.api_key` set, every `api_poll_interval` the connector asks SIGNL4's
//! REST API (`X-S4-Api-Key`, `signl4.md` §2) for alerts modified since its cursor, turns the
//! acknowledgements, closes and annotations of *its own* alerts into the same events the
//! webhook receiver handles, and records them through the same path ([`events`]). Change keys
//! are shared with the webhook, so with both on each change still has exactly one effect.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use s4s_core::ids::{ExternalId, SOURCE_SIGNL4_REST};
use s4s_core::signl4_event::{events_from_rest_alert, events_from_rest_annotations, rest_external_id};
use s4s_core::timefmt;
use s4s_store::Store;
use serde_json::Value;
use time::OffsetDateTime;

use crate::sources::{Page, PullSource, Stored, events};
use crate::tenant::TenantContext;

pub struct Signl4Rest(pub Arc<TenantContext>);

#[async_trait]
impl PullSource for Signl4Rest {
    fn cursor(&self) -> String {
        SOURCE_SIGNL4_REST.into()
    }
    fn describe(&self) -> String {
        "the SIGNL4 REST API".into()
    }
    fn overlap(&self) -> Duration {
        self.0.cfg.overlap
    }

    async fn first_page(&self, since: OffsetDateTime) -> anyhow::Result<Page> {
        let Some(api) = &self.0.clients.signl4_api else { return Ok(Page { items: Vec::new(), next: None }) };
        // The client follows `hasMore` / `continuationToken` itself.
        Ok(Page { items: api.alerts_modified_since(since).await?, next: None })
    }

    async fn next_page(&self, _next: &str) -> anyhow::Result<Page> {
        Ok(Page { items: Vec::new(), next: None })
    }

    async fn store_page(&self, store: &dyn Store, items: Vec<Value>) -> anyhow::Result<Stored> {
        let rt = &self.0;
        let Some(api) = &rt.clients.signl4_api else { return Ok(Stored::default()) };
        let mut out = Stored::default();
        for a in &items {
            out.newest = out.newest.max(a.get("lastModified").and_then(Value::as_str).and_then(timefmt::parse));
            // Only alerts this connector raised for this tenant.
            let ours =
                rest_external_id(a).as_deref().and_then(ExternalId::parse).is_some_and(|e| e.tenant == rt.cfg.name);
            if !ours {
                continue;
            }
            let mut evs = events_from_rest_alert(a);
            if let Some(id) = a.get("id").and_then(Value::as_str) {
                evs.extend(events_from_rest_annotations(a, &api.annotations(id).await?));
            }
            for ev in evs {
                if events::record(store, rt, &ev).await?.is_effect() {
                    out.queued += 1;
                    out.read += 1;
                }
            }
        }
        Ok(out)
    }
}
