//! Operating the connector: `jobs show` / `jobs retry` against a running service (SQLite and
//! PostgreSQL), JSON logs with stable fields, and the Grafana dashboard and Prometheus rules
//! in `deploy/` using only metrics a running connector exports (and the operations page of the docs listing them).
//! A module of the `cli` test binary (one binary less to build).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use s4s_fakecloud::{Action, Fault, FaultKind, Service, scenarios};
use s4s_store::prelude::*;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const T: Duration = Duration::from_secs(30);
const API_KEY: &str = "s4s-test-api-key-7c1f0e9a";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// `signl4-sentinel jobs --config CONFIG ARGS…`.
async fn jobs(config: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
        .arg("jobs")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .await
        .expect("run signl4-sentinel jobs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Every configured secret of the test configuration.
fn secrets() -> [&'static str; 4] {
    [TEAM, API_KEY, s4s_fakecloud::DEFAULT_CLIENT_SECRET, INBOUND_TOKEN]
}

fn assert_no_secret(what: &str, out: &str) {
    for s in secrets() {
        assert!(!out.contains(s), "{what} shows the secret {s}: {out}");
    }
}

/// A dead job whose payload and last error contain every configured secret and a token (as an
/// upstream might echo them): `jobs show` must print none of them.
async fn plant_dead_job_with_secrets(db: &Path) {
    let store = s4s_store::SqliteStore::open(db).await.unwrap();
    let mut payload = serde_json::json!({
        "Title": "planted",
        "Message": format!("team {TEAM} key {API_KEY} client {}", s4s_fakecloud::DEFAULT_CLIENT_SECRET),
        "X-S4-ExternalID": "s4s:contoso:graph-alert:planted",
    });
    payload[INBOUND_TOKEN] = Value::from("the inbound token as a key");
    let job =
        s4s_store::NewJob::once("contoso", s4s_core::jobs::page::KIND, "page:planted".into(), payload.to_string());
    store.enqueue(&[job], 1000).await.unwrap();
    let j = store.claim_jobs("test", 1000, 1000, 1).await.unwrap().remove(0);
    let error = format!(
        "rejected: SIGNL4 HTTP 404: An event source with ID {TEAM} was not found (auth: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl, key {API_KEY})"
    );
    assert!(store.bury_job(j.id, "test", &error, 1100).await.unwrap());
    // A job of a tenant no longer configured: pending (retried hourly), never dead.
    let ghost = s4s_store::NewJob::once("ghost", s4s_core::jobs::page::KIND, "page:ghost".into(), "{}".into());
    store.enqueue(&[ghost], 1000).await.unwrap();
}

/// The connector binary `run --log-format json` with its standard error collected line by
/// line (read continuously, so the pipe never fills).
struct Service4 {
    child: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Service4 {
    fn spawn(config: &Path) -> Service4 {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
            .args(["--log-format", "json", "run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .env_remove("SIGNL4_SENTINEL_LOG_FORMAT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start signl4-sentinel run");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut reader = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = lines.clone();
        tokio::spawn(async move {
            while let Ok(Some(l)) = reader.next_line().await {
                sink.lock().unwrap().push(l);
            }
        });
        Service4 { child, lines }
    }

    fn logged(&self, message: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(message))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_show_and_retry_redrive_a_dead_page_while_the_service_runs_on_sqlite_with_json_logs() {
    let h = Harness::new().await;
    plant_dead_job_with_secrets(&h.db()).await;
    // SIGNL4 refuses the first page permanently (400): it goes to dead letters.
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Status { status: 400 }, count: 1 });
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let key = format!("page:{}", ext(&a));
    // An API key (to prove it is never shown) without REST polling or verification, so that
    // the injected fault meets the page.
    let cfg = h.config().tenant(|t| {
        t.signl4.api_key = Some(API_KEY.into());
        t.signl4.verify = Some(false);
        t.sync.enabled = false;
    });
    let file = h.write_config(&cfg);
    let service = Service4::spawn(&file);
    wait_for("the service started", T, async || service.logged("signl4-sentinel started")).await;
    let look = s4s_store::SqliteStore::inspect(&h.db()).await.unwrap();
    wait_for("400 → dead letter", T, async || {
        look.get_job(&key).await.unwrap().is_some_and(|j| j.state == s4s_store::JobState::Dead)
    })
    .await;

    // `jobs show`: state, attempts, last error; secrets redacted (text and JSON).
    let out = jobs(&file, &["show", &key]).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("state:        dead") && stdout.contains("attempts:     1"), "{stdout}");
    assert!(stdout.contains("HTTP 400") && stdout.contains("\"X-S4-ExternalID\""), "{stdout}");
    for args in [vec!["show", "page:planted"], vec!["show", "page:planted", "--json"], vec!["--dead"]] {
        let out = jobs(&file, &args).await;
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert_no_secret(&format!("jobs {args:?}"), &format!("{stdout}{stderr}"));
        assert!(stdout.contains("[redacted]") && !stdout.contains("eyJ"), "{args:?}: {stdout}");
    }
    let shown: Value = serde_json::from_slice(&jobs(&file, &["show", "page:planted", "--json"]).await.stdout).unwrap();
    assert_eq!((shown["state"].as_str(), shown["attempts"].as_i64()), (Some("dead"), Some(1)));
    assert!(shown["payload"]["Message"].as_str().unwrap().starts_with("team [redacted] key [redacted]"), "{shown}");

    // Only dead letters are retried: a pending job and an unknown key are refused.
    let out = jobs(&file, &["retry", "page:ghost"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("only dead letters can be retried"), "{}", text(&out).1);
    let out = jobs(&file, &["retry", "page:nope"]).await;
    assert!(!out.status.success() && text(&out).1.contains("no job with key"), "{}", text(&out).1);

    // The redrive: the running service sends the page.
    let out = jobs(&file, &["retry", &key]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("is pending again"), "{}", text(&out).0);
    wait_for("the redriven page reaches SIGNL4", T, async || h.pages().get(&ext(&a)) == Some(&1)).await;
    wait_for("done", T, async || {
        look.get_job(&key).await.unwrap().is_some_and(|j| j.state == s4s_store::JobState::Done)
    })
    .await;
    let out = jobs(&file, &["retry", &key]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("is done") && text(&out).1.contains("nothing to retry"), "{}", text(&out).1);
    let out = jobs(&file, &[]).await;
    assert!(text(&out).0.contains("dead: 1"), "only the planted job is left: {}", text(&out).0);

    // JSON logs: every line is one JSON object; the paging line has the stable fields.
    wait_for("paging logged", T, async || service.logged("\"message\":\"paged\"")).await;
    let mut service = service;
    service.child.kill().await.ok();
    let lines = service.lines.lock().unwrap().clone();
    assert!(!lines.is_empty());
    let mut paged = None;
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"));
        for f in ["timestamp", "level", "target", "message"] {
            assert!(v.get(f).is_some(), "{f} missing: {l}");
        }
        assert_no_secret("a log line", l);
        if v["message"] == "paged" {
            paged = Some(v);
        }
    }
    let p = paged.expect("a paging log line");
    assert_eq!(p["level"], "INFO");
    assert_eq!(p["tenant"], "contoso");
    assert_eq!(p["source"], "graph-alert");
    assert_eq!(p["alert_id"], a["id"]);
    assert_eq!(p["job_key"], key.as_str());
    assert_eq!(p["external_id"], ext(&a).as_str());
    assert!(p["event_id"].as_str().is_some_and(|e| !e.is_empty() && e != "-"), "{p}");
    for f in s4s_sentinel_log_fields() {
        assert!(p.get(f).is_some(), "{f} missing on the paging line: {p}");
    }
}

fn s4s_sentinel_log_fields() -> [&'static str; 6] {
    signl4_sentinel::telemetry::LOG_FIELDS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_retry_dead_redrives_every_dead_page_while_replicas_run_on_postgres() {
    let Some(pg) = postgres_schema_url().await else { return };
    let h = Harness::new().await;
    h.fake.inject(Fault { service: Service::Signl4, kind: FaultKind::Status { status: 400 }, count: 2 });
    let alerts = h.fake.add_alerts(TENANT, [scenarios::mde_malware("1"), scenarios::entra_risky_signin("2")]);
    let cfg = h.config().postgres(&pg);
    let app = h.start(&cfg).await;
    wait_for("two dead letters", T, async || app.store.job_counts().await.unwrap().dead == 2).await;
    assert!(h.pages().is_empty());
    let file = h.write_config(&cfg);

    let out = jobs(&file, &["show", &format!("page:{}", ext(&alerts[0]))]).await;
    assert!(out.status.success() && text(&out).0.contains("state:        dead"), "{:?}", text(&out));
    let out = jobs(&file, &["retry", "--dead", "--tenant", "fabrikam"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("not configured (configured: contoso)"), "{}", text(&out).1);

    let out = jobs(&file, &["retry", "--dead", "--tenant", "contoso"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&out).0.contains("2 dead job(s) of tenant contoso are pending again"), "{}", text(&out).0);
    wait_for("both redriven pages reach SIGNL4", T, async || h.pages().len() == 2).await;
    assert_paged_exactly_once(&h, &alerts);
    let out = jobs(&file, &["retry", "--dead"]).await;
    assert!(text(&out).0.contains("no dead jobs"), "{}", text(&out).0);
    app.stop().await;
}

/// Metric names a PromQL text refers to (`s4s_…`, with `_bucket` / `_sum` / `_count` as written).
fn metric_names(promql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = promql;
    while let Some(i) = rest.find("s4s_") {
        let name: String =
            rest[i..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
        rest = &rest[i + name.len()..];
        out.insert(name);
    }
    out
}

/// The `expr:` of every rule in a Prometheus rules file, checked line by line: a list of
/// groups, each rule with a unique `alert`, an `expr`, a `severity` label and a `summary`.
fn rule_exprs(yaml: &str) -> Vec<(String, String)> {
    assert!(!yaml.contains('\t'), "YAML must not contain tabs");
    assert!(yaml.lines().any(|l| l == "groups:"), "a rules file starts with groups:");
    let mut rules: Vec<(String, Vec<String>)> = Vec::new();
    for l in yaml.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
        let t = l.trim_start();
        if let Some(name) = t.strip_prefix("- alert: ") {
            rules.push((name.trim().to_string(), Vec::new()));
        } else if let Some((_, lines)) = rules.last_mut() {
            lines.push(t.to_string());
        }
    }
    assert!(!rules.is_empty(), "no rules found");
    let names: BTreeSet<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), rules.len(), "alert names are unique");
    rules
        .iter()
        .map(|(name, lines)| {
            let expr = lines.iter().find_map(|l| l.strip_prefix("expr: ")).unwrap_or_else(|| panic!("{name}: no expr"));
            for needed in ["for: ", "severity: ", "summary: ", "description: "] {
                assert!(lines.iter().any(|l| l.starts_with(needed)), "{name}: no {needed}");
            }
            assert!(
                !expr.trim().is_empty() && expr.matches('(').count() == expr.matches(')').count(),
                "{name}: {expr}"
            );
            (name.clone(), expr.trim().to_string())
        })
        .collect()
}

/// The dashboard parses, takes its data source as a variable, and returns every PromQL query.
fn dashboard_exprs(json: &str) -> Vec<String> {
    let d: Value = serde_json::from_str(json).expect("the Grafana dashboard is valid JSON");
    let vars = d["templating"]["list"].as_array().expect("templating");
    assert!(vars.iter().any(|v| v["name"] == "datasource" && v["type"] == "datasource" && v["query"] == "prometheus"));
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        assert!(ids.insert(p["id"].as_i64().expect("panel id")), "duplicate panel id {}", p["id"]);
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "panel {}", p["title"]);
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {} has no query", p["title"]);
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${datasource}");
            exprs.push(t["expr"].as_str().expect("expr").to_string());
        }
    }
    exprs
}

