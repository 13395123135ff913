//! The status page's tables (tenants, recent pages, queue, dead letters, quarantined items) as `maud` markup:
//! what they read from the store and the tenants, and how they show it (escaped by the
//! template, redacted through [`t`]).

use maud::{Markup, html};
use s4s_core::ids::ExternalId;
use s4s_core::jobs;
use s4s_core::status::{self as words, Delivery};
use s4s_core::sync::Signl4State;
use s4s_store::{Job, JobState, StoredAlert};

use super::text::{excerpt, t};
use crate::http::ServerState;
use crate::redactor::redact;
use crate::tenant::TenantContext;

/// How many recent pages and dead letters the page lists.
const RECENT_PAGES: i64 = 20;
const DEAD_LETTERS: i64 = 50;
/// How many quarantined items the page lists (`jobs` lists them all).
const QUARANTINED: i64 = 20;

fn pct(x: f64) -> String {
    format!("{:.0} %", (x * 100.0).clamp(0.0, 999.0))
}

pub async fn tenants(s: &ServerState, now: i64) -> Markup {
    let cursors = s.store.list_cursors().await.unwrap_or_default();
    html! {
        h2 { "Tenants" }
        table #tenants {
            tr { th { "Tenant" } th { "Polling" } th { "Request budget" } th { "Cursors" } th { "Credential" } }
            @for tc in &s.tenants { (tenant_row(tc, &cursors, now)) }
        }
    }
}

fn tenant_row(tc: &TenantContext, cursors: &[s4s_store::CursorRow], now: i64) -> Markup {
    let st = tc.status();
    let last = match st.last_poll_ok_ms {
        Some(ms) => format!("last successful poll {} (lag {})", words::ago(ms, now), words::duration(now - ms)),
        None => "no successful poll yet".into(),
    };
    let next = match (st.next_poll_ms, st.poll_interval_ms) {
        (Some(at), Some(iv)) => format!("next poll {} (every {})", words::due(at, now), words::duration(iv)),
        _ => String::new(),
    };
    let name = t(&tc.cfg.name);
    html! {
        tr.tenant data-tenant=(name) {
            td {
                b { (name) } br;
                @if st.standby { span.warn { "standby (another replica polls)" } }
                @else if tc.health.ready() { span.ok { "ready" } }
                @else { span.bad { "not ready" } }
                br; span.muted { (st.pages_sent) " page(s) sent since start" }
            }
            td { (t(&last)) br; span.muted { (t(&next)) } }
            td { (budgets(tc)) }
            td { (tenant_cursors(cursors, &tc.cfg.name, now)) }
            td { (credential(tc, now)) }
        }
    }
}

