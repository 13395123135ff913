//! The fake cloud's state: tenants with app registrations and alerts, SIGNL4 teams with what
//! they received (webhook requests, the events SIGNL4 made of them, alerts, users), tokens,
//! faults, limiter state, the request log and request counters; Sentinel workspaces, data
//! collection rules and what the fake Entra ID stores (`entra.rs`). Data only: the services that
//! read and change it depend on this module, never the other way.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::limits::{Limiter, Limits, set_window, window_requests};
use crate::reqlog::RequestLog;

mod entra;
pub(crate) use entra::HostIdentity;
pub use entra::{AcceptedAssertion, EntraState, FederatedCredential, IssuedToken};

/// Which fake service a fault or counter applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Entra,
    Graph,
    Signl4,
    /// Azure Resource Manager (Sentinel incidents).
    Arm,
    /// Log Analytics query API.
    LogAnalytics,
    /// Azure Monitor Logs Ingestion API (`SIGNL4_CL`, `ingestion.rs`).
    LogsIngestion,
}

/// An injected fault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this HTTP status (5xx, 4xx) and a service-shaped error body.
    Status { status: u16 },
    /// Delay the response.
    Latency { ms: u64 },
    /// Answer 429 with `Retry-After` (fractional seconds allowed).
    Throttle { retry_after_secs: f64 },
    /// Send headers, then drop the connection mid-body.
    Drop,
    /// Answer with this status and an error body (in the service's shape) that echoes the
    /// whole request — method, URL, every header value, body — as a careless upstream or a
    /// proxy might: whatever the client logs from it must be scrubbed of its secrets.
    Echo { status: u16 },
    /// Add these headers (name, value) to the service's next answers, whatever they are —
    /// set after the service's own (SIGNL4's `X-RateLimit-*` included), so they replace
    /// them. For absurd values: `Retry-After: NaN`, `X-RateLimit-Reset: NaN` with
    /// `X-RateLimit-Remaining: 0`. Combine with a `Status { 429 }` fault for a throttled answer.
    Headers { headers: Vec<(String, String)> },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    pub service: Service,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many requests it applies to.
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    /// Graph application permissions granted (and consented).
    pub roles: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Tenant {
    pub apps: HashMap<String, App>,
    /// Alerts in insertion order.
    pub alerts: Vec<Value>,
    pub alert_index: HashMap<String, usize>,
    /// When each alert (id) first became visible, for time-to-page.
    pub visible_at: HashMap<String, Instant>,
    pub last_ts: Option<OffsetDateTime>,
    pub next_alert_seq: u64,
    /// Graph incidents by id (created when the first alert names them).
    pub incidents: BTreeMap<String, Value>,
}

/// One request SIGNL4's inbound webhook accepted.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedEvent {
    pub event_id: String,
    pub external_id: Option<String>,
    /// `new`, `acknowledged`, `resolved` or something else (discarded by SIGNL4).
    pub status: String,
    pub body: Value,
    #[serde(skip)]
    pub at: Option<Instant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signl4Alert {
    /// The key of [`Team::alerts`]: the `X-S4-ExternalID` as sent, or the event id when the
    /// event had none.
    pub external_id: String,
    /// `X-S4-ExternalID` exactly as sent (None when the event had none): the REST
    /// `externalId` / `externalEventId`.
    pub sent_external_id: Option<String>,
    /// `new`, `acknowledged` or `resolved`.
    pub status: String,
    pub event_id: String,
    /// SIGNL4's alert id (`alert.id` in outbound events).
    pub alert_id: String,
    pub title: String,
    /// The alert text (`Message` / `Body` of the event, `signl4.md` §1.3).
    pub text: String,
    /// Annotations made by responders, in order.
    pub notes: Vec<Note>,
    /// The first responder who acknowledged.
    pub acknowledged_by: Option<Responder>,
    /// Ids of the users who acknowledged, in order (V2 `history.acknowledgements`).
    pub acknowledgements: Vec<String>,
    pub closed_by: Option<Responder>,
    pub created_unix_ms: i64,
    pub acknowledged_unix_ms: Option<i64>,
    pub closed_unix_ms: Option<i64>,
    /// V2 `status.alertDeliveryStatus.statusCode` (`V2.AlertDeliveryStatusCodes`: 6 delivered,
    /// 30 no one on duty, 31 no one notified).
    pub delivery_status: u16,
    #[serde(skip)]
    pub modified: Option<Instant>,
    pub modified_unix_ms: i64,
}

