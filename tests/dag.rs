//! A branching history on real databases: two branches and their merge revision, every
//! partial state brought to head and back to base, the version row of each state, the format
//! written by the previous strata upgraded in place, corrupt heads refused, and sixteen
//! racing migrators on the DAG.
//!
//! ```text
//! root ── a1 ── a2 ──┐
//!    └─── b1 ────────┴── merge ── after
//! ```

mod common;

use common::*;
use std::time::Duration;
use strata::backend::{Backend, BackendError, Direction};
use strata::graph::{Target, TargetError};
use strata::migration::{Migration, MigrationSet};
use strata::ops::{Column, Ops, Table};
use strata::runner::{Error, LockMode, Runner};
use strata::types::Type;

macro_rules! creates {
    ($name:ident, $rev:literal, [$($parent:literal),*], $table:literal) => {
        static $name: Migration = Migration {
            revision: $rev,
            parents: &[$($parent),*],
            message: concat!("create ", $table),
            created: "2026-12-01T00:00:00Z",
            upgrade: |op: &mut Ops| {
                op.create_table(Table::new($table).column(Column::new("id", Type::BigInt).autoincrement()));
            },
            downgrade: |op: &mut Ops| {
                op.drop_table($table);
            },
            file: concat!("r", $rev, ".rs"),
            transactional: true,
            replaces: &[],
        };
    };
}

creates!(ROOT, "root", [], "t_root");
creates!(A1, "a1", ["root"], "t_a1");
creates!(A2, "a2", ["a1"], "t_a2");
creates!(B1, "b1", ["root"], "t_b1");
static MERGE: Migration = Migration {
    revision: "merge",
    parents: &["a2", "b1"],
    message: "merge a2 and b1",
    created: "2026-12-01T00:00:00Z",
    upgrade: |_| {},
    downgrade: |_| {},
    file: "rmerge.rs",
    transactional: true,
    replaces: &[],
};
creates!(AFTER, "after", ["merge"], "t_after");

fn set() -> MigrationSet {
    // Registration order is no order: the graph orders them.
    MigrationSet::new(vec![&AFTER, &MERGE, &B1, &A2, &A1, &ROOT]).expect("a DAG with one head")
}

fn runner() -> Runner {
    Runner::new(set())
}

fn version(conn: &mut dyn Backend) -> Option<String> {
    conn.current_revision().expect("version")
}

fn tables(conn: &mut dyn Backend) -> Vec<String> {
    schema(conn).tables.keys().cloned().collect()
}

fn heads(runner: &Runner, conn: &mut dyn Backend) -> Vec<&'static str> {
    runner.current(conn).expect("current").iter().map(|m| m.revision).collect()
}

fn revision(r: &str) -> Target {
    Target::Revision(r.into())
}

#[test]
fn every_partial_state_reaches_head_and_base() {
    let runner = runner();
    // The states a team meets: one branch applied (a developer's own database from before the
    // merge), the other, both without their merge, the merge without what follows.
    let partial: [&[&str]; 5] = [&["root"], &["a2"], &["b1"], &["a2", "b1"], &["merge"]];
    for kind in engines() {
        for heads_wanted in partial {
            let (_db, mut conn) = open(kind);
            let conn = conn.as_mut();
            for head in heads_wanted {
                runner.upgrade(conn, &revision(head)).unwrap_or_else(|e| panic!("[{kind}] to {head}: {e}"));
            }
            let mut expected = heads_wanted.to_vec();
            expected.sort();
            assert_eq!(version(conn), Some(expected.join(" ")), "[{kind}] the version row holds the heads");
            assert_eq!(heads(&runner, conn), heads_wanted.to_vec(), "[{kind}] current lists the heads");
            let pending: Vec<&str> = runner.pending(conn).unwrap().iter().map(|m| m.revision).collect();
            let report = runner
                .upgrade(conn, &Target::Head)
                .unwrap_or_else(|e| panic!("[{kind}] {heads_wanted:?}: {e}"));
            let ran: Vec<&str> = report.applied.iter().map(|a| a.revision.as_str()).collect();
            assert_eq!(ran, pending, "[{kind}] from {heads_wanted:?} the upgrade runs what pending listed");
            assert_eq!(version(conn).as_deref(), Some("after"), "[{kind}]");
            assert_eq!(tables(conn), ["t_a1", "t_a2", "t_after", "t_b1", "t_root"], "[{kind}]");
            runner.downgrade(conn, &Target::Base).unwrap_or_else(|e| panic!("[{kind}] {e}"));
            assert_eq!(version(conn), None, "[{kind}] base is an empty version table");
            assert!(tables(conn).is_empty(), "[{kind}] {:?}", tables(conn));
        }
    }
}

