//! Routing: an arbitrary alert against arbitrary routes. The input is a JSON object
//! `{"routes": [<route table>, …], "alert": <Graph alert>}`; each route table is what a
//! `[[tenant.route]]` holds (`name`, `continue`, `match` with `mitre`, `product`, `device`,
//! `user`, `ip`, `title`, `severity`, …). The routes are appended to the example
//! configuration and loaded as the CLI would; the alert goes through `Facts::graph`,
//! `routing::select` and the ingest decision (`ingest::graph_alert`). The same conditions
//! are also matched directly as a `RouteMatch` (techniques and globs as given, no config
//! validation in between), so inputs that the configuration would refuse are fuzzed too.
//!
//! Properties: never panics (the `"T100é"` against `T1003` byte slice panicked every poll);
//! a route without conditions matches every alert; `select` names only configured routes or
//! the default route, each team at most once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::alert::GraphAlert;
use s4s_core::config;
use s4s_core::ingest;
use s4s_core::route::{DEFAULT_ROUTE, Glob, RouteMatch};
use s4s_core::routing::{self, Facts};
use s4s_fuzz::{EmptyEnv, json};
use serde_json::Value;

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The `match` table as a `RouteMatch`, without the configuration's validation.
fn direct(m: &Value) -> RouteMatch {
    let globs = |k: &str| strings(m.get(k)).iter().map(|p| Glob::new(p)).collect::<Vec<_>>();
    RouteMatch {
        products: strings(m.get("product")),
        detection_sources: strings(m.get("detection_source")),
        categories: strings(m.get("category")),
        techniques: strings(m.get("mitre")),
        tags: strings(m.get("tags")),
        devices: globs("device"),
        users: globs("user"),
        ips: globs("ip"),
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(v) = json(data) else { return };
    let Some(raw) = v.get("alert").cloned() else { return };
    let Ok(alert) = GraphAlert::from_json(raw) else { return };
    let facts = Facts::graph(&alert);
    assert!(RouteMatch::default().matches(&facts), "no conditions match everything");
    let routes: Vec<Value> = v.get("routes").and_then(Value::as_array).cloned().unwrap_or_default();
    for r in routes.iter().take(16) {
        if let Some(m) = r.get("match") {
            let _ = direct(m).matches(&facts);
        }
    }
    // As configured: the routes appended to the example's (last) tenant.
    let mut text = config::example().to_string();
    for r in routes.iter().take(16) {
        let Ok(table) = toml::Value::try_from(r) else { return };
        let Ok(toml_text) = toml::to_string(&table) else { return };
        text.push_str("\n[[tenant.route]]\n");
        text.push_str(&toml_text);
    }
    let Ok(cfg) = config::load(&text, &EmptyEnv) else { return };
    let Some(t) = cfg.tenants.last() else { return };
    let chosen = routing::select(&t.routes, t.unrouted(), &facts);
    for (i, r) in chosen.iter().enumerate() {
        assert!(r.name == DEFAULT_ROUTE || t.routes.iter().any(|c| c.name == r.name), "unknown route {}", r.name);
        assert!(!chosen[..i].iter().any(|o| o.same_team(r)), "one page per team");
    }
    let _ = ingest::graph_alert(t, &alert, None);
});
