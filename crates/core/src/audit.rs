//! The `SIGNL4_CL` audit trail (pure): one record per thing that happened to a page, its
//! column mapping (the 16 columns of `deploy/bicep/main.bicep`), deterministic record ids, and
//! the batching of records into Logs Ingestion requests under the 1 MB limit
//! (`microsoft-apis.md` §5.2).
//!
//! Records are created in the same store transaction as what they record (an inbound SIGNL4
//! event, a job's completion) and uploaded later by the tenant's `audit` outbox job. Their
//! [`AuditRecord::record_id`] is derived from what they record (the job key or change key and
//! the action), so a redo after a crash inserts nothing new; the service does not deduplicate,
//! so a query drops the rare repeat after an ambiguous upload failure with `dcount(RecordId)`.

use serde_json::{Map, Value, json};

use crate::records::{Action, AuditRecord, IngestItem, QuarantineItem};

/// The `SIGNL4_CL` columns and their types, in the order of the Bicep template's `columns`
/// (a unit test compares them with `deploy/bicep/main.bicep`).
pub const COLUMNS: [(&str, &str); 16] = [
    ("TimeGenerated", "datetime"),
    ("Tenant", "string"),
    ("Source", "string"),
    ("AlertId", "string"),
    ("IncidentId", "string"),
    ("Title", "string"),
    ("Severity", "string"),
    ("Team", "string"),
    ("Signl4AlertId", "string"),
    ("Signl4EventId", "string"),
    ("Action", "string"),
    ("Actor", "string"),
    ("Status", "string"),
    ("LatencyMs", "long"),
    ("RecordId", "string"),
    ("Details", "dynamic"),
];

/// One field value is truncated by the service beyond 64 KB (§5.2); `Details` is cut well
/// before that, so a single record always fits in a request.
pub const MAX_DETAILS_BYTES: usize = 32 * 1024;

/// The `Actor` of records of the connector's own actions.
pub const CONNECTOR: &str = "connector";

/// The id of the record of `action` on `what` (a job key, an inbound change key): the same
/// inputs always give the same id, so a redo inserts nothing.
pub fn record_id(action: Action, what: &str) -> String {
    format!("{}:{what}", action.as_str())
}

/// `graph` or `sentinel`, from a stored source name (`graph-alert`, `sentinel.<ws>`,
/// `sentinel-alert.<ws>`).
pub fn source_column(stored_source: &str) -> &'static str {
    crate::source::SourceId::parse(stored_source).map_or("graph", |s| s.audit_source())
}

/// What the audit columns need to know about an alert, from its stored raw JSON: a Graph
/// alert (`title`, `severity`, `incidentId`) or a Sentinel incident / alert (`properties.title`
/// or `alertDisplayName`, `properties.severity`, the incident's `name`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFacts {
    pub source: String,
    pub alert_id: String,
    pub incident_id: String,
    pub title: String,
    pub severity: String,
}

impl AlertFacts {
    /// From a stored alert row: `stored_source` and `alert_id` as stored, `incident_id` the
    /// row's incident, `severity` the row's, `raw` its JSON (unparseable: no title).
    pub fn from_stored(
        stored_source: &str,
        alert_id: &str,
        incident_id: Option<&str>,
        severity: &str,
        raw: &str,
    ) -> AlertFacts {
        let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        let title = s("/title")
            .or_else(|| s("/properties/title"))
            .or_else(|| s("/properties/alertDisplayName"))
            .unwrap_or_default();
        let parsed = crate::source::SourceId::parse(stored_source);
        let sentinel_incident = parsed.as_ref().is_some_and(|s| s.is_incident_page());
        AlertFacts {
            source: parsed.map_or("graph", |s| s.audit_source()).to_string(),
            // A Sentinel incident page: the incident is the subject, there is no alert id.
            alert_id: if sentinel_incident { String::new() } else { alert_id.to_string() },
            incident_id: match (sentinel_incident, incident_id) {
                (true, _) => alert_id.to_string(),
                (false, Some(i)) => i.to_string(),
                (false, None) => String::new(),
            },
            title,
            severity: severity.to_ascii_lowercase(),
        }
    }
}

impl AuditRecord {
    /// A record of `action` on `what` (its id's input) at `time_ms` about `facts`, by the
    /// connector; set the other fields as needed.
    pub fn new(tenant: &str, action: Action, what: &str, time_ms: i64, facts: &AlertFacts) -> AuditRecord {
        AuditRecord {
            record_id: record_id(action, what),
            tenant: tenant.to_string(),
            time_ms,
            source: facts.source.clone(),
            alert_id: facts.alert_id.clone(),
            incident_id: facts.incident_id.clone(),
            title: facts.title.clone(),
            severity: facts.severity.clone(),
            team: crate::route::DEFAULT_ROUTE.to_string(),
            signl4_alert_id: String::new(),
            signl4_event_id: String::new(),
            action,
            actor: CONNECTOR.to_string(),
            status: String::new(),
            latency_ms: None,
            details: Value::Object(Map::new()),
        }
    }

