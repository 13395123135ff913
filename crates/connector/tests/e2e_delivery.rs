//! What happens after SIGNL4 answers `201`, over real HTTP against the fake cloud at its
//! documented limits: the REST fallback in both alert shapes (`signl4.md` §2.3 V1, §2.4 V2,
//! user ids resolved through `GET /v2/users`), and delivery verification (`GET
//! /v2/events/{id}`: a page that reached nobody is said so, commented and, if configured,
//! paged again elsewhere).

mod common;

use std::time::{Duration, Instant};

use common::*;
use s4s_fakecloud::{Action, Delivery, Responder, RestShape, scenarios};
use serde_json::Value;

const T: Duration = Duration::from_secs(30);
const KEY: &str = "test-api-key";

fn comments(v: &Value) -> Vec<String> {
    v["comments"].as_array().unwrap().iter().map(|c| c["comment"].as_str().unwrap().to_string()).collect()
}

fn alert(h: &Harness, a: &Value) -> Value {
    h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap()
}

fn with_api_key(cfg: ConfigBuilder, poll: Duration) -> ConfigBuilder {
    cfg.tenant(|t| {
        t.signl4.api_key = Some(KEY.into());
        t.signl4.api_poll_interval = Some(poll);
    })
}

async fn readyz(addr: std::net::SocketAddr) -> Value {
    reqwest::get(format!("http://{addr}/readyz")).await.unwrap().json().await.unwrap()
}

async fn metrics(addr: std::net::SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap()
}

