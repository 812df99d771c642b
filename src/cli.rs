//! The command line: a thin front end over `strata::MigrationManager`. It parses arguments,
//! asks confirmations on a terminal and prints results; the rules and the work are the
//! library's.
//!
//! Exit codes: 0 success; 1 validation failed (or a migration set / start-up refused by the
//! rules, or the database at a revision the code does not know); 2 usage error (bad flag, URL, revision, template, environment); 3 a confirmation was
//! refused or missing; 4 database error (unreachable, a migration failed and was rolled back).

use crate::output::{self, print, println, Format, Progress};
use crate::prompt;
use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use strata::backend::Direction;
use strata::config::{Environment, Overrides, Settings};
use strata::graph::{Target, TargetError};
use strata::manager::ManagerError;
use strata::policy::{self, Confirmation};
use strata::runner::TransactionMode;
use strata::scaffold::Template;
use strata::validate::Status;
use strata::{MigrationManager, MigrationSet, RegistryError};

/// Where `create` and `template` write when strata.toml names no versions folder: the example
/// application's own, found from where this binary was built.
const DEFAULT_VERSIONS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/app-migrations/src/versions");

#[derive(Debug, Parser)]
#[command(name = "strata-example", version, about = "Migrations for the example application, compiled in")]
struct Cli {
    /// Database URL: sqlite://PATH, sqlite::memory:, postgres://... (default: DATABASE_URL, then
    /// strata.toml, then sqlite://app.db in dev)
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Environment: dev, staging or prod (default: ENV or STRATA_ENV, which must agree, then
    /// strata.toml, then dev)
    #[arg(long, global = true, value_name = "ENV")]
    env: Option<String>,
    /// Settings file (default: ./strata.toml when present)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// More logging (-v info, -vv debug); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scaffold what is missing (versions folder, build glue) and create the version tables
    Init {
        /// Also build the schema straight from the models and stamp it at head (a new, empty
        /// database); refused when the models and head differ
        #[arg(long)]
        from_models: bool,
    },
    /// Write a new migration module with the current head as parent
    Create {
        /// What the migration does, e.g. "add email column to users"
        message: String,
        /// Generate the ops from the difference between the models and the migrations at head
        #[arg(long, conflicts_with = "template")]
        auto: bool,
        /// Start from a template (see `template --list`)
        #[arg(long, value_name = "NAME", default_value = "blank")]
        template: String,
        /// Use this revision id instead of a fresh one (letters, digits, underscores)
        #[arg(long, value_name = "ID")]
        rev_id: Option<String>,
    },
    /// Apply migrations (default: all pending)
    Upgrade {
        /// head, a revision id or unique prefix, or +N
        #[arg(long, short, default_value = "head", allow_hyphen_values = true)]
        revision: String,
        /// Print the SQL instead of running it (offline; the database is not touched)
        #[arg(long)]
        sql: bool,
        /// With --sql: the revision to start from (default: base)
        #[arg(long, value_name = "R", requires = "sql")]
        from: Option<String>,
        /// With --sql: leave a marked placeholder for each data op (Rust code, no SQL form)
        /// instead of refusing; its work must then be done by hand where the script says
        #[arg(long, requires = "sql")]
        allow_data_placeholders: bool,
        /// All pending migrations in one transaction (new environments, test databases)
        #[arg(long)]
        grouped: bool,
    },
    /// Roll migrations back (default: one step)
    Downgrade {
        /// base, a revision id or unique prefix, or -N
        #[arg(long, short, default_value = "-1", allow_hyphen_values = true)]
        revision: String,
        /// Confirm a rollback outside dev (prod also asks to type the target)
        #[arg(long)]
        force: bool,
        /// With --force in prod: skip the typed confirmation (automation)
        #[arg(long, requires = "force")]
        yes_i_am_sure: bool,
        /// Print the SQL instead of running it (offline; the database is not touched)
        #[arg(long)]
        sql: bool,
        /// With --sql: the revision to start from (default: head)
        #[arg(long, value_name = "R", requires = "sql")]
        from: Option<String>,
        /// With --sql: leave a marked placeholder for each data op (Rust code, no SQL form)
        /// instead of refusing; its work must then be done by hand where the script says
        #[arg(long, requires = "sql")]
        allow_data_placeholders: bool,
    },
    /// Show the revision the database is at
    Current,
    /// Show every migration, marking which are applied
    History {
        /// Show the history table's log of runs instead
        #[arg(long)]
        log: bool,
    },
    /// Show migrations not yet applied
    Pending,
    /// Compare the models with the migrations at head (exit 1 and print the difference)
    Check,
    /// Check the chain, the database and the environment (exit 1 on error)
    Validate {
        /// Treat warnings as errors
        #[arg(long)]
        strict: bool,
    },
    /// Write a new migration from a template, or list the templates
    Template {
        /// blank, add_column, add_index, add_table or add_foreign_key
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// The migration's message (default: the template's description)
        #[arg(long, short)]
        message: Option<String>,
        /// List the templates
        #[arg(long, conflicts_with = "name")]
        list: bool,
    },
    /// Set the version without running any migration
    Stamp {
        /// head, base, a revision id or unique prefix
        revision: String,
    },
    /// Record the new checksum of an applied migration after a reviewed edit (clears drift)
    Accept {
        /// A revision id or unique prefix
        revision: String,
    },
    /// Settle an interrupted non-transactional migration after checking the database
    Resolve {
        /// The revision the dirty marker names
        revision: String,
        /// It took effect: record it as applied (or, for a downgrade, as reverted)
        #[arg(long, conflicts_with = "rolled_back", required_unless_present = "rolled_back")]
        applied: bool,
        /// It did not take effect, or you undid it
        #[arg(long)]
        rolled_back: bool,
    },
    /// Show one migration: its header, ops and SQL
    Show {
        /// A revision id or unique prefix
        revision: String,
    },
    /// Start the application: migrate under the environment's rules, as at every launch
    Start,
}

/// A failure and the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

const VALIDATION: u8 = 1;
const USAGE: u8 = 2;
const REFUSED: u8 = 3;
const DATABASE: u8 = 4;

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }
}

