//! SIGNL4 REST API client (`X-S4-Api-Key`, `signl4.md` §2): alerts modified since a time
//! (paged by continuation token), an alert's annotations, users (to turn V2's user ids into
//! e-mail addresses, cached), an alert by its external id (in-doubt pages) and an event's
//! status (delivery verification).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use s4s_core::signl4::rest::{self, RestAlert};
use s4s_core::signl4::user::User;
use s4s_core::timefmt;

use s4s_core::origin::Origin;

use crate::clients::http::{UpstreamError, checked_request, origin_of, push_segments, summarize_body};
use crate::clients::scheduler::Scheduler;

const SERVICE: &str = "SIGNL4 API";

pub struct Signl4Api {
    http: reqwest::Client,
    /// The configured API base; every URL is built from it by pushing segments.
    base: Url,
    /// Its origin: the API key is sent nowhere else.
    origin: Origin,
    key: SecretString,
    team_id: Option<String>,
    /// SIGNL4's REST limits for this team (`signl4.md` §1.7).
    sched: Arc<Scheduler>,
    /// `GET /v2/users` by id, with when it was read.
    users: Mutex<Option<(Instant, HashMap<String, User>)>>,
}

/// Users are re-read at most this often when an unknown id shows up, and at least this often
/// (`USERS_MAX_AGE`) otherwise.
const USERS_MIN_AGE: Duration = Duration::from_secs(60);
const USERS_MAX_AGE: Duration = Duration::from_secs(600);

impl Signl4Api {
    pub fn new(
        http: reqwest::Client,
        api_base: &Url,
        key: SecretString,
        team_id: Option<String>,
        sched: Arc<Scheduler>,
    ) -> Signl4Api {
        Signl4Api {
            http,
            base: api_base.clone(),
            origin: origin_of(api_base),
            key,
            team_id,
            sched,
            users: Mutex::new(None),
        }
    }

