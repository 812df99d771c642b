//! The peer benchmark's floors: the workload's statements through the bare drivers, as a
//! hand-written migration script would run them, with no bookkeeping at all, or with the
//! least bookkeeping a tool that records each migration in the migration's own transaction
//! must do.
//!
//! `raw-app MODE` on `DATABASE_URL` (`sqlite://PATH` or `postgres://...`):
//!
//! - `up-one-txn`: every upgrade statement in one transaction;
//! - `up-per-statement`: each upgrade statement in its own transaction (`BEGIN`, statement,
//!   `COMMIT`), as strata's in-process benchmark runs raw;
//! - `down-per-statement`: the downgrade statements (`ALTER TABLE .. DROP COLUMN`,
//!   `DROP TABLE`, last migration first), each in its own transaction;
//! - `up-bookkept` / `down-bookkept`: the same statements, each migration in its own
//!   transaction with its bookkeeping: `BEGIN`, the statement, one `INSERT` of a history row
//!   (the migration's revision id and a timestamp text) into `raw_history`, one `UPDATE` of
//!   the one-row `raw_version` to the revision the database is now at (down: the parent, NULL
//!   at base), `COMMIT`. Both tables are created if missing before the first migration (so
//!   `down-bookkept` also runs on a database `up-per-statement` built). On SQLite the two
//!   bookkeeping statements are `prepare_cached` statements with bound parameters (SQLite
//!   re-prepares them after each migration's schema change, as it must for any tool); on
//!   PostgreSQL each migration is one simple-query batch (`BEGIN; statement; INSERT ..;
//!   UPDATE ..; COMMIT`), one round trip, the revision ids inlined as literals (they are
//!   12 hex digits, checked);
//! - `stamp`: creates the one-row `raw_version` if missing (as the bookkept modes do) and sets
//!   it to the last migration's revision, in one transaction: what the driver runs after
//!   `up-one-txn` so that raw's database at head holds a version to read;
//! - `select1`: connect and `SELECT 1`: the least any tool must do to look at a database;
//! - `read-version`: connect and read the revision from `raw_version` (it must be there and
//!   hold the last migration's revision): the least a tool that keeps its state in the
//!   database must do to tell whether anything is pending, or which revision is current;
//! - `durability`: prints the settings the connection runs with (for the driver's check).
//!
//! SQLite is opened with `rusqlite::Connection::open` (SQLite's defaults: a rollback journal,
//! `synchronous=FULL`); PostgreSQL with the `postgres` crate, without TLS.

use std::process::ExitCode;

include!(concat!(env!("OUT_DIR"), "/statements.rs"));

const USAGE: &str =
    "usage: raw-app up-one-txn|up-per-statement|down-per-statement|up-bookkept|down-bookkept|\
                     stamp|select1|read-version|durability  \
                     (DATABASE_URL=sqlite://PATH or postgres://...)";

/// The bookkept upgrade: each statement with the revision its migration moves to.
fn up_moves() -> impl Iterator<Item = Move> {
    UP.iter().zip(REVISIONS).map(|(sql, revision)| Move { sql, revision, to: Some(revision) })
}

/// The bookkept downgrade: each statement (last migration first) with the migration's
/// revision and its parent's (`None` below the first migration: base).
fn down_moves() -> impl Iterator<Item = Move> {
    let n = REVISIONS.len();
    DOWN.iter().enumerate().map(move |(k, sql)| Move {
        sql,
        // DOWN[k] undoes migration n - k (1-based), whose parent is migration n - k - 1.
        revision: REVISIONS[n - 1 - k],
        to: (n - k).checked_sub(2).map(|parent| REVISIONS[parent]),
    })
}

/// One bookkept migration.
struct Move {
    /// Its statement (up or down).
    sql: &'static str,
    /// The migration's revision id, recorded in the history.
    revision: &'static str,
    /// The revision the database is at afterwards (`None`: base).
    to: Option<&'static str>,
}

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
        "up-bookkept" => sqlite_bookkept(conn, up_moves()),
        "down-bookkept" => sqlite_bookkept(conn, down_moves()),
        "stamp" => conn
            .execute_batch(&format!(
                "BEGIN; {}; UPDATE {VERSION} SET revision = '{}'; COMMIT",
                sqlite_bookkeeping_tables(),
                head_revision()?
            ))
            .map_err(|e| format!("cannot stamp {VERSION}: {e}")),
        "select1" => {
            let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0)).map_err(|e| e.to_string())?;
            (one == 1).then_some(()).ok_or_else(|| "SELECT 1 did not return 1".into())
        }
        "read-version" => {
            let sql = format!("SELECT revision FROM {VERSION}");
            let read: Option<String> =
                conn.query_row(&sql, [], |r| r.get(0)).map_err(|e| format!("{e}: {sql}"))?;
            at_head(read)
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

/// The bookkeeping tables on SQLite, created if missing, the version row NULL (base) if new.
fn sqlite_bookkeeping_tables() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {HISTORY} (id INTEGER PRIMARY KEY, revision TEXT NOT NULL, applied_at TEXT NOT NULL); \
         CREATE TABLE IF NOT EXISTS {VERSION} (revision TEXT); \
         INSERT INTO {VERSION} (revision) SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM {VERSION})"
    )
}

