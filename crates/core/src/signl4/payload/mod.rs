//! Every body sent to the SIGNL4 inbound webhook: Graph and Sentinel pages and status changes.
//!
//! SIGNL4 takes any JSON object: `Title` and `Message` become the alert title and text,
//! `X-S4-*` keys are control parameters, every other key is shown as an alert parameter
//! (`signl4.md` §1.3, §1.4). The message is written for a phone screen: what, how bad, where,
//! what to do, where to click.
//!
//! - `common`: what every body shares — [`Page`], the limits, [`truncate`], the title, the
//!   `X-S4-*` control parameters and the parameter builder; [`status_payload`] and
//!   [`resolve_payload`], bodies of nothing else.
//! - `graph`: [`graph_alert_page`].
//! - `sentinel`: [`incident_page`] and [`alert_page`].

pub(crate) mod common;
mod graph;
mod sentinel;

#[cfg(test)]
pub(crate) use common::test_options;
pub use common::{MAX_LIST, MAX_MESSAGE_CHARS, Page, resolve_payload, status_payload, truncate};
pub use graph::graph_alert_page;
pub use sentinel::{alert_page, incident_page};
