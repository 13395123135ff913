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
