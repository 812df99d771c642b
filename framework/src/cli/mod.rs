//! The command line, for any application (cargo feature `cli`): a thin front end over
//! [`MigrationManager`]. It parses arguments, asks confirmations on a terminal and prints
//! results (tables and colour on a terminal, `--format json` for scripts); the rules and the
//! work are the library's.
//!
//! Two ways to use it:
//!
//! - a dedicated binary: `fn main() -> ExitCode { strata::cli::main(my_migrations::migrations) }`,
//!   or with options, `strata::cli::App::new(my_migrations::migrations).models(models()).run()`;
//! - nested under the application's own clap CLI (`myapp db upgrade`): a [`DbArgs`] field or
//!   subcommand variant, run with [`App::run_args`] (see `examples/nested_cli.rs`).
//!
//! Exit codes ([`ErrorKind::exit_code`]): 0 success; 1 validation failed (or a migration set /
//! start-up refused by the rules, or the database at a revision the code does not know); 2 usage
//! error (bad flag, URL, revision, template, environment); 3 a confirmation was refused or
//! missing; 4 database error (unreachable, a migration failed and was rolled back).

mod lint;
mod logging;
mod output;
mod prompt;
mod squash;

use self::output::{print, println, Format, FormatArg, Progress};
use crate::backend::Direction;
use crate::config::{Environment, Overrides, Settings};
use crate::error::{ErrorKind, Remedy};
use crate::graph::Target;
use crate::manager::ManagerError;
use crate::models::Models;
use crate::policy::{self, Confirmation};
use crate::runner::TransactionMode;
use crate::scaffold::Template;
use crate::validate::Status;
use crate::{MigrationManager, MigrationSet, RegistryError};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The database commands and their options, as a clap argument group: the whole command line
/// of a dedicated binary ([`App::run`]), or a subcommand an application nests under its own
/// CLI (`myapp db upgrade`, run with [`App::run_args`]).
#[derive(Debug, Args)]
pub struct DbArgs {
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
    /// Output format (dot and mermaid: `graph` only)
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// More logging (-v info, -vv debug); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// PostgreSQL major version for the lock facts of `lint`, `show` and --sql (default: 11,
    /// the oldest supported and the worst case)
    #[arg(long, global = true, value_name = "N", value_parser = |v: &str| v.parse::<crate::locks::PgMajor>())]
    pg_version: Option<crate::locks::PgMajor>,
    #[command(subcommand)]
    command: Command,
}

