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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::signature::RsaKeyPair;
use backon::{ExponentialBuilder, Retryable};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use s4s_core::config::{
    AssertionAlgorithm, CertificateCredential, Config, ConfigError, Credential, ManagedIdentitySource, TenantConfig,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;
use url::Url;

use s4s_core::origin::Origin;

use crate::clients::http::{UpstreamError, checked_url, origin_of, push_segments, summarize_body};

/// `client_assertion_type` of certificate and federated assertions (§1.1).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long a certificate assertion is valid: short, within the documented 5–10 minutes (§1.1).
const ASSERTION_LIFETIME_SECS: i64 = 600;
/// IMDS: the documented version (§1.5); App Service: the one whose answer has Unix `expires_on`.
const IMDS_API_VERSION: &str = "2018-02-01";
const APP_SERVICE_API_VERSION: &str = "2019-08-01";

#[derive(Clone)]
struct Cached {
    token: Arc<SecretString>,
    refresh_at: Instant,
    /// When the token expires (Unix ms), for the status page.
    expires_ms: i64,
}

/// A loaded certificate credential: the RSA key, the certificate's thumbprints and chain.
pub struct ClientCertificate {
    key: RsaKeyPair,
    /// base64url SHA-256 of the DER certificate (`x5t#S256`).
    x5t_s256: String,
    /// base64url SHA-1 (`x5t`, sent with RS256 for older Entra behaviour).
    x5t: String,
    /// SHA-1 in upper-case hex: what the portal shows as the thumbprint.
    thumbprint: String,
    /// The chain as standard base64 DER, leaf first (`x5c`).
    chain: Vec<String>,
    algorithm: AssertionAlgorithm,
    send_chain: bool,
    path: String,
    /// The leaf's `notAfter` (seconds since the epoch), for self-monitoring.
    not_after: Option<i64>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("path", &self.path)
            .field("thumbprint", &self.thumbprint)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A random (version 4) UUID, for `jti`.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex_upper(&b).to_ascii_lowercase();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl ClientCertificate {
    /// Reads and checks the certificate file of a tenant (at start-up); errors name the key
    /// and the path.
    pub fn load(c: &CertificateCredential) -> Result<ClientCertificate, ConfigError> {
        let bytes = std::fs::read(&c.path).map_err(|e| ConfigError {
            key: c.key.clone(),
            problem: format!("cannot read the certificate file {}: {e}", c.path),
            fix: "check the path and that the connector's user may read it".into(),
        })?;
        let password = c.password.as_ref().map(|p| p.expose_secret());
        ClientCertificate::from_bytes(&bytes, password, c.algorithm, c.send_chain, &c.path).map_err(|problem| {
            ConfigError {
                key: c.key.clone(),
                problem: format!("certificate file {}: {problem}", c.path),
                fix: "use a PEM file holding the certificate and its unencrypted RSA private key, or a PFX file \
                      (with certificate_password if it has one)"
                    .into(),
            }
        })
    }

    /// A certificate credential from a PEM (certificate(s) and private key, any order) or
    /// PKCS#12 (PFX) file's bytes. The leaf is the certificate whose public key matches the
    /// private key; the others follow it in the chain.
    pub fn from_bytes(
        bytes: &[u8],
        password: Option<&str>,
        algorithm: AssertionAlgorithm,
        send_chain: bool,
        path: &str,
    ) -> Result<ClientCertificate, String> {
        let (key, certs) = if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            if bytes.windows(21).any(|w| w == b"ENCRYPTED PRIVATE KEY") {
                return Err("the private key is encrypted: convert the file to a PFX and set certificate_password, \
                            or decrypt the key (openssl pkey -in key.pem -out key-plain.pem)"
                    .into());
            }
            let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(bytes)
                .map(|c| c.map(|c| c.as_ref().to_vec()))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("invalid PEM: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(bytes).map_err(|e| match e {
                rustls_pki_types::pem::Error::NoItemsFound => {
                    "no private key found: put the certificate and its private key in one PEM file".to_string()
                }
                other => format!("invalid PEM private key: {other}"),
            })?;
            let key = match &key {
                PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
                PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
                _ => return Err("the private key is not an RSA key: Entra ID accepts RSA certificates".into()),
            }
            .map_err(|e| format!("the private key is not a usable RSA key (2048 bits or more): {e}"))?;
            (key, certs)
        } else {
            let store =
                p12_keystore::KeyStore::from_pkcs12(bytes, password.unwrap_or(""), p12_keystore::Pkcs12ImportPolicy::Strict)
                    .map_err(|e| match e {
                        p12_keystore::error::Error::MacError(_) => {
                            "cannot open the PFX file: wrong password (certificate_password / AZURE_CLIENT_CERTIFICATE_PASSWORD)"
                                .to_string()
                        }
                        other => format!("neither PEM nor a readable PFX file ({other}); a wrong password also gives this"),
                    })?;
            let (_, chain) =
                store.private_key_chain().ok_or("the PFX file holds no private key with its certificate")?;
            let key = RsaKeyPair::from_pkcs8(chain.key().as_der())
                .map_err(|e| format!("the private key is not a usable RSA key (2048 bits or more): {e}"))?;
            (key, chain.certs().iter().map(|c| c.as_der().to_vec()).collect())
        };
        if certs.is_empty() {
            return Err("no certificate found next to the private key".into());
        }
        // The leaf: the certificate that verifies a signature made with the key.
        let probe = b"signl4-sentinel certificate check";
        let mut sig = vec![0u8; key.public_modulus_len()];
        key.sign(&aws_lc_rs::signature::RSA_PSS_SHA256, &aws_lc_rs::rand::SystemRandom::new(), probe, &mut sig)
            .map_err(|_| "the private key cannot sign".to_string())?;
        let leaf = certs
            .iter()
            .position(|der| {
                let der = CertificateDer::from(der.as_slice());
                webpki::EndEntityCert::try_from(&der).is_ok_and(|ee| {
                    ee.verify_signature(webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY, probe, &sig).is_ok()
                })
            })
            .ok_or("no certificate in the file matches the private key")?;
        let mut ordered = vec![certs[leaf].clone()];
        ordered.extend(certs.iter().enumerate().filter(|(i, _)| *i != leaf).map(|(_, c)| c.clone()));
        let der = &ordered[0];
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der);
        Ok(ClientCertificate {
            key,
            x5t_s256: URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, der)),
            x5t: URL_SAFE_NO_PAD.encode(sha1),
            thumbprint: hex_upper(sha1.as_ref()),
            chain: ordered.iter().map(|c| STANDARD.encode(c)).collect(),
            algorithm,
            send_chain,
            path: path.to_string(),
            not_after: s4s_core::selfmon::certificate_not_after(der),
        })
    }

    /// The SHA-1 thumbprint in upper-case hex, as the Entra portal shows it.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// When the certificate expires (its `notAfter`, Unix seconds): self-monitoring and the
    /// status page.
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// A client assertion for `client_id` at the token endpoint `audience` (§1.1): header
    /// `alg` (PS256 or RS256), `typ`, `x5t#S256` (and `x5t` with RS256, `x5c` if asked);
    /// claims `aud`, `iss` = `sub` = client id, a fresh `jti`, `nbf`/`iat` now, `exp` in 10
    /// minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, String> {
        let now = unix_now();
        let mut header = json!({"alg": self.algorithm.as_str(), "typ": "JWT", "x5t#S256": self.x5t_s256});
        if self.algorithm == AssertionAlgorithm::Rs256 {
            header["x5t"] = json!(self.x5t);
        }
        if self.send_chain {
            header["x5c"] = json!(self.chain);
        }
        let claims = json!({
            "aud": audience, "iss": client_id, "sub": client_id, "jti": uuid_v4(),
            "nbf": now, "iat": now, "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let b64 = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match self.algorithm {
            AssertionAlgorithm::Ps256 => &aws_lc_rs::signature::RSA_PSS_SHA256,
            AssertionAlgorithm::Rs256 => &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        };
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(padding, &aws_lc_rs::rand::SystemRandom::new(), input.as_bytes(), &mut sig)
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
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

/// A number or numeric string; anything else (an old App Service date string) is `None`.
fn de_opt_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(deserialize_with = "de_secs")]
    pub expires_in: u64,
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

