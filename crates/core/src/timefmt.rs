//! Timestamps as Microsoft and SIGNL4 send them.
//!
//! Graph returns `2026-05-05T08:30:00.0000000Z` (7 fractional digits, .NET ticks) as well as
//! `2026-05-05T07:00:00.000Z`; SIGNL4's `eventRaisedUtc` has 0–7 fractional digits
//! (`../shared/reference/signl4.md` §3.3). RFC 3339 parsing in `time` accepts any number of
//! fractional digits, so one lenient parser covers all of them.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Parses an RFC 3339 / ISO 8601 timestamp with 0–9 fractional digits. A missing offset is
/// taken as UTC (SIGNL4's `eventRaisedUtc` sometimes has no `Z`).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.to_offset(UtcOffset::UTC));
    }
    // No offset: append Z and retry.
    let with_z = format!("{s}Z");
    OffsetDateTime::parse(&with_z, &Rfc3339).ok()
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
