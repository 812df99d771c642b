//! Models vs migrations on both engines: the example models match the history at head, so
//! `check` passes; a changed model yields a difference that names it.

mod common;

use app_migrations::models::models;
use common::*;
use strata::autogen;
use strata::backend::{Backend, BackendError};
use strata::migration::MigrationSet;
use strata::ops::{Column, DialectKind};
use strata::scratch::Scratch;
use strata::types::Type;

include!(concat!(env!("OUT_DIR"), "/expected_revisions.rs"));

fn app_set() -> MigrationSet {
    MigrationSet::from_registry(EXPECTED_REVISIONS, app_migrations::CRATE_NAME).expect("registry")
}

/// Fresh test databases of one engine as scratch databases; they live as long as this value.
struct TestScratch {
    kind: DialectKind,
    databases: Vec<TestDatabase>,
}

impl TestScratch {
    fn new(kind: DialectKind) -> Self {
        TestScratch { kind, databases: Vec::new() }
    }
}

impl Scratch for TestScratch {
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError> {
        let db = fresh_database(self.kind);
        let conn = strata::backend::connect(&db.url)?;
        self.databases.push(db);
        Ok(conn)
    }
}

#[test]
fn the_example_models_match_the_history_at_head_on_every_engine() {
    let set = app_set();
    for kind in engines() {
        let outcome = autogen::check(&set, &models(), &mut TestScratch::new(kind)).expect("compare");
        assert_eq!(outcome, None, "[{kind}] {}", outcome.as_deref().unwrap_or_default());
        let diff = autogen::autogenerate(&set, &models(), &mut TestScratch::new(kind)).expect("compare");
        assert!(diff.is_empty(), "[{kind}] {diff}");
    }
}

#[test]
fn check_prints_the_difference_as_code() {
    let set = app_set();
    let mut changed = models();
    changed = changed.table(
        strata::ops::Table::new("badges")
            .column(Column::new("id", Type::BigInt).autoincrement())
            .column(Column::new("label", Type::String(40))),
    );
    for kind in engines() {
        let text =
            autogen::check(&set, &changed, &mut TestScratch::new(kind)).expect("compare").expect("differs");
        assert!(text.contains("op.create_table(Table::new(\"badges\").column(Column::new(\"id\", Type::BigInt).autoincrement())"), "[{kind}] {text}");
    }
}
