//! Arbitrary bytes → an HTTP request for the router, with the peer address it came from:
//! the input of the `webhook_router` fuzz target (fuzz/) and of its bounded in-suite twin
//! (tests/e2e_server.rs). Inputs that hyper would reject before the router (an invalid URI
//! or header) decode to `None`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request};

use super::config::INBOUND_TOKEN;

/// Decodes `data`: byte 0 picks method and peer (loopback or not), byte 1 the kind of path
/// (the real webhook token, another token, the operator routes, or raw bytes up to the first
/// NUL); then header lines (`name: value`, `\n`-separated) up to a NUL; the rest is the body.
pub fn arbitrary_request(data: &[u8]) -> Option<Request<Body>> {
    let (&sel, rest) = data.split_first()?;
    let (&kind, rest) = rest.split_first().unwrap_or((&0, &[]));
    let method = match sel % 8 {
        0..=3 => Method::POST,
        4 | 5 => Method::GET,
        6 => Method::PUT,
        _ => Method::from_bytes(b"PROPFIND").ok()?,
    };
    let peer: SocketAddr =
        if sel & 0x80 == 0 { ([127, 0, 0, 1], 40000).into() } else { ([192, 0, 2, 7], 40000).into() };
    let (raw_path, rest) = split_at_nul(rest);
    let path = match kind % 6 {
        0 | 1 => format!("/signl4/{INBOUND_TOKEN}"),
        2 => format!("/signl4/{}", String::from_utf8_lossy(raw_path)),
        3 => ["/readyz", "/metrics", "/healthz", "/", "/login", "/logout"][raw_path.len() % 6].to_string(),
        _ => String::from_utf8_lossy(raw_path).into_owned(),
    };
    let (raw_headers, body) = split_at_nul(rest);
    let mut req = Request::builder().method(method).uri(path);
    for line in raw_headers.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            // Content-Length is hyper's to check against the body; the router never sees a wrong one.
            if n != axum::http::header::CONTENT_LENGTH {
                req = req.header(n, v);
            }
        }
    }
    let mut req = req.body(Body::from(body.to_vec())).ok()?;
    req.extensions_mut().insert(ConnectInfo(peer));
    Some(req)
}

fn split_at_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0) {
        Some(i) => (data.get(..i).unwrap_or_default(), data.get(i + 1..).unwrap_or_default()),
        None => (data, &[]),
    }
}
