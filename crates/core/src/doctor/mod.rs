//! `doctor`'s verdicts (pure), split by concern; everything public is re-exported here.
//!
//! - `roles`: which Graph application roles and Azure roles (Sentinel workspace) a
//!   configuration needs, the token's `roles` claim against them, the `az` commands that grant them.
//! - `failure`: what a failed live check means (HTTP status, AADSTS code, ARM error code) →
//!   verdict with its fix (the missing permission, the `az` command, the configuration key).
//! - `outbound`: whether a registered SIGNL4 outbound webhook points at this connector.
//! - `report`: the report as text or JSON, and its exit code.
//!
//! Here: a check's outcome ([`Status`], [`Verdict`], [`Check`]) and what the fixes are worded
//! from ([`Ctx`]). The live checks themselves are `connector/src/doctor.rs`.

mod failure;
mod outbound;
mod report;
mod roles;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::config::TenantConfig;

pub use failure::{Failure, Probe, failure_verdict, ops_secret_verdict};
pub use outbound::{outbound_verdict, outbound_webhooks};
pub use report::{exit_code, render_json, render_text};
pub use roles::{
    GRAPH_APP_ID, GRAPH_ROLE_IDS, GraphNeed, az_role_assignment, graph_needs, graph_permission_fix, roles_verdict,
    sentinel_role, uses_log_analytics, workspace_scope,
};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    /// Not used by this configuration, or not checkable (said why in the detail).
    Skipped,
}

impl Status {
    /// `✔` / `✘` / `–`.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✔",
            Status::Failed => "✘",
            Status::Skipped => "–",
        }
    }
}

/// What a check found, and for a failure how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Verdict {
    pub fn ok(detail: impl Into<String>) -> Verdict {
        Verdict { status: Status::Ok, detail: detail.into(), fix: None }
    }

    pub fn failed(detail: impl Into<String>, fix: impl Into<String>) -> Verdict {
        Verdict { status: Status::Failed, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub fn skipped(detail: impl Into<String>) -> Verdict {
        Verdict { status: Status::Skipped, detail: detail.into(), fix: None }
    }
}

/// One line of the report (`--json`: `{tenant, check, status, detail, fix}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub tenant: String,
    pub check: String,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn new(tenant: &str, check: impl Into<String>, v: Verdict) -> Check {
        Check { tenant: tenant.to_string(), check: check.into(), status: v.status, detail: v.detail, fix: v.fix }
    }
}

/// What a tenant's checks need to word their fixes: the configuration, its key
/// (`tenant[0]`) and who to assign roles to.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub tenant: &'a TenantConfig,
    /// The tenant's configuration key, e.g. `tenant[0]`.
    pub prefix: &'a str,
    /// The service principal's object id (`oid` of a token), for an identity without a
    /// client id (system-assigned managed identity).
    pub object_id: Option<&'a str>,
}

impl Ctx<'_> {
    /// `--assignee <client id>` (or the object id of a system-assigned identity).
    pub fn assignee(&self) -> String {
        if !self.tenant.client_id.is_empty() {
            format!("--assignee {}", self.tenant.client_id)
        } else if let Some(oid) = self.object_id {
            format!("--assignee-object-id {oid} --assignee-principal-type ServicePrincipal")
        } else {
            "--assignee-object-id <the managed identity's principal id> --assignee-principal-type ServicePrincipal"
                .into()
        }
    }

    fn key(&self, field: &str) -> String {
        format!("{}.{field}", self.prefix)
    }

    fn app(&self) -> String {
        if self.tenant.client_id.is_empty() { "the managed identity".into() } else { self.tenant.client_id.clone() }
    }
}
