//! An application with its own command line that nests strata's database commands under
//! `db`: `nested_cli serve`, `nested_cli db upgrade`, `nested_cli db --format json current`.
//!
//! ```text
//! cargo run -p strata --features cli --example nested_cli -- db --database-url sqlite://demo.db upgrade
//! ```

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use strata::prelude::*;

migration! {
    revision: "a1b2c3d4e5f6",
    parent: None,
    message: "create users",
    created: "2026-01-01T00:00:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new("users")
                .column(Column::new("id", Type::Integer).primary_key())
                .column(Column::new("email", Type::String(255))),
        );
    },
    downgrade: |op| {
        op.drop_table("users");
    },
}

/// The application's own command line.
#[derive(Debug, Parser)]
#[command(name = "nested_cli", version, about = "An application that nests strata under `db`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve requests (the application's own work)
    Serve,
    /// Database migrations: upgrade, downgrade, current, history, ...
    Db(strata::cli::DbArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve => {
            println!("serving (migrate first with `nested_cli db upgrade`)");
            ExitCode::SUCCESS
        }
        Command::Db(args) => {
            strata::cli::App::new(strata::MigrationSet::new(strata::migration::registered()))
                .name("nested_cli db")
                .run_args(args)
        }
    }
}
