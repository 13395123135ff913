//! The fake Entra ID's credentials behave as `microsoft-apis.md` §1.1, §1.5 and §1.6 describe:
//! certificate assertions are checked for real (registered thumbprint, RS256 / PS256
//! signature, audience, time range, issuer = subject = client id, no replayed `jti`),
//! federated assertions against the app's federated credentials, IMDS and App Service
//! managed identity with their headers; access tokens are JWTs with the app's `roles`.

use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::signature::RsaKeyPair;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s4s_fakecloud::*;
use serde_json::{Value, json};

const APP: &str = "cccccccc-0000-4000-8000-000000000001";

struct Cert {
    key: RsaKeyPair,
    der: Vec<u8>,
}

fn cert() -> Cert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let der = rcgen::CertificateParams::new(vec!["app.test".into()]).unwrap().self_signed(&key).unwrap().der().to_vec();
    Cert { key: RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap(), der }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A client assertion signed with `key`, naming `cert` by its SHA-256 thumbprint (PS256) or
/// its SHA-1 thumbprint (RS256); `edit` changes the claims.
fn assertion(key: &RsaKeyPair, cert: &[u8], ps256: bool, aud: &str, edit: impl FnOnce(&mut Value)) -> String {
    let header = if ps256 {
        json!({"alg": "PS256", "typ": "JWT", "x5t#S256": URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, cert))})
    } else {
        json!({"alg": "RS256", "typ": "JWT",
            "x5t": URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert))})
    };
    let t = now();
    let mut claims = json!({"aud": aud, "iss": APP, "sub": APP, "jti": format!("{:032x}", rand_u128()),
        "nbf": t, "iat": t, "exp": t + 600});
    edit(&mut claims);
    let input = format!("{}.{}", b64(&header), b64(&claims));
    let mut sig = vec![0; key.public_modulus_len()];
    let padding: &'static dyn aws_lc_rs::signature::RsaEncoding =
        if ps256 { &aws_lc_rs::signature::RSA_PSS_SHA256 } else { &aws_lc_rs::signature::RSA_PKCS1_SHA256 };
    key.sign(padding, &aws_lc_rs::rand::SystemRandom::new(), input.as_bytes(), &mut sig).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn rand_u128() -> u128 {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    u128::from_le_bytes(b)
}

fn token_url(f: &FakeCloud) -> String {
    format!("{}/entra/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", f.url())
}

