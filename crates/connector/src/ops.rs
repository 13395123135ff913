//! Operator commands on the outbox (`signl4-sentinel jobs`, `jobs show`, `jobs retry`): safe
//! while the service runs, secrets redacted from everything they print.
//!
//! They open the database beside the service: SQLite read-only for reading, or without the
//! process lock for a redrive (SQLite serialises the writes); PostgreSQL without migrating.
//! A redrive changes dead jobs only (`Outbox::redrive_job`), so it never races a runner.

use std::fmt::Write as _;
use std::sync::Arc;

use s4s_core::config::{Config, StorageConfig};
use s4s_core::redact::Redactor;
use s4s_store::{Job, JobState, Store};
use serde_json::Value;

use crate::clock::now_ms;

/// Why an operator command did nothing: printed as `error: …`, exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The store for reading (`write = false`) or for a redrive, opened beside a running service.
pub async fn open(cfg: &Config, write: bool) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &cfg.storage {
        StorageConfig::Sqlite { path } if write => Arc::new(s4s_store::SqliteStore::attach(path).await?),
        StorageConfig::Sqlite { path } => Arc::new(s4s_store::SqliteStore::inspect(path).await?),
        StorageConfig::Postgres { url } => Arc::new(
            s4s_store::PostgresStore::attach(url)
                .await
                .map_err(|e| anyhow::anyhow!("PostgreSQL (storage.url): {e}"))?,
        ),
    })
}

/// `jobs [--dead]`: counts, and the dead letters with their last error.
pub async fn list(store: &dyn Store, redactor: &Redactor, dead: bool) -> anyhow::Result<String> {
    let c = store.job_counts().await?;
    let mut out = format!("pending: {}  parked: {}  done: {}  dead: {}\n", c.pending, c.paused, c.done, c.dead);
    if dead {
        for j in store.list_jobs(JobState::Dead, 1000).await? {
            let _ = writeln!(
                out,
                "#{} {} {} attempts={} error={}",
                j.id,
                j.tenant,
                j.key,
                j.attempts,
                scrub(redactor, j.last_error.as_deref().unwrap_or_default())
            );
        }
    }
    Ok(out)
}

/// What a job is doing now, in words.
fn state_text(j: &Job, now: i64) -> String {
    match j.state {
        JobState::Done => format!("done (at {})", when(j.updated_ms)),
        JobState::Dead => "dead (a dead letter: `jobs retry KEY` sends it again)".into(),
        JobState::Pending if j.paused => {
            "parked (SIGNL4 rejected the secret of the team it pages; the last error names the route, if not the \
             tenant's own team: fix that team_secret and restart the service)"
                .into()
        }
        JobState::Pending => match (&j.lease_owner, j.lease_until_ms) {
            (Some(owner), Some(until)) if until > now => {
                format!("running (leased by {owner} until {})", when(until))
            }
            _ if j.next_attempt_ms > now => format!("pending (next attempt at {})", when(j.next_attempt_ms)),
            _ => "pending (due now)".into(),
        },
    }
}

fn when(ms: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    s4s_core::timefmt::from_millis(ms).format(&Rfc3339).unwrap_or_else(|_| ms.to_string())
}

/// Every configured secret and bearer token out of `text`.
fn scrub(redactor: &Redactor, text: &str) -> String {
    crate::clients::http::redact(&redactor.scrub(text))
}

/// A JSON value with every string (keys too) scrubbed, so no escaping can hide a secret.
fn scrub_json(redactor: &Redactor, v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(scrub(redactor, &s)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| scrub_json(redactor, x)).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, x)| (scrub(redactor, &k), scrub_json(redactor, x))).collect())
        }
        other => other,
    }
}

/// A stored JSON text (payload, result), redacted; text that is not JSON is scrubbed as text.
fn redacted_json(redactor: &Redactor, text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => scrub_json(redactor, v),
        Err(_) => Value::String(scrub(redactor, text)),
    }
}

async fn find(store: &dyn Store, key: &str) -> anyhow::Result<Job> {
    match store.get_job(key).await? {
        Some(j) => Ok(j),
        None => Err(Refused(format!(
            "no job with key {key:?} (`signl4-sentinel jobs --dead` lists dead letters with their keys)"
        ))
        .into()),
    }
}

