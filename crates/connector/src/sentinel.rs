//! Microsoft Sentinel through the Azure REST API (`microsoft-apis.md` §3–§4): the incident
//! sweep, rule-query enrichment, and the write-back jobs (read-modify-write with the etag;
//! a 409 re-reads and re-applies, so people's concurrent edits are never lost).

use std::sync::Arc;
use std::time::Duration;

use s4s_core::config::{Endpoints, PagePer, Scopes, SentinelConfig, TenantConfig};
use s4s_core::sentinel::{self as model, Enrichment, Incident, RuleQuery, SentinelAlert};
use s4s_core::sync::{self, AlertSync, Signl4State};
use s4s_core::{keys, timefmt};
use s4s_store::{AlertKey, AlertRecord, AlertUpdate, IngestItem, NewJob, Store, StoredAlert};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use crate::azure::{AzureApi, JOB_RETRY_BUDGET};
use crate::entra::TokenProvider;
use crate::poller::signl4_status_job;
use crate::upstream::UpstreamError;

pub const JOB_SENTINEL_PAGE: &str = "sentinel-page";
pub const JOB_SENTINEL_SYNC: &str = "sentinel-sync";
pub const JOB_SENTINEL_ENRICH: &str = "sentinel-enrich";

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
    base: String,
    la_base: String,
}

impl SentinelClient {
    pub fn new(
        http: reqwest::Client,
        endpoints: &Endpoints,
        scopes: &Scopes,
        tokens: Arc<TokenProvider>,
        cfg: SentinelConfig,
    ) -> SentinelClient {
        let base = format!(
            "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}/providers/Microsoft.SecurityInsights",
            endpoints.arm.as_str().trim_end_matches('/'),
            cfg.subscription_id,
            cfg.resource_group,
            cfg.workspace_name
        );
        SentinelClient {
            arm: AzureApi::new(
                "Azure Resource Manager",
                http.clone(),
                &scopes.arm,
                tokens.clone(),
                explain_arm_forbidden,
            ),
            la: AzureApi::new("Log Analytics", http, &scopes.log_analytics, tokens, explain_la_forbidden),
            la_base: endpoints.log_analytics.as_str().trim_end_matches('/').to_string(),
            base,
            cfg,
        }
    }

    fn url(&self, path: &str, extra: &[(&str, String)]) -> String {
        let mut u = Url::parse(&format!("{}{path}", self.base)).expect("valid ARM URL");
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("api-version", &self.cfg.api_version);
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        u.to_string()
    }

    /// Incidents modified since `since` (first page); `nextLink` is followed verbatim.
    pub fn incidents_since_url(&self, since: OffsetDateTime, top: u32) -> String {
        self.url(
            "/incidents",
            &[
                ("$filter", format!("properties/lastModifiedTimeUtc ge {}", timefmt::odata(since))),
                ("$top", top.min(1000).to_string()),
            ],
        )
    }

    pub async fn get_json(&self, url: &str) -> Result<Value, UpstreamError> {
        self.arm.call(reqwest::Method::GET, url, None, true, Duration::from_secs(120)).await
    }

    pub async fn get_incident(&self, name: &str) -> Result<Value, UpstreamError> {
        self.arm
            .call(reqwest::Method::GET, &self.url(&format!("/incidents/{name}"), &[]), None, true, JOB_RETRY_BUDGET)
            .await
    }

