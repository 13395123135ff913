//! The outside world of configuration: environment variables, secret files and `SIGNL4_SENTINEL__…` overrides.

use super::error::{ConfigError, err};

/// Prefix of environment variables that override file values:
/// `SIGNL4_SENTINEL__STORAGE__PATH=/data/s4s.db`,
/// `SIGNL4_SENTINEL__TENANT__0__POLL_INTERVAL=30s`.
pub const ENV_PREFIX: &str = "SIGNL4_SENTINEL__";

/// Where environment variables and secret files come from.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
    fn vars(&self) -> Vec<(String, String)>;
    fn read_file(&self, path: &str) -> Result<String, String>;
}

/// The real process environment and file system.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// Applies `SIGNL4_SENTINEL__A__B__0__C=value` overrides to the parsed TOML tree.
pub(super) fn apply_env_overrides(root: &mut toml::Value, env: &dyn Env) -> Result<(), ConfigError> {
    let mut vars: Vec<(String, String)> = env.vars().into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
    vars.sort();
    for (name, value) in vars {
        let path: Vec<String> =
            name.strip_prefix(ENV_PREFIX).unwrap_or_default().split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(err(
                name.as_str(),
                "malformed override name",
                "use SIGNL4_SENTINEL__SECTION__KEY, e.g. SIGNL4_SENTINEL__STORAGE__PATH",
            ));
        }
        let mut node = &mut *root;
        for (i, seg) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            // `tenant` in the file is an array of tables.
            node = match node {
                toml::Value::Table(t) => {
                    if last {
                        t.insert(seg.clone(), toml::Value::String(value.clone()));
                        break;
                    }
                    let next_is_index = path[i + 1].parse::<usize>().is_ok();
                    t.entry(seg.clone()).or_insert_with(|| {
                        if next_is_index {
                            toml::Value::Array(Vec::new())
                        } else {
                            toml::Value::Table(Default::default())
                        }
                    })
                }
                toml::Value::Array(a) => {
                    let idx: usize = seg.parse().map_err(|_| {
                        err(
                            name.as_str(),
                            format!("\"{seg}\" is not an index"),
                            "use a number, e.g. SIGNL4_SENTINEL__TENANT__0__CLIENT_SECRET",
                        )
                    })?;
                    if idx >= a.len() {
                        return Err(err(
                            name.as_str(),
                            format!("index {idx} is out of range ({} entries)", a.len()),
                            "override only entries that exist in the file",
                        ));
                    }
                    if last {
                        a[idx] = toml::Value::String(value.clone());
                        break;
                    }
                    &mut a[idx]
                }
                _ => {
                    return Err(err(name.as_str(), "overrides a value that is not a table", "check the key path"));
                }
            };
        }
    }
    Ok(())
}
