//! The SQLite backend against in-memory and file databases.

use super::data::numbered_placeholders;
use super::introspect::portable_type;
use super::*;
use crate::backend::{Backend, BackendError, DatabaseUrl, Direction, Record, VersionTables};
use crate::data::{DataConnection, DataError, Row};
use crate::ops::{Action, DialectKind};
use crate::schema::{Check, ForeignKey, Index, PrimaryKey, Table, Unique};
use crate::types::Type;
use crate::value::Value;
use chrono::Utc;
use std::time::Duration;

use crate::dialect::{self, Dialect};
use crate::ops::{self, AlterColumn, Op};
use chrono::TimeZone;

fn mem() -> SqliteBackend {
    SqliteBackend::open(&DatabaseUrl::SqliteMemory, VersionTables::default()).unwrap()
}

fn sqlite() -> &'static dyn Dialect {
    dialect::for_kind(DialectKind::Sqlite)
}

fn table(b: &mut SqliteBackend, name: &str) -> Table {
    b.introspect().unwrap().tables.remove(name).unwrap_or_else(|| panic!("no table {name}"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn query(b: &mut SqliteBackend, sql: &str) -> Vec<Row> {
    DataConnection::query(b, sql, &[]).unwrap()
}

/// Applies one op the way the runner does: foreign keys off around a rebuild, the
/// snapshot read inside the transaction, a foreign key check before commit.
fn apply(b: &mut SqliteBackend, op: &Op) {
    let rebuild = sqlite().needs_snapshot(op);
    let were_on = if rebuild.is_some() { b.set_foreign_keys(false).unwrap() } else { false };
    b.begin().unwrap();
    let snapshot = rebuild.map(|t| b.snapshot_table(&t).unwrap().unwrap());
    for statement in sqlite().render(op, snapshot.as_ref()).unwrap() {
        Backend::execute(b, &statement).unwrap_or_else(|e| panic!("{e}\n{statement}"));
    }
    assert_eq!(b.foreign_key_violations().unwrap(), Vec::<String>::new());
    b.commit().unwrap();
    if were_on {
        b.set_foreign_keys(true).unwrap();
    }
}

fn record(revision: &str, direction: Direction, new_version: Option<&str>) -> Record {
    Record {
        revision: revision.into(),
        message: format!("message of {revision}"),
        direction,
        new_version: new_version.map(str::to_string),
        applied_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        duration: Duration::from_micros(1500),
        checksum: Some("abc".into()),
        acknowledged: None,
    }
}

#[test]
fn introspects_every_portable_type() {
    let types = [
        Type::SmallInt,
        Type::Integer,
        Type::BigInt,
        Type::Text,
        Type::String(255),
        Type::Boolean,
        Type::Date,
        Type::Timestamp,
        Type::TimestampTz,
        Type::Numeric(10, 2),
        Type::Float,
        Type::Double,
        Type::Bytes,
        Type::Json,
        Type::Uuid,
        Type::Other("MONEY".into()),
    ];
    let mut def = ops::Table::new("all_types");
    def.columns =
        types.iter().enumerate().map(|(i, ty)| ops::Column::new(format!("c{i}"), ty.clone())).collect();
    let mut b = mem();
    for sql in sqlite().render(&Op::CreateTable(def), None).unwrap() {
        Backend::execute(&mut b, &sql).unwrap();
    }
    let t = table(&mut b, "all_types");
    let got: Vec<Type> = t.columns.iter().map(|c| c.ty.clone()).collect();
    assert_eq!(got, types);
    assert!(t.columns.iter().all(|c| !c.nullable && c.default.is_none() && !c.autoincrement));
}

#[test]
fn the_standard_names_of_databases_made_before_the_text_affinity_names_still_read_the_same() {
    for (old, new, ty) in [
        ("DATE", "DATE_TEXT", Type::Date),
        ("TIMESTAMP", "TIMESTAMP_TEXT", Type::Timestamp),
        ("TIMESTAMPTZ", "TIMESTAMPTZ_TEXT", Type::TimestampTz),
        ("NUMERIC(10, 2)", "NUMERIC_TEXT(10, 2)", Type::Numeric(10, 2)),
        ("JSON", "JSON_TEXT", Type::Json),
        ("UUID", "UUID_TEXT", Type::Uuid),
    ] {
        assert_eq!(portable_type(old), ty);
        assert_eq!(portable_type(new), ty);
        assert_eq!(sqlite().type_name(&ty), new);
    }
}

#[test]
fn declared_types_are_read_tolerantly() {
    assert_eq!(portable_type("integer"), Type::Integer);
    assert_eq!(portable_type(" Double   Precision "), Type::Double);
    assert_eq!(portable_type("varchar ( 20 )"), Type::String(20));
    assert_eq!(portable_type("NUMERIC(10,2)"), Type::Numeric(10, 2));
    assert_eq!(portable_type("numeric( 8 , 3 )"), Type::Numeric(8, 3));
    assert_eq!(portable_type("NUMERIC"), Type::Other("NUMERIC".into()));
    assert_eq!(portable_type("VARCHAR(x)"), Type::Other("VARCHAR(x)".into()));
    assert_eq!(portable_type("INT"), Type::Other("INT".into()));
    assert_eq!(portable_type(""), Type::Other(String::new()));
}

#[test]
fn introspects_named_and_unnamed_constraints() {
    let mut b = mem();
    Backend::execute(
        &mut b,
        "CREATE TABLE parent (a INTEGER NOT NULL, b TEXT NOT NULL, CONSTRAINT pk_parent PRIMARY KEY (a, b));
         CREATE TABLE child (
             id INTEGER CONSTRAINT pk_child PRIMARY KEY AUTOINCREMENT,
             pa INTEGER, pb TEXT,
             code TEXT DEFAULT 'a,b' UNIQUE,
             qty INTEGER NOT NULL DEFAULT 0 CONSTRAINT ck_qty CHECK (qty >= 0 AND qty IN (1, 2, (3))),
             note TEXT CHECK (note <> 'x)(, y'),
             CONSTRAINT uq_pair UNIQUE (PA, pb),
             CONSTRAINT fk_parent FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE ON UPDATE SET NULL,
             FOREIGN KEY (pa, pb) REFERENCES parent ON DELETE RESTRICT
         );",
    )
    .unwrap();
    let parent = table(&mut b, "parent");
    assert_eq!(
        parent.primary_key,
        Some(PrimaryKey { name: Some("pk_parent".into()), columns: strings(&["a", "b"]) })
    );

    let t = table(&mut b, "child");
    assert_eq!(t.primary_key, Some(PrimaryKey { name: Some("pk_child".into()), columns: strings(&["id"]) }));
    let id = t.column("id").unwrap();
    assert!(id.autoincrement && !id.nullable);
    assert_eq!(t.column("code").unwrap().default.as_deref(), Some("'a,b'"));
    assert_eq!(t.column("qty").unwrap().default.as_deref(), Some("0"));
    assert_eq!(
        t.uniques,
        [
            Unique { name: None, columns: strings(&["code"]) },
            Unique { name: Some("uq_pair".into()), columns: strings(&["pa", "pb"]) },
        ]
    );
    assert_eq!(
        t.checks,
        [
            Check { name: None, expr: "note <> 'x)(, y'".into() },
            Check { name: Some("ck_qty".into()), expr: "qty >= 0 AND qty IN (1, 2, (3))".into() },
        ]
    );
    assert_eq!(
        t.foreign_keys,
        [
            ForeignKey {
                name: None,
                columns: strings(&["pa", "pb"]),
                ref_table: "parent".into(),
                ref_columns: strings(&["a", "b"]),
                on_delete: Action::Restrict,
                on_update: Action::NoAction,
            },
            ForeignKey {
                name: Some("fk_parent".into()),
                columns: strings(&["pa", "pb"]),
                ref_table: "parent".into(),
                ref_columns: strings(&["a", "b"]),
                on_delete: Action::Cascade,
                on_update: Action::SetNull,
            },
        ]
    );
    assert!(t.indexes.is_empty(), "constraint autoindexes are not indexes: {:?}", t.indexes);
}

#[test]
fn nullability_is_what_sqlite_enforces() {
    let mut b = mem();
    Backend::execute(
        &mut b,
        "CREATE TABLE rowid_alias (id INTEGER PRIMARY KEY, x TEXT);
         CREATE TABLE text_key (k TEXT PRIMARY KEY, n TEXT NOT NULL);
         CREATE TABLE desc_key (id INTEGER PRIMARY KEY DESC);
         CREATE TABLE no_rowid (k TEXT PRIMARY KEY) WITHOUT ROWID;",
    )
    .unwrap();
    let s = b.introspect().unwrap();
    let nullable = |t: &str, c: &str| s.table(t).unwrap().column(c).unwrap().nullable;
    assert!(!nullable("rowid_alias", "id"));
    assert!(nullable("rowid_alias", "x"));
    assert!(nullable("text_key", "k"), "a TEXT primary key takes NULL in a rowid table");
    assert!(!nullable("text_key", "n"));
    assert!(nullable("desc_key", "id"), "INTEGER PRIMARY KEY DESC is no rowid alias");
    assert!(!nullable("no_rowid", "k"));
}

#[test]
fn explicit_indexes_keep_expressions() {
    let mut b = mem();
    Backend::execute(
        &mut b,
        "CREATE TABLE t (a TEXT UNIQUE, b TEXT, PRIMARY KEY (a, b));
         CREATE INDEX ix_b ON t (b DESC);
         CREATE UNIQUE INDEX ix_expr ON t (lower(a), b COLLATE NOCASE) WHERE b IS NOT NULL;",
    )
    .unwrap();
    let t = table(&mut b, "t");
    assert_eq!(
        t.indexes,
        [
            Index { name: "ix_b".into(), columns: strings(&["b"]), unique: false },
            Index { name: "ix_expr".into(), columns: strings(&["lower(a)", "b"]), unique: true },
        ]
    );
}

#[test]
fn hostile_identifiers_round_trip() {
    let mut b = mem();
    Backend::execute(
        &mut b,
        r#"CREATE TABLE "Ünïcode" ("--x" TEXT NOT NULL CONSTRAINT "pk ""u""" PRIMARY KEY);
           CREATE TABLE "we""ird" (
               "semi;colon" INTEGER CONSTRAINT "c;k" CHECK ("semi;colon" > 0),
               "with space" TEXT CONSTRAINT "--fk" REFERENCES "Ünïcode" ("--x") ON DELETE SET DEFAULT,
               "Ünïcode" TEXT DEFAULT '--not a comment',
               "--x" TEXT,
               CONSTRAINT "u""q; --" UNIQUE ("--x", "Ünïcode")
           );
           CREATE INDEX "i x;" ON "we""ird" ("with space");"#,
    )
    .unwrap();
    let s = b.introspect().unwrap();
    let names: Vec<&String> = s.tables.keys().collect();
    assert_eq!(names, ["we\"ird", "Ünïcode"]);
    let u = s.table("Ünïcode").unwrap();
    assert_eq!(u.primary_key, Some(PrimaryKey { name: Some("pk \"u\"".into()), columns: strings(&["--x"]) }));
    let t = s.table("we\"ird").unwrap();
    let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["semi;colon", "with space", "Ünïcode", "--x"]);
    assert_eq!(t.column("Ünïcode").unwrap().default.as_deref(), Some("'--not a comment'"));
    assert_eq!(t.check("c;k").unwrap().expr, "\"semi;colon\" > 0");
    assert_eq!(t.unique("u\"q; --").unwrap().columns, strings(&["--x", "Ünïcode"]));
    let fk = t.foreign_key("--fk").unwrap();
    assert_eq!((fk.ref_table.as_str(), fk.on_delete), ("Ünïcode", Action::SetDefault));
    assert_eq!(t.index("i x;").unwrap().columns, strings(&["with space"]));

    let snap = b.snapshot_table("we\"ird").unwrap().unwrap();
    assert_eq!(snap.indexes_sql.len(), 1);
    assert_eq!(snap.indexes_sql[0].0, "i x;");
}

#[test]
fn bookkeeping_and_internal_tables_are_not_introspected() {
    let tables = VersionTables { version: "my \"version\"".into(), history: "my;history".into() };
    let mut b = SqliteBackend::open(&DatabaseUrl::SqliteMemory, tables).unwrap();
    b.ensure_version_tables().unwrap();
    Backend::execute(
        &mut b,
        "CREATE TABLE kept (id INTEGER PRIMARY KEY AUTOINCREMENT);
         CREATE TABLE _strata_rebuild_kept (id INTEGER);
         CREATE TABLE sqliteish (id INTEGER);
         INSERT INTO kept DEFAULT VALUES;",
    )
    .unwrap();
    let s = b.introspect().unwrap();
    let names: Vec<&String> = s.tables.keys().collect();
    assert_eq!(names, ["kept", "sqliteish"]);
    assert!(b.snapshot_table("missing").unwrap().is_none());
    assert!(b.snapshot_table("KEPT").unwrap().is_some(), "table names are case-insensitive");
}

#[test]
fn placeholder_rewrite_leaves_quotes_and_comments_alone() {
    assert_eq!(numbered_placeholders("SELECT 1"), "SELECT 1");
    assert_eq!(numbered_placeholders("VALUES ($2, $1, $10)"), "VALUES (?2, ?1, ?10)");
    assert_eq!(
        numbered_placeholders("SELECT '$1', \"$1\", `$1`, [$1], a$1, $1 -- $1\n, /* $1 */ $2"),
        "SELECT '$1', \"$1\", `$1`, [$1], a$1, ?1 -- $1\n, /* $1 */ ?2"
    );
    assert_eq!(numbered_placeholders("SELECT 'it''s $1', $1"), "SELECT 'it''s $1', ?1");
    assert_eq!(numbered_placeholders("SELECT 'open $1"), "SELECT 'open $1");
    assert_eq!(numbered_placeholders("SELECT $name, Ü$1"), "SELECT $name, Ü$1");
}

#[test]
fn data_connection_binds_numbered_placeholders() {
    let mut b = mem();
    Backend::execute(&mut b, "CREATE TABLE t (a TEXT, b INTEGER, c REAL, d BLOB, e TEXT)").unwrap();
    let data = b.data();
    assert_eq!(data.dialect(), DialectKind::Sqlite);
    let n = data
        .execute(
            "INSERT INTO t (b, a, c, d, e) VALUES ($2, $1, $3, $4, '$1')",
            &[Value::from("first"), Value::Int(7), Value::Float(1.5), Value::Bytes(vec![0, 1])],
        )
        .unwrap();
    assert_eq!(n, 1);
    data.execute("INSERT INTO t (a, b) VALUES ($1, $2)", &[Value::Null, Value::Bool(true)]).unwrap();
    let rows =
        data.query("SELECT a, b, c, d, e FROM t WHERE b >= $1 ORDER BY b DESC", &[Value::Int(1)]).unwrap();
    assert_eq!(
        rows,
        [
            vec![
                Value::Text("first".into()),
                Value::Int(7),
                Value::Float(1.5),
                Value::Bytes(vec![0, 1]),
                Value::Text("$1".into())
            ],
            vec![Value::Null, Value::Int(1), Value::Null, Value::Null, Value::Null],
        ]
    );
    let err = data.execute("INSERT INTO nope VALUES ($1)", &[Value::Int(1)]).unwrap_err();
    match err {
        DataError::Database { statement, message } => {
            assert_eq!(statement, "INSERT INTO nope VALUES ($1)");
            assert!(message.contains("no such table"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn record_and_commit_sets_version_and_history() {
    let mut b = mem();
    assert_eq!(b.current_revision().unwrap(), None);
    assert_eq!(b.history().unwrap(), []);
    b.ensure_version_tables().unwrap();
    b.ensure_version_tables().unwrap();
    assert_eq!(b.current_revision().unwrap(), None);

    b.begin().unwrap();
    b.record_and_commit(&[record("r1", Direction::Up, Some("r1")), record("r2", Direction::Up, Some("r2"))])
        .unwrap();
    assert!(b.conn.is_autocommit(), "record_and_commit commits");
    assert_eq!(b.current_revision().unwrap().as_deref(), Some("r2"));

    b.begin().unwrap();
    b.record_and_commit(&[record("r2", Direction::Down, Some("r1"))]).unwrap();
    assert_eq!(b.current_revision().unwrap().as_deref(), Some("r1"));
    b.begin().unwrap();
    b.record_and_commit(&[record("r1", Direction::Down, None)]).unwrap();
    assert_eq!(b.current_revision().unwrap(), None);

    let history = b.history().unwrap();
    let got: Vec<(i64, &str, Direction)> =
        history.iter().map(|h| (h.id, h.revision.as_str(), h.direction)).collect();
    assert_eq!(
        got,
        [
            (1, "r1", Direction::Up),
            (2, "r2", Direction::Up),
            (3, "r2", Direction::Down),
            (4, "r1", Direction::Down)
        ]
    );
    let first = &history[0];
    assert_eq!(first.message, "message of r1");
    assert_eq!(first.applied_at, Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
    assert!((first.duration_ms - 1.5).abs() < 1e-9);
    assert_eq!(first.checksum.as_deref(), Some("abc"));
    let stored = query(&mut b, "SELECT applied_at FROM strata_history WHERE id = 1");
    assert_eq!(stored, [vec![Value::Text("2026-01-02T03:04:05.000000Z".into())]]);
}

#[test]
fn rollback_leaves_nothing() {
    let mut b = mem();
    b.ensure_version_tables().unwrap();
    b.begin().unwrap();
    Backend::execute(&mut b, "CREATE TABLE t (a INTEGER)").unwrap();
    b.rollback().unwrap();
    b.rollback().unwrap(); // nothing open: a no-op
    assert!(b.introspect().unwrap().tables.is_empty());
    assert_eq!(b.current_revision().unwrap(), None);
    assert_eq!(b.history().unwrap(), []);
}

#[test]
fn corrupt_bookkeeping_is_reported() {
    let mut b = mem();
    b.ensure_version_tables().unwrap();
    // An older strata made the table without its one-row index.
    Backend::execute(&mut b, "DROP INDEX strata_version_one_row").unwrap();
    Backend::execute(&mut b, "INSERT INTO strata_version (revision) VALUES ('a'), ('b')").unwrap();
    assert!(
        matches!(b.current_revision(), Err(BackendError::CorruptVersionTable { table, .. }) if table == "strata_version")
    );
    Backend::execute(
        &mut b,
        "INSERT INTO strata_history (revision, message, direction, applied_at, duration_ms) \
         VALUES ('a', 'm', 'sideways', '2026-01-01T00:00:00Z', 1)",
    )
    .unwrap();
    assert!(matches!(b.history(), Err(BackendError::CorruptVersionTable { .. })));
}

#[test]
fn errors_name_the_statement_and_the_target() {
    let mut b = mem();
    let err = Backend::execute(&mut b, "CREATE TABLE t (a INTEGER); SELEKT 1").unwrap_err();
    assert_eq!(err.statement(), Some("CREATE TABLE t (a INTEGER); SELEKT 1"));
    assert!(err.to_string().contains("syntax error"), "{err}");

    let url = DatabaseUrl::sqlite("/nonexistent-strata-dir/x/app.db");
    match SqliteBackend::open(&url, VersionTables::default()) {
        Err(BackendError::Connect { target, .. }) => {
            assert_eq!(target, "sqlite:///nonexistent-strata-dir/x/app.db")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn foreign_key_switch_and_violations() {
    let mut b = mem();
    Backend::execute(
        &mut b,
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid INTEGER REFERENCES p (id));",
    )
    .unwrap();
    assert!(Backend::execute(&mut b, "INSERT INTO c VALUES (1)").is_err(), "foreign keys are on after open");
    assert!(b.set_foreign_keys(false).unwrap());
    assert!(!b.set_foreign_keys(false).unwrap());
    Backend::execute(&mut b, "INSERT INTO c VALUES (1)").unwrap();
    let violations = b.foreign_key_violations().unwrap();
    assert_eq!(violations, ["c rowid 1 references a missing row of p (foreign key 0)"]);
    assert!(!b.set_foreign_keys(true).unwrap());
}

/// A parent and a child table with every kind of constraint, an index and a trigger,
/// names with double quotes in them, and a few rows.
fn rebuild_fixture() -> SqliteBackend {
    let mut b = mem();
    let parent = ops::Table::new("pa\"rent")
        .primary_key_named("pk \"parent\"")
        .column(ops::Column::new("id", Type::Integer).autoincrement());
    let mut qty = ops::Column::new("qty", Type::Integer).default(0);
    qty.check = Some(("ck \"qty\"".into(), "qty >= 0".into()));
    let child = ops::Table::new("child")
        .primary_key_named("pk \"child\"")
        .column(ops::Column::new("id", Type::Integer).autoincrement())
        .column(ops::Column::new("parent_id", Type::Integer).nullable())
        .column(ops::Column::new("email", Type::String(100)).nullable().default("x"))
        .column(qty)
        .unique(ops::Unique::new(["email"]).named("uq \"email\""));
    for op in [Op::CreateTable(parent), Op::CreateTable(child)] {
        apply(&mut b, &op);
    }
    Backend::execute(
        &mut b,
        r#"CREATE INDEX "ix ""email""" ON "child" ("email");
           CREATE TRIGGER "tr ""qty""" AFTER INSERT ON "child" BEGIN
               UPDATE "child" SET qty = qty + 1 WHERE id = NEW.id;
           END;
           INSERT INTO "pa""rent" DEFAULT VALUES;
           INSERT INTO "pa""rent" DEFAULT VALUES;
           INSERT INTO child (parent_id, email) VALUES (1, 'a'), (2, NULL), (1, 'c');
           UPDATE child SET email = 'b' WHERE email IS NULL;
           CREATE VIEW "v ""child""" AS SELECT c.email FROM child AS c JOIN "pa""rent" AS p ON p.id = c.parent_id;
           DELETE FROM child WHERE id = 3;"#,
    )
    .unwrap();
    b
}

fn rows_of_child(b: &mut SqliteBackend) -> Vec<Row> {
    query(b, "SELECT id, parent_id, email, qty FROM child ORDER BY id")
}

#[test]
fn rebuild_alter_column_keeps_rows_indexes_triggers_and_names() {
    let mut b = rebuild_fixture();
    let before = rows_of_child(&mut b);
    assert_eq!(before.len(), 2);
    let old = table(&mut b, "child");
    assert!(old.column("email").unwrap().nullable);

    let change = AlterColumn::new().nullable(false).ty(Type::Text);
    apply(&mut b, &Op::AlterColumn { table: "child".into(), column: "email".into(), change });

    assert_eq!(rows_of_child(&mut b), before);
    let new = table(&mut b, "child");
    let email = new.column("email").unwrap();
    assert_eq!(
        (email.ty.clone(), email.nullable, email.default.as_deref()),
        (Type::Text, false, Some("'x'"))
    );
    assert_eq!(new.primary_key, old.primary_key);
    assert!(new.column("id").unwrap().autoincrement);
    assert_eq!((&new.uniques, &new.checks, &new.indexes), (&old.uniques, &old.checks, &old.indexes));
    assert!(new.unique("uq \"email\"").is_some() && new.check("ck \"qty\"").is_some());

    let snap = b.snapshot_table("child").unwrap().unwrap();
    assert_eq!(snap.indexes_sql.len(), 1);
    assert_eq!(snap.triggers_sql.len(), 1);
    assert_eq!(snap.triggers_sql[0].0, "tr \"qty\"");
    // The trigger is back, and AUTOINCREMENT did not reuse the deleted id 3.
    Backend::execute(&mut b, "INSERT INTO child (parent_id, email) VALUES (2, 'd')").unwrap();
    let last = query(&mut b, "SELECT id, qty FROM child ORDER BY id DESC LIMIT 1");
    assert_eq!(last, [vec![Value::Int(4), Value::Int(1)]]);
    assert!(b.introspect().unwrap().tables.keys().all(|t| !t.starts_with(REBUILD_PREFIX)));
    assert_eq!(query(&mut b, "SELECT count(*) FROM \"v \"\"child\"\"\"").len(), 1, "the view still works");
}

#[test]
fn rebuild_add_foreign_key_then_drop_constraints() {
    let mut b = rebuild_fixture();
    let before = rows_of_child(&mut b);
    let fk = ops::ForeignKey::new(["parent_id"], "pa\"rent", ["id"])
        .named("fk \"parent\"")
        .on_delete(Action::Cascade);
    apply(&mut b, &Op::AddForeignKey { table: "child".into(), fk });
    assert_eq!(rows_of_child(&mut b), before);
    let t = table(&mut b, "child");
    let fk = t.foreign_key("fk \"parent\"").unwrap();
    assert_eq!((fk.ref_table.as_str(), fk.on_delete), ("pa\"rent", Action::Cascade));
    assert_eq!(fk.ref_columns, strings(&["id"]));
    // Enforced once the rebuild is done.
    assert!(Backend::execute(&mut b, "INSERT INTO child (parent_id) VALUES (99)").is_err());
    Backend::execute(&mut b, "DELETE FROM \"pa\"\"rent\" WHERE id = 2").unwrap();
    assert_eq!(rows_of_child(&mut b).len(), 1, "ON DELETE CASCADE");

    apply(&mut b, &Op::DropConstraint { table: "child".into(), name: "uq \"email\"".into() });
    let t = table(&mut b, "child");
    assert!(t.uniques.is_empty());
    assert!(t.foreign_key("fk \"parent\"").is_some() && t.check("ck \"qty\"").is_some());
    assert_eq!(t.indexes.len(), 1);

    apply(&mut b, &Op::DropConstraint { table: "child".into(), name: "fk \"parent\"".into() });
    apply(&mut b, &Op::DropConstraint { table: "child".into(), name: "ck \"qty\"".into() });
    let t = table(&mut b, "child");
    assert!(t.foreign_keys.is_empty() && t.checks.is_empty());
    assert_eq!(t.primary_key.as_ref().and_then(|p| p.name.as_deref()), Some("pk \"child\""));
    assert_eq!(b.snapshot_table("child").unwrap().unwrap().triggers_sql.len(), 1);
}

#[test]
fn rebuild_keeps_compound_defaults() {
    let mut b = mem();
    Backend::execute(
        &mut b,
        "CREATE TABLE d (id INTEGER PRIMARY KEY, a INTEGER DEFAULT ((1) + (2)), \
         t TEXT DEFAULT ('x' || 'y'), n INTEGER DEFAULT -1, s TEXT DEFAULT 'it''s', u TEXT)",
    )
    .unwrap();
    let before = table(&mut b, "d");
    let change = AlterColumn::new().nullable(false);
    apply(&mut b, &Op::AlterColumn { table: "d".into(), column: "u".into(), change: change.default("z") });
    let after = table(&mut b, "d");
    assert_eq!(after.columns[..5], before.columns[..5]);
    Backend::execute(&mut b, "INSERT INTO d (id) VALUES (1)").unwrap();
    let row = query(&mut b, "SELECT a, t, n, s, u FROM d");
    let expected = [Value::Int(3), "xy".into(), Value::Int(-1), "it's".into(), "z".into()];
    assert_eq!(row, [expected.to_vec()]);
}

#[test]
fn rebuilding_a_referenced_or_self_referencing_table_keeps_references() {
    let mut b = mem();
    Backend::execute(
        &mut b,
        "CREATE TABLE node (id INTEGER PRIMARY KEY, up INTEGER CONSTRAINT fk_up REFERENCES node (id), tag TEXT);
         CREATE TABLE leaf (node_id INTEGER NOT NULL REFERENCES node (id) ON DELETE CASCADE);
         INSERT INTO node VALUES (1, NULL, 'a'), (2, 1, 'b');
         INSERT INTO leaf VALUES (2);",
    )
    .unwrap();
    let change = AlterColumn::new().ty(Type::String(10));
    apply(&mut b, &Op::AlterColumn { table: "node".into(), column: "tag".into(), change });
    let node = table(&mut b, "node");
    assert_eq!(node.column("tag").unwrap().ty, Type::String(10));
    assert_eq!(node.foreign_key("fk_up").unwrap().ref_table, "node");
    assert_eq!(table(&mut b, "leaf").foreign_keys[0].ref_table, "node");
    assert!(Backend::execute(&mut b, "INSERT INTO node VALUES (3, 99, 'c')").is_err());
    Backend::execute(&mut b, "DELETE FROM node WHERE id = 2").unwrap();
    assert_eq!(query(&mut b, "SELECT count(*) FROM leaf"), [vec![Value::Int(0)]]);
}

#[test]
fn rebuild_survives_a_second_read() {
    // Introspection of a table strata rebuilt reads the same as before the rebuild.
    let mut b = rebuild_fixture();
    let before = table(&mut b, "pa\"rent");
    apply(
        &mut b,
        &Op::AlterColumn { table: "pa\"rent".into(), column: "id".into(), change: AlterColumn::new() },
    );
    assert_eq!(table(&mut b, "pa\"rent"), before);
}

#[test]
fn acknowledgements_are_recorded_and_an_older_history_table_gets_the_column() {
    let mut b = mem();
    b.ensure_version_tables().unwrap();
    let columns =
        |b: &mut SqliteBackend| query(b, "SELECT name FROM pragma_table_info('strata_history')").len();
    let before = columns(&mut b);
    // A row without acknowledgements leaves the table as it was (made by an older strata).
    b.begin().unwrap();
    b.record_and_commit(&[record("r1", Direction::Up, Some("r1"))]).unwrap();
    assert_eq!(columns(&mut b), before);
    assert_eq!(b.history().unwrap()[0].acknowledged, None);
    // A group: the column is added once, in the transaction, and only the acknowledging row
    // gets a value.
    let acknowledged = Record {
        acknowledged: Some("S013: tiny\nS020: legacy".into()),
        ..record("r2", Direction::Up, Some("r2"))
    };
    b.begin().unwrap();
    b.record_and_commit(&[acknowledged, record("r3", Direction::Up, Some("r3"))]).unwrap();
    assert_eq!(columns(&mut b), before + 1);
    let history = b.history().unwrap();
    let got: Vec<Option<&str>> = history.iter().map(|h| h.acknowledged.as_deref()).collect();
    assert_eq!(got, [None, Some("S013: tiny\nS020: legacy"), None]);
    assert_eq!(history[1].acknowledgements(), [("S013", "tiny"), ("S020", "legacy")]);
    assert_eq!(b.history_of(&["r2"]).unwrap()[0].acknowledged.as_deref(), Some("S013: tiny\nS020: legacy"));
}

/// SQLite itself refuses the plain `DROP COLUMN` of a column a key, index, trigger or view
/// needs, leaving the table as it was; what it does drop (plain columns in any ASCII case, a
/// column with its own column-level REFERENCES or CHECK) comes out exactly as the general
/// form (the snapshot's rebuild or drop) makes it.
#[test]
fn sqlite_refuses_the_plain_drop_of_a_column_a_rebuild_is_for() {
    const SCHEMA: [&str; 12] = [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE)",
        r#"CREATE TABLE "Child" (a INTEGER, b TEXT, uq TEXT, fk INTEGER REFERENCES parent (id),
             ix TEXT, "Mixed Case" TEXT, "odd""name" TEXT, free TEXT, PRIMARY KEY (a, b), UNIQUE (uq))"#,
        r#"CREATE INDEX child_ix ON "Child" (ix)"#,
        "CREATE TABLE exprs (id INTEGER PRIMARY KEY, e TEXT, other TEXT)",
        "CREATE INDEX exprs_e ON exprs (lower(e))",
        "CREATE TABLE partial (id INTEGER PRIMARY KEY, p TEXT, other TEXT)",
        "CREATE INDEX partial_p ON partial (id) WHERE p IS NOT NULL",
        "CREATE TABLE checked (id INTEGER PRIMARY KEY, c TEXT CHECK (c <> ''), other TEXT)",
        "CREATE TABLE plain (id INTEGER PRIMARY KEY, name TEXT NOT NULL, extra TEXT, seen TEXT, shown TEXT)",
        "CREATE TRIGGER plain_seen AFTER INSERT ON plain BEGIN SELECT NEW.seen; END",
        "CREATE VIEW plain_view AS SELECT shown FROM plain",
        "INSERT INTO plain (id, name) VALUES (1, 'kept')",
    ];
    let fresh = || {
        let mut b = mem();
        for sql in SCHEMA {
            Backend::execute(&mut b, sql).unwrap();
        }
        b
    };
    let tried = |table: &str, column: &str| -> bool {
        let mut b = fresh();
        let op = Op::DropColumn { table: table.into(), column: column.into() };
        let before = b.snapshot_table(table).unwrap();
        let statement = sqlite().plain_form(&op).expect("drop_column has a plain form").remove(0);
        b.begin().unwrap();
        let ran = b.try_plain_form(&op, &statement).unwrap();
        if !ran {
            assert_eq!(b.snapshot_table(table).unwrap(), before, "{table}.{column}: refused and unchanged");
            b.rollback().unwrap();
            return false;
        }
        b.commit().unwrap();
        // The general form (a rebuild where the snapshot says so) makes the same table.
        let mut general = fresh();
        apply(&mut general, &op);
        let name = before.expect("a dropped column's table existed").table.name;
        assert_eq!(self::table(&mut b, &name), self::table(&mut general, &name), "{table}.{column}");
        assert_eq!(query(&mut b, "SELECT * FROM plain"), query(&mut general, "SELECT * FROM plain"));
        true
    };
    for (table, column) in [
        ("parent", "id"),
        ("parent", "code"),
        ("Child", "a"),
        ("child", "B"),
        ("Child", "uq"),
        ("Child", "IX"),
        ("exprs", "e"),
        ("partial", "p"),
        ("plain", "id"),
        ("plain", "seen"),
        ("plain", "shown"),
        ("plain", "missing"),
        ("missing", "x"),
    ] {
        assert!(!tried(table, column), "{table}.{column} is refused");
    }
    for (table, column) in [
        ("Child", "fk"),
        ("checked", "c"),
        ("Child", "Mixed Case"),
        ("Child", "odd\"name"),
        ("CHILD", "FREE"),
        ("exprs", "other"),
        ("partial", "other"),
        ("checked", "other"),
        ("plain", "name"),
        ("plain", "extra"),
    ] {
        assert!(tried(table, column), "{table}.{column} is dropped");
    }
    // Not a drop_column: never tried.
    let mut b = mem();
    let op = Op::DropTable { name: "plain".into() };
    assert!(!b.try_plain_form(&op, "SELECT 1").unwrap());
}

/// The file change counter of a database's header (bytes 24-27, big-endian): in rollback
/// journal mode SQLite adds one for every transaction that writes.
fn change_counter(path: &std::path::Path) -> u32 {
    let header = std::fs::read(path).expect("the database file");
    u32::from_be_bytes([header[24], header[25], header[26], header[27]])
}

/// A fresh database file in a folder of its own under the temporary directory, removed with
/// [`TempDb`]'s drop.
struct TempDb {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl TempDb {
    fn new(name: &str) -> TempDb {
        let dir = std::env::temp_dir().join(format!("strata-sqlite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDb { path: dir.join("app.db"), dir }
    }

    fn open(&self) -> SqliteBackend {
        SqliteBackend::open(&DatabaseUrl::sqlite(self.path.clone()), VersionTables::default()).unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_version_tables_are_made_in_one_transaction_and_checked_without_one() {
    let db = TempDb::new("setup");
    let path = db.path.clone();
    let mut b = db.open();
    let objects = |b: &mut SqliteBackend| -> Vec<Row> {
        query(b, "SELECT name FROM sqlite_master WHERE name LIKE 'strata%' ORDER BY name")
    };
    b.ensure_version_tables().unwrap();
    // One commit (one journal, one set of fsyncs) for the two tables and the index.
    assert_eq!(change_counter(&path), 1);
    assert_eq!(objects(&mut b).len(), 3, "{:?}", objects(&mut b));
    b.ensure_version_tables().unwrap();
    assert_eq!(change_counter(&path), 1, "nothing missing, so nothing is written");

    // Made by an older strata, without the one-row index: it is added, in one commit.
    Backend::execute(&mut b, "DROP INDEX strata_version_one_row").unwrap();
    let before = change_counter(&path);
    b.ensure_version_tables().unwrap();
    assert_eq!(change_counter(&path), before + 1);
    assert_eq!(objects(&mut b).len(), 3);

    // Two rows cannot get the index: the creation goes on without it, and nothing is lost.
    Backend::execute(
        &mut b,
        "DROP INDEX strata_version_one_row; INSERT INTO strata_version (revision) VALUES ('a'), ('b')",
    )
    .unwrap();
    b.ensure_version_tables().unwrap();
    assert!(b.conn.is_autocommit(), "no transaction left open");
    assert_eq!(objects(&mut b).len(), 2);
    assert_eq!(query(&mut b, "SELECT revision FROM strata_version").len(), 2);
}

/// The version re-check trusts this connection's own last commit only while nothing can have
/// moved the version since: another connection's commit, or anything this one runs.
#[test]
fn the_version_this_connection_committed_is_trusted_only_until_something_else_writes() {
    let db = TempDb::new("own-commit");
    let (mut ours, mut theirs) = (db.open(), db.open());
    ours.ensure_version_tables().unwrap();
    let commit = |b: &mut SqliteBackend, revision: &str| {
        b.begin().unwrap();
        b.record_and_commit(&[record(revision, Direction::Up, Some(revision))]).unwrap();
    };
    commit(&mut ours, "r1");
    assert_eq!(ours.current_revision().unwrap().as_deref(), Some("r1"));

    // Another migrator commits: the next read sees its version, inside a transaction or not.
    commit(&mut theirs, "r2");
    ours.begin().unwrap();
    assert_eq!(ours.current_revision().unwrap().as_deref(), Some("r2"));
    ours.rollback().unwrap();

    // Another connection writes the row without strata's bookkeeping.
    commit(&mut ours, "r3");
    Backend::execute(&mut theirs, "UPDATE strata_version SET revision = 'edited'").unwrap();
    assert_eq!(ours.current_revision().unwrap().as_deref(), Some("edited"));

    // This connection writes the row itself, by raw SQL or through its data connection.
    commit(&mut ours, "r4");
    Backend::execute(&mut ours, "UPDATE strata_version SET revision = 'raw'").unwrap();
    assert_eq!(ours.current_revision().unwrap().as_deref(), Some("raw"));
    commit(&mut ours, "r5");
    let marker = crate::backend::dirty_marker(Direction::Up, "r6");
    ours.data().execute("UPDATE strata_version SET dirty = $1", &[Value::Text(marker)]).unwrap();
    assert!(matches!(ours.current_revision(), Err(BackendError::Dirty { .. })));
    Backend::execute(&mut ours, "UPDATE strata_version SET dirty = NULL").unwrap();

    // A downgrade to base commits no version: base is trusted the same way.
    ours.begin().unwrap();
    ours.record_and_commit(&[record("r5", Direction::Down, None)]).unwrap();
    assert_eq!(ours.current_revision().unwrap(), None);
    commit(&mut theirs, "r6");
    assert_eq!(ours.current_revision().unwrap().as_deref(), Some("r6"));
}