/// A dedicated binary's command line: the database commands at the top level.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
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
    Current {
        /// Also show when it was applied (read from the history table: a query more)
        #[arg(long)]
        applied: bool,
    },
    /// Show every migration, marking which are applied
    History {
        /// Show the history table's log of runs instead
        #[arg(long, conflicts_with = "graph")]
        log: bool,
        /// Draw the revision graph in text lanes, newest first (as git log --graph does)
        #[arg(long)]
        graph: bool,
    },
    /// Export the revision graph: --format dot (Graphviz), mermaid, text (lanes) or json
    Graph,
    /// Show migrations not yet applied
    Pending,
    /// Compare the models with the migrations at head (exit 1 and print the difference)
    Check,
    /// Check each migration for statements that lock, rewrite or break running code on
    /// PostgreSQL (exit 1 on an error finding)
    Lint {
        /// A table known to be empty (a new deployment): exempt from the lock rules; repeatable
        #[arg(long, value_name = "TABLE")]
        empty: Vec<String>,
    },
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
    /// Replace the migrations from base to REV with one generated checkpoint migration
    #[command(long_about = squash::HELP)]
    Squash {
        /// The last revision to fold in: a revision id, a unique prefix of one, or head
        #[arg(long, value_name = "REV")]
        to: String,
        /// The checkpoint's message (default: "squash of N migrations up to REV")
        #[arg(long, short, value_name = "M")]
        message: Option<String>,
    },
    /// Start the application: migrate under the environment's rules, as at every launch
    Start,
    /// List the heads of the revision graph, read from the migration files
    Heads,
    /// Write a merge revision whose parents are the heads (read from the migration files)
    Merge {
        /// The merge revision's message [default: "merge <a> and <b>"]
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Re-parent the branch that ends at BRANCH_HEAD onto the head --onto (a linear history
    /// again); refused while the database has applied the branch or cannot be read
    Rebase {
        /// The head of the branch to move (an id or a unique prefix)
        #[arg(value_name = "BRANCH_HEAD")]
        branch: String,
        /// The head it should follow
        #[arg(long, value_name = "HEAD")]
        onto: String,
        /// Rewrite without checking what the database has applied
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script on stdout (bash, zsh, fish, powershell or elvish)
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The examples each command's `--help` ends with: (arguments after the program name, what
/// they do). The program name is the binary's own, so they are put in at run time.
const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "init",
        &[
            ("init", "scaffold what is missing and create the version tables"),
            ("init --from-models", "a new database built from the models, stamped at head"),
        ],
    ),
    (
        "create",
        &[
            ("create \"add email column to users\"", "a blank migration after head"),
            ("create \"add email\" --template add_column", "start from a template"),
            ("create \"add user badges\" --auto", "the ops that close the gap to the models"),
        ],
    ),
    (
        "upgrade",
        &[
            ("upgrade", "apply everything pending"),
            ("upgrade --revision +2", "the next two migrations only"),
            ("upgrade --sql > upgrade.sql", "the script, without touching the database"),
        ],
    ),
    (
        "downgrade",
        &[
            ("downgrade", "revert the last migration"),
            ("downgrade --revision base", "revert everything"),
            ("--env prod downgrade --force", "in production (asks to type the target)"),
        ],
    ),
    (
        "current",
        &[
            ("current", "the revision the database is at"),
            ("current --applied", "and when it was applied"),
            ("--format json current", "the same as JSON"),
        ],
    ),
    (
        "history",
        &[
            ("history", "every migration, [x] when applied"),
            ("history --log", "every upgrade, downgrade and stamp recorded"),
            ("history --graph", "the revision graph drawn in lanes, [x] when applied"),
        ],
    ),
    (
        "graph",
        &[
            ("graph --format dot > revisions.dot", "the revision graph for Graphviz (dot -Tsvg)"),
            ("graph --format mermaid", "the same as a Mermaid flowchart, for Markdown"),
        ],
    ),
    ("pending", &[("pending", "the migrations not yet applied")]),
    ("check", &[("check", "exit 1 when the models and the migrations at head differ (CI)")]),
    (
        "lint",
        &[
            ("lint", "findings with codes for PostgreSQL 11, exit 1 on an error"),
            ("lint --pg-version 16 --format json", "for the server's version, as JSON (CI)"),
        ],
    ),
    (
        "validate",
        &[
            ("validate", "chain, database and environment problems"),
            ("validate --strict", "fail on warnings too"),
        ],
    ),
    (
        "template",
        &[
            ("template --list", "the templates"),
            ("template add_index -m \"index users by email\"", "a migration from a template"),
        ],
    ),
    (
        "stamp",
        &[
            ("stamp head", "mark the database as up to date without running anything"),
            ("stamp base", "mark it as empty"),
        ],
    ),
    ("accept", &[("accept eda7", "record the edited migration's new checksum")]),
    (
        "resolve",
        &[
            ("resolve 9a1b --applied", "the interrupted migration took effect"),
            ("resolve 9a1b --rolled-back", "it did not"),
        ],
    ),
    ("show", &[("show eda7", "header, ops and upgrade SQL of one migration")]),
    ("heads", &[("heads", "the heads, read from the migration files")]),
    (
        "merge",
        &[
            ("merge", "a merge revision for the heads (\"merge <a> and <b>\")"),
            ("merge -m \"merge the billing branch\"", "the same with your message"),
        ],
    ),
    (
        "rebase",
        &[
            ("rebase 3c4d --onto 1a2b", "3c4d's branch now follows 1a2b, if the database has not applied it"),
            ("rebase 3c4d --onto 1a2b --force", "without the database check"),
        ],
    ),
    (
        "squash",
        &[
            ("squash --to da51", "one checkpoint migration in place of base..da51; then rebuild"),
            ("squash --to da51 -m \"schema as of v2\"", "the same with the checkpoint's own message"),
        ],
    ),
    ("start", &[("start", "migrate under the environment's rules, then \"application ready\"")]),
    (
        "completions",
        &[
            ("completions bash > ~/.local/share/bash-completion/completions/{bin}", "bash"),
            ("completions zsh > ~/.zfunc/_{bin}", "zsh (with ~/.zfunc in fpath)"),
            ("completions fish > ~/.config/fish/completions/{bin}.fish", "fish"),
        ],
    ),
];

/// The revisions as JSON, newest first, each with its parents and message, and whether it is
/// applied in `state` when one is given.
fn graph_nodes(set: &MigrationSet, state: Option<&crate::plan::State>) -> Vec<serde_json::Value> {
    let graph = set.graph();
    graph
        .revisions()
        .iter()
        .rev()
        .map(|id| {
            let mut node = json!({
                "revision": id,
                "parents": graph.parents_of(id),
                "message": set.get(id).map(|m| m.message),
            });
            if let Some(state) = state {
                node["applied"] = json!(graph.is_applied(state, id));
            }
            node
        })
        .collect()
}

/// An "Examples:" block for `--help`, with `bin` as the program name.
fn examples(bin: &str, examples: &[(&str, &str)]) -> String {
    let lines: Vec<String> = examples
        .iter()
        .map(|(args, what)| format!("  {bin} {}\n      {what}", args.replace("{bin}", bin)))
        .collect();
    format!("Examples:\n{}", lines.join("\n"))
}

/// A failure: its class (and so its exit code), its message worded for this CLI, and the
/// remedy apart for JSON.
struct Failure {
    kind: ErrorKind,
    message: String,
    problem: String,
    remedy: Option<String>,
}

impl Failure {
    fn print(&self, format: Format) {
        if format == Format::Json {
            output::json(&json!({"error": {
                "code": self.kind.exit_code(),
                "kind": self.kind,
                "message": self.problem,
                "remedy": self.remedy,
            }}));
        }
        output::error(&self.message);
    }
}

impl From<ManagerError> for Failure {
    fn from(e: ManagerError) -> Self {
        Failure {
            kind: e.kind(),
            message: e.message_with(&remedy),
            problem: e.problem(),
            remedy: e.remedy().as_ref().map(remedy),
        }
    }
}

/// The failure for any error the application API can return.
fn failure(e: impl Into<ManagerError>) -> Failure {
    Failure::from(e.into())
}

/// A remedy in this CLI's words: its commands and flags.
fn remedy(remedy: &Remedy) -> String {
    match remedy {
        Remedy::Confirm => "answer y at the prompt, or pass --force".into(),
        Remedy::Force => "it needs --force".into(),
        Remedy::TypeTarget(target) => {
            format!("type the target at the prompt ({target}), or pass --force --yes-i-am-sure for automation")
        }
        // strata's own wording already names the commands, which take no flags.
        Remedy::Accept(_) | Remedy::Stamp => remedy.to_string(),
        Remedy::Resolve { revision } => format!(
            "Check the schema, then run `resolve {revision} --applied` (it took effect) or `resolve {revision} \
             --rolled-back` (it did not, or you undid it)"
        ),
    }
}

/// Runs the command line on the application's migrations (or why they cannot be used), with
/// the default options: `fn main() -> ExitCode { strata::cli::main(my_migrations::migrations) }`.
pub fn main(migrations: impl Into<Migrations>) -> ExitCode {
    App::new(migrations).run()
}

/// The migrations [`App::new`] takes: the set (`migrations()`, what a migrations crate's
/// function returns) or that function itself (`migrations`). Given the function, the set is
/// built only once a command needs it, after the settings are read: `completions`,
/// `template --list`, `heads`, `merge` and `rebase` never build it (they work while the set
/// is refused). Its errors read the same either way, and come before any about the
/// connection.
pub struct Migrations(Source);

enum Source {
    Built(Result<MigrationSet, RegistryError>),
    Deferred(Box<dyn FnOnce() -> Result<MigrationSet, RegistryError> + Send>),
}

impl Migrations {
    /// The set, built now if it was deferred.
    fn build(self) -> Result<MigrationSet, RegistryError> {
        match self.0 {
            Source::Built(set) => set,
            Source::Deferred(build) => build(),
        }
    }
}

impl From<Result<MigrationSet, RegistryError>> for Migrations {
    fn from(set: Result<MigrationSet, RegistryError>) -> Self {
        Migrations(Source::Built(set))
    }
}

impl<F> From<F> for Migrations
where
    F: FnOnce() -> Result<MigrationSet, RegistryError> + Send + 'static,
{
    fn from(build: F) -> Self {
        Migrations(Source::Deferred(Box::new(build)))
    }
}

impl std::fmt::Debug for Migrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::Built(set) => f.debug_tuple("Migrations").field(set).finish(),
            Source::Deferred(_) => f.write_str("Migrations(built when needed)"),
        }
    }
}

