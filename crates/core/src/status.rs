//! The status page's words (pure): HTML escaping, times and durations, a page's SIGNL4 state
//! ("acknowledged by X after 3m"), job kinds, and upstream errors in plain words with the fix.
//!
//! The connector's `http/status.rs` renders the page from these; every text that came from
//! outside (titles, error messages, user names) goes through [`escape`] there.

use crate::config::{KEY_API_KEY, team_secret_key};
use crate::sync::Signl4State;

/// `text` safe inside HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration for people: `850 ms`, `42s`, `3m 20s`, `2h 5m`, `3d 4h`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let pair = |a: i64, ua: &str, b: i64, ub: &str| {
        if b == 0 { format!("{a}{ua}") } else { format!("{a}{ua} {b}{ub}") }
    };
    if d > 0 {
        pair(d, "d", h, "h")
    } else if h > 0 {
        pair(h, "h", m, "m")
    } else if m > 0 {
        pair(m, "m", s, "s")
    } else {
        format!("{s}s")
    }
}

/// How long ago `then_ms` was, seen at `now_ms`: `12s ago`, `just now` (under a second), or
/// `in 5s` for a time still ahead.
pub fn ago(then_ms: i64, now_ms: i64) -> String {
    let d = now_ms - then_ms;
    if d.abs() < 1000 {
        "just now".into()
    } else if d > 0 {
        format!("{} ago", duration(d))
    } else {
        format!("in {}", duration(-d))
    }
}

/// When something is due: `now` when `at_ms` has passed, else `in 5s`.
pub fn due(at_ms: i64, now_ms: i64) -> String {
    if at_ms <= now_ms { "now".into() } else { format!("in {}", duration(at_ms - now_ms)) }
}

/// A Unix time in milliseconds as `2026-12-03 07:40:12 UTC`.
pub fn utc(ms: i64) -> String {
    let t = crate::timefmt::from_millis(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Where a page's job stands (the outbox), before SIGNL4's state matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting or being sent.
    Queued,
    /// Parked: SIGNL4 rejected the team secret.
    Parked,
    /// SIGNL4 accepted it.
    Sent,
    /// A dead letter: not sent.
    Dead,
}

/// What the status page says about one page, as a short label (`new`, `acknowledged`, …,
/// also its CSS class) and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageState {
    pub label: &'static str,
    pub text: String,
}

/// A page's state in words: `acknowledged by rene@example.com after 3m 20s`, `new (nobody
/// has acknowledged yet)`, `closed`, … `ack_after_ms` is the time from SIGNL4 accepting the
/// page to its first acknowledgement.
pub fn page_state(
    delivery: Delivery,
    state: Signl4State,
    acknowledged_by: Option<&str>,
    ack_after_ms: Option<i64>,
) -> PageState {
    let by = || {
        let who = acknowledged_by.filter(|w| !w.trim().is_empty()).unwrap_or("a responder");
        match ack_after_ms {
            Some(ms) => format!("by {who} after {}", duration(ms)),
            None => format!("by {who}"),
        }
    };
    let (label, text) = match (delivery, state) {
        (Delivery::Dead, _) => ("dead", "not sent: a dead letter (see below)".to_string()),
        (Delivery::Parked, _) => ("parked", "not sent: parked until SIGNL4 accepts the team secret".to_string()),
        (Delivery::Queued, Signl4State::Held) | (Delivery::Sent, Signl4State::Held) => {
            ("held", "held back by the storm budget: counted into the window's summary page".to_string())
        }
        (Delivery::Queued, _) => ("queued", "queued: being sent to SIGNL4".to_string()),
        (Delivery::Sent, Signl4State::None | Signl4State::Open) => {
            ("new", "new: nobody has acknowledged it yet".to_string())
        }
        (Delivery::Sent, Signl4State::Acknowledged) => ("acknowledged", format!("acknowledged {}", by())),
        (Delivery::Sent, Signl4State::AcknowledgedByPortal) => {
            ("acknowledged", "acknowledged: set in progress in the portal".to_string())
        }
        (Delivery::Sent, Signl4State::Closed) => match acknowledged_by {
            Some(_) => ("closed", format!("closed (acknowledged {})", by())),
            None => ("closed", "closed in SIGNL4".to_string()),
        },
        (Delivery::Sent, Signl4State::ClosedByPortal) => ("closed", "closed: resolved in the portal".to_string()),
        (Delivery::Sent, Signl4State::Grouped) => ("grouped", "added to its incident's page".to_string()),
    };
    PageState { label, text }
}

