//! What this binary is: its version and the git revision it was built from (`build.rs`), for
//! `--version` and the `s4s_build_info` metric.

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision (12 hex digits, `-modified` when built from a changed work tree,
/// `S4S_BUILD_REVISION` when set at build time, else `unknown`).
pub const REVISION: &str = env!("S4S_REVISION");
/// `--version`'s text: `0.1.0 (rev 1a2b3c4d5e6f)`.
pub const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (rev ", env!("S4S_REVISION"), ")");

/// Sets `s4s_build_info{version, revision} 1` (one series per process).
pub fn publish() {
    metrics::gauge!(crate::telemetry::BUILD_INFO, "version" => VERSION, "revision" => REVISION).set(1.0);
}
