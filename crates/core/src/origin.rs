//! The outbound origin policy (pure): every URL the connector calls must have the scheme, host
//! and port of the configured endpoint of its service, so that a bearer token, an API key or
//! a team secret is only ever sent where it belongs.
//!
//! A link that comes from a response (`@odata.nextLink` of Graph, `nextLink` of ARM, a sweep
//! link stored by an older version) is untrusted input: [`Origin::check`] parses it (WHATWG
//! rules, as the HTTP client will: hosts lower-cased, IDN → punycode, `\` read as `/`) and
//! returns the parsed [`Url`] to send, or a [`ForeignLink`] naming what it pointed at. The
//! caller sends exactly the returned `Url`, never the original string, so there is no second
//! parse that could disagree.
//!
//! Rules, in order:
//! - the link must be absolute (`//evil/` and `/path` are refused: no base is assumed);
//! - no user info (`https://graph.microsoft.com@evil/` has host `evil`; `https://u:p@host/`
//!   would send credentials of its own);
//! - scheme, host and port (explicit or the scheme's default) equal the endpoint's exactly —
//!   no suffix matching, and a trailing-dot host (`graph.microsoft.com.`) is another host.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The origin (scheme, host, port) of one configured endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

/// A link refused by the policy. `host` is what it pointed at (already normalised by the URL
/// parser, so it holds no control characters), or a short description when it has none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused a link to {host}: {reason} (only {expected} is called for this service)")]
pub struct ForeignLink {
    pub host: String,
    pub reason: &'static str,
    /// The endpoint's origin, e.g. `https://graph.microsoft.com:443`.
    pub expected: String,
}

impl Origin {
    /// The origin of an endpoint URL; `None` when it has no host (not an http(s) URL).
    pub fn of(endpoint: &Url) -> Option<Origin> {
        let host = endpoint.host_str()?.to_string();
        let port = endpoint.port_or_known_default()?;
        Some(Origin { scheme: endpoint.scheme().to_string(), host, port })
    }

    /// An origin that admits nothing (an endpoint without a host).
    pub fn nothing() -> Origin {
        Origin { scheme: String::new(), host: String::new(), port: 0 }
    }

