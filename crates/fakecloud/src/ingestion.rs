//! The Azure Monitor Logs Ingestion API (`microsoft-apis.md` §5.2): `POST
//! /logsingestion/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01` with a
//! bearer token for `https://monitor.azure.com`, a JSON array body, optionally gzip; `204` on
//! success. Errors have the documented body `{"error": {"code", "message"}}` and the
//! `x-ms-error-code` header: `401` without a valid monitor token, `403` when the app lacks
//! *Monitoring Metrics Publisher* on the rule, `404` for an unknown rule, `400` for an
//! undeclared stream or a body that is not a JSON array of objects, `413` over 1 MB
//! (compressed or not), `429` with `Retry-After` past 12,000 requests per minute per rule
//! (the front door, [`crate::limits::Limits::logs_ingestion`]). Rows are kept per rule and
//! stream, readable through [`crate::FakeCloud::ingested_rows`] and `/_control/dcrs/…`.
//! The real service does not deduplicate (§5.2): neither does the fake.

use std::io::Read;
use std::sync::Arc;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::common::fault;
pub use crate::common::ingestion_error;
pub use crate::state::Dcr;
use crate::state::{Service, State};

/// The audience of Logs Ingestion tokens (`microsoft-apis.md` §1.4), in any cloud.
pub fn is_monitor_audience(aud: &str) -> bool {
    let a = aud.to_ascii_lowercase();
    a.contains("monitor.azure.") || a.contains("monitor.core.")
}

pub async fn upload(
    AxState(state): AxState<Arc<State>>,
    Path((dcr, stream)): Path<(String, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.lock().count("logsingestion.upload");
    if let Some(r) = fault(&state, Service::LogsIngestion).await {
        return r;
    }
    match q.get("api-version").map(String::as_str) {
        Some("2023-01-01" | "2021-11-01-preview") => {}
        Some(v) => {
            return ingestion_error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersion",
                &format!("The api-version '{v}' is not supported."),
            );
        }
        None => {
            return ingestion_error(
                StatusCode::BAD_REQUEST,
                "MissingApiVersion",
                "The api-version query parameter is required.",
            );
        }
    }
    let client_id = {
        let st = state.lock();
        let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let Some(info) = token.and_then(|t| st.tokens.get(t)) else {
            return ingestion_error(
                StatusCode::UNAUTHORIZED,
                "InvalidToken",
                "The access token is missing or invalid.",
            );
        };
        if std::time::Instant::now() >= info.expires {
            return ingestion_error(StatusCode::UNAUTHORIZED, "TokenExpired", "The access token has expired.");
        }
        if !is_monitor_audience(&info.audience) {
            return ingestion_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAudience",
                &format!(
                    "The access token audience '{}' is not valid: use https://monitor.azure.com/.default.",
                    info.audience
                ),
            );
        }
        info.client_id.clone()
    };
    // 1 MB per call, compressed or uncompressed (§5.2).
    let limit = state.lock().settings.limits.logs_ingestion_max_bytes;
    let too_large = || {
        ingestion_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "ContentLengthLimitExceeded",
            "The message is too large. The maximum message size is currently 1 MB per call.",
        )
    };
    if limit.is_some_and(|l| body.len() > l) {
        return too_large();
    }
    let gzip = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    let text = if gzip {
        let mut out = Vec::new();
        // Decode at most one byte past the limit: enough to know it is too large.
        let cap = limit.map(|l| l as u64 + 1).unwrap_or(u64::MAX);
        if flate2::read::GzDecoder::new(&body[..]).take(cap).read_to_end(&mut out).is_err() {
            return ingestion_error(
                StatusCode::BAD_REQUEST,
                "InvalidContentEncoding",
                "The gzip body cannot be decoded.",
            );
        }
        out
    } else {
        body.to_vec()
    };
    if limit.is_some_and(|l| text.len() > l) {
        return too_large();
    }
    let rows = match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Array(rows)) if rows.iter().all(Value::is_object) => rows,
        _ => {
            return ingestion_error(
                StatusCode::BAD_REQUEST,
                "InvalidPayload",
                "The request body must be a JSON array of objects.",
            );
        }
    };
    let mut st = state.lock();
    let Some(rule) = st.dcrs.get_mut(&dcr) else {
        return ingestion_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Data collection rule with immutable Id '{dcr}' not found."),
        );
    };
    if !rule.publishers.iter().any(|p| p.eq_ignore_ascii_case(&client_id)) {
        return ingestion_error(
            StatusCode::FORBIDDEN,
            "OperationFailed",
            &format!(
                "The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '{dcr}'."
            ),
        );
    }
    if !rule.streams.iter().any(|s| s == &stream) {
        return ingestion_error(
            StatusCode::BAD_REQUEST,
            "InvalidStream",
            &format!("Stream '{stream}' is not declared in data collection rule '{dcr}'."),
        );
    }
    rule.rows.extend(rows.into_iter().map(|r| (stream.clone(), r)));
    StatusCode::NO_CONTENT.into_response()
}
