//! Secrets stay secret: SIGNL4's 404 body echoes an unknown team secret (`signl4.md` §1.6);
//! with `RUST_LOG=trace` the secret must appear nowhere — not in the log, `/readyz`,
//! `/metrics`, the database, or `jobs`.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use s4s_fakecloud::scenarios;

const SECRET: &str = "typo-team-secret-4711-must-not-leak";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_team_secret_reaches_no_log_page_or_database() {
    let h = Harness::new().await;
    h.fake.add_alerts(TENANT, (0..3).map(scenarios::synthetic));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = h
        .config()
        .listen(format!("127.0.0.1:{port}").parse().unwrap())
        .tenant(|t| t.signl4.team_secret = SECRET.into());
    let cfg_path = h.write_config(&cfg);
    let log = h.dir.path().join("trace.log");
    let file = std::fs::File::create(&log).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_signl4-sentinel"));
    let mut child = spawn_run(bin, &cfg_path, "trace", Stdio::from(file));
    let base = format!("http://127.0.0.1:{port}");
    let mut readyz = String::new();
    wait_for("SIGNL4 rejection shown in /readyz", Duration::from_secs(30), async || {
        readyz = match reqwest::get(format!("{base}/readyz")).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => return false,
        };
        readyz.contains("does not know this team secret")
    })
    .await;
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    let jobs =
        std::process::Command::new(bin).args(["jobs", "--config"]).arg(&cfg_path).arg("--dead").output().unwrap();
    child.kill().await.unwrap();
    let _ = child.wait().await;
    let db = std::fs::read(h.db()).unwrap_or_default();
    let wal = std::fs::read(h.db().with_extension("db-wal")).unwrap_or_default();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("SIGNL4 REJECTED THE TEAM SECRET"), "the rejection is logged loudly");
    assert!(text.contains("[redacted]"), "the echoed secret is replaced");
    for (what, hay) in [
        ("trace log", text.into_bytes()),
        ("/readyz", readyz.into_bytes()),
        ("/metrics", metrics.into_bytes()),
        ("jobs stdout", jobs.stdout),
        ("jobs stderr", jobs.stderr),
        ("database", db),
        ("database WAL", wal),
    ] {
        let found = hay.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
        assert!(!found, "the team secret appears in the {what}");
    }
}

/// A careless upstream echoes the whole request in its error body — the token endpoint the
/// form with the client secret, SIGNL4 the webhook URL with the team secret and the
/// `X-S4-Api-Key` header: at `RUST_LOG=trace` none of them reaches the log, `/readyz`,
/// `/metrics`, the database or `jobs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_client_secret_team_secret_and_api_key_reach_nothing() {
    use s4s_fakecloud::{DEFAULT_CLIENT_SECRET, Fault, FaultKind, Service};
    const API_KEY: &str = "api-key-4711-must-not-leak";
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, API_KEY);
    h.fake.add_alerts(TENANT, (0..10).map(scenarios::synthetic));
    h.fake.inject(Fault { service: Service::Entra, kind: FaultKind::Echo { status: 401 }, count: 3 });
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Echo { status: 400 }, count: 6 });
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = h.config().listen(format!("127.0.0.1:{port}").parse().unwrap()).tenant(|t| {
        t.signl4.api_key = Some(API_KEY.into());
        t.signl4.api_poll_interval = Some(Duration::from_millis(300));
    });
    let cfg_path = h.write_config(&cfg);
    let log = h.dir.path().join("trace.log");
    let file = std::fs::File::create(&log).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_signl4-sentinel"));
    let mut child = spawn_run(bin, &cfg_path, "trace", Stdio::from(file));
    let base = format!("http://127.0.0.1:{port}");
    // Every echo was served (the upstreams answered with the secrets in their bodies), and the
    // connector went on: a dead letter from the echoed 400 page, pages after the faults ran out.
    let served = holds_within(Duration::from_secs(60), POLL, async || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("Request was:") && h.pages().len() >= 2
    })
    .await;
    if !served {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let bad: Vec<&str> = text.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).take(20).collect();
        panic!("pages {:?}; warnings:\n{}", h.pages().len(), bad.join("\n"));
    }
    let readyz = reqwest::get(format!("{base}/readyz")).await.unwrap().text().await.unwrap();
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    let jobs =
        std::process::Command::new(bin).args(["jobs", "--config"]).arg(&cfg_path).arg("--dead").output().unwrap();
    child.kill().await.unwrap();
    let _ = child.wait().await;
    let db = std::fs::read(h.db()).unwrap_or_default();
    let wal = std::fs::read(h.db().with_extension("db-wal")).unwrap_or_default();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("[redacted]"), "the echoed secrets are replaced");
    for secret in [DEFAULT_CLIENT_SECRET, TEAM, API_KEY] {
        for (what, hay) in [
            ("trace log", text.as_bytes()),
            ("/readyz", readyz.as_bytes()),
            ("/metrics", metrics.as_bytes()),
            ("jobs stdout", &jobs.stdout[..]),
            ("jobs stderr", &jobs.stderr[..]),
            ("database", &db[..]),
            ("database WAL", &wal[..]),
        ] {
            let found = hay.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret} appears in the {what}");
        }
    }
}
