//! Request budgets: how many requests one tenant may send to one upstream, and when.
//!
//! Pure decision logic on plain millisecond timestamps; the connector's request scheduler
//! (`clients/scheduler.rs`) wraps one [`Budget`] per tenant and upstream in a mutex and sleeps
//! on the waits it returns. A budget combines:
//!
//! - the documented limits as sliding windows (Graph 150 requests per 60 s per app and tenant,
//!   `microsoft-apis.md` §2.8; SIGNL4 150 per 15 s, 600 per minute, 36,000 per hour and 864,000
//!   per day on commercial plans, `signl4.md` §1.7; Log Analytics 200 per 30 s, §4.4) or token
//!   buckets (ARM, §3.6), of which only a share is used (default 80 %);
//! - a hold: after a `429` (or an exhausted `X-RateLimit-Remaining`) nothing is sent until the
//!   server's `Retry-After` / reset has passed, by any caller;
//! - priorities: polling may use the whole share, write-backs of responder actions 90 % of it,
//!   housekeeping 70 %, so housekeeping yields first when the budget is tight.
//!
//! Windows are counted in 60 slots each (bounded memory at any rate); a slot is counted until
//! its end leaves the window, so the count never undercounts the server's sliding window.

use std::collections::VecDeque;
use std::time::Duration;

/// The longest a token bucket makes a caller wait for one token (a bucket emptied by a
/// server's report refills within this at any documented rate).
const MAX_BUCKET_WAIT_MS: u64 = 300_000;

/// Who is asking. Lower values go first when the budget is tight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Reading new alerts and incidents, and sending pages.
    Poll,
    /// Writing a responder's acknowledgement, note or close back.
    WriteBack,
    /// Incident tags, roll-ups, incident sweeps, enrichment comments.
    Housekeeping,
}

impl Priority {
    /// The part of the budget's share this priority may fill.
    pub fn ceiling(self) -> f64 {
        match self {
            Priority::Poll => 1.0,
            Priority::WriteBack => 0.9,
            Priority::Housekeeping => 0.7,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Poll => "poll",
            Priority::WriteBack => "write-back",
            Priority::Housekeeping => "housekeeping",
        }
    }
}

/// Which SIGNL4 limits apply (`signl4.md` §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signl4Plan {
    /// 150 events per 15 s, 600 per minute, 36,000 per hour, 864,000 per day.
    Commercial,
    /// 10 per 15 s, 240 per minute, 1,200 per hour, 4,800 per day.
    Free,
    /// No local pacing (a SIGNL4 that does not limit, such as the emulator in benchmarks);
    /// `429`s are still honoured.
    Unlimited,
}

/// A documented sliding-window limit: `limit` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub limit: u32,
    pub period: Duration,
    /// Our own smoothing window, not a documented limit: it spreads requests but does not
    /// count as "budget use" for adaptive polling.
    pub smoothing: bool,
}

impl Limit {
    pub const fn new(limit: u32, secs: u64) -> Limit {
        Limit { limit, period: Duration::from_secs(secs), smoothing: false }
    }

    pub const fn smoothing(limit: u32, secs: u64) -> Limit {
        Limit { limit, period: Duration::from_secs(secs), smoothing: true }
    }
}

/// A documented token bucket (ARM): `size` tokens, refilled at `refill_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketLimit {
    pub size: f64,
    pub refill_per_sec: f64,
}

/// The limits of one upstream and the share of them this connector uses.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSpec {
    pub windows: Vec<Limit>,
    pub bucket: Option<BucketLimit>,
    /// Share of every limit this connector may use (0 < share ≤ 1).
    pub share: f64,
}

impl BudgetSpec {
    /// Graph security API: 150 requests per minute per app and tenant (§2.8).
    pub fn graph(share: f64) -> BudgetSpec {
        BudgetSpec::per_minute(150, share)
    }

    /// `per_minute` requests per sliding minute, smoothed: at most a quarter of them in any
    /// 10 s (a restarted process, which does not know what its predecessor sent in the last
    /// minute, cannot burst the whole minute's budget at once).
    pub fn per_minute(per_minute: u32, share: f64) -> BudgetSpec {
        let burst = per_minute.div_ceil(4).max(1);
        BudgetSpec { windows: vec![Limit::new(per_minute, 60), Limit::smoothing(burst, 10)], bucket: None, share }
    }

