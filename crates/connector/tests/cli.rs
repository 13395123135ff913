//! The binary's command line: help, configuration checks and the demo; `doctor` in [`doctor`]; operating it
//! (`jobs show / retry`, JSON logs, dashboards and alert rules) in [`ops`].

mod common;
mod doctor;
mod ops;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use signl4_sentinel::testkit::{holds_within, spawn_run};
use toml::{Table, Value};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
}

/// The printed example (`config example`), edited as a TOML table (not as text).
fn example_with(edit: impl FnOnce(&mut Table)) -> String {
    let text = String::from_utf8(bin().args(["config", "example"]).output().unwrap().stdout).unwrap();
    let mut t: Table = toml::from_str(&text).unwrap();
    edit(&mut t);
    toml::to_string(&t).unwrap()
}

/// The first `[[tenant]]` of a configuration table.
fn tenant(t: &mut Table) -> &mut Table {
    t["tenant"][0].as_table_mut().unwrap()
}

fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

#[test]
fn help_explains_every_command() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "demo", "emulator", "config", "doctor", "jobs"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
}

#[test]
fn the_printed_example_passes_config_check() {
    let out = bin().args(["config", "example"]).output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s4s.toml");
    std::fs::write(&f, &out.stdout).unwrap();
    let out = bin().args(["config", "check"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK (1 tenant(s): contoso)"));
}

#[test]
fn config_errors_name_the_key_exit_2_and_hide_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    let example = String::from_utf8(bin().args(["config", "example"]).output().unwrap().stdout).unwrap();
    std::fs::write(&f, example_with(|t| tenant(t)["poll_interval"] = text("10 sec"))).unwrap();
    let out = bin().args(["config", "check"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tenant[0].poll_interval") && err.contains("fix:"), "{err}");
    assert!(!err.contains("emulator-client-secret"));

    // A missing environment variable for a secret.
    std::fs::write(&f, example_with(|t| tenant(t)["client_secret"] = text("env:S4S_TEST_UNSET_SECRET"))).unwrap();
    let out = bin().args(["config", "check"]).arg(&f).env_remove("S4S_TEST_UNSET_SECRET").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("S4S_TEST_UNSET_SECRET is not set"));

    // Environment overrides are applied (and validated) too.
    std::fs::write(&f, &example).unwrap();
    let out =
        bin().args(["config", "check"]).arg(&f).env("SIGNL4_SENTINEL__DELIVERY__CONCURRENCY", "0").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("delivery.concurrency"));

    // An invalid Sentinel classification pair is refused at load, listing the valid pairs.
    std::fs::write(&f, example_with(|t| tenant(t)["sentinel"][0]["close_classification"] = text("TruePositive")))
        .unwrap();
    let out = bin().args(["config", "check"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tenant[0].sentinel[0].close_classification") && err.contains("TruePositive → SuspiciousActivity"),
        "{err}"
    );

    // An invalid route is refused naming the rule and the key.
    std::fs::write(
        &f,
        example_with(|t| {
            let route: Table =
                toml::from_str("name = \"identity\"\nteam_secret = \"x-team\"\n[match]\nmin_severity = \"urgent\"")
                    .unwrap();
            tenant(t).insert("route".into(), Value::Array(vec![Value::Table(route)]));
        }),
    )
    .unwrap();
    let out = bin().args(["config", "check"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tenant[0].route[0].match.min_severity") && err.contains("urgent"), "{err}");

    let out = bin().args(["config", "check", "/nonexistent/s4s.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn demo_once_pages_every_alert_exactly_once() {
    let out = bin().args(["demo", "--once"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("RESULT: every alert was paged exactly once"), "{stdout}");
    assert!(stdout.contains("Informational (filtered)"));
}

/// The documented manual flow: `emulator` in one terminal, `run --config` with the printed
/// example in another. Every sample alert and the sample Sentinel incident are paged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_runs_against_the_emulator() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut emu = tokio::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
        .args(["emulator", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = example_with(|t| {
        t["server"]["listen"] = text("127.0.0.1:0");
        t["storage"]["path"] = text(dir.path().join("s4s.db").display().to_string());
        let tenant = tenant(t);
        tenant["poll_interval"] = text("500ms");
        for (_, url) in tenant["endpoints"].as_table_mut().unwrap().iter_mut() {
            *url = text(url.as_str().unwrap().replacen("127.0.0.1:4010", &format!("127.0.0.1:{port}"), 1));
        }
    });
    let f = dir.path().join("s4s.toml");
    std::fs::write(&f, cfg).unwrap();
    let mut run = spawn_run(Path::new(env!("CARGO_BIN_EXE_signl4-sentinel")), &f, "info", Stdio::null());
    let url = format!("http://127.0.0.1:{port}/_control/teams/emulator-team-secret/events");
    let events = async || match reqwest::get(&url).await {
        Ok(r) => r.json::<serde_json::Value>().await.ok().and_then(|v| v.as_array().map(|a| a.len())).unwrap_or(0),
        Err(_) => 0,
    };
    // 5 Graph alerts (the Sentinel one is read from the workspace instead) − 1 + 1 incident.
    holds_within(Duration::from_secs(30), Duration::from_millis(100), async || events().await >= 5).await;
    let pages = events().await;
    run.kill().await.ok();
    emu.kill().await.ok();
    assert_eq!(pages, 5, "pages received by the emulator's SIGNL4");
}

#[test]
fn jobs_shows_the_outbox_of_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s4s.toml");
    std::fs::write(
        &f,
        example_with(|t| t["storage"]["path"] = text(dir.path().join("state.db").display().to_string())),
    )
    .unwrap();
    // Before the service ever ran: a clear error.
    let out = bin().args(["jobs", "--config"]).arg(&f).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    // While the service holds the database (its lock file), `jobs` still reads it.
    let held = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(s4s_store::SqliteStore::open(&dir.path().join("state.db")))
        .unwrap();
    let out = bin().args(["jobs", "--dead", "--config"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "pending: 0  parked: 0  done: 0  dead: 0  quarantined: 0");
    drop(held);
}

#[test]
fn version_names_the_git_revision_it_was_built_from() {
    let out = bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("signl4-sentinel {} (rev ", env!("CARGO_PKG_VERSION"))), "{text}");
    // Built from this work tree: the revision is its HEAD (maybe marked -modified).
    if let Ok(o) = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output()
        && o.status.success()
        && std::env::var("S4S_BUILD_REVISION").is_err()
    {
        let head = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert!(text.contains(&format!("(rev {head}")), "--version does not name HEAD {head}: {text}");
    }
}

/// A one-shot HTTP server on loopback answering `status` to one request.
fn answer_once(status: &'static str) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
        }
    });
    addr
}

#[test]
fn healthcheck_exits_0_for_a_healthy_service_and_1_otherwise() {
    let healthy = answer_once("200 OK");
    let out = bin().args(["healthcheck", "--listen", &healthy.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let failing = answer_once("503 Service Unavailable");
    let out = bin().args(["healthcheck", "--listen", &failing.to_string()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered 503"), "{}", String::from_utf8_lossy(&out.stderr));

    // Nobody listens: refused, exit 1 (a port just freed).
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = bin().args(["healthcheck", "--listen", &free.to_string()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unhealthy:"));

    // The image's listen address (0.0.0.0) is asked on loopback, from the environment.
    let healthy = answer_once("200 OK");
    let out = bin()
        .arg("healthcheck")
        .env("SIGNL4_SENTINEL__SERVER__LISTEN", format!("0.0.0.0:{}", healthy.port()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = bin().args(["healthcheck", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the listen address"));
}
