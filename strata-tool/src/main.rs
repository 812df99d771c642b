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
    let Command::Init(args) = Cli::parse().command;
    let strata = match (args.strata_path, args.strata_version) {
        (Some(path), _) => StrataSource::Path(path),
        (None, Some(version)) => StrataSource::Version(version),
        (None, None) => StrataSource::default_for_this_tool(),
    };
    match init::init(&Options { project: args.path, name: args.name, strata }) {
        Ok(report) => {
            println!("{report}");
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
