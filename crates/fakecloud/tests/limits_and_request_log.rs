//! Rate limits as the reference notes describe them (`microsoft-apis.md` §2.8, §3.6, §4.4;
//! `signl4.md` §1.7) and the request log that tests assert on. Time is tokio's paused clock:
//! `advance` moves it, nothing sleeps.

use std::time::Duration;

use s4s_fakecloud::*;
use serde_json::{Value, json};
use tokio::time::advance;

const SUB: &str = DEFAULT_SUBSCRIPTION;

async fn fake() -> FakeCloud {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f
}

/// No idle-pool timer: with paused time a pending timer would let the clock jump while a
/// request waits for I/O.
fn client() -> reqwest::Client {
    reqwest::Client::builder().pool_idle_timeout(None).build().unwrap()
}

async fn token(f: &FakeCloud, tenant: &str, client_id: &str, secret: &str, scope: &str) -> String {
    let v: Value = client()
        .post(format!("{}/entra/{tenant}/oauth2/v2.0/token", f.url()))
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
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

async fn default_token(f: &FakeCloud, scope: &str) -> String {
    token(f, DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, scope).await
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn documented_limits_are_the_reference_numbers_and_the_default() {
    let d = Limits::documented();
    assert_eq!(d.graph, vec![Window::new(150, secs(60.0))]);
    assert_eq!(d.graph_global, vec![Window::new(130_000, secs(10.0))]);
    assert_eq!(
        d.signl4_events,
        vec![
            Window::new(150, secs(15.0)),
            Window::new(600, secs(60.0)),
            Window::new(36_000, secs(3600.0)),
            Window::new(864_000, secs(86_400.0))
        ]
    );
    assert_eq!(d.signl4_erroneous, vec![Window::new(10, secs(60.0))]);
    assert_eq!(d.signl4_rest, vec![Window::new(150, secs(15.0)), Window::new(36_000, secs(3600.0))]);
    let arm = d.arm.unwrap();
    assert_eq!((arm.reads.size, arm.reads.refill_per_sec), (250.0, 25.0));
    assert_eq!((arm.writes.size, arm.writes.refill_per_sec), (200.0, 10.0));
    assert_eq!((arm.deletes.size, arm.deletes.refill_per_sec), (200.0, 10.0));
    assert_eq!(arm.subscription_factor, 15.0);
    assert_eq!(d.log_analytics, vec![Window::new(200, secs(30.0))]);
    let free = Limits::documented_free_plan();
    assert_eq!(free.signl4_events[0], Window::new(10, secs(15.0)));
    assert_eq!(free.signl4_events[1], Window::new(240, secs(60.0)));
    assert_eq!(Settings::default().limits, d);
    assert_eq!(Settings::unthrottled().limits, Limits::off());
}

#[tokio::test(start_paused = true)]
async fn graph_sliding_window_per_app_and_tenant_with_fractional_retry_after() {
    let f = fake().await;
    f.set_limits(Limits::documented().with_graph(4, secs(10.0)));
    f.add_tenant("tenant-b", "app-b", "secret-b");
    let ta = default_token(&f, "https://graph.microsoft.com/.default").await;
    let tb = token(&f, "tenant-b", "app-b", "secret-b", "https://graph.microsoft.com/.default").await;
    let c = client();
    let url = format!("{}/graph/v1.0/security/alerts_v2", f.url());
    let get = |t: &str| c.get(&url).bearer_auth(t.to_string()).send();
    for _ in 0..2 {
        assert_eq!(get(&ta).await.unwrap().status(), 200);
    }
    advance(secs(3.5)).await;
    for _ in 0..2 {
        assert_eq!(get(&ta).await.unwrap().status(), 200);
    }
    // The window frees when the first request leaves it: 10 s after t=0, i.e. 6.5 s from now.
    let r = get(&ta).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "6.500");
    // Another tenant has its own window.
    assert_eq!(get(&tb).await.unwrap().status(), 200);
    advance(secs(6.4)).await;
    let r = get(&ta).await.unwrap();
    assert_eq!(r.status(), 429, "still inside the window");
    let ra: f64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((ra - 0.1).abs() < 0.002, "{ra}");
    advance(secs(0.1)).await;
    assert_eq!(get(&ta).await.unwrap().status(), 200, "two requests left the window");
    assert_eq!(get(&ta).await.unwrap().status(), 200);
    assert_eq!(get(&ta).await.unwrap().status(), 429);

    // The log: every request with its tenant, status and Retry-After.
    let log = f.request_log(Api::Graph);
    let a: Vec<&RequestRecord> = log.iter().filter(|r| r.tenant.as_deref() == Some(DEFAULT_TENANT_ID)).collect();
    assert_eq!(a.len(), 9);
    assert_eq!(a.iter().filter(|r| r.status == 429).count(), 3);
    assert_eq!(a[4].retry_after, Some(secs(6.5)));
    assert_eq!(a[4].retry_at, Some(secs(10.0)));
    assert_eq!(a[4].at, secs(3.5));
    assert_eq!(a[0].client_id.as_deref(), Some(DEFAULT_CLIENT_ID));
    assert!(a.iter().all(|r| r.method == "GET" && r.path == "/graph/v1.0/security/alerts_v2"));
    assert_eq!(f.throttled_count(Api::Graph), 3);
    // Any answer counts: 3 at 3.5 s, 1 at 9.9 s, 3 at 10 s.
    assert_eq!(f.max_in_window(Api::Graph, DEFAULT_TENANT_ID, secs(10.0)), 7);
    assert_eq!(f.max_in_window(Api::Graph, "tenant-b", secs(60.0)), 1);
    // The request at 9.9 s came before the first 429's Retry-After (10 s) had elapsed.
    let early = f.requests_during_retry_after(Api::Graph, DEFAULT_TENANT_ID);
    assert_eq!(early.iter().map(|r| r.at).collect::<Vec<_>>(), vec![Duration::from_millis(9900)]);
    assert!(f.requests_during_retry_after(Api::Graph, "tenant-b").is_empty());
}

#[tokio::test(start_paused = true)]
async fn signl4_blocks_receiving_for_the_period_after_a_limit_is_exceeded() {
    let f = fake().await;
    f.set_limits(Limits::documented().with_signl4_events(3, secs(15.0)));
    let c = client();
    let hook = format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url());
    let post = |n: u32| c.post(&hook).json(&json!({"Title": format!("t{n}")})).send();
    let now_unix = || time::OffsetDateTime::now_utc().unix_timestamp();
    for (n, left) in [(1, "2"), (2, "1"), (3, "0")] {
        let r = post(n).await.unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        assert_eq!(r.headers()["x-ratelimit-remaining"], left);
        let reset: i64 = r.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((14..=16).contains(&(reset - now_unix())), "reset {reset}");
    }
    advance(secs(14.0)).await;
    // The 4th event in 15 s exceeds the limit: blocked for 15 s from now.
    let r = post(4).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let reset: i64 = r.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!((14..=16).contains(&(reset - now_unix())), "reset {reset}");
    advance(secs(2.0)).await;
    // The sliding window alone would accept now (t=16 s); the block does not.
    assert_eq!(post(5).await.unwrap().status(), 429, "blocked until t=29 s");
    advance(secs(12.9)).await;
    assert_eq!(post(6).await.unwrap().status(), 429);
    advance(secs(0.1)).await;
    assert_eq!(post(7).await.unwrap().status(), 201, "the block is over");
    assert_eq!(f.received(DEFAULT_TEAM_SECRET).len(), 4);

    let team = f.team_id(DEFAULT_TEAM_SECRET).unwrap();
    let log = f.request_log(Api::Signl4Webhook);
    assert_eq!(log.len(), 7);
    assert!(log.iter().all(|r| r.tenant.as_deref() == Some(team.as_str())));
    assert!(log.iter().all(|r| r.path == "/signl4/webhook/<team-secret>"), "no secret in the log");
    assert_eq!(log[3].retry_at, Some(secs(29.0)));
    assert_eq!(log[3].retry_after, None, "SIGNL4 documents X-RateLimit-Reset, not Retry-After");
    assert_eq!(f.throttled_count(Api::Signl4Webhook), 3);
    let early: Vec<Duration> = f.requests_during_retry_after(Api::Signl4Webhook, &team).iter().map(|r| r.at).collect();
    assert_eq!(early, vec![secs(16.0), Duration::from_millis(28_900)]);
}