/// How the SIGNL4 REST fake presents an alert (`POST /v2/alerts/paged`,
/// `GET /v2/alerts/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RestShape {
    /// `V2.AlertInfo` (`signl4.md` §2.4): `status` is an object, `externalId`, and the
    /// history names users by id only.
    #[default]
    V2,
    /// The V1 swagger's `AlertInfo` (§2.3) as this fake always served it: numeric `status`,
    /// `externalEventId`, `parameters[]`, `history.acknowledgedBy` / `closedBy` user objects.
    V1,
}

/// Event status codes (`signl4.md` §2.4, `V2.EventStatusCodes`), as `GET /v2/events/{id}`
/// answers them in `eventStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    None,
    Processing,
    Signled,
    Filtered,
    Resolved,
    Discarded,
    Acknowledged,
    Suppressed,
    NoRuleApplied,
    MultipleTargetStatus,
    Error,
}

impl EventStatus {
    /// The number on the wire: 0 none, 1 processing, 2 signled, 3 filtered, 4 resolved,
    /// 5 discarded, 6 acknowledged, 7 suppressed, 8 no rule applied, 9 multiple target
    /// status, 1000 error.
    pub fn code(self) -> u16 {
        match self {
            EventStatus::None => 0,
            EventStatus::Processing => 1,
            EventStatus::Signled => 2,
            EventStatus::Filtered => 3,
            EventStatus::Resolved => 4,
            EventStatus::Discarded => 5,
            EventStatus::Acknowledged => 6,
            EventStatus::Suppressed => 7,
            EventStatus::NoRuleApplied => 8,
            EventStatus::MultipleTargetStatus => 9,
            EventStatus::Error => 1000,
        }
    }

    pub fn from_code(code: u16) -> Option<EventStatus> {
        Some(match code {
            0 => EventStatus::None,
            1 => EventStatus::Processing,
            2 => EventStatus::Signled,
            3 => EventStatus::Filtered,
            4 => EventStatus::Resolved,
            5 => EventStatus::Discarded,
            6 => EventStatus::Acknowledged,
            7 => EventStatus::Suppressed,
            8 => EventStatus::NoRuleApplied,
            9 => EventStatus::MultipleTargetStatus,
            1000 => EventStatus::Error,
            _ => return None,
        })
    }
}

/// What SIGNL4 makes of a team's `new` events (`signl4.md` §2.4: "a 201 does not mean that
/// anybody was paged"). Set per team with [`crate::FakeCloud::set_delivery`] or
/// `PUT /_control/teams/{secret}/delivery` `{"outcome": "nobody_on_duty"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// An alert is created and delivered (event 2 signled, delivery status 6 delivered).
    #[default]
    Signled,
    /// No alert (event 3 filtered).
    Filtered,
    /// No alert (event 7 suppressed, e.g. an alerting pattern with `suppressSignl`).
    Suppressed,
    /// No alert (event 5 discarded).
    Discarded,
    /// No alert (event 8 no rule applied).
    NoRuleApplied,
    /// Event 2 signled; the alert exists with delivery status 30 (no one on duty).
    NobodyOnDuty,
    /// Event 2 signled; the alert exists with delivery status 31 (no one notified).
    NobodyNotified,
}

impl Delivery {
    /// Whether a `new` event creates a SIGNL4 alert.
    pub fn creates_alert(self) -> bool {
        matches!(self, Delivery::Signled | Delivery::NobodyOnDuty | Delivery::NobodyNotified)
    }

    /// The status a `new` event settles in.
    pub fn event_status(self) -> EventStatus {
        match self {
            Delivery::Signled | Delivery::NobodyOnDuty | Delivery::NobodyNotified => EventStatus::Signled,
            Delivery::Filtered => EventStatus::Filtered,
            Delivery::Suppressed => EventStatus::Suppressed,
            Delivery::Discarded => EventStatus::Discarded,
            Delivery::NoRuleApplied => EventStatus::NoRuleApplied,
        }
    }

    /// `status.alertDeliveryStatus.statusCode` of the alert it creates (`V2.AlertDeliveryStatusCodes`).
    pub fn alert_delivery_status(self) -> u16 {
        match self {
            Delivery::NobodyOnDuty => 30,
            Delivery::NobodyNotified => 31,
            _ => 6,
        }
    }

    /// Whether virtual responders ([`ResponderPlan`]) act on its alerts: only when someone
    /// was notified.
    pub fn responders_act(self) -> bool {
        self == Delivery::Signled
    }
}