    /// `scheme://host:port`.
    pub fn describe(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether `url` has exactly this origin and no user info.
    pub fn admits(&self, url: &Url) -> bool {
        url.username().is_empty()
            && url.password().is_none()
            && url.scheme() == self.scheme
            && url.host_str() == Some(self.host.as_str())
            && url.port_or_known_default() == Some(self.port)
    }

    /// Parses `link` and accepts it only if it is absolute and has this origin.
    pub fn check(&self, link: &str) -> Result<Url, ForeignLink> {
        let refuse = |host: String, reason: &'static str| ForeignLink { host, reason, expected: self.describe() };
        let url = match Url::parse(link) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Err(refuse("(no host)".into(), "not an absolute URL"));
            }
            Err(_) => return Err(refuse("(unparseable)".into(), "not a valid URL")),
        };
        let host =
            url.host_str().map(str::to_string).unwrap_or_else(|| format!("({}: URL without a host)", url.scheme()));
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(host, "user info in the URL"));
        }
        if url.scheme() != self.scheme {
            return Err(refuse(host, "another scheme"));
        }
        if url.host_str() != Some(self.host.as_str()) {
            return Err(refuse(host, "another host"));
        }
        if url.port_or_known_default() != Some(self.port) {
            return Err(refuse(host, "another port"));
        }
        Ok(url)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A loopback host: `localhost` (and `*.localhost`, RFC 6761), `127.0.0.0/8`, `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => Ipv4Addr::is_loopback(&ip),
        Some(Host::Ipv6(ip)) => Ipv6Addr::is_loopback(&ip) || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        None => false,
    }
}

/// Exact host match or a subdomain of it (`host` ends with `.{domain}`), on a parsed host:
/// `security.microsoft.evil.com` is not `security.microsoft.com`'s. Case and one trailing dot
/// are ignored (both name the same DNS name).
pub fn host_is_or_under(host: &str, domain: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() {
        return false;
    }
    h == d || h.strip_suffix(&d).is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Origin {
        Origin::of(&Url::parse("https://graph.microsoft.com").unwrap()).unwrap()
    }

    #[test]
    fn same_origin_links_pass_and_come_back_parsed() {
        let g = graph();
        let u = g.check("https://graph.microsoft.com/v1.0/security/alerts_v2?$skip=10").unwrap();
        assert_eq!(u.host_str(), Some("graph.microsoft.com"));
        assert!(g.check("https://graph.microsoft.com:443/v1.0/x").is_ok());
        // Upper case is the same host (normalised by the parser).
        assert!(g.check("HTTPS://GRAPH.Microsoft.COM/v1.0/x").is_ok());
        // Dot segments stay on the host.
        assert_eq!(g.check("https://graph.microsoft.com/a/../../b").unwrap().path(), "/b");
        // Leading C0 controls are stripped by the parser (WHATWG): still the same host.
        assert!(g.check("\u{0}https://graph.microsoft.com/").is_ok());
    }

    #[test]
    fn hostile_links_are_refused_with_the_host_named() {
        let g = graph();
        let cases = [
            ("https://evil.example/v1.0/x", "evil.example", "another host"),
            ("https://graph.microsoft.com:8443/v1.0/x", "graph.microsoft.com", "another port"),
            ("http://graph.microsoft.com/v1.0/x", "graph.microsoft.com", "another scheme"),
            ("https://graph.microsoft.com@evil.example/", "evil.example", "user info in the URL"),
            ("https://user:pw@graph.microsoft.com/", "graph.microsoft.com", "user info in the URL"),
            ("//evil.example/v1.0/x", "(no host)", "not an absolute URL"),
            ("/v1.0/security/alerts_v2", "(no host)", "not an absolute URL"),
            ("https://graph.microsoft.com./v1.0/x", "graph.microsoft.com.", "another host"),
            ("https://graph.microsoft.com.evil.example/", "graph.microsoft.com.evil.example", "another host"),
            ("https://evil.example\\@graph.microsoft.com/", "evil.example", "another host"),
            ("https://xn--grph-microsoft-8lb.com/", "xn--grph-microsoft-8lb.com", "another host"),
            ("https://gräph.microsoft.com/", "xn--grph-moa.microsoft.com", "another host"),
            ("https://127.0.0.2:8080/", "127.0.0.2", "another host"),
            ("https://[::1]/", "[::1]", "another host"),
        ];
        for (link, host, reason) in cases {
            let e = g.check(link).unwrap_err();
            assert_eq!((e.host.as_str(), e.reason), (host, reason), "{link}");
            assert!(e.to_string().contains(host), "{e}");
        }
        for link in ["javascript:alert(1)", "data:text/plain,x", "file:///etc/passwd", "mailto:a@b"] {
            assert!(g.check(link).is_err(), "{link}");
        }
        for link in ["", " ", "https://", "https://[::1", "http://a b/"] {
            assert!(g.check(link).is_err(), "{link:?}");
        }
    }

    #[test]
    fn backslash_is_a_path_separator_on_both_sides() {
        // WHATWG: `\` in an http(s) URL is `/`, so this link's host is the endpoint's; the
        // returned Url is what is sent, so the client cannot read it differently.
        let u = graph().check("https://graph.microsoft.com\\@evil.example/").unwrap();
        assert_eq!(u.host_str(), Some("graph.microsoft.com"));
    }

    #[test]
    fn loopback_hosts() {
        for u in
            ["http://127.0.0.1:1", "http://127.0.0.2", "http://localhost:8", "http://[::1]:9", "http://a.localhost"]
        {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in ["http://10.0.0.1", "http://localhost.evil.com", "http://169.254.169.254", "http://[::2]"] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn host_suffix_matching_needs_a_dot() {
        assert!(host_is_or_under("security.microsoft.com", "security.microsoft.com"));
        assert!(host_is_or_under("SECURITY.microsoft.com.", "security.microsoft.com"));
        assert!(host_is_or_under("eu.security.microsoft.com", "security.microsoft.com"));
        assert!(!host_is_or_under("security.microsoft.com.evil.com", "security.microsoft.com"));
        assert!(!host_is_or_under("evilsecurity.microsoft.com", "security.microsoft.com"));
        assert!(!host_is_or_under("anything", ""));
    }

    proptest::proptest! {
        #[test]
        fn accepted_links_always_have_the_endpoints_origin(s in ".{0,80}", tail in "[ -~]{0,40}") {
            let g = graph();
            for link in [s.clone(), format!("https://graph.microsoft.com{tail}"), format!("https://{tail}")] {
                if let Ok(u) = g.check(&link) {
                    proptest::prop_assert!(g.admits(&u), "{link:?} -> {u}");
                }
            }
        }
    }
}
