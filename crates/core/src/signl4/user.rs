//! A SIGNL4 user as events and REST objects name it (user name, e-mail, id).

use serde::Deserialize;

/// A SIGNL4 user; any field may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct User {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub mailaddress: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

impl User {
    /// The best human identifier: e-mail, else user name, else id.
    pub fn display(&self) -> Option<&str> {
        self.mailaddress
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.username.as_deref().filter(|s| !s.is_empty()))
            .or(self.id.as_deref().filter(|s| !s.is_empty()))
    }
}