/// One event SIGNL4 made of an accepted webhook request (`GET /v2/events/{eventId}`,
/// `V2.EventDetails`).
#[derive(Debug, Clone, Serialize)]
pub struct Signl4Event {
    pub event_id: String,
    pub external_id: Option<String>,
    /// `X-S4-Status` as received (`new` when absent or empty).
    pub x_s4_status: String,
    /// [`EventStatus::Processing`] until the fake has processed it
    /// ([`Settings::event_processing_ms`]).
    pub status: EventStatus,
    /// Alerts the event created (`targets[].alertId`).
    pub targets: Vec<String>,
    /// Alerts it acknowledged / closed by external id (`acknowledgedAlerts`, `closedAlerts`).
    pub acknowledged_alerts: Vec<String>,
    pub closed_alerts: Vec<String>,
    pub title: String,
    pub text: String,
    pub created_unix_ms: i64,
    pub modified_unix_ms: i64,
}

/// A webhook request accepted but not processed yet.
#[derive(Debug, Clone)]
pub(crate) struct PendingEvent {
    pub seq: u64,
    pub event_id: String,
    pub external_id: Option<String>,
    pub x_s4_status: String,
    pub title: String,
    pub text: String,
    pub at: Instant,
    pub due: tokio::time::Instant,
}

#[derive(Debug, Default)]
pub struct Team {
    pub received: Vec<ReceivedEvent>,
    /// The events SIGNL4 made of `received`, in order, with their status.
    pub events: Vec<Signl4Event>,
    /// Accepted webhook requests still processing, oldest first.
    pub(crate) pending: VecDeque<PendingEvent>,
    /// What SIGNL4 makes of `new` events.
    pub delivery: Delivery,
    /// SIGNL4 alerts by external id (the newest alert of each).
    pub alerts: BTreeMap<String, Signl4Alert>,
    /// Older alerts whose external id a later `new` event reused: still readable by id and
    /// listed by `alerts/paged`; status changes by external id reach only the newest.
    pub replaced_alerts: Vec<Signl4Alert>,
    /// Users seen in a responder plan or an action, by id (besides [`Responder::default`]).
    pub users: BTreeMap<String, Responder>,
    /// Outbound webhook (SIGNL4 → connector) and virtual responders.
    pub outbound: Option<Outbound>,
    /// Outbound events sent (or attempted), for the REST fallback and for tests.
    pub outbound_log: Vec<Value>,
    /// API keys accepted by the REST subset for this team.
    pub api_keys: Vec<String>,
    pub team_id: String,
}

/// An annotation on a SIGNL4 alert.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub id: String,
    pub text: String,
    pub user: Option<Responder>,
    pub unix_ms: i64,
}

/// A SIGNL4 user, as outbound webhooks show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Responder {
    pub username: String,
    pub mailaddress: String,
    pub id: String,
}

impl Team {
    /// Remembers a user for `GET /v2/users`.
    pub fn remember_user(&mut self, u: &Responder) {
        self.users.entry(u.id.clone()).or_insert_with(|| u.clone());
    }

    /// Every user of the team: [`Responder::default`] first, then the others by id.
    pub fn all_users(&self) -> Vec<Responder> {
        let d = Responder::default();
        let mut out = vec![self.users.get(&d.id).cloned().unwrap_or(d.clone())];
        out.extend(self.users.values().filter(|u| u.id != d.id).cloned());
        out
    }

    /// An alert by SIGNL4 alert id, current or replaced.
    pub fn alert_by_id(&self, alert_id: &str) -> Option<&Signl4Alert> {
        self.alerts.values().chain(self.replaced_alerts.iter()).find(|a| a.alert_id == alert_id)
    }
}

impl Default for Responder {
    fn default() -> Self {
        Responder {
            username: "Rene".into(),
            mailaddress: "rene@signl4.com".into(),
            id: "f0bd5063-9588-51cf-b3d9-94e5647dedc5".into(),
        }
    }
}

/// Virtual responders: after each new alert, acknowledge / annotate / close after delays.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResponderPlan {
    pub user: Responder,
    pub ack_after_ms: Option<u64>,
    pub annotate_after_ms: Option<u64>,
    pub note: String,
    pub close_after_ms: Option<u64>,
}

impl Default for ResponderPlan {
    fn default() -> Self {
        ResponderPlan {
            user: Responder::default(),
            ack_after_ms: Some(300),
            annotate_after_ms: Some(600),
            note: "On it, isolating the device now.".into(),
            close_after_ms: Some(900),
        }
    }
}

/// Where SIGNL4 posts outbound events for a team.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outbound {
    pub url: String,
    #[serde(default)]
    pub responders: Option<ResponderPlan>,
    /// Probability that a delivery is repeated (SIGNL4 may deliver an event more than once).
    #[serde(default)]
    pub duplicate_probability: f64,
}

