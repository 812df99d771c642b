//! The example history's round trip on both engines, with committed insta snapshots of the
//! schema after every migration (`tests/snapshots/`), the pytest-alembic style checks, a data
//! hook on the post slugs migration, and a deliberately irreversible history that must fail
//! with a clear difference.

// The example history; without this line the linker drops its registrations.
use strata::data::{DataConnection, DataError};
use strata::migration::{Migration, MigrationSet};
use strata::ops::{Column, DialectKind, Table};
use strata::testing::{self, DataHook, RoundTrip, RoundTripError};
use strata::testkit::engines;
use strata::types::Type;
use strata::value::Value;

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots");
/// The post slugs migration, which backfills a NOT NULL column from existing rows.
const POST_SLUGS: &str = "eda71479153d";

fn app_set() -> MigrationSet {
    app_migrations::migrations().expect("registry")
}

/// Two authors' posts, written while posts have no slug column yet.
fn seed_posts(db: &mut dyn DataConnection) -> Result<(), DataError> {
    db.execute("INSERT INTO organisations (id, name, slug) VALUES (1, 'Acme', 'acme')", &[])?;
    db.execute(
        "INSERT INTO users (id, organisation_id, email, full_name) VALUES ($1, 1, $2, $3), ($4, 1, $5, $6)",
        &[1.into(), "ada@acme.test".into(), "Ada".into(), 2.into(), "bob@acme.test".into(), "Bob".into()],
    )?;
    db.execute(
        "INSERT INTO posts (id, author_id, title) VALUES (1, 1, 'Hello, World!'), (2, 2, 'Ünïcode title')",
        &[],
    )?;
    Ok(())
}

/// Every post survived the NOT NULL change and got a slug from its title.
fn verify_slugs(db: &mut dyn DataConnection) -> Result<(), DataError> {
    let rows = db.query("SELECT id, slug FROM posts ORDER BY id", &[])?;
    let expected = [(1, "hello-world-1"), (2, "ünïcode-title-2")];
    let got: Vec<(i64, String)> = rows
        .iter()
        .map(|r| (r[0].as_i64().unwrap_or(-1), r[1].as_str().unwrap_or("<not text>").to_string()))
        .collect();
    let want: Vec<(i64, String)> = expected.iter().map(|(i, s)| (*i, s.to_string())).collect();
    if got != want {
        return Err(DataError::failed(format!("posts after the slug migration: {got:?}, expected {want:?}")));
    }
    Ok(())
}

fn slug_hook() -> DataHook {
    DataHook::new(POST_SLUGS).seed(seed_posts).verify(verify_slugs)
}

#[test]
fn the_example_history_round_trips_on_sqlite_with_snapshots() {
    RoundTrip::new(app_set(), DialectKind::Sqlite).snapshots(SNAPSHOTS).data_hook(slug_hook()).run();
}

#[test]
fn the_example_history_round_trips_on_postgres_with_snapshots() {
    // engines() leaves PostgreSQL out only when STRATA_SKIP_POSTGRES=1, and says so loudly.
    if engines().contains(&DialectKind::Postgres) {
        RoundTrip::new(app_set(), DialectKind::Postgres).snapshots(SNAPSHOTS).data_hook(slug_hook()).run();
    }
}

#[test]
fn pytest_alembic_style_checks_pass_on_every_engine() {
    let set = app_set();
    let head = testing::single_head(set.migrations()).expect("single head");
    assert_eq!(Some(head.revision), set.head().map(|m| m.revision));
    for kind in engines() {
        let schema = testing::upgrade_base_to_head(&set, kind).unwrap_or_else(|e| panic!("{e}"));
        assert!(schema.table("posts").is_some_and(|t| t.column("slug").is_some()), "[{kind}] {schema}");
        testing::downgrade_head_to_base(&set, kind).unwrap_or_else(|e| panic!("{e}"));
        testing::up_down_consistency(&set, kind).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A data hook that finds the wrong rows fails the round trip, naming the revision.
#[test]
fn a_failing_data_check_names_the_revision() {
    fn expect_nothing(db: &mut dyn DataConnection) -> Result<(), DataError> {
        let count = db.query("SELECT count(*) FROM posts", &[])?;
        match count.first().and_then(|r| r.first()) {
            Some(Value::Int(0)) => Ok(()),
            other => Err(DataError::failed(format!("expected no posts, found {other:?}"))),
        }
    }
    let hook = DataHook::new(POST_SLUGS).seed(seed_posts).verify(expect_nothing);
    let err = RoundTrip::new(app_set(), DialectKind::Sqlite).data_hook(hook).try_run().unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RoundTripError::DataHook { .. }), "{text}");
    assert!(text.contains("verify for eda71479153d failed: expected no posts"), "{text}");

    let err = RoundTrip::new(app_set(), DialectKind::Sqlite)
        .data_hook(DataHook::new("nope").verify(expect_nothing))
        .try_run()
        .unwrap_err();
    assert!(err.to_string().contains("\"nope\", which is not in the history"), "{err}");
}

// A two-step history whose second downgrade forgets to drop the column it added.
static CREATE_THINGS: Migration = Migration {
    revision: "a1",
    parents: &[],
    message: "create things",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.create_table(Table::new("things").column(Column::new("id", Type::Integer).primary_key()));
    },
    downgrade: |op| {
        op.drop_table("things");
    },
    file: "a1.rs",
    transactional: true,
    replaces: &[],
};
static IRREVERSIBLE: Migration = Migration {
    revision: "a2",
    parents: &["a1"],
    message: "add things.label, forget it on the way down",
    created: "2026-11-24T00:00:00Z",
    upgrade: |op| {
        op.add_column("things", Column::new("label", Type::String(40)).nullable());
    },
    downgrade: |_op| {},
    file: "a2.rs",
    transactional: true,
    replaces: &[],
};

#[test]
fn an_irreversible_migration_fails_the_round_trip_with_the_difference() {
    let set = MigrationSet::new(vec![&IRREVERSIBLE, &CREATE_THINGS]).expect("chain");
    for kind in engines() {
        let round_trip = RoundTrip::new(set.clone(), kind);
        let caught =
            std::panic::catch_unwind(move || round_trip.run()).expect_err("the round trip must fail");
        let message = caught
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| caught.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(
            message.contains(&format!(
                "[{kind}] the downgrade of a2 (add things.label, forget it on the way down) did not \
                 restore the schema it started from"
            )),
            "{message}"
        );
        assert!(message.contains("\n+   column label string(40) null\n"), "[{kind}] {message}");
        assert!(!message.contains("a1 ("), "[{kind}] only a2 is blamed: {message}");
    }
}

/// Column position is compared only on request: the roles migration's downgrade re-adds
/// users.is_admin, which comes back as the last column.
#[test]
fn strict_column_order_notices_a_restored_column_that_comes_back_last() {
    let err = RoundTrip::new(app_set(), DialectKind::Sqlite).strict_column_order().try_run().unwrap_err();
    assert!(
        matches!(&err, RoundTripError::NotReversible { revision, .. } if revision == "4c9379593903"),
        "{err}"
    );
    assert!(err.to_string().contains("-   column is_admin boolean not null default 0\n"), "{err}");
}
