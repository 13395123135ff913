//! Operator commands on the outbox (`signl4-sentinel jobs`, `jobs show`, `jobs retry`): safe
//! while the service runs, secrets redacted from everything they print.
//!
//! They open the database beside the service: SQLite read-only for reading, or without the
//! process lock for a redrive (SQLite serialises the writes); PostgreSQL without migrating.
//! A redrive changes dead jobs only (`Outbox::redrive_job`), so it never races a runner.
//!
//! Quarantined items (processing them failed, a panic included) are listed too,
//! shown as `quarantine:<id>` and retried by marking them: the service's next cycle of their
//! source re-runs them through the normal path.

use std::fmt::Write as _;
use std::sync::Arc;

use s4s_core::config::{Config, StorageConfig};
use s4s_core::redact::Redactor;
use s4s_store::{Job, JobState, Quarantined, Store};
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

/// Quarantined items `jobs` lists at most.
pub const QUARANTINE_LISTED: i64 = 100;
/// Prefix of a quarantined item's key in `jobs show` / `jobs retry`.
pub const QUARANTINE_PREFIX: &str = "quarantine:";

/// `jobs [--dead]`: counts, the quarantined items with their reason, and the dead letters
/// with their last error.
pub async fn list(store: &dyn Store, redactor: &Redactor, dead: bool) -> anyhow::Result<String> {
    let c = store.job_counts().await?;
    let quarantined: i64 = store.quarantine_counts().await?.iter().map(|(_, _, n)| n).sum();
    let mut out = format!(
        "pending: {}  parked: {}  done: {}  dead: {}  quarantined: {quarantined}\n",
        c.pending, c.paused, c.done, c.dead
    );
    if quarantined > 0 {
        let _ = writeln!(
            out,
            "quarantined items (processing them failed; `jobs show quarantine:ID`, `jobs retry quarantine:ID` after an upgrade):"
        );
        for q in store.quarantined(QUARANTINE_LISTED).await? {
            let _ = writeln!(
                out,
                "{QUARANTINE_PREFIX}{} {} {} {} attempts={} last_seen={} reason={}",
                q.id,
                q.tenant,
                q.source,
                one_line(&scrub(redactor, &q.item_id), 80),
                q.attempts,
                when(q.last_seen_ms),
                one_line(&scrub(redactor, &q.reason), 200)
            );
        }
        if quarantined > QUARANTINE_LISTED {
            let _ = writeln!(out, "… and {} more", quarantined - QUARANTINE_LISTED);
        }
    }
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
    crate::redactor::redact(&redactor.scrub(text))
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

/// At most `max` characters on one line, control characters escaped: item ids and reasons
/// come from upstream and must not forge lines in the operator's terminal.
fn one_line(text: &str, max: usize) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect();
    s4s_core::status::excerpt(&escaped, max)
}

/// The quarantined item named by `quarantine:<id>`; `None` when `key` is a job key.
async fn find_quarantined(store: &dyn Store, key: &str) -> anyhow::Result<Option<Quarantined>> {
    let Some(id) = key.strip_prefix(QUARANTINE_PREFIX) else { return Ok(None) };
    let Ok(id) = id.trim().parse::<i64>() else {
        return Err(Refused(format!("{key:?} is not a quarantined item: use quarantine:ID as `jobs` lists it")).into());
    };
    match store.get_quarantined(id).await? {
        Some(q) => Ok(Some(q)),
        None => Err(Refused(format!(
            "no quarantined item {key} (it may have been re-run and released; `signl4-sentinel jobs` lists them)"
        ))
        .into()),
    }
}

