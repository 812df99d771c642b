//! Non-transactional migrations on both engines: one that cannot run in a transaction block
//! (PostgreSQL's CREATE INDEX CONCURRENTLY) works; one interrupted half-way leaves a dirty state
//! that blocks every run, validate included, until `resolve` settles it.

mod common;

use common::*;
use strata::backend::BackendError;
use strata::config::Environment;
use strata::graph::Target;
use strata::migration::{Migration, MigrationSet};
use strata::ops::{Column, DialectKind, Table};
use strata::runner::{Error, Runner};
use strata::types::Type;
use strata::validate::{validate, Status};

static ITEMS: Migration = Migration {
    revision: "n1",
    parents: &[],
    message: "create items",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(
            Table::new("items")
                .column(Column::new("id", Type::Integer).primary_key())
                .column(Column::new("name", Type::Text).nullable()),
        );
    },
    downgrade: |op| {
        op.drop_table("items");
    },
    file: "rn1.rs",
    transactional: true,
    replaces: &[],
};
static CONCURRENT_INDEX: Migration = Migration {
    revision: "n2",
    parents: &["n1"],
    message: "index items by name without locking writes",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.execute_on(DialectKind::Postgres, "CREATE INDEX CONCURRENTLY ix_items_name ON items (name)");
        op.execute_on(DialectKind::Sqlite, "CREATE INDEX ix_items_name ON items (name)");
    },
    downgrade: |op| {
        op.drop_index("ix_items_name", "items");
    },
    file: "rn2.rs",
    transactional: false,
    replaces: &[],
};
static HALF_DONE: Migration = Migration {
    revision: "n3",
    parents: &["n2"],
    message: "two statements, the second fails",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("half").column(Column::new("id", Type::Integer).primary_key()));
        op.execute("INSERT INTO no_such_table VALUES (1)");
    },
    downgrade: |op| {
        op.drop_table("half");
    },
    file: "rn3.rs",
    transactional: false,
    replaces: &[],
};

#[test]
fn a_non_transactional_migration_runs_outside_a_transaction_and_an_interrupted_one_blocks_until_resolved() {
    for kind in engines() {
        let db = fresh_database(kind);
        let set = MigrationSet::new(vec![&ITEMS, &CONCURRENT_INDEX, &HALF_DONE]).unwrap();
        let runner = Runner::new(set.clone());
        let mut conn = connect(&db);
        let conn = conn.as_mut();

        runner.upgrade(conn, &Target::Revision("n2".into())).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert!(table(conn, "items").index("ix_items_name").is_some(), "[{kind}]");
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), Some("n2"), "[{kind}]");

        let err = runner.upgrade(conn, &Target::Head).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("upgrade of n3") && text.contains("marked dirty"), "[{kind}] {text}");
        assert!(schema(conn).table("half").is_some(), "[{kind}] the statement before the failure stayed");

        // Dirty: every run refuses, validate says what to do.
        let blocked = runner.upgrade(conn, &Target::Head).unwrap_err();
        assert!(matches!(blocked, Error::Backend(BackendError::Dirty { .. })), "[{kind}] {blocked}");
        assert!(blocked.to_string().contains("resolve n3 as applied"), "[{kind}] {blocked}");
        let remedy = strata::error::Remedy::Resolve { revision: "n3".into() };
        assert!(matches!(blocked, Error::Backend(ref e) if e.remedy() == Some(remedy)), "[{kind}] {blocked}");
        assert!(runner.pending(conn).is_err(), "[{kind}] even the start-up check sees it");
        let v = validate(Ok(&set), Environment::Dev, &db.url, Ok(&mut *conn));
        assert_eq!(v.status, Status::Error, "[{kind}]");
        assert!(v.errors[0].contains("the database is dirty"), "[{kind}] {v:?}");

        assert!(matches!(runner.resolve(conn, "n1", false), Err(Error::ResolveOther { .. })), "[{kind}]");
        // The operator undoes the half-applied statement, then settles it as rolled back.
        exec(conn, "DROP TABLE half");
        assert_eq!(runner.resolve(conn, "n3", false).unwrap().as_deref(), Some("n2"), "[{kind}]");
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision), Some("n2"), "[{kind}]");
        assert!(matches!(runner.resolve(conn, "n3", true), Err(Error::NotDirty)), "[{kind}]");
        let log = runner.history(conn).unwrap();
        let directions: Vec<String> = log.iter().map(|r| r.direction.to_string()).collect();
        assert_eq!(directions, ["upgrade", "started", "upgrade", "started", "resolve"], "[{kind}]");

        // Downgrading the non-transactional index works the same way.
        runner.downgrade(conn, &Target::Revision("n1".into())).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert!(table(conn, "items").index("ix_items_name").is_none(), "[{kind}]");
    }
}

#[test]
fn grouped_mode_refuses_a_non_transactional_migration() {
    let db = fresh_database(DialectKind::Sqlite);
    let set = MigrationSet::new(vec![&ITEMS, &CONCURRENT_INDEX]).unwrap();
    let err = Runner::new(set)
        .with_mode(strata::runner::TransactionMode::Grouped)
        .upgrade(connect(&db).as_mut(), &Target::Head)
        .unwrap_err();
    assert!(err.to_string().contains("cannot be grouped"), "{err}");
}
