//! SIGNL4 outbound webhooks (`signl4.md` §2.3, §3.1): the registered ones from a listing, and
//! whether one points at this connector.

use super::Verdict;

/// The registered outbound webhooks' (name, address, enabled) from a V1 `GET /webhooks`
/// answer (`[WebhookInfo {id, name, externalAddress, enabled, …}]`); V2's registration names
/// the address `extUrl` (§2.4), so both are read. None: not a list of webhooks.
pub fn outbound_webhooks(v: &serde_json::Value) -> Option<Vec<(String, String, bool)>> {
    use serde_json::Value;
    let list = match v {
        Value::Array(a) => a,
        Value::Object(o) => {
            ["items", "value", "results", "webhooks"].iter().find_map(|k| o.get(*k).and_then(Value::as_array))?
        }
        _ => return None,
    };
    Some(
        list.iter()
            .filter_map(|w| {
                let addr = ["externalAddress", "extUrl", "url", "address"]
                    .iter()
                    .find_map(|k| w.get(*k).and_then(Value::as_str))?;
                let name = w.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                let enabled = w.get("enabled").and_then(Value::as_bool).unwrap_or(true);
                Some((name, addr.to_string(), enabled))
            })
            .collect(),
    )
}

/// Whether an outbound webhook points at this connector: its path ends in
/// `/signl4/{inbound_token}` (the receiver's route; the public host is not configured).
pub fn outbound_verdict(list: &[(String, String, bool)], inbound_token: &str, token_key: &str) -> Verdict {
    let suffix = format!("/signl4/{inbound_token}");
    let ours = |addr: &str| addr.split(['?', '#']).next().unwrap_or("").trim_end_matches('/').ends_with(&suffix);
    let matching: Vec<&(String, String, bool)> = list.iter().filter(|(_, a, _)| ours(a)).collect();
    let register = format!(
        "in SIGNL4 add Integrations → Gallery → \"Webhook (Outbound)\" with the URL https://<this connector>/signl4/<{token_key}> \
         (or POST /webhooks, signl4.md §2.3); without it acknowledgements arrive only by REST polling (api_key), or remove {token_key}"
    );
    match matching.iter().find(|(_, _, enabled)| *enabled) {
        Some((name, _, _)) => Verdict::ok(format!(
            "outbound webhook \"{name}\" points at this connector (…/signl4/<{token_key}>); {} webhook(s) registered",
            list.len()
        )),
        None if !matching.is_empty() => Verdict::failed(
            format!("outbound webhook \"{}\" points at this connector but is disabled", matching[0].0),
            "enable it in SIGNL4 (Integrations), or POST /webhooks/{id}/enable (signl4.md §2.3)",
        ),
        None => Verdict::failed(
            format!("none of the {} registered outbound webhook(s) points at …/signl4/<{token_key}>", list.len()),
            register,
        ),
    }
}