#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub tenant: String,
    pub client_id: String,
    pub audience: String,
    pub expires: Instant,
}

/// Tunables, changeable at run time through the control API.
///
/// `limits` is what the fake enforces. The three older fields mirror parts of it and stay
/// for callers that set them: a change to one of them (through [`crate::FakeCloud::configure`]
/// or `PUT /_control/settings`) changes the matching window of `limits`; 0 removes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Mirror of the 60 s window of `limits.graph` (`microsoft-apis.md` §2.8: 150/min).
    pub graph_requests_per_minute: u32,
    /// Mirrors of the 15 s / 60 s windows of `limits.signl4_events` (`signl4.md` §1.7,
    /// commercial plan: 150 / 15 s, 600 / min).
    pub signl4_events_per_15s: u32,
    pub signl4_events_per_minute: u32,
    /// Access-token lifetime (`expires_in`).
    pub token_lifetime_secs: u64,
    /// Largest page Graph returns whatever `$top` says.
    pub graph_max_page: usize,
    /// Page size when no `$top` is given.
    pub graph_default_page: usize,
    /// Rate limits of every service.
    pub limits: Limits,
    /// How the SIGNL4 REST API presents alerts (default [`RestShape::V2`]).
    pub rest_shape: RestShape,
    /// How long an accepted SIGNL4 webhook event stays `processing` (event status 1, no
    /// targets, no alert yet) before the fake processes it. 0 (default): processed before
    /// the webhook answers.
    pub event_processing_ms: u64,
}

impl Settings {
    /// Every limit off.
    pub fn unthrottled() -> Settings {
        let mut s = Settings { limits: Limits::off(), ..Settings::default() };
        s.mirror_limits();
        s
    }

    /// Sets the mirror fields from `limits`.
    pub fn mirror_limits(&mut self) {
        self.graph_requests_per_minute = window_requests(&self.limits.graph, 60.0);
        self.signl4_events_per_15s = window_requests(&self.limits.signl4_events, 15.0);
        self.signl4_events_per_minute = window_requests(&self.limits.signl4_events, 60.0);
    }

    /// Applies mirror fields that differ from `before` to `limits`, then re-mirrors.
    pub fn reconcile(&mut self, before: &Settings) {
        if self.graph_requests_per_minute != before.graph_requests_per_minute {
            set_window(&mut self.limits.graph, 60.0, self.graph_requests_per_minute);
        }
        if self.signl4_events_per_15s != before.signl4_events_per_15s {
            set_window(&mut self.limits.signl4_events, 15.0, self.signl4_events_per_15s);
        }
        if self.signl4_events_per_minute != before.signl4_events_per_minute {
            set_window(&mut self.limits.signl4_events, 60.0, self.signl4_events_per_minute);
        }
        self.mirror_limits();
    }

    /// For a whole `Settings` from outside (`PUT /_control/settings`): mirror fields that
    /// disagree with its `limits` win.
    pub fn reconcile_incoming(&mut self) {
        let mut implied = self.clone();
        implied.mirror_limits();
        self.reconcile(&implied);
    }
}

impl Default for Settings {
    fn default() -> Self {
        let mut s = Settings {
            graph_requests_per_minute: 0,
            signl4_events_per_15s: 0,
            signl4_events_per_minute: 0,
            token_lifetime_secs: 3599,
            graph_max_page: 1000,
            graph_default_page: 100,
            limits: Limits::documented(),
            rest_shape: RestShape::V2,
            event_processing_ms: 0,
        };
        s.mirror_limits();
        s
    }
}

/// A Sentinel workspace (ARM `Microsoft.SecurityInsights`) and its Log Analytics data.
#[derive(Debug, Default)]
pub struct Workspace {
    /// Entra tenant that owns the subscription (tokens from other tenants are refused).
    pub tenant: String,
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    /// Log Analytics workspace id (GUID, `customerId`).
    pub workspace_id: String,
    /// Incidents by name (GUID).
    pub incidents: BTreeMap<String, Value>,
    /// SecurityAlert entities by incident name.
    pub alerts: HashMap<String, Vec<Value>>,
    /// Comments by incident name, then comment id.
    pub comments: HashMap<String, BTreeMap<String, Value>>,
    pub next_number: i64,
    /// Edits a person makes between our GET and our PUT (applied when the next PUT for that
    /// incident arrives, before the etag check).
    pub interleaved_edits: Vec<(String, Value)>,
    /// Canned Log Analytics results: (query substring, response body).
    pub queries: Vec<(String, Value)>,
    /// `SecurityAlert.ExtendedProperties` by SystemAlertId.
    pub security_alerts: HashMap<String, String>,
    pub last_ts: Option<OffsetDateTime>,
    /// Azure role assignments on the workspace by client id (lower case), replacing
    /// [`DEFAULT_WORKSPACE_ROLES`] for that app (`crate::FakeCloud::set_workspace_roles`).
    pub role_assignments: HashMap<String, Vec<String>>,
}

