//! signl4-sentinel: the connector service — adapters around the pure `s4s-core`.
//!
//! - [`app`] wires everything (the only module that knows every source and job kind);
//! - [`sources`] read alerts and SIGNL4 events (one pull driver; the webhook receiver);
//! - [`jobs`] perform outbox jobs (one runner; one file per kind);
//! - [`clients`] talk HTTP to Microsoft and SIGNL4;
//! - [`tenant`] holds a tenant's clients, health and limiters;
//! - [`http`] serves health and metrics; [`telemetry`] names logs and metrics;
//! - [`ops`] runs the operator's `jobs` commands (list, show, retry) beside the service;
//! - [`doctor`] runs the live permission checks of `signl4-sentinel doctor`; [`healthcheck`] the
//!   image's health check; [`buildinfo`] the version and git revision;
//! - `demo` runs the connector against the built-in fake cloud, set up by `testkit` (also used
//!   by the end-to-end tests and benches); both exist only with the `demo` cargo feature (on by
//!   default; `--no-default-features` builds the connector without them and without the fake).

pub mod app;
pub mod buildinfo;
pub mod clients;
pub mod clock;
#[cfg(feature = "demo")]
pub mod demo;
pub mod doctor;
pub mod healthcheck;
pub mod http;
pub mod jobs;
pub mod ops;
pub mod redactor;
pub mod selfmon;
pub mod sources;
pub mod telemetry;
pub mod tenant;
// The unit tests build configurations with it whatever the features (s4s-fakecloud and sqlx
// are dev-dependencies too).
#[cfg(any(test, feature = "demo"))]
pub mod testkit;
