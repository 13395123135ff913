//! Entra ID token caching against the fake cloud: one request per resource however many
//! tasks ask at once; refresh before expiry; clear errors.

use std::sync::Arc;
use std::time::Duration;

use s4s_fakecloud::*;
use secrecy::{ExposeSecret, SecretString};
use signl4_sentinel::clients::entra::TokenProvider;
use signl4_sentinel::testkit::wait_for_every;

async fn provider(f: &FakeCloud, secret: &str) -> Arc<TokenProvider> {
    let authority = url::Url::parse(&format!("{}/entra", f.url())).unwrap();
    Arc::new(TokenProvider::new(
        reqwest::Client::new(),
        &authority,
        DEFAULT_TENANT_ID,
        DEFAULT_CLIENT_ID,
        SecretString::from(secret),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_token_request_per_resource() {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f.inject(Fault { service: Service::Entra, kind: FaultKind::Latency { ms: 100 }, count: 1 });
    let p = provider(&f, DEFAULT_CLIENT_SECRET).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            p.token("https://graph.microsoft.com/.default").await.unwrap().expose_secret().to_string()
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1);
    assert_eq!(f.requests().get("entra.token"), Some(&1));
    // A second resource gets its own token.
    p.token("https://management.azure.com/.default").await.unwrap();
    assert_eq!(f.requests().get("entra.token"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire() {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f.configure(|s| s.token_lifetime_secs = 1); // refreshed after 80 % = 0.8 s
    let p = provider(&f, DEFAULT_CLIENT_SECRET).await;
    let scope = "https://graph.microsoft.com/.default";
    let first = p.token(scope).await.unwrap().expose_secret().to_string();
    assert_eq!(p.token(scope).await.unwrap().expose_secret(), first, "cached");
    wait_for_every("the token to be refreshed", Duration::from_secs(5), Duration::from_millis(50), async || {
        p.token(scope).await.unwrap().expose_secret() != first
    })
    .await;
}

#[tokio::test]
async fn a_wrong_secret_is_permanent_and_explained() {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    let p = provider(&f, "wrong-secret-value").await;
    let e = p.token("https://graph.microsoft.com/.default").await.unwrap_err();
    assert!(!e.is_transient());
    let msg = e.to_string();
    assert!(msg.contains("HTTP 401") && msg.contains("client secret is wrong"), "{msg}");
    assert!(!msg.contains("wrong-secret-value"));
    assert_eq!(f.requests().get("entra.token"), Some(&1), "permanent errors are not retried");
}