/// The command line for one application: its migrations and options.
///
/// ```no_run
/// # fn migrations() -> Result<strata::MigrationSet, strata::RegistryError> { strata::MigrationSet::new(vec![]) }
/// # fn models() -> strata::models::Models { strata::models::Models::new() }
/// fn main() -> std::process::ExitCode {
///     strata::cli::App::new(migrations)
///         .models(models())
///         .versions_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/src/versions"))
///         .run()
/// }
/// ```
#[derive(Debug)]
pub struct App {
    set: Migrations,
    models: Option<Models>,
    versions_dir: Option<PathBuf>,
    name: Option<String>,
    version: Option<String>,
    about: Option<String>,
}

impl App {
    /// The command line for these migrations (or why they cannot be used: `validate` reports
    /// it, every other command fails with it).
    pub fn new(migrations: impl Into<Migrations>) -> Self {
        App {
            set: migrations.into(),
            models: None,
            versions_dir: None,
            name: None,
            version: None,
            about: None,
        }
    }

    /// The application's models: they enable `create --auto`, `check` and `init --from-models`.
    pub fn models(mut self, models: Models) -> Self {
        self.models = Some(models);
        self
    }

    /// Where `create` and `template` write when neither strata.toml's `versions_dir` nor
    /// `STRATA_VERSIONS_DIR` names a folder, e.g.
    /// `concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/src/versions")`.
    pub fn versions_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.versions_dir = Some(dir.into());
        self
    }

    /// The program name shown in help, usage and panic messages (default: the file name the
    /// binary was started as).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The version `--version` prints, e.g. `env!("CARGO_PKG_VERSION")` (default: no
    /// `--version`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The one-line description at the top of `--help`.
    pub fn about(mut self, about: impl Into<String>) -> Self {
        self.about = Some(about.into());
        self
    }

    /// The clap command [`App::run`] parses (for shell completions or man pages).
    pub fn command(&self) -> clap::Command {
        let name = self.name.clone().unwrap_or_else(program_name);
        let mut command = Cli::command().name(name.clone()).bin_name(name.clone());
        for (sub, list) in EXAMPLES {
            command = command.mut_subcommand(*sub, |c| c.after_help(examples(&name, list)));
        }
        command = command.after_help(examples(
            &name,
            &[
                ("upgrade", "apply every pending migration"),
                ("<command> --help", "a command's options and examples"),
            ],
        ));
        command =
            command.about(self.about.clone().unwrap_or_else(|| "Database migrations, compiled in".into()));
        if let Some(version) = &self.version {
            command = command.version(version.clone());
        }
        command
    }

    /// Parses the process's arguments and runs the command; returns its exit code.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// [`App::run`] on these arguments (the first is the program name).
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<String> = args.into_iter().map(|a| a.into().to_string_lossy().into_owned()).collect();
        protect(&args, self.name.as_deref().unwrap_or(&program_name()));
        // The bare command parses every valid command line; the full one (name, examples on
        // every subcommand: a tenth of a nothing-pending start-up's instructions) is built only
        // to print help, the version or an error, which then read exactly as always.
        let parse = |mut command: clap::Command| {
            let parsed = command.try_get_matches_from_mut(&args).and_then(|m| {
                let cli = Cli::from_arg_matches(&m);
                // The matches and the command live until the process ends: freeing their
                // hundreds of small allocations was a twentieth of a nothing-pending run.
                std::mem::forget(m);
                cli
            });
            std::mem::forget(command);
            parsed
        };
        if let Some(cli) = bare_command_line(&args) {
            return self.execute(cli.db);
        }
        let cli = match parse(Cli::command()) {
            Ok(cli) => cli,
            Err(_) => match parse(self.command()) {
                Ok(cli) => cli,
                Err(e) => return clap_error(&e, &args),
            },
        };
        self.execute(cli.db)
    }

    /// Runs already parsed database commands: for an application that nests [`DbArgs`] under
    /// its own command line. Returns the exit code.
    pub fn run_args(self, args: DbArgs) -> ExitCode {
        let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
        protect(&argv, self.name.as_deref().unwrap_or(&program_name()));
        if let Command::Completions { .. } = args.command {
            // Only the application knows its whole command line (`myapp db ...`).
            Failure {
                kind: ErrorKind::Usage,
                message: "completions cover the whole command line, which is the application's: generate \
                          them from its own clap command with clap_complete::generate"
                    .into(),
                problem: "completions of a nested command line come from the application".into(),
                remedy: None,
            }
            .print(args.format.output());
            return ExitCode::from(ErrorKind::Usage.exit_code());
        }
        self.execute(args)
    }

    fn execute(self, args: DbArgs) -> ExitCode {
        let format = args.format.output();
        let result = run(args, self);
        if let Some(e) = output::stdout_failure() {
            output::error(&format!("cannot write the output: {e}"));
            return ExitCode::from(ErrorKind::Database.exit_code());
        }
        match result {
            Ok(code) => ExitCode::from(code),
            Err(failure) => {
                failure.print(format);
                ExitCode::from(failure.kind.exit_code())
            }
        }
    }
}

/// The file name the binary was started as.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| Path::new(&a).file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "strata".into())
}

