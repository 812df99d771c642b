//! Models vs migrations on both engines: the example models match the history at head, so
//! `check` passes; for each kind of model change the generated migration compiles (in a copy
//! of the fixture crate), applies on both engines, leaves no difference with the models, and
//! its downgrade restores the schema at head.

mod common;

use app_migrations::models::models;
use common::fixture::{cargo_build, compiled_checksums, fixture};
use common::*;
use strata::autogen;
use strata::backend::{Backend, BackendError};
use strata::codegen::{self, MigrationHeader};
use strata::diff::{diff, Diff};
use strata::graph::Target;
use strata::migration::MigrationSet;
use strata::models::Models;
use strata::ops::{Action, Check, Column, DialectKind, ForeignKey, Index, Table, Unique};
use strata::runner::{apply_ops, Runner};
use strata::scratch::{Scratch, SqliteMemory};
use strata::types::Type;

fn app_set() -> MigrationSet {
    app_migrations::migrations().expect("registry")
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

/// The example models with `edit` applied to their tables and indexes.
fn edited(edit: impl FnOnce(&mut Vec<Table>, &mut Vec<Index>)) -> Models {
    let base = models();
    let (mut tables, mut indexes) = (base.tables().to_vec(), base.indexes().to_vec());
    edit(&mut tables, &mut indexes);
    let models = tables.into_iter().fold(Models::new(), Models::table);
    indexes.into_iter().fold(models, Models::index)
}

fn table_mut<'a>(tables: &'a mut [Table], name: &str) -> &'a mut Table {
    tables.iter_mut().find(|t| t.name == name).expect("table")
}

fn column_mut<'a>(tables: &'a mut [Table], table: &str, column: &str) -> &'a mut Column {
    table_mut(tables, table).columns.iter_mut().find(|c| c.name == column).expect("column")
}