/// Acknowledge, note and close made only in the SIGNL4 app (no outbound webhook) reach Graph
/// through the REST fallback within `api_poll_interval` + a few seconds, once each — whichever
/// shape SIGNL4's API answers in. V2 names the user by id only: it must become the e-mail.
async fn rest_fallback_round_trip(shape: RestShape) {
    let h = Harness::new().await;
    h.fake.configure(|s| s.rest_shape = shape);
    h.fake.add_api_key(TEAM, KEY);
    let poll = Duration::from_secs(1);
    // Default polling (Graph every 2–10 s within its budget), not the 250 ms of other tests:
    // the write-backs must fit beside polling in Graph's 150 requests per minute.
    let app = h.start(&with_api_key(h.example(), poll)).await; // no outbound webhook
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("90"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let kim = Responder { username: "Kim".into(), mailaddress: "kim@contoso.com".into(), id: "kim-0001".into() };
    let within = poll + Duration::from_secs(5);

    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(Some(kim.clone()))).await.unwrap();
    let t0 = Instant::now();
    wait_for("inProgress via REST polling", within, async || alert(&h, &a)["status"] == "inProgress").await;
    eprintln!("{shape:?}: acknowledgement reached Graph in {} ms", t0.elapsed().as_millis());
    assert_eq!(alert(&h, &a)["assignedTo"], "kim@contoso.com", "{shape:?}: the user id must resolve to the e-mail");

    h.fake
        .signl4_action(TEAM, &ext(&a), Action::Annotate(Some(kim.clone()), "isolated the host".into()))
        .await
        .unwrap();
    wait_for("note via REST polling", within, async || comments(&alert(&h, &a)).len() == 2).await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(Some(kim.clone()))).await.unwrap();
    wait_for("resolved via REST polling", within, async || alert(&h, &a)["status"] == "resolved").await;
    wait_for("three comments", within, async || comments(&alert(&h, &a)).len() == 3).await;
    // More polls: nothing is written twice.
    let polled = h.requests("signl4.rest.paged");
    wait_for("two more REST polls", T, async || h.requests("signl4.rest.paged") >= polled + 2).await;
    let c = comments(&alert(&h, &a));
    assert_eq!(c.len(), 3, "{shape:?}: {c:?}");
    assert!(c[0].starts_with("Acknowledged in SIGNL4 by kim@contoso.com."), "{c:?}");
    assert!(c[1].contains("isolated the host") && c[1].contains("kim@contoso.com"), "{c:?}");
    assert!(c[2].starts_with("Closed in SIGNL4 by kim@contoso.com."), "{c:?}");
    if shape == RestShape::V2 {
        assert!(h.requests("signl4.rest.users") >= 1, "V2 user ids are looked up");
    }
    assert_paged_exactly_once(&h, std::slice::from_ref(&a));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_fallback_reads_the_v2_shape_and_resolves_user_ids() {
    rest_fallback_round_trip(RestShape::V2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_fallback_reads_the_v1_shape() {
    rest_fallback_round_trip(RestShape::V1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_reached_nobody_is_reported_and_commented() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, KEY);
    h.fake.set_delivery(TEAM, Delivery::NobodyOnDuty);
    let app = h.start(&with_api_key(h.config(), Duration::from_secs(30))).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("91"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    wait_for("a comment says it reached nobody", T, async || {
        comments(&alert(&h, &a)).iter().any(|c| c.starts_with("SIGNL4: not delivered — nobody is on duty in the team."))
    })
    .await;
    let r = readyz(app.addr).await;
    let st = &r["tenants"]["contoso"]["status"];
    assert_eq!(st["pages_not_delivered"], 1, "{r}");
    assert!(st["last_not_delivered"].as_str().unwrap().contains("nobody is on duty"), "{r}");
    let m = metrics(app.addr).await;
    assert!(
        m.lines().any(|l| l.starts_with("s4s_pages_not_delivered_total")
            && l.contains("nobody_on_duty")
            && l.ends_with(" 1")),
        "metric missing:\n{}",
        m.lines().filter(|l| l.contains("not_delivered")).collect::<Vec<_>>().join("\n")
    );
    // A page that did reach somebody gets no comment.
    h.fake.set_delivery(TEAM, Delivery::Signled);
    let b = h.fake.add_alert(TENANT, scenarios::mde_malware("92"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&b))).await;
    wait_for("b verified", T, async || h.requests("signl4.rest.event") >= 2).await;
    h.polls(2).await;
    assert!(comments(&alert(&h, &b)).is_empty(), "{:?}", comments(&alert(&h, &b)));
    assert_eq!(readyz(app.addr).await["tenants"]["contoso"]["status"]["pages_not_delivered"], 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_page_falls_back_to_the_emergency_scenario_once() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, KEY);
    h.fake.set_delivery(TEAM, Delivery::Filtered);
    let cfg =
        with_api_key(h.config(), Duration::from_secs(30)).tenant(|t| t.signl4.fallback = Some("emergency".into()));
    let app = h.start(&cfg).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("93"));
    wait_for("the fallback page", T, async || h.pages().get(&ext(&a)).copied() == Some(2)).await;
    let got: Vec<Value> = h.fake.received(TEAM).into_iter().filter(|e| e.status == "new").map(|e| e.body).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["X-S4-AlertingScenario"], "emergency");
    assert!(got[1]["Title"].as_str().unwrap().starts_with("[not delivered: filtered] "), "{}", got[1]["Title"]);
    wait_for("the comment names the fallback", T, async || {
        comments(&alert(&h, &a)).iter().any(|c| c.contains("filtered") && c.contains("emergency scenario"))
    })
    .await;
    // The fallback was filtered too: no third page.
    wait_for("the fallback verified", T, async || h.requests("signl4.rest.event") >= 2).await;
    h.polls(2).await;
    assert_eq!(h.pages().get(&ext(&a)).copied(), Some(2));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_on_duty_falls_back_to_another_team() {
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, KEY);
    h.fake.add_team("fallback-team-secret");
    h.fake.set_delivery(TEAM, Delivery::NobodyOnDuty);
    let cfg = with_api_key(h.config(), Duration::from_secs(30)).tenant(|t| {
        t.signl4.fallback = Some("team".into());
        t.signl4.fallback_team_secret = Some("fallback-team-secret".into());
    });
    let app = h.start(&cfg).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("94"));
    wait_for("the other team is paged", T, async || {
        h.fake.pages_by_external_id("fallback-team-secret").contains_key(&ext(&a))
    })
    .await;
    let body = &h.fake.received("fallback-team-secret")[0].body;
    assert!(body["Title"].as_str().unwrap().starts_with("[not delivered: nobody_on_duty] "), "{body}");
    assert!(body.get("__s4s_fallback_team").is_none(), "internal marker sent: {body}");
    assert_eq!(h.pages().get(&ext(&a)).copied(), Some(1), "the first team is not paged again");
    app.stop().await;
}