/// Hides passwords from every output before anything can print them (`args`, a URL in them,
/// DATABASE_URL), and routes panics through the scrubbing writer.
/// A command line that names one subcommand and nothing else (`upgrade`, `current`: how
/// start-up scripts, deploy hooks and health checks run strata), parsed without clap. Building
/// clap's command tree and parsing with it was a sixth of a nothing-pending start-up's
/// instructions; these lines have exactly one meaning, every argument at its default. Any
/// other line (an option, a value, help) goes through clap. `None`: not such a line. A test
/// pins that each one parses as clap parses it.
fn bare_command_line(args: &[String]) -> Option<Cli> {
    let [_, name] = args else { return None };
    let command = match name.as_str() {
        "init" => Command::Init { from_models: false },
        "upgrade" => Command::Upgrade {
            revision: "head".into(),
            sql: false,
            from: None,
            allow_data_placeholders: false,
            grouped: false,
        },
        "downgrade" => Command::Downgrade {
            revision: "-1".into(),
            force: false,
            yes_i_am_sure: false,
            sql: false,
            from: None,
            allow_data_placeholders: false,
        },
        "current" => Command::Current { applied: false },
        "history" => Command::History { log: false, graph: false },
        "graph" => Command::Graph,
        "pending" => Command::Pending,
        "check" => Command::Check,
        "lint" => Command::Lint { empty: Vec::new() },
        "validate" => Command::Validate { strict: false },
        "start" => Command::Start,
        "heads" => Command::Heads,
        "merge" => Command::Merge { message: None },
        _ => return None,
    };
    Some(Cli {
        db: DbArgs {
            database_url: None,
            env: None,
            config: None,
            format: FormatArg::Text,
            verbose: 0,
            quiet: false,
            pg_version: None,
            command,
        },
    })
}

fn protect(args: &[String], program: &str) {
    output::set_program(program);
    std::panic::set_hook(Box::new(|info| output::write_err(format_args!("{}", output::panic_message(info)))));
    // Passwords are hidden from every output before anything can print them, clap's errors
    // included (a URL given without --database-url is echoed as an unexpected argument).
    for arg in args.iter().cloned().chain(std::env::var("DATABASE_URL").ok()) {
        output::hide(&arg);
        if let Some(at) = arg.find("postgres://").or_else(|| arg.find("postgresql://")) {
            output::hide(&arg[at..]);
        }
    }
}

/// Prints clap's error (or help, or version) and returns its exit code.
fn clap_error(e: &clap::Error, args: &[String]) -> ExitCode {
    let mut rendered = e.render().ansi().to_string();
    let mut plain = e.render().to_string();
    // An argument clap repeats may be a URL strata cannot parse: never echo one.
    for arg in args.iter().skip(1) {
        let lower = arg.to_ascii_lowercase();
        if arg.contains('@') || arg.contains("://") || lower.contains("password") {
            rendered = rendered.replace(arg.as_str(), "[argument not shown: it may hold a password]");
            plain = plain.replace(arg.as_str(), "[argument not shown: it may hold a password]");
        }
    }
    let code = u8::try_from(e.exit_code()).unwrap_or(ErrorKind::Usage.exit_code());
    if e.use_stderr() {
        if json_requested(args) {
            let message = plain.lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
            output::json(&json!({"error": {
                "code": code,
                "kind": ErrorKind::Usage,
                "message": message,
                "remedy": null,
            }}));
        }
        output::eprint!("{rendered}");
    } else {
        output::print!("{rendered}");
    }
    ExitCode::from(code)
}

/// Whether the arguments ask for `--format json` (looked for when clap cannot parse them).
fn json_requested(args: &[String]) -> bool {
    args.iter().any(|a| a == "--format=json") || args.windows(2).any(|w| w[0] == "--format" && w[1] == "json")
}

/// The log subscriber, built when the first record that can pass the filter arrives (see
/// [`logging`]); `RUST_LOG`, when set and valid, replaces the environment's filter. An
/// application that nests the commands may have its own subscriber: then it is left alone.
fn init_logging(cli: &DbArgs, env: Option<Environment>) {
    use tracing_subscriber::EnvFilter;
    // Production logs every statement at info level.
    let level = policy::log_filter(env, cli.verbose, cli.quiet);
    // The most verbose level the filter built below can let through. With RUST_LOG set that
    // is RUST_LOG's, or the environment's when EnvFilter rejects it: the bound covers both.
    // One this reading cannot bound (span or field directives, text it does not know) is
    // built at the first callsite.
    let max = match std::env::var_os(EnvFilter::DEFAULT_ENV) {
        None => logging::max_level(level),
        Some(own) => {
            own.to_str().and_then(logging::max_level).zip(logging::max_level(level)).map(|(a, b)| a.max(b))
        }
    };
    let make = move || -> Box<dyn tracing::Subscriber + Send + Sync> {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
        Box::new(
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(output::log_colour())
                .with_writer(output::LogLine::default)
                .finish(),
        )
    };
    let max = max.unwrap_or(tracing::level_filters::LevelFilter::TRACE);
    logging::Deferred::new(max, Box::new(make)).install();
}

fn target(text: &str) -> Result<Target, Failure> {
    text.parse().map_err(failure)
}

