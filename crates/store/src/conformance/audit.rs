//! The `SIGNL4_CL` audit records: stored once each with what they record (ingest, inbound
//! event, job completion), arming one upload job per tenant, read oldest first until sent.

use std::sync::Arc;

use s4s_core::audit::AlertFacts;
use s4s_core::records::{Action, AuditRecord};

use super::fixtures::{item, key};
use crate::traits::Store;
use crate::types::{AlertUpdate, FollowUp, InboundEvent, JobState};

fn record(tenant: &str, action: Action, what: &str) -> AuditRecord {
    let facts = AlertFacts { source: "graph".into(), alert_id: "a".into(), ..Default::default() };
    AuditRecord::new(tenant, action, what, 1000, &facts)
}

async fn upload_jobs(s: &Arc<dyn Store>) -> Vec<crate::types::Job> {
    s.list_jobs(JobState::Pending, 100).await.unwrap().into_iter().filter(|j| j.kind == "audit").collect()
}

pub async fn audit_records_are_stored_once_with_what_they_record_and_arm_one_upload_job(s: Arc<dyn Store>) {
    // Ingest: the routing record comes only with the page job it records.
    let mut first = item("a", "v1", true);
    first.audit.push(record("t1", Action::Routed, "page:a"));
    s.ingest(&[first.clone()], 1000).await.unwrap();
    let mut again = item("a", "v2", true);
    again.audit.push(record("t1", Action::Routed, "page:a@again"));
    s.ingest(&[again], 1100).await.unwrap();
    assert_eq!(s.unsent_audit_count("t1").await.unwrap(), 1, "no page created, no record");
    let jobs = upload_jobs(&s).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].key, "audit:t1");

    // Inbound: stored with the event, not with its repeat.
    let ev = InboundEvent {
        event_id: "t1:ack:s4-1".into(),
        tenant: "t1".into(),
        meaning: "acknowledged".into(),
        audit: vec![record("t1", Action::Acknowledged, "t1:ack:s4-1")],
    };
    let upd = AlertUpdate { signl4_state: Some("acknowledged".into()), ..Default::default() };
    assert!(s.record_inbound(&ev, Some((&key("a"), &upd)), &[], 1200).await.unwrap());
    assert!(!s.record_inbound(&ev, Some((&key("a"), &upd)), &[], 1300).await.unwrap());
    assert_eq!(s.unsent_audit_count("t1").await.unwrap(), 2);

    // Completion: only when the job is done (not with a lost lease).
    let page = s.claim_jobs("w", 1400, 60_000, 10).await.unwrap().into_iter().find(|j| j.kind == "page").unwrap();
    let follow = FollowUp { audit: vec![record("t1", Action::Paged, &page.key)], ..Default::default() };
    assert!(!s.complete_job_with(page.id, "other", page.rev, "{}", &follow, 1500).await.unwrap());
    assert_eq!(s.unsent_audit_count("t1").await.unwrap(), 2);
    assert!(s.complete_job_with(page.id, "w", page.rev, "{}", &follow, 1600).await.unwrap());
    assert_eq!(s.unsent_audit_count("t1").await.unwrap(), 3);

    // A redo (same record ids) adds nothing; another tenant gets its own upload job.
    assert_eq!(s.record_audit(&[record("t1", Action::Paged, &page.key)], 1700).await.unwrap(), 0);
    assert_eq!(s.record_audit(&[record("t2", Action::Paged, "page:b")], 1700).await.unwrap(), 1);
    let mut keys: Vec<String> = upload_jobs(&s).await.into_iter().map(|j| j.key).collect();
    keys.sort();
    assert_eq!(keys, ["audit:t1", "audit:t2"]);
    assert_eq!(s.unsent_audit_count("t1").await.unwrap(), 3);
}

pub async fn audit_records_come_oldest_first_until_marked_sent(s: Arc<dyn Store>) {
    let records: Vec<AuditRecord> = (0..5).map(|i| record("t1", Action::Annotated, &format!("note:{i}"))).collect();
    assert_eq!(s.record_audit(&records, 1000).await.unwrap(), 5);
    let unsent = s.unsent_audit("t1", 3).await.unwrap();
    let ids: Vec<&str> = unsent.iter().map(|r| r.record_id.as_str()).collect();
    assert_eq!(ids, ["annotated:note:0", "annotated:note:1", "annotated:note:2"]);
    let row: serde_json::Value = serde_json::from_str(&unsent[0].row).unwrap();
    assert_eq!(row["RecordId"], "annotated:note:0");
    assert_eq!(row["Action"], "annotated");
    assert_eq!(unsent[0].created_ms, 1000);
    // The upload job finishing must not mark records it did not send.
    let upload = s.claim_jobs("w", 1000, 60_000, 10).await.unwrap().remove(0);
    assert_eq!(upload.kind, "audit");
    assert_eq!(s.mark_audit_sent(&[unsent[0].id, unsent[1].id], 2000, 0).await.unwrap(), 2);
    assert_eq!(s.mark_audit_sent(&[unsent[0].id], 2100, 0).await.unwrap(), 0, "already sent");
    let rest = s.unsent_audit("t1", 10).await.unwrap();
    let ids: Vec<&str> = rest.iter().map(|r| r.record_id.as_str()).collect();
    assert_eq!(ids, ["annotated:note:2", "annotated:note:3", "annotated:note:4"]);
    assert!(s.unsent_audit("t2", 10).await.unwrap().is_empty());
    // Records sent long ago are forgotten; unsent ones never are.
    s.mark_audit_sent(&[], 3000, 2050).await.unwrap();
    assert_eq!(s.unsent_audit_count("t1").await.unwrap(), 3);
    assert_eq!(s.record_audit(&records[..1], 3100).await.unwrap(), 1, "forgotten after it was sent");
    assert_eq!(s.record_audit(&records[2..3], 3100).await.unwrap(), 0, "unsent, still there");
}
