//! How a tenant gets its tokens (`credential`): app secret, certificate, managed identity or
//! workload identity; what each kind needs, and the Azure SDKs' environment names as defaults.
//!
//! A key in the file always wins; an environment variable only fills a key the file leaves
//! out, for every tenant that leaves it out (one certificate shared by the tenants of an
//! MSSP's multi-tenant app). Nothing here reads a certificate: the connector loads it at
//! start-up (`clients/entra/certificate.rs`), so `config check` reports a bad file too.

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::env::Env;
use super::error::{ConfigError, err};
use super::values::{resolve_secret, url};

/// The Azure SDKs' environment names (`microsoft-apis.md` §1.5, §1.6).
pub mod env_names {
    pub const TENANT_ID: &str = "AZURE_TENANT_ID";
    pub const CLIENT_ID: &str = "AZURE_CLIENT_ID";
    pub const CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
    pub const CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
    pub const CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
    pub const CLIENT_SEND_CERTIFICATE_CHAIN: &str = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN";
    pub const FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
    pub const AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
    /// App Service, Functions, Container Apps: the local token endpoint and its header secret.
    pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
    pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";
    /// Overrides the IMDS host (the Azure SDKs' name, from AAD Pod Identity).
    pub const IMDS_HOST: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
}

/// The Azure Instance Metadata Service (VMs, VM scale sets, AKS nodes).
pub const IMDS_DEFAULT: &str = "http://169.254.169.254";

const KINDS: &str = "use \"secret\", \"certificate\", \"managed_identity\" or \"workload_identity\"";

/// How a tenant's tokens are obtained.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An app secret (`client_secret`), the client-credentials grant with a shared secret.
    Secret { client_secret: SecretString },
    /// A certificate: a signed client assertion (`microsoft-apis.md` §1.1).
    Certificate(CertificateCredential),
    /// The managed identity of the Azure resource the connector runs on (§1.5).
    ManagedIdentity(ManagedIdentity),
    /// AKS workload identity: the projected service-account token as a federated assertion (§1.6).
    WorkloadIdentity {
        /// Re-read at every token refresh: the kubelet rotates it.
        token_file: String,
    },
}

/// The signature of a client assertion: `PS256` (what Entra's documentation asks for) or
/// `RS256` (what older libraries send; Entra accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlgorithm {
    Ps256,
    Rs256,
}

impl AssertionAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            AssertionAlgorithm::Ps256 => "PS256",
            AssertionAlgorithm::Rs256 => "RS256",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CertificateCredential {
    /// A PEM file (certificate and unencrypted private key) or a PKCS#12 (PFX) file.
    pub path: String,
    /// The key that names the file (`tenant[0].certificate_path`), for errors found when the
    /// connector reads it.
    pub key: String,
    /// The PFX password (none: a PFX without one, or a PEM file).
    pub password: Option<SecretString>,
    pub algorithm: AssertionAlgorithm,
    /// Send the certificate chain (`x5c`) for subject-name/issuer authentication.
    pub send_chain: bool,
}

#[derive(Debug, Clone)]
pub struct ManagedIdentity {
    /// A user-assigned identity's client id; `None`: the system-assigned identity.
    pub client_id: Option<String>,
    pub source: ManagedIdentitySource,
}

#[derive(Debug, Clone)]
pub enum ManagedIdentitySource {
    /// IMDS at this base URL (`/metadata/identity/oauth2/token` is appended).
    Imds { endpoint: Url },
    /// App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` as is, with
    /// `X-IDENTITY-HEADER: <IDENTITY_HEADER>`.
    AppService { endpoint: Url, header: SecretString },
}

impl Credential {
    /// The `credential` value that selects this kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Secret { .. } => "secret",
            Credential::Certificate(_) => "certificate",
            Credential::ManagedIdentity(_) => "managed_identity",
            Credential::WorkloadIdentity { .. } => "workload_identity",
        }
    }

    /// Every secret value this credential holds (for the redactor): the client secret, the
    /// PFX password, the App Service identity header.
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Credential::Secret { client_secret } => vec![client_secret.expose_secret()],
            Credential::Certificate(c) => c.password.iter().map(|p| p.expose_secret()).collect(),
            Credential::ManagedIdentity(ManagedIdentity {
                source: ManagedIdentitySource::AppService { header, .. },
                ..
            }) => vec![header.expose_secret()],
            Credential::ManagedIdentity(_) | Credential::WorkloadIdentity { .. } => Vec::new(),
        }
    }
}

