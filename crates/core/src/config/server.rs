//! The `[server]` section: the HTTP listen address.

use std::net::SocketAddr;

use serde::Deserialize;

use super::error::{ConfigError, err};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    listen: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
}

impl ServerConfig {
    pub(super) fn from_raw(raw: RawServer) -> Result<ServerConfig, ConfigError> {
        let listen_s = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_s.parse().map_err(|_| {
            err("server.listen", format!("\"{listen_s}\" is not an address"), "use IP:PORT, e.g. \"0.0.0.0:8080\"")
        })?;
        Ok(ServerConfig { listen })
    }
}