    /// ARM reads: a bucket of 250 refilled at 25 per second per subscription and principal
    /// (§3.6). Writes have a smaller bucket (200 / 10 per s); the scheduler uses the smaller.
    pub fn arm(share: f64) -> BudgetSpec {
        BudgetSpec { windows: Vec::new(), bucket: Some(BucketLimit { size: 200.0, refill_per_sec: 10.0 }), share }
    }

    /// Log Analytics query API: 200 requests per 30 s per principal (§4.4).
    pub fn log_analytics(share: f64) -> BudgetSpec {
        BudgetSpec { windows: vec![Limit::new(200, 30)], bucket: None, share }
    }

    /// Logs Ingestion API per data collection rule (§5.2): 12,000 requests per minute (older
    /// documents: 6,000 — the smaller is used, as the notes leave it open).
    pub fn logs_ingestion(share: f64) -> BudgetSpec {
        BudgetSpec::per_minute(6_000, share)
    }

    /// SIGNL4 inbound events (webhook) per account (`signl4.md` §1.7).
    pub fn signl4_events(plan: Signl4Plan, share: f64) -> BudgetSpec {
        let windows = match plan {
            Signl4Plan::Free => {
                vec![Limit::new(10, 15), Limit::new(240, 60), Limit::new(1_200, 3_600), Limit::new(4_800, 86_400)]
            }
            Signl4Plan::Commercial => {
                vec![Limit::new(150, 15), Limit::new(600, 60), Limit::new(36_000, 3_600), Limit::new(864_000, 86_400)]
            }
            Signl4Plan::Unlimited => return BudgetSpec::unlimited(),
        };
        BudgetSpec { windows, bucket: None, share }
    }

    /// SIGNL4 REST endpoints other than events (§1.7).
    pub fn signl4_rest(plan: Signl4Plan, share: f64) -> BudgetSpec {
        let windows = match plan {
            Signl4Plan::Free => vec![Limit::new(10, 15), Limit::new(1_200, 3_600)],
            Signl4Plan::Commercial => vec![Limit::new(150, 15), Limit::new(36_000, 3_600)],
            Signl4Plan::Unlimited => return BudgetSpec::unlimited(),
        };
        BudgetSpec { windows, bucket: None, share }
    }

    /// Nothing limited locally (holds after a `429` still apply).
    pub fn unlimited() -> BudgetSpec {
        BudgetSpec { windows: Vec::new(), bucket: None, share: 1.0 }
    }
}

const SLOTS: u64 = 60;

#[derive(Debug, Clone)]
struct Window {
    limit: Limit,
    slot_ms: u64,
    /// (slot index, requests), oldest first.
    slots: VecDeque<(u64, u32)>,
}

impl Window {
    fn new(limit: Limit) -> Window {
        let period = limit.period.as_millis() as u64;
        Window { limit, slot_ms: (period / SLOTS).max(1), slots: VecDeque::new() }
    }

    fn period_ms(&self) -> u64 {
        self.limit.period.as_millis() as u64
    }

    fn expire(&mut self, now: u64) {
        let start = now.saturating_sub(self.period_ms());
        while let Some(&(idx, _)) = self.slots.front() {
            if (idx + 1) * self.slot_ms <= start {
                self.slots.pop_front();
            } else {
                break;
            }
        }
    }

    fn count(&self) -> u32 {
        self.slots.iter().map(|s| s.1).sum()
    }

    /// Requests allowed in the window for `ceiling` of `share`.
    fn cap(&self, share: f64, ceiling: f64) -> u32 {
        ((self.limit.limit as f64 * share * ceiling).floor() as u32).max(1)
    }

    /// 0 when one more request fits under `cap`, else the wait until it does.
    fn wait(&self, now: u64, cap: u32) -> u64 {
        let count = self.count();
        if count < cap {
            return 0;
        }
        let mut to_drop = count - cap + 1;
        for &(idx, n) in &self.slots {
            if n >= to_drop {
                return ((idx + 1) * self.slot_ms + self.period_ms()).saturating_sub(now).max(1);
            }
            to_drop -= n;
        }
        self.period_ms()
    }