async fn with_assertion(f: &FakeCloud, assertion: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(token_url(f))
        .form(&[
            ("client_id", APP),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn code(v: &Value) -> u64 {
    v["error_codes"][0].as_u64().unwrap_or(0)
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn certificate_assertions_are_checked_for_real() {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f.add_tenant(DEFAULT_TENANT_ID, APP, "");
    let (good, other) = (cert(), cert());
    f.add_app_certificate(APP, &good.der);
    let aud = token_url(&f);

    let a = assertion(&good.key, &good.der, true, &aud, |_| {});
    let (status, v) = with_assertion(&f, &a).await;
    assert_eq!(status, 200, "{v}");
    let c = claims(v["access_token"].as_str().unwrap());
    assert_eq!((c["appid"].as_str(), c["tid"].as_str()), (Some(APP), Some(DEFAULT_TENANT_ID)));
    assert_eq!(c["roles"], json!(["SecurityAlert.ReadWrite.All", "SecurityIncident.ReadWrite.All"]));
    // The same assertion again: its jti was used.
    let (status, v) = with_assertion(&f, &a).await;
    assert_eq!((status, code(&v)), (400, 50027), "{v}");
    // RS256 naming the certificate by its SHA-1 thumbprint (what older libraries send).
    let (status, v) = with_assertion(&f, &assertion(&good.key, &good.der, false, &aud, |_| {})).await;
    assert_eq!(status, 200, "{v}");

    // The registered certificate's thumbprint, signed with another key: the signature fails.
    let (status, v) = with_assertion(&f, &assertion(&other.key, &good.der, true, &aud, |_| {})).await;
    assert_eq!((status, code(&v)), (401, 700027), "{v}");
    assert!(v["error_description"].as_str().unwrap().contains("invalid signature"), "{v}");
    // A certificate the app does not know: its thumbprint is in the message.
    let (status, v) = with_assertion(&f, &assertion(&other.key, &other.der, true, &aud, |_| {})).await;
    assert_eq!((status, code(&v)), (401, 700027), "{v}");
    let hex: String = digest::digest(&digest::SHA256, &other.der).as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert!(v["error_description"].as_str().unwrap().contains(&hex), "{v}");
    // Wrong audience, expired, subject not the client id.
    let (_, v) = with_assertion(&f, &assertion(&good.key, &good.der, true, "https://elsewhere/token", |_| {})).await;
    assert_eq!(code(&v), 700023, "{v}");
    let expired = assertion(&good.key, &good.der, true, &aud, |c| {
        c["nbf"] = json!(now() - 7200);
        c["exp"] = json!(now() - 3600);
    });
    let (_, v) = with_assertion(&f, &expired).await;
    assert_eq!(code(&v), 700024, "{v}");
    let (_, v) =
        with_assertion(&f, &assertion(&good.key, &good.der, true, &aud, |c| c["sub"] = json!("someone"))).await;
    assert_eq!(code(&v), 700021, "{v}");
    let (status, v) = with_assertion(&f, "not.a.jwt").await;
    assert_eq!((status, code(&v)), (400, 50027), "{v}");

    // An app with no secret accepts no secret, not even an empty one.
    for secret in ["", "guess"] {
        let r = reqwest::Client::new()
            .post(token_url(&f))
            .form(&[
                ("client_id", APP),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let kinds: Vec<String> = f.issued_tokens().into_iter().map(|t| t.via).collect();
    assert_eq!(kinds, ["certificate", "certificate"]);
}

#[tokio::test]
async fn federated_assertions_must_match_a_federated_credential() {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f.add_tenant(DEFAULT_TENANT_ID, APP, "");
    let issuer = "https://oidc.fake-aks.example/x/";
    f.add_federated_credential(APP, issuer, "system:serviceaccount:ns:sa");
    let t = f.federated_token(issuer, "system:serviceaccount:ns:sa", Duration::from_secs(3600));
    let (status, v) = with_assertion(&f, &t).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(f.issued_tokens()[0].via, "federated");
    assert_eq!(f.accepted_assertions()[0].claims["aud"], json!(["api://AzureADTokenExchange"]));

    let wrong_subject = f.federated_token(issuer, "system:serviceaccount:ns:other", Duration::from_secs(3600));
    let (_, v) = with_assertion(&f, &wrong_subject).await;
    assert_eq!(code(&v), 700213, "{v}");
    assert!(v["error_description"].as_str().unwrap().contains("system:serviceaccount:ns:other"), "{v}");
    let (_, v) = with_assertion(&f, &f.federated_token("https://other-issuer/", "s", Duration::from_secs(60))).await;
    assert_eq!(code(&v), 700211, "{v}");
    // Tampered with: the issuer's signature no longer verifies.
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    let mut c = claims(&t);
    c["sub"] = json!("system:serviceaccount:ns:sa-evil");
    parts[1] = b64(&c);
    let (_, v) = with_assertion(&f, &parts.join(".")).await;
    assert_eq!(code(&v), 50013, "{v}");
    // Revoked (as if expired): refused with the time-range error.
    f.revoke_federated_token(&t);
    let (_, v) = with_assertion(&f, &t).await;
    assert_eq!(code(&v), 700024, "{v}");
}

#[tokio::test]
async fn imds_and_app_service_serve_the_hosts_managed_identities() {
    let f = FakeCloud::start_local().await.unwrap();
    f.seed_defaults();
    f.add_managed_identity(DEFAULT_TENANT_ID, "mi-system", true);
    f.add_managed_identity(DEFAULT_TENANT_ID, "mi-user", false);
    let c = reqwest::Client::new();
    let imds = format!("{}/imds/metadata/identity/oauth2/token", f.url());
    let q = [("api-version", "2018-02-01"), ("resource", "https://graph.microsoft.com/")];

    let r = c.get(&imds).query(&q).send().await.unwrap();
    assert_eq!(r.status(), 400, "Metadata: true is mandatory");
    assert!(r.text().await.unwrap().contains("Required metadata header not specified"));
    let v: Value = c.get(&imds).query(&q).header("Metadata", "true").send().await.unwrap().json().await.unwrap();
    assert!(v["expires_in"].is_string() && v["expires_on"].is_string(), "IMDS answers with strings: {v}");
    assert_eq!(v["client_id"], "mi-system");
    let token = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&token)["aud"], "https://graph.microsoft.com");
    let r = c.get(format!("{}/graph/v1.0/security/alerts_v2", f.url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200, "the identity's token reads Graph");
    let r = c.get(&imds).query(&q).query(&[("client_id", "nobody")]).header("Metadata", "true").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Identity not found"));

    let msi = format!("{}/msi/token", f.url());
    let q = [("api-version", "2019-08-01"), ("resource", "https://management.azure.com"), ("client_id", "mi-user")];
    let r = c.get(&msi).query(&q).header("X-IDENTITY-HEADER", "wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = c
        .get(&msi)
        .query(&q)
        .header("X-IDENTITY-HEADER", f.identity_header())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v.get("expires_in").is_none() && v["expires_on"].as_str().is_some_and(|s| s.parse::<i64>().is_ok()), "{v}");
    assert_eq!(v["client_id"], "mi-user");
    let vias: Vec<String> = f.issued_tokens().into_iter().map(|t| t.via).collect();
    assert_eq!(vias, ["imds", "app_service"]);
}
