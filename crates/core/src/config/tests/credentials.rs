//! Credentials: certificates, the Azure SDKs' environment names, managed and workload identity.

use secrecy::ExposeSecret;

use super::*;

/// A tenant with no credential keys: each test adds its own.
const NO_CREDENTIAL: &str = r#"
    [[tenant]]
    name = "contoso"
    tenant_id = "t1"
    client_id = "c1"
    [tenant.signl4]
    team_secret = "team-x"
"#;

fn with_keys(keys: &str) -> String {
    NO_CREDENTIAL.replace("[tenant.signl4]", &format!("{keys}\n[tenant.signl4]"))
}

#[test]
fn a_certificate_credential_names_its_file_and_keeps_its_password_secret() {
    let text = with_keys(
        "credential = \"certificate\"\ncertificate_path = \"/etc/s4s/app.pfx\"\ncertificate_password = \"env:PFX_PW\"",
    );
    let c = load(&text, &env(&[("PFX_PW", "pfx-pass-123")])).unwrap();
    let Credential::Certificate(cert) = &c.tenants[0].credential else { panic!("{:?}", c.tenants[0].credential) };
    assert_eq!((cert.path.as_str(), cert.key.as_str()), ("/etc/s4s/app.pfx", "tenant[0].certificate_path"));
    assert_eq!(cert.password.as_ref().map(|p| p.expose_secret()), Some("pfx-pass-123"));
    assert_eq!(cert.algorithm, AssertionAlgorithm::Ps256, "PS256 unless told otherwise");
    assert!(!cert.send_chain);
    assert!(c.tenants[0].client_secret().is_none());
    assert!(debug_is_redacted(&c) && !format!("{c:?}").contains("pfx-pass-123"));
    assert!(crate::redact::Redactor::from_config(&c).scrub("pw pfx-pass-123").contains("[redacted]"));
    // The kind follows from certificate_path alone; RS256 on request.
    let c = load(&with_keys("certificate_path = \"/a.pem\"\ncertificate_algorithm = \"RS256\""), &env(&[])).unwrap();
    assert!(
        matches!(&c.tenants[0].credential, Credential::Certificate(x) if x.algorithm == AssertionAlgorithm::Rs256 && x.password.is_none())
    );
}

#[test]
fn the_azure_sdk_environment_names_fill_what_the_file_leaves_out() {
    let bare = NO_CREDENTIAL.replace("tenant_id = \"t1\"\n", "").replace("client_id = \"c1\"\n", "");
    let c = load(
        &bare,
        &env(&[
            ("AZURE_TENANT_ID", "env-tenant"),
            ("AZURE_CLIENT_ID", "env-client"),
            ("AZURE_CLIENT_SECRET", "env:NOT-A-REFERENCE"),
            ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/"),
        ]),
    )
    .unwrap();
    let t = &c.tenants[0];
    assert_eq!((t.tenant_id.as_str(), t.client_id.as_str()), ("env-tenant", "env-client"));
    // From the environment the value is the secret itself.
    assert_eq!(t.client_secret().map(|s| s.expose_secret()), Some("env:NOT-A-REFERENCE"));
    assert_eq!(t.endpoints.authority.as_str(), "https://login.microsoftonline.us/");
    // The file wins over the environment.
    let c = load(
        &with_keys("client_secret = \"file-secret\""),
        &env(&[("AZURE_TENANT_ID", "x"), ("AZURE_CLIENT_SECRET", "y")]),
    )
    .unwrap();
    assert_eq!(c.tenants[0].tenant_id, "t1");
    assert_eq!(c.tenants[0].client_secret().map(|s| s.expose_secret()), Some("file-secret"));
    // A certificate from the environment, with its password and chain setting.
    let c = load(
        NO_CREDENTIAL,
        &env(&[
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/certs/app.pfx"),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pw-from-env"),
            ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "true"),
        ]),
    )
    .unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::Certificate(x)
        if x.path == "/certs/app.pfx" && x.send_chain && x.password.as_ref().is_some_and(|p| p.expose_secret() == "pw-from-env")));
    let e = load_err(&bare, &[("AZURE_CLIENT_SECRET", "s")]);
    assert_eq!(e.key, "tenant[0].tenant_id");
    assert!(e.fix.contains("AZURE_TENANT_ID"), "{e}");
}

