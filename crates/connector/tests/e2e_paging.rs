//! End to end over real HTTP: the connector (in-process) against the fake cloud on loopback,
//! with real SQLite files.

mod common;

use std::time::Duration;

use common::*;
use s4s_fakecloud::{Fault, FaultKind, Service, scenarios};
use serde_json::{Value, json};
use signl4_sentinel::app::App;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_across_many_graph_pages_is_paged_exactly_once() {
    let h = Harness::new().await;
    let alerts = h.fake.add_alerts(TENANT, (0..260).map(scenarios::synthetic));
    let app = h.start(&h.config().tenant(|t| t.page_size = Some(50))).await;
    // SIGNL4 accepts 150 events per 15 s; at the default 80 % share 260 pages take ~30 s.
    wait_for("all 260 paged", Duration::from_secs(60), async || h.pages().len() == 260).await;
    h.polls(2).await;
    assert_paged_exactly_once(&h, &alerts);
    // 260 alerts at 50 per page: the first sweep followed nextLink across 6 pages.
    assert!(h.graph_lists() >= 6, "lists: {}", h.graph_lists());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_reads_the_lookback_window_only() {
    let h = Harness::new().await;
    let old = time::OffsetDateTime::now_utc() - time::Duration::hours(25);
    let recent = time::OffsetDateTime::now_utc() - time::Duration::hours(23);
    let fmt = |t| s4s_core::timefmt::odata(t);
    let mut a_old = scenarios::mde_malware("1");
    a_old["createdDateTime"] = json!(fmt(old));
    a_old["lastUpdateDateTime"] = json!(fmt(old));
    let mut a_recent = scenarios::entra_risky_signin("2");
    a_recent["createdDateTime"] = json!(fmt(recent));
    a_recent["lastUpdateDateTime"] = json!(fmt(recent));
    let a_old = h.fake.add_alert(TENANT, a_old);
    let a_recent = h.fake.add_alert(TENANT, a_recent);
    let app = h.start(&h.config()).await;
    wait_for("recent alert paged", T, async || h.pages().contains_key(&ext(&a_recent))).await;
    h.polls(2).await;
    assert!(!h.pages().contains_key(&ext(&a_old)), "an alert older than the 24 h lookback was paged");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_mid_backlog_pages_the_rest_once() {
    let h = Harness::new().await;
    let alerts = h.fake.add_alerts(TENANT, (0..120).map(scenarios::synthetic));
    // Slow SIGNL4 so the first run stops part-way.
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Latency { ms: 30 }, count: 120 });
    let cfg = h.config().concurrency(2);
    let app = h.start(&cfg).await;
    wait_for("some pages", T, async || h.pages().len() >= 20).await;
    app.stop().await;
    let before = h.pages().len();
    assert!(before < 120, "the first run should have stopped part-way ({before})");
    h.fake.clear_faults();
    let app = h.start(&cfg).await;
    wait_for("all 120 paged", T, async || h.pages().len() == 120).await;
    h.polls(2).await;
    assert_paged_exactly_once(&h, &alerts);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storms_of_429_from_graph_and_signl4_are_ridden_out() {
    let h = Harness::new().await;
    // Graph's real limit (150 requests/min per app and tenant), plus bursts of 429.
    h.fake.configure(|s| {
        s.graph_requests_per_minute = 150;
        s.signl4_events_per_15s = 20;
        s.signl4_events_per_minute = 600;
    });
    h.fake.inject(Fault { service: Service::Graph, kind: FaultKind::Throttle { retry_after_secs: 0.3 }, count: 4 });
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Throttle { retry_after_secs: 0.2 }, count: 10 });
    let alerts = h.fake.add_alerts(TENANT, (0..30).map(scenarios::synthetic));
    // A realistic poll interval: at 250 ms the polls alone would exceed 150 requests/min.
    let app = h.start(&h.config().poll_interval(Duration::from_secs(2))).await;
    // 30 pages at 20 per 15 s: SIGNL4 blocks the rest for 15 s (X-RateLimit-Reset).
    wait_for("all 30 paged", Duration::from_secs(60), async || h.pages().len() == 30).await;
    assert_paged_exactly_once(&h, &alerts);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_dropped_connections_are_retried() {
    let h = Harness::new().await;
    for (svc, kind, n) in [
        (Service::Graph, FaultKind::Status { status: 503 }, 2),
        (Service::Graph, FaultKind::Drop, 2),
        (Service::Entra, FaultKind::Status { status: 500 }, 1),
        (Service::Signl4, FaultKind::Status { status: 502 }, 4),
        (Service::Signl4, FaultKind::Drop, 3),
    ] {
        h.fake.inject(Fault { service: svc, kind, count: n });
    }
    let alerts = h.fake.add_alerts(TENANT, (0..10).map(scenarios::synthetic));
    let app = h.start(&h.config()).await;
    wait_for("all 10 paged", T, async || h.pages().len() == 10).await;
    h.polls(2).await;
    // A dropped response after SIGNL4 accepted could page twice; our fault drops the answer
    // *instead of* processing, so exactly once is required here.
    assert_paged_exactly_once(&h, &alerts);
    let done = app.store.list_jobs(s4s_store::JobState::Done, 1000).await.unwrap();
    assert_eq!(done.iter().filter(|j| j.kind == "page").count(), 10);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_transparently() {
    let h = Harness::new().await;
    let a1 = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let app = h.start(&h.config()).await;
    wait_for("first page", T, async || h.pages().contains_key(&ext(&a1))).await;
    let tokens_before = h.fake.requests().get("entra.token").copied().unwrap_or(0);
    h.fake.expire_tokens();
    let a2 = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    wait_for("page after token expiry", T, async || h.pages().contains_key(&ext(&a2))).await;
    h.polls(2).await;
    let tokens_after = h.fake.requests().get("entra.token").copied().unwrap_or(0);
    // At most one refresh per resource in use (Graph, ARM, Log Analytics), however many
    // requests ran meanwhile.
    let refreshes = tokens_after - tokens_before;
    assert!((1..=3).contains(&refreshes), "{refreshes} token requests after expiry");
    assert_paged_exactly_once(&h, &[a1, a2]);
    app.stop().await;
}

async fn readyz(app: &App) -> (u16, Value) {
    let r = reqwest::get(format!("http://{}/readyz", app.addr)).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_team_secret_is_reported_once_and_not_hammered() {
    let h = Harness::new().await;
    let first = h.fake.add_alerts(TENANT, (0..5).map(scenarios::synthetic));
    let bad = h.config().tenant(|t| t.signl4.team_secret = "typo-secret".into());
    let app = h.start(&bad).await;
    wait_for("readyz reports the rejection", T, async || {
        readyz(&app).await.1["tenants"]["contoso"]["status"]["signl4_rejected"].is_string()
    })
    .await;
    let (status, body) = readyz(&app).await;
    // Readiness is the process's (server.strict_readiness off): the body names the tenant.
    assert_eq!((status, &body["tenants_unhealthy"]), (200, &serde_json::json!(["contoso"])), "{body}");
    assert!(!body.to_string().contains("typo-secret"), "the secret leaked into /readyz: {body}");
    let hits = h.fake.requests().get("signl4.webhook").copied().unwrap_or(0);
    // At most the requests already in flight when the first 404 came back.
    assert!((1..=5).contains(&hits), "{hits} requests");
    let more = h.fake.add_alerts(TENANT, (5..10).map(scenarios::synthetic));
    h.polls(3).await;
    wait_for("new pages parked", T, async || app.store.job_counts().await.unwrap().paused == 10).await;
    let later = h.fake.requests().get("signl4.webhook").copied().unwrap_or(0);
    assert_eq!(later, hits, "SIGNL4 was hammered after it rejected the secret");
    assert!(h.pages().is_empty());
    app.stop().await;

    // The operator fixes the secret and restarts: everything is paged once.
    let app = h.start(&h.config()).await;
    wait_for("all 10 paged after the fix", T, async || h.pages().len() == 10).await;
    assert_paged_exactly_once(&h, &[first, more].concat());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_explained_without_leaking_it() {
    let h = Harness::new().await;
    h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let app = h.start(&h.config().tenant(|t| t.client_secret = "not-the-secret".into())).await;
    wait_for("poll error visible", T, async || {
        readyz(&app).await.1["tenants"]["contoso"]["status"]["last_poll_error"].is_string()
    })
    .await;
    let (_, body) = readyz(&app).await;
    let err = body["tenants"]["contoso"]["status"]["last_poll_error"].as_str().unwrap().to_string();
    assert!(err.contains("client secret is wrong"), "{err}");
    assert!(err.contains("AADSTS7000215"), "{err}");
    assert!(!body.to_string().contains("not-the-secret"));
    assert!(h.pages().is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_graph_permission_says_which_one() {
    let h = Harness::new().await;
    h.fake.set_roles(TENANT, s4s_fakecloud::DEFAULT_CLIENT_ID, &[]);
    let app = h.start(&h.config()).await;
    wait_for("poll error visible", T, async || {
        readyz(&app).await.1["tenants"]["contoso"]["status"]["last_poll_error"].is_string()
    })
    .await;
    let err = readyz(&app).await.1["tenants"]["contoso"]["status"]["last_poll_error"].as_str().unwrap().to_string();
    assert!(
        err.contains("HTTP 403") && err.contains("SecurityAlert.ReadWrite.All") && err.contains("admin consent"),
        "{err}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_enum_values_and_fields_still_page_with_raw_json_kept() {
    let h = Harness::new().await;
    let a = h.fake.add_alert(
        TENANT,
        json!({"title": "Prompt injection attempt", "severity": "severe", "status": "awaitingAction",
               "serviceSource": "microsoftSecurityForAI", "detectionSource": "somethingBrandNew",
               "newField": {"nested": [1, 2, 3]}, "evidence": [{"@odata.type": "#microsoft.graph.security.aiAgentEvidence", "name": "bot"}]}),
    );
    let app = h.start(&h.config()).await;
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let ev = h.fake.received(TEAM).into_iter().find(|e| e.external_id.as_deref() == Some(ext(&a).as_str())).unwrap();
    assert_eq!(ev.body["Title"], "[severe] Prompt injection attempt");
    // The Prefer header made Graph return the evolvable member instead of unknownFutureValue.
    assert_eq!(ev.body["Product"], "Microsoft Security for AI");
    let stored = app.store.get_alert("contoso", "graph-alert", a["id"].as_str().unwrap()).await.unwrap().unwrap();
    let raw: Value = serde_json::from_str(&stored.record.raw).unwrap();
    assert_eq!(raw["newField"], json!({"nested": [1, 2, 3]}));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_alerts_never_page_again_but_raised_ones_page_once() {
    let h = Harness::new().await;
    let paged = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let low = h.fake.add_alert(TENANT, json!({"title": "Low at first", "severity": "low"}));
    let app = h.start(&h.config().tenant(|t| t.filter.min_severity = "medium".into())).await;
    wait_for("first page", T, async || h.pages().contains_key(&ext(&paged))).await;
    h.fake.update_alert(TENANT, paged["id"].as_str().unwrap(), json!({"assignedTo": "someone@contoso.com"}));
    h.fake.update_alert(TENANT, low["id"].as_str().unwrap(), json!({"severity": "high"}));
    wait_for("raised alert paged", T, async || h.pages().contains_key(&ext(&low))).await;
    h.fake.update_alert(TENANT, low["id"].as_str().unwrap(), json!({"title": "Edited again"}));
    h.polls(3).await;
    assert_paged_exactly_once(&h, &[paged, low]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_rejections_and_expired_retries_go_to_dead_letters() {
    let h = Harness::new().await;
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Status { status: 400 }, count: 1 });
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let app = h.start(&h.config().delivery(|d| d.dead_letter_after = Duration::from_secs(2))).await;
    wait_for("400 → dead letter", T, async || app.store.job_counts().await.unwrap().dead == 1).await;
    assert!(h.pages().is_empty());
    let dead = app.store.list_jobs(s4s_store::JobState::Dead, 10).await.unwrap();
    assert!(dead[0].last_error.as_deref().unwrap().contains("HTTP 400"), "{:?}", dead[0].last_error);
    assert!(dead[0].key.ends_with(a["id"].as_str().unwrap()));

    // SIGNL4 keeps failing with 503 for longer than the 2 s horizon.
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Status { status: 503 }, count: 100_000 });
    h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    wait_for("503 past the horizon → dead letter", T, async || app.store.job_counts().await.unwrap().dead == 2).await;
    let dead = app.store.list_jobs(s4s_store::JobState::Dead, 10).await.unwrap();
    assert!(dead[1].last_error.as_deref().unwrap().starts_with("gave up after"), "{:?}", dead[1].last_error);
    assert!(dead[1].attempts > 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_endpoints() {
    let h = Harness::new().await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let app = h.start(&h.config()).await;
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let live = reqwest::get(format!("http://{}/healthz", app.addr)).await.unwrap();
    assert_eq!(live.status().as_u16(), 200);
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"]["backend"], "sqlite");
    let m = reqwest::get(format!("http://{}/metrics", app.addr)).await.unwrap().text().await.unwrap();
    assert!(m.contains("s4s_pages_sent_total"), "{m}");
    assert!(m.contains("s4s_jobs"), "{m}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_becomes_visible_late_is_caught_by_the_overlap_re_read() {
    let h = Harness::new().await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let app = h.start(&h.config().tenant(|t| t.overlap_interval = Duration::from_secs(1))).await;
    wait_for("first page", T, async || h.pages().contains_key(&ext(&a))).await;
    h.polls(2).await;
    // Graph indexes an alert late: its lastUpdateDateTime is older than the cursor.
    let late_ts =
        s4s_core::timefmt::parse(a["lastUpdateDateTime"].as_str().unwrap()).unwrap() - time::Duration::seconds(30);
    let mut late = scenarios::entra_risky_signin("2");
    late["createdDateTime"] = json!(s4s_core::timefmt::odata(late_ts));
    late["lastUpdateDateTime"] = json!(s4s_core::timefmt::odata(late_ts));
    let late = h.fake.add_alert(TENANT, late);
    wait_for("late alert paged", T, async || h.pages().contains_key(&ext(&late))).await;
    assert_paged_exactly_once(&h, &[a, late]);
    app.stop().await;
}

/// Two replicas sharing one PostgreSQL database page a burst: every alert exactly once.
/// Uses `S4S_TEST_POSTGRES_URL` like the storage conformance suite (skipped only with
/// `S4S_SKIP_POSTGRES=1`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_page_each_alert_once() {
    let Some(pg_url) = postgres_schema_url().await else { return };
    let h = Harness::new().await;
    let alerts = h.fake.add_alerts(TENANT, (0..200).map(scenarios::synthetic));
    let cfg = h.config().postgres(&pg_url);
    let a = h.start(&cfg).await;
    let b = h.start(&cfg).await;
    assert_eq!(a.store.backend(), "postgres");
    wait_for("all 200 paged", T, async || h.pages().len() == 200).await;
    h.polls(2).await;
    assert_paged_exactly_once(&h, &alerts);
    // Exactly one replica polls; the other stands by (polling lease).
    let (sa, sb) = (a.tenants[0].status().standby, b.tenants[0].status().standby);
    assert!(sa != sb, "standby flags: {sa} {sb}");
    a.stop().await;
    b.stop().await;
}
