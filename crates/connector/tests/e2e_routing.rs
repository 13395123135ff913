//! Routing end to end over real HTTP: several SIGNL4 teams (fake), `[[tenant.route]]` rules,
//! `continue`, the default route, a rule that matches nothing, and status changes reaching
//! every team an alert paged.

mod common;

use std::time::Duration;

use common::*;
use s4s_fakecloud::{Action, Outbound, Responder, scenarios};
use serde_json::{Value, json};
use signl4_sentinel::app::App;

const T: Duration = Duration::from_secs(30);
const ENDPOINT_TEAM: &str = "endpoint-team-secret";
const IDENTITY_TEAM: &str = "identity-team-secret";
const IDENTITY_TOKEN: &str = "identity-inbound-token-0123456789";

fn route(v: Value) -> toml::Table {
    toml::Table::try_from(v).expect("a route table")
}

/// High-severity endpoint alerts → the endpoint team; identity alerts → the identity team and
/// (continue) the SOC route on the tenant's own team; a rule that matches nothing; the rest →
/// the default route (the tenant's own team).
fn routed(h: &Harness) -> ConfigBuilder {
    h.config().tenant(|t| {
        t.routes = vec![
            route(
                json!({"name": "never", "team_secret": ENDPOINT_TEAM, "match": {"title": "^no alert is called this$"}}),
            ),
            route(json!({"name": "endpoint-high", "team_secret": ENDPOINT_TEAM, "service": "Endpoint",
                "match": {"min_severity": "high", "product": ["microsoftDefenderForEndpoint"]}})),
            route(json!({"name": "identity", "team_secret": IDENTITY_TEAM, "inbound_token": IDENTITY_TOKEN,
                "continue": true, "match": {"product": ["azureAdIdentityProtection"]}})),
            route(json!({"name": "soc", "match": {"title": "(?i)sign-in"}})),
        ];
    })
}