#[tokio::test(start_paused = true)]
async fn signl4_limits_erroneous_requests_to_10_per_minute() {
    let f = fake().await;
    let c = client();
    let hook = format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url());
    for _ in 0..10 {
        assert_eq!(c.post(&hook).body("{corrupt").send().await.unwrap().status(), 400);
    }
    let r = c.post(&hook).json(&json!({"Title": "valid"})).send().await.unwrap();
    assert_eq!(r.status(), 429, "10 erroneous requests in a minute block the secret");
    assert!(r.headers().contains_key("x-ratelimit-reset"));
    advance(secs(60.0)).await;
    assert_eq!(c.post(&hook).json(&json!({"Title": "valid"})).send().await.unwrap().status(), 201);
    // A wrong secret is throttled the same way and never logged.
    let wrong = format!("{}/signl4/webhook/not-the-secret", f.url());
    for _ in 0..10 {
        assert_eq!(c.post(&wrong).json(&json!({})).send().await.unwrap().status(), 404);
    }
    assert_eq!(c.post(&wrong).json(&json!({})).send().await.unwrap().status(), 429);
    let log =
        serde_json::to_string(&f.request_log(Api::Signl4Webhook).iter().map(|r| &r.path).collect::<Vec<_>>()).unwrap();
    assert!(!log.contains("not-the-secret") && !log.contains(DEFAULT_TEAM_SECRET), "{log}");
}

