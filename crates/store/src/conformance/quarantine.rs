//! Quarantine: items whose processing failed are stored once per tenant, source and
//! item with their raw JSON, reason and attempts, fenced like ingest, with their audit record;
//! an operator's retry is taken up by the source and forgotten only when it worked.

use std::sync::Arc;

use s4s_core::records::QuarantineItem;

use crate::traits::Store;
use crate::types::{Fence, JobState};

fn poison(tenant: &str, source: &str, id: &str, reason: &str) -> QuarantineItem {
    let raw = serde_json::json!({"id": id, "mitreTechniques": ["T100é"]});
    let mut q = QuarantineItem::new(tenant, source, id, &raw, reason);
    q.audit = vec![s4s_core::audit::quarantined(&q, 1000)];
    q
}

pub async fn quarantined_items_are_stored_once_with_reason_attempts_and_their_audit_record(s: Arc<dyn Store>) {
    let a = poison("t1", "graph-alert", "a1", "internal error (panic): byte index 5");
    assert_eq!(s.quarantine(&[a.clone(), poison("t1", "graph-alert", "a2", "x")], None, 1000).await.unwrap(), 2);
    assert_eq!(s.quarantine(&[], None, 1000).await.unwrap(), 0);
    // Seen again (the overlap re-read): one more attempt, the latest reason, not new.
    let mut again = a.clone();
    again.reason = "internal error (panic): still".into();
    assert_eq!(s.quarantine(&[again], None, 2000).await.unwrap(), 0);
    let listed = s.quarantined(10).await.unwrap();
    assert_eq!(listed.len(), 2);
    let q = &listed[0];
    assert_eq!((q.tenant.as_str(), q.source.as_str(), q.item_id.as_str()), ("t1", "graph-alert", "a1"));
    assert_eq!((q.first_seen_ms, q.last_seen_ms, q.attempts, q.retry), (1000, 2000, 2, false));
    assert_eq!(q.reason, "internal error (panic): still");
    let raw: serde_json::Value = serde_json::from_str(&q.raw).unwrap();
    assert_eq!(raw["mitreTechniques"][0], "T100é", "raw JSON kept as received");
    assert_eq!(s.get_quarantined(q.id).await.unwrap().as_ref(), Some(q));
    assert_eq!(s.get_quarantined(q.id + 1000).await.unwrap(), None);
    assert_eq!(s.quarantined(1).await.unwrap().len(), 1, "bounded by the limit");
    // The same item id of another source or tenant is another item.
    s.quarantine(&[poison("t2", "graph-alert", "a1", "x"), poison("t1", "sentinel.soc", "a1", "x")], None, 3000)
        .await
        .unwrap();
    assert_eq!(
        s.quarantine_counts().await.unwrap(),
        [
            ("t1".to_string(), "graph-alert".to_string(), 2),
            ("t1".to_string(), "sentinel.soc".to_string(), 1),
            ("t2".to_string(), "graph-alert".to_string(), 1)
        ]
    );
    // One audit record per item (not per attempt), arming the tenant's upload job.
    assert_eq!(s.unsent_audit_count("t1").await.unwrap(), 3);
    let uploads: Vec<String> = s
        .list_jobs(JobState::Pending, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == "audit")
        .map(|j| j.key)
        .collect();
    assert!(uploads.contains(&"audit:t1".to_string()), "{uploads:?}");
}

pub async fn quarantine_writes_fenced_by_a_lost_lease_change_nothing(s: Arc<dyn Store>) {
    let generation = s.acquire_lease("poll:t1", "r1", 1000, 10_000).await.unwrap().unwrap();
    let fence = Fence { lease: "poll:t1".into(), owner: "r1".into(), generation };
    assert_eq!(s.quarantine(&[poison("t1", "graph-alert", "a1", "x")], Some(&fence), 1000).await.unwrap(), 1);
    // r2 takes the lease over after it expired: r1's write is refused and changes nothing.
    assert!(s.acquire_lease("poll:t1", "r2", 20_000, 10_000).await.unwrap().is_some());
    let refused = s.quarantine(&[poison("t1", "graph-alert", "a2", "x")], Some(&fence), 20_001).await;
    assert!(matches!(refused, Err(crate::StoreError::Fenced(_))), "{refused:?}");
    assert_eq!(s.quarantined(10).await.unwrap().len(), 1);
}

