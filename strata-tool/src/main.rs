//! The `strata` command: `strata init` sets a cargo project up for strata (there is no
//! application binary to run it with before that); `strata heads`, `merge` and `rebase` read
//! and edit the migration files while two heads keep the application from building. Every
//! other command is the application's own: `cargo run -- upgrade`, `create`, `history`, ...

use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::source::{self, Applied, SourceError};
use strata_tool::init::{self, Options, StrataSource};

/// strata's project tool: sets a cargo project up for strata migrations.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scaffold the migrations crate (with a first migration and its models), add it and
    /// strata to Cargo.toml, replace cargo's hello-world main with strata's command line, and
    /// write strata.toml and a round-trip test. Idempotent; never overwrites a file
    Init(InitArgs),
    /// List the heads of the revision graph, read from the migration files (works while two
    /// heads keep the application from building)
    Heads(HeadsArgs),
    /// Write a merge revision whose parents are the heads (read from the migration files), so
    /// the history is one again; it changes no schema itself
    #[command(after_help = MERGE_HELP)]
    Merge(MergeArgs),
    /// Re-parent the branch that ends at BRANCH_HEAD onto the head --onto, so the history is
    /// linear again: the header of the branch's first revision gets a new parent, nothing else
    /// changes
    #[command(after_help = REBASE_HELP)]
    Rebase(RebaseArgs),
}

const MERGE_HELP: &str = "Examples:
  strata merge
      a merge revision for the heads, with the message \"merge <a> and <b>\"
  strata merge -m \"merge the billing branch\"
      the same with your message";

const REBASE_HELP: &str =
    "The database check: a rebase rewrites history, so it is refused when the database the
