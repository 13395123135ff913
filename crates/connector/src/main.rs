//! `signl4-sentinel`: Microsoft Graph Security / Sentinel ⇄ SIGNL4 mobile alerting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use s4s_core::config::{self, ProcessEnv};
use signl4_sentinel::{app, clients, demo, telemetry};

#[derive(Parser)]
#[command(
    name = "signl4-sentinel",
    version,
    about = "Pages your on-call team through SIGNL4 for Microsoft Defender and Sentinel alerts, and syncs their response back.",
    long_about = "signl4-sentinel reads security alerts from the Microsoft Graph Security API (Defender XDR, \
Defender for Endpoint/Identity/Office 365/Cloud, Entra ID Protection, Sentinel) and Sentinel incidents through \
the Azure REST API, pages the team on duty through SIGNL4 exactly once per alert, and writes their \
acknowledgements, notes and closes back to Defender and Sentinel. State lives in SQLite (default) or PostgreSQL.\n\n\
Try it without any cloud account: `signl4-sentinel demo` (or `demo --once` for a self-checking run).\n\n\
Run it for real: `signl4-sentinel config example > s4s.toml`, edit it, check it with \
`signl4-sentinel config check s4s.toml`, then start `signl4-sentinel run --config s4s.toml`. \
README.md explains the Entra app registration, the roles and the SIGNL4 settings."
)]
struct Cli {
    /// Log format: text or json.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"], env = "SIGNL4_SENTINEL_LOG_FORMAT")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the connector service.
    Run {
        /// Configuration file (TOML). Values can be overridden with SIGNL4_SENTINEL__SECTION__KEY variables.
        #[arg(long, short, env = "SIGNL4_SENTINEL_CONFIG")]
        config: PathBuf,
    },
    /// Run the connector against the built-in fake cloud and show alerts flowing to SIGNL4.
    Demo {
        /// Run a finite scenario, verify every alert was paged exactly once with the right
        /// content, print a summary and exit (0 = all good).
        #[arg(long)]
        once: bool,
        /// Seconds between new alerts in the live demo.
        #[arg(long, default_value_t = 3)]
        every: u64,
    },
    /// Run only the fake cloud (Entra ID, Graph Security, Sentinel ARM, Log Analytics, SIGNL4)
    /// for manual testing; it accepts the credentials in `config example`.
    Emulator {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4010")]
        listen: SocketAddr,
        /// Alerts to create at start (realistic Defender / Entra / Sentinel alerts, rotating).
        #[arg(long, default_value_t = 5)]
        alerts: usize,
    },
    /// Validate or print configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Show outbox job counts and dead letters.
    Jobs {
        #[arg(long, short, env = "SIGNL4_SENTINEL_CONFIG")]
        config: PathBuf,
        /// List dead-lettered jobs with their last error.
        #[arg(long)]
        dead: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file (no network access). Exit code 2 on errors.
    Check { file: PathBuf },
    /// Print a commented example that works against `signl4-sentinel emulator`.
    Example,
}

fn load_config(path: &PathBuf) -> Result<config::Config, ExitCode> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read configuration file {}: {e}", path.display());
            return Err(ExitCode::from(2));
        }
    };
    let cfg = config::load(&text, &ProcessEnv).map_err(|e| {
        eprintln!("error: invalid configuration in {}: {e}", path.display());
        ExitCode::from(2)
    })?;
    // From here on, no configured secret reaches a log line, an error or a page.
    clients::http::install_redactor(&cfg);
    // Certificate files are read now: a bad one is a configuration error (exit 2).
    clients::entra::check_credentials(&cfg).map_err(|e| {
        eprintln!("error: invalid configuration in {}: {e}", path.display());
        ExitCode::from(2)
    })?;
    Ok(cfg)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match cli.command {
            Command::Config { command: ConfigCommand::Example } => {
                print!("{}", config::example());
                ExitCode::SUCCESS
            }
            Command::Config { command: ConfigCommand::Check { file } } => match load_config(&file) {
                Ok(c) => {
                    println!(
                        "{}: OK ({} tenant(s): {})",
                        file.display(),
                        c.tenants.len(),
                        c.tenants.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                    );
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            },
            Command::Run { config } => {
                telemetry::init(&cli.log_format, "info");
                let cfg = match load_config(&config) {
                    Ok(c) => c,
                    Err(code) => return code,
                };
                let app = match app::App::start(cfg).await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::error!("cannot start: {e:#}");
                        return ExitCode::FAILURE;
                    }
                };
                wait_for_signal().await;
                tracing::info!("shutting down: claiming nothing more, finishing in-flight deliveries");
                if app.stop().await {
                    tracing::info!("stopped cleanly");
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Command::Jobs { config, dead } => {
                let cfg = match load_config(&config) {
                    Ok(c) => c,
                    Err(code) => return code,
                };
                match jobs(&cfg, dead).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Emulator { listen, alerts } => {
                telemetry::init(&cli.log_format, "info");
                match demo::emulator(listen, alerts).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::FAILURE
                    }
                }
            }
            Command::Demo { once, every } => {
                telemetry::init(&cli.log_format, "warn");
                match demo::run(once, every).await {
                    Ok(true) => ExitCode::SUCCESS,
                    Ok(false) => ExitCode::FAILURE,
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::FAILURE
                    }
                }
            }
        }
    })
}

async fn jobs(cfg: &config::Config, dead: bool) -> anyhow::Result<()> {
    // SQLite: read-only, so this works while the service holds the database.
    let store: std::sync::Arc<dyn s4s_store::Store> = match &cfg.storage {
        config::StorageConfig::Sqlite { path } => std::sync::Arc::new(s4s_store::SqliteStore::inspect(path).await?),
        other => app::open_store(other).await?,
    };
    let c = store.job_counts().await?;
    println!("pending: {}  parked: {}  done: {}  dead: {}", c.pending, c.paused, c.done, c.dead);
    if dead {
        for j in store.list_jobs(s4s_store::JobState::Dead, 1000).await? {
            println!(
                "#{} {} {} attempts={} error={}",
                j.id,
                j.tenant,
                j.key,
                j.attempts,
                clients::http::redact(&j.last_error.unwrap_or_default())
            );
        }
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
