//! Former home of the identifiers, kept as an alias of [`crate::ids`] for older callers.

pub use crate::ids::*;