application is configured with (--database-url, DATABASE_URL, .env, strata.toml, as the
application reads them) has applied any revision of the branch, when that database names
revisions no file declares, and when it cannot be read (none configured, a missing SQLite file,
a server that cannot be reached). The database is only read, never created or changed. Other
databases (a colleague's, staging) cannot be checked from here: rebase a branch no one has
applied, or merge instead. --force skips the check.

Examples:
  strata heads
      the heads: pick the branch to move and the head it should follow
  strata rebase 3c4d --onto 1a2b
      3c4d's branch now follows 1a2b (ids or unique prefixes)
  strata rebase 3c4d --onto 1a2b --database-url postgres://localhost/app
      checked against that database";

#[derive(Debug, Args)]
struct MergeArgs {
    /// The merge revision's message [default: "merge <a> and <b>"]
    #[arg(short, long)]
    message: Option<String>,
    /// The migrations folder [default: versions_dir from ./strata.toml]
    #[arg(long, value_name = "DIR")]
    versions: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RebaseArgs {
    /// The head of the branch to move (an id or a unique prefix)
    #[arg(value_name = "BRANCH_HEAD")]
    branch: String,
    /// The head it should follow
    #[arg(long, value_name = "HEAD")]
    onto: String,
    /// Rewrite without checking the database (see below)
    #[arg(long)]
    force: bool,
    /// The migrations folder [default: versions_dir from ./strata.toml]
    #[arg(long, value_name = "DIR")]
    versions: Option<PathBuf>,
    /// The database to check, as the application's --database-url [default: DATABASE_URL,
    /// then strata.toml, then sqlite://app.db in dev]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The environment, as the application's --env
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// The settings file, as the application's --config [default: ./strata.toml]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct HeadsArgs {
    /// The migrations folder [default: versions_dir from ./strata.toml]
    #[arg(long, value_name = "DIR")]
    versions: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The cargo project's folder: a package, or a workspace root
    #[arg(long, default_value = ".")]
    path: PathBuf,
    /// The migrations crate's name, also its folder [default: <package>-migrations]
    #[arg(long)]
    name: Option<String>,
    /// Take strata from this checkout's framework/ folder [default: the one this tool was
    /// built from, when it is still there]
    #[arg(long, conflicts_with = "strata_version")]
    strata_path: Option<PathBuf>,
    /// Take strata from the registry at this version
    #[arg(long)]
    strata_version: Option<String>,
}

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Init(args) => args,
        Command::Heads(args) => return heads(args),
        Command::Merge(args) => return merge(args),
        Command::Rebase(args) => return rebase(args),
    };
    let strata = match (args.strata_path, args.strata_version) {
        (Some(path), _) => StrataSource::Path(path),
        (None, Some(version)) => StrataSource::Version(version),
        (None, None) => StrataSource::default_for_this_tool(),
    };
    match init::init(&Options { project: args.path, name: args.name, strata }) {
        Ok(report) => {
            print_out(&format!("{report}\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            match e.exit_code() {
                2 => print_err(&format!("error: {e}\nnothing was written\n")),
                _ => print_err(&format!("error: {e}\n")),
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// The migrations folder: `--versions`, else strata.toml's `versions_dir`; says so and
/// returns `None` when there is neither.
fn versions(given: Option<PathBuf>) -> Option<PathBuf> {
    let dir = given.or_else(|| strata_tool::heads::versions_dir_of(Path::new(".")));
    if dir.is_none() {
        print_err(
            "error: no migrations folder: pass --versions DIR, or run where strata.toml names versions_dir\n",
        );
    }
    dir
}

/// Prints a refusal or failure and returns its exit code (1 refused, 2 usage).
fn failed(e: &SourceError) -> ExitCode {
    print_err(&format!("error: {e}\n"));
    ExitCode::from(e.exit_code())
}

/// `strata merge`: writes the merge revision; exit 1 when refused, 2 on a usage error.
fn merge(args: MergeArgs) -> ExitCode {
    let Some(dir) = versions(args.versions) else { return ExitCode::from(2) };
    match source::merge(&dir, args.message.as_deref()) {
        Ok(merge) => {
            print_out(&format!(
                "created {}\n  merge revision {} (parents {}); the next build includes it\n",
                merge.path.display(),
                merge.revision,
                merge.parents.join(", ")
            ));
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

/// `strata rebase`: rewrites the branch's first header(s) after checking the database.
fn rebase(args: RebaseArgs) -> ExitCode {
    let Some(dir) = versions(args.versions) else { return ExitCode::from(2) };
    let applied = if args.force {
        Applied::Unchecked
    } else {
        let overrides = strata::config::Overrides {
            env: args.env,
            database_url: args.database_url,
            config_file: args.config,
        };
        strata_tool::edit::applied(&overrides, Path::new("."))
    };
    match source::rebase(&dir, &args.branch, &args.onto, &applied) {
        Ok(rebase) => {
            let mut out = String::new();
            for r in &rebase.reparented {
                out.push_str(&format!("rewrote {}: parent {} -> {}\n", r.path.display(), r.from, r.to));
            }
            out.push_str(&format!(
                "the branch of {} ({}) now follows {}\n",
                rebase.branch,
                rebase.moved.join(", "),
                rebase.onto
            ));
            out.push_str(&match &rebase.database {
                Some(db) => format!("  checked: {db} has applied none of it\n"),
                None => "  not checked against a database (--force)\n".to_string(),
            });
            print_out(&out);
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

/// `strata heads`: one line per head; exit 1 on a broken graph, 2 without a folder.
fn heads(args: HeadsArgs) -> ExitCode {
    let Some(dir) = versions(args.versions) else { return ExitCode::from(2) };
    match strata_tool::heads::heads(&dir) {
        Ok(heads) => {
            let lines: String = heads.iter().map(|h| format!("{h}\n")).collect();
            print_out(&lines);
            if heads.len() > 1 {
                let ids: Vec<&str> = heads.iter().map(|h| h.revision.as_str()).collect();
                print_err(&format!(
                    "{} heads: the history branches, so the application does not build until they are joined: \
                     `{}`, or `{}`\n",
                    heads.len(),
                    source::merge_command(&ids),
                    source::rebase_commands(&ids).join("` then `")
                ));
            }
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

/// Writes `text` to stdout; a reader that went away (`strata heads | head -1`) is not an
/// error worth a panic, the work is done either way.
fn print_out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Writes `text` to stderr, likewise: a closed stderr never turns a refusal into a panic.
fn print_err(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
