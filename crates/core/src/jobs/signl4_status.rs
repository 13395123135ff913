//! Job kind `signl4-status`: close or acknowledge a SIGNL4 alert after a change in the portal
//! (payload: the SIGNL4 status body, with the route in a hidden field).

use serde_json::{Map, Value};

use super::{ROUTE_FIELD, mark_route, once, route_key};
use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;
use crate::route::DEFAULT_ROUTE;

pub const KIND: JobKind =
    JobKind::new("signl4-status", Priority::Poll, true, "SIGNL4 closes and acknowledgements after portal changes");

/// The route a stored SIGNL4 body goes to (taking the marker out).
pub fn take_route(body: &mut Map<String, Value>) -> String {
    match body.remove(ROUTE_FIELD) {
        Some(Value::String(r)) if !r.is_empty() => r,
        _ => DEFAULT_ROUTE.to_string(),
    }
}

/// The key of a SIGNL4 status change (`resolved` / `acknowledged`) after a change in the portal.
fn key(status: &str, external_id: &str) -> String {
    format!("s4status:{status}:{external_id}")
}

/// Sets a SIGNL4 alert to `status` (`resolved` / `acknowledged`) by its external id.
pub fn signl4_status(tenant: &str, external_id: &str, status: &str) -> NewJob {
    let body = crate::signl4::payload::status_payload(external_id, status);
    once(tenant, KIND, key(status, external_id), Value::Object(body).to_string())
}

/// The status change for every team the alert paged (`routes`, empty = the default route).
pub fn signl4_status_routes(tenant: &str, external_id: &str, status: &str, routes: &[String]) -> Vec<NewJob> {
    if routes.is_empty() {
        return vec![signl4_status(tenant, external_id, status)];
    }
    routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut body = crate::signl4::payload::status_payload(external_id, status);
            mark_route(&mut body, r);
            let key = route_key(key(status, external_id), r, i == 0);
            once(tenant, KIND, key, Value::Object(body).to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_jobs_carry_the_external_id_and_status() {
        let j = signl4_status("contoso", "s4s:contoso:graph-alert:a1", "resolved");
        assert_eq!(j.key, "s4status:resolved:s4s:contoso:graph-alert:a1");
        let body: Value = serde_json::from_str(&j.payload).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"X-S4-ExternalID": "s4s:contoso:graph-alert:a1", "X-S4-Status": "resolved"})
        );
    }

    #[test]
    fn status_jobs_name_their_route() {
        let status = signl4_status_routes("t", "s4s:t:graph-alert:a", "resolved", &["endpoint".into()]);
        let mut body: Map<String, Value> = serde_json::from_str(&status[0].payload).unwrap();
        assert_eq!(take_route(&mut body), "endpoint");
        assert!(!body.contains_key(ROUTE_FIELD), "the marker is not sent");
        let mut plain: Map<String, Value> = serde_json::from_str(&signl4_status("t", "e", "resolved").payload).unwrap();
        assert_eq!(take_route(&mut plain), DEFAULT_ROUTE);
    }
}
