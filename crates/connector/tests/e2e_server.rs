//! The HTTP server at its edge: slow and idle connections closed within the
//! configured timeouts while real webhooks are answered; the connection limit and the
//! webhook's concurrency limit (503 + Retry-After); SIGTERM with slow connections open; each
//! team's inbound URL acting only on its team's alerts (escalations included); probes and
//! metrics with and without a token, from loopback and from another address.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use s4s_fakecloud::scenarios;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(30);
/// A bound for "closed within the configured timeouts": far above the timeouts configured
/// here (under 2 s), far below "never" (a server without timeouts keeps them open for ever).
const CLOSED_WITHIN: Duration = Duration::from_secs(15);
const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef";

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.into())
}

/// A SIGNL4 test event (`eventType` 1): accepted and ignored, through the whole receiver.
fn test_event(id: &str) -> Value {
    json!({"eventType": 1, "id": id})
}

/// How a slow client misbehaves.
#[derive(Clone, Copy, Debug)]
enum Slow {
    /// Connects and sends nothing.
    Silent,
    /// Sends its request head one byte at a time, never finishing it.
    TrickleHead,
    /// Sends a whole head announcing a body, then trickles the body, never finishing it.
    TrickleBody,
    /// Sends one whole request, reads its answer, then keeps the connection open and idle.
    IdleKeepAlive,
}

