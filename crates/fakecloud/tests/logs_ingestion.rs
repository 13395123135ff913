//! The fake Logs Ingestion API behaves as `microsoft-apis.md` §5.2 documents it: a monitor
//! token, a JSON array (plain or gzip), `204`; the documented error body with
//! `x-ms-error-code`; `403` without *Monitoring Metrics Publisher* on the rule; `413` over
//! 1 MB, compressed or not; `429` with `Retry-After` past the per-rule request limit; no
//! de-duplication.

use std::io::Write;

use s4s_fakecloud::*;
use serde_json::{Value, json};

async fn fake() -> FakeCloud {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f
}

async fn token(f: &FakeCloud, scope: &str) -> String {
    let v: Value = reqwest::Client::new()
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
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

fn url(f: &FakeCloud, dcr: &str, stream: &str) -> String {
    format!("{}/logsingestion/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01", f.url())
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

async fn post(u: &str, token: &str, body: Vec<u8>, gz: bool) -> reqwest::Response {
    let mut r = reqwest::Client::new().post(u).bearer_auth(token).header("content-type", "application/json");
    if gz {
        r = r.header("content-encoding", "gzip");
    }
    r.body(body).send().await.unwrap()
}

async fn error_code(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let header = r.headers().get("x-ms-error-code").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].is_string(), "{v}");
    (status, header, v["error"]["code"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn uploads_take_a_monitor_token_and_a_json_array_plain_or_gzip_and_answer_204() {
    let f = fake().await;
    let t = token(&f, "https://monitor.azure.com/.default").await;
    let u = url(&f, DEFAULT_DCR, DEFAULT_STREAM);
    let body = json!([{"TimeGenerated": "2026-12-03T08:00:00Z", "Action": "paged", "RecordId": "r1"}]).to_string();
    let r = post(&u, &t, body.clone().into_bytes(), false).await;
    assert_eq!(r.status(), 204);
    assert!(r.text().await.unwrap().is_empty());
    let r = post(&u, &t, gzip(body.as_bytes()), true).await;
    assert_eq!(r.status(), 204);
    // No de-duplication: the same row twice is stored twice.
    let rows = f.ingested_rows(DEFAULT_DCR, DEFAULT_STREAM);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["RecordId"], "r1");
    let ctl: Value = reqwest::get(format!("{}/_control/dcrs/{DEFAULT_DCR}/streams/{DEFAULT_STREAM}", f.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ctl["rows"].as_array().unwrap().len(), 2);
    assert!(f.request_log(Api::LogsIngestion).iter().all(|r| r.status == 204));
}

#[tokio::test]
async fn documented_errors_with_their_code_header() {
    let f = fake().await;
    let monitor = token(&f, "https://monitor.azure.com/.default").await;
    let graph = token(&f, "https://graph.microsoft.com/.default").await;
    let u = url(&f, DEFAULT_DCR, DEFAULT_STREAM);
    let ok = json!([{"Action": "paged"}]).to_string().into_bytes();
    // A token for another audience, or none.
    let (s, h, c) = error_code(post(&u, &graph, ok.clone(), false).await).await;
    assert_eq!((s, h.as_str()), (401, c.as_str()));
    assert_eq!(post(&u, "nope", ok.clone(), false).await.status(), 401);
    // Not an array of objects; not gzip although it says so.
    let (s, h, _) = error_code(post(&u, &monitor, b"{\"Action\":1}".to_vec(), false).await).await;
    assert_eq!((s, h.as_str()), (400, "InvalidPayload"));
    assert_eq!(post(&u, &monitor, ok.clone(), true).await.status(), 400);
    // Unknown rule, undeclared stream, missing api-version.
    assert_eq!(post(&url(&f, "dcr-unknown", DEFAULT_STREAM), &monitor, ok.clone(), false).await.status(), 404);
    let (s, h, _) = error_code(post(&url(&f, DEFAULT_DCR, "Custom-Other_CL"), &monitor, ok.clone(), false).await).await;
    assert_eq!((s, h.as_str()), (400, "InvalidStream"));
    let no_version = u.split('?').next().unwrap().to_string();
    assert_eq!(post(&no_version, &monitor, ok.clone(), false).await.status(), 400);
    // The app without Monitoring Metrics Publisher on the rule.
    f.set_dcr_publishers(DEFAULT_DCR, &[]);
    let (s, h, c) = error_code(post(&u, &monitor, ok.clone(), false).await).await;
    assert_eq!((s, h.as_str(), c.as_str()), (403, "OperationFailed", "OperationFailed"));
    assert!(f.ingested_rows(DEFAULT_DCR, DEFAULT_STREAM).is_empty());
    // Injected faults answer in the service's shape.
    f.set_dcr_publishers(DEFAULT_DCR, &[DEFAULT_CLIENT_ID]);
    f.inject(Fault { service: Service::LogsIngestion, kind: FaultKind::Status { status: 503 }, count: 1 });
    let (s, h, _) = error_code(post(&u, &monitor, ok.clone(), false).await).await;
    assert_eq!((s, h.as_str()), (503, "ServiceUnavailable"));
    f.inject(Fault { service: Service::LogsIngestion, kind: FaultKind::Throttle { retry_after_secs: 2.0 }, count: 1 });
    let r = post(&u, &monitor, ok.clone(), false).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    assert_eq!(post(&u, &monitor, ok, false).await.status(), 204);
}

#[tokio::test]
async fn one_megabyte_per_call_compressed_or_not() {
    let f = fake().await;
    assert_eq!(f.limits().logs_ingestion_max_bytes, Some(1024 * 1024), "on by default (§5.2)");
    let t = token(&f, "https://monitor.azure.com/.default").await;
    let u = url(&f, DEFAULT_DCR, DEFAULT_STREAM);
    // 1.2 MB of JSON that compresses to a few KB: still too large once decoded.
    let big = json!([{"Details": "x".repeat(1_200_000)}]).to_string();
    let (s, h, _) = error_code(post(&u, &t, gzip(big.as_bytes()), true).await).await;
    assert_eq!((s, h.as_str()), (413, "ContentLengthLimitExceeded"));
    let (s, _, _) = error_code(post(&u, &t, big.into_bytes(), false).await).await;
    assert_eq!(s, 413);
    let small = json!([{"Details": "x".repeat(900_000)}]).to_string();
    assert_eq!(post(&u, &t, gzip(small.as_bytes()), true).await.status(), 204);
}

#[tokio::test]
async fn requests_per_rule_are_limited_with_retry_after() {
    let f = fake().await;
    assert_eq!(f.limits().logs_ingestion, vec![Window::new(12_000, std::time::Duration::from_secs(60))]);
    f.update_limits(|l| l.logs_ingestion = vec![Window::new(2, std::time::Duration::from_secs(60))]);
    let t = token(&f, "https://monitor.azure.com/.default").await;
    let u = url(&f, DEFAULT_DCR, DEFAULT_STREAM);
    let ok = || json!([{"Action": "paged"}]).to_string().into_bytes();
    assert_eq!(post(&u, &t, ok(), false).await.status(), 204);
    assert_eq!(post(&u, &t, ok(), false).await.status(), 204);
    let r = post(&u, &t, ok(), false).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(f.ingested_rows(DEFAULT_DCR, DEFAULT_STREAM).len(), 2);
    let log = f.request_log(Api::LogsIngestion);
    assert_eq!(log.last().unwrap().status, 429);
    assert!(log.last().unwrap().retry_after.is_some());
    // Another rule has its own limit.
    f.add_dcr("dcr-other", &[DEFAULT_STREAM], &[DEFAULT_CLIENT_ID]);
    assert_eq!(post(&url(&f, "dcr-other", DEFAULT_STREAM), &t, ok(), false).await.status(), 204);
}