/// Each upstream's budget use (the fullest window's share) and whether a server holds us off.
fn budgets(tc: &TenantContext) -> Markup {
    let sch = &tc.sched;
    let mut rows: Vec<(String, f64, bool)> = Vec::new();
    if tc.cfg.graph() {
        rows.push(("Graph".into(), sch.graph.usage(), sch.graph.held()));
    }
    let mut arm: Vec<_> = sch.arm.iter().collect();
    arm.sort_by(|a, b| a.0.cmp(b.0));
    for (sub, a) in arm {
        rows.push((format!("ARM {}", short(sub)), a.usage(), a.held()));
    }
    if !tc.cfg.sentinel().is_empty() {
        rows.push(("Log Analytics".into(), sch.log_analytics.usage(), sch.log_analytics.held()));
    }
    rows.push(("SIGNL4".into(), sch.signl4.usage(), sch.signl4.held()));
    if tc.clients.default_team().api.is_some() {
        rows.push(("SIGNL4 API".into(), sch.signl4_rest.usage(), sch.signl4_rest.held()));
    }
    html! {
        @for (i, (name, used, held)) in rows.iter().enumerate() {
            @if i > 0 { br; }
            (t(name)) ": " (pct(*used))
            @if *held { " " span.bad { "throttled: waiting for Retry-After" } }
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn tenant_cursors(cursors: &[s4s_store::CursorRow], tenant: &str, now: i64) -> Markup {
    let mine: Vec<_> = cursors.iter().filter(|c| c.tenant == tenant).collect();
    html! {
        @if mine.is_empty() { span.muted { "none yet" } }
        @for (i, c) in mine.iter().enumerate() {
            @if i > 0 { br; }
            // A sweep in progress keeps its progress under `{source}~sweep` (JSON): say so.
            @let value = if c.source.ends_with("~sweep") { "sweep in progress".to_string() } else { t(&c.value) };
            (t(&c.source)) ": " code { (value) } " " span.muted { "(" (t(&words::ago(c.updated_ms, now))) ")" }
        }
    }
}

/// A secret's or certificate's expiry (Unix ms) in words, and its CSS class: Entra refuses an
/// expired one (AADSTS7000222 / AADSTS700027), so the last 30 days are flagged.
fn expiry_words(ms: i64, now: i64) -> (&'static str, String) {
    match ms - now {
        left if left <= 0 => ("bad", format!("expired {}", words::utc(ms))),
        left if left < 30 * 86_400_000 => ("warn", format!("expires {} ({})", words::ago(ms, now), words::utc(ms))),
        _ => ("muted", format!("valid until {}", words::utc(ms))),
    }
}

fn credential(tc: &TenantContext, now: i64) -> Markup {
    let secret = tc.cfg.client_secret_expires.filter(|_| tc.cfg.credential.kind() == "secret");
    let cert = tc.clients.tokens.certificate();
    let tokens = tc.clients.tokens.token_expiries();
    html! {
        (t(tc.cfg.credential.kind()))
        @if let Some(exp) = secret {
            @let (class, when) = expiry_words(exp.unix_timestamp().saturating_mul(1000), now);
            br; span class=(class) { "client secret " (t(&when)) }
        }
        @if let Some(cert) = cert {
            " " span.muted { "thumbprint " (t(cert.thumbprint())) }
            @if let Some(secs) = cert.not_after() {
                @let (class, when) = expiry_words(secs.saturating_mul(1000), now);
                br; span class=(class) { "certificate " (t(&when)) }
            }
        }
        @if tokens.is_empty() { br; span.muted { "no token yet" } }
        @for (scope, exp) in tokens {
            @let audience = url::Url::parse(&scope).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or(scope);
            @let when = if exp <= now { "expired".to_string() } else { format!("expires {}", words::ago(exp, now)) };
            br; span.muted { "token for " (t(&audience)) ": " (t(&when)) }
        }
    }
}

/// One recent page: its job and, when it is still stored, its alert row.
struct RecentPage {
    job: Job,
    alert: Option<StoredAlert>,
}

async fn recent_pages(s: &ServerState) -> Vec<RecentPage> {
    let mut jobs = Vec::new();
    for kind in [jobs::page::KIND, jobs::sentinel_page::KIND, jobs::summary::KIND] {
        jobs.extend(s.store.recent_jobs(kind.as_str(), RECENT_PAGES).await.unwrap_or_default());
    }
    jobs.sort_by_key(|j| std::cmp::Reverse((j.created_ms, j.id)));
    jobs.truncate(RECENT_PAGES as usize);
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        // `page:{external id}[@route]`
        let ext = job.key.split_once(':').map(|(_, e)| e).unwrap_or_default();
        let parsed = ExternalId::parse(ext).or_else(|| ext.rsplit_once('@').and_then(|(e, _)| ExternalId::parse(e)));
        let alert = match parsed {
            Some(x) => s.store.get_alert(&x.tenant, &x.source, &x.id).await.ok().flatten(),
            None => None,
        };
        out.push(RecentPage { job, alert });
    }
    out
}

pub async fn recent(s: &ServerState, now: i64) -> Markup {
    let pages = recent_pages(s).await;
    html! {
        h2 { "Recent pages" }
        table #pages {
            tr {
                th { "Queued" } th { "Tenant" } th { "Alert" } th { "SIGNL4" } th { "Time to page" }
                th { "Time to acknowledge" }
            }
            @if pages.is_empty() { tr { td.muted colspan="6" { "No pages yet." } } }
            @for p in &pages { (page_row(p, now)) }
        }
    }
}

fn page_row(p: &RecentPage, now: i64) -> Markup {
    let j = &p.job;
    let delivery = match j.state {
        JobState::Done => Delivery::Sent,
        JobState::Dead => Delivery::Dead,
        JobState::Pending if j.paused => Delivery::Parked,
        JobState::Pending => Delivery::Queued,
    };
    let (state, acked_by, acked_ms) = match &p.alert {
        Some(a) => (a.state(), a.acknowledged_by.as_deref(), a.acknowledged_ms),
        None => (Signl4State::Open, None, None),
    };
    let sent_ms = (delivery == Delivery::Sent).then_some(j.updated_ms);
    let ack_after = acked_ms.zip(sent_ms).map(|(a, s)| (a - s).max(0));
    let st = words::page_state(delivery, state, acked_by, ack_after);
    let title = p
        .alert
        .as_ref()
        .and_then(|a| words::title_of(&a.record.raw))
        .or_else(|| words::title_of(&j.payload))
        .unwrap_or_else(|| "(no title)".into());
    let severity = p.alert.as_ref().map(|a| a.record.severity.clone()).unwrap_or_default();
    let to_page = sent_ms.map(|s| words::duration(s - j.created_ms)).unwrap_or_else(|| "—".into());
    let to_ack = ack_after.map(words::duration).unwrap_or_else(|| "—".into());
    let label = st.label;
    html! {
        tr.page data-state=(label) {
            td { (t(&words::ago(j.created_ms, now))) }
            td { (t(&j.tenant)) }
            td.title { (t(&title)) br; span.muted { (t(&severity)) " · " code { (t(&j.key)) } } }
            td { span class={ "tag " (label) } { (label) } " " (t(&st.text)) }
            td { (t(&to_page)) }
            td { (t(&to_ack)) }
        }
    }
}

pub async fn queue(s: &ServerState, now: i64) -> Markup {
    let q = s.store.queue_by_kind().await.unwrap_or_default();
    html! {
        h2 { "Queue" }
        table #queue {
            tr { th { "Job kind" } th { "Pending" } th { "Parked" } th { "Dead" } th { "Oldest waiting" } }
            @if q.is_empty() { tr { td.muted colspan="5" { "Empty: nothing waits." } } }
            @for k in &q {
                @let oldest = k.oldest_pending_ms.map(|c| words::duration(now - c)).unwrap_or_else(|| "—".into());
                tr {
                    td { (t(&words::kind_words(&k.kind))) br; span.muted { (t(&k.kind)) } }
                    td { (k.pending) }
                    td { (k.parked) }
                    td { @if k.dead > 0 { span.bad { (k.dead) } } @else { "0" } }
                    td { (t(&oldest)) }
                }
            }
        }
    }
}