/// `jobs show KEY`: the job's state, attempts, last error, result and payload, redacted; with
/// `json`, one JSON object.
pub async fn show(store: &dyn Store, redactor: &Redactor, key: &str, json: bool) -> anyhow::Result<String> {
    let j = find(store, key).await?;
    let now = now_ms();
    let payload = redacted_json(redactor, &j.payload);
    let result = j.result.as_deref().map(|r| redacted_json(redactor, r));
    let last_error = j.last_error.as_deref().map(|e| scrub(redactor, e));
    if json {
        let v = serde_json::json!({
            "id": j.id,
            "key": scrub(redactor, &j.key),
            "tenant": j.tenant,
            "kind": j.kind,
            "state": match (j.state, j.paused) { (JobState::Pending, true) => "parked", (s, _) => s.as_str() },
            "status": state_text(&j, now),
            "attempts": j.attempts,
            "queued": when(j.created_ms),
            "nextAttempt": when(j.next_attempt_ms),
            "updated": when(j.updated_ms),
            "leaseOwner": j.lease_owner,
            "inDoubtSince": j.attempt.as_ref().filter(|_| j.state != JobState::Done).map(|a| when(a.started_ms)),
            "lastError": last_error,
            "result": result,
            "payload": payload,
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = String::new();
    let _ = writeln!(out, "job #{} {}", j.id, scrub(redactor, &j.key));
    let _ = writeln!(out, "  tenant:       {}", j.tenant);
    let _ = writeln!(out, "  kind:         {}", j.kind);
    let _ = writeln!(out, "  state:        {}", state_text(&j, now));
    let _ = writeln!(out, "  attempts:     {}", j.attempts);
    let _ = writeln!(out, "  queued:       {}", when(j.created_ms));
    let _ = writeln!(out, "  updated:      {}", when(j.updated_ms));
    // A done job's attempt record is history (completion does not clear it).
    if let Some(a) = j.attempt.as_ref().filter(|_| j.state != JobState::Done) {
        let _ = writeln!(
            out,
            "  in doubt:     an attempt began at {} and was never seen to end (it may have reached SIGNL4)",
            when(a.started_ms)
        );
    }
    let _ = writeln!(out, "  last error:   {}", last_error.as_deref().unwrap_or("-"));
    if let Some(r) = result {
        let _ = writeln!(out, "  result:       {r}");
    }
    let _ = writeln!(out, "  payload:");
    for line in serde_json::to_string_pretty(&payload)?.lines() {
        let _ = writeln!(out, "    {line}");
    }
    Ok(out)
}

/// `jobs retry KEY`: a dead job back to pending, due now, attempts reset. Anything else is
/// refused with what it is doing instead (a pending or running job runs by itself).
pub async fn retry(store: &dyn Store, key: &str) -> anyhow::Result<String> {
    let j = find(store, key).await?;
    let now = now_ms();
    if j.state != JobState::Dead {
        let what = state_text(&j, now);
        let hint = match j.state {
            JobState::Done => "nothing to retry",
            _ if j.paused => "it resumes when the service restarts with a team secret SIGNL4 accepts",
            _ => "it runs by itself; only dead letters can be retried",
        };
        return Err(Refused(format!("job {key} is {what}: {hint}")).into());
    }
    if !store.redrive_job(key, now).await? {
        let state = store.get_job(key).await?.map(|j| state_text(&j, now_ms())).unwrap_or_else(|| "gone".into());
        return Err(Refused(format!("job {key} changed meanwhile (now {state}); nothing was changed")).into());
    }
    let doubt = if j.attempt.is_some() {
        " Its last attempt may have reached SIGNL4: with an API key it is looked up first, else it is sent marked as a possible repeat."
    } else {
        ""
    };
    Ok(format!(
        "job {key} is pending again (attempts reset, due now): the service sends it within about a second (or at its next start).{doubt}\n"
    ))
}

/// `jobs retry --dead [--tenant NAME]`: every dead job (of one tenant) back to pending.
pub async fn retry_dead(store: &dyn Store, cfg: &Config, tenant: Option<&str>) -> anyhow::Result<String> {
    if let Some(t) = tenant
        && !cfg.tenants.iter().any(|c| c.name == t)
    {
        let names: Vec<&str> = cfg.tenants.iter().map(|c| c.name.as_str()).collect();
        return Err(Refused(format!("tenant {t:?} is not configured (configured: {})", names.join(", "))).into());
    }
    let n = store.redrive_dead(tenant, now_ms()).await?;
    let whose = tenant.map(|t| format!(" of tenant {t}")).unwrap_or_default();
    Ok(if n == 0 {
        format!("no dead jobs{whose}: nothing to retry\n")
    } else {
        format!(
            "{n} dead job(s){whose} are pending again (attempts reset, due now): the service sends them within about a second (or at its next start)\n"
        )
    })
}