    pub async fn put_incident(&self, name: &str, body: &Value) -> Result<Value, UpstreamError> {
        // Conditional on the etag in the body; a 409 is handled by the caller (re-read).
        self.arm
            .call(
                reqwest::Method::PUT,
                &self.url(&format!("/incidents/{name}"), &[]),
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
                &self.url(&format!("/incidents/{name}/alerts"), &[]),
                Some(json!({})),
                true,
                Duration::from_secs(60),
            )
            .await?;
        Ok(v.get("value").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// Comments have client-chosen ids: a retried PUT updates instead of duplicating.
    pub async fn put_comment(&self, incident: &str, id: &str, message: &str) -> Result<Value, UpstreamError> {
        let body = json!({"properties": {"message": message}});
        self.arm
            .call(
                reqwest::Method::PUT,
                &self.url(&format!("/incidents/{incident}/comments/{id}"), &[]),
                Some(body),
                true,
                JOB_RETRY_BUDGET,
            )
            .await
    }

    fn query_url(&self) -> Option<String> {
        self.cfg.workspace_id.as_ref().map(|id| format!("{}/v1/workspaces/{id}/query", self.la_base))
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

/// Payload of a Sentinel page job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageJob {
    pub workspace: String,
    pub incident: Value,
    pub alerts: Vec<Value>,
    /// Per-alert mode: the alert this page is for.
    #[serde(default)]
    pub alert: Option<Value>,
}

/// Payload of a Sentinel write-back job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncJob {
    pub workspace: String,
    pub sync: AlertSync,
    /// Also (re)apply the configured label.
    #[serde(default)]
    pub label: bool,
}

fn merge_sync_job(old: &str, new: &str) -> String {
    match (serde_json::from_str::<SyncJob>(old), serde_json::from_str::<SyncJob>(new)) {
        (Ok(o), Ok(n)) => serde_json::to_string(&SyncJob {
            workspace: n.workspace,
            sync: o.sync.merge(n.sync),
            label: o.label || n.label,
        })
        .unwrap_or_else(|_| new.to_string()),
        _ => new.to_string(),
    }
}

/// A coalescing Sentinel write-back job.
pub fn sync_job(tenant: &str, workspace: &str, external_id: &str, sync: AlertSync, label: bool) -> NewJob {
    let payload = SyncJob { workspace: workspace.to_string(), sync, label };
    NewJob::coalescing(
        tenant,
        JOB_SENTINEL_SYNC,
        format!("ssync:{external_id}"),
        serde_json::to_string(&payload).unwrap_or_default(),
        merge_sync_job,
    )
}

/// Whether an incident pages (status and severity filters).
pub fn incident_pages(ws: &SentinelConfig, inc: &Incident) -> bool {
    ws.statuses.iter().any(|s| s.eq_ignore_ascii_case(&inc.status)) && inc.severity.rank() >= ws.min_severity.rank()
}

/// One sweep of a workspace's incidents. Returns (incidents read, jobs queued).
pub async fn sweep(
    tenant: &TenantConfig,
    client: &SentinelClient,
    store: &Arc<dyn Store>,
    overlap: Duration,
) -> anyhow::Result<(usize, usize)> {
    let ws = &client.cfg;
    let source = model::source(&ws.name);
    let now = OffsetDateTime::now_utc();
    let stored = store.get_cursor(&tenant.name, &source).await?;
    let cursor = stored.as_deref().and_then(timefmt::parse).unwrap_or(now - tenant.lookback);
    let mut newest = cursor;
    let mut url = client.incidents_since_url(cursor - overlap, tenant.page_size);
    let (mut read, mut queued) = (0usize, 0usize);
    loop {
        let v = client.get_json(&url).await?;
        let incidents: Vec<Incident> = v
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .cloned()
            .filter_map(Incident::from_json)
            .collect();
        read += incidents.len();
        let names: Vec<String> = incidents.iter().map(|i| i.name.clone()).collect();
        let prior: std::collections::HashMap<String, StoredAlert> = store
            .get_alerts(&tenant.name, &source, &names)
            .await?
            .into_iter()
            .map(|a| (a.record.alert_id.clone(), a))
            .collect();
        let mut items = Vec::new();
        for inc in &incidents {
            newest = newest.max(inc.last_modified);
            let record = AlertRecord {
                tenant: tenant.name.clone(),
                source: source.clone(),
                alert_id: inc.name.clone(),
                version: inc.version(),
                status: inc.status.clone(),
                severity: inc.severity.key().to_string(),
                incident_id: None,
                raw: inc.raw.to_string(),
            };
            let p = prior.get(&inc.name);
            let mut item = IngestItem::new(record, None);
            let already = p.is_some_and(|p| p.paged);
            if !already && incident_pages(ws, inc) {
                let alerts = client.incident_alerts(&inc.name).await?;
                let ext = keys::external_id(&tenant.name, &source, &inc.name);
                match ws.page_per {
                    PagePer::Incident => {
                        let job =
                            PageJob { workspace: ws.name.clone(), incident: inc.raw.clone(), alerts, alert: None };
                        item.page = Some(NewJob::once(
                            &tenant.name,
                            JOB_SENTINEL_PAGE,
                            keys::page_job_key(&ext),
                            serde_json::to_string(&job)?,
                        ));
                    }
                    PagePer::Alert => {
                        // The incident row is marked paged; each alert gets its own row and page.
                        item.update.paged = Some(true);
                        for a in &alerts {
                            let Some(sa) = SentinelAlert::from_json(a.clone()) else { continue };
                            let asrc = model::alert_source(&ws.name);
                            let aext = keys::external_id(&tenant.name, &asrc, &sa.system_alert_id);
                            let job = PageJob {
                                workspace: ws.name.clone(),
                                incident: inc.raw.clone(),
                                alerts: alerts.clone(),
                                alert: Some(a.clone()),
                            };
                            let rec = AlertRecord {
                                tenant: tenant.name.clone(),
                                source: asrc,
                                alert_id: sa.system_alert_id.clone(),
                                version: inc.version(),
                                status: "New".into(),
                                severity: sa.severity.key().to_string(),
                                incident_id: Some(inc.name.clone()),
                                raw: a.to_string(),
                            };
                            items.push(IngestItem::new(
                                rec,
                                Some(NewJob::once(
                                    &tenant.name,
                                    JOB_SENTINEL_PAGE,
                                    keys::page_job_key(&aext),
                                    serde_json::to_string(&job)?,
                                )),
                            ));
                        }
                    }
                }
            }
            // Closed in the portal (not by us) → close in SIGNL4.
            if let Some(p) = p.filter(|p| p.paged && p.record.version != inc.version()) {
                let closing = |state: &str, written: Option<&str>| {
                    sync::portal_change(
                        Signl4State::parse(state),
                        written,
                        &inc.as_alert_status(),
                        tenant.sync.ack_on_in_progress,
                    )
                };
                match ws.page_per {
                    PagePer::Incident => {
                        if let Some(action) = closing(&p.signl4_state, p.written_status.as_deref()) {
                            let ext = keys::external_id(&tenant.name, &source, &inc.name);
                            let (st, new_state) = match action {
                                sync::PortalAction::Resolve => ("resolved", Signl4State::ClosedByPortal),
                                sync::PortalAction::Acknowledge => ("acknowledged", Signl4State::AcknowledgedByPortal),
                            };
                            item.jobs.push(signl4_status_job(&tenant.name, &ext, st));
                            item.update.signl4_state = Some(new_state.as_str().into());
                        }
                    }
                    PagePer::Alert => {
                        if inc.status == "Closed" {
                            for a in store.incident_alerts(&tenant.name, &inc.name).await? {
                                if sync::incident_closes_alert(
                                    "resolved",
                                    Signl4State::parse(&a.signl4_state),
                                    a.written_status.as_deref(),
                                ) {
                                    let aext = keys::external_id(&tenant.name, &a.record.source, &a.record.alert_id);
                                    let mut it = IngestItem::new(a.record.clone(), None);
                                    it.jobs.push(signl4_status_job(&tenant.name, &aext, "resolved"));
                                    it.update.signl4_state = Some(Signl4State::ClosedByPortal.as_str().into());
                                    items.push(it);
                                }
                            }
                        }
                    }
                }
            }
            if crate::poller::unchanged(p, &item) {
                continue;
            }
            queued += item.jobs.len() + usize::from(item.page.is_some());
            items.push(item);
        }
        store.ingest(&items, timefmt::millis(OffsetDateTime::now_utc())).await?;
        match v.get("nextLink").and_then(Value::as_str) {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    if newest > cursor || stored.is_none() {
        store
            .set_cursor(&tenant.name, &source, &timefmt::odata(newest), timefmt::millis(OffsetDateTime::now_utc()))
            .await?;
    }
    Ok((read, queued))
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

/// Applies a write-back to the incident: GET, compute the full PUT body, PUT with the etag; on
/// 409 (someone changed it meanwhile) re-read and re-apply, up to 5 times. Then the comments,
/// with ids derived from their refs.
pub async fn write_back(
    client: &SentinelClient,
    store: &Arc<dyn Store>,
    key: &AlertKey,
    incident: &str,
    intent: &AlertSync,
    label: bool,
) -> Result<(bool, usize), UpstreamError> {
    let label = if label { client.cfg.label.clone() } else { None };
    let mut wrote = false;
    for attempt in 0..5 {
        let current = client.get_incident(incident).await?;
        let Some(body) = model::incident_put(&current, intent, &client.cfg, label.as_deref()) else { break };
        if let Some(status) = intent.status.as_deref()
            && body.pointer("/properties/status") != current.pointer("/properties/status")
        {
            // Recorded before the write: the sweep then recognises the change as our echo.
            let u = AlertUpdate { written_status: Some(status.to_string()), ..Default::default() };
            store
                .update_alert(key, &u, timefmt::millis(OffsetDateTime::now_utc()))
                .await
                .map_err(|e| UpstreamError::Invalid { service: "database", message: e.to_string() })?;
        }
        match client.put_incident(incident, &body).await {
            Ok(_) => {
                wrote = true;
                break;
            }
            Err(e) if e.status() == Some(409) && attempt < 4 => {
                metrics::counter!("s4s_sentinel_conflicts_total").increment(1);
                tracing::debug!(incident, "incident changed meanwhile (409); re-reading");
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    for c in &intent.comments {
        client.put_comment(incident, &model::comment_id(&c.r#ref), &c.text).await?;
    }
    Ok((wrote, intent.comments.len()))
}
