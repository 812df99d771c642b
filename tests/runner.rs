//! The runner on both engines: the example history up, down to base and up again; targets;
//! rows kept across SQLite rebuilds; a failing migration rolled back alone; grouped mode.

mod common;

// The example history; without this line the linker drops its registrations.
use common::*;
use strata::backend::Direction;
use strata::graph::Target;
use strata::migration::{Migration, MigrationSet};
use strata::ops::{Column, Table};
use strata::runner::{Error, Runner, TransactionMode};
use strata::types::Type;

fn app_runner() -> Runner {
    Runner::new(app_migrations::migrations().expect("registry"))
}

fn target(text: &str) -> Target {
    text.parse().expect("target")
}

#[test]
fn the_example_history_goes_up_down_to_base_and_up_again() {
    let runner = app_runner();
    let head = runner.migrations().head().expect("head").revision;
    let count = runner.migrations().migrations().len();
    assert!((8..=12).contains(&count), "the example history has {count} migrations");
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        let report = runner.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert_eq!(report.applied.len(), count, "[{kind}]");
        assert_eq!((report.from, report.to.as_deref()), (None, Some(head)), "[{kind}]");
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), Some(head), "[{kind}]");
        assert!(runner.pending(conn).unwrap().is_empty(), "[{kind}]");
        let at_head = schema(conn);
        let tables: Vec<&str> = at_head.tables.keys().map(String::as_str).collect();
        assert_eq!(
            tables,
            ["comments", "organisations", "post_topics", "posts", "topics", "users"],
            "[{kind}]"
        );

        let again = runner.upgrade(conn, &Target::Head).unwrap();
        assert!(again.applied.is_empty(), "[{kind}] nothing pending");

        let down = runner.downgrade(conn, &Target::Base).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert_eq!(down.applied.len(), count, "[{kind}]");
        assert!(down.applied.iter().all(|a| a.direction == Direction::Down));
        assert_eq!(down.to, None, "[{kind}]");
        assert!(schema(conn).tables.is_empty(), "[{kind}] base has no tables: {}", schema(conn));
        assert_eq!(runner.pending(conn).unwrap().len(), count, "[{kind}]");

        runner.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert_eq!(schema(conn), at_head, "[{kind}] upgrade after downgrade gives the same schema");
        let history = runner.history(conn).unwrap();
        assert_eq!(history.len(), 3 * count, "[{kind}] one history row per step");
        assert_eq!(history.iter().filter(|h| h.direction == Direction::Down).count(), count);
    }
}

#[test]
fn targets_steps_prefixes_and_wrong_directions() {
    let runner = app_runner();
    let revs: Vec<&str> = runner.migrations().migrations().iter().map(|m| m.revision).collect();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        runner.upgrade(conn, &target("+2")).unwrap();
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), Some(revs[1]), "[{kind}]");
        runner.upgrade(conn, &target(&revs[4][..6])).unwrap();
        assert_eq!(
            runner.current(conn).unwrap().last().map(|m| m.revision),
            Some(revs[4]),
            "[{kind}] prefix"
        );
        let err = runner.upgrade(conn, &target(revs[1])).unwrap_err();
        assert!(matches!(err, Error::WrongDirection { .. }), "[{kind}] {err}");
        runner.downgrade(conn, &target("-1")).unwrap();
        assert_eq!(
            runner.current(conn).unwrap().last().map(|m| m.revision),
            Some(revs[3]),
            "[{kind}] one step down"
        );
        runner.downgrade(conn, &target(revs[1])).unwrap();
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), Some(revs[1]), "[{kind}]");
        let err = runner.downgrade(conn, &target("-5")).unwrap_err().to_string();
        assert!(err.contains("goes past base"), "[{kind}] {err}");
        let err = runner.upgrade(conn, &target("zzz")).unwrap_err().to_string();
        assert!(err.contains("no revision matches \"zzz\""), "[{kind}] {err}");
    }
}

