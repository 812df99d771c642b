use super::*;
use crate::ops::Action;
use crate::schema::{Check, Column, ForeignKey, Index, PrimaryKey, Table, Unique};

fn col(name: &str, ty: Type) -> Column {
    Column { name: name.into(), ty, nullable: false, default: None, autoincrement: false }
}

fn id() -> Column {
    Column { autoincrement: true, ..col("id", Type::BigInt) }
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: name.into(),
        primary_key: Some(PrimaryKey { name: Some(format!("pk_{name}")), columns: vec!["id".into()] }),
        columns,
        ..Table::default()
    }
}

fn fk(name: &str, column: &str, ref_table: &str) -> ForeignKey {
    ForeignKey {
        name: Some(name.into()),
        columns: vec![column.into()],
        ref_table: ref_table.into(),
        ref_columns: vec!["id".into()],
        on_delete: Action::NoAction,
        on_update: Action::NoAction,
    }
}

fn schema(tables: Vec<Table>) -> Schema {
    Schema { tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect() }
}

fn lines(ops: &[Op]) -> Vec<String> {
    ops.iter().map(ToString::to_string).collect()
}

fn users() -> Table {
    table("users", vec![id(), col("email", Type::String(255))])
}

#[test]
fn equal_schemas_have_an_empty_diff() {
    let s = schema(vec![users()]);
    let d = diff(&s, &s);
    assert!(d.is_empty(), "{d}");
    assert_eq!(d.to_string(), "no difference\n");
}

#[test]
fn column_order_does_not_count() {
    let mut reordered = users();
    reordered.columns.reverse();
    assert!(diff(&schema(vec![users()]), &schema(vec![reordered])).is_empty());
}

#[test]
fn added_and_removed_tables_create_referenced_tables_first_and_drop_them_last() {
    let mut posts = table("posts", vec![id(), col("author_id", Type::BigInt)]);
    posts.foreign_keys.push(fk("fk_posts_author_id_users", "author_id", "users"));
    posts.indexes.push(Index {
        name: "ix_posts_author_id".into(),
        columns: vec!["author_id".into()],
        unique: false,
    });
    let d = diff(&schema(vec![]), &schema(vec![posts.clone(), users()]));
    assert_eq!(
        lines(&d.upgrade),
        ["create_table users", "create_table posts", "create_index ix_posts_author_id on posts"]
    );
    assert_eq!(lines(&d.downgrade), ["drop_table posts", "drop_table users"]);
    let Op::CreateTable(created) = &d.upgrade[1] else { panic!() };
    assert_eq!(created.foreign_keys[0].name, "fk_posts_author_id_users");
    assert!(created.columns[0].autoincrement && created.columns[0].primary_key);
}

#[test]
fn a_reference_cycle_among_new_tables_adds_one_foreign_key_after_both() {
    let mut a = table("a", vec![id(), col("b_id", Type::BigInt)]);
    a.foreign_keys.push(fk("fk_a_b", "b_id", "b"));
    let mut b = table("b", vec![id(), col("a_id", Type::BigInt)]);
    b.foreign_keys.push(fk("fk_b_a", "a_id", "a"));
    let d = diff(&schema(vec![]), &schema(vec![a, b]));
    assert_eq!(lines(&d.upgrade), ["create_table a", "create_table b", "add_foreign_key fk_a_b on a"]);
    assert_eq!(lines(&d.downgrade), ["drop_constraint fk_a_b on a", "drop_table b", "drop_table a"]);
}

#[test]
fn columns_are_added_altered_and_dropped_with_a_rename_note() {
    let mut old = users();
    old.columns.push(col("nick", Type::String(40)));
    old.columns.push(Column { nullable: true, ..col("bio", Type::String(100)) });
    old.columns.push(Column { default: Some("0".into()), ..col("score", Type::Integer) });
    let mut new = users();
    new.columns.push(col("nickname", Type::String(40)));
    new.columns.push(col("bio", Type::Text));
    new.columns
        .push(Column { default: Some("'x'::character varying".into()), ..col("score", Type::Integer) });
    let d = diff(&schema(vec![old]), &schema(vec![new]));
    assert_eq!(
        lines(&d.upgrade),
        [
            "add_column users.nickname",
            "alter_column users.bio",
            "alter_column users.score",
            "drop_column users.nick"
        ]
    );
    let Op::AlterColumn { change, .. } = &d.upgrade[1] else { panic!() };
    assert_eq!(
        (change.ty.clone(), change.nullable, change.default.clone()),
        (Some(Type::Text), Some(false), None)
    );
    let Op::AlterColumn { change, .. } = &d.upgrade[2] else { panic!() };
    assert_eq!(change.default, Some(Some(DefaultValue::Value(Value::Text("x".into())))));
    assert!(
        d.notes.iter().any(|n| n.contains("op.rename_column(\"users\", \"nick\", \"nickname\")")),
        "{:?}",
        d.notes
    );
    assert!(
        d.notes.iter().any(|n| n.contains("users.nickname is NOT NULL without a default")),
        "{:?}",
        d.notes
    );
    assert_eq!(
        lines(&d.downgrade),
        [
            "add_column users.nick",
            "alter_column users.bio",
            "alter_column users.score",
            "drop_column users.nickname"
        ]
    );
    let Op::AlterColumn { change, .. } = &d.downgrade[1] else { panic!() };
    assert_eq!(change.nullable, Some(true));
}

#[test]
fn a_dropped_default_is_a_drop_default() {
    let mut old = users();
    old.columns[1].default = Some("'a'".into());
    let d = diff(&schema(vec![old]), &schema(vec![users()]));
    let Op::AlterColumn { change, .. } = &d.upgrade[0] else { panic!("{d}") };
    assert_eq!(change.default, Some(None));
}

