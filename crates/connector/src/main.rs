//! `signl4-sentinel`: Microsoft Graph Security / Sentinel ⇄ SIGNL4 mobile alerting.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use s4s_core::config::{self, ProcessEnv};
#[cfg(feature = "demo")]
use signl4_sentinel::demo;
use signl4_sentinel::{app, clients, doctor, healthcheck, ops, redactor, telemetry};

/// The long `--help` text; `$demo` is what it says about the `demo` command (nothing in a
/// build without the `demo` feature).
macro_rules! long_about {
    ($demo:literal) => {
        concat!(
            "signl4-sentinel reads security alerts from the Microsoft Graph Security API (Defender XDR, \
Defender for Endpoint/Identity/Office 365/Cloud, Entra ID Protection, Sentinel) and Sentinel incidents through \
the Azure REST API, pages the team on duty through SIGNL4 exactly once per alert, and writes their \
acknowledgements, notes and closes back to Defender and Sentinel. State lives in SQLite (default) or PostgreSQL.\n\n",
            $demo,
            "Run it for real: `signl4-sentinel config example > s4s.toml`, edit it, check it with \
`signl4-sentinel config check s4s.toml`, check its permissions live with `signl4-sentinel doctor --config s4s.toml`, \
then start `signl4-sentinel run --config s4s.toml`. \
The documentation (docs/ in the repository) explains the Entra app registration, the roles and the SIGNL4 settings.",
        )
    };
}
#[cfg(feature = "demo")]
const LONG_ABOUT: &str = long_about!(
    "Try it without any cloud account: `signl4-sentinel demo` (or `demo --once` for a self-checking run).\n\n"
);
#[cfg(not(feature = "demo"))]
const LONG_ABOUT: &str = long_about!("");

