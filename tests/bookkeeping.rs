//! The version table under concurrency: a killed migrator whose transaction commits late,
//! stamps racing each other, a version moved under a run, and the one-row guarantee on
//! tables made by an older strata.

mod common;

use common::*;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use strata::backend::{Backend, Direction};
use strata::graph::Target;
use strata::migration::{Migration, MigrationSet};
use strata::ops::{Column, DialectKind, Table};
use strata::runner::{Applied, Error, Listener, Runner};
use strata::types::Type;

const BIN: &str = env!("CARGO_BIN_EXE_strata-example");

fn app_runner() -> Runner {
    Runner::new(app_migrations::migrations().expect("registry"))
}

fn cli(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env("DATABASE_URL", url).env("STRATA_ENV", "dev").env_remove("RUST_LOG");
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_killed_migrators_transaction_finishes_before_the_next_migrator_looks() {
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let out = cli(&url, &["upgrade", "--revision", "ddcb1ae961ad"]).output().expect("run");
    assert!(out.status.success(), "{}", text(&out));
    // Another session holds posts, which the next migration needs.
    let mut blocker = connect(&db);
    blocker.begin().unwrap();
    blocker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE").unwrap();
    let mut killed = cli(&url, &["upgrade", "--revision", "766dfe9292c9"]).spawn().expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    killed.kill().expect("SIGKILL the migrator");
    killed.wait().expect("reap");
    // Its server session still waits for posts, with its statements (perhaps its
    // bookkeeping and COMMIT) sent; its run lock went with its lock connection.
    let successor = cli(&url, &["upgrade", "--revision", "766dfe9292c9"]).spawn().expect("spawn");
    std::thread::sleep(Duration::from_secs(3));
    blocker.rollback().unwrap();
    let out = successor.wait_with_output().expect("wait");
    assert!(out.status.success(), "the successor waited for the orphan, then did the rest: {}", text(&out));
    let runner = app_runner();
    let mut conn = connect(&db);
    let ups: Vec<String> = runner
        .history(conn.as_mut())
        .unwrap()
        .into_iter()
        .filter(|r| r.direction == Direction::Up)
        .map(|r| r.revision)
        .collect();
    assert_eq!(ups.iter().filter(|r| *r == "766dfe9292c9").count(), 1, "applied exactly once: {ups:?}");
    assert_eq!(runner.current(conn.as_mut()).unwrap().last().map(|m| m.revision), Some("766dfe9292c9"));
}

fn version_rows(conn: &mut dyn Backend) -> Vec<String> {
    rows(conn, "SELECT coalesce(revision, 'NULL') FROM strata_version")
}

#[test]
fn racing_stamps_behind_a_row_lock_leave_one_version_row() {
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let out = cli(&url, &["upgrade", "--revision", "ddcb1ae961ad"]).output().expect("run");
    assert!(out.status.success(), "{}", text(&out));
    let mut holder = connect(&db);
    holder.begin().unwrap();
    holder.execute("SELECT revision FROM strata_version FOR UPDATE").unwrap();
    let head = cli(&url, &["stamp", "head"]).spawn().expect("spawn");
    let next = cli(&url, &["stamp", "+1"]).spawn().expect("spawn");
    std::thread::sleep(Duration::from_secs(1));
    holder.rollback().unwrap();
    let outputs = [head.wait_with_output().unwrap(), next.wait_with_output().unwrap()];
    for out in &outputs {
        assert!(
            out.status.success() || text(out).contains("beyond head") || text(out).contains("head"),
            "a stamp either works or fails with a clear error: {}",
            text(out)
        );
    }
    let mut conn = connect(&db);
    assert_eq!(version_rows(conn.as_mut()).len(), 1, "one version row: {:?}", version_rows(conn.as_mut()));
    // Every later run trusts the table.
    let out = cli(&url, &["current"]).output().expect("run");
    assert!(out.status.success(), "{}", text(&out));
}

static FIRST: Migration = Migration {
    revision: "m1",
    parents: &[],
    message: "first",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("first").column(Column::new("id", Type::Integer).primary_key()));
    },
    downgrade: |op| {
        op.drop_table("first");
    },
    file: "m1.rs",
    transactional: true,
    replaces: &[],
};
static SECOND: Migration = Migration {
    revision: "m2",
    parents: &["m1"],
    message: "second",
    created: "2026-11-24T00:00:01Z",
    upgrade: |op| {
        op.create_table(Table::new("second").column(Column::new("id", Type::Integer).primary_key()));
    },
    downgrade: |op| {
        op.drop_table("second");
    },
    file: "m2.rs",
    transactional: true,
    replaces: &[],
};

