//! Timestamps as every source sends them (`timefmt::parse`: SIGNL4 `eventRaisedUtc` and REST
//! `lastModified`, Graph `lastUpdateDateTime`, Sentinel `lastModifiedTimeUtc`; and
//! `sentinel::parse_rule_time` for rule-query windows). Every JSON target reaches this parser
//! through one field; fuzzing it alone finds its edge cases in seconds.
//!
//! Properties: never panics; a parsed time's OData literal (the stored version and cursor)
//! parses back to itself; milliseconds round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::{sentinel, timefmt};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = sentinel::parse_rule_time(s);
    let Some(t) = timefmt::parse(s) else { return };
    let lit = timefmt::odata(t);
    let back = timefmt::parse(&lit).unwrap_or_else(|| panic!("the OData literal {lit:?} of {s:?} does not parse"));
    assert_eq!(timefmt::odata(back), lit);
    let ms = timefmt::millis(t);
    assert_eq!(timefmt::millis(timefmt::from_millis(ms)), ms);
});
