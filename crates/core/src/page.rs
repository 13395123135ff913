//! Former home of the Graph alert page, kept as re-exports of [`crate::signl4_payload`] for older callers.

pub use crate::signl4_payload::{MAX_LIST, MAX_MESSAGE_CHARS, Page, graph_alert_page, resolve_payload, truncate};