#[tokio::test(start_paused = true)]
async fn arm_token_buckets_per_subscription_with_remaining_headers() {
    let f = fake().await;
    f.update_limits(|l| {
        l.arm = Some(ArmLimits {
            reads: Bucket { size: 3.0, refill_per_sec: 2.0 },
            writes: Bucket { size: 1.0, refill_per_sec: 0.25 },
            deletes: Bucket { size: 1.0, refill_per_sec: 1.0 },
            subscription_factor: 15.0,
        })
    });
    let t = default_token(&f, "https://management.azure.com/.default").await;
    let c = client();
    let base = format!(
        "{}/arm/subscriptions/{SUB}/resourceGroups/{DEFAULT_RESOURCE_GROUP}/providers/Microsoft.OperationalInsights/workspaces/{DEFAULT_WORKSPACE}/providers/Microsoft.SecurityInsights/incidents",
        f.url()
    );
    let list = format!("{base}?api-version=2025-12-01");
    for left in ["2", "1", "0"] {
        let r = c.get(&list).bearer_auth(&t).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ms-ratelimit-remaining-subscription-reads"], left);
    }
    let r = c.get(&list).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1", "0.5 s to the next token, in whole seconds");
    assert_eq!(r.headers()["x-ms-ratelimit-remaining-subscription-reads"], "0");
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "TooManyRequests");
    // Writes have their own bucket; POST …/alerts counts as a write.
    let alerts = format!("{base}/none/alerts?api-version=2025-12-01");
    let r = c.post(&alerts).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-ms-ratelimit-remaining-subscription-writes"], "0");
    assert_eq!(c.post(&alerts).bearer_auth(&t).send().await.unwrap().status(), 429);
    advance(secs(0.5)).await;
    assert_eq!(c.get(&list).bearer_auth(&t).send().await.unwrap().status(), 200, "one read token refilled");
    let log = f.request_log(Api::Arm);
    assert_eq!(log.len(), 7);
    assert_eq!(log[3].retry_after, Some(secs(1.0)));
    assert!(log.iter().all(|r| r.tenant.as_deref() == Some(DEFAULT_TENANT_ID)));
    assert_eq!(f.throttled_count(Api::Arm), 2);
    // Retrying at 0.5 s was before the Retry-After of 1 s.
    assert_eq!(f.requests_during_retry_after(Api::Arm, DEFAULT_TENANT_ID).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn log_analytics_limits_requests_per_principal() {
    let f = fake().await;
    f.update_limits(|l| l.log_analytics = vec![Window::new(2, secs(30.0))]);
    let t = default_token(&f, "https://api.loganalytics.io/.default").await;
    let c = client();
    let url = format!("{}/loganalytics/v1/workspaces/{DEFAULT_WORKSPACE_ID}/query", f.url());
    let q = || c.post(&url).bearer_auth(&t).json(&json!({"query": "SigninLogs | take 1"})).send();
    assert_eq!(q().await.unwrap().status(), 200);
    advance(secs(10.0)).await;
    assert_eq!(q().await.unwrap().status(), 200);
    let r = q().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(!r.headers().contains_key("retry-after"), "§4.4 documents no Retry-After");
    advance(secs(20.0)).await;
    assert_eq!(q().await.unwrap().status(), 200);
    let log = f.request_log(Api::LogAnalytics);
    assert_eq!(log[2].retry_at, Some(secs(30.0)), "when the window frees up");
    assert_eq!(log[2].throttled_by.as_deref(), Some("log analytics 2/30s"));
}

#[tokio::test]
async fn every_service_is_logged_and_readable_over_the_control_api() {
    let f = fake().await;
    f.add_api_key(DEFAULT_TEAM_SECRET, "api-key-1");
    let c = client();
    let g = default_token(&f, "https://graph.microsoft.com/.default").await;
    c.get(format!("{}/graph/v1.0/security/incidents?$top=1", f.url())).bearer_auth(&g).send().await.unwrap();
    c.get(format!("{}/graph/v1.0/security/alerts_v2", f.url())).send().await.unwrap();
    c.post(format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url()))
        .json(&json!({"Title": "x"}))
        .send()
        .await
        .unwrap();
    c.post(format!("{}/signl4/api/v2/alerts/paged", f.url()))
        .header("X-S4-Api-Key", "api-key-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let entra = f.request_log(Api::Entra);
    assert_eq!(entra.len(), 1);
    assert_eq!(entra[0].tenant.as_deref(), Some(DEFAULT_TENANT_ID));
    assert_eq!(entra[0].method, "POST");
    let graph = f.request_log(Api::Graph);
    assert_eq!(graph.len(), 2);
    assert_eq!(graph[0].path, "/graph/v1.0/security/incidents?$top=1");
    assert_eq!((graph[1].status, graph[1].tenant.as_deref()), (401, None), "no token, no tenant");
    assert!(graph[0].at <= graph[1].at && graph[0].wall_unix_ms > 0);
    let team = f.team_id(DEFAULT_TEAM_SECRET);
    assert_eq!(f.request_log(Api::Signl4Rest)[0].tenant, team);
    assert_eq!(f.request_log(Api::Signl4Webhook)[0].tenant, team);

    let v: Value =
        c.get(format!("{}/_control/requests?service=graph", f.url())).send().await.unwrap().json().await.unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["api"], "graph");
    assert_eq!(list[0]["status"], 200);
    for k in ["seq", "at_secs", "answered_secs", "wall_unix_ms", "tenant", "method", "path", "retry_after_secs"] {
        assert!(list[0].get(k).is_some(), "{k}");
    }
    let text = c.get(format!("{}/_control/requests", f.url())).send().await.unwrap().text().await.unwrap();
    for secret in [DEFAULT_TEAM_SECRET, DEFAULT_CLIENT_SECRET, "api-key-1", g.as_str()] {
        assert!(!text.contains(secret), "{secret} leaked into the request log");
    }
    let r = c.get(format!("{}/_control/requests?service=nope", f.url())).send().await.unwrap();
    assert_eq!(r.status(), 400);
    c.delete(format!("{}/_control/requests", f.url())).send().await.unwrap();
    assert!(f.request_log(Api::Graph).is_empty());
}

