//! The operator's status page at `/`: server-rendered HTML (no external assets, refreshes
//! itself, no JavaScript) with each tenant's polling, budgets, cursors and credential, the
//! queue, dead letters with a redrive button, recent pages and errors with their fix.
//!
//! Access: open on loopback without `server.admin_token`; with one (required beyond loopback,
//! `core/src/config/server.rs`) every route here asks for it — `Authorization: Bearer …` or
//! the login form, which sets a session cookie (per process, `HttpOnly`, `SameSite=Strict`;
//! `POST /logout` drops it).
//! The redrive `POST` also needs the page's per-process CSRF token and, when the browser sends
//! `Origin` / `Referer`, the same origin; otherwise it answers 403 and changes nothing.
//! Everything shown passes the process-wide redactor and is HTML-escaped (titles and error
//! texts come from upstream and are attacker-controlled).

use std::fmt::Write as _;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use s4s_core::ids::ExternalId;
use s4s_core::jobs::JobKind;
use s4s_core::status::{self as words, Delivery, escape};
use s4s_core::sync::Signl4State;
use s4s_store::{Job, JobState, StoredAlert};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::clients::http::redact;
use crate::clock::now_ms;
use crate::http::ServerState;
use crate::tenant::TenantContext;

/// The session cookie the login form sets.
pub const SESSION_COOKIE: &str = "s4s_session";
/// How many recent pages and dead letters the page lists.
const RECENT_PAGES: i64 = 20;
const DEAD_LETTERS: i64 = 50;
/// How much of an error text the page shows (`jobs show KEY` shows all of it).
const ERROR_EXCERPT: usize = 400;
/// The page reloads itself this often (seconds).
const REFRESH_SECS: u32 = 15;

/// Per-process secrets of the status page: the admin token (from the configuration), the
/// session value the login sets and the CSRF token the redrive form carries (both random,
/// new at every start).
pub struct StatusAuth {
    admin_token: Option<SecretString>,
    session: String,
    csrf: String,
}

fn random_hex() -> String {
    let b: [u8; 32] = rand::random();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl StatusAuth {
    pub fn new(admin_token: Option<SecretString>) -> StatusAuth {
        StatusAuth { admin_token, session: random_hex(), csrf: random_hex() }
    }

    /// Whether the request carries the admin token (bearer) or the session cookie; always
    /// true without an admin token (loopback only, see the configuration).
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.admin_token else { return true };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .is_some_and(|v| same(v.trim(), token.expose_secret()));
        bearer || cookie(headers, SESSION_COOKIE).is_some_and(|v| same(&v, &self.session))
    }
}

/// The value of cookie `name`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// `scheme://host[:port]` of a URL (an `Origin` or `Referer` value).
fn origin_host(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// False when the browser says the request comes from another origin than this server's
/// (`Origin`, else `Referer`, against `Host`). A request without either is judged by its
/// CSRF token alone.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    let claimed = match (get(header::ORIGIN), get(header::REFERER)) {
        (Some(o), _) => o,
        (None, Some(r)) => r,
        (None, None) => return true,
    };
    let Some(host) = get(header::HOST) else { return false };
    // `Origin: null` (sandboxed frames, some redirects) is not this server.
    origin_host(&claimed).is_some_and(|h| h.eq_ignore_ascii_case(host.trim()))
}

/// Text from anywhere (upstream, the database, the configuration), redacted and escaped.
fn t(text: &str) -> String {
    escape(&redact(text))
}

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        body,
    )
        .into_response()
}

