//! End to end at the real API limits: the fake cloud throttles like the services
//! (`microsoft-apis.md` §2.8: Graph 150 requests per minute per app and tenant with fractional
//! `Retry-After`; `signl4.md` §1.7: SIGNL4 150 per 15 s / 600 per minute, blocking the sender
//! for the whole window when exceeded), and the connector's request scheduler must keep every
//! promise within them.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use s4s_fakecloud::{Action, Api, Fault, FaultKind, Responder, Service, scenarios};
use serde_json::{Value, json};

/// Requests that may arrive after a 429 was answered: they were already on the wire (the
/// client cannot know of the 429 before it reads it).
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(250);

/// `tenant`'s requests to `api` that arrived after a 429 (plus the in-flight grace) and before
/// the time that 429 asked to wait for.
fn sent_while_told_to_wait(h: &Harness, api: Api, tenant: &str) -> Vec<String> {
    let log = h.fake.request_log(api);
    let mine: Vec<_> = log.iter().filter(|r| r.tenant.as_deref() == Some(tenant)).collect();
    let waits: Vec<_> = mine
        .iter()
        .filter(|r| r.status == 429)
        .filter_map(|r| r.retry_at.map(|until| (r.answered + IN_FLIGHT_GRACE, until)))
        .collect();
    mine.iter()
        .filter(|r| waits.iter().any(|(from, until)| r.at > *from && r.at < *until))
        .map(|r| format!("{} {} at {:?}", r.method, r.path, r.at))
        .collect()
}

fn alert(h: &Harness, a: &Value) -> Value {
    h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap()
}