/// Sample names of a Prometheus text exposition, and the `# HELP` names.
fn exported(scrape: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let samples = scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_string())
        .collect();
    let helped =
        scrape.lines().filter_map(|l| l.strip_prefix("# HELP ")?.split(' ').next()).map(str::to_string).collect();
    (samples, helped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_alert_rules_use_only_metrics_a_running_connector_exports() {
    let dashboard = std::fs::read_to_string(repo("deploy/grafana/signl4-sentinel.json")).unwrap();
    let rules = std::fs::read_to_string(repo("deploy/prometheus/alerts.yml")).unwrap();
    let mut wanted = BTreeSet::new();
    for e in dashboard_exprs(&dashboard) {
        wanted.extend(metric_names(&e));
    }
    let rules = rule_exprs(&rules);
    assert!(rules.len() >= 8, "{rules:?}");
    for (_, e) in &rules {
        wanted.extend(metric_names(e));
    }
    assert!(wanted.contains("s4s_time_to_page_seconds_bucket") && wanted.contains("s4s_queue_age_seconds"));

    // A page and its acknowledgement, so the latency histograms have samples.
    let h = Harness::new().await;
    let app = h.start_connected(&h.config(), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("9"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(None)).await.unwrap();
    wait_for("acknowledgement written to Graph", T, async || {
        h.fake.alert(TENANT, a["id"].as_str().unwrap()).unwrap()["status"] == "inProgress"
    })
    .await;
    let scrape = reqwest::get(format!("http://{}/metrics", app.addr)).await.unwrap().text().await.unwrap();
    let (samples, helped) = exported(&scrape);
    let missing: Vec<&String> = wanted.iter().filter(|n| !samples.contains(*n)).collect();
    assert!(missing.is_empty(), "referenced in deploy/ but not exported: {missing:?}\n{scrape}");
    for m in signl4_sentinel::telemetry::METRICS {
        assert!(helped.contains(m.name), "no # HELP for {}", m.name);
    }
    let line = |prefix: &str| scrape.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    let count = |prefix: &str| line(prefix).and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).unwrap_or(0.0);
    assert!(count("s4s_time_to_page_seconds_count{tenant=\"contoso\",kind=\"page\"}") >= 1.0, "{scrape}");
    assert!(count("s4s_time_to_acknowledge_seconds_count{tenant=\"contoso\"}") >= 1.0, "{scrape}");
    assert!(line("s4s_queue_age_seconds{kind=\"page\"}").is_some(), "{scrape}");
    let build = line("s4s_build_info{").unwrap_or_default();
    assert!(
        build.contains(&format!("revision=\"{}\"", signl4_sentinel::buildinfo::REVISION)) && build.ends_with(" 1"),
        "{scrape}"
    );
    app.stop().await;
}

#[test]
fn the_dashboard_has_a_panel_for_every_exported_metric() {
    let json = std::fs::read_to_string(repo("deploy/grafana/signl4-sentinel.json")).unwrap();
    let used: BTreeSet<String> = dashboard_exprs(&json).iter().flat_map(|e| metric_names(e)).collect();
    let missing: Vec<&str> = signl4_sentinel::telemetry::METRICS
        .iter()
        .map(|m| m.name)
        .filter(|name| {
            !used
                .iter()
                .any(|u| u == name || u.strip_prefix(*name).is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s)))
        })
        .collect();
    assert!(missing.is_empty(), "deploy/grafana/signl4-sentinel.json has no panel for {missing:?}");
}

#[test]
fn the_operations_page_lists_every_metric_with_its_type_and_labels() {
    let page = std::fs::read_to_string(repo("docs/src/operations.md")).unwrap();
    for m in signl4_sentinel::telemetry::METRICS {
        let row = page.lines().find(|l| l.starts_with(&format!("| `{}` |", m.name))).unwrap_or_else(|| {
            panic!(
                "docs/src/operations.md: the Metrics table has no row for {} (add `| `{}` | {} | labels | meaning |`)",
                m.name,
                m.name,
                m.kind.as_str()
            )
        });
        assert!(row.contains(m.kind.as_str()), "{}: type {} missing: {row}", m.name, m.kind.as_str());
        for l in m.labels {
            assert!(row.contains(&format!("`{l}`")), "{}: label {l} missing: {row}", m.name);
        }
    }
}

#[test]
fn jobs_help_explains_show_and_retry() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel")).args(["jobs", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(out.status.success());
    for s in ["show", "retry", "--dead", "Safe while the service runs"] {
        assert!(help.contains(s), "jobs --help lacks {s}: {help}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
        .args(["jobs", "retry", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("a job that is pending or running is refused"), "{help}");
}
mod selfmon;