impl From<ManagerError> for Failure {
    fn from(e: ManagerError) -> Self {
        use strata::runner::Error as Run;
        use strata::scaffold::ScaffoldError as Scaffold;
        let code = match &e {
            // The database and this code disagree, as validate reports: not a usage error.
            ManagerError::Target(TargetError::UnknownCurrent(_))
            | ManagerError::Run(Run::Target(TargetError::UnknownCurrent(_))) => VALIDATION,
            ManagerError::Config(_) | ManagerError::Target(_) | ManagerError::NoVersionsDir => USAGE,
            ManagerError::NoModels | ManagerError::NotBuilt { .. } | ManagerError::Offline(_) => USAGE,
            ManagerError::Autogen(strata::autogen::AutogenError::Differs(_)) => VALIDATION,
            ManagerError::Autogen(strata::autogen::AutogenError::TargetNotEmpty(_)) => VALIDATION,
            ManagerError::Autogen(_) => DATABASE,
            ManagerError::Run(
                Run::Target(_)
                | Run::WrongDirection { .. }
                | Run::NotApplied(_)
                | Run::NotDirty
                | Run::ResolveOther { .. }
                | Run::NotGroupable(_),
            ) => USAGE,
            ManagerError::Run(Run::Registry(_) | Run::Drift(_)) => VALIDATION,
            ManagerError::Run(Run::PlanChanged { .. }) => REFUSED,
            ManagerError::Run(_) | ManagerError::Backend(_) => DATABASE,
            ManagerError::Scaffold(
                Scaffold::UnknownTemplate(_)
                | Scaffold::EmptyMessage
                | Scaffold::BadMessage(_)
                | Scaffold::BadRevision(_)
                | Scaffold::RevisionTaken(_),
            ) => USAGE,
            ManagerError::Scaffold(_) => VALIDATION,
            ManagerError::Refused(_) => REFUSED,
            ManagerError::Invalid(_) | ManagerError::StartupBlocked(_) => VALIDATION,
        };
        Failure::new(code, e.to_string())
    }
}

fn usage(message: impl ToString) -> Failure {
    Failure::new(USAGE, message.to_string())
}

