//! Sessions, throttling and cookies of the status page, with plain data and explicit times.

use super::*;
use crate::selfmon::RECENT_FAILURES;
use axum::http::{HeaderName, HeaderValue};

const TOKEN: &str = "admin-token-0123456789";

fn cfg(f: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut c = ServerConfig {
        listen: "127.0.0.1:8080".parse().unwrap(),
        admin_token: Some(SecretString::from(TOKEN)),
        session_idle: Duration::from_secs(60),
        session_max: Duration::from_secs(600),
        max_sessions: 3,
        signin_attempts: 3,
        signin_lockout: Duration::from_secs(60),
        public_url: None,
        metrics_token: None,
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(60),
        max_connections: 512,
        webhook_concurrency: 64,
        strict_readiness: false,
    };
    f(&mut c);
    c
}

fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k.clone(), HeaderValue::from_str(v).unwrap());
    }
    h
}

fn with_cookie(value: &str) -> HeaderMap {
    headers(&[(header::COOKIE, &format!("other=1; {LOOPBACK_SESSION_COOKIE}={value}"))])
}

const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

#[test]
fn comparisons_are_by_hash_whatever_the_length() {
    assert!(same_secret(TOKEN, TOKEN));
    assert!(!same_secret("admin-token-012345678", TOKEN), "a prefix");
    assert!(!same_secret("", TOKEN) && !same_secret(&format!("{TOKEN}x"), TOKEN));
}

#[test]
fn each_sign_in_is_its_own_session_with_its_own_csrf_token() {
    let a = StatusAuth::new(&cfg(|_| {}));
    assert_eq!(a.check(&HeaderMap::new(), A, 0), Access::Denied);
    let s1 = a.sign_in(TOKEN, A, 1000).unwrap();
    let s2 = a.sign_in(TOKEN, B, 1000).unwrap();
    assert_ne!(s1, s2, "two browsers, two sessions");
    assert!(s1.len() >= 32, "at least 128 random bits");
    let (Access::Session { csrf: c1 }, Access::Session { csrf: c2 }) =
        (a.check(&with_cookie(&s1), A, 2000), a.check(&with_cookie(&s2), B, 2000))
    else {
        panic!("both sessions live")
    };
    assert_ne!(c1, c2, "a CSRF token per session");
    let session = Access::Session { csrf: c1.clone() };
    assert!(a.csrf_ok(&session, &c1) && !a.csrf_ok(&session, &c2) && !a.csrf_ok(&session, ""));
    assert!(!a.csrf_ok(&Access::Bearer, &c1), "a session's token is not the bearer's");
    assert_eq!(a.check(&with_cookie("guess"), A, 2000), Access::Denied);
    let bearer = headers(&[(header::AUTHORIZATION, &format!("Bearer {TOKEN}"))]);
    assert_eq!(a.check(&bearer, A, 2000), Access::Bearer);
}

#[test]
fn sessions_end_when_idle_at_their_maximum_age_and_on_sign_out() {
    let a = StatusAuth::new(&cfg(|_| {}));
    let idle = a.sign_in(TOKEN, A, 0).unwrap();
    assert!(matches!(a.check(&with_cookie(&idle), A, 59_000), Access::Session { .. }), "used within the idle time");
    assert!(matches!(a.check(&with_cookie(&idle), A, 118_000), Access::Session { .. }), "use renews it");
    assert_eq!(a.check(&with_cookie(&idle), A, 178_001), Access::Denied, "idle for more than 60 s");
    assert_eq!(a.check(&with_cookie(&idle), A, 178_002), Access::Denied, "and deleted, not revived");

    let old = a.sign_in(TOKEN, A, 0).unwrap();
    for now in (30_000..600_000).step_by(30_000) {
        assert!(matches!(a.check(&with_cookie(&old), A, now), Access::Session { .. }), "{now}");
    }
    assert_eq!(a.check(&with_cookie(&old), A, 600_000), Access::Denied, "12h … here 600 s after sign-in, however busy");

    let out = a.sign_in(TOKEN, A, 0).unwrap();
    a.sign_out(&with_cookie(&out));
    assert_eq!(a.check(&with_cookie(&out), A, 1), Access::Denied, "signed out on the server");
}

#[test]
fn the_oldest_session_goes_beyond_the_bound() {
    let a = StatusAuth::new(&cfg(|_| {}));
    let s: Vec<String> = (0..4).map(|i| a.sign_in(TOKEN, A, i).unwrap()).collect();
    assert_eq!(a.session_count(), 3);
    assert_eq!(a.check(&with_cookie(&s[0]), A, 10), Access::Denied, "the oldest was ended");
    assert!(s[1..].iter().all(|v| matches!(a.check(&with_cookie(v), A, 10), Access::Session { .. })));
}

