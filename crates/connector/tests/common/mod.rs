//! Shared by the end-to-end tests: the connector's test kit plus assertions on SIGNL4's pages.

#![allow(dead_code)]

use serde_json::Value;
pub use signl4_sentinel::testkit::*;

pub fn ext(alert: &Value) -> String {
    s4s_core::ids::external_id("contoso", "graph-alert", alert["id"].as_str().expect("alert id"))
}

/// Asserts that every alert in `alerts` was paged exactly once and nothing else was paged.
pub fn assert_paged_exactly_once(h: &Harness, alerts: &[Value]) {
    let pages = h.pages();
    for a in alerts {
        assert_eq!(pages.get(&ext(a)).copied(), Some(1), "alert {} paged {:?} times", a["id"], pages.get(&ext(a)));
    }
    assert_eq!(pages.len(), alerts.len(), "unexpected extra pages");
}