/// A job kind in words (`page` → `pages to SIGNL4`); unknown kinds (a newer version's) as
/// they are stored.
pub fn kind_words(kind: &str) -> String {
    match crate::jobs::parse(kind) {
        Some(k) => k.description().to_string(),
        None => kind.to_string(),
    }
}

/// An upstream error in plain words: what happened, and what to do about it (if anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub what: String,
    pub fix: Option<String>,
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fix {
            Some(fix) => write!(f, "{}: {fix}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

/// The HTTP status of an error text `Service: HTTP 404: …` (`UpstreamError`'s display).
fn http_status(text: &str) -> Option<u16> {
    let (_, rest) = text.split_once("HTTP ")?;
    rest.get(..3)?.parse().ok()
}

/// An error text as the connector records it (`SIGNL4: HTTP 404: …`, `Graph: network error:
/// …`, an Entra `AADSTS…` instruction) in plain words with the fix. The text is expected to be
/// redacted already; only fixed words and the service name are added.
pub fn explain(error: &str) -> Explained {
    let e = error.trim();
    // The job runner's dead-letter prefixes (`jobs/runner.rs`): refused at once, or retried
    // until `delivery.dead_letter_after`.
    if let Some(rest) = e.strip_prefix("rejected: ") {
        return explain_upstream(rest);
    }
    // A route's own team (`jobs/runner.rs`: `route NAME: SIGNL4: HTTP 404: …`).
    if let Some((route, rest)) = e.strip_prefix("route ").and_then(|r| r.split_once(": "))
        && !route.contains(' ')
    {
        let inner = explain_upstream_for(rest, &team_secret_key(route));
        return Explained { what: format!("route {route}: {}", inner.what), ..inner };
    }
    if let Some((secs, rest)) = e.strip_prefix("gave up after ").and_then(|r| r.split_once("s: "))
        && let Ok(secs) = secs.parse::<i64>()
    {
        let inner = explain_upstream(rest);
        return Explained {
            what: format!("gave up after {} of retries: {}", duration(secs * 1000), inner.what),
            ..inner
        };
    }
    explain_upstream(e)
}

fn explain_upstream(e: &str) -> Explained {
    explain_upstream_for(e, &team_secret_key(crate::route::DEFAULT_ROUTE))
}

/// `team_secret`: the key of the team secret a SIGNL4 rejection is about (the tenant's own,
/// or a route's).
fn explain_upstream_for(e: &str, team_secret: &str) -> Explained {
    let service = e.split_once(':').map(|(s, _)| s.trim()).unwrap_or("");
    let status = http_status(e);
    let said = |what: &str, fix: Option<&str>| Explained { what: what.to_string(), fix: fix.map(str::to_string) };
    // SIGNL4 answers an unknown team secret with 404 (or 401/403), `signl4.md` §1.6.
    if service == "SIGNL4" && matches!(status, Some(401 | 403 | 404)) {
        let fix = format!(
            "check {team_secret} (the last part of the team's webhook URL in SIGNL4) and restart the service; its \
             pages are parked until then"
        );
        return said("SIGNL4 rejected the team secret", Some(&fix));
    }
    if service == "SIGNL4 API" && matches!(status, Some(401 | 403)) {
        return said(
            "SIGNL4 rejected the API key",
            Some(&format!("check {KEY_API_KEY} (SIGNL4 → Integrations → API) and restart the service")),
        );
    }
    if e.contains("AADSTS") || service == "Entra ID" {
        // The Entra adapter already turned the AADSTS code into an instruction: show it.
        return Explained { what: "Entra ID did not issue a token".into(), fix: Some(e.to_string()) };
    }
    if service == "Graph" && status == Some(403) {
        return said(
            "Microsoft Graph refused access",
            Some(
                "grant the app the SecurityAlert.ReadWrite.All and SecurityIncident.ReadWrite.All application \
                 permissions with admin consent",
            ),
        );
    }
    if service == "Azure Resource Manager" && status == Some(403) {
        return said(
            "Azure refused access to the Sentinel workspace",
            Some("give the app the Microsoft Sentinel Responder role on the workspace (or its resource group)"),
        );
    }
    if matches!(status, Some(401)) {
        return said(
            &format!("{service} rejected the access token"),
            Some("check the tenant's credential and that the app is registered in that tenant"),
        );
    }
    if status == Some(429) || e.contains("held by the request budget") {
        return said(
            &format!("{service} is throttling requests"),
            Some("nothing to do: the connector waits as the service asks and sends later"),
        );
    }
    if let Some(s @ 500..=599) = status {
        return Explained {
            what: format!("{service} had a server error (HTTP {s})"),
            fix: Some("nothing to do unless it persists: it is retried with backoff".into()),
        };
    }
    if e.contains("network error") {
        return said(
            &format!("{service} could not be reached"),
            Some("check DNS, proxy and firewall rules from this host to the service"),
        );
    }
    if let Some(s @ 400..=499) = status {
        return Explained {
            what: format!("{service} refused the request (HTTP {s}): it is not retried"),
            fix: Some("`signl4-sentinel jobs show KEY` shows the request; fix its cause, then redrive it".into()),
        };
    }
    if e.is_empty() {
        return said("no error recorded", None);
    }
    Explained { what: e.to_string(), fix: None }
}

/// At most `max` characters of `text` (on a character boundary), with `…` when cut: error
/// texts can hold a whole echoed request.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some(_) => format!("{}…", crate::text::prefix_chars(text, max).trim_end()),
        None => text.to_string(),
    }
}

