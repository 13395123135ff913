//! The wall clock in the form the store takes (milliseconds since the Unix epoch).

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    s4s_core::timefmt::millis(time::OffsetDateTime::now_utc())
}
