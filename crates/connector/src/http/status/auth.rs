//! Who may see the status page: the admin token (compared in constant time, without leaking
//! its length), server-side sessions (random, idle and absolute expiry, bounded in number,
//! bound to the token that created them, deleted by *Sign out*), a CSRF token per session,
//! failed sign-ins throttled per client and globally (`governor`), and the session cookie.
//!
//! Sessions live in this process's memory: a restart ends them all, and so does a new
//! `admin_token` (each session keeps the SHA-256 of the token it was created with). With
//! several replicas behind one address a browser signs in to each replica it reaches.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use s4s_core::config::ServerConfig;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// The session cookie over HTTPS (or anything but plain-HTTP loopback): the `__Host-` prefix
/// makes browsers refuse it unless it is `Secure`, `Path=/` and without `Domain`, so no other
/// site or sub-domain can plant or overwrite it.
pub const SESSION_COOKIE: &str = "__Host-s4s_session";
/// The session cookie over plain-HTTP loopback: browsers refuse a `__Host-` cookie without
/// `Secure`, and a `Secure` cookie is not sent back over plain HTTP.
pub const LOOPBACK_SESSION_COOKIE: &str = "s4s_session";
/// Peers whose address is not known (a server without `ConnectInfo`) share this key.
const UNKNOWN_PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
/// Clients the per-client limiter remembers at most (beyond: the stale ones are dropped, and
/// if all are fresh, the global limit alone applies to new ones).
const MAX_TRACKED_CLIENTS: usize = 10_000;
/// How long a failed sign-in waits before it is answered.
pub const FAILURE_DELAY: Duration = Duration::from_millis(400);

type Hash = [u8; 32];

fn sha256(b: &[u8]) -> Hash {
    s4s_core::ct::digest(b)
}

/// Constant time whatever the lengths: both sides are hashed first, so neither an early return
/// on a length mismatch nor the comparison itself says anything about the secret.
pub fn same_secret(given: &str, secret: &str) -> bool {
    s4s_core::ct::secret_eq(given.as_bytes(), secret.as_bytes())
}

fn random_hex() -> String {
    // 256 bits from the OS-seeded CSPRNG.
    let b: [u8; 32] = rand::random();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct Session {
    csrf: String,
    created_ms: i64,
    seen_ms: i64,
    /// SHA-256 of the admin token that created it.
    token: Hash,
}

/// What a request may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// No admin token configured (loopback only): open; the per-process CSRF token applies.
    Open,
    /// The admin token as `Authorization: Bearer …` (not sent by browsers on their own).
    Bearer,
    /// A live session with its CSRF token.
    Session { csrf: String },
    /// Neither: the login form.
    Denied,
    /// Too many failed sign-ins: try again after this long.
    Throttled(Duration),
}

/// Why a sign-in did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigninError {
    Wrong,
    Throttled(Duration),
}

/// The status page's secrets and state: see the module comment.
pub struct StatusAuth {
    admin: Option<(SecretString, Hash)>,
    idle_ms: i64,
    max_ms: i64,
    max_sessions: usize,
    /// By SHA-256 of the session value: a lookup's timing says nothing about stored values.
    sessions: Mutex<HashMap<Hash, Session>>,
    /// For `Open` and `Bearer` access (no session to hold one).
    process_csrf: String,
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    /// Until when a client (or everybody) is answered 429 without its token being looked at.
    blocked: Mutex<(HashMap<IpAddr, Instant>, Option<Instant>)>,
    /// The `Host` values the page answers to.
    pub hosts: super::host::AllowedHosts,
}