pub async fn a_retried_item_is_released_when_it_worked_and_stays_when_it_failed_again(s: Arc<dyn Store>) {
    s.quarantine(
        &[
            poison("t1", "graph-alert", "a1", "x"),
            poison("t1", "graph-alert", "a2", "x"),
            poison("t2", "graph-alert", "b1", "x"),
        ],
        None,
        1000,
    )
    .await
    .unwrap();
    let ids: Vec<i64> = {
        let mut l = s.quarantined(10).await.unwrap();
        l.sort_by_key(|q| q.item_id.clone());
        l.iter().map(|q| q.id).collect()
    };
    assert!(s.quarantine_retries("t1", "graph-alert", 10).await.unwrap().is_empty(), "nothing asked yet");
    assert!(s.retry_quarantined(ids[0]).await.unwrap());
    assert!(!s.retry_quarantined(ids[2] + 1000).await.unwrap(), "no such item");
    let due = s.quarantine_retries("t1", "graph-alert", 10).await.unwrap();
    assert_eq!(due.iter().map(|q| q.item_id.as_str()).collect::<Vec<_>>(), ["a1"]);
    assert!(due[0].retry);
    // a1 worked this time: released.
    assert!(s.release_quarantined(ids[0]).await.unwrap());
    assert!(!s.release_quarantined(ids[0]).await.unwrap(), "already gone");
    // a2 retried and failing again: quarantined again (attempts + 1, retry cleared), stays.
    assert_eq!(s.retry_all_quarantined(Some("t1")).await.unwrap(), 1);
    assert!(s.quarantine_retries("t2", "graph-alert", 10).await.unwrap().is_empty(), "other tenant untouched");
    s.quarantine(&[poison("t1", "graph-alert", "a2", "still failing")], None, 2000).await.unwrap();
    assert!(!s.release_quarantined(ids[1]).await.unwrap(), "failed again: stays");
    let a2 = s.get_quarantined(ids[1]).await.unwrap().unwrap();
    assert_eq!((a2.attempts, a2.retry, a2.reason.as_str()), (2, false, "still failing"));
    assert_eq!(s.retry_all_quarantined(None).await.unwrap(), 2);
    assert_eq!(s.quarantine_retries("t2", "graph-alert", 10).await.unwrap().len(), 1);
    assert_eq!(s.quarantine_retries("t1", "graph-alert", 0).await.unwrap().len(), 0, "bounded by the limit");
}

pub async fn a_page_and_its_quarantined_items_are_stored_together_or_not_at_all(s: Arc<dyn Store>) {
    use super::fixtures::item;
    let generation = s.acquire_lease("poll:t1", "r1", 1000, 10_000).await.unwrap().unwrap();
    let fence = Fence { lease: "poll:t1".into(), owner: "r1".into(), generation };
    let (o, new) = s
        .ingest_page(&[item("a", "v1", true)], &[poison("t1", "graph-alert", "p1", "x")], Some(&fence), 1000)
        .await
        .unwrap();
    assert_eq!((o.new, o.jobs_created, new), (1, 1, 1));
    assert_eq!(s.quarantined(10).await.unwrap().len(), 1);
    assert!(s.get_alert("t1", "graph-alert", "a").await.unwrap().is_some());
    // Seen again with the page: one more attempt, not new; the page is unchanged.
    let (o, new) = s
        .ingest_page(&[item("a", "v1", true)], &[poison("t1", "graph-alert", "p1", "x")], Some(&fence), 1100)
        .await
        .unwrap();
    assert_eq!((o.unchanged, o.jobs_created, new), (1, 0, 0));
    assert_eq!(s.quarantined(10).await.unwrap()[0].attempts, 2);
    // Only quarantined items, or nothing at all.
    assert_eq!(s.ingest_page(&[], &[poison("t1", "graph-alert", "p2", "x")], None, 1200).await.unwrap().1, 1);
    assert_eq!(s.ingest_page(&[], &[], None, 1200).await.unwrap().1, 0);
    // A lost lease: neither the page nor its quarantined items.
    assert!(s.acquire_lease("poll:t1", "r2", 20_000, 10_000).await.unwrap().is_some());
    let refused =
        s.ingest_page(&[item("b", "v1", true)], &[poison("t1", "graph-alert", "p3", "x")], Some(&fence), 20_001).await;
    assert!(matches!(refused, Err(crate::StoreError::Fenced(_))), "{refused:?}");
    assert!(s.get_alert("t1", "graph-alert", "b").await.unwrap().is_none());
    assert_eq!(s.quarantined(10).await.unwrap().len(), 2);
}
