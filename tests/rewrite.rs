//! Lock-safe rewriting on a real PostgreSQL: a rewritten migration leaves valid indexes,
//! validated constraints, NOT NULL set and no temporary check; an INVALID index a failure left
//! is dropped and built again; a step blocked by a lock is retried until the blocker lets go,
//! and fails with a typed error when it never does; a migrator killed (SIGKILL) between or
//! during steps is resumed at the right step by the next upgrade.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use strata::backend::{Backend, BackendError};
use strata::graph::Target;
use strata::migration::{Migration, MigrationSet};
use strata::ops::{AlterColumn, Check, Column, DialectKind, ForeignKey, Index, Table, Unique};
use strata::rewrite::LockRetry;
use strata::runner::{Error, Rewriting, Runner};
use strata::types::Type;

static BASE: Migration = Migration {
    revision: "w1",
    parents: &[],
    message: "create owners and items",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("owners").column(Column::new("id", Type::Integer).primary_key()));
        op.create_table(
            Table::new("items")
                .column(Column::new("id", Type::Integer).primary_key())
                .column(Column::new("name", Type::Text).nullable())
                .column(Column::new("owner_id", Type::Integer).nullable()),
        );
        op.create_index(Index::new("ix_items_old", "items", ["owner_id"]));
        op.execute("INSERT INTO owners VALUES (1), (2); INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', NULL)");
    },
    downgrade: |op| {
        op.drop_table("items");
        op.drop_table("owners");
    },
    file: "rw1.rs",
    transactional: true,
    replaces: &[],
};
static SAFE: Migration = Migration {
    revision: "w2",
    parents: &["w1"],
    message: "every rewrite on items",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.create_index(Index::new("ix_items_name", "items", ["name"]));
        op.add_foreign_key("items", ForeignKey::new(["owner_id"], "owners", ["id"]).named("fk_items_owner"));
        op.alter_column("items", "name", AlterColumn::new().nullable(false));
        op.add_unique_constraint("items", Unique::new(["id", "name"]).named("uq_items_id_name"));
        op.add_check_constraint("items", Check::new("ck_items_name", "length(name) > 0"));
        op.drop_index("ix_items_old", "items");
    },
    downgrade: |op| {
        op.create_index(Index::new("ix_items_old", "items", ["owner_id"]));
        op.drop_constraint("items", "ck_items_name");
        op.drop_constraint("items", "uq_items_id_name");
        op.alter_column("items", "name", AlterColumn::new().nullable(true));
        op.drop_constraint("items", "fk_items_owner");
        op.drop_index("ix_items_name", "items");
    },
    file: "rw2.rs",
    transactional: true,
    replaces: &[],
};
static OWNER_INDEX: Migration = Migration {
    revision: "w3",
    parents: &["w2"],
    message: "index owners",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.create_index(Index::new("ix_owners_id", "owners", ["id"]));
    },
    downgrade: |op| {
        op.drop_index("ix_owners_id", "owners");
    },
    file: "rw3.rs",
    transactional: true,
    replaces: &[],
};

fn set() -> MigrationSet {
    MigrationSet::new(vec![&BASE, &SAFE, &OWNER_INDEX]).unwrap()
}

fn retry(first_ms: u64, max_ms: u64, total_ms: u64) -> LockRetry {
    LockRetry {
        first: Duration::from_millis(first_ms),
        max: Duration::from_millis(max_ms),
        total: Duration::from_millis(total_ms),
    }
}

fn runner(rewrite: bool, retry: LockRetry) -> Runner {
    Runner::new(set()).with_rewrite(Rewriting::new(rewrite).with_retry(retry))
}

/// The rows of `sql`, text values unquoted, joined by commas.
fn one(conn: &mut dyn Backend, sql: &str) -> String {
    rows(conn, sql).iter().map(|r| r.replace('"', "")).collect::<Vec<_>>().join(",")
}

/// What w2 must leave: a valid index, validated constraints, NOT NULL, no temporary check.
fn assert_w2_applied(conn: &mut dyn Backend) {
    assert_eq!(
        one(conn, "SELECT i.indisvalid::text || '/' || i.indisunique::text FROM pg_index i WHERE i.indexrelid = 'ix_items_name'::regclass"),
        "true/false"
    );
    assert_eq!(
        one(conn, "SELECT conname || '=' || convalidated::text FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype IN ('f', 'c', 'u') ORDER BY conname"),
        "ck_items_name=true,fk_items_owner=true,uq_items_id_name=true"
    );
    assert_eq!(one(conn, "SELECT attnotnull::text FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'name'"), "true");
    assert_eq!(one(conn, "SELECT count(*)::text FROM pg_class WHERE relname = 'ix_items_old'"), "0");
    assert_eq!(
        one(conn, "SELECT count(*)::text FROM pg_index WHERE NOT indisvalid"),
        "0",
        "no INVALID index left"
    );
}

fn history(conn: &mut dyn Backend, revision: &str) -> Vec<String> {
    let sql = format!("SELECT direction FROM strata_history WHERE revision = '{revision}' ORDER BY id");
    rows(conn, &sql).iter().map(|r| r.replace('"', "")).collect()
}

