//! Offline SQL (`upgrade --sql`, `downgrade --sql`) applied by the engines' own shells, as a
//! DBA would: `sqlite3 -bail` with foreign keys on (as strata connects) and `psql -v
//! ON_ERROR_STOP=1`. The script must leave the database where an online run would: the same
//! schema, version and history rows (checksums included), child rows kept across a SQLite
//! rebuild, a non-transactional migration outside any transaction.

mod common;

use common::*;
use std::process::{Command, Stdio};
use strata::backend::{Direction, HistoryRow};
use strata::config::Environment;
use strata::graph::Target;
use strata::migration::{Migration, MigrationSet};
use strata::offline::{self, OfflineError, Options};
use strata::ops::{Action, AlterColumn, Check, Column, DialectKind, ForeignKey, Table};
use strata::runner::Runner;
use strata::types::Type;
use strata::validate::{validate, Status};

static PARENTS: Migration = Migration {
    revision: "o1",
    parents: &[],
    message: "users and their sessions",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new("users")
                .column(Column::new("id", Type::Integer).primary_key())
                .column(Column::new("name", Type::String(50)).nullable()),
        );
        op.create_table(
            Table::new("user_sessions")
                .column(Column::new("id", Type::Integer).primary_key())
                .column(Column::new("user_id", Type::Integer))
                .foreign_key(ForeignKey::new(["user_id"], "users", ["id"]).on_delete(Action::Cascade)),
        );
    },
    downgrade: |op| {
        op.drop_table("user_sessions");
        op.drop_table("users");
    },
    file: "ro1.rs",
    transactional: true,
    replaces: &[],
};
/// Rebuilds `users` on SQLite (the parent of a cascading foreign key).
static REBUILD: Migration = Migration {
    revision: "o2",
    parents: &["o1"],
    message: "names are required and not blank",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.alter_column("users", "name", AlterColumn::new().ty(Type::Text));
        op.add_check_constraint("users", Check::new("ck_users_name", "name <> ''"));
    },
    downgrade: |op| {
        op.drop_constraint("users", "ck_users_name");
        op.alter_column("users", "name", AlterColumn::new().ty(Type::String(50)));
    },
    file: "ro2.rs",
    transactional: true,
    replaces: &[],
};
static CONCURRENT: Migration = Migration {
    revision: "o3",
    parents: &["o2"],
    message: "index sessions by user without locking writes",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.execute_on(
            DialectKind::Postgres,
            "CREATE INDEX CONCURRENTLY ix_sessions_user ON user_sessions (user_id)",
        );
        op.execute_on(DialectKind::Sqlite, "CREATE INDEX ix_sessions_user ON user_sessions (user_id)");
    },
    downgrade: |op| {
        op.drop_index("ix_sessions_user", "user_sessions");
    },
    file: "ro3.rs",
    transactional: false,
    replaces: &[],
};
static DATA: Migration = Migration {
    revision: "o4",
    parents: &["o3"],
    message: "name the nameless",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.run_data("fill in missing names", |db| {
            db.execute("UPDATE users SET name = 'anonymous' WHERE name IS NULL", &[]).map(drop)
        });
    },
    downgrade: |op| {
        op.execute("UPDATE users SET name = NULL WHERE name = 'anonymous'");
    },
    file: "ro4.rs",
    transactional: true,
    replaces: &[],
};

fn set() -> MigrationSet {
    MigrationSet::new(vec![&PARENTS, &REBUILD, &CONCURRENT]).unwrap()
}

fn script(set: &MigrationSet, kind: DialectKind, direction: Direction, from: Target, to: Target) -> String {
    let sql = offline::render(set, kind, direction, &from, &to, &Options::default())
        .unwrap_or_else(|e| panic!("[{kind}] {e}"));
    offline::script(&sql)
}

fn sqlite_path(db: &TestDatabase) -> std::path::PathBuf {
    match &db.url {
        strata::backend::DatabaseUrl::Sqlite { path, .. } => path.clone(),
        other => panic!("not a SQLite file: {other}"),
    }
}

