//! Sentinel (ARM) answers: an incident list page (`{"value": [...], "nextLink": …}`), one
//! incident (`GET …/incidents/{id}`), an incident's alerts (`POST …/alerts`) and a Log
//! Analytics query answer. Every element of `value` (and the input itself) is offered to
//! `Incident::from_json` and `SentinelAlert::from_json`; what `sources::sentinel_incidents`,
//! the `sentinel-page` job and the `sentinel-sync` job do with them follows
//! (`ingest::sentinel_incident` per incident and per alert, `incident_page`, `alert_page`,
//! `rule_query`, `render_results`, `incident_put`).
//!
//! Properties: never panics; an incident's version parses back to itself; an incident PUT
//! applied to the incident asks for nothing more; comment ids are GUID-shaped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::config::PagePer;
use s4s_core::sentinel::{self, Enrichment, Incident, SentinelAlert};
use s4s_core::signl4::payload;
use s4s_core::sync::{AlertSync, Signl4State, SyncComment};
use s4s_core::{ingest, timefmt};
use s4s_fuzz::{json, lenient_envelope, stored, tenant, workspace};

fn intents() -> [AlertSync; 3] {
    let base = AlertSync { alert_id: "a".into(), ..Default::default() };
    [
        AlertSync { status: Some("inProgress".into()), assigned_to: Some("rene@signl4.com".into()), ..base.clone() },
        AlertSync {
            status: Some("resolved".into()),
            comments: vec![SyncComment::new("close:1", "Closed in SIGNL4 by rene@signl4.com".into())],
            ..base.clone()
        },
        base,
    ]
}

fuzz_target!(|data: &[u8]| {
    let Some(v) = json(data) else { return };
    let (mut items, _next) = lenient_envelope(&v, "nextLink");
    items.push(v.clone());
    let t = tenant();
    let ws = workspace();
    let mut per_alert = ws.clone();
    per_alert.page_per = PagePer::Alert;
    let alerts: Vec<SentinelAlert> = items.iter().cloned().filter_map(SentinelAlert::from_json).collect();
    let results = sentinel::render_results(&v, ws.enrichment_rows, None);
    for a in &alerts {
        let _ = sentinel::rule_query(&a.additional_data);
    }
    for raw in &items {
        for intent in intents() {
            if let Some(put) = sentinel::incident_put(raw, &intent, ws, ws.label.as_deref()) {
                let mut after = raw.clone();
                if let Some(o) = after.as_object_mut() {
                    o.insert("properties".into(), put["properties"].clone());
                    assert_eq!(
                        sentinel::incident_put(&after, &intent, ws, ws.label.as_deref()),
                        None,
                        "a PUT applied asks for nothing more"
                    );
                }
            }
        }
        let Some(inc) = Incident::from_json(raw.clone()) else { continue };
        let version = inc.version();
        let back = timefmt::parse(&version).expect("an incident's version parses as a timestamp");
        assert_eq!(timefmt::odata(back), version);
        assert_eq!(sentinel::comment_id(&inc.title).len(), 36);
        let _ = ingest::incident_pages(ws, &inc);
        for cfg in [ws, &per_alert] {
            let _ = ingest::sentinel_incident(t, cfg, &inc, None, Some(items.clone()), &[], None);
            let src = sentinel::source(&cfg.name);
            let older = stored(&src, &inc.name, "2000-01-01T00:00:00.0000000Z", true, Signl4State::Open, None);
            let tracked = [stored(&sentinel::alert_source(&cfg.name), "x", "v", true, Signl4State::Open, None)];
            let _ = ingest::sentinel_needs_tracked(cfg, &inc, Some(&older));
            let _ = ingest::sentinel_incident(t, cfg, &inc, Some(&older), None, &tracked, None);
            let same = stored(&src, &inc.name, &version, true, Signl4State::Open, None);
            assert!(
                ingest::sentinel_incident(t, cfg, &inc, Some(&same), None, &[], None).is_empty(),
                "an unchanged re-read writes nothing"
            );
        }
        for e in [Enrichment::None, Enrichment::Results(results.clone()), Enrichment::Pending] {
            let p = payload::incident_page(&t.name, ws, &inc, &alerts, &e, &t.signl4);
            assert!(!p.external_id.is_empty());
            for a in alerts.iter().take(3) {
                let _ = payload::alert_page(&t.name, ws, &inc, a, &e, &t.signl4);
            }
        }
    }
});
