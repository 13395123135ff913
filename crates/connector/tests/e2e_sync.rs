//! Two-way sync end to end over real HTTP: SIGNL4 (fake) posts outbound webhooks to the
//! connector's receiver; the connector writes to Graph (fake); portal changes reach SIGNL4.

mod common;

use std::time::Duration;

use common::*;
use s4s_fakecloud::{Action, Fault, FaultKind, Responder, ResponderPlan, Service, scenarios};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);
const TOKEN: &str = INBOUND_TOKEN;

fn rene() -> Option<Responder> {
    Some(Responder::default())
}

fn comments(v: &Value) -> Vec<String> {
    v["comments"].as_array().unwrap().iter().map(|c| c["comment"].as_str().unwrap().to_string()).collect()
}

fn alert(h: &Harness, a: &Value) -> Value {
    h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap()
}

fn resolves_sent(h: &Harness) -> usize {
    h.fake.received(TEAM).iter().filter(|e| e.status == "resolved").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_then_close_in_signl4_reaches_graph_with_one_comment_each() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("77"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;

    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(rene())).await.unwrap();
    wait_for("inProgress in Graph", T, async || alert(&h, &a)["status"] == "inProgress").await;
    wait_for("ack comment", T, async || comments(&alert(&h, &a)).len() == 1).await;
    let g = alert(&h, &a);
    assert_eq!(g["assignedTo"], "rene@signl4.com");
    assert!(comments(&g)[0].starts_with("Acknowledged in SIGNL4 by rene@signl4.com."), "{:?}", comments(&g));

    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(rene())).await.unwrap();
    wait_for("resolved in Graph", T, async || alert(&h, &a)["status"] == "resolved").await;
    wait_for("close comment", T, async || comments(&alert(&h, &a)).len() == 2).await;
    assert!(comments(&alert(&h, &a))[1].starts_with("Closed in SIGNL4 by rene@signl4.com."));

    // Our own write comes back through polling: it must not be mirrored to SIGNL4 again.
    h.polls(3).await;
    assert_eq!(resolves_sent(&h), 0, "echo loop: the connector closed an alert SIGNL4 had closed");
    assert_eq!(comments(&alert(&h, &a)).len(), 2);
    assert_paged_exactly_once(&h, std::slice::from_ref(&a));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_webhook_deliveries_have_one_effect() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 1.0, None).await; // every event delivered twice
    let a = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("78"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(rene())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a), Action::Annotate(rene(), "calling the user".into())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(rene())).await.unwrap();
    wait_for("three comments", T, async || comments(&alert(&h, &a)).len() >= 3).await;
    h.polls(2).await;
    let c = comments(&alert(&h, &a));
    assert_eq!(c.len(), 3, "{c:?}");
    assert!(c[1].starts_with("SIGNL4 note from rene@signl4.com: calling the user"));
    assert_eq!(alert(&h, &a)["status"], "resolved");
    assert!(h.fake.requests().get("signl4.outbound.duplicate").copied().unwrap_or(0) >= 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_in_the_portal_closes_the_signl4_alert_without_echo() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mdo_phishing("79"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    h.fake.update_alert(
        TENANT,
        a["id"].as_str().unwrap(),
        json!({"status": "resolved", "assignedTo": "analyst@contoso.com"}),
    );
    wait_for("SIGNL4 alert closed", T, async || h.fake.signl4_alerts(TEAM)[&ext(&a)].status == "resolved").await;
    // SIGNL4 reports the close back through its outbound webhook; that is our own echo.
    wait_for("SIGNL4 reported the close", T, async || {
        h.fake.outbound_events(TEAM).iter().any(|e| e["eventType"] == 201 && e["alert"]["statusCode"] == 4)
    })
    .await;
    h.polls(3).await;
    assert_eq!(resolves_sent(&h), 1);
    let g = alert(&h, &a);
    assert!(comments(&g).is_empty(), "echo of our own close became a comment: {:?}", comments(&g));
    assert_eq!(g["assignedTo"], "analyst@contoso.com", "the analyst's owner is kept");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_during_a_graph_outage_are_applied_in_order_after_recovery_and_a_restart() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("80"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let patches_before = h.fake.requests().get("graph.alerts.patch").copied().unwrap_or(0);
    h.fake.inject(Fault { service: Service::Graph, kind: FaultKind::Status { status: 503 }, count: 1_000_000 });
    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(rene())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a), Action::Annotate(rene(), "isolating ws-042".into())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(rene())).await.unwrap();
    // Restart while the write-back is still pending.
    app.stop().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    h.fake.clear_faults();
    wait_for("all applied", T, async || comments(&alert(&h, &a)).len() == 3 && alert(&h, &a)["status"] == "resolved")
        .await;
    let c = comments(&alert(&h, &a));
    assert!(c[0].starts_with("Acknowledged") && c[1].starts_with("SIGNL4 note") && c[2].starts_with("Closed"), "{c:?}");
    assert_eq!(alert(&h, &a)["assignedTo"], "rene@signl4.com");
    let patches = h.fake.requests().get("graph.alerts.patch").copied().unwrap_or(0) - patches_before;
    assert_eq!(patches, 1, "ack and close coalesced into one PATCH");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_follows_when_all_its_alerts_did_and_keeps_tags_and_owner() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a1 = h.fake.add_alert(TENANT, scenarios::mde_malware("90"));
    let a2 = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("90"));
    h.fake.update_incident(TENANT, "90", json!({"customTags": ["Finance"]}));
    wait_for("both paged", T, async || h.pages().len() == 2).await;
    wait_for("incident tagged", T, async || {
        h.fake.incident(TENANT, "90").unwrap()["customTags"] == json!(["Finance", "SIGNL4"])
    })
    .await;

    h.fake.signl4_action(TEAM, &ext(&a1), Action::Acknowledge(rene())).await.unwrap();
    wait_for("first alert inProgress", T, async || alert(&h, &a1)["status"] == "inProgress").await;
    h.polls(2).await;
    assert_eq!(h.fake.incident(TENANT, "90").unwrap()["status"], "active", "waits for the last alert");

    let other = Responder { username: "Kim".into(), mailaddress: "kim@signl4.com".into(), id: "k1".into() };
    h.fake.signl4_action(TEAM, &ext(&a2), Action::Acknowledge(Some(other))).await.unwrap();
    wait_for("incident inProgress", T, async || h.fake.incident(TENANT, "90").unwrap()["status"] == "inProgress").await;
    assert_eq!(h.fake.incident(TENANT, "90").unwrap()["assignedTo"], "kim@signl4.com");

    h.fake.signl4_action(TEAM, &ext(&a1), Action::Close(rene())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a2), Action::Close(rene())).await.unwrap();
    wait_for("incident resolved", T, async || h.fake.incident(TENANT, "90").unwrap()["status"] == "resolved").await;
    let inc = h.fake.incident(TENANT, "90").unwrap();
    assert_eq!(inc["customTags"], json!(["Finance", "SIGNL4"]));
    assert_eq!(inc["assignedTo"], "kim@signl4.com", "the first owner is not replaced");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_webhook_input_changes_nothing() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("81"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    // Let the page's follow-up work (incident tag) finish first.
    wait_for("outbox idle", T, async || app.store.job_counts().await.unwrap().pending == 0).await;
    let before = app.store.job_counts().await.unwrap();
    let c = reqwest::Client::new();
    let url = |tok: &str| format!("http://{}/signl4/{tok}", app.addr);
    let ack = json!({"eventType": 201, "id": "ev-x", "user": {"mailaddress": "x@y"}, "alert": {"statusCode": 2, "externalEventId": ext(&a)}});

    let r = c.post(url("wrong-token-0123456789")).json(&ack).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().is_empty(), "no detail for a wrong token");
    let r = c
        .post(url(TOKEN))
        .body(vec![b'{'; 100 * 1024])
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = c.post(url(TOKEN)).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c.post(url(TOKEN)).json(&json!({"eventType": 201})).send().await.unwrap();
    assert_eq!(r.status(), 400, "no event id");
    let unknown = json!({"eventType": 201, "id": "ev-y", "alert": {"statusCode": 2, "externalEventId": "INC091210"}});
    let r = c.post(url(TOKEN)).json(&unknown).send().await.unwrap();
    assert_eq!(r.status(), 200, "events for alerts we did not create are acknowledged");
    let other_tenant = json!({"eventType": 201, "id": "ev-z", "alert": {"statusCode": 2, "externalEventId": "s4s:someone-else:graph-alert:1"}});
    assert_eq!(c.post(url(TOKEN)).json(&other_tenant).send().await.unwrap().status(), 200);
    for ty in [1, 200, 300, 303] {
        let ev =
            json!({"eventType": ty, "id": format!("t{ty}"), "alert": {"statusCode": 1, "externalEventId": ext(&a)}});
        assert_eq!(c.post(url(TOKEN)).json(&ev).send().await.unwrap().status(), 200);
    }
    assert_eq!(c.get(url(TOKEN)).send().await.unwrap().status(), 405);
    h.polls(2).await;
    assert_eq!(app.store.job_counts().await.unwrap(), before, "nothing was queued");
    assert!(comments(&alert(&h, &a)).is_empty());
    assert_eq!(alert(&h, &a)["status"], "new");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_responders_complete_the_round_trip() {
    let h = Harness::new().await;
    let plan = ResponderPlan {
        ack_after_ms: Some(100),
        annotate_after_ms: Some(200),
        close_after_ms: Some(300),
        ..Default::default()
    };
    let cfg = h.config().tenant(|t| t.sync.close_classification = Some("truePositive".into()));
    let app = h.start_connected(&cfg, 0.3, Some(plan)).await;
    let alerts = h.fake.add_alerts(TENANT, (0..5).map(scenarios::synthetic));
    wait_for("all resolved in Graph with 3 comments", T, async || {
        alerts.iter().all(|a| {
            let g = alert(&h, a);
            g["status"] == "resolved" && comments(&g).len() == 3
        })
    })
    .await;
    h.polls(2).await;
    for a in &alerts {
        let g = alert(&h, a);
        assert_eq!(comments(&g).len(), 3);
        assert_eq!(g["classification"], "truePositive");
    }
    assert_eq!(resolves_sent(&h), 0);
    assert_paged_exactly_once(&h, &alerts);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_redirected_or_resolved_in_the_portal_closes_its_signl4_alerts() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a1 = h.fake.add_alert(TENANT, scenarios::mde_malware("95"));
    let a2 = h.fake.add_alert(TENANT, scenarios::mdo_phishing("96"));
    wait_for("both paged", T, async || h.pages().len() == 2).await;
    // Merged into another incident by an analyst.
    h.fake.update_incident(TENANT, "95", json!({"status": "redirected", "redirectIncidentId": "97"}));
    wait_for("SIGNL4 alert of the redirected incident closed", T, async || {
        h.fake.signl4_alerts(TEAM)[&ext(&a1)].status == "resolved"
    })
    .await;
    // Resolved as a whole (Defender resolves its alerts too).
    h.fake.update_incident(TENANT, "96", json!({"status": "resolved"}));
    wait_for("SIGNL4 alert of the resolved incident closed", T, async || {
        h.fake.signl4_alerts(TEAM)[&ext(&a2)].status == "resolved"
    })
    .await;
    h.polls(3).await;
    assert_eq!(resolves_sent(&h), 2, "one close per alert, whichever path saw it first");
    app.stop().await;
}

