//! Microsoft Entra ID client-credentials tokens (`microsoft-apis.md` §1).
//!
//! One token per resource scope, cached and refreshed before expiry; however many tasks ask
//! at once, only one refresh per scope is in flight (a per-scope async mutex). Entra error
//! bodies (AADSTS codes) become messages that say what to fix.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use crate::clients::http::{UpstreamError, summarize_body};

#[derive(Clone)]
struct Cached {
    token: Arc<SecretString>,
    refresh_at: Instant,
}

/// Issues access tokens for one app registration in one tenant.
pub struct TokenProvider {
    http: reqwest::Client,
    endpoint: String,
    tenant_id: String,
    client_id: String,
    secret: SecretString,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
}

/// `expires_in` comes as a number from the v2 endpoint and as a string from v1 / IMDS.
fn de_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(f64),
        Str(String),
    }
    match N::deserialize(d)? {
        N::Num(n) if n >= 0.0 => Ok(n as u64),
        N::Str(s) => s.trim().parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("negative expires_in")),
    }
}

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(deserialize_with = "de_secs")]
    pub expires_in: u64,
}

/// When to refresh a token that lives `lifetime`: 5 minutes early, or after 80 % of a
/// short lifetime.
pub fn refresh_after(lifetime: Duration) -> Duration {
    let early = Duration::from_secs(300);
    if lifetime > early * 2 { lifetime - early } else { lifetime.mul_f64(0.8) }
}

/// Turns an Entra error into an instruction (codes: `microsoft-apis.md` §1.3).
pub fn explain_aadsts(body: &str, tenant: &str, client_id: &str) -> String {
    let code = body
        .split("AADSTS")
        .nth(1)
        .map(|s| s.chars().take_while(|c| c.is_ascii_digit()).collect::<String>())
        .unwrap_or_default();
    let hint = match code.as_str() {
        "7000215" => format!(
            "the client secret is wrong for app {client_id}: use the secret's *Value* (not its ID) from App registrations → Certificates & secrets, and update client_secret"
        ),
        "7000222" => format!(
            "the client secret of app {client_id} has expired: create a new one under App registrations → Certificates & secrets"
        ),
        "700016" => format!(
            "app {client_id} was not found in tenant {tenant}: check client_id and tenant_id, and that the app is registered (or consented) in that tenant"
        ),
        "90002" => {
            format!("tenant {tenant} was not found: check tenant_id and the `cloud` setting (public / usgov / china)")
        }
        "900023" => {
            format!("\"{tenant}\" is not a valid tenant id: use the Directory (tenant) ID GUID or a verified domain")
        }
        "65001" => "admin consent is missing: an administrator must grant consent for the app's API permissions".into(),
        "70011" | "1002012" => "the token scope was rejected: check the cloud / endpoints settings".into(),
        "50196" | "" => return format!("Entra ID: {}", summarize_body(body)),
        other => format!("Entra ID refused the token request (AADSTS{other})"),
    };
    format!("{hint} [{}]", summarize_body(body))
}

impl TokenProvider {
    pub fn new(
        http: reqwest::Client,
        authority: &Url,
        tenant_id: &str,
        client_id: &str,
        secret: SecretString,
    ) -> TokenProvider {
        let base = authority.as_str().trim_end_matches('/');
        TokenProvider {
            http,
            endpoint: format!("{base}/{tenant_id}/oauth2/v2.0/token"),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, scope: &str) -> Arc<tokio::sync::Mutex<Option<Cached>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(scope.to_string()).or_default().clone()
    }

    /// A valid token for `scope` (`https://graph.microsoft.com/.default`).
    pub async fn token(&self, scope: &str) -> Result<Arc<SecretString>, UpstreamError> {
        let slot = self.slot(scope);
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let resp = (|| self.fetch(scope))
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(200))
                    .with_max_delay(Duration::from_secs(10))
                    .with_max_times(4)
                    .with_jitter(),
            )
            .when(UpstreamError::is_transient)
            .adjust(|e, d| e.retry_after().or(d))
            .await?;
        let lifetime = Duration::from_secs(resp.expires_in);
        let cached = Cached {
            token: Arc::new(SecretString::from(resp.access_token)),
            refresh_at: Instant::now() + refresh_after(lifetime),
        };
        *guard = Some(cached.clone());
        Ok(cached.token)
    }

    /// Drops a cached token the API rejected (401), so the next call fetches a new one.
    pub async fn invalidate(&self, scope: &str, rejected: &SecretString) {
        let slot = self.slot(scope);
        let mut guard = slot.lock().await;
        if guard.as_ref().is_some_and(|c| c.token.expose_secret() == rejected.expose_secret()) {
            *guard = None;
        }
    }

    async fn fetch(&self, scope: &str) -> Result<TokenResponse, UpstreamError> {
        metrics::counter!(crate::telemetry::TOKEN_REQUESTS).increment(1);
        let form = [
            ("client_id", self.client_id.as_str()),
            ("scope", scope),
            ("client_secret", self.secret.expose_secret()),
            ("grant_type", "client_credentials"),
        ];
        let resp = self
            .http
            .post(&self.endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| UpstreamError::network("Entra ID", e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.map_err(|e| UpstreamError::network("Entra ID", e))?;
        if !(200..300).contains(&status) {
            // A failing token endpoint may echo what it was sent: scrub the secret first.
            let body = s4s_core::redact::scrub(&body, &[self.secret.expose_secret()]);
            let msg = explain_aadsts(&body, &self.tenant_id, &self.client_id);
            return Err(UpstreamError::from_response("Entra ID", status, &headers, msg));
        }
        serde_json::from_str(&body)
            .map_err(|e| UpstreamError::Invalid { service: "Entra ID", message: format!("token response: {e}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_as_number_or_string() {
        let a: TokenResponse = serde_json::from_str(
            r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"x"}"#,
        )
        .unwrap();
        let b: TokenResponse =
            serde_json::from_str(r#"{"token_type":"Bearer","expires_in":"86399","access_token":"y"}"#).unwrap();
        assert_eq!((a.expires_in, b.expires_in), (3599, 86399));
        assert!(serde_json::from_str::<TokenResponse>(r#"{"expires_in":"soon","access_token":"y"}"#).is_err());
    }

    #[test]
    fn refresh_timing() {
        assert_eq!(refresh_after(Duration::from_secs(3599)), Duration::from_secs(3299));
        assert_eq!(refresh_after(Duration::from_secs(100)), Duration::from_secs(80));
    }

    #[test]
    fn aadsts_codes_become_instructions() {
        let body = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: 1\",\"error_codes\":[7000215]}";
        let m = explain_aadsts(body, "t", "c");
        assert!(m.contains("client secret is wrong") && m.contains("Certificates & secrets"), "{m}");
        assert!(
            explain_aadsts(
                "{\"error\":\"invalid_request\",\"error_description\":\"AADSTS90002: Tenant 't' not found.\"}",
                "t",
                "c"
            )
            .contains("check tenant_id")
        );
        assert!(
            explain_aadsts(
                "{\"error\":\"unauthorized_client\",\"error_description\":\"AADSTS700016: Application\"}",
                "t",
                "c"
            )
            .contains("app c was not found in tenant t")
        );
        assert!(
            explain_aadsts("{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS65001: consent\"}", "t", "c")
                .contains("admin consent")
        );
        assert!(explain_aadsts("garbage", "t", "c").starts_with("Entra ID: garbage"));
    }
}
