//! The fake cloud must behave like the real services as documented in
//! `../shared/reference` (errors, throttling, paging, enum masking), not like our client
//! hopes. These tests pin that behaviour over real HTTP.

use std::time::Duration;

use s4s_fakecloud::*;
use serde_json::{Value, json};

async fn fake() -> FakeCloud {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f
}

async fn token(f: &FakeCloud, scope: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/entra/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", f.url()))
        .form(&[
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("scope", scope),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap()
}

async fn graph_token(f: &FakeCloud) -> String {
    let v: Value = token(f, "https://graph.microsoft.com/.default").await.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn entra_issues_v2_tokens_and_aadsts_errors() {
    let f = fake().await;
    let r = token(&f, "https://graph.microsoft.com/.default").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    assert!(v["ext_expires_in"].is_number());

    // Missing /.default, scopes for two resources, wrong secret, unknown app, unknown tenant.
    let r = token(&f, "https://graph.microsoft.com/SecurityAlert.Read.All").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("/.default"));
    let r = token(&f, "https://graph.microsoft.com/.default https://management.azure.com/.default").await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_scope");
    assert_eq!(v["error_codes"][0], 70011);

    let c = reqwest::Client::new();
    let url = format!("{}/entra/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", f.url());
    let r = c
        .post(&url)
        .form(&[
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", "nope"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    assert!(v["error_description"].as_str().unwrap().starts_with("AADSTS7000215"));
    for k in ["timestamp", "trace_id", "correlation_id"] {
        assert!(v[k].is_string(), "{k}");
    }
    let r = c
        .post(&url)
        .form(&[
            ("client_id", "unknown-app"),
            ("client_secret", "x"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error_codes"][0], 700016);
    let r = c
        .post(format!("{}/entra/no-such-tenant/oauth2/v2.0/token", f.url()))
        .form(&[
            ("client_id", "a"),
            ("client_secret", "b"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error_codes"][0], 90002);
}

#[tokio::test]
async fn graph_requires_a_valid_unexpired_graph_token_and_roles() {
    let f = fake().await;
    let c = reqwest::Client::new();
    let url = format!("{}/graph/v1.0/security/alerts_v2", f.url());
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    // A token for another audience (ARM) is refused.
    let arm: Value = token(&f, "https://management.azure.com/.default").await.json().await.unwrap();
    let r = c.get(&url).bearer_auth(arm["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let t = graph_token(&f).await;
    assert_eq!(c.get(&url).bearer_auth(&t).send().await.unwrap().status(), 200);
    f.expire_tokens();
    let r = c.get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "InvalidAuthenticationToken");
    f.set_roles(DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, &["SecurityAlert.Read.All"]);
    let t = graph_token(&f).await;
    assert_eq!(c.get(&url).bearer_auth(&t).send().await.unwrap().status(), 200);
    let r = c.patch(format!("{url}/x")).bearer_auth(&t).json(&json!({"status": "resolved"})).send().await.unwrap();
    assert_eq!(r.status(), 403, "PATCH needs SecurityAlert.ReadWrite.All");
}

#[tokio::test]
async fn graph_pages_with_absolute_next_links_filters_and_masks_enums() {
    let f = fake().await;
    let made = f.add_alerts(DEFAULT_TENANT_ID, (0..7).map(scenarios::synthetic));
    f.add_alert(DEFAULT_TENANT_ID, scenarios::sentinel_scheduled("9"));
    let t = graph_token(&f).await;
    let c = reqwest::Client::new();
    let mut url = format!("{}/graph/v1.0/security/alerts_v2?$filter=severity ne 'low'&$top=3", f.url());
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let v: Value = c.get(&url).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
        pages += 1;
        for a in v["value"].as_array().unwrap() {
            seen.push(a.clone());
        }
        match v["@odata.nextLink"].as_str() {
            Some(n) => {
                assert!(n.starts_with("http://"), "nextLink is absolute: {n}");
                url = n.to_string();
            }
            None => break,
        }
    }
    let expected = made.iter().filter(|a| a["severity"] != "low").count() + 1;
    assert_eq!(seen.len(), expected);
    assert_eq!(pages, expected.div_ceil(3));
    // Most recent first.
    assert_eq!(seen[0]["title"], "Brute force attack against Azure Portal");
    // Without the Prefer header, evolvable members are masked (§2.2).
    assert_eq!(seen[0]["serviceSource"], "unknownFutureValue");
    assert_eq!(seen[0]["detectionSource"], "unknownFutureValue");
    let v: Value = c
        .get(format!("{}/graph/v1.0/security/alerts_v2/{}", f.url(), seen[0]["id"].as_str().unwrap()))
        .bearer_auth(&t)
        .header("Prefer", "include-unknown-enum-members")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["serviceSource"], "microsoftSentinel");
    // Filtering on an undocumented property is a 400.
    let r = c
        .get(format!("{}/graph/v1.0/security/alerts_v2?$filter=title eq 'x'", f.url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn graph_throttles_at_150_per_minute_with_fractional_retry_after() {
    let f = fake().await;
    let t = graph_token(&f).await;
    let c = reqwest::Client::new();
    let url = format!("{}/graph/v1.0/security/alerts_v2", f.url());
    for i in 0..150 {
        assert_eq!(c.get(&url).bearer_auth(&t).send().await.unwrap().status(), 200, "request {i}");
    }
    let r = c.get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let ra: f64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(ra > 0.0 && ra <= 60.0, "{ra}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "TooManyRequests");
    assert_eq!(v["error"]["innerError"]["status"], "429");
}

#[tokio::test]
async fn graph_patch_and_comments_bump_last_update() {
    let f = fake().await;
    let a = f.add_alert(DEFAULT_TENANT_ID, scenarios::mde_malware("1"));
    let id = a["id"].as_str().unwrap();
    let t = graph_token(&f).await;
    let c = reqwest::Client::new();
    let url = format!("{}/graph/v1.0/security/alerts_v2/{id}", f.url());
    let r = c
        .patch(&url)
        .bearer_auth(&t)
        .json(&json!({"status": "InProgress", "assignedTo": "secAdmin@contoso.onmicrosoft.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "inProgress", "Pascal case accepted, camelCase returned");
    assert!(v["lastUpdateDateTime"].as_str() > a["lastUpdateDateTime"].as_str());
    let r = c.patch(&url).bearer_auth(&t).json(&json!({"title": "renamed"})).send().await.unwrap();
    assert_eq!(r.status(), 400, "read-only property");
    let r = c
        .post(format!("{url}/comments"))
        .bearer_auth(&t)
        .json(&json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": "Demo for docs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 1, "the full comment list comes back");
    assert_eq!(v["value"][0]["comment"], "Demo for docs");
}

#[tokio::test]
async fn signl4_webhook_answers_like_signl4() {
    let f = fake().await;
    f.configure(|s| s.signl4_events_per_15s = 3);
    let c = reqwest::Client::new();
    let hook = |secret: &str| format!("{}/signl4/webhook/{secret}", f.url());
    let r =
        c.post(hook(DEFAULT_TEAM_SECRET)).json(&json!({"Title": "t", "X-S4-ExternalID": "e1"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    for h in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
        assert!(r.headers().contains_key(h), "{h}");
    }
    assert!(r.json::<Value>().await.unwrap()["eventId"].is_string());
    let r = c.post(hook("wrong")).json(&json!({"Title": "t"})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 3004);
    let r = c.post(hook(DEFAULT_TEAM_SECRET)).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(c.get(hook(DEFAULT_TEAM_SECRET)).send().await.unwrap().status(), 405);
    // Resolve by external id.
    let r = c
        .post(hook(DEFAULT_TEAM_SECRET))
        .json(&json!({"X-S4-ExternalID": "e1", "X-S4-Status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(f.signl4_alerts(DEFAULT_TEAM_SECRET)["e1"].status, "resolved");
    // Third accepted event in 15 s is allowed; the fourth is throttled with a reset time.
    c.post(hook(DEFAULT_TEAM_SECRET)).json(&json!({"Title": "t3"})).send().await.unwrap();
    let r = c.post(hook(DEFAULT_TEAM_SECRET)).json(&json!({"Title": "t4"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(f.pages_by_external_id(DEFAULT_TEAM_SECRET).get("e1"), Some(&1));
}

#[tokio::test]
async fn faults_apply_per_service_and_count_down() {
    let f = fake().await;
    f.inject(Fault { service: Service::Signl4, kind: FaultKind::Status { status: 503 }, count: 2 });
    f.inject(Fault { service: Service::Signl4, kind: FaultKind::Drop, count: 1 });
    let c = reqwest::Client::new();
    let hook = format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url());
    for _ in 0..2 {
        assert_eq!(c.post(&hook).json(&json!({"Title": "x"})).send().await.unwrap().status(), 503);
    }
    let dropped = match c.post(&hook).json(&json!({"Title": "x"})).send().await {
        Err(e) => Err(e),
        Ok(r) => r.text().await,
    };
    assert!(dropped.is_err(), "the connection is cut off");
    assert_eq!(c.post(&hook).json(&json!({"Title": "x"})).send().await.unwrap().status(), 201);
    assert_eq!(f.received(DEFAULT_TEAM_SECRET).len(), 1, "faulted requests are not processed");
    // Latency.
    f.inject(Fault { service: Service::Signl4, kind: FaultKind::Latency { ms: 200 }, count: 1 });
    let t0 = std::time::Instant::now();
    c.post(&hook).json(&json!({"Title": "x"})).send().await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn the_control_api_drives_the_same_state_over_http() {
    let f = fake().await;
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/_control/tenants/{DEFAULT_TENANT_ID}/alerts", f.url()))
        .json(&json!([{"title": "a"}, {"title": "b", "severity": "high"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made.as_array().unwrap().len(), 2);
    assert_eq!(made[1]["severity"], "high");
    assert!(f.alert(DEFAULT_TENANT_ID, made[0]["id"].as_str().unwrap()).is_some());
    let r = c
        .post(format!("{}/_control/faults", f.url()))
        .json(&json!({"service": "graph", "kind": "status", "status": 500, "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t = graph_token(&f).await;
    assert_eq!(
        c.get(format!("{}/graph/v1.0/security/alerts_v2", f.url())).bearer_auth(&t).send().await.unwrap().status(),
        500
    );
    c.post(format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url()))
        .json(&json!({"Title": "x", "X-S4-ExternalID": "e"}))
        .send()
        .await
        .unwrap();
    let ev: Value = c
        .get(format!("{}/_control/teams/{DEFAULT_TEAM_SECRET}/events", f.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ev[0]["external_id"], "e");
    let stats: Value = c.get(format!("{}/_control/stats", f.url())).send().await.unwrap().json().await.unwrap();
    assert!(stats["graph.alerts.list"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn graph_incidents_list_expand_patch_and_cascade() {
    let f = fake().await;
    let a = f.add_alert(DEFAULT_TENANT_ID, scenarios::mde_malware("7"));
    f.add_alert(DEFAULT_TENANT_ID, scenarios::entra_risky_signin("7"));
    f.add_alert(DEFAULT_TENANT_ID, scenarios::mdo_phishing("8"));
    let t = graph_token(&f).await;
    let c = reqwest::Client::new();
    let v: Value = c
        .get(format!("{}/graph/v1.0/security/incidents?$expand=alerts&$filter=status eq 'active'", f.url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = v["value"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let seven = list.iter().find(|i| i["id"] == "7").unwrap();
    assert_eq!(seven["alerts"].as_array().unwrap().len(), 2);
    let url = format!("{}/graph/v1.0/security/incidents/7", f.url());
    let r = c
        .patch(&url)
        .bearer_auth(&t)
        .json(&json!({"customTags": ["SIGNL4"], "status": "Resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "resolved");
    assert_eq!(
        f.alert(DEFAULT_TENANT_ID, a["id"].as_str().unwrap()).unwrap()["status"],
        "resolved",
        "resolving an incident resolves its alerts"
    );
    let r = c.patch(&url).bearer_auth(&t).json(&json!({"customTags": "not a list"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    f.set_roles(DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, &["SecurityAlert.ReadWrite.All"]);
    let t = graph_token(&f).await;
    assert_eq!(c.get(&url).bearer_auth(&t).send().await.unwrap().status(), 403, "incidents need SecurityIncident.*");
}

#[tokio::test]
async fn signl4_outbound_webhooks_and_rest_subset() {
    let f = fake().await;
    // The V1 shape (numeric status, `parameters[]`); V2 is in `signl4_rest_v2.rs`.
    f.configure(|s| s.rest_shape = RestShape::V1);
    f.add_api_key(DEFAULT_TEAM_SECRET, "k1");
    let c = reqwest::Client::new();
    c.post(format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url()))
        .json(&json!({"Title": "t", "X-S4-ExternalID": "e1"}))
        .send()
        .await
        .unwrap();
    let ack =
        f.signl4_action(DEFAULT_TEAM_SECRET, "e1", Action::Acknowledge(Some(Responder::default()))).await.unwrap();
    f.signl4_action(DEFAULT_TEAM_SECRET, "e1", Action::Annotate(Some(Responder::default()), "on it".into()))
        .await
        .unwrap();
    let events = f.outbound_events(DEFAULT_TEAM_SECRET);
    assert_eq!(events[0]["id"], ack);
    assert_eq!(events[0]["eventType"], 201);
    assert_eq!(events[0]["alert"]["statusCode"], 2);
    assert_eq!(events[0]["alert"]["externalEventId"], "e1");
    assert_eq!(events[0]["user"]["mailaddress"], "rene@signl4.com");
    assert_eq!(events[1]["annotation"]["message"], "on it");
    // A closed alert cannot be acknowledged again.
    f.signl4_action(DEFAULT_TEAM_SECRET, "e1", Action::Close(None)).await.unwrap();
    assert!(
        f.signl4_action(DEFAULT_TEAM_SECRET, "e1", Action::Acknowledge(Some(Responder::default()))).await.is_none()
    );

    let paged = |key: &str| {
        c.post(format!("{}/signl4/api/v2/alerts/paged?maxResults=10", f.url()))
            .header("X-S4-Api-Key", key.to_string())
            .json(&json!({"modifiedSince": "2020-01-01T00:00:00Z"}))
            .send()
    };
    assert_eq!(paged("wrong").await.unwrap().status(), 401);
    let v: Value = paged("k1").await.unwrap().json().await.unwrap();
    let a = &v["results"][0];
    assert_eq!(a["status"], 4);
    assert_eq!(a["parameters"][0]["value"], "e1");
    let notes: Value = c
        .get(format!("{}/signl4/api/v2/alerts/{}/annotations", f.url(), a["id"].as_str().unwrap()))
        .header("X-S4-Api-Key", "k1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(notes[0]["text"], "on it");
    let r = c
        .post(format!("{}/signl4/api/v2/alerts/paged", f.url()))
        .header("X-S4-Api-Key", "k1")
        .json(&json!({"modifiedSince": "2999-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "nothing modified since");
}

async fn arm_token(f: &FakeCloud) -> String {
    let v: Value = token(f, "https://management.azure.com/.default").await.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn sentinel_arm_enforces_api_version_etags_and_classification_pairs() {
    let f = fake().await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = f.add_sentinel_incident(DEFAULT_WORKSPACE, i, a);
    let name = inc["name"].as_str().unwrap();
    let t = arm_token(&f).await;
    let c = reqwest::Client::new();
    let base = format!(
        "{}/arm/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{DEFAULT_RESOURCE_GROUP}/providers/Microsoft.OperationalInsights/workspaces/{DEFAULT_WORKSPACE}/providers/Microsoft.SecurityInsights/incidents",
        f.url()
    );
    let r = c.get(&base).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "MissingApiVersionParameter");
    let r = c.get(format!("{base}?api-version=2025-12-01&$top=1001")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // A Graph token is the wrong audience for ARM.
    let g = graph_token(&f).await;
    assert_eq!(c.get(format!("{base}?api-version=2025-12-01")).bearer_auth(&g).send().await.unwrap().status(), 403);
    let v: Value = c
        .get(format!("{base}?api-version=2025-12-01&$filter=properties/status eq 'New'"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 1);

    let url = format!("{base}/{name}?api-version=2025-12-01");
    let cur: Value = c.get(&url).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    let mut body = json!({"etag": cur["etag"], "properties": cur["properties"]});
    body["properties"]["status"] = json!("Closed");
    let r = c.put(&url).bearer_auth(&t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 400, "closing needs a classification");
    body["properties"]["classification"] = json!("BenignPositive");
    let r = c.put(&url).bearer_auth(&t).json(&body).send().await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "classification 'BenignPositive' must have classificationReason."
    );
    body["properties"]["classificationReason"] = json!("IncorrectAlertLogic");
    assert_eq!(c.put(&url).bearer_auth(&t).json(&body).send().await.unwrap().status(), 400, "wrong pair");
    body["properties"]["classificationReason"] = json!("SuspiciousButExpected");
    let r = c.put(&url).bearer_auth(&t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let new: Value = r.json().await.unwrap();
    assert_ne!(new["etag"], cur["etag"], "every write rotates the etag");
    // The old etag is now stale.
    let r = c.put(&url).bearer_auth(&t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().starts_with("Newer version of resource")
    );
    let mut missing = body.clone();
    missing["properties"].as_object_mut().unwrap().remove("title");
    missing["etag"] = new["etag"].clone();
    assert_eq!(c.put(&url).bearer_auth(&t).json(&missing).send().await.unwrap().status(), 400, "title is required");

    let alerts: Value = c
        .post(format!("{base}/{name}/alerts?api-version=2025-12-01"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alerts["value"][0]["kind"], "SecurityAlert");
    assert!(alerts.get("nextLink").is_none());
    let cu = format!("{base}/{name}/comments/4bb36b7b-26ff-4d1c-9cbe-0d8ab3da0014?api-version=2025-12-01");
    let body = json!({"properties": {"message": "Some message"}});
    assert_eq!(c.put(&cu).bearer_auth(&t).json(&body).send().await.unwrap().status(), 201);
    assert_eq!(
        c.put(&cu).bearer_auth(&t).json(&body).send().await.unwrap().status(),
        200,
        "same client id: update, not a duplicate"
    );
    assert_eq!(f.sentinel_comments(DEFAULT_WORKSPACE, name).len(), 1);
}

#[tokio::test]
async fn log_analytics_queries_partial_errors_and_bad_arguments() {
    let f = fake().await;
    let v: Value = token(&f, "https://api.loganalytics.io/.default").await.json().await.unwrap();
    let t = v["access_token"].as_str().unwrap().to_string();
    let c = reqwest::Client::new();
    let url = format!("{}/loganalytics/v1/workspaces/{DEFAULT_WORKSPACE_ID}/query", f.url());
    let r: Value = c
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({"query": "SigninLogs | take 1", "timespan": "PT12H"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["tables"][0]["columns"][2]["name"], "Failures");
    let r = c.post(&url).bearer_auth(&t).json(&json!({"query": "NoSuchTable"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "BadArgumentError");
    let arm = arm_token(&f).await;
    assert_eq!(
        c.post(&url).bearer_auth(&arm).json(&json!({"query": "x"})).send().await.unwrap().status(),
        403,
        "wrong audience"
    );
    // Scheduled-rule alerts can be looked up in SecurityAlert.
    let (i, a) = scenarios::sentinel_incident("");
    f.add_sentinel_incident(DEFAULT_WORKSPACE, i, a);
    let sys = {
        let arm_alerts = format!(
            "{}/arm/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{DEFAULT_RESOURCE_GROUP}/providers/Microsoft.OperationalInsights/workspaces/{DEFAULT_WORKSPACE}/providers/Microsoft.SecurityInsights/incidents/{}/alerts?api-version=2025-12-01",
            f.url(),
            inc_name(&f)
        );
        let v: Value = c.post(arm_alerts).bearer_auth(&arm).send().await.unwrap().json().await.unwrap();
        v["value"][0]["properties"]["systemAlertId"].as_str().unwrap().to_string()
    };
    let r: Value = c
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({"query": format!("SecurityAlert | where SystemAlertId == \"{sys}\"")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ext: Value = serde_json::from_str(r["tables"][0]["rows"][0][1].as_str().unwrap()).unwrap();
    assert!(ext["Query"].as_str().unwrap().contains("SigninLogs"));
}

fn inc_name(f: &FakeCloud) -> String {
    // The only incident of the default workspace.
    f.sentinel_incident_names(DEFAULT_WORKSPACE)[0].clone()
}

#[tokio::test]
async fn control_api_for_incidents_outbound_and_responders() {
    let f = fake().await;
    let c = reqwest::Client::new();
    let (i, a) = scenarios::sentinel_incident("");
    let r = c
        .post(format!("{}/_control/workspaces/{DEFAULT_WORKSPACE}/incidents", f.url()))
        .json(&json!({"incident": i, "alerts": a}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let inc: Value = r.json().await.unwrap();
    let name = inc["name"].as_str().unwrap();
    let r = c
        .patch(format!("{}/_control/workspaces/{DEFAULT_WORKSPACE}/incidents/{name}", f.url()))
        .json(&json!({"status": "Active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.json::<Value>().await.unwrap()["etag"], inc["etag"]);
    c.post(format!("{}/signl4/webhook/{DEFAULT_TEAM_SECRET}", f.url()))
        .json(&json!({"Title": "t", "X-S4-ExternalID": "e1"}))
        .send()
        .await
        .unwrap();
    let r = c
        .put(format!("{}/_control/teams/{DEFAULT_TEAM_SECRET}/outbound", f.url()))
        .json(&json!({"url": format!("{}/_control/stats", f.url())}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r =
        c.post(format!("{}/_control/teams/{DEFAULT_TEAM_SECRET}/alerts/e1/acknowledge", f.url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(f.signl4_alerts(DEFAULT_TEAM_SECRET)["e1"].status, "acknowledged");
    let r = c.post(format!("{}/_control/teams/{DEFAULT_TEAM_SECRET}/alerts/e1/dance", f.url())).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

/// Azure role assignments on a workspace (`microsoft-apis.md` §3.6, §4.5): an app without one
/// is refused with ARM's `AuthorizationFailed` and Log Analytics' `InsufficientAccessError`;
/// a Reader may read but not write back.
#[tokio::test]
async fn workspace_roles_decide_arm_and_log_analytics_access() {
    let f = fake().await;
    let (i, a) = scenarios::sentinel_incident("");
    let inc = f.add_sentinel_incident(DEFAULT_WORKSPACE, i, a);
    let name = inc["name"].as_str().unwrap();
    let (arm, c) = (arm_token(&f).await, reqwest::Client::new());
    let v: Value = token(&f, "https://api.loganalytics.io/.default").await.json().await.unwrap();
    let la = v["access_token"].as_str().unwrap().to_string();
    let scope = format!(
        "/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/{DEFAULT_RESOURCE_GROUP}/providers/Microsoft.OperationalInsights/workspaces/{DEFAULT_WORKSPACE}"
    );
    let list = format!("{}/arm{scope}/providers/Microsoft.SecurityInsights/incidents?api-version=2025-12-01", f.url());
    let query = format!("{}/loganalytics/v1/workspaces/{DEFAULT_WORKSPACE_ID}/query", f.url());
    let print = json!({"query": "print doctor = 1"});
    // By default the app holds Responder and Log Analytics Reader.
    assert_eq!(c.get(&list).bearer_auth(&arm).send().await.unwrap().status(), 200);
    let r: Value = c.post(&query).bearer_auth(&la).json(&print).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["tables"][0]["columns"][0]["name"], "doctor");

    f.set_workspace_roles(DEFAULT_WORKSPACE, DEFAULT_CLIENT_ID, &[]);
    let r = c.get(&list).bearer_auth(&arm).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "AuthorizationFailed");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(DEFAULT_CLIENT_ID)
            && msg.contains("Microsoft.SecurityInsights/incidents/read")
            && msg.contains(&scope),
        "{msg}"
    );
    let r = c.post(&query).bearer_auth(&la).json(&print).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "InsufficientAccessError");

    f.set_workspace_roles(DEFAULT_WORKSPACE, DEFAULT_CLIENT_ID, &["Microsoft Sentinel Reader"]);
    let url =
        format!("{}/arm{scope}/providers/Microsoft.SecurityInsights/incidents/{name}?api-version=2025-12-01", f.url());
    let cur: Value = c.get(&url).bearer_auth(&arm).send().await.unwrap().json().await.unwrap();
    let body = json!({"etag": cur["etag"], "properties": cur["properties"]});
    let r = c.put(&url).bearer_auth(&arm).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 403, "a Reader cannot write incidents back");
    assert!(r.text().await.unwrap().contains("Microsoft.SecurityInsights/incidents/write"));
}

/// The V1 listing of outbound webhooks (`signl4.md` §2.3): `GET /webhooks?teamId=` with the
/// API key → `[WebhookInfo {id, name, externalAddress, enabled, teamId, subscriptionId}]`.
#[tokio::test]
async fn signl4_lists_the_teams_outbound_webhooks() {
    let f = fake().await;
    f.add_api_key(DEFAULT_TEAM_SECRET, "key-1234");
    let c = reqwest::Client::new();
    let url = format!("{}/signl4/api/webhooks", f.url());
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401, "the API key is required");
    let list: Value = c.get(&url).header("X-S4-Api-Key", "key-1234").send().await.unwrap().json().await.unwrap();
    assert_eq!(list, json!([]));
    f.set_outbound(
        DEFAULT_TEAM_SECRET,
        Some(Outbound { url: "https://s4s.example/signl4/tok".into(), responders: None, duplicate_probability: 0.0 }),
    );
    let team = f.team_id(DEFAULT_TEAM_SECRET).unwrap();
    let list: Value = c
        .get(format!("{url}?teamId={team}"))
        .header("X-S4-Api-Key", "key-1234")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["externalAddress"], "https://s4s.example/signl4/tok");
    assert_eq!(list[0]["enabled"], true);
    assert_eq!(list[0]["teamId"], team.as_str());
    let other: Value = c
        .get(format!("{url}?teamId=another-team"))
        .header("X-S4-Api-Key", "key-1234")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(other, json!([]));
}
