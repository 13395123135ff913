//! Microsoft Entra ID tokens for a tenant's credential (`microsoft-apis.md` §1): app secret,
//! certificate (a signed client assertion), managed identity (IMDS, App Service) and
//! workload identity (a federated token file, re-read at every refresh).
//!
//! One token per resource scope, cached and refreshed before expiry; however many tasks ask
//! at once, only one refresh per scope is in flight (a per-scope async mutex). Entra error
//! bodies (AADSTS codes) become messages that say what to fix. Secrets, PFX passwords,
//! assertions and identity headers never reach a log line or an error.
//!
//! Why not the official `azure_identity` crate: it refuses non-HTTPS authority hosts (so it
//! cannot be pointed at the fake cloud over loopback), its certificate credential needs
//! OpenSSL and sends only RS256 with a SHA-1 `x5t`, and its own cache would replace the one
//! here (one refresh in flight, AADSTS instructions, redaction). The wire protocol of each
//! kind is a few lines (§1.1, §1.5, §1.6); the crypto comes from `aws-lc-rs` (rustls's
//! provider, already in the tree), PEM and X.509 from the rustls project's crates, PFX from
//! `p12-keystore` (pure Rust).
//!
//! - this file: the provider, its credential sources and the v2 token request (secret,
//!   certificate assertion, federated token file);
//! - `cache.rs`: the token cache (one per scope, one refresh in flight, when to refresh);
//! - `certificate.rs`: loading a PEM or PFX certificate and signing client assertions;
//! - `managed_identity.rs`: IMDS and the App Service endpoint;
//! - `aadsts.rs`: Entra error codes made instructions.

mod aadsts;
mod cache;
mod certificate;
mod managed_identity;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use s4s_core::config::{Config, ConfigError, Credential, ManagedIdentitySource, TenantConfig};
use s4s_core::origin::Origin;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

pub use aadsts::{Hint, explain_aadsts, explain_aadsts_for};
use cache::Cached;
pub use cache::refresh_after;
pub use certificate::ClientCertificate;

use crate::clients::http::{UpstreamError, checked_url, origin_of, push_segments};

/// `client_assertion_type` of certificate and federated assertions (§1.1).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Now, in Unix seconds (assertion times; App Service's `expires_on`).
fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What a provider presents to Entra.
enum Source {
    Secret(SecretString),
    Certificate(ClientCertificate),
    /// AKS workload identity: the file is read at every token request (it rotates).
    Federated {
        token_file: String,
    },
    ManagedIdentity {
        client_id: Option<String>,
        endpoint: ManagedIdentitySource,
    },
    /// The credential did not load (see [`check_credentials`], which reports it before start).
    Broken(String),
}

/// Loads every tenant's credential as the connector will at start: certificate files are
/// read and checked (`config check` and `run` report a bad one, naming the key and path).
pub fn check_credentials(config: &Config) -> Result<(), ConfigError> {
    for t in &config.tenants {
        if let Credential::Certificate(c) = &t.credential {
            ClientCertificate::load(c)?;
        }
    }
    Ok(())
}

/// Issues access tokens for one tenant's credential.
pub struct TokenProvider {
    http: reqwest::Client,
    /// The v2 token endpoint (and the `aud` of certificate assertions).
    endpoint: String,
    /// The authority's origin: credentials (secret, assertion) are posted nowhere else.
    origin: Origin,
    tenant_id: String,
    client_id: String,
    source: Source,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
    /// Why Entra ID refused the last token request (cleared by the next token): self-monitoring.
    rejected: Mutex<Option<String>>,
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

impl TokenProvider {
    /// A provider for an app secret.
    pub fn new(
        http: reqwest::Client,
        authority: &Url,
        tenant_id: &str,
        client_id: &str,
        secret: SecretString,
    ) -> TokenProvider {
        TokenProvider::with_source(http, authority, tenant_id, client_id, Source::Secret(secret))
    }

    /// A provider for a certificate credential.
    pub fn with_certificate(
        http: reqwest::Client,
        authority: &Url,
        tenant_id: &str,
        client_id: &str,
        certificate: ClientCertificate,
    ) -> TokenProvider {
        TokenProvider::with_source(http, authority, tenant_id, client_id, Source::Certificate(certificate))
    }

    /// The provider of a tenant's configured credential. A certificate that no longer loads
    /// ([`check_credentials`] checked it before) makes every request fail with the reason.
    pub fn for_tenant(http: reqwest::Client, cfg: &TenantConfig) -> TokenProvider {
        let source = match &cfg.credential {
            Credential::Secret { client_secret } => Source::Secret(client_secret.clone()),
            Credential::Certificate(c) => match ClientCertificate::load(c) {
                Ok(cert) => {
                    tracing::info!(tenant = %cfg.name, thumbprint = %cert.thumbprint(), algorithm = c.algorithm.as_str(), "credential: certificate");
                    Source::Certificate(cert)
                }
                Err(e) => Source::Broken(e.to_string()),
            },
            Credential::WorkloadIdentity { token_file } => Source::Federated { token_file: token_file.clone() },
            Credential::ManagedIdentity(m) => {
                Source::ManagedIdentity { client_id: m.client_id.clone(), endpoint: m.source.clone() }
            }
        };
        TokenProvider::with_source(http, &cfg.endpoints.authority, &cfg.tenant_id, &cfg.client_id, source)
    }