/// The version row as `<revision> <marker>`, a step marker's plan fingerprint
/// (`@<16 hex digits>`, checked here) left off.
fn version(conn: &mut dyn Backend) -> String {
    let raw = raw_version(conn);
    match raw.split_once('@') {
        Some((marker, fingerprint)) => {
            assert!(fingerprint.len() == 16 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()), "{raw}");
            marker.to_string()
        }
        None => raw,
    }
}

/// The version row as `<revision> <marker>`, exactly.
fn raw_version(conn: &mut dyn Backend) -> String {
    one(conn, "SELECT coalesce(revision, '-') || ' ' || coalesce(dirty, '-') FROM strata_version")
}

#[test]
fn a_rewritten_migration_validates_everything_and_records_once() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    let conn = conn.as_mut();
    let report =
        runner(true, LockRetry::default()).upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 3);
    assert_w2_applied(conn);
    assert_eq!(
        one(conn, "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_owners_id'::regclass"),
        "true"
    );
    assert_eq!(version(conn), "w3 -");
    assert_eq!(history(conn, "w2"), ["started", "upgrade"]);
    assert_eq!(history(conn, "w3"), ["started", "upgrade"]);
    assert_eq!(history(conn, "w1"), ["upgrade"], "a plain migration keeps its one row");
    // Downgrades are rewritten too (drop_index concurrently, ...), and upgrades again.
    let r = runner(true, LockRetry::default());
    r.downgrade(conn, &Target::Revision("w1".into())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(version(conn), "w1 -");
    assert_eq!(one(conn, "SELECT count(*)::text FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype IN ('f', 'c', 'u')"), "0");
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_w2_applied(conn);
}

#[test]
fn an_invalid_index_left_by_a_failure_is_dropped_and_built_again() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    let conn = conn.as_mut();
    let r = runner(true, LockRetry::default());
    r.upgrade(conn, &Target::Revision("w1".into())).unwrap();
    // A failed CREATE UNIQUE INDEX CONCURRENTLY (duplicates) leaves an INVALID index.
    exec(conn, "INSERT INTO items VALUES (4, 'a', NULL)");
    assert!(conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_items_name ON items (name)").is_err());
    assert_eq!(
        one(conn, "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_items_name'::regclass"),
        "false"
    );
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_w2_applied(conn);
}

#[test]
fn a_blocked_step_is_retried_until_the_blocker_lets_go_and_fails_typed_when_it_never_does() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Revision("w2".into())).unwrap();

    // Released after a second: the retries get through.
    let mut blocker = connect(&db);
    exec(blocker.as_mut(), "BEGIN; LOCK TABLE owners IN ACCESS EXCLUSIVE MODE");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1000));
        exec(blocker.as_mut(), "COMMIT");
    });
    let started = Instant::now();
    runner(true, retry(50, 200, 20_000))
        .upgrade(conn.as_mut(), &Target::Head)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited for the blocker");
    release.join().unwrap();
    assert_eq!(version(conn.as_mut()), "w3 -");

    // Never released: a typed error after the bound, and the database says where to resume.
    runner(false, LockRetry::default()).downgrade(conn.as_mut(), &Target::Revision("w2".into())).unwrap();
    let mut blocker = connect(&db);
    exec(blocker.as_mut(), "BEGIN; LOCK TABLE owners IN ACCESS EXCLUSIVE MODE");
    let err = runner(true, retry(50, 100, 800)).upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    let Error::LockRetries(details) = &err else { panic!("{err}") };
    assert_eq!((details.revision.as_str(), details.step, details.steps), ("w3", 1, 1));
    assert!(details.attempts >= 3, "{err}");
    let text = err.to_string();
    for part in [
        "w3",
        "step 1 of 1",
        "55P03",
        "CREATE INDEX CONCURRENTLY \"ix_owners_id\"",
        "Remedy",
        "STRATA_REWRITE_RETRY_TOTAL",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert_eq!(version(conn.as_mut()), "w2 upgrade:w3#0");
    exec(blocker.as_mut(), "COMMIT");
    runner(true, LockRetry::default())
        .upgrade(conn.as_mut(), &Target::Head)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(version(conn.as_mut()), "w3 -");
    let h = history(conn.as_mut(), "w3");
    assert_eq!(&h[h.len() - 2..], ["started", "upgrade"], "one started row for the resumed run: {h:?}");
}

/// The child side of the SIGKILL trials: upgrades `STRATA_REWRITE_CHILD` with rewriting on and
/// patient retries, until it is killed. Does nothing in an ordinary test run.
#[test]
fn sigkill_child() {
    let Ok(url) = std::env::var("STRATA_REWRITE_CHILD") else { return };
    let mut conn = strata::backend::connect(&url.parse().unwrap()).unwrap();
    let _ = runner(true, retry(100, 200, 600_000)).upgrade(conn.as_mut(), &Target::Head);
}