impl StatusAuth {
    pub fn new(cfg: &ServerConfig) -> StatusAuth {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let attempts = NonZeroU32::new(cfg.signin_attempts).unwrap_or(NonZeroU32::MIN);
        let lockout = cfg.signin_lockout.max(Duration::from_millis(1));
        let all = attempts.saturating_mul(NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN));
        let per_client = Quota::with_period(lockout).unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN));
        let global = Quota::with_period(lockout / 4).unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN));
        // Exported at 0 from the start (the exporter shows only series it has seen).
        metrics::counter!(crate::telemetry::SIGNIN_FAILURES).increment(0);
        StatusAuth {
            admin: cfg.admin_token.clone().map(|t| {
                let h = sha256(t.expose_secret().trim().as_bytes());
                (t, h)
            }),
            idle_ms: ms(cfg.session_idle),
            max_ms: ms(cfg.session_max),
            max_sessions: cfg.max_sessions.max(1),
            sessions: Mutex::default(),
            process_csrf: random_hex(),
            per_client: RateLimiter::keyed(per_client.allow_burst(attempts)),
            global: RateLimiter::direct(global.allow_burst(all)),
            blocked: Mutex::default(),
            hosts: super::host::AllowedHosts::new(cfg.listen, cfg.public_url.as_ref()),
        }
    }

    pub fn requires_login(&self) -> bool {
        self.admin.is_some()
    }

    /// The CSRF token the page's forms carry for this access.
    pub fn csrf_for(&self, access: &Access) -> String {
        match access {
            Access::Session { csrf } => csrf.clone(),
            _ => self.process_csrf.clone(),
        }
    }

    /// Whether the form's CSRF token is the one of this access (constant time).
    pub fn csrf_ok(&self, access: &Access, given: &str) -> bool {
        !given.is_empty() && same_secret(given, &self.csrf_for(access))
    }

    /// What the request may do, at `now_ms`. A wrong bearer token counts as a failed sign-in.
    pub fn check(&self, headers: &HeaderMap, peer: Option<IpAddr>, now_ms: i64) -> Access {
        let Some((token, _)) = &self.admin else { return Access::Open };
        if let Some(bearer) = bearer(headers) {
            if let Some(wait) = self.blocked_for(peer) {
                return Access::Throttled(wait);
            }
            if same_secret(bearer.trim(), token.expose_secret().trim()) {
                return Access::Bearer;
            }
            return match self.failed(peer, now_ms) {
                Some(wait) => Access::Throttled(wait),
                None => Access::Denied,
            };
        }
        match session_cookie_value(headers) {
            Some(v) => self.session(&v, now_ms).map(|csrf| Access::Session { csrf }).unwrap_or(Access::Denied),
            None => Access::Denied,
        }
    }

    /// The CSRF token of live session `value`, touching it; an expired or revoked one is deleted.
    fn session(&self, value: &str, now_ms: i64) -> Option<String> {
        let current = self.admin.as_ref()?.1;
        let key = sha256(value.as_bytes());
        let mut all = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let s = all.get_mut(&key)?;
        let live = bool::from(s.token.ct_eq(&current))
            && now_ms - s.seen_ms < self.idle_ms
            && now_ms - s.created_ms < self.max_ms;
        if !live {
            all.remove(&key);
            return None;
        }
        s.seen_ms = now_ms;
        Some(s.csrf.clone())
    }

    /// `POST /login`: a new session (its cookie value) for the right token.
    pub fn sign_in(&self, given: &str, peer: Option<IpAddr>, now_ms: i64) -> Result<String, SigninError> {
        let Some((token, hash)) = &self.admin else { return Err(SigninError::Wrong) };
        if let Some(wait) = self.blocked_for(peer) {
            return Err(SigninError::Throttled(wait));
        }
        if !same_secret(given.trim(), token.expose_secret().trim()) {
            return Err(match self.failed(peer, now_ms) {
                Some(wait) => SigninError::Throttled(wait),
                None => SigninError::Wrong,
            });
        }
        let value = random_hex();
        let mut all = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, s| now_ms - s.seen_ms < self.idle_ms && now_ms - s.created_ms < self.max_ms);
        while all.len() >= self.max_sessions {
            // The oldest sign-in goes first.
            let Some(oldest) = all.iter().min_by_key(|(_, s)| s.created_ms).map(|(k, _)| *k) else { break };
            all.remove(&oldest);
        }
        all.insert(
            sha256(value.as_bytes()),
            Session { csrf: random_hex(), created_ms: now_ms, seen_ms: now_ms, token: *hash },
        );
        Ok(value)
    }

    /// *Sign out*: the session is deleted here, not just forgotten by the browser.
    pub fn sign_out(&self, headers: &HeaderMap) {
        if let Some(v) = session_cookie_value(headers) {
            self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(&sha256(v.as_bytes()));
        }
    }

    /// Live sessions (for tests and the docs' numbers).
    pub fn session_count(&self) -> usize {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn blocked_for(&self, peer: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let b = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let client = b.0.get(&peer.unwrap_or(UNKNOWN_PEER)).copied();
        [client, b.1].into_iter().flatten().filter(|until| *until > now).max().map(|until| until - now)
    }

    /// Records a failed sign-in; `Some(wait)` once the client or everybody is over the limit.
    fn failed(&self, peer: Option<IpAddr>, now_ms: i64) -> Option<Duration> {
        let ip = peer.unwrap_or(UNKNOWN_PEER);
        metrics::counter!(crate::telemetry::SIGNIN_FAILURES).increment(1);
        crate::selfmon::RECENT_FAILURES.record(now_ms);
        // Never the submitted token: only who tried.
        tracing::warn!(peer = %ip, "failed sign-in to the status page (wrong admin token)");
        let clock = DefaultClock::default();
        let now = clock.now();
        if self.per_client.len() >= MAX_TRACKED_CLIENTS {
            self.per_client.retain_recent();
        }
        let client = if self.per_client.len() < MAX_TRACKED_CLIENTS {
            self.per_client.check_key(&ip).err().map(|nu| nu.wait_time_from(now))
        } else {
            None
        };
        let global = self.global.check().err().map(|nu| nu.wait_time_from(now));
        if client.is_none() && global.is_none() {
            return None;
        }
        let mut b = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let at = Instant::now();
        b.0.retain(|_, until| *until > at);
        if let Some(w) = client
            && b.0.len() < MAX_TRACKED_CLIENTS
        {
            b.0.insert(ip, at + w);
        }
        if let Some(w) = global {
            b.1 = Some(at + w);
            tracing::warn!("too many failed sign-ins from all clients: sign-in paused for {}s", w.as_secs().max(1));
        }
        client.into_iter().chain(global).max().map(|w| w.max(Duration::from_secs(1)))
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))
}