#[test]
fn a_table_that_looks_renamed_gets_a_note_not_a_rename() {
    let d = diff(&schema(vec![users()]), &schema(vec![table("accounts", users().columns)]));
    assert_eq!(lines(&d.upgrade), ["drop_table users", "create_table accounts"]);
    assert!(d.notes[0].contains("op.rename_table(\"users\", \"accounts\")"), "{:?}", d.notes);
}

#[test]
fn indexes_uniques_checks_and_foreign_keys_are_dropped_first_and_added_last() {
    let mut old = users();
    old.columns.push(col("org_id", Type::BigInt));
    old.indexes.push(Index { name: "ix_users_email".into(), columns: vec!["email".into()], unique: false });
    old.foreign_keys.push(fk("fk_users_org_id_orgs", "org_id", "orgs"));
    let mut new = users();
    new.indexes.push(Index { name: "ix_users_email".into(), columns: vec!["email".into()], unique: true });
    new.uniques.push(Unique { name: Some("uq_users_email".into()), columns: vec!["email".into()] });
    new.checks.push(Check { name: Some("ck_users_email".into()), expr: "email <> ''".into() });
    let orgs = table("orgs", vec![id()]);
    let d = diff(&schema(vec![old, orgs]), &schema(vec![new]));
    assert_eq!(
        lines(&d.upgrade),
        [
            "drop_constraint fk_users_org_id_orgs on users",
            "drop_index ix_users_email on users",
            "drop_table orgs",
            "drop_column users.org_id",
            "add_unique_constraint uq_users_email on users",
            "add_check_constraint ck_users_email on users",
            "create_index ix_users_email on users",
        ]
    );
    assert_eq!(
        lines(&d.downgrade),
        [
            "drop_index ix_users_email on users",
            "drop_constraint uq_users_email on users",
            "drop_constraint ck_users_email on users",
            "create_table orgs",
            "add_column users.org_id",
            "create_index ix_users_email on users",
            "add_foreign_key fk_users_org_id_orgs on users",
        ]
    );
}

#[test]
fn a_changed_foreign_key_action_is_dropped_and_added_again() {
    let mut old = users();
    old.columns.push(Column { nullable: true, ..col("invited_by", Type::BigInt) });
    old.foreign_keys.push(fk("fk_inv", "invited_by", "users"));
    let mut new = old.clone();
    new.foreign_keys[0].on_delete = Action::SetNull;
    let d = diff(&schema(vec![old]), &schema(vec![new]));
    assert_eq!(lines(&d.upgrade), ["drop_constraint fk_inv on users", "add_foreign_key fk_inv on users"]);
    let Op::AddForeignKey { fk, .. } = &d.upgrade[1] else { panic!() };
    assert_eq!(fk.on_delete, Action::SetNull);
}

#[test]
fn primary_key_and_autoincrement_changes_are_notes_that_keep_the_diff_non_empty() {
    let mut new = users();
    new.primary_key = Some(PrimaryKey { name: Some("pk_users".into()), columns: vec!["email".into()] });
    new.columns[0].autoincrement = false;
    let d = diff(&schema(vec![users()]), &schema(vec![new]));
    assert!(d.upgrade.is_empty());
    assert!(!d.is_empty());
    assert_eq!(d.notes.len(), 2, "{:?}", d.notes);
}

#[test]
fn reported_defaults_become_portable_values() {
    let v = |s: &str, ty: Type| default_value(s, &ty);
    let text = |s: &str| DefaultValue::Value(Value::Text(s.into()));
    assert_eq!(v("'draft'::character varying", Type::String(20)), text("draft"));
    assert_eq!(v("'it''s'", Type::Text), text("it's"));
    assert_eq!(v("''::text", Type::Text), text(""));
    assert_eq!(v("'a::b'::text", Type::Text), text("a::b"));
    assert_eq!(v("0", Type::Boolean), DefaultValue::Value(Value::Bool(false)));
    assert_eq!(v("true", Type::Boolean), DefaultValue::Value(Value::Bool(true)));
    assert_eq!(v("'-1'::integer", Type::Integer), DefaultValue::Value(Value::Int(-1)));
    assert_eq!(v("(-1)", Type::BigInt), DefaultValue::Value(Value::Int(-1)));
    assert_eq!(v("1.5", Type::Double), DefaultValue::Value(Value::Float(1.5)));
    assert_eq!(v("CURRENT_TIMESTAMP", Type::TimestampTz), DefaultValue::Sql("CURRENT_TIMESTAMP".into()));
    assert_eq!(v("(1) + (2)", Type::Integer), DefaultValue::Sql("(1) + (2)".into()));
    assert_eq!(v("'a' || 'b'", Type::Text), DefaultValue::Sql("'a' || 'b'".into()));
}

#[test]
fn dependency_order_keeps_the_given_order_and_breaks_cycles_at_the_first_item() {
    let item = |n: &str, deps: &[&str]| (n.to_string(), deps.iter().map(|d| d.to_string()).collect());
    let (order, deferred) = dependency_order(&[item("c", &["a"]), item("a", &["a"]), item("b", &["c", "x"])]);
    assert_eq!(order, ["a", "c", "b"]);
    assert!(deferred.is_empty());
    let (order, deferred) = dependency_order(&[item("a", &["b"]), item("b", &["a"])]);
    assert_eq!(order, ["a", "b"]);
    assert_eq!(deferred, [("a".to_string(), "b".to_string())]);
}
