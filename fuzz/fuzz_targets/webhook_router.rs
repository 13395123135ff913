//! Arbitrary bytes (method, path, headers, body, loopback or not) through the connector's
//! whole axum router in-process (`app::offline_router`: the SIGNL4 receiver, the probes,
//! `/metrics`, the status page), decoded by `testkit::arbitrary_request`.
//!
//! Properties: never panics; never answers 500; off loopback without the admin token
//! `/metrics` is 401 and `/readyz` answers its bare status only. Its bounded in-suite twin is
//! `tests/e2e_server.rs::the_router_answers_arbitrary_requests_without_a_panic_or_a_500`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signl4_sentinel::testkit::{ConfigBuilder, arbitrary_request};
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "fuzz-admin-token-0123456789";

struct Setup {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("temporary directory");
        // Upstreams point at a closed port: nothing polls, the router is all there is.
        let cfg = ConfigBuilder::new("http://127.0.0.1:9", &dir.path().join("fuzz.db")).admin_token(ADMIN_TOKEN).build();
        let (router, _store) = rt.block_on(signl4_sentinel::app::offline_router(&cfg)).expect("router");
        Setup { rt, router, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let Some(req) = arbitrary_request(data) else { return };
    let path = req.uri().path().to_string();
    let off_loopback = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|c| !c.0.ip().is_loopback());
    let authorized = req.headers().get("authorization").is_some_and(|v| v.as_bytes().ends_with(ADMIN_TOKEN.as_bytes()));
    let res = s.rt.block_on(s.router.clone().oneshot(req)).expect("infallible");
    let status = res.status().as_u16();
    assert_ne!(status, 500, "{path}");
    if off_loopback && !authorized && status != 405 {
        if path == "/metrics" {
            assert_eq!(status, 401);
        } else if path == "/readyz" {
            let body = s.rt.block_on(axum::body::to_bytes(res.into_body(), 1 << 20)).expect("body");
            let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(v.as_object().map(|o| o.len()), Some(1), "bare status only: {v}");
        }
    }
});
