//! Job kind `audit`: upload the tenant's unsent `SIGNL4_CL` audit records (`crate::audit`)
//! through the Logs Ingestion API; one coalescing job per tenant, armed with every record.

use crate::budget::Priority;
use crate::job_kind::JobKind;
use crate::records::NewJob;

pub const KIND: JobKind =
    JobKind::new("audit", Priority::Housekeeping, false, "SIGNL4_CL audit uploads to Log Analytics");

/// The tenant's audit upload (`audit:{tenant}`): coalescing, so records added while it runs
/// make it run again; its payload carries nothing (the records are in their own table).
pub fn audit_upload(tenant: &str) -> NewJob {
    NewJob::coalescing(tenant, KIND, format!("audit:{tenant}"), "{}".into(), |_, _| "{}".into())
}
