//! The `[server]` section: the HTTP listen address and the status page's admin token.

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::env::Env;
use super::error::{ConfigError, err};
use super::values::resolve_secret;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    listen: Option<String>,
    admin_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The status page's admin token (`Authorization: Bearer …` or the login form). Required
    /// when `listen` is not a loopback address; when set, the page asks for it on loopback too.
    pub admin_token: Option<SecretString>,
}

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
        Ok(ServerConfig { listen, admin_token })
    }

    /// Whether the status page asks for the admin token.
    pub fn requires_login(&self) -> bool {
        self.admin_token.is_some()
    }
}