/// When to refresh a token that lives `lifetime`: 5 minutes early, or after 80 % of a
/// short lifetime.
pub fn refresh_after(lifetime: Duration) -> Duration {
    let early = Duration::from_secs(300);
    if lifetime > early * 2 { lifetime - early } else { lifetime.mul_f64(0.8) }
}

/// What the provider knows about its credential, to make an Entra error an instruction.
#[derive(Debug, Clone, Copy, Default)]
pub enum Hint<'a> {
    #[default]
    None,
    Certificate {
        path: &'a str,
        thumbprint: &'a str,
    },
    Federated {
        token_file: &'a str,
    },
}

/// Turns an Entra error into an instruction (codes: `microsoft-apis.md` §1.3).
pub fn explain_aadsts(body: &str, tenant: &str, client_id: &str) -> String {
    explain_aadsts_for(body, tenant, client_id, Hint::None)
}

/// [`explain_aadsts`] with what the provider knows about its credential (the certificate's
/// path and thumbprint, the federated token file).
pub fn explain_aadsts_for(body: &str, tenant: &str, client_id: &str, hint: Hint<'_>) -> String {
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
        "700027" => match hint {
            Hint::Certificate { path, thumbprint } => format!(
                "app {client_id} does not accept the certificate {path} (thumbprint {thumbprint}): upload that certificate \
                 (its public part: a .cer, .crt or .pem file without the private key) under App registrations → {client_id} → \
                 Certificates & secrets → Certificates, in the app's home tenant, and check the portal then lists thumbprint {thumbprint}"
            ),
            _ => format!(
                "app {client_id} does not accept the client assertion's signing key: upload the certificate under App registrations → Certificates & secrets → Certificates"
            ),
        },
        "50013" => "Entra ID cannot verify the federated token's signature: the federated credential's issuer must be the \
                    cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl) and the cluster must have \
                    the OIDC issuer enabled"
            .into(),
        "700024" => match hint {
            Hint::Federated { token_file } => format!(
                "the federated token in {token_file} has expired or is not yet valid: the kubelet rotates it; check that the \
                 projected service account token volume is mounted and refreshed, and this machine's clock"
            ),
            _ => "the client assertion is outside its valid time range: check this machine's clock (NTP)".into(),
        },
        "700021" => format!("the client assertion names another app than client_id {client_id}: check client_id"),
        "700023" => "the client assertion's audience is not this tenant's token endpoint: check tenant_id and the `cloud` / endpoints.authority settings".into(),
        "70021" | "700211" | "700212" | "700213" => {
            let file = match hint {
                Hint::Federated { token_file } => format!(" from {token_file}"),
                _ => String::new(),
            };
            format!(
                "no federated identity credential of app {client_id} matches the token{file}: add one under App registrations → \
                 {client_id} → Certificates & secrets → Federated credentials (scenario: Kubernetes) with the cluster's OIDC \
                 issuer URL, the namespace and the service account — the issuer and subject Entra ID saw are below"
            )
        }
        "7000218" => "the token request carried neither a client secret nor an assertion: configure a credential (docs → Credentials)".into(),
        "50196" | "" => return format!("Entra ID: {}", summarize_body(body)),
        other => format!("Entra ID refused the token request (AADSTS{other})"),
    };
    format!("{hint} [{}]", summarize_body(body))
}

