//! Graph `incidents` pages (`{"value": [...], "@odata.nextLink": …}`). `s4s-core` has no
//! Graph incident model: `sources::graph_incidents` reads `id`, `status` and
//! `lastUpdateDateTime` from each element itself and hands resolved / redirected ones to
//! `ingest::incident_closes`; the `incident-sync` job plans its write with
//! `sync::incident_plan` against the incident as read. This target does the same.
//!
//! Properties: never panics; an incident close only closes SIGNL4 alerts that are still open
//! there; a write-back plan applied to the incident asks for nothing more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::ids::SOURCE_GRAPH_ALERT;
use s4s_core::sync::{self, IncidentSync, Signl4State};
use s4s_core::{ingest, timefmt};
use s4s_fuzz::{STATES, json, lenient_envelope, stored, tenant};
use serde_json::Value;

fn intents(id: &str) -> [IncidentSync; 3] {
    let base = IncidentSync { incident_id: id.into(), ..Default::default() };
    [
        IncidentSync { tag: Some("SIGNL4".into()), ..base.clone() },
        IncidentSync { status: Some("inProgress".into()), assigned_to: Some("rene@signl4.com".into()), ..base.clone() },
        IncidentSync {
            status: Some("resolved".into()),
            classification: Some("truePositive".into()),
            determination: Some("malware".into()),
            ..base
        },
    ]
}

fuzz_target!(|data: &[u8]| {
    let Some(v) = json(data) else { return };
    let (items, _next) = lenient_envelope(&v, "@odata.nextLink");
    let t = tenant();
    for inc in &items {
        if inc.is_object() {
            for intent in intents("1") {
                if let Some(patch) = sync::incident_plan(&intent, inc) {
                    let mut after = inc.clone();
                    after.as_object_mut().unwrap().extend(patch);
                    assert_eq!(sync::incident_plan(&intent, &after), None, "a plan applied asks for nothing more");
                }
            }
        }
        let _newest = inc.get("lastUpdateDateTime").and_then(Value::as_str).and_then(timefmt::parse);
        let (Some(id), Some(status)) =
            (inc.get("id").and_then(Value::as_str), inc.get("status").and_then(Value::as_str))
        else {
            continue;
        };
        if !matches!(status, "resolved" | "redirected") {
            continue;
        }
        let tracked: Vec<_> = STATES
            .iter()
            .flat_map(|&s| [None, Some("resolved")].map(|w| stored(SOURCE_GRAPH_ALERT, id, "v1", true, s, w)))
            .collect();
        for close in ingest::incident_closes(&t.name, status, &tracked) {
            let from = tracked.iter().find(|a| a.record.alert_id == close.alert.alert_id).unwrap();
            assert!(!from.state().is_closed(), "only SIGNL4 alerts still open are closed");
            assert_eq!(close.update.signl4_state.as_deref(), Some(Signl4State::ClosedByPortal.as_str()));
            assert_eq!(close.jobs.len(), 1);
        }
    }
});