#[derive(Parser)]
#[command(
    name = "signl4-sentinel",
    version = signl4_sentinel::buildinfo::LONG_VERSION,
    about = "Pages your on-call team through SIGNL4 for Microsoft Defender and Sentinel alerts, and syncs their response back.",
    long_about = LONG_ABOUT
)]
struct Cli {
    /// Log format: `text` (for people) or `json` (one object per line for log pipelines, with
    /// the stable fields tenant, source, alert_id, job_key, external_id, event_id).
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"], env = "SIGNL4_SENTINEL_LOG_FORMAT")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ask the connector running on this host for /healthz: exit 0 when it answers 2xx, 1 otherwise
    /// (the container image's HEALTHCHECK; needs no shell).
    Healthcheck {
        /// The service's listen address (0.0.0.0 / [::] are asked on loopback).
        #[arg(long, env = "SIGNL4_SENTINEL__SERVER__LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
        timeout: u64,
    },
    /// Run the connector service.
    Run {
        /// Configuration file (TOML). Values can be overridden with SIGNL4_SENTINEL__SECTION__KEY variables.
        #[arg(long, short, env = "SIGNL4_SENTINEL_CONFIG")]
        config: PathBuf,
    },
    /// Run the connector against the built-in fake cloud and show alerts flowing to SIGNL4.
    #[cfg(feature = "demo")]
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
    #[cfg(feature = "demo")]
    Emulator {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4010")]
        listen: std::net::SocketAddr,
        /// Alerts to create at start (realistic Defender / Entra / Sentinel alerts, rotating).
        #[arg(long, default_value_t = 5)]
        alerts: usize,
    },
    // `demo` and `emulator` in a build without them: says so instead of "unrecognized subcommand".
    /// Not in this build: it was built without the `demo` feature (no built-in fake cloud).
    #[cfg(not(feature = "demo"))]
    #[command(name = "demo", alias = "emulator", hide = true, disable_help_flag = true)]
    NoDemo {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        _args: Vec<String>,
    },
    /// Check live, per tenant, that every permission the configuration uses works, and say how
    /// to fix what does not. Exit 0: everything used works; 1: something failed; 2: invalid
    /// configuration.
    #[command(
        long_about = "Check live, per tenant, that every permission and secret the configuration uses works, \
with one line per check (✔ ok, ✘ failed with the fix below it, – not used or not checkable):\n\n\
  - an Entra ID token for each resource used (Microsoft Graph, Azure Resource Manager, Log Analytics);\n\
  - the Microsoft Graph application roles the token carries (its `roles` claim) against what the \
configuration needs: SecurityAlert.Read.All to read only, SecurityAlert.ReadWrite.All and \
SecurityIncident.ReadWrite.All with two-way sync, with the `az ad app permission` commands;\n\
  - a Graph alerts read and an incidents read;\n\
  - per Sentinel workspace an incidents read (403: the missing role and the `az role assignment create` \
command) and a Log Analytics query (when enrichment uses it);\n\
  - the Logs Ingestion data collection rule of the audit trail (a dry call), when configured;\n\
  - per SIGNL4 team: the team secret (a \"resolved\" event for an external id that never paged: nobody \
is paged), the API key, and whether an outbound webhook points at this connector (…/signl4/<inbound_token>);\n\
  - the `[ops]` self-monitoring team's secret, when set.\n\n\
Nothing is written to Defender, Sentinel or the database; each SIGNL4 team gets one event that changes nothing. Secrets are never shown.\n\n\
Exit code: 0 when everything the configuration uses works, 1 when a check failed, 2 for an invalid configuration.",
        after_help = "Examples:\n  signl4-sentinel doctor --config s4s.toml\n  signl4-sentinel doctor --config s4s.toml --json | jq '.[] | select(.status == \"failed\")'"
    )]
    Doctor {
        /// Configuration file (TOML).
        #[arg(long, short, env = "SIGNL4_SENTINEL_CONFIG")]
        config: PathBuf,
        /// Print a JSON array of {tenant, check, status, detail, fix} instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate or print configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect and redrive the outbox (pages and write-backs): counts, dead letters, quarantined
    /// items, one job, retry. Safe while the service runs, on SQLite and PostgreSQL; secrets are never shown.
    #[command(
        after_help = "Examples:\n  signl4-sentinel jobs --config s4s.toml --dead        counts and dead letters with their keys\n  \
signl4-sentinel jobs --config s4s.toml show KEY      one job: state, attempts, last error, payload\n  \
signl4-sentinel jobs --config s4s.toml retry KEY     send a dead letter again\n  \
signl4-sentinel jobs --config s4s.toml retry --dead  send every dead letter again\n  \
signl4-sentinel jobs --config s4s.toml show quarantine:ID    a quarantined item: reason, raw JSON\n  \
signl4-sentinel jobs --config s4s.toml retry quarantine:ID   re-run a quarantined item (after an upgrade)\n  \
signl4-sentinel jobs --config s4s.toml retry --quarantined   re-run every quarantined item"
    )]
    Jobs {
        /// Configuration file (TOML): the database to use.
        #[arg(long, short, global = true, env = "SIGNL4_SENTINEL_CONFIG")]
        config: Option<PathBuf>,
        /// List dead-lettered jobs with their key and last error.
        #[arg(long)]
        dead: bool,
        #[command(subcommand)]
        command: Option<JobsCommand>,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// One job by key: state (pending, running, parked, done, dead), attempts, whether its last
    /// attempt is in doubt, last error, result and payload; or a quarantined item
    /// (`quarantine:ID`): why, attempts, its raw JSON. Secrets (team secrets, API keys, tokens)
    /// are redacted.
    Show {
        /// The job's key, as `jobs --dead` lists it (e.g. page:s4s:contoso:graph-alert:da63…),
        /// or `quarantine:ID` as `jobs` lists it.
        key: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Send a dead letter again: back to pending, due now, attempts reset and its dead-letter
    /// horizon counted from now. Only dead jobs change: a job that is pending or running is
    /// refused (it runs by itself), a parked one resumes at the service's restart. A
    /// quarantined item (`quarantine:ID`) is re-run by the service's next poll of its source:
    /// processed, it pages once and is released; still failing, it stays (one more attempt).
    #[command(group(clap::ArgGroup::new("bulk").args(["dead", "quarantined"])))]
    Retry {
        /// The dead job's key, or `quarantine:ID`.
        #[arg(required_unless_present_any = ["dead", "quarantined"], conflicts_with = "bulk")]
        key: Option<String>,
        /// Every dead job instead of one.
        #[arg(long)]
        dead: bool,
        /// Every quarantined item instead of one.
        #[arg(long)]
        quarantined: bool,
        /// With --dead or --quarantined: only this tenant's.
        #[arg(long, requires = "bulk")]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file (no network access). Exit code 2 on errors.
    Check { file: PathBuf },
    /// Print a commented example that works against `signl4-sentinel emulator`.
    #[cfg_attr(not(feature = "demo"), command(about = "Print a commented example configuration"))]
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
    redactor::install_redactor(&cfg);
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
            Command::Healthcheck { listen, timeout } => {
                let probe = async {
                    healthcheck::check(healthcheck::target(Some(&listen))?, Duration::from_secs(timeout)).await
                };
                match probe.await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("unhealthy: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
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
            Command::Doctor { config, json } => {
                let cfg = match load_config(&config) {
                    Ok(c) => c,
                    Err(code) => return code,
                };
                let checks = doctor::run(&cfg).await;
                if json {
                    println!("{}", s4s_core::doctor::render_json(&checks));
                } else {
                    print!("{}", s4s_core::doctor::render_text(&checks));
                }
                ExitCode::from(s4s_core::doctor::exit_code(&checks))
            }
            Command::Jobs { config, dead, command } => {
                let Some(config) = config else {
                    eprintln!("error: --config FILE is required (or set SIGNL4_SENTINEL_CONFIG)");
                    return ExitCode::from(2);
                };
                let cfg = match load_config(&config) {
                    Ok(c) => c,
                    Err(code) => return code,
                };
                match jobs(&cfg, dead, command).await {
                    Ok(text) => {
                        print!("{text}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("error: {}", redactor::redact(&format!("{e:#}")));
                        ExitCode::FAILURE
                    }
                }
            }
            #[cfg(not(feature = "demo"))]
            Command::NoDemo { .. } => {
                eprintln!(
                    "error: this signl4-sentinel was built without the `demo` feature: it has no `demo` or \
`emulator` command (the built-in fake cloud is left out). A build with the default features has them."
                );
                ExitCode::from(2)
            }
            #[cfg(feature = "demo")]
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
            #[cfg(feature = "demo")]
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

async fn jobs(cfg: &config::Config, dead: bool, command: Option<JobsCommand>) -> anyhow::Result<String> {
    let redactor = s4s_core::redact::Redactor::from_config(cfg);
    let write = matches!(command, Some(JobsCommand::Retry { .. }));
    let store = ops::open(cfg, write).await?;
    match command {
        None => ops::list(&*store, &redactor, dead).await,
        Some(JobsCommand::Show { key, json }) => ops::show(&*store, &redactor, &key, json).await,
        Some(JobsCommand::Retry { key: Some(key), .. }) => ops::retry(&*store, &key).await,
        Some(JobsCommand::Retry { key: None, quarantined: true, tenant, .. }) => {
            ops::retry_all_quarantined(&*store, cfg, tenant.as_deref()).await
        }
        Some(JobsCommand::Retry { key: None, tenant, .. }) => ops::retry_dead(&*store, cfg, tenant.as_deref()).await,
    }
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
