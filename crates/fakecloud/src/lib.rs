//! A faithful fake of the cloud services signl4-sentinel talks to: Microsoft Entra ID
//! (tokens), Microsoft Graph Security (alerts_v2, incidents), Sentinel (ARM, Log Analytics)
//! and SIGNL4 (inbound webhook, outbound webhooks, REST API).
//!
//! It behaves as `../shared/reference/microsoft-apis.md` §1, §2, §7 and `signl4.md` §1–§3
//! describe the real services (errors, throttling, paging, enum masking), not as our client
//! hopes. One HTTP listener serves every service under a path prefix:
//!
//! | prefix            | fake of                                   |
//! |-------------------|-------------------------------------------|
//! | `/entra`          | `https://login.microsoftonline.com`: secrets, certificate assertions (signatures checked), federated assertions; tokens are JWTs with the app's `roles` |
//! | `/imds`           | `http://169.254.169.254` (IMDS managed identity, `Metadata: true`) |
//! | `/msi/token`      | App Service / Container Apps `IDENTITY_ENDPOINT` (`X-IDENTITY-HEADER`) |
//! | `/graph`          | `https://graph.microsoft.com`             |
//! | `/signl4/webhook` | `https://connect.signl4.com/webhook` (§1; events with a status, §2.4) |
//! | `/signl4/api`     | `https://connect.signl4.com/api`: V2 alerts (paged, by external id, by id) in the V2 or V1 shape, users, events (§2.2–§2.4), the V1 outbound-webhook listing (§2.3) |
//! | `/arm`            | `https://management.azure.com` (Sentinel; role assignments per app: [`FakeCloud::set_workspace_roles`]) |
//! | `/loganalytics`   | `https://api.loganalytics.io`             |
//! | `/logsingestion`  | a data collection endpoint's logs ingestion URI (`SIGNL4_CL`, `ingestion.rs`) |
//! | `/_control`       | test control API (alerts, faults, settings, SIGNL4 delivery outcomes, stats) |
//!
//! SIGNL4 specifics for tests: [`Settings::rest_shape`] ([`RestShape::V2`] by default, or
//! [`RestShape::V1`]), [`Settings::event_processing_ms`], [`FakeCloud::set_delivery`] with a
//! [`Delivery`] outcome per team, [`FakeCloud::event_status`], [`FakeCloud::signl4_users`].
//!
//! Use it in-process through [`FakeCloud`] or as a process via `signl4-sentinel emulator`.

// Handlers return early with a ready-made `Response` as the error; boxing it buys nothing.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

mod api;
mod common;
pub mod control;
pub mod entra;
pub mod graph;
pub mod ingestion;
pub mod limits;
pub mod odata;
pub mod outbound;
pub mod reqlog;
mod rest;
pub mod scenarios;
pub mod sentinel;
mod server;
mod signl4;
pub mod state;
pub mod throttle;

pub use entra::{AcceptedAssertion, FederatedCredential, IssuedToken, TOKEN_EXCHANGE_AUDIENCE};
pub use limits::{ArmLimits, Bucket, Limits, Window};
pub use outbound::Action;
pub use reqlog::{Api, RequestRecord};
pub use server::{FakeCloudBuilder, router};
use state::State;
pub use state::{
    Delivery, EventStatus, Fault, FaultKind, Note, Outbound, ReceivedEvent, Responder, ResponderPlan, RestShape,
    Service, Settings, Signl4Alert, Signl4Event,
};

/// The emulator's default port (what the example configuration (`crates/core/example.toml`) points at).
pub const DEFAULT_PORT: u16 = 4010;
/// The tenant, app and SIGNL4 team that [`FakeCloud::seed_defaults`] creates; they match
/// the example configuration (`crates/core/example.toml`).
pub const DEFAULT_TENANT_ID: &str = "72f988bf-0000-4000-8000-000000000001";
pub const DEFAULT_CLIENT_ID: &str = "11111111-2222-4333-8444-555555555555";
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-client-secret";
pub const DEFAULT_TEAM_SECRET: &str = "emulator-team-secret";
/// The Sentinel workspace of the example configuration (`crates/core/example.toml`).
pub const DEFAULT_SUBSCRIPTION: &str = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0";
pub const DEFAULT_RESOURCE_GROUP: &str = "soc-rg";
pub const DEFAULT_WORKSPACE: &str = "soc-workspace";
pub const DEFAULT_WORKSPACE_ID: &str = "c8c99641-985d-4e4e-8e91-fb3466cd0e5b";
/// The data collection rule [`FakeCloud::seed_defaults`] creates (stream `Custom-SIGNL4_CL`,
/// the default app holds *Monitoring Metrics Publisher* on it).
pub const DEFAULT_DCR: &str = "dcr-5ca1ab1e0000400080000000000000a1";
pub const DEFAULT_STREAM: &str = "Custom-SIGNL4_CL";

pub(crate) fn expire_all_tokens(state: &State) {
    let now = Instant::now();
    for t in state.lock().tokens.values_mut() {
        t.expires = now;
    }
}

/// A running fake cloud. Dropping it stops the server. Started in `server.rs`; what tests do
/// with it is in `api.rs`.
pub struct FakeCloud {
    state: Arc<State>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}
