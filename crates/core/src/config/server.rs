//! The `[server]` section: the HTTP listen address, the status page's admin token, the
//! server's timeouts and limits, readiness and the metrics token.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::env::Env;
use super::error::{ConfigError, err};
use super::values::{duration, opt_bool, opt_u64, resolve_secret};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    listen: Option<String>,
    admin_token: Option<String>,
    metrics_token: Option<String>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    request_timeout: Option<String>,
    idle_timeout: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    max_connections: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    webhook_concurrency: Option<u64>,
    #[serde(default, deserialize_with = "opt_bool")]
    strict_readiness: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The status page's admin token (`Authorization: Bearer …` or the login form). Required
    /// when `listen` is not a loopback address; when set, the page asks for it on loopback too.
    /// Off loopback it also opens `/readyz`'s details and `/metrics`.
    pub admin_token: Option<SecretString>,
    /// A second bearer token that opens `/metrics` (and `/readyz`'s details) only, for
    /// Prometheus: the scraper need not hold the admin token.
    pub metrics_token: Option<SecretString>,
    /// How long a client may take to send a request's headers, from its first byte (a new
    /// connection: from the accept).
    pub header_timeout: Duration,
    /// The longest pause between two chunks of a request body.
    pub body_timeout: Duration,
    /// The longest a whole request may take, body included (`408` after it; the connection is
    /// closed shortly after if the answer cannot be written).
    pub request_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Open connections at most; one more is closed at once.
    pub max_connections: usize,
    /// Webhook requests (`POST /signl4/{token}`) handled at once; one more gets `503` with
    /// `Retry-After`, and SIGNL4 delivers it again.
    pub webhook_concurrency: usize,
    /// `/readyz` is 503 when any tenant is unhealthy (the behaviour before 0.x). Off by
    /// default: readiness is this process's (database, server), tenants' health is in the body.
    pub strict_readiness: bool,
}

/// The shortest admin token accepted: it guards the status page's redrive button.
pub const ADMIN_TOKEN_MIN_LEN: usize = 16;

/// Bounds of the server's counts (a typo like `max_connections = 5000000` is an error).
const MAX_CONNECTIONS_LIMIT: u64 = 65_536;

fn count(key: &str, v: Option<u64>, default: usize, max: u64) -> Result<usize, ConfigError> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(err(key, format!("{n} is out of range"), format!("use a number from 1 to {max}"))),
    }
}

fn token(key: &str, v: Option<&String>, env: &dyn Env) -> Result<Option<SecretString>, ConfigError> {
    let Some(v) = v else { return Ok(None) };
    let t = resolve_secret(key, Some(v), env)?;
    if t.expose_secret().trim().len() < ADMIN_TOKEN_MIN_LEN {
        return Err(err(
            key,
            format!("is shorter than {ADMIN_TOKEN_MIN_LEN} characters"),
            "use a long random value, e.g. the output of `openssl rand -hex 24`",
        ));
    }
    Ok(Some(t))
}

