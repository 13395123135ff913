//! Logging setup.

use tracing_subscriber::EnvFilter;

/// `format`: "text" or "json". `RUST_LOG` overrides `default_level`.
pub fn init(format: &str, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},sqlx=warn,hyper=warn,reqwest=warn")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "json" { builder.json().try_init() } else { builder.with_target(false).try_init() };
}
