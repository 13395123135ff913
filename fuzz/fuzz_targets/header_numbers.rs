//! Numbers from response headers (`s4s_core::retry`): `Retry-After` (seconds, fractional, an
//! HTTP date), `X-RateLimit-Reset` / `-Remaining` / `-Limit`, `x-ms-ratelimit-remaining-*`.
//!
//! Properties: never panics (NaN, inf, negative, huge, dates far out); no wait is longer than
//! `MAX_HOLD`; a count is finite and within `0..=MAX_COUNT`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::retry::{MAX_COUNT, MAX_HOLD, header_count, parse_retry_after, rate_limit_wait, reset_in};

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes pick "now"; the rest is the header value.
    let (now, rest) = match data.split_first_chunk::<8>() {
        Some((n, rest)) => (i64::from_le_bytes(*n), rest),
        None => (0, data),
    };
    let Ok(v) = std::str::from_utf8(rest) else { return };
    let now_dt = time::OffsetDateTime::from_unix_timestamp(now.rem_euclid(253_402_300_799))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    if let Some(d) = parse_retry_after(v, now_dt) {
        assert!(d <= MAX_HOLD, "Retry-After {v:?} → {d:?}");
    }
    if let Some(d) = reset_in(v, now) {
        assert!(d <= MAX_HOLD, "reset {v:?} → {d:?}");
    }
    if let Some(d) = rate_limit_wait(Some("0"), Some(v), now) {
        assert!(d <= MAX_HOLD, "rate limit wait {v:?} → {d:?}");
    }
    let _ = rate_limit_wait(Some(v), Some(v), now);
    if let Some(c) = header_count(v) {
        assert!(c.is_finite() && (0.0..=MAX_COUNT).contains(&c), "count {v:?} → {c}");
    }
});
