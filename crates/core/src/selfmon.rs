//! Self-monitoring (pure): what the connector observed about itself → the conditions that need
//! an admin (credentials rejected, an upstream failing for too long, dead letters, a SIGNL4
//! team secret rejected, the database unreachable, a secret or certificate about to expire),
//! which of them to raise and which to clear, and the SIGNL4 pages for the `[ops]` team (one
//! SIGNL4 alert per condition, closed by the same external id when it clears).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value, json};

/// What the connector knows about one tenant at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantObservation {
    pub tenant: String,
    /// Entra ID refused the tenant's credential (the instruction the token cache made of it).
    pub credential_error: Option<String>,
    /// Polling Microsoft has failed since this time (ms), with this error.
    pub failing_since_ms: Option<i64>,
    pub last_error: Option<String>,
    /// SIGNL4 rejected a team secret (pages parked), with the message.
    pub signl4_rejected: Option<String>,
    /// The SIGNL4 REST fallback has failed since this time (ms), with this error.
    pub signl4_api_failing_since_ms: Option<i64>,
    pub signl4_api_error: Option<String>,
    /// The credential's expiry: ("client secret" | "certificate", when in ms).
    pub credential_expiry: Option<(String, i64)>,
    /// Items of this tenant in quarantine (processing them failed), by source; empty when
    /// none or not known (the database is down).
    pub quarantined: Vec<(String, i64)>,
}

/// Everything one evaluation looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub now_ms: i64,
    pub tenants: Vec<TenantObservation>,
    /// The database did not answer (its error).
    pub storage_error: Option<String>,
    /// Dead-lettered jobs in the outbox (None: not known, e.g. the database is down).
    pub dead_letters: Option<i64>,
    /// Failed sign-ins to the status page in the last 10 minutes (the status page counts them).
    pub signin_failures: u64,
}

/// Failed sign-ins within 10 minutes that make a burst (someone guessing the admin token).
pub const SIGNIN_BURST: u64 = 20;

#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub failing_after: Duration,
    pub expiry_warning: Duration,
}

/// One condition that needs an admin. `key` is stable while the condition lasts (the SIGNL4
/// external id is derived from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub key: String,
    pub tenant: Option<String>,
    pub title: String,
    pub detail: String,
    pub fix: String,
}

fn minutes(ms: i64) -> String {
    let m = (ms / 60_000).max(1);
    if m < 120 { format!("{m} min") } else { format!("{} h", m / 60) }
}

