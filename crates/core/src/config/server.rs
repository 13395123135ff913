//! The `[server]` section: the HTTP listen address, the status page's admin token, its
//! sessions and sign-in throttling, the public URL it may be reached under, the server's
//! timeouts and limits, readiness and the metrics token.

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
    session_idle: Option<String>,
    session_max: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    max_sessions: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    signin_attempts: Option<u64>,
    signin_lockout: Option<String>,
    public_url: Option<String>,
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
    /// A status-page session ends after this long without a request (`session_idle`, 30m).
    pub session_idle: Duration,
    /// … and this long after its sign-in, whatever its use (`session_max`, 12h).
    pub session_max: Duration,
    /// Live sessions kept at most (`max_sessions`, 100); a new sign-in beyond it ends the oldest.
    pub max_sessions: usize,
    /// Failed sign-ins a client (peer IP) may make at once (`signin_attempts`, 5) before it is
    /// answered `429`; it gets one more every `signin_lockout` (1m). Every client together:
    /// four times as many, one more every quarter of `signin_lockout`.
    pub signin_attempts: u32,
    pub signin_lockout: Duration,
    /// The URL people reach the status page under when it is not the listen address (a
    /// reverse proxy's, an ingress's): its host (and port) is accepted in `Host` besides the
    /// loopback names (`server.public_url`; none by default).
    pub public_url: Option<url::Url>,
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

/// `[server]` defaults.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
pub const SESSION_MAX: Duration = Duration::from_secs(12 * 3600);
pub const MAX_SESSIONS: usize = 100;
pub const SIGNIN_ATTEMPTS: u32 = 5;
pub const SIGNIN_LOCKOUT: Duration = Duration::from_secs(60);

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
        let session_idle =
            duration("server.session_idle", raw.session_idle.as_ref(), SESSION_IDLE, Duration::from_secs(1))?;
        let session_max =
            duration("server.session_max", raw.session_max.as_ref(), SESSION_MAX, Duration::from_secs(1))?;
        let max_sessions = match raw.max_sessions {
            None => MAX_SESSIONS,
            Some(n @ 1..=10_000) => n as usize,
            Some(n) => return Err(err("server.max_sessions", format!("{n} is out of range"), "use 1 to 10000")),
        };
        let signin_attempts = match raw.signin_attempts {
            None => SIGNIN_ATTEMPTS,
            Some(n @ 1..=1000) => n as u32,
            Some(n) => return Err(err("server.signin_attempts", format!("{n} is out of range"), "use 1 to 1000")),
        };
        let signin_lockout =
            duration("server.signin_lockout", raw.signin_lockout.as_ref(), SIGNIN_LOCKOUT, Duration::from_millis(100))?;
        if signin_lockout > Duration::from_secs(86_400) {
            return Err(err("server.signin_lockout", "is longer than a day", "use at most \"24h\""));
        }
        let public_url = match raw.public_url.as_deref() {
            None => None,
            Some(v) => Some(public_url(v)?),
        };
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
            session_idle,
            session_max,
            max_sessions,
            signin_attempts,
            signin_lockout,
            public_url,
        })
    }

    /// Whether the status page asks for the admin token.
    pub fn requires_login(&self) -> bool {
        self.admin_token.is_some()
    }
}

/// `server.public_url`: an absolute `http(s)` URL with a host and no credentials.
fn public_url(v: &str) -> Result<url::Url, ConfigError> {
    const KEY: &str = "server.public_url";
    const FIX: &str = "use the address people open the status page under, e.g. \"https://s4s.example.com\"";
    let u = url::Url::parse(v.trim()).map_err(|e| err(KEY, format!("\"{v}\" is not a URL: {e}"), FIX))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(err(KEY, format!("unsupported scheme \"{}\"", u.scheme()), FIX));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(err(KEY, "has no host", FIX));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(err(KEY, "must not hold a user name or password", FIX));
    }
    Ok(u)
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

    fn raw(text: &str) -> Result<ServerConfig, ConfigError> {
        server(text)
    }

    fn server(text: &str) -> Result<ServerConfig, ConfigError> {
        let raw: RawServer = toml::from_str(text).map_err(|e| err("server", e.to_string(), "fix the TOML"))?;
        ServerConfig::from_raw(raw, &NoEnv)
    }

    #[test]
    fn session_and_signin_keys_have_defaults_and_bounds() {
        let c = raw("").unwrap();
        assert_eq!((c.session_idle, c.session_max, c.max_sessions), (SESSION_IDLE, SESSION_MAX, MAX_SESSIONS));
        assert_eq!((c.signin_attempts, c.signin_lockout), (SIGNIN_ATTEMPTS, SIGNIN_LOCKOUT));
        assert!(c.public_url.is_none());
        let c = raw("session_idle = \"2s\"\nsession_max = \"1m\"\nmax_sessions = 3\nsignin_attempts = 2\nsignin_lockout = \"500ms\"\npublic_url = \"https://s4s.example.com\"").unwrap();
        assert_eq!(
            (c.session_idle, c.session_max, c.max_sessions),
            (Duration::from_secs(2), Duration::from_secs(60), 3)
        );
        assert_eq!(c.public_url.as_ref().and_then(|u| u.host_str()), Some("s4s.example.com"));
        for (text, key) in [
            ("session_idle = \"0s\"", "server.session_idle"),
            ("session_max = \"soon\"", "server.session_max"),
            ("max_sessions = 0", "server.max_sessions"),
            ("signin_attempts = 100000", "server.signin_attempts"),
            ("signin_lockout = \"2d\"", "server.signin_lockout"),
            ("public_url = \"ftp://x.example\"", "server.public_url"),
            ("public_url = \"https://user:pw@x.example\"", "server.public_url"),
            ("public_url = \"not a url\"", "server.public_url"),
        ] {
            assert_eq!(raw(text).unwrap_err().key, key, "{text}");
        }
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
