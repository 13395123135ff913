//! Quiet hours and maintenance windows of a route: while one is active, alerts are recorded and
//! not paged (or paged with a lower alerting scenario); when it ends, one digest page lists what
//! was held. High-severity alerts page through unless the route says otherwise. Pure: the
//! delivery path asks [`QuietHours::check`] with the time of the page.

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;

use crate::alert::Severity;

/// A recurring daily window in a time zone, or a one-off window.
#[derive(Debug, Clone)]
pub enum Window {
    Daily {
        /// Days the window starts on (empty: every day).
        days: Vec<Weekday>,
        from: Time,
        to: Time,
        tz: TimeZone,
        label: String,
    },
    Once {
        start_ms: i64,
        end_ms: i64,
        label: String,
    },
}

/// What a route does with alerts in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuietAction {
    /// Record, do not page; one digest page when the window ends.
    Hold,
    /// Page with this SIGNL4 alerting scenario instead of the configured one.
    Lower(String),
}

/// A route's quiet hours and maintenance windows.
#[derive(Debug, Clone)]
pub struct QuietHours {
    pub windows: Vec<Window>,
    pub action: QuietAction,
    /// High-severity alerts page as usual during a window (default true).
    pub high_pages: bool,
    pub high_severity: Severity,
}

/// The answer for one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quiet {
    /// No window, or one that lets this alert through.
    Page,
    /// Held until the window ends at `end_ms`; `label` describes it for the digest.
    Hold { end_ms: i64, label: String },
    /// Page with this scenario.
    Lower(String),
}

fn at(date: jiff::civil::Date, time: Time, tz: &TimeZone) -> Option<i64> {
    date.to_datetime(time).to_zoned_datetime(tz.clone()).ok().map(|z| z.timestamp().as_millisecond())
}

impl Window {
    /// When the window containing `now_ms` ends, if it contains it.
    pub fn active_until(&self, now_ms: i64) -> Option<i64> {
        match self {
            Window::Once { start_ms, end_ms, .. } => (now_ms >= *start_ms && now_ms < *end_ms).then_some(*end_ms),
            Window::Daily { days, from, to, tz, .. } => {
                let now = Timestamp::from_millisecond(now_ms).ok()?.to_zoned_datetime(tz.clone());
                let (date, t) = (now.date(), now.time());
                let starts_on = |d: jiff::civil::Date| days.is_empty() || days.contains(&d.weekday());
                if from < to {
                    (starts_on(date) && t >= *from && t < *to).then(|| at(date, *to, tz)).flatten()
                } else if t >= *from && starts_on(date) {
                    // Across midnight: started today, ends tomorrow.
                    at(date.tomorrow().ok()?, *to, tz)
                } else if t < *to && starts_on(date.yesterday().ok()?) {
                    at(date, *to, tz)
                } else {
                    None
                }
            }
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Window::Daily { label, .. } | Window::Once { label, .. } => label,
        }
    }
}

impl QuietHours {
    pub fn check(&self, now_ms: i64, severity: &Severity) -> Quiet {
        if self.high_pages && severity.rank() >= self.high_severity.rank() {
            return Quiet::Page;
        }
        let Some((end_ms, w)) =
            self.windows.iter().filter_map(|w| Some((w.active_until(now_ms)?, w))).max_by_key(|(e, _)| *e)
        else {
            return Quiet::Page;
        };
        match &self.action {
            QuietAction::Hold => Quiet::Hold { end_ms, label: w.label().to_string() },
            QuietAction::Lower(s) => Quiet::Lower(s.clone()),
        }
    }
}

/// Parses `"22:00-06:00"` into (from, to).
pub fn parse_range(s: &str) -> Option<(Time, Time)> {
    let (a, b) = s.split_once('-')?;
    let t = |x: &str| x.trim().parse::<Time>().ok();
    let (from, to) = (t(a)?, t(b)?);
    (from != to).then_some((from, to))
}

