//! Fake Microsoft Entra ID (`microsoft-apis.md` §1.1–§1.6, §7.1): the v2 token endpoint with
//! client secrets, certificate assertions (real RS256 / PS256 signature checks against the
//! app's registered certificates) and federated assertions (workload identity, checked
//! against the app's federated identity credentials); the managed-identity endpoints of IMDS
//! and App Service; access tokens as JWTs carrying the app's `roles`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::CertificateDer;
use serde_json::{Value, json};

use crate::common::{fault, json_response, uuidish};
pub use crate::state::{AcceptedAssertion, EntraState, FederatedCredential, IssuedToken};
use crate::state::{HostIdentity, Inner, Service, State, TokenInfo};

/// `client_assertion_type` of certificate and federated assertions (§1.1).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The audience Entra requires of federated (workload identity) tokens (§1.6).
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Clock skew Entra tolerates on assertion times [I: the usual 5 minutes].
const SKEW_SECS: i64 = 300;

/// What Entra stores is declared with the state (`state/entra.rs`); how it changes, here.
impl EntraState {
    pub fn add_certificate(&mut self, client_id: &str, der: &[u8]) {
        self.certificates.entry(client_id.to_string()).or_default().push(der.to_vec());
    }

    pub fn add_federated(&mut self, client_id: &str, cred: FederatedCredential) {
        self.federated.entry(client_id.to_string()).or_default().push(cred);
    }

    pub fn attach_identity(&mut self, tenant: &str, client_id: &str, system_assigned: bool) {
        self.identities.retain(|i| !(system_assigned && i.system_assigned) && i.client_id != client_id);
        self.identities.push(HostIdentity { tenant: tenant.into(), client_id: client_id.into(), system_assigned });
    }

    pub fn identity_header(&mut self) -> String {
        self.identity_header.get_or_insert_with(|| format!("fake-identity-header-{}", uuidish())).clone()
    }

    pub fn revoke(&mut self, token: &str) {
        self.revoked.insert(token.to_string());
    }

    fn issuer_key(&mut self) -> Vec<u8> {
        self.issuer_key.get_or_insert_with(|| (0..32).map(|_| rand::random::<u8>()).collect()).clone()
    }

    /// A service-account token as a Kubernetes cluster's OIDC issuer would project it into a
    /// pod (`aud` = `api://AzureADTokenExchange`), valid for `lifetime`.
    pub fn federated_token(&mut self, issuer: &str, subject: &str, lifetime: Duration) -> String {
        let now = unix_now();
        let claims = json!({
            "aud": [TOKEN_EXCHANGE_AUDIENCE], "iss": issuer, "sub": subject,
            "iat": now, "nbf": now, "exp": now + lifetime.as_secs() as i64,
            "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "signl4-sentinel", "uid": uuidish()}},
            "jti": uuidish(),
        });
        hs256(&self.issuer_key(), &json!({"alg": "HS256", "typ": "JWT", "kid": "fake-oidc"}), &claims)
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default())
}

/// A compact JWS signed with HMAC-SHA256.
fn hs256(key: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// A compact JWS split into header, claims, the signed input and the signature.
struct Jws {
    header: Value,
    claims: Value,
    input: String,
    signature: Vec<u8>,
}

fn parse_jws(token: &str) -> Option<Jws> {
    let mut parts = token.trim().split('.');
    let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json = |p: &str| -> Option<Value> { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok() };
    Some(Jws {
        header: json(h).filter(Value::is_object)?,
        claims: json(c).filter(Value::is_object)?,
        input: format!("{h}.{c}"),
        signature: URL_SAFE_NO_PAD.decode(s).ok()?,
    })
}

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
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let b = v.strip_prefix("Basic ")?;
    let raw = String::from_utf8(STANDARD.decode(b.trim()).ok()?).ok()?;
    let (u, p) = raw.split_once(':')?;
    Some((
        url::form_urlencoded::parse(format!("u={u}").as_bytes()).next()?.1.into_owned(),
        url::form_urlencoded::parse(format!("p={p}").as_bytes()).next()?.1.into_owned(),
    ))
}