fn titles(h: &Harness, team: &str) -> Vec<String> {
    h.fake
        .received(team)
        .iter()
        .filter(|e| e.status == "new")
        .map(|e| e.body["Title"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_the_teams_their_routes_name() {
    let h = Harness::new().await;
    h.fake.add_team(ENDPOINT_TEAM);
    h.fake.add_team(IDENTITY_TEAM);
    let app = h.start(&routed(&h)).await;
    let mde = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let signin = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    let mut medium_mde = scenarios::mde_malware("3");
    medium_mde["severity"] = json!("medium");
    let medium_mde = h.fake.add_alert(TENANT, medium_mde);
    let mdo = h.fake.add_alert(TENANT, scenarios::mdo_phishing("4"));

    wait_for("every team paged", T, async || {
        h.fake.pages_by_external_id(ENDPOINT_TEAM).len() == 1
            && h.fake.pages_by_external_id(IDENTITY_TEAM).len() == 1
            && h.pages().len() == 3
    })
    .await;
    h.polls(2).await;
    let endpoint = h.fake.pages_by_external_id(ENDPOINT_TEAM);
    assert_eq!(endpoint.keys().collect::<Vec<_>>(), [&ext(&mde)], "high MDE alert → endpoint team only");
    let e = &h.fake.received(ENDPOINT_TEAM)[0];
    assert_eq!(e.body["X-S4-Service"], "Endpoint", "the route's category");
    assert!(e.body.get("__s4s_route").is_none(), "the route marker is not sent");
    assert_eq!(h.fake.pages_by_external_id(IDENTITY_TEAM).keys().collect::<Vec<_>>(), [&ext(&signin)]);
    // The tenant's own team: the sign-in (continue → soc), the medium MDE alert and the
    // phishing alert (no route → default); not the high MDE alert.
    let own = h.pages();
    for a in [&signin, &medium_mde, &mdo] {
        assert_eq!(own.get(&ext(a)), Some(&1), "{} on the tenant's own team: {own:?}", ext(a));
    }
    assert!(!own.contains_key(&ext(&mde)));
    assert!(titles(&h, ENDPOINT_TEAM)[0].contains("Mimikatz"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_in_one_team_closes_the_alert_everywhere_and_a_portal_resolve_reaches_every_team() {
    let h = Harness::new().await;
    h.fake.add_team(ENDPOINT_TEAM);
    h.fake.add_team(IDENTITY_TEAM);
    let app = h.start(&routed(&h)).await;
    // The identity team's outbound webhook calls the connector with the route's token.
    h.fake.set_outbound(
        IDENTITY_TEAM,
        Some(Outbound {
            url: format!("http://{}/signl4/{IDENTITY_TOKEN}", app.addr),
            responders: None,
            duplicate_probability: 0.0,
        }),
    );
    let signin = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    let mde = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    wait_for("paged", T, async || {
        h.pages().contains_key(&ext(&signin))
            && h.fake.pages_by_external_id(IDENTITY_TEAM).contains_key(&ext(&signin))
            && h.fake.pages_by_external_id(ENDPOINT_TEAM).contains_key(&ext(&mde))
    })
    .await;
    // Closed by the identity team: Graph resolved, and the copy on the tenant's own team closed.
    h.fake.signl4_action(IDENTITY_TEAM, &ext(&signin), Action::Close(Some(Responder::default()))).await.unwrap();
    let graph = |a: &Value| h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap();
    wait_for("resolved in Graph", T, async || graph(&signin)["status"] == "resolved").await;
    wait_for("closed in the other team", T, async || {
        h.fake.signl4_alerts(TEAM).get(&ext(&signin)).is_some_and(|a| a.status == "resolved")
    })
    .await;
    // Resolved in the portal: the endpoint team's alert closes (not the tenant's own team).
    h.fake.update_alert(TENANT, mde["id"].as_str().unwrap(), json!({"status": "resolved"}));
    wait_for("closed in the endpoint team", T, async || {
        h.fake.signl4_alerts(ENDPOINT_TEAM).get(&ext(&mde)).is_some_and(|a| a.status == "resolved")
    })
    .await;
    h.polls(2).await;
    let resolves_on_own_team =
        h.fake.received(TEAM).iter().filter(|e| e.status == "resolved" && e.external_id == Some(ext(&mde))).count();
    assert_eq!(resolves_on_own_team, 0, "the tenant's own team never had the MDE alert");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_route_is_refused_at_start_naming_the_rule() {
    let h = Harness::new().await;
    let cfg = h.config().tenant(|t| {
        t.routes = vec![route(json!({"name": "bad", "team_secret": "x", "match": {"title": "(unclosed"}}))];
    });
    let e = cfg.try_build().unwrap_err();
    assert_eq!(e.key, "tenant[0].route[0].match.title");
    assert!(e.to_string().contains("regular expression"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_alert_pages_again_once_marked_reopened() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("5"));
    let id = a["id"].as_str().unwrap().to_string();
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    // Closed by a responder in SIGNL4 → resolved in Graph.
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(Some(Responder::default()))).await.unwrap();
    wait_for("resolved in Graph", T, async || h.fake.alert(TENANT, &id).unwrap()["status"] == "resolved").await;
    h.polls(2).await;
    // An analyst sets it back to new in the portal.
    h.fake.update_alert(TENANT, &id, json!({"status": "new"}));
    let reopened = format!("{}~reopen1", ext(&a));
    wait_for("paged again", T, async || h.pages().contains_key(&reopened)).await;
    h.polls(3).await;
    let pages = h.pages();
    assert_eq!(pages.get(&ext(&a)), Some(&1), "the first page is not repeated");
    assert_eq!(pages.get(&reopened), Some(&1), "reopened once, paged once: {pages:?}");
    let e = h.fake.received(TEAM).into_iter().find(|e| e.external_id.as_deref() == Some(&reopened)).unwrap();
    assert!(e.body["Title"].as_str().unwrap().starts_with("[Reopened] "), "{}", e.body["Title"]);
    // Resolved in the portal now: the new SIGNL4 alert closes.
    // Its incident was resolved with the first close; that older resolution does not close
    // the reopened alert.
    let open = h.fake.signl4_alerts(TEAM).get(&reopened).is_some_and(|x| x.status != "resolved");
    assert!(open, "the reopened SIGNL4 alert was closed by the incident's earlier resolution");
    h.fake.update_alert(TENANT, &id, json!({"status": "resolved"}));
    wait_for("reopened SIGNL4 alert closed", T, async || {
        h.fake.signl4_alerts(TEAM).get(&reopened).is_some_and(|x| x.status == "resolved")
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_on_one_route_parks_that_team_only() {
    let h = Harness::new().await;
    // The endpoint team's secret is unknown to SIGNL4 (404, its body echoing the secret).
    h.fake.add_team(IDENTITY_TEAM);
    let app = h.start(&routed(&h)).await;
    let mde = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let signin = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    wait_for("the endpoint page parked, the others paged", T, async || {
        app.store.job_counts().await.unwrap().paused == 1
            && h.fake.pages_by_external_id(IDENTITY_TEAM).len() == 1
            && h.pages().contains_key(&ext(&signin))
    })
    .await;
    let body = readyz(&app).await;
    let rejected = body["tenants"]["contoso"]["status"]["signl4_rejected"].as_str().unwrap_or("").to_string();
    assert!(rejected.contains("route endpoint-high"), "names the route: {rejected}");
    assert!(!body.to_string().contains(ENDPOINT_TEAM), "the secret leaked into /readyz: {body}");

    // More alerts: the other teams keep paging; the rejected team is not called again.
    let hits = h.fake.requests().get("signl4.webhook").copied().unwrap_or(0);
    let mde2 = h.fake.add_alert(TENANT, scenarios::mde_malware("3"));
    let mdo = h.fake.add_alert(TENANT, scenarios::mdo_phishing("4"));
    wait_for("the phishing alert paged, the second MDE alert parked", T, async || {
        h.pages().contains_key(&ext(&mdo)) && app.store.job_counts().await.unwrap().paused == 2
    })
    .await;
    h.polls(2).await;
    let later = h.fake.requests().get("signl4.webhook").copied().unwrap_or(0);
    assert_eq!(later, hits + 1, "one request (the phishing page), none to the rejected team");
    app.stop().await;

    // The admin creates the team (fixes the secret) and restarts: both parked pages go out once.
    h.fake.add_team(ENDPOINT_TEAM);
    let app = h.start(&routed(&h)).await;
    wait_for("the parked pages sent", T, async || h.fake.pages_by_external_id(ENDPOINT_TEAM).len() == 2).await;
    h.polls(2).await;
    let endpoint = h.fake.pages_by_external_id(ENDPOINT_TEAM);
    assert_eq!(endpoint.get(&ext(&mde)), Some(&1));
    assert_eq!(endpoint.get(&ext(&mde2)), Some(&1));
    assert_eq!(h.fake.pages_by_external_id(IDENTITY_TEAM).len(), 1, "nothing paged twice");
    let body = readyz(&app).await;
    assert!(body["tenants"]["contoso"]["status"]["signl4_rejected"].is_null(), "{body}");
    app.stop().await;
}

async fn readyz(app: &App) -> Value {
    reqwest::get(format!("http://{}/readyz", app.addr)).await.unwrap().json().await.unwrap()
}
