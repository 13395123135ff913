//! Telemetry in one place: logging set-up and the name of every metric the connector exports.

use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// `format`: "text" or "json". `RUST_LOG` overrides `default_level`.
///
/// JSON: one object per line with `timestamp` (RFC 3339, UTC), `level`, `target`, `message`
/// and the event's fields at the top level, for log pipelines. The fields that identify what a
/// line is about always have these names ([`LOG_FIELDS`]).
///
/// Every line passes [`clean_line`] on its way out (both formats, every field, whatever a
/// library logs): configured secrets redacted, control characters escaped, so a webhook's
/// event id with a newline cannot forge a log line. The text format has no ANSI colours (their
/// escape sequences would be escaped too). A panic is logged through the same path
/// ([`log_panic`], installed here).
pub fn init(format: &str, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn,hyper=warn,reqwest=warn")));
    if tracing::subscriber::set_global_default(subscriber(format, filter, || CleanWriter(std::io::stderr()))).is_ok() {
        install_panic_hook();
    }
}

/// The subscriber of [`init`] writing to `make` (tests write to a buffer).
fn subscriber<W>(format: &str, filter: EnvFilter, make: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(make).with_ansi(false);
    if format == "json" {
        Box::new(builder.json().flatten_event(true).with_current_span(false).with_span_list(false).finish())
    } else {
        Box::new(builder.with_target(false).finish())
    }
}

/// Panics go through tracing (so the redactor, the escaping and the JSON format apply) with
/// their location, instead of the default hook's raw line on stderr. Where no subscriber is
/// active (a thread of a unit test), the previous hook runs.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let no_subscriber = tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>());
        if no_subscriber {
            previous(info);
        } else {
            log_panic(info);
        }
    }));
}

/// Logs one panic at `error` with its message, `location` and (with `RUST_BACKTRACE`) its
/// backtrace.
pub fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
    let bt = std::backtrace::Backtrace::capture();
    let thread = std::thread::current().name().unwrap_or("-").to_string();
    if bt.status() == std::backtrace::BacktraceStatus::Captured {
        tracing::error!(target: "panic", location = %location, thread = %thread, backtrace = %bt, "panic: {message}");
    } else {
        tracing::error!(target: "panic", location = %location, thread = %thread, "panic: {message}");
    }
}

/// One formatted log line (the formatter writes one event per call, ending in `\n`) as it may
/// leave the process: every configured secret scrubbed ([`crate::redactor::redact`]),
/// then every control character but the final newline — C0 (newline, CR, tab, ESC, …), DEL,
/// C1 — and U+2028 / U+2029 escaped: `\n`, `\r`, `\t`, otherwise `\uXXXX` (valid inside a
/// JSON string too, so the JSON format stays valid JSON).
pub fn clean_line(raw: &str) -> String {
    let text = crate::redactor::redact(raw);
    let (body, end) = match text.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (text.as_str(), ""),
    };
    let mut out = String::with_capacity(body.len() + 1);
    for c in body.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push_str(end);
    out
}

/// The stable field names of log lines, for log pipelines (README "Logs"): `tenant` (the
/// configured `tenant.name`), `source` (`graph-alert`, `sentinel.<workspace>`, …), `alert_id`
/// (the Graph alert or Sentinel incident id), `job_key` (the outbox job, as `jobs show` takes
/// it), `external_id` (`X-S4-ExternalID` of the SIGNL4 alert) and `event_id` (SIGNL4's).
pub const LOG_FIELDS: [&str; 6] = ["tenant", "source", "alert_id", "job_key", "external_id", "event_id"];

/// The message of a caught panic (a poll cycle or a job attempt), for logs and health.
pub fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// A log destination whose every line passes [`clean_line`].
struct CleanWriter<W>(W);

