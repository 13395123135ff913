//! Everything SIGNL4 speaks, split by direction:
//!
//! - `payload`: every body sent to the SIGNL4 inbound webhook (Graph and Sentinel pages, status
//!   changes).
//! - `event`: SIGNL4 outbound-webhook events (tolerant parser), their meaning for the sync and
//!   change keys; REST alerts → the same events.
//! - `rest`: SIGNL4 REST objects in V1 and V2 shapes → `RestAlert`, users by id, exact
//!   external-id matches, event status → delivery `Verdict`.
//! - `user`: the SIGNL4 user events and REST objects share (a leaf).
//!
//! `event` uses `rest` and `user`; `rest` uses `user`; `payload` uses neither.

pub mod event;
pub mod payload;
pub mod rest;
pub mod user;
