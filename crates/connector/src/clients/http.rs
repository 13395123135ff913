//! Errors from upstream services and the HTTP client they share.
//!
//! Error texts never contain secrets: URLs are stripped from transport errors (the SIGNL4
//! webhook URL embeds the team secret), response bodies are summarised, and every message
//! built from an upstream answer passes the process-wide redactor ([`crate::redactor`]: every
//! configured secret, bearer tokens) — SIGNL4's 404 body echoes the team secret (`signl4.md` §1.6).

use std::time::Duration;

use s4s_core::origin::{ForeignLink, Origin};
use url::Url;

use s4s_core::retry::{Decision, classify_status, parse_retry_after, rate_limit_wait};

use crate::redactor::redact;
use crate::telemetry::FOREIGN_LINKS;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("{service}: network error: {message}")]
    Network {
        service: &'static str,
        message: String,
        /// The connection was never made: nothing reached the upstream.
        not_sent: bool,
    },
    #[error("{service}: HTTP {status}: {message}")]
    Http { service: &'static str, status: u16, message: String, retry_after: Option<Duration>, permanent: bool },
    #[error("{service}: unexpected response: {message}")]
    Invalid { service: &'static str, message: String },
    /// Nothing was sent: our own credential could not be used (an unreadable federated token
    /// file, a certificate that does not load). Permanent until the operator fixes it.
    #[error("{service}: {message}")]
    Credential { service: &'static str, message: String },
    /// Not sent: the tenant's request budget for this upstream (or a server's `Retry-After`)
    /// allows the next request only after `wait`.
    #[error("{service}: held by the request budget for {}ms", wait.as_millis())]
    Held { service: &'static str, wait: Duration },
    /// Not sent: the URL is not on the configured endpoint's origin (scheme, host, port) —
    /// typically a `nextLink` from a response naming another host (`s4s_core::origin`).
    /// Permanent: the same link would be refused again.
    #[error("{service}: {link}")]
    Foreign { service: &'static str, link: ForeignLink },
}

impl UpstreamError {
    /// Worth retrying (network trouble, throttling, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            UpstreamError::Network { .. } => true,
            UpstreamError::Http { permanent, .. } => !permanent,
            // A truncated or garbled body is most likely a dropped connection.
            UpstreamError::Invalid { .. } => true,
            UpstreamError::Held { .. } => true,
            UpstreamError::Credential { .. } => false,
            UpstreamError::Foreign { .. } => false,
        }
    }

    /// Refused by the origin policy (nothing sent); the host it named.
    pub fn foreign_host(&self) -> Option<&str> {
        match self {
            UpstreamError::Foreign { link, .. } => Some(&link.host),
            _ => None,
        }
    }

    /// Not sent because the budget said to wait (see [`UpstreamError::Held`]).
    pub fn is_held(&self) -> bool {
        matches!(self, UpstreamError::Held { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::Http { retry_after, .. } => *retry_after,
            UpstreamError::Held { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    /// SIGNL4's webhook answered 404: it does not know the team secret (`signl4.md` §1.6).
    pub fn is_signl4_rejection(&self) -> bool {
        matches!(self, UpstreamError::Http { service: "SIGNL4", status: 404, .. })
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            UpstreamError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The request certainly did not reach the upstream (it answered with a refusal, or no
    /// connection was made): a page that failed this way is not in doubt. A timeout or a
    /// connection lost after sending, and 5xx answers (a gateway may answer after the service
    /// acted), may have delivered.
    pub fn certainly_not_delivered(&self) -> bool {
        match self {
            UpstreamError::Network { not_sent, .. } => *not_sent,
            UpstreamError::Http { status, .. } => *status < 500,
            UpstreamError::Invalid { .. } => false,
            UpstreamError::Held { .. } => true,
            UpstreamError::Credential { .. } => true,
            UpstreamError::Foreign { .. } => true,
        }
    }

    pub fn network(service: &'static str, e: reqwest::Error) -> UpstreamError {
        let not_sent = e.is_connect() || e.is_builder();
        // `without_url`: the URL may carry a secret (SIGNL4 team secret).
        let e = e.without_url();
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        UpstreamError::Network { service, message: redact(&msg), not_sent }
    }

    /// Builds an error from a non-2xx response's status, headers and a short message.
    pub fn from_response(
        service: &'static str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        message: String,
    ) -> UpstreamError {
        let now = time::OffsetDateTime::now_utc();
        let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
        let retry_after = h("retry-after")
            .and_then(|v| parse_retry_after(v, now))
            .or_else(|| rate_limit_wait(h("x-ratelimit-remaining"), h("x-ratelimit-reset"), now.unix_timestamp()));
        let permanent = matches!(classify_status(status), Decision::Permanent);
        UpstreamError::Http { service, status, message: redact(&message), retry_after, permanent }
    }
}

/// The origin of a configured endpoint; an endpoint without a host (impossible after config
/// validation) admits nothing.
pub fn origin_of(endpoint: &Url) -> Origin {
    Origin::of(endpoint).unwrap_or_else(Origin::nothing)
}

/// `url` parsed and admitted by `origin`, or the refusal — before anything is sent, so no
/// credential ever goes to another origin. Send the returned `Url`, not the string.
pub fn checked_url(service: &'static str, origin: &Origin, url: &str) -> Result<Url, UpstreamError> {
    origin.check(url).map_err(|mut link| {
        // The host comes from an upstream's answer: scrubbed like every other upstream text
        // before it reaches the log, `/readyz` or the status page.
        link.host = redact(&link.host);
        metrics::counter!(FOREIGN_LINKS, "service" => service).increment(1);
        tracing::warn!(service, host = %link.host, reason = link.reason, "refused to call another origin; nothing was sent");
        UpstreamError::Foreign { service, link }
    })
}

/// Appends each of `segments` to `url`'s path as one segment (percent-encoded: `/`, `?`, `#`
/// and `%` in a name stay inside it). A segment that is empty, `.` or `..` cannot be one
/// segment in a URL (WHATWG resolves dot segments, even encoded as `%2E`), so it is refused
/// instead of addressing the parent collection.
pub fn push_segments(service: &'static str, url: &mut Url, segments: &[&str]) -> Result<(), UpstreamError> {
    if let Some(bad) = segments.iter().find(|s| s.is_empty() || **s == "." || **s == "..") {
        return Err(UpstreamError::Invalid {
            service,
            message: format!(
                "refused to build a URL with the path segment {bad:?} (a name cannot be empty, \".\" or \"..\")"
            ),
        });
    }
    match url.path_segments_mut() {
        Ok(mut p) => {
            p.pop_if_empty().extend(segments);
            Ok(())
        }
        Err(()) => Err(UpstreamError::Invalid { service, message: "the endpoint URL cannot have a path".into() }),
    }
}

/// Checks a built request's URL against `origin` (see [`checked_url`]).
pub fn checked_request(service: &'static str, origin: &Origin, req: &reqwest::Request) -> Result<(), UpstreamError> {
    checked_url(service, origin, req.url().as_str()).map(|_| ())
}

/// Shortens a response body for an error message (bodies can be large; never secrets here:
/// Microsoft and SIGNL4 error bodies do not echo credentials).
pub fn summarize_body(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        // Graph / ARM: {"error": {"code", "message"}}; Entra: {"error", "error_description"};
        // SIGNL4: {"code", "message", "details"}.
        if let Some(e) = v.get("error") {
            if let Some(code) = e.get("code").and_then(|c| c.as_str()) {
                let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                return format!("{code}: {msg}");
            }
            if let Some(code) = e.as_str() {
                let desc = v.get("error_description").and_then(|d| d.as_str()).unwrap_or("");
                let first = desc.lines().next().unwrap_or("");
                return format!("{code}: {first}");
            }
        }
        if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
            let details = v.get("details").and_then(|d| d.as_str()).unwrap_or("");
            return format!("{m} {details}").trim().to_string();
        }
    }
    let t: String = body.chars().take(200).collect();
    if t.is_empty() { "(empty body)".into() } else { t }
}

/// The shared HTTP client: rustls, timeouts, a clear user agent.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("signl4-sentinel/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn summaries_of_documented_error_bodies() {
        assert_eq!(
            summarize_body(r#"{"error":{"code":"TooManyRequests","message":"Please retry again later."}}"#),
            "TooManyRequests: Please retry again later."
        );
        assert_eq!(
            summarize_body(
                "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: x\"}"
            ),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(
            summarize_body(
                r#"{"requestId":"e9","code":3004,"details":"An event source with ID 96sbq49u was not found.","message":"Error raising event."}"#
            ),
            "Error raising event. An event source with ID 96sbq49u was not found."
        );
        assert_eq!(summarize_body(""), "(empty body)");
    }

    #[test]
    fn retry_hints_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2.128"));
        let e = UpstreamError::from_response("graph", 429, &h, "x".into());
        assert!(e.is_transient());
        assert_eq!(e.retry_after(), Some(Duration::from_millis(2128)));
        let e = UpstreamError::from_response("signl4", 404, &HeaderMap::new(), "x".into());
        assert!(!e.is_transient());
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&(time::OffsetDateTime::now_utc().unix_timestamp() + 5).to_string()).unwrap(),
        );
        let e = UpstreamError::from_response("signl4", 429, &h, "x".into());
        let wait = e.retry_after().unwrap();
        assert!(wait > Duration::from_secs(3) && wait <= Duration::from_secs(5), "{wait:?}");
    }
}
