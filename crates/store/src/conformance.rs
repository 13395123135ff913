//! The storage conformance suite. Every backend runs every case through
//! [`crate::conformance_tests!`]; a backend is correct when the whole suite passes.

use std::sync::Arc;

use crate::{AlertKey, AlertRecord, AlertUpdate, FollowUp, InboundEvent, IngestItem, JobState, NewJob, Store};

fn alert(id: &str, version: &str) -> AlertRecord {
    AlertRecord {
        tenant: "t1".into(),
        source: "graph-alert".into(),
        alert_id: id.into(),
        version: version.into(),
        status: "new".into(),
        severity: "high".into(),
        incident_id: Some("inc-1".into()),
        raw: format!("{{\"id\":\"{id}\"}}"),
    }
}

fn page(id: &str) -> NewJob {
    NewJob::once("t1", "page", format!("page:{id}"), format!("{{\"a\":\"{id}\"}}"))
}

fn item(id: &str, version: &str, pages: bool) -> IngestItem {
    IngestItem::new(alert(id, version), pages.then(|| page(id)))
}

fn key(id: &str) -> AlertKey {
    AlertKey { tenant: "t1".into(), source: "graph-alert".into(), alert_id: id.into() }
}

fn join(old: &str, new: &str) -> String {
    format!("{old}+{new}")
}

pub async fn new_alert_creates_exactly_one_page_job(s: Arc<dyn Store>) {
    let o = s.ingest(&[item("a", "v1", true), item("b", "v1", true)], 1000).await.unwrap();
    assert_eq!((o.new, o.jobs_created), (2, 2));
    let jobs = s.list_jobs(JobState::Pending, 10).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].key, "page:a");
    assert_eq!(jobs[0].payload, "{\"a\":\"a\"}");
    assert_eq!(jobs[0].created_ms, 1000);
    assert_eq!(jobs[0].attempts, 0);
    let stored = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert!(stored.paged);
    assert_eq!(stored.record, alert("a", "v1"));
}

pub async fn reingesting_the_same_version_changes_nothing(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let o = s.ingest(&[item("a", "v1", true)], 2000).await.unwrap();
    assert_eq!((o.new, o.updated, o.unchanged, o.jobs_created), (0, 0, 1, 0));
    assert_eq!(s.job_counts().await.unwrap().pending, 1);
}

pub async fn a_changed_alert_never_pages_again(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let mut changed = item("a", "v2", true);
    changed.alert.status = "inProgress".into();
    let o = s.ingest(&[changed], 2000).await.unwrap();
    assert_eq!((o.updated, o.jobs_created), (1, 0));
    assert_eq!(s.job_counts().await.unwrap().pending, 1);
    let stored = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert_eq!(stored.record.version, "v2");
    assert_eq!(stored.record.status, "inProgress");
}

pub async fn an_alert_raised_above_the_threshold_later_pages_then(s: Arc<dyn Store>) {
    let o = s.ingest(&[item("a", "v1", false)], 1000).await.unwrap();
    assert_eq!((o.new, o.jobs_created), (1, 0));
    assert!(!s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().paged);
    let o = s.ingest(&[item("a", "v2", true)], 2000).await.unwrap();
    assert_eq!((o.updated, o.jobs_created), (1, 1));
    let o = s.ingest(&[item("a", "v3", true)], 3000).await.unwrap();
    assert_eq!(o.jobs_created, 0);
}

pub async fn idempotency_keys_are_unique(s: Arc<dyn Store>) {
    // Two different alert rows mapping to the same job key: the second job is not created.
    let mut other = item("b", "v1", true);
    other.page = Some(page("a"));
    let o = s.ingest(&[item("a", "v1", true), other], 1000).await.unwrap();
    assert_eq!(o.jobs_created, 1);
}

pub async fn cursors_round_trip_per_tenant_and_source(s: Arc<dyn Store>) {
    assert_eq!(s.get_cursor("t1", "graph-alert").await.unwrap(), None);
    s.set_cursor("t1", "graph-alert", "2026-01-01T00:00:00Z", 1).await.unwrap();
    s.set_cursor("t1", "graph-alert", "2026-01-02T00:00:00Z", 2).await.unwrap();
    s.set_cursor("t2", "graph-alert", "x", 2).await.unwrap();
    assert_eq!(s.get_cursor("t1", "graph-alert").await.unwrap().as_deref(), Some("2026-01-02T00:00:00Z"));
    assert_eq!(s.get_cursor("t2", "graph-alert").await.unwrap().as_deref(), Some("x"));
    assert_eq!(s.get_cursor("t1", "other").await.unwrap(), None);
}

