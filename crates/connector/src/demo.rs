//! `demo` and `emulator`: the connector against the built-in fake cloud, no account needed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use s4s_fakecloud::{DEFAULT_TEAM_SECRET, DEFAULT_TENANT_ID, FakeCloud, ResponderPlan, scenarios};
use serde_json::{Value, json};

use crate::testkit::{Harness, holds_within};

/// Runs only the fake cloud until Ctrl-C.
pub async fn emulator(listen: SocketAddr, alerts: usize) -> anyhow::Result<()> {
    let fc = FakeCloud::start(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    fc.seed_defaults();
    let cat = scenarios::catalogue();
    for i in 0..alerts {
        let (_, make) = cat[i % cat.len()];
        fc.add_alert(DEFAULT_TENANT_ID, make(&format!("{}", 100 + i)));
    }
    let (inc, inc_alerts) = scenarios::sentinel_incident("");
    fc.add_sentinel_incident(s4s_fakecloud::DEFAULT_WORKSPACE, inc, inc_alerts);
    let u = fc.url();
    println!("signl4-sentinel fake cloud listening on {u}");
    println!();
    println!("  Entra ID token endpoint  {u}/entra/{DEFAULT_TENANT_ID}/oauth2/v2.0/token");
    println!("  Graph Security           {u}/graph/v1.0/security/alerts_v2");
    println!("  SIGNL4 webhook           {u}/signl4/webhook/{{teamSecret}}");
    println!("  SIGNL4 REST API          {u}/signl4/api/v2/...");
    println!(
        "  Sentinel (ARM)           {u}/arm/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}/providers/Microsoft.SecurityInsights/incidents",
        s4s_fakecloud::DEFAULT_SUBSCRIPTION,
        s4s_fakecloud::DEFAULT_RESOURCE_GROUP,
        s4s_fakecloud::DEFAULT_WORKSPACE
    );
    println!("  Log Analytics            {u}/loganalytics/v1/workspaces/{}/query", s4s_fakecloud::DEFAULT_WORKSPACE_ID);
    println!("  control API              {u}/_control/...  (alerts, incidents, faults, responders, settings, stats)");
    println!();
    println!(
        "  {alerts} Graph alert(s) and one Sentinel incident created. Credentials match `signl4-sentinel config example`; try:"
    );
    println!("    signl4-sentinel config example > s4s.toml && signl4-sentinel run --config s4s.toml");
    println!(
        "  Add an alert:  curl -XPOST {u}/_control/tenants/{DEFAULT_TENANT_ID}/alerts -H 'content-type: application/json' -d '{{\"title\":\"Test\",\"severity\":\"high\"}}'"
    );
    println!("  What SIGNL4 got: curl {u}/_control/teams/{DEFAULT_TEAM_SECRET}/events");
    println!(
        "  Two-way sync:  curl -XPUT {u}/_control/teams/{DEFAULT_TEAM_SECRET}/outbound -H 'content-type: application/json' -d '{{\"url\":\"http://127.0.0.1:8080/signl4/emulator-inbound-token-0123456789\"}}'"
    );
    println!("                 curl -XPOST {u}/_control/teams/{DEFAULT_TEAM_SECRET}/alerts/<external id>/acknowledge");
    println!();
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await.ok();
    Ok(())
}

struct Expect {
    label: &'static str,
    alert: Value,
    should_page: bool,
}

fn external_id(alert_id: &str) -> String {
    s4s_core::ids::external_id("contoso", s4s_core::ids::SOURCE_GRAPH_ALERT, alert_id)
}

fn title_of(v: &Value) -> &str {
    v.get("title").and_then(Value::as_str).unwrap_or("")
}

/// Whether `cond` holds within `deadline`, checked every 50 ms.
async fn wait_until(deadline: Duration, cond: impl AsyncFnMut() -> bool) -> bool {
    holds_within(deadline, Duration::from_millis(50), cond).await
}

/// Live demo (until Ctrl-C) or, with `once`, a finite self-checking scenario.
/// Returns Ok(true) when the scenario passed.
pub async fn run(once: bool, every: u64) -> anyhow::Result<bool> {
    // The fake cloud with its real throttles, and the example configuration pointed at it.
    let h = Harness::launch(|_| {}).await?;
    let mut cfg =
        h.example().poll_interval(Duration::from_secs(1)).delivery(|d| d.initial_backoff = Duration::from_millis(200));
    // `SIGNL4_SENTINEL__SERVER__LISTEN` beyond loopback (the container image sets 0.0.0.0:8080)
    // needs an admin token for the status page: the demo makes one up for this run.
    let opened = std::env::var(format!("{}SERVER__LISTEN", s4s_core::config::ENV_PREFIX))
        .ok()
        .and_then(|l| l.parse::<std::net::SocketAddr>().ok())
        .is_some_and(|a| !a.ip().is_loopback());
    let token_set = std::env::var(format!("{}SERVER__ADMIN_TOKEN", s4s_core::config::ENV_PREFIX)).is_ok();
    let demo_token = (opened && !token_set).then(|| {
        let b: [u8; 16] = rand::random();
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    });
    if let Some(t) = &demo_token {
        cfg = cfg.admin_token(t);
    }
    let fc = &h.fake;
    println!("signl4-sentinel demo");
    println!("  fake cloud (Entra ID, Graph Security, Sentinel, Log Analytics, SIGNL4) on {}", fc.url());
    println!("  state in {}", h.db().display());
    let app = h.try_start(&cfg).await?;
    println!("  connector health on http://{}/readyz, metrics on /metrics", app.addr);
    match &demo_token {
        Some(t) => println!("  status page on http://{}/ (admin token for this demo run: {t})", app.addr),
        None => println!("  status page on http://{}/", app.addr),
    }
    // The fake SIGNL4 posts its outbound webhooks to the connector; virtual responders
    // acknowledge, annotate and close every alert, and some deliveries are repeated.
    let (ack, note, close) = if once { (300, 500, 800) } else { (2000, 3500, 5000) };
    h.connect_outbound(
        app.addr,
        0.2,
        Some(ResponderPlan {
            ack_after_ms: Some(ack),
            annotate_after_ms: Some(note),
            close_after_ms: Some(close),
            ..Default::default()
        }),
    );
    println!("  SIGNL4 outbound webhook → http://{}/signl4/<inbound_token>; virtual responder: Rene", app.addr);
    println!();
    let ok = if once { scenario(fc).await? } else { live(fc, every).await? };
    app.stop().await;
    Ok(ok)
}

/// What has been printed so far.
#[derive(Default)]
struct Seen {
    pages: usize,
    outbound: usize,
    graph: std::collections::HashMap<String, (String, usize)>,
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    if s.chars().count() > 60 { format!("{t}…") } else { t }
}

fn print_progress(fc: &FakeCloud, seen: &mut Seen) {
    let events = fc.received(DEFAULT_TEAM_SECRET);
    for e in events.iter().skip(seen.pages) {
        let title = e.body.get("Title").and_then(Value::as_str).unwrap_or("");
        if e.status == "new" {
            let scenario = e.body.get("X-S4-AlertingScenario").and_then(Value::as_str).unwrap_or("default");
            println!("  SIGNL4 ◀ paged: {}   [scenario {scenario}]", short(title));
        } else {
            println!("  SIGNL4 ◀ {} by the connector (portal change)", e.status);
        }
    }
    seen.pages = events.len();
    let out = fc.outbound_events(DEFAULT_TEAM_SECRET);
    for e in out.iter().skip(seen.outbound) {
        let who = e["user"]["mailaddress"].as_str().unwrap_or("SIGNL4");
        let what = match (e["eventType"].as_i64(), e["alert"]["statusCode"].as_i64()) {
            (Some(201), Some(2)) => "acknowledged".to_string(),
            (Some(201), Some(4)) => "closed".to_string(),
            (Some(203), _) => format!("noted \"{}\"", e["annotation"]["message"].as_str().unwrap_or("")),
            (Some(200), _) => continue,
            _ => "updated".to_string(),
        };
        println!("  phone  ▶ {who} {what}");
    }
    seen.outbound = out.len();
    for e in events.iter().filter(|e| e.status == "new") {
        let Some(ext) = &e.external_id else { continue };
        let id = ext.rsplit(':').next().unwrap_or("");
        let Some(a) = fc.alert(DEFAULT_TENANT_ID, id) else { continue };
        let status = a["status"].as_str().unwrap_or("").to_string();
        let n = a["comments"].as_array().map(Vec::len).unwrap_or(0);
        let prev = seen.graph.get(id).cloned().unwrap_or(("new".into(), 0));
        if prev != (status.clone(), n) {
            if prev.0 != status {
                let owner = a["assignedTo"].as_str().unwrap_or("-");
                println!("  Graph  ◀ {} → {status} (assigned to {owner})", short(a["title"].as_str().unwrap_or("")));
            }
            for c in a["comments"].as_array().into_iter().flatten().skip(prev.1) {
                println!("  Graph  ◀ comment: {}", short(c["comment"].as_str().unwrap_or("")));
            }
            seen.graph.insert(id.to_string(), (status, n));
        }
    }
}

async fn live(fc: &FakeCloud, every: u64) -> anyhow::Result<bool> {
    println!("New alerts appear in Microsoft Graph every {every}s; watch them reach SIGNL4. Ctrl-C to stop.\n");
    let cat = scenarios::catalogue();
    let mut seen = Seen::default();
    let mut i = 0usize;
    let mut next = Instant::now();
    loop {
        if Instant::now() >= next {
            let (label, make) = cat[i % cat.len()];
            let a = make(&format!("{}", 200 + i));
            if a["serviceSource"] == "microsoftSentinel" {
                // The Sentinel workspace is read directly (not via Graph): raise an incident there.
                let (inc, alerts) = scenarios::sentinel_incident("");
                let inc = fc.add_sentinel_incident(s4s_fakecloud::DEFAULT_WORKSPACE, inc, alerts);
                println!(
                    "  Sentinel ▶ new incident #{}: {} (rule query results will be attached)",
                    inc["properties"]["incidentNumber"],
                    inc["properties"]["title"].as_str().unwrap_or("")
                );
            } else {
                let a = fc.add_alert(DEFAULT_TENANT_ID, a);
                println!(
                    "  Graph  ▶ new alert from {label}: {} ({})",
                    title_of(&a),
                    a["severity"].as_str().unwrap_or("?")
                );
            }
            i += 1;
            next = Instant::now() + Duration::from_secs(every.max(1));
        }
        print_progress(fc, &mut seen);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    println!("\nstopped: {} alert(s) created, {} page(s) sent", i, fc.received(DEFAULT_TEAM_SECRET).len());
    Ok(true)
}

async fn scenario(fc: &FakeCloud) -> anyhow::Result<bool> {
    let started = Instant::now();
    let mut expect: Vec<Expect> = Vec::new();
    for (n, (label, make)) in scenarios::catalogue().into_iter().enumerate() {
        let a = fc.add_alert(DEFAULT_TENANT_ID, make(&format!("{}", 300 + n)));
        // The workspace is read directly, so its alerts in Graph must not page a second time.
        let via_sentinel = a["serviceSource"] == "microsoftSentinel";
        if via_sentinel {
            println!("  Graph  ▶ {label} (read from Sentinel directly, must not page via Graph): {}", title_of(&a));
        } else {
            println!("  Graph  ▶ {label}: {}", title_of(&a));
        }
        let label = if via_sentinel { "Sentinel alert in Graph (deduplicated)" } else { label };
        expect.push(Expect { label, alert: a, should_page: !via_sentinel });
    }
    let (inc, alerts) = scenarios::sentinel_incident("");
    let sentinel_inc = fc.add_sentinel_incident(s4s_fakecloud::DEFAULT_WORKSPACE, inc, alerts);
    let sentinel_name = sentinel_inc["name"].as_str().unwrap_or("").to_string();
    let sentinel_ext = s4s_core::ids::external_id("contoso", &s4s_core::sentinel::source("soc"), &sentinel_name);
    println!(
        "  Sentinel ▶ incident #{}: {} (scheduled rule, query results to attach)",
        sentinel_inc["properties"]["incidentNumber"],
        sentinel_inc["properties"]["title"].as_str().unwrap_or("")
    );
    let info = fc.add_alert(
        DEFAULT_TENANT_ID,
        json!({"title": "Informational: new device onboarded", "severity": "informational", "serviceSource": "microsoftDefenderForEndpoint"}),
    );
    println!("  Graph  ▶ informational alert (below the `low` threshold, must not page): {}", title_of(&info));
    expect.push(Expect { label: "Informational (filtered)", alert: info, should_page: false });

    let mut seen = Seen::default();
    let want = expect.iter().filter(|e| e.should_page).count();
    let all_paged = wait_until(Duration::from_secs(60), async || {
        print_progress(fc, &mut seen);
        fc.pages_by_external_id(DEFAULT_TEAM_SECRET).len() > want
    })
    .await;
    print_progress(fc, &mut seen);

    // The virtual responder acknowledges, annotates and closes each alert on the phone; the
    // connector writes that back to Graph.
    let paged: Vec<&Expect> = expect.iter().filter(|e| e.should_page).collect();
    let synced = |fc: &FakeCloud| {
        paged.iter().all(|e| {
            fc.alert(DEFAULT_TENANT_ID, e.alert["id"].as_str().unwrap_or(""))
                .is_some_and(|a| a["status"] == "resolved" && a["comments"].as_array().map(Vec::len).unwrap_or(0) == 3)
        })
    };
    let sentinel_done = |fc: &FakeCloud| {
        fc.sentinel_incident(s4s_fakecloud::DEFAULT_WORKSPACE, &sentinel_name)
            .is_some_and(|i| i["properties"]["status"] == "Closed")
            && fc.sentinel_comments(s4s_fakecloud::DEFAULT_WORKSPACE, &sentinel_name).len() == 3
    };
    let all_synced = wait_until(Duration::from_secs(30), async || {
        print_progress(fc, &mut seen);
        synced(fc) && sentinel_done(fc)
    })
    .await;
    if let Some(i) = fc.sentinel_incident(s4s_fakecloud::DEFAULT_WORKSPACE, &sentinel_name) {
        let labels: Vec<&str> = i["properties"]["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["labelName"].as_str())
            .collect();
        println!(
            "  Sentinel ◀ incident #{} → {} ({}), owner {}, labels {:?}, {} comment(s)",
            i["properties"]["incidentNumber"],
            i["properties"]["status"].as_str().unwrap_or(""),
            i["properties"]["classification"].as_str().unwrap_or("-"),
            i["properties"]["owner"]["assignedTo"].as_str().unwrap_or("-"),
            labels,
            fc.sentinel_comments(s4s_fakecloud::DEFAULT_WORKSPACE, &sentinel_name).len()
        );
    }
    print_progress(fc, &mut seen);

    // An analyst edits an alert in the portal afterwards: a new version, never a new page.
    let first_id = expect[0].alert["id"].as_str().unwrap_or("").to_string();
    fc.update_alert(DEFAULT_TENANT_ID, &first_id, json!({"determination": "malware"}));
    println!("  Portal ▶ analyst edits the first alert again (must not page again)");
    // Let the connector poll at least twice more before judging duplicates.
    let polls = fc.requests().get("graph.alerts.list").copied().unwrap_or(0);
    wait_until(Duration::from_secs(15), async || {
        fc.requests().get("graph.alerts.list").copied().unwrap_or(0) >= polls + 2
    })
    .await;
    print_progress(fc, &mut seen);

    let pages = fc.pages_by_external_id(DEFAULT_TEAM_SECRET);
    let events = fc.received(DEFAULT_TEAM_SECRET);
    let latencies = fc.page_latencies(DEFAULT_TEAM_SECRET);
    println!();
    println!("{:<42} {:>6} {:>7}  check", "alert", "pages", "wanted");
    let mut ok = all_paged && all_synced;
    if !all_synced {
        println!(
            "FAIL: not every alert reached `resolved` (Graph) / `Closed` (Sentinel) with its three SIGNL4 comments"
        );
    }
    {
        let n = pages.get(&sentinel_ext).copied().unwrap_or(0);
        let msg = events
            .iter()
            .find(|x| x.external_id.as_deref() == Some(sentinel_ext.as_str()) && x.status == "new")
            .and_then(|e| e.body.get("Message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        let enriched = msg.contains("Rule query results:") && msg.contains("Failures=57");
        let labelled = fc.sentinel_incident(s4s_fakecloud::DEFAULT_WORKSPACE, &sentinel_name).is_some_and(|i| {
            i["properties"]["labels"].as_array().is_some_and(|l| l.iter().any(|x| x["labelName"] == "SIGNL4"))
        });
        let mut problems = Vec::new();
        if n != 1 {
            problems.push(format!("paged {n}×"));
        }
        if !enriched {
            problems.push("rule query results missing".into());
        }
        if !labelled {
            problems.push("label SIGNL4 missing".into());
        }
        ok &= problems.is_empty();
        let verdict = if problems.is_empty() { "ok".to_string() } else { format!("FAIL: {}", problems.join(", ")) };
        println!("{:<42} {:>6} {:>7}  {verdict}", "Sentinel incident (ARM, enriched)", n, 1);
    }
    for e in &expect {
        let id = e.alert["id"].as_str().unwrap_or("");
        let ext = external_id(id);
        let n = pages.get(&ext).copied().unwrap_or(0);
        let wanted = usize::from(e.should_page);
        let mut problems = Vec::new();
        if n != wanted {
            problems.push(format!("paged {n}×"));
        }
        if e.should_page
            && let Some(g) = fc.alert(DEFAULT_TENANT_ID, id)
            && (g["status"] != "resolved" || g["comments"].as_array().map(Vec::len).unwrap_or(0) != 3)
        {
            problems.push(format!(
                "Graph status {} with {} comment(s)",
                g["status"],
                g["comments"].as_array().map(Vec::len).unwrap_or(0)
            ));
        }
        if let Some(ev) = events.iter().find(|x| x.external_id.as_deref() == Some(ext.as_str()) && x.status == "new") {
            let title = ev.body.get("Title").and_then(Value::as_str).unwrap_or("");
            let msg = ev.body.get("Message").and_then(Value::as_str).unwrap_or("");
            if !title.contains(title_of(&e.alert)) {
                problems.push("title missing".into());
            }
            let desc = e.alert["description"].as_str().unwrap_or("");
            if !desc.is_empty() && !msg.contains(desc) {
                problems.push("description missing".into());
            }
            if let Some(link) = e.alert["alertWebUrl"].as_str()
                && !msg.contains(link)
            {
                problems.push("portal link missing".into());
            }
        }
        let verdict = if problems.is_empty() { "ok".to_string() } else { format!("FAIL: {}", problems.join(", ")) };
        ok &= problems.is_empty();
        println!("{:<42} {:>6} {:>7}  {verdict}", e.label, n, wanted);
    }
    let mut ms: Vec<u128> = latencies.iter().map(|d| d.as_millis()).collect();
    ms.sort();
    if let (Some(min), Some(max)) = (ms.first(), ms.last()) {
        println!(
            "\ntime to page (alert visible in Graph → SIGNL4 received): min {min} ms, max {max} ms (poll interval 1 s)"
        );
    }
    println!(
        "Graph requests: {}, token requests: {}, elapsed {:.1} s",
        fc.requests().iter().filter(|(k, _)| k.starts_with("graph.")).map(|(_, v)| v).sum::<u64>(),
        fc.requests().get("entra.token").copied().unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        if ok {
            "\nRESULT: every alert was paged exactly once with the right content, and each acknowledgement, note and close reached Graph once."
        } else {
            "\nRESULT: FAILED"
        }
    );
    Ok(ok)
}
