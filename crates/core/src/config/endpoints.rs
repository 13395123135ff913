//! Upstream service locations: [`Cloud`] presets, per-tenant [`Endpoints`] overrides and token [`Scopes`].

use serde::Deserialize;
use url::Url;

use super::error::{ConfigError, err};
use super::values::url;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEndpoints {
    /// Default: `AZURE_AUTHORITY_HOST`, then the cloud's preset (set in `tenant.rs`).
    pub(super) authority: Option<String>,
    graph: Option<String>,
    arm: Option<String>,
    log_analytics: Option<String>,
    logs_ingestion: Option<String>,
    signl4_webhook: Option<String>,
    signl4_api: Option<String>,
    /// Managed identity: the IMDS base URL and the App Service identity endpoint; validated
    /// with the credential (`credential.rs`), not part of [`Endpoints`].
    pub(super) imds: Option<String>,
    pub(super) identity: Option<String>,
    /// Allow plain `http://` endpoints on hosts other than loopback (default false).
    allow_insecure_http: Option<bool>,
}

/// Base URLs of every upstream service. Overridable one by one: that is how national clouds,
/// proxies and the fake cloud work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Entra ID authority, e.g. `https://login.microsoftonline.com`.
    pub authority: Url,
    /// Graph root without version, e.g. `https://graph.microsoft.com`.
    pub graph: Url,
    pub arm: Url,
    pub log_analytics: Url,
    pub logs_ingestion: Url,
    /// SIGNL4 inbound webhook base, e.g. `https://connect.signl4.com/webhook`.
    pub signl4_webhook: Url,
    pub signl4_api: Url,
    /// `[tenant.endpoints] allow_insecure_http`: plain `http://` endpoints are accepted on
    /// hosts other than loopback (a TLS-terminating proxy on a trusted network). Off by
    /// default: tokens, API keys and team secrets would cross the network in clear text.
    pub allow_insecure_http: bool,
}

/// Token scopes (audiences) for each Microsoft resource. They follow the cloud preset, not
/// the base URLs: a proxy or emulator in front of Graph still issues Graph-audience tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes {
    pub graph: String,
    pub arm: String,
    pub log_analytics: String,
    pub logs_ingestion: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Public,
    UsGov,
    China,
}

impl Cloud {
    pub(super) fn parse(s: &str) -> Option<Cloud> {
        match s {
            "public" => Some(Cloud::Public),
            "usgov" => Some(Cloud::UsGov),
            "china" => Some(Cloud::China),
            _ => None,
        }
    }

    /// Preset endpoints and scopes (`microsoft-apis.md` §1.4 for audiences).
    pub fn preset(self) -> (Endpoints, Scopes) {
        let u = |s: &str| Url::parse(s).expect("preset URLs are valid");
        let (login, graph, arm, la, monitor) = match self {
            Cloud::Public => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://management.azure.com",
                "https://api.loganalytics.io",
                "https://monitor.azure.com",
            ),
            Cloud::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://management.usgovcloudapi.net",
                "https://api.loganalytics.us",
                "https://monitor.azure.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://management.chinacloudapi.cn",
                "https://api.loganalytics.azure.cn",
                "https://monitor.azure.cn",
            ),
        };
        (
            Endpoints {
                authority: u(login),
                graph: u(graph),
                arm: u(arm),
                log_analytics: u(la),
                logs_ingestion: u(monitor),
                signl4_webhook: u("https://connect.signl4.com/webhook"),
                signl4_api: u("https://connect.signl4.com/api"),
                allow_insecure_http: false,
            },
            Scopes {
                graph: format!("{graph}/.default"),
                arm: format!("{arm}/.default"),
                log_analytics: format!("{la}/.default"),
                logs_ingestion: format!("{monitor}/.default"),
            },
        )
    }
}