/// An access token for `audience`: a JWT (signed with the fake's own key; nobody verifies it)
/// whose claims say who it is for, including the app's Graph application `roles` at the
/// time of issue (what a `doctor` reads). Returns the token and its lifetime.
fn mint(st: &mut Inner, tenant: &str, client_id: &str, audience: &str, via: &str) -> (String, u64) {
    let lifetime = st.settings.token_lifetime_secs;
    let roles = st.tenants.get(tenant).and_then(|t| t.apps.get(client_id)).map(|a| a.roles.clone()).unwrap_or_default();
    st.token_seq += 1;
    let now = unix_now();
    let claims = json!({
        "aud": audience, "iss": format!("https://sts.windows.net/{tenant}/"), "tid": tenant,
        "appid": client_id, "azp": client_id, "oid": client_id, "sub": client_id, "idtyp": "app",
        "roles": roles, "iat": now, "nbf": now, "exp": now + lifetime as i64,
        "uti": format!("{}-{}", st.token_seq, uuidish()), "ver": "1.0",
    });
    let key = st.entra.issuer_key();
    let token = hs256(&key, &json!({"typ": "JWT", "alg": "HS256", "kid": "fakecloud"}), &claims);
    st.tokens.insert(
        token.clone(),
        TokenInfo {
            tenant: tenant.into(),
            client_id: client_id.into(),
            audience: audience.into(),
            expires: Instant::now() + Duration::from_secs(lifetime),
        },
    );
    st.entra.issued.push(IssuedToken {
        tenant: tenant.into(),
        client_id: client_id.into(),
        via: via.into(),
        audience: audience.into(),
        roles,
    });
    (token, lifetime)
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn time_range_error(now: i64, nbf: Option<i64>, exp: Option<i64>) -> Response {
    let ts = |t: Option<i64>| {
        t.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .map(crate::common::graph_ts)
            .unwrap_or_else(|| "(none)".into())
    };
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_client",
        700024,
        &format!(
            "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.",
            ts(Some(now)),
            ts(nbf),
            ts(exp)
        ),
    )
}

