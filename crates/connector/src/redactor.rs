//! The process-wide redactor: every secret of every configuration this process loaded, scrubbed
//! from any text before it reaches a log line, an error message, `/readyz` or the status page.

use std::sync::RwLock;

use s4s_core::redact::Redactor;

/// The process-wide redactor: every secret of every configuration this process loaded.
static REDACTOR: RwLock<Option<Redactor>> = RwLock::new(None);

/// Adds the secrets of a configuration to the process-wide redactor (several in-process
/// connectors, as in tests, add theirs).
pub fn install_redactor(config: &s4s_core::config::Config) {
    let mut secrets: Vec<String> = Vec::new();
    if let Ok(g) = REDACTOR.read()
        && let Some(r) = g.as_ref()
    {
        secrets.extend(r.secrets().iter().cloned());
    }
    secrets.extend(Redactor::from_config(config).secrets().iter().cloned());
    if let Ok(mut g) = REDACTOR.write() {
        *g = Some(Redactor::new(secrets));
    }
}

/// `text` with every configured secret and bearer token replaced by `[redacted]`.
pub fn redact(text: &str) -> String {
    match REDACTOR.read() {
        Ok(g) => match g.as_ref() {
            Some(r) => r.scrub(text),
            None => s4s_core::redact::scrub(text, &[]),
        },
        Err(_) => s4s_core::redact::scrub(text, &[]),
    }
}
