//! The command line: a thin shell over the strata library. No SQL and no policy here.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use strata::backend::{self, Backend, DatabaseUrl};
use strata::graph::Target;
use strata::runner::{Report, Runner, TransactionMode};
use strata::MigrationSet;

/// The SQLite file used when DATABASE_URL is not set.
const DEFAULT_DATABASE_URL: &str = "sqlite://app.db";

#[derive(Debug, Parser)]
#[command(name = "strata-example", version, about = "Run the example application's migrations")]
struct Cli {
    /// Database URL: sqlite://PATH, sqlite::memory:, postgres://... or postgresql://...
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations up to a revision (default: head).
    Upgrade {
        /// head, a revision id or unique prefix, or +N.
        #[arg(long, default_value = "head")]
        revision: String,
        /// Apply all pending migrations in one transaction (new or test databases).
        #[arg(long)]
        grouped: bool,
    },
    /// Revert migrations down to a revision (default: one step).
    Downgrade {
        /// base, a revision id or unique prefix, or -N.
        #[arg(long, default_value = "-1", allow_hyphen_values = true)]
        revision: String,
    },
    /// Show the revision the database is at.
    Current,
    /// Show migrations not yet applied.
    Pending,
    /// Show what ran, oldest first.
    History,
}

/// Runs the command line; `expected` are the revisions the build script saw.
pub fn main(expected: &[&str]) -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli, expected) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, expected: &[&str]) -> Result<(), String> {
    let set = MigrationSet::from_registry(expected, app_migrations::CRATE_NAME).map_err(|e| e.to_string())?;
    let url_text = cli.database_url.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    let url: DatabaseUrl = url_text.parse().map_err(|e: backend::UrlError| e.to_string())?;
    let mut db = backend::connect(&url).map_err(|e| e.to_string())?;
    let runner = Runner::new(set);
    let target = |text: &str| text.parse::<Target>().map_err(|e| e.to_string());
    match cli.command {
        Command::Upgrade { revision, grouped } => {
            let mode = if grouped { TransactionMode::Grouped } else { TransactionMode::PerMigration };
            let runner = runner.with_mode(mode);
            let started = Instant::now();
            let report = runner.upgrade(db.as_mut(), &target(&revision)?).map_err(|e| e.to_string())?;
            print_report(&url, &report, "applied", started.elapsed());
        }
        Command::Downgrade { revision } => {
            let started = Instant::now();
            let report = runner.downgrade(db.as_mut(), &target(&revision)?).map_err(|e| e.to_string())?;
            print_report(&url, &report, "reverted", started.elapsed());
        }
        Command::Current => print_current(&runner, db.as_mut())?,
        Command::Pending => {
            let pending = runner.pending(db.as_mut()).map_err(|e| e.to_string())?;
            if pending.is_empty() {
                println!("nothing pending: the database is at head");
            }
            for m in pending {
                println!("{}  {}  (created {})", m.revision, m.message, m.created);
            }
        }
        Command::History => {
            let rows = runner.history(db.as_mut()).map_err(|e| e.to_string())?;
            if rows.is_empty() {
                println!("no migrations have run on this database");
            }
            for row in rows {
                println!(
                    "{}  {:<9}  {}  {}  ({:.1} ms)",
                    row.applied_at.format("%Y-%m-%d %H:%M:%S"),
                    row.direction,
                    row.revision,
                    row.message,
                    row.duration_ms
                );
            }
        }
    }
    Ok(())
}

fn print_current(runner: &Runner, db: &mut dyn Backend) -> Result<(), String> {
    let head = runner.migrations().head().map(|m| m.revision);
    match runner.current(db).map_err(|e| e.to_string())? {
        None => println!("base (no migrations applied)"),
        Some(m) => {
            let marker = if Some(m.revision) == head { " (head)" } else { "" };
            println!("{}{marker}  {}", m.revision, m.message);
        }
    }
    Ok(())
}

fn print_report(url: &DatabaseUrl, report: &Report, verb: &str, elapsed: Duration) {
    let at = |rev: &Option<String>| rev.clone().unwrap_or_else(|| "base".into());
    if report.applied.is_empty() {
        println!("{url}: nothing to do, already at {}", at(&report.to));
        return;
    }
    println!("{url}: {} -> {}", at(&report.from), at(&report.to));
    for a in &report.applied {
        println!("  {verb} {}  {}  ({:.1} ms)", a.revision, a.message, a.duration.as_secs_f64() * 1000.0);
    }
    println!(
        "{} migration(s) {verb} in {:.1} ms; now at {}",
        report.applied.len(),
        elapsed.as_secs_f64() * 1000.0,
        at(&report.to)
    );
}
