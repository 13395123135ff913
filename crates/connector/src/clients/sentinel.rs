//! Microsoft Sentinel through the Azure REST API (`microsoft-apis.md` §3–§4): ARM incidents,
//! alerts and comments, and Log Analytics queries (rule-query enrichment within a budget).

use std::sync::Arc;
use std::time::Duration;

use s4s_core::config::{Endpoints, Scopes, SentinelConfig};
use s4s_core::sentinel::{self as model, Enrichment, RuleQuery, SentinelAlert};
use s4s_core::timefmt;
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use crate::clients::azure::{AzureApi, JOB_RETRY_BUDGET};
use crate::clients::entra::TokenProvider;
use crate::clients::http::{UpstreamError, push_segments};
use crate::clients::scheduler::Scheduler;

fn explain_arm_forbidden(msg: &str) -> String {
    format!(
        "{msg} — assign the app the \"Microsoft Sentinel Responder\" (or Contributor) role on the workspace, and \"Log Analytics Reader\" for rule-query enrichment"
    )
}

fn explain_la_forbidden(msg: &str) -> String {
    format!(
        "{msg} — assign the app \"Log Analytics Reader\" on the workspace (role assignments can take up to 60 minutes to apply)"
    )
}

/// ARM and Log Analytics access to one workspace.
pub struct SentinelClient {
    pub cfg: SentinelConfig,
    arm: AzureApi,
    la: AzureApi,
    /// `…/workspaces/{name}/providers/Microsoft.SecurityInsights` on the ARM endpoint.
    base: Url,
    la_base: Url,
}

impl SentinelClient {
    pub fn new(
        http: reqwest::Client,
        endpoints: &Endpoints,
        scopes: &Scopes,
        tokens: Arc<TokenProvider>,
        cfg: SentinelConfig,
        arm_sched: Arc<Scheduler>,
        la_sched: Arc<Scheduler>,
    ) -> SentinelClient {
        let base = workspace_base(&endpoints.arm, &cfg);
        SentinelClient {
            arm: AzureApi::new(
                "Azure Resource Manager",
                &endpoints.arm,
                http.clone(),
                &scopes.arm,
                tokens.clone(),
                arm_sched,
                explain_arm_forbidden,
            ),
            la: AzureApi::new(
                "Log Analytics",
                &endpoints.log_analytics,
                http,
                &scopes.log_analytics,
                tokens,
                la_sched,
                explain_la_forbidden,
            ),
            la_base: endpoints.log_analytics.clone(),
            base,
            cfg,
        }
    }

    /// `{workspace}/providers/Microsoft.SecurityInsights/{segments…}?api-version=…&{extra}`,
    /// each segment pushed (an incident name `../../x` or `a/b?c` stays one segment).
    fn url(&self, segments: &[&str], extra: &[(&str, String)]) -> Result<String, UpstreamError> {
        arm_url(&self.base, segments, &self.cfg.api_version, extra)
    }

    /// Incidents modified since `since` (first page); `nextLink` is followed verbatim.
    pub fn incidents_since_url(&self, since: OffsetDateTime, top: u32) -> String {
        self.url(
            &["incidents"],
            &[
                ("$filter", format!("properties/lastModifiedTimeUtc ge {}", timefmt::odata(since))),
                ("$top", top.min(1000).to_string()),
            ],
        )
        // Only constant segments: cannot fail; an empty URL would be refused by the origin check.
        .unwrap_or_default()
    }

    pub async fn get_json(&self, url: &str) -> Result<Value, UpstreamError> {
        self.arm.call(reqwest::Method::GET, url, None, true, Duration::from_secs(120)).await
    }

    pub async fn get_incident(&self, name: &str) -> Result<Value, UpstreamError> {
        self.arm.call(reqwest::Method::GET, &self.url(&["incidents", name], &[])?, None, true, JOB_RETRY_BUDGET).await
    }

