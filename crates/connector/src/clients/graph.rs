//! Microsoft Graph Security client: alerts_v2 (`microsoft-apis.md` §2).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use url::Url;

use crate::clients::azure::{AzureApi, JOB_RETRY_BUDGET};
use crate::clients::entra::TokenProvider;
use crate::clients::http::{UpstreamError, push_segments};
use crate::clients::scheduler::Scheduler;

/// One page of `GET /security/alerts_v2`.
#[derive(Debug)]
pub struct AlertsPage {
    pub value: Vec<Value>,
    pub next_link: Option<String>,
}

pub struct GraphClient {
    api: AzureApi,
    /// The configured Graph root (no version).
    base: Url,
    /// Total time budget for retries of one request (polling); outbox jobs use a short one
    /// ([`JOB_RETRY_BUDGET`]) and leave longer waits to the outbox's own backoff.
    retry_budget: Duration,
}

pub fn explain_forbidden(msg: &str) -> String {
    format!(
        "{msg} — grant the app the Microsoft Graph *application* permission SecurityAlert.ReadWrite.All (and SecurityIncident.ReadWrite.All), then grant admin consent (see docs → Getting started)"
    )
}

impl GraphClient {
    pub fn new(
        http: reqwest::Client,
        base: &Url,
        scope: &str,
        tokens: Arc<TokenProvider>,
        sched: Arc<Scheduler>,
    ) -> GraphClient {
        GraphClient {
            api: AzureApi::new("Graph", base, http, scope, tokens, sched, explain_forbidden),
            base: base.clone(),
            retry_budget: Duration::from_secs(120),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
        retry: bool,
        budget: Duration,
    ) -> Result<Value, UpstreamError> {
        self.api.call(method, url, body, retry, budget).await
    }

    /// The first page of alerts changed since `since`. OData DateTimeOffset literals are
    /// unquoted (§2.3); no `$orderby` (not documented for alerts_v2).
    pub fn alerts_since_url(&self, since: OffsetDateTime, top: u32) -> String {
        self.since_url("alerts_v2", since, top)
    }

    /// Ids and versions of alerts changed in `[from, to)`, for the late re-read. `$select` is
    /// not among the documented alerts_v2 parameters (§2.3): a server that ignores it sends
    /// whole alerts, which the caller handles too.
    pub fn alert_versions_url(&self, from: OffsetDateTime, to: OffsetDateTime, top: u32) -> String {
        let mut u = self.collection_url("alerts_v2");
        u.query_pairs_mut()
            .append_pair(
                "$filter",
                &format!(
                    "lastUpdateDateTime ge {} and lastUpdateDateTime lt {}",
                    s4s_core::timefmt::odata(from),
                    s4s_core::timefmt::odata(to)
                ),
            )
            .append_pair("$select", "id,lastUpdateDateTime")
            .append_pair("$top", &top.to_string());
        u.to_string()
    }

    /// `GET /security/{collection}?$filter=lastUpdateDateTime ge …&$top=…`.
    fn since_url(&self, collection: &str, since: OffsetDateTime, top: u32) -> String {
        let mut u = self.collection_url(collection);
        u.query_pairs_mut()
            .append_pair("$filter", &format!("lastUpdateDateTime ge {}", s4s_core::timefmt::odata(since)))
            .append_pair("$top", &top.to_string());
        u.to_string()
    }

    /// Fetches one page; `url` is either [`Self::alerts_since_url`] or an `@odata.nextLink`,
    /// followed verbatim.
    pub async fn alerts_page(&self, url: &str) -> Result<AlertsPage, UpstreamError> {
        let v = self.get_json(url).await?;
        let value = match v.get("value") {
            Some(Value::Array(a)) => a.clone(),
            _ => {
                return Err(UpstreamError::Invalid {
                    service: "Graph",
                    message: "alerts_v2 response has no `value` array".into(),
                });
            }
        };
        let next_link = v.get("@odata.nextLink").and_then(Value::as_str).map(str::to_string);
        Ok(AlertsPage { value, next_link })
    }

    /// GET with retries (see `call`).
    pub async fn get_json(&self, url: &str) -> Result<Value, UpstreamError> {
        self.call(reqwest::Method::GET, url, None, true, self.retry_budget).await
    }

    /// `{base}/v1.0/security/{collection}`, segments pushed (never pasted).
    fn collection_url(&self, collection: &str) -> Url {
        let mut u = self.base.clone();
        if let Ok(mut p) = u.path_segments_mut() {
            p.pop_if_empty().extend(["v1.0", "security", collection]);
        }
        u
    }

    /// `…/security/{collection}/{id}[/{suffix}]`: the id is one segment whatever it holds
    /// (`..`, `/`, `?`, `#` are percent-encoded, not resolved).
    fn item_url(&self, collection: &str, id: &str, suffix: &str) -> Result<String, UpstreamError> {
        let mut u = self.collection_url(collection);
        let mut segs = vec![id];
        segs.extend(suffix.split('/').filter(|s| !s.is_empty()));
        push_segments("Graph", &mut u, &segs)?;
        Ok(u.to_string())
    }

    pub async fn get_alert(&self, id: &str) -> Result<Value, UpstreamError> {
        self.call(reqwest::Method::GET, &self.item_url("alerts_v2", id, "")?, None, true, JOB_RETRY_BUDGET).await
    }

    /// PATCH is idempotent, so it is retried like a GET.
    pub async fn patch_alert(&self, id: &str, body: &serde_json::Map<String, Value>) -> Result<Value, UpstreamError> {
        self.call(
            reqwest::Method::PATCH,
            &self.item_url("alerts_v2", id, "")?,
            Some(Value::Object(body.clone())),
            true,
            JOB_RETRY_BUDGET,
        )
        .await
    }

    /// One attempt only: a comment POST is not idempotent. The caller's job is retried
    /// instead, after re-reading which comments already exist.
    pub async fn post_alert_comment(&self, id: &str, text: &str) -> Result<Value, UpstreamError> {
        let body = serde_json::json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": text});
        self.call(
            reqwest::Method::POST,
            &self.item_url("alerts_v2", id, "comments")?,
            Some(body),
            false,
            JOB_RETRY_BUDGET,
        )
        .await
    }

    pub async fn get_incident(&self, id: &str) -> Result<Value, UpstreamError> {
        self.call(reqwest::Method::GET, &self.item_url("incidents", id, "")?, None, true, JOB_RETRY_BUDGET).await
    }

    pub async fn patch_incident(
        &self,
        id: &str,
        body: &serde_json::Map<String, Value>,
    ) -> Result<Value, UpstreamError> {
        self.call(
            reqwest::Method::PATCH,
            &self.item_url("incidents", id, "")?,
            Some(Value::Object(body.clone())),
            true,
            JOB_RETRY_BUDGET,
        )
        .await
    }

    /// `GET /security/{collection}?$top=1` with a short retry budget: can the app read it?
    /// (`doctor`)
    pub async fn probe(&self, collection: &str) -> Result<Value, UpstreamError> {
        let mut u = self.collection_url(collection);
        u.query_pairs_mut().append_pair("$top", "1");
        let url = u.to_string();
        self.call(reqwest::Method::GET, &url, None, true, JOB_RETRY_BUDGET).await
    }

    /// Incidents changed since `since` (first page URL).
    pub fn incidents_since_url(&self, since: OffsetDateTime, top: u32) -> String {
        self.since_url("incidents", since, top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> GraphClient {
        let http = reqwest::Client::new();
        let authority = Url::parse("https://login.microsoftonline.com").unwrap();
        let tokens = Arc::new(TokenProvider::new(http.clone(), &authority, "t", "c", "s".to_string().into()));
        let sched = Scheduler::new("Graph", "t", &s4s_core::budget::BudgetSpec::graph(0.8));
        GraphClient::new(http, &Url::parse(base).unwrap(), "https://graph.microsoft.com/.default", tokens, sched)
    }

    #[test]
    fn item_ids_stay_inside_their_segment() {
        let g = client("https://graph.microsoft.com");
        assert_eq!(
            g.item_url("alerts_v2", "../../x", "comments").unwrap(),
            "https://graph.microsoft.com/v1.0/security/alerts_v2/..%2F..%2Fx/comments"
        );
        assert_eq!(
            g.item_url("incidents", "a/b?c#d", "").unwrap(),
            "https://graph.microsoft.com/v1.0/security/incidents/a%2Fb%3Fc%23d"
        );
        assert!(g.item_url("alerts_v2", "..", "").is_err());
        let g = client("http://127.0.0.1:9/graph");
        assert_eq!(g.item_url("alerts_v2", "x", "").unwrap(), "http://127.0.0.1:9/graph/v1.0/security/alerts_v2/x");
    }

    #[tokio::test]
    async fn a_foreign_link_is_refused_before_anything_is_sent() {
        // The authority is unreachable: a token fetch would fail differently (network error).
        let g = client("https://graph.microsoft.com");
        let e = g.alerts_page("https://evil.example/v1.0/security/alerts_v2?$skip=10").await.unwrap_err();
        assert_eq!(e.foreign_host(), Some("evil.example"), "{e}");
        assert!(!e.is_transient());
        assert!(e.to_string().contains("evil.example"), "{e}");
    }
}
