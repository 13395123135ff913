//! What the fake Entra ID stores: registered certificates and federated credentials, the fake
//! host's managed identities, and the assertions and tokens it accepted and issued. The token
//! endpoints that use it live in `crate::entra`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

/// A federated identity credential on an app registration (issuer + subject + audience).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

/// A managed identity attached to the (one, fake) Azure resource the client runs on.
#[derive(Debug, Clone)]
pub(crate) struct HostIdentity {
    pub(crate) tenant: String,
    pub(crate) client_id: String,
    pub(crate) system_assigned: bool,
}

/// A client assertion the token endpoint accepted, as the client sent it (for tests that
/// check its format).
#[derive(Debug, Clone, Serialize)]
pub struct AcceptedAssertion {
    /// `certificate` or `federated`.
    pub kind: String,
    pub tenant: String,
    pub client_id: String,
    pub header: Value,
    pub claims: Value,
    /// The assertion itself (federated tokens: to see which file content was sent).
    pub assertion: String,
}

/// How an access token was obtained.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub tenant: String,
    pub client_id: String,
    /// `secret`, `certificate`, `federated`, `imds` or `app_service`.
    pub via: String,
    pub audience: String,
    pub roles: Vec<String>,
}

/// Entra's side of the fake: registered certificates and federated credentials (on the
/// application object, so they hold in every tenant the app is consented in), the managed
/// identities of the fake host, and what was issued.
#[derive(Debug, Default)]
pub struct EntraState {
    /// DER certificates by client id.
    pub(crate) certificates: HashMap<String, Vec<Vec<u8>>>,
    pub(crate) federated: HashMap<String, Vec<FederatedCredential>>,
    pub(crate) identities: Vec<HostIdentity>,
    /// App Service's `X-IDENTITY-HEADER` value (`IDENTITY_HEADER`); created on first use.
    pub(crate) identity_header: Option<String>,
    /// The fake OIDC issuer's signing key (HS256) for federated tokens; created on first use.
    pub(crate) issuer_key: Option<Vec<u8>>,
    pub(crate) revoked: HashSet<String>,
    pub(crate) jtis: HashSet<String>,
    pub accepted: Vec<AcceptedAssertion>,
    pub issued: Vec<IssuedToken>,
}
