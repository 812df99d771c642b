//! Through a real PgBouncer in transaction pooling mode (the testkit starts one in front of
//! its server): racing first deploys and read commands in the transaction lock mode, and the
//! default session lock mode, which must never leave its lock on a pooled server connection.

mod common;

use common::*;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use strata::backend::{DatabaseUrl, Direction};
use strata::ops::DialectKind;
use strata::runner::Runner;

const BIN: &str = env!("CARGO_BIN_EXE_strata-example");

fn app_runner() -> Runner {
    Runner::new(app_migrations::migrations().expect("registry"))
}

fn bounced(db: &TestDatabase) -> String {
    let bouncer = strata::testkit::pgbouncer().unwrap_or_else(|e| panic!("{e}"));
    bouncer.url_for(&db.url).connection_string()
}

fn cli(url: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env("DATABASE_URL", url).env("STRATA_ENV", "dev").env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn race(commands: Vec<Command>) -> Vec<Output> {
    let children: Vec<Child> = commands.into_iter().map(|mut c| c.spawn().expect("spawn")).collect();
    children.into_iter().map(|c| c.wait_with_output().expect("wait")).collect()
}

const TRANSACTION_LOCK: &[(&str, &str)] = &[("STRATA_MIGRATION_LOCK", "transaction")];

#[test]
fn sixteen_first_deploys_and_sixteen_readers_through_pgbouncer_all_succeed() {
    for round in 0..3 {
        let db = fresh_database(DialectKind::Postgres);
        let url = bounced(&db);
        let outputs = race((0..16).map(|_| cli(&url, &["upgrade"], TRANSACTION_LOCK)).collect());
        for out in &outputs {
            assert!(out.status.success(), "round {round}: a migrator failed: {}", text(out));
        }
        let log = app_runner().history(connect(&db).as_mut()).unwrap();
        let ups = log.iter().filter(|r| r.direction == Direction::Up).count();
        assert_eq!(ups, 11, "round {round}: every migration applied exactly once");

        let mut readers: Vec<Command> = Vec::new();
        for _ in 0..8 {
            readers.push(cli(&url, &["history", "--log"], TRANSACTION_LOCK));
            readers.push(cli(&url, &["current"], TRANSACTION_LOCK));
        }
        for out in race(readers) {
            assert!(out.status.success(), "round {round}: a reader failed: {}", text(&out));
        }
    }
}

/// Advisory locks held in the test's database, by anyone.
fn advisory_locks(db: &TestDatabase) -> Vec<String> {
    rows(
        connect(db).as_mut(),
        "SELECT pid::text FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
}

#[test]
fn the_session_lock_behind_pgbouncer_never_leaves_its_lock_behind() {
    for round in 0..3 {
        let db = fresh_database(DialectKind::Postgres);
        let url = bounced(&db);
        let outputs = race((0..16).map(|_| cli(&url, &["upgrade"], &[])).collect());
        let worked = outputs.iter().filter(|o| o.status.success()).count();
        eprintln!("round {round}: {worked} of 16 session-mode runs worked, the others named the pooler");
        for out in &outputs {
            let said = text(out);
            assert!(
                out.status.success() || said.contains("STRATA_MIGRATION_LOCK=transaction"),
                "round {round}: a session-mode run behind PgBouncer either works or says to use the \
                 transaction lock mode: {said}"
            );
        }
        // Nothing holds an advisory lock once every process has gone, not even an idle pooled
        // server connection, so a direct run does not wait.
        let started = Instant::now();
        while !advisory_locks(&db).is_empty() && started.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(advisory_locks(&db), Vec::<String>::new(), "round {round}: a lock was left behind");
        let DatabaseUrl::Postgres { url: direct } = &db.url else { unreachable!() };
        let out = cli(direct, &["upgrade"], &[("STRATA_MIGRATION_LOCK_TIMEOUT", "2")]).output().expect("run");
        assert!(out.status.success(), "round {round}: a direct run after them: {}", text(&out));
    }
}

#[test]
fn the_session_lock_mode_names_the_pooler_when_it_sees_one() {
    let db = fresh_database(DialectKind::Postgres);
    let url = bounced(&db);
    // Alone, with idle pooled server connections reused most recently first, the lock
    // connection and the main connection share a server session: a transaction pooler.
    let mut detected = 0;
    for _ in 0..3 {
        let out = cli(&url, &["upgrade", "--revision", "+1"], &[]).output().expect("run");
        if !out.status.success() {
            assert!(text(&out).contains("STRATA_MIGRATION_LOCK=transaction"), "{}", text(&out));
            detected += 1;
        }
    }
    assert!(detected > 0, "a lone session-mode run behind PgBouncer should notice the pooler");
    assert_eq!(advisory_locks(&db), Vec::<String>::new());
}

#[test]
fn timeouts_behind_pgbouncer_bound_each_migration_and_stay_off_the_pooled_sessions() {
    let db = fresh_database(DialectKind::Postgres);
    let url = bounced(&db);
    let staging: &[(&str, &str)] =
        &[("STRATA_MIGRATION_LOCK", "transaction"), ("STRATA_ENV", "staging"), ("STRATA_LOCK_TIMEOUT", "1")];
    let out = cli(&url, &["upgrade", "--revision", "ddcb1ae961ad"], staging).output().expect("run");
    assert!(out.status.success(), "{}", text(&out));
    // Another session holds posts, which the next migration alters.
    let mut blocker = connect(&db);
    blocker.begin().unwrap();
    blocker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE").unwrap();
    let started = Instant::now();
    let out = cli(&url, &["upgrade", "--revision", "766dfe9292c9"], staging).output().expect("run");
    let waited = started.elapsed();
    blocker.rollback().unwrap();
    assert_eq!(out.status.code(), Some(4), "the lock timeout stopped the migration: {}", text(&out));
    assert!(text(&out).contains("lock timeout"), "{}", text(&out));
    assert!(waited < Duration::from_secs(8), "bounded by the 1 s lock timeout, waited {waited:?}");
    // Nothing of the run stayed on the pooled server connections other clients get.
    for _ in 0..20 {
        let mut other = strata::backend::connect(&url.parse::<DatabaseUrl>().unwrap()).expect("connect");
        let setting = rows(other.as_mut(), "SHOW lock_timeout");
        assert_eq!(setting, ["\"0\""], "a pooled session kept strata's lock_timeout");
    }
    let out = cli(&url, &["upgrade"], staging).output().expect("run");
    assert!(out.status.success(), "once the table is free the rest applies: {}", text(&out));
}
