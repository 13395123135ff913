//! The `Host` check of the status page's routes (DNS rebinding: a web page on `evil.example`
//! whose name is made to resolve to 127.0.0.1 would otherwise read the open loopback page and
//! post its forms). Accepted: the loopback names (`127.0.0.1`, `localhost`, `[::1]`, any
//! port — a `kubectl port-forward` picks its own, and no other site's page can send them),
//! the listen address when it is a specific IP, and the host (and port) of `server.public_url`.
//! Everything else gets `421 Misdirected Request` with a plain explanation. SIGNL4's webhook,
//! `/healthz`, `/readyz` and `/metrics` are not checked (their callers send their own `Host`).

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The hosts (lower case, without port unless the port must match) the page answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    /// A specific listen IP (any port).
    listen_ip: Option<IpAddr>,
    /// `server.public_url`'s host and its port (the scheme's default when it has none).
    public: Option<(String, u16)>,
}

impl AllowedHosts {
    pub fn new(listen: SocketAddr, public_url: Option<&url::Url>) -> AllowedHosts {
        AllowedHosts {
            listen_ip: (!listen.ip().is_unspecified()).then_some(listen.ip()),
            public: public_url.and_then(|u| Some((u.host_str()?.to_ascii_lowercase(), u.port_or_known_default()?))),
        }
    }

    /// Whether a `Host` header value names this server.
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else { return false };
        if is_loopback_name(&name) {
            return true;
        }
        if let Some(ip) = self.listen_ip
            && name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|h| h == ip)
        {
            return true;
        }
        self.public.as_ref().is_some_and(|(h, p)| *h == name && port.is_none_or(|port| port == *p))
    }
}

/// `name[:port]` → lower-case name (IPv6 in brackets) and port; `None` for anything malformed.
fn split_host(host: &str) -> Option<(String, Option<u16>)> {
    let host = host.trim().to_ascii_lowercase();
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == '@') {
        return None;
    }
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(p) => (name.to_string(), Some(p.parse().ok()?)),
            None if rest.is_empty() => (name.to_string(), None),
            None => return None,
        }
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n.to_string(), Some(p.parse().ok()?)),
            None => (host.clone(), None),
        }
    };
    (!name.is_empty()).then_some((name, port))
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a `Host` header value is a loopback name (the plain-HTTP cookie is for those only).
pub fn is_loopback_host(host: &str) -> bool {
    split_host(host).is_some_and(|(name, _)| is_loopback_name(&name))
}

/// The answer to a request whose `Host` is not one of `allowed` (`None`: go on).
pub fn refusal(allowed: &AllowedHosts, headers: &HeaderMap) -> Option<Response> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if allowed.allows(host) {
        return None;
    }
    tracing::warn!(host = %host, "status page request with a foreign Host refused (421)");
    Some(
        (
            StatusCode::MISDIRECTED_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            "421 Misdirected Request: the status page answers only under its own address \
         (127.0.0.1, localhost or [::1], the listen address, or the host of server.public_url). \
         If you reach it under another name, set server.public_url to that URL.\n",
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_servers_names_pass() {
        let public = url::Url::parse("https://s4s.example.com").unwrap();
        let a = AllowedHosts::new("0.0.0.0:8080".parse().unwrap(), Some(&public));
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:9999",
            "[::1]:8080",
            "127.0.0.1",
            "s4s.example.com",
            "s4s.example.com:443",
            "S4S.example.com",
        ] {
            assert!(a.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "s4s.example.com:8080",
            "s4s.example.com.evil.example",
            "localhost.evil.example",
            "",
            "127.0.0.1:8080@evil",
            "[::1",
            "127.0.0.1:99999",
            "10.0.0.5:8080",
            "local host",
        ] {
            assert!(!a.allows(bad), "{bad}");
        }
        let specific = AllowedHosts::new("10.0.0.5:8080".parse().unwrap(), None);
        assert!(specific.allows("10.0.0.5:8080") && !specific.allows("10.0.0.6:8080"));
        assert!(is_loopback_host("127.0.0.1:1") && is_loopback_host("[::1]:2") && !is_loopback_host("s4s.example.com"));
    }
}
