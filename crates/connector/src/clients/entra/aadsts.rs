//! Entra ID's refusals (AADSTS codes, `microsoft-apis.md` §1.3) made instructions that say
//! what to fix, with what the provider knows about its credential.

use crate::clients::http::summarize_body;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::entra::managed_identity::explain_managed_identity;

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