/// Once the first migration committed, another writer (an older strata, a hand-made stamp)
/// sets the version back to base.
struct StampsBaseAfterTheFirst(Box<dyn Backend>);

impl Listener for StampsBaseAfterTheFirst {
    fn finished(&mut self, applied: &Applied) {
        if applied.revision == "m1" {
            self.0.execute("DELETE FROM strata_version").expect("the other writer");
        }
    }
}

#[test]
fn a_run_stops_when_the_version_moves_under_it() {
    for kind in engines() {
        let db = fresh_database(kind);
        let runner = Runner::new(MigrationSet::new(vec![&FIRST, &SECOND]).unwrap());
        let mut other = StampsBaseAfterTheFirst(connect(&db));
        let result = runner.upgrade_with(connect(&db).as_mut(), &Target::Head, &mut other);
        let err = result.expect_err(&format!("[{kind}] the run carried on"));
        assert!(
            matches!(&err, Error::Moved { revision, current } if revision == "m2" && current == "base"),
            "[{kind}] {err}"
        );
        let mut conn = connect(&db);
        assert!(!schema(conn.as_mut()).tables.contains_key("second"), "[{kind}] m2 rolled back");
        assert_eq!(
            version_rows(conn.as_mut()),
            Vec::<String>::new(),
            "[{kind}] the other writer's version stays"
        );
    }
}

#[test]
fn an_old_version_table_gets_the_one_row_guarantee() {
    for kind in engines() {
        let db = fresh_database(kind);
        let mut conn = connect(&db);
        // The tables as an older strata made them: no index.
        conn.ensure_version_tables().unwrap();
        exec(conn.as_mut(), "DROP INDEX strata_version_one_row");
        let runner = Runner::new(MigrationSet::new(vec![&FIRST]).unwrap());
        runner.upgrade(connect(&db).as_mut(), &Target::Head).unwrap();
        let second = conn.execute("INSERT INTO strata_version (revision) VALUES ('x')");
        assert!(second.is_err(), "[{kind}] a second version row is refused by the database");
        assert_eq!(version_rows(conn.as_mut()), ["\"m1\""], "[{kind}]");
    }
}

#[test]
fn stamp_waits_for_a_running_migrator() {
    // stamp takes the run lock: held elsewhere, stamp waits and then fails naming it.
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let mut holder = connect(&db);
    holder.ensure_version_tables().unwrap();
    let _lock = holder.lock_for_run(Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["stamp", "head"])
        .env("DATABASE_URL", &url)
        .env("STRATA_ENV", "dev")
        .env("STRATA_MIGRATION_LOCK_TIMEOUT", "1")
        .output()
        .expect("run");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("another migrator holds the migration lock"), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(version_rows(connect(&db).as_mut()), Vec::<String>::new(), "nothing was stamped");
}

#[test]
fn racing_creates_from_models_build_the_schema_once() {
    for kind in engines() {
        let db = fresh_database(kind);
        let url = db.url.connection_string();
        let racers: Vec<_> =
            (0..8).map(|_| cli(&url, &["init", "--from-models"]).spawn().expect("spawn")).collect();
        let outs: Vec<Output> = racers.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
        let created: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
        assert_eq!(
            created.len(),
            1,
            "[{kind}] exactly one creates the schema: {:?}",
            outs.iter().map(text).collect::<Vec<_>>()
        );
        for out in outs.iter().filter(|o| !o.status.success()) {
            assert_eq!(out.status.code(), Some(1), "[{kind}] {}", text(out));
            assert!(text(out).contains("not empty"), "[{kind}] the others are told why: {}", text(out));
        }
        let mut conn = connect(&db);
        let runner = app_runner();
        let head = runner.migrations().head().map(|m| m.revision);
        assert_eq!(runner.current(conn.as_mut()).unwrap().last().map(|m| m.revision), head, "[{kind}]");
        assert_eq!(runner.history(conn.as_mut()).unwrap().len(), 1, "[{kind}] one history row");
        assert_eq!(rows(conn.as_mut(), "SELECT count(*) FROM strata_version"), ["1"], "[{kind}]");
    }
}