pub async fn dead_letters(s: &ServerState, now: i64, csrf: &str) -> Markup {
    let dead = s.store.list_jobs(JobState::Dead, DEAD_LETTERS).await.unwrap_or_default();
    html! {
        h2 { "Dead letters" }
        table #dead {
            tr { th { "Job" } th { "Why it stopped" } th { "Attempts" } th {} }
            @if dead.is_empty() { tr { td.muted colspan="4" { "None." } } }
            @for j in &dead {
                @let err = j.last_error.as_deref().unwrap_or_default();
                @let why = words::explain(&redact(err));
                tr.dead-letter {
                    td style="min-width:260px" {
                        (t(&words::kind_words(&j.kind))) br; code { (t(&j.key)) } br;
                        span.muted { (t(&j.tenant)) " · last change " (t(&words::ago(j.updated_ms, now))) }
                    }
                    td {
                        b { (t(&why.what)) }
                        @if let Some(f) = why.fix.as_deref() { ": " (t(f)) }
                        br; span.muted { (excerpt(err)) }
                    }
                    td { (j.attempts) }
                    td {
                        form method="post" action="/redrive" {
                            // The key goes back as it is stored (redacting it would make it
                            // another key; keys hold ids, never secrets).
                            input type="hidden" name="key" value=(j.key);
                            input type="hidden" name="csrf" value=(csrf);
                            button.redrive type="submit" { "Redrive" }
                        }
                    }
                }
            }
        }
    }
}

/// Items whose processing failed: kept aside with their raw JSON and the reason,
/// the rest of their page went on. Words from `s4s_core::status`; re-run with `jobs retry`.
pub async fn quarantined(s: &ServerState, now: i64) -> Markup {
    let counts = s.store.quarantine_counts().await.unwrap_or_default();
    let items = s.store.quarantined(QUARANTINED).await.unwrap_or_default();
    html! {
        h2 { "Quarantined items" }
        @match words::quarantine_line(&counts) {
            Some(line) => p.bad #quarantine-summary { (t(&line)) },
            None => p.ok #quarantine-summary { "None: every alert, incident and SIGNL4 event could be processed." },
        }
        @if !items.is_empty() {
            table #quarantined {
                tr { th { "Item" } th { "Why" } th { "Attempts" } }
                @for q in &items {
                    tr.quarantined {
                        td style="min-width:260px" {
                            code { "quarantine:" (q.id) } br;
                            span.muted { (t(&q.tenant)) " · " (t(&q.source)) " · " (excerpt(&q.item_id)) }
                        }
                        td { (excerpt(&words::quarantined_item(q, now))) }
                        td { (q.attempts) }
                    }
                }
            }
        }
    }
}
