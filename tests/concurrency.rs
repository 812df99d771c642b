//! Many migrators at once, a lock holder that is killed, statement and lock timeouts, and
//! identifiers PostgreSQL would truncate. Processes are real: the example binary, and this
//! test binary re-run as a child that holds the migration lock until it is killed.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use strata::backend::{self, Direction};
use strata::graph::Target;
use strata::migration::{Migration, MigrationSet};
use strata::ops::{Column, DialectKind, Table};
use strata::runner::{Error, Runner};
use strata::types::Type;

const BIN: &str = env!("CARGO_BIN_EXE_strata-example");
/// Set in the child: the database whose migration lock it takes and holds.
const HOLD_LOCK: &str = "STRATA_TEST_HOLD_LOCK_URL";

fn app_runner() -> Runner {
    Runner::new(app_migrations::migrations().expect("registry"))
}

fn migrate(url: &str, extra_env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(["upgrade"]).env("DATABASE_URL", url).env("STRATA_ENV", "dev").env_remove("RUST_LOG");
    for (k, v) in extra_env {
        command.env(k, v);
    }
    command
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn sixteen_migrators_at_once_apply_each_migration_exactly_once() {
    for kind in engines() {
        let db = fresh_database(kind);
        let url = db.url.connection_string();
        let children: Vec<Child> = (0..16)
            .map(|_| migrate(&url, &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn"))
            .collect();
        let outputs: Vec<Output> =
            children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect();
        for out in &outputs {
            assert!(out.status.success(), "[{kind}] a migrator failed: {}", text(out));
        }
        let applied_lines: usize =
            outputs.iter().map(|o| String::from_utf8_lossy(&o.stdout).matches("  applied ").count()).sum();
        assert_eq!(applied_lines, 11, "[{kind}] each migration reported once across all processes");
        let runner = app_runner();
        let mut conn = connect(&db);
        let log = runner.history(conn.as_mut()).unwrap();
        let ups: Vec<&str> =
            log.iter().filter(|r| r.direction == Direction::Up).map(|r| r.revision.as_str()).collect();
        let expected: Vec<&str> = runner.migrations().migrations().iter().map(|m| m.revision).collect();
        assert_eq!(ups, expected, "[{kind}] every migration applied exactly once, in order");
        assert_eq!(
            runner.current(conn.as_mut()).unwrap().last().map(|m| m.revision),
            expected.last().copied()
        );
    }
}

/// The child: takes the migration lock on `STRATA_TEST_HOLD_LOCK_URL`, says so, and waits to
/// be killed. Ignored unless run as a child by the tests below.
#[test]
#[ignore = "run as a child process by the lock tests"]
fn child_holds_the_migration_lock() {
    let Ok(url) = std::env::var(HOLD_LOCK) else { return };
    let url: backend::DatabaseUrl = url.parse().expect("url");
    let mut conn = backend::connect(&url).expect("connect");
    conn.ensure_version_tables().expect("tables");
    // PostgreSQL: the session advisory lock. SQLite: the write lock of an open transaction.
    let _lock = conn.lock_for_run(Duration::from_secs(5)).expect("lock");
    if conn.kind() == DialectKind::Sqlite {
        conn.begin().expect("begin");
    }
    println!("LOCKED");
    std::thread::sleep(Duration::from_secs(120));
}

fn spawn_lock_holder(url: &str) -> Child {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_holds_the_migration_lock",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_LOCK, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the lock holder");
    let stdout = child.stdout.take().expect("stdout");
    let locked = BufReader::new(stdout).lines().map_while(Result::ok).any(|line| line.contains("LOCKED"));
    assert!(locked, "the child never took the lock");
    child
}

#[test]
fn a_held_lock_makes_a_migrator_wait_a_bounded_time_and_a_killed_holder_blocks_nobody() {
    for kind in engines() {
        let db = fresh_database(kind);
        let url = db.url.connection_string();
        let mut holder = spawn_lock_holder(&url);

        let started = Instant::now();
        let waited = migrate(&url, &[("STRATA_MIGRATION_LOCK_TIMEOUT", "1")]).output().expect("run");
        let elapsed = started.elapsed();
        assert_eq!(waited.status.code(), Some(4), "[{kind}] {}", text(&waited));
        assert!(
            text(&waited).contains("another migrator holds the migration lock"),
            "[{kind}] {}",
            text(&waited)
        );
        if kind == DialectKind::Postgres {
            // The holder is named: its server process, and since when it holds the lock.
            assert!(
                text(&waited).contains("held by server process")
                    && text(&waited).contains("holding it since"),
                "{}",
                text(&waited)
            );
        }
        assert!(elapsed < Duration::from_secs(15), "[{kind}] the wait is bounded: {elapsed:?}");
        assert_eq!(
            app_runner().current(connect(&db).as_mut()).unwrap().last().map(|m| m.revision),
            None,
            "[{kind}]"
        );

        holder.kill().expect("SIGKILL the holder");
        holder.wait().expect("reap");
        let out = migrate(&url, &[("STRATA_MIGRATION_LOCK_TIMEOUT", "10")]).output().expect("run");
        assert!(out.status.success(), "[{kind}] a killed holder's lock is gone: {}", text(&out));
        assert!(text(&out).contains("11 migration(s) applied"), "[{kind}] {}", text(&out));
    }
}

#[test]
fn the_transaction_scoped_lock_mode_also_serializes_migrators() {
    if !strata::testkit::postgres_available() {
        return;
    }
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let children: Vec<Child> = (0..8)
        .map(|_| {
            migrate(&url, &[("STRATA_MIGRATION_LOCK", "transaction")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", text(&out));
    }
    let log = app_runner().history(connect(&db).as_mut()).unwrap();
    assert_eq!(log.iter().filter(|r| r.direction == Direction::Up).count(), 11);
}

#[test]
fn a_migration_stuck_behind_a_busy_table_fails_fast_and_rolls_back() {
    if !strata::testkit::postgres_available() {
        return;
    }
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let work = tempfile::tempdir().unwrap();
    let to = |rev: &str| {
        Command::new(BIN)
            .args(["upgrade", "--revision", rev])
            .current_dir(work.path())
            .env("DATABASE_URL", &url)
            .env("STRATA_ENV", "staging")
            .env("STRATA_LOCK_TIMEOUT", "1")
            .env_remove("RUST_LOG")
            .output()
            .expect("run")
    };
    assert!(to("ddcb1ae961ad").status.success());
    // Another session holds a lock on posts, which the next migration's foreign key needs.
    let mut blocker = connect(&db);
    blocker.begin().unwrap();
    blocker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE").unwrap();
    let started = Instant::now();
    let out = to("766dfe9292c9");
    assert!(started.elapsed() < Duration::from_secs(20), "it failed fast");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("lock timeout") && text(&out).contains("rolled back"), "{}", text(&out));
    blocker.rollback().unwrap();
    let tables: Vec<String> = schema(connect(&db).as_mut()).tables.into_keys().collect();
    assert!(!tables.contains(&"tags".to_string()), "the failed migration left nothing: {tables:?}");
    assert!(to("head").status.success(), "and it applies once the table is free");
}

static LONG_NAME: Migration = Migration {
    revision: "long1",
    parents: &[],
    message: "a table whose name PostgreSQL would truncate",
    created: "2026-11-24T00:00:00Z",
    // 32 characters, 64 bytes: too long for PostgreSQL although it looks short.
    upgrade: |op| {
        op.create_table(
            Table::new("éééééééééééééééééééééééééééééééé")
                .column(Column::new("id", Type::Integer).primary_key()),
        );
    },
    downgrade: |op| {
        op.drop_table("éééééééééééééééééééééééééééééééé");
    },
    file: "rlong1.rs",
    transactional: true,
    replaces: &[],
};
static BEFORE_LONG: Migration = Migration {
    revision: "long0",
    parents: &[],
    message: "an ordinary table",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("ordinary").column(Column::new("id", Type::Integer).primary_key()));
    },
    downgrade: |op| {
        op.drop_table("ordinary");
    },
    file: "rlong0.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn an_identifier_over_63_bytes_is_rejected_before_anything_runs() {
    if !strata::testkit::postgres_available() {
        return;
    }
    static LONG_AFTER: Migration = Migration { parents: &["long0"], ..LONG_NAME };
    let db = fresh_database(DialectKind::Postgres);
    let runner = Runner::new(MigrationSet::new(vec![&BEFORE_LONG, &LONG_AFTER]).unwrap());
    let err = runner.upgrade(connect(&db).as_mut(), &Target::Head).unwrap_err();
    assert!(matches!(&err, Error::IdentifierTooLong(long) if long.bytes == 64), "{err}");
    assert!(err.to_string().contains("64 bytes long; postgres keeps at most 63 bytes"), "{err}");
    assert!(schema(connect(&db).as_mut()).tables.is_empty(), "not even the first migration ran");
    // SQLite keeps long names whole.
    let lite = fresh_database(DialectKind::Sqlite);
    Runner::new(MigrationSet::new(vec![&LONG_NAME]).unwrap())
        .upgrade(connect(&lite).as_mut(), &Target::Head)
        .unwrap();
}

/// A `BEGIN EXCLUSIVE` holder also blocks readers, so the version read before the run's own
/// `BEGIN IMMEDIATE` waits too: that wait honours the migration lock timeout and ends in the
/// same clear message, naming the database.
#[test]
fn a_sqlite_begin_exclusive_holder_is_reported_like_any_lock_holder_within_the_timeout() {
    let db = fresh_database(DialectKind::Sqlite);
    let url = db.url.connection_string();
    let mut holder = connect(&db);
    holder.ensure_version_tables().unwrap();
    holder.execute("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let out = migrate(&url, &[("STRATA_MIGRATION_LOCK_TIMEOUT", "1")]).output().expect("run");
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let expected = format!("another migrator holds the migration lock on {}", db.url);
    assert!(text(&out).contains(&expected), "{}", text(&out));
    assert!(text(&out).contains("STRATA_MIGRATION_LOCK_TIMEOUT"), "{}", text(&out));
    assert!(elapsed < Duration::from_secs(3), "the 1 s timeout is honoured: {elapsed:?}");
    holder.rollback().unwrap();
    let out = migrate(&url, &[]).output().expect("run");
    assert!(out.status.success(), "once the holder is gone: {}", text(&out));
}
