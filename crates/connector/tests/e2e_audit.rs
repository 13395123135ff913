//! The `SIGNL4_CL` audit trail end to end: page, acknowledge, note and close one alert, and
//! find the matching records in the fake Logs Ingestion stream once each (by `RecordId`) —
//! across a restart of the connector, uploads answered `429`, and a batch the service refuses
//! as too large (`413`, split until it fits). A `403` says which role the app needs.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use s4s_fakecloud::{
    Action, Api, DEFAULT_CLIENT_ID, DEFAULT_DCR, DEFAULT_STREAM, Fault, FaultKind, Responder, Service, scenarios,
};
use serde_json::Value;
use toml::Table;

const T: Duration = Duration::from_secs(30);

/// The example configuration with `[tenant.audit]` at the fake's default rule.
fn with_audit(h: &Harness, interval: &str) -> ConfigBuilder {
    let mut audit = Table::new();
    audit.insert("endpoint".into(), format!("{}/logsingestion", h.fake.url()).into());
    audit.insert("dcr_immutable_id".into(), DEFAULT_DCR.into());
    audit.insert("interval".into(), interval.into());
    h.config().tenant(|t| {
        t.extra.insert("audit".into(), audit.into());
    })
}

fn rows(h: &Harness) -> Vec<Value> {
    h.fake.ingested_rows(DEFAULT_DCR, DEFAULT_STREAM)
}

/// Rows by action, for the alert `alert_id`.
fn actions(h: &Harness, alert_id: &str) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in rows(h).into_iter().filter(|r| r["AlertId"] == alert_id) {
        m.entry(r["Action"].as_str().unwrap_or("").to_string()).or_default().push(r);
    }
    m
}

fn assert_each_record_once(h: &Harness) {
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows(h) {
        *by_id.entry(r["RecordId"].as_str().expect("every row has a RecordId").to_string()).or_default() += 1;
    }
    let repeated: Vec<_> = by_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "records uploaded more than once: {repeated:?}");
}