pub fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn nights(days: Vec<Weekday>) -> Window {
        let (from, to) = parse_range("22:00-06:00").unwrap();
        Window::Daily {
            days,
            from,
            to,
            tz: TimeZone::get("Europe/Berlin").unwrap(),
            label: "22:00-06:00 Europe/Berlin".into(),
        }
    }

    /// A night on call with the clock stepped by hand (pure code: no waiting): medium alerts
    /// at 23:10, 01:45 and 04:20 Berlin are held into one digest job (the same key, merged),
    /// the high-severity one at 02:00 pages through, one at 06:01 pages normally, and the
    /// digest page says what was held.
    #[test]
    fn a_night_of_quiet_hours_holds_into_one_digest_and_high_severity_pages_through() {
        use crate::records::NewJob;
        use crate::storm::{self, StormSummary};
        let q = QuietHours {
            windows: vec![nights(vec![])],
            action: QuietAction::Hold,
            high_pages: true,
            high_severity: Severity::High,
        };
        let mut digest: Option<NewJob> = None;
        let mut paged = Vec::new();
        let night = [
            ("2026-12-04T22:10:00Z", Severity::Medium, "[Medium] Suspicious sign-in"),
            ("2026-12-05T00:45:00Z", Severity::Medium, "[Medium] Suspicious sign-in"),
            ("2026-12-05T01:00:00Z", Severity::High, "[High] Ransomware"),
            ("2026-12-05T03:20:00Z", Severity::Low, "[Low] Mass download"),
            ("2026-12-05T05:01:00Z", Severity::Medium, "[Medium] Suspicious sign-in"),
        ];
        for (i, (at, sev, title)) in night.iter().enumerate() {
            let ext = format!("s4s:contoso:graph-alert:a{i}");
            match q.check(ms(at), sev) {
                Quiet::Page => paged.push(title.to_string()),
                Quiet::Hold { end_ms, label } => {
                    assert_eq!(end_ms, ms("2026-12-05T05:00:00Z"), "held until 06:00 Berlin");
                    let job =
                        crate::jobs::summary::digest_job("contoso", "default", ms(at), end_ms, &label, title, &ext);
                    digest = Some(match digest.take() {
                        None => job,
                        Some(mut d) => {
                            assert_eq!(d.key, job.key, "one digest per window");
                            d.payload = storm::merge(&d.payload, &job.payload);
                            d
                        }
                    });
                }
                Quiet::Lower(_) => unreachable!("the route holds"),
            }
        }
        assert_eq!(paged, ["[High] Ransomware", "[Medium] Suspicious sign-in"]);
        let d = digest.expect("a digest job");
        let s: StormSummary = serde_json::from_str(&d.payload).unwrap();
        assert_eq!((s.count, s.held.len()), (3, 3));
        let page = storm::summary_page("contoso", &s, &crate::signl4::payload::common::test_options());
        assert_eq!(page["Title"], "[Quiet hours] 3 alerts held during 22:00-06:00 Europe/Berlin");
        let msg = page["Message"].as_str().unwrap();
        assert!(msg.contains("2 × Suspicious sign-in, 1 × Mass download"), "{msg}");
        assert_eq!(page["X-S4-ExternalID"], format!("s4s:contoso:quiet-digest:default@{}", ms("2026-12-05T05:00:00Z")));
    }

    #[test]
    fn a_night_window_in_a_time_zone_across_midnight_and_dst() {
        let w = nights(vec![]);
        // 22:30 in Berlin (winter, UTC+1) is 21:30 UTC: quiet until 06:00 Berlin = 05:00 UTC.
        assert_eq!(w.active_until(ms("2026-12-04T21:30:00Z")), Some(ms("2026-12-05T05:00:00Z")));
        assert_eq!(w.active_until(ms("2026-12-05T04:59:59Z")), Some(ms("2026-12-05T05:00:00Z")));
        assert_eq!(w.active_until(ms("2026-12-05T05:00:00Z")), None);
        assert_eq!(w.active_until(ms("2026-12-04T20:59:00Z")), None, "21:59 Berlin");
        // Summer (UTC+2): 06:00 Berlin is 04:00 UTC.
        assert_eq!(w.active_until(ms("2026-07-01T01:00:00Z")), Some(ms("2026-07-01T04:00:00Z")));
        // The night the clocks go back (25 October 2026): 06:00 CET = 05:00 UTC.
        assert_eq!(w.active_until(ms("2026-10-25T02:30:00Z")), Some(ms("2026-10-25T05:00:00Z")));
    }

    #[test]
    fn days_are_the_days_a_window_starts_on() {
        // Friday and Saturday nights only: Saturday 03:00 is Friday's night; Monday 03:00 is not.
        let w = nights(vec![Weekday::Friday, Weekday::Saturday]);
        assert!(w.active_until(ms("2026-12-05T02:00:00Z")).is_some(), "Sat 03:00 Berlin");
        assert!(w.active_until(ms("2026-12-06T22:00:00Z")).is_none(), "Sun 23:00 Berlin");
        assert!(w.active_until(ms("2026-12-07T02:00:00Z")).is_none(), "Mon 03:00 Berlin");
        let day = Window::Daily {
            days: vec![],
            from: "09:00".parse().unwrap(),
            to: "17:00".parse().unwrap(),
            tz: TimeZone::UTC,
            label: "office".into(),
        };
        assert_eq!(day.active_until(ms("2026-12-07T10:00:00Z")), Some(ms("2026-12-07T17:00:00Z")));
        assert_eq!(day.active_until(ms("2026-12-07T18:00:00Z")), None);
    }

    #[test]
    fn high_severity_pages_through_unless_the_route_says_otherwise() {
        let once = Window::Once { start_ms: 0, end_ms: 1000, label: "change freeze".into() };
        let mut q = QuietHours {
            windows: vec![once],
            action: QuietAction::Hold,
            high_pages: true,
            high_severity: Severity::High,
        };
        assert_eq!(q.check(10, &Severity::Medium), Quiet::Hold { end_ms: 1000, label: "change freeze".into() });
        assert_eq!(q.check(10, &Severity::High), Quiet::Page);
        assert_eq!(q.check(1000, &Severity::Medium), Quiet::Page, "the window has ended");
        q.high_pages = false;
        assert!(matches!(q.check(10, &Severity::High), Quiet::Hold { .. }));
        q.action = QuietAction::Lower("single_ack".into());
        assert_eq!(q.check(10, &Severity::Low), Quiet::Lower("single_ack".into()));
    }

    #[test]
    fn ranges_and_days_parse() {
        assert!(parse_range("22:00-06:00").is_some());
        assert!(parse_range("8:00-9:00").is_none() || parse_range("08:00-09:00").is_some());
        assert!(parse_range("22:00").is_none());
        assert!(parse_range("10:00-10:00").is_none());
        assert_eq!(parse_weekday("Saturday"), Some(Weekday::Saturday));
        assert_eq!(parse_weekday("xyz"), None);
    }
}