/// The title of an alert or incident from its stored raw JSON (`title` of a Graph alert,
/// `properties.title` of a Sentinel incident) or a SIGNL4 body (`Title`).
pub fn title_of(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    [&v["title"], &v["properties"]["title"], &v["Title"]]
        .into_iter()
        .find_map(|t| t.as_str().filter(|t| !t.trim().is_empty()).map(str::to_string))
}

/// The status page's summary of the quarantine (items whose processing failed) from
/// `Inspection::quarantine_counts` (tenant, source, count): `None` when nothing is
/// quarantined, else e.g. `3 items quarantined (not paged): contoso 2 from graph-alert,
/// 1 from signl4-webhook — see signl4-sentinel jobs`. Plain text: the page escapes it.
pub fn quarantine_line(counts: &[(String, String, i64)]) -> Option<String> {
    let total: i64 = counts.iter().map(|(_, _, n)| (*n).max(0)).sum();
    if total == 0 {
        return None;
    }
    let mut tenants: Vec<String> = Vec::new();
    let mut last: Option<&str> = None;
    for (tenant, source, n) in counts.iter().filter(|(_, _, n)| *n > 0) {
        match (last, tenants.last_mut()) {
            (Some(t), Some(entry)) if t == tenant => entry.push_str(&format!(", {n} from {source}")),
            _ => tenants.push(format!("{tenant} {n} from {source}")),
        }
        last = Some(tenant);
    }
    let items = if total == 1 { "1 item quarantined".to_string() } else { format!("{total} items quarantined") };
    Some(format!(
        "{items} (not paged): {} — `signl4-sentinel jobs` lists them, `jobs retry --quarantined` re-runs them after an upgrade",
        tenants.join("; ")
    ))
}