fn spawn_child(db: &TestDatabase) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigkill_child", "--nocapture", "--test-threads=1"])
        .env("STRATA_REWRITE_CHILD", db.url.connection_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Polls `sql` on `conn` until it answers `want`, for at most 30 s.
fn wait_for(conn: &mut dyn Backend, sql: &str, want: &str) {
    let started = Instant::now();
    loop {
        if one(conn, sql) == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{sql} never answered {want}: {}",
            one(conn, sql)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_migrator_killed_between_steps_is_resumed_at_the_next_step() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Revision("w1".into())).unwrap();
    // Step 2 of w2 (ADD FOREIGN KEY ... NOT VALID) needs a lock on owners.
    let mut blocker = connect(&db);
    exec(blocker.as_mut(), "BEGIN; LOCK TABLE owners IN ACCESS EXCLUSIVE MODE");
    let mut child = spawn_child(&db);
    wait_for(
        conn.as_mut(),
        "SELECT split_part(coalesce(dirty, '-'), '@', 1) FROM strata_version",
        "upgrade:w2#1",
    );
    // Let it retry a few times, then kill it while it waits.
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    exec(blocker.as_mut(), "COMMIT");

    assert_eq!(version(conn.as_mut()), "w1 upgrade:w2#1");
    assert_eq!(
        one(
            conn.as_mut(),
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_items_name'::regclass"
        ),
        "true"
    );
    assert_eq!(
        one(conn.as_mut(), "SELECT count(*)::text FROM pg_constraint WHERE conname = 'fk_items_owner'"),
        "0"
    );
    let err = conn.current_revision().unwrap_err();
    assert!(matches!(err, BackendError::InProgress { done: 1, .. }), "{err}");
    assert!(err.to_string().contains("resume at step 2"), "{err}");
    // validate warns, it does not refuse.
    let s = set();
    let validation =
        strata::validate::validate(Ok(&s), strata::config::Environment::Prod, &db.url, Ok(conn.as_mut()));
    assert!(!validation.is_error(), "{validation:?}");

    let r = runner(true, LockRetry::default());
    let pending: Vec<&str> = r.pending(conn.as_mut()).unwrap().iter().map(|m| m.revision).collect();
    assert_eq!(pending, ["w2", "w3"], "the interrupted migration is still pending");
    let err = r.downgrade(conn.as_mut(), &Target::Base).unwrap_err();
    assert!(matches!(err, Error::Unfinished { done: 1, .. }), "{err}");

    // Start-up in staging (rewriting on by default there) validates with a warning and resumes.
    let dir = tempfile::tempdir().unwrap();
    let overrides = strata::config::Overrides {
        env: Some("staging".into()),
        database_url: Some(db.url.connection_string()),
        config_file: None,
    };
    let settings = strata::config::Settings::load(&overrides, dir.path()).unwrap();
    assert!(settings.rewrite, "on by default in staging");
    let manager = strata::MigrationManager::new(set(), settings);
    let report = manager.start_up(&mut strata::runner::Quiet).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.applied.len(), 2);
    assert_w2_applied(conn.as_mut());
    assert_eq!(version(conn.as_mut()), "w3 -");
    assert_eq!(history(conn.as_mut(), "w2"), ["started", "upgrade"]);
}

#[test]
fn a_migrator_killed_during_create_index_concurrently_is_resumed_and_the_invalid_index_rebuilt() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Revision("w2".into())).unwrap();
    // A transaction that wrote to owners: CREATE INDEX CONCURRENTLY creates its (INVALID)
    // index, then waits for it.
    let mut blocker = connect(&db);
    exec(blocker.as_mut(), "BEGIN; UPDATE owners SET id = id");
    let mut child = spawn_child(&db);
    wait_for(
        conn.as_mut(),
        "SELECT split_part(coalesce(dirty, '-'), '@', 1) FROM strata_version",
        "upgrade:w3#0",
    );
    let started = Instant::now();
    while one(conn.as_mut(), "SELECT count(*)::text FROM pg_index WHERE indexrelid = to_regclass('ix_owners_id') AND NOT indisvalid") != "1"
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let invalid_seen = started.elapsed() < Duration::from_secs(10);
    child.kill().unwrap();
    child.wait().unwrap();
    exec(blocker.as_mut(), "COMMIT");
    assert!(invalid_seen, "the killed CREATE INDEX CONCURRENTLY had left an INVALID index");

    assert_eq!(version(conn.as_mut()), "w2 upgrade:w3#0");
    runner(true, LockRetry::default())
        .upgrade(conn.as_mut(), &Target::Head)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        one(
            conn.as_mut(),
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_owners_id'::regclass"
        ),
        "true"
    );
    assert_eq!(one(conn.as_mut(), "SELECT count(*)::text FROM pg_index WHERE NOT indisvalid"), "0");
    assert_eq!(version(conn.as_mut()), "w3 -");
    assert_eq!(history(conn.as_mut(), "w3"), ["started", "upgrade"]);
}

/// A fresh database `name` on the throwaway server of PostgreSQL `major` (the npm package's
/// binaries where Debian has none: testkit::server_of_major).
fn database_of_major(major: u32, name: &str) -> Box<dyn Backend> {
    let server = strata::testkit::server_of_major(major).unwrap_or_else(|e| panic!("{e}"));
    let mut admin = strata::backend::connect(&server.url.parse().unwrap()).unwrap();
    admin.execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    admin.execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (server_part, _) = server.url.rsplit_once('/').unwrap();
    strata::backend::connect(&format!("{server_part}/{name}").parse().unwrap()).unwrap()
}

