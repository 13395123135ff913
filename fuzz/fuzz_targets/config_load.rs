//! Configuration files (`config::load`, as `signl4-sentinel config check` and `run` call it).
//! The environment is empty (`env:` / `file:` secrets do not resolve), and a second run adds
//! the overrides written in the input as comment lines `#env NAME=value`
//! (`SIGNL4_SENTINEL__…`), so `apply_env_overrides` is fuzzed too.
//!
//! Properties: never panics; every error has text (it is what the CLI prints, exit code 2);
//! a loaded configuration never shows a secret in its `Debug` output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::config::{self, Config, Env};
use s4s_fuzz::EmptyEnv;
use secrecy::ExposeSecret;

struct CommentEnv(Vec<(String, String)>);

impl Env for CommentEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
    fn vars(&self) -> Vec<(String, String)> {
        self.0.clone()
    }
    fn read_file(&self, path: &str) -> Result<String, String> {
        Err(format!("{path}: no files in the fuzzer"))
    }
}

/// The secrets of `c` that are distinctive enough to look for in its `Debug` output.
fn check_redacted(text: &str, c: &Config) {
    let dbg = format!("{c:?}");
    for t in &c.tenants {
        for s in [t.client_secret().map(|s| s.expose_secret()).unwrap_or_default(), t.signl4.team_secret.expose_secret()] {
            if s.len() >= 12 && text.matches(s).count() == 1 {
                assert!(!dbg.contains(s), "a secret shows in Debug output");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match config::load(text, &EmptyEnv) {
        Ok(c) => check_redacted(text, &c),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let vars: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#env "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect();
    if !vars.is_empty() {
        match config::load(text, &CommentEnv(vars)) {
            Ok(c) => check_redacted(text, &c),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
