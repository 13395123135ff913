//! The `doctor` report: text (one line per check, fixes below failures, a summary) or JSON,
//! and its exit code.

use super::{Check, Status};

/// One line per check (`✔`/`✘`/`–`, check, detail), the fix indented below a failure, tenants
/// as headings, and a summary line.
pub fn render_text(checks: &[Check]) -> String {
    let mut out = String::new();
    let mut tenant: Option<&str> = None;
    for c in checks {
        if tenant != Some(c.tenant.as_str()) {
            if tenant.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("tenant {}\n", c.tenant));
            tenant = Some(&c.tenant);
        }
        out.push_str(&format!("  {} {}: {}\n", c.status.mark(), c.check, c.detail));
        if let (Status::Failed, Some(fix)) = (c.status, &c.fix) {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix: " } else { "     " };
                out.push_str(&format!("      {lead}{line}\n"));
            }
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let (ok, failed, skipped) = (count(Status::Ok), count(Status::Failed), count(Status::Skipped));
    out.push_str(&format!(
        "\n{}: {ok} ok, {failed} failed, {skipped} skipped\n",
        if failed == 0 { "everything this configuration uses works" } else { "not ready" }
    ));
    out
}

/// The checks as a JSON array of `{tenant, check, status, detail, fix}`.
pub fn render_json(checks: &[Check]) -> String {
    serde_json::to_string_pretty(checks).unwrap_or_else(|_| "[]".into())
}

/// 0 when nothing failed, 1 otherwise (2, a configuration error, is decided before).
pub fn exit_code(checks: &[Check]) -> u8 {
    if checks.iter().any(|c| c.status == Status::Failed) { 1 } else { 0 }
}
