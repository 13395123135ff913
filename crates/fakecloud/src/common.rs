//! Helpers shared by the fake services: faults, error bodies, time.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::state::{FaultKind, Service, State};

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Graph-style timestamp: 7 fractional digits, `Z`.
pub fn graph_ts(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

pub fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Graph / ARM error body (`microsoft-apis.md` §2.8).
pub fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        json!({"error": {"code": code, "message": message,
            "innerError": {"date": graph_ts(now()), "request-id": uuidish(), "client-request-id": uuidish()}}}),
    )
}

pub fn uuidish() -> String {
    let a: u128 = rand::random();
    let h = format!("{a:032x}");
    format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// Graph's documented throttling answer, with fractional `Retry-After`.
pub fn graph_throttled(retry_after: Duration) -> Response {
    let mut r = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"error": {"code": "TooManyRequests", "innerError": {"code": "429", "date": graph_ts(now()),
            "message": "Please retry after", "request-id": uuidish(), "status": "429"},
            "message": "Please retry again later."}}),
    );
    // Milliseconds, rounded up: a client that waits exactly this long is not early.
    let ms = (retry_after.as_secs_f64() * 1000.0).ceil().max(1.0);
    let secs = format!("{:.3}", ms / 1000.0);
    if let Ok(v) = HeaderValue::from_str(&secs) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// The Logs Ingestion API's documented error answer (`microsoft-apis.md` §5.2): body and
/// `x-ms-error-code`.
pub fn ingestion_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = json_response(status, json!({"error": {"code": code, "message": message}}));
    if let Ok(v) = HeaderValue::from_str(code) {
        r.headers_mut().insert("x-ms-error-code", v);
    }
    r
}

/// A response whose body breaks off after a few bytes: the client sees a dropped connection.
pub fn dropped() -> Response {
    let stream = futures::stream::iter(vec![
        Ok::<bytes::Bytes, std::io::Error>(bytes::Bytes::from_static(b"{\"value\": [")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault injection: connection dropped")),
    ]);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// Applies an injected fault for `service`, if one is pending. Returns the response to send
/// instead of the real one (latency faults delay and then let the request proceed).
pub async fn fault(state: &Arc<State>, service: Service) -> Option<Response> {
    let kind = state.lock().take_fault(service)?;
    match kind {
        FaultKind::Latency { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            None
        }
        FaultKind::Drop => Some(dropped()),
        // Applied by the front door (`take_echo`, `take_headers`), never taken here.
        FaultKind::Echo { .. } | FaultKind::Headers { .. } => None,
        FaultKind::Throttle { retry_after_secs } => Some(match service {
            Service::LogsIngestion => {
                let mut r = ingestion_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Too many requests. Retry after the time in Retry-After.",
                );
                if let Ok(v) = HeaderValue::from_str(&format!("{retry_after_secs}")) {
                    r.headers_mut().insert("retry-after", v);
                }
                r
            }
            Service::Signl4 => {
                let mut r = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"code": 429, "message": "Too many requests.", "requestId": uuidish()}),
                );
                if let Ok(v) = HeaderValue::from_str(&format!("{retry_after_secs}")) {
                    r.headers_mut().insert("retry-after", v);
                }
                r
            }
            _ => graph_throttled(Duration::from_secs_f64(retry_after_secs.max(0.0))),
        }),
        FaultKind::Status { status } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(match service {
                Service::Entra => json_response(
                    code,
                    json!({"error": "temporarily_unavailable", "error_description": "AADSTS50196: fault injection", "error_codes": [50196]}),
                ),
                Service::Signl4 => json_response(
                    code,
                    json!({"code": status, "message": "Error raising event.", "details": "fault injection", "requestId": uuidish()}),
                ),
                Service::Graph | Service::Arm | Service::LogAnalytics => {
                    graph_error(code, "ServiceUnavailable", "fault injection")
                }
                Service::LogsIngestion => ingestion_error(code, "ServiceUnavailable", "fault injection"),
            })
        }
    }
}

/// [`crate::state::FaultKind::Echo`]: an error answer that repeats the whole request.
pub async fn echo_response(service: Service, status: u16, req: axum::extract::Request) -> Response {
    let mut dump = format!("{} {}", req.method(), req.uri());
    for (k, v) in req.headers() {
        dump.push_str(&format!("; {k}: {}", String::from_utf8_lossy(v.as_bytes())));
    }
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    dump.push_str(&format!("; body: {}", String::from_utf8_lossy(&body)));
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    match service {
        Service::Entra => json_response(
            code,
            json!({"error": "invalid_client", "error_description": format!("AADSTS7000215: Invalid client secret provided. Request was: {dump}"), "error_codes": [7000215]}),
        ),
        Service::Signl4 => json_response(
            code,
            json!({"code": status, "message": "Error.", "details": format!("Request was: {dump}"), "requestId": uuidish()}),
        ),
        _ => json_response(code, json!({"error": {"code": "BadRequest", "message": format!("Request was: {dump}")}})),
    }
}