    /// The row as the stream `Custom-SIGNL4_CL` takes it (column names of [`COLUMNS`]).
    pub fn to_row(&self) -> Value {
        let opt = |s: &str| if s.is_empty() { Value::Null } else { Value::String(s.to_string()) };
        let mut m = Map::new();
        m.insert("TimeGenerated".into(), Value::String(time_generated(self.time_ms)));
        m.insert("Tenant".into(), opt(&self.tenant));
        m.insert("Source".into(), opt(&self.source));
        m.insert("AlertId".into(), opt(&self.alert_id));
        m.insert("IncidentId".into(), opt(&self.incident_id));
        m.insert("Title".into(), opt(&self.title));
        m.insert("Severity".into(), opt(&self.severity));
        m.insert("Team".into(), opt(&self.team));
        m.insert("Signl4AlertId".into(), opt(&self.signl4_alert_id));
        m.insert("Signl4EventId".into(), opt(&self.signl4_event_id));
        m.insert("Action".into(), Value::String(self.action.as_str().to_string()));
        m.insert("Actor".into(), opt(&self.actor));
        m.insert("Status".into(), opt(&self.status));
        m.insert("LatencyMs".into(), self.latency_ms.map(Value::from).unwrap_or(Value::Null));
        m.insert("RecordId".into(), Value::String(self.record_id.clone()));
        m.insert("Details".into(), capped_details(&self.details));
        Value::Object(m)
    }

    /// [`AuditRecord::to_row`] as JSON text (what the store keeps and the batches are made of).
    pub fn row_text(&self) -> String {
        self.to_row().to_string()
    }
}

/// The `quarantined` record of an item kept aside (stored with it, once per item: the
/// record id is the tenant, source and item id). `Details` holds the reason.
pub fn quarantined(q: &QuarantineItem, now_ms: i64) -> AuditRecord {
    let facts = AlertFacts::from_stored(&q.source, &q.item_id, None, "", &q.raw);
    let what = format!("{}:{}:{}", q.tenant, q.source, q.item_id);
    let mut r = AuditRecord::new(&q.tenant, Action::Quarantined, &what, now_ms, &facts);
    if q.source.starts_with("signl4") {
        r.source = "signl4".into();
    }
    // A hostile title may be a megabyte long.
    r.title = crate::text::truncate(&r.title, 256);
    r.status = "quarantined".into();
    r.details = serde_json::json!({ "reason": q.reason });
    r
}

/// The `routed` records of an ingested alert: one per page job it carries (its first team and
/// each `continue` route's), keyed by the page job, stored only together with the pages
/// (`IngestItem::audit`). The route is read from the job's payload: Graph and Sentinel page
/// payloads both name it `route` (absent: the default route).
pub fn routed(item: &IngestItem, now_ms: i64) -> Vec<AuditRecord> {
    let a = &item.alert;
    let facts = AlertFacts::from_stored(&a.source, &a.alert_id, a.incident_id.as_deref(), &a.severity, &a.raw);
    let pages = item.page.iter().chain(&item.more_pages);
    let count = item.more_pages.len() + usize::from(item.page.is_some());
    pages
        .map(|job| {
            let payload: Value = serde_json::from_str(&job.payload).unwrap_or(Value::Null);
            let route = payload.get("route").and_then(Value::as_str).unwrap_or(crate::route::DEFAULT_ROUTE);
            let mut r = AuditRecord::new(&a.tenant, Action::Routed, &job.key, now_ms, &facts);
            r.team = route.to_string();
            r.status = "queued".into();
            r.details = json!({"route": route, "teams": count, "job": job.key});
            r
        })
        .collect()
}

/// `TimeGenerated`: ISO 8601 UTC with milliseconds.
fn time_generated(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::timefmt::odata(t)
}

/// `Details`, cut to [`MAX_DETAILS_BYTES`] (the service truncates a field beyond 64 KB, which
/// would leave broken JSON in a dynamic column).
fn capped_details(d: &Value) -> Value {
    let text = d.to_string();
    if text.len() <= MAX_DETAILS_BYTES {
        return d.clone();
    }
    json!({"truncated": true, "text": crate::text::prefix_bytes(&text, MAX_DETAILS_BYTES - 64)})
}