/// The roles every app holds on a workspace unless set otherwise: what
/// `deploy/register-app.sh` assigns (`microsoft-apis.md` §3.6).
pub const DEFAULT_WORKSPACE_ROLES: &[&str] = &["Microsoft Sentinel Responder", "Log Analytics Reader"];

impl Workspace {
    /// The roles app `client_id` holds on this workspace.
    pub fn roles_of(&self, client_id: &str) -> Vec<String> {
        match self.role_assignments.get(&client_id.to_ascii_lowercase()) {
            Some(r) => r.clone(),
            None => DEFAULT_WORKSPACE_ROLES.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// A data collection rule: its streams and the apps holding *Monitoring Metrics Publisher*.
#[derive(Debug, Clone, Default)]
pub struct Dcr {
    pub streams: Vec<String>,
    /// Client ids of apps with the role on this rule.
    pub publishers: Vec<String>,
    /// Rows received, per stream, in arrival order.
    pub rows: Vec<(String, Value)>,
}

#[derive(Debug, Default)]
pub struct Inner {
    pub tenants: HashMap<String, Tenant>,
    pub teams: HashMap<String, Team>,
    pub tokens: HashMap<String, TokenInfo>,
    pub faults: Vec<Fault>,
    pub settings: Settings,
    /// Limiter state for `settings.limits`.
    pub limiter: Limiter,
    /// Every request to a fake service.
    pub log: RequestLog,
    /// Requests served, by route label.
    pub requests: BTreeMap<String, u64>,
    pub token_seq: u64,
    pub event_seq: u64,
    /// Sentinel workspaces by ARM name.
    pub workspaces: HashMap<String, Workspace>,
    /// Certificates, federated credentials, managed identities, issued tokens (`entra.rs`).
    pub entra: EntraState,
    /// Data collection rules by immutable id (`ingestion.rs`).
    pub dcrs: HashMap<String, Dcr>,
    /// Every listing answer (a `value` array) of Graph or ARM carries this `@odata.nextLink` /
    /// `nextLink`, pages left or not: a hostile or broken upstream naming another host.
    pub next_link_overrides: HashMap<Service, String>,
}

#[derive(Debug, Default)]
pub struct State {
    pub inner: Mutex<Inner>,
}

impl State {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (we never hold it across
        // partial updates that matter); recover instead of propagating the poison.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Takes the first matching fault, if any.
    /// Takes an [`FaultKind::Echo`] fault for `service` (applied before the handler, where
    /// the request is known).
    pub fn take_echo(&mut self, service: Service) -> Option<u16> {
        let idx = self
            .faults
            .iter()
            .position(|f| f.service == service && f.count > 0 && matches!(f.kind, FaultKind::Echo { .. }))?;
        match self.take_fault_at(idx) {
            FaultKind::Echo { status } => Some(status),
            _ => None,
        }
    }

    /// Headers to add to this answer of `service` (a [`FaultKind::Headers`] fault).
    pub fn take_headers(&mut self, service: Service) -> Option<Vec<(String, String)>> {
        let idx = self
            .faults
            .iter()
            .position(|f| f.service == service && f.count > 0 && matches!(f.kind, FaultKind::Headers { .. }))?;
        match self.take_fault_at(idx) {
            FaultKind::Headers { headers } => Some(headers),
            _ => None,
        }
    }

    fn take_fault_at(&mut self, idx: usize) -> FaultKind {
        let f = &mut self.faults[idx];
        f.count -= 1;
        let kind = f.kind.clone();
        if f.count == 0 {
            self.faults.remove(idx);
        }
        kind
    }

    pub fn take_fault(&mut self, service: Service) -> Option<FaultKind> {
        let idx = self.faults.iter().position(|f| {
            f.service == service && f.count > 0 && !matches!(f.kind, FaultKind::Echo { .. } | FaultKind::Headers { .. })
        })?;
        let f = &mut self.faults[idx];
        f.count -= 1;
        let kind = f.kind.clone();
        if f.count == 0 {
            self.faults.remove(idx);
        }
        Some(kind)
    }

    pub fn count(&mut self, route: &str) {
        *self.requests.entry(route.to_string()).or_default() += 1;
    }
}