const STYLE: &str = "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f4f6f9}\
header{background:#1f3a5f;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:baseline}header span{margin-left:auto}\
header h1{font-size:18px;margin:0}main{padding:8px 24px 32px}h2{font-size:15px;margin:22px 0 8px}\
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}\
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e7ee;vertical-align:top}\
th{background:#eef1f6;font-weight:600;font-size:12px;text-transform:uppercase;color:#4a5568}\
.muted{color:#6b7280;font-size:12px}.ok{color:#0a7d38}.bad{color:#b42318;font-weight:600}.warn{color:#a15c00}\
.tag{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e5e7eb}\
.tag.new{background:#fde68a}.tag.acknowledged{background:#bfdbfe}.tag.closed{background:#bbf7d0}\
.tag.dead{background:#fecaca}.tag.queued,.tag.parked,.tag.held,.tag.grouped{background:#e5e7eb}\
.flash{background:#dcfce7;border:1px solid #86efac;padding:8px 12px;margin:12px 0}\
.error{background:#fff;border-left:4px solid #b42318;padding:8px 12px;margin:6px 0}\
code{font:12px ui-monospace,monospace;word-break:break-all}button{padding:3px 10px;cursor:pointer}form.signout{margin:0 0 0 16px}\
.login{max-width:360px;margin:80px auto;background:#fff;padding:24px;box-shadow:0 1px 3px #0003}\
.login input{width:100%;padding:6px;margin:8px 0;box-sizing:border-box}";

fn page(title: &str, refresh: bool, body: &str) -> String {
    let meta =
        if refresh { format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">") } else { String::new() };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{meta}\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// The login form (401), with an optional problem.