/// The credential keys of one `[[tenant]]` as the file (and `SIGNL4_SENTINEL__…` overrides)
/// has them.
#[derive(Debug, Default)]
pub(super) struct RawCredential {
    pub credential: Option<String>,
    pub client_secret: Option<String>,
    pub certificate_path: Option<String>,
    pub certificate_password: Option<String>,
    pub certificate_algorithm: Option<String>,
    pub send_certificate_chain: Option<bool>,
    pub federated_token_file: Option<String>,
    pub identity_header: Option<String>,
    /// `endpoints.imds`
    pub imds: Option<String>,
    /// `endpoints.identity`
    pub identity: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Secret,
    Certificate,
    ManagedIdentity,
    WorkloadIdentity,
}

/// A value from the environment, `None` when unset or blank.
fn env_value(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.trim().is_empty())
}

/// The kind: `credential` if set, else the first kind whose key the file sets, else the
/// first whose environment variable is set (the Azure SDKs' order: secret, certificate,
/// workload identity, managed identity).
fn kind(prefix: &str, raw: &RawCredential, env: &dyn Env) -> Result<Kind, ConfigError> {
    let key = format!("{prefix}.credential");
    if let Some(k) = &raw.credential {
        return match k.as_str() {
            "secret" => Ok(Kind::Secret),
            "certificate" => Ok(Kind::Certificate),
            "managed_identity" => Ok(Kind::ManagedIdentity),
            "workload_identity" => Ok(Kind::WorkloadIdentity),
            other => Err(err(key, format!("unknown credential \"{other}\""), KINDS)),
        };
    }
    let in_file: Vec<(&str, Kind)> = [
        ("client_secret", raw.client_secret.is_some(), Kind::Secret),
        ("certificate_path", raw.certificate_path.is_some(), Kind::Certificate),
        ("federated_token_file", raw.federated_token_file.is_some(), Kind::WorkloadIdentity),
        ("identity_header", raw.identity_header.is_some(), Kind::ManagedIdentity),
        ("endpoints.imds", raw.imds.is_some(), Kind::ManagedIdentity),
        ("endpoints.identity", raw.identity.is_some(), Kind::ManagedIdentity),
    ]
    .into_iter()
    .filter(|(_, set, _)| *set)
    .map(|(name, _, kind)| (name, kind))
    .collect();
    if let Some((first, kind)) = in_file.first() {
        if let Some((second, _)) = in_file.iter().find(|(_, k)| k != kind) {
            return Err(err(
                key,
                format!("{first} and {second} are both set: which credential is meant is not clear"),
                format!("set credential = \"…\" ({KINDS}), or remove the key of the other kind"),
            ));
        }
        return Ok(*kind);
    }
    use env_names::*;
    for (name, kind) in [
        (CLIENT_SECRET, Kind::Secret),
        (CLIENT_CERTIFICATE_PATH, Kind::Certificate),
        (FEDERATED_TOKEN_FILE, Kind::WorkloadIdentity),
        (IDENTITY_ENDPOINT, Kind::ManagedIdentity),
    ] {
        if env_value(env, name).is_some() {
            return Ok(kind);
        }
    }
    Err(err(
        key,
        "no credential configured",
        "set client_secret (an app secret), certificate_path (a certificate), credential = \"managed_identity\" \
         or credential = \"workload_identity\" (docs → Credentials), or the Azure SDKs' environment variables \
         (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE)",
    ))
}

