//! SQL statement texts both backends run unchanged (`$N` parameters work in SQLite and PostgreSQL).

pub(crate) const JOB_COLUMNS: &str = "id, tenant, kind, key, payload, state, attempts, created_ms, next_attempt_ms, lease_owner, lease_until_ms, last_error, result, paused, rev, attempt_id, attempt_ms, updated_ms";
pub(crate) const ALERT_COLUMNS: &str = "tenant, source, alert_id, version, status, severity, incident_id, raw, paged, signl4_state, written_status, signl4_event_id, routes, episode, grouped_into, acked_by, acked_ms";
/// Without the raw JSON: for bulk state lookups (the poller re-reads many alerts per second).
pub(crate) const ALERT_STATE_COLUMNS: &str = "tenant, source, alert_id, version, status, severity, incident_id, '' AS raw, paged, signl4_state, written_status, signl4_event_id, routes, episode, grouped_into, acked_by, acked_ms";

// Migrations bookkeeping.
pub(crate) const SCHEMA_VERSION_MAX: &str = "SELECT MAX(version) FROM schema_version";
pub(crate) const SCHEMA_VERSION_INSERT: &str = "INSERT INTO schema_version (version) VALUES ($1)";

// Alerts.
macro_rules! alert_insert {
    () => {
        "INSERT INTO alerts (tenant, source, alert_id, version, status, severity, incident_id, raw, paged, first_seen_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)"
    };
}
macro_rules! alert_version {
    () => {
        "SELECT version, paged FROM alerts WHERE tenant = $1 AND source = $2 AND alert_id = $3"
    };
}
pub(crate) const ALERT_INSERT: &str = alert_insert!();
/// PostgreSQL: replicas may insert the same alert at once.
pub(crate) const ALERT_INSERT_IF_ABSENT: &str =
    concat!(alert_insert!(), " ON CONFLICT (tenant, source, alert_id) DO NOTHING");
/// `(version, paged)` of one alert.
pub(crate) const ALERT_VERSION: &str = alert_version!();
/// [`ALERT_VERSION`], locking the row (PostgreSQL).
pub(crate) const ALERT_VERSION_FOR_UPDATE: &str = concat!(alert_version!(), " FOR UPDATE");
pub(crate) const ALERT_UPDATE_VERSION: &str = "UPDATE alerts SET version = $1, status = $2, severity = $3, incident_id = $4, raw = $5, updated_ms = $6 \
     WHERE tenant = $7 AND source = $8 AND alert_id = $9";
/// Other alerts of the same incident already paged (or queued to page).
pub(crate) const INCIDENT_ALREADY_PAGED: &str = "SELECT COUNT(*) FROM alerts WHERE tenant = $1 AND source = $2 AND incident_id = $3 \
     AND alert_id <> $4 AND paged = 1";
/// A follow-up page of an incident that already paged: claimed after first pages.
pub(crate) const JOB_DEPRIORITIZE: &str = "UPDATE jobs SET priority = 1 WHERE key = $1 AND state = 'pending'";
pub(crate) const ALERT_MARK_PAGED: &str = "UPDATE alerts SET paged = 1, signl4_state = CASE WHEN signl4_state = 'none' THEN 'open' ELSE signl4_state END \
     WHERE tenant = $1 AND source = $2 AND alert_id = $3";
pub(crate) const ALERT_APPLY_UPDATE: &str = "UPDATE alerts SET signl4_state = COALESCE($1, signl4_state), written_status = COALESCE($2, written_status), \
     signl4_event_id = COALESCE($3, signl4_event_id), paged = COALESCE($4, paged), routes = COALESCE($5, routes), \
     episode = COALESCE($6, episode), grouped_into = COALESCE($7, grouped_into), updated_ms = $8, \
     acked_by = COALESCE(acked_by, $12), acked_ms = COALESCE(acked_ms, $13) WHERE tenant = $9 AND source = $10 AND alert_id = $11";
pub(crate) const INBOUND_INSERT: &str = "INSERT INTO inbound_events (event_id, tenant, meaning, received_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING";

pub(crate) fn alert_get() -> String {
    format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND source = $2 AND alert_id = $3")
}
pub(crate) fn alert_by_signl4_event() -> String {
    format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND signl4_event_id = $2 LIMIT 1")
}
/// Paged rows of one source whose SIGNL4 alert is still live (open, acknowledged, or standing
/// in another page), most recently changed first, with their raw JSON.
pub(crate) fn live_pages() -> String {
    format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND source = $2 AND paged = 1 \
         AND signl4_state IN ('open', 'acknowledged', 'acknowledged_by_portal', 'grouped') \
         ORDER BY updated_ms DESC, alert_id LIMIT $3"
    )
}