impl ServerConfig {
    pub(super) fn from_raw(raw: RawServer, env: &dyn Env) -> Result<ServerConfig, ConfigError> {
        let listen_s = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_s.parse().map_err(|_| {
            err("server.listen", format!("\"{listen_s}\" is not an address"), "use IP:PORT, e.g. \"0.0.0.0:8080\"")
        })?;
        let admin_token = token("server.admin_token", raw.admin_token.as_ref(), env)?;
        if admin_token.is_none() && !listen.ip().is_loopback() {
            return Err(err(
                "server.admin_token",
                format!(
                    "is required because server.listen ({listen}) is not a loopback address: the status page at / \
                     (and its redrive button) would be open to the network"
                ),
                "set server.admin_token to a long random secret (e.g. \"env:S4S_ADMIN_TOKEN\" with \
                 S4S_ADMIN_TOKEN=$(openssl rand -hex 24)), or listen on 127.0.0.1",
            ));
        }
        let metrics_token = token("server.metrics_token", raw.metrics_token.as_ref(), env)?;
        let ms = Duration::from_millis;
        let header_timeout = duration("server.header_timeout", raw.header_timeout.as_ref(), ms(10_000), ms(50))?;
        let body_timeout = duration("server.body_timeout", raw.body_timeout.as_ref(), ms(10_000), ms(50))?;
        let request_timeout = duration("server.request_timeout", raw.request_timeout.as_ref(), ms(30_000), ms(50))?;
        let idle_timeout = duration("server.idle_timeout", raw.idle_timeout.as_ref(), ms(60_000), ms(50))?;
        if body_timeout > request_timeout {
            return Err(err(
                "server.body_timeout",
                format!(
                    "({} ms) is longer than server.request_timeout ({} ms), which bounds the whole request",
                    body_timeout.as_millis(),
                    request_timeout.as_millis()
                ),
                "make server.body_timeout at most server.request_timeout",
            ));
        }
        let max_connections = count("server.max_connections", raw.max_connections, 512, MAX_CONNECTIONS_LIMIT)?;
        let webhook_concurrency =
            count("server.webhook_concurrency", raw.webhook_concurrency, 64, max_connections as u64)
                .map_err(|e| ConfigError { fix: format!("{} (at most server.max_connections)", e.fix), ..e })?;
        Ok(ServerConfig {
            listen,
            admin_token,
            metrics_token,
            header_timeout,
            body_timeout,
            request_timeout,
            idle_timeout,
            max_connections,
            webhook_concurrency,
            strict_readiness: raw.strict_readiness.unwrap_or(false),
        })
    }

    /// Whether the status page asks for the admin token.
    pub fn requires_login(&self) -> bool {
        self.admin_token.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoEnv;
    impl Env for NoEnv {
        fn var(&self, name: &str) -> Option<String> {
            (name == "METRICS").then(|| "metrics-token-0123456789".to_string())
        }
        fn vars(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn read_file(&self, _: &str) -> Result<String, String> {
            Err("no files".into())
        }
    }

    fn server(text: &str) -> Result<ServerConfig, ConfigError> {
        let raw: RawServer = toml::from_str(text).map_err(|e| err("server", e.to_string(), "fix the TOML"))?;
        ServerConfig::from_raw(raw, &NoEnv)
    }

    #[test]
    fn defaults_bound_every_wait_and_count() {
        let c = server("").unwrap();
        assert_eq!(
            (c.header_timeout, c.body_timeout, c.request_timeout, c.idle_timeout),
            (Duration::from_secs(10), Duration::from_secs(10), Duration::from_secs(30), Duration::from_secs(60))
        );
        assert_eq!((c.max_connections, c.webhook_concurrency, c.strict_readiness), (512, 64, false));
        assert!(c.metrics_token.is_none());
        let c = server(
            "header_timeout = \"2s\"\nidle_timeout = \"500ms\"\nmax_connections = \"8\"\nwebhook_concurrency = 2\n\
             strict_readiness = \"true\"\nmetrics_token = \"env:METRICS\"",
        )
        .unwrap();
        assert_eq!((c.header_timeout, c.idle_timeout), (Duration::from_secs(2), Duration::from_millis(500)));
        assert_eq!((c.max_connections, c.webhook_concurrency, c.strict_readiness), (8, 2, true));
        assert_eq!(c.metrics_token.as_ref().map(|t| t.expose_secret()), Some("metrics-token-0123456789"));
    }

    #[test]
    fn bad_values_name_the_key() {
        let key = |text: &str| server(text).unwrap_err().key;
        assert_eq!(key("header_timeout = \"10\""), "server.header_timeout");
        assert_eq!(key("idle_timeout = \"1ms\""), "server.idle_timeout");
        assert_eq!(key("body_timeout = \"1m\"\nrequest_timeout = \"30s\""), "server.body_timeout");
        assert_eq!(key("max_connections = 0"), "server.max_connections");
        assert_eq!(key("max_connections = 10000000"), "server.max_connections");
        assert_eq!(key("max_connections = 4\nwebhook_concurrency = 5"), "server.webhook_concurrency");
        assert_eq!(key("metrics_token = \"short\""), "server.metrics_token");
        assert!(server("max_connections = \"many\"").is_err());
    }
}