impl<W: std::io::Write> std::io::Write for CleanWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(clean_line(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Log lines kept in memory (the unit tests' destination).
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The subscriber of [`init`] writing cleaned lines into `buffer`, for tests.
pub fn buffer_subscriber(format: &str, buffer: &LogBuffer) -> Box<dyn tracing::Subscriber + Send + Sync> {
    let b = buffer.clone();
    subscriber(format, EnvFilter::new("info"), move || CleanWriter(b.clone()))
}

/// `SIGNL4_CL` audit records uploaded (sent) or refused for good (dropped).
pub const AUDIT_RECORDS: &str = "s4s_audit_records_total";
/// Alert versions stored, by result (new / updated / unchanged).
pub const ALERTS_INGESTED: &str = "s4s_alerts_ingested_total";
/// Alerts Graph returned without id or lastUpdateDateTime.
pub const ALERTS_MALFORMED: &str = "s4s_alerts_malformed_total";
/// Items quarantined (their processing failed, a panic included), by tenant and source.
pub const QUARANTINED: &str = "s4s_quarantined_total";
/// Failed job attempts by kind (transient / permanent / rejected).
pub const DELIVERY_FAILURES: &str = "s4s_delivery_failures_total";
/// PATCHes and comments written to Graph.
pub const GRAPH_WRITES: &str = "s4s_graph_writes_total";
/// SIGNL4 events received, by result.
pub const INBOUND_EVENTS: &str = "s4s_inbound_events_total";
/// SIGNL4 webhook requests rejected (token / malformed).
pub const INBOUND_REJECTED: &str = "s4s_inbound_rejected_total";
/// Jobs moved to dead letters.
pub const JOBS_DEAD: &str = "s4s_jobs_dead_total";
/// Jobs completed, by kind.
pub const JOBS_DONE: &str = "s4s_jobs_done_total";
/// Page jobs queued.
pub const PAGE_JOBS_CREATED: &str = "s4s_page_jobs_created_total";
/// Page jobs found in doubt after a crash or timeout, by how they were resolved: `found`
/// (SIGNL4 had it; not sent again), `resent` (SIGNL4 did not have it), `resent_marked` (no
/// API key to ask: sent again marked as a possible repeat).
pub const IN_DOUBT_PAGES: &str = "s4s_in_doubt_pages_total";
/// Pages SIGNL4 accepted that reached nobody, by reason (`filtered`, `suppressed`,
/// `discarded`, `no_rule_applied`, `nobody_on_duty`, `nobody_notified`, `error`).
pub const PAGES_NOT_DELIVERED: &str = "s4s_pages_not_delivered_total";
/// Pages SIGNL4 accepted.
pub const PAGES_SENT: &str = "s4s_pages_sent_total";
/// Failed poll cycles.
pub const POLL_ERRORS: &str = "s4s_poll_errors_total";
/// Sentinel incident PUTs answered 409 (re-read and re-applied).
pub const SENTINEL_CONFLICTS: &str = "s4s_sentinel_conflicts_total";
/// Sentinel incident updates and comments written.
pub const SENTINEL_WRITES: &str = "s4s_sentinel_writes_total";
/// Failed SIGNL4 REST polls.
pub const SIGNL4_REST_ERRORS: &str = "s4s_signl4_rest_errors_total";
/// SIGNL4 alerts closed / acknowledged after a portal change.
pub const SIGNL4_STATUS_SENT: &str = "s4s_signl4_status_sent_total";
/// Entra token requests.
pub const TOKEN_REQUESTS: &str = "s4s_token_requests_total";
/// Requests to Microsoft APIs, by service.
pub const UPSTREAM_REQUESTS: &str = "s4s_upstream_requests_total";
/// 429 answers from upstreams (Microsoft APIs and SIGNL4), by service.
pub const UPSTREAM_THROTTLED: &str = "s4s_upstream_throttled_total";
/// Outbox jobs by state (pending / paused / dead).
pub const JOBS: &str = "s4s_jobs";
/// Unix time of the tenant's last successful poll.
pub const LAST_SUCCESSFUL_POLL: &str = "s4s_last_successful_poll_timestamp_seconds";
/// 1 while SIGNL4 rejects the tenant's team secret.
pub const SIGNL4_TEAM_REJECTED: &str = "s4s_signl4_team_rejected";
/// Duration of one job attempt, by kind.
pub const JOB_SECONDS: &str = "s4s_job_seconds";
/// Duration of one poll cycle.
pub const POLL_DURATION: &str = "s4s_poll_duration_seconds";
/// Duration of one SIGNL4 webhook request.
pub const SIGNL4_REQUEST_SECONDS: &str = "s4s_signl4_request_seconds";
/// Time a request waited for its tenant's request budget, by service and priority.
pub const BUDGET_WAIT_SECONDS: &str = "s4s_budget_wait_seconds";
/// Job attempts rescheduled because the request budget allowed them only later.
pub const BUDGET_DEFERRALS: &str = "s4s_budget_deferrals_total";
/// Use of the request budget's share (0–1), by service and tenant (or SIGNL4 team).
pub const BUDGET_USE: &str = "s4s_budget_use_ratio";
/// The current poll interval chosen by adaptive polling, by tenant.
pub const POLL_INTERVAL: &str = "s4s_poll_interval_seconds";
/// Late-visible alerts found by the re-read behind the cursor, by tenant.
pub const LATE_ALERTS: &str = "s4s_late_alerts_total";
/// Pages held back by a team's storm budget (counted into a summary page), by tenant and team.
pub const PAGES_HELD: &str = "s4s_pages_held_total";
/// Self-monitoring pages to the `[ops]` team, by what they did (raised, cleared).
pub const OPS_PAGES: &str = "s4s_ops_pages_total";
/// Self-monitoring conditions present now.
pub const OPS_CONDITIONS: &str = "s4s_ops_conditions";
/// Alerts added to their incident's page instead of paging, by tenant.
pub const ALERTS_GROUPED: &str = "s4s_alerts_grouped_total";
/// Pages sent through the high-severity lane after the storm budget was spent, by tenant and team.
pub const PAGES_HIGH_LANE: &str = "s4s_pages_high_lane_total";
/// Storm summary pages sent, by tenant and team.
pub const STORM_SUMMARIES: &str = "s4s_storm_summaries_total";
/// Pages held by a route's quiet hours or maintenance window (listed in its digest), by tenant and route.
pub const PAGES_QUIET: &str = "s4s_pages_quiet_held_total";
/// Time from storing an alert's page job to SIGNL4 accepting the page, by tenant and job kind
/// (`page`, `sentinel-page`); a redriven job counts from its redrive.
pub const TIME_TO_PAGE: &str = "s4s_time_to_page_seconds";
/// Time from SIGNL4 accepting a page to the connector seeing its first acknowledgement, by tenant.
pub const TIME_TO_ACK: &str = "s4s_time_to_acknowledge_seconds";
/// Age of the oldest pending job of each kind (0 when none waits).
pub const QUEUE_AGE: &str = "s4s_queue_age_seconds";
/// Failed sign-ins to the status page (wrong admin token, form or bearer).
pub const SIGNIN_FAILURES: &str = "s4s_signin_failures_total";
/// Links and URLs refused by the outbound origin policy (`core/src/origin.rs`), by service.
pub const FOREIGN_LINKS: &str = "s4s_upstream_foreign_links_total";
/// 1, labelled with the version and git revision of the running binary (`buildinfo`).
pub const BUILD_INFO: &str = "s4s_build_info";

/// Bucket bounds (seconds) of [`TIME_TO_PAGE`]: seconds are normal, minutes mean trouble.
pub const TIME_TO_PAGE_BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0];
/// Bucket bounds (seconds) of [`TIME_TO_ACK`]: people take minutes.
pub const TIME_TO_ACK_BUCKETS: &[f64] =
    &[15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0];

/// How a metric is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    /// With buckets (`_bucket{le}`, `_sum`, `_count`): aggregates across replicas.
    Histogram,
    /// Quantiles of this process (`{quantile}`, `_sum`, `_count`).
    Summary,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
        }
    }
}

