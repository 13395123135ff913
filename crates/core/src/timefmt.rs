//! Timestamps as Microsoft and SIGNL4 send them.
//!
//! Graph returns `2026-05-05T08:30:00.0000000Z` (7 fractional digits, .NET ticks) as well as
//! `2026-05-05T07:00:00.000Z`; SIGNL4's `eventRaisedUtc` has 0–7 fractional digits
//! (`../shared/reference/signl4.md` §3.3). RFC 3339 parsing in `time` accepts any number of
//! fractional digits, so one lenient parser covers all of them.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 3339 / ISO 8601 timestamp with 0–9 fractional digits. A missing offset is
/// taken as UTC (SIGNL4's `eventRaisedUtc` sometimes has no `Z`). Times that are not in years
/// 1–9999 once in UTC are refused (None), never a panic: `9999-12-31T23:59:59-01:00` would
/// be year 10000, which `time` cannot represent (found by fuzzing), and a year before 1
/// would not format back into a timestamp this function reads ([`odata`]).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let t = match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => t,
        // No offset: append Z and retry.
        Err(_) => OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok()?,
    };
    t.checked_to_offset(UtcOffset::UTC).filter(|u| (1..=9999).contains(&u.year()))
}

/// Formats a timestamp as an OData DateTimeOffset literal (unquoted in `$filter`), in UTC
/// with 7 fractional digits like Graph itself.
pub fn odata(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

/// Milliseconds since the Unix epoch.
pub fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`millis`].
pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_years_1_to_9999_in_utc_are_refused_not_a_panic() {
        // Inputs found by fuzzing (fuzz/artifacts-found/).
        assert_eq!(parse("9999-12-31T08:11:12-23:59"), None);
        assert_eq!(parse("9999-12-31T23:59:59-01:00"), None);
        assert_eq!(parse("0000-01-01T00:30:00+01:00"), None);
        assert!(parse("9999-12-31T23:59:59Z").is_some());
        let t = parse("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(parse(&odata(t)), Some(t), "round trip");
    }

    #[test]
    fn parses_graph_and_signl4_precisions() {
        let seven = parse("2026-05-05T08:30:00.0000000Z").unwrap();
        let three = parse("2026-05-05T08:30:00.000Z").unwrap();
        let none = parse("2026-05-05T08:30:00Z").unwrap();
        let no_offset = parse("2017-09-01T08:11:37.4815663").unwrap();
        assert_eq!(seven, three);
        assert_eq!(seven, none);
        assert_eq!(no_offset.nanosecond(), 481_566_300);
        assert!(parse("yesterday").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn odata_literal_round_trips() {
        let t = parse("2026-05-05T09:15:00.1234567Z").unwrap();
        assert_eq!(odata(t), "2026-05-05T09:15:00.1234567Z");
        assert_eq!(parse(&odata(t)).unwrap(), t);
    }

    #[test]
    fn millis_round_trip() {
        let t = parse("2026-05-05T09:15:00.123Z").unwrap();
        assert_eq!(from_millis(millis(t)), t);
    }
}