/// One model change per kind of difference the diff knows.
fn changes() -> Vec<(&'static str, Models)> {
    vec![
        (
            "add a table with a foreign key, a default and an index",
            edited(|tables, indexes| {
                tables.push(
                    Table::new("badges")
                        .column(Column::new("id", Type::BigInt).autoincrement())
                        .column(Column::new("user_id", Type::BigInt))
                        .column(Column::new("label", Type::String(40)).default("it's \\ \"new\" ✓"))
                        .column(Column::new("awarded_at", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP"))
                        .foreign_key(
                            ForeignKey::new(["user_id"], "users", ["id"]).on_delete(Action::Cascade),
                        ),
                );
                indexes.push(Index::new("ix_badges_user_id", "badges", ["user_id"]));
            }),
        ),
        (
            "drop a table",
            edited(|tables, indexes| {
                tables.retain(|t| t.name != "comments");
                indexes.retain(|i| i.table != "comments");
            }),
        ),
        (
            "add columns",
            edited(|tables, _| {
                let users = table_mut(tables, "users");
                users.columns.push(Column::new("nickname", Type::String(40)).nullable());
                users.columns.push(Column::new("score", Type::Integer).default(0));
                users.columns.push(Column::new("verified", Type::Boolean).default(false));
            }),
        ),
        (
            "drop a column",
            edited(|tables, _| table_mut(tables, "users").columns.retain(|c| c.name != "last_login_at")),
        ),
        (
            "change a type, a nullability and defaults",
            edited(|tables, _| {
                // Not posts.title: PostgreSQL refuses to retype a column the published_posts view reads.
                column_mut(tables, "users", "email").ty = Type::String(320);
                column_mut(tables, "posts", "published_at").nullable = false;
                *column_mut(tables, "posts", "status") =
                    Column::new("status", Type::String(20)).default("published");
                column_mut(tables, "posts", "body").default = None;
            }),
        ),
        (
            "swap indexes",
            edited(|_, indexes| {
                indexes.retain(|i| i.name != "ix_posts_author_id");
                indexes.push(Index::new("ix_users_created_at", "users", ["created_at"]));
            }),
        ),
        (
            "add a unique constraint and a check",
            edited(|tables, _| {
                let orgs = table_mut(tables, "organisations");
                *orgs = orgs.clone().unique(Unique::new(["name"]));
                let comments = table_mut(tables, "comments");
                *comments =
                    comments.clone().check(Check::new("ck_comments_body_not_blank", "length(body) > 0"));
            }),
        ),
        (
            "change a foreign key's action",
            edited(|tables, _| {
                table_mut(tables, "posts").foreign_keys[0].on_delete = Action::Cascade;
            }),
        ),
    ]
}

fn header(index: usize, parent: &str, message: &str) -> MigrationHeader {
    MigrationHeader {
        revision: format!("0100{index:04}"),
        parent: Some(parent.to_string()),
        message: message.to_string(),
        created: "2026-11-24T10:00:00Z".into(),
    }
}

/// The models' schema on `kind`, built on a scratch database.
fn models_schema(models: &Models, kind: DialectKind) -> strata::schema::Schema {
    let mut scratch = TestScratch::new(kind);
    let mut conn = scratch.open().expect("scratch");
    models.build_on(conn.as_mut()).unwrap_or_else(|e| panic!("[{kind}] {e}"))
}

/// Applies a generated diff after the history at head on `kind`: afterwards the database
/// matches the models; after its downgrade it matches head again.
fn apply_on(kind: DialectKind, what: &str, generated: &Diff, models: &Models) {
    let (_db, mut conn) = open(kind);
    let conn = conn.as_mut();
    Runner::new(app_set()).upgrade(conn, &Target::Head).unwrap_or_else(|e| panic!("[{kind}] {e}"));
    let at_head = schema(conn);
    apply_ops(conn, "generated upgrade", generated.upgrade.clone())
        .unwrap_or_else(|e| panic!("[{kind}] {what}: upgrade: {e}"));
    let left = diff(&schema(conn), &models_schema(models, kind));
    assert!(left.is_empty(), "[{kind}] {what}: after the generated upgrade the models still differ:\n{left}");
    apply_ops(conn, "generated downgrade", generated.downgrade.clone())
        .unwrap_or_else(|e| panic!("[{kind}] {what}: downgrade: {e}"));
    let restored = schema(conn).with_sorted_columns();
    assert_eq!(
        restored,
        at_head.with_sorted_columns(),
        "[{kind}] {what}: the downgrade did not restore head:\n{}",
        strata::testing::schema_diff(&at_head.with_sorted_columns(), &restored)
    );
}

#[test]
fn each_kind_of_model_change_generates_a_migration_that_compiles_applies_and_reverts() {
    let set = app_set();
    let mut files = Vec::new();
    let mut expected = std::collections::HashMap::new();
    let mut parent = "0002bbbb".to_string();
    for (index, (what, changed)) in changes().into_iter().enumerate() {
        // The SQLite scratch is what `create --auto` uses for a SQLite application; the
        // migration it writes must hold on PostgreSQL too.
        let generated = autogen::autogenerate(&set, &changed, &mut SqliteMemory).expect("compare");
        assert!(!generated.is_empty(), "{what}: the change must show");
        for kind in engines() {
            apply_on(kind, what, &generated, &changed);
        }
        if engines().contains(&DialectKind::Postgres) {
            let on_pg = autogen::autogenerate(&set, &changed, &mut TestScratch::new(DialectKind::Postgres))
                .expect("compare");
            apply_on(DialectKind::Postgres, what, &on_pg, &changed);
        }
        let header = header(index, &parent, what);
        let source = codegen::migration_source(&header, &generated);
        assert!(
            !source.contains("app_migrations") && !source.contains("models::"),
            "{what}: self-contained:\n{source}"
        );
        parent = header.revision.clone();
        expected.insert(
            header.revision.clone(),
            strata::checksum::of_plan(&generated.upgrade, &generated.downgrade),
        );
        files.push((header.file_name(), source));
    }
    let extra: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let dir = fixture(&extra);
    let (ok, stderr) = cargo_build(dir.path());
    let sources: Vec<&str> = files.iter().map(|(_, t)| t.as_str()).collect();
    assert!(ok, "the generated migrations must compile:\n{stderr}\n{}", sources.join("\n"));
    // The compiled modules record exactly the ops that were applied above on both engines.
    let compiled = compiled_checksums(dir.path());
    for (revision, checksum) in &expected {
        assert_eq!(compiled.get(revision), Some(checksum), "{revision}: the compiled module's plan differs");
    }
}

#[test]
fn a_possible_rename_is_generated_as_drop_and_add_with_a_note() {
    let renamed = edited(|tables, _| column_mut(tables, "users", "full_name").name = "display_name".into());
    let generated = autogen::autogenerate(&app_set(), &renamed, &mut SqliteMemory).expect("compare");
    let source = codegen::migration_source(&header(0, "0002bbbb", "rename?"), &generated);
    assert!(
        source.contains("// NOTE: column users.full_name is dropped and users.display_name added"),
        "{source}"
    );
    assert!(source.contains("op.drop_column(\"users\", \"full_name\");"), "{source}");
    assert!(
        source.contains(
            "op.add_column(\"users\", Column::new(\"display_name\", Type::String(100)).nullable());"
        ),
        "{source}"
    );
}

#[test]
fn a_fresh_database_from_the_models_is_stamped_at_head_and_refused_when_they_differ() {
    let set = app_set();
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        let stamped = autogen::create_from_models(&set, &models(), &mut SqliteMemory, conn)
            .unwrap_or_else(|e| panic!("[{kind}] {e}"));
        let head = set.head().map(|m| m.revision.to_string());
        assert_eq!(stamped, head, "[{kind}]");
        let runner = Runner::new(set.clone());
        assert_eq!(runner.current(conn).unwrap().last().map(|m| m.revision.to_string()), head, "[{kind}]");
        assert!(runner.pending(conn).unwrap().is_empty(), "[{kind}]");
        let left = diff(&schema(conn), &models_schema(&models(), kind));
        assert!(left.is_empty(), "[{kind}] {left}");
        let history = runner.history(conn).unwrap();
        assert_eq!(history.len(), 1, "[{kind}]");
        assert_eq!(history[0].message, "created from models", "[{kind}]");

        let err = autogen::create_from_models(&set, &models(), &mut SqliteMemory, conn).unwrap_err();
        assert!(err.to_string().contains("the database is not empty"), "[{kind}] {err}");
        let (_db2, mut empty) = open(kind);
        let changed = edited(|tables, _| table_mut(tables, "users").columns.retain(|c| c.name != "role"));
        let err = autogen::create_from_models(&set, &changed, &mut SqliteMemory, empty.as_mut()).unwrap_err();
        assert!(err.to_string().contains("op.drop_column(\"users\", \"role\");"), "[{kind}] {err}");
        assert!(schema(empty.as_mut()).tables.is_empty(), "[{kind}] nothing created");
    }
}

#[test]
fn create_auto_honours_a_chosen_revision_id() {
    let work = tempfile::tempdir().unwrap();
    let versions = work.path().join("versions");
    std::fs::create_dir_all(&versions).unwrap();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/app-migrations/src/versions");
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, versions.join(path.file_name().unwrap())).unwrap();
    }
    let overrides = strata::config::Overrides {
        env: Some("dev".into()),
        database_url: Some(format!("sqlite://{}", work.path().join("app.db").display())),
        config_file: None,
    };
    let mut settings = strata::config::Settings::load(&overrides, work.path()).unwrap();
    settings.versions_dir = Some(versions.clone());
    let changed = edited(|tables, _| table_mut(tables, "users").columns.retain(|c| c.name != "role"));
    let manager = strata::MigrationManager::new(app_set(), settings).with_models(changed);
    let err = manager.create_migration_auto("drop the role", Some("../evil")).unwrap_err();
    assert!(err.to_string().contains("revision id \"../evil\" cannot be used"), "{err}");
    let created =
        manager.create_migration_auto("drop the role", Some("abc123")).unwrap().expect("a migration");
    assert_eq!(created.revision, "abc123");
    assert!(
        // The creation time first (YYYYMMDD_HHMM_), then the revision and the slug.
        created.path.file_name().unwrap().to_string_lossy().ends_with("_rabc123_drop_the_role.rs")
            && created.path.file_name().unwrap().to_string_lossy().as_bytes()[..8]
                .iter()
                .all(u8::is_ascii_digit),
        "{:?}",
        created.path
    );
    let text = std::fs::read_to_string(&created.path).unwrap();
    assert!(text.contains("abc123") && text.contains("drop_column(\"users\", \"role\")"), "{text}");
}