#[test]
fn postgres_11_refuses_the_not_null_rewrite_before_any_of_the_migration_runs() {
    // A real PostgreSQL 11: the NOT NULL rewrite needs a validated CHECK to skip the scan (12+).
    let mut conn = database_of_major(11, "rewrite_pg11");
    let err = runner(true, LockRetry::default()).upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Rewrite(_)), "{err:?}");
    assert!(text.contains("w2") && text.contains("server is too old for this rewrite"), "{text}");
    assert!(text.contains("PostgreSQL 11") && text.contains("STRATA_REWRITE=off"), "{text}");
    // w1 ran (it creates its tables: nothing to rewrite); nothing of w2 did.
    assert_eq!(version(conn.as_mut()), "w1 -");
    assert_eq!(
        one(conn.as_mut(), "SELECT count(*)::text FROM pg_class WHERE relname = 'ix_items_name'"),
        "0"
    );
    assert_eq!(
        one(conn.as_mut(), "SELECT count(*)::text FROM pg_constraint WHERE conname = 'fk_items_owner'"),
        "0"
    );
    // As written (rewriting off), the same server applies it.
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Head).unwrap();
    assert_eq!(version(conn.as_mut()), "w3 -");
}

#[test]
fn a_server_older_than_the_lock_facts_refuses_rewriting_and_runs_nothing() {
    // PostgreSQL 10 (the npm package's): older than PgMajor::OLDEST.
    let mut conn = database_of_major(10, "rewrite_pg10");
    let err = runner(true, LockRetry::default()).upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("PostgreSQL 10, older than 11") && text.contains("STRATA_REWRITE=off"), "{text}");
    assert_eq!(
        one(conn.as_mut(), "SELECT count(*)::text FROM pg_class WHERE relname IN ('owners', 'items')"),
        "0"
    );
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Head).unwrap();
    assert_eq!(version(conn.as_mut()), "w3 -");
}

