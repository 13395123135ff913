//! Microsoft Sentinel, pure: incidents, alerts, rule queries and write-back bodies (`model`);
//! its pages are built by the SIGNL4 payload module (`signl4::payload`).

pub(crate) mod model;

pub use model::*;
