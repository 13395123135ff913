//! Retry decisions: which responses are worth retrying, when, and which are permanent.
//!
//! Pure functions; the HTTP adapters feed them status codes, header values and a random
//! number, so every branch is tested with plain data.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// What to do after a response or a transport error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Done,
    /// Try again; `after` is the server's wish (Retry-After / rate-limit reset), if any.
    Retry {
        after: Option<Duration>,
    },
    /// Retrying cannot help (bad credentials, wrong team secret, malformed request).
    Permanent,
}

/// Classifies an HTTP status. 408, 425, 429 and 5xx are transient; other 4xx are permanent.
pub fn classify_status(status: u16) -> Decision {
    match status {
        200..=299 => Decision::Done,
        408 | 425 | 429 => Decision::Retry { after: None },
        500..=599 => Decision::Retry { after: None },
        _ => Decision::Permanent,
    }
}

/// Parses `Retry-After`: delta seconds, possibly fractional (Graph sends `2.128`,
/// `microsoft-apis.md` §2.8), or an HTTP date.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86400.0)));
        }
        return None;
    }
    let when = OffsetDateTime::parse(&v.replace(" GMT", " +0000"), &Rfc2822).ok()?;
    let delta = when - now;
    Some(if delta.is_negative() { Duration::ZERO } else { delta.unsigned_abs() })
}

/// SIGNL4 always returns `X-RateLimit-Limit/Remaining/Reset` (reset = unix timestamp,
/// `signl4.md` §1.7). When nothing remains, wait until the reset.
pub fn rate_limit_wait(remaining: Option<&str>, reset: Option<&str>, now_unix: i64) -> Option<Duration> {
    let remaining: i64 = remaining?.trim().parse().ok()?;
    if remaining > 0 {
        return None;
    }
    let reset: f64 = reset?.trim().parse().ok()?;
    let secs = (reset - now_unix as f64).clamp(0.0, 3600.0);
    Some(Duration::from_secs_f64(secs))
}

/// Exponential backoff with "equal jitter": half the exponential delay is fixed, the other
/// half random (`jitter` in `[0, 1)`), capped at `max`. Attempt 0 is the first retry.
pub fn backoff(attempt: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = initial.saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX));
    let d = exp.min(max);
    let half = d / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// The delay before the next attempt: the server's wish when it gave one (never less), else
/// our backoff.
pub fn next_delay(server: Option<Duration>, attempt: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    match server {
        // A small random spread on top of Retry-After keeps many workers from waking together.
        Some(s) => s + Duration::from_millis((jitter.clamp(0.0, 1.0) * 100.0) as u64),
        None => backoff(attempt, initial, max, jitter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn status_classes() {
        assert_eq!(classify_status(201), Decision::Done);
        assert_eq!(classify_status(429), Decision::Retry { after: None });
        assert_eq!(classify_status(503), Decision::Retry { after: None });
        assert_eq!(classify_status(400), Decision::Permanent);
        assert_eq!(classify_status(404), Decision::Permanent);
        assert_eq!(classify_status(401), Decision::Permanent);
    }

    #[test]
    fn retry_after_fractional_and_dates() {
        let now = datetime!(2015-10-21 07:27:00 UTC);
        assert_eq!(parse_retry_after("2.128", now), Some(Duration::from_millis(2128)));
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:20:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn rate_limit_headers() {
        assert_eq!(rate_limit_wait(Some("0"), Some("1000"), 990), Some(Duration::from_secs(10)));
        assert_eq!(rate_limit_wait(Some("5"), Some("1000"), 990), None);
        assert_eq!(rate_limit_wait(Some("0"), Some("900"), 990), Some(Duration::ZERO));
        assert_eq!(rate_limit_wait(None, Some("1000"), 990), None);
        assert_eq!(rate_limit_wait(Some("0"), Some("junk"), 990), None);
    }

    #[test]
    fn backoff_grows_to_max_with_jitter_inside_bounds() {
        let i = Duration::from_secs(1);
        let m = Duration::from_secs(60);
        assert_eq!(backoff(0, i, m, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(0, i, m, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(3, i, m, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(10, i, m, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(1000, i, m, 0.999), backoff(1000, i, m, 0.999));
        assert!(backoff(1000, i, m, 0.999) <= m);
        for a in 0..40 {
            for j in [0.0, 0.3, 0.99] {
                let d = backoff(a, i, m, j);
                assert!(d <= m && d >= Duration::from_millis(500), "{a} {j} {d:?}");
            }
        }
    }

    #[test]
    fn server_delay_wins() {
        let d = next_delay(Some(Duration::from_secs(7)), 0, Duration::from_secs(1), Duration::from_secs(60), 0.5);
        assert!(d >= Duration::from_secs(7) && d < Duration::from_millis(7100));
    }
}
