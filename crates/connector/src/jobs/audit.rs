//! Job: upload the tenant's unsent `SIGNL4_CL` records through the Logs Ingestion API
//! (`microsoft-apis.md` §5.2), oldest first, in batches under 1 MB (`s4s_core::audit`), and
//! mark each batch sent only after the service's `204`. One coalescing job per tenant
//! (`audit:{tenant}`), armed by every record the store takes, so records added while it runs
//! make it run again.
//!
//! A batch waits up to `[tenant.audit] interval` for others to share its request. `413` splits
//! the batch in halves (a single record the service refuses is dropped, loudly: it would block
//! every later one). `429` / `503` are retried by the outbox after `Retry-After` (the tenant's
//! Logs Ingestion scheduler holds every request meanwhile). `403` is permanent: the app needs
//! *Monitoring Metrics Publisher* on the DCR; the job goes to the dead letters, `/readyz` and
//! the log say so, and the next record re-arms it (role assignments take up to 30 minutes).
//! The service does not deduplicate: an upload whose answer was lost is sent again, and a
//! query drops the repeat by `RecordId`.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use s4s_core::audit;
use s4s_core::jobs::JobKind;
use serde_json::Value;

use crate::clock::now_ms;
use crate::jobs::{JobContext, JobHandler, Outcome};
use crate::telemetry;

pub struct AuditJob;

/// Batches per run before the job hands its worker back (and runs again at once).
const ROUNDS: usize = 20;
/// Sent records are kept this long, so a redo within it cannot add a second row.
const KEEP_SENT_MS: i64 = 7 * 24 * 3_600_000;

#[async_trait]
impl JobHandler for AuditJob {
    const KIND: JobKind = s4s_core::jobs::audit::KIND;
    type Payload = Value;

    async fn run(&self, cx: &JobContext<'_>, _payload: Value) -> Outcome {
        let tenant = cx.tenant;
        let name = tenant.cfg.name.as_str();
        let (Some(cfg), Some(client)) = (&tenant.cfg.audit, &tenant.clients.audit) else {
            // [tenant.audit] was removed after these records were written: they stay stored.
            return Outcome::Done(r#"{"skipped":"no [tenant.audit]"}"#.into());
        };
        let mut sent = 0usize;
        for round in 0..ROUNDS {
            let rows = match cx.store.unsent_audit(name, cfg.batch as i64).await {
                Ok(r) => r,
                Err(e) => return e.into(),
            };
            if rows.is_empty() {
                tenant.health.set_audit_error(None);
                return Outcome::Done(format!(r#"{{"sent":{sent}}}"#));
            }
            if round == 0
                && let Some(wait) = audit::wait_for_more(
                    rows.len(),
                    cfg.batch,
                    rows[0].created_ms,
                    now_ms(),
                    cfg.interval.as_millis() as i64,
                )
            {
                return Outcome::Later(Duration::from_millis(wait as u64));
            }
            let texts: Vec<&str> = rows.iter().map(|r| r.row.as_str()).collect();
            let mut queue: VecDeque<_> = audit::batches(&texts, cfg.batch, cfg.max_request_bytes).into();
            while let Some(range) = queue.pop_front() {
                let ids: Vec<i64> = rows[range.clone()].iter().map(|r| r.id).collect();
                match client.upload(&audit::body(&texts[range.clone()])).await {
                    Ok(()) => {
                        if let Err(e) = cx.store.mark_audit_sent(&ids, now_ms(), now_ms() - KEEP_SENT_MS).await {
                            // Sent but not marked: the next run sends them again (a repeat
                            // the RecordId drops).
                            return e.into();
                        }
                        sent += ids.len();
                        metrics::counter!(telemetry::AUDIT_RECORDS, "tenant" => name.to_string(), "status" => "sent")
                            .increment(ids.len() as u64);
                    }
                    Err(e) if e.status() == Some(413) => match audit::split(range.clone()) {
                        Some((a, b)) => {
                            tracing::debug!(
                                tenant = name,
                                records = range.len(),
                                "Logs Ingestion: request too large (413); splitting it"
                            );
                            queue.push_front(b);
                            queue.push_front(a);
                        }
                        None => {
                            let record = &rows[range.start].record_id;
                            tracing::error!(tenant = name, record_id = %record, error = %e, "Logs Ingestion refused a single SIGNL4_CL record as too large; it is dropped");
                            metrics::counter!(telemetry::AUDIT_RECORDS, "tenant" => name.to_string(), "status" => "dropped")
                                .increment(1);
                            if let Err(e) = cx.store.mark_audit_sent(&ids, now_ms(), now_ms() - KEEP_SENT_MS).await {
                                return e.into();
                            }
                        }
                    },
                    Err(e) => {
                        if !e.is_held() && tenant.health.set_audit_error(Some(e.to_string())) {
                            if e.status() == Some(403) {
                                tracing::error!(tenant = name, error = %e, "SIGNL4_CL AUDIT TRAIL CANNOT BE WRITTEN: records wait in the store until the role is assigned");
                            } else {
                                tracing::warn!(tenant = name, error = %e, "SIGNL4_CL audit upload failed; retrying");
                            }
                        }
                        return e.into();
                    }
                }
            }
        }
        // More than ROUNDS batches waiting: hand the worker back and continue at once.
        Outcome::Later(Duration::ZERO)
    }
}