pub(crate) fn incident_alerts() -> String {
    format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND incident_id = $2 AND paged = 1 ORDER BY alert_id")
}

// Outbox.
pub(crate) const JOB_INSERT: &str = "INSERT INTO jobs (tenant, kind, key, payload, created_ms, next_attempt_ms, updated_ms, priority) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING";
pub(crate) const JOB_MERGE_PENDING: &str = "UPDATE jobs SET payload = $1, rev = rev + 1, updated_ms = $2 WHERE id = $3";
pub(crate) const JOB_REARM: &str = "UPDATE jobs SET state = 'pending', payload = $1, rev = rev + 1, attempts = 0, created_ms = $2, next_attempt_ms = $3, \
     lease_owner = NULL, lease_until_ms = NULL, last_error = NULL, result = NULL, paused = 0, attempt_id = NULL, attempt_ms = NULL, updated_ms = $4 WHERE id = $5";
pub(crate) const JOB_COMPLETE: &str = "UPDATE jobs SET state = 'done', result = $1, lease_owner = NULL, lease_until_ms = NULL, last_error = NULL, updated_ms = $2 \
     WHERE id = $3 AND lease_owner = $4 AND state = 'pending' AND rev = $5";
pub(crate) const JOB_RELEASE_STALE: &str = "UPDATE jobs SET lease_owner = NULL, lease_until_ms = NULL, next_attempt_ms = $1, updated_ms = $2 \
     WHERE id = $3 AND lease_owner = $4 AND state = 'pending'";
pub(crate) const JOB_RETRY: &str = "UPDATE jobs SET next_attempt_ms = $1, last_error = $2, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $3 \
     WHERE id = $4 AND lease_owner = $5 AND state = 'pending'";
pub(crate) const JOB_BURY: &str = "UPDATE jobs SET state = 'dead', last_error = $1, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $2 \
     WHERE id = $3 AND lease_owner = $4 AND state = 'pending'";
/// Pushes every pending, unleased job of a tenant and kind to at least `$3` (one budget wait
/// for all of them instead of each being claimed and deferred in turn).
pub(crate) const JOB_DEFER_KIND: &str = "UPDATE jobs SET next_attempt_ms = $3, updated_ms = $4 \
     WHERE tenant = $1 AND kind = $2 AND state = 'pending' AND next_attempt_ms < $3 \
     AND (lease_until_ms IS NULL OR lease_until_ms <= $4)";
/// Records that an attempt is about to send its effect (fenced by the job lease): a job found
/// with an attempt recorded after a crash is *in doubt* (the effect may have happened).
pub(crate) const JOB_BEGIN_ATTEMPT: &str = "UPDATE jobs SET attempt_id = $1, attempt_ms = $2, updated_ms = $2 \
     WHERE id = $3 AND lease_owner = $4 AND state = 'pending' AND lease_until_ms > $2";
/// The attempt ended without its effect (SIGNL4 answered and refused): nothing is in doubt.
pub(crate) const JOB_END_ATTEMPT: &str = "UPDATE jobs SET attempt_id = NULL, attempt_ms = NULL, updated_ms = $1 \
     WHERE id = $2 AND lease_owner = $3 AND state = 'pending'";
/// Keeps the leases of jobs still running (short leases, renewed while the work runs).
pub(crate) const JOB_EXTEND_LEASE: &str = "UPDATE jobs SET lease_until_ms = $1 \
     WHERE id = $2 AND lease_owner = $3 AND state = 'pending' AND lease_until_ms > $4";
pub(crate) const JOB_PAUSE: &str = "UPDATE jobs SET paused = 1, last_error = $1, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $2 \
     WHERE tenant = $3 AND kind = $4 AND state = 'pending' AND paused = 0";
/// Parks one leased job (its team's secret was rejected; the other teams' jobs go on).
pub(crate) const JOB_PAUSE_ONE: &str = "UPDATE jobs SET paused = 1, last_error = $1, lease_owner = NULL, lease_until_ms = NULL, updated_ms = $2 \
     WHERE id = $3 AND lease_owner = $4 AND state = 'pending'";
pub(crate) const JOB_UNPAUSE_ALL: &str =
    "UPDATE jobs SET paused = 0, next_attempt_ms = $1, updated_ms = $1 WHERE state = 'pending' AND paused = 1";
