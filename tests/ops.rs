//! Every op on both engines, checked against the live catalog through introspection (not
//! against SQL strings), with rows kept wherever SQLite rebuilds a table.

mod common;

use common::*;
use strata::ops::{Action, AlterColumn, Check, Column, DialectKind, ForeignKey, Index, Table, Unique};
use strata::types::Type;

#[test]
fn create_table_maps_every_portable_type_and_names_every_constraint() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        apply(conn.as_mut(), |op| {
            op.create_table(
                Table::new("everything")
                    .column(Column::new("id", Type::BigInt).autoincrement())
                    .column(Column::new("small", Type::SmallInt).default(1))
                    .column(Column::new("int", Type::Integer).nullable())
                    .column(Column::new("big", Type::BigInt).nullable())
                    .column(Column::new("text", Type::Text).default("hi"))
                    .column(Column::new("name", Type::String(80)).unique())
                    .column(Column::new("flag", Type::Boolean).default(true))
                    .column(Column::new("day", Type::Date).nullable())
                    .column(Column::new("at", Type::Timestamp).nullable())
                    .column(Column::new("at_tz", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP"))
                    .column(Column::new("amount", Type::Numeric(10, 2)).check("amount >= 0"))
                    .column(Column::new("ratio", Type::Float).nullable())
                    .column(Column::new("precise", Type::Double).nullable())
                    .column(Column::new("blob", Type::Bytes).nullable())
                    .column(Column::new("doc", Type::Json).nullable())
                    .column(Column::new("uid", Type::Uuid).nullable())
                    .check(Check::new("ck_everything_small", "small < 100")),
            );
        });
        let t = table(conn.as_mut(), "everything");
        // SQLite's AUTOINCREMENT exists only on INTEGER PRIMARY KEY (a 64-bit rowid anyway).
        let id_type = if kind == DialectKind::Sqlite { Type::Integer } else { Type::BigInt };
        let expected = [
            ("id", id_type, false),
            ("small", Type::SmallInt, false),
            ("int", Type::Integer, true),
            ("big", Type::BigInt, true),
            ("text", Type::Text, false),
            ("name", Type::String(80), false),
            ("flag", Type::Boolean, false),
            ("day", Type::Date, true),
            ("at", Type::Timestamp, true),
            ("at_tz", Type::TimestampTz, false),
            ("amount", Type::Numeric(10, 2), false),
            ("ratio", Type::Float, true),
            ("precise", Type::Double, true),
            ("blob", Type::Bytes, true),
            ("doc", Type::Json, true),
            ("uid", Type::Uuid, true),
        ];
        let got: Vec<(String, Type, bool)> =
            t.columns.iter().map(|c| (c.name.clone(), c.ty.clone(), c.nullable)).collect();
        let want: Vec<(String, Type, bool)> =
            expected.iter().map(|(n, ty, null)| (n.to_string(), ty.clone(), *null)).collect();
        assert_eq!(got, want, "[{kind}] columns");
        assert!(t.column("id").unwrap().autoincrement, "[{kind}] id is generated");
        for with_default in ["small", "text", "flag", "at_tz"] {
            assert!(t.column(with_default).unwrap().default.is_some(), "[{kind}] {with_default} default");
        }
        assert_eq!(
            t.primary_key.as_ref().map(|p| (p.name.as_deref(), p.columns.clone())),
            Some((Some("pk_everything"), vec!["id".to_string()])),
            "[{kind}]"
        );
        assert_eq!(
            t.unique("uq_everything_name").map(|u| u.columns.clone()),
            Some(vec!["name".to_string()]),
            "[{kind}]"
        );
        assert!(t.check("ck_everything_amount").is_some(), "[{kind}] column check: {t}");
        assert!(t.check("ck_everything_small").is_some(), "[{kind}] table check: {t}");
        // The constraints are real: the database enforces them.
        exec(conn.as_mut(), "INSERT INTO everything (name, amount) VALUES ('a', 1.5)");
        assert!(
            conn.execute("INSERT INTO everything (name, amount) VALUES ('a', 2)").is_err(),
            "[{kind}] unique"
        );
        assert!(
            conn.execute("INSERT INTO everything (name, amount) VALUES ('b', -1)").is_err(),
            "[{kind}] check"
        );
    }
}