    /// `{base}/{segments…}`, each pushed (an alert id `../x` stays one encoded segment).
    fn api_url(&self, segments: &[&str]) -> Result<Url, UpstreamError> {
        let mut u = self.base.clone();
        push_segments(SERVICE, &mut u, segments)?;
        Ok(u)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Option<Value>, UpstreamError> {
        let req = req
            .header("X-S4-Api-Key", self.key.expose_secret())
            .build()
            .map_err(|e| UpstreamError::network(SERVICE, e))?;
        // The API key goes to the configured API origin only, checked before anything is sent.
        checked_request(SERVICE, &self.origin, &req)?;
        self.sched.acquire().await?;
        let resp = self.http.execute(req).await.map_err(|e| UpstreamError::network(SERVICE, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.sched.observe(status, &headers);
        let text = resp.text().await.map_err(|e| UpstreamError::network(SERVICE, e))?;
        if status == 204 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            let mut msg = s4s_core::redact::scrub(&summarize_body(&text), &[self.key.expose_secret()]);
            if status == 401 || status == 403 {
                msg = format!("{msg} — check tenant.signl4.api_key (SIGNL4 → Integrations → API Keys)");
            }
            return Err(UpstreamError::from_response("SIGNL4 API", status, &headers, msg));
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| UpstreamError::Invalid { service: "SIGNL4 API", message: format!("invalid JSON: {e}") })
    }

    /// Alerts modified since `since`, following `hasMore` / `continuationToken`.
    pub async fn alerts_modified_since(&self, since: OffsetDateTime) -> Result<Vec<Value>, UpstreamError> {
        let mut out = Vec::new();
        let mut token = Value::Null;
        for _ in 0..100 {
            let mut body = json!({"modifiedSince": timefmt::odata(since), "continuationToken": token});
            if let Some(t) = &self.team_id {
                body["teamId"] = json!(t);
            }
            let mut url = self.api_url(&["v2", "alerts", "paged"])?;
            url.query_pairs_mut().append_pair("maxResults", "100");
            let Some(page) = self.send(self.http.post(url).json(&body)).await? else { break };
            out.extend(page.get("results").and_then(Value::as_array).cloned().unwrap_or_default());
            let more = page.get("hasMore").and_then(Value::as_bool).unwrap_or(false);
            token = page.get("continuationToken").cloned().unwrap_or(Value::Null);
            if !more || token.is_null() {
                break;
            }
        }
        Ok(out)
    }

    /// SIGNL4 users by id, for resolving the user ids of V2 acknowledgements to e-mail
    /// addresses. Cached; re-read when `wanted` holds an id not seen yet (at most once a
    /// minute) or every 10 minutes. A failed read keeps what is cached (ids then show as they
    /// are) and is logged, never failing the caller.
    pub async fn users(&self, wanted: &[String]) -> HashMap<String, User> {
        let cached = self.users.lock().map(|g| g.clone()).unwrap_or(None);
        let fresh_enough = match &cached {
            Some((at, map)) => {
                let age = at.elapsed();
                age < USERS_MAX_AGE && (age < USERS_MIN_AGE || wanted.iter().all(|id| map.contains_key(id)))
            }
            None => false,
        };
        if fresh_enough || (wanted.is_empty() && cached.is_some()) {
            return cached.map(|c| c.1).unwrap_or_default();
        }
        let url = match self.api_url(&["v2", "users"]) {
            Ok(u) => u,
            Err(_) => return cached.map(|c| c.1).unwrap_or_default(),
        };
        match self.send(self.http.get(url)).await {
            Ok(body) => {
                let map = rest::users_by_id(&body.unwrap_or(Value::Null));
                if let Ok(mut g) = self.users.lock() {
                    *g = Some((Instant::now(), map.clone()));
                }
                map
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read SIGNL4 users (GET /v2/users); acknowledgements show the user id instead of the e-mail");
                if let Ok(mut g) = self.users.lock() {
                    // Do not ask again for a minute.
                    let map = cached.map(|c| c.1).unwrap_or_default();
                    *g = Some((Instant::now(), map.clone()));
                    return map;
                }
                HashMap::new()
            }
        }
    }

    /// `GET /v2/users`, errors returned (`doctor`: does the key work?). The number of users.
    pub async fn probe_users(&self) -> Result<usize, UpstreamError> {
        let url = self.api_url(&["v2", "users"])?;
        let body = self.send(self.http.get(url)).await?;
        Ok(body.as_ref().and_then(Value::as_array).map(Vec::len).unwrap_or(0))
    }

    /// The team's outbound webhooks: `GET /webhooks?teamId=` of the V1 API (`signl4.md` §2.3;
    /// the notes document no V2 listing). None: 204.
    pub async fn outbound_webhooks(&self) -> Result<Option<Value>, UpstreamError> {
        let mut u = self.api_url(&["webhooks"])?;
        if let Some(t) = &self.team_id {
            u.query_pairs_mut().append_pair("teamId", t);
        }
        self.send(self.http.get(u)).await
    }

    /// SIGNL4 alerts whose external id is exactly `external_id` (`POST /v2/alerts/paged` with
    /// `externalId`, `signl4.md` §2.4; the filter may match prefixes, so results are compared
    /// here).
    pub async fn alerts_by_external_id(&self, external_id: &str) -> Result<Vec<RestAlert>, UpstreamError> {
        let mut body = json!({"externalId": external_id});
        if let Some(t) = &self.team_id {
            body["teamIds"] = json!([t]);
            body["teamId"] = json!(t);
        }
        let mut url = self.api_url(&["v2", "alerts", "paged"])?;
        url.query_pairs_mut().append_pair("maxResults", "100");
        let page = self.send(self.http.post(url).json(&body)).await?;
        Ok(page.map(|p| rest::exact_matches(&p, external_id)).unwrap_or_default())
    }

    /// `GET /v2/events/{eventId}`: the event's status and targets (None: unknown event).
    pub async fn event(&self, event_id: &str) -> Result<Option<Value>, UpstreamError> {
        self.get_path(&["events", event_id]).await
    }

    /// `GET /v2/alerts/{alertId}` (None: unknown alert).
    pub async fn alert(&self, alert_id: &str) -> Result<Option<RestAlert>, UpstreamError> {
        Ok(self.get_path(&["alerts", alert_id]).await?.as_ref().and_then(RestAlert::from_json))
    }

    async fn get_path(&self, segments: &[&str]) -> Result<Option<Value>, UpstreamError> {
        let mut all = vec!["v2"];
        all.extend_from_slice(segments);
        let u = self.api_url(&all)?;
        match self.send(self.http.get(u)).await {
            Err(UpstreamError::Http { status: 404, .. }) => Ok(None),
            other => other,
        }
    }

    pub async fn annotations(&self, alert_id: &str) -> Result<Value, UpstreamError> {
        let u = self.api_url(&["v2", "alerts", alert_id, "annotations"])?;
        Ok(self.send(self.http.get(u)).await?.unwrap_or(Value::Array(Vec::new())))
    }

    /// `POST /v2/alerts/{alertId}/annotate` with a text annotation (`signl4.md` §2.4).
    pub async fn annotate(&self, alert_id: &str, text: &str) -> Result<(), UpstreamError> {
        let u = self.api_url(&["v2", "alerts", alert_id, "annotate"])?;
        self.send(self.http.post(u).json(&json!({"text": text, "type": 1}))).await?;
        Ok(())
    }
}