/// Runs the command line on the application's migrations (or why they cannot be used).
pub fn main(set: Result<MigrationSet, RegistryError>) -> ExitCode {
    std::panic::set_hook(Box::new(|info| output::write_err(format_args!("{}", output::panic_message(info)))));
    // Passwords are hidden from every output before anything can print them, clap's errors
    // included (a URL given without --database-url is echoed as an unexpected argument).
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    for arg in args.iter().cloned().chain(std::env::var("DATABASE_URL").ok()) {
        output::hide(&arg);
        if let Some(at) = arg.find("postgres://").or_else(|| arg.find("postgresql://")) {
            output::hide(&arg[at..]);
        }
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let mut rendered = e.render().ansi().to_string();
            // An argument clap repeats may be a URL strata cannot parse: never echo one.
            for arg in args.iter().skip(1) {
                let lower = arg.to_ascii_lowercase();
                if arg.contains('@') || arg.contains("://") || lower.contains("password") {
                    rendered = rendered.replace(arg.as_str(), "[argument not shown: it may hold a password]");
                }
            }
            if e.use_stderr() {
                output::eprint!("{rendered}");
            } else {
                output::print!("{rendered}");
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE));
        }
    };
    let result = run(cli, set);
    if let Some(e) = output::stdout_failure() {
        output::error(&format!("cannot write the output: {e}"));
        return ExitCode::from(DATABASE);
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            output::error(&failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn init_logging(cli: &Cli, env: Option<Environment>) {
    // Production logs every statement at info level.
    let level = match (cli.quiet, cli.verbose, env) {
        (true, _, _) => "error",
        (_, 0, Some(Environment::Prod)) => "warn,strata=info",
        (_, 0, _) => "warn",
        (_, 1, _) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(output::log_colour())
        .with_writer(output::LogLine::default)
        .init();
}

fn target(text: &str) -> Result<Target, Failure> {
    text.parse().map_err(usage)
}

fn run(cli: Cli, set: Result<MigrationSet, RegistryError>) -> Result<u8, Failure> {
    let overrides = Overrides {
        env: cli.env.clone(),
        database_url: cli.database_url.clone(),
        config_file: cli.config.clone(),
    };
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let settings = Settings::load(&overrides, &dir);
    if let Ok(s) = &settings {
        output::hide(&s.database_url.connection_string());
    }
    init_logging(&cli, settings.as_ref().ok().map(|s| s.env));
    let mut settings = settings.map_err(usage)?;
    settings.versions_dir.get_or_insert_with(|| PathBuf::from(DEFAULT_VERSIONS_DIR));
    if let Command::Template { list: true, .. } = cli.command {
        return Ok(list_templates(cli.format));
    }
    let set = match set {
        Ok(set) => set,
        Err(e) if matches!(cli.command, Command::Validate { .. }) => {
            let validation =
                strata::validate::validate(Err(&e), settings.env, &settings.database_url, Err(String::new()));
            return Ok(print_validation(cli.format, &validation, false));
        }
        Err(e) => return Err(Failure::new(VALIDATION, e.to_string())),
    };
    let manager = MigrationManager::new(set, settings).with_models(app_migrations::models::models());
    let format = cli.format;
    let database = manager.database_url().to_string();
    match cli.command {
        Command::Init { from_models: true } => {
            let stamped = manager.create_from_models()?;
            let at = stamped.as_deref().unwrap_or("base");
            match format {
                Format::Json => output::json(&json!({ "database": database, "stamped": stamped })),
                Format::Text => println!("{database}: schema created from the models and stamped at {at}"),
            }
        }
        Command::Init { from_models: false } => {
            let scaffolded = manager.initialize()?;
            match format {
                Format::Json => output::json(&json!({ "database": database, "scaffolded": scaffolded })),
                Format::Text => {
                    for s in &scaffolded {
                        let state = if s.created { "created" } else { "exists " };
                        println!("{state}  {}", s.path.display());
                    }
                    println!("version tables ready in {database}");
                }
            }
        }
        Command::Create { message, auto, template, rev_id } => {
            let template = Template::from_name(&template).map_err(usage)?;
            if !auto {
                print_created(
                    format,
                    &manager.create_migration_with_id(template, &message, rev_id.as_deref())?,
                );
            } else if let Some(created) = manager.create_migration_auto(&message, rev_id.as_deref())? {
                print_created(format, &created);
                if format == Format::Text {
                    println!(
                        "  review the generated ops before applying them (a rename shows as drop and add)"
                    );
                }
            } else {
                match format {
                    Format::Json => output::json(&json!({ "path": null, "revision": null })),
                    Format::Text => println!(
                        "the models match the migrations at head: nothing to generate, no file written"
                    ),
                }
            }
        }
        Command::Template { name, message, .. } => {
            let template = Template::from_name(name.as_deref().unwrap_or_default()).map_err(usage)?;
            let message = message.unwrap_or_else(|| template.description().to_string());
            let created = manager.create_migration_template(template, &message)?;
            print_created(format, &created);
        }
        Command::Upgrade { revision, sql: true, from, allow_data_placeholders, .. } => {
            let from = target(from.as_deref().unwrap_or("base"))?;
            let to = target(&revision)?;
            print_sql(format, &manager.offline_sql(Direction::Up, &from, &to, allow_data_placeholders)?);
        }
        Command::Upgrade { revision, grouped, .. } => {
            let mode = if grouped { TransactionMode::Grouped } else { TransactionMode::PerMigration };
            let started = Instant::now();
            let mut progress = Progress::new(format, cli.quiet);
            let report = manager.run_migrations_in(&target(&revision)?, mode, &mut progress)?;
            drop(progress);
            if !cli.quiet {
                output::report(format, &database, &report, started.elapsed());
            }
        }
        Command::Downgrade { revision, sql: true, from, allow_data_placeholders, .. } => {
            let from = target(from.as_deref().unwrap_or("head"))?;
            let to = target(&revision)?;
            print_sql(format, &manager.offline_sql(Direction::Down, &from, &to, allow_data_placeholders)?);
        }
        Command::Downgrade { revision, force, yes_i_am_sure, .. } => {
            let target = target(&revision)?;
            let mut said = Confirmation { force, yes_i_am_sure, ..Confirmation::default() };
            let (end, steps) = manager.rollback_plan(&target)?;
            if !steps.is_empty() {
                let ask = policy::rollback_prompt(manager.env(), &said);
                prompt::confirm(ask, &end, &steps, manager.env().as_str(), &mut said);
                if said.typed_target.is_none() && !said.answered_yes && prompt::interactive() {
                    if let policy::Prompt::YesNo = policy::rollback_prompt(manager.env(), &said) {
                        return Err(Failure::new(REFUSED, policy::Refusal::Declined.to_string()));
                    }
                }
            }
            let started = Instant::now();
            let mut progress = Progress::new(format, cli.quiet);
            let report = manager.rollback_migration(&target, &said, &mut progress)?;
            drop(progress);
            if !cli.quiet {
                output::report(format, &database, &report, started.elapsed());
            }
        }
        Command::Current => {
            let log = manager.migration_history()?;
            output::current(format, manager.current_revision()?, manager.migrations().head(), &log);
        }
        Command::Pending => {
            let head = manager.migrations().head().map(|m| m.revision);
            output::pending(format, &manager.pending_migrations()?, head);
        }
        Command::History { log } => {
            let rows = manager.migration_history()?;
            if log {
                output::history_log(format, &rows);
            } else {
                let current = manager.current_revision()?.map(|m| m.revision);
                output::history(format, manager.migrations().migrations(), current, &rows);
            }
        }
        Command::Check => {
            let difference = manager.check_models()?;
            match format {
                Format::Json => {
                    output::json(&json!({ "in_sync": difference.is_none(), "difference": difference }))
                }
                Format::Text => match &difference {
                    None => println!("the models match the migrations at head"),
                    Some(text) => println!("the models differ from the migrations at head:\n{text}"),
                },
            }
            return Ok(if difference.is_some() { VALIDATION } else { 0 });
        }
        Command::Validate { strict } => {
            return Ok(print_validation(format, &manager.validate_migrations(), strict));
        }
        Command::Stamp { revision } => {
            let stamped = manager.stamp(&target(&revision)?)?;
            let at = stamped.map_or("base", |m| m.revision);
            match format {
                Format::Json => {
                    output::json(&json!({ "database": database, "revision": stamped.map(|m| m.revision) }))
                }
                Format::Text => println!("{database}: version set to {at} without running any migration"),
            }
        }
        Command::Show { revision } => show(&manager, format, &revision)?,
        Command::Resolve { revision, applied, .. } => {
            let version = manager.resolve(&revision, applied)?;
            let at = version.unwrap_or("base");
            match format {
                Format::Json => output::json(&json!({ "database": database, "revision": version })),
                Format::Text => {
                    println!("{database}: resolved; the version is {at} and migrations can run again")
                }
            }
        }
        Command::Accept { revision } => {
            let m = manager.accept(&revision)?;
            match format {
                Format::Json => output::json(&json!({ "database": database, "accepted": m.revision })),
                Format::Text => {
                    println!("{database}: recorded the current checksum of {} ({})", m.revision, m.message)
                }
            }
        }
        Command::Start => {
            let started = Instant::now();
            let mut progress = Progress::new(format, cli.quiet);
            let report = manager.start_up(&mut progress)?;
            drop(progress);
            if !cli.quiet {
                output::report(format, &database, &report, started.elapsed());
                if format == Format::Text {
                    println!("application ready ({} environment)", manager.env());
                }
            }
        }
    }
    Ok(0)
}

fn list_templates(format: Format) -> u8 {
    match format {
        Format::Json => output::json(&serde_json::Value::Array(
            Template::ALL.iter().map(|t| json!({"name": t.name(), "description": t.description()})).collect(),
        )),
        Format::Text => output::table(
            &["template", "what it writes"],
            Template::ALL.iter().map(|t| vec![t.name().to_string(), t.description().to_string()]).collect(),
        ),
    }
    0
}

fn print_created(format: Format, created: &strata::scaffold::Created) {
    for warning in &created.warnings {
        output::warning(warning);
    }
    match format {
        Format::Json => output::json(&json!(created)),
        Format::Text => {
            println!("created {}", created.path.display());
            println!(
                "  revision {} (parent {}); the next build includes it",
                created.revision,
                created.parent.as_deref().unwrap_or("none")
            );
        }
    }
}

fn print_sql(format: Format, migrations: &[strata::offline::MigrationSql]) {
    match format {
        Format::Json => output::json(&json!(migrations)),
        Format::Text => print!("{}", strata::offline::script(migrations)),
    }
}

fn print_validation(format: Format, validation: &strata::validate::Validation, strict: bool) -> u8 {
    match format {
        Format::Json => output::json(&json!(validation)),
        Format::Text => {
            for e in &validation.errors {
                output::error(e);
            }
            for w in &validation.warnings {
                output::warning(w);
            }
            let status = match validation.status {
                Status::Success => "success",
                Status::Warning => "warning",
                Status::Error => "error",
            };
            println!(
                "validation: {status} ({} error(s), {} warning(s))",
                validation.errors.len(),
                validation.warnings.len()
            );
        }
    }
    match validation.status {
        Status::Error => VALIDATION,
        Status::Warning if strict => VALIDATION,
        _ => 0,
    }
}

fn show(manager: &MigrationManager, format: Format, revision: &str) -> Result<(), Failure> {
    let set = manager.migrations();
    let index = set.chain().find(revision).map_err(usage)?;
    let m = set.migrations()[index];
    let target = Target::Revision(m.revision.to_string());
    let from = match m.parent {
        Some(p) => Target::Revision(p.to_string()),
        None => Target::Base,
    };
    // Shown, not applied: a data op is a placeholder line.
    let up = manager.offline_sql(Direction::Up, &from, &target, true)?;
    let down = manager.offline_sql(Direction::Down, &target, &from, true)?;
    let ops = |ops: Vec<strata::ops::Op>| ops.iter().map(ToString::to_string).collect::<Vec<_>>();
    // The file name: the build path of the binary means nothing where it runs.
    let file = Path::new(m.file).file_name().map_or_else(|| m.file.into(), |f| f.to_string_lossy());
    match format {
        Format::Json => output::json(&json!({
            "revision": m.revision,
            "parent": m.parent,
            "message": m.message,
            "created": m.created,
            "file": file,
            "upgrade": ops(m.upgrade_ops()),
            "downgrade": ops(m.downgrade_ops()),
            "upgrade_sql": up.first().map(|s| &s.statements),
            "downgrade_sql": down.first().map(|s| &s.statements),
        })),
        Format::Text => {
            println!(
                "revision {}\nparent   {}\nmessage  {}\ncreated  {}\nfile     {}",
                m.revision,
                m.parent.unwrap_or("(none)"),
                m.message,
                m.created,
                m.file
            );
            println!("\nupgrade:");
            ops(m.upgrade_ops()).iter().for_each(|o| println!("  {o}"));
            println!("downgrade:");
            ops(m.downgrade_ops()).iter().for_each(|o| println!("  {o}"));
            println!("\n{}", strata::offline::script(&up).trim_end());
        }
    }
    Ok(())
}
