//! SIGNL4 REST answers (the polling fallback, `sources::signl4_rest`): one alert in the V1 or
//! V2 shape (`RestAlert::from_json`), a `POST /v2/alerts/paged` page (`exact_matches`), a
//! `GET /v2/users` list (`users_by_id`), an event (`event_verdict`), and the events the
//! fallback derives from an alert and its annotations (`events_from_rest_alert`,
//! `events_from_rest_annotations`). The same input is offered to each of them.
//!
//! Properties: never panics; the derived events carry the same change keys as the webhook's
//! (`ack:{alert}`, `close:{alert}`, `note:{annotation}`); only exact external ids match.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::signl4::event::{events_from_rest_alert, events_from_rest_annotations};
use s4s_core::signl4::rest::{self, RestAlert};
use s4s_core::sync::Meaning;
use s4s_fuzz::json;

const EXT: &str = "s4s:contoso:graph-alert:1";

fuzz_target!(|data: &[u8]| {
    let Some(v) = json(data) else { return };
    let users = rest::users_by_id(&v);
    for (id, u) in &users {
        assert_eq!(u.id.as_deref(), Some(id.as_str()));
    }
    let _ = rest::event_verdict(&v);
    for a in rest::exact_matches(&v, EXT) {
        assert_eq!(a.external_id.as_deref(), Some(EXT), "only exact external ids match");
    }
    let Some(mut alert) = RestAlert::from_json(&v) else { return };
    assert!(!alert.id.is_empty());
    let _ = alert.unresolved_user_ids();
    alert.resolve_users(&users);
    let _ = rest::alert_delivery(&alert);
    let evs = events_from_rest_alert(&alert);
    let ack = format!("ack:{}", alert.id);
    let close = format!("close:{}", alert.id);
    match alert.status {
        Some(2) => {
            assert_eq!(evs.len(), 1);
            assert_eq!((evs[0].meaning(), evs[0].change_key()), (Meaning::Acknowledged, ack));
        }
        Some(4) => {
            let last = evs.last().expect("a closed alert yields a close");
            assert_eq!((last.meaning(), last.change_key()), (Meaning::Closed, close));
            assert!(evs.len() <= 2);
        }
        _ => assert!(evs.is_empty()),
    }
    let notes = v.get("annotations").unwrap_or(&v);
    for e in events_from_rest_annotations(&alert, notes, &users) {
        match e.meaning() {
            Meaning::Annotated(_) => assert!(e.change_key().starts_with("note:")),
            Meaning::Ignore(why) => assert_eq!(why, "annotation without text"),
            other => panic!("an annotation became {other:?}"),
        }
    }
});