/// Runs `script` with the engine's shell, stopping at the first error; SQLite with foreign
/// keys on, as strata's own connections have them.
fn apply_script(db: &TestDatabase, script: &str) {
    let mut command = match db.kind {
        DialectKind::Sqlite => {
            let mut c = Command::new("/usr/bin/sqlite3");
            c.args(["-bail", "-cmd", "PRAGMA foreign_keys = ON"]).arg(sqlite_path(db));
            c
        }
        DialectKind::Postgres => {
            let mut c = Command::new("/usr/bin/psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"]).arg(db.url.connection_string());
            // CREATE TABLE IF NOT EXISTS notices are not failures.
            c.env("PGOPTIONS", "-c client_min_messages=warning");
            c
        }
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the engine's shell");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "[{}] the script failed: {}{}\n{script}",
        db.kind,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a history row says, without its time and duration.
fn facts(rows: Vec<HistoryRow>) -> Vec<(String, String, Direction, Option<String>)> {
    rows.into_iter().map(|r| (r.revision, r.message, r.direction, r.checksum)).collect()
}

fn check_clean(kind: DialectKind, set: &MigrationSet, db: &TestDatabase) {
    let mut conn = connect(db);
    let validation = validate(Ok(set), Environment::Dev, &db.url, Ok(conn.as_mut()));
    assert_eq!(
        validation.status,
        Status::Success,
        "[{kind}] {:?} {:?}",
        validation.errors,
        validation.warnings
    );
}

#[test]
fn an_offline_script_takes_a_fresh_database_to_head_and_back_like_an_online_run() {
    let set = set();
    let runner = Runner::new(set.clone());
    for kind in engines() {
        let offline_db = fresh_database(kind);
        apply_script(&offline_db, &script(&set, kind, Direction::Up, Target::Base, Target::Head));
        let mut conn = connect(&offline_db);
        assert_eq!(runner.current(conn.as_mut()).unwrap().last().map(|m| m.revision), Some("o3"), "[{kind}]");
        check_clean(kind, &set, &offline_db);

        let online_db = fresh_database(kind);
        let mut online = connect(&online_db);
        runner.upgrade(online.as_mut(), &Target::Head).unwrap();
        assert_eq!(schema(conn.as_mut()), schema(online.as_mut()), "[{kind}] the same schema");
        assert_eq!(
            facts(runner.history(conn.as_mut()).unwrap()),
            facts(runner.history(online.as_mut()).unwrap()),
            "[{kind}] the same history rows, checksums included"
        );

        apply_script(&offline_db, &script(&set, kind, Direction::Down, Target::Head, Target::Base));
        assert!(runner.current(conn.as_mut()).unwrap().last().is_none(), "[{kind}] back at base");
        assert!(schema(conn.as_mut()).tables.is_empty(), "[{kind}] only the version tables are left");
        runner.downgrade(online.as_mut(), &Target::Base).unwrap();
        assert_eq!(
            facts(runner.history(conn.as_mut()).unwrap()),
            facts(runner.history(online.as_mut()).unwrap())
        );
        // The tables exist now: a second upgrade script applies over them.
        apply_script(&offline_db, &script(&set, kind, Direction::Up, Target::Base, Target::Head));
        check_clean(kind, &set, &offline_db);
    }
}

#[test]
fn a_non_transactional_migration_is_marked_started_and_completed_outside_a_transaction() {
    for kind in engines() {
        let sql =
            offline::render(&set(), kind, Direction::Up, &Target::Base, &Target::Head, &Options::default())
                .unwrap();
        let m = &sql[2];
        assert!(!m.transactional);
        let begin = if kind == DialectKind::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        assert_eq!(m.before.first().map(String::as_str), Some(begin), "[{kind}] {:?}", m.before);
        assert_eq!(
            m.before.last().map(String::as_str),
            Some("COMMIT"),
            "[{kind}] the started row is committed first"
        );
        assert!(m.before.iter().any(|s| s.contains("'started'") && s.contains("upgrade started: ")));
        assert!(m.before.iter().any(|s| s.contains("SET dirty = 'upgrade:o3'")));
        assert!(m.statements.iter().all(|s| !s.contains("BEGIN") && !s.contains("COMMIT")));
        assert_eq!(m.after.first().map(String::as_str), Some(begin), "[{kind}] completed in a transaction");
        assert_eq!(m.after.last().map(String::as_str), Some("COMMIT"));
    }
}

/// The repro: a SQLite rebuild of a parent table, applied with foreign keys on, used to
/// cascade the DROP TABLE into the child rows.
#[test]
fn a_sqlite_rebuild_in_an_offline_script_keeps_child_rows() {
    let set = set();
    let db = fresh_database(DialectKind::Sqlite);
    let mut conn = connect(&db);
    Runner::new(set.clone()).upgrade(conn.as_mut(), &Target::Revision("o1".into())).unwrap();
    exec(conn.as_mut(), "INSERT INTO users (id, name) VALUES (1, 'ada')");
    exec(conn.as_mut(), "INSERT INTO user_sessions (id, user_id) VALUES (10, 1)");
    let up = script(
        &set,
        DialectKind::Sqlite,
        Direction::Up,
        Target::Revision("o1".into()),
        Target::Revision("o2".into()),
    );
    assert!(up.contains("PRAGMA foreign_keys = OFF;\nBEGIN IMMEDIATE;"), "{up}");
    apply_script(&db, &up);
    assert_eq!(
        rows(conn.as_mut(), "SELECT id, user_id FROM user_sessions"),
        ["10|1"],
        "the child row is kept"
    );
    assert_eq!(rows(conn.as_mut(), "PRAGMA foreign_keys"), ["1"], "and enforcement is back on");
    assert!(table(conn.as_mut(), "users").checks.iter().any(|c| c.name.as_deref() == Some("ck_users_name")));

    // A rebuild that leaves a broken foreign key stops the script before COMMIT.
    exec(conn.as_mut(), "PRAGMA foreign_keys = OFF");
    exec(conn.as_mut(), "INSERT INTO user_sessions (id, user_id) VALUES (11, 99)");
    let down = script(
        &set,
        DialectKind::Sqlite,
        Direction::Down,
        Target::Revision("o2".into()),
        Target::Revision("o1".into()),
    );
    let mut child = Command::new("/usr/bin/sqlite3")
        .args(["-bail", "-cmd", "PRAGMA foreign_keys = ON"])
        .arg(sqlite_path(&db))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(down.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the migration leaves rows that break a foreign key"), "{stderr}");
    let mut conn = connect(&db);
    assert_eq!(
        Runner::new(set).current(conn.as_mut()).unwrap().last().map(|m| m.revision),
        Some("o2"),
        "nothing committed"
    );
}

#[test]
fn a_data_op_is_refused_unless_a_marked_placeholder_is_asked_for() {
    let set = MigrationSet::new(vec![&PARENTS, &REBUILD, &CONCURRENT, &DATA]).unwrap();
    for kind in engines() {
        let render = |options: &Options| {
            offline::render(&set, kind, Direction::Up, &Target::Base, &Target::Head, options)
        };
        let err = render(&Options::default()).unwrap_err();
        assert!(
            matches!(&err, OfflineError::DataOp { revision, label } if revision == "o4" && label == "fill in missing names")
        );
        assert!(err.to_string().contains("--allow-data-placeholders"), "{err}");
        let sql = render(&Options { allow_data_placeholders: true, ..Options::default() }).unwrap();
        let placeholder = &sql[3].statements[0];
        assert!(
            placeholder.starts_with(offline::DATA_PLACEHOLDER)
                && placeholder.contains("\"fill in missing names\"")
        );
        // The placeholder is a comment: the script still applies, and records the migration.
        let db = fresh_database(kind);
        apply_script(&db, &offline::script(&sql));
        check_clean(kind, &set, &db);
    }
}