fn statuses(h: &Harness) -> Vec<u16> {
    h.fake.request_log(Api::LogsIngestion).iter().map(|r| r.status).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_ack_note_close_reach_signl4_cl_once_each_across_a_restart_a_429_and_a_413() {
    let h = Harness::new().await;
    // Every upload is throttled until the end: the records wait in the store meanwhile.
    h.fake.inject(Fault {
        service: Service::LogsIngestion,
        kind: FaultKind::Throttle { retry_after_secs: 0.2 },
        count: 1_000_000,
    });
    let cfg = with_audit(&h, "0s");
    let app = h.start_connected(&cfg, 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("301"));
    let id = a["id"].as_str().unwrap().to_string();
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let rene = Some(Responder::default());
    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(rene.clone())).await.unwrap();
    let graph = |h: &Harness| h.fake.alert(TENANT, &id).unwrap();
    wait_for("acknowledged in Graph", T, async || graph(&h)["status"] == "inProgress").await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Annotate(rene.clone(), "isolating ws-042".into())).await.unwrap();
    wait_for("note in Graph", T, async || graph(&h)["comments"].as_array().is_some_and(|c| c.len() == 2)).await;
    wait_for("an upload answered 429", T, async || statuses(&h).contains(&429)).await;

    // A restart while records wait: nothing is lost or doubled.
    app.stop().await;
    let app = h.start_connected(&cfg, 0.0, None).await;
    h.fake.signl4_action(TEAM, &ext(&a), Action::Close(rene)).await.unwrap();
    wait_for("resolved in Graph", T, async || graph(&h)["status"] == "resolved").await;
    assert!(rows(&h).is_empty(), "nothing was accepted while throttled");

    // The service takes uploads again, but only small ones: the waiting batch is split.
    h.fake.update_limits(|l| l.logs_ingestion_max_bytes = Some(1500));
    h.fake.clear_faults();
    wait_for("page, acknowledgement, note and close in SIGNL4_CL", T, async || {
        let m = actions(&h, &id);
        ["paged", "acknowledged", "annotated", "closed"].iter().all(|a| m.contains_key(*a))
            && m.get("written_back").is_some_and(|w| w.len() >= 3)
    })
    .await;
    // Uploads that come in meanwhile must not bring a second copy either.
    h.polls(2).await;
    assert_each_record_once(&h);
    assert!(statuses(&h).contains(&413), "a batch over the limit was refused: {:?}", statuses(&h));

    let m = actions(&h, &id);
    for (action, want) in [("paged", 1), ("acknowledged", 1), ("annotated", 1), ("closed", 1)] {
        assert_eq!(m[action].len(), want, "{action}: {:?}", m[action]);
    }
    let paged = &m["paged"][0];
    assert_eq!(paged["Tenant"], "contoso");
    assert_eq!(paged["Source"], "graph");
    assert_eq!(paged["Team"], "default");
    assert_eq!(paged["Actor"], "connector");
    assert_eq!(paged["Severity"], a["severity"].as_str().unwrap().to_ascii_lowercase());
    assert_eq!(paged["Title"], a["title"]);
    assert_eq!(paged["IncidentId"], a["incidentId"]);
    assert!(paged["Signl4EventId"].as_str().is_some_and(|e| !e.is_empty()), "{paged}");
    assert!(paged["LatencyMs"].as_i64().is_some(), "{paged}");
    for (action, status) in [("acknowledged", "acknowledged"), ("annotated", "acknowledged"), ("closed", "closed")] {
        let r = &m[action][0];
        assert_eq!(r["Actor"], "rene@signl4.com", "{action}: {r}");
        assert_eq!(r["Status"], status, "{action}: {r}");
        assert_eq!(r["Team"], "default", "{action}: {r}");
        assert!(r["Signl4AlertId"].as_str().is_some_and(|s| !s.is_empty()), "{action}: {r}");
    }
    assert_eq!(m["annotated"][0]["Details"]["text"], "isolating ws-042");
    let written: Vec<&str> = m["written_back"].iter().filter_map(|r| r["Status"].as_str()).collect();
    assert!(written.contains(&"inProgress") && written.contains(&"resolved"), "{written:?}");
    // Every row has the 16 columns of the table, nothing else.
    for r in rows(&h) {
        assert_eq!(r.as_object().unwrap().len(), s4s_core::audit::COLUMNS.len(), "{r}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_monitoring_metrics_publisher_readyz_says_so_and_records_wait_for_the_role() {
    let h = Harness::new().await;
    h.fake.set_dcr_publishers(DEFAULT_DCR, &[]);
    let app = h.start_connected(&with_audit(&h, "0s"), 0.0, None).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("302"));
    wait_for("paged", T, async || h.pages().contains_key(&ext(&a))).await;
    let url = format!("http://{}/readyz", app.addr);
    let readyz = async || -> Value { reqwest::get(&url).await.unwrap().json().await.unwrap() };
    wait_for("readyz shows the audit error", T, async || {
        readyz().await["tenants"]["contoso"]["status"]["audit_error"]
            .as_str()
            .is_some_and(|e| e.contains("403") && e.contains("Monitoring Metrics Publisher"))
    })
    .await;
    assert!(rows(&h).is_empty());
    // The role arrives; the next record re-arms the upload and everything waiting is sent.
    h.fake.set_dcr_publishers(DEFAULT_DCR, &[DEFAULT_CLIENT_ID]);
    h.fake.signl4_action(TEAM, &ext(&a), Action::Acknowledge(Some(Responder::default()))).await.unwrap();
    let id = a["id"].as_str().unwrap().to_string();
    wait_for("the waiting records arrive", T, async || {
        let m = actions(&h, &id);
        m.contains_key("paged") && m.contains_key("acknowledged")
    })
    .await;
    wait_for("readyz clears the error", T, async || {
        readyz().await["tenants"]["contoso"]["status"]["audit_error"].is_null()
    })
    .await;
    assert_each_record_once(&h);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_page_is_recorded_as_routed_paged_and_delivered_to_its_team() {
    const KEY: &str = "audit-api-key";
    let h = Harness::new().await;
    h.fake.add_api_key(TEAM, KEY);
    let route: Table = toml::from_str("name = \"soc-high\"\n[match]\nmin_severity = \"high\"").unwrap();
    let cfg = with_audit(&h, "0s").tenant(|t| {
        t.routes = vec![route];
        t.signl4.api_key = Some(KEY.into());
        t.signl4.api_poll_interval = Some(Duration::from_secs(30));
    });
    let app = h.start(&cfg).await;
    let a = h.fake.add_alert(TENANT, scenarios::mde_malware("303"));
    assert_eq!(a["severity"], "high");
    let id = a["id"].as_str().unwrap().to_string();
    wait_for("routed, paged and delivered", T, async || {
        let m = actions(&h, &id);
        ["routed", "paged", "delivered"].iter().all(|a| m.contains_key(*a))
    })
    .await;
    let m = actions(&h, &id);
    for action in ["routed", "paged", "delivered"] {
        assert_eq!(m[action].len(), 1, "{action}: {:?}", m[action]);
        assert_eq!(m[action][0]["Team"], "soc-high", "{action}");
    }
    assert_eq!(m["delivered"][0]["Status"], "delivered");
    assert_eq!(m["delivered"][0]["Signl4EventId"], m["paged"][0]["Signl4EventId"]);
    assert_each_record_once(&h);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_the_storm_budget_holds_back_is_recorded_as_held_back() {
    let h = Harness::new().await;
    let storm: Table = toml::from_str("budget = 1\nwindow = \"10m\"\nhigh_lane = 0").unwrap();
    let app = h.start(&with_audit(&h, "0s").tenant(|t| t.signl4.storm = Some(storm))).await;
    let first = h.fake.add_alert(TENANT, scenarios::mde_malware("304"));
    wait_for("the first alert paged", T, async || h.pages().contains_key(&ext(&first))).await;
    let second = h.fake.add_alert(TENANT, scenarios::mde_malware("305"));
    let id = second["id"].as_str().unwrap().to_string();
    wait_for("the second alert held back", T, async || actions(&h, &id).contains_key("held_back")).await;
    let held = &actions(&h, &id)["held_back"][0];
    assert_eq!(held["Status"], "held");
    assert_eq!(held["Details"]["reason"], "storm budget");
    assert!(held["Details"]["then"].as_str().is_some_and(|j| j.starts_with("summary:")), "{held}");
    assert!(!actions(&h, &id).contains_key("paged"));
    assert!(!h.pages().contains_key(&ext(&second)));
    assert_each_record_once(&h);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_incident_page_and_its_acknowledgement_name_the_incident() {
    let h = Harness::new().await;
    let app = h.start_connected(&with_audit(&h, "0s"), 0.0, None).await;
    let (i, alerts) = scenarios::sentinel_incident("");
    let inc = h.fake.add_sentinel_incident(s4s_fakecloud::DEFAULT_WORKSPACE, i, alerts);
    let name = inc["name"].as_str().unwrap().to_string();
    let sext = s4s_core::ids::external_id("contoso", "sentinel.soc", &name);
    wait_for("paged", T, async || h.pages().contains_key(&sext)).await;
    h.fake.signl4_action(TEAM, &sext, Action::Acknowledge(Some(Responder::default()))).await.unwrap();
    let of_incident = |h: &Harness| -> BTreeMap<String, Vec<Value>> {
        let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in rows(h).into_iter().filter(|r| r["IncidentId"] == name.as_str()) {
            m.entry(r["Action"].as_str().unwrap_or("").to_string()).or_default().push(r);
        }
        m
    };
    wait_for("paged, acknowledged and written back", T, async || {
        let m = of_incident(&h);
        m.contains_key("paged")
            && m.contains_key("acknowledged")
            && m.get("written_back").is_some_and(|w| w.iter().any(|r| r["Status"] == "inProgress"))
    })
    .await;
    let m = of_incident(&h);
    for action in ["paged", "acknowledged"] {
        let r = &m[action][0];
        assert_eq!(r["Source"], "sentinel", "{r}");
        assert_eq!(r["AlertId"], Value::Null, "an incident page has no alert id: {r}");
        assert_eq!(r["Title"], inc["properties"]["title"], "{r}");
    }
    assert_eq!(m["written_back"][0]["Details"]["target"], "sentinel incident");
    assert_each_record_once(&h);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_audit_rule_with_a_dry_upload() {
    let h = Harness::new().await;
    let f = h.write_config(&with_audit(&h, "0s"));
    let doctor = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
            .args(["doctor", "--config"])
            .arg(&f)
            .output()
            .expect("doctor runs")
    };
    let text = String::from_utf8_lossy(&doctor().stdout).to_string();
    assert!(text.contains("✔ Logs Ingestion (audit DCR)"), "{text}");
    assert!(rows(&h).is_empty(), "the dry upload writes no row");
    h.fake.set_dcr_publishers(DEFAULT_DCR, &[]);
    let text = String::from_utf8_lossy(&doctor().stdout).to_string();
    let line = text.lines().find(|l| l.contains("Logs Ingestion (audit DCR)")).unwrap_or_default().to_string();
    assert!(line.contains('✘'), "{text}");
    assert!(text.contains("Monitoring Metrics Publisher"), "{text}");
}
