//! SIGNL4 outbound-webhook bodies (`POST /signl4/{token}`, at most 64 KiB there):
//! `signl4::event::parse`, then what `sources::events::record` does with an event (meaning,
//! change key, correlation ids, `sync::on_event` in every SIGNL4 state).
//!
//! Properties: never panics; parsing is deterministic; a parsed event has a non-empty id and
//! change key; an event re-encoded canonically from what was parsed parses to the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::ids::ExternalId;
use s4s_core::signl4::event::{self, Event};
use s4s_core::sync::{self, Meaning};
use s4s_fuzz::{STATES, tenant};
use serde_json::{Value, json};

fn opt(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

/// The parsed event written back as a webhook body (without `eventRaisedUtc`).
fn canonical(e: &Event) -> Value {
    let mut v = json!({"id": e.id, "eventType": e.event_type});
    if let Some(a) = &e.alert {
        v["alert"] = json!({"statusCode": a.status_code, "eventId": opt(&a.event_id),
                            "externalEventId": opt(&a.external_event_id), "id": opt(&a.id)});
    }
    if let Some(u) = &e.user {
        v["user"] = json!({"username": opt(&u.username), "mailaddress": opt(&u.mailaddress), "id": opt(&u.id)});
    }
    if let Some(n) = &e.annotation {
        v["annotation"] = json!({"message": opt(&n.message), "id": opt(&n.id)});
    }
    if let Some(t) = &e.team {
        v["team"] = json!({"id": opt(&t.id)});
    }
    v
}

fuzz_target!(|data: &[u8]| {
    let first = event::parse(data);
    assert_eq!(first, event::parse(data), "parsing is deterministic");
    let ev = match first {
        Ok(ev) => ev,
        Err(e) => {
            // This text is the 400 response body.
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(!ev.id.is_empty(), "a parsed event has an id");
    let meaning = ev.meaning();
    if let Meaning::Annotated(m) = &meaning {
        assert!(!m.trim().is_empty(), "annotations without text are ignored");
    }
    let key = ev.change_key();
    assert!(!key.is_empty());
    let _ = ev.external_id().and_then(ExternalId::parse);
    let _ = ev.signl4_event_id();
    let opts = &tenant().sync.options;
    for state in STATES {
        let d = sync::on_event(&meaning, ev.who(), &key, state, "alert-1", Some("incident-1"), opts);
        if matches!(meaning, Meaning::Ignore(_)) {
            assert!(d.sync.is_none() && d.new_state.is_none(), "ignored events change nothing");
        }
    }
    // Round trip: what we kept of the event survives a canonical re-encoding.
    let body = canonical(&ev).to_string();
    let mut again = event::parse(body.as_bytes()).expect("a canonical body parses");
    again.raised = ev.raised;
    assert_eq!(again, ev);
});
