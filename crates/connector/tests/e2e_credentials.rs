//! Every credential kind end to end against the fake cloud, with no client secret in the
//! configuration: one multi-tenant app's certificate in two tenants (PEM with PS256; PFX with
//! a password, RS256), a managed identity (IMDS system-assigned; App Service user-assigned),
//! workload identity with the federated token file rotated mid-run. A certificate the app
//! does not know becomes an instruction; `config check` reads certificate files.
//!
//! Test certificates are generated here (rcgen), never committed.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use s4s_core::config::{AssertionAlgorithm, CertificateCredential};
use s4s_fakecloud::scenarios;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use signl4_sentinel::clients::entra::{ClientCertificate, TokenProvider};
use toml::Table;

const T: Duration = Duration::from_secs(15);
/// One app registration consented in several tenants (an MSSP's), with one certificate.
const CERT_APP: &str = "cccccccc-0000-4000-8000-000000000001";
const TENANT_PFX: &str = "22222222-0000-4000-8000-000000000002";
const TENANT_IMDS: &str = "33333333-0000-4000-8000-000000000003";
const TENANT_APP_SERVICE: &str = "44444444-0000-4000-8000-000000000004";
const TENANT_WI: &str = "55555555-0000-4000-8000-000000000005";
const MI_SYSTEM: &str = "a1a1a1a1-0000-4000-8000-00000000000a";
const MI_USER: &str = "b2b2b2b2-0000-4000-8000-00000000000b";
const WI_APP: &str = "d4d4d4d4-0000-4000-8000-00000000000d";
const ISSUER: &str = "https://oidc.fake-aks.example/11111111-2222-3333-4444-555555555555/";
const SUBJECT: &str = "system:serviceaccount:security:signl4-sentinel";
const PFX_PASSWORD: &str = "pfx-password-never-logged";
const GRAPH: &str = "https://graph.microsoft.com/.default";

/// An RSA key with two self-signed certificates: `registered` (uploaded to the app) and
/// `unknown` (same key, another certificate: a thumbprint the app does not know).
struct TestCerts {
    key_pem: String,
    key_pkcs8: Vec<u8>,
    registered_pem: String,
    registered_der: Vec<u8>,
    unknown_pem: String,
    unknown_der: Vec<u8>,
}

fn certs() -> &'static TestCerts {
    static CERTS: OnceLock<TestCerts> = OnceLock::new();
    CERTS.get_or_init(|| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
        let cert = |cn: &str| {
            let mut p = rcgen::CertificateParams::new(vec!["signl4-sentinel.test".into()]).expect("params");
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.self_signed(&key).expect("self-signed certificate")
        };
        let (registered, unknown) = (cert("signl4-sentinel test app"), cert("a certificate nobody uploaded"));
        TestCerts {
            key_pem: key.serialize_pem(),
            key_pkcs8: key.serialize_der(),
            registered_pem: registered.pem(),
            registered_der: registered.der().to_vec(),
            unknown_pem: unknown.pem(),
            unknown_der: unknown.der().to_vec(),
        }
    })
}

fn pfx(cert_der: &[u8], key_pkcs8: &[u8], password: &str) -> Vec<u8> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let chain = PrivateKeyChain::new(
        b"signl4-sentinel".to_vec(),
        PrivateKey::from_der(key_pkcs8).expect("PKCS#8 key"),
        [Certificate::from_der(cert_der).expect("DER certificate")],
    );
    let mut store = KeyStore::new();
    store.add_entry("signl4-sentinel", KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().expect("PFX")
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a test file");
    path
}

/// Replaces a file the way the kubelet's atomic writer does (a new file renamed over it).
fn rotate(path: &Path, content: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, content).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn sha256_b64url(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, der))
}

