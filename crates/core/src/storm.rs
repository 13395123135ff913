//! The storm budget of a SIGNL4 team: at most `budget` pages per window; beyond it, alerts are
//! held back and one summary page per window says what was held. A high-severity page has its
//! own small lane the budget does not hold back. Pure: the delivery path keeps one
//! [`StormBudget`] per team and asks it before each page.
//!
//! Why: a misfiring rule must not call everyone hundreds of times, and SIGNL4 accepts at most
//! 600 events per minute and blocks the sender beyond that (`signl4.md` §1.7), so a storm paged
//! alert by alert could not even be delivered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::alert::Severity;
use crate::config::{Signl4Options, StormPolicy};

/// What to do with one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Within the budget.
    Page,
    /// Over the budget, but high severity within its lane.
    HighLane,
    /// Held back: counted into the summary of the window `[start_ms, end_ms)`.
    Hold { start_ms: i64, end_ms: i64 },
}

/// The cursor (per tenant) holding the [`StormBudget::state`] of `route`'s team.
pub fn state_cursor(route: &str) -> String {
    format!("storm:{route}")
}

/// Pages sent in the current window. A window starts with the first page after the previous
/// one ended, so a burst falls into one window rather than straddling two.
#[derive(Debug, Clone)]
pub struct StormBudget {
    policy: StormPolicy,
    start_ms: i64,
    pages: u32,
    high: u32,
}

impl StormBudget {
    pub fn new(policy: StormPolicy) -> StormBudget {
        StormBudget { policy, start_ms: i64::MIN, pages: 0, high: 0 }
    }

    pub fn policy(&self) -> &StormPolicy {
        &self.policy
    }

    fn window_ms(&self) -> i64 {
        (self.policy.window.as_millis() as i64).max(1)
    }

    /// Decides for one page of `severity` at `now_ms`, and counts it if it goes.
    pub fn admit(&mut self, now_ms: i64, severity: &Severity) -> Admit {
        if self.policy.budget == 0 {
            return Admit::Page;
        }
        let w = self.window_ms();
        if self.start_ms == i64::MIN || now_ms >= self.start_ms.saturating_add(w) || now_ms < self.start_ms {
            self.start_ms = now_ms;
            self.pages = 0;
            self.high = 0;
        }
        if self.pages < self.policy.budget {
            self.pages += 1;
            return Admit::Page;
        }
        if severity.rank() >= self.policy.high_severity.rank() && self.high < self.policy.high_lane {
            self.high += 1;
            return Admit::HighLane;
        }
        Admit::Hold { start_ms: self.start_ms, end_ms: self.start_ms + w }
    }

    /// The window's count, kept in the store (cursor [`state_cursor`]) after
    /// each page it lets through, so a restart (or another replica taking over the tenant)
    /// goes on counting in the same window instead of granting a second budget. `None` before
    /// the first page.
    pub fn state(&self) -> Option<String> {
        (self.start_ms != i64::MIN).then(|| format!("{},{},{}", self.start_ms, self.pages, self.high))
    }

    /// Takes up a stored [`StormBudget::state`] when its window still contains `now_ms`;
    /// anything else (an ended window, a clock set back, an unreadable value) starts afresh.
    pub fn restore(&mut self, state: &str, now_ms: i64) {
        let mut it = state.split(',').map(str::trim);
        let (Some(start), Some(pages), Some(high), None) = (it.next(), it.next(), it.next(), it.next()) else {
            return;
        };
        let (Ok(start), Ok(pages), Ok(high)) = (start.parse::<i64>(), pages.parse::<u32>(), high.parse::<u32>()) else {
            return;
        };
        if now_ms >= start && now_ms < start.saturating_add(self.window_ms()) {
            (self.start_ms, self.pages, self.high) = (start, pages, high);
        }
    }

    /// Pages sent in the window that contains `now_ms` (budget and high lane).
    pub fn used(&self, now_ms: i64) -> u32 {
        let w = self.window_ms();
        if self.start_ms != i64::MIN && now_ms >= self.start_ms && now_ms < self.start_ms + w {
            self.pages + self.high
        } else {
            0
        }
    }
}

/// The summary of one team's held alerts in one window (the payload of a `summary` job).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StormSummary {
    /// The route (team) it pages; none = the tenant's own team.
    #[serde(default)]
    pub route: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Held alerts by title.
    pub titles: BTreeMap<String, u64>,
    /// The external ids of the held pages (bounded: the first [`MAX_LISTED`]).
    #[serde(default)]
    pub held: Vec<String>,
    pub count: u64,
    /// Set for a quiet-hours digest: the window's description ("quiet hours 22:00-06:00 …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<String>,
}

/// How many held external ids a summary keeps (the count is always exact).
pub const MAX_LISTED: usize = 200;

/// The job key of a team's summary for a window.
pub fn summary_key(route: &str, start_ms: i64) -> String {
    format!("summary:{route}:{start_ms}")
}