#[test]
fn rows_survive_the_history_including_sqlite_rebuilds_and_data_migrations() {
    let runner = app_runner();
    let revs: Vec<&str> = runner.migrations().migrations().iter().map(|m| m.revision).collect();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        // Up to "make emails unique ...": users have full_name and is_admin, posts have no slug.
        runner.upgrade(conn, &target(revs[4])).unwrap();
        exec(conn, "INSERT INTO organisations (id, name, slug) VALUES (1, 'Acme', 'acme')");
        exec(
            conn,
            "INSERT INTO users (id, organisation_id, email, full_name, is_admin) VALUES \
             (1, 1, 'ada@acme.test', 'Ada', TRUE), (2, 1, 'bob@acme.test', 'Bob', FALSE)",
        );
        exec(
            conn,
            "INSERT INTO posts (id, author_id, title, status) VALUES \
             (1, 1, 'Hello, World!', 'published'), (2, 2, 'Second post', 'draft')",
        );
        exec(conn, "INSERT INTO comments (id, post_id, author_id, body) VALUES (1, 1, 2, 'Nice')");
        runner.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert_eq!(
            rows(conn, "SELECT id, slug FROM posts ORDER BY id"),
            ["1|\"hello-world-1\"", "2|\"second-post-2\""],
            "[{kind}] slugs backfilled, rows kept through the NOT NULL rebuild"
        );
        assert_eq!(
            rows(conn, "SELECT email, role FROM users ORDER BY id"),
            ["\"ada@acme.test\"|\"admin\"", "\"bob@acme.test\"|\"member\""],
            "[{kind}]"
        );
        assert_eq!(
            rows(conn, "SELECT title FROM published_posts"),
            ["\"Hello, World!\""],
            "[{kind}] the view survives rebuilds"
        );
        assert_eq!(rows(conn, "SELECT body FROM comments"), ["\"Nice\""], "[{kind}]");
        // And back down to where the rows were written: the data comes back too.
        runner.downgrade(conn, &target(revs[4])).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert_eq!(rows(conn, "SELECT count(*) FROM posts"), ["2"], "[{kind}]");
        let admins = rows(conn, "SELECT id FROM users WHERE is_admin = TRUE");
        assert_eq!(admins, ["1"], "[{kind}] is_admin restored from role");
    }
}

// A tiny history whose third migration fails half-way.
static FIRST: Migration = Migration {
    revision: "f1",
    parents: &[],
    message: "create a",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("a").column(Column::new("id", Type::Integer).primary_key()));
    },
    downgrade: |op| {
        op.drop_table("a");
    },
    file: "f1.rs",
    transactional: true,
    replaces: &[],
};
static SECOND: Migration = Migration {
    revision: "f2",
    parents: &["f1"],
    message: "create b",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("b").column(Column::new("id", Type::Integer).primary_key()));
    },
    downgrade: |op| {
        op.drop_table("b");
    },
    file: "f2.rs",
    transactional: true,
    replaces: &[],
};
static BROKEN: Migration = Migration {
    revision: "f3",
    parents: &["f2"],
    message: "create c then fail",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("c").column(Column::new("id", Type::Integer).primary_key()));
        op.execute("INSERT INTO no_such_table VALUES (1)");
    },
    downgrade: |op| {
        op.drop_table("c");
    },
    file: "f3.rs",
    transactional: true,
    replaces: &[],
};

fn failing_runner() -> Runner {
    Runner::new(MigrationSet::new(vec![&BROKEN, &FIRST, &SECOND]).expect("chain"))
}

#[test]
fn a_failing_migration_rolls_back_alone_and_names_revision_op_and_statement() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        let err = failing_runner().upgrade(conn, &Target::Head).unwrap_err();
        let Error::Migration(failure) = &err else { panic!("[{kind}] unexpected error {err}") };
        assert_eq!(failure.revision, "f3", "[{kind}]");
        assert_eq!(failure.op.as_ref().map(|(i, _)| *i), Some(2), "[{kind}]");
        assert_eq!(failure.statement.as_deref(), Some("INSERT INTO no_such_table VALUES (1)"), "[{kind}]");
        assert!(
            failure.cause.contains("no_such_table"),
            "[{kind}] the database's message: {}",
            failure.cause
        );
        let completed: Vec<&str> = failure.completed.iter().map(|a| a.revision.as_str()).collect();
        assert_eq!(completed, ["f1", "f2"], "[{kind}]");
        let text = err.to_string();
        assert!(
            text.contains("upgrade of f3 (create c then fail) failed at op 2 (execute"),
            "[{kind}] {text}"
        );

        let tables: Vec<String> = schema(conn).tables.into_keys().collect();
        assert_eq!(tables, ["a", "b"], "[{kind}] c was rolled back, a and b stay");
        assert_eq!(
            failing_runner().current(conn).unwrap().last().map(|m| m.revision),
            Some("f2"),
            "[{kind}]"
        );
        assert_eq!(failing_runner().history(conn).unwrap().len(), 2, "[{kind}] no history row for f3");
    }
}

#[test]
fn grouped_mode_applies_all_or_nothing() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        let err =
            failing_runner().with_mode(TransactionMode::Grouped).upgrade(conn, &Target::Head).unwrap_err();
        assert!(err.to_string().contains("f3"), "[{kind}] {err}");
        assert!(schema(conn).tables.is_empty(), "[{kind}] nothing kept");
        assert_eq!(failing_runner().current(conn).unwrap().last().map(|m| m.revision), None, "[{kind}]");

        let runner = app_runner().with_mode(TransactionMode::Grouped);
        let report = runner.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert_eq!(report.applied.len(), runner.migrations().migrations().len(), "[{kind}]");
        assert_eq!(
            runner.current(conn).unwrap().last().map(|m| m.revision),
            runner.migrations().head().map(|m| m.revision)
        );
        assert_eq!(runner.history(conn).unwrap().len(), report.applied.len(), "[{kind}] a history row each");
    }
}