/// Turns a managed-identity endpoint's error into an instruction.
fn explain_managed_identity(body: &str, client_id: Option<&str>) -> String {
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
            Source::Certificate(c) => c.not_after,
            _ => None,
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
        let r = (|| self.fetch(scope))
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(200))
                    .with_max_delay(Duration::from_secs(10))
                    .with_max_times(4)
                    .with_jitter(),
            )
            .when(UpstreamError::is_transient)
            .adjust(|e, d| e.retry_after().or(d))
            .await;
        let (access_token, lifetime) = match r {
            Ok(v) => v,
            Err(e) => {
                if !e.is_transient() {
                    *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                }
                return Err(e);
            }
        };
        *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let cached = Cached {
            token: Arc::new(SecretString::from(access_token)),
            refresh_at: Instant::now() + refresh_after(Duration::from_secs(lifetime)),
            expires_ms: crate::clock::now_ms().saturating_add((lifetime as i64).saturating_mul(1000)),
        };
        *guard = Some(cached.clone());
        Ok(cached.token)
    }

    /// The cached tokens' expiry times (Unix ms), by scope, soonest first (the status page).
    /// A slot whose token is being fetched right now is left out rather than waited for.
    pub fn token_expiries(&self) -> Vec<(String, i64)> {
        let slots: Vec<(String, Arc<tokio::sync::Mutex<Option<Cached>>>)> = {
            let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let mut out: Vec<(String, i64)> = slots
            .into_iter()
            .filter_map(|(scope, slot)| slot.try_lock().ok().and_then(|g| g.as_ref().map(|c| (scope, c.expires_ms))))
            .collect();
        out.sort_by_key(|(_, ms)| *ms);
        out
    }

    /// The certificate of a certificate credential (thumbprint, expiry).
    pub fn certificate(&self) -> Option<&ClientCertificate> {
        match &self.source {
            Source::Certificate(c) => Some(c),
            _ => None,
        }
    }

    /// Drops a cached token the API rejected (401), so the next call fetches a new one.
    pub async fn invalidate(&self, scope: &str, rejected: &SecretString) {
        let slot = self.slot(scope);
        let mut guard = slot.lock().await;
        if guard.as_ref().is_some_and(|c| c.token.expose_secret() == rejected.expose_secret()) {
            *guard = None;
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
                let hint = Hint::Certificate { path: &cert.path, thumbprint: &cert.thumbprint };
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

    /// A managed-identity token for the resource of `scope` (the scope without `/.default`):
    /// IMDS (`Metadata: true`) or the App Service endpoint (`X-IDENTITY-HEADER`) (§1.5).
    async fn managed_identity(
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
    fn the_certificate_expiry_is_read_from_the_certificate() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        for (y, m, d) in [(2027, 6, 30), (2049, 12, 31), (2051, 1, 1)] {
            let mut p = rcgen::CertificateParams::new(vec!["signl4-sentinel.test".into()]).unwrap();
            p.not_after = rcgen::date_time_ymd(y, m, d);
            let der = p.self_signed(&key).unwrap().der().to_vec();
            let expect = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
                .unwrap()
                .midnight()
                .assume_utc()
                .unix_timestamp();
            // ≥ 2050 is written as GeneralizedTime, earlier as UTCTime (RFC 5280 §4.1.2.5).
            assert_eq!(s4s_core::selfmon::certificate_not_after(&der), Some(expect), "{y}-{m}-{d}");
        }
        assert_eq!(s4s_core::selfmon::certificate_not_after(b"not a certificate"), None);
        assert_eq!(s4s_core::selfmon::certificate_not_after(&[0x30, 0x84, 0xff]), None);
    }

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

    #[test]
    fn refresh_timing() {
        assert_eq!(refresh_after(Duration::from_secs(3599)), Duration::from_secs(3299));
        assert_eq!(refresh_after(Duration::from_secs(100)), Duration::from_secs(80));
    }

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(uuid_v4(), u);
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

    #[test]
    fn certificate_and_federated_errors_say_what_to_upload_or_add() {
        let body = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.\"}";
        let m = explain_aadsts_for(body, "t", "c", Hint::Certificate { path: "/etc/s4s/app.pem", thumbprint: "AB12" });
        assert!(m.contains("/etc/s4s/app.pem") && m.contains("thumbprint AB12") && m.contains("Certificates"), "{m}");
        let body = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS70021: No matching federated identity record found for presented assertion.\"}";
        let m = explain_aadsts_for(body, "t", "c", Hint::Federated { token_file: "/var/run/token" });
        assert!(m.contains("Federated credentials") && m.contains("/var/run/token"), "{m}");
        let body = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700024: Client assertion is not within its valid time range.\"}";
        assert!(explain_aadsts_for(body, "t", "c", Hint::Federated { token_file: "/f" }).contains("kubelet rotates"));
        assert!(explain_aadsts(body, "t", "c").contains("clock"));
        let m = explain_managed_identity(
            "{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}",
            Some("u1"),
        );
        assert!(m.contains("user-assigned identity u1 is not attached"), "{m}");
    }
}