#[test]
fn managed_identity_uses_imds_or_the_app_service_endpoint() {
    let mi = with_keys("credential = \"managed_identity\"").replace("client_id = \"c1\"\n", "");
    let c = load(&mi, &env(&[])).unwrap();
    let t = &c.tenants[0];
    assert_eq!(t.client_id, "", "system-assigned: no client id");
    assert!(matches!(&t.credential, Credential::ManagedIdentity(ManagedIdentity {
        client_id: None, source: ManagedIdentitySource::Imds { endpoint } }) if endpoint.as_str() == "http://169.254.169.254/"));
    // A user-assigned identity by client id; IMDS elsewhere (the fake cloud).
    let c = load(
        &with_keys("credential = \"managed_identity\"\n[tenant.endpoints]\nimds = \"http://127.0.0.1:9/imds\""),
        &env(&[]),
    )
    .unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::ManagedIdentity(ManagedIdentity {
        client_id: Some(id), source: ManagedIdentitySource::Imds { endpoint } }) if id == "c1" && endpoint.as_str() == "http://127.0.0.1:9/imds"));
    let c = load(&mi, &env(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://10.0.0.1:2000")])).unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::ManagedIdentity(ManagedIdentity {
        source: ManagedIdentitySource::Imds { endpoint }, .. }) if endpoint.as_str() == "http://10.0.0.1:2000/"));
    // App Service / Container Apps: the environment they set is enough, even without `credential`.
    let app_service = [("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/msi/token"), ("IDENTITY_HEADER", "hdr-secret-1")];
    let c = load(&NO_CREDENTIAL.replace("client_id = \"c1\"\n", ""), &env(&app_service)).unwrap();
    assert!(matches!(&c.tenants[0].credential, Credential::ManagedIdentity(ManagedIdentity {
        source: ManagedIdentitySource::AppService { endpoint, header }, .. })
        if endpoint.as_str() == "http://127.0.0.1:41741/msi/token" && header.expose_secret() == "hdr-secret-1"));
    assert!(crate::redact::Redactor::from_config(&c).scrub("hdr-secret-1").contains("[redacted]"));
    let e = load_err(&mi, &[("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/msi/token")]);
    assert_eq!(e.key, "tenant[0].identity_header");
    assert!(e.fix.contains("IDENTITY_HEADER"), "{e}");
    let e = load_err(&with_keys("credential = \"managed_identity\"\n[tenant.endpoints]\nimds = \"ftp://x\""), &[]);
    assert_eq!(e.key, "tenant[0].endpoints.imds");
}

#[test]
fn workload_identity_reads_the_federated_token_file() {
    // FakeEnv can read /run/secrets/team; AKS sets AZURE_FEDERATED_TOKEN_FILE and AZURE_CLIENT_ID.
    let bare = NO_CREDENTIAL.replace("client_id = \"c1\"\n", "");
    let c = load(&bare, &env(&[("AZURE_FEDERATED_TOKEN_FILE", "/run/secrets/team"), ("AZURE_CLIENT_ID", "wi-app")]))
        .unwrap();
    assert!(
        matches!(&c.tenants[0].credential, Credential::WorkloadIdentity { token_file } if token_file == "/run/secrets/team")
    );
    assert_eq!(c.tenants[0].client_id, "wi-app");
    let e = load_err(&with_keys("credential = \"workload_identity\"\nfederated_token_file = \"/nope\""), &[]);
    assert_eq!(e.key, "tenant[0].federated_token_file");
    assert!(e.problem.contains("cannot read the federated token file /nope"), "{e}");
    let e = load_err(&with_keys("credential = \"workload_identity\""), &[]);
    assert_eq!(e.key, "tenant[0].federated_token_file");
    assert!(e.fix.contains("azure.workload.identity/use"), "{e}");
    let e = load_err(
        &bare.replace("[tenant.signl4]", "federated_token_file = \"/run/secrets/team\"\n[tenant.signl4]"),
        &[],
    );
    assert_eq!(e.key, "tenant[0].client_id", "workload identity needs the app's client id");
    assert!(e.fix.contains("AZURE_CLIENT_ID"), "{e}");
}

#[test]
fn a_kind_missing_what_it_needs_names_the_key_and_the_fix() {
    let e = load_err(NO_CREDENTIAL, &[]);
    assert_eq!(e.key, "tenant[0].credential");
    assert!(e.problem.contains("no credential configured") && e.fix.contains("certificate_path"), "{e}");
    let e = load_err(&with_keys("credential = \"certificate\""), &[]);
    assert_eq!(e.key, "tenant[0].certificate_path");
    assert!(e.fix.contains("PEM") && e.fix.contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{e}");
    let e = load_err(&with_keys("credential = \"secret\""), &[]);
    assert_eq!((e.key.as_str(), e.problem.as_str()), ("tenant[0].client_secret", "missing secret"));
    let e = load_err(&with_keys("credential = \"kerberos\""), &[]);
    assert_eq!(e.key, "tenant[0].credential");
    assert!(e.fix.contains("workload_identity"), "{e}");
    let e = load_err(&with_keys("client_secret = \"s\"\ncertificate_path = \"/a.pem\""), &[]);
    assert_eq!(e.key, "tenant[0].credential");
    assert!(e.problem.contains("client_secret and certificate_path are both set"), "{e}");
    // An explicit kind settles it: the other key is ignored.
    let c = load(
        &with_keys("credential = \"certificate\"\nclient_secret = \"s\"\ncertificate_path = \"/a.pem\""),
        &env(&[]),
    )
    .unwrap();
    assert_eq!(c.tenants[0].credential.kind(), "certificate");
    let e = load_err(&with_keys("certificate_path = \"/a.pem\"\ncertificate_algorithm = \"ES256\""), &[]);
    assert_eq!(e.key, "tenant[0].certificate_algorithm");
    let e = load_err(&with_keys("certificate_path = \"\""), &[]);
    assert_eq!(e.key, "tenant[0].certificate_path");
}
