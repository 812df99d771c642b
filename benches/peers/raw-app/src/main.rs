//! The peer benchmark's floor: the workload's statements through the bare drivers, as a
//! hand-written migration script would run them, with no bookkeeping at all.
//!
//! `raw-app MODE` on `DATABASE_URL` (`sqlite://PATH` or `postgres://...`):
//!
//! - `up-one-txn`: every upgrade statement in one transaction;
//! - `up-per-statement`: each upgrade statement in its own transaction (`BEGIN`, statement,
//!   `COMMIT`), as strata's in-process benchmark runs raw;
//! - `down-per-statement`: the downgrade statements (`ALTER TABLE .. DROP COLUMN`,
//!   `DROP TABLE`, last migration first), each in its own transaction;
//! - `select1`: connect and `SELECT 1`: the least any tool must do to look at a database;
//! - `durability`: prints the settings the connection runs with (for the driver's check).
//!
//! SQLite is opened with `rusqlite::Connection::open` (SQLite's defaults: a rollback journal,
//! `synchronous=FULL`); PostgreSQL with the `postgres` crate, without TLS.

use std::process::ExitCode;

include!(concat!(env!("OUT_DIR"), "/statements.rs"));

const USAGE: &str = "usage: raw-app up-one-txn|up-per-statement|down-per-statement|select1|durability  \
                     (DATABASE_URL=sqlite://PATH or postgres://...)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(mode), None) = (args.next(), args.next()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("raw-app: DATABASE_URL is not set\n{USAGE}");
        return ExitCode::from(2);
    };
    let result = if let Some(path) = url.strip_prefix("sqlite://") {
        rusqlite::Connection::open(path)
            .map_err(|e| format!("cannot open {path}: {e}"))
            .and_then(|mut conn| sqlite(&mode, &mut conn))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        postgres::Client::connect(&url, postgres::NoTls)
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))
            .and_then(|mut client| postgres(&mode, &mut client))
    } else {
        Err(format!("DATABASE_URL must start with sqlite:// or postgres://, not {url:?}"))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raw-app {mode}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `mode` on an open SQLite connection.
fn sqlite(mode: &str, conn: &mut rusqlite::Connection) -> Result<(), String> {
    let in_transaction = |conn: &mut rusqlite::Connection, statements: &[&str]| -> Result<(), String> {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        for sql in statements {
            tx.execute_batch(sql).map_err(|e| format!("{e}: {sql}"))?;
        }
        tx.commit().map_err(|e| e.to_string())
    };
    match mode {
        "up-one-txn" => in_transaction(conn, UP),
        "up-per-statement" => UP.iter().try_for_each(|sql| in_transaction(conn, &[sql])),
        "down-per-statement" => DOWN.iter().try_for_each(|sql| in_transaction(conn, &[sql])),
        "select1" => {
            let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            (one == 1).then_some(()).ok_or_else(|| "SELECT 1 did not return 1".into())
        }
        "durability" => {
            let journal: String =
                conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            let synchronous: i64 =
                conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            println!("sqlite={} journal_mode={journal} synchronous={synchronous}", rusqlite::version());
            Ok(())
        }
        other => Err(format!("unknown mode {other:?}\n{USAGE}")),
    }
}

/// `mode` on an open PostgreSQL connection.
fn postgres(mode: &str, client: &mut postgres::Client) -> Result<(), String> {
    let in_transaction = |client: &mut postgres::Client, statements: &[&str]| -> Result<(), String> {
        let mut tx = client.transaction().map_err(|e| e.to_string())?;
        for sql in statements {
            tx.batch_execute(sql).map_err(|e| format!("{e}: {sql}"))?;
        }
        tx.commit().map_err(|e| e.to_string())
    };
    match mode {
        "up-one-txn" => in_transaction(client, UP),
        "up-per-statement" => UP.iter().try_for_each(|sql| in_transaction(client, &[sql])),
        "down-per-statement" => DOWN.iter().try_for_each(|sql| in_transaction(client, &[sql])),
        "select1" => {
            let one: i32 = client.query_one("SELECT 1", &[]).map_err(|e| e.to_string())?.get(0);
            (one == 1).then_some(()).ok_or_else(|| "SELECT 1 did not return 1".into())
        }
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
        other => Err(format!("unknown mode {other:?}\n{USAGE}")),
    }
}
