//! Conformance cases for `AlertStore`: ingest, paging once, lookups, bookkeeping, inbound events.

use std::sync::Arc;

use super::fixtures::{alert, item, join, key, page};
use crate::traits::Store;
use crate::types::{AlertUpdate, InboundEvent, JobState, NewJob};

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

pub async fn inbound_events_are_recorded_once_with_their_effects(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let ev = InboundEvent {
        event_id: "ev-1".into(),
        tenant: "t1".into(),
        meaning: "acknowledged".into(),
        audit: Vec::new(),
    };
    let upd = AlertUpdate { signl4_state: Some("acknowledged".into()), ..Default::default() };
    let job = NewJob::coalescing("t1", s4s_core::jobs::graph_sync::KIND, "sync:a".into(), "ack".into(), join);
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
    it.jobs.push(NewJob::once("t1", s4s_core::jobs::signl4_status::KIND, "resolve:a".into(), "{}".into()));
    it.update.signl4_state = Some("closed_by_portal".into());
    let o = s.ingest(&[it], 1003).await.unwrap();
    assert_eq!(o.jobs_created, 0, "extra jobs are not page jobs");
    assert!(s.list_jobs(JobState::Pending, 10).await.unwrap().iter().any(|j| j.key == "resolve:a"));
    assert_eq!(s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap().signl4_state, "closed_by_portal");
}

pub async fn live_pages_are_the_paged_rows_still_open_in_signl4(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true), item("b", "v1", true), item("c", "v1", false), item("d", "v1", true)], 1000)
        .await
        .unwrap();
    let set = |id: &'static str, state: &'static str, at: i64| {
        let s = s.clone();
        async move {
            s.update_alert(&key(id), &AlertUpdate { signl4_state: Some(state.into()), ..Default::default() }, at)
                .await
                .unwrap()
        }
    };
    set("a", "acknowledged", 1001).await;
    set("b", "closed", 1002).await;
    set("d", "grouped", 1003).await;
    let live = s.live_pages("t1", "graph-alert", 10).await.unwrap();
    let ids: Vec<&str> = live.iter().map(|x| x.record.alert_id.as_str()).collect();
    assert_eq!(ids, vec!["d", "a"], "closed and never-paged rows are left out; newest change first");
    assert_eq!(live[1].record.raw, "{\"id\":\"a\"}", "with the raw JSON");
    assert_eq!(s.live_pages("t1", "graph-alert", 1).await.unwrap().len(), 1);
    assert!(s.live_pages("t1", "sentinel:ws", 10).await.unwrap().is_empty());
    assert!(s.live_pages("t2", "graph-alert", 10).await.unwrap().is_empty());
}

pub async fn routes_episodes_and_grouping_are_kept_and_more_pages_come_only_with_the_page(s: Arc<dyn Store>) {
    let mut first = item("a", "v1", true);
    first.more_pages.push(NewJob::once("t1", s4s_core::jobs::page::KIND, "page:a@team-b".into(), "{}".into()));
    first.update.routes = Some("team-a,team-b".into());
    let o = s.ingest(&[first], 1000).await.unwrap();
    assert_eq!(o.jobs_created, 2, "the page and the page to the second team");
    let a = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert_eq!(a.routes, vec!["team-a", "team-b"]);
    assert_eq!((a.episode, a.grouped_into.as_deref()), (0, None));
    // A later version that would page again (it cannot: paged) adds no further page either.
    let mut again = item("a", "v2", true);
    again.more_pages.push(NewJob::once("t1", s4s_core::jobs::page::KIND, "page:a@team-c".into(), "{}".into()));
    assert_eq!(s.ingest(&[again], 1100).await.unwrap().jobs_created, 0);
    s.update_alert(
        &key("a"),
        &AlertUpdate { episode: Some(2), grouped_into: Some("s4s:t1:graph-incident:9".into()), ..Default::default() },
        1200,
    )
    .await
    .unwrap();
    let a = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert_eq!((a.episode, a.grouped_into.as_deref()), (2, Some("s4s:t1:graph-incident:9")));
    assert_eq!(a.routes, vec!["team-a", "team-b"], "untouched by an update that does not name them");
    let b = s.ingest(&[item("b", "v1", false)], 1300).await.unwrap();
    assert_eq!(b.new, 1);
    let b = s.get_alert("t1", "graph-alert", "b").await.unwrap().unwrap();
    assert!(b.routes.is_empty() && b.episode == 0);
}

pub async fn the_first_acknowledgement_is_kept_with_its_time(s: Arc<dyn Store>) {
    s.ingest(&[item("a", "v1", true)], 1000).await.unwrap();
    let a = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert_eq!((a.acknowledged_by.as_deref(), a.acknowledged_ms), (None, None));
    let ack = |who: &str, at: i64| AlertUpdate {
        signl4_state: Some("acknowledged".into()),
        acknowledged_by: Some(who.into()),
        acknowledged_ms: Some(at),
        ..Default::default()
    };
    let ev = InboundEvent {
        event_id: "ack-1".into(),
        tenant: "t1".into(),
        meaning: "acknowledged".into(),
        audit: Vec::new(),
    };
    assert!(s.record_inbound(&ev, Some((&key("a"), &ack("rene@example.com", 1500))), &[], 1600).await.unwrap());
    // A second responder acknowledging (multi_ack) does not replace the first.
    s.update_alert(&key("a"), &ack("jane@example.com", 1700), 1700).await.unwrap();
    // Other bookkeeping leaves it alone too.
    s.update_alert(&key("a"), &AlertUpdate { signl4_state: Some("closed".into()), ..Default::default() }, 1800)
        .await
        .unwrap();
    let a = s.get_alert("t1", "graph-alert", "a").await.unwrap().unwrap();
    assert_eq!(
        (a.signl4_state.as_str(), a.acknowledged_by.as_deref(), a.acknowledged_ms),
        ("closed", Some("rene@example.com"), Some(1500))
    );
    // The bulk state lookup carries it as well.
    let many = s.get_alerts("t1", "graph-alert", &["a".into()]).await.unwrap();
    assert_eq!(many[0].acknowledged_by.as_deref(), Some("rene@example.com"));
}