/// Groups rows (JSON texts, in order) into request bodies: each group's JSON array
/// (`[` + rows joined by `,` + `]`) has at most `max_records` rows and stays within
/// `max_bytes`. A row larger than `max_bytes` alone forms a group (the service will answer
/// 413 for it). Returns the index ranges.
pub fn batches(rows: &[&str], max_records: usize, max_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let max_records = max_records.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 2; // `[` and `]`
    for (i, r) in rows.iter().enumerate() {
        let n = i - start;
        let add = r.len() + usize::from(n > 0);
        if n > 0 && (n >= max_records || size + add > max_bytes) {
            out.push(start..i);
            start = i;
            size = 2 + r.len();
        } else {
            size += add;
        }
    }
    if start < rows.len() {
        out.push(start..rows.len());
    }
    out
}

/// The request body of rows: a JSON array.
pub fn body(rows: &[&str]) -> String {
    let mut s = String::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
    s.push('[');
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(r);
    }
    s.push(']');
    s
}

/// After a `413` for `range`: its two halves to send instead, or None when it is a single
/// row (which can never be sent).
pub fn split(range: std::ops::Range<usize>) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    if range.len() < 2 {
        return None;
    }
    let mid = range.start + range.len() / 2;
    Some((range.start..mid, mid..range.end))
}