/// `revision`, checked to need no quoting where it is inlined as a literal.
fn literal(revision: &str) -> Result<&str, String> {
    if revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(revision)
    } else {
        Err(format!("the revision id {revision:?} is not hex digits"))
    }
}

/// The last migration's revision, checked by [`literal`].
fn head_revision() -> Result<&'static str, String> {
    literal(REVISIONS.last().ok_or("the workload has no migrations")?)
}

/// A version read by `read-version`: it must be the last migration's revision.
fn at_head(read: Option<String>) -> Result<(), String> {
    match read {
        Some(revision) if Some(revision.as_str()) == REVISIONS.last().copied() => Ok(()),
        other => Err(format!("{VERSION} holds {other:?}, not the head revision (run `stamp` first)")),
    }
}

/// Runs `moves` on SQLite, each in its own transaction with its history row and version.
fn sqlite_bookkept(conn: &mut rusqlite::Connection, moves: impl Iterator<Item = Move>) -> Result<(), String> {
    // One transaction: on a fresh file, one commit; on a database that has the tables, no write.
    conn.execute_batch(&format!("BEGIN; {}; COMMIT", sqlite_bookkeeping_tables()))
        .map_err(|e| format!("cannot create the bookkeeping tables: {e}"))?;
    let insert_history = format!(
        "INSERT INTO {HISTORY} (revision, applied_at) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
    );
    let update_version = format!("UPDATE {VERSION} SET revision = ?1");
    for Move { sql, revision, to } in moves {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql).map_err(|e| format!("{e}: {sql}"))?;
        tx.prepare_cached(&insert_history)
            .and_then(|mut s| s.execute([revision]))
            .map_err(|e| format!("{e}: {insert_history}"))?;
        tx.prepare_cached(&update_version)
            .and_then(|mut s| s.execute([to]))
            .map_err(|e| format!("{e}: {update_version}"))?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The bookkeeping tables on PostgreSQL, created if missing, the version row NULL (base) if new.
fn postgres_bookkeeping_tables() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {HISTORY} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         revision text NOT NULL, applied_at text NOT NULL); \
         CREATE TABLE IF NOT EXISTS {VERSION} (revision text); \
         INSERT INTO {VERSION} (revision) SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM {VERSION})"
    )
}

/// Runs `moves` on PostgreSQL, each in its own transaction with its history row and version,
/// in one simple-query round trip per migration.
fn postgres_bookkept(client: &mut postgres::Client, moves: impl Iterator<Item = Move>) -> Result<(), String> {
    // One implicit transaction: one commit on a fresh database, none when the tables exist.
    client
        .batch_execute(&postgres_bookkeeping_tables())
        .map_err(|e| format!("cannot create the bookkeeping tables: {e}"))?;
    // Inlined as literals below.
    REVISIONS.iter().try_for_each(|r| literal(r).map(drop))?;
    for Move { sql, revision, to } in moves {
        let to = to.map_or("NULL".to_string(), |to| format!("'{to}'"));
        let batch = format!(
            "BEGIN; {sql}; INSERT INTO {HISTORY} (revision, applied_at) VALUES ('{revision}', now()::text); \
             UPDATE {VERSION} SET revision = {to}; COMMIT"
        );
        client.batch_execute(&batch).map_err(|e| format!("{e}: {batch}"))?;
    }
    Ok(())
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
        "up-bookkept" => postgres_bookkept(client, up_moves()),
        "down-bookkept" => postgres_bookkept(client, down_moves()),
        "stamp" => client
            .batch_execute(&format!(
                "BEGIN; {}; UPDATE {VERSION} SET revision = '{}'; COMMIT",
                postgres_bookkeeping_tables(),
                head_revision()?
            ))
            .map_err(|e| format!("cannot stamp {VERSION}: {e}")),
        "select1" => {
            let one: i32 = client.query_one("SELECT 1", &[]).map_err(|e| e.to_string())?.get(0);
            (one == 1).then_some(()).ok_or_else(|| "SELECT 1 did not return 1".into())
        }
        "read-version" => {
            // The simple-query protocol: one round trip, as strata reads its version.
            let sql = format!("SELECT revision FROM {VERSION}");
            let messages = client.simple_query(&sql).map_err(|e| format!("{e}: {sql}"))?;
            let mut rows = messages.iter().filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_string)),
                _ => None,
            });
            match (rows.next(), rows.next()) {
                (Some(read), None) => at_head(read),
                _ => Err(format!("{VERSION} does not hold exactly one row")),
            }
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
