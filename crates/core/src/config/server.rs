//! The `[server]` section: the HTTP listen address, the status page's admin token, its
//! sessions and sign-in throttling, and the public URL it may be reached under.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::env::Env;
use super::error::{ConfigError, err};
use super::values::{duration, opt_u64, resolve_secret};

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
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The status page's admin token (`Authorization: Bearer …` or the login form). Required
    /// when `listen` is not a loopback address; when set, the page asks for it on loopback too.
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
}

/// `[server]` defaults.
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
pub const SESSION_MAX: Duration = Duration::from_secs(12 * 3600);
pub const MAX_SESSIONS: usize = 100;
pub const SIGNIN_ATTEMPTS: u32 = 5;
pub const SIGNIN_LOCKOUT: Duration = Duration::from_secs(60);

/// The shortest admin token accepted: it guards the status page's redrive button.
pub const ADMIN_TOKEN_MIN_LEN: usize = 16;

impl ServerConfig {
    pub(super) fn from_raw(raw: RawServer, env: &dyn Env) -> Result<ServerConfig, ConfigError> {
        let listen_s = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_s.parse().map_err(|_| {
            err("server.listen", format!("\"{listen_s}\" is not an address"), "use IP:PORT, e.g. \"0.0.0.0:8080\"")
        })?;
        let admin_token = match raw.admin_token.as_ref() {
            Some(v) => Some(resolve_secret("server.admin_token", Some(v), env)?),
            None => None,
        };
        if let Some(t) = &admin_token
            && t.expose_secret().trim().len() < ADMIN_TOKEN_MIN_LEN
        {
            return Err(err(
                "server.admin_token",
                format!("is shorter than {ADMIN_TOKEN_MIN_LEN} characters"),
                "use a long random value, e.g. the output of `openssl rand -hex 24`",
            ));
        }
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
        Ok(ServerConfig {
            listen,
            admin_token,
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
        fn var(&self, _: &str) -> Option<String> {
            None
        }
        fn vars(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn read_file(&self, path: &str) -> Result<String, String> {
            Err(format!("no file {path}"))
        }
    }

    fn raw(toml_text: &str) -> Result<ServerConfig, ConfigError> {
        let raw: RawServer = toml::from_str(toml_text).map_err(|e| err("server", e.to_string(), ""))?;
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
}