/// Checks a certificate assertion (`iss` = `sub` = the client id, §1.1): the certificate it
/// names (`x5t#S256`, else `x5t`) is registered on the app, the RS256 / PS256 signature
/// verifies with it, the audience is this tenant's token endpoint, the time range holds and
/// the `jti` is new. Entra's error codes and texts (`AADSTS700027` with the thumbprint,
/// 700021, 700023, 700024) as seen in the field.
fn check_certificate_assertion(st: &mut Inner, tenant: &str, client_id: &str, jws: &Jws) -> Result<(), Response> {
    let refused = |code: u32, text: &str| aad_error(StatusCode::UNAUTHORIZED, "invalid_client", code, text);
    let alg = match jws.header["alg"].as_str() {
        Some("RS256") => webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
        Some("PS256") => webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        other => {
            // [I] Entra's text for an unsupported algorithm is not documented.
            return Err(refused(
                700027,
                &format!(
                    "Client assertion failed signature validation. [Reason - The algorithm {other:?} is not supported.]"
                ),
            ));
        }
    };
    let (thumb, hash): (Vec<u8>, &'static digest::Algorithm) =
        match (jws.header["x5t#S256"].as_str(), jws.header["x5t"].as_str()) {
            (Some(t), _) => (URL_SAFE_NO_PAD.decode(t).unwrap_or_default(), &digest::SHA256),
            (None, Some(t)) => (URL_SAFE_NO_PAD.decode(t).unwrap_or_default(), &digest::SHA1_FOR_LEGACY_USE_ONLY),
            (None, None) => (Vec::new(), &digest::SHA256),
        };
    let registered = st.entra.certificates.get(client_id).cloned().unwrap_or_default();
    let Some(cert) = registered.iter().find(|der| !thumb.is_empty() && digest::digest(hash, der).as_ref() == thumb)
    else {
        return Err(refused(
            700027,
            &format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{client_id}']",
                hex_upper(&thumb)
            ),
        ));
    };
    let der = CertificateDer::from(cert.as_slice());
    let verified = webpki::EndEntityCert::try_from(&der)
        .ok()
        .is_some_and(|ee| ee.verify_signature(alg, jws.input.as_bytes(), &jws.signature).is_ok());
    if !verified {
        return Err(refused(
            700027,
            &format!(
                "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{}']",
                hex_upper(&thumb)
            ),
        ));
    }
    let c = &jws.claims;
    if c["iss"].as_str() != Some(client_id) || c["sub"].as_str() != Some(client_id) {
        return Err(refused(700021, "Client assertion application identifier doesn't match 'client_id' parameter."));
    }
    let aud = c["aud"].as_str().unwrap_or("");
    let ours = [format!("/{tenant}/oauth2/v2.0/token"), format!("/{tenant}/oauth2/token")];
    if !ours.iter().any(|s| aud.trim_end_matches('/').ends_with(s.as_str())) {
        return Err(refused(
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    let now = unix_now();
    let (nbf, exp) = (c["nbf"].as_i64(), c["exp"].as_i64());
    if exp.is_none_or(|e| now > e + SKEW_SECS) || nbf.is_some_and(|n| now < n - SKEW_SECS) {
        return Err(time_range_error(now, nbf, exp));
    }
    if let Some(jti) = c["jti"].as_str()
        && !st.entra.jtis.insert(format!("{client_id}/{jti}"))
    {
        // [I] Entra documents `jti` as unique per assertion; the code for a replay is not documented.
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed. The client assertion's jti was already used.",
        ));
    }
    Ok(())
}

/// Checks a federated assertion (workload identity, §1.6): signed by an issuer the fake
/// plays (its own Kubernetes OIDC issuer), unexpired, not revoked, and matching one of the
/// app's federated identity credentials (issuer, subject, audience) — else `AADSTS700211`
/// / `700213` / `700212` / `70021`.
fn check_federated_assertion(st: &mut Inner, client_id: &str, token: &str, jws: &Jws) -> Result<(), Response> {
    let key = st.entra.issuer_key();
    let tag = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    if jws.header["alg"].as_str() != Some("HS256")
        || aws_lc_rs::hmac::verify(&tag, jws.input.as_bytes(), &jws.signature).is_err()
    {
        // [I] Entra fetches the issuer's keys (OIDC discovery); a signature it cannot verify:
        return Err(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            50013,
            "Assertion failed signature validation. [Reason - The key was not found.]",
        ));
    }
    let c = &jws.claims;
    let now = unix_now();
    let (nbf, exp) = (c["nbf"].as_i64(), c["exp"].as_i64());
    if st.entra.revoked.contains(token.trim())
        || exp.is_none_or(|e| now > e + SKEW_SECS)
        || nbf.is_some_and(|n| now < n - SKEW_SECS)
    {
        return Err(time_range_error(now, nbf, exp));
    }
    let iss = c["iss"].as_str().unwrap_or("");
    let sub = c["sub"].as_str().unwrap_or("");
    let auds: Vec<&str> = match &c["aud"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let creds = st.entra.federated.get(client_id).cloned().unwrap_or_default();
    if creds.iter().any(|f| f.issuer == iss && f.subject == sub && auds.contains(&f.audience.as_str())) {
        return Ok(());
    }
    let aud = auds.join(",");
    let (code, text) = if !creds.iter().any(|f| f.issuer == iss) {
        (700211, format!("No matching federated identity record found for presented assertion issuer '{iss}'."))
    } else if !creds.iter().any(|f| f.issuer == iss && f.subject == sub) {
        (700213, format!("No matching federated identity record found for presented assertion subject '{sub}'."))
    } else {
        (700212, format!("No matching federated identity record found for presented assertion audience '{aud}'."))
    };
    Err(aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_client",
        code,
        &format!(
            "{text} Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."
        ),
    ))
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
    let basic = basic_auth(&headers);
    let client_id = match (form_get(&form, "client_id"), &basic) {
        (Some(c), _) => c.to_string(),
        (None, Some((c, _))) => c.clone(),
        (None, None) => {
            return aad_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            );
        }
    };
    let secret = form_get(&form, "client_secret").map(str::to_string).or_else(|| basic.map(|(_, p)| p));
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
    let app_secret = app.client_secret.clone();
    let via = match (secret, form_get(&form, "client_assertion")) {
        (Some(secret), _) => {
            // An app without a secret (certificate only, a managed identity) matches none.
            if app_secret.is_empty() || app_secret != secret {
                return aad_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                );
            }
            "secret"
        }
        (None, Some(assertion)) => {
            if form_get(&form, "client_assertion_type") != Some(JWT_BEARER) {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "JWT token is invalid or malformed. client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                );
            }
            let assertion = assertion.to_string();
            let Some(jws) = parse_jws(&assertion) else {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    50027,
                    "JWT token is invalid or malformed.",
                );
            };
            // Entra tells the two apart by the issuer: the app itself signs certificate
            // assertions; an external identity provider issues federated ones.
            let kind = if jws.claims["iss"].as_str() == Some(client_id.as_str()) {
                check_certificate_assertion(&mut st, &tenant, &client_id, &jws).map(|()| "certificate")
            } else {
                check_federated_assertion(&mut st, &client_id, &assertion, &jws).map(|()| "federated")
            };
            let kind = match kind {
                Ok(k) => k,
                Err(r) => return r,
            };
            st.entra.accepted.push(AcceptedAssertion {
                kind: kind.into(),
                tenant: tenant.clone(),
                client_id: client_id.clone(),
                header: jws.header,
                claims: jws.claims,
                assertion,
            });
            kind
        }
        (None, None) => {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    };
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
    let (token, lifetime) = mint(&mut st, &tenant, &client_id, &resource, via);
    json_response(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}),
    )
}

