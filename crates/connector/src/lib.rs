//! signl4-sentinel: the connector service (adapters around `s4s-core`).
//!
//! - [`app`] wires configuration, storage, pollers, delivery and the server;
//! - [`poller`] reads Graph alerts into the store (outbox);
//! - [`delivery`] sends outbox jobs to SIGNL4;
//! - [`entra`], [`graph`], [`signl4`] are the HTTP clients;
//! - [`inbound`] receives SIGNL4 outbound webhooks (two-way sync);
//! - [`server`] serves health, metrics and the webhook receiver;
//! - [`demo`] runs the connector against the built-in fake cloud.

pub mod app;
pub mod azure;
pub mod delivery;
pub mod demo;
pub mod entra;
pub mod graph;
pub mod inbound;
pub mod poller;
pub mod runtime;
pub mod sentinel;
pub mod server;
pub mod signl4;
pub mod signl4_rest;
pub mod telemetry;
pub mod testkit;
pub mod upstream;