/// parents(id) and children(id, parent_id, code) with two rows each.
fn parents_and_children(conn: &mut dyn strata::backend::Backend) {
    apply(conn, |op| {
        op.create_table(Table::new("parents").column(Column::new("id", Type::Integer).primary_key()));
        op.create_table(
            Table::new("children")
                .column(Column::new("id", Type::Integer).primary_key())
                .column(Column::new("parent_id", Type::Integer).nullable())
                .column(Column::new("code", Type::String(10))),
        );
        op.create_index(Index::new("ix_children_code", "children", ["code"]));
    });
    exec(conn, "INSERT INTO parents (id) VALUES (1), (2)");
    exec(conn, "INSERT INTO children (id, parent_id, code) VALUES (1, 1, 'a'), (2, 2, 'b')");
}

#[test]
fn constraints_are_added_and_dropped_keeping_rows() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        parents_and_children(conn);
        apply(conn, |op| {
            op.add_foreign_key(
                "children",
                ForeignKey::new(["parent_id"], "parents", ["id"])
                    .on_delete(Action::Cascade)
                    .on_update(Action::SetNull),
            );
            op.add_unique_constraint("children", Unique::new(["parent_id", "code"]));
            op.add_check_constraint("children", Check::new("ck_children_code", "length(code) = 1"));
        });
        let t = table(conn, "children");
        let fk = t.foreign_key("fk_children_parent_id_parents").unwrap_or_else(|| panic!("[{kind}] fk: {t}"));
        assert_eq!(
            (fk.ref_table.as_str(), fk.on_delete, fk.on_update),
            ("parents", Action::Cascade, Action::SetNull),
            "[{kind}]"
        );
        assert_eq!(t.unique("uq_children_parent_id_code").map(|u| u.columns.len()), Some(2), "[{kind}] {t}");
        assert!(t.check("ck_children_code").is_some(), "[{kind}] {t}");
        assert!(t.index("ix_children_code").is_some(), "[{kind}] the index survives a rebuild: {t}");
        assert_eq!(
            rows(conn, "SELECT id, parent_id, code FROM children ORDER BY id"),
            ["1|1|\"a\"", "2|2|\"b\""],
            "[{kind}]"
        );
        // Enforced after the rebuild: foreign keys are back on.
        assert!(
            conn.execute("INSERT INTO children (id, parent_id, code) VALUES (3, 99, 'c')").is_err(),
            "[{kind}] fk enforced"
        );
        assert!(
            conn.execute("INSERT INTO children (id, parent_id, code) VALUES (3, 1, 'cc')").is_err(),
            "[{kind}] check enforced"
        );
        exec(conn, "DELETE FROM parents WHERE id = 2");
        assert_eq!(rows(conn, "SELECT id FROM children ORDER BY id"), ["1"], "[{kind}] on delete cascade");

        apply(conn, |op| {
            op.drop_constraint("children", "fk_children_parent_id_parents");
            op.drop_constraint("children", "uq_children_parent_id_code");
            op.drop_constraint("children", "ck_children_code");
        });
        let t = table(conn, "children");
        assert!(t.foreign_keys.is_empty() && t.uniques.is_empty() && t.checks.is_empty(), "[{kind}] {t}");
        assert!(t.index("ix_children_code").is_some(), "[{kind}] {t}");
        exec(conn, "INSERT INTO children (id, parent_id, code) VALUES (3, 99, 'cc')");
    }
}

#[test]
fn indexes_single_multi_and_unique() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        parents_and_children(conn);
        apply(conn, |op| {
            op.create_index(
                Index::new("ux_children_parent_code", "children", ["parent_id", "code"]).unique(),
            );
            op.drop_index("ix_children_code", "children");
        });
        let t = table(conn, "children");
        let ix = t.index("ux_children_parent_code").unwrap_or_else(|| panic!("[{kind}] {t}"));
        assert_eq!(
            (ix.unique, ix.columns.clone()),
            (true, vec!["parent_id".to_string(), "code".to_string()])
        );
        assert!(t.index("ix_children_code").is_none(), "[{kind}] dropped");
        assert!(
            conn.execute("INSERT INTO children (id, parent_id, code) VALUES (9, 1, 'a')").is_err(),
            "[{kind}] unique index"
        );
    }
}