/// The title without its `[Severity] ` prefix.
fn plain_title(title: &str) -> &str {
    match title.strip_prefix('[').and_then(|t| t.split_once("] ")) {
        Some((_, rest)) => rest,
        None => title,
    }
}

impl StormSummary {
    /// The summary of one held page to `route` in the window `start_ms..end_ms` (`quiet`: the
    /// quiet window's description, for a digest); summaries of the same window merge ([`merge`]).
    pub fn of_one(
        route: &str,
        (start_ms, end_ms): (i64, i64),
        quiet: Option<&str>,
        title: &str,
        external_id: &str,
    ) -> StormSummary {
        let mut s = StormSummary {
            route: (route != crate::route::DEFAULT_ROUTE).then(|| route.to_string()),
            start_ms,
            end_ms,
            count: 1,
            quiet: quiet.map(str::to_string),
            ..Default::default()
        };
        s.titles.insert(plain_title(title).to_string(), 1);
        s.held.push(external_id.to_string());
        s
    }
}

/// Coalesces two summaries of the same window: counts add up.
pub fn merge(old: &str, new: &str) -> String {
    let (Ok(mut a), Ok(b)) = (serde_json::from_str::<StormSummary>(old), serde_json::from_str::<StormSummary>(new))
    else {
        return new.to_string();
    };
    a.count += b.count;
    a.start_ms = a.start_ms.min(b.start_ms);
    for (t, n) in b.titles {
        *a.titles.entry(t).or_insert(0) += n;
    }
    for e in b.held {
        if a.held.len() < MAX_LISTED && !a.held.contains(&e) {
            a.held.push(e);
        }
    }
    serde_json::to_string(&a).unwrap_or_else(|_| old.to_string())
}

fn minutes(ms: i64) -> String {
    if ms < 60_000 {
        return format!("{} s", (ms / 1000).max(1));
    }
    format!("{} min", ms / 60_000)
}

/// The summary page: "37 more alerts in the last 5 min: 30 × Suspicious sign-in, 7 × …; see
/// the portal". One per team and window; its external id names the window (the route goes
/// with the page: [`crate::jobs::summary::page_of`]).
pub fn summary_page(tenant: &str, s: &StormSummary, opts: &Signl4Options) -> Map<String, Value> {
    let route = s.route.as_deref().unwrap_or(crate::route::DEFAULT_ROUTE);
    let mut by_count: Vec<(&String, &u64)> = s.titles.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = by_count.iter().take(5).map(|(t, n)| format!("{n} × {t}")).collect();
    let more = if by_count.len() > 5 { ", …" } else { "" };
    let noun = if s.count == 1 { "alert" } else { "alerts" };
    let (external_id, title, message) = match &s.quiet {
        Some(label) => (
            format!("s4s:{tenant}:quiet-digest:{route}@{}", s.end_ms),
            format!("[Quiet hours] {} {noun} held during {label}", s.count),
            format!(
                "{} {noun} arrived during {label} and were not paged: {}{more}; see the portal.",
                s.count,
                shown.join(", ")
            ),
        ),
        None => storm_text(tenant, route, s, noun, &shown, more, opts),
    };
    page_body(external_id, title, message, s, opts)
}

fn storm_text(
    tenant: &str,
    route: &str,
    s: &StormSummary,
    noun: &str,
    shown: &[String],
    more: &str,
    opts: &Signl4Options,
) -> (String, String, String) {
    let external_id = format!("s4s:{tenant}:storm-summary:{route}@{}", s.start_ms);
    let window = minutes(s.end_ms - s.start_ms);
    let message = format!(
        "{} more {noun} in the last {window}: {}{more}; see the portal. These alerts were held back by the storm budget \
         ({} pages per {window}) and did not page one by one.",
        s.count,
        shown.join(", "),
        opts.storm.budget,
    );
    (external_id, format!("[Storm] {} more {noun} in the last {window}", s.count), message)
}

