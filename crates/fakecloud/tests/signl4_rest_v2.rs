//! The SIGNL4 REST API as `../shared/reference/signl4.md` §2.2–§2.4 describes it: V2 and V1
//! alert shapes, users, finding alerts by external id, and events whose status says whether
//! anybody was paged. Real HTTP over loopback.

use std::time::Duration;

use s4s_fakecloud::*;
use serde_json::{Value, json};

const KEY: &str = "k1";

async fn fake() -> FakeCloud {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f.add_api_key(DEFAULT_TEAM_SECRET, KEY);
    f
}

fn kim() -> Responder {
    Responder { username: "Kim".into(), mailaddress: "kim@signl4.com".into(), id: "kim-0001".into() }
}

/// Posts an event to the team's webhook; returns its `eventId`.
async fn hook(f: &FakeCloud, body: Value) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["eventId"].as_str().unwrap().to_string()
}

async fn get(f: &FakeCloud, path: &str, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/signl4/api{path}", f.url()))
        .header("X-S4-Api-Key", key)
        .send()
        .await
        .unwrap()
}

async fn get_json(f: &FakeCloud, path: &str) -> Value {
    let r = get(f, path, KEY).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn paged(f: &FakeCloud, query: &str, body: Value, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/signl4/api/v2/alerts/paged{query}", f.url()))
        .header("X-S4-Api-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Waits for `cond` for at most 10 s.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An alert acknowledged by Kim (after an annotation) and closed by Rene.
async fn acked_and_closed(f: &FakeCloud, ext: &str) -> String {
    hook(f, json!({"Title": "Brute force", "Message": "20 failed sign-ins", "X-S4-ExternalID": ext})).await;
    f.signl4_action(DEFAULT_TEAM_SECRET, ext, Action::Acknowledge(Some(kim()))).await.unwrap();
    f.signl4_action(DEFAULT_TEAM_SECRET, ext, Action::Annotate(Some(kim()), "on it".into())).await.unwrap();
    f.signl4_action(DEFAULT_TEAM_SECRET, ext, Action::Close(Some(Responder::default()))).await.unwrap();
    f.signl4_alerts(DEFAULT_TEAM_SECRET)[ext].alert_id.clone()
}

#[tokio::test]
async fn v2_shape_names_users_by_id_only() {
    let f = fake().await;
    let ext = "s4s:contoso:graph-alert:da6377";
    let id = acked_and_closed(&f, ext).await;
    let r = paged(&f, "?maxResults=10", json!({"modifiedSince": "2020-01-01T00:00:00Z"}), KEY).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let a = &v["results"][0];
    assert_eq!(a["id"], id.as_str());
    assert_eq!(a["externalId"], ext, "stored exactly as sent");
    assert_eq!(a["teamId"], f.team_id(DEFAULT_TEAM_SECRET).unwrap().as_str());
    assert!(a["subscriptionId"].is_string() && a["categoryId"].is_string() && a["eventId"].is_string());
    assert_eq!(a["title"], "Brute force");
    assert_eq!(a["text"], "20 failed sign-ins");
    assert_eq!(a["severity"], 0);
    assert_eq!(a["status"]["statusCode"], 4);
    assert_eq!(a["status"]["alertDeliveryStatus"]["statusCode"], 6);
    assert_eq!(a["status"]["alertDeliveryStatus"]["userDeliveryStatus"], json!([]));
    let h = &a["history"];
    assert!(h["created"].is_string() && h["acknowledgedAt"].is_string() && h["closedAt"].is_string());
    assert_eq!(h["acknowledgements"], json!(["kim-0001"]), "user ids only");
    assert_eq!(h["closedBy"], Responder::default().id.as_str(), "a user id, not a user object");
    assert!(a["lastModified"].is_string());
    assert_eq!(a["requiredAcknowledgements"], 1);
    assert_eq!(a["flags"], 2, "HasAnnotations");
    let text = a.to_string();
    for leak in ["kim@signl4.com", "rene@signl4.com", "\"Kim\"", "Rene", "externalEventId", "acknowledgedBy"] {
        assert!(!text.contains(leak), "V2 alert carries {leak}: {text}");
    }
    assert!(a["status"]["statusCode"].is_u64() && !a["status"].is_number());
    // The same alert by id.
    let one = get_json(&f, &format!("/v2/alerts/{id}")).await;
    assert_eq!(&one, a);
    assert_eq!(get(&f, "/v2/alerts/nope", KEY).await.status(), 404);
    assert_eq!(get(&f, &format!("/v2/alerts/{id}"), "wrong").await.status(), 401);
    assert_eq!(f.requests()["signl4.rest.alert"], 3);
}

#[tokio::test]
async fn v1_shape_keeps_numeric_status_and_user_objects() {
    let f = fake().await;
    let ext = "s4s:contoso:graph-alert:v1";
    let id = acked_and_closed(&f, ext).await;
    // Through the control API: GET the settings, change the shape, PUT them back.
    let c = reqwest::Client::new();
    let mut s: Value = c.get(format!("{}/_control/settings", f.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(s["rest_shape"], "v2", "V2 is the default");
    assert_eq!(s["event_processing_ms"], 0);
    s["rest_shape"] = json!("v1");
    let r = c.put(format!("{}/_control/settings", f.url())).json(&s).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = paged(&f, "", json!({}), KEY).await.json().await.unwrap();
    let a = &v["results"][0];
    assert_eq!(a["id"], id.as_str());
    assert_eq!(a["status"], 4);
    assert_eq!(a["externalEventId"], ext);
    assert_eq!(a["parameters"][0], json!({"name": "X-S4-ExternalID", "value": ext, "type": 0}));
    assert_eq!(a["history"]["acknowledgedBy"]["mailaddress"], "kim@signl4.com");
    assert_eq!(a["history"]["closedBy"]["username"], "Rene");
    assert_eq!(get_json(&f, &format!("/v2/alerts/{id}")).await["status"], 4);
    // And back through the Rust API.
    f.configure(|s| s.rest_shape = RestShape::V2);
    assert_eq!(get_json(&f, &format!("/v2/alerts/{id}")).await["status"]["statusCode"], 4);
}

#[tokio::test]
async fn users_resolve_ids_and_can_fail() {
    let f = fake().await;
    let alex = Responder { username: "Alex Ng".into(), mailaddress: "alex@signl4.com".into(), id: "alex-0002".into() };
    f.set_outbound(
        DEFAULT_TEAM_SECRET,
        Some(Outbound {
            url: format!("{}/_control/stats", f.url()),
            responders: Some(ResponderPlan {
                user: kim(),
                ack_after_ms: None,
                annotate_after_ms: None,
                close_after_ms: None,
                ..Default::default()
            }),
            duplicate_probability: 0.0,
        }),
    );
    hook(&f, json!({"Title": "t", "X-S4-ExternalID": "e1"})).await;
    f.signl4_action(DEFAULT_TEAM_SECRET, "e1", Action::Acknowledge(Some(alex.clone()))).await.unwrap();
    let ids: Vec<String> = f.signl4_users(DEFAULT_TEAM_SECRET).into_iter().map(|u| u.id).collect();
    assert_eq!(ids, [Responder::default().id, "alex-0002".into(), "kim-0001".into()]);

    let team_id = f.team_id(DEFAULT_TEAM_SECRET).unwrap();
    let list = get_json(&f, "/v2/users").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let by_id = |id: &str| list.iter().find(|u| u["id"] == id).unwrap().clone();
    let a = by_id("alex-0002");
    assert_eq!(a["mail"], "alex@signl4.com");
    assert_eq!(a["name"], "Alex Ng");
    assert_eq!(
        a["dutyInfos"],
        json!([{"teamId": team_id, "userId": "alex-0002", "dutyMode": 1, "overdue": false, "onDutyTime": 0, "lastChange": null}])
    );
    assert_eq!(by_id("kim-0001")["mail"], "kim@signl4.com", "a responder plan's user is listed before acting");
    assert_eq!(by_id(&Responder::default().id)["mail"], "rene@signl4.com");
    assert_eq!(f.requests()["signl4.rest.users"], 1);
    // One user, by id or mail address.
    assert_eq!(get_json(&f, "/v2/users/kim-0001").await["mail"], "kim@signl4.com");
    assert_eq!(get_json(&f, "/v2/users/ALEX@signl4.com").await["id"], "alex-0002");
    assert_eq!(get(&f, "/v2/users/nobody", KEY).await.status(), 404);
    assert_eq!(get(&f, "/v2/users", "wrong").await.status(), 401);
    // A failing users call (the client falls back to the raw id).
    f.inject(Fault { service: Service::Signl4, kind: FaultKind::Status { status: 503 }, count: 1 });
    let r = get(&f, "/v2/users", KEY).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 503);
    assert_eq!(get(&f, "/v2/users", KEY).await.status(), 200, "the fault counted down");
    assert_eq!(f.requests()["signl4.rest.users"], 4);
    // Nobody on duty: every duty mode is 0.
    f.set_delivery(DEFAULT_TEAM_SECRET, Delivery::NobodyOnDuty);
    assert_eq!(get_json(&f, "/v2/users/kim-0001").await["dutyInfos"][0]["dutyMode"], 0);
    // Added by a test.
    f.add_signl4_user(
        DEFAULT_TEAM_SECRET,
        Responder { username: "Sam".into(), mailaddress: "sam@x".into(), id: "s".into() },
    );
    assert_eq!(get_json(&f, "/v2/users/s").await["name"], "Sam");
}

#[tokio::test]
async fn alerts_by_external_id_match_as_a_prefix() {
    let f = fake().await;
    for ext in ["s4s:t:graph-alert:1", "s4s:t:graph-alert:10", "s4s:t:graph-alert:2"] {
        hook(&f, json!({"Title": ext, "X-S4-ExternalID": ext})).await;
    }
    let team_id = f.team_id(DEFAULT_TEAM_SECRET).unwrap();
    let exts = |v: &Value| -> Vec<String> {
        let mut e: Vec<String> =
            v["results"].as_array().unwrap().iter().map(|a| a["externalId"].as_str().unwrap().to_string()).collect();
        e.sort();
        e
    };
    // `…:1` also finds `…:10`: a client must compare the returned externalId exactly.
    let r = paged(&f, "", json!({"externalId": "s4s:t:graph-alert:1", "teamIds": [team_id]}), KEY).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(exts(&v), ["s4s:t:graph-alert:1", "s4s:t:graph-alert:10"]);
    assert_eq!(v["hasMore"], false);
    let v: Value =
        paged(&f, "", json!({"externalId": "s4s:t:graph-alert:2", "teamId": team_id}), KEY).await.json().await.unwrap();
    assert_eq!(exts(&v), ["s4s:t:graph-alert:2"]);
    // Nothing matches: 204.
    assert_eq!(paged(&f, "", json!({"externalId": "s4s:t:graph-alert:3"}), KEY).await.status(), 204);
    assert_eq!(
        paged(&f, "", json!({"externalId": "s4s:t:graph-alert:1", "teamIds": ["other-team"]}), KEY).await.status(),
        204
    );
    assert_eq!(
        paged(&f, "", json!({"externalId": "s4s:t:graph-alert:1", "modifiedSince": "2999-01-01T00:00:00Z"}), KEY)
            .await
            .status(),
        204
    );
    assert_eq!(paged(&f, "", json!({"externalId": "s4s:t:graph-alert:1"}), "wrong").await.status(), 401);
    // Continuation-token paging, maxResults 1.
    let p1: Value = paged(&f, "?maxResults=1", json!({"externalId": "s4s:t:"}), KEY).await.json().await.unwrap();
    assert_eq!(p1["results"].as_array().unwrap().len(), 1);
    assert_eq!(p1["hasMore"], true);
    let p2: Value =
        paged(&f, "?maxResults=1", json!({"externalId": "s4s:t:", "continuationToken": p1["continuationToken"]}), KEY)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(p2["hasMore"], true);
    let p3: Value =
        paged(&f, "?maxResults=0", json!({"externalId": "s4s:t:", "continuationToken": p2["continuationToken"]}), KEY)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(p3["results"].as_array().unwrap().len(), 1, "maxResults is at least 1");
    assert_eq!(p3["hasMore"], false);
    assert!(p3["continuationToken"].is_null());
    let seen: std::collections::BTreeSet<String> =
        [&p1, &p2, &p3].iter().map(|p| p["results"][0]["externalId"].to_string()).collect();
    assert_eq!(seen.len(), 3);
    // A second `new` with the same external id: counted as a duplicate page, and both alerts
    // are found (SIGNL4 is not known to deduplicate).
    hook(&f, json!({"Title": "again", "X-S4-ExternalID": "s4s:t:graph-alert:2"})).await;
    assert_eq!(f.pages_by_external_id(DEFAULT_TEAM_SECRET)["s4s:t:graph-alert:2"], 2);
    assert_eq!(f.signl4_alerts(DEFAULT_TEAM_SECRET).len(), 3, "keyed by external id");
    let v: Value = paged(&f, "", json!({"externalId": "s4s:t:graph-alert:2"}), KEY).await.json().await.unwrap();
    assert_eq!(exts(&v), ["s4s:t:graph-alert:2", "s4s:t:graph-alert:2"]);
    // Status filter (bit mask): nothing is closed yet.
    assert_eq!(paged(&f, "", json!({"alertStatusCodes": 4}), KEY).await.status(), 204);
    f.signl4_action(DEFAULT_TEAM_SECRET, "s4s:t:graph-alert:1", Action::Close(None)).await.unwrap();
    let v: Value = paged(&f, "", json!({"alertStatusCodes": 4}), KEY).await.json().await.unwrap();
    assert_eq!(exts(&v), ["s4s:t:graph-alert:1"]);
}

#[tokio::test]
async fn events_are_processing_then_settle() {
    let f = fake().await;
    f.configure(|s| s.event_processing_ms = 1500);
    let ext = "s4s:t:graph-alert:p";
    let new = hook(&f, json!({"Title": "t", "X-S4-ExternalID": ext})).await;
    let resolve = hook(&f, json!({"X-S4-ExternalID": ext, "X-S4-Status": "resolved"})).await;
    assert_eq!(f.event_status(&new), Some(EventStatus::Processing));
    let e = get_json(&f, &format!("/v2/events/{new}")).await;
    assert_eq!(e["id"], new.as_str());
    assert_eq!(e["eventStatus"], 1, "processing");
    assert_eq!(e["targets"], json!([]));
    assert!(e["creationTime"].is_string());
    assert!(f.signl4_alerts(DEFAULT_TEAM_SECRET).is_empty(), "no alert while processing");
    assert_eq!(f.received(DEFAULT_TEAM_SECRET).len(), 2, "both were accepted");
    wait_for("both events settled and the alert closed", || {
        f.event_status(&resolve) != Some(EventStatus::Processing)
            && f.signl4_alerts(DEFAULT_TEAM_SECRET).get(ext).is_some_and(|a| a.status == "resolved")
    })
    .await;
    let alert = f.signl4_alerts(DEFAULT_TEAM_SECRET)[ext].clone();
    assert_eq!(alert.status, "resolved", "the resolve did not overtake the new");
    let e = get_json(&f, &format!("/v2/events/{new}")).await;
    assert_eq!(e["eventStatus"], 2, "signled");
    assert_eq!(e["externalId"], ext);
    assert_eq!(e["targets"][0]["alertId"], alert.alert_id.as_str());
    assert_eq!(e["targets"][0]["teamId"], f.team_id(DEFAULT_TEAM_SECRET).unwrap().as_str());
    let e = get_json(&f, &format!("/v2/events/{resolve}")).await;
    assert_eq!(e["eventStatus"], 4, "resolved");
    assert_eq!(e["closedAlerts"], json!([alert.alert_id]));
    assert_eq!(e["targets"], json!([]));
    assert_eq!(f.requests()["signl4.rest.event"], 3);
}

#[tokio::test]
async fn events_of_status_changes_and_unknown_ids() {
    let f = fake().await;
    let ext = "s4s:t:graph-alert:s";
    let new = hook(&f, json!({"Title": "t", "X-S4-ExternalID": ext})).await;
    assert_eq!(f.event_status(&new), Some(EventStatus::Signled), "processing 0: settled before the answer");
    let id = f.signl4_alerts(DEFAULT_TEAM_SECRET)[ext].alert_id.clone();
    let ack = hook(&f, json!({"X-S4-ExternalID": ext, "X-S4-Status": "acknowledged"})).await;
    let e = get_json(&f, &format!("/v2/events/{ack}")).await;
    assert_eq!(e["eventStatus"], 6);
    assert_eq!(e["acknowledgedAlerts"], json!([id]));
    let res = hook(&f, json!({"X-S4-ExternalID": ext, "X-S4-Status": "resolved"})).await;
    assert_eq!(get_json(&f, &format!("/v2/events/{res}")).await["eventStatus"], 4);
    wait_for("the alert closed", || f.signl4_alerts(DEFAULT_TEAM_SECRET)[ext].status == "resolved").await;
    // Nothing open with that id, or a status that is neither: discarded.
    let again = hook(&f, json!({"X-S4-ExternalID": ext, "X-S4-Status": "resolved"})).await;
    let unknown = hook(&f, json!({"X-S4-ExternalID": "nope", "X-S4-Status": "acknowledged"})).await;
    let odd = hook(&f, json!({"X-S4-ExternalID": ext, "X-S4-Status": "updated"})).await;
    for ev in [&again, &unknown, &odd] {
        assert_eq!(f.event_status(ev), Some(EventStatus::Discarded));
        assert_eq!(get_json(&f, &format!("/v2/events/{ev}")).await["eventStatus"], 5);
    }
    assert_eq!(f.signl4_events(DEFAULT_TEAM_SECRET).len(), 6);
    let r = get(&f, "/v2/events/2518783235949759942_00000000-0000-4000-8000-000000000000", KEY).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 404);
    assert_eq!(f.event_status("nope"), None);
    assert_eq!(get(&f, &format!("/v2/events/{new}"), "wrong").await.status(), 401);
    // Another team's API key does not see this team's events.
    f.add_team("other-team");
    f.add_api_key("other-team", "k2");
    assert_eq!(get(&f, &format!("/v2/events/{new}"), "k2").await.status(), 404);
}

#[tokio::test]
async fn each_delivery_outcome_has_its_documented_status() {
    let f = fake().await;
    f.set_outbound(
        DEFAULT_TEAM_SECRET,
        Some(Outbound {
            url: format!("{}/_control/stats", f.url()),
            responders: Some(ResponderPlan {
                user: kim(),
                ack_after_ms: Some(0),
                annotate_after_ms: None,
                close_after_ms: None,
                ..Default::default()
            }),
            duplicate_probability: 0.0,
        }),
    );
    let c = reqwest::Client::new();
    let delivery_url = format!("{}/_control/teams/{DEFAULT_TEAM_SECRET}/delivery", f.url());
    // (outcome, event status, alert delivery status if an alert is created)
    let cases = [
        ("filtered", 3, None),
        ("suppressed", 7, None),
        ("discarded", 5, None),
        ("no_rule_applied", 8, None),
        ("nobody_on_duty", 2, Some(30)),
        ("nobody_notified", 2, Some(31)),
        ("signled", 2, Some(6)),
    ];
    for (outcome, code, delivered) in cases {
        let r = c.put(&delivery_url).json(&json!({"outcome": outcome})).send().await.unwrap();
        assert_eq!(r.status(), 200, "{outcome}");
        let ext = format!("s4s:t:graph-alert:{outcome}");
        let ev = hook(&f, json!({"Title": outcome, "X-S4-ExternalID": ext})).await;
        let e = get_json(&f, &format!("/v2/events/{ev}")).await;
        assert_eq!(e["eventStatus"], code, "{outcome}");
        let alerts = f.signl4_alerts(DEFAULT_TEAM_SECRET);
        match delivered {
            None => {
                assert!(!alerts.contains_key(&ext), "{outcome}: no alert");
                assert_eq!(e["targets"], json!([]), "{outcome}");
                assert_eq!(paged(&f, "", json!({"externalId": ext}), KEY).await.status(), 204, "{outcome}");
            }
            Some(ds) => {
                let id = alerts[&ext].alert_id.clone();
                assert_eq!(e["targets"][0]["alertId"], id.as_str(), "{outcome}");
                let a = get_json(&f, &format!("/v2/alerts/{id}")).await;
                assert_eq!(a["status"]["alertDeliveryStatus"]["statusCode"], ds, "{outcome}");
                assert_eq!(a["externalId"], ext.as_str());
            }
        }
        assert_eq!(f.pages_by_external_id(DEFAULT_TEAM_SECRET)[&ext], 1, "{outcome}: the webhook accepted it");
    }
    // Only the delivered alert is acknowledged by the virtual responder; the outbound webhook
    // reports the three created alerts and nothing for the others.
    wait_for("Kim acknowledges the signled alert", || {
        f.signl4_alerts(DEFAULT_TEAM_SECRET)["s4s:t:graph-alert:signled"].status == "acknowledged"
    })
    .await;
    let alerts = f.signl4_alerts(DEFAULT_TEAM_SECRET);
    for outcome in ["nobody_on_duty", "nobody_notified"] {
        assert_eq!(alerts[&format!("s4s:t:graph-alert:{outcome}")].status, "new", "{outcome}: nobody acts");
    }
    let out = f.outbound_events(DEFAULT_TEAM_SECRET);
    let of = |ext: &str| {
        let mut v: Vec<u64> = out
            .iter()
            .filter(|e| e["alert"]["externalEventId"] == ext)
            .filter_map(|e| e["eventType"].as_u64())
            .collect();
        v.sort();
        v
    };
    assert_eq!(of("s4s:t:graph-alert:signled"), [200, 201]);
    assert_eq!(of("s4s:t:graph-alert:nobody_on_duty"), [200]);
    assert_eq!(of("s4s:t:graph-alert:nobody_notified"), [200]);
    for outcome in ["filtered", "suppressed", "discarded", "no_rule_applied"] {
        assert!(of(&format!("s4s:t:graph-alert:{outcome}")).is_empty(), "{outcome}: no outbound event");
    }
    // The Rust API and bad requests.
    f.set_delivery(DEFAULT_TEAM_SECRET, Delivery::Filtered);
    let ev = hook(&f, json!({"Title": "x", "X-S4-ExternalID": "x"})).await;
    assert_eq!(f.event_status(&ev), Some(EventStatus::Filtered));
    assert_eq!(EventStatus::Filtered.code(), 3);
    assert_eq!(EventStatus::from_code(1000), Some(EventStatus::Error));
    let r = c.put(&delivery_url).json(&json!({"outcome": "maybe"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .put(format!("{}/_control/teams/nope/delivery", f.url()))
        .json(&json!({"outcome": "filtered"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let evs: Value = c
        .get(format!("{}/_control/teams/{DEFAULT_TEAM_SECRET}/signl4_events", f.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(evs.as_array().unwrap().len(), 8);
    assert_eq!(evs[7]["status"], "filtered");
}

#[tokio::test]
async fn the_new_routes_count_against_the_signl4_rest_limit() {
    let f = fake().await;
    f.update_limits(|l| l.signl4_rest = vec![Window::new(3, Duration::from_secs(15))]);
    let ev = hook(&f, json!({"Title": "t", "X-S4-ExternalID": "e"})).await;
    let id = f.signl4_alerts(DEFAULT_TEAM_SECRET)["e"].alert_id.clone();
    assert_eq!(get(&f, "/v2/users", KEY).await.status(), 200);
    assert_eq!(get(&f, &format!("/v2/events/{ev}"), KEY).await.status(), 200);
    assert_eq!(get(&f, &format!("/v2/alerts/{id}"), KEY).await.status(), 200);
    for path in ["/v2/users".to_string(), "/v2/users/x".into(), format!("/v2/events/{ev}"), format!("/v2/alerts/{id}")]
    {
        assert_eq!(get(&f, &path, KEY).await.status(), 429, "{path}");
    }
    let team = f.team_id(DEFAULT_TEAM_SECRET).unwrap();
    let log = f.request_log(Api::Signl4Rest);
    assert_eq!(log.len(), 7);
    assert!(log.iter().all(|r| r.tenant.as_deref() == Some(team.as_str())));
    assert_eq!(f.throttled_count(Api::Signl4Rest), 4);
}