#[tokio::test]
async fn one_switch_turns_limits_off_and_back_to_documented() {
    let f = fake().await;
    assert_eq!(f.limits(), Limits::documented(), "the default");
    let c = client();
    let url = format!("{}/_control/limits", f.url());
    let r = c.put(&url).json(&json!("off")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(f.limits(), Limits::off());
    let s: Value = c.get(format!("{}/_control/settings", f.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(s["graph_requests_per_minute"], 0, "the older fields mirror the limits");
    let custom = Limits::documented().with_graph(4, secs(10.0));
    c.put(&url).json(&custom).send().await.unwrap();
    let v: Value = c.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["graph"], json!([{"requests": 4, "per_secs": 10.0}]));
    assert_eq!(c.put(&url).json(&json!("nonsense")).send().await.unwrap().status(), 400);
    c.put(&url).json(&json!("documented")).send().await.unwrap();
    assert_eq!(f.limits(), Limits::documented());
    // The older settings fields still work: they change the matching window.
    f.configure(|s| {
        s.graph_requests_per_minute = 0;
        s.signl4_events_per_15s = 20;
    });
    let l = f.limits();
    assert!(l.graph.is_empty());
    assert_eq!(l.signl4_events[0], Window::new(20, secs(15.0)));
    assert_eq!(l.signl4_events[1], Window::new(600, secs(60.0)));
    f.configure(|s| *s = Settings::unthrottled());
    assert_eq!(f.limits(), Limits::off());
    let g = FakeCloud::builder().limits(Limits::off()).start_local().await.unwrap();
    assert_eq!(g.limits(), Limits::off());
}