/// Validates the credential of the tenant `prefix` (`tenant[0]`). `client_id` is the
/// tenant's (from the file or `AZURE_CLIENT_ID`); it is required by every kind but a
/// system-assigned managed identity.
pub(super) fn resolve(
    prefix: &str,
    raw: RawCredential,
    client_id: Option<&str>,
    env: &dyn Env,
) -> Result<Credential, ConfigError> {
    use env_names::*;
    let k = |field: &str| format!("{prefix}.{field}");
    let kind = kind(prefix, &raw, env)?;
    if kind != Kind::ManagedIdentity && client_id.is_none() {
        return Err(err(
            k("client_id"),
            "is missing",
            "set client_id to the Application (client) ID of the app registration, or export AZURE_CLIENT_ID",
        ));
    }
    match kind {
        Kind::Secret => {
            let client_secret = match (&raw.client_secret, env_value(env, CLIENT_SECRET)) {
                (Some(v), _) => resolve_secret(&k("client_secret"), Some(v), env)?,
                // From the environment the value is the secret itself (no env:/file: forms).
                (None, Some(v)) => SecretString::from(v),
                (None, None) => {
                    return Err(err(
                        k("client_secret"),
                        "missing secret",
                        format!(
                            "set `{}` to the secret itself, to \"env:VARIABLE\" or to \"file:/path/to/secret\", or export AZURE_CLIENT_SECRET",
                            k("client_secret")
                        ),
                    ));
                }
            };
            Ok(Credential::Secret { client_secret })
        }
        Kind::Certificate => {
            let key = k("certificate_path");
            let path = raw.certificate_path.or_else(|| env_value(env, CLIENT_CERTIFICATE_PATH)).ok_or_else(|| {
                err(
                    key.as_str(),
                    "is missing",
                    "set certificate_path to a PEM file (certificate and private key) or a PFX file, or export AZURE_CLIENT_CERTIFICATE_PATH",
                )
            })?;
            if path.trim().is_empty() {
                return Err(err(key, "is empty", "set certificate_path to the certificate file's path"));
            }
            let password = match (&raw.certificate_password, env_value(env, CLIENT_CERTIFICATE_PASSWORD)) {
                (Some(v), _) => Some(resolve_secret(&k("certificate_password"), Some(v), env)?),
                (None, Some(v)) => Some(SecretString::from(v)),
                (None, None) => None,
            };
            let algorithm = match raw.certificate_algorithm.as_deref().unwrap_or("PS256") {
                "PS256" | "ps256" => AssertionAlgorithm::Ps256,
                "RS256" | "rs256" => AssertionAlgorithm::Rs256,
                other => {
                    return Err(err(
                        k("certificate_algorithm"),
                        format!("unknown algorithm \"{other}\""),
                        "use \"PS256\" (the default, what Entra ID asks for) or \"RS256\"",
                    ));
                }
            };
            let send_chain = raw.send_certificate_chain.unwrap_or_else(|| {
                env_value(env, CLIENT_SEND_CERTIFICATE_CHAIN)
                    .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true"))
            });
            Ok(Credential::Certificate(CertificateCredential { path, key, password, algorithm, send_chain }))
        }
        Kind::WorkloadIdentity => {
            let key = k("federated_token_file");
            let token_file = raw.federated_token_file.or_else(|| env_value(env, FEDERATED_TOKEN_FILE)).ok_or_else(|| {
                err(
                    key.as_str(),
                    "is missing",
                    "set federated_token_file, or run in a pod labelled azure.workload.identity/use: \"true\" whose \
                     service account is annotated with azure.workload.identity/client-id (the AKS webhook then sets \
                     AZURE_FEDERATED_TOKEN_FILE)",
                )
            })?;
            // Read now for a clear error at start-up; read again at every refresh (it rotates).
            match env.read_file(&token_file) {
                Ok(t) if !t.trim().is_empty() => {}
                Ok(_) => {
                    return Err(err(
                        key,
                        format!("the federated token file {token_file} is empty"),
                        "check the projected service account token volume",
                    ));
                }
                Err(e) => {
                    return Err(err(
                        key,
                        format!("cannot read the federated token file {token_file}: {e}"),
                        "check the path and that the pod has the projected service account token volume",
                    ));
                }
            }
            Ok(Credential::WorkloadIdentity { token_file })
        }
        Kind::ManagedIdentity => {
            let identity = raw.identity.or_else(|| env_value(env, IDENTITY_ENDPOINT));
            let source = if let Some(endpoint) = identity {
                let endpoint = url(&k("endpoints.identity"), Some(&endpoint), &imds_default())?;
                let header = match (&raw.identity_header, env_value(env, IDENTITY_HEADER)) {
                    (Some(v), _) => resolve_secret(&k("identity_header"), Some(v), env)?,
                    (None, Some(v)) => SecretString::from(v),
                    (None, None) => {
                        return Err(err(
                            k("identity_header"),
                            "an identity endpoint is set (endpoints.identity or IDENTITY_ENDPOINT) but no identity header",
                            "set identity_header (App Service and Container Apps export IDENTITY_HEADER themselves); \
                             Azure Arc's managed identity is not supported",
                        ));
                    }
                };
                ManagedIdentitySource::AppService { endpoint, header }
            } else {
                let imds = raw.imds.or_else(|| env_value(env, IMDS_HOST));
                ManagedIdentitySource::Imds { endpoint: url(&k("endpoints.imds"), imds.as_ref(), &imds_default())? }
            };
            Ok(Credential::ManagedIdentity(ManagedIdentity { client_id: client_id.map(str::to_string), source }))
        }
    }
}

fn imds_default() -> Url {
    Url::parse(IMDS_DEFAULT).expect("the IMDS address is a valid URL")
}