/// Endpoints and scopes of a tenant: the `cloud` preset (`<prefix>.cloud`, default
/// `public`), then each `<prefix>.endpoints.*` URL that is set replaces its preset.
pub(super) fn resolve(
    prefix: &str,
    cloud: Option<&String>,
    e: &RawEndpoints,
) -> Result<(Endpoints, Scopes), ConfigError> {
    let k = |field: &str| format!("{prefix}.{field}");
    let cloud_s = cloud.cloned().unwrap_or_else(|| "public".into());
    let cloud = Cloud::parse(&cloud_s).ok_or_else(|| {
        err(
            k("cloud"),
            format!("unknown cloud \"{cloud_s}\""),
            "use \"public\", \"usgov\" or \"china\", and [tenant.endpoints] for anything else",
        )
    })?;
    let (pe, scopes) = cloud.preset();
    let endpoints = Endpoints {
        authority: url(&k("endpoints.authority"), e.authority.as_ref(), &pe.authority)?,
        graph: url(&k("endpoints.graph"), e.graph.as_ref(), &pe.graph)?,
        arm: url(&k("endpoints.arm"), e.arm.as_ref(), &pe.arm)?,
        log_analytics: url(&k("endpoints.log_analytics"), e.log_analytics.as_ref(), &pe.log_analytics)?,
        logs_ingestion: url(&k("endpoints.logs_ingestion"), e.logs_ingestion.as_ref(), &pe.logs_ingestion)?,
        signl4_webhook: url(&k("endpoints.signl4_webhook"), e.signl4_webhook.as_ref(), &pe.signl4_webhook)?,
        signl4_api: url(&k("endpoints.signl4_api"), e.signl4_api.as_ref(), &pe.signl4_api)?,
        allow_insecure_http: e.allow_insecure_http.unwrap_or(false),
    };
    for (field, u) in [
        ("authority", &endpoints.authority),
        ("graph", &endpoints.graph),
        ("arm", &endpoints.arm),
        ("log_analytics", &endpoints.log_analytics),
        ("logs_ingestion", &endpoints.logs_ingestion),
        ("signl4_webhook", &endpoints.signl4_webhook),
        ("signl4_api", &endpoints.signl4_api),
    ] {
        check_endpoint(&k(&format!("endpoints.{field}")), u, endpoints.allow_insecure_http, prefix)?;
    }
    Ok((endpoints, scopes))
}

/// An endpoint the connector sends credentials to: it needs a host, no user info, and
/// `https` unless it is loopback or `<prefix>.endpoints.allow_insecure_http = true`. (IMDS and
/// the App Service identity endpoint are plain HTTP by design and checked with the credential.)
pub(super) fn check_endpoint(key: &str, u: &Url, allow_insecure_http: bool, prefix: &str) -> Result<(), ConfigError> {
    if u.host_str().is_none_or(str::is_empty) {
        return Err(err(key, format!("\"{u}\" has no host"), "use an absolute https:// URL"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(err(key, "contains user info (user:password@)", "remove the credentials from the URL"));
    }
    if u.scheme() == "http" && !allow_insecure_http && !crate::origin::is_loopback(u) {
        return Err(err(
            key,
            format!("plain http to {} would send tokens and secrets unencrypted", u.host_str().unwrap_or("")),
            format!(
                "use https://, or set {prefix}.endpoints.allow_insecure_http = true if this host is a trusted proxy (plain http is allowed for loopback hosts only)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_toml(text: &str) -> Result<Endpoints, ConfigError> {
        let raw: RawEndpoints = toml::from_str(text).expect("valid TOML");
        resolve("tenant[0]", None, &raw).map(|(e, _)| e)
    }

    #[test]
    fn plain_http_only_for_loopback_unless_the_tenant_says_so() {
        assert!(resolve_toml("graph = \"http://127.0.0.1:9/graph\"\narm = \"http://localhost:9\"").is_ok());
        let e = resolve_toml("graph = \"http://proxy.corp.example/graph\"").unwrap_err();
        assert_eq!(e.key, "tenant[0].endpoints.graph");
        assert!(e.fix.contains("tenant[0].endpoints.allow_insecure_http = true"), "{}", e.fix);
        assert!(e.problem.contains("proxy.corp.example"), "{}", e.problem);
        let ok = resolve_toml("allow_insecure_http = true\ngraph = \"http://proxy.corp.example/graph\"").unwrap();
        assert!(ok.allow_insecure_http);
        let e = resolve_toml("signl4_webhook = \"https://u:p@connect.signl4.com/webhook\"").unwrap_err();
        assert_eq!(e.key, "tenant[0].endpoints.signl4_webhook");
        assert!(!e.problem.contains("u:p"), "no secret echoed: {}", e.problem);
        // Presets are https.
        assert!(!resolve_toml("").unwrap().allow_insecure_http);
    }
}
