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

/// Parses a duration: one or more `<number><unit>` parts, summed, e.g. `10s`, `500ms`, `2m`,
/// `24h`, `1d`, `1h30m`, `2.5s`, `0.5m`. Units are `ms`, `s`, `m`, `h` and `d`; a number is
/// whole or has a decimal fraction (`2.5`, not `.5` or `2.`); white space may separate a
/// number from its unit. Precision is one nanosecond (finer fractions are truncated). `None`
/// for anything else, and for a total beyond [`Duration::MAX`].
pub fn parse_duration(s: &str) -> Option<Duration> {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total_nanos: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let whole_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if whole_len == 0 {
            return None;
        }
        let (whole, after) = rest.split_at_checked(whole_len)?;
        let whole: u64 = whole.parse().ok()?;
        rest = after;
        // An optional fraction: a '.' followed by at least one digit.
        let mut fraction = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_len = after_dot.find(|c: char| !c.is_ascii_digit()).unwrap_or(after_dot.len());
            if frac_len == 0 {
                return None;
            }
            (fraction, rest) = after_dot.split_at_checked(frac_len)?;
        }
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let (unit, after) = rest.split_at_checked(unit_len)?;
        let unit = unit.trim();
        rest = after;
        let unit_nanos: u128 = match unit {
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            "d" => 86400 * NANOS_PER_SEC,
            _ => return None,
        };
        // u64 × 86 400 × 10⁹ stays far below u128::MAX.
        let mut nanos = u128::from(whole) * unit_nanos;
        // fraction × unit, rounded down to whole nanoseconds. Digits past the 24th are worth
        // less than 10⁻¹⁰ ns even for days and are dropped, so the product fits in a u128.
        let fraction = crate::text::prefix_bytes(fraction, 24);
        if !fraction.is_empty() {
            let numerator: u128 = fraction.parse().ok()?;
            nanos += numerator * unit_nanos / 10u128.pow(fraction.len() as u32);
        }
        total_nanos = total_nanos.checked_add(nanos)?;
    }
    let secs = u64::try_from(total_nanos / NANOS_PER_SEC).ok()?;
    let subsec = (total_nanos % NANOS_PER_SEC) as u32;
    Some(Duration::new(secs, subsec))
}

const DURATION_FIX: &str = concat!(
    "use a number followed by ms, s, m, h or d, e.g. \"10s\" or \"24h\"; ",
    "fractions and combinations work too, e.g. \"2.5s\" or \"1m30s\""
);

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

/// Checks a name used in keys, logs and ids (`kind` is "tenant" or "workspace"): not empty,
/// letters, digits, '-' and '_' only, and not `taken` by an earlier one of its kind.
pub(super) fn check_name(key: String, name: &str, kind: &str, taken: bool) -> Result<(), ConfigError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(err(key, format!("\"{name}\" is not a valid name"), "use letters, digits, '-' and '_' only"));
    }
    if taken {
        return Err(err(key, format!("duplicate {kind} name \"{name}\""), format!("give every {kind} a unique name")));
    }
    Ok(())
}

/// A tag or label: unset = "SIGNL4", empty = none.
pub(super) fn tag_or_signl4(v: Option<String>) -> Option<String> {
    match v {
        None => Some("SIGNL4".into()),
        Some(t) if t.is_empty() => None,
        Some(t) => Some(t),
    }
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

    #[test]
    fn fractional_and_compound_durations() {
        assert_eq!(parse_duration("2.5s"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h15m"), Some(Duration::from_secs(4500)));
        assert_eq!(parse_duration("0.5m"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0.25d"), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_duration("1.5ms"), Some(Duration::from_micros(1500)));
        assert_eq!(parse_duration("1m0.5s"), Some(Duration::from_millis(60_500)));
        assert_eq!(parse_duration("1.000000001s"), Some(Duration::new(1, 1)));
        // Below a nanosecond is truncated.
        assert_eq!(parse_duration("1.0000000019s"), Some(Duration::new(1, 1)));
        assert_eq!(
            parse_duration("0.1234567890123456789012345678901234567890d"),
            Some(Duration::new(10666, 666_570_666))
        );
    }

    #[test]
    fn what_was_accepted_before_still_is() {
        assert_eq!(parse_duration(" 10s "), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("10 s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1s1s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("007s"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("18446744073709551615s"), Some(Duration::from_secs(u64::MAX)));
        assert_eq!(parse_duration("18446744073709551615ms"), Some(Duration::from_millis(u64::MAX)));
    }

    #[test]
    fn bad_durations_are_rejected() {
        for bad in [
            "", " ", "s", "ms", "-1s", "+1s", "1x", "1", "10", "1.5.2s", ".5s", "5.s", "1.s", "1..5s", "1,5s", "1 .5s",
            "1s-", "1m30", "1sec", "1S", "1 m s", "inf", "NaNs", "1e3s", "１s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn overflowing_durations_are_rejected() {
        assert_eq!(parse_duration("99999999999999999999d"), None);
        assert_eq!(parse_duration("18446744073709551616s"), None);
        assert_eq!(parse_duration("18446744073709551615m"), None);
        assert_eq!(parse_duration("213503982334601d"), Some(Duration::from_secs(213_503_982_334_601 * 86400)));
        assert_eq!(parse_duration("213503982334602d"), None);
        assert_eq!(parse_duration("213503982334600.5d"), Some(Duration::new(18_446_744_073_709_483_200, 0)));
        assert_eq!(parse_duration("18446744073709551615s1s"), None);
        assert_eq!(parse_duration("18446744073709551615.9999999999s"), Some(Duration::new(u64::MAX, 999_999_999)));
        assert_eq!(parse_duration("18446744073709551615s999999999ms"), None);
    }

    #[test]
    fn duration_errors_name_the_key_and_the_new_forms() {
        let e = duration("delivery.lease", Some(&"1.5.2s".to_string()), Duration::ZERO, Duration::ZERO).unwrap_err();
        assert_eq!((e.key.as_str(), e.problem.as_str()), ("delivery.lease", "invalid duration \"1.5.2s\""));
        assert!(e.fix.contains("\"10s\"") && e.fix.contains("\"2.5s\"") && e.fix.contains("\"1m30s\""), "{e}");
        let e =
            duration("delivery.lease", Some(&"0.5s".to_string()), Duration::ZERO, Duration::from_secs(1)).unwrap_err();
        assert_eq!((e.problem.as_str(), e.fix.as_str()), ("0.5s is too short", "use at least 1000ms"));
        assert_eq!(duration("x", None, Duration::from_secs(3), Duration::ZERO), Ok(Duration::from_secs(3)));
    }

    /// The parser before fractions were accepted, kept to check that nothing it accepted changed.
    fn parse_duration_before_fractions(s: &str) -> Option<Duration> {
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
            let (n, after) = rest.split_at_checked(digits)?;
            let n: u64 = n.parse().ok()?;
            rest = after;
            let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let (unit, after) = rest.split_at_checked(unit_len)?;
            let unit = unit.trim();
            rest = after;
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

    proptest::proptest! {
        #[test]
        fn everything_accepted_before_parses_the_same(s in "[0-9 smhdx.-]{0,16}|[0-9]{1,21}(ms|s|m|h|d)") {
            if let Some(before) = parse_duration_before_fractions(&s) {
                proptest::prop_assert_eq!(parse_duration(&s), Some(before), "{:?}", s);
            } else if !s.contains('.') {
                proptest::prop_assert_eq!(parse_duration(&s), None, "{:?}", s);
            }
        }
    }
}
