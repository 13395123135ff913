//! Value syntaxes shared by all sections: durations, secrets (`env:`/`file:`), URLs, lenient numbers/bools/lists.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use url::Url;

use super::env::Env;
use super::error::{ConfigError, err};

/// Numbers may come as TOML integers or, from environment overrides, as strings.
pub(super) fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Int(u64),
        Str(String),
    }
    match Option::<N>::deserialize(d)? {
        None => Ok(None),
        Some(N::Int(n)) => Ok(Some(n)),
        Some(N::Str(s)) => {
            s.trim().parse().map(Some).map_err(|_| de::Error::custom(format!("expected a whole number, got \"{s}\"")))
        }
    }
}

pub(super) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
    }
    match Option::<B>::deserialize(d)? {
        None => Ok(None),
        Some(B::Bool(b)) => Ok(Some(b)),
        Some(B::Str(s)) => match s.trim() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(de::Error::custom(format!("expected true or false, got \"{s}\""))),
        },
    }
}

/// Lists may come as TOML arrays or, from environment overrides, as comma-separated strings.
pub(super) fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum L {
        List(Vec<String>),
        Str(String),
    }
    Ok(Option::<L>::deserialize(d)?.map(|l| match l {
        L::List(v) => v,
        L::Str(s) => s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect(),
    }))
}

/// Parses `10s`, `500ms`, `2m`, `24h`, `1d`, `1h30m`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86400)?),
            _ => return None,
        };
        total = total.checked_add(d)?;
    }
    Some(total)
}

const DURATION_FIX: &str = "use a number followed by ms, s, m, h or d, e.g. \"10s\" or \"24h\"";

pub(super) fn duration(
    key: &str,
    v: Option<&String>,
    default: Duration,
    min: Duration,
) -> Result<Duration, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    let d = parse_duration(v).ok_or_else(|| err(key, format!("invalid duration \"{v}\""), DURATION_FIX))?;
    if d < min {
        return Err(err(key, format!("{v} is too short"), format!("use at least {}ms", min.as_millis())));
    }
    Ok(d)
}

pub(super) fn resolve_secret(key: &str, value: Option<&String>, env: &dyn Env) -> Result<SecretString, ConfigError> {
    let Some(v) = value else {
        return Err(err(
            key,
            "missing secret",
            format!("set `{key}` to the secret itself, to \"env:VARIABLE\" or to \"file:/path/to/secret\""),
        ));
    };
    let resolved = if let Some(name) = v.strip_prefix("env:") {
        env.var(name).ok_or_else(|| {
            err(key, format!("environment variable {name} is not set"), format!("export {name}=… before starting"))
        })?
    } else if let Some(path) = v.strip_prefix("file:") {
        env.read_file(path)
            .map_err(|e| {
                err(key, format!("cannot read secret file {path}: {e}"), "check the path and its permissions")
            })?
            .trim()
            .to_string()
    } else {
        v.clone()
    };
    if resolved.trim().is_empty() {
        return Err(err(key, "secret is empty", "provide a non-empty secret"));
    }
    Ok(SecretString::from(resolved))
}

pub(super) fn url(key: &str, v: Option<&String>, default: &Url) -> Result<Url, ConfigError> {
    let Some(v) = v else { return Ok(default.clone()) };
    let u = Url::parse(v.trim_end_matches('/'))
        .map_err(|e| err(key, format!("invalid URL \"{v}\": {e}"), "use an absolute http(s) URL"))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        return Err(err(key, format!("unsupported scheme \"{}\"", u.scheme()), "use an http:// or https:// URL"));
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }
}
