//! Conformance cases for `Outbox`: claiming, fenced completion, retries, burial, pauses, coalescing.

use std::sync::Arc;

use super::fixtures::{item, join, key};
use crate::traits::Store;
use crate::types::{AlertUpdate, FollowUp, IngestItem, JobState, NewJob};

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

pub async fn one_parked_job_leaves_the_others_running(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true)], 1000).await.unwrap();
    let j = s.claim_jobs("w1", 1000, 500, 1).await.unwrap().remove(0);
    assert!(!s.pause_job(j.id, "someone-else", "HTTP 404", 1001).await.unwrap(), "only the lease holder parks");
    assert!(s.pause_job(j.id, "w1", "SIGNL4 rejected the team secret", 1001).await.unwrap());
    let rest = s.claim_jobs("w1", 99_999, 500, 10).await.unwrap();
    assert_eq!(rest.len(), 1, "the other job is still claimed");
    assert_ne!(rest[0].id, j.id);
    let c = s.job_counts().await.unwrap();
    assert_eq!((c.pending, c.paused), (1, 1));
    let parked = s.get_job(&j.key).await.unwrap().unwrap();
    assert_eq!(parked.last_error.as_deref(), Some("SIGNL4 rejected the team secret"));
    assert_eq!(s.unpause_all(5000).await.unwrap(), 1);
    assert_eq!(
        s.claim_jobs("w2", 5000, 500, 10).await.unwrap().into_iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![j.id]
    );
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
    let j = |p: &str| NewJob::coalescing("t1", s4s_core::jobs::graph_sync::KIND, "sync:a".into(), p.into(), join);
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
    let once = NewJob::once("t1", s4s_core::jobs::page::KIND, "page:x".into(), "p".into());
    assert_eq!(s.enqueue(std::slice::from_ref(&once), 1006).await.unwrap(), 1);
    let p = s.claim_jobs("w", 1007, 500, 10).await.unwrap().into_iter().find(|j| j.key == "page:x").unwrap();
    assert!(s.complete_job(p.id, "w", p.rev, "{}", 1008).await.unwrap());
    assert_eq!(s.enqueue(&[once], 1009).await.unwrap(), 0);
}