/// Each alert in its own incident (the storm shape that drew 1,000 incident-tag updates).
fn own_incident(i: u64) -> Value {
    let mut a = scenarios::synthetic(i);
    a["incidentId"] = json!(format!("{}", 50_000 + i));
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_429_holds_every_request_of_the_tenant_until_its_retry_after() {
    let h = Harness::new().await;
    // Graph throttled hard for this tenant, plus injected 429s with a fractional Retry-After.
    h.fake.update_limits(|l| *l = l.clone().with_graph_for(TENANT, 4, Duration::from_secs(10)));
    h.fake.inject(Fault { service: Service::Graph, kind: FaultKind::Throttle { retry_after_secs: 2.128 }, count: 3 });
    // The connector's own budget is set far above: only the servers' 429s hold it here.
    let cfg =
        h.config().poll_interval(Duration::from_secs(1)).tenant(|t| t.limits.graph_requests_per_minute = Some(10_000));
    let app = h.start_connected(&cfg, 0.0, None).await;

    let mut alerts = h.fake.add_alerts(TENANT, (0..25).map(scenarios::synthetic));
    let mut acked = BTreeSet::new();
    let mut second_wave = false;
    // Responders acknowledge each alert as it is paged, while the second wave arrives.
    wait_for("50 alerts paged and acknowledged in SIGNL4", Duration::from_secs(120), async || {
        for a in &alerts {
            let ext = ext(a);
            if h.pages().contains_key(&ext) && acked.insert(ext.clone()) {
                h.fake.signl4_action(TEAM, &ext, Action::Acknowledge(Some(Responder::default()))).await;
            }
        }
        if !second_wave && acked.len() >= 10 {
            second_wave = true;
            alerts.extend(h.fake.add_alerts(TENANT, (25..50).map(scenarios::synthetic)));
        }
        acked.len() == 50
    })
    .await;
    assert!(
        h.fake.throttled_count(Api::Graph) >= 5,
        "the scenario must throttle: {}",
        h.fake.throttled_count(Api::Graph)
    );
    // The throttling episode ends; every write-back must still arrive.
    h.fake.update_limits(|l| l.graph_tenants.clear());
    wait_for("every acknowledgement written back", Duration::from_secs(120), async || {
        alerts.iter().all(|a| alert(&h, a)["status"] == "inProgress")
    })
    .await;
    for a in &alerts {
        assert_eq!(alert(&h, a)["assignedTo"], "rene@signl4.com", "alert {}", a["id"]);
    }
    assert_paged_exactly_once(&h, &alerts);
    let early = sent_while_told_to_wait(&h, Api::Graph, TENANT);
    assert!(
        early.is_empty(),
        "{} Graph request(s) between a 429 and its Retry-After:\n{}",
        early.len(),
        early.join("\n")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_tenant_does_not_delay_another() {
    let h = Harness::new().await;
    let other_tenant = "72f988bf-0000-4000-8000-0000000000f2";
    let other_team = "fabrikam-team-secret";
    h.fake.add_tenant(other_tenant, "fabrikam-app", "fabrikam-client-secret");
    h.fake.add_team(other_team);
    // contoso: 2 Graph requests per minute, far too few for its work; fabrikam: documented.
    h.fake.update_limits(|l| *l = l.clone().with_graph_for(TENANT, 2, Duration::from_secs(60)));
    let mut fabrikam = TenantSpec::example(&h.fake.url());
    fabrikam.name = "fabrikam".into();
    fabrikam.tenant_id = other_tenant.into();
    fabrikam.client_id = "fabrikam-app".into();
    fabrikam.client_secret = "fabrikam-client-secret".into();
    fabrikam.signl4.team_secret = other_team.into();
    fabrikam.signl4.inbound_token = Some("fabrikam-inbound-token-0123456789".into());
    fabrikam.sentinel.clear();
    let mut cfg = h.config().poll_interval(Duration::from_secs(1));
    cfg.tenants.push(fabrikam);
    cfg = cfg.poll_interval(Duration::from_secs(1));
    let app = h.start(&cfg).await;
    // contoso is busy and throttled: a backlog and more.
    h.fake.add_alerts(TENANT, (0..40).map(scenarios::synthetic));
    // One 429 is enough: after it the connector holds every contoso request until its Retry-After.
    wait_for("contoso throttled", Duration::from_secs(30), async || h.fake.throttled_count(Api::Graph) >= 1).await;
    // fabrikam's alerts page within a poll or two, as if contoso did not exist.
    let started = std::time::Instant::now();
    let theirs = h.fake.add_alerts(other_tenant, (100..105).map(scenarios::synthetic));
    let fab_ext = |a: &Value| s4s_core::ids::external_id("fabrikam", "graph-alert", a["id"].as_str().unwrap());
    wait_for("fabrikam paged within 5 s", Duration::from_secs(5), async || {
        let pages = h.fake.pages_by_external_id(other_team);
        theirs.iter().all(|a| pages.contains_key(&fab_ext(a)))
    })
    .await;
    eprintln!("fabrikam paged in {:?} while contoso was throttled", started.elapsed());
    assert!(
        app.tenants[0].sched.graph.held(),
        "contoso must still be held off by Graph for this test to mean anything"
    );
    assert!(!app.tenants[1].sched.graph.held());
    eprintln!("stopping at {:?}", started.elapsed());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_visible_late_behind_the_cursor_page_within_seconds() {
    let h = Harness::new().await;
    // Overlap re-read far away: only the late window can find these alerts.
    let cfg =
        h.config().poll_interval(Duration::from_secs(1)).tenant(|t| t.overlap_interval = Duration::from_secs(3600));
    let app = h.start(&cfg).await;
    for (n, (id, behind)) in [("901", 5), ("902", 25)].into_iter().enumerate() {
        // A current alert moves the cursor to about now (alerts keep arriving in real tenants).
        let current = h.fake.add_alert(TENANT, scenarios::mde_malware(&format!("90{}", n + 5)));
        wait_for("current alert paged", Duration::from_secs(10), async || h.pages().contains_key(&ext(&current))).await;
        let cursor = s4s_core::timefmt::parse(current["lastUpdateDateTime"].as_str().unwrap()).unwrap();
        let mut late = scenarios::entra_risky_signin(id);
        let at = s4s_core::timefmt::odata(cursor - time::Duration::seconds(behind));
        late["createdDateTime"] = json!(at);
        late["lastUpdateDateTime"] = json!(at);
        let late = h.fake.add_alert(TENANT, late);
        // One poll (1 s) + 5 s.
        wait_for(&format!("alert {behind} s behind the cursor paged"), Duration::from_secs(6), async || {
            h.pages().contains_key(&ext(&late))
        })
        .await;
    }
    assert_eq!(h.pages().values().sum::<usize>(), 4, "each alert once");
    app.stop().await;
}

/// 1,000 alerts in 1,000 incidents at the documented limits (Graph 150/min, SIGNL4 commercial):
/// every alert paged once, SIGNL4 never answers 429, Graph never sees more than 150 requests in
/// any minute, and the one replica keeps its polling lease throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1000_alert_storm_at_the_documented_limits_pages_everything_once() {
    let h = Harness::new().await;
    let alerts = h.fake.add_alerts(TENANT, (0..1000).map(own_incident));
    let app = h.start(&h.config().poll_interval(Duration::from_secs(10))).await;
    let mut standby_seen = false;
    wait_for_every("1,000 paged", Duration::from_secs(240), Duration::from_millis(500), async || {
        standby_seen |= app.tenants[0].status().standby;
        h.pages().len() == 1000
    })
    .await;
    assert_paged_exactly_once(&h, &alerts);
    assert_eq!(h.fake.throttled_count(Api::Signl4Webhook), 0, "SIGNL4 answered 429: pacing failed");
    let max = h.fake.max_in_window(Api::Graph, TENANT, Duration::from_secs(60));
    assert!(max <= 150, "{max} Graph requests in one minute");
    assert!(!standby_seen, "the only replica lost its polling lease");
    app.stop().await;
}

/// The same storm with three replicas on PostgreSQL: the budget is shared, not tripled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_budget_during_a_1000_alert_storm() {
    let Some(pg) = postgres_schema_url().await else { return };
    let h = Harness::new().await;
    let alerts = h.fake.add_alerts(TENANT, (0..1000).map(own_incident));
    let cfg = h.config().poll_interval(Duration::from_secs(10)).postgres(&pg);
    let replicas = [h.start(&cfg).await, h.start(&cfg).await, h.start(&cfg).await];
    let mut holders = BTreeSet::new();
    wait_for_every("1,000 paged", Duration::from_secs(300), Duration::from_millis(500), async || {
        let active: Vec<usize> = (0..3).filter(|i| !replicas[*i].tenants[0].status().standby).collect();
        if active.len() == 1 {
            holders.insert(active[0]);
        }
        h.pages().len() == 1000
    })
    .await;
    assert_paged_exactly_once(&h, &alerts);
    assert_eq!(h.fake.throttled_count(Api::Signl4Webhook), 0, "SIGNL4 answered 429: replicas multiplied its budget");
    let max = h.fake.max_in_window(Api::Graph, TENANT, Duration::from_secs(60));
    assert!(max <= 150, "{max} Graph requests in one minute across replicas");
    assert_eq!(holders.len(), 1, "the polling lease changed hands while its holder lived: {holders:?}");
    for r in replicas {
        r.stop().await;
    }
}
