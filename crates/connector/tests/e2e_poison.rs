//! Poison isolation end to end: one Graph page holding hostile alerts —
//! a non-ASCII MITRE technique against a `mitre` route (it panicked the poll cycle at every
//! poll), a 1 MB title with 10,000 evidence items, control characters, JSON nulls where
//! objects are expected, wrongly typed fields — next to normal alerts. The normal alerts page
//! once, an alert created afterwards pages within one poll and a few seconds, every hostile
//! alert is paged or quarantined and never paged twice, and no poll cycle fails.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use s4s_fakecloud::scenarios;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);
const MITRE_TEAM: &str = "mitre-team-secret";
const OPS_TEAM: &str = "ops-team-secret-7c1d";

/// A tenant whose first route matches MITRE technique T1003 (and its sub-techniques).
fn mitre_routed(h: &Harness) -> ConfigBuilder {
    h.config().tenant(|t| {
        t.routes = vec![
            toml::Table::try_from(json!({"name": "mitre", "team_secret": MITRE_TEAM, "match": {"mitre": ["T1003"]}}))
                .expect("a route table"),
        ];
    })
}

/// The hostile alerts of the page, by what makes each hostile.
fn hostile() -> Vec<(&'static str, Value)> {
    let mut poison = scenarios::mde_malware("p1");
    // "T100é": byte 5 is inside the "é"; `T1003` is 5 bytes long.
    poison["mitreTechniques"] = json!(["T100é", "t100É.001", "T1003\u{301}"]);
    let mut huge = scenarios::mde_malware("p2");
    huge["title"] = json!("é".repeat(512 * 1024));
    huge["description"] = json!("x".repeat(1024 * 1024));
    huge["evidence"] = Value::Array(
        (0..10_000)
            .map(|i| {
                json!({"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": format!("ws-{i}"),
                "mdeDeviceId": format!("d{i}")})
            })
            .collect(),
    );
    huge["mitreTechniques"] = Value::Array((0..10_000).map(|i| json!(format!("T{i}é"))).collect());
    let mut control = scenarios::mde_malware("p3");
    control["title"] = json!("ok\u{0}\u{7}\u{1b}[31m\r\nlevel=error msg=\"forged\"\u{2028}\u{202e}");
    control["mitreTechniques"] = json!(["\u{0}T1003", "T1003\n", "\u{feff}"]);
    let mut nulls = scenarios::mde_malware("p4");
    for k in ["evidence", "comments", "mitreTechniques", "title", "alertWebUrl", "incidentId", "systemTags"] {
        nulls[k] = Value::Null;
    }
    let mut null_items = scenarios::mde_malware("p5");
    null_items["evidence"] = json!([null, {"@odata.type": null}, {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": null}]);
    null_items["mitreTechniques"] = json!([null, 1, {"id": "T1003"}]);
    let mut typed = scenarios::mde_malware("p6");
    typed["severity"] = json!(5);
    typed["mitreTechniques"] = json!("T1");
    typed["title"] = json!(42);
    typed["evidence"] = json!({"deviceDnsName": "ws-1"});
    typed["status"] = json!(["new"]);
    typed["incidentId"] = json!(7);
    vec![
        ("non-ASCII technique", poison),
        ("1 MB title, 10,000 evidence items", huge),
        ("control characters", control),
        ("nulls", nulls),
        ("null items", null_items),
        ("wrong types", typed),
    ]
}

/// Pages per external id on both teams.
fn all_pages(h: &Harness) -> BTreeMap<String, usize> {
    let mut all = h.pages();
    for (k, n) in h.fake.pages_by_external_id(MITRE_TEAM) {
        *all.entry(k).or_default() += n;
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_alerts_neither_stall_the_tenant_nor_page_twice() {
    let h = Harness::new().await;
    h.fake.add_team(MITRE_TEAM);
    let (names, hostile): (Vec<&str>, Vec<Value>) = hostile().into_iter().unzip();
    // One Graph page: the hostile alerts between normal ones.
    let mut page = vec![scenarios::mde_malware("n1")];
    page.extend(hostile);
    page.push(scenarios::mdo_phishing("n2"));
    let added = h.fake.add_alerts(TENANT, page);
    let (normal_before, hostile) = {
        let mut normal = vec![added[0].clone(), added[added.len() - 1].clone()];
        normal.sort_by_key(ext);
        (normal, added[1..added.len() - 1].to_vec())
    };
    let app = h.start(&mitre_routed(&h)).await;

    wait_for("the normal alerts of the page are paged", T, async || {
        let p = all_pages(&h);
        normal_before.iter().all(|a| p.contains_key(&ext(a)))
    })
    .await;
    // The next normal alert pages within one poll and a few seconds.
    let next = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("n3"));
    wait_for(
        "the alert created afterwards is paged",
        Duration::from_millis(250) + Duration::from_secs(5),
        async || all_pages(&h).contains_key(&ext(&next)),
    )
    .await;
    // Every hostile alert is paged or quarantined.
    wait_for("every hostile alert is paged or quarantined", T, async || {
        let p = all_pages(&h);
        let q = app.store.quarantined(100).await.unwrap_or_default();
        hostile
            .iter()
            .all(|a| p.contains_key(&ext(a)) || q.iter().any(|x| Some(x.item_id.as_str()) == a["id"].as_str()))
    })
    .await;
    // Several more polls (the overlap re-read sees the hostile page again): nothing twice.
    h.polls(4).await;
    let p = all_pages(&h);
    for a in normal_before.iter().chain([&next]) {
        assert_eq!(p.get(&ext(a)), Some(&1), "normal alert {} paged once: {p:?}", a["id"]);
    }
    let quarantined = app.store.quarantined(100).await.expect("quarantine listing");
    for (name, a) in names.iter().zip(&hostile) {
        let paged = p.get(&ext(a)).copied().unwrap_or(0);
        let q = quarantined.iter().filter(|x| Some(x.item_id.as_str()) == a["id"].as_str()).count();
        assert!(paged + q == 1, "hostile alert ({name}) paged {paged} times and quarantined {q} times: {p:?}");
    }
    // The poison alert is not MITRE T1003: it went to the tenant's own team.
    assert_eq!(h.pages().get(&ext(&hostile[0])), Some(&1), "the non-ASCII technique pages on the default route");
    // No poll cycle failed (a panic is reported as a failed cycle).
    let status = app.tenants[0].status();
    assert_eq!(status.last_poll_error, None, "no poll cycle failed");
    assert_eq!(status.consecutive_poll_failures, 0);
    app.stop().await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// An alert an older version quarantined (the routing panic) is listed and shown by `jobs`
/// (reason, raw JSON, redacted), and `jobs retry quarantine:<id>` after the upgrade pages it
/// once and releases it; an item that still fails stays quarantined with one more attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_show_and_retry_quarantined_items() {
    use s4s_core::records::QuarantineItem;
    use signl4_sentinel::ops;

    let h = Harness::new().await;
    h.fake.add_team(MITRE_TEAM);
    h.fake.add_team(OPS_TEAM);
    let webhook = format!("{}/signl4/webhook", h.fake.url());
    let cfg =
        mitre_routed(&h).ops([("team_secret", OPS_TEAM), ("webhook", webhook.as_str()), ("check_interval", "200ms")]);
    let app = h.start(&cfg).await;
    let config = cfg.build();
    let redactor = s4s_core::redact::Redactor::from_config(&config);
    let tenant = config.tenants[0].name.clone();
    // As the version with the routing bug left it: quarantined, never stored or paged.
    let mut raw = scenarios::mde_malware("q1");
    raw["id"] = json!("da-quarantined-1");
    raw["lastUpdateDateTime"] = json!("2026-01-01T10:00:00Z");
    raw["mitreTechniques"] = json!(["T100é"]);
    raw["description"] = json!(format!("echoed secret {TEAM}"));
    let still_bad = json!({"id": "da-still-bad", "lastUpdateDateTime": "not a time", "title": "x"});
    let reason = "internal error (panic): byte index 5 is not a char boundary; it is inside 'é'";
    let items = [
        QuarantineItem::new(&tenant, "graph-alert", "da-quarantined-1", &raw, reason),
        QuarantineItem::new(&tenant, "graph-alert", "da-still-bad", &still_bad, "no valid lastUpdateDateTime"),
    ];
    assert_eq!(app.store.quarantine(&items, None, now_ms()).await.expect("quarantine"), 2);
    let listed = app.store.quarantined(10).await.expect("listing");
    let id_of = |item: &str| listed.iter().find(|q| q.item_id == item).map(|q| q.id).expect("listed");
    let (poison, bad) = (id_of("da-quarantined-1"), id_of("da-still-bad"));

    let list = ops::list(&*app.store, &redactor, false).await.expect("jobs");
    assert!(list.contains("quarantined: 2"), "{list}");
    assert!(list.contains(&format!("quarantine:{poison} {tenant} graph-alert da-quarantined-1 attempts=1")), "{list}");
    let shown = ops::show(&*app.store, &redactor, &format!("quarantine:{poison}"), false).await.expect("jobs show");
    assert!(shown.contains("not a char boundary") && shown.contains("T100é"), "reason and raw JSON: {shown}");
    assert!(!shown.contains(TEAM), "the raw JSON is redacted: {shown}");
    let as_json = ops::show(&*app.store, &redactor, &format!("quarantine:{poison}"), true).await.expect("--json");
    let v: Value = serde_json::from_str(&as_json).expect("one JSON object");
    assert_eq!(v["raw"]["mitreTechniques"][0], "T100é");
    assert!(ops::show(&*app.store, &redactor, "quarantine:999999", false).await.is_err(), "unknown item refused");
    assert!(ops::retry(&*app.store, "quarantine:abc").await.is_err(), "a bad id is refused");

    // The status page lists them (escaped, redacted): open on loopback without an admin token.
    let page = reqwest::get(format!("http://{}/", app.addr)).await.expect("status page").text().await.expect("body");
    assert!(page.contains("2 items quarantined"), "summary on the status page: {page}");
    assert!(page.contains(&format!("quarantine:{poison}")) && page.contains("da-quarantined-1"), "{page}");
    assert!(!page.contains(TEAM), "no secret on the status page");
    let ready: Value =
        reqwest::get(format!("http://{}/readyz", app.addr)).await.expect("readyz").json().await.expect("JSON");
    assert_eq!(ready["quarantined"][tenant.as_str()], 2, "/readyz counts them: {ready}");

    // Self-monitoring raises "items quarantined" for the tenant, once.
    let ops_page = format!("s4s-ops:quarantine:{tenant}");
    let ops_pages = || {
        h.fake
            .received(OPS_TEAM)
            .into_iter()
            .filter(|e| e.status == "new" && e.external_id.as_deref() == Some(&ops_page))
            .count()
    };
    wait_for("the ops team is paged about the quarantine", T, async || ops_pages() == 1).await;

    // After the upgrade: re-run, paged once (the technique is not T1003: the default route).
    for id in [poison, bad] {
        let said = ops::retry(&*app.store, &format!("quarantine:{id}")).await.expect("jobs retry");
        assert!(said.contains("re-run"), "{said}");
    }
    let ext_id = s4s_core::ids::external_id(&tenant, "graph-alert", "da-quarantined-1");
    wait_for("the re-run alert pages", T, async || h.pages().get(&ext_id) == Some(&1)).await;
    wait_for("both re-runs are done", T, async || {
        let l = app.store.quarantined(10).await.unwrap_or_default();
        l.len() == 1 && !l[0].retry
    })
    .await;
    let left = app.store.quarantined(10).await.expect("listing");
    assert_eq!((left[0].id, left[0].attempts), (bad, 2), "still failing: stays, one more attempt");
    // Nothing pages twice, and the released item does not come back.
    h.polls(3).await;
    assert_eq!(h.pages().get(&ext_id), Some(&1));
    assert!(app.store.get_quarantined(poison).await.expect("lookup").is_none());
    assert_eq!(ops_pages(), 1, "one item is left: the condition stays raised, paged once");
    app.stop().await;
}

/// A SIGNL4 acknowledgement an older version quarantined (its recording panicked; the
/// webhook answered 200, so SIGNL4 does not send it again) is re-run by `jobs retry
/// quarantine:<id>`: the tenant's poller records it through the normal path, the Graph alert
/// is acknowledged once, and a second retry of the same change has no second effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_webhook_event_is_recorded_once_when_re_run() {
    use s4s_core::records::QuarantineItem;
    use signl4_sentinel::ops;
    use signl4_sentinel::sources::events::SOURCE_SIGNL4_WEBHOOK;

    let h = Harness::new().await;
    let cfg = h.config();
    let app = h.start(&cfg).await;
    let tenant = cfg.build().tenants[0].name.clone();
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("w1"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let ack = json!({"eventType": 201, "id": "ev-quarantined-1", "user": {"mailaddress": "kim@signl4.com"},
        "alert": {"statusCode": 2, "externalEventId": ext(&a)}});
    let reason = "internal error (panic): index out of bounds";
    let q = QuarantineItem::new(&tenant, SOURCE_SIGNL4_WEBHOOK, "ev-quarantined-1", &ack, reason);
    assert_eq!(app.store.quarantine(std::slice::from_ref(&q), None, now_ms()).await.expect("quarantine"), 1);
    let id = app.store.quarantined(10).await.expect("listing")[0].id;
    ops::retry(&*app.store, &format!("quarantine:{id}")).await.expect("jobs retry");
    let graph_status = || h.fake.alert(TENANT, a["id"].as_str().unwrap_or_default()).map(|v| v["status"].clone());
    wait_for("the acknowledgement reaches Graph", T, async || graph_status() == Some(json!("inProgress"))).await;
    wait_for("released", T, async || app.store.get_quarantined(id).await.ok().flatten().is_none()).await;
    // The same change quarantined and re-run again (a second copy): deduplicated, no effect.
    app.store.quarantine(&[q], None, now_ms()).await.expect("quarantine again");
    let again = app.store.quarantined(10).await.expect("listing")[0].id;
    ops::retry(&*app.store, &format!("quarantine:{again}")).await.expect("jobs retry");
    wait_for("released again", T, async || app.store.get_quarantined(again).await.ok().flatten().is_none()).await;
    let effects = app
        .store
        .list_jobs(s4s_store::JobState::Done, 100)
        .await
        .expect("jobs")
        .into_iter()
        .chain(app.store.list_jobs(s4s_store::JobState::Pending, 100).await.expect("jobs"))
        .filter(|j| j.kind == "graph-sync")
        .count();
    assert_eq!(effects, 1, "one write-back for one change");
    app.stop().await;
}
