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

/// The longest any header can make us wait: 5 minutes.
///
/// Why 5 minutes: Graph and ARM ask for seconds (`microsoft-apis.md` §2.8, §3.6); SIGNL4's
/// reset is at most the end of its current window, and only its hour / day windows
/// (`signl4.md` §1.7) are longer than this. Holding longer on the word of one header would let
/// a broken or hostile upstream (or proxy) silence paging for as long as it likes; capped, a
/// real long block costs one probing request every 5 minutes, answered with a fresh hold.
pub const MAX_HOLD: Duration = Duration::from_secs(300);

/// The largest request count a rate-limit header may report (`X-RateLimit-Limit` /
/// `-Remaining`, `x-ms-ratelimit-remaining-*`): far above any documented limit (SIGNL4's
/// 864,000 per day), so a bigger number is garbage and treated as absent.
pub const MAX_COUNT: f64 = 1.0e7;

/// A number from a header value: decimal only (`12`, `2.128`, `1e3`), finite. `NaN`, `inf`,
/// hex and anything else are `None`. Values are short; longer ones are not numbers we send.
fn header_f64(value: &str) -> Option<f64> {
    let v = value.trim();
    if v.is_empty()
        || v.len() > 32
        || !v.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    v.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Seconds (finite, ≥ 0) → a duration of at most [`MAX_HOLD`].
fn capped_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(MAX_HOLD.as_secs_f64())))
}

/// Parses `Retry-After`: delta seconds, possibly fractional (Graph sends `2.128`,
/// `microsoft-apis.md` §2.8), or an HTTP date (RFC 9110 §10.2.3). Negative, non-finite or
/// unreadable values are absent; the result is at most [`MAX_HOLD`].
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let v = value.trim();
    if let Some(secs) = header_f64(v) {
        return capped_secs(secs);
    }
    if v.len() > 64 || !v.is_ascii() {
        return None;
    }
    let when = OffsetDateTime::parse(&v.replace(" GMT", " +0000"), &Rfc2822).ok()?;
    let delta = when - now;
    Some(if delta.is_negative() { Duration::ZERO } else { delta.unsigned_abs().min(MAX_HOLD) })
}

/// A request count from `X-RateLimit-Limit` / `-Remaining` or `x-ms-ratelimit-remaining-*`:
/// finite, 0 ≤ n ≤ [`MAX_COUNT`]; anything else is absent.
pub fn header_count(value: &str) -> Option<f64> {
    header_f64(value).filter(|n| (0.0..=MAX_COUNT).contains(n))
}

/// `X-RateLimit-Reset` (a unix timestamp, `signl4.md` §1.7) → time until then, 0 when it is
/// past, at most [`MAX_HOLD`]; absent when unreadable or non-finite.
pub fn reset_in(reset: &str, now_unix: i64) -> Option<Duration> {
    let reset = header_f64(reset)?;
    capped_secs((reset - now_unix as f64).max(0.0))
}

/// SIGNL4 always returns `X-RateLimit-Limit/Remaining/Reset` (reset = unix timestamp,
/// `signl4.md` §1.7). When nothing remains, wait until the reset (at most [`MAX_HOLD`]).
pub fn rate_limit_wait(remaining: Option<&str>, reset: Option<&str>, now_unix: i64) -> Option<Duration> {
    let remaining = header_count(remaining?)?;
    if remaining > 0.0 {
        return None;
    }
    reset_in(reset?, now_unix)
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
    fn absurd_header_numbers_are_absent_or_capped() {
        let now = datetime!(2015-10-21 07:27:00 UTC);
        for v in ["NaN", "nan", "inf", "-inf", "infinity", "-5", "-0.1", "0x10", "1e400", "", "  ", "5 5", "١٢"] {
            assert_eq!(parse_retry_after(v, now), None, "{v:?}");
        }
        assert_eq!(parse_retry_after("1e300", now), Some(MAX_HOLD));
        assert_eq!(parse_retry_after("86400", now), Some(MAX_HOLD));
        assert_eq!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), Some(MAX_HOLD));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        // X-RateLimit-Reset: NaN with nothing remaining is no hold at all (absent).
        assert_eq!(rate_limit_wait(Some("0"), Some("NaN"), 990), None);
        assert_eq!(rate_limit_wait(Some("0"), Some("inf"), 990), None);
        assert_eq!(rate_limit_wait(Some("0"), Some("1e300"), 990), Some(MAX_HOLD));
        assert_eq!(rate_limit_wait(Some("0"), Some("-1e300"), 990), Some(Duration::ZERO));
        assert_eq!(rate_limit_wait(Some("NaN"), Some("1000"), 990), None);
        assert_eq!(rate_limit_wait(Some("-1"), Some("1000"), 990), None);
        assert_eq!(header_count("12"), Some(12.0));
        for v in ["NaN", "-1", "inf", "1e300", "x"] {
            assert_eq!(header_count(v), None, "{v}");
        }
    }

    proptest::proptest! {
        #[test]
        fn header_numbers_never_panic_and_never_exceed_the_cap(s in "\\PC{0,40}", n in proptest::num::f64::ANY, now in proptest::num::i64::ANY) {
            let t = OffsetDateTime::from_unix_timestamp(now.rem_euclid(253_402_300_799)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            for v in [s.clone(), n.to_string(), format!("{n:e}")] {
                if let Some(d) = parse_retry_after(&v, t) { proptest::prop_assert!(d <= MAX_HOLD); }
                if let Some(d) = reset_in(&v, now) { proptest::prop_assert!(d <= MAX_HOLD); }
                if let Some(d) = rate_limit_wait(Some("0"), Some(&v), now) { proptest::prop_assert!(d <= MAX_HOLD); }
                if let Some(c) = header_count(&v) { proptest::prop_assert!(c.is_finite() && (0.0..=MAX_COUNT).contains(&c)); }
            }
        }
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
