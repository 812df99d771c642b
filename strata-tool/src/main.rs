//! The `strata` command: `strata init` sets a cargo project up for strata (there is no
//! application binary to run it with before that). Every later command is the application's
//! own: `cargo run -- upgrade`, `create`, `history`, ...

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
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
                2 => eprintln!("error: {e}\nnothing was written"),
                _ => eprintln!("error: {e}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// `strata heads`: one line per head; exit 1 on a broken graph, 2 without a folder.
fn heads(args: HeadsArgs) -> ExitCode {
    let Some(dir) = args.versions.or_else(|| strata_tool::heads::versions_dir_of(std::path::Path::new(".")))
    else {
        eprintln!(
            "error: no migrations folder: pass --versions DIR, or run where strata.toml names versions_dir"
        );
        return ExitCode::from(2);
    };
    match strata_tool::heads::heads(&dir) {
        Ok(heads) => {
            let lines: String = heads.iter().map(|h| format!("{h}\n")).collect();
            print_out(&lines);
            if heads.len() > 1 {
                eprintln!(
                    "{} heads: the history branches, so the application does not build until they are merged",
                    heads.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Writes `text` to stdout; a reader that went away (`strata heads | head -1`) is not an
/// error worth a panic, the work is done either way.
fn print_out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
