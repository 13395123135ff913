//! The fake cloud's hostile modes (for the connector's outbound-boundary tests): a next link
//! naming another host on every Graph / ARM listing, and absurd numbers in any answer's
//! headers, replacing the service's own.

use s4s_fakecloud::*;
use serde_json::{Value, json};

async fn fake() -> FakeCloud {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f
}

async fn graph_token(f: &FakeCloud) -> String {
    let v: Value = reqwest::Client::new()
        .post(format!("{}/entra/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", f.url()))
        .form(&[
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_graph_listing_names_the_overriding_next_link_until_cleared() {
    let f = fake().await;
    f.add_alert(DEFAULT_TENANT_ID, scenarios::mde_malware("1"));
    let token = graph_token(&f).await;
    let list = || async {
        let v: Value = reqwest::Client::new()
            .get(format!("{}/graph/v1.0/security/alerts_v2", f.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v
    };
    assert!(list().await.get("@odata.nextLink").is_none(), "one alert: no next page");
    f.set_next_link_override(Service::Graph, Some("http://127.0.0.2:9/v1.0/security/alerts_v2?$skip=1"));
    let v = list().await;
    assert_eq!(v["@odata.nextLink"], json!("http://127.0.0.2:9/v1.0/security/alerts_v2?$skip=1"));
    assert_eq!(v["value"].as_array().map(Vec::len), Some(1), "the page itself is unchanged");
    f.set_next_link_override(Service::Graph, None);
    assert!(list().await.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn injected_headers_replace_signl4s_rate_limit_headers_for_their_count() {
    let f = fake().await;
    f.inject_headers(Service::Signl4, &[("x-ratelimit-reset", "NaN"), ("retry-after", "inf")], 1);
    let send = || async {
        reqwest::Client::new()
            .post(format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url()))
            .json(&json!({"Title": "t"}))
            .send()
            .await
            .unwrap()
    };
    let r = send().await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-ratelimit-reset"], "NaN");
    assert_eq!(r.headers()["retry-after"], "inf");
    let r = send().await;
    assert_ne!(r.headers()["x-ratelimit-reset"], "NaN", "the fault applied to one answer only");
    assert!(r.headers().get("retry-after").is_none());
}
