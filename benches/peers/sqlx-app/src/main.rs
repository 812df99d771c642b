//! The peer benchmark's sqlx application: `sqlx-app up | down | current | durability` on
//! `DATABASE_URL` (`sqlite://PATH` or `postgres://...`), with the migrations embedded by
//! `sqlx::migrate!` (see `build.rs`).
//!
//! - `up`: `Migrator::run`, as `sqlx migrate run` does (on a database at head: the
//!   nothing-pending check);
//! - `down`: `Migrator::undo(conn, 0)`, every migration reverted;
//! - `current`: the latest applied version, from sqlx's own table
//!   (`Migrate::list_applied_migrations`, as `sqlx migrate info` reads it);
//! - `durability`: prints the settings the connection runs with (for the driver's check).
//!
//! One connection, no pool, on a current-thread runtime: the cheapest way sqlx can run.
//! SQLite is opened with sqlx's defaults (it leaves `journal_mode` and `synchronous` to
//! SQLite: a rollback journal, `synchronous=FULL`), creating the file if missing as the other
//! tools do.

use sqlx::migrate::Migrate;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::process::ExitCode;

include!(concat!(env!("OUT_DIR"), "/migrator.rs"));

const USAGE: &str =
    "usage: sqlx-app up|down|current|durability  (DATABASE_URL=sqlite://PATH or postgres://...)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(command), None) = (args.next(), args.next()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("sqlx-app: DATABASE_URL is not set\n{USAGE}");
        return ExitCode::from(2);
    };
    let result = if let Some(path) = url.strip_prefix("sqlite://") {
        sqlite(&command, path).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres(&command, &url).await
    } else {
        Err(format!("DATABASE_URL must start with sqlite:// or postgres://, not {url:?}"))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sqlx-app {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `command` on the SQLite file at `path`.
async fn sqlite(command: &str, path: &str) -> Result<(), String> {
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
    let mut conn =
        SqliteConnection::connect_with(&options).await.map_err(|e| format!("cannot open {path}: {e}"))?;
    match command {
        "up" => MIGRATOR.run(&mut conn).await.map_err(|e| e.to_string()),
        "down" => MIGRATOR.undo(&mut conn, 0).await.map_err(|e| e.to_string()),
        "durability" => {
            let (journal,): (String,) = sqlx::query_as("PRAGMA journal_mode")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            let (synchronous,): (i64,) =
                sqlx::query_as("PRAGMA synchronous").fetch_one(&mut conn).await.map_err(|e| e.to_string())?;
            let (version,): (String,) = sqlx::query_as("SELECT sqlite_version()")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            println!("sqlite={version} journal_mode={journal} synchronous={synchronous}");
            Ok(())
        }
        _ => common(command, &mut conn).await,
    }
}

/// `command` on the PostgreSQL database `url` names.
async fn postgres(command: &str, url: &str) -> Result<(), String> {
    let mut conn =
        PgConnection::connect(url).await.map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    match command {
        "up" => MIGRATOR.run(&mut conn).await.map_err(|e| e.to_string()),
        "down" => MIGRATOR.undo(&mut conn, 0).await.map_err(|e| e.to_string()),
        "durability" => {
            let (fsync,): (String,) =
                sqlx::query_as("SHOW fsync").fetch_one(&mut conn).await.map_err(|e| e.to_string())?;
            let (commit,): (String,) = sqlx::query_as("SHOW synchronous_commit")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            println!("fsync={fsync} synchronous_commit={commit}");
            Ok(())
        }
        _ => common(command, &mut conn).await,
    }
}

/// `current`, which reads the same on both engines.
async fn common<C: Migrate>(command: &str, conn: &mut C) -> Result<(), String> {
    match command {
        "current" => {
            let applied =
                conn.list_applied_migrations(&MIGRATOR.table_name).await.map_err(|e| e.to_string())?;
            match applied.iter().map(|m| m.version).max() {
                Some(version) => println!("{version}"),
                None => println!("base"),
            }
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}