#[test]
fn column_ops_keep_rows() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        parents_and_children(conn);
        apply(conn, |op| {
            op.add_column("children", Column::new("note", Type::Text).nullable());
            op.add_column("children", Column::new("rank", Type::Integer).default(7));
            op.add_column("children", Column::new("serial", Type::String(20)).nullable().unique());
            op.rename_column("children", "code", "label");
        });
        let t = table(conn, "children");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "parent_id", "label", "note", "rank", "serial"], "[{kind}]");
        assert!(t.unique("uq_children_serial").is_some(), "[{kind}] {t}");
        assert_eq!(
            t.index("ix_children_code").map(|i| i.columns.clone()),
            Some(vec!["label".to_string()]),
            "[{kind}] index follows the rename"
        );
        assert_eq!(
            rows(conn, "SELECT id, label, rank FROM children ORDER BY id"),
            ["1|\"a\"|7", "2|\"b\"|7"],
            "[{kind}]"
        );

        apply(conn, |op| {
            op.alter_column("children", "label", AlterColumn::new().ty(Type::Text).default("z"));
            op.alter_column("children", "rank", AlterColumn::new().drop_default().nullable(true));
            op.alter_column("children", "parent_id", AlterColumn::new().nullable(false));
        });
        let t = table(conn, "children");
        let label = t.column("label").unwrap();
        assert_eq!((label.ty.clone(), label.default.is_some()), (Type::Text, true), "[{kind}]");
        let rank = t.column("rank").unwrap();
        assert_eq!((rank.nullable, rank.default.is_some()), (true, false), "[{kind}]");
        assert!(!t.column("parent_id").unwrap().nullable, "[{kind}]");
        assert_eq!(
            rows(conn, "SELECT id, label, rank FROM children ORDER BY id"),
            ["1|\"a\"|7", "2|\"b\"|7"],
            "[{kind}]"
        );

        apply(conn, |op| {
            op.drop_column("children", "note");
            op.drop_column("children", "label");
        });
        let t = table(conn, "children");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "parent_id", "rank", "serial"], "[{kind}]");
        assert!(t.index("ix_children_code").is_none(), "[{kind}] an index on a dropped column goes with it");
        assert_eq!(rows(conn, "SELECT id, rank FROM children ORDER BY id"), ["1|7", "2|7"], "[{kind}]");
    }
}

#[test]
fn a_failing_op_rolls_back_the_whole_transaction() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        parents_and_children(conn);
        exec(conn, "INSERT INTO children (id, parent_id, code) VALUES (3, NULL, 'c')");
        let before = schema(conn);
        let err = apply_err(conn, |op| {
            op.add_column("children", Column::new("extra", Type::Integer).nullable());
            op.alter_column("children", "parent_id", AlterColumn::new().nullable(false));
        });
        let text = err.to_string();
        assert!(text.contains("op 2 (alter_column children.parent_id)"), "[{kind}] {text}");
        assert_eq!(schema(conn), before, "[{kind}] nothing changed");
        assert_eq!(rows(conn, "SELECT count(*) FROM children"), ["3"], "[{kind}]");
    }
}