    fn record(&mut self, now: u64) {
        let idx = now / self.slot_ms;
        match self.slots.back_mut() {
            Some((i, n)) if *i == idx => *n += 1,
            _ => self.slots.push_back((idx, 1)),
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    limit: BucketLimit,
    level: f64,
    at: u64,
}

impl Bucket {
    fn refill(&mut self, now: u64, share: f64) {
        let size = self.limit.size * share;
        let dt = now.saturating_sub(self.at) as f64 / 1000.0;
        self.level = (self.level + dt * self.limit.refill_per_sec * share).min(size);
        self.at = now.max(self.at);
    }

    /// 0 when a token is there above the reserve of `ceiling`, else the wait for it.
    fn wait(&self, share: f64, ceiling: f64) -> u64 {
        let reserve = self.limit.size * share * (1.0 - ceiling);
        let need = reserve + 1.0 - self.level;
        if need <= 0.0 {
            return 0;
        }
        let ms = ((need / (self.limit.refill_per_sec * share).max(1e-9)) * 1000.0).ceil();
        // Bounded whatever the level (the cast saturates; NaN would be 0).
        if ms.is_finite() { (ms as u64).clamp(1, MAX_BUCKET_WAIT_MS) } else { MAX_BUCKET_WAIT_MS }
    }
}

/// The budget of one tenant at one upstream.
#[derive(Debug, Clone)]
pub struct Budget {
    share: f64,
    windows: Vec<Window>,
    bucket: Option<Bucket>,
    held_until: u64,
    /// Consecutive `429`s without a `Retry-After`, for the fallback hold.
    unexplained: u32,
    sent: u64,
}

impl Budget {
    pub fn new(spec: &BudgetSpec, now: u64) -> Budget {
        let share = if spec.share.is_finite() { spec.share.clamp(0.01, 1.0) } else { 0.8 };
        Budget {
            share,
            windows: spec.windows.iter().map(|l| Window::new(*l)).collect(),
            bucket: spec.bucket.map(|b| Bucket { limit: b, level: b.size * share, at: now }),
            held_until: 0,
            unexplained: 0,
            sent: 0,
        }
    }

    /// How long `priority` must wait before one more request (0: now). Does not take it.
    pub fn wait(&mut self, now: u64, priority: Priority) -> u64 {
        let ceiling = priority.ceiling();
        let mut wait = self.held_until.saturating_sub(now);
        for w in &mut self.windows {
            w.expire(now);
            wait = wait.max(w.wait(now, w.cap(self.share, ceiling)));
        }
        if let Some(b) = &mut self.bucket {
            b.refill(now, self.share);
            wait = wait.max(b.wait(self.share, ceiling));
        }
        wait
    }

    /// Takes one request if `priority` may send now; else returns the wait.
    pub fn try_take(&mut self, now: u64, priority: Priority) -> Result<(), u64> {
        match self.wait(now, priority) {
            0 => {
                for w in &mut self.windows {
                    w.record(now);
                }
                if let Some(b) = &mut self.bucket {
                    b.level -= 1.0;
                }
                self.sent += 1;
                Ok(())
            }
            wait => Err(wait),
        }
    }

    /// The server said to wait `wait` from `now` (a `Retry-After`, a rate-limit reset): nobody
    /// sends before then. Never more than [`crate::retry::MAX_HOLD`] from now, whatever the
    /// server said (the header parser caps too; this is the budget's own bound).
    pub fn hold_for(&mut self, now: u64, wait: Duration) {
        let ms = wait.min(crate::retry::MAX_HOLD).as_millis() as u64;
        self.held_until = self.held_until.max(now.saturating_add(ms));
        self.unexplained = 0;
    }

    /// A `429` without any hint: hold for 1 s, doubling with every such `429` in a row up
    /// to 60 s. Returns the hold.
    pub fn throttled_without_hint(&mut self, now: u64) -> u64 {
        let hold = (1000u64 << self.unexplained.min(6)).min(60_000);
        self.unexplained += 1;
        self.held_until = self.held_until.max(now + hold);
        hold
    }

    /// A request succeeded: the fallback hold starts again from 1 s.
    pub fn succeeded(&mut self) {
        self.unexplained = 0;
    }

    /// The server reports how many requests it still allows (`x-ms-ratelimit-remaining-*`):
    /// never believe we have more than that, minus the share kept free.
    pub fn server_remaining(&mut self, now: u64, remaining: f64) {
        // Garbage (NaN, infinite, negative, absurd) says nothing: ignored. An infinitely
        // negative level would otherwise never refill.
        if !remaining.is_finite() || !(0.0..=crate::retry::MAX_COUNT).contains(&remaining) {
            return;
        }
        if let Some(b) = &mut self.bucket {
            b.refill(now, self.share);
            let kept_free = b.limit.size * (1.0 - self.share);
            b.level = b.level.min(remaining - kept_free);
        }
    }

    /// The server reports its window (`X-RateLimit-Limit` / `-Remaining`, reset in
    /// `reset_in_ms`, `signl4.md` §1.7). Our window with that limit counts at least what the
    /// server counted (`limit - remaining`): this is how a restarted process learns what its
    /// predecessor sent, and the share then applies to the true use. Nothing remaining at all
    /// holds until the reset.
    pub fn server_window(&mut self, now: u64, limit: f64, remaining: f64, reset_in: Duration) {
        let count = |n: f64| n.is_finite() && (0.0..=crate::retry::MAX_COUNT).contains(&n);
        if !count(limit) || !count(remaining) {
            return;
        }
        if remaining <= 0.0 {
            let ms = reset_in.min(crate::retry::MAX_HOLD).as_millis() as u64;
            self.held_until = self.held_until.max(now.saturating_add(ms));
            return;
        }
        let used = (limit - remaining).max(0.0) as u32;
        if let Some(w) = self.windows.iter_mut().find(|w| !w.limit.smoothing && w.limit.limit as f64 == limit) {
            w.expire(now);
            let count = w.count();
            if used > count {
                for _ in count..used {
                    w.record(now);
                }
            }
        }
    }

    /// Until when every request is held (0 or past: not held).
    pub fn held_until_ms(&self) -> u64 {
        self.held_until
    }

    /// The fullest documented window's (or the bucket's) use of the share, 0.0 – 1.0 and
    /// above (smoothing windows do not count).
    pub fn usage(&mut self, now: u64) -> f64 {
        let mut u: f64 = 0.0;
        for w in self.windows.iter_mut().filter(|w| !w.limit.smoothing) {
            w.expire(now);
            let cap = (w.limit.limit as f64 * self.share).max(1.0);
            u = u.max(w.count() as f64 / cap);
        }
        if let Some(b) = &mut self.bucket {
            b.refill(now, self.share);
            let size = b.limit.size * self.share;
            u = u.max(1.0 - b.level / size.max(1.0));
        }
        u
    }

    /// Requests taken since the budget was made.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

/// The poll interval an adaptive poller uses next: `fastest` while the budget has room for
/// polling, doubling towards `slowest` as polls and write-backs fill it, and `slowest` while
/// the upstream holds us off. Housekeeping alone never slows polling: it may fill at most 70 %
/// of the share ([`Priority::ceiling`]) and yields to polls anyway; only use above 85 % — where
/// write-backs or polls themselves compete — backs polling off.
pub fn adaptive_interval(fastest: Duration, slowest: Duration, usage: f64, held: bool) -> Duration {
    let slowest = slowest.max(fastest);
    if held {
        return slowest;
    }
    // Up to 85 % of the share: full speed. Each further 5 % doubles the interval.
    let steps = ((usage - 0.85) / 0.05).ceil().clamp(0.0, 16.0) as u32;
    fastest.saturating_mul(1u32 << steps).min(slowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take_all(b: &mut Budget, now: u64, p: Priority) -> u32 {
        let mut n = 0;
        while b.try_take(now, p).is_ok() {
            n += 1;
        }
        n
    }

    #[test]
    fn graph_budget_uses_the_share_and_frees_up_when_the_window_slides() {
        let mut b = Budget::new(&BudgetSpec::graph(0.8), 0);
        // Smoothed: 30 of 38 per 10 s at 80 %.
        assert_eq!(take_all(&mut b, 0, Priority::Poll), 30);
        let wait = b.try_take(0, Priority::Poll).unwrap_err();
        assert!(wait > 9_000 && wait <= 11_000, "{wait}");
        // Sending as fast as allowed for a minute: 120 (80 % of 150), then the minute window.
        let mut now = 0;
        let mut sent = 30;
        while now < 60_000 {
            match b.try_take(now, Priority::Poll) {
                Ok(()) => sent += 1,
                Err(w) => now += w,
            }
            if sent == 120 {
                break;
            }
        }
        assert_eq!(sent, 120);
        assert!(now < 60_000, "{now}");
        let wait = b.try_take(now, Priority::Poll).unwrap_err();
        assert!(now + wait >= 60_000, "{now} + {wait}");
    }

    #[test]
    fn housekeeping_yields_before_write_backs_before_polling() {
        let spec = BudgetSpec { windows: vec![Limit::new(150, 60)], bucket: None, share: 0.8 };
        let mut b = Budget::new(&spec, 0);
        assert_eq!(take_all(&mut b, 0, Priority::Housekeeping), 84);
        assert_eq!(take_all(&mut b, 0, Priority::WriteBack), 108 - 84);
        assert_eq!(take_all(&mut b, 0, Priority::Poll), 120 - 108);
    }

    #[test]
    fn a_hold_stops_every_priority_until_it_ends() {
        let mut b = Budget::new(&BudgetSpec::graph(0.8), 0);
        b.hold_for(0, Duration::from_millis(2_128));
        for p in [Priority::Poll, Priority::WriteBack, Priority::Housekeeping] {
            assert_eq!(b.try_take(1_000, p), Err(1_128));
        }
        assert!(b.try_take(2_128, Priority::Poll).is_ok());
        // A shorter hint never shortens a longer hold.
        b.hold_for(0, Duration::from_millis(10_000));
        b.hold_for(0, Duration::from_millis(5_000));
        assert_eq!(b.wait(4_000, Priority::Poll), 6_000);
    }

    #[test]
    fn unexplained_429s_back_off_exponentially_and_reset_on_success() {
        let mut b = Budget::new(&BudgetSpec::unlimited(), 0);
        assert_eq!(b.throttled_without_hint(0), 1_000);
        assert_eq!(b.throttled_without_hint(1_000), 2_000);
        assert_eq!(b.throttled_without_hint(3_000), 4_000);
        b.succeeded();
        assert_eq!(b.throttled_without_hint(10_000), 1_000);
        for i in 0..20 {
            b.throttled_without_hint(i);
        }
        assert_eq!(b.throttled_without_hint(100_000), 60_000);
    }

    #[test]
    fn signl4_commercial_pacing_never_exceeds_any_window() {
        // Send as fast as allowed for 5 minutes, then check every window like SIGNL4 would.
        let mut b = Budget::new(&BudgetSpec::signl4_events(Signl4Plan::Commercial, 0.8), 0);
        let mut sent = Vec::new();
        let mut now = 0u64;
        while now < 300_000 {
            match b.try_take(now, Priority::Poll) {
                Ok(()) => sent.push(now),
                Err(w) => now += w,
            }
        }
        for (limit, period) in [(150, 15_000u64), (600, 60_000)] {
            let mut lo = 0;
            for hi in 0..sent.len() {
                while sent[hi] - sent[lo] >= period {
                    lo += 1;
                }
                assert!(hi - lo < limit, "{} in {period} ms", hi - lo + 1);
            }
        }
        // ≈ 80 % of 600/min over 5 minutes.
        assert!(sent.len() >= 2_300 && sent.len() <= 2_400, "{}", sent.len());
    }

    #[test]
    fn free_plan_is_much_tighter() {
        let mut b = Budget::new(&BudgetSpec::signl4_events(Signl4Plan::Free, 0.8), 0);
        assert_eq!(take_all(&mut b, 0, Priority::Poll), 8);
    }

    #[test]
    fn arm_bucket_refills_and_believes_the_server() {
        let mut b = Budget::new(&BudgetSpec::arm(0.8), 0);
        assert_eq!(take_all(&mut b, 0, Priority::Poll), 160);
        // Refill 8 per second at 80 %.
        let w = b.try_take(0, Priority::Poll).unwrap_err();
        assert!(w > 100 && w <= 130, "{w}");
        assert_eq!(take_all(&mut b, 1_000, Priority::Poll), 8);
        let mut b = Budget::new(&BudgetSpec::arm(0.8), 0);
        b.server_remaining(0, 45.0);
        // 45 remaining, 40 kept free → 5.
        assert_eq!(take_all(&mut b, 0, Priority::Poll), 5);
    }

    #[test]
    fn the_servers_count_teaches_a_restarted_process_and_exhaustion_holds_until_the_reset() {
        // A fresh process; the server says 110 of its 150 per 15 s are used (by a predecessor).
        let mut b = Budget::new(&BudgetSpec::signl4_events(Signl4Plan::Commercial, 0.8), 0);
        b.server_window(0, 150.0, 40.0, Duration::from_millis(4_000));
        assert_eq!(take_all(&mut b, 0, Priority::Poll), 10, "120 (80 %) minus the 110 already used");
        // In step with our own count, the server's report changes nothing.
        let mut b = Budget::new(&BudgetSpec::signl4_events(Signl4Plan::Commercial, 0.8), 0);
        assert_eq!(take_all(&mut b, 0, Priority::Poll), 120);
        b.server_window(0, 150.0, 30.0, Duration::from_millis(4_000));
        assert!(b.held_until_ms() == 0);
        // Nothing left: hold until the reset.
        b.server_window(0, 150.0, 0.0, Duration::from_millis(4_000));
        assert_eq!(b.held_until_ms(), 4_000);
    }

    #[test]
    fn absurd_server_reports_neither_stall_nor_panic() {
        let mut b = Budget::new(&BudgetSpec::arm(0.8), 0);
        for r in [f64::NAN, f64::NEG_INFINITY, f64::INFINITY, -1e300, 1e300] {
            b.server_remaining(0, r);
        }
        assert_eq!(b.wait(0, Priority::Poll), 0, "garbage counts are ignored");
        let mut b = Budget::new(&BudgetSpec::signl4_events(Signl4Plan::Commercial, 0.8), 0);
        for (l, r) in [(f64::NAN, 0.0), (150.0, f64::NAN), (1e300, 0.0), (150.0, -5.0), (f64::INFINITY, f64::INFINITY)]
        {
            b.server_window(0, l, r, Duration::MAX);
        }
        assert_eq!(b.held_until_ms(), 0);
        b.server_window(0, 150.0, 0.0, Duration::MAX);
        b.hold_for(0, Duration::MAX);
        assert_eq!(b.held_until_ms(), crate::retry::MAX_HOLD.as_millis() as u64, "never longer than the cap");
        b.hold_for(u64::MAX - 1, Duration::from_secs(1));
        assert_eq!(b.held_until_ms(), u64::MAX);
    }

    #[test]
    fn usage_reports_the_fullest_window() {
        let spec = BudgetSpec { windows: vec![Limit::new(150, 60)], bucket: None, share: 0.8 };
        let mut b = Budget::new(&spec, 0);
        for _ in 0..60 {
            b.try_take(0, Priority::Poll).unwrap();
        }
        assert!((b.usage(0) - 0.5).abs() < 1e-9);
        assert_eq!(b.usage(120_000), 0.0);
    }

    #[test]
    fn adaptive_interval_speeds_up_when_idle_and_slows_under_load() {
        let (f, s) = (Duration::from_secs(2), Duration::from_secs(10));
        assert_eq!(adaptive_interval(f, s, 0.1, false), f);
        // Housekeeping filling its 70 % does not slow polling.
        assert_eq!(adaptive_interval(f, s, 0.75, false), f);
        assert_eq!(adaptive_interval(f, s, 0.85, false), f);
        assert_eq!(adaptive_interval(f, s, 0.88, false), f * 2);
        assert_eq!(adaptive_interval(f, s, 0.93, false), f * 4);
        assert_eq!(adaptive_interval(f, s, 1.0, false), s);
        assert_eq!(adaptive_interval(f, s, 0.0, true), s);
        // A fixed interval: fastest == slowest.
        assert_eq!(adaptive_interval(s, s, 0.0, false), s);
        assert_eq!(adaptive_interval(s, f, 0.0, false), s);
    }
}
