//! Microsoft Sentinel, pure: the model (`model`) and, re-exported from [`crate::signl4_payload`], its pages.

pub(crate) mod model;

pub use crate::signl4_payload::{alert_page, incident_page};
pub use model::*;