fn login_form(problem: Option<&str>) -> Response {
    let problem = problem.map(|p| format!("<p class=\"bad\">{}</p>", escape(p))).unwrap_or_default();
    let body = format!(
        "<div class=\"login\"><h1>signl4-sentinel</h1>{problem}\
         <form method=\"post\" action=\"/login\"><label for=\"token\">Admin token (<code>server.admin_token</code>)</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" autofocus>\
         <button type=\"submit\" id=\"login\">Sign in</button></form></div>"
    );
    let mut r = html_response(StatusCode::UNAUTHORIZED, page("signl4-sentinel: sign in", false, &body));
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"signl4-sentinel\""));
    r
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST /login`: the admin token in a form → the session cookie, back to `/`.
pub async fn login(State(s): State<ServerState>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let Some(token) = &s.auth.admin_token else { return see_other("/") };
    if !same_origin(&headers) {
        return refused("the sign-in came from another site");
    }
    if !same(f.token.trim(), token.expose_secret()) {
        return login_form(Some("That is not the admin token."));
    }
    let mut r = see_other("/");
    if let Ok(v) = header::HeaderValue::from_str(&session_cookie(&s.auth.session, &headers)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The session cookie; `Secure` when the browser reached us over HTTPS through a reverse proxy
/// (`X-Forwarded-Proto: https`), so it never travels in clear text from then on.
fn session_cookie(session: &str, headers: &HeaderMap) -> String {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")));
    format!("{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/{}", if https { "; Secure" } else { "" })
}

/// `POST /logout`: the browser forgets its session cookie (the session itself lasts as long
/// as the process; restart it, or change `admin_token`, to end every session).
pub async fn logout(headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return refused("the sign-out came from another site");
    }
    let mut r = see_other("/");
    let gone = format!("{SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/");
    if let Ok(v) = header::HeaderValue::from_str(&gone) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn refused(why: &str) -> Response {
    let body = format!(
        "<main><h2>Refused</h2><p class=\"bad\">{}: nothing was changed.</p><p><a href=\"/\">Back to the status page</a></p></main>",
        escape(why)
    );
    html_response(StatusCode::FORBIDDEN, page("signl4-sentinel: refused", false, &body))
}

#[derive(Debug, Deserialize)]
pub struct RedriveForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /redrive`: one dead letter back to pending (`Outbox::redrive_job`: only a dead job
/// changes), then back to the page. Needs the admin session (401), the page's CSRF token and
/// the same origin (403).
pub async fn redrive(State(s): State<ServerState>, headers: HeaderMap, Form(f): Form<RedriveForm>) -> Response {
    if !s.auth.allows(&headers) {
        return login_form(None);
    }
    if f.csrf.is_empty() || !same(&f.csrf, &s.auth.csrf) {
        return refused("the form's token is missing or out of date (reload the status page and try again)");
    }
    if !same_origin(&headers) {
        return refused("the request came from another site");
    }
    match s.store.redrive_job(&f.key, now_ms()).await {
        Ok(true) => {
            tracing::info!(key = %redact(&f.key), "dead letter redriven from the status page");
            s.wake.notify_one();
            see_other(&format!("/?redriven={}", url_encode(&f.key)))
        }
        Ok(false) => refused("that job is not a dead letter (any more)"),
        Err(e) => {
            let body = format!("<main><p class=\"bad\">The database failed: {}</p></main>", t(&e.to_string()));
            html_response(StatusCode::SERVICE_UNAVAILABLE, page("signl4-sentinel: error", false, &body))
        }
    }
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    redriven: Option<String>,
}

/// `GET /`: the status page (401 with the login form without the admin session).
pub async fn status_page(State(s): State<ServerState>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
    if !s.auth.allows(&headers) {
        return login_form(None);
    }
    let mut body = render(&s, q.redriven.as_deref()).await;
    if s.auth.admin_token.is_some() && cookie(&headers, SESSION_COOKIE).is_some() {
        // At the right end of the header bar.
        body = body.replacen(
            "</header>",
            "<form method=\"post\" action=\"/logout\" class=\"signout\"><button type=\"submit\" class=\"signout\">Sign out</button></form></header>",
            1,
        );
    }
    html_response(StatusCode::OK, page("signl4-sentinel status", true, &body))
}

/// One recent page: its job and, when it is still stored, its alert row.
struct RecentPage {
    job: Job,
    alert: Option<StoredAlert>,
}

async fn recent_pages(s: &ServerState) -> Vec<RecentPage> {
    let mut jobs = Vec::new();
    for kind in [JobKind::Page, JobKind::SentinelPage, JobKind::Summary] {
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

async fn render(s: &ServerState, redriven: Option<&str>) -> String {
    let now = now_ms();
    let db = s.store.ping().await;
    let mut h = String::new();
    let _ = write!(
        h,
        "<header><h1>signl4-sentinel</h1><span class=\"muted\" style=\"color:#cbd5e1\">{} · storage {} {} · refreshes every {REFRESH_SECS}s</span></header><main>",
        words::utc(now),
        s.store.backend(),
        if db.is_ok() { "ok" } else { "<b>unreachable</b>" }
    );
    if let Some(key) = redriven {
        let _ = write!(
            h,
            "<div class=\"flash\" id=\"flash\">Sent again: <code>{}</code> is pending (attempts reset); the service sends it within about a second.</div>",
            t(key)
        );
    }
    errors(&mut h, &s.tenants, &s.conditions.conditions(), db.err().map(|e| e.to_string()));
    tenants(&mut h, s, now).await;
    recent(&mut h, s, now).await;
    queue(&mut h, s, now).await;
    dead_letters(&mut h, s, now).await;
    h.push_str(
        "<p class=\"muted\">Secrets are never shown. Command-line equivalents: <code>signl4-sentinel jobs --dead</code>, \
         <code>jobs show KEY</code>, <code>jobs retry KEY</code>. JSON: <a href=\"/readyz\">/readyz</a>, metrics: <a href=\"/metrics\">/metrics</a>.</p></main>",
    );
    h
}

/// Every current problem with its fix, first on the page.
fn errors(
    h: &mut String,
    tenants: &[std::sync::Arc<TenantContext>],
    conditions: &[s4s_core::selfmon::Condition],
    db_error: Option<String>,
) {
    let mut list: Vec<(String, String, String)> = Vec::new();
    if let Some(e) = db_error {
        list.push(("database".into(), "The database does not answer".into(), e));
    }
    // Self-monitoring's conditions (`selfmon.rs`) the rest of the page does not show already:
    // a refused credential, a secret or certificate about to expire.
    for c in conditions.iter().filter(|c| c.key.starts_with("credentials:") || c.key.starts_with("expiry:")) {
        let who = c.tenant.clone().unwrap_or_else(|| "connector".into());
        list.push((who, format!("{}: {}", c.title, c.fix), c.detail.clone()));
    }
    for tc in tenants {
        let st = tc.status();
        let name = tc.cfg.name.clone();
        if let Some(e) = &st.signl4_rejected {
            list.push((name.clone(), words::explain(e).to_string(), e.clone()));
        }
        if let Some(e) = &st.last_poll_error {
            let what = format!("Polling fails ({} in a row): {}", st.consecutive_poll_failures, words::explain(e));
            list.push((name.clone(), what, e.clone()));
        }
        if let Some(e) = &st.signl4_api_error {
            list.push((name.clone(), format!("Polling SIGNL4's REST API fails: {}", words::explain(e)), e.clone()));
        }
        if let Some(e) = &st.last_not_delivered {
            let what = format!(
                "{} page(s) SIGNL4 accepted reached nobody: check the team's duty plan and notification settings",
                st.pages_not_delivered
            );
            list.push((name, what, e.clone()));
        }
    }
    h.push_str("<h2>Errors</h2>");
    if list.is_empty() {
        h.push_str("<p class=\"ok\" id=\"no-errors\">No errors: every tenant polls and SIGNL4 accepts its pages.</p>");
        return;
    }
    for (who, what, detail) in list {
        let _ = write!(
            h,
            "<div class=\"error\"><b>{}</b> — {}<br><span class=\"muted\">{}</span></div>",
            t(&who),
            t(&what),
            escape(&words::excerpt(&redact(&detail), ERROR_EXCERPT))
        );
    }
}

fn pct(x: f64) -> String {
    format!("{:.0} %", (x * 100.0).clamp(0.0, 999.0))
}

async fn tenants(h: &mut String, s: &ServerState, now: i64) {
    let cursors = s.store.list_cursors().await.unwrap_or_default();
    h.push_str(
        "<h2>Tenants</h2><table id=\"tenants\"><tr><th>Tenant</th><th>Polling</th><th>Request budget</th>\
         <th>Cursors</th><th>Credential</th></tr>",
    );
    for tc in &s.tenants {
        let st = tc.status();
        let state = if st.standby {
            "<span class=\"warn\">standby (another replica polls)</span>"
        } else if tc.health.ready() {
            "<span class=\"ok\">ready</span>"
        } else {
            "<span class=\"bad\">not ready</span>"
        };
        let last = match st.last_poll_ok_ms {
            Some(ms) => format!("last successful poll {} (lag {})", words::ago(ms, now), words::duration(now - ms)),
            None => "no successful poll yet".into(),
        };
        let next = match (st.next_poll_ms, st.poll_interval_ms) {
            (Some(at), Some(iv)) => format!("next poll {} (every {})", words::due(at, now), words::duration(iv)),
            _ => String::new(),
        };
        let _ = write!(
            h,
            "<tr class=\"tenant\" data-tenant=\"{name}\"><td><b>{name}</b><br>{state}<br><span class=\"muted\">{} page(s) sent since start</span></td>\
             <td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            st.pages_sent,
            t(&last),
            t(&next),
            budgets(tc),
            tenant_cursors(&cursors, &tc.cfg.name, now),
            credential(tc, now),
            name = t(&tc.cfg.name),
        );
    }
    h.push_str("</table>");
}

/// Each upstream's budget use (the fullest window's share) and whether a server holds us off.
fn budgets(tc: &TenantContext) -> String {
    let sch = &tc.sched;
    let mut rows: Vec<(String, f64, bool)> = Vec::new();
    if tc.cfg.graph {
        rows.push(("Graph".into(), sch.graph.usage(), sch.graph.held()));
    }
    let mut arm: Vec<_> = sch.arm.iter().collect();
    arm.sort_by(|a, b| a.0.cmp(b.0));
    for (sub, a) in arm {
        rows.push((format!("ARM {}", short(sub)), a.usage(), a.held()));
    }
    if !tc.cfg.sentinel.is_empty() {
        rows.push(("Log Analytics".into(), sch.log_analytics.usage(), sch.log_analytics.held()));
    }
    rows.push(("SIGNL4".into(), sch.signl4.usage(), sch.signl4.held()));
    if tc.clients.default_team().api.is_some() {
        rows.push(("SIGNL4 API".into(), sch.signl4_rest.usage(), sch.signl4_rest.held()));
    }
    rows.iter()
        .map(|(name, used, held)| {
            let hold = if *held { " <span class=\"bad\">throttled: waiting for Retry-After</span>" } else { "" };
            format!("{}: {}{hold}", t(name), pct(*used))
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn tenant_cursors(cursors: &[s4s_store::CursorRow], tenant: &str, now: i64) -> String {
    let mine: Vec<String> = cursors
        .iter()
        .filter(|c| c.tenant == tenant)
        .map(|c| {
            // A sweep in progress keeps its progress under `{source}~sweep` (JSON): say so.
            let value = if c.source.ends_with("~sweep") { "sweep in progress".to_string() } else { c.value.clone() };
            format!(
                "{}: <code>{}</code> <span class=\"muted\">({})</span>",
                t(&c.source),
                t(&value),
                t(&words::ago(c.updated_ms, now))
            )
        })
        .collect();
    if mine.is_empty() { "<span class=\"muted\">none yet</span>".into() } else { mine.join("<br>") }
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

fn credential(tc: &TenantContext, now: i64) -> String {
    let mut out = t(tc.cfg.credential.kind());
    if let Some(exp) = tc.cfg.client_secret_expires.filter(|_| tc.cfg.credential.kind() == "secret") {
        let (class, when) = expiry_words(exp.unix_timestamp().saturating_mul(1000), now);
        let _ = write!(out, "<br><span class=\"{class}\">client secret {}</span>", t(&when));
    }
    if let Some(cert) = tc.clients.tokens.certificate() {
        let _ = write!(out, " <span class=\"muted\">thumbprint {}</span>", t(cert.thumbprint()));
        if let Some(secs) = cert.not_after() {
            let (class, when) = expiry_words(secs.saturating_mul(1000), now);
            let _ = write!(out, "<br><span class=\"{class}\">certificate {}</span>", t(&when));
        }
    }
    let tokens = tc.clients.tokens.token_expiries();
    if tokens.is_empty() {
        out.push_str("<br><span class=\"muted\">no token yet</span>");
    }
    for (scope, exp) in tokens {
        let audience = url::Url::parse(&scope).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or(scope);
        let when = if exp <= now { "expired".to_string() } else { format!("expires {}", words::ago(exp, now)) };
        let _ = write!(out, "<br><span class=\"muted\">token for {}: {}</span>", t(&audience), t(&when));
    }
    out
}

async fn recent(h: &mut String, s: &ServerState, now: i64) {
    let pages = recent_pages(s).await;
    h.push_str(
        "<h2>Recent pages</h2><table id=\"pages\"><tr><th>Queued</th><th>Tenant</th><th>Alert</th><th>SIGNL4</th>\
         <th>Time to page</th><th>Time to acknowledge</th></tr>",
    );
    if pages.is_empty() {
        h.push_str("<tr><td colspan=\"6\" class=\"muted\">No pages yet.</td></tr>");
    }
    for p in pages {
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
        let _ = write!(
            h,
            "<tr class=\"page\" data-state=\"{label}\"><td>{}</td><td>{}</td><td class=\"title\">{}<br><span class=\"muted\">{} · <code>{}</code></span></td>\
             <td><span class=\"tag {label}\">{label}</span> {}</td><td>{}</td><td>{}</td></tr>",
            t(&words::ago(j.created_ms, now)),
            t(&j.tenant),
            t(&title),
            t(&severity),
            t(&j.key),
            t(&st.text),
            t(&to_page),
            t(&to_ack),
            label = st.label,
        );
    }
    h.push_str("</table>");
}

async fn queue(h: &mut String, s: &ServerState, now: i64) {
    let q = s.store.queue_by_kind().await.unwrap_or_default();
    h.push_str(
        "<h2>Queue</h2><table id=\"queue\"><tr><th>Job kind</th><th>Pending</th><th>Parked</th><th>Dead</th>\
         <th>Oldest waiting</th></tr>",
    );
    if q.is_empty() {
        h.push_str("<tr><td colspan=\"5\" class=\"muted\">Empty: nothing waits.</td></tr>");
    }
    for k in q {
        let oldest = k.oldest_pending_ms.map(|c| words::duration(now - c)).unwrap_or_else(|| "—".into());
        let dead = if k.dead > 0 { format!("<span class=\"bad\">{}</span>", k.dead) } else { "0".into() };
        let _ = write!(
            h,
            "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{dead}</td><td>{}</td></tr>",
            t(&words::kind_words(&k.kind)),
            t(&k.kind),
            k.pending,
            k.parked,
            t(&oldest)
        );
    }
    h.push_str("</table>");
}

async fn dead_letters(h: &mut String, s: &ServerState, now: i64) {
    let dead = s.store.list_jobs(JobState::Dead, DEAD_LETTERS).await.unwrap_or_default();
    h.push_str(
        "<h2>Dead letters</h2><table id=\"dead\"><tr><th>Job</th><th>Why it stopped</th><th>Attempts</th><th></th></tr>",
    );
    if dead.is_empty() {
        h.push_str("<tr><td colspan=\"4\" class=\"muted\">None.</td></tr>");
    }
    for j in dead {
        let err = j.last_error.as_deref().unwrap_or_default();
        let why = words::explain(&redact(err));
        let _ = write!(
            h,
            "<tr class=\"dead-letter\"><td style=\"min-width:260px\">{}<br><code>{}</code><br><span class=\"muted\">{} · last change {}</span></td>\
             <td><b>{}</b>{}<br><span class=\"muted\">{}</span></td><td>{}</td>\
             <td><form method=\"post\" action=\"/redrive\"><input type=\"hidden\" name=\"key\" value=\"{}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" class=\"redrive\">Redrive</button></form></td></tr>",
            t(&words::kind_words(&j.kind)),
            t(&j.key),
            t(&j.tenant),
            t(&words::ago(j.updated_ms, now)),
            t(&why.what),
            why.fix.as_deref().map(|f| format!(": {}", t(f))).unwrap_or_default(),
            // Redacted before it is cut, so a cut cannot split a secret out of the redactor's view.
            escape(&words::excerpt(&redact(err), ERROR_EXCERPT)),
            j.attempts,
            // The key goes back as it is stored (redacting it would make it another key; keys
            // hold ids, never secrets).
            escape(&j.key),
            escape(&s.auth.csrf),
        );
    }
    h.push_str("</table>");
}

/// The status page's routes (`/`, `POST /login`, `POST /logout`, `POST /redrive`).
pub fn routes() -> axum::Router<ServerState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/", get(status_page))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/redrive", post(redrive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_admin_token_or_the_session_cookie_lets_one_in() {
        let open = StatusAuth::new(None);
        assert!(open.allows(&HeaderMap::new()), "no admin token: loopback only, open");
        let a = StatusAuth::new(Some(SecretString::from("admin-token-0123456789")));
        assert!(!a.allows(&HeaderMap::new()));
        assert!(a.allows(&headers(&[(header::AUTHORIZATION, "Bearer admin-token-0123456789")])));
        assert!(!a.allows(&headers(&[(header::AUTHORIZATION, "Bearer admin-token-012345678")])));
        let c = format!("other=1; {SESSION_COOKIE}={}", a.session);
        assert!(a.allows(&headers(&[(header::COOKIE, &c)])));
        assert!(!a.allows(&headers(&[(header::COOKIE, &format!("{SESSION_COOKIE}=guess"))])));
        assert_ne!(a.csrf, a.session);
        assert_ne!(StatusAuth::new(None).csrf, a.csrf, "new at every start");
    }

    #[test]
    fn errors_are_shown_with_their_fix_redacted_and_escaped() {
        let cfg = crate::testkit::ConfigBuilder::new("http://127.0.0.1:9", std::path::Path::new("/nonexistent/s4s.db"))
            .build();
        let secret = cfg.tenants[0].signl4.team_secret.expose_secret().to_string();
        crate::clients::http::install_redactor(&cfg);
        let tc = std::sync::Arc::new(TenantContext::new(
            cfg.tenants[0].clone(),
            &cfg.delivery,
            "test",
            &crate::tenant::scheduler::SharedSchedulers::default(),
        ));
        let mut h = String::new();
        errors(&mut h, std::slice::from_ref(&tc), &[], None);
        assert!(h.contains("id=\"no-errors\""), "{h}");
        tc.health.with(|s| {
            s.signl4_rejected = Some(format!("SIGNL4: HTTP 404: no team with secret {secret}"));
            s.consecutive_poll_failures = 3;
            s.last_poll_error = Some("Graph: HTTP 403: <script>x</script> Forbidden".into());
        });
        let expiring = s4s_core::selfmon::Condition {
            key: "expiry:contoso".into(),
            tenant: Some("contoso".into()),
            title: "The client secret of contoso expires in 5 days".into(),
            detail: "client_secret_expires = 2027-06-30".into(),
            fix: "create a new secret".into(),
        };
        let mut h = String::new();
        errors(&mut h, &[tc], &[expiring], Some("database error: connection refused".into()));
        assert!(h.contains("The client secret of contoso expires in 5 days: create a new secret"), "{h}");
        assert!(h.contains("SIGNL4 rejected the team secret: check tenant.signl4.team_secret"), "{h}");
        assert!(h.contains("Polling fails (3 in a row): Microsoft Graph refused access: grant the app"), "{h}");
        assert!(h.contains("The database does not answer"), "{h}");
        assert!(!h.contains(&secret), "the team secret is redacted: {h}");
        assert!(h.contains("[redacted]"));
        assert!(h.contains("&lt;script&gt;x&lt;/script&gt;") && !h.contains("<script>"), "{h}");
    }

    #[test]
    fn the_session_cookie_is_secure_behind_an_https_proxy() {
        let plain = session_cookie("abc", &headers(&[]));
        assert_eq!(plain, format!("{SESSION_COOKIE}=abc; HttpOnly; SameSite=Strict; Path=/"));
        let proxied = session_cookie("abc", &headers(&[(HeaderName::from_static("x-forwarded-proto"), "https")]));
        assert!(proxied.ends_with("; Secure"), "{proxied}");
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        let host = (header::HOST, "127.0.0.1:8080");
        assert!(same_origin(&headers(std::slice::from_ref(&host))), "neither Origin nor Referer: the token decides");
        assert!(same_origin(&headers(&[host.clone(), (header::ORIGIN, "http://127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[host.clone(), (header::REFERER, "http://127.0.0.1:8080/?x=1")])));
        assert!(!same_origin(&headers(&[host.clone(), (header::ORIGIN, "https://evil.example")])));
        assert!(!same_origin(&headers(&[host.clone(), (header::ORIGIN, "null")])));
        assert!(!same_origin(&headers(&[(header::ORIGIN, "http://127.0.0.1:8080")])), "no Host to compare");
    }
}
