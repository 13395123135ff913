//! Pure decision logic for signl4-sentinel.
//!
//! Nothing in this crate performs I/O: it parses Microsoft payloads, decides what to page,
//! builds SIGNL4 requests, computes dedup keys and retry delays, and validates configuration.
//! Every function here is unit-tested with plain data; the adapters (HTTP clients, storage,
//! server) live in `s4s-store` and `signl4-sentinel`.

#![deny(clippy::string_slice)]

pub mod alert;
pub mod audit;
pub mod budget;
pub mod comments;
pub mod config;
pub mod ct;
pub mod doctor;
pub mod filter;
pub mod ids;
pub mod ingest;
pub mod job_kind;
pub mod jobs;
pub mod origin;
pub mod quiet;
pub mod records;
pub mod redact;
pub mod retry;
pub mod route;
pub mod routing;
pub mod scope;
pub mod selfmon;
pub mod sentinel;
pub mod signl4;
pub mod source;
pub mod status;
pub mod storm;
pub mod sync;
pub mod text;
pub mod timefmt;