/// The REST polling fallback on, with the API key `test-api-key`.
fn with_api_key(cfg: ConfigBuilder) -> ConfigBuilder {
    cfg.tenant(|t| {
        t.signl4.api_key = Some("test-api-key".into());
        t.signl4.api_poll_interval = Some(Duration::from_millis(200));
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_polling_fallback_syncs_when_signl4_cannot_reach_the_connector() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, "test-api-key");
    let app = h.start(&with_api_key(h.config())).await; // no outbound webhook
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("82"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(rene())).await.unwrap();
    wait_for("inProgress via REST polling", T, async || alert(&h, &a)["status"] == "inProgress").await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Annotate(rene(), "found it".into())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(rene())).await.unwrap();
    wait_for("resolved with three comments", T, async || {
        alert(&h, &a)["status"] == "resolved" && comments(&alert(&h, &a)).len() == 3
    })
    .await;
    assert_eq!(alert(&h, &a)["assignedTo"], "rene@signl4.com");
    assert!(h.fake.requests().get("signl4.rest.paged").copied().unwrap_or(0) >= 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_and_rest_polling_together_still_have_one_effect_per_change() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, "test-api-key");
    let app = h.start_connected(&with_api_key(h.config()), 0.5, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("83"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(rene())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a), Action::Annotate(rene(), "checking sign-in logs".into())).await.unwrap();
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(rene())).await.unwrap();
    wait_for("resolved", T, async || alert(&h, &a)["status"] == "resolved" && comments(&alert(&h, &a)).len() >= 3)
        .await;
    // Let the REST poller see everything at least twice more.
    let polled = h.fake.requests().get("signl4.rest.paged").copied().unwrap_or(0);
    wait_for("two more REST polls", T, async || {
        h.fake.requests().get("signl4.rest.paged").copied().unwrap_or(0) >= polled + 2
    })
    .await;
    h.polls(1).await;
    assert_eq!(comments(&alert(&h, &a)).len(), 3, "{:?}", comments(&alert(&h, &a)));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_signl4_api_key_is_reported_and_changes_nothing() {
    let h = Harness::new().await;
    let app = h.start(&with_api_key(h.config())).await; // key not registered
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("84"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let polled = h.fake.requests().get("signl4.rest.paged").copied().unwrap_or(0);
    wait_for("REST polls continue", T, async || {
        h.fake.requests().get("signl4.rest.paged").copied().unwrap_or(0) >= polled + 2
    })
    .await;
    assert_eq!(alert(&h, &a)["status"], "new");
    let r = reqwest::get(format!("http://{}/readyz", app.addr)).await.unwrap();
    // Readiness is the process's (server.strict_readiness off): the body names the tenant.
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["tenants_unhealthy"], serde_json::json!(["contoso"]), "{body}");
    let err = body["tenants"]["contoso"]["status"]["signl4_api_error"].as_str().unwrap().to_string();
    assert!(err.contains("HTTP 401") && err.contains("api_key"), "{err}");
    assert!(!body.to_string().contains("test-api-key"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_progress_in_the_portal_acknowledges_in_signl4_when_enabled() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config().tenant(|t| t.sync.ack_on_in_progress = true), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("85"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    h.fake.update_alert(
        TENANT,
        a["id"].as_str().unwrap(),
        json!({"status": "inProgress", "assignedTo": "analyst@contoso.com"}),
    );
    wait_for("SIGNL4 alert acknowledged", T, async || h.fake.signl4_alerts(TEAM)[&ext(&a)].status == "acknowledged")
        .await;
    // SIGNL4 reports the acknowledgement back: our own echo, no comment, owner kept.
    wait_for("SIGNL4 reported it", T, async || {
        h.fake.outbound_events(TEAM).iter().any(|e| e["eventType"] == 201 && e["alert"]["statusCode"] == 2)
    })
    .await;
    h.polls(3).await;
    let g = alert(&h, &a);
    assert!(comments(&g).is_empty(), "{:?}", comments(&g));
    assert_eq!(g["assignedTo"], "analyst@contoso.com");
    assert_eq!(h.fake.received(TEAM).iter().filter(|e| e.status == "acknowledged").count(), 1);
    // A responder closes it later on the phone: that is a real change and reaches Graph.
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(rene())).await.unwrap();
    wait_for("resolved", T, async || alert(&h, &a)["status"] == "resolved").await;
    app.stop().await;
}

/// An analyst's comment in the portal reaches the phone as one annotation (team with an API
/// key) and is not echoed back to Graph as a SIGNL4 note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_comment_becomes_one_annotation_and_is_not_echoed() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, "test-api-key");
    let app = h.start_connected(&with_api_key(h.config()), 0.3, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("91"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let mut comments_now = alert(&h, &a)["comments"].as_array().cloned().unwrap_or_default();
    comments_now.push(json!({
        "comment": "Isolated the device, waiting for forensics",
        "createdByDisplayName": "Megan Bowen",
        "createdDateTime": s4s_core::timefmt::odata(time::OffsetDateTime::now_utc()),
    }));
    h.fake.update_alert(TENANT, a["id"].as_str().unwrap(), json!({"comments": comments_now}));
    let ours = |h: &Harness| {
        h.fake.signl4_alerts(TEAM)[&ext(&a)]
            .notes
            .iter()
            .filter(|n| {
                n.text == "[signl4-sentinel] Portal comment by Megan Bowen: Isolated the device, waiting for forensics"
            })
            .count()
    };
    wait_for("the annotation", T, async || ours(&h) == 1).await;
    // Another portal edit later: the same comment is not annotated again; the annotation's
    // outbound 203 and the REST poller's view of it are not written back as notes.
    h.fake.update_alert(TENANT, a["id"].as_str().unwrap(), json!({"status": "inProgress"}));
    h.polls(3).await;
    assert_eq!(ours(&h), 1);
    let c = comments(&alert(&h, &a));
    assert!(!c.iter().any(|t| t.contains("SIGNL4 note from")), "echo: {c:?}");
    app.stop().await;
}
