//! Where the SIGNL4 alert of a paged alert stands ([`Signl4State`]), shared by every sync concern.

/// Where the SIGNL4 alert of a paged alert stands, as far as we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signl4State {
    /// Not paged (yet).
    None,
    Open,
    Acknowledged,
    Closed,
    /// We acknowledged it in SIGNL4 because the portal moved the alert to inProgress.
    AcknowledgedByPortal,
    /// We closed it in SIGNL4 because the portal resolved the alert.
    ClosedByPortal,
    /// Never sent: held back by the team's storm budget and counted into a summary page.
    Held,
    /// Not paged on its own: added to the page of the first alert of its incident
    /// (`group = "incident"`), whose SIGNL4 alert stands for it.
    Grouped,
}

impl Signl4State {
    pub fn as_str(self) -> &'static str {
        match self {
            Signl4State::None => "none",
            Signl4State::Open => "open",
            Signl4State::Acknowledged => "acknowledged",
            Signl4State::Closed => "closed",
            Signl4State::AcknowledgedByPortal => "acknowledged_by_portal",
            Signl4State::ClosedByPortal => "closed_by_portal",
            Signl4State::Held => "held",
            Signl4State::Grouped => "grouped",
        }
    }

    pub fn parse(s: &str) -> Signl4State {
        match s {
            "open" => Signl4State::Open,
            "acknowledged" => Signl4State::Acknowledged,
            "closed" => Signl4State::Closed,
            "acknowledged_by_portal" => Signl4State::AcknowledgedByPortal,
            "closed_by_portal" => Signl4State::ClosedByPortal,
            "held" => Signl4State::Held,
            "grouped" => Signl4State::Grouped,
            _ => Signl4State::None,
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Signl4State::Closed | Signl4State::ClosedByPortal)
    }

    pub fn is_acknowledged_or_closed(self) -> bool {
        !matches!(self, Signl4State::None | Signl4State::Open | Signl4State::Held | Signl4State::Grouped)
    }
}