/// The managed identity a request names (`client_id`; `object_id` / `msi_res_id` are not
/// modelled) or the system-assigned one.
fn host_identity(st: &Inner, q: &HashMap<String, String>) -> Option<HostIdentity> {
    let ids = &st.entra.identities;
    match q.get("client_id").filter(|c| !c.is_empty()) {
        Some(c) => ids.iter().find(|i| &i.client_id == c).cloned(),
        None => ids.iter().find(|i| i.system_assigned).cloned(),
    }
}

fn msi_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(status, json!({"error": error, "error_description": description}))
}

/// `GET /metadata/identity/oauth2/token` of IMDS (§1.5): `Metadata: true` is mandatory,
/// `api-version` and `resource` (no `/.default`) too; every value of the answer is a string.
pub async fn imds(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    state.lock().count("entra.imds");
    if let Some(r) = fault(&state, Service::Entra).await {
        return r;
    }
    if !headers.get("metadata").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return msi_error(StatusCode::BAD_REQUEST, "invalid_request", "Required metadata header not specified");
    }
    if !q.contains_key("api-version") {
        return msi_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = q.get("resource").filter(|r| !r.is_empty()).cloned() else {
        return msi_error(StatusCode::BAD_REQUEST, "invalid_request", "Required query variable 'resource' is missing");
    };
    let mut st = state.lock();
    let Some(id) = host_identity(&st, &q) else {
        return msi_error(StatusCode::BAD_REQUEST, "invalid_request", "Identity not found");
    };
    let audience = resource.trim_end_matches('/').to_string();
    let (token, lifetime) = mint(&mut st, &id.tenant, &id.client_id, &audience, "imds");
    let now = unix_now();
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token, "refresh_token": "", "expires_in": lifetime.to_string(),
            "expires_on": (now + lifetime as i64).to_string(), "not_before": now.to_string(),
            "resource": resource, "token_type": "Bearer", "client_id": id.client_id,
        }),
    )
}

/// App Service / Functions / Container Apps: `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=…`
/// with `X-IDENTITY-HEADER: $IDENTITY_HEADER` (§1.5). The answer has `expires_on` (Unix
/// seconds, as a string) and no `expires_in`.
pub async fn app_service(
    AxState(state): AxState<Arc<State>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    state.lock().count("entra.app_service");
    if let Some(r) = fault(&state, Service::Entra).await {
        return r;
    }
    let mut st = state.lock();
    let expected = st.entra.identity_header();
    if headers.get("x-identity-header").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        // [I] the exact status and text of App Service's answer are not documented.
        return msi_error(StatusCode::UNAUTHORIZED, "unauthorized", "X-IDENTITY-HEADER is missing or wrong");
    }
    if !q.contains_key("api-version") {
        return msi_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = q.get("resource").filter(|r| !r.is_empty()).cloned() else {
        return msi_error(StatusCode::BAD_REQUEST, "invalid_request", "Required query variable 'resource' is missing");
    };
    let Some(id) = host_identity(&st, &q) else {
        return msi_error(StatusCode::BAD_REQUEST, "invalid_request", "Identity not found");
    };
    let audience = resource.trim_end_matches('/').to_string();
    let (token, lifetime) = mint(&mut st, &id.tenant, &id.client_id, &audience, "app_service");
    json_response(
        StatusCode::OK,
        json!({
            "access_token": token, "expires_on": (unix_now() + lifetime as i64).to_string(),
            "resource": resource, "token_type": "Bearer", "client_id": id.client_id,
        }),
    )
}