    fn with_source(
        http: reqwest::Client,
        authority: &Url,
        tenant_id: &str,
        client_id: &str,
        source: Source,
    ) -> TokenProvider {
        // `{authority}/{tenant}/oauth2/v2.0/token`, the tenant id one pushed segment (a `/` or
        // `?` in it cannot reach another path). A tenant id that cannot be a segment keeps an
        // empty endpoint, which the origin check refuses before anything is sent.
        let mut url = authority.clone();
        let endpoint = match push_segments("Entra ID", &mut url, &[tenant_id, "oauth2", "v2.0", "token"]) {
            Ok(()) => url.to_string(),
            Err(_) => String::new(),
        };
        TokenProvider {
            http,
            endpoint,
            origin: origin_of(authority),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            source,
            slots: Mutex::new(HashMap::new()),
            rejected: Mutex::new(None),
        }
    }

    /// Why Entra ID refused this tenant's credential, while it does (the instruction made of
    /// its AADSTS error); `None` once a token was issued again.
    pub fn credential_error(&self) -> Option<String> {
        self.rejected.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The certificate's expiry (seconds since the epoch), for a certificate credential.
    pub fn certificate_not_after(&self) -> Option<i64> {
        match &self.source {
            Source::Certificate(c) => c.not_after(),
            _ => None,
        }
    }

    /// The certificate of a certificate credential (thumbprint, expiry).
    pub fn certificate(&self) -> Option<&ClientCertificate> {
        match &self.source {
            Source::Certificate(c) => Some(c),
            _ => None,
        }
    }

    /// One token request: the access token and its lifetime in seconds.
    async fn fetch(&self, scope: &str) -> Result<(String, u64), UpstreamError> {
        metrics::counter!(crate::telemetry::TOKEN_REQUESTS).increment(1);
        let credential_error = |message: String| UpstreamError::Credential { service: "Entra ID", message };
        match &self.source {
            Source::Secret(secret) => {
                let form = [
                    ("client_id", self.client_id.as_str()),
                    ("scope", scope),
                    ("client_secret", secret.expose_secret()),
                    ("grant_type", "client_credentials"),
                ];
                self.post(&form, secret.expose_secret(), Hint::None).await
            }
            Source::Certificate(cert) => {
                let assertion = cert.assertion(&self.client_id, &self.endpoint).map_err(credential_error)?;
                let form = [
                    ("client_id", self.client_id.as_str()),
                    ("scope", scope),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion.as_str()),
                    ("grant_type", "client_credentials"),
                ];
                let hint = Hint::Certificate { path: cert.path(), thumbprint: cert.thumbprint() };
                self.post(&form, &assertion, hint).await
            }
            Source::Federated { token_file } => {
                // Re-read at every request: the kubelet rotates the projected token (§1.6).
                let assertion = tokio::fs::read_to_string(token_file).await.map_err(|e| {
                    credential_error(format!(
                        "cannot read the federated token file {token_file}: {e} (check the projected service account token volume)"
                    ))
                })?;
                let assertion = assertion.trim();
                if assertion.is_empty() {
                    return Err(credential_error(format!("the federated token file {token_file} is empty")));
                }
                let form = [
                    ("client_id", self.client_id.as_str()),
                    ("scope", scope),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion),
                    ("grant_type", "client_credentials"),
                ];
                self.post(&form, assertion, Hint::Federated { token_file }).await
            }
            Source::ManagedIdentity { client_id, endpoint } => {
                self.managed_identity(scope, client_id.as_deref(), endpoint).await
            }
            Source::Broken(message) => Err(credential_error(message.clone())),
        }
    }

    /// POSTs a token request to the v2 endpoint; `secret` (the client secret or assertion) is
    /// scrubbed from any error body that echoes it.
    async fn post(&self, form: &[(&str, &str)], secret: &str, hint: Hint<'_>) -> Result<(String, u64), UpstreamError> {
        let url = checked_url("Entra ID", &self.origin, &self.endpoint)?;
        let resp = self.http.post(url).form(form).send().await.map_err(|e| UpstreamError::network("Entra ID", e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.map_err(|e| UpstreamError::network("Entra ID", e))?;
        if !(200..300).contains(&status) {
            // A failing token endpoint may echo what it was sent: scrub the secret first.
            let body = s4s_core::redact::scrub(&body, &[secret]);
            let msg = explain_aadsts_for(&body, &self.tenant_id, &self.client_id, hint);
            return Err(UpstreamError::from_response("Entra ID", status, &headers, msg));
        }
        let r: TokenResponse = serde_json::from_str(&body)
            .map_err(|e| UpstreamError::Invalid { service: "Entra ID", message: format!("token response: {e}") })?;
        Ok((r.access_token, r.expires_in))
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
}
