//! What every SIGNL4 body shares: the `X-S4-*` control parameters, the page title, message limits and parameters.

use serde_json::{Map, Value};

use crate::alert::Severity;
use crate::config::Signl4Options;

/// SIGNL4 documents no size limit for the message; we keep it well below what mobile
/// notifications display comfortably and note any truncation.
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// Entities listed per kind before "+N more".
pub const MAX_LIST: usize = 8;
/// Characters of a page title.
const MAX_TITLE_CHARS: usize = 250;

/// A page ready to POST to `{signl4_webhook}/{teamSecret}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub external_id: String,
    pub body: Map<String, Value>,
}

impl Page {
    /// Marks the page of a reopened alert: its own external id (a new SIGNL4 alert), "[Reopened]"
    /// in the title and a `Reopened` parameter.
    pub fn reopened(mut self, episode: i64) -> Page {
        if episode <= 0 {
            return self;
        }
        let ext = match crate::ids::ExternalId::parse(&self.external_id) {
            Some(e) => e.with_episode(episode).to_string(),
            None => return self,
        };
        self.body.insert("X-S4-ExternalID".into(), Value::from(ext.clone()));
        if let Some(Value::String(t)) = self.body.get_mut("Title") {
            *t = format!("[Reopened] {t}");
        }
        let n = if episode == 1 { "once".to_string() } else { format!("{episode} times") };
        self.body.insert(
            "Reopened".into(),
            Value::from(format!("yes: resolved earlier and set back to open in the portal (reopened {n})")),
        );
        self.external_id = ext;
        self
    }
}

pub use crate::text::truncate;

/// The first [`MAX_LIST`] items, comma-separated, with "(+N more)" for the rest.
pub(super) fn list(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(MAX_LIST).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if items.len() > MAX_LIST {
        s.push_str(&format!(" (+{} more)", items.len() - MAX_LIST));
    }
    s
}

/// Body that sets the SIGNL4 alert raised with `external_id` to `status` (`new`, `acknowledged`,
/// `resolved`): the two control parameters every body carries.
pub fn status_payload(external_id: &str, status: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("X-S4-ExternalID".into(), Value::String(external_id.into()));
    m.insert("X-S4-Status".into(), Value::String(status.into()));
    m
}

/// Payload that closes the SIGNL4 alert previously raised with `external_id`.
pub fn resolve_payload(external_id: &str) -> Map<String, Value> {
    status_payload(external_id, "resolved")
}

/// A page title: `[Severity] text`, capped.
pub(super) fn title(severity_label: &str, text: &str) -> String {
    truncate(&format!("[{severity_label}] {text}"), MAX_TITLE_CHARS)
}

/// A page body under construction; parameters without a value are left out.
pub(super) struct Params(Map<String, Value>);

impl Params {
    /// The part every page starts with: title, message (capped), the `X-S4-*` control
    /// parameters (status `new`, source system, service, alerting scenario by severity) and
    /// the `Severity` parameter.
    pub(super) fn page(
        external_id: &str,
        severity: &Severity,
        title_text: &str,
        message: &str,
        opts: &Signl4Options,
    ) -> Params {
        let sev = severity.label();
        let mut p = Params(status_payload(external_id, "new"));
        p.put("Title", title(&sev, title_text));
        p.put("Message", truncate(message.trim_end(), MAX_MESSAGE_CHARS));
        p.put("X-S4-SourceSystem", opts.source_system.clone());
        if let Some(s) = &opts.service {
            p.put("X-S4-Service", s.clone());
        }
        if let Some(s) = opts.scenario_for(severity) {
            p.put("X-S4-AlertingScenario", s.to_string());
        }
        p.put("Severity", sev);
        p
    }

    /// Adds a parameter unless `value` is empty.
    pub(super) fn put(&mut self, key: &str, value: String) {
        if !value.is_empty() {
            self.0.insert(key.to_string(), Value::String(value));
        }
    }

    pub(super) fn into_page(self, external_id: String) -> Page {
        Page { external_id, body: self.0 }
    }
}

/// The SIGNL4 options the page tests share.
#[cfg(test)]
pub(crate) fn test_options() -> Signl4Options {
    let mut scenario = std::collections::BTreeMap::new();
    scenario.insert("high".to_string(), "emergency".to_string());
    Signl4Options {
        team_secret: secrecy::SecretString::from("t"),
        service: Some("Security".into()),
        source_system: "signl4-sentinel".into(),
        scenario,
        inbound_token: None,
        api_key: None,
        api_poll_interval: std::time::Duration::from_secs(30),
        team_id: None,
        plan: crate::budget::Signl4Plan::Commercial,
        storm: crate::config::StormPolicy::default(),
        group: crate::config::GroupBy::Alert,
        quiet: None,
        verify: true,
        fallback: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_entity_lists_are_capped() {
        let items: Vec<String> = (0..12).map(|i| format!("h{i}")).collect();
        assert_eq!(list(&items), "h0, h1, h2, h3, h4, h5, h6, h7 (+4 more)");
    }

    #[test]
    fn resolve_payload_uses_the_same_external_id() {
        let p = resolve_payload("s4s:t:graph-alert:1");
        assert_eq!(Value::Object(p), json!({"X-S4-ExternalID": "s4s:t:graph-alert:1", "X-S4-Status": "resolved"}));
    }

    #[test]
    fn status_payload_is_the_body_of_a_status_job() {
        let p = status_payload("s4s:contoso:graph-alert:a1", "acknowledged");
        assert_eq!(
            Value::Object(p),
            json!({"X-S4-ExternalID": "s4s:contoso:graph-alert:a1", "X-S4-Status": "acknowledged"})
        );
    }
}