#[test]
fn tables_raw_sql_and_data_ops() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        parents_and_children(conn);
        apply(conn, |op| {
            op.rename_table("children", "kids");
            op.execute("CREATE VIEW kid_codes AS SELECT code FROM kids");
            op.execute_on(DialectKind::Postgres, "COMMENT ON TABLE kids IS 'postgres only'");
            op.execute_on(DialectKind::Sqlite, "CREATE TABLE marker_for_sqlite (x INTEGER)");
            op.run_data("double the ids", |db| {
                let rows = db.query("SELECT id FROM kids ORDER BY id DESC", &[])?;
                for row in rows {
                    let id = row[0].as_i64().unwrap_or_default();
                    db.execute("UPDATE kids SET id = $1 WHERE id = $2", &[(id * 10).into(), id.into()])?;
                }
                Ok(())
            });
        });
        let s = schema(conn);
        assert!(s.table("kids").is_some() && s.table("children").is_none(), "[{kind}] renamed");
        assert_eq!(s.table("marker_for_sqlite").is_some(), kind == DialectKind::Sqlite, "[{kind}]");
        assert_eq!(rows(conn, "SELECT id FROM kids ORDER BY id"), ["10", "20"], "[{kind}] data op ran");
        assert_eq!(rows(conn, "SELECT code FROM kid_codes ORDER BY code"), ["\"a\"", "\"b\""], "[{kind}]");
        apply(conn, |op| {
            op.execute("DROP VIEW kid_codes");
            op.drop_table("kids");
        });
        assert!(schema(conn).table("kids").is_none(), "[{kind}] dropped");
    }
}

#[test]
fn a_data_op_error_names_the_op_and_rolls_back() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        parents_and_children(conn);
        let err = apply_err(conn, |op| {
            op.execute("DELETE FROM children");
            op.run_data("refuse", |_| Err(strata::data::DataError::failed("no rows to work on")));
        });
        let text = err.to_string();
        assert!(
            text.contains("op 2 (data \"refuse\")") && text.contains("no rows to work on"),
            "[{kind}] {text}"
        );
        assert_eq!(rows(conn, "SELECT count(*) FROM children"), ["2"], "[{kind}] the delete was rolled back");
    }
}

#[test]
fn hostile_identifiers_are_quoted_and_survive_a_rebuild() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        let table_name = "we\"ird; ta--ble";
        apply(conn, |op| {
            op.create_table(
                Table::new(table_name)
                    .column(Column::new("Ünï \"col\"", Type::Integer).primary_key())
                    .column(Column::new("it's", Type::Text).nullable()),
            );
            op.add_unique_constraint(table_name, Unique::new(["it's"]).named("uq \"quoted\""));
            op.create_index(Index::new("ix; drop", table_name, ["it's"]));
        });
        exec(conn, "INSERT INTO \"we\"\"ird; ta--ble\" (\"Ünï \"\"col\"\"\", \"it's\") VALUES (1, 'x')");
        apply(conn, |op| {
            op.alter_column(table_name, "it's", AlterColumn::new().ty(Type::String(50)));
        });
        let t = table(conn, table_name);
        assert!(t.unique("uq \"quoted\"").is_some(), "[{kind}] {t}");
        assert!(t.index("ix; drop").is_some(), "[{kind}] {t}");
        assert_eq!(t.column("it's").map(|c| c.ty.clone()), Some(Type::String(50)), "[{kind}]");
        assert_eq!(rows(conn, "SELECT \"it's\" FROM \"we\"\"ird; ta--ble\""), ["\"x\""], "[{kind}]");
    }
}

#[test]
fn a_migration_that_rebuilds_cannot_let_a_broken_reference_in() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        parents_and_children(conn);
        apply(conn, |op| {
            op.add_foreign_key("children", ForeignKey::new(["parent_id"], "parents", ["id"]));
        });
        // On SQLite the rebuild switches enforcement off for the whole transaction, so the
        // delete itself succeeds there; the foreign_key_check before commit must catch it.
        let err = apply_err(conn, |op| {
            op.alter_column("children", "code", AlterColumn::new().ty(Type::Text));
            op.execute("DELETE FROM parents WHERE id = 1");
        });
        let text = err.to_string();
        let expected = if kind == DialectKind::Sqlite { "break a foreign key" } else { "foreign key" };
        assert!(text.contains(expected), "[{kind}] {text}");
        assert_eq!(rows(conn, "SELECT count(*) FROM parents"), ["2"], "[{kind}] rolled back");
        let t = table(conn, "children");
        assert_eq!(t.column("code").map(|c| c.ty.clone()), Some(Type::String(10)), "[{kind}] rolled back");
        assert!(
            conn.execute("INSERT INTO children (id, parent_id, code) VALUES (5, 77, 'x')").is_err(),
            "[{kind}] enforcement is back on"
        );
    }
}