pub async fn completing_a_stale_revision_releases_the_job_to_run_again(s: Arc<dyn Store>) {
    let j = |p: &str| NewJob::coalescing("t1", s4s_core::jobs::graph_sync::KIND, "sync:a".into(), p.into(), join);
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

pub async fn follow_ups_commit_only_with_a_done_job(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let j = s.claim_jobs("w", 1000, 60_000, 1).await.unwrap().remove(0);
    let follow = FollowUp {
        update: Some((key("a"), AlertUpdate { signl4_event_id: Some("ev-1".into()), ..Default::default() })),
        jobs: vec![NewJob::once("t1", s4s_core::jobs::incident_sync::KIND, "incident:t1:inc-1".into(), "{}".into())],
        ..Default::default()
    };
    // Lease lost: nothing of the follow-up is written.
    assert!(!s.complete_job_with(j.id, "other", j.rev, "{}", &follow, 1001).await.unwrap());
    assert!(s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().signl4_event_id.is_none());
    assert!(s.complete_job_with(j.id, "w", j.rev, "{}", &follow, 1002).await.unwrap());
    assert_eq!(s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().signl4_event_id.as_deref(), Some("ev-1"));
    assert!(s.list_jobs(JobState::Pending, 10).await.unwrap().iter().any(|x| x.key == "incident:t1:inc-1"));
}

/// Fair order: the first page of a new incident is claimed before older follow-up pages of an
/// incident that already paged (a storm in one incident does not hold back a new one).
pub async fn first_pages_of_new_incidents_go_before_an_incidents_follow_ups(s: Arc<dyn Store>) {
    let in_incident = |id: &str, inc: &str| {
        let mut i = item(id, "v1", true);
        i.alert.incident_id = Some(inc.into());
        i
    };
    s.ingest(&[in_incident("storm-1", "big"), in_incident("storm-2", "big"), in_incident("storm-3", "big")], 1000)
        .await
        .unwrap();
    s.ingest(&[in_incident("new-1", "other")], 2000).await.unwrap();
    let got = s.claim_jobs("w", 3000, 500, 2).await.unwrap();
    let mut keys: Vec<&str> = got.iter().map(|j| j.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["page:new-1", "page:storm-1"], "the storm's follow-ups wait");
    let rest = s.claim_jobs("w", 3000, 500, 10).await.unwrap();
    assert_eq!(rest.len(), 2, "and still page");
}

/// A budget wait applies to every pending job of the tenant and kind at once, never to leased
/// (running) jobs or to other kinds or tenants.
pub async fn deferring_a_kind_moves_its_pending_jobs_only(s: Arc<dyn Store>) {
    let job = |tenant: &str, kind: &str, key: &str| {
        NewJob::once(tenant, s4s_core::jobs::parse(kind).unwrap(), key.to_string(), "{}".to_string())
    };
    s.enqueue(
        &[
            job("t1", "graph-sync", "a"),
            job("t1", "graph-sync", "b"),
            job("t1", "page", "c"),
            job("t2", "graph-sync", "d"),
        ],
        1000,
    )
    .await
    .unwrap();
    let running = s.claim_jobs("w", 1000, 10_000, 1).await.unwrap();
    assert_eq!(running[0].key, "a");
    assert_eq!(s.defer_jobs("t1", "graph-sync", 5000, 1000).await.unwrap(), 1, "only b: a is leased");
    let due: Vec<String> = s.claim_jobs("w", 1000, 500, 10).await.unwrap().into_iter().map(|j| j.key).collect();
    assert_eq!(due, ["c", "d"]);
    let later: Vec<String> = s.claim_jobs("w", 5000, 500, 10).await.unwrap().into_iter().map(|j| j.key).collect();
    assert!(later.contains(&"b".to_string()), "{later:?}");
}

/// Housekeeping (incident tags, roll-ups, enrichment comments) is claimed after pages, even
/// when it became due first.
pub async fn housekeeping_is_claimed_after_pages(s: Arc<dyn Store>) {
    s.enqueue(&[NewJob::once("t1", s4s_core::jobs::incident_sync::KIND, "tag:1".into(), "{}".into())], 1000)
        .await
        .unwrap();
    s.ingest(&[item("p", "v1", true)], 2000).await.unwrap();
    let first = s.claim_jobs("w", 3000, 500, 1).await.unwrap();
    assert_eq!(first[0].key, "page:p");
    assert_eq!(s.claim_jobs("w", 3000, 500, 1).await.unwrap()[0].key, "tag:1");
}

pub async fn an_attempt_begun_and_not_ended_makes_the_job_in_doubt(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true)], 1000).await.unwrap();
    let js = s.claim_jobs("w1", 1000, 500, 10).await.unwrap();
    assert!(js.iter().all(|j| j.attempt.is_none()), "a fresh job is not in doubt");
    let (a, b) = (&js[0], &js[1]);
    // Fenced: only the lease holder may begin, and only while its lease lives.
    assert!(!s.begin_attempt(a.id, "w2", "x", 1100).await.unwrap());
    assert!(s.begin_attempt(a.id, "w1", "att-1", 1100).await.unwrap());
    assert!(s.begin_attempt(b.id, "w1", "att-2", 1100).await.unwrap());
    // b: SIGNL4 answered and refused; nothing is in doubt.
    assert!(s.end_attempt(b.id, "w1", 1150).await.unwrap());
    assert!(s.retry_job(b.id, "w1", 1200, "HTTP 503", 1150).await.unwrap());
    // a: the worker died mid-attempt. The next claim sees the attempt.
    let again = s.claim_jobs("w2", 1600, 500, 10).await.unwrap();
    let a2 = again.iter().find(|j| j.id == a.id).expect("a is due again after its lease");
    assert_eq!(a2.attempt, Some(crate::types::Attempt { id: "att-1".into(), started_ms: 1100 }));
    let b2 = again.iter().find(|j| j.id == b.id).expect("b is due");
    assert_eq!(b2.attempt, None);
    // A retry keeps the record (the outcome is still unknown); a lease that expired cannot begin.
    assert!(s.retry_job(a2.id, "w2", 1700, "timeout", 1650).await.unwrap());
    let a3 = s.claim_jobs("w3", 1700, 100, 10).await.unwrap().remove(0);
    assert_eq!(a3.attempt.as_ref().map(|x| x.id.as_str()), Some("att-1"));
    assert!(!s.begin_attempt(a3.id, "w3", "att-3", 1800).await.unwrap(), "expired lease: may not send");
}

