//! Drift and divergence on both engines: an applied migration whose operations changed is
//! reported (a comment or formatting edit is not), `accept` records a reviewed edit, a database
//! ahead of the code is named with its message and time, and a corrupt version table is
//! reported rather than guessed at.

mod common;

use common::*;
use strata::backend::Direction;
use strata::config::Environment;
use strata::graph::Target;
use strata::migration::{Migration, MigrationSet};
use strata::ops::{Column, Ops, Table};
use strata::runner::Runner;
use strata::types::Type;
use strata::validate::{validate, Status, Validation};

fn create_t(op: &mut Ops) {
    op.create_table(Table::new("t").column(Column::new("id", Type::Integer).primary_key()));
}
fn drop_t(op: &mut Ops) {
    op.drop_table("t");
}
fn add_note(op: &mut Ops) {
    op.add_column("t", Column::new("note", Type::String(100)).nullable());
}
/// The same op as `add_note`, written differently: not drift.
#[rustfmt::skip]
fn add_note_reformatted(op: &mut Ops) {
    // A comment, and different layout.
    op.add_column(
        "t",
        Column::new("note",   Type::String(100))
            .nullable(),
    );
}
/// A real change of meaning: drift.
fn add_note_longer(op: &mut Ops) {
    op.add_column("t", Column::new("note", Type::String(500)).nullable());
}
fn drop_note(op: &mut Ops) {
    op.drop_column("t", "note");
}

macro_rules! migration_static {
    ($name:ident, $rev:literal, $parent:expr, $up:expr, $down:expr) => {
        static $name: Migration = Migration {
            revision: $rev,
            parents: $parent,
            message: concat!("migration ", $rev),
            created: "2026-11-24T00:00:00Z",
            upgrade: $up,
            downgrade: $down,
            file: concat!("r", $rev, ".rs"),
            transactional: true,
            replaces: &[],
        };
    };
}

migration_static!(FIRST, "d1", &[], create_t, drop_t);
migration_static!(SECOND, "d2", &["d1"], add_note, drop_note);
migration_static!(SECOND_REFORMATTED, "d2", &["d1"], add_note_reformatted, drop_note);
migration_static!(SECOND_CHANGED, "d2", &["d1"], add_note_longer, drop_note);

fn set(migrations: &[&'static Migration]) -> MigrationSet {
    MigrationSet::new(migrations.to_vec()).expect("chain")
}

fn check(set: &MigrationSet, db: &TestDatabase) -> Validation {
    let mut conn = connect(db);
    validate(Ok(set), Environment::Dev, &db.url, Ok(conn.as_mut()))
}

#[test]
fn drift_is_reported_formatting_is_not_and_accept_records_a_reviewed_edit() {
    for kind in engines() {
        let db = fresh_database(kind);
        let original = set(&[&FIRST, &SECOND]);
        Runner::new(original.clone()).upgrade(connect(&db).as_mut(), &Target::Head).unwrap();
        assert_eq!(check(&original, &db).status, Status::Success, "[{kind}]");
        assert_eq!(
            check(&set(&[&FIRST, &SECOND_REFORMATTED]), &db).status,
            Status::Success,
            "[{kind}] formatting is not drift"
        );

        let changed = set(&[&FIRST, &SECOND_CHANGED]);
        let v = check(&changed, &db);
        assert_eq!(v.status, Status::Error, "[{kind}] {v:?}");
        assert!(v.errors[0].contains("d2 (migration d2) changed since it was applied at"), "[{kind}] {v:?}");
        assert!(v.errors[0].contains("`accept d2`"), "[{kind}] {v:?}");

        Runner::new(changed.clone()).accept(connect(&db).as_mut(), "d2").unwrap();
        assert_eq!(check(&changed, &db).status, Status::Success, "[{kind}] accepted");
        let log = Runner::new(changed.clone()).history(connect(&db).as_mut()).unwrap();
        assert_eq!(log.last().map(|r| r.direction), Some(Direction::Accept), "[{kind}]");
        assert_eq!(check(&original, &db).status, Status::Error, "[{kind}] the old plan is now the drift");
    }
}

#[test]
fn a_database_ahead_of_the_code_is_named_with_its_message_and_time() {
    for kind in engines() {
        let db = fresh_database(kind);
        Runner::new(set(&[&FIRST, &SECOND])).upgrade(connect(&db).as_mut(), &Target::Head).unwrap();
        let older_code = set(&[&FIRST]);
        let v = check(&older_code, &db);
        assert_eq!(v.status, Status::Error, "[{kind}]");
        let text = &v.errors[0];
        assert!(
            text.contains("the database is at revision d2, which this code does not know"),
            "[{kind}] {text}"
        );
        assert!(text.contains("It was applied at ") && text.contains("(migration d2)"), "[{kind}] {text}");
        let err = Runner::new(older_code).upgrade(connect(&db).as_mut(), &Target::Head).unwrap_err();
        assert!(err.to_string().contains("d2"), "[{kind}] {err}");
    }
}

#[test]
fn a_corrupt_version_table_is_reported() {
    for kind in engines() {
        let db = fresh_database(kind);
        let migrations = set(&[&FIRST, &SECOND]);
        Runner::new(migrations.clone()).upgrade(connect(&db).as_mut(), &Target::Head).unwrap();
        // A table made by an older strata had no one-row index, so a second row could get in.
        exec(connect(&db).as_mut(), "DROP INDEX strata_version_one_row");
        exec(connect(&db).as_mut(), "INSERT INTO strata_version (revision) VALUES ('d1')");
        let v = check(&migrations, &db);
        assert_eq!(v.status, Status::Error, "[{kind}]");
        assert!(v.errors[0].contains("corrupt"), "[{kind}] {v:?}");
        let err = Runner::new(migrations).upgrade(connect(&db).as_mut(), &Target::Head).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "[{kind}] {err}");
    }
}

#[test]
fn a_version_table_of_an_unknown_format_is_reported_as_corrupt() {
    for kind in engines() {
        let db = fresh_database(kind);
        exec(connect(&db).as_mut(), "CREATE TABLE strata_version (version_num VARCHAR(32) NOT NULL)");
        let migrations = set(&[&FIRST]);
        let v = check(&migrations, &db);
        assert_eq!(v.status, Status::Error, "[{kind}]");
        assert!(v.errors[0].contains("corrupt: its format is unknown"), "[{kind}] {v:?}");
        assert!(v.errors[0].contains("stamp <revision>"), "[{kind}] the remedy: {v:?}");
    }
}
