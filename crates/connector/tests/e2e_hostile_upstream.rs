//! Hostile upstreams, end to end over real HTTP: a Graph or ARM page whose next link names
//! another host (a recorder on a second loopback address, 127.0.0.2, sees whether anything
//! reaches it), a stored sweep link naming another host, and absurd numbers in the
//! rate-limit headers of Graph, ARM and SIGNL4 answers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use s4s_fakecloud::{DEFAULT_WORKSPACE as WS, Fault, FaultKind, Service, scenarios};
use serde_json::{Value, json};
use signl4_sentinel::app::App;
use tokio::io::AsyncReadExt;

const T: Duration = Duration::from_secs(30);

fn sext(inc: &Value) -> String {
    s4s_core::ids::external_id("contoso", "sentinel.soc", inc["name"].as_str().unwrap())
}

/// A TCP listener on 127.0.0.2 that records every byte any connection sends it (and never
/// answers): a request, a bearer token, anything.
struct Recorder {
    port: u16,
    seen: Arc<std::sync::Mutex<Vec<u8>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    async fn start() -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, c) = (seen.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = sock.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        s.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Recorder { port, seen, connections, task }
    }

    fn link(&self, path: &str) -> String {
        format!("http://127.0.0.2:{}{path}", self.port)
    }

    fn assert_untouched(&self) {
        assert_eq!(self.connections.load(Ordering::SeqCst), 0, "a connection reached the foreign host");
        assert!(self.seen.lock().unwrap().is_empty(), "bytes reached the foreign host");
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn readyz(app: &App) -> Value {
    reqwest::get(format!("http://{}/readyz", app.addr)).await.unwrap().json().await.unwrap()
}

fn last_poll_error(v: &Value) -> String {
    v["tenants"]["contoso"]["status"]["last_poll_error"].as_str().unwrap_or("").to_string()
}

async fn cursor(app: &App, name: &str) -> Option<String> {
    app.store.get_cursor("contoso", name).await.unwrap()
}

/// Panics anywhere in this process (the connector runs in-process), counted by a hook that
/// then calls the previous one.
fn count_panics() -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_next_link_to_another_host_is_never_followed() {
    let h = Harness::new().await;
    let rec = Recorder::start().await;
    h.fake.set_next_link_override(Service::Graph, Some(&rec.link("/v1.0/security/alerts_v2?$skip=50")));
    let first = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let app = h.start(&h.config()).await;
    // The page itself is stored and paged; the link after it is refused.
    wait_for("first alert paged", T, async || h.pages().contains_key(&ext(&first))).await;
    wait_for("/readyz names the foreign host", T, async || last_poll_error(&readyz(&app).await).contains("127.0.0.2"))
        .await;
    let err = last_poll_error(&readyz(&app).await);
    assert!(err.contains("another host"), "{err}");
    // The sweep's progress (which held the link) is dropped.
    wait_for("sweep progress dropped", T, async || {
        cursor(&app, "graph-alert~sweep").await.is_none_or(|v| v.is_empty())
    })
    .await;
    // Paging goes on: the next polls start fresh sweeps from the cursor.
    let second = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    wait_for("a new alert still pages", T, async || h.pages().contains_key(&ext(&second))).await;
    // Back to honest links: the error clears.
    h.fake.set_next_link_override(Service::Graph, None);
    wait_for("poll error cleared", T, async || last_poll_error(&readyz(&app).await).is_empty()).await;
    rec.assert_untouched();
    assert_eq!(h.pages().get(&ext(&first)), Some(&1), "paged once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arm_next_link_to_another_host_is_never_followed() {
    let h = Harness::new().await;
    let rec = Recorder::start().await;
    h.fake.set_next_link_override(
        Service::Arm,
        Some(&rec.link("/arm/subscriptions/x/providers/Microsoft.SecurityInsights/incidents?$skipToken=1")),
    );
    let (i, a) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, a);
    let app = h.start_connected(&h.config(), 0.0, None).await;
    wait_for("incident paged", T, async || h.pages().contains_key(&sext(&inc))).await;
    wait_for("/readyz names the foreign host", T, async || last_poll_error(&readyz(&app).await).contains("127.0.0.2"))
        .await;
    wait_for("sweep progress dropped", T, async || {
        cursor(&app, "sentinel.soc~sweep").await.is_none_or(|v| v.is_empty())
    })
    .await;
    // Graph polling is not stopped by the refused ARM link, and Sentinel keeps paging.
    let g = h.fake.add_alert(TENANT, scenarios::mde_malware("3"));
    wait_for("a Graph alert pages meanwhile", T, async || h.pages().contains_key(&ext(&g))).await;
    let (i2, a2) = scenarios::sentinel_incident(" (second)");
    let inc2 = h.fake.add_sentinel_incident(WS, i2, a2);
    wait_for("a new incident still pages", T, async || h.pages().contains_key(&sext(&inc2))).await;
    rec.assert_untouched();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_sweep_link_to_another_host_is_not_followed_after_a_restart() {
    let h = Harness::new().await;
    let rec = Recorder::start().await;
    let cfg = h.config();
    let first = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let app = h.start(&cfg).await;
    wait_for("first alert paged", T, async || h.pages().contains_key(&ext(&first))).await;
    // What an older version would have stored when a page named another host.
    let since = s4s_core::timefmt::odata(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    let progress = json!({"since": since, "next": rec.link("/v1.0/security/alerts_v2?$skip=100"), "newest": null});
    // This process has swept: it does not read sweep progress again until a restart.
    app.store.set_cursor("contoso", "graph-alert~sweep", &progress.to_string(), 0).await.unwrap();
    app.stop().await;
    let app = h.start(&cfg).await;
    wait_for("stored link dropped", T, async || cursor(&app, "graph-alert~sweep").await.is_none_or(|v| v.is_empty()))
        .await;
    let second = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    wait_for("a new alert pages", T, async || h.pages().contains_key(&ext(&second))).await;
    rec.assert_untouched();
    assert_eq!(h.pages().get(&ext(&first)), Some(&1), "paged once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_rate_limit_headers_neither_panic_nor_stall_paging() {
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let panics = count_panics();
    let absurd: &[(&str, &str)] = &[
        ("retry-after", "NaN"),
        ("x-ratelimit-reset", "NaN"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-limit", "inf"),
        ("x-ms-ratelimit-remaining-subscription-reads", "-inf"),
    ];
    // Successful answers with garbage numbers, and throttled answers whose Retry-After is
    // garbage (treated as absent: the short fallback hold).
    for (service, n) in [(Service::Graph, 20), (Service::Arm, 20), (Service::Signl4, 10)] {
        h.fake.inject_headers(service, absurd, n);
        for ra in ["inf", "-5", "NaN"] {
            h.fake.inject(Fault { service, kind: FaultKind::Status { status: 429 }, count: 1 });
            h.fake.inject_headers(service, &[("retry-after", ra), ("x-ratelimit-reset", "1e300")], 1);
        }
    }
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let (i, al) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(WS, i, al);
    let minute = Duration::from_secs(60);
    wait_for("Graph alert paged", minute, async || h.pages().contains_key(&ext(&a))).await;
    wait_for("Sentinel incident paged", minute, async || h.pages().contains_key(&sext(&inc))).await;
    // Once the faults are used up, paging is prompt again.
    let b = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    wait_for("a later alert paged", minute, async || h.pages().contains_key(&ext(&b))).await;
    let live = reqwest::get(format!("http://{}/healthz", app.addr)).await.unwrap();
    assert!(live.status().is_success());
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a panic happened");
    app.stop().await;
}
