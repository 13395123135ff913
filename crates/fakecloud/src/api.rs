//! What tests and the demo do with a running [`FakeCloud`] in-process: seed tenants, teams,
//! workspaces and rules, act as a person in the portals or a SIGNL4 responder, inject faults,
//! change settings and limits, and read back what each fake service received.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::outbound::Action;
use crate::reqlog::{Api, RequestRecord};
use crate::state::{
    AcceptedAssertion, Delivery, EventStatus, Fault, FaultKind, IssuedToken, Outbound, ReceivedEvent, Responder,
    Service, Settings, Signl4Alert, Signl4Event,
};
use crate::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DCR, DEFAULT_RESOURCE_GROUP, DEFAULT_STREAM,
    DEFAULT_SUBSCRIPTION, DEFAULT_TEAM_SECRET, DEFAULT_TENANT_ID, DEFAULT_WORKSPACE, DEFAULT_WORKSPACE_ID, FakeCloud,
    FederatedCredential, Limits, TOKEN_EXCHANGE_AUDIENCE, control, expire_all_tokens, graph, ingestion, outbound,
    reqlog, scenarios, sentinel, state,
};

impl FakeCloud {
    /// Creates the tenant, app (with SecurityAlert/SecurityIncident ReadWrite roles) and SIGNL4
    /// team of the example configuration (`crates/core/example.toml`).
    pub fn seed_defaults(&self) {
        self.add_tenant(DEFAULT_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET);
        self.add_team(DEFAULT_TEAM_SECRET);
        self.add_workspace(
            DEFAULT_TENANT_ID,
            DEFAULT_SUBSCRIPTION,
            DEFAULT_RESOURCE_GROUP,
            DEFAULT_WORKSPACE,
            DEFAULT_WORKSPACE_ID,
        );
        self.add_query_result(DEFAULT_WORKSPACE, "SigninLogs", scenarios::brute_force_results());
        self.add_dcr(DEFAULT_DCR, &[DEFAULT_STREAM], &[DEFAULT_CLIENT_ID]);
    }

    /// Creates a data collection rule with `streams`, on which the apps `publishers` hold
    /// *Monitoring Metrics Publisher* (replaces one with the same id).
    pub fn add_dcr(&self, immutable_id: &str, streams: &[&str], publishers: &[&str]) {
        self.state.lock().dcrs.insert(
            immutable_id.to_string(),
            ingestion::Dcr {
                streams: streams.iter().map(|s| s.to_string()).collect(),
                publishers: publishers.iter().map(|s| s.to_string()).collect(),
                rows: Vec::new(),
            },
        );
    }

    /// Replaces the apps holding *Monitoring Metrics Publisher* on a rule (none: every upload
    /// is answered 403, as before a role assignment has propagated).
    pub fn set_dcr_publishers(&self, immutable_id: &str, publishers: &[&str]) {
        if let Some(d) = self.state.lock().dcrs.get_mut(immutable_id) {
            d.publishers = publishers.iter().map(|s| s.to_string()).collect();
        }
    }

    /// The rows a rule's stream received, in arrival order (repeats included: the service
    /// does not deduplicate).
    pub fn ingested_rows(&self, immutable_id: &str, stream: &str) -> Vec<Value> {
        self.state
            .lock()
            .dcrs
            .get(immutable_id)
            .map(|d| d.rows.iter().filter(|(s, _)| s == stream).map(|(_, r)| r.clone()).collect())
            .unwrap_or_default()
    }

    pub fn add_tenant(&self, tenant_id: &str, client_id: &str, client_secret: &str) {
        control::add_tenant(
            &self.state,
            control::NewTenant {
                tenant_id: tenant_id.into(),
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                roles: None,
            },
        );
    }

    /// Registers a certificate (DER) on app `client_id`: certificate assertions it signs are
    /// accepted in every tenant the app is in (one registration, many consenting tenants).
    pub fn add_app_certificate(&self, client_id: &str, cert_der: &[u8]) {
        self.state.lock().entra.add_certificate(client_id, cert_der);
    }

    /// Adds a federated identity credential to app `client_id` (audience
    /// `api://AzureADTokenExchange`), as for AKS workload identity.
    pub fn add_federated_credential(&self, client_id: &str, issuer: &str, subject: &str) {
        self.state.lock().entra.add_federated(
            client_id,
            FederatedCredential {
                issuer: issuer.into(),
                subject: subject.into(),
                audience: TOKEN_EXCHANGE_AUDIENCE.into(),
            },
        );
    }