fn page_body(
    external_id: String,
    title: String,
    message: String,
    s: &StormSummary,
    opts: &Signl4Options,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("X-S4-ExternalID".into(), Value::from(external_id));
    m.insert("X-S4-Status".into(), Value::from("new"));
    m.insert("Title".into(), Value::from(title));
    m.insert("Message".into(), Value::from(crate::text::truncate(&message, 2000)));
    m.insert("X-S4-SourceSystem".into(), Value::from(opts.source_system.clone()));
    if let Some(svc) = &opts.service {
        m.insert("X-S4-Service".into(), Value::from(svc.clone()));
    }
    m.insert("Held alerts".into(), Value::from(s.count.to_string()));
    m.insert("Window start".into(), Value::from(crate::timefmt::odata(crate::timefmt::from_millis(s.start_ms))));
    m.insert("Window end".into(), Value::from(crate::timefmt::odata(crate::timefmt::from_millis(s.end_ms))));
    m
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn policy(budget: u32, high_lane: u32) -> StormPolicy {
        StormPolicy { budget, window: Duration::from_secs(300), high_lane, high_severity: Severity::High }
    }

    #[test]
    fn a_restored_window_goes_on_counting_and_an_ended_one_starts_afresh() {
        let low = Severity::parse("low");
        let t0 = 1_800_000_000_000;
        let mut before = StormBudget::new(policy(3, 0));
        assert_eq!(before.state(), None);
        before.admit(t0, &low);
        before.admit(t0 + 1, &low);
        let saved = before.state().unwrap();
        assert_eq!(saved, format!("{t0},2,0"));
        // Restarted within the window: one page left, then held in the same window.
        let mut after = StormBudget::new(policy(3, 0));
        after.restore(&saved, t0 + 60_000);
        assert_eq!(after.admit(t0 + 60_001, &low), Admit::Page);
        assert_eq!(after.admit(t0 + 60_002, &low), Admit::Hold { start_ms: t0, end_ms: t0 + 300_000 });
        // Restarted after the window: a new one.
        let mut later = StormBudget::new(policy(3, 0));
        later.restore(&saved, t0 + 300_000);
        assert_eq!(later.used(t0 + 300_000), 0);
        // Junk, or a clock set back, changes nothing.
        for junk in ["", "1,2", "a,b,c", "1,2,3,4", &format!("{},1,0", t0 + 10)] {
            let mut b = StormBudget::new(policy(3, 0));
            b.restore(junk, t0);
            assert_eq!(b.state(), None, "{junk:?}");
        }
    }

    #[test]
    fn budget_then_hold_then_a_new_window() {
        let mut b = StormBudget::new(policy(3, 1));
        let t0 = 1_800_000_000_123;
        let low = Severity::parse("low");
        let high = Severity::parse("high");
        assert_eq!(b.admit(t0, &low), Admit::Page);
        assert_eq!(b.admit(t0 + 1, &low), Admit::Page);
        assert_eq!(b.admit(t0 + 2, &high), Admit::Page);
        let hold = Admit::Hold { start_ms: t0, end_ms: t0 + 300_000 };
        assert_eq!(b.admit(t0 + 3, &low), hold);
        assert_eq!(b.admit(t0 + 4, &high), Admit::HighLane, "high severity has its own lane");
        assert_eq!(b.admit(t0 + 5, &high), hold, "the lane has a cap of its own");
        assert_eq!(b.used(t0 + 5), 4);
        assert_eq!(b.admit(t0 + 300_000, &low), Admit::Page, "the next window starts afresh");
        assert_eq!(b.used(t0 + 300_001), 1);
        assert_eq!(b.admit(t0 + 300_002, &low), Admit::Page);
        assert_eq!(b.admit(t0 + 300_003, &low), Admit::Page);
        assert_eq!(
            b.admit(t0 + 300_004, &low),
            Admit::Hold { start_ms: t0 + 300_000, end_ms: t0 + 600_000 },
            "a window starts with its first page"
        );
    }

    #[test]
    fn no_budget_pages_everything() {
        let mut b = StormBudget::new(policy(0, 0));
        for i in 0..1000 {
            assert_eq!(b.admit(i, &Severity::parse("low")), Admit::Page);
        }
    }

    #[test]
    fn summaries_coalesce_and_read_well() {
        let a = crate::jobs::summary::summary_job(
            "t",
            "default",
            (0, 300_000),
            "[Medium] Suspicious sign-in",
            "s4s:t:graph-alert:1",
        );
        let mut payload = a.payload.clone();
        for (i, title) in
            ["[Medium] Suspicious sign-in", "[Low] Mass download", "[Medium] Suspicious sign-in"].iter().enumerate()
        {
            let j = crate::jobs::summary::summary_job(
                "t",
                "default",
                (0, 300_000),
                title,
                &format!("s4s:t:graph-alert:{}", i + 2),
            );
            assert_eq!(j.key, a.key);
            payload = merge(&payload, &j.payload);
        }
        let s: StormSummary = serde_json::from_str(&payload).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.titles["Suspicious sign-in"], 3);
        assert_eq!(s.held.len(), 4);
        let opts = crate::signl4::payload::test_options();
        let page = summary_page("t", &s, &opts);
        assert_eq!(page["Title"], "[Storm] 4 more alerts in the last 5 min");
        let msg = page["Message"].as_str().unwrap();
        assert!(
            msg.starts_with(
                "4 more alerts in the last 5 min: 3 × Suspicious sign-in, 1 × Mass download; see the portal"
            ),
            "{msg}"
        );
        assert_eq!(page["X-S4-ExternalID"], "s4s:t:storm-summary:default@0");
        assert!(!page.contains_key("__s4s_route"));
    }
}
