//! Graph `alerts_v2` pages (`{"value": [...], "@odata.nextLink": …}`): the envelope as
//! `GraphClient::alerts_page` reads it, `GraphAlert::from_json` for each element, and what
//! `sources::graph_alerts::store_page` does with an alert (`ingest::graph_alert`: filter,
//! page body, portal changes). Each element is also taken as the alert the `graph-sync` job
//! reads before writing back (`sync::alert_plan`).
//!
//! Properties: never panics; an alert's version is a timestamp that parses back to itself; an
//! alert paged before never pages again; re-reading the same version changes nothing; a
//! write-back plan applied to the alert asks for nothing more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::alert::GraphAlert;
use s4s_core::ids::SOURCE_GRAPH_ALERT;
use s4s_core::sync::{self, AlertSync, Signl4State, SyncComment};
use s4s_core::{ingest, timefmt};
use s4s_fuzz::{STATES, graph_alerts_envelope, json, stored, tenant};
use serde_json::{Value, json};

fn intents(id: &str) -> [AlertSync; 3] {
    let base = AlertSync { alert_id: id.into(), ..Default::default() };
    [
        AlertSync {
            status: Some("inProgress".into()),
            assigned_to: Some("rene@signl4.com".into()),
            comments: vec![SyncComment::new("ack:1", "Acknowledged in SIGNL4 by rene@signl4.com".into())],
            ..base.clone()
        },
        AlertSync {
            status: Some("resolved".into()),
            classification: Some("truePositive".into()),
            determination: Some("malware".into()),
            comments: vec![SyncComment::new("close:1", "Closed in SIGNL4".into())],
            ..base.clone()
        },
        AlertSync { comments: vec![SyncComment::new("note:1", "on it".into())], ..base },
    ]
}

/// The alert after Graph applied `patch` and stored `comments`.
fn apply(current: &Value, patch: &Option<serde_json::Map<String, Value>>, comments: &[String]) -> Value {
    let mut next = current.clone();
    let obj = next.as_object_mut().expect("only objects are planned against here");
    for (k, v) in patch.iter().flatten() {
        obj.insert(k.clone(), v.clone());
    }
    let list = obj.entry("comments").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    for c in comments {
        list.as_array_mut().unwrap().push(json!({"comment": c}));
    }
    next
}

fuzz_target!(|data: &[u8]| {
    let Some(v) = json(data) else { return };
    let Ok((items, _next)) = graph_alerts_envelope(&v) else { return };
    let t = tenant();
    for raw in items {
        if raw.is_object() {
            for intent in intents("a") {
                let plan = sync::alert_plan(&intent, &raw);
                let after = apply(&raw, &plan.patch, &plan.comments);
                assert_eq!(
                    sync::alert_plan(&intent, &after),
                    Default::default(),
                    "a plan applied asks for nothing more"
                );
            }
        }
        let Ok(a) = GraphAlert::from_json(raw) else { continue };
        let version = a.version();
        let back = timefmt::parse(&version).expect("an alert's version parses as a timestamp");
        assert_eq!(timefmt::odata(back), version);
        let _ = (a.product(), a.severity.label(), a.evidence.is_empty());
        let fresh = ingest::graph_alert(t, &a, None);
        assert_eq!(fresh.alert.version, version);
        if let Some(page) = &fresh.page {
            assert!(!page.payload.is_empty());
        }
        for state in STATES {
            for written in [None, Some("inProgress"), Some("resolved")] {
                let older = stored(SOURCE_GRAPH_ALERT, &a.id, "2000-01-01T00:00:00.0000000Z", true, state, written);
                let item = ingest::graph_alert(t, &a, Some(&older));
                assert!(item.page.is_none(), "an alert paged before never pages again");
                let _ = ingest::unchanged(Some(&older), &item);
            }
        }
        let same = stored(SOURCE_GRAPH_ALERT, &a.id, &version, true, Signl4State::Open, None);
        let item = ingest::graph_alert(t, &a, Some(&same));
        assert!(ingest::unchanged(Some(&same), &item), "re-reading the same version changes nothing");
    }
});
