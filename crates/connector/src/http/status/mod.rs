//! The operator's status page at `/`: server-rendered HTML (no external assets, refreshes
//! itself, no JavaScript) with each tenant's polling, budgets, cursors and credential, the
//! queue, dead letters with a redrive button, recent pages and errors with their fix.
//!
//! - `host.rs`: every route here answers only to this server's own `Host` (421 otherwise).
//! - `auth.rs`: open on loopback without `server.admin_token`; with one (required beyond
//!   loopback, `core/src/config/server.rs`) every route asks for it — `Authorization: Bearer …`
//!   or the login form, which creates a server-side session (random, idle and absolute expiry,
//!   ended by *Sign out*) in an `HttpOnly`, `SameSite=Strict` cookie. Failed sign-ins are slowed
//!   and throttled per client and globally (`429` + `Retry-After`), logged and counted.
//! - The redrive `POST` needs the session's CSRF token and, when the browser sends `Origin` /
//!   `Referer`, the same origin; otherwise it answers 403 and changes nothing.
//! - `render.rs`, `tables.rs`: the HTML through `maud` (escaped by default); everything shown
//!   passes the process-wide redactor (`text.rs`) (titles and error texts come from upstream and are
//!   attacker-controlled).

pub mod auth;
pub mod host;
mod render;
mod tables;
mod text;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use serde::Deserialize;

pub use auth::{Access, StatusAuth};

use crate::clock::now_ms;
use crate::http::ServerState;
use crate::redactor::redact;

/// The peer's address: `ConnectInfo` from the server (`into_make_service_with_connect_info`);
/// without it every client shares one sign-in budget.
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

fn ip(peer: &Peer) -> Option<IpAddr> {
    peer.as_ref().map(|Extension(ConnectInfo(a))| a.ip())
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

/// The login form (401), with an optional problem.
fn login_form(problem: Option<&str>) -> Response {
    let mut r = html_response(StatusCode::UNAUTHORIZED, render::login_form(problem));
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"signl4-sentinel\""));
    r
}

/// 429 with `Retry-After` (whole seconds, at least 1): too many failed sign-ins.
fn throttled(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let why = format!("too many failed sign-ins: try again in {secs} s");
    let mut r = html_response(StatusCode::TOO_MANY_REQUESTS, render::refused("signl4-sentinel: slow down", &why));
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

fn refused(why: &str) -> Response {
    html_response(StatusCode::FORBIDDEN, render::refused("signl4-sentinel: refused", why))
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// `scheme://host[:port]` of a URL (an `Origin` or `Referer` value) → `host[:port]`.
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

/// The access of a request, or the answer when it has none (421, 401, 429).
fn access(s: &ServerState, headers: &HeaderMap, peer: &Peer) -> Result<Access, Box<Response>> {
    if let Some(r) = host::refusal(&s.auth.hosts, headers) {
        return Err(Box::new(r));
    }
    match s.auth.check(headers, ip(peer), now_ms()) {
        Access::Denied => Err(Box::new(login_form(None))),
        Access::Throttled(wait) => Err(Box::new(throttled(wait))),
        a => Ok(a),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST /login`: the admin token in a form → a new session's cookie, back to `/`. A wrong
/// token is answered after [`auth::FAILURE_DELAY`]; over the limit, 429 with `Retry-After`.
pub async fn login(State(s): State<ServerState>, peer: Peer, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    if let Some(r) = host::refusal(&s.auth.hosts, &headers) {
        return r;
    }
    if !s.auth.requires_login() {
        return see_other("/");
    }
    if !same_origin(&headers) {
        return refused("the sign-in came from another site");
    }
    if auth::plain_http_off_loopback(&headers) {
        // Said before the token is looked at: no session is made that no browser would keep.
        return login_form(Some(
            "Signing in needs HTTPS here: the session cookie is Secure, and a browser does not keep it over plain \
             HTTP. Put a TLS reverse proxy in front (it sends X-Forwarded-Proto: https), or reach the page through \
             127.0.0.1 (ssh -L / kubectl port-forward). Scripts can send Authorization: Bearer instead.",
        ));
    }
    match s.auth.sign_in(&f.token, ip(&peer), now_ms()) {
        Ok(session) => {
            tracing::info!(peer = %ip(&peer).map(|i| i.to_string()).unwrap_or_default(), "signed in to the status page");
            let mut r = see_other("/");
            if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&session, &headers)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(auth::SigninError::Throttled(wait)) => throttled(wait),
        Err(auth::SigninError::Wrong) => {
            tokio::time::sleep(auth::FAILURE_DELAY).await;
            login_form(Some("That is not the admin token."))
        }
    }
}

/// `POST /logout`: the session is deleted on the server and the browser drops its cookie.
pub async fn logout(State(s): State<ServerState>, headers: HeaderMap) -> Response {
    if let Some(r) = host::refusal(&s.auth.hosts, &headers) {
        return r;
    }
    if !same_origin(&headers) {
        return refused("the sign-out came from another site");
    }
    s.auth.sign_out(&headers);
    let mut r = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&auth::gone_cookie(&headers)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Debug, Deserialize)]
pub struct RedriveForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /redrive`: one dead letter back to pending (`Outbox::redrive_job`: only a dead job
/// changes), then back to the page. Needs the admin session (401), its CSRF token and the
/// same origin (403).
pub async fn redrive(
    State(s): State<ServerState>,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<RedriveForm>,
) -> Response {
    let a = match access(&s, &headers, &peer) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if !s.auth.csrf_ok(&a, &f.csrf) {
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
        Err(e) => html_response(StatusCode::SERVICE_UNAVAILABLE, render::db_failed(&e.to_string())),
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
pub async fn status_page(
    State(s): State<ServerState>,
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let a = match access(&s, &headers, &peer) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let signout = matches!(a, Access::Session { .. });
    let body = render::status(&s, q.redriven.as_deref(), &s.auth.csrf_for(&a), signout).await;
    html_response(StatusCode::OK, body)
}

/// The status page's routes (`/`, `POST /login`, `POST /logout`, `POST /redrive`).
pub fn routes() -> Router<ServerState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/", get(status_page))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/redrive", post(redrive))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