/// The session cookie's value under either name.
fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE).or_else(|| cookie(headers, LOOPBACK_SESSION_COOKIE))
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// A TLS reverse proxy in front says so (`X-Forwarded-Proto: https`); the connector itself
/// speaks plain HTTP.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

fn loopback(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    super::host::is_loopback_host(host)
}

/// Whether the session cookie is `Secure` (and `__Host-`): always but on plain-HTTP loopback.
fn secure(headers: &HeaderMap) -> bool {
    forwarded_https(headers) || !loopback(headers)
}

/// Plain HTTP under a non-loopback name: the session cookie would be `Secure`, which a browser
/// neither keeps nor sends back over `http://`, so a sign-in here cannot work.
pub fn plain_http_off_loopback(headers: &HeaderMap) -> bool {
    !forwarded_https(headers) && !loopback(headers)
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie(value: &str, headers: &HeaderMap) -> String {
    if secure(headers) {
        format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Secure")
    } else {
        format!("{LOOPBACK_SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/")
    }
}

/// The `Set-Cookie` value that drops the session cookie (under the name this connection uses).
pub fn gone_cookie(headers: &HeaderMap) -> String {
    if secure(headers) {
        format!("{SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/; Secure")
    } else {
        format!("{LOOPBACK_SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/")
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
