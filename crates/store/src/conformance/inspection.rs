//! Conformance cases for `Inspection`: liveness, jobs by key, the oldest pending job per kind.

use std::sync::Arc;

use super::fixtures::item;
use crate::traits::Store;
use crate::types::{JobState, NewJob};

pub async fn ping_works(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}

pub async fn jobs_are_found_by_key_and_the_oldest_pending_job_of_each_kind_is_known(s: Arc<dyn Store>) {
    assert!(s.get_job("page:none").await.unwrap().is_none());
    assert!(s.oldest_pending_jobs().await.unwrap().is_empty());
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    s.enqueue(&[NewJob::once("t1", "graph-sync", "sync:x".into(), "{\"s\":1}".into())], 1500).await.unwrap();
    s.ingest(&[item("b", "v1", true)], 2000).await.unwrap();
    assert_eq!(
        s.oldest_pending_jobs().await.unwrap(),
        vec![("graph-sync".to_string(), 1500), ("page".to_string(), 1000)]
    );

    let a = s.get_job("page:a").await.unwrap().unwrap();
    assert_eq!((a.tenant.as_str(), a.kind.as_str(), a.payload.as_str()), ("t1", "page", "{\"a\":\"a\"}"));
    assert_eq!((a.state, a.attempts, a.created_ms, a.updated_ms), (JobState::Pending, 0, 1000, 1000));

    let js = s.claim_jobs("w1", 3000, 10_000, 10).await.unwrap();
    let a = js.iter().find(|j| j.key == "page:a").unwrap();
    assert!(s.complete_job(a.id, "w1", a.rev, "{\"eventId\":\"e1\"}", 3500).await.unwrap());
    let done = s.get_job("page:a").await.unwrap().unwrap();
    assert_eq!((done.state, done.attempts, done.updated_ms), (JobState::Done, 1, 3500));
    assert_eq!(done.result.as_deref(), Some("{\"eventId\":\"e1\"}"));
    // Running (leased) jobs still wait in the queue; done ones do not.
    assert_eq!(
        s.oldest_pending_jobs().await.unwrap(),
        vec![("graph-sync".to_string(), 1500), ("page".to_string(), 2000)]
    );
}