/// The conditions present in `obs`.
pub fn conditions(obs: &Observation, th: Thresholds) -> Vec<Condition> {
    let mut out = Vec::new();
    let failing_ms = th.failing_after.as_millis() as i64;
    for t in &obs.tenants {
        let n = &t.tenant;
        let c = |kind: &str, title: String, detail: String, fix: &str| Condition {
            key: format!("{kind}:{n}"),
            tenant: Some(n.clone()),
            title,
            detail,
            fix: fix.to_string(),
        };
        if let Some(e) = &t.credential_error {
            out.push(c(
                "credentials",
                format!("signl4-sentinel: Entra ID rejects the credentials of tenant {n}"),
                e.clone(),
                "Nothing is read or paged for this tenant until this is fixed. Renew the client secret or certificate (or fix the identity) and update the configuration; run `signl4-sentinel doctor`.",
            ));
        } else if let Some(since) = t.failing_since_ms.filter(|s| obs.now_ms - s >= failing_ms) {
            out.push(c(
                "upstream",
                format!("signl4-sentinel: polling Microsoft fails for tenant {n} since {}", minutes(obs.now_ms - since)),
                t.last_error.clone().unwrap_or_default(),
                "New alerts are not read while this lasts. Check the error, the network path to Microsoft and `signl4-sentinel doctor`.",
            ));
        }
        if let Some(e) = &t.signl4_rejected {
            out.push(c(
                "signl4-secret",
                format!("signl4-sentinel: SIGNL4 rejects the team secret of tenant {n}"),
                e.clone(),
                "Pages to that team are parked (kept, not sent); the tenant's other teams keep paging. Fix its team_secret (the route the message names, else tenant.signl4; SIGNL4 → Teams → your team → Secret) and restart; the parked pages are sent then.",
            ));
        }
        if let Some(since) = t.signl4_api_failing_since_ms.filter(|s| obs.now_ms - s >= failing_ms) {
            out.push(c(
                "signl4-api",
                format!("signl4-sentinel: the SIGNL4 API fails for tenant {n} since {}", minutes(obs.now_ms - since)),
                t.signl4_api_error.clone().unwrap_or_default(),
                "Acknowledgements made in the app may not reach Microsoft while this lasts. Check api_key.",
            ));
        }
        if let Some((what, at)) = &t.credential_expiry {
            let left = at - obs.now_ms;
            if left <= th.expiry_warning.as_millis() as i64 {
                let when = crate::timefmt::odata(
                    time::OffsetDateTime::from_unix_timestamp(at / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
                );
                let detail = if left <= 0 {
                    format!("The {what} of tenant {n} expired on {}.", crate::text::prefix_chars(&when, 10))
                } else {
                    format!(
                        "The {what} of tenant {n} expires on {} (in {} days).",
                        crate::text::prefix_chars(&when, 10),
                        left / 86_400_000
                    )
                };
                out.push(c(
                    "expiry",
                    format!("signl4-sentinel: the {what} of tenant {n} expires soon"),
                    detail,
                    "Create a new one on the app registration (Certificates & secrets), put it in the configuration and restart before the old one expires.",
                ));
            }
        }
    }
    for t in &obs.tenants {
        if let Some(c) = quarantine_condition(t) {
            out.push(c);
        }
    }
    if let Some(e) = &obs.storage_error {
        out.push(Condition {
            key: "storage".into(),
            tenant: None,
            title: "signl4-sentinel: the database is unreachable".into(),
            detail: e.clone(),
            fix: "Nothing is recorded or paged while this lasts. Check the database server and storage.url.".into(),
        });
    }
    if let Some(n) = obs.dead_letters.filter(|n| *n > 0) {
        out.push(Condition {
            key: "dead-letters".into(),
            tenant: None,
            title: "signl4-sentinel: jobs gave up (dead letters)".into(),
            detail: format!("{n} job(s) failed permanently or for too long and will not be retried by themselves."),
            fix: "See `signl4-sentinel jobs --dead` and `jobs show KEY`; after fixing the cause, `jobs retry --dead` sends them again.".into(),
        });
    }
    if let Some(c) = signin_burst(obs.signin_failures) {
        out.push(c);
    }
    out
}

/// A burst of failed sign-ins to the status page: raised while the last 10 minutes hold at
/// least [`SIGNIN_BURST`], cleared when they no longer do.
pub fn signin_burst(failures: u64) -> Option<Condition> {
    (failures >= SIGNIN_BURST).then(|| Condition {
        key: "signin-failures".into(),
        tenant: None,
        title: "signl4-sentinel: many failed sign-ins to the status page".into(),
        detail: format!("{failures} wrong admin tokens in the last 10 minutes (the log names the clients' addresses)."),
        fix: "Someone may be guessing the admin token: they are throttled (429). Check who (the log's `peer`), restrict who can reach the status page, and rotate server.admin_token if it may be known.".into(),
    })
}

/// "Items quarantined" for a tenant with any: raised while one is left (the key does not
/// change with the count, so it pages once), cleared when the last is re-run and released.
fn quarantine_condition(t: &TenantObservation) -> Option<Condition> {
    let total: i64 = t.quarantined.iter().map(|(_, n)| n).sum();
    if total <= 0 {
        return None;
    }
    let n = &t.tenant;
    let by_source: Vec<String> =
        t.quarantined.iter().filter(|(_, c)| *c > 0).map(|(s, c)| format!("{c} from {s}")).collect();
    Some(Condition {
        key: format!("quarantine:{n}"),
        tenant: Some(n.clone()),
        title: format!("signl4-sentinel: items of tenant {n} are quarantined (not paged)"),
        detail: format!(
            "{total} item(s) could not be processed and were kept aside ({}); the rest of their pages went on.",
            by_source.join(", ")
        ),
        fix: "See `signl4-sentinel jobs` and `jobs show quarantine:ID` (the reason and the raw JSON); after an upgrade that fixes the cause, `jobs retry --quarantined` re-runs them (each pages once). Please report the reason.".into(),
    })
}

/// What to do: conditions to raise (not raised before) and keys to clear (raised before, gone).
pub fn changes<'a>(raised: &BTreeSet<String>, now: &'a [Condition]) -> (Vec<&'a Condition>, Vec<String>) {
    let present: BTreeSet<&str> = now.iter().map(|c| c.key.as_str()).collect();
    let raise = now.iter().filter(|c| !raised.contains(&c.key)).collect();
    let clear = raised.iter().filter(|k| !present.contains(k.as_str())).cloned().collect();
    (raise, clear)
}

