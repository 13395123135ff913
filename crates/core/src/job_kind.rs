//! What a kind of outbox job is: its stored name and the facts the runner, the store and the
//! status page need about it, declared once by each kind (`jobs/<kind>.rs`).

use crate::budget::Priority;

/// A kind of outbox job. Each kind declares its value once (`jobs::<kind>::KIND`); the stored
/// name never changes (rows outlive versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobKind {
    name: &'static str,
    priority: Priority,
    sends_to_signl4: bool,
    description: &'static str,
}

impl JobKind {
    /// `name`: the stored name; `priority`: its place at the upstream's request budget
    /// (`budget.rs`) and in the claim order; `sends_to_signl4`: its handler POSTs to the SIGNL4
    /// webhook (and parks while SIGNL4 rejects the team secret); `description`: the kind in
    /// words on the status page.
    pub const fn new(
        name: &'static str,
        priority: Priority,
        sends_to_signl4: bool,
        description: &'static str,
    ) -> JobKind {
        JobKind { name, priority, sends_to_signl4, description }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.name
    }

    /// Its priority at the upstream's request budget: pages first, then write-backs of
    /// responder actions, then housekeeping.
    pub fn priority(self) -> Priority {
        self.priority
    }

    /// Its handler POSTs to the SIGNL4 webhook (parked per team when SIGNL4 rejects the secret).
    pub fn sends_to_signl4(self) -> bool {
        self.sends_to_signl4
    }

    /// The kind in words (`page` → `pages to SIGNL4`).
    pub fn description(self) -> &'static str {
        self.description
    }
}

/// A kind equals its stored name.
impl PartialEq<&str> for JobKind {
    fn eq(&self, name: &&str) -> bool {
        self.name == *name
    }
}