#[test]
fn hostile_names_in_every_kind_of_object_survive_rebuilds_on_both_engines() {
    let hostile = ["we\"ird", "it's", "semi;colon", "--comment", "with space", "UPPER", "Ünïcode", "/*x*/"];
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        let conn = conn.as_mut();
        for (i, n) in hostile.iter().enumerate() {
            let name = |prefix: &str| format!("{prefix} {n}");
            let (parent, child, col, refcol) = (name("p"), name("t"), name("c"), name("r"));
            apply(conn, |op| {
                op.create_table(
                    Table::new(parent.clone())
                        .column(Column::new("id", Type::Integer).primary_key())
                        .primary_key_named(name("pk p")),
                );
                op.create_table(
                    Table::new(child.clone())
                        .column(Column::new(col.clone(), Type::Integer).primary_key())
                        .column(Column::new(refcol.clone(), Type::Integer).nullable())
                        .primary_key_named(name("pk")),
                );
                op.add_unique_constraint(child.clone(), Unique::new([refcol.clone()]).named(name("uq")));
                op.add_check_constraint(
                    child.clone(),
                    Check::new(name("ck"), format!("{} >= 0", strata::dialect::quote_ident(&refcol))),
                );
                op.add_foreign_key(
                    child.clone(),
                    ForeignKey::new([refcol.clone()], parent.clone(), ["id"]).named(name("fk")),
                );
                op.create_index(Index::new(name("ix"), child.clone(), [refcol.clone()]));
            });
            let insert = |table: &str, cols: &[&str], values: &str| {
                let cols: Vec<String> = cols.iter().map(|c| strata::dialect::quote_ident(c)).collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({values})",
                    strata::dialect::quote_ident(table),
                    cols.join(", ")
                )
            };
            exec(conn, &insert(&parent, &["id"], "7"));
            exec(conn, &insert(&child, &[&col, &refcol], &format!("{i}, 7")));
            // A type change: a table rebuild on SQLite, with every name to carry over.
            apply(conn, |op| {
                op.alter_column(
                    child.clone(),
                    refcol.clone(),
                    AlterColumn::new().ty(Type::BigInt).nullable(true),
                );
            });
            let t = table(conn, &child);
            assert_eq!(
                t.primary_key.as_ref().and_then(|p| p.name.clone()),
                Some(name("pk")),
                "[{kind}] {n}: {t}"
            );
            assert!(t.unique(&name("uq")).is_some(), "[{kind}] {n}: {t}");
            assert!(t.check(&name("ck")).is_some(), "[{kind}] {n}: {t}");
            assert!(t.foreign_key(&name("fk")).is_some_and(|f| f.ref_table == parent), "[{kind}] {n}: {t}");
            assert!(t.index(&name("ix")).is_some(), "[{kind}] {n}: {t}");
            assert_eq!(t.column(&refcol).map(|c| c.ty.clone()), Some(Type::BigInt), "[{kind}] {n}");
            let count = format!("SELECT count(*) FROM {}", strata::dialect::quote_ident(&child));
            assert_eq!(rows(conn, &count), ["1"], "[{kind}] {n}: the row survived");
            // Every constraint can be dropped by its name.
            apply(conn, |op| {
                op.drop_constraint(child.clone(), name("fk"));
                op.drop_constraint(child.clone(), name("uq"));
                op.drop_constraint(child.clone(), name("ck"));
                op.drop_index(name("ix"), child.clone());
            });
            let t = table(conn, &child);
            assert!(
                t.foreign_keys.is_empty()
                    && t.uniques.is_empty()
                    && t.checks.is_empty()
                    && t.indexes.is_empty(),
                "[{kind}] {n}: {t}"
            );
            assert_eq!(rows(conn, &count), ["1"], "[{kind}] {n}");
        }
    }
}