    /// A projected service-account token from the fake cluster issuer `issuer` for
    /// `subject` (`system:serviceaccount:NS:NAME`), valid for `lifetime`.
    pub fn federated_token(&self, issuer: &str, subject: &str, lifetime: Duration) -> String {
        self.state.lock().entra.federated_token(issuer, subject, lifetime)
    }

    /// Refuses a federated token from now on (as if it had expired).
    pub fn revoke_federated_token(&self, token: &str) {
        self.state.lock().entra.revoke(token);
    }

    /// Creates managed identity `client_id` in `tenant` (an app without a secret, with the
    /// default Graph roles) and attaches it to the fake host that IMDS and the App Service
    /// endpoint serve: `system_assigned` answers requests without a `client_id`.
    pub fn add_managed_identity(&self, tenant: &str, client_id: &str, system_assigned: bool) {
        self.add_tenant(tenant, client_id, "");
        self.state.lock().entra.attach_identity(tenant, client_id, system_assigned);
    }

    /// The `IDENTITY_HEADER` value the fake App Service identity endpoint expects.
    pub fn identity_header(&self) -> String {
        self.state.lock().entra.identity_header()
    }

    /// Client assertions the token endpoint accepted, oldest first.
    pub fn accepted_assertions(&self) -> Vec<AcceptedAssertion> {
        self.state.lock().entra.accepted.clone()
    }

