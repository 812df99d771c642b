//! The peer benchmark's refinery application: `refinery-app up | current | durability` on
//! `DATABASE_URL` (`sqlite://PATH` or `postgres://...`), with the migrations embedded by
//! `embed_migrations!` (see `build.rs`).
//!
//! - `up`: `Runner::run` with refinery's defaults (a transaction per migration, abort on
//!   divergent or missing migrations); on a database at head, the nothing-pending check;
//! - `current`: `Runner::get_last_applied_migration`;
//! - `durability`: prints the settings the connection runs with (for the driver's check).
//!
//! refinery has no down migrations, so there is no `down`. SQLite is opened with
//! `rusqlite::Connection::open` (SQLite's defaults: a rollback journal, `synchronous=FULL`),
//! the PostgreSQL server with the `postgres` crate, as refinery's documentation does.

use std::process::ExitCode;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

const USAGE: &str =
    "usage: refinery-app up|current|durability  (DATABASE_URL=sqlite://PATH or postgres://...)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(command), None) = (args.next(), args.next()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("refinery-app: DATABASE_URL is not set\n{USAGE}");
        return ExitCode::from(2);
    };
    let result = if let Some(path) = url.strip_prefix("sqlite://") {
        rusqlite::Connection::open(path)
            .map_err(|e| format!("cannot open {path}: {e}"))
            .and_then(|mut conn| sqlite(&command, &mut conn))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::Client::connect(&url, postgres::NoTls)
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))
            .and_then(|mut client| postgres(&command, &mut client))
    } else {
        Err(format!("DATABASE_URL must start with sqlite:// or postgres://, not {url:?}"))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("refinery-app {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `command` on an open SQLite connection.
fn sqlite(command: &str, conn: &mut rusqlite::Connection) -> Result<(), String> {
    match command {
        "up" => migrations::runner().run(conn).map(drop).map_err(|e| e.to_string()),
        "current" => print_current(migrations::runner().get_last_applied_migration(conn)),
        "durability" => {
            let journal: String =
                conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            let synchronous: i64 =
                conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            println!("sqlite={} journal_mode={journal} synchronous={synchronous}", rusqlite::version());
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// `command` on an open PostgreSQL connection.
fn postgres(command: &str, client: &mut postgres::Client) -> Result<(), String> {
    match command {
        "up" => migrations::runner().run(client).map(drop).map_err(|e| e.to_string()),
        "current" => print_current(migrations::runner().get_last_applied_migration(client)),
        "durability" => {
            let show = |client: &mut postgres::Client, what: &str| -> Result<String, String> {
                let row = client.query_one(&format!("SHOW {what}"), &[]).map_err(|e| e.to_string())?;
                Ok(row.get(0))
            };
            println!(
                "fsync={} synchronous_commit={}",
                show(client, "fsync")?,
                show(client, "synchronous_commit")?
            );
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// Prints the last applied migration's version, or `base`.
fn print_current(last: Result<Option<refinery::Migration>, refinery::Error>) -> Result<(), String> {
    match last.map_err(|e| e.to_string())? {
        Some(migration) => println!("{}", migration.version()),
        None => println!("base"),
    }
    Ok(())
}