pub async fn claims_lease_jobs_and_fence_their_completion(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let got = s.claim_jobs("w1", 1000, 500, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attempts, 1);
    assert_eq!(got[0].lease_owner.as_deref(), Some("w1"));
    // Leased: nobody else gets it.
    assert!(s.claim_jobs("w2", 1200, 500, 10).await.unwrap().is_empty());
    // Lease expired (w1 died): w2 takes over, and w1 can no longer complete.
    let got2 = s.claim_jobs("w2", 1600, 500, 10).await.unwrap();
    assert_eq!(got2.len(), 1);
    assert_eq!(got2[0].attempts, 2);
    assert!(!s.complete_job(got[0].id, "w1", got[0].rev, "{}", 1700).await.unwrap());
    assert!(s.complete_job(got2[0].id, "w2", got2[0].rev, "{\"eventId\":\"e1\"}", 1700).await.unwrap());
    assert!(!s.complete_job(got2[0].id, "w2", got2[0].rev, "{}", 1800).await.unwrap(), "completing twice must fail");
    let done = s.list_jobs(JobState::Done, 10).await.unwrap();
    assert_eq!(done[0].result.as_deref(), Some("{\"eventId\":\"e1\"}"));
    assert!(s.claim_jobs("w3", 99_999, 500, 10).await.unwrap().is_empty(), "done jobs are never claimed");
}

pub async fn retries_wait_until_their_time(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let j = s.claim_jobs("w1", 1000, 500, 10).await.unwrap().remove(0);
    assert!(s.retry_job(j.id, "w1", 5000, "HTTP 503", 1100).await.unwrap());
    assert_eq!(s.next_due_ms().await.unwrap(), Some(5000));
    assert!(s.claim_jobs("w1", 4999, 500, 10).await.unwrap().is_empty());
    let j = s.claim_jobs("w1", 5000, 500, 10).await.unwrap().remove(0);
    assert_eq!(j.attempts, 2);
    assert_eq!(j.last_error.as_deref(), Some("HTTP 503"));
    assert!(!s.retry_job(j.id, "someone-else", 9000, "x", 5001).await.unwrap());
}

pub async fn buried_jobs_are_visible_and_never_retried(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true)], 1000).await.unwrap();
    let js = s.claim_jobs("w1", 1000, 500, 1).await.unwrap();
    assert_eq!(js.len(), 1);
    assert!(s.bury_job(js[0].id, "w1", "gave up after 24h: HTTP 503", 1100).await.unwrap());
    let c = s.job_counts().await.unwrap();
    assert_eq!((c.pending, c.dead, c.done), (1, 1, 0));
    let dead = s.list_jobs(JobState::Dead, 10).await.unwrap();
    assert_eq!(dead[0].last_error.as_deref(), Some("gave up after 24h: HTTP 503"));
    let rest = s.claim_jobs("w1", 99_999, 500, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_ne!(rest[0].id, js[0].id);
}

pub async fn paused_jobs_wait_for_unpause(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true)], 1000).await.unwrap();
    let j = s.claim_jobs("w1", 1000, 500, 1).await.unwrap().remove(0);
    // The worker holding `a` learns the team secret is wrong and parks the tenant's pages.
    assert!(s.retry_job(j.id, "w1", 1000, "HTTP 404", 1001).await.unwrap());
    assert_eq!(s.pause_jobs("t1", "page", "SIGNL4 rejected the team secret", 1002).await.unwrap(), 2);
    assert!(s.claim_jobs("w1", 99_999, 500, 10).await.unwrap().is_empty());
    assert_eq!(s.next_due_ms().await.unwrap(), None);
    assert_eq!(s.job_counts().await.unwrap().paused, 2);
    assert_eq!(s.unpause_all(5000).await.unwrap(), 2);
    assert_eq!(s.claim_jobs("w1", 5000, 500, 10).await.unwrap().len(), 2);
}

pub async fn due_jobs_come_oldest_first(s: Arc<dyn Store>) {
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        s.ingest(&[item(id, "v1", true)], 1000 + i as i64).await.unwrap();
    }
    let js = s.claim_jobs("w", 2000, 500, 2).await.unwrap();
    assert_eq!(js.iter().map(|j| j.key.as_str()).collect::<Vec<_>>(), vec!["page:a", "page:b"]);
}