    /// Every access token issued, oldest first: to whom, how, for what, with which roles.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.state.lock().entra.issued.clone()
    }

    /// Replaces an app's granted roles (to test missing consent).
    pub fn set_roles(&self, tenant_id: &str, client_id: &str, roles: &[&str]) {
        let mut st = self.state.lock();
        if let Some(app) = st.tenants.get_mut(tenant_id).and_then(|t| t.apps.get_mut(client_id)) {
            app.roles = roles.iter().map(|s| s.to_string()).collect();
        }
    }

    pub fn add_team(&self, secret: &str) {
        control::add_team(&mut self.state.lock(), secret);
    }

    /// Accepts `key` as a SIGNL4 API key for the team's REST API.
    pub fn add_api_key(&self, team_secret: &str, key: &str) {
        if let Some(t) = self.state.lock().teams.get_mut(team_secret) {
            t.api_keys.push(key.to_string());
        }
    }

    /// Adds an alert as a security product would; returns it with id and timestamps.
    pub fn add_alert(&self, tenant_id: &str, alert: Value) -> Value {
        graph::insert_alert(&mut self.state.lock(), tenant_id, alert).expect("fake cloud: add_alert on a known tenant")
    }

    /// Adds many alerts under one lock (bursts).
    pub fn add_alerts(&self, tenant_id: &str, alerts: impl IntoIterator<Item = Value>) -> Vec<Value> {
        let mut st = self.state.lock();
        alerts
            .into_iter()
            .map(|a| graph::insert_alert(&mut st, tenant_id, a).expect("fake cloud: add_alerts on a known tenant"))
            .collect()
    }

    /// Changes an alert as an analyst in the portal would.
    pub fn update_alert(&self, tenant_id: &str, id: &str, changes: Value) -> Option<Value> {
        let Value::Object(m) = changes else { return None };
        graph::modify_alert(&mut self.state.lock(), tenant_id, id, &m)
    }

    /// Adds a Sentinel workspace owned by `tenant_id` (ARM name `name`, Log Analytics id
    /// `workspace_id`).
    pub fn add_workspace(
        &self,
        tenant_id: &str,
        subscription: &str,
        resource_group: &str,
        name: &str,
        workspace_id: &str,
    ) {
        self.state.lock().workspaces.insert(
            name.to_string(),
            state::Workspace {
                tenant: tenant_id.into(),
                subscription: subscription.into(),
                resource_group: resource_group.into(),
                name: name.into(),
                workspace_id: workspace_id.into(),
                ..Default::default()
            },
        );
    }

    /// Replaces the Azure roles app `client_id` holds on a workspace (default: *Microsoft
    /// Sentinel Responder* and *Log Analytics Reader*); `&[]`: no role assignment, so ARM
    /// answers 403 `AuthorizationFailed` and Log Analytics 403 `InsufficientAccessError`.
    pub fn set_workspace_roles(&self, workspace: &str, client_id: &str, roles: &[&str]) {
        if let Some(ws) = self.state.lock().workspaces.get_mut(workspace) {
            ws.role_assignments.insert(client_id.to_ascii_lowercase(), roles.iter().map(|s| s.to_string()).collect());
        }
    }

    /// Creates a Sentinel incident with its alerts (as an analytics rule would).
    pub fn add_sentinel_incident(&self, workspace: &str, incident: Value, alerts: Vec<Value>) -> Value {
        sentinel::insert_incident(&mut self.state.lock(), workspace, incident, alerts)
            .expect("fake cloud: known workspace")
    }

    /// Names of a workspace's incidents.
    pub fn sentinel_incident_names(&self, workspace: &str) -> Vec<String> {
        self.state.lock().workspaces.get(workspace).map(|w| w.incidents.keys().cloned().collect()).unwrap_or_default()
    }

    pub fn sentinel_incident(&self, workspace: &str, name: &str) -> Option<Value> {
        self.state.lock().workspaces.get(workspace)?.incidents.get(name).cloned()
    }

    /// A person edits incident properties in the portal (new etag).
    pub fn update_sentinel_incident(&self, workspace: &str, name: &str, changes: Value) -> Option<Value> {
        sentinel::modify_incident(&mut self.state.lock(), workspace, name, &changes)
    }

    /// A person's edit that lands between the next GET and PUT of this incident (409 path).
    pub fn interleave_sentinel_edit(&self, workspace: &str, name: &str, changes: Value) {
        if let Some(ws) = self.state.lock().workspaces.get_mut(workspace) {
            ws.interleaved_edits.push((name.to_string(), changes));
        }
    }

    /// Comments of a Sentinel incident, oldest first.
    /// An analyst comments on the incident in the portal ([`sentinel::add_portal_comment`]).
    pub fn add_sentinel_portal_comment(
        &self,
        workspace: &str,
        name: &str,
        author: &str,
        message: &str,
    ) -> Option<Value> {
        sentinel::add_portal_comment(&mut self.state.lock(), workspace, name, author, message, true)
    }

    /// The same comment, but the incident's `lastModifiedTimeUtc` and etag stay as they were
    /// (the other way the real service may behave): the incident is not listed as changed.
    pub fn add_sentinel_portal_comment_unlisted(
        &self,
        workspace: &str,
        name: &str,
        author: &str,
        message: &str,
    ) -> Option<Value> {
        sentinel::add_portal_comment(&mut self.state.lock(), workspace, name, author, message, false)
    }

    pub fn sentinel_comments(&self, workspace: &str, name: &str) -> Vec<Value> {
        let st = self.state.lock();
        let mut v: Vec<Value> = st
            .workspaces
            .get(workspace)
            .and_then(|w| w.comments.get(name))
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| {
            a.pointer("/properties/createdTimeUtc")
                .and_then(Value::as_str)
                .cmp(&b.pointer("/properties/createdTimeUtc").and_then(Value::as_str))
        });
        v
    }

    /// Registers a `SecurityAlert` row (its `ExtendedProperties` JSON string) for lookups by
    /// SystemAlertId, as for scheduled-rule alerts whose ARM `additionalData` lacks the query.
    pub fn add_security_alert(&self, workspace: &str, system_alert_id: &str, extended_properties: &str) {
        if let Some(ws) = self.state.lock().workspaces.get_mut(workspace) {
            ws.security_alerts.insert(system_alert_id.to_string(), extended_properties.to_string());
        }
    }

    /// Log Analytics answers queries containing `needle` with `response` (a query-API body:
    /// `{"tables": [...]}`, optionally with `"error": {"code": "PartialError", …}`; or
    /// `{"status": 400}` for a BadArgumentError).
    pub fn add_query_result(&self, workspace: &str, needle: &str, response: Value) {
        if let Some(ws) = self.state.lock().workspaces.get_mut(workspace) {
            ws.queries.push((needle.to_string(), response));
        }
    }

    /// Sends this team's outbound webhooks to `url`, optionally with virtual responders.
    pub fn set_outbound(&self, team_secret: &str, outbound: Option<Outbound>) {
        if let Some(t) = self.state.lock().teams.get_mut(team_secret) {
            if let Some(p) = outbound.as_ref().and_then(|o| o.responders.as_ref()) {
                t.remember_user(&p.user);
            }
            t.outbound = outbound;
        }
    }

    /// What SIGNL4 makes of the team's next `new` events (`signl4.md` §2.4): an alert
    /// delivered ([`Delivery::Signled`], the default), an alert nobody gets
    /// ([`Delivery::NobodyOnDuty`], [`Delivery::NobodyNotified`]) or no alert at all.
    pub fn set_delivery(&self, team_secret: &str, delivery: Delivery) {
        if let Some(t) = self.state.lock().teams.get_mut(team_secret) {
            t.delivery = delivery;
        }
    }

    /// The status `GET /api/v2/events/{event_id}` answers now ([`EventStatus::Processing`]
    /// until processed), for an event of any team; None for an unknown id.
    pub fn event_status(&self, event_id: &str) -> Option<EventStatus> {
        let st = self.state.lock();
        st.teams.values().flat_map(|t| t.events.iter()).find(|e| e.event_id == event_id).map(|e| e.status)
    }

    /// The events SIGNL4 made of a team's webhook requests, in order.
    pub fn signl4_events(&self, team_secret: &str) -> Vec<Signl4Event> {
        self.state.lock().teams.get(team_secret).map(|t| t.events.clone()).unwrap_or_default()
    }

    /// The team's users as `GET /api/v2/users` lists them: [`Responder::default`], then every
    /// user of a responder plan or an action, and those added with
    /// [`FakeCloud::add_signl4_user`].
    pub fn signl4_users(&self, team_secret: &str) -> Vec<Responder> {
        self.state.lock().teams.get(team_secret).map(|t| t.all_users()).unwrap_or_default()
    }

    /// Adds a user to the team (listed by `GET /api/v2/users`).
    pub fn add_signl4_user(&self, team_secret: &str, user: Responder) {
        if let Some(t) = self.state.lock().teams.get_mut(team_secret) {
            t.remember_user(&user);
        }
    }

    /// A responder acts on a SIGNL4 alert (by external id); the outbound event is delivered
    /// before this returns. Returns the event id, or None if the action does not apply.
    pub async fn signl4_action(&self, team_secret: &str, external_id: &str, action: Action) -> Option<String> {
        outbound::apply(&self.state, team_secret, external_id, action).await
    }

    /// Outbound events emitted for a team, in order.
    pub fn outbound_events(&self, team_secret: &str) -> Vec<Value> {
        self.state.lock().teams.get(team_secret).map(|t| t.outbound_log.clone()).unwrap_or_default()
    }

    /// A Graph incident as stored.
    pub fn incident(&self, tenant_id: &str, id: &str) -> Option<Value> {
        self.state.lock().tenants.get(tenant_id)?.incidents.get(id).cloned()
    }

    /// Changes an incident as an analyst in the portal would (resolving it resolves its
    /// alerts; `{"status": "redirected", "redirectIncidentId": "…"}` redirects it).
    pub fn update_incident(&self, tenant_id: &str, id: &str, changes: Value) -> Option<Value> {
        let Value::Object(m) = changes else { return None };
        graph::modify_incident(&mut self.state.lock(), tenant_id, id, &m)
    }

    pub fn alert(&self, tenant_id: &str, id: &str) -> Option<Value> {
        let st = self.state.lock();
        let t = st.tenants.get(tenant_id)?;
        t.alert_index.get(id).map(|i| t.alerts[*i].clone())
    }

    /// Everything the SIGNL4 team's webhook accepted, in order.
    pub fn received(&self, team_secret: &str) -> Vec<ReceivedEvent> {
        self.state.lock().teams.get(team_secret).map(|t| t.received.clone()).unwrap_or_default()
    }

    /// Number of accepted `new` events per external id.
    pub fn pages_by_external_id(&self, team_secret: &str) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for e in self.received(team_secret) {
            if e.status == "new"
                && let Some(x) = e.external_id
            {
                *m.entry(x).or_default() += 1;
            }
        }
        m
    }

    /// SIGNL4 alerts of a team by external id, with their status.
    pub fn signl4_alerts(&self, team_secret: &str) -> BTreeMap<String, Signl4Alert> {
        self.state.lock().teams.get(team_secret).map(|t| t.alerts.clone()).unwrap_or_default()
    }

    /// For each page received: time from the alert's (latest) visibility in Graph to SIGNL4's
    /// receipt. The alert id is the last `:`-separated part of the external id.
    pub fn page_latencies(&self, team_secret: &str) -> Vec<Duration> {
        let st = self.state.lock();
        let Some(team) = st.teams.get(team_secret) else { return Vec::new() };
        let mut out = Vec::new();
        for e in team.received.iter().filter(|e| e.status == "new") {
            let Some(ext) = &e.external_id else { continue };
            let id = ext.rsplit(':').next().unwrap_or("");
            let visible = st.tenants.values().find_map(|t| t.visible_at.get(id));
            if let (Some(v), Some(at)) = (visible, e.at) {
                out.push(at.saturating_duration_since(*v));
            }
        }
        out
    }

    pub fn inject(&self, fault: Fault) {
        self.state.lock().faults.push(fault);
    }

    /// Every listing answer of `service` (Graph or ARM) names `link` as its next page (`None`:
    /// back to the real next links). Also `PUT /_control/next_link/{service}` with
    /// `{"url": …}` (`DELETE` to clear).
    pub fn set_next_link_override(&self, service: Service, link: Option<&str>) {
        let mut st = self.state.lock();
        match link {
            Some(l) => st.next_link_overrides.insert(service, l.to_string()),
            None => st.next_link_overrides.remove(&service),
        };
    }

    /// Adds `headers` to the next `count` answers of `service` (see [`FaultKind::Headers`]).
    pub fn inject_headers(&self, service: Service, headers: &[(&str, &str)], count: u32) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.inject(Fault { service, kind: FaultKind::Headers { headers }, count });
    }

    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Changes settings. A change to a field that mirrors [`Limits`]
    /// (`graph_requests_per_minute`, `signl4_events_per_15s`, `signl4_events_per_minute`)
    /// changes that window of the limits.
    pub fn configure(&self, f: impl FnOnce(&mut Settings)) {
        let mut st = self.state.lock();
        let before = st.settings.clone();
        f(&mut st.settings);
        st.settings.reconcile(&before);
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.state.lock().settings.limits.clone()
    }

    /// Replaces every limit ([`Limits::documented`], [`Limits::off`], or your own). Requests
    /// already counted stay counted.
    pub fn set_limits(&self, limits: Limits) {
        let mut st = self.state.lock();
        st.settings.limits = limits;
        st.settings.mirror_limits();
    }

    /// Changes some limits: `f.update_limits(|l| l.graph = vec![Window::new(4, secs(10))])`.
    pub fn update_limits(&self, f: impl FnOnce(&mut Limits)) {
        let mut st = self.state.lock();
        f(&mut st.settings.limits);
        st.settings.mirror_limits();
    }

    /// Every request to `api` so far, by arrival.
    pub fn request_log(&self, api: Api) -> Vec<RequestRecord> {
        self.state.lock().log.of(api)
    }

    /// Empties the request log.
    pub fn clear_request_log(&self) {
        self.state.lock().log.records.clear();
    }

    /// The most requests of `tenant` (Entra tenant, or SIGNL4 team id — see
    /// [`FakeCloud::team_id`]) to `api` that arrived within any `window`, whatever the answer.
    pub fn max_in_window(&self, api: Api, tenant: &str, window: Duration) -> usize {
        reqlog::max_in_window(self.request_log(api), tenant, window)
    }

    /// Requests of `tenant` to `api` that arrived after a 429 was answered and before its
    /// `Retry-After` elapsed (for SIGNL4: before its block ended). Requests already in flight
    /// when the 429 went out can show up too.
    pub fn requests_during_retry_after(&self, api: Api, tenant: &str) -> Vec<RequestRecord> {
        reqlog::during_retry_after(self.request_log(api), tenant)
    }

    /// How many requests to `api` were answered 429.
    pub fn throttled_count(&self, api: Api) -> usize {
        self.state.lock().log.records.iter().filter(|r| r.api == api && r.status == 429).count()
    }

    /// The SIGNL4 team id of a team secret (the `tenant` of its logged requests).
    pub fn team_id(&self, team_secret: &str) -> Option<String> {
        self.state.lock().teams.get(team_secret).map(|t| t.team_id.clone())
    }

    /// Makes every issued access token expire now (the next API call gets 401).
    pub fn expire_tokens(&self) {
        expire_all_tokens(&self.state);
    }

    /// Requests served so far, by route (`graph.alerts.list`, `entra.token`, …; requests the
    /// limits refused count as `graph.throttled`, `arm.throttled`, `signl4.throttled`, …).
    /// For timestamps and answers see [`FakeCloud::request_log`].
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.state.lock().requests.clone()
    }
}