/// A SQLite `drop_column` runs with foreign keys on, as a plain `DROP COLUMN` after one
/// probe; only a column its table constrains needs the rebuild, and the transaction then
/// starts again with them off. Were the rebuild run with them on, dropping the old `parents`
/// would cascade into `children`; were the first attempt kept, the log would hold two rows;
/// the listener hears the migration start once.
#[test]
fn a_sqlite_drop_column_that_must_rebuild_starts_its_transaction_again_with_foreign_keys_off() {
    use strata::graph::Target;
    use strata::migration::{Migration, MigrationSet};
    use strata::runner::{Listener, Runner};

    static SETUP: Migration = Migration {
        revision: "setup",
        parents: &[],
        message: "parents, children, a log",
        created: "2026-12-02T00:00:00Z",
        upgrade: |op| {
            op.create_table(
                Table::new("parents")
                    .column(Column::new("id", Type::Integer).primary_key())
                    .column(Column::new("tag", Type::Text).nullable())
                    .column(Column::new("note", Type::Text).nullable()),
            );
            op.create_index(Index::new("ix_parents_tag", "parents", ["tag"]));
            op.create_table(
                Table::new("children")
                    .column(Column::new("id", Type::Integer).primary_key())
                    .column(Column::new("parent_id", Type::Integer))
                    .foreign_key(
                        ForeignKey::new(["parent_id"], "parents", ["id"]).on_delete(Action::Cascade),
                    ),
            );
            op.create_table(Table::new("log").column(Column::new("id", Type::Integer).primary_key()));
            op.execute("INSERT INTO parents (id, tag, note) VALUES (1, 'a', 'x'), (2, 'b', 'y')");
            op.execute("INSERT INTO children (id, parent_id) VALUES (10, 1), (20, 2)");
        },
        downgrade: |op| {
            op.drop_table("log");
            op.drop_table("children");
            op.drop_table("parents");
        },
        file: "setup.rs",
        transactional: true,
        replaces: &[],
    };
    static PLAIN: Migration = Migration {
        revision: "plain",
        parents: &["setup"],
        message: "drop a column nothing constrains",
        created: "2026-12-02T00:00:01Z",
        upgrade: |op| {
            op.execute("INSERT INTO log (id) VALUES (1)");
            op.drop_column("parents", "note");
        },
        downgrade: |op| {
            op.add_column("parents", Column::new("note", Type::Text).nullable());
            op.execute("DELETE FROM log WHERE id = 1");
        },
        file: "plain.rs",
        transactional: true,
        replaces: &[],
    };
    static REBUILD: Migration = Migration {
        revision: "rebuild",
        parents: &["plain"],
        message: "drop an indexed column",
        created: "2026-12-02T00:00:02Z",
        upgrade: |op| {
            op.execute("INSERT INTO log (id) VALUES (2)");
            op.drop_column("parents", "tag");
        },
        downgrade: |op| {
            op.add_column("parents", Column::new("tag", Type::Text).nullable());
            op.execute("DELETE FROM log WHERE id = 2");
        },
        file: "rebuild.rs",
        transactional: true,
        replaces: &[],
    };

    #[derive(Default)]
    struct Starts(Vec<String>);
    impl Listener for Starts {
        fn starting(&mut self, revision: &str, _: &str, _: strata::backend::Direction, _: usize, _: usize) {
            self.0.push(revision.to_string());
        }
    }

    let db = fresh_database(DialectKind::Sqlite);
    let runner = Runner::new(MigrationSet::new(vec![&SETUP, &PLAIN, &REBUILD]).unwrap());
    let mut heard = Starts::default();
    runner.upgrade_with(connect(&db).as_mut(), &Target::Head, &mut heard).unwrap();
    assert_eq!(heard.0, ["setup", "plain", "rebuild"], "each migration announced once");
    let mut conn = connect(&db);
    let conn = conn.as_mut();
    let t = table(conn, "parents");
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id"]);
    assert!(t.index("ix_parents_tag").is_none(), "the index went with its column");
    assert_eq!(rows(conn, "SELECT id, parent_id FROM children ORDER BY id"), ["10|1", "20|2"], "no cascade");
    assert_eq!(rows(conn, "SELECT id FROM log ORDER BY id"), ["1", "2"], "each statement ran once");
    assert_eq!(rows(conn, "PRAGMA foreign_keys"), ["1"], "enforcement is back on");
    assert!(conn.execute("INSERT INTO children (id, parent_id) VALUES (30, 99)").is_err(), "enforced");
}
