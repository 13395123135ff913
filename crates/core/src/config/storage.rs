//! The `[storage]` section: SQLite file or PostgreSQL URL.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::env::Env;
use super::error::{ConfigError, err};
use super::values::resolve_secret;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    backend: Option<String>,
    path: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Clone)]
pub enum StorageConfig {
    Sqlite { path: PathBuf },
    Postgres { url: SecretString },
}

impl StorageConfig {
    pub(super) fn from_raw(raw: RawStorage, env: &dyn Env) -> Result<StorageConfig, ConfigError> {
        Ok(match raw.backend.as_deref().unwrap_or("sqlite") {
            "sqlite" => {
                StorageConfig::Sqlite { path: PathBuf::from(raw.path.unwrap_or_else(|| "signl4-sentinel.db".into())) }
            }
            "postgres" => StorageConfig::Postgres {
                url: resolve_secret("storage.url", raw.url.as_ref(), env).map_err(|mut e| {
                    e.fix = "set storage.url to postgres://user@host/db (or env:NAME / file:PATH)".into();
                    e
                })?,
            },
            other => {
                return Err(err(
                    "storage.backend",
                    format!("unknown backend \"{other}\""),
                    "use \"sqlite\" or \"postgres\"",
                ));
            }
        })
    }
}