pub async fn leases_of_running_jobs_are_extended_and_dead_ones_are_not_revived(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true)], 1000).await.unwrap();
    let js = s.claim_jobs("w1", 1000, 500, 10).await.unwrap();
    let ids: Vec<i64> = js.iter().map(|j| j.id).collect();
    // Running: extended, so nobody else takes them when the first lease would have expired.
    assert_eq!(s.extend_leases(&ids, "w1", 2000, 1400).await.unwrap(), 2);
    assert!(s.claim_jobs("w2", 1600, 500, 10).await.unwrap().is_empty());
    assert_eq!(s.extend_leases(&ids, "w2", 9000, 1700).await.unwrap(), 0, "only the owner extends");
    // w1 died: the leases expire at 2000 and cannot be revived afterwards.
    assert_eq!(s.extend_leases(&ids, "w1", 3000, 2100).await.unwrap(), 0);
    assert_eq!(s.claim_jobs("w2", 2100, 500, 10).await.unwrap().len(), 2);
}

pub async fn only_dead_jobs_are_redriven_and_running_ones_keep_their_lease(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true), item("c", "v1", true)], 1000).await.unwrap();
    let js = s.claim_jobs("w1", 1000, 10_000, 3).await.unwrap();
    let id = |k: &str| js.iter().find(|j| j.key == k).unwrap().clone();
    let (a, b, c) = (id("page:a"), id("page:b"), id("page:c"));
    // `a` began sending (in doubt) and was then given up; `b` is still running; `c` is done.
    assert!(s.begin_attempt(a.id, "w1", "att-1", 1050).await.unwrap());
    assert!(s.bury_job(a.id, "w1", "gave up after 86400s: timeout", 1100).await.unwrap());
    assert!(s.complete_job(c.id, "w1", c.rev, "{}", 1100).await.unwrap());

    // Pending (leased), done and unknown jobs are refused and unchanged.
    assert!(!s.redrive_job("page:b", 2000).await.unwrap());
    assert!(!s.redrive_job("page:c", 2000).await.unwrap());
    assert!(!s.redrive_job("page:nope", 2000).await.unwrap());
    let b_now = s.get_job("page:b").await.unwrap().unwrap();
    assert_eq!((b_now.lease_owner.as_deref(), b_now.lease_until_ms, b_now.attempts), (Some("w1"), Some(11_000), 1));
    assert_eq!(s.get_job("page:c").await.unwrap().unwrap().state, JobState::Done);

    // The dead one: pending, due now, attempts and dead-letter horizon afresh, its last error
    // and in-doubt attempt kept.
    assert!(s.redrive_job("page:a", 2000).await.unwrap());
    let r = s.get_job("page:a").await.unwrap().unwrap();
    assert_eq!(r.state, JobState::Pending);
    assert_eq!((r.attempts, r.created_ms, r.next_attempt_ms, r.updated_ms), (0, 2000, 2000, 2000));
    assert_eq!((r.lease_owner, r.lease_until_ms, r.paused), (None, None, false));
    assert_eq!(r.last_error.as_deref(), Some("gave up after 86400s: timeout"));
    assert_eq!(r.attempt.as_ref().map(|a| a.id.as_str()), Some("att-1"));
    assert_eq!(r.payload, a.payload);
    assert!(!s.redrive_job("page:a", 2001).await.unwrap(), "a second redrive changes nothing");
    assert_eq!(s.next_due_ms().await.unwrap(), Some(2000));

    // Another worker claims it at once (in doubt); `b`'s lease was never touched.
    let again = s.claim_jobs("w2", 2000, 10_000, 10).await.unwrap();
    assert_eq!(again.iter().map(|j| j.key.as_str()).collect::<Vec<_>>(), vec!["page:a"]);
    assert_eq!(again[0].attempts, 1);
    assert!(again[0].attempt.is_some());
    assert!(s.complete_job(b.id, "w1", b.rev, "{}", 2100).await.unwrap());

    // All dead jobs at once, or one tenant's.
    assert!(s.bury_job(again[0].id, "w2", "rejected: HTTP 400", 2200).await.unwrap());
    s.enqueue(&[NewJob::once("t2", s4s_core::jobs::page::KIND, "page:t2-x".into(), "{}".into())], 2200).await.unwrap();
    let t2 = s.claim_jobs("w2", 2200, 10_000, 10).await.unwrap().remove(0);
    assert!(s.bury_job(t2.id, "w2", "rejected: HTTP 400", 2300).await.unwrap());
    assert_eq!(s.job_counts().await.unwrap().dead, 2);
    assert_eq!(s.redrive_dead(Some("t1"), 3000).await.unwrap(), 1);
    assert_eq!(s.get_job("page:t2-x").await.unwrap().unwrap().state, JobState::Dead);
    assert_eq!(s.redrive_dead(None, 3000).await.unwrap(), 1);
    assert_eq!(s.redrive_dead(None, 3000).await.unwrap(), 0);
    let c = s.job_counts().await.unwrap();
    assert_eq!((c.pending, c.dead, c.done), (2, 0, 2));
}