/// Runs one slow client against `addr`; returns how long the server kept the connection
/// open (until EOF or reset), or `None` if it was still open after `bound`.
async fn slow_client(addr: SocketAddr, how: Slow, bound: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = conn.split();
    let head = format!("POST /signl4/{INBOUND_TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n");
    let writer = async {
        match how {
            Slow::Silent => std::future::pending::<()>().await,
            Slow::TrickleHead => {
                for b in head.as_bytes().iter().cycle() {
                    if wr.write_all(&[*b]).await.is_err() {
                        break;
                    }
                    // The attacker's pace, not synchronisation: one byte every 100 ms.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                std::future::pending::<()>().await
            }
            Slow::TrickleBody => {
                let start = format!("{head}Content-Length: 100000\r\n\r\n{{\"eventType\":");
                if wr.write_all(start.as_bytes()).await.is_ok() {
                    while wr.write_all(b" ").await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                std::future::pending::<()>().await
            }
            Slow::IdleKeepAlive => {
                let body = test_event("keep-alive").to_string();
                let req = format!("{head}Content-Length: {}\r\n\r\n{body}", body.len());
                let _ = wr.write_all(req.as_bytes()).await;
                std::future::pending::<()>().await
            }
        }
    };
    let reader = async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(bound, async {
        tokio::select! {
            took = reader => took,
            _ = writer => unreachable!("the writer never ends"),
        }
    })
    .await
    .ok()
}

async fn post_event(client: &reqwest::Client, base: &str, token: &str, ev: &Value) -> reqwest::Response {
    client.post(format!("{base}/signl4/{token}")).json(ev).send().await.expect("webhook request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_slowloris_connections_are_closed_within_the_timeouts_while_webhooks_are_answered() {
    let h = Harness::new().await;
    let cfg = h
        .config()
        .server("header_timeout", s("400ms"))
        .server("body_timeout", s("300ms"))
        .server("request_timeout", s("1s"))
        .server("idle_timeout", s("500ms"));
    let app = h.start(&cfg).await;
    let base = format!("http://{}", app.addr);
    let kinds = [Slow::Silent, Slow::TrickleHead, Slow::TrickleBody, Slow::IdleKeepAlive];
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let how = kinds[i % kinds.len()];
            (how, tokio::spawn(slow_client(app.addr, how, CLOSED_WITHIN)))
        })
        .collect();
    // Meanwhile real webhooks are answered (each on a fresh connection).
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    for i in 0..5 {
        let r = post_event(&client, &base, INBOUND_TOKEN, &test_event(&format!("real-{i}"))).await;
        assert_eq!(r.status(), 200, "a real webhook is answered while slow connections are open");
    }
    let mut worst = std::collections::BTreeMap::new();
    for (how, c) in clients {
        let took = c.await.unwrap();
        let took = took.unwrap_or_else(|| panic!("a {how:?} connection was still open after {CLOSED_WITHIN:?}"));
        let w = worst.entry(format!("{how:?}")).or_insert(Duration::ZERO);
        *w = (*w).max(took);
    }
    eprintln!("slowest close per kind (timeouts: header 400 ms, body 300 ms, request 1 s, idle 500 ms): {worst:?}");
    assert!(app.stop().await, "a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_limit_a_connection_is_closed_and_an_overloaded_webhook_gets_503_retry_after() {
    let h = Harness::new().await;
    let cfg = h
        .config()
        .server("max_connections", toml::Value::Integer(4))
        .server("webhook_concurrency", toml::Value::Integer(1))
        .server("header_timeout", s("60s"))
        .server("body_timeout", s("60s"))
        .server("request_timeout", s("60s"));
    let app = h.start(&cfg).await;
    let base = format!("http://{}", app.addr);
    // One webhook request in the handler (its body unfinished) holds the only slot.
    let mut stuck = TcpStream::connect(app.addr).await.unwrap();
    stuck
        .write_all(
            format!("POST /signl4/{INBOUND_TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{{").as_bytes(),
        )
        .await
        .unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut shed = None;
    // The stuck request reaches the handler asynchronously: ask until it holds the slot.
    wait_for("the webhook answers 503 while its one slot is taken", T, async || {
        let r = post_event(&client, &base, INBOUND_TOKEN, &test_event("over")).await;
        let busy = r.status() == 503;
        if busy {
            shed = Some(r);
        }
        busy
    })
    .await;
    let r = shed.unwrap();
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"), "SIGNL4 is told to retry");
    // Other routes are not limited by the webhook's concurrency.
    assert_eq!(client.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);

    // Three more idle connections make four: a fifth is closed at once.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Each of the three is counted once the server accepted it: a fifth is refused from then on.
    wait_for("a connection over the limit is closed", T, async || {
        let Ok(mut extra) = TcpStream::connect(app.addr).await else { return true };
        let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut buf = [0u8; 64];
        matches!(tokio::time::timeout(Duration::from_secs(5), extra.read(&mut buf)).await, Ok(Ok(0)) | Ok(Err(_)))
    })
    .await;
    // Below the limit again, connections are served.
    drop(idle);
    wait_for("served again below the limit", T, async || {
        client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    drop(stuck);
    wait_for("the webhook takes requests again", T, async || {
        post_event(&client, &base, INBOUND_TOKEN, &test_event("after")).await.status() == 200
    })
    .await;
    assert!(app.stop().await);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_slow_connections_open_exits_within_a_few_seconds() {
    let h = Harness::new().await;
    let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    // Long timeouts: the slow connections are still open when SIGTERM comes.
    let cfg = h
        .config()
        .listen(addr)
        .server("header_timeout", s("120s"))
        .server("body_timeout", s("120s"))
        .server("request_timeout", s("300s"))
        .server("idle_timeout", s("300s"));
    let cfg_path = h.write_config(&cfg);
    let log = h.dir.path().join("s4s.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut child =
        spawn_run(Path::new(env!("CARGO_BIN_EXE_signl4-sentinel")), &cfg_path, "info", Stdio::from(log_file));
    let client = reqwest::Client::new();
    wait_for("the binary serves", T, async || {
        client.get(format!("http://{addr}/healthz")).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    let kinds = [Slow::Silent, Slow::TrickleHead, Slow::TrickleBody, Slow::IdleKeepAlive];
    let clients: Vec<_> =
        (0..20).map(|i| tokio::spawn(slow_client(addr, kinds[i % kinds.len()], Duration::from_secs(60)))).collect();
    // Every slow connection is in (the trickling ones have sent bytes) before the signal.
    let r = post_event(&client, &format!("http://{addr}"), INBOUND_TOKEN, &test_event("before-stop")).await;
    assert_eq!(r.status(), 200);
    let asked = Instant::now();
    let pid = child.id().expect("running");
    assert!(std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap().success());
    // delivery.shutdown_timeout is 20 s: the slow connections must not make it wait for it.
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    let took = asked.elapsed();
    let exit = exit.unwrap_or_else(|_| {
        panic!("still running 20 s after SIGTERM; log:\n{}", std::fs::read_to_string(&log).unwrap_or_default())
    });
    eprintln!("SIGTERM with 20 slow connections open: exited in {} ms", took.as_millis());
    assert!(exit.unwrap().success(), "a clean stop exits 0");
    for c in clients {
        assert!(c.await.unwrap().is_some(), "every slow connection was closed by the stop");
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!text.contains("in doubt"), "nothing left in doubt: {text}");
}

const ENDPOINT_TEAM: &str = "endpoint-team-secret";
const ENDPOINT_TOKEN: &str = "endpoint-inbound-token-0123456789";
const ENDPOINT_TEAM_ID: &str = "5f1c6a1e-0000-4000-8000-00000000000a";
const IDENTITY_TEAM: &str = "identity-team-secret";
const IDENTITY_TOKEN: &str = "identity-inbound-token-0123456789";

fn route(v: Value) -> toml::Table {
    toml::Table::try_from(v).expect("a route table")
}

fn ack(id: &str, alert: &Value, team_id: Option<&str>, event_type: i64, status: i64) -> Value {
    let mut ev = json!({
        "eventType": event_type,
        "id": id,
        "eventRaisedUtc": "2026-12-07T10:00:00Z",
        "user": {"username": "Rene", "mailaddress": "rene@example.com"},
        "alert": {"statusCode": status, "externalEventId": ext(alert), "id": format!("s4-{id}")},
    });
    if let Some(t) = team_id {
        ev["team"] = json!({"id": t});
    }
    ev
}

async fn count(h: &Harness, sql: &'static str) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", h.db().display())).await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_url_acts_only_on_its_teams_alerts_until_an_escalation_moves_one_there() {
    let h = Harness::new().await;
    h.fake.add_team(ENDPOINT_TEAM);
    h.fake.add_team(IDENTITY_TEAM);
    // Team A (endpoint) and team B (identity), each with its own outbound-webhook URL.
    let cfg = h.config().tenant(|t| {
        t.routes = vec![
            route(json!({"name": "endpoint", "team_secret": ENDPOINT_TEAM, "inbound_token": ENDPOINT_TOKEN,
                "team_id": ENDPOINT_TEAM_ID, "match": {"product": ["microsoftDefenderForEndpoint"]}})),
            route(json!({"name": "identity", "team_secret": IDENTITY_TEAM, "inbound_token": IDENTITY_TOKEN,
                "match": {"product": ["azureAdIdentityProtection"]}})),
        ];
    });
    let app = h.start(&cfg).await;
    let base = format!("http://{}", app.addr);
    let signin = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("1"));
    let second = h.fake.add_alert(TENANT, scenarios::entra_risky_signin("2"));
    wait_for("both paged to team B only", T, async || h.fake.pages_by_external_id(IDENTITY_TEAM).len() == 2).await;
    assert!(h.fake.pages_by_external_id(ENDPOINT_TEAM).is_empty());
    let graph = |a: &Value| h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap()["status"].clone();
    let before = graph(&signin);
    let client = reqwest::Client::new();
    let inbound = "SELECT COUNT(*) FROM inbound_events";
    let syncs = "SELECT COUNT(*) FROM jobs WHERE kind = 'graph-sync'";
    let (events0, syncs0) = (count(&h, inbound).await, count(&h, syncs).await);

    // Team A's URL, an alert paged only to team B: refused, nothing written.
    for (i, ev) in [
        ack("a-ack", &signin, None, 201, 2),
        ack("a-close", &signin, None, 201, 4),
        // An escalation naming another team (or none) does not move it into A.
        ack("a-esc-other", &signin, Some("some-other-team"), 202, 1),
        ack("a-esc-none", &signin, None, 202, 1),
    ]
    .iter()
    .enumerate()
    {
        let r = post_event(&client, &base, ENDPOINT_TOKEN, ev).await;
        assert_eq!(r.status(), 403, "event {i} through team A's URL");
    }
    assert_eq!((count(&h, inbound).await, count(&h, syncs).await), (events0, syncs0), "nothing recorded, no job");
    let scrape = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(scrape.contains("s4s_inbound_rejected_total{reason=\"team\"} 4"), "{scrape}");

    // Team B's URL: accepted, written back to Graph.
    let r = post_event(&client, &base, IDENTITY_TOKEN, &ack("b-ack", &signin, None, 201, 2)).await;
    assert_eq!(r.status(), 200);
    wait_for("B's acknowledgement written to Graph", T, async || graph(&signin) == "inProgress").await;
    assert_ne!(before, "inProgress");

    // SIGNL4 escalates the second alert into team A: A's webhook reports it with A's team id.
    let r = post_event(&client, &base, ENDPOINT_TOKEN, &ack("a-ack-2", &second, None, 201, 2)).await;
    assert_eq!(r.status(), 403, "not A's before the escalation");
    let r = post_event(&client, &base, ENDPOINT_TOKEN, &ack("a-esc", &second, Some(ENDPOINT_TEAM_ID), 202, 1)).await;
    assert_eq!(r.status(), 200, "SIGNL4 reports it in team A");
    let r = post_event(&client, &base, ENDPOINT_TOKEN, &ack("a-ack-3", &second, None, 201, 2)).await;
    assert_eq!(r.status(), 200, "A's URL acts on it from now on");
    wait_for("A's acknowledgement written to Graph", T, async || graph(&second) == "inProgress").await;
    // A token no team holds is still a bare 404.
    let r = post_event(&client, &base, "no-team-holds-this-token-0123", &ack("x", &second, None, 201, 4)).await;
    assert_eq!(r.status(), 404);
    assert!(app.stop().await);
}

/// A local address that is not loopback (the machine's own, on its network interface), if any.
fn non_loopback_ip() -> Option<IpAddr> {
    for target in ["192.0.2.1:9", "10.255.255.255:9", "203.0.113.1:9"] {
        let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
        if sock.connect(target).is_ok()
            && let Ok(local) = sock.local_addr()
            && !local.ip().is_loopback()
            && !local.ip().is_unspecified()
        {
            return Some(local.ip());
        }
    }
    None
}

const FAB_TENANT_ID: &str = "22222222-2222-4222-8222-222222222222";
const FAB_CLIENT_ID: &str = "fab-client-id";
const FAB_TEAM: &str = "fabrikam-team-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_metrics_need_a_token_off_loopback_and_one_tenants_revoked_credentials_keep_readiness() {
    let h = Harness::new().await;
    // fabrikam's secret was revoked: Entra refuses it, its polls fail.
    h.fake.add_tenant(FAB_TENANT_ID, FAB_CLIENT_ID, "the-current-secret");
    h.fake.add_team(FAB_TEAM);
    let mut fabrikam = h.config().tenants[0].clone();
    fabrikam.name = "fabrikam".into();
    fabrikam.tenant_id = FAB_TENANT_ID.into();
    fabrikam.client_id = FAB_CLIENT_ID.into();
    fabrikam.client_secret = "a-revoked-secret".into();
    fabrikam.signl4.team_secret = FAB_TEAM.into();
    fabrikam.signl4.inbound_token = None;
    fabrikam.sentinel.clear();
    let mut cfg = h
        .config()
        .listen("0.0.0.0:0".parse().unwrap())
        .admin_token(ADMIN_TOKEN)
        .server("metrics_token", s(METRICS_TOKEN));
    cfg.tenants.push(fabrikam);
    let app = h.start(&cfg).await;
    let port = app.addr.port();
    let local = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let readyz = async |base: &str, token: Option<&str>| {
        let mut rq = client.get(format!("{base}/readyz"));
        if let Some(t) = token {
            rq = rq.bearer_auth(t);
        }
        let r = rq.send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    wait_for("fabrikam unhealthy", T, async || {
        readyz(&local, None).await.1["tenants_unhealthy"] == json!(["fabrikam"])
    })
    .await;
    // Loopback: details without a token; readiness stays 200 and the body says which tenant.
    let (code, body) = readyz(&local, None).await;
    assert_eq!(code, 200, "one tenant's revoked credentials do not make the pod unready: {body}");
    assert_eq!(body["tenants"]["fabrikam"]["ready"], false);
    assert_eq!(body["tenants"]["contoso"]["ready"], true);
    assert!(body["tenants"]["fabrikam"]["status"]["last_poll_error"].is_string(), "{body}");
    assert_eq!(client.get(format!("{local}/metrics")).send().await.unwrap().status(), 200);

    match non_loopback_ip() {
        None => eprintln!("no non-loopback local address: the off-loopback part runs in http::health's unit test only"),
        Some(ip) => {
            let lan = format!("http://{}", SocketAddr::new(ip, port));
            // Bare status only, for probes.
            let (code, body) = readyz(&lan, None).await;
            assert_eq!((code, body), (200, json!({"status": "ready"})));
            let (_, body) = readyz(&lan, Some("wrong-token-0123456789abcdef")).await;
            assert_eq!(body, json!({"status": "ready"}), "a wrong token opens nothing");
            for t in [ADMIN_TOKEN, METRICS_TOKEN] {
                let (_, body) = readyz(&lan, Some(t)).await;
                assert_eq!(body["tenants_unhealthy"], json!(["fabrikam"]), "details with the token");
            }
            assert_eq!(client.get(format!("{lan}/healthz")).send().await.unwrap().status(), 200);
            let m = client.get(format!("{lan}/metrics")).send().await.unwrap();
            assert_eq!(m.status(), 401);
            assert!(!m.text().await.unwrap().contains("s4s_"), "no metric without the token");
            let m = client.get(format!("{lan}/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
            assert_eq!(m.status(), 200);
            assert!(m.text().await.unwrap().contains("s4s_pages_sent_total"));
            let m = client.get(format!("{lan}/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
            assert_eq!(m.status(), 200);
        }
    }
    assert!(app.stop().await);

    // strict_readiness: the old behaviour, 503 while any tenant is unhealthy.
    let app = h.start(&cfg.clone().server("strict_readiness", toml::Value::Boolean(true))).await;
    let local = format!("http://127.0.0.1:{}", app.addr.port());
    wait_for("strict: 503 with fabrikam unhealthy", T, async || readyz(&local, None).await.0 == 503).await;
    let (_, body) = readyz(&local, None).await;
    assert_eq!((body["status"].clone(), body["strict_readiness"].clone()), (json!("not ready"), json!(true)));
    assert!(app.stop().await);
}

/// One random input for [`arbitrary_request`]: random bytes, or a request shaped like the
/// real ones (the webhook with hostile events, the probes with and without tokens).
fn bytes(rng: &mut impl rand::Rng, max: usize) -> Vec<u8> {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| rng.random::<u8>()).collect()
}

fn random_input<R: rand::Rng>(rng: &mut R) -> Vec<u8> {
    if rng.random_bool(0.3) {
        return bytes(rng, 300);
    }
    let mut out = vec![rng.random::<u8>(), rng.random::<u8>()];
    out.extend(bytes(rng, 40).into_iter().filter(|b| *b != 0));
    out.push(0);
    let headers = [
        "content-type: application/json".to_string(),
        format!("authorization: Bearer {ADMIN_TOKEN}"),
        "authorization: Bearer wrong".to_string(),
        format!("authorization: Bearer {}", String::from_utf8_lossy(&bytes(rng, 20))),
        "cookie: s4s_session=x".to_string(),
        "host: evil.example".to_string(),
        "x-forwarded-for: 127.0.0.1".to_string(),
    ];
    for _ in 0..rng.random_range(0..3) {
        out.extend(headers[rng.random_range(0..headers.len())].as_bytes());
        out.push(b'\n');
    }
    out.push(0);
    let weird = ["", "é", "\u{0}", "\n", "T100é", "../../", "%00", "s4s:contoso:graph-alert:1", "🦀🦀", "null"];
    let w = |rng: &mut R| weird[rng.random_range(0..weird.len())].to_string();
    let types = [json!(1), json!(201), json!(202), json!(203), json!("201"), json!(null), json!(-1), json!(1e300)];
    let event_type = types[rng.random_range(0..types.len())].clone();
    let team = [json!({"id": w(rng)}), json!(w(rng)), json!(null)][rng.random_range(0..3)].clone();
    let ev = json!({
        "eventType": event_type,
        "id": w(rng),
        "eventRaisedUtc": w(rng),
        "alert": {"statusCode": rng.random_range(-1..6), "externalEventId": w(rng), "eventId": w(rng), "id": w(rng)},
        "user": {"username": w(rng), "mailaddress": w(rng)},
        "annotation": {"message": w(rng), "id": w(rng)},
        "team": team,
    });
    let mut body = ev.to_string().into_bytes();
    if rng.random_bool(0.3) && !body.is_empty() {
        let i = rng.random_range(0..body.len());
        body.truncate(i);
    }
    out.extend(body);
    out
}

/// The in-suite twin of the `webhook_router` fuzz target (fuzz/, which needs a nightly
/// toolchain and a long build): a bounded, seeded loop of arbitrary requests through the
/// whole router in-process. Nothing panics, nothing answers 500, and off loopback without a
/// token nothing but the bare readiness status and `401` come back from the probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_answers_arbitrary_requests_without_a_panic_or_a_500() {
    use rand::SeedableRng;
    use tower::ServiceExt;
    let h = Harness::new().await;
    let cfg = h.config().admin_token(ADMIN_TOKEN).build();
    let (router, _store) = signl4_sentinel::app::offline_router(&cfg).await.expect("router");
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let (mut sent, mut statuses) = (0, std::collections::BTreeMap::new());
    for _ in 0..3000 {
        let data = random_input(&mut rng);
        let Some(req) = arbitrary_request(&data) else { continue };
        let (path, authorized) = (
            req.uri().path().to_string(),
            req.headers().get("authorization").is_some_and(|v| v.as_bytes().ends_with(ADMIN_TOKEN.as_bytes())),
        );
        let off_loopback =
            req.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().is_some_and(|c| !c.0.ip().is_loopback());
        let res = router.clone().oneshot(req).await.expect("infallible");
        let status = res.status().as_u16();
        assert_ne!(status, 500, "{path}: {:?}", String::from_utf8_lossy(&data));
        if off_loopback && !authorized && path == "/readyz" && status != 405 {
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v.as_object().map(|o| o.len()), Some(1), "bare status only: {v}");
        } else if off_loopback && !authorized && path == "/metrics" && status != 405 {
            assert_eq!(status, 401);
        }
        sent += 1;
        *statuses.entry(status).or_insert(0) += 1;
    }
    eprintln!("{sent} requests, by status: {statuses:?}");
    assert!(statuses.contains_key(&200) && statuses.contains_key(&404) && statuses.contains_key(&400), "{statuses:?}");
}
