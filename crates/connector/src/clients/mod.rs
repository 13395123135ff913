//! HTTP clients, one per upstream: Microsoft (Entra tokens, the shared bearer client, Graph,
//! ARM Sentinel + Log Analytics, Logs Ingestion for the `SIGNL4_CL` audit trail) and SIGNL4 (webhook, REST API), and
//! the request scheduler every one of them goes through ([`scheduler`]). Clients never see the store.

pub mod azure;
pub mod entra;
pub mod graph;
pub mod http;
pub mod logs_ingestion;
pub mod scheduler;
pub mod sentinel;
pub mod signl4;
pub mod signl4_api;