pub(crate) const JOB_RELEASE_LEASES: &str = "UPDATE jobs SET lease_owner = NULL, lease_until_ms = NULL, updated_ms = $1 WHERE state = 'pending' AND lease_owner IS NOT NULL";

/// Leases due jobs; `lock` is appended to the inner `SELECT` (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
/// Claims due jobs; with `leased`, only jobs of tenants whose lease `$5 || tenant` the
/// claimer (`$1`) holds (replicas: the polling lease holder does a tenant's upstream calls).
pub(crate) fn job_claim(lock: &str, leased: bool) -> String {
    let scope = if leased {
        " AND EXISTS (SELECT 1 FROM leases l WHERE l.name = $5 || jobs.tenant AND l.owner = $1 AND l.until_ms > $3)"
    } else {
        ""
    };
    format!(
        "UPDATE jobs SET lease_owner = $1, lease_until_ms = $2, attempts = attempts + 1, updated_ms = $3 \
         WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND paused = 0 AND next_attempt_ms <= $3 \
                      AND (lease_until_ms IS NULL OR lease_until_ms <= $3){scope} \
                      ORDER BY priority, next_attempt_ms, id LIMIT $4{lock}) \
         RETURNING {JOB_COLUMNS}"
    )
}

// Coordination.
pub(crate) const CURSOR_GET: &str = "SELECT value FROM cursors WHERE tenant = $1 AND source = $2";
pub(crate) const CURSOR_SET: &str = "INSERT INTO cursors (tenant, source, value, updated_ms) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (tenant, source) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms";
/// Takes or renews a lease; a change of owner increments its generation. Returns the
/// generation when held.
pub(crate) const LEASE_TRY: &str = "INSERT INTO leases (name, owner, until_ms, generation) VALUES ($1, $2, $3, 1) \
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms, \
     generation = CASE WHEN leases.owner = excluded.owner THEN leases.generation ELSE leases.generation + 1 END \
     WHERE leases.owner = excluded.owner OR leases.until_ms <= $4 \
     RETURNING generation";
/// The fence of a write: the lease still held by its owner at its generation (`$4` = now).
macro_rules! fence_check {
    () => {
        "SELECT generation FROM leases WHERE name = $1 AND owner = $2 AND generation = $3 AND until_ms > $4"
    };
}
pub(crate) const FENCE_CHECK: &str = fence_check!();
/// [`FENCE_CHECK`], holding the lease row until commit so a takeover waits for this write
/// (PostgreSQL).
pub(crate) const FENCE_CHECK_FOR_SHARE: &str = concat!(fence_check!(), " FOR SHARE");
pub(crate) const LEASES_DELETE_ALL: &str = "DELETE FROM leases";

// The audit trail (SIGNL4_CL).
pub(crate) const AUDIT_INSERT: &str = "INSERT INTO audit_records (tenant, record_id, row_json, created_ms) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (record_id) DO NOTHING";
pub(crate) const AUDIT_UNSENT: &str = "SELECT id, tenant, record_id, row_json, created_ms FROM audit_records \
     WHERE tenant = $1 AND sent_ms IS NULL ORDER BY id LIMIT $2";
/// Marks the listed ids sent (`$1` the time); the id list is made of integers only.
pub(crate) fn audit_mark_sent(ids: &[i64]) -> String {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    format!("UPDATE audit_records SET sent_ms = $1 WHERE sent_ms IS NULL AND id IN ({list})")
}
/// Sent records are kept a week (a redo of what they record is seconds away, not days).
pub(crate) const AUDIT_FORGET_SENT: &str = "DELETE FROM audit_records WHERE sent_ms IS NOT NULL AND sent_ms < $1";
pub(crate) const AUDIT_UNSENT_COUNT: &str = "SELECT COUNT(*) FROM audit_records WHERE tenant = $1 AND sent_ms IS NULL";

// Quarantine.
pub(crate) const QUARANTINE_COLUMNS: &str =
    "id, tenant, source, item_id, raw, reason, first_seen_ms, last_seen_ms, attempts, retry";
/// New: attempts 1. Seen again (or retried and still failing): the latest raw JSON and
/// reason, one more attempt, no retry pending. Returns the attempts.
pub(crate) const QUARANTINE_UPSERT: &str = "INSERT INTO quarantine (tenant, source, item_id, raw, reason, first_seen_ms, last_seen_ms, attempts, retry) \
     VALUES ($1, $2, $3, $4, $5, $6, $6, 1, 0) \
     ON CONFLICT (tenant, source, item_id) DO UPDATE SET raw = excluded.raw, reason = excluded.reason, \
     last_seen_ms = excluded.last_seen_ms, attempts = quarantine.attempts + 1, retry = 0 \
     RETURNING attempts";