pub async fn concurrent_claimers_never_share_a_job(s: Arc<dyn Store>) {
    let items: Vec<IngestItem> = (0..200).map(|i| item(&format!("a{i}"), "v1", true)).collect();
    s.ingest(&items, 1000).await.unwrap();
    let mut handles = Vec::new();
    for w in 0..8 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            let owner = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let got = s.claim_jobs(&owner, 2000, 60_000, 7).await.unwrap();
                if got.is_empty() {
                    break;
                }
                for j in got {
                    assert!(s.complete_job(j.id, &owner, j.rev, "{}", 2001).await.unwrap());
                    mine.push(j.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, 200, "every job claimed exactly once");
    assert_eq!(all.len(), 200);
    assert_eq!(s.job_counts().await.unwrap().done, 200);
}

pub async fn releasing_leases_makes_in_flight_jobs_due(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true)], 1000).await.unwrap();
    let js = s.claim_jobs("dead-process", 1000, 60_000, 1).await.unwrap();
    assert!(s.try_lease("poll:t1", "dead-process", 1000, 60_000).await.unwrap());
    assert_eq!(s.release_leases(1500).await.unwrap(), 1);
    assert!(s.try_lease("poll:t1", "new-process", 1500, 60_000).await.unwrap(), "polling leases are freed too");
    let again = s.claim_jobs("new-process", 1500, 60_000, 10).await.unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.iter().any(|j| j.id == js[0].id && j.attempts == 2));
    assert!(!s.complete_job(js[0].id, "dead-process", js[0].rev, "{}", 1600).await.unwrap());
}

pub async fn coalescing_jobs_merge_while_pending_and_rearm_when_done(s: Arc<dyn Store>) {
    let j = |p: &str| NewJob::coalescing("t1", "graph-sync", "sync:a".into(), p.into(), join);
    assert_eq!(s.enqueue(&[j("ack")], 1000).await.unwrap(), 1);
    assert_eq!(s.enqueue(&[j("close")], 1001).await.unwrap(), 0, "merged into the pending job");
    let got = s.claim_jobs("w", 1002, 500, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, "ack+close");
    assert!(s.complete_job(got[0].id, "w", got[0].rev, "{}", 1003).await.unwrap());
    // Re-armed after it was done: runs again with only the new payload.
    assert_eq!(s.enqueue(&[j("note")], 1004).await.unwrap(), 1);
    let again = s.claim_jobs("w", 1005, 500, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].payload.as_str(), again[0].attempts), ("note", 1));
    // A plain job with the same key as a done one is not re-created.
    let once = NewJob::once("t1", "page", "page:x".into(), "p".into());
    assert_eq!(s.enqueue(std::slice::from_ref(&once), 1006).await.unwrap(), 1);
    let p = s.claim_jobs("w", 1007, 500, 10).await.unwrap().into_iter().find(|j| j.key == "page:x").unwrap();
    assert!(s.complete_job(p.id, "w", p.rev, "{}", 1008).await.unwrap());
    assert_eq!(s.enqueue(&[once], 1009).await.unwrap(), 0);
}

pub async fn completing_a_stale_revision_releases_the_job_to_run_again(s: Arc<dyn Store>) {
    let j = |p: &str| NewJob::coalescing("t1", "graph-sync", "sync:a".into(), p.into(), join);
    s.enqueue(&[j("ack")], 1000).await.unwrap();
    let running = s.claim_jobs("w", 1000, 60_000, 10).await.unwrap().remove(0);
    // A close arrives while the worker is writing the ack.
    s.enqueue(&[j("close")], 1001).await.unwrap();
    assert!(!s.complete_job(running.id, "w", running.rev, "{}", 1002).await.unwrap());
    let next = s.claim_jobs("w", 1002, 60_000, 10).await.unwrap();
    assert_eq!(next.len(), 1, "due again at once, lease released");
    assert_eq!(next[0].payload, "ack+close");
    assert!(s.complete_job(next[0].id, "w", next[0].rev, "{}", 1003).await.unwrap());
    assert_eq!(s.job_counts().await.unwrap().done, 1);
}

pub async fn inbound_events_are_recorded_once_with_their_effects(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let ev = InboundEvent { event_id: "ev-1".into(), tenant: "t1".into(), meaning: "acknowledged".into() };
    let upd = AlertUpdate { signl4_state: Some("acknowledged".into()), ..Default::default() };
    let job = NewJob::coalescing("t1", "graph-sync", "sync:a".into(), "ack".into(), join);
    assert!(s.record_inbound(&ev, Some((&key("a"), &upd)), std::slice::from_ref(&job), 1100).await.unwrap());
    assert!(
        !s.record_inbound(&ev, Some((&key("a"), &upd)), std::slice::from_ref(&job), 1200).await.unwrap(),
        "repeat delivery"
    );
    let pending: Vec<_> =
        s.list_jobs(JobState::Pending, 10).await.unwrap().into_iter().filter(|j| j.kind == "graph-sync").collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload, "ack", "the repeat did not merge a second time");
    assert_eq!(s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().signl4_state, "acknowledged");
}