/// The SIGNL4 external id of a condition's page.
pub fn external_id(key: &str) -> String {
    format!("s4s-ops:{key}")
}

/// The webhook body that raises a condition for the `[ops]` team.
pub fn raise_body(c: &Condition) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Title".into(), json!(c.title));
    m.insert("Message".into(), json!(format!("{}\n\nWhat to do: {}", c.detail, c.fix)));
    m.insert("X-S4-ExternalID".into(), json!(external_id(&c.key)));
    m.insert("X-S4-Status".into(), json!("new"));
    m.insert("X-S4-Service".into(), json!("signl4-sentinel"));
    m.insert("X-S4-SourceSystem".into(), json!("signl4-sentinel"));
    m.insert("X-S4-AlertingScenario".into(), json!("single_ack"));
    if let Some(t) = &c.tenant {
        m.insert("Tenant".into(), json!(t));
    }
    m.insert("Condition".into(), json!(c.key));
    m
}

/// The webhook body that closes a cleared condition's SIGNL4 alert.
pub fn clear_body(key: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("X-S4-ExternalID".into(), json!(external_id(key)));
    m.insert("X-S4-Status".into(), json!("resolved"));
    m
}

/// The `notAfter` of a DER X.509 certificate, in seconds since the epoch (RFC 5280 §4.1:
/// `Certificate → tbsCertificate → validity → notAfter`, UTCTime or GeneralizedTime). A few
/// lines of DER walking instead of an X.509 parser crate for one field.
pub fn certificate_not_after(der: &[u8]) -> Option<i64> {
    /// One TLV at the start of `b`: (tag, contents, rest).
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, b) = b.split_first()?;
        let (&first, mut b) = b.split_first()?;
        let len = if first < 0x80 {
            first as usize
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || b.len() < n {
                return None;
            }
            let len = b[..n].iter().fold(0usize, |acc, x| (acc << 8) | *x as usize);
            b = &b[n..];
            len
        };
        (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
    }
    let (0x30, cert, _) = tlv(der)? else { return None };
    let (0x30, tbs, _) = tlv(cert)? else { return None };
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // version
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2; // serialNumber, signature, issuer
    }
    let (0x30, validity, _) = tlv(rest)? else { return None };
    let (_, _, r) = tlv(validity)?; // notBefore
    let (tag, t, _) = tlv(r)?;
    let s = std::str::from_utf8(t).ok()?.strip_suffix('Z')?;
    let full = match (tag, s.len()) {
        (0x17, 12) => {
            // UTCTime: YY ≥ 50 is 19YY (RFC 5280 §4.1.2.5.1).
            let yy: i32 = s.get(..2)?.parse().ok()?;
            format!("{}{}", if yy >= 50 { 19 } else { 20 }, s)
        }
        (0x18, 14) => s.to_string(),
        _ => return None,
    };
    let n = |a: usize, b: usize| full.get(a..b)?.parse::<u32>().ok();
    let date =
        time::Date::from_calendar_date(n(0, 4)? as i32, time::Month::try_from(n(4, 6)? as u8).ok()?, n(6, 8)? as u8)
            .ok()?;
    let t = time::Time::from_hms(n(8, 10)? as u8, n(10, 12)? as u8, n(12, 14)? as u8).ok()?;
    Some(date.with_time(t).assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const TH: Thresholds =
        Thresholds { failing_after: Duration::from_secs(600), expiry_warning: Duration::from_secs(14 * 86_400) };

    fn t(name: &str) -> TenantObservation {
        TenantObservation { tenant: name.into(), ..Default::default() }
    }

    #[test]
    fn failures_become_conditions_only_past_their_threshold() {
        let mut a = t("contoso");
        a.failing_since_ms = Some(1_000 * MIN - 9 * MIN);
        a.last_error = Some("Graph: HTTP 503".into());
        let obs = Observation { now_ms: 1_000 * MIN, tenants: vec![a.clone()], ..Default::default() };
        assert!(conditions(&obs, TH).is_empty(), "9 minutes is not yet 10");
        a.failing_since_ms = Some(1_000 * MIN - 11 * MIN);
        let obs = Observation { now_ms: 1_000 * MIN, tenants: vec![a], dead_letters: Some(0), ..Default::default() };
        let c = conditions(&obs, TH);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].key, "upstream:contoso");
        assert!(c[0].title.contains("since 11 min"), "{}", c[0].title);
    }

    #[test]
    fn credentials_rejected_wins_over_the_failing_poll_it_causes() {
        let mut a = t("contoso");
        a.credential_error = Some("Entra ID rejected the client secret (AADSTS7000215)".into());
        a.failing_since_ms = Some(0);
        let obs = Observation { now_ms: 100 * MIN, tenants: vec![a], ..Default::default() };
        let keys: Vec<String> = conditions(&obs, TH).into_iter().map(|c| c.key).collect();
        assert_eq!(keys, ["credentials:contoso"]);
    }

    #[test]
    fn expiry_dead_letters_storage_and_the_team_secret() {
        let day = 86_400_000;
        let mut a = t("contoso");
        a.credential_expiry = Some(("certificate".into(), 100 * day + 3 * day));
        a.signl4_rejected = Some("SIGNL4 answered 404: unknown team secret".into());
        let mut b = t("fabrikam");
        b.credential_expiry = Some(("client secret".into(), 100 * day + 30 * day));
        let obs = Observation {
            now_ms: 100 * day,
            tenants: vec![a, b],
            storage_error: Some("connection refused".into()),
            dead_letters: Some(3),
            ..Default::default()
        };
        let c = conditions(&obs, TH);
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["signl4-secret:contoso", "expiry:contoso", "storage", "dead-letters"]);
        assert!(c[1].detail.contains("in 3 days"), "{}", c[1].detail);
        assert!(c[3].detail.starts_with("3 job(s)"));
    }

    #[test]
    fn quarantined_items_raise_one_condition_per_tenant_until_none_is_left() {
        let mut a = t("contoso");
        a.quarantined = vec![("graph-alert".into(), 2), ("signl4-webhook".into(), 1)];
        let obs = Observation { now_ms: MIN, tenants: vec![a.clone(), t("fabrikam")], ..Default::default() };
        let c = conditions(&obs, TH);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].key.as_str(), c[0].tenant.as_deref()), ("quarantine:contoso", Some("contoso")));
        assert!(c[0].detail.starts_with("3 item(s)") && c[0].detail.contains("2 from graph-alert"), "{}", c[0].detail);
        // One more item: the same condition (no second page).
        a.quarantined = vec![("graph-alert".into(), 3)];
        let more = conditions(&Observation { now_ms: MIN, tenants: vec![a.clone()], ..Default::default() }, TH);
        let raised: BTreeSet<String> = c.iter().map(|c| c.key.clone()).collect();
        assert!(changes(&raised, &more).0.is_empty());
        // All re-run: cleared.
        a.quarantined = vec![("graph-alert".into(), 0)];
        let none = conditions(&Observation { now_ms: MIN, tenants: vec![a], ..Default::default() }, TH);
        assert_eq!(changes(&raised, &none).1, ["quarantine:contoso"]);
    }

    #[test]
    fn one_raise_per_condition_and_a_clear_when_it_is_gone() {
        let c = |k: &str| Condition {
            key: k.into(),
            tenant: None,
            title: k.into(),
            detail: String::new(),
            fix: String::new(),
        };
        let now = vec![c("storage"), c("dead-letters")];
        let mut raised = BTreeSet::new();
        let (raise, clear) = changes(&raised, &now);
        assert_eq!(raise.len(), 2);
        assert!(clear.is_empty());
        raised.extend(raise.iter().map(|c| c.key.clone()));
        let (raise, clear) = changes(&raised, &now);
        assert!(raise.is_empty() && clear.is_empty(), "still there: nothing to do");
        let (raise, clear) = changes(&raised, &now[1..]);
        assert!(raise.is_empty());
        assert_eq!(clear, ["storage"]);
        assert_eq!(clear_body("storage")["X-S4-ExternalID"], "s4s-ops:storage");
        assert_eq!(raise_body(&now[0])["X-S4-Status"], "new");
    }
}

#[cfg(test)]
mod signin_burst_tests {
    use super::*;

    #[test]
    fn a_burst_of_failed_sign_ins_is_raised_and_cleared() {
        let th = Thresholds { failing_after: Duration::from_secs(600), expiry_warning: Duration::from_secs(86_400) };
        let quiet = Observation { signin_failures: SIGNIN_BURST - 1, ..Default::default() };
        assert!(conditions(&quiet, th).is_empty());
        let burst = Observation { signin_failures: SIGNIN_BURST, ..Default::default() };
        let c = conditions(&burst, th);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].key, "signin-failures");
        assert!(c[0].detail.starts_with("20 wrong admin tokens"), "{}", c[0].detail);
        let raised: BTreeSet<String> = ["signin-failures".to_string()].into();
        assert_eq!(changes(&raised, &conditions(&quiet, th)).1, vec!["signin-failures".to_string()], "cleared");
    }
}