/// One quarantined item in words for the status page (from `Inspection::quarantined(limit)`):
/// `contoso graph-alert da63…: internal error (panic): … (3 attempts, last 2m ago)`; the item
/// id and reason cut to a line. Plain text: the page escapes it (and redacts it).
pub fn quarantined_item(q: &crate::records::Quarantined, now_ms: i64) -> String {
    let attempts = if q.attempts == 1 { "1 attempt".to_string() } else { format!("{} attempts", q.attempts) };
    let retry = if q.retry { ", re-run requested" } else { "" };
    format!(
        "{} {} {}: {} ({attempts}, last {}{retry})",
        q.tenant,
        q.source,
        excerpt(&q.item_id, 60),
        excerpt(&q.reason, 160),
        ago(q.last_seen_ms, now_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quarantine_in_words() {
        assert_eq!(quarantine_line(&[]), None);
        assert_eq!(quarantine_line(&[("contoso".into(), "graph-alert".into(), 0)]), None);
        let counts = [
            ("contoso".to_string(), "graph-alert".to_string(), 2),
            ("contoso".to_string(), "signl4-webhook".to_string(), 1),
            ("fabrikam".to_string(), "sentinel.soc".to_string(), 1),
        ];
        let line = quarantine_line(&counts).unwrap();
        assert!(
            line.starts_with(
                "4 items quarantined (not paged): contoso 2 from graph-alert, 1 from signl4-webhook; fabrikam 1 from sentinel.soc"
            ),
            "{line}"
        );
        assert!(quarantine_line(&counts[2..]).unwrap().starts_with("1 item quarantined"));
        let q = crate::records::Quarantined {
            id: 1,
            tenant: "contoso".into(),
            source: "graph-alert".into(),
            item_id: "é".repeat(100),
            raw: "{}".into(),
            reason: "internal error (panic): byte index 5 is not a char boundary".into(),
            first_seen_ms: 0,
            last_seen_ms: 60_000,
            attempts: 3,
            retry: true,
        };
        let words = quarantined_item(&q, 180_000);
        assert!(words.starts_with("contoso graph-alert ééé"), "{words}");
        assert!(words.ends_with("not a char boundary (3 attempts, last 2m ago, re-run requested)"), "{words}");
    }

    #[test]
    fn everything_from_upstream_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(-5), "0 ms");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(42_000), "42s");
        assert_eq!(duration(200_000), "3m 20s");
        assert_eq!(duration(180_000), "3m");
        assert_eq!(duration(7_500_000), "2h 5m");
        assert_eq!(duration(3 * 86_400_000 + 4 * 3_600_000 + 59_000), "3d 4h");
        assert_eq!(ago(1_000, 13_500), "12s ago");
        assert_eq!(ago(10_000, 10_400), "just now");
        assert_eq!(ago(15_000, 10_000), "in 5s");
        assert_eq!(due(9_000, 10_000), "now");
        assert_eq!(due(12_000, 10_000), "in 2s");
        assert_eq!(utc(1_764_747_612_000), "2025-12-03 07:40:12 UTC");
    }

    #[test]
    fn a_page_says_who_acknowledged_it_and_after_how_long() {
        let s = page_state(Delivery::Sent, Signl4State::Acknowledged, Some("rene@example.com"), Some(200_000));
        assert_eq!((s.label, s.text.as_str()), ("acknowledged", "acknowledged by rene@example.com after 3m 20s"));
        let s = page_state(Delivery::Sent, Signl4State::Open, None, None);
        assert_eq!(s.label, "new");
        let s = page_state(Delivery::Sent, Signl4State::Closed, Some("jane"), Some(5_000));
        assert_eq!(s.text, "closed (acknowledged by jane after 5s)");
        assert_eq!(page_state(Delivery::Sent, Signl4State::Closed, None, None).text, "closed in SIGNL4");
        assert_eq!(
            page_state(Delivery::Sent, Signl4State::Acknowledged, None, None).text,
            "acknowledged by a responder"
        );
        assert_eq!(page_state(Delivery::Dead, Signl4State::Open, None, None).label, "dead");
        assert_eq!(page_state(Delivery::Queued, Signl4State::Open, None, None).label, "queued");
        assert_eq!(page_state(Delivery::Parked, Signl4State::Open, None, None).label, "parked");
        assert_eq!(page_state(Delivery::Sent, Signl4State::Held, None, None).label, "held");
        assert_eq!(page_state(Delivery::Sent, Signl4State::ClosedByPortal, None, None).label, "closed");
    }

    #[test]
    fn job_kinds_in_words() {
        assert_eq!(kind_words("page"), "pages to SIGNL4");
        assert_eq!(kind_words("graph-sync"), "write-backs to Graph alerts");
        assert_eq!(kind_words("from-the-future"), "from-the-future");
        for k in crate::jobs::ALL {
            assert_ne!(kind_words(k.as_str()), k.as_str(), "{k:?} has words");
        }
    }

    #[test]
    fn errors_come_with_their_fix() {
        let e = explain("SIGNL4: HTTP 404: team secret [redacted] not found");
        assert_eq!(e.what, "SIGNL4 rejected the team secret");
        assert!(e.to_string().starts_with("SIGNL4 rejected the team secret: check tenant.signl4.team_secret"), "{e}");
        let e = explain("route identity: SIGNL4: HTTP 404: team secret [redacted] not found");
        assert_eq!(e.what, "route identity: SIGNL4 rejected the team secret");
        assert!(
            e.fix.as_deref().unwrap().starts_with("check the team_secret of [[tenant.route]] name = \"identity\""),
            "{e}"
        );
        assert_eq!(explain("SIGNL4 API: HTTP 401: unauthorized").what, "SIGNL4 rejected the API key");
        let e = explain("Graph: HTTP 403: Forbidden");
        assert!(e.fix.unwrap().contains("SecurityAlert.ReadWrite.All"));
        let e = explain("Entra ID: HTTP 401: AADSTS7000215: invalid client secret: create a new secret …");
        assert_eq!(e.what, "Entra ID did not issue a token");
        assert!(e.fix.unwrap().contains("AADSTS7000215"));
        assert!(explain("Azure Resource Manager: HTTP 403: AuthorizationFailed").fix.unwrap().contains("Responder"));
        assert_eq!(explain("Graph: HTTP 429: slow down").what, "Graph is throttling requests");
        assert_eq!(explain("SIGNL4: HTTP 503: unavailable").what, "SIGNL4 had a server error (HTTP 503)");
        assert_eq!(explain("Graph: network error: connection refused").what, "Graph could not be reached");
        let e = explain("SIGNL4: HTTP 400: Bad Request");
        assert!(e.what.contains("refused the request (HTTP 400)") && e.fix.unwrap().contains("redrive"));
        // As the runner buries jobs.
        assert_eq!(explain("rejected: SIGNL4: HTTP 400: Bad Request").what, explain("SIGNL4: HTTP 400: x").what);
        let e = explain("gave up after 86400s: Graph: network error: connection refused");
        assert_eq!(e.what, "gave up after 1d of retries: Graph could not be reached");
        assert_eq!(explain("something odd").to_string(), "something odd");
        assert_eq!(explain("").what, "no error recorded");
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("äöü and more", 3), "äöü…");
        assert_eq!(excerpt("abc def", 4), "abc…");
    }

    #[test]
    fn titles_come_from_graph_sentinel_or_signl4_bodies() {
        assert_eq!(title_of(r#"{"title":"Malware found"}"#).as_deref(), Some("Malware found"));
        assert_eq!(title_of(r#"{"properties":{"title":"Brute force"}}"#).as_deref(), Some("Brute force"));
        assert_eq!(title_of(r#"{"Title":"[High] x"}"#).as_deref(), Some("[High] x"));
        assert_eq!(title_of(r#"{"title":""}"#), None);
        assert_eq!(title_of("not json"), None);
    }
}
