//! Conformance cases for `Coordination`: cursors and named leases.

use std::sync::Arc;

use crate::traits::Store;

pub async fn cursors_round_trip_per_tenant_and_source(s: Arc<dyn Store>) {
    assert_eq!(s.get_cursor("t1", "graph-alert").await.unwrap(), None);
    s.set_cursor("t1", "graph-alert", "2026-01-01T00:00:00Z", 1).await.unwrap();
    s.set_cursor("t1", "graph-alert", "2026-01-02T00:00:00Z", 2).await.unwrap();
    s.set_cursor("t2", "graph-alert", "x", 2).await.unwrap();
    assert_eq!(s.get_cursor("t1", "graph-alert").await.unwrap().as_deref(), Some("2026-01-02T00:00:00Z"));
    assert_eq!(s.get_cursor("t2", "graph-alert").await.unwrap().as_deref(), Some("x"));
    assert_eq!(s.get_cursor("t1", "other").await.unwrap(), None);
}

pub async fn one_owner_holds_a_lease_until_it_expires(s: Arc<dyn Store>) {
    assert!(s.try_lease("poll:t1", "a", 1000, 500).await.unwrap());
    assert!(!s.try_lease("poll:t1", "b", 1200, 500).await.unwrap(), "held by a");
    assert!(s.try_lease("poll:t1", "a", 1400, 500).await.unwrap(), "a renews");
    assert!(!s.try_lease("poll:t1", "b", 1800, 500).await.unwrap(), "renewed until 1900");
    assert!(s.try_lease("poll:t1", "b", 1900, 500).await.unwrap(), "expired: b takes over");
    assert!(!s.try_lease("poll:t1", "a", 2000, 500).await.unwrap());
    assert!(s.try_lease("poll:t2", "a", 2000, 500).await.unwrap(), "leases are per name");
}

/// Replicas: only the holder of a tenant's polling lease claims that tenant's jobs, and only
/// while the lease is valid.
pub async fn only_the_lease_holder_claims_a_tenants_jobs(s: Arc<dyn Store>) {
    use super::fixtures::item;
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    // Nobody holds t1's lease: nobody claims.
    assert!(s.claim_leased_jobs("r1", "poll:", 1000, 500, 10).await.unwrap().is_empty());
    assert!(s.try_lease("poll:t1", "r2", 1000, 1000).await.unwrap());
    // r1 does not hold it; a lease of another tenant does not count.
    assert!(s.try_lease("poll:t9", "r1", 1000, 1000).await.unwrap());
    assert!(s.claim_leased_jobs("r1", "poll:", 1100, 500, 10).await.unwrap().is_empty());
    let got = s.claim_leased_jobs("r2", "poll:", 1100, 500, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].lease_owner.as_deref(), Some("r2"));
    // r2's polling lease expires and r1 takes over: r1 now claims the (lease-expired) job.
    assert!(s.try_lease("poll:t1", "r1", 2100, 1000).await.unwrap());
    assert!(s.claim_leased_jobs("r2", "poll:", 2100, 500, 10).await.unwrap().is_empty());
    assert_eq!(s.claim_leased_jobs("r1", "poll:", 2100, 500, 10).await.unwrap().len(), 1);
}

pub async fn writes_fenced_by_a_lease_fail_after_a_takeover_and_change_nothing(s: Arc<dyn Store>) {
    use super::fixtures::item;
    use crate::types::{Fence, StoreError};
    let g1 = s.acquire_lease("poll:t1", "a", 1000, 500).await.unwrap().expect("a holds it");
    assert_eq!(s.acquire_lease("poll:t1", "a", 1200, 500).await.unwrap(), Some(g1), "renewing keeps the generation");
    let fa = Fence { lease: "poll:t1".into(), owner: "a".into(), generation: g1 };
    s.ingest_fenced(&[item("x", "v1", true)], Some(&fa), 1300).await.unwrap();
    s.set_cursor_fenced("t1", "graph-alert", "c1", Some(&fa), 1300).await.unwrap();
    // a stalls; its lease expires and b takes over: a new generation.
    let g2 = s.acquire_lease("poll:t1", "b", 1800, 500).await.unwrap().expect("b takes over");
    assert_ne!(g2, g1);
    let late = s.ingest_fenced(&[item("y", "v1", true)], Some(&fa), 1850).await;
    assert!(matches!(late, Err(StoreError::Fenced(_))), "{late:?}");
    let late = s.set_cursor_fenced("t1", "graph-alert", "stale", Some(&fa), 1850).await;
    assert!(matches!(late, Err(StoreError::Fenced(_))), "{late:?}");
    assert_eq!(s.get_cursor("t1", "graph-alert").await.unwrap().as_deref(), Some("c1"));
    assert!(s.get_alert("t1", "graph-alert", "y").await.unwrap().is_none(), "nothing of a fenced ingest is written");
    // The holder's writes go through.
    let fb = Fence { lease: "poll:t1".into(), owner: "b".into(), generation: g2 };
    s.set_cursor_fenced("t1", "graph-alert", "c2", Some(&fb), 1900).await.unwrap();
    assert_eq!(s.get_cursor("t1", "graph-alert").await.unwrap().as_deref(), Some("c2"));
    // Even if a wins the lease back later, its old generation stays refused.
    assert!(s.acquire_lease("poll:t1", "a", 2400, 500).await.unwrap().is_some());
    let stale = s.set_cursor_fenced("t1", "graph-alert", "stale", Some(&fa), 2450).await;
    assert!(matches!(stale, Err(StoreError::Fenced(_))), "{stale:?}");
    // An expired lease fences its owner too.
    let g3 = s.acquire_lease("poll:t1", "a", 2500, 100).await.unwrap().unwrap();
    let fa3 = Fence { lease: "poll:t1".into(), owner: "a".into(), generation: g3 };
    assert!(matches!(
        s.set_cursor_fenced("t1", "graph-alert", "z", Some(&fa3), 2700).await,
        Err(StoreError::Fenced(_))
    ));
}