#[test]
fn downgrade_across_the_merge_keeps_the_other_branch() {
    let runner = runner();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        runner.upgrade(conn, &Target::Head).unwrap();
        // Back to a2: what descends from it goes (after, merge); b1 stays.
        let report = runner.downgrade(conn, &revision("a2")).unwrap();
        let reverted: Vec<&str> = report.applied.iter().map(|a| a.revision.as_str()).collect();
        assert_eq!(reverted, ["after", "merge"], "[{kind}]");
        assert_eq!(version(conn).as_deref(), Some("a2 b1"), "[{kind}]");
        assert_eq!(report.to.as_deref(), Some("a2 b1"), "[{kind}] the report says where it ended");
        // One more step back reverts the last applied revision in the graph's order.
        runner.downgrade(conn, &Target::Relative(-1)).unwrap();
        assert_eq!(heads(&runner, conn), ["a2"], "[{kind}] b1 came last in the graph's order");
        // An upgrade to an applied revision goes nowhere an upgrade goes: refused with the way.
        runner.upgrade(conn, &Target::Head).unwrap();
        match runner.upgrade(conn, &revision("b1")) {
            Err(Error::WrongDirection { hint, .. }) => assert_eq!(hint, "downgrade", "[{kind}]"),
            other => panic!("[{kind}] expected a wrong-direction refusal, got {other:?}"),
        }
        let nothing = runner.downgrade(conn, &revision("after")).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert!(nothing.applied.is_empty(), "[{kind}] at after, a downgrade to after does nothing");
    }
}

#[test]
fn stamp_accept_and_offline_sql_on_a_dag() {
    let runner = runner();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        runner.stamp(conn, &revision("b1")).unwrap();
        assert_eq!(version(conn).as_deref(), Some("b1"), "[{kind}]");
        runner.stamp(conn, &Target::Relative(1)).unwrap();
        assert_eq!(version(conn).as_deref(), Some("a1 b1"), "[{kind}] +1 from b1 is a1, the next in order");
        let accepted = runner.accept(conn, "a1").unwrap();
        assert_eq!(accepted.revision, "a1");
        assert!(matches!(runner.accept(conn, "a2"), Err(Error::NotApplied(r)) if r == "a2"), "[{kind}]");
        assert_eq!(version(conn).as_deref(), Some("a1 b1"), "[{kind}] accept leaves the version");
        let log = runner.history(conn).unwrap();
        let stamps: Vec<_> = log.iter().filter(|r| r.direction == Direction::Stamp).collect();
        assert_eq!(stamps.len(), 2, "[{kind}]");
    }
    // Offline SQL writes the heads the runner would.
    let sql = strata::offline::render(
        &set(),
        strata::ops::DialectKind::Sqlite,
        Direction::Up,
        &Target::Base,
        &Target::Head,
        &strata::offline::Options::default(),
    )
    .unwrap();
    let versions: Vec<Option<&str>> = sql.iter().map(|m| m.new_version.as_deref()).collect();
    assert_eq!(versions, [Some("root"), Some("a1"), Some("a2"), Some("a2 b1"), Some("merge"), Some("after")]);
}

#[test]
fn the_previous_strata_format_upgrades_in_place() {
    let runner = runner();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        // What the previous strata wrote after applying root and a1: one row, one revision,
        // and the history rows of the two migrations.
        let old = Runner::new(MigrationSet::new(vec![&ROOT, &A1]).unwrap());
        old.upgrade(conn, &Target::Head).unwrap();
        assert_eq!(version(conn).as_deref(), Some("a1"), "[{kind}]");
        let report = runner.upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        let ran: Vec<&str> = report.applied.iter().map(|a| a.revision.as_str()).collect();
        assert_eq!(ran, ["a2", "b1", "merge", "after"], "[{kind}]");
        let validation =
            strata::validate::validate(Ok(&set()), strata::config::Environment::Dev, &_db.url, Ok(conn));
        assert!(!validation.is_error(), "[{kind}] {validation:?}");
        runner.downgrade(conn, &Target::Base).unwrap();
        assert!(tables(conn).is_empty(), "[{kind}]");
    }
}

#[test]
fn corrupt_heads_are_refused_and_stamp_repairs_them() {
    let runner = runner();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        runner.upgrade(conn, &revision("a2")).unwrap();
        let table = conn.version_tables().version.clone();
        for (row, what) in [("a1 a2", "descendant"), ("a2 a2", "twice")] {
            conn.execute(&format!("UPDATE {table} SET revision = '{row}'")).unwrap();
            match runner.upgrade(conn, &Target::Head) {
                Err(Error::Backend(BackendError::CorruptVersionTable { detail, .. })) => {
                    assert!(detail.contains(what), "[{kind}] {row:?}: {detail}")
                }
                other => panic!("[{kind}] {row:?} must be refused as corrupt, got {other:?}"),
            }
            assert!(runner.pending(conn).is_err(), "[{kind}] {row:?}");
        }
        conn.execute(&format!("UPDATE {table} SET revision = 'a2 nope'")).unwrap();
        assert!(
            matches!(runner.upgrade(conn, &Target::Head), Err(Error::Target(TargetError::UnknownCurrent(r))) if r == "nope"),
            "[{kind}]"
        );
        assert!(tables(conn).contains(&"t_a2".to_string()) && !tables(conn).contains(&"t_b1".to_string()));
        runner.stamp(conn, &revision("a2")).unwrap();
        runner.upgrade(conn, &Target::Head).unwrap();
        assert_eq!(version(conn).as_deref(), Some("after"), "[{kind}]");
    }
}

