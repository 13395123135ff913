//! `signl4-sentinel healthcheck`: asks a running connector's `/healthz` on this host and exits
//! 0 when it answers 2xx, 1 otherwise — the container image's `HEALTHCHECK`, so the image needs
//! no shell, curl or wget.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Where the service listens, from `SIGNL4_SENTINEL__SERVER__LISTEN` (what the image sets) or
/// the default `127.0.0.1:8080`; an unspecified address (`0.0.0.0`, `[::]`) is asked on loopback.
pub fn target(listen: Option<&str>) -> Result<SocketAddr, String> {
    let raw = listen.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("127.0.0.1:8080");
    let mut addr: SocketAddr =
        raw.parse().map_err(|_| format!("cannot read the listen address \"{raw}\" (expected e.g. 0.0.0.0:8080)"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

/// One `GET http://{addr}/healthz` within `timeout` (connect and answer). `Ok` on 2xx.
pub async fn check(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let url = format!("http://{addr}/healthz");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let resp = client.get(&url).send().await.map_err(|e| {
        let why = if e.is_timeout() {
            "no answer in time"
        } else if e.is_connect() {
            "connection refused or unreachable"
        } else {
            "request failed"
        };
        format!("{url}: {why}")
    })?;
    if resp.status().is_success() { Ok(()) } else { Err(format!("{url}: answered {}", resp.status())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_is_loopback_for_an_unspecified_listen_address() {
        assert_eq!(target(None).unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(target(Some("0.0.0.0:9000")).unwrap().to_string(), "127.0.0.1:9000");
        assert_eq!(target(Some("[::]:8080")).unwrap().to_string(), "[::1]:8080");
        assert_eq!(target(Some("10.1.2.3:8080")).unwrap().to_string(), "10.1.2.3:8080");
        assert_eq!(target(Some("  ")).unwrap().to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn a_bad_listen_address_is_a_clear_error() {
        let e = target(Some("localhost")).unwrap_err();
        assert!(e.contains("cannot read the listen address \"localhost\""), "{e}");
    }
}