    pub async fn put_incident(&self, name: &str, body: &Value) -> Result<Value, UpstreamError> {
        // Conditional on the etag in the body; a 409 is handled by the caller (re-read).
        self.arm
            .call(
                reqwest::Method::PUT,
                &self.url(&["incidents", name], &[])?,
                Some(body.clone()),
                true,
                JOB_RETRY_BUDGET,
            )
            .await
    }

    /// `POST …/incidents/{id}/alerts` (no paging, §3.2).
    pub async fn incident_alerts(&self, name: &str) -> Result<Vec<Value>, UpstreamError> {
        let v = self
            .arm
            .call(
                reqwest::Method::POST,
                &self.url(&["incidents", name, "alerts"], &[])?,
                Some(json!({})),
                true,
                Duration::from_secs(60),
            )
            .await?;
        Ok(v.get("value").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// `GET …/incidents/{id}/comments` (pageable, §3.2): up to 5 pages of comments.
    pub async fn comments(&self, name: &str) -> Result<Vec<Value>, UpstreamError> {
        let mut url = self.url(&["incidents", name, "comments"], &[])?;
        let mut out = Vec::new();
        for _ in 0..5 {
            let v = self.arm.call(reqwest::Method::GET, &url, None, true, Duration::from_secs(60)).await?;
            out.extend(v.get("value").and_then(Value::as_array).cloned().unwrap_or_default());
            match v.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => url = next.to_string(),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Comments have client-chosen ids: a retried PUT updates instead of duplicating.
    pub async fn put_comment(&self, incident: &str, id: &str, message: &str) -> Result<Value, UpstreamError> {
        let body = json!({"properties": {"message": message}});
        self.arm
            .call(
                reqwest::Method::PUT,
                &self.url(&["incidents", incident, "comments", id], &[])?,
                Some(body),
                true,
                JOB_RETRY_BUDGET,
            )
            .await
    }

    /// `GET …/incidents?$top=1` with a short retry budget: may the app read incidents?
    /// (`doctor`)
    pub async fn probe_incidents(&self) -> Result<Value, UpstreamError> {
        let url = self.url(&["incidents"], &[("$top", "1".to_string())])?;
        self.arm.call(reqwest::Method::GET, &url, None, true, JOB_RETRY_BUDGET).await
    }

    /// A query that reads no table (`print`), so it works in any workspace: may the app
    /// query it? (`doctor`)
    pub async fn probe_query(&self) -> Result<Value, UpstreamError> {
        self.query(&RuleQuery { query: "print doctor = 1".into(), timespan: None, overall_count: None }).await
    }

    fn query_url(&self) -> Option<String> {
        let id = self.cfg.workspace_id.as_ref()?;
        let mut u = self.la_base.clone();
        u.path_segments_mut().ok()?.pop_if_empty().extend(["v1", "workspaces", id.as_str(), "query"]);
        Some(u.to_string())
    }

    /// Runs a KQL query (§4.1). `PartialError` answers are 200 and returned as such.
    pub async fn query(&self, q: &RuleQuery) -> Result<Value, UpstreamError> {
        let Some(url) = self.query_url() else {
            return Err(UpstreamError::Invalid {
                service: "Log Analytics",
                message: "workspace_id is not configured".into(),
            });
        };
        let mut body = json!({"query": q.query});
        if let Some(ts) = &q.timespan {
            body["timespan"] = json!(ts);
        }
        self.la.call(reqwest::Method::POST, &url, Some(body), true, JOB_RETRY_BUDGET).await
    }

    /// The rule query of a scheduled / NRT alert whose `additionalData` lacks it, from the
    /// `SecurityAlert` table's `ExtendedProperties` (§4.6).
    pub async fn rule_query_from_table(&self, system_alert_id: &str) -> Result<Option<RuleQuery>, UpstreamError> {
        if !system_alert_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Ok(None);
        }
        let kql = format!(
            "SecurityAlert | where SystemAlertId == \"{system_alert_id}\" | summarize arg_max(TimeGenerated, *) by SystemAlertId | project SystemAlertId, ExtendedProperties"
        );
        let v = self.query(&RuleQuery { query: kql, timespan: None, overall_count: None }).await?;
        let cell = v.pointer("/tables/0/rows/0/1").cloned().unwrap_or(Value::Null);
        Ok(model::rule_query(&cell))
    }
}

/// `{arm}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/
/// workspaces/{name}/providers/Microsoft.SecurityInsights`. Every configured name is one
/// pushed segment, so `..`, `/`, `?` or `#` in it stay inside that segment (percent-encoded),
/// never resolved or re-read as a query.
fn workspace_base(arm: &Url, cfg: &SentinelConfig) -> Url {
    let mut base = arm.clone();
    if let Ok(mut p) = base.path_segments_mut() {
        p.pop_if_empty().extend([
            "subscriptions",
            cfg.subscription_id.as_str(),
            "resourceGroups",
            cfg.resource_group.as_str(),
            "providers",
            "Microsoft.OperationalInsights",
            "workspaces",
            cfg.workspace_name.as_str(),
            "providers",
            "Microsoft.SecurityInsights",
        ]);
    }
    base
}

/// `{base}/{segments…}?api-version=…&{extra}`, each segment pushed (an incident name
/// `../../x` or `a/b?c` stays one segment).
fn arm_url(
    base: &Url,
    segments: &[&str],
    api_version: &str,
    extra: &[(&str, String)],
) -> Result<String, UpstreamError> {
    let mut u = base.clone();
    push_segments("Azure Resource Manager", &mut u, segments)?;
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("api-version", api_version);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    Ok(u.to_string())
}

/// Runs the rule query of the first scheduled / NRT alert within `budget`.
pub async fn enrich(client: &SentinelClient, alerts: &[SentinelAlert], budget: Option<Duration>) -> Enrichment {
    let ws = &client.cfg;
    if !ws.enrichment_enabled || ws.enrichment_rows == 0 || ws.workspace_id.is_none() {
        return Enrichment::None;
    }
    let work = async {
        for a in alerts {
            let q = match model::rule_query(&a.additional_data) {
                Some(q) => Some(q),
                None if looks_scheduled(a) => match client.rule_query_from_table(&a.system_alert_id).await {
                    Ok(q) => q,
                    Err(e) => return Enrichment::Failed(e.to_string()),
                },
                None => None,
            };
            if let Some(q) = q {
                return match client.query(&q).await {
                    Ok(resp) => Enrichment::Results(model::render_results(&resp, ws.enrichment_rows, q.overall_count)),
                    Err(e) => Enrichment::Failed(e.to_string()),
                };
            }
        }
        Enrichment::None
    };
    match budget {
        Some(b) => tokio::time::timeout(b, work).await.unwrap_or(Enrichment::Pending),
        None => work.await,
    }
}

fn looks_scheduled(a: &SentinelAlert) -> bool {
    let comp = a.raw.pointer("/properties/productComponentName").and_then(Value::as_str).unwrap_or("");
    comp.contains("Scheduled") || comp.contains("NRT") || a.additional_data.get("Analytic Rule Ids").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_their_segment() {
        let base =
            Url::parse("https://management.azure.com/subscriptions/s/rg/ws/providers/Microsoft.SecurityInsights")
                .unwrap();
        let u = arm_url(&base, &["incidents", "../../x"], "2024-03-01", &[]).unwrap();
        assert_eq!(
            u,
            "https://management.azure.com/subscriptions/s/rg/ws/providers/Microsoft.SecurityInsights/incidents/..%2F..%2Fx?api-version=2024-03-01"
        );
        let u = arm_url(&base, &["incidents", "a/b?c#d%2e%2E", "comments"], "v", &[]).unwrap();
        assert!(u.ends_with("/incidents/a%2Fb%3Fc%23d%252e%252E/comments?api-version=v"), "{u}");
        let u = Url::parse(&u).unwrap();
        assert_eq!(u.host_str(), Some("management.azure.com"));
        assert_eq!(u.query(), Some("api-version=v"));
        // A name that is only dots would address the parent: refused, nothing built.
        for bad in ["..", ".", ""] {
            assert!(arm_url(&base, &["incidents", bad], "v", &[]).is_err(), "{bad:?}");
        }
    }
}