fn sha1_hex(der: &[u8]) -> String {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

fn table(v: Value) -> Table {
    Table::try_from(v).expect("a TOML table")
}

/// A tenant of the example pointed at the fake cloud, with no client secret and the
/// credential keys `extra`.
fn tenant(h: &Harness, name: &str, tenant_id: &str, client_id: &str, extra: Value) -> TenantSpec {
    let mut t = TenantSpec::example(&h.fake.url());
    t.name = name.into();
    t.tenant_id = tenant_id.into();
    t.client_id = client_id.into();
    t.client_secret = String::new();
    t.sentinel.clear();
    t.poll_interval = Duration::from_millis(250);
    if name != "contoso" {
        t.signl4.inbound_token = None;
    }
    t.extra = table(extra);
    t
}

fn ext(tenant: &str, alert: &Value) -> String {
    s4s_core::ids::external_id(tenant, "graph-alert", alert["id"].as_str().expect("alert id"))
}

fn has_roles(roles: &[String]) -> bool {
    roles.iter().any(|r| r == "SecurityAlert.ReadWrite.All")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_kind_pages_without_a_client_secret() {
    let h = Harness::new().await;
    let c = certs();
    // The MSSP's multi-tenant app: consented in two customer tenants, one certificate.
    h.fake.add_tenant(TENANT, CERT_APP, "");
    h.fake.add_tenant(TENANT_PFX, CERT_APP, "");
    h.fake.add_app_certificate(CERT_APP, &c.registered_der);
    // The managed identities of the Azure resource the connector runs on.
    h.fake.add_managed_identity(TENANT_IMDS, MI_SYSTEM, true);
    h.fake.add_managed_identity(TENANT_APP_SERVICE, MI_USER, false);
    // AKS workload identity: an app with a federated credential for the pod's service account.
    h.fake.add_tenant(TENANT_WI, WI_APP, "");
    h.fake.add_federated_credential(WI_APP, ISSUER, SUBJECT);
    let first = h.fake.federated_token(ISSUER, SUBJECT, Duration::from_secs(3600));

    let dir = h.dir.path();
    let pem = write(dir, "app.pem", format!("{}{}", c.registered_pem, c.key_pem));
    let pfx_file = write(dir, "app.pfx", pfx(&c.registered_der, &c.key_pkcs8, PFX_PASSWORD));
    let token_file = write(dir, "azure-identity-token", &first);
    let url = h.fake.url();
    let mut cfg = h.config();
    cfg.tenants = vec![
        tenant(&h, "contoso", TENANT, CERT_APP, json!({"credential": "certificate", "certificate_path": pem})),
        tenant(
            &h,
            "pfx",
            TENANT_PFX,
            CERT_APP,
            json!({"certificate_path": pfx_file, "certificate_password": PFX_PASSWORD, "certificate_algorithm": "RS256"}),
        ),
        tenant(
            &h,
            "imds",
            TENANT_IMDS,
            "",
            json!({"credential": "managed_identity", "endpoints": {"imds": format!("{url}/imds")}}),
        ),
        tenant(
            &h,
            "appservice",
            TENANT_APP_SERVICE,
            MI_USER,
            json!({"credential": "managed_identity", "identity_header": h.fake.identity_header(),
                "endpoints": {"identity": format!("{url}/msi/token")}}),
        ),
        tenant(
            &h,
            "wi",
            TENANT_WI,
            WI_APP,
            json!({"credential": "workload_identity", "federated_token_file": token_file}),
        ),
    ];
    let text = cfg.toml();
    assert!(!text.contains("client_secret"), "no client secret anywhere:\n{text}");
    let app = h.start(&cfg).await;
    let alerts: Vec<(&str, Value)> = [
        ("contoso", TENANT),
        ("pfx", TENANT_PFX),
        ("imds", TENANT_IMDS),
        ("appservice", TENANT_APP_SERVICE),
        ("wi", TENANT_WI),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, tid))| (name, h.fake.add_alert(tid, scenarios::mde_malware(&i.to_string()))))
    .collect();
    wait_for("every tenant's alert paged", T, async || {
        let pages = h.pages();
        alerts.iter().all(|(name, a)| pages.contains_key(&ext(name, a)))
    })
    .await;

    // Each tenant's Graph token came the way its credential says, carrying the app's roles.
    let issued = h.fake.issued_tokens();
    for (tenant, client, via) in [
        (TENANT, CERT_APP, "certificate"),
        (TENANT_PFX, CERT_APP, "certificate"),
        (TENANT_IMDS, MI_SYSTEM, "imds"),
        (TENANT_APP_SERVICE, MI_USER, "app_service"),
        (TENANT_WI, WI_APP, "federated"),
    ] {
        assert!(
            issued.iter().any(|i| i.tenant == tenant
                && i.client_id == client
                && i.via == via
                && i.audience == "https://graph.microsoft.com"
                && has_roles(&i.roles)),
            "{tenant}: no Graph token via {via}: {issued:?}"
        );
    }
    assert!(issued.iter().all(|i| i.via != "secret"), "{issued:?}");

    // Certificate assertions (`microsoft-apis.md` §1.1).
    let accepted = h.fake.accepted_assertions();
    let cert_assertions: Vec<_> = accepted.iter().filter(|a| a.kind == "certificate").collect();
    assert!(cert_assertions.len() >= 2);
    for a in &cert_assertions {
        let (hd, cl) = (&a.header, &a.claims);
        assert_eq!(hd["typ"], "JWT");
        assert_eq!(hd["x5t#S256"], sha256_b64url(&c.registered_der), "{hd}");
        if a.tenant == TENANT {
            assert_eq!(hd["alg"], "PS256");
            assert!(hd.get("x5t").is_none() && hd.get("x5c").is_none(), "{hd}");
        } else {
            assert_eq!(hd["alg"], "RS256");
            assert!(hd["x5t"].is_string(), "{hd}");
        }
        assert_eq!(cl["aud"], format!("{url}/entra/{}/oauth2/v2.0/token", a.tenant));
        assert_eq!((&cl["iss"], &cl["sub"]), (&json!(CERT_APP), &json!(CERT_APP)));
        let (nbf, exp) = (cl["nbf"].as_i64().unwrap(), cl["exp"].as_i64().unwrap());
        assert!(exp > nbf && exp - nbf <= 600, "a short-lived assertion: {cl}");
    }
    let jtis: HashSet<&str> = cert_assertions.iter().map(|a| a.claims["jti"].as_str().unwrap()).collect();
    assert_eq!(jtis.len(), cert_assertions.len(), "a fresh jti every time");

    // The kubelet rotates the projected token; the old one stops working. Every cached access
    // token expires too, so every tenant asks again: the workload identity must read the file
    // anew and send the new token.
    let before = accepted.iter().filter(|a| a.kind == "federated" && a.assertion == first).count();
    let second = h.fake.federated_token(ISSUER, SUBJECT, Duration::from_secs(3600));
    rotate(&token_file, &second);
    h.fake.revoke_federated_token(&first);
    h.fake.expire_tokens();
    let late = h.fake.add_alert(TENANT_WI, scenarios::mde_malware("after-rotation"));
    let late_pfx = h.fake.add_alert(TENANT_PFX, scenarios::mde_malware("after-expiry"));
    wait_for("the rotated federated token used and the next alerts paged", T, async || {
        let pages = h.pages();
        pages.contains_key(&ext("wi", &late))
            && pages.contains_key(&ext("pfx", &late_pfx))
            && h.fake.accepted_assertions().iter().any(|a| a.kind == "federated" && a.assertion == second)
    })
    .await;
    let after = h.fake.accepted_assertions().iter().filter(|a| a.kind == "federated" && a.assertion == first).count();
    assert_eq!(after, before, "the old federated token was not sent again");
    for t in &app.tenants {
        assert_eq!(t.status().last_poll_error, None, "{}", t.cfg.name);
    }
    for (name, a) in &alerts {
        assert_eq!(h.pages().get(&ext(name, a)), Some(&1), "{name} paged once");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_the_app_does_not_know_becomes_an_instruction() {
    let h = Harness::new().await;
    let c = certs();
    h.fake.add_tenant(TENANT, CERT_APP, "");
    h.fake.add_app_certificate(CERT_APP, &c.registered_der);
    h.fake.add_alert(TENANT, scenarios::mde_malware("1"));
    let pem = write(h.dir.path(), "other.pem", format!("{}{}", c.key_pem, c.unknown_pem));
    let mut cfg = h.config();
    cfg.tenants = vec![tenant(&h, "contoso", TENANT, CERT_APP, json!({"certificate_path": pem}))];
    let app = h.start(&cfg).await;
    wait_for("the poll error", T, async || app.tenants[0].status().last_poll_error.is_some()).await;
    let err = app.tenants[0].status().last_poll_error.unwrap();
    let thumbprint = sha1_hex(&c.unknown_der);
    for part in ["AADSTS700027", "does not accept the certificate", "Certificates & secrets → Certificates", CERT_APP]
        .into_iter()
        .chain([pem.to_str().unwrap(), thumbprint.as_str()])
    {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    assert!(!err.contains("BEGIN") && !err.contains("eyJ"), "no key material, no assertion: {err}");
    assert!(h.pages().is_empty());
    app.stop().await;
    // A permanent refusal: not retried.
    let cert = ClientCertificate::from_bytes(
        format!("{}{}", c.key_pem, c.unknown_pem).as_bytes(),
        None,
        AssertionAlgorithm::Ps256,
        false,
        "other.pem",
    )
    .unwrap();
    let authority = url::Url::parse(&format!("{}/entra", h.fake.url())).unwrap();
    let p = TokenProvider::with_certificate(reqwest::Client::new(), &authority, TENANT, CERT_APP, cert);
    let before = h.requests("entra.token");
    let e = p.token(GRAPH).await.unwrap_err();
    assert!(!e.is_transient() && e.to_string().contains("HTTP 401"), "{e}");
    assert_eq!(h.requests("entra.token"), before + 1, "permanent errors are not retried");
}

#[tokio::test]
async fn a_pfx_loads_only_with_its_password_and_tokens_carry_roles() {
    let h = Harness::new().await;
    let c = certs();
    let file = write(h.dir.path(), "app.pfx", pfx(&c.registered_der, &c.key_pkcs8, PFX_PASSWORD));
    let spec = |password: Option<&str>| CertificateCredential {
        path: file.to_str().unwrap().into(),
        key: "tenant[0].certificate_path".into(),
        password: password.map(Into::into),
        algorithm: AssertionAlgorithm::Ps256,
        send_chain: true,
    };
    let e = ClientCertificate::load(&spec(Some("not-the-password"))).unwrap_err();
    assert_eq!(e.key, "tenant[0].certificate_path");
    assert!(e.problem.contains("wrong password") && !e.to_string().contains("not-the-password"), "{e}");
    let e =
        ClientCertificate::load(&CertificateCredential { path: "/nowhere/app.pem".into(), ..spec(None) }).unwrap_err();
    assert!(e.problem.contains("cannot read the certificate file /nowhere/app.pem"), "{e}");

    let cert = ClientCertificate::load(&spec(Some(PFX_PASSWORD))).unwrap();
    assert_eq!(cert.thumbprint(), sha1_hex(&c.registered_der));
    // rcgen's default validity ends in 4096: read from the leaf for the status page.
    assert_eq!(cert.not_after(), Some(67_090_118_400), "notAfter 4096-01-01T00:00:00Z");
    h.fake.add_tenant(TENANT, CERT_APP, "");
    h.fake.add_app_certificate(CERT_APP, &c.registered_der);
    h.fake.set_roles(TENANT, CERT_APP, &["SecurityAlert.Read.All"]);
    let authority = url::Url::parse(&format!("{}/entra", h.fake.url())).unwrap();
    let p = TokenProvider::with_certificate(reqwest::Client::new(), &authority, TENANT, CERT_APP, cert);
    let token = p.token(GRAPH).await.unwrap();
    assert_eq!(p.token(GRAPH).await.unwrap().expose_secret(), token.expose_secret(), "cached");
    // The access token is a JWT whose `roles` are the app's Graph application roles.
    let payload = token.expose_secret().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["roles"], json!(["SecurityAlert.Read.All"]));
    assert_eq!(
        (&claims["aud"], &claims["tid"], &claims["appid"]),
        (&json!("https://graph.microsoft.com"), &json!(TENANT), &json!(CERT_APP))
    );
    // `send_chain`: the certificate travels in `x5c`.
    let a = h.fake.accepted_assertions();
    let chain = a[0].header["x5c"].as_array().expect("x5c");
    assert_eq!(chain.len(), 1);
    // One request for two calls; a second resource gets its own.
    p.token("https://management.azure.com/.default").await.unwrap();
    assert_eq!(h.requests("entra.token"), 2);
    // The status page's view of the cached tokens: both, each expiring in about an hour.
    let expiries = p.token_expiries();
    assert_eq!(expiries.len(), 2, "{expiries:?}");
    let now = signl4_sentinel::clock::now_ms();
    assert!(expiries.iter().all(|(_, ms)| *ms > now + 50 * 60_000 && *ms <= now + 3_700_000), "{expiries:?}");
}

#[test]
fn config_check_reads_certificate_files_and_exits_2_naming_the_key() {
    let c = certs();
    let dir = tempfile::tempdir().unwrap();
    let pem = write(dir.path(), "app.pem", format!("{}{}", c.registered_pem, c.key_pem));
    let check = |certificate_path: &Path| {
        let mut cfg = ConfigBuilder::new("http://127.0.0.1:9", &dir.path().join("s4s.db"));
        cfg.tenants[0].client_secret = String::new();
        cfg.tenants[0].extra = table(json!({"credential": "certificate", "certificate_path": certificate_path}));
        let file = write(dir.path(), "s4s.toml", cfg.toml());
        std::process::Command::new(env!("CARGO_BIN_EXE_signl4-sentinel"))
            .args(["config", "check"])
            .arg(file)
            .output()
            .unwrap()
    };
    let ok = check(&pem);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let missing = dir.path().join("missing.pem");
    let out = check(&missing);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`tenant[0].certificate_path`") && err.contains(missing.to_str().unwrap()), "{err}");
    // A certificate without its key.
    let cert_only = write(dir.path(), "cert-only.pem", &c.registered_pem);
    let out = check(&cert_only);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no private key found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