#[test]
fn a_new_admin_token_ends_the_sessions_of_the_old_one() {
    let a = StatusAuth::new(&cfg(|_| {}));
    let v = a.sign_in(TOKEN, A, 0).unwrap();
    // The same sessions under another token (what a reload of the configuration would do).
    let mut b = StatusAuth::new(&cfg(|c| c.admin_token = Some(SecretString::from("another-admin-token-0123"))));
    b.sessions = Mutex::new(std::mem::take(&mut *a.sessions.lock().unwrap()));
    assert_eq!(b.check(&with_cookie(&v), A, 1), Access::Denied);
}

#[test]
fn failed_sign_ins_are_throttled_per_client_and_the_right_token_waits_too() {
    let a = StatusAuth::new(&cfg(|_| {}));
    for _ in 0..3 {
        assert_eq!(a.sign_in("wrong-token-000000000", A, 0), Err(SigninError::Wrong));
    }
    let Err(SigninError::Throttled(wait)) = a.sign_in("wrong-token-000000000", A, 0) else { panic!("over the limit") };
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60), "{wait:?}");
    assert!(matches!(a.sign_in(TOKEN, A, 0), Err(SigninError::Throttled(_))), "not even looked at while throttled");
    let bearer = headers(&[(header::AUTHORIZATION, &format!("Bearer {TOKEN}"))]);
    assert!(matches!(a.check(&bearer, A, 0), Access::Throttled(_)), "the bearer route is the same door");
    assert!(a.sign_in(TOKEN, B, 0).is_ok(), "another client is not locked out");
    assert!(RECENT_FAILURES.count(0) >= 4, "counted for self-monitoring");
}

#[test]
fn failures_from_everywhere_are_throttled_globally() {
    let a = StatusAuth::new(&cfg(|c| c.signin_attempts = 1));
    // Four times the per-client attempts from as many clients, then every client waits.
    for i in 0..4u8 {
        let ip = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 0, i)));
        assert_eq!(a.sign_in("wrong-token-000000000", ip, 0), Err(SigninError::Wrong), "{i}");
    }
    let fresh = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 2, 0, 1)));
    assert!(matches!(a.sign_in("wrong-token-000000000", fresh, 0), Err(SigninError::Throttled(_))));
    assert!(matches!(a.sign_in(TOKEN, B, 0), Err(SigninError::Throttled(_))), "sign-in paused for everybody");
}

#[test]
fn the_cookie_is_host_prefixed_and_secure_except_on_plain_http_loopback() {
    let local = session_cookie("abc", &headers(&[(header::HOST, "127.0.0.1:8080")]));
    assert_eq!(local, format!("{LOOPBACK_SESSION_COOKIE}=abc; HttpOnly; SameSite=Strict; Path=/"));
    let proxied = session_cookie(
        "abc",
        &headers(&[(header::HOST, "127.0.0.1:8080"), (HeaderName::from_static("x-forwarded-proto"), "https")]),
    );
    assert_eq!(proxied, format!("{SESSION_COOKIE}=abc; HttpOnly; SameSite=Strict; Path=/; Secure"));
    let public = session_cookie("abc", &headers(&[(header::HOST, "s4s.example.com")]));
    assert!(
        public.starts_with("__Host-s4s_session=abc;") && public.ends_with("; Secure") && !public.contains("Domain")
    );
    assert!(gone_cookie(&headers(&[(header::HOST, "s4s.example.com")])).starts_with("__Host-s4s_session=; Max-Age=0"));
    assert!(plain_http_off_loopback(&headers(&[(header::HOST, "10.0.0.5:8080")])), "a sign-in could not stick");
    assert!(!plain_http_off_loopback(&headers(&[(header::HOST, "localhost:8080")])));
    let tls = headers(&[(header::HOST, "10.0.0.5:8080"), (HeaderName::from_static("x-forwarded-proto"), "https")]);
    assert!(!plain_http_off_loopback(&tls));
    // Either name is read back.
    let a = StatusAuth::new(&cfg(|_| {}));
    let v = a.sign_in(TOKEN, A, 0).unwrap();
    let prefixed = headers(&[(header::COOKIE, &format!("{SESSION_COOKIE}={v}"))]);
    assert!(matches!(a.check(&prefixed, A, 1), Access::Session { .. }));
}

#[test]
fn without_an_admin_token_the_page_is_open() {
    let a = StatusAuth::new(&cfg(|c| c.admin_token = None));
    assert_eq!(a.check(&HeaderMap::new(), A, 0), Access::Open);
    assert!(a.csrf_ok(&Access::Open, &a.csrf_for(&Access::Open)));
    assert_eq!(a.sign_in(TOKEN, A, 0), Err(SigninError::Wrong));
}
