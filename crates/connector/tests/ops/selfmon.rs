//! Self-monitoring with the fake cloud: the connector pages the `[ops]` team about itself, one
//! SIGNL4 alert per condition, closed when the condition clears.

use std::time::Duration;

use crate::common::*;
use s4s_fakecloud::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault, FaultKind, Service, scenarios};

const T: Duration = Duration::from_secs(30);
const OPS_TEAM: &str = "ops-team-secret-5b2e";

fn with_ops(h: &Harness) -> ConfigBuilder {
    let webhook = format!("{}/signl4/webhook", h.fake.url());
    h.config().ops([("team_secret", OPS_TEAM), ("webhook", webhook.as_str()), ("check_interval", "200ms")])
}

/// `(status, external id)` of every event the ops team received.
fn ops_events(h: &Harness) -> Vec<(String, String)> {
    h.fake.received(OPS_TEAM).into_iter().map(|e| (e.status, e.external_id.unwrap_or_default())).collect()
}

/// The client secret rotated away: one ops page within a poll or two; restored: it is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_client_secret_pages_the_ops_team_once_and_recovery_closes_it() {
    let h = Harness::new().await;
    h.fake.add_team(OPS_TEAM);
    let app = h.start(&with_ops(&h)).await;
    h.polls(1).await;
    assert!(ops_events(&h).is_empty(), "a healthy connector pages nobody: {:?}", ops_events(&h));
    // Somebody rotates the secret in Entra ID; the cached token expires.
    h.fake.add_tenant(TENANT, DEFAULT_CLIENT_ID, "a-new-secret-the-connector-does-not-have");
    h.fake.expire_tokens();
    let ext = "s4s-ops:credentials:contoso";
    wait_for("ops page", T, async || ops_events(&h).iter().any(|(s, e)| s == "new" && e == ext)).await;
    let page = h.fake.received(OPS_TEAM).into_iter().find(|e| e.status == "new").unwrap();
    let title = page.body["Title"].as_str().unwrap_or_default().to_string();
    assert!(title.contains("Entra ID rejects the credentials of tenant contoso"), "{title}");
    let msg = page.body["Message"].as_str().unwrap_or_default();
    assert!(msg.contains("What to do:"), "{msg}");
    assert!(!msg.contains(DEFAULT_CLIENT_SECRET), "the secret is never paged");
    // Later checks (every 200 ms) while polls keep failing do not page again; /readyz shows it.
    let tries = h.requests("entra.token");
    wait_for("more failed polls", T, async || h.requests("entra.token") >= tries + 3).await;
    let ready: serde_json::Value =
        reqwest::get(format!("http://{}/readyz", app.addr)).await.unwrap().json().await.unwrap();
    assert!(ready["conditions"].as_array().unwrap().iter().any(|c| c["condition"] == "credentials:contoso"), "{ready}");
    // The secret is restored: the condition clears and its SIGNL4 alert is closed.
    h.fake.add_tenant(TENANT, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET);
    wait_for("ops page closed", T, async || ops_events(&h).iter().any(|(s, e)| s == "resolved" && e == ext)).await;
    let events = ops_events(&h);
    assert_eq!(events.iter().filter(|(s, e)| s == "new" && e == ext).count(), 1, "one page: {events:?}");
    app.stop().await;
}

/// Three pages dead-lettered → one ops page, not one per job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_page_the_ops_team_once() {
    let h = Harness::new().await;
    h.fake.add_team(OPS_TEAM);
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Status { status: 400 }, count: 3 });
    h.fake.add_alerts(
        TENANT,
        [scenarios::mde_malware("1"), scenarios::entra_risky_signin("2"), scenarios::mde_malware("3")],
    );
    let app = h.start(&with_ops(&h)).await;
    wait_for("three dead letters", T, async || app.store.job_counts().await.unwrap().dead == 3).await;
    let ext = "s4s-ops:dead-letters";
    wait_for("ops page", T, async || ops_events(&h).iter().any(|(s, e)| s == "new" && e == ext)).await;
    // Later checks (every 200 ms, several per poll) change nothing.
    h.polls(3).await;
    let events = ops_events(&h);
    assert_eq!(events, [("new".to_string(), ext.to_string())], "one page for all three: {events:?}");
    app.stop().await;
}