#[test]
fn sixteen_racing_migrators_apply_a_dag_exactly_once() {
    for kind in engines() {
        for mode in [LockMode::Session, LockMode::Transaction] {
            let db = fresh_database(kind);
            let racers: Vec<_> = (0..16)
                .map(|i| {
                    let url = db.url.clone();
                    std::thread::spawn(move || {
                        let mut conn = strata::backend::connect(&url).expect("connect");
                        let runner = runner().with_lock(mode, Duration::from_secs(60));
                        // Half go to head, half to one branch first: the plans differ.
                        // (Another racer may have gone past b1 already: that upgrade is
                        // then refused as the wrong way, and head is still asked.)
                        if i % 2 == 1 {
                            match runner.upgrade(conn.as_mut(), &revision("b1")) {
                                Ok(_) | Err(Error::WrongDirection { .. }) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        runner.upgrade(conn.as_mut(), &Target::Head)
                    })
                })
                .collect();
            // Without a run lock (SQLite, and PostgreSQL's transaction mode) each migration
            // re-reads the version in its transaction: what another racer did is skipped, and
            // a step whose parents another plan already applied runs from there.
            for racer in racers {
                if let Err(e) = racer.join().expect("racer thread") {
                    panic!("[{kind} {mode:?}] a migrator failed: {e}");
                }
            }
            let mut conn = connect(&db);
            let log = conn.history().unwrap();
            let mut ups: Vec<&str> =
                log.iter().filter(|r| r.direction == Direction::Up).map(|r| r.revision.as_str()).collect();
            ups.sort();
            assert_eq!(
                ups,
                ["a1", "a2", "after", "b1", "merge", "root"],
                "[{kind} {mode:?}] each applied once"
            );
            assert_eq!(version(conn.as_mut()).as_deref(), Some("after"), "[{kind} {mode:?}]");
        }
    }
}

#[test]
fn the_round_trip_api_and_drift_work_on_a_dag() {
    for kind in engines() {
        // Every migration up, down and up again in the graph's order; the merge revision
        // included, its parents staying applied while it is reverted.
        strata::testing::RoundTrip::new(set(), kind).try_run().unwrap_or_else(|e| panic!("[{kind}] {e}"));
        strata::testing::up_down_consistency(&set(), kind).unwrap_or_else(|e| panic!("[{kind}] {e}"));
        // A history row that no longer vouches for a migration of the other branch is drift.
        let (db, mut conn) = open(kind);
        let conn = conn.as_mut();
        runner().upgrade(conn, &Target::Head).unwrap();
        let history = conn.version_tables().history.clone();
        conn.execute(&format!(
            "UPDATE {history} SET checksum = 'v1:{}' WHERE revision = 'b1'",
            "0".repeat(64)
        ))
        .unwrap();
        let validation =
            strata::validate::validate(Ok(&set()), strata::config::Environment::Dev, &db.url, Ok(conn));
        assert!(validation.is_error(), "[{kind}] {validation:?}");
        // A merge revision with no ops is how merges are written: no warning about it.
        assert!(validation.warnings.iter().all(|w| !w.starts_with("merge ")), "[{kind}] {validation:?}");
        assert!(validation.errors.iter().any(|e| e.starts_with("b1 ")), "[{kind}] {validation:?}");
    }
}

#[test]
fn the_history_of_some_revisions_is_the_history_filtered() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        assert!(conn.history_of(&["a1"]).unwrap().is_empty(), "[{kind}] no table yet: no rows");
        runner().upgrade(conn, &Target::Head).unwrap();
        runner().downgrade(conn, &revision("a2")).unwrap();
        runner().upgrade(conn, &Target::Head).unwrap();
        let all = conn.history().unwrap();
        for wanted in [&["merge"][..], &["a1", "b1"], &["nope"], &["it's"]] {
            let expected: Vec<_> =
                all.iter().filter(|r| wanted.contains(&r.revision.as_str())).cloned().collect();
            assert_eq!(conn.history_of(wanted).unwrap(), expected, "[{kind}] {wanted:?}");
        }
    }
}