pub async fn sync_bookkeeping_and_lookups(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true), item("c", "v1", false)], 1000).await.unwrap();
    let a = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert_eq!(a.signl4_state, "open", "paging opens the SIGNL4 alert");
    assert_eq!(a.record.incident_id.as_deref(), Some("inc-1"));
    s.update_alert(
        &key("a"),
        &AlertUpdate {
            signl4_event_id: Some("s4-ev-9".into()),
            written_status: Some("inProgress".into()),
            ..Default::default()
        },
        1001,
    )
    .await
    .unwrap();
    s.update_alert(&key("a"), &AlertUpdate { signl4_state: Some("closed".into()), ..Default::default() }, 1002)
        .await
        .unwrap();
    let a = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert_eq!(
        (a.signl4_state.as_str(), a.written_status.as_deref(), a.signl4_event_id.as_deref()),
        ("closed", Some("inProgress"), Some("s4-ev-9"))
    );
    assert_eq!(s.find_alert_by_signl4_event("t1", "s4-ev-9").await.unwrap().unwrap().record.alert_id, "a");
    assert!(s.find_alert_by_signl4_event("t2", "s4-ev-9").await.unwrap().is_none());
    let inc: Vec<String> =
        s.incident_alerts("t1", "inc-1").await.unwrap().into_iter().map(|x| x.record.alert_id).collect();
    assert_eq!(inc, vec!["a", "b"], "only paged alerts are tracked");
    let many = s.get_alerts("t1", "graph-alert", &["a".into(), "c".into(), "zz".into()]).await.unwrap();
    let mut ids: Vec<&str> = many.iter().map(|x| x.record.alert_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, vec!["a", "c"]);
    // An alert can be marked paged without a page job of its own.
    s.update_alert(&key("c"), &AlertUpdate { paged: Some(true), ..Default::default() }, 1002).await.unwrap();
    assert!(s.get_alert("t1", "graph-alert", "c").await.unwrap().unwrap().paged);
    // Ingest carries extra jobs and bookkeeping in the same transaction.
    let mut it = item("a", "v2", true);
    it.jobs.push(NewJob::once("t1", "signl4-status", "resolve:a".into(), "{}".into()));
    it.update.signl4_state = Some("closed_by_portal".into());
    let o = s.ingest(&[it], 1003).await.unwrap();
    assert_eq!(o.jobs_created, 0, "extra jobs are not page jobs");
    assert!(s.list_jobs(JobState::Pending, 10).await.unwrap().iter().any(|j| j.key == "resolve:a"));
    assert_eq!(s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().signl4_state, "closed_by_portal");
}

pub async fn follow_ups_commit_only_with_a_done_job(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let j = s.claim_jobs("w", 1000, 60_000, 1).await.unwrap().remove(0);
    let follow = FollowUp {
        update: Some((key("a"), AlertUpdate { signl4_event_id: Some("ev-1".into()), ..Default::default() })),
        jobs: vec![NewJob::once("t1", "incident-sync", "incident:t1:inc-1".into(), "{}".into())],
    };
    // Lease lost: nothing of the follow-up is written.
    assert!(!s.complete_job_with(j.id, "other", j.rev, "{}", &follow, 1001).await.unwrap());
    assert!(s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().signl4_event_id.is_none());
    assert!(s.complete_job_with(j.id, "w", j.rev, "{}", &follow, 1002).await.unwrap());
    assert_eq!(s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().signl4_event_id.as_deref(), Some("ev-1"));
    assert!(s.list_jobs(JobState::Pending, 10).await.unwrap().iter().any(|x| x.key == "incident:t1:inc-1"));
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

pub async fn ping_works(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}

/// Instantiates the suite for a backend. `$make` is an async expression yielding
/// `Option<Arc<dyn Store>>` on a fresh, empty database; `None` skips the case (only when the
/// developer explicitly asked to skip an unavailable backend).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            new_alert_creates_exactly_one_page_job,
            reingesting_the_same_version_changes_nothing,
            a_changed_alert_never_pages_again,
            an_alert_raised_above_the_threshold_later_pages_then,
            idempotency_keys_are_unique,
            cursors_round_trip_per_tenant_and_source,
            claims_lease_jobs_and_fence_their_completion,
            retries_wait_until_their_time,
            buried_jobs_are_visible_and_never_retried,
            paused_jobs_wait_for_unpause,
            due_jobs_come_oldest_first,
            concurrent_claimers_never_share_a_job,
            releasing_leases_makes_in_flight_jobs_due,
            coalescing_jobs_merge_while_pending_and_rearm_when_done,
            completing_a_stale_revision_releases_the_job_to_run_again,
            inbound_events_are_recorded_once_with_their_effects,
            sync_bookkeeping_and_lookups,
            follow_ups_commit_only_with_a_done_job,
            one_owner_holds_a_lease_until_it_expires,
            ping_works
        );
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $make.await {
                    Some(store) => $crate::conformance::$case(store).await,
                    None => eprintln!("skipped: backend unavailable and skipping was requested"),
                }
            }
        )*
    };
}
