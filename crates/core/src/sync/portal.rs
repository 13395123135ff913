//! Portal changes: an alert or incident changed by someone else → what to do in SIGNL4 ([`PortalAction`]).

use super::state::Signl4State;
use crate::alert::AlertStatus;

/// What to do in SIGNL4 when polling sees a paged alert change in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalAction {
    Resolve,
    Acknowledge,
}

/// `written` is the last status the connector itself wrote to this alert: seeing it come
/// back is an echo, not a portal change.
pub fn portal_change(
    state: Signl4State,
    written: Option<&str>,
    new_status: &AlertStatus,
    ack_on_in_progress: bool,
) -> Option<PortalAction> {
    if matches!(state, Signl4State::None | Signl4State::Held | Signl4State::Grouped) || state.is_closed() {
        return None;
    }
    match new_status {
        AlertStatus::Resolved if written != Some("resolved") => Some(PortalAction::Resolve),
        AlertStatus::InProgress
            if ack_on_in_progress && state == Signl4State::Open && written != Some("inProgress") =>
        {
            Some(PortalAction::Acknowledge)
        }
        _ => None,
    }
}

/// A paged alert or incident that was resolved (in SIGNL4, in the portal or by Microsoft's
/// automatic resolution, `microsoft-apis.md` §8a) and is now open again — set back to new /
/// in progress by someone else (not the echo of a status the connector wrote).
pub fn reopened(previous: &AlertStatus, now: &AlertStatus, written: Option<&str>) -> bool {
    *previous == AlertStatus::Resolved
        && matches!(now, AlertStatus::New | AlertStatus::InProgress)
        && written != Some(now.as_str())
}

/// An incident resolved or redirected (merged into another) by someone else closes the
/// SIGNL4 alerts of its tracked alerts that are still open — unless we resolved it ourselves.
pub fn incident_closes_alert(incident_status: &str, state: Signl4State, written: Option<&str>) -> bool {
    matches!(incident_status, "resolved" | "redirected")
        && !matches!(state, Signl4State::None | Signl4State::Held | Signl4State::Grouped)
        && !state.is_closed()
        && written != Some("resolved")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_changes_versus_our_own_echo() {
        use AlertStatus::*;
        assert_eq!(portal_change(Signl4State::Open, None, &Resolved, false), Some(PortalAction::Resolve));
        assert_eq!(
            portal_change(Signl4State::Acknowledged, Some("inProgress"), &Resolved, false),
            Some(PortalAction::Resolve)
        );
        assert_eq!(
            portal_change(Signl4State::Closed, Some("resolved"), &Resolved, false),
            None,
            "our own close coming back"
        );
        assert_eq!(portal_change(Signl4State::Open, Some("resolved"), &Resolved, false), None);
        assert_eq!(portal_change(Signl4State::ClosedByPortal, None, &Resolved, false), None, "already closed");
        assert_eq!(portal_change(Signl4State::None, None, &Resolved, false), None, "never paged");
        assert_eq!(portal_change(Signl4State::Open, None, &InProgress, false), None);
        assert_eq!(portal_change(Signl4State::Open, None, &InProgress, true), Some(PortalAction::Acknowledge));
        assert_eq!(portal_change(Signl4State::Open, Some("inProgress"), &InProgress, true), None);
        assert_eq!(portal_change(Signl4State::Acknowledged, None, &InProgress, true), None);
    }

    #[test]
    fn incidents_closed_or_redirected_elsewhere_close_open_signl4_alerts() {
        assert!(incident_closes_alert("redirected", Signl4State::Open, None));
        assert!(reopened(&AlertStatus::Resolved, &AlertStatus::New, Some("resolved")));
        assert!(reopened(&AlertStatus::Resolved, &AlertStatus::InProgress, None));
        assert!(!reopened(&AlertStatus::Resolved, &AlertStatus::InProgress, Some("inProgress")), "our own write");
        assert!(!reopened(&AlertStatus::New, &AlertStatus::New, None));
        assert!(!reopened(&AlertStatus::Resolved, &AlertStatus::Resolved, None));
        assert!(incident_closes_alert("resolved", Signl4State::Acknowledged, Some("inProgress")));
        assert!(!incident_closes_alert("resolved", Signl4State::Closed, Some("resolved")));
        assert!(!incident_closes_alert("active", Signl4State::Open, None));
        assert!(!incident_closes_alert("resolved", Signl4State::None, None));
        assert!(!incident_closes_alert("resolved", Signl4State::Open, Some("resolved")));
    }
}
