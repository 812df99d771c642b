//! Shared test helpers: a fresh database per test on each engine, and short ways to apply
//! ops and read the live schema.
#![allow(dead_code, unused_imports)] // each test binary uses a different part

pub mod fixture;

use strata::backend::{self, Backend};
use strata::ops::{DialectKind, Op, Ops};
use strata::schema::{Schema, Table};
pub use strata::testkit::{engines, fresh_database, TestDatabase};

pub fn connect(db: &TestDatabase) -> Box<dyn Backend> {
    backend::connect(&db.url).unwrap_or_else(|e| panic!("connect to {}: {e}", db.url))
}

/// A fresh database on `kind` and a connection to it.
pub fn open(kind: DialectKind) -> (TestDatabase, Box<dyn Backend>) {
    let db = fresh_database(kind);
    let conn = connect(&db);
    (db, conn)
}

/// Records ops with the same builder API a migration uses.
pub fn ops(record: impl FnOnce(&mut Ops)) -> Vec<Op> {
    let mut ops = Ops::new();
    record(&mut ops);
    ops.into_ops()
}

/// Applies ops in one transaction through the runner's own path; panics with the error.
pub fn apply(conn: &mut dyn Backend, record: impl FnOnce(&mut Ops)) {
    let kind = conn.kind();
    strata::runner::apply_ops(conn, "test", ops(record)).unwrap_or_else(|e| panic!("[{kind}] {e}"));
}

/// Applies ops and returns the error they must cause.
pub fn apply_err(conn: &mut dyn Backend, record: impl FnOnce(&mut Ops)) -> strata::runner::Error {
    let kind = conn.kind();
    match strata::runner::apply_ops(conn, "test", ops(record)) {
        Ok(()) => panic!("[{kind}] the ops should have failed"),
        Err(e) => e,
    }
}

pub fn schema(conn: &mut dyn Backend) -> Schema {
    conn.introspect().expect("introspect")
}

/// One table of the live schema; panics if it is missing.
pub fn table(conn: &mut dyn Backend, name: &str) -> Table {
    let kind = conn.kind();
    schema(conn).tables.remove(name).unwrap_or_else(|| panic!("[{kind}] table {name} is missing"))
}

/// Runs a query and returns the rows, formatted for easy comparison.
pub fn rows(conn: &mut dyn Backend, sql: &str) -> Vec<String> {
    conn.data()
        .query(sql, &[])
        .expect("query")
        .into_iter()
        .map(|row| row.iter().map(ToString::to_string).collect::<Vec<_>>().join("|"))
        .collect()
}

pub fn exec(conn: &mut dyn Backend, sql: &str) {
    let kind = conn.kind();
    conn.execute(sql).unwrap_or_else(|e| panic!("[{kind}] {sql}: {e}"));
}

/// `bin args...` on a pseudo-terminal (script(1) from util-linux) in `dir`, against `url` in
/// environment `env`, with stdin, stdout and stderr piped: for prompts a person answers.
pub fn on_terminal(
    bin: &str,
    dir: &std::path::Path,
    url: &str,
    env: &str,
    args: &[&str],
) -> std::process::Command {
    let command = std::iter::once(bin.to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("STRATA_ENV", env)
        .env_remove("ENV")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    script
}