/// Whether the upload job should wait for more records before sending: fewer than `batch`
/// records are unsent and the oldest is younger than `interval_ms`. Returns how long to wait.
pub fn wait_for_more(unsent: usize, batch: usize, oldest_ms: i64, now_ms: i64, interval_ms: i64) -> Option<i64> {
    if unsent == 0 || unsent >= batch {
        return None;
    }
    let due = oldest_ms + interval_ms;
    (due > now_ms).then_some(due - now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_STREAM;

    fn facts() -> AlertFacts {
        AlertFacts::from_stored(
            "graph-alert",
            "a1",
            Some("42"),
            "High",
            r#"{"id":"a1","title":"Ransomware","severity":"high","incidentId":"42"}"#,
        )
    }

    #[test]
    fn columns_match_the_bicep_template() {
        let bicep = include_str!("../../../deploy/bicep/main.bicep");
        let start = bicep.find("var columns = [").expect("columns in main.bicep");
        let block = bicep.get(start..).and_then(|b| b.split_once("\n]")).expect("end of columns").0;
        let found: Vec<(String, String)> = block
            .lines()
            .filter_map(|l| {
                let name = l.split("name: '").nth(1)?.split('\'').next()?;
                let ty = l.split("type: '").nth(1)?.split('\'').next()?;
                Some((name.to_string(), ty.to_string()))
            })
            .collect();
        let want: Vec<(String, String)> = COLUMNS.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        assert_eq!(found, want);
        assert!(bicep.contains(&format!("var streamName = '{DEFAULT_STREAM}'")));
        // The Action values the template documents are ours.
        let doc = block.lines().find(|l| l.contains("name: 'Action'")).unwrap();
        for a in Action::ALL {
            assert!(doc.contains(a.as_str()), "{} not documented in main.bicep", a.as_str());
        }
    }

    #[test]
    fn a_row_has_every_column_and_empty_values_are_absent() {
        let mut r =
            AuditRecord::new("contoso", Action::Paged, "page:s4s:contoso:graph-alert:a1", 1_700_000_000_123, &facts());
        r.signl4_event_id = "ev1".into();
        r.latency_ms = Some(250);
        let row = r.to_row();
        let obj = row.as_object().unwrap();
        let names: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut want: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
        want.sort_unstable();
        let mut names_sorted = names.clone();
        names_sorted.sort_unstable();
        assert_eq!(names_sorted, want);
        assert_eq!(row["TimeGenerated"], "2023-11-14T22:13:20.1230000Z");
        assert_eq!(row["Source"], "graph");
        assert_eq!(row["IncidentId"], "42");
        assert_eq!(row["Title"], "Ransomware");
        assert_eq!(row["Severity"], "high");
        assert_eq!(row["Team"], "default");
        assert_eq!(row["Action"], "paged");
        assert_eq!(row["Actor"], "connector");
        assert_eq!(row["LatencyMs"], 250);
        assert_eq!(row["Signl4AlertId"], Value::Null);
        assert_eq!(row["RecordId"], "paged:page:s4s:contoso:graph-alert:a1");
    }

    #[test]
    fn a_quarantined_item_has_one_record_with_its_reason() {
        let raw = serde_json::json!({"id": "a1", "title": "é".repeat(10_000)});
        let q = crate::records::QuarantineItem::new("contoso", "graph-alert", "a1", &raw, "internal error: boom");
        let r = quarantined(&q, 1000);
        assert_eq!(r.record_id, quarantined(&q, 2000).record_id, "once per item");
        assert_eq!(r.action.as_str(), "quarantined");
        let row = r.to_row();
        assert_eq!((row["Source"].as_str(), row["AlertId"].as_str()), (Some("graph"), Some("a1")));
        assert_eq!(row["Details"]["reason"], "internal error: boom");
        assert!(r.title.chars().count() <= 256);
        let ev = crate::records::QuarantineItem::new("contoso", "signl4-webhook", "e1", &raw, "bad");
        assert_eq!(quarantined(&ev, 1).source, "signl4");
    }

    #[test]
    fn record_ids_are_deterministic_per_action_and_subject() {
        let a = record_id(Action::Acknowledged, "contoso:ack:s4-1");
        assert_eq!(a, record_id(Action::Acknowledged, "contoso:ack:s4-1"));
        assert_ne!(a, record_id(Action::WrittenBack, "contoso:ack:s4-1"));
        assert_eq!(Action::of_event_note("note"), Some(Action::Annotated));
        assert_eq!(Action::of_event_note("ignored"), None);
    }

    #[test]
    fn sentinel_incident_pages_name_the_incident() {
        let f = AlertFacts::from_stored(
            "sentinel.soc",
            "inc-1",
            None,
            "Medium",
            r#"{"properties":{"title":"Brute force"}}"#,
        );
        assert_eq!((f.source.as_str(), f.alert_id.as_str(), f.incident_id.as_str()), ("sentinel", "", "inc-1"));
        assert_eq!(f.title, "Brute force");
        let f = AlertFacts::from_stored("graph-alert", "a", None, "low", "not json");
        assert_eq!((f.title.as_str(), f.incident_id.as_str()), ("", ""));
    }

    #[test]
    fn an_alert_is_routed_to_each_team_it_pages() {
        use crate::records::{AlertRecord, IngestItem};
        let alert = AlertRecord {
            tenant: "contoso".into(),
            source: "graph-alert".into(),
            alert_id: "a1".into(),
            version: "v1".into(),
            status: "new".into(),
            severity: "high".into(),
            incident_id: Some("42".into()),
            raw: r#"{"title":"Ransomware"}"#.into(),
        };
        let body = serde_json::json!({"Title": "t"}).as_object().cloned().unwrap();
        let first = crate::jobs::route_page("contoso", "x", body.clone(), "default", true);
        let mut item = IngestItem::new(alert, Some(first));
        item.more_pages.push(crate::jobs::route_page("contoso", "x", body, "soc-high", false));
        let r = routed(&item, 5);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].team.as_str(), r[1].team.as_str()), ("default", "soc-high"));
        assert_eq!(r[1].record_id, "routed:page:x@soc-high");
        assert_eq!(r[0].to_row()["Title"], "Ransomware");
        item.page = None;
        item.more_pages.clear();
        assert!(routed(&item, 5).is_empty());
    }

    #[test]
    fn big_details_are_cut_so_a_record_always_fits() {
        let mut r = AuditRecord::new("t", Action::Annotated, "x", 0, &facts());
        r.details = json!({"text": "é".repeat(100_000)});
        let row = r.row_text();
        assert!(row.len() < MAX_DETAILS_BYTES + 2048, "{}", row.len());
        assert_eq!(r.to_row()["Details"]["truncated"], true);
    }

    #[test]
    fn batches_stay_under_the_byte_and_record_limits() {
        let rows: Vec<String> = (0..10).map(|i| format!("{{\"n\":{i:03}}}")).collect(); // 9 bytes each
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        assert_eq!(batches(&refs, 100, 1_000_000), vec![0..10]);
        assert_eq!(batches(&refs, 4, 1_000_000), vec![0..4, 4..8, 8..10]);
        // [a,b,c] = 2 + 3*9 + 2 = 31 bytes; a fourth would be 41.
        let b = batches(&refs, 100, 31);
        assert_eq!(b, vec![0..3, 3..6, 6..9, 9..10]);
        for r in &b {
            assert!(body(&refs[r.clone()]).len() <= 31);
        }
        // A row larger than the limit goes alone.
        assert_eq!(batches(&refs, 100, 5), (0..10).map(|i| i..i + 1).collect::<Vec<_>>());
        assert!(batches(&[], 10, 100).is_empty());
        assert_eq!(body(&refs[0..2]), "[{\"n\":000},{\"n\":001}]");
    }

    #[test]
    fn a_413_splits_a_batch_in_halves_down_to_one_record() {
        assert_eq!(split(0..5), Some((0..2, 2..5)));
        assert_eq!(split(3..5), Some((3..4, 4..5)));
        assert_eq!(split(4..5), None);
    }

    #[test]
    fn the_upload_waits_for_a_batch_or_the_interval() {
        assert_eq!(wait_for_more(3, 500, 1_000, 1_500, 2_000), Some(1_500));
        assert_eq!(wait_for_more(3, 500, 1_000, 3_000, 2_000), None);
        assert_eq!(wait_for_more(500, 500, 1_000, 1_500, 2_000), None);
        assert_eq!(wait_for_more(0, 500, 1_000, 1_500, 2_000), None);
    }
}