/// The offline script of a rewrite: the same steps, boundaries as comments, each step
/// recorded; psql runs it (the INVALID index cleanup through `\gexec`) to the same schema and
/// history as an online rewritten run.
#[test]
fn the_offline_script_runs_the_same_steps_and_cleans_an_invalid_index() {
    use strata::offline::{self, Options};
    let options = Options {
        lock_facts: Some(strata::locks::PgMajor::new(15).unwrap()),
        rewrite: Some(strata::rewrite::RewriteOptions::on()),
        ..Options::default()
    };
    let sql = |from: &str| {
        let rendered = offline::render(
            &set(),
            DialectKind::Postgres,
            strata::backend::Direction::Up,
            &Target::Revision(from.into()),
            &Target::Head,
            &options,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        offline::script(&rendered)
    };
    let script = sql("w1");
    // Times are the server's at apply time; checksums are stable: the text is stable.
    insta::assert_snapshot!("offline_rewritten_w2_w3", script);

    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Revision("w1".into())).unwrap();
    exec(conn.as_mut(), "INSERT INTO items VALUES (4, 'a', NULL)");
    assert!(conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_items_name ON items (name)").is_err());
    exec(conn.as_mut(), "DELETE FROM items WHERE id = 4");
    psql(&db, &script);
    assert_w2_applied(conn.as_mut());
    assert_eq!(version(conn.as_mut()), "w3 -");
    let online_db = fresh_database(DialectKind::Postgres);
    let mut online = connect(&online_db);
    runner(true, LockRetry::default()).upgrade(online.as_mut(), &Target::Head).unwrap();
    assert_eq!(schema(conn.as_mut()), schema(online.as_mut()), "the same schema as online");
    for revision in ["w1", "w2", "w3"] {
        assert_eq!(history(conn.as_mut(), revision), history(online.as_mut(), revision), "{revision}");
    }
}

/// Runs `script` with psql, stopping at the first error.
fn psql(db: &TestDatabase, script: &str) {
    psql_with(db, script, "-c client_min_messages=warning")
}

/// Runs `script` with psql, the session started with `options` (PGOPTIONS).
fn psql_with(db: &TestDatabase, script: &str, options: &str) {
    use std::io::Write;
    let mut child = Command::new("/usr/bin/psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(db.url.connection_string())
        .env("PGOPTIONS", options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql");
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "the script failed: {}{}\n{script}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Random SIGKILL trials on the example history with rewriting on (the example binary, as in
/// tests/crash.rs): after each kill the version table is either a revision whose schema the
/// database has exactly, or a rewritten migration in progress; either way a rerun completes
/// at head with the reference schema and one `started` row per rewritten migration.
#[test]
fn killed_rewritten_runs_of_the_example_history_resume_to_the_same_head() {
    const BIN: &str = env!("CARGO_BIN_EXE_strata-example");
    let trials: u64 = std::env::var("STRATA_REWRITE_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let set = app_migrations::migrations().unwrap();
    let reference = Runner::new(set.clone());
    let (_ref_db, mut ref_conn) = open(DialectKind::Postgres);
    let mut expected = std::collections::HashMap::from([(None, schema(ref_conn.as_mut()))]);
    for m in set.migrations() {
        reference.upgrade(ref_conn.as_mut(), &Target::Revision(m.revision.into())).unwrap();
        expected.insert(Some(m.revision.to_string()), schema(ref_conn.as_mut()));
    }
    let head = Some(set.head().unwrap().revision.to_string());
    let upgrade = |url: &str| {
        let mut command = Command::new(BIN);
        command.arg("upgrade").env("DATABASE_URL", url).env("STRATA_REWRITE", "on").env_remove("RUST_LOG");
        command
    };
    let db = fresh_database(DialectKind::Postgres);
    let started = Instant::now();
    assert!(upgrade(&db.url.connection_string()).output().unwrap().status.success());
    let window = (started.elapsed().as_micros() as u64).max(1000);
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64);
    eprintln!("{trials} rewritten crash trials, seed {seed}, window {window} µs");
    let mut in_progress = 0;
    for trial in 0..trials {
        let db = fresh_database(DialectKind::Postgres);
        let url = db.url.connection_string();
        let mut child = upgrade(&url).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let at = seed.wrapping_mul(6364136223846793005).wrapping_add(trial.wrapping_mul(1442695040888963407));
        // The first part of the window is process start and connecting: kills land after it.
        std::thread::sleep(Duration::from_micros(window * 2 / 5 + (at >> 33) % (window * 3 / 5)));
        child.kill().ok();
        child.wait().unwrap();
        let mut conn = connect(&db);
        let others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
        let waited = Instant::now();
        while rows(conn.as_mut(), others) != ["0"] {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "trial {trial}: the killed run's sessions linger"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        match conn.current_revision() {
            Ok(at) => {
                assert_eq!(schema(conn.as_mut()), expected[&at], "trial {trial} (seed {seed}) at {at:?}")
            }
            Err(BackendError::InProgress { .. }) => in_progress += 1,
            Err(e) => panic!("trial {trial} (seed {seed}): {e}"),
        }
        let rerun = upgrade(&url).output().unwrap();
        assert!(
            rerun.status.success(),
            "trial {trial} (seed {seed}): {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        assert_eq!(schema(conn.as_mut()), expected[&head], "trial {trial} (seed {seed})");
        assert_eq!(conn.current_revision().unwrap(), head);
        let started = rows(conn.as_mut(), "SELECT revision FROM strata_history WHERE direction = 'started' GROUP BY revision HAVING count(*) > 1");
        assert!(started.is_empty(), "trial {trial}: a migration was started twice: {started:?}");
    }
    eprintln!("{trials} trials, {in_progress} killed between or during rewritten steps; all resumed");
}

#[test]
fn a_step_that_fails_keeps_the_steps_before_it_and_the_next_run_resumes_once_fixed() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    let r = runner(true, LockRetry::default());
    r.upgrade(conn.as_mut(), &Target::Revision("w1".into())).unwrap();
    // An orphan: the foreign key's VALIDATE (step 3) fails.
    exec(conn.as_mut(), "INSERT INTO items VALUES (9, 'z', 99)");
    let err = r.upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    let Error::Migration(failure) = &err else { panic!("{err}") };
    assert_eq!(
        (failure.revision.as_str(), failure.steps, failure.transactional),
        ("w2", Some((2, 10)), false)
    );
    let text = err.to_string();
    for part in [
        "VALIDATE CONSTRAINT \"fk_items_owner\"",
        "rewritten lock-safely into 10 steps",
        "2 of them are committed",
        "resumes at step 3",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert_eq!(version(conn.as_mut()), "w1 upgrade:w2#2");
    exec(conn.as_mut(), "DELETE FROM items WHERE id = 9");
    // Resumed in steps even with rewriting off now (running it whole would repeat steps 1-2);
    // the migrations after it run as written.
    runner(false, LockRetry::default())
        .upgrade(conn.as_mut(), &Target::Head)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(history(conn.as_mut(), "w3"), ["upgrade"], "w3 ran as written");
    assert_w2_applied(conn.as_mut());
    assert_eq!(history(conn.as_mut(), "w2"), ["started", "upgrade"]);
}

// Hostile names: quotes, spaces, uppercase, non-ASCII, on a table of the same kind.
const HOSTILE_TABLE: &str = "Wé\"ird T";
const HOSTILE_INDEX: &str = "Ix \"Q\" é";

static HOSTILE_BASE: Migration = Migration {
    revision: "h1",
    parents: &[],
    message: "a table with a hostile name",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new(HOSTILE_TABLE)
                .column(Column::new("id", Type::Integer).primary_key())
                .column(Column::new("Na me", Type::Text).nullable()),
        );
        op.execute("INSERT INTO \"Wé\"\"ird T\" VALUES (1, 'a'), (2, 'a')");
    },
    downgrade: |op| {
        op.drop_table(HOSTILE_TABLE);
    },
    file: "h1.rs",
    transactional: true,
    replaces: &[],
};
static HOSTILE_INDEXED: Migration = Migration {
    revision: "h2",
    parents: &["h1"],
    message: "index it",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.create_index(Index::new(HOSTILE_INDEX, HOSTILE_TABLE, ["Na me"]));
    },
    downgrade: |op| {
        op.drop_index(HOSTILE_INDEX, HOSTILE_TABLE);
    },
    file: "h2.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn the_invalid_index_cleanup_drops_only_the_index_on_its_table_never_a_namesake_in_another_schema() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    let conn = conn.as_mut();
    let r = Runner::new(MigrationSet::new(vec![&HOSTILE_BASE, &HOSTILE_INDEXED]).unwrap())
        .with_rewrite(Rewriting::new(true));
    r.upgrade(conn, &Target::Revision("h1".into())).unwrap_or_else(|e| panic!("{e}"));
    // Someone else's INVALID index of the same name in a schema earlier on the search_path
    // (a failed build of theirs, or one still running), and the migration's own INVALID
    // index that a failed run left on its table.
    exec(conn, "CREATE SCHEMA other; CREATE TABLE other.t (x int); INSERT INTO other.t VALUES (1), (1)");
    assert!(conn.execute("CREATE UNIQUE INDEX CONCURRENTLY \"Ix \"\"Q\"\" é\" ON other.t (x)").is_err());
    assert!(conn
        .execute("CREATE UNIQUE INDEX CONCURRENTLY \"Ix \"\"Q\"\" é\" ON public.\"Wé\"\"ird T\" (\"Na me\")")
        .is_err());
    let invalid = "SELECT n.nspname || '=' || i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'Ix \"Q\" é' ORDER BY 1";
    assert_eq!(one(conn, invalid), "other=false,public=false");
    exec(conn, "SET search_path = other, public");
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one(conn, invalid), "other=false,public=true", "the other schema's index is untouched");
    assert_eq!(
        one(
            conn,
            "SELECT indisunique::text FROM pg_index WHERE indexrelid = 'public.\"Ix \"\"Q\"\" é\"'::regclass"
        ),
        "false",
        "rebuilt as the migration says (not unique)"
    );
}

/// w2 as edited after an interrupted run: one more index first, so it stages into 11 steps.
static SAFE_EDITED: Migration = Migration {
    revision: "w2",
    parents: &["w1"],
    message: "every rewrite on items",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.create_index(Index::new("ix_items_owner", "items", ["owner_id"]));
        (SAFE.upgrade)(op);
    },
    downgrade: SAFE.downgrade,
    file: "rw2.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn a_migration_edited_while_interrupted_is_not_resumed_at_the_old_step_count() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    let r = runner(true, LockRetry::default());
    r.upgrade(conn.as_mut(), &Target::Revision("w1".into())).unwrap();
    // An orphan: the foreign key's VALIDATE (step 3) fails, 2 steps are done.
    exec(conn.as_mut(), "INSERT INTO items VALUES (9, 'z', 99)");
    r.upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    let marker = raw_version(conn.as_mut());
    assert!(marker.starts_with("w1 upgrade:w2#2@"), "{marker}");
    exec(conn.as_mut(), "DELETE FROM items WHERE id = 9");
    // The migration edited meanwhile: its step 3 is now another statement. Resuming at step
    // 3 would skip the foreign key's NOT VALID step (or repeat one): refused, nothing run.
    let edited = MigrationSet::new(vec![&BASE, &SAFE_EDITED, &OWNER_INDEX]).unwrap();
    for rewrite in [true, false] {
        let err = Runner::new(edited.clone())
            .with_rewrite(Rewriting::new(rewrite))
            .upgrade(conn.as_mut(), &Target::Head)
            .unwrap_err();
        assert!(matches!(err, Error::ResumeMismatch { done: 2, steps: 11, .. }), "{err}");
        let text = err.to_string();
        for part in ["w2", "2 steps done", "no longer stages", "Restore the migration", "resolve w2"] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert_eq!(raw_version(conn.as_mut()), marker, "nothing ran");
    }
    assert_eq!(
        one(conn.as_mut(), "SELECT count(*)::text FROM pg_class WHERE relname = 'ix_items_owner'"),
        "0"
    );
    // The migration as it was resumes.
    r.upgrade(conn.as_mut(), &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_w2_applied(conn.as_mut());
}

#[test]
fn a_zero_lock_retry_still_times_out_instead_of_waiting_forever() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Revision("w2".into())).unwrap();
    let mut blocker = connect(&db);
    exec(blocker.as_mut(), "BEGIN; LOCK TABLE owners IN ACCESS EXCLUSIVE MODE");
    // A safety net for the old behaviour (lock_timeout = 0 waits forever): a statement timeout
    // is another error than a lock timeout.
    exec(conn.as_mut(), "SET statement_timeout = 10000");
    let started = Instant::now();
    let zero = LockRetry { first: Duration::ZERO, max: Duration::ZERO, total: Duration::from_millis(300) };
    let err = runner(true, zero).upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    assert!(matches!(err, Error::LockRetries(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    exec(blocker.as_mut(), "COMMIT");
}

/// A reason written to break out of a string literal where a backslash escapes a quote.
const HOSTILE_REASON: &str = "it's tiny \\'); DROP TABLE owners; --\nsecond line \"quoted\" é";

static HOSTILE_ACK: Migration = Migration {
    revision: "w2",
    parents: &["w1"],
    message: "index items \\'); DROP TABLE items; --",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.create_index(Index::new("ix_items_name", "items", ["name"]));
        op.allow("S013", HOSTILE_REASON);
    },
    downgrade: |op| {
        op.drop_index("ix_items_name", "items");
    },
    file: "rw2.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn an_offline_script_keeps_hostile_reasons_and_messages_literal_whatever_the_session_quoting() {
    use strata::offline::{self, Options};
    let set = MigrationSet::new(vec![&BASE, &HOSTILE_ACK]).unwrap();
    for rewrite in [None, Some(strata::rewrite::RewriteOptions::on())] {
        let options = Options { rewrite: rewrite.clone(), ..Options::default() };
        let rendered = offline::render(
            &set,
            DialectKind::Postgres,
            strata::backend::Direction::Up,
            &Target::Base,
            &Target::Head,
            &options,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let script = offline::script(&rendered);
        let db = fresh_database(DialectKind::Postgres);
        // A role or database set to the old quoting: a backslash escapes the next character.
        psql_with(
            &db,
            &script,
            "-c client_min_messages=error -c standard_conforming_strings=off -c escape_string_warning=off",
        );
        let mut conn = connect(&db);
        let conn = conn.as_mut();
        assert_eq!(
            one(conn, "SELECT count(*)::text FROM pg_class WHERE relname IN ('owners', 'items')"),
            "2"
        );
        let history = conn.history().unwrap();
        let row = history.iter().rev().find(|r| r.revision == "w2").unwrap();
        let reason = HOSTILE_REASON.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(row.acknowledgements(), [("S013", reason.as_str())], "rewrite {}", rewrite.is_some());
        assert_eq!(row.message, HOSTILE_ACK.message);
    }
}

#[test]
fn an_interrupted_rewritten_migration_is_resumed_only_under_the_run_lock() {
    use strata::runner::LockMode;
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    let r = runner(true, LockRetry::default());
    r.upgrade(conn.as_mut(), &Target::Revision("w1".into())).unwrap();
    exec(conn.as_mut(), "INSERT INTO items VALUES (9, 'z', 99)");
    r.upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    exec(conn.as_mut(), "DELETE FROM items WHERE id = 9");
    let marker = raw_version(conn.as_mut());
    // Two migrators behind a transaction pooler would both resume: refused, nothing run.
    for rewrite in [true, false] {
        let err = runner(rewrite, LockRetry::default())
            .with_lock(LockMode::Transaction, Duration::from_secs(5))
            .upgrade(conn.as_mut(), &Target::Head)
            .unwrap_err();
        assert!(matches!(err, Error::ResumeWithoutRunLock { done: 2, .. }), "{err}");
        assert!(err.to_string().contains("STRATA_MIGRATION_LOCK=session"), "{err}");
        assert_eq!(raw_version(conn.as_mut()), marker, "nothing ran");
    }
    r.upgrade(conn.as_mut(), &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_w2_applied(conn.as_mut());
}

#[test]
fn the_not_null_rewrite_on_postgres_18_whose_not_null_constraints_share_the_check_name() {
    // PostgreSQL 18 catalogs NOT NULL as a constraint named <table>_<column>_not_null. The
    // rewrite's temporary check is dropped, NOT NULL stays, under its own name.
    let mut conn = database_of_major(18, "strata_rewrite_pg18");
    let conn = conn.as_mut();
    let r = runner(true, LockRetry::default());
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_w2_applied(conn);
    assert_eq!(
        one(conn, "SELECT count(*)::text FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'c' AND conname LIKE '%not_null%'"),
        "0",
        "no temporary check left"
    );
    r.downgrade(conn, &Target::Revision("w1".into())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one(conn, "SELECT attnotnull::text FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'name'"), "false");
    // Twice: a NOT NULL constraint of a former run must not collide either.
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_w2_applied(conn);
}

static NOT_NULL_BY_HAND: Migration = Migration {
    revision: "n2",
    parents: &["w1"],
    message: "name set NOT NULL by hand",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.execute("UPDATE items SET name = 'x' WHERE name IS NULL; ALTER TABLE items ALTER COLUMN name SET NOT NULL");
    },
    downgrade: |op| {
        op.execute("ALTER TABLE items ALTER COLUMN name DROP NOT NULL");
    },
    file: "n2.rs",
    transactional: true,
    replaces: &[],
};
static NOT_NULL_AGAIN: Migration = Migration {
    revision: "n3",
    parents: &["n2"],
    message: "name NOT NULL, typed",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.alter_column("items", "name", AlterColumn::new().nullable(false));
    },
    downgrade: |op| {
        op.alter_column("items", "name", AlterColumn::new().nullable(true));
    },
    file: "n3.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn the_temporary_not_null_check_never_collides_with_a_postgres_18_not_null_constraint() {
    // A column made NOT NULL where the schema model cannot see it (raw SQL, a stamped legacy
    // database): on PostgreSQL 18 it has a constraint named <table>_<column>_not_null.
    let mut conn = database_of_major(18, "strata_rewrite_pg18_nn");
    let conn = conn.as_mut();
    let set = MigrationSet::new(vec![&BASE, &NOT_NULL_BY_HAND, &NOT_NULL_AGAIN]).unwrap();
    let r = Runner::new(set).with_rewrite(Rewriting::new(true));
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one(conn, "SELECT attnotnull::text FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'name'"), "true");
    assert_eq!(
        one(
            conn,
            "SELECT count(*)::text FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'c'"
        ),
        "0",
        "no temporary check left"
    );
    assert_eq!(
        one(conn, "SELECT conname FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'n' AND conname LIKE 'items_name%'"),
        "items_name_not_null",
        "PostgreSQL 18's own name for the NOT NULL constraint"
    );
}

static HOSTILE_CONSTRAINTS: Migration = Migration {
    revision: "h3",
    parents: &["h2"],
    message: "every rewrite on hostile names",
    created: "2026-12-01T00:00:00Z",
    upgrade: |op| {
        op.execute("UPDATE \"Wé\"\"ird T\" SET \"Na me\" = 'b' WHERE id = 2");
        op.alter_column(HOSTILE_TABLE, "Na me", AlterColumn::new().nullable(false));
        op.add_unique_constraint(HOSTILE_TABLE, Unique::new(["Na me"]).named("Uq \"X\" é"));
        op.add_check_constraint(HOSTILE_TABLE, Check::new("Ck 'Y'", "length(\"Na me\") > 0"));
        op.add_foreign_key(HOSTILE_TABLE, ForeignKey::new(["id"], HOSTILE_TABLE, ["id"]).named("Fk \"Z\""));
        op.drop_index(HOSTILE_INDEX, HOSTILE_TABLE);
    },
    downgrade: |op| {
        op.create_index(Index::new(HOSTILE_INDEX, HOSTILE_TABLE, ["Na me"]));
        op.drop_constraint(HOSTILE_TABLE, "Fk \"Z\"");
        op.drop_constraint(HOSTILE_TABLE, "Ck 'Y'");
        op.drop_constraint(HOSTILE_TABLE, "Uq \"X\" é");
        op.alter_column(HOSTILE_TABLE, "Na me", AlterColumn::new().nullable(true));
    },
    file: "h3.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn every_rewrite_quotes_hostile_names_up_and_down() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    let conn = conn.as_mut();
    let r =
        Runner::new(MigrationSet::new(vec![&HOSTILE_BASE, &HOSTILE_INDEXED, &HOSTILE_CONSTRAINTS]).unwrap())
            .with_rewrite(Rewriting::new(true));
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    let constraints =
        "SELECT count(*)::text FROM pg_constraint WHERE conrelid = '\"Wé\"\"ird T\"'::regclass \
                       AND contype IN ('c', 'f', 'u') AND convalidated \
                       AND conname IN ('Ck ''Y''', 'Fk \"Z\"', 'Uq \"X\" é')";
    assert_eq!(one(conn, constraints), "3", "each under its exact name, validated");
    assert_eq!(one(conn, "SELECT count(*)::text FROM pg_index WHERE NOT indisvalid"), "0");
    r.downgrade(conn, &Target::Revision("h2".into())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one(conn, constraints), "0");
    r.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_resumed_create_index_if_not_exists_skipped_by_a_namesake_on_another_table_fails() {
    let db = fresh_database(DialectKind::Postgres);
    let mut conn = connect(&db);
    runner(false, LockRetry::default()).upgrade(conn.as_mut(), &Target::Revision("w2".into())).unwrap();
    // w3's CREATE INDEX CONCURRENTLY never gets its lock: marked started (#0), not done.
    let mut blocker = connect(&db);
    exec(blocker.as_mut(), "BEGIN; LOCK TABLE owners IN ACCESS EXCLUSIVE MODE");
    let err = runner(true, retry(20, 50, 200)).upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    assert!(matches!(err, Error::LockRetries(_)), "{err}");
    exec(blocker.as_mut(), "COMMIT");
    assert_eq!(version(conn.as_mut()), "w2 upgrade:w3#0");
    // Meanwhile the name went to an index on another table of the schema: the resumed
    // `IF NOT EXISTS` form skips, and w3 must not be recorded as done without its index.
    exec(conn.as_mut(), "CREATE INDEX ix_owners_id ON items (id)");
    let err = runner(true, LockRetry::default()).upgrade(conn.as_mut(), &Target::Head).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("built nothing") && text.contains("\"ix_owners_id\""), "{text}");
    assert_eq!(version(conn.as_mut()), "w2 upgrade:w3#0", "not recorded as done");
    exec(conn.as_mut(), "DROP INDEX ix_owners_id");
    runner(true, LockRetry::default())
        .upgrade(conn.as_mut(), &Target::Head)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        one(conn.as_mut(), "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_owners_id'::regclass AND indrelid = 'owners'::regclass"),
        "true"
    );
    assert_eq!(version(conn.as_mut()), "w3 -");
}
