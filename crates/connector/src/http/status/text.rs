//! The status page's text from anywhere (upstream, the database, the configuration) as it may
//! be shown: through the process-wide redactor first, error texts cut after redaction.

use s4s_core::status as words;

use crate::redactor::redact;

/// How much of an error text the page shows (`jobs show KEY` shows all of it).
pub const ERROR_EXCERPT: usize = 400;

/// Text from anywhere, redacted (the template escapes it).
pub fn t(text: &str) -> String {
    redact(text)
}

/// Redacted, then cut (so a cut cannot split a secret out of the redactor's view).
pub fn excerpt(text: &str) -> String {
    words::excerpt(&redact(text), ERROR_EXCERPT)
}