/// One statement, ending in a line comment: on PostgreSQL it travels with the bookkeeping
/// and the commit in one round trip, so the comment must not swallow them.
static COMMENTED: Migration = Migration {
    revision: "k1",
    parents: &[],
    message: "one statement with a trailing comment",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.execute("CREATE TABLE k (id INTEGER PRIMARY KEY) -- the only statement");
    },
    downgrade: |op| {
        op.execute("DROP TABLE k -- gone");
    },
    file: "k1.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn a_last_statement_sent_with_the_commit_keeps_its_bookkeeping() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        let runner = Runner::new(MigrationSet::new(vec![&COMMENTED]).expect("chain"));
        runner.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert!(schema(conn).tables.contains_key("k"), "[{kind}]");
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), Some("k1"), "[{kind}]");
        runner.downgrade(conn, &Target::Base).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert!(schema(conn).tables.is_empty(), "[{kind}]");
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), None, "[{kind}]");
        let directions: Vec<Direction> = runner.history(conn).unwrap().iter().map(|h| h.direction).collect();
        assert_eq!(directions, [Direction::Up, Direction::Down], "[{kind}]");
    }
}

#[test]
fn a_failing_bookkeeping_write_is_not_blamed_on_the_migration() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        let runner = failing_runner();
        runner.upgrade(conn, &target("f1")).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        // A trigger that refuses every new history row: f2's statement succeeds, its
        // bookkeeping cannot.
        let history = conn.version_tables().history.clone();
        let refuse = match kind {
            strata::ops::DialectKind::Sqlite => format!(
                "CREATE TRIGGER refuse BEFORE INSERT ON {history} BEGIN SELECT RAISE(ABORT, 'history is closed'); END"
            ),
            strata::ops::DialectKind::Postgres => format!(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'history is closed'; END $$; \
                 CREATE TRIGGER refuse BEFORE INSERT ON {history} FOR EACH ROW EXECUTE FUNCTION refuse()"
            ),
        };
        exec(conn, &refuse);
        let err = runner.upgrade(conn, &target("f2")).unwrap_err();
        // Reported as f2's failure at commit (it was rolled back), never blamed on its op.
        match &err {
            Error::Migration(failure) => {
                assert_eq!((failure.revision.as_str(), &failure.op), ("f2", &None), "[{kind}] {err}");
                assert!(failure.cause.starts_with("its commit failed"), "[{kind}] {err}");
            }
            other => panic!("[{kind}] expected f2's failure at commit: {other:?}"),
        }
        assert!(err.to_string().contains("history is closed"), "[{kind}] {err}");
        assert!(!schema(conn).tables.contains_key("b"), "[{kind}] f2 rolled back with its bookkeeping");
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), Some("f1"), "[{kind}]");
    }
}

#[test]
fn the_history_row_counts_the_last_statement_s_time() {
    static SLOW: Migration = Migration {
        revision: "s1",
        parents: &[],
        message: "sleep",
        created: "2026-11-24T00:00:00Z",
        upgrade: |op| {
            op.execute("SELECT pg_sleep(0.05)");
        },
        downgrade: |_| {},
        file: "s1.rs",
        transactional: true,
        replaces: &[],
    };
    let Some(kind) = engines().into_iter().find(|k| *k == strata::ops::DialectKind::Postgres) else {
        return;
    };
    let (_db, mut conn) = open(kind);
    let runner = Runner::new(MigrationSet::new(vec![&SLOW]).expect("chain"));
    runner.upgrade(conn.as_mut(), &Target::Head).unwrap_or_else(|e| panic!("{e}"));
    let history = runner.history(conn.as_mut()).unwrap();
    assert!(history[0].duration_ms >= 50.0, "the sleep is in the recorded time: {:?}", history[0]);
}

#[test]
fn a_rollback_bound_to_a_plan_runs_only_that_plan() {
    let runner = app_runner();
    let all: Vec<String> = runner.migrations().migrations().iter().map(|m| m.revision.to_string()).collect();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        runner.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        // Confirmed while the database was one step lower: the head is not in the plan.
        let shown = vec![all[all.len() - 2].clone()];
        let err =
            runner.downgrade_exactly(conn, &target("-1"), &shown, &mut strata::runner::Quiet).unwrap_err();
        match &err {
            Error::PlanChanged { shown: s, now, current } => {
                assert_eq!(
                    (s, now, current),
                    (&shown, &vec![all[all.len() - 1].clone()], &all[all.len() - 1])
                );
            }
            other => panic!("[{kind}] expected PlanChanged: {other}"),
        }
        assert_eq!(
            runner.current(conn).unwrap().last().map(|m| m.revision),
            runner.migrations().head().map(|m| m.revision)
        );
        let shown = vec![all[all.len() - 1].clone()];
        let report =
            runner.downgrade_exactly(conn, &target("-1"), &shown, &mut strata::runner::Quiet).unwrap();
        assert_eq!(report.applied.len(), 1, "[{kind}] the plan as confirmed runs");
    }
}
