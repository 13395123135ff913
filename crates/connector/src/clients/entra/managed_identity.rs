//! Managed-identity tokens (§1.5): IMDS (`Metadata: true`) or the App Service endpoint
//! (`X-IDENTITY-HEADER`), their answers (`expires_in` or only `expires_on`) and their errors
//! made instructions.

use s4s_core::config::ManagedIdentitySource;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{TokenProvider, unix_now};
use crate::clients::http::{UpstreamError, checked_url, origin_of, push_segments, summarize_body};

/// IMDS: the documented version (§1.5); App Service: the one whose answer has Unix `expires_on`.
const IMDS_API_VERSION: &str = "2018-02-01";
const APP_SERVICE_API_VERSION: &str = "2019-08-01";

/// A number or numeric string; anything else (an old App Service date string) is `None`.
fn de_opt_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A managed-identity answer: IMDS sends `expires_in` and `expires_on` (strings), App Service
/// only `expires_on` (Unix seconds) (§1.5).
#[derive(Deserialize)]
struct ManagedIdentityToken {
    access_token: String,
    #[serde(default, deserialize_with = "de_opt_secs")]
    expires_in: Option<u64>,
    #[serde(default, deserialize_with = "de_opt_secs")]
    expires_on: Option<u64>,
}

impl ManagedIdentityToken {
    fn lifetime(&self) -> Option<u64> {
        self.expires_in.or_else(|| self.expires_on.map(|on| on.saturating_sub(unix_now().max(0) as u64)))
    }
}

/// Turns a managed-identity endpoint's error into an instruction.
pub(super) fn explain_managed_identity(body: &str, client_id: Option<&str>) -> String {
    let summary = summarize_body(body);
    if body.contains("Identity not found") {
        let which = match client_id {
            Some(c) => format!("the user-assigned identity {c}"),
            None => "a system-assigned identity".into(),
        };
        return format!(
            "{which} is not attached to this Azure resource: enable the system-assigned identity (Identity → System assigned → On), \
             or attach the user-assigned identity and set client_id to its client id [{summary}]"
        );
    }
    format!("managed identity endpoint: {summary}")
}

impl TokenProvider {
    /// A managed-identity token for the resource of `scope` (the scope without `/.default`):
    /// IMDS (`Metadata: true`) or the App Service endpoint (`X-IDENTITY-HEADER`) (§1.5).
    pub(super) async fn managed_identity(
        &self,
        scope: &str,
        client_id: Option<&str>,
        endpoint: &ManagedIdentitySource,
    ) -> Result<(String, u64), UpstreamError> {
        const SERVICE: &str = "managed identity";
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let mut query: Vec<(&str, &str)> = vec![("resource", resource)];
        if let Some(c) = client_id {
            query.push(("client_id", c));
        }
        // Each URL is checked against its configured endpoint's origin before it is used.
        let (request, header) = match endpoint {
            ManagedIdentitySource::Imds { endpoint } => {
                let mut url = endpoint.clone();
                push_segments(SERVICE, &mut url, &["metadata", "identity", "oauth2", "token"])?;
                let url = checked_url(SERVICE, &origin_of(endpoint), url.as_str())?;
                query.push(("api-version", IMDS_API_VERSION));
                (self.http.get(url).header("Metadata", "true"), None)
            }
            ManagedIdentitySource::AppService { endpoint, header } => {
                let url = checked_url(SERVICE, &origin_of(endpoint), endpoint.as_str())?;
                query.push(("api-version", APP_SERVICE_API_VERSION));
                (self.http.get(url).header("X-IDENTITY-HEADER", header.expose_secret()), Some(header))
            }
        };
        let resp = request.query(&query).send().await.map_err(|e| {
            let mut err = UpstreamError::network(SERVICE, e);
            if let UpstreamError::Network { message, .. } = &mut err {
                message.push_str(
                    " (is this running on Azure with a managed identity? IMDS answers only on Azure VMs, scale sets and AKS nodes)",
                );
            }
            err
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.map_err(|e| UpstreamError::network(SERVICE, e))?;
        if !(200..300).contains(&status) {
            let secrets: Vec<&str> = header.iter().map(|h| h.expose_secret()).collect();
            let body = s4s_core::redact::scrub(&body, &secrets);
            let mut err =
                UpstreamError::from_response(SERVICE, status, &headers, explain_managed_identity(&body, client_id));
            // IMDS asks for retries on 404 and 410 (it is being updated) too (§1.5).
            if let UpstreamError::Http { permanent, .. } = &mut err
                && matches!(status, 404 | 410)
            {
                *permanent = false;
            }
            return Err(err);
        }
        let r: ManagedIdentityToken = serde_json::from_str(&body)
            .map_err(|e| UpstreamError::Invalid { service: SERVICE, message: format!("token response: {e}") })?;
        let lifetime = r.lifetime().ok_or_else(|| UpstreamError::Invalid {
            service: SERVICE,
            message: "token response has neither expires_in nor expires_on".into(),
        })?;
        Ok((r.access_token, lifetime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_identity_answers_with_expires_in_or_only_expires_on() {
        let imds: ManagedIdentityToken = serde_json::from_str(
            r#"{"access_token":"a","refresh_token":"","expires_in":"3599","expires_on":"1506484173","not_before":"1506480273","resource":"https://management.azure.com/","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(imds.lifetime(), Some(3599));
        let on = unix_now() + 3000;
        let app_service: ManagedIdentityToken = serde_json::from_str(&format!(
            r#"{{"access_token":"a","expires_on":"{on}","resource":"r","token_type":"Bearer"}}"#
        ))
        .unwrap();
        assert!((2990..=3000).contains(&app_service.lifetime().unwrap()));
        // An old App Service date string is not a number: no lifetime rather than a wrong one.
        let old: ManagedIdentityToken =
            serde_json::from_str(r#"{"access_token":"a","expires_on":"09/14/2017 00:00:00 PM +00:00"}"#).unwrap();
        assert_eq!(old.lifetime(), None);
    }
}
