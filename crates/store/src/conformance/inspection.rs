//! Conformance cases for `Inspection`: liveness, jobs by key, the oldest pending job per kind.

use std::sync::Arc;

use super::fixtures::item;
use crate::traits::Store;
use crate::types::{JobState, KindQueue, NewJob};

pub async fn ping_works(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}

pub async fn jobs_are_found_by_key_and_the_oldest_pending_job_of_each_kind_is_known(s: Arc<dyn Store>) {
    assert!(s.get_job("page:none").await.unwrap().is_none());
    assert!(s.oldest_pending_jobs().await.unwrap().is_empty());
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    s.enqueue(&[NewJob::once("t1", s4s_core::jobs::graph_sync::KIND, "sync:x".into(), "{\"s\":1}".into())], 1500)
        .await
        .unwrap();
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

pub async fn recent_jobs_the_queue_by_kind_and_the_cursors_are_listed(s: Arc<dyn Store>) {
    assert!(s.recent_jobs("page", 10).await.unwrap().is_empty());
    assert!(s.queue_by_kind().await.unwrap().is_empty());
    assert!(s.list_cursors().await.unwrap().is_empty());
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        s.ingest(&[item(id, "v1", true)], 1000 + i as i64 * 100).await.unwrap();
    }
    s.enqueue(&[NewJob::once("t1", s4s_core::jobs::graph_sync::KIND, "sync:x".into(), "{}".into())], 1050)
        .await
        .unwrap();
    let recent: Vec<String> = s.recent_jobs("page", 2).await.unwrap().into_iter().map(|j| j.key).collect();
    assert_eq!(recent, vec!["page:c", "page:b"], "newest first, at most the limit");
    assert_eq!(s.recent_jobs("graph-sync", 10).await.unwrap().len(), 1);
    // a: done, b: dead, c: pending (claimed: running ones still wait in the queue).
    let js = s.claim_jobs("w1", 2000, 10_000, 10).await.unwrap();
    let id = |k: &str| js.iter().find(|j| j.key == k).unwrap();
    assert!(s.complete_job(id("page:a").id, "w1", id("page:a").rev, "{}", 2100).await.unwrap());
    assert!(s.bury_job(id("page:b").id, "w1", "400 Bad Request", 2100).await.unwrap());
    let all: Vec<String> = s.recent_jobs("page", 10).await.unwrap().into_iter().map(|j| j.key).collect();
    assert_eq!(all, vec!["page:c", "page:b", "page:a"], "in every state");
    assert_eq!(
        s.queue_by_kind().await.unwrap(),
        vec![
            KindQueue { kind: "graph-sync".into(), pending: 1, parked: 0, dead: 0, oldest_pending_ms: Some(1050) },
            KindQueue { kind: "page".into(), pending: 1, parked: 0, dead: 1, oldest_pending_ms: Some(1200) },
        ]
    );
    s.pause_jobs("t1", "graph-sync", "team secret rejected", 2200).await.unwrap();
    let q = s.queue_by_kind().await.unwrap();
    assert_eq!((q[0].pending, q[0].parked, q[0].oldest_pending_ms), (0, 1, Some(1050)), "parked jobs wait too");
    s.set_cursor("t2", "graph-alert", "2026-12-01T10:00:00Z", 3000).await.unwrap();
    s.set_cursor("t1", "sentinel:ws", "c1", 3100).await.unwrap();
    s.set_cursor("t1", "graph-alert", "c0", 3200).await.unwrap();
    let cursors: Vec<(String, String, String, i64)> =
        s.list_cursors().await.unwrap().into_iter().map(|c| (c.tenant, c.source, c.value, c.updated_ms)).collect();
    assert_eq!(
        cursors,
        vec![
            ("t1".into(), "graph-alert".into(), "c0".into(), 3200),
            ("t1".into(), "sentinel:ws".into(), "c1".into(), 3100),
            ("t2".into(), "graph-alert".into(), "2026-12-01T10:00:00Z".into(), 3000),
        ]
    );
}
