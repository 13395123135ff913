//! Analyst comments made in the portal reach the phone: a new comment on a paged Graph alert
//! becomes an annotation on its SIGNL4 alert (team with an API key), once per comment, never
//! echoed back. Pure: the ingest decision asks which comments are new and not ours.

use serde_json::Value;

use crate::signl4::event::OWN_ANNOTATION;
use crate::timefmt;

/// One alerts_v2 comment (`comments[]`: `comment`, `createdByDisplayName`, `createdDateTime`,
/// `microsoft-apis.md` §2.2 / §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalComment {
    pub by: String,
    pub at_ms: i64,
    pub text: String,
}

/// Comments the connector wrote itself (write-backs end with `[SIGNL4 <ref>]`; notes,
/// escalations, enrichment and delivery comments name SIGNL4 at the start), and its own
/// annotations' text.
pub fn is_ours(text: &str) -> bool {
    let t = text.trim_start();
    t.contains("[SIGNL4 ")
        || t.starts_with("SIGNL4")
        || t.starts_with(OWN_ANNOTATION.trim_end())
        || t.contains("in SIGNL4 by ")
        || t.contains("signl4-sentinel")
}

/// Comments of `raw` created after `since_ms` by someone else than the connector, oldest first.
pub fn new_comments(raw: &Value, since_ms: i64) -> Vec<PortalComment> {
    let mut out: Vec<PortalComment> = raw
        .get("comments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let text = c.get("comment")?.as_str()?.trim().to_string();
            let at_ms = timefmt::millis(timefmt::parse(c.get("createdDateTime")?.as_str()?)?);
            let by = c.get("createdByDisplayName").and_then(Value::as_str).unwrap_or("someone").to_string();
            (at_ms > since_ms && !text.is_empty() && !is_ours(&text)).then_some(PortalComment { by, at_ms, text })
        })
        .collect();
    out.sort_by_key(|c| c.at_ms);
    out
}

/// Comments of a Sentinel incident (`GET …/comments`: `properties.message`, `createdTimeUtc`,
/// `author`, `microsoft-apis.md` §3.2) created after `since_ms` by someone else than the
/// connector, oldest first.
pub fn new_sentinel_comments(list: &[Value], since_ms: i64) -> Vec<PortalComment> {
    let mut out: Vec<PortalComment> = list
        .iter()
        .filter_map(|c| {
            let p = c.get("properties")?;
            let text = p.get("message")?.as_str()?.trim().to_string();
            let at_ms = timefmt::millis(timefmt::parse(p.get("createdTimeUtc")?.as_str()?)?);
            let a = p.get("author");
            let by = ["name", "userPrincipalName", "email"]
                .iter()
                .find_map(|k| a.and_then(|a| a.get(*k)).and_then(Value::as_str).filter(|s| !s.is_empty()))
                .unwrap_or("someone")
                .to_string();
            (at_ms > since_ms && !text.is_empty() && !is_ours(&text)).then_some(PortalComment { by, at_ms, text })
        })
        .collect();
    out.sort_by_key(|c| c.at_ms);
    out
}

/// The annotation text of a portal comment (starts with [`OWN_ANNOTATION`], so that its echo
/// is not written back as a responder's note).
pub fn annotation(c: &PortalComment) -> String {
    format!("{OWN_ANNOTATION}Portal comment by {}: {}", c.by, crate::text::truncate(&c.text, 1500))
}

/// A stable key of one comment (time and text), for the annotate job's idempotency key.
pub fn key(c: &PortalComment) -> String {
    // FNV-1a: stable across builds and platforms (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in c.at_ms.to_le_bytes().iter().chain(c.text.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("c{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sentinel_comments_by_people_since_the_stored_version_count() {
        let c = |msg: &str, at: &str, author: Value| json!({"properties": {"message": msg, "createdTimeUtc": at, "author": author}});
        let list = vec![
            c(
                "Acknowledged in SIGNL4 by rene@signl4.com. [SIGNL4 ack:1]",
                "2026-12-01T10:00:05Z",
                json!({"name": "signl4-sentinel"}),
            ),
            c("Old remark", "2026-12-01T09:00:00Z", json!({"name": "Megan Bowen"})),
            c("Blocked the IP", "2026-12-01T10:00:07Z", json!({"name": null, "email": "megan@contoso.com"})),
            json!({"properties": {"message": "no time"}}),
            json!("garbage"),
        ];
        let since = timefmt::millis(timefmt::parse("2026-12-01T10:00:00Z").unwrap());
        let new = new_sentinel_comments(&list, since);
        assert_eq!(new.len(), 1);
        assert_eq!((new[0].by.as_str(), new[0].text.as_str()), ("megan@contoso.com", "Blocked the IP"));
    }

    #[test]
    fn only_new_comments_by_people_count() {
        let raw = json!({"comments": [
            {"comment": "Acknowledged in SIGNL4 by rene@signl4.com. [SIGNL4 ack:1]", "createdByDisplayName": "app", "createdDateTime": "2026-12-01T10:00:05Z"},
            {"comment": "SIGNL4 note from rene: on it [SIGNL4 note:2]", "createdByDisplayName": "app", "createdDateTime": "2026-12-01T10:00:06Z"},
            {"comment": "Old remark", "createdByDisplayName": "Megan Bowen", "createdDateTime": "2026-12-01T09:00:00Z"},
            {"comment": "Isolated the device, waiting for forensics", "createdByDisplayName": "Megan Bowen", "createdDateTime": "2026-12-01T10:00:07Z"},
            {"comment": "   ", "createdDateTime": "2026-12-01T10:00:08Z"},
            {"createdDateTime": "2026-12-01T10:00:09Z"},
            "garbage"
        ]});
        let since = timefmt::millis(timefmt::parse("2026-12-01T10:00:00Z").unwrap());
        let new = new_comments(&raw, since);
        assert_eq!(new.len(), 1, "{new:?}");
        assert_eq!(new[0].by, "Megan Bowen");
        assert_eq!(
            annotation(&new[0]),
            "[signl4-sentinel] Portal comment by Megan Bowen: Isolated the device, waiting for forensics"
        );
        assert_eq!(key(&new[0]), key(&new[0].clone()));
        assert!(is_ours(&annotation(&new[0])));
        assert!(new_comments(&json!({}), 0).is_empty());
    }
}