fn run(cli: DbArgs, app: App) -> Result<u8, Failure> {
    if let Command::Completions { shell } = cli.command {
        let mut command = app.command();
        let name = command.get_name().to_string();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, name, &mut script);
        print!("{}", String::from_utf8_lossy(&script));
        return Ok(0);
    }
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
    let mut settings = settings.map_err(failure)?;
    if let Some(dir) = app.versions_dir {
        settings.versions_dir.get_or_insert(dir);
    }
    if let Command::Template { list: true, .. } = cli.command {
        return Ok(list_templates(cli.format.output()));
    }
    if let Command::Heads | Command::Merge { .. } | Command::Rebase { .. } = cli.command {
        // The files, not the compiled set: these work when the set is refused.
        return edit_graph(cli.command, cli.format.output(), &settings);
    }
    if matches!(cli.format, FormatArg::Dot | FormatArg::Mermaid) && !matches!(cli.command, Command::Graph) {
        return Err(Failure {
            kind: ErrorKind::Usage,
            message: "--format dot and --format mermaid are for `graph`: use text or json here".into(),
            problem: "--format dot and --format mermaid are for `graph`".into(),
            remedy: Some("use --format text or --format json".into()),
        });
    }
    // The set first, then the connection: a refused set is reported before anything about
    // the connection. (Building it on a thread while a PostgreSQL session started was measured
    // and dropped: since the set is cheap to build, the thread cost more than it hid.)
    let set = match app.set.build() {
        Ok(set) => set,
        Err(e) if matches!(cli.command, Command::Validate { .. }) => {
            let validation =
                crate::validate::validate(Err(&e), settings.env, &settings.database_url, Err(String::new()));
            return Ok(print_validation(cli.format.output(), &validation, false));
        }
        Err(e) => return Err(failure(crate::runner::Error::Registry(e))),
    };
    let mut manager = MigrationManager::new(set, settings);
    if let Some(models) = app.models {
        manager = manager.with_models(models);
    }
    if let Some(major) = cli.pg_version {
        manager = manager.with_pg_major(major);
    }
    let format = cli.format.output();
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
            let template = Template::from_name(&template).map_err(failure)?;
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
            let template = Template::from_name(name.as_deref().unwrap_or_default()).map_err(failure)?;
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
            let said = Confirmation { force, yes_i_am_sure, ..Confirmation::default() };
            // One connection for the plan and the rollback, unless a person was asked: the
            // answer may come long after (past a server's idle timeout), so a new one then.
            let mut db = manager.connect()?;
            let mut session = manager.rollback_session_on(db.as_mut(), &target, said)?;
            prompt::confirm(&mut session);
            let said = session.finish().map_err(failure)?;
            if said.shown_plan.is_some() {
                drop(db);
                db = manager.connect()?;
            }
            let started = Instant::now();
            let mut progress = Progress::new(format, cli.quiet);
            let report = manager.rollback_migration_on(db.as_mut(), &target, &said, &mut progress)?;
            drop(progress);
            if !cli.quiet {
                output::report(format, &database, &report, started.elapsed());
            }
        }
        Command::Current { applied } => {
            // The version row alone unless asked: the history table's first read in a fresh
            // server session costs the server more than the rest of the command.
            let (heads, log) = if applied {
                manager.current_with_history()?
            } else {
                (manager.current_revision()?, Vec::new())
            };
            output::current(format, &heads, manager.migrations().head(), &log);
        }
        Command::Pending => {
            let head = manager.migrations().head().map(|m| m.revision);
            output::pending(format, &manager.pending_migrations()?, head);
        }
        Command::Graph => {
            let set = manager.migrations();
            let label = |id: &str| format!("{id}\n{}", set.get(id).map_or("", |m| m.message));
            match cli.format {
                FormatArg::Dot => print!("{}", crate::plan::draw::dot(set.graph(), label)),
                FormatArg::Mermaid => print!("{}", crate::plan::draw::mermaid(set.graph(), label)),
                FormatArg::Text => {
                    let line = |id: &str| format!("{id}  {}", set.get(id).map_or("", |m| m.message));
                    print!("{}", crate::plan::draw::text(set.graph(), line));
                }
                FormatArg::Json => output::json(
                    &json!({ "revisions": graph_nodes(set, None), "heads": set.graph().heads() }),
                ),
            }
        }
        Command::History { graph: true, .. } => {
            let set = manager.migrations();
            let heads = manager.current_revision()?;
            let current: Vec<&str> = heads.iter().map(|m| m.revision).collect();
            let state = set.state_with_heads(&heads);
            let heads = set.graph().heads();
            let label = |id: &str| {
                let applied = if set.graph().is_applied(&state, id) { "[x]" } else { "[ ]" };
                let message = set.get(id).map_or("", |m| m.message);
                let marks = match (current.contains(&id), heads.contains(&id)) {
                    (true, true) => " (current, head)",
                    (true, false) => " (current)",
                    (false, true) => " (head)",
                    (false, false) => "",
                };
                format!("{applied} {id}  {message}{marks}")
            };
            match format {
                Format::Json => output::json(&json!(graph_nodes(set, Some(&state)))),
                Format::Text if set.migrations().is_empty() => println!("no migrations yet: nothing to draw"),
                Format::Text => print!("{}", crate::plan::draw::text(set.graph(), label)),
            }
        }
        Command::History { log, .. } => {
            let rows = manager.migration_history()?;
            if log {
                output::history_log(format, &rows);
            } else {
                let set = manager.migrations();
                let state = set.state_with_heads(&manager.current_revision()?);
                output::history(format, set, &state, &rows);
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
                    // The text states the difference itself ("the models and the migrations
                    // at head differ; ..."): printed once, not after a heading saying it again.
                    Some(text) => println!("{text}"),
                },
            }
            return Ok(if difference.is_some() { ErrorKind::Validation.exit_code() } else { 0 });
        }
        Command::Lint { empty } => return Ok(lint::run(&manager, format, &empty)),
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
        Command::Squash { to, message } => squash::run(&manager, format, &to, message.as_deref())?,
        Command::Resolve { revision, applied, .. } => {
            let version = manager.resolve(&revision, applied)?;
            let at = version.as_deref().unwrap_or("base");
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
        // Printed before the settings are loaded, above.
        Command::Completions { .. } => {}
        // Run from the files before the set is needed, above.
        Command::Heads | Command::Merge { .. } | Command::Rebase { .. } => {}
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

/// `heads`, `merge` and `rebase`: the revision graph read and edited in the migration files
/// ([`crate::source`]).
fn edit_graph(command: Command, format: Format, settings: &Settings) -> Result<u8, Failure> {
    use crate::source::{self, Applied, SourceError};
    let fail = |e: SourceError| Failure {
        kind: if e.exit_code() == 2 { ErrorKind::Usage } else { ErrorKind::Validation },
        message: e.to_string(),
        problem: e.to_string(),
        remedy: None,
    };
    let Some(dir) = settings.versions_dir.as_deref() else {
        return Err(Failure {
            kind: ErrorKind::Usage,
            message: "no migrations folder: set versions_dir in strata.toml or STRATA_VERSIONS_DIR".into(),
            problem: "no migrations folder".into(),
            remedy: Some("set versions_dir in strata.toml or STRATA_VERSIONS_DIR".into()),
        });
    };
    match command {
        Command::Merge { message } => {
            let merge = source::merge(dir, message.as_deref()).map_err(fail)?;
            match format {
                Format::Json => output::json(&json!(merge)),
                Format::Text => {
                    println!("created {}", merge.path.display());
                    println!("  merge revision {} (parents {})", merge.revision, merge.parents.join(", "));
                }
            }
        }
        Command::Rebase { branch, onto, force } => {
            let database = settings.database_url.to_string();
            let url = source::read_only(&settings.database_url);
            let applied = if force {
                Applied::Unchecked
            } else {
                match crate::backend::connect_with(&url, settings.tables.clone())
                    .and_then(|mut db| db.current_revision())
                {
                    Ok(version) => Applied::Version { database, version },
                    Err(e) => Applied::Unknown { reason: e.to_string() },
                }
            };
            let rebase = source::rebase(dir, &branch, &onto, &applied).map_err(fail)?;
            match format {
                Format::Json => output::json(&json!(rebase)),
                Format::Text => {
                    for r in &rebase.reparented {
                        println!("rewrote {}: parent {} -> {}", r.path.display(), r.from, r.to);
                    }
                    println!(
                        "the branch of {} ({}) now follows {}",
                        rebase.branch,
                        rebase.moved.join(", "),
                        rebase.onto
                    );
                }
            }
        }
        _ => {
            let heads = source::heads_in(dir).map_err(fail)?;
            match format {
                Format::Json => output::json(&json!(heads)),
                Format::Text => heads.iter().for_each(|h| println!("{h}")),
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

fn print_created(format: Format, created: &crate::scaffold::Created) {
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

fn print_sql(format: Format, migrations: &[crate::offline::MigrationSql]) {
    match format {
        Format::Json => output::json(&json!(migrations)),
        Format::Text => print!("{}", crate::offline::script(migrations)),
    }
}

fn print_validation(format: Format, validation: &crate::validate::Validation, strict: bool) -> u8 {
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
    validation.exit_code(strict)
}

fn show(manager: &MigrationManager, format: Format, revision: &str) -> Result<(), Failure> {
    let detail = manager.show(revision)?;
    let m = detail.migration;
    let statements = |sql: &Option<crate::offline::MigrationSql>| sql.as_ref().map(|s| s.statements.clone());
    let effects = |sql: &Option<crate::offline::MigrationSql>| {
        sql.as_ref().map_or_else(Vec::new, |s| s.effects.clone())
    };
    match format {
        Format::Json => {
            let mut shown = json!({
            "revision": m.revision,
            "parent": m.parent(),
            "parents": m.parents,
            "message": m.message,
            "created": m.created,
            "file": detail.file_name,
            "upgrade": detail.upgrade,
            "downgrade": detail.downgrade,
            "upgrade_sql": statements(&detail.upgrade_sql),
            "downgrade_sql": statements(&detail.downgrade_sql),
            });
            // Only when there are some, so that other migrations' documents stay as they were.
            let acknowledgements = m.acknowledgements();
            if !acknowledgements.is_empty() {
                shown["acknowledged"] = json!(acknowledgements);
            }
            // PostgreSQL: what each statement locks (a data op's placeholder: null).
            for (key, sql) in
                [("upgrade_effects", &detail.upgrade_sql), ("downgrade_effects", &detail.downgrade_sql)]
            {
                let effects = effects(sql);
                if !effects.is_empty() {
                    shown[key] = json!(effects);
                }
            }
            output::json(&shown)
        }
        Format::Text => {
            println!(
                "revision {}\n{}  {}\nmessage  {}\ncreated  {}\nfile     {}",
                m.revision,
                if m.parents.len() > 1 { "parents" } else { "parent " },
                if m.parents.is_empty() { "(none)".to_string() } else { m.parents.join(", ") },
                m.message,
                m.created,
                // The file name only: the build machine's absolute path means nothing here.
                detail.file_name
            );
            println!("\nupgrade:");
            detail.upgrade.iter().for_each(|o| println!("  {o}"));
            for a in m.acknowledgements() {
                println!("  allow {}: {}", a.code, a.reason);
            }
            println!("downgrade:");
            detail.downgrade.iter().for_each(|o| println!("  {o}"));
            let up: Vec<_> = detail.upgrade_sql.into_iter().collect();
            println!("\n{}", crate::offline::script(&up).trim_end());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line the fast path takes parses as clap parses it, and every subcommand that
    /// needs nothing more than its name is taken (a new one must be added, or left to clap
    /// here on purpose).
    #[test]
    fn bare_command_lines_parse_as_clap_parses_them() {
        let mut taken = Vec::new();
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name().to_string();
            let args = vec!["strata".to_string(), name.clone()];
            let by_clap = Cli::try_parse_from(&args);
            match (bare_command_line(&args), by_clap) {
                (Some(bare), Ok(clap)) => {
                    assert_eq!(format!("{bare:?}"), format!("{clap:?}"), "{name}");
                    taken.push(name);
                }
                (Some(_), Err(e)) => panic!("{name}: the fast path takes a line clap refuses: {e}"),
                (None, Ok(_)) => panic!("{name} alone is a valid line the fast path leaves to clap"),
                (None, Err(_)) => {}
            }
        }
        assert!(taken.contains(&"upgrade".to_string()) && taken.contains(&"current".to_string()));
        for line in [
            &["strata"][..],
            &["strata", "upgrade", "--sql"],
            &["strata", "--env", "prod", "upgrade"],
            &["strata", "help"],
            &["strata", "--help"],
            &["strata", "Upgrade"],
            &["strata", "upgrade", ""],
        ] {
            let args: Vec<String> = line.iter().map(|a| a.to_string()).collect();
            assert!(bare_command_line(&args).is_none(), "{line:?}");
        }
    }

    /// An application's own command line with the database commands under `db`.
    #[derive(Debug, Parser)]
    struct MyApp {
        #[command(subcommand)]
        command: MyCommand,
    }

    #[derive(Debug, Subcommand)]
    enum MyCommand {
        Serve,
        Db(DbArgs),
    }

    fn db(args: &[&str]) -> DbArgs {
        match MyApp::try_parse_from(args).expect("parses").command {
            MyCommand::Db(db) => db,
            MyCommand::Serve => panic!("not db"),
        }
    }

    #[test]
    fn the_commands_nest_under_an_applications_subcommand() {
        let args = db(&["myapp", "db", "--format", "json", "upgrade", "--revision", "+1"]);
        assert_eq!(args.format, FormatArg::Json);
        assert!(
            matches!(args.command, Command::Upgrade { ref revision, sql: false, .. } if revision == "+1")
        );
        // The global options work after the subcommand too.
        let args = db(&["myapp", "db", "downgrade", "--force", "-q", "--env", "staging"]);
        assert!(args.quiet && args.env.as_deref() == Some("staging"));
        assert!(matches!(args.command, Command::Downgrade { force: true, .. }));
        assert!(matches!(MyApp::try_parse_from(["myapp", "serve"]).unwrap().command, MyCommand::Serve));
        assert!(MyApp::try_parse_from(["myapp", "db", "upgrade", "--frobnicate"]).is_err());
    }

    #[test]
    fn the_program_is_the_applications() {
        let app = App::new(MigrationSet::new(vec![])).name("myapp").version("9.9.9").about("My app");
        let mut command = app.command();
        assert!(command.render_usage().to_string().contains("myapp"), "{}", command.render_usage());
        assert_eq!(command.get_version(), Some("9.9.9"));
        assert!(command.render_help().to_string().starts_with("My app"));
        assert!(App::new(MigrationSet::new(vec![])).command().get_version().is_none());
    }

    #[test]
    fn every_commands_help_ends_with_examples_under_the_programs_name() {
        let mut command = App::new(MigrationSet::new(vec![])).name("myapp").command();
        let names: Vec<String> =
            command.get_subcommands().map(|c| c.get_name().to_string()).filter(|n| n != "help").collect();
        assert!(names.len() >= 16, "{names:?}");
        for name in names {
            let sub = command.find_subcommand_mut(&name).expect("listed");
            let help = sub.render_help().to_string();
            let block =
                help.split_once("Examples:\n").map(|(_, b)| b).unwrap_or_else(|| panic!("{name}: {help}"));
            assert!(block.contains(&format!("  myapp {name}")), "{name}: {block}");
        }
        assert!(command.render_help().to_string().contains("Examples:\n  myapp upgrade"));
    }

    /// What `args` print with these migrations and models (on a fresh in-memory database).
    fn printed(set: Result<MigrationSet, RegistryError>, models: Option<Models>, args: &[&str]) -> String {
        let mut app = App::new(set).name("myapp");
        if let Some(models) = models {
            app = app.models(models);
        }
        let argv = ["myapp", "--database-url", "sqlite::memory:", "--env", "dev"].iter().chain(args);
        output::tests::capture(|| app.run_from(argv)).1
    }

    #[test]
    fn an_empty_chain_says_so_and_base_is_not_head() {
        let empty = || MigrationSet::new(vec![]);
        assert_eq!(
            printed(empty(), None, &["history"]),
            "no migrations yet: `create \"message\"` writes the first one\n"
        );
        assert_eq!(
            printed(empty(), None, &["history", "--log"]),
            "the history table is empty: nothing was applied, reverted or stamped yet\n"
        );
        let current = printed(empty(), None, &["current"]);
        assert_eq!(current, "base (no migrations applied; the chain has no migrations yet)\n");
        assert!(!current.contains("(head)"));
    }

    #[test]
    fn check_states_the_difference_once() {
        use crate::ops::{Column, Table};
        use crate::types::Type;
        let models = Models::new().table(Table::new("widgets").column(Column::new("id", Type::Integer)));
        let out = printed(MigrationSet::new(vec![]), Some(models), &["check"]);
        assert_eq!(out.matches("differ").count(), 1, "{out}");
        assert!(out.starts_with("the models and the migrations at head differ;"), "{out}");
        assert!(out.contains("widgets"), "{out}");
    }

    #[test]
    fn a_broken_chain_is_reported_once() {
        use crate::graph::ChainError;
        let broken = || {
            Err(RegistryError::Chain(vec![
                ChainError::UnknownParent { revision: "b".into(), parent: "zz".into(), file: "rb.rs".into() },
                ChainError::NoRoot,
            ]))
        };
        for args in [&["current"][..], &["validate"], &["upgrade"]] {
            let out = printed(broken(), None, args);
            eprintln!("{args:?}:\n{out}");
            assert_eq!(out.matches("names parent zz").count(), 1, "{args:?}: {out}");
            assert_eq!(out.matches("no root").count(), 1, "{args:?}: {out}");
        }
    }

    #[test]
    fn the_cli_words_remedies_with_its_flags() {
        let cases = [
            (Remedy::Confirm, "--force"),
            (Remedy::Force, "--force"),
            (Remedy::TypeTarget("abc".into()), "--yes-i-am-sure"),
            (Remedy::Accept(vec!["abc".into()]), "`accept abc`"),
            (Remedy::Resolve { revision: "abc".into() }, "`resolve abc --applied`"),
            (Remedy::Stamp, "`stamp <revision>`"),
        ];
        for (r, words) in cases {
            assert!(remedy(&r).contains(words), "{r:?}: {}", remedy(&r));
            assert!(!r.to_string().contains("--"), "library wording: {r}");
        }
        let refused = failure(crate::policy::Refusal::StagingNeedsConfirmation);
        assert_eq!(refused.kind, ErrorKind::Refused);
        assert_eq!(
            refused.message,
            "rolling back in staging needs confirmation: answer y at the prompt, or pass --force"
        );
        assert_eq!(refused.problem, "rolling back in staging needs confirmation");
    }

    #[test]
    fn a_refused_set_is_reported_without_connecting() {
        // A server that would take the connection and never answer: the set is built first,
        // and its refusal is what the command reports, before any connection is attempted.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        silent.set_nonblocking(true).unwrap();
        let url = format!(
            "postgres://strata@127.0.0.1:{}/app?connect_timeout=1&sslmode=disable",
            silent.local_addr().unwrap().port()
        );
        let refused = || Err(RegistryError::Unexpected(vec!["zz9".into()]));
        for migrations in [Migrations::from(refused), Migrations::from(refused())] {
            let app = App::new(migrations).name("myapp");
            let argv = ["myapp", "--database-url", url.as_str(), "--env", "dev", "current"];
            let (code, out) = output::tests::capture(|| app.run_from(argv));
            assert_eq!(code, ExitCode::from(ErrorKind::Validation.exit_code()), "{out}");
            assert!(out.contains("zz9") && !out.contains("connect"), "{out}");
            match silent.accept() {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                other => panic!("the refused set still connected: {other:?}"),
            }
        }
    }

    #[test]
    fn heads_merge_and_rebase_work_from_the_files() {
        let dir = std::env::temp_dir().join(format!(
            "strata-cli-graph-{}",
            crate::scaffold::new_revision(&std::collections::HashSet::new())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (rev, parent) in [("a0", "None"), ("b1", "Some(\"a0\")"), ("c1", "Some(\"a0\")")] {
            let text = format!(
                "migration! {{\n    revision: \"{rev}\",\n    parent: {parent},\n    message: \"m {rev}\",\n    \
                 created: \"2026-12-01T10:00:00Z\",\n    upgrade: |_op| {{}},\n    downgrade: |_op| {{}},\n}}\n"
            );
            std::fs::write(dir.join(format!("r{rev}.rs")), text).unwrap();
        }
        let run = |args: &[&str]| {
            // The set is refused (the build would fail): these commands read the files.
            let app = App::new(Err(RegistryError::Chain(vec![]))).name("myapp").versions_dir(&dir);
            let argv = ["myapp", "--database-url", "sqlite::memory:", "--env", "dev"].iter().chain(args);
            output::tests::capture(|| app.run_from(argv))
        };
        let (code, out) = run(&["heads"]);
        assert_eq!((code, out.as_str()), (ExitCode::SUCCESS, "b1  m b1  (rb1.rs)\nc1  m c1  (rc1.rs)\n"));
        let (code, out) = run(&["rebase", "c1", "--onto", "b"]);
        assert_eq!(code, ExitCode::SUCCESS, "{out}");
        assert!(out.contains("rc1.rs: parent a0 -> b1"), "{out}");
        let (code, out) = run(&["merge"]);
        assert_eq!(code, ExitCode::from(1), "{out}");
        assert!(out.contains("nothing to merge: the history has one head, c1 (rc1.rs)"), "{out}");
        assert_eq!(crate::build::check(&crate::build::scan(&dir).unwrap()), vec![]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod acknowledgement_tests {
    use super::*;
    use crate::ops::{Column, Index, Table};
    use crate::types::Type;
    use crate::Migration;

    static A1: Migration = Migration {
        revision: "a1",
        parents: &[],
        message: "create items",
        created: "2026-11-24T00:00:00Z",
        upgrade: |op| {
            op.create_table(Table::new("items").column(Column::new("id", Type::BigInt).autoincrement()));
        },
        downgrade: |op| {
            op.drop_table("items");
        },
        file: "a1.rs",
        transactional: true,
        replaces: &[],
    };
    static B2: Migration = Migration {
        revision: "b2",
        parents: &["a1"],
        message: "index items",
        created: "2026-11-25T00:00:00Z",
        upgrade: |op| {
            op.create_index(Index::new("ix_items_id", "items", ["id"])).allow("S013", "items is tiny");
        },
        downgrade: |op| {
            op.drop_index("ix_items_id", "items");
        },
        file: "b2.rs",
        transactional: true,
        replaces: &[],
    };

    fn run(url: &str, args: &[&str]) -> (ExitCode, String) {
        let app = App::new(MigrationSet::new(vec![&A1, &B2])).name("myapp");
        let argv: Vec<&str> = ["myapp", "--database-url", url, "--env", "dev"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        output::tests::capture(|| app.run_from(argv))
    }

    #[test]
    fn lint_and_history_show_acknowledgements() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        let (code, lint) = run(&url, &["lint"]);
        assert_eq!(code, ExitCode::SUCCESS, "acknowledged: no error: {lint}");
        assert!(lint.contains("S013 error   b2 op 1 (create_index ix_items_id on items)\n"), "{lint}");
        assert!(lint.contains("    acknowledged: items is tiny\n"), "{lint}");
        assert!(
            lint.contains("lint: 0 error(s), 0 warning(s), 0 info, 1 acknowledged in 2 migration(s)"),
            "{lint}"
        );
        let (_, json) = run(&url, &["--format", "json", "lint"]);
        let findings: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(findings[0]["code"], "S013", "{json}");
        assert_eq!(findings[0]["acknowledged"], "items is tiny", "{json}");

        let (_, shown) = run(&url, &["show", "b2"]);
        assert!(
            shown.contains("upgrade:\n  create_index ix_items_id on items\n  allow S013: items is tiny\n"),
            "{shown}"
        );
        let (_, json) = run(&url, &["--format", "json", "show", "b2"]);
        let shown: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            shown["acknowledged"],
            serde_json::json!([{"code": "S013", "reason": "items is tiny"}]),
            "{json}"
        );

        let (code, out) = run(&url, &["upgrade"]);
        assert_eq!(code, ExitCode::SUCCESS, "{out}");
        let (_, log) = run(&url, &["history", "--log"]);
        assert!(log.contains("\tb2\tindex items\t") && log.contains("\tS013: items is tiny"), "{log}");
        let (_, json) = run(&url, &["--format", "json", "history", "--log"]);
        let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(rows[0]["acknowledged"], serde_json::json!([]), "{json}");
        assert_eq!(
            rows[1]["acknowledged"],
            serde_json::json!([{"code": "S013", "reason": "items is tiny"}]),
            "{json}"
        );
    }

    #[test]
    fn an_acknowledgement_of_an_unknown_code_fails_lint_and_validate() {
        static BAD: Migration = Migration {
            upgrade: |op| {
                op.allow("S999", "no such rule");
            },
            ..B2_CONST
        };
        const B2_CONST: Migration = Migration {
            revision: "b2",
            parents: &["a1"],
            message: "bad",
            created: "2026-11-25T00:00:00Z",
            upgrade: |_| {},
            downgrade: |_| {},
            file: "b2.rs",
            transactional: true,
            replaces: &[],
        };
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        for args in [&["lint"][..], &["validate"], &["upgrade"]] {
            let app = App::new(MigrationSet::new(vec![&A1, &BAD])).name("myapp");
            let argv: Vec<&str> = ["myapp", "--database-url", url.as_str(), "--env", "dev"]
                .into_iter()
                .chain(args.iter().copied())
                .collect();
            let (code, out) = output::tests::capture(|| app.run_from(argv));
            assert_eq!(code, ExitCode::from(1), "{args:?}: {out}");
            assert!(
                out.contains("migration b2 acknowledges \"S999\", which is not a lint rule code"),
                "{args:?}: {out}"
            );
        }
    }
}
