//! The PostgreSQL schema migrations, applied in order.

/// Schema migrations, applied in order; the index + 1 is the schema version.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE alerts (
    tenant      TEXT NOT NULL,
    source      TEXT NOT NULL,
    alert_id    TEXT NOT NULL,
    version     TEXT NOT NULL,
    status      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    raw         TEXT NOT NULL,
    paged       BIGINT NOT NULL DEFAULT 0,
    first_seen_ms BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    PRIMARY KEY (tenant, source, alert_id)
);
CREATE TABLE jobs (
    id              BIGSERIAL PRIMARY KEY,
    tenant          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    key             TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    created_ms      BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until_ms  BIGINT,
    last_error      TEXT,
    result          TEXT,
    paused          BIGINT NOT NULL DEFAULT 0,
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, paused, next_attempt_ms);
CREATE TABLE cursors (
    tenant     TEXT NOT NULL,
    source     TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant, source)
);
"#,
    r#"
ALTER TABLE alerts ADD COLUMN incident_id TEXT;
ALTER TABLE alerts ADD COLUMN signl4_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE alerts ADD COLUMN written_status TEXT;
ALTER TABLE alerts ADD COLUMN signl4_event_id TEXT;
CREATE INDEX alerts_incident ON alerts (tenant, incident_id);
CREATE INDEX alerts_signl4_event ON alerts (tenant, signl4_event_id);
ALTER TABLE jobs ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
CREATE TABLE inbound_events (
    event_id    TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    meaning     TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
"#,
    r#"
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    until_ms    BIGINT NOT NULL
);
"#,
    // Migration 4: pages of an incident that already paged go after first pages of new incidents.
    r#"
ALTER TABLE jobs ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
"#,
    // Migration 5: delivery attempts recorded before sending (in-doubt pages after a crash).
    r#"
ALTER TABLE jobs ADD COLUMN attempt_id TEXT;
ALTER TABLE jobs ADD COLUMN attempt_ms BIGINT;
"#,
    // Migration 6: lease generations fence cursor and ingest writes of a replica that lost its lease.
    r#"
ALTER TABLE leases ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
"#,
    // Migration 7: the routes an alert paged (status changes go to every team it paged), the
    // episode (reopened alerts page again, once per reopening), the incident page an alert
    // was grouped into.
    r#"
ALTER TABLE alerts ADD COLUMN routes TEXT;
ALTER TABLE alerts ADD COLUMN episode BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN grouped_into TEXT;
"#,
    // Migration 8: who acknowledged a page and when (the status page's "acknowledged by X after 3m");
    // the status page's recent pages by kind, newest first.
    r#"
ALTER TABLE alerts ADD COLUMN acked_by TEXT;
ALTER TABLE alerts ADD COLUMN acked_ms BIGINT;
CREATE INDEX jobs_kind_created ON jobs (kind, created_ms);
"#,
    // Migration 9: the SIGNL4_CL audit trail, written with what it
    // records and uploaded by the tenant's `audit` job; `record_id` (deterministic) keeps a redo
    // from adding a second row.
    r#"
CREATE TABLE audit_records (
    id          BIGSERIAL PRIMARY KEY,
    tenant      TEXT NOT NULL,
    record_id   TEXT NOT NULL UNIQUE,
    row_json    TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    sent_ms     BIGINT
);
CREATE INDEX audit_records_unsent ON audit_records (tenant, id) WHERE sent_ms IS NULL;
CREATE INDEX audit_records_sent ON audit_records (sent_ms) WHERE sent_ms IS NOT NULL;
"#,
    // Migration 10: poison isolation. An item whose processing failed (a panic included) is kept
    // here with its raw JSON and the reason, instead of failing its page; `retry` = an
    // operator asked to re-run it (`jobs retry quarantine:<id>`).
    r#"
CREATE TABLE quarantine (
    id            BIGSERIAL PRIMARY KEY,
    tenant        TEXT NOT NULL,
    source        TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    raw           TEXT NOT NULL,
    reason        TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 1,
    retry         BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant, source, item_id)
);
CREATE INDEX quarantine_retry ON quarantine (tenant, source, retry);
"#,
];
