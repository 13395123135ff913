//! Fixtures the conformance cases share: alerts, page jobs and ingest items of tenant `t1`.

use crate::types::{AlertKey, AlertRecord, IngestItem, NewJob};

pub(crate) fn alert(id: &str, version: &str) -> AlertRecord {
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

pub(crate) fn page(id: &str) -> NewJob {
    NewJob::once("t1", s4s_core::jobs::page::KIND, format!("page:{id}"), format!("{{\"a\":\"{id}\"}}"))
}

pub(crate) fn item(id: &str, version: &str, pages: bool) -> IngestItem {
    IngestItem::new(alert(id, version), pages.then(|| page(id)))
}

pub(crate) fn key(id: &str) -> AlertKey {
    AlertKey { tenant: "t1".into(), source: "graph-alert".into(), alert_id: id.into() }
}

pub(crate) fn join(old: &str, new: &str) -> String {
    format!("{old}+{new}")
}