pub(crate) fn quarantine_list() -> String {
    format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine ORDER BY last_seen_ms DESC, id DESC LIMIT $1")
}
pub(crate) fn quarantine_get() -> String {
    format!("SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id = $1")
}
pub(crate) fn quarantine_due() -> String {
    format!(
        "SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE tenant = $1 AND source = $2 AND retry = 1 ORDER BY id LIMIT $3"
    )
}
pub(crate) const QUARANTINE_COUNTS: &str =
    "SELECT tenant, source, COUNT(*) FROM quarantine GROUP BY tenant, source ORDER BY tenant, source";
pub(crate) const QUARANTINE_RETRY_ONE: &str = "UPDATE quarantine SET retry = 1 WHERE id = $1";
/// Every item, or (`$1` not empty) every item of one tenant.
pub(crate) const QUARANTINE_RETRY_ALL: &str = "UPDATE quarantine SET retry = 1 WHERE $1 = '' OR tenant = $1";
/// Only while the retry is still pending: a retry that failed again re-quarantined the item
/// (clearing `retry`), and it stays.
pub(crate) const QUARANTINE_RELEASE: &str = "DELETE FROM quarantine WHERE id = $1 AND retry = 1";

// Inspection.
pub(crate) const PING: &str = "SELECT 1";
pub(crate) const JOB_COUNTS: &str = "SELECT state, paused, COUNT(*) FROM jobs GROUP BY state, paused";

pub(crate) fn job_list() -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id LIMIT $2")
}

// Operations (`signl4-sentinel jobs show / retry`, the queue-age gauge).
/// A dead job back to pending, due now (`$1`), its attempt count and dead-letter horizon
/// (`created_ms`) started afresh. Only `state = 'dead'` changes: a pending job (due, leased
/// by a runner, or parked) and a done one are never touched, so this cannot race a runner's
/// lease. The last error and any in-doubt attempt (`attempt_id`) are kept: a page whose last
/// attempt may have reached SIGNL4 is looked up (API key) or marked before it is sent again.
macro_rules! job_redrive {
    () => {
        "UPDATE jobs SET state = 'pending', attempts = 0, created_ms = $1, next_attempt_ms = $1, lease_owner = NULL, \
         lease_until_ms = NULL, paused = 0, result = NULL, updated_ms = $1 WHERE state = 'dead'"
    };
}
/// [`job_redrive!`] for the job with key `$2`.
pub(crate) const JOB_REDRIVE: &str = concat!(job_redrive!(), " AND key = $2");
/// [`job_redrive!`] for every dead job, or those of tenant `$2` when it is not NULL.
pub(crate) const JOB_REDRIVE_DEAD: &str = concat!(job_redrive!(), " AND tenant = COALESCE($2, tenant)");
/// When the oldest pending job of each kind was queued (parked ones included: they wait too).
pub(crate) const JOB_OLDEST_PENDING: &str =
    "SELECT kind, MIN(created_ms) FROM jobs WHERE state = 'pending' GROUP BY kind ORDER BY kind";

/// Jobs of one kind, newest first (the status page's recent pages).
pub(crate) fn job_recent() -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 ORDER BY created_ms DESC, id DESC LIMIT $2")
}
/// Per kind, of the jobs not done: waiting (due or leased), parked, dead, and when the oldest
/// waiting or parked one was queued. `COUNT` is a BIGINT in both dialects (`SUM` is not).
pub(crate) const JOB_QUEUE_BY_KIND: &str = "SELECT kind, \
     COUNT(CASE WHEN state = 'pending' AND paused = 0 THEN 1 END), \
     COUNT(CASE WHEN state = 'pending' AND paused <> 0 THEN 1 END), \
     COUNT(CASE WHEN state = 'dead' THEN 1 END), \
     MIN(CASE WHEN state = 'pending' THEN created_ms END) \
     FROM jobs WHERE state IN ('pending', 'dead') GROUP BY kind ORDER BY kind";
pub(crate) const CURSOR_LIST: &str = "SELECT tenant, source, value, updated_ms FROM cursors ORDER BY tenant, source";

pub(crate) fn job_get() -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs WHERE key = $1")
}
