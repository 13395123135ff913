//! The status page's HTML through `maud`: every interpolated value is HTML-escaped by the
//! template (`PreEscaped` only for the fixed style sheet), and every text from anywhere
//! (upstream, the database, the configuration) passes the process-wide redactor first ([`t`], `text.rs`).

use maud::{DOCTYPE, Markup, PreEscaped, html};
use s4s_core::status as words;

use super::tables;
use super::text::{excerpt, t};
use crate::clock::now_ms;
use crate::http::ServerState;
use crate::tenant::TenantContext;

/// The page reloads itself this often (seconds).
pub const REFRESH_SECS: u32 = 15;

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

/// A whole document.
pub fn page(title: &str, refresh: bool, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if refresh { meta http-equiv="refresh" content=(REFRESH_SECS); }
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

/// The login form, with an optional problem.
pub fn login_form(problem: Option<&str>) -> String {
    let body = html! {
        div.login {
            h1 { "signl4-sentinel" }
            @if let Some(p) = problem { p.bad { (p) } }
            form method="post" action="/login" {
                label for="token" { "Admin token (" code { "server.admin_token" } ")" }
                input #token name="token" type="password" autocomplete="current-password" autofocus;
                button #login type="submit" { "Sign in" }
            }
        }
    };
    page("signl4-sentinel: sign in", false, body)
}

/// A refusal (403, 429, 503): why, and that nothing changed.
pub fn refused(title: &str, why: &str) -> String {
    let body = html! {
        main {
            h2 { "Refused" }
            p.bad { (why) ": nothing was changed." }
            p { a href="/" { "Back to the status page" } }
        }
    };
    page(title, false, body)
}

/// The database failed while changing something.
pub fn db_failed(error: &str) -> String {
    page("signl4-sentinel: error", false, html! { main { p.bad { "The database failed: " (t(error)) } } })
}

/// The status page itself. `csrf` goes into its forms; `signout` adds the *Sign out* button.
pub async fn status(s: &ServerState, redriven: Option<&str>, csrf: &str, signout: bool) -> String {
    let now = now_ms();
    let db = s.store.ping().await;
    let conditions = s.conditions.conditions();
    let body = html! {
        header {
            h1 { "signl4-sentinel" }
            span.muted style="color:#cbd5e1" {
                (words::utc(now)) " · storage " (s.store.backend()) " "
                @if db.is_ok() { "ok" } @else { b { "unreachable" } }
                " · refreshes every " (REFRESH_SECS) "s"
            }
            @if signout {
                form.signout method="post" action="/logout" {
                    button.signout type="submit" { "Sign out" }
                }
            }
        }
        main {
            @if let Some(key) = redriven {
                div.flash #flash {
                    "Sent again: " code { (t(key)) }
                    " is pending (attempts reset); the service sends it within about a second."
                }
            }
            (errors(&s.tenants, &conditions, db.err().map(|e| e.to_string())))
            (tables::tenants(s, now).await)
            (tables::recent(s, now).await)
            (tables::queue(s, now).await)
            (tables::dead_letters(s, now, csrf).await)
            (tables::quarantined(s, now).await)
            p.muted {
                "Secrets are never shown. Command-line equivalents: " code { "signl4-sentinel jobs --dead" } ", "
                code { "jobs show KEY" } ", " code { "jobs retry KEY" } ", " code { "jobs retry --quarantined" } ". JSON: " a href="/readyz" { "/readyz" }
                ", metrics: " a href="/metrics" { "/metrics" } "."
            }
        }
    };
    page("signl4-sentinel status", true, body)
}

/// Every current problem with its fix, first on the page.
pub fn errors(
    tenants: &[std::sync::Arc<TenantContext>],
    conditions: &[s4s_core::selfmon::Condition],
    db_error: Option<String>,
) -> Markup {
    let mut list: Vec<(String, String, String)> = Vec::new();
    if let Some(e) = db_error {
        list.push(("database".into(), "The database does not answer".into(), e));
    }
    // Self-monitoring's conditions (`selfmon.rs`) the rest of the page does not show already:
    // a refused credential, a secret or certificate about to expire, a burst of failed sign-ins.
    let shown = ["credentials:", "expiry:", "signin-failures"];
    for c in conditions.iter().filter(|c| shown.iter().any(|k| c.key.starts_with(k))) {
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
    html! {
        h2 { "Errors" }
        @if list.is_empty() {
            p.ok #no-errors { "No errors: every tenant polls and SIGNL4 accepts its pages." }
        }
        @for (who, what, detail) in &list {
            div.error { b { (t(who)) } " — " (t(what)) br; span.muted { (excerpt(detail)) } }
        }
    }
}