/// `jobs show quarantine:<id>`: the item, the reason and its raw JSON, redacted.
fn show_quarantined(q: &Quarantined, redactor: &Redactor, json: bool) -> anyhow::Result<String> {
    let raw = redacted_json(redactor, &q.raw);
    let reason = scrub(redactor, &q.reason);
    let status = if q.retry {
        "quarantined, re-run requested (the service re-runs it at its next poll of the source)"
    } else {
        "quarantined (processing it failed; `jobs retry` re-runs it, e.g. after an upgrade)"
    };
    if json {
        let v = serde_json::json!({
            "key": format!("{QUARANTINE_PREFIX}{}", q.id),
            "tenant": q.tenant,
            "source": q.source,
            "item": scrub(redactor, &q.item_id),
            "state": "quarantined",
            "status": status,
            "retryRequested": q.retry,
            "attempts": q.attempts,
            "firstSeen": when(q.first_seen_ms),
            "lastSeen": when(q.last_seen_ms),
            "reason": reason,
            "raw": raw,
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = String::new();
    let _ = writeln!(out, "quarantined item {QUARANTINE_PREFIX}{}", q.id);
    let _ = writeln!(out, "  tenant:       {}", q.tenant);
    let _ = writeln!(out, "  source:       {}", q.source);
    let _ = writeln!(out, "  item:         {}", one_line(&scrub(redactor, &q.item_id), 200));
    let _ = writeln!(out, "  state:        {status}");
    let _ = writeln!(out, "  attempts:     {}", q.attempts);
    let _ = writeln!(out, "  first seen:   {}", when(q.first_seen_ms));
    let _ = writeln!(out, "  last seen:    {}", when(q.last_seen_ms));
    let _ = writeln!(out, "  reason:       {}", one_line(&reason, s4s_core::records::QuarantineItem::MAX_REASON));
    let _ = writeln!(out, "  raw:");
    for line in serde_json::to_string_pretty(&raw)?.lines() {
        let _ = writeln!(out, "    {line}");
    }
    Ok(out)
}

/// `jobs retry quarantine:<id>`: marks the item for a re-run by its source.
async fn retry_quarantined(store: &dyn Store, q: &Quarantined) -> anyhow::Result<String> {
    if !store.retry_quarantined(q.id).await? {
        return Err(Refused(format!(
            "quarantined item {QUARANTINE_PREFIX}{} is gone (re-run and released meanwhile); nothing was changed",
            q.id
        ))
        .into());
    }
    Ok(format!(
        "quarantined item {QUARANTINE_PREFIX}{} ({} {} {}) will be re-run at the service's next poll of that source: \
         processed → paged once and released; still failing → stays quarantined with one more attempt\n",
        q.id, q.tenant, q.source, q.item_id
    ))
}

/// `jobs retry --quarantined [--tenant NAME]`: every quarantined item (of one tenant) re-run.
pub async fn retry_all_quarantined(store: &dyn Store, cfg: &Config, tenant: Option<&str>) -> anyhow::Result<String> {
    known_tenant(cfg, tenant)?;
    let n = store.retry_all_quarantined(tenant).await?;
    let whose = tenant.map(|t| format!(" of tenant {t}")).unwrap_or_default();
    Ok(if n == 0 {
        format!("no quarantined items{whose}: nothing to retry\n")
    } else {
        format!("{n} quarantined item(s){whose} will be re-run at the service's next poll of their source\n")
    })
}

fn known_tenant(cfg: &Config, tenant: Option<&str>) -> anyhow::Result<()> {
    if let Some(t) = tenant
        && !cfg.tenants.iter().any(|c| c.name == t)
    {
        let names: Vec<&str> = cfg.tenants.iter().map(|c| c.name.as_str()).collect();
        return Err(Refused(format!("tenant {t:?} is not configured (configured: {})", names.join(", "))).into());
    }
    Ok(())
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
    if let Some(q) = find_quarantined(store, key).await? {
        return show_quarantined(&q, redactor, json);
    }
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
    if let Some(q) = find_quarantined(store, key).await? {
        return retry_quarantined(store, &q).await;
    }
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
    known_tenant(cfg, tenant)?;
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