/// One exported metric: name, type, labels and meaning (the `# HELP` text and the README's
/// table, which a test keeps in step with this list).
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: MetricType,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

const fn m(name: &'static str, kind: MetricType, labels: &'static [&'static str], help: &'static str) -> Metric {
    Metric { name, kind, labels, help }
}

/// Every metric the connector exports. Labels are bounded: tenants, job kinds, services,
/// fixed reasons — never alert ids.
pub const METRICS: &[Metric] = {
    use MetricType::*;
    &[
        m(
            ALERTS_INGESTED,
            Counter,
            &["tenant", "result"],
            "Alert versions stored (Graph alerts, Sentinel incidents), by result (new, updated, unchanged).",
        ),
        m(
            QUARANTINED,
            Counter,
            &["tenant", "source"],
            "Items (alerts, incidents, SIGNL4 events) quarantined because processing them failed; `jobs` lists them.",
        ),
        m(
            ALERTS_MALFORMED,
            Counter,
            &["tenant"],
            "Alerts or incidents skipped because they lack an id or a valid change time.",
        ),
        m(PAGE_JOBS_CREATED, Counter, &["tenant"], "Page jobs queued at ingest (Graph alerts, Sentinel incidents)."),
        m(PAGES_SENT, Counter, &["tenant"], "Pages SIGNL4 accepted (Graph and Sentinel)."),
        m(
            OPS_PAGES,
            Counter,
            &["what"],
            "Self-monitoring conditions raised and cleared (paged to the [ops] team when it is configured).",
        ),
        m(OPS_CONDITIONS, Gauge, &[], "Self-monitoring conditions present now (see /readyz)."),
        m(
            BUILD_INFO,
            Gauge,
            &["version", "revision"],
            "1, labelled with the running binary's version and git revision.",
        ),
        m(
            ALERTS_GROUPED,
            Counter,
            &["tenant"],
            "Alerts added to their incident's page instead of paging (one page per incident, or the page of the same Defender incident seen through the other source).",
        ),
        m(
            TIME_TO_PAGE,
            Histogram,
            &["tenant", "kind"],
            "Seconds from storing an alert's page job to SIGNL4 accepting the page.",
        ),
        m(
            TIME_TO_ACK,
            Histogram,
            &["tenant"],
            "Seconds from SIGNL4 accepting a page to its first acknowledgement seen by the connector.",
        ),
        m(SIGNL4_REQUEST_SECONDS, Summary, &[], "Seconds of one SIGNL4 page job (budget wait and webhook request)."),
        m(
            IN_DOUBT_PAGES,
            Counter,
            &["tenant", "outcome"],
            "Pages found in doubt after a crash or timeout, by outcome (found, resent, resent_marked).",
        ),
        m(PAGES_NOT_DELIVERED, Counter, &["tenant", "reason"], "Pages SIGNL4 accepted that reached nobody, by reason."),
        m(
            DELIVERY_FAILURES,
            Counter,
            &["tenant", "kind"],
            "Failed job attempts, by kind (transient, permanent, rejected).",
        ),
        m(JOBS_DONE, Counter, &["tenant", "kind"], "Jobs completed, by job kind."),
        m(JOBS_DEAD, Counter, &["tenant"], "Jobs moved to dead letters."),
        m(JOB_SECONDS, Summary, &["kind"], "Seconds of one job attempt, by job kind."),
        m(JOBS, Gauge, &["state"], "Outbox jobs in the database, by state (pending, paused, dead)."),
        m(
            QUEUE_AGE,
            Gauge,
            &["kind"],
            "Seconds since the oldest pending job of each kind was queued (0 when none waits).",
        ),
        m(POLL_DURATION, Summary, &["tenant"], "Seconds of one successful poll cycle."),
        m(POLL_ERRORS, Counter, &["tenant"], "Failed poll cycles (Graph, Sentinel)."),
        m(POLL_INTERVAL, Gauge, &["tenant"], "The poll interval adaptive polling chose, in seconds."),
        m(
            LAST_SUCCESSFUL_POLL,
            Gauge,
            &["tenant"],
            "Unix time of the tenant's last successful poll (0: none since the start).",
        ),
        m(LATE_ALERTS, Counter, &["tenant"], "Late-visible alerts found by the re-read behind the cursor."),
        m(SIGNL4_REST_ERRORS, Counter, &["tenant"], "Failed SIGNL4 REST polls."),
        m(
            SIGNL4_TEAM_REJECTED,
            Gauge,
            &["tenant"],
            "1 while SIGNL4 rejects the secret of one of the tenant's teams (the pages to that team are parked).",
        ),
        m(INBOUND_EVENTS, Counter, &["tenant", "result"], "SIGNL4 events received (webhook or REST), by result."),
        m(
            INBOUND_REJECTED,
            Counter,
            &["reason"],
            "SIGNL4 webhook requests rejected, by reason (token, malformed, team: the token's team may not act on that alert, overloaded: 503 past server.webhook_concurrency).",
        ),
        m(
            GRAPH_WRITES,
            Counter,
            &["tenant", "what"],
            "PATCHes and comments written to Graph, by object (alert, incident).",
        ),
        m(SENTINEL_WRITES, Counter, &["tenant"], "Sentinel incident updates and comments written."),
        m(SENTINEL_CONFLICTS, Counter, &[], "Sentinel incident PUTs answered 409 (re-read and re-applied)."),
        m(
            SIGNL4_STATUS_SENT,
            Counter,
            &["tenant", "status"],
            "SIGNL4 alerts closed or acknowledged after a change in the portal.",
        ),
        m(TOKEN_REQUESTS, Counter, &[], "Entra ID token requests."),
        m(UPSTREAM_REQUESTS, Counter, &["service"], "Requests to Microsoft APIs, by service."),
        m(
            UPSTREAM_THROTTLED,
            Counter,
            &["service"],
            "429 answers from upstreams (Microsoft APIs and SIGNL4), by service.",
        ),
        m(
            BUDGET_USE,
            Gauge,
            &["service", "tenant"],
            "Use of the request budget's share (0-1), by service and tenant (or SIGNL4 team).",
        ),
        m(
            BUDGET_WAIT_SECONDS,
            Summary,
            &["service", "priority"],
            "Seconds a request waited for its request budget, by service and priority.",
        ),
        m(
            PAGES_HELD,
            Counter,
            &["tenant", "team"],
            "Pages held back by a team's storm budget (counted into the window's summary page).",
        ),
        m(
            PAGES_HIGH_LANE,
            Counter,
            &["tenant", "team"],
            "High-severity pages sent through their own lane after the storm budget was spent.",
        ),
        m(STORM_SUMMARIES, Counter, &["tenant", "team"], "Storm summary pages sent (one per team and window)."),
        m(
            PAGES_QUIET,
            Counter,
            &["tenant", "route"],
            "Pages held by a route's quiet hours or maintenance window (listed in its digest page).",
        ),
        m(
            BUDGET_DEFERRALS,
            Counter,
            &["service", "priority"],
            "Job attempts rescheduled because the request budget allowed them only later.",
        ),
        m(
            SIGNIN_FAILURES,
            Counter,
            &[],
            "Failed sign-ins to the status page (a wrong admin token in the form or as a bearer token).",
        ),
        m(
            FOREIGN_LINKS,
            Counter,
            &["service"],
            "Requests refused before sending because their URL (e.g. a nextLink) names another origin than the service's configured endpoint.",
        ),
        m(
            AUDIT_RECORDS,
            Counter,
            &["tenant", "status"],
            "SIGNL4_CL audit records uploaded through the Logs Ingestion API (sent), or refused as too large (dropped).",
        ),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_in_a_field_cannot_forge_a_log_line() {
        for format in ["text", "json"] {
            let buf = LogBuffer::default();
            tracing::subscriber::with_default(buffer_subscriber(format, &buf), || {
                let id = "ev-1\n2026-12-07T00:00:00Z  INFO forged: all good\r\u{1b}[2J\u{85}\u{2028}end";
                tracing::warn!(event_id = %id, raw = id, "SIGNL4 event {id} ignored");
            });
            let out = buf.text();
            assert_eq!(out.lines().count(), 1, "{format}: one line: {out:?}");
            assert!(out.ends_with('\n'));
            assert!(
                !out.contains('\r') && !out.contains('\u{1b}') && !out.contains('\u{85}') && !out.contains('\u{2028}'),
                "{out:?}"
            );
            assert!(
                out.contains("ev-1\\n2026-12-07") && out.contains("\\u001b[2J"),
                "{format}: escaped visibly: {out}"
            );
            if format == "json" {
                let v: serde_json::Value = serde_json::from_str(out.trim_end()).expect("still one JSON object");
                assert!(v["event_id"].as_str().unwrap().contains("\n2026"), "JSON keeps the value: {v}");
                assert!(v["message"].as_str().unwrap().contains('\u{2028}'), "{v}");
            }
        }
    }

    #[test]
    fn a_panic_is_logged_through_tracing_redacted_and_as_json() {
        let cfg = crate::testkit::ConfigBuilder::new("http://127.0.0.1:9", std::path::Path::new("/nonexistent/s4s.db"))
            .build();
        let secret = {
            use secrecy::ExposeSecret;
            cfg.tenants[0].signl4.team_secret.expose_secret().to_string()
        };
        crate::redactor::install_redactor(&cfg);
        install_panic_hook();
        let buf = LogBuffer::default();
        let sub = buffer_subscriber("json", &buf);
        let s2 = secret.clone();
        let r = std::thread::spawn(move || {
            tracing::subscriber::with_default(sub, || {
                std::panic::catch_unwind(|| panic!("upstream said: bad secret {s2}\nsecond line"))
            })
        })
        .join()
        .unwrap();
        assert!(r.is_err(), "it panicked");
        let out = buf.text();
        assert!(!out.contains(&secret), "redacted: {out}");
        let line = out.lines().find(|l| l.contains("panic:")).unwrap_or_else(|| panic!("logged: {out}"));
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(v["level"], "ERROR");
        assert!(v["message"].as_str().unwrap().starts_with("panic: upstream said: bad secret [redacted]"), "{v}");
        assert!(v["location"].as_str().unwrap().contains("telemetry.rs:"), "{v}");
    }

    #[test]
    fn every_metric_name_is_in_the_catalog_once() {
        let declared: Vec<&str> = include_str!("telemetry.rs")
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub const ")?.split_once(": &str = \"s4s_").map(|(_, r)| r))
            .filter_map(|r| r.split('"').next())
            .collect();
        assert_eq!(declared.len(), METRICS.len(), "every metric constant has a METRICS entry");
        for d in declared {
            let name = format!("s4s_{d}");
            assert_eq!(METRICS.iter().filter(|m| m.name == name).count(), 1, "{name}");
        }
        for m in METRICS {
            assert!(!m.labels.contains(&"alert_id") && !m.help.is_empty(), "{}", m.name);
            let suffix_ok = match m.kind {
                MetricType::Counter => m.name.ends_with("_total"),
                MetricType::Histogram | MetricType::Summary => m.name.ends_with("_seconds"),
                MetricType::Gauge => !m.name.ends_with("_total"),
            };
            assert!(suffix_ok, "{} is named like its type ({:?})", m.name, m.kind);
        }
    }
}
