//! Fake Microsoft Entra ID token endpoint (`microsoft-apis.md` §1.1–§1.3, §7.1).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::common::{fault, json_response, uuidish};
use crate::state::{Service, State, TokenInfo};

fn aad_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let trace = uuidish();
    let corr = uuidish();
    let ts = crate::common::graph_ts(crate::common::now());
    json_response(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
        }),
    )
}

fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64_lite::decode;
    let v = headers.get("authorization")?.to_str().ok()?;
    let b = v.strip_prefix("Basic ")?;
    let raw = String::from_utf8(decode(b)?).ok()?;
    let (u, p) = raw.split_once(':')?;
    Some((
        url::form_urlencoded::parse(format!("u={u}").as_bytes()).next()?.1.into_owned(),
        url::form_urlencoded::parse(format!("p={p}").as_bytes()).next()?.1.into_owned(),
    ))
}

/// Minimal base64 decoding for HTTP Basic credentials (avoids a dependency for 20 lines).
mod base64_lite {
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let val = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => (c - b'A') as u32,
                b'a'..=b'z' => (c - b'a' + 26) as u32,
                b'0'..=b'9' => (c - b'0' + 52) as u32,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            })
        };
        let bytes: Vec<u8> = s.trim().bytes().filter(|&c| c != b'=').collect();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let mut acc = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                acc |= val(c)? << (18 - 6 * i);
            }
            let n = chunk.len();
            if n < 2 {
                return None;
            }
            out.push((acc >> 16) as u8);
            if n > 2 {
                out.push((acc >> 8) as u8);
            }
            if n > 3 {
                out.push(acc as u8);
            }
        }
        Some(out)
    }
}

pub async fn token(
    AxState(state): AxState<Arc<State>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    state.lock().count("entra.token");
    if let Some(r) = fault(&state, Service::Entra).await {
        return r;
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let mut st = state.lock();
    let lifetime = st.settings.token_lifetime_secs;
    let Some(t) = st.tenants.get(&tenant) else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    };
    if form_get(&form, "grant_type") != Some("client_credentials") {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let (client_id, secret) = match (form_get(&form, "client_id"), form_get(&form, "client_secret")) {
        (Some(c), Some(s)) => (c.to_string(), s.to_string()),
        _ => match basic_auth(&headers) {
            Some(cs) => cs,
            None => {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_id'.",
                );
            }
        },
    };
    let Some(app) = t.apps.get(&client_id) else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            ),
        );
    };
    if app.client_secret != secret {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        );
    }
    let scope = form_get(&form, "scope").unwrap_or("");
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.len() != 1 {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. All scopes included must be for a single resource."
            ),
        );
    }
    let Some(resource) = scopes[0].strip_suffix("/.default") else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let resource = resource.trim_end_matches('/').to_string();
    st.token_seq += 1;
    let token = format!("fake-at.{}.{}", st.token_seq, uuidish());
    st.tokens.insert(
        token.clone(),
        TokenInfo {
            tenant: tenant.clone(),
            client_id,
            audience: resource,
            expires: Instant::now() + Duration::from_secs(lifetime),
        },
    );
    json_response(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}),
    )
}
