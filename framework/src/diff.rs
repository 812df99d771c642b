//! Schema → ops: the typed ops that turn one introspected [`Schema`] into another, in a safe
//! order, plus the ops that undo them. Pure (no I/O), so it is unit-tested without a database;
//! autogenerate and `check` compare like with like by introspecting both sides on one engine.
//!
//! It never guesses a rename: a table or column that disappears while a similar one appears
//! becomes drop + create, with a note that a rename may be meant (a rename keeps rows, drop +
//! create does not). What it cannot express as ops (a changed primary key, an autoincrement
//! switch, an unnamed constraint) becomes a note too, and a note alone makes the diff
//! non-empty, so `check` still fails.

use crate::ops::{self, AlterColumn, DefaultValue, Op};
use crate::schema::{self, Schema};
use crate::types::Type;
use crate::value::Value;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// What turns `current` into `target` ([`diff`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Diff {
    /// Ops that turn the current schema into the target, in a safe order.
    pub upgrade: Vec<Op>,
    /// Ops that turn the target back into the current schema (the downgrade).
    pub downgrade: Vec<Op>,
    /// What a reviewer must look at: possible renames, changes left to a human.
    pub notes: Vec<String>,
}

impl Diff {
    /// True when the two schemas are equal for every purpose strata knows of.
    pub fn is_empty(&self) -> bool {
        self.upgrade.is_empty() && self.downgrade.is_empty() && self.notes.is_empty()
    }
}

impl fmt::Display for Diff {
    /// One op per line (`+ add_column users.email`), then the notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no difference\n");
        }
        for op in &self.upgrade {
            writeln!(f, "  {}", crate::codegen::op_line(op))?;
        }
        for note in &self.notes {
            writeln!(f, "  NOTE: {note}")?;
        }
        Ok(())
    }
}

/// The ops from `current` (the schema at head) to `target` (the models' schema) and back.
pub fn diff(current: &Schema, target: &Schema) -> Diff {
    let mut notes = Vec::new();
    let upgrade = plan(current, target, &mut notes);
    let downgrade = plan(target, current, &mut Vec::new());
    Diff { upgrade, downgrade, notes }
}

/// Orders `items` (name, names it depends on) so that each comes after what it depends on,
/// keeping the given order otherwise. A cycle is broken at its first item in the given order;
/// the dependencies dropped to break it come back as `(item, dependency)` pairs. Dependencies
/// on names outside `items`, and on itself, are ignored.
pub fn dependency_order(items: &[(String, Vec<String>)]) -> (Vec<String>, Vec<(String, String)>) {
    let names: BTreeSet<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::with_capacity(items.len());
    let mut deferred = Vec::new();
    while order.len() < items.len() {
        let pending = || items.iter().filter(|(n, _)| !placed.contains(n.as_str()));
        let blocked_by = |(name, deps): &(String, Vec<String>)| -> Vec<String> {
            deps.iter()
                .filter(|d| *d != name && names.contains(d.as_str()) && !placed.contains(d.as_str()))
                .cloned()
                .collect()
        };
        let ready = pending().find(|item| blocked_by(item).is_empty());
        let (name, _) = match ready {
            Some(item) => item,
            None => {
                let Some(item) = pending().next() else { break };
                deferred.extend(blocked_by(item).into_iter().map(|d| (item.0.clone(), d)));
                item
            }
        };
        placed.insert(name);
        order.push(name.clone());
    }
    (order, deferred)
}

fn plan(from: &Schema, to: &Schema, notes: &mut Vec<String>) -> Vec<Op> {
    let removed: Vec<&schema::Table> = from.tables.values().filter(|t| to.table(&t.name).is_none()).collect();
    let added: Vec<&schema::Table> = to.tables.values().filter(|t| from.table(&t.name).is_none()).collect();
    let common: Vec<(&schema::Table, &schema::Table)> =
        from.tables.values().filter_map(|a| Some((a, to.table(&a.name)?))).collect();
    rename_notes(&removed, &added, notes);

    let mut ops = Vec::new();
    // 1-3: drop what changes or goes from tables that stay, foreign keys first so that
    // nothing still points at a column or table that is about to go.
    for (a, b) in &common {
        for fk in changed(&a.foreign_keys, &b.foreign_keys, fk_key) {
            drop_constraint(&mut ops, notes, &a.name, &fk.name, "foreign key");
        }
    }
    for (a, b) in &common {
        for index in changed(&a.indexes, &b.indexes, |i| i.name.clone()) {
            ops.push(Op::DropIndex { name: index.name.clone(), table: a.name.clone() });
        }
        for unique in changed(&a.uniques, &b.uniques, unique_key) {
            drop_constraint(&mut ops, notes, &a.name, &unique.name, "unique constraint");
        }
        for check in changed(&a.checks, &b.checks, check_key) {
            drop_constraint(&mut ops, notes, &a.name, &check.name, "check constraint");
        }
    }
    // 4: drop tables that go, those that reference others first; foreign keys that form a
    // cycle among them are dropped before any table.
    let (order, deferred) = dependency_order(&with_dependencies(&removed));
    for (table, parent) in &deferred {
        let t = &from.tables[table];
        for fk in t.foreign_keys.iter().filter(|fk| &fk.ref_table == parent) {
            drop_constraint(&mut ops, notes, table, &fk.name, "foreign key");
        }
    }
    for name in order.iter().rev() {
        ops.push(Op::DropTable { name: name.clone() });
    }
    // 5: create new tables, referenced ones first; a foreign key in a cycle is added later.
    let (order, deferred) = dependency_order(&with_dependencies(&added));
    let mut late_fks = Vec::new();
    for name in &order {
        let t = &to.tables[name];
        let cyclic: Vec<&schema::ForeignKey> = t
            .foreign_keys
            .iter()
            .filter(|fk| deferred.iter().any(|(n, p)| n == name && *p == fk.ref_table))
            .collect();
        let mut table = table_op(t);
        table.foreign_keys.retain(|fk| !cyclic.iter().any(|c| c.name.as_deref() == Some(&fk.name)));
        late_fks.extend(cyclic.into_iter().map(|fk| (name.clone(), fk)));
        ops.push(Op::CreateTable(table));
    }
    // 6: columns of tables that stay: add, alter, drop (a table never loses its last column).
    for (a, b) in &common {
        column_ops(a, b, &mut ops, notes);
    }
    // 7-9: constraints and indexes that are new or changed.
    for (a, b) in &common {
        for unique in changed(&b.uniques, &a.uniques, unique_key) {
            let columns = unique.columns.clone();
            let name = unique.name.clone().unwrap_or_default();
            ops.push(Op::AddUniqueConstraint {
                table: a.name.clone(),
                unique: ops::Unique { name, columns },
            });
        }
        for check in changed(&b.checks, &a.checks, check_key) {
            let check = ops::Check::new(check.name.clone().unwrap_or_default(), check.expr.clone());
            ops.push(Op::AddCheckConstraint { table: a.name.clone(), check });
        }
    }
    for t in &added {
        ops.extend(t.indexes.iter().map(|i| Op::CreateIndex(index_op(&t.name, i))));
    }
    for (a, b) in &common {
        for index in changed(&b.indexes, &a.indexes, |i| i.name.clone()) {
            ops.push(Op::CreateIndex(index_op(&b.name, index)));
        }
    }
    for (a, b) in &common {
        for fk in changed(&b.foreign_keys, &a.foreign_keys, fk_key) {
            ops.push(Op::AddForeignKey { table: a.name.clone(), fk: fk_op(&a.name, fk) });
        }
    }
    for (table, fk) in late_fks {
        ops.push(Op::AddForeignKey { fk: fk_op(&table, fk), table });
    }
    for (a, b) in &common {
        if a.primary_key != b.primary_key {
            notes.push(format!(
                "the primary key of {} changes from {} to {}: strata does not generate primary key \
                 changes; write them by hand",
                a.name,
                pk_text(&a.primary_key),
                pk_text(&b.primary_key)
            ));
        }
    }
    ops
}

/// Items of `from` that `to` lacks or holds differently (matched by key, compared whole).
fn changed<'a, T: PartialEq>(from: &'a [T], to: &[T], key: impl Fn(&T) -> String) -> Vec<&'a T> {
    let to: HashMap<String, &T> = to.iter().map(|t| (key(t), t)).collect();
    from.iter().filter(|item| to.get(&key(item)).is_none_or(|other| *other != *item)).collect()
}

fn fk_key(fk: &schema::ForeignKey) -> String {
    fk.name.clone().unwrap_or_else(|| format!("({}) -> {}", fk.columns.join(", "), fk.ref_table))
}
fn unique_key(u: &schema::Unique) -> String {
    u.name.clone().unwrap_or_else(|| format!("({})", u.columns.join(", ")))
}
fn check_key(c: &schema::Check) -> String {
    c.name.clone().unwrap_or_else(|| c.expr.clone())
}

fn drop_constraint(
    ops: &mut Vec<Op>,
    notes: &mut Vec<String>,
    table: &str,
    name: &Option<String>,
    what: &str,
) {
    match name {
        Some(name) => ops.push(Op::DropConstraint { table: table.to_string(), name: name.clone() }),
        None => notes.push(format!("an unnamed {what} on {table} must go; strata cannot drop it by name")),
    }
}

fn pk_text(pk: &Option<schema::PrimaryKey>) -> String {
    match pk {
        Some(pk) => format!("{} ({})", pk.name.as_deref().unwrap_or("<unnamed>"), pk.columns.join(", ")),
        None => "none".into(),
    }
}

fn with_dependencies(tables: &[&schema::Table]) -> Vec<(String, Vec<String>)> {
    tables
        .iter()
        .map(|t| (t.name.clone(), t.foreign_keys.iter().map(|fk| fk.ref_table.clone()).collect()))
        .collect()
}

fn rename_notes(removed: &[&schema::Table], added: &[&schema::Table], notes: &mut Vec<String>) {
    let shape = |t: &schema::Table| {
        let mut cols: Vec<(String, Type)> =
            t.columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect();
        cols.sort();
        cols
    };
    for r in removed {
        for a in added.iter().filter(|a| shape(a) == shape(r)) {
            notes.push(format!(
                "table {} is dropped and table {} created with the same columns: if this is a rename, \
                 replace both with op.rename_table({:?}, {:?}) to keep the rows",
                r.name, a.name, r.name, a.name
            ));
        }
    }
}

fn column_ops(a: &schema::Table, b: &schema::Table, ops: &mut Vec<Op>, notes: &mut Vec<String>) {
    let table = &a.name;
    let added: Vec<&schema::Column> = b.columns.iter().filter(|c| a.column(&c.name).is_none()).collect();
    let removed: Vec<&schema::Column> = a.columns.iter().filter(|c| b.column(&c.name).is_none()).collect();
    for r in &removed {
        for n in added.iter().filter(|n| n.ty == r.ty) {
            notes.push(format!(
                "column {table}.{} is dropped and {table}.{} added with the same type: if this is a \
                 rename, replace both with op.rename_column({table:?}, {:?}, {:?}) to keep the values",
                r.name, n.name, r.name, n.name
            ));
        }
    }
    for c in &added {
        if !c.nullable && c.default.is_none() && !c.autoincrement {
            notes.push(format!(
                "{table}.{} is NOT NULL without a default: adding it fails if {table} has rows; add it \
                 nullable, fill it, then make it NOT NULL",
                c.name
            ));
        }
        ops.push(Op::AddColumn { table: table.clone(), column: column_op(c) });
    }
    for old in &a.columns {
        let Some(new) = b.column(&old.name) else { continue };
        let mut change = AlterColumn::new();
        if old.ty != new.ty {
            change.ty = Some(new.ty.clone());
        }
        if old.nullable != new.nullable {
            change.nullable = Some(new.nullable);
        }
        if old.default != new.default {
            change.default = Some(new.default.as_deref().map(|d| default_value(d, &new.ty)));
        }
        if old.autoincrement != new.autoincrement {
            notes.push(format!(
                "{table}.{} {} autoincrement: strata does not generate that change; write it by hand",
                old.name,
                if new.autoincrement { "becomes" } else { "stops being" }
            ));
        }
        if change != AlterColumn::new() {
            ops.push(Op::AlterColumn { table: table.clone(), column: old.name.clone(), change });
        }
    }
    for c in &removed {
        ops.push(Op::DropColumn { table: table.clone(), column: c.name.clone() });
    }
}

/// The create_table op that builds `t` as introspection reports it, every name explicit.
pub fn table_op(t: &schema::Table) -> ops::Table {
    let pk: Vec<String> = t.primary_key.as_ref().map(|p| p.columns.clone()).unwrap_or_default();
    let mut table = ops::Table::new(&t.name);
    for c in &t.columns {
        let mut column = column_op(c);
        if pk.len() == 1 && pk[0] == c.name {
            column.primary_key = true;
        }
        table.columns.push(column);
    }
    if pk.len() > 1 {
        table.primary_key = pk;
    }
    table.primary_key_name =
        t.primary_key.as_ref().and_then(|p| p.name.clone()).unwrap_or_else(|| format!("pk_{}", t.name));
    table.uniques = t
        .uniques
        .iter()
        .map(|u| ops::Unique { name: u.name.clone().unwrap_or_default(), columns: u.columns.clone() })
        .collect();
    table.foreign_keys = t.foreign_keys.iter().map(|fk| fk_op(&t.name, fk)).collect();
    table.checks = t
        .checks
        .iter()
        .map(|c| ops::Check::new(c.name.clone().unwrap_or_default(), c.expr.clone()))
        .collect();
    table
}

/// The column definition that recreates `c`.
pub fn column_op(c: &schema::Column) -> ops::Column {
    let mut column = ops::Column::new(&c.name, c.ty.clone());
    column.nullable = c.nullable;
    column.default = c.default.as_deref().map(|d| default_value(d, &c.ty));
    if c.autoincrement {
        column = column.autoincrement();
    }
    column
}

fn fk_op(table: &str, fk: &schema::ForeignKey) -> ops::ForeignKey {
    ops::ForeignKey {
        name: fk
            .name
            .clone()
            .unwrap_or_else(|| format!("fk_{table}_{}_{}", fk.columns.join("_"), fk.ref_table)),
        columns: fk.columns.clone(),
        ref_table: fk.ref_table.clone(),
        ref_columns: fk.ref_columns.clone(),
        on_delete: fk.on_delete,
        on_update: fk.on_update,
    }
}

fn index_op(table: &str, i: &schema::Index) -> ops::Index {
    ops::Index {
        name: i.name.clone(),
        table: table.to_string(),
        columns: i.columns.clone(),
        unique: i.unique,
    }
}

/// A default as a database reports it (`'draft'::character varying`, `0`, `false`,
/// `CURRENT_TIMESTAMP`) turned back into a portable default: literals become values (so the
/// generated migration reads like hand-written code and applies on every engine), anything
/// else stays SQL, verbatim.
pub fn default_value(reported: &str, ty: &Type) -> DefaultValue {
    let literal = strip_cast(strip_parens(reported.trim()));
    let quoted = string_literal(literal);
    let bare = quoted.clone().unwrap_or_else(|| strip_parens(literal).to_string());
    let value = match ty {
        Type::Boolean => match bare.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        Type::SmallInt | Type::Integer | Type::BigInt => bare.parse().ok().map(Value::Int),
        Type::Float | Type::Double => bare.parse().ok().map(Value::Float),
        _ => None,
    };
    match (value, quoted) {
        (Some(value), _) => DefaultValue::Value(value),
        (None, Some(text)) => DefaultValue::Value(Value::Text(text)),
        (None, None) => DefaultValue::Sql(reported.trim().to_string()),
    }
}

/// `(x)` → `x` while the parentheses wrap the whole text.
fn strip_parens(mut text: &str) -> &str {
    while text.starts_with('(') && text.ends_with(')') && closing_paren(text) == Some(text.len() - 1) {
        text = text[1..text.len() - 1].trim();
    }
    text
}

/// The index of the parenthesis closing the one at 0, skipping string literals.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    for (i, c) in text.char_indices() {
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `'x'::character varying` → `'x'`; `5::bigint` → `5` (PostgreSQL's casts on literals).
fn strip_cast(text: &str) -> &str {
    let end = if text.starts_with('\'') { literal_end(text) } else { text.find("::") };
    match end {
        Some(at) if text[at..].starts_with("::") => {
            let head = text[..at].trim();
            if string_literal(head).is_some() || head.parse::<f64>().is_ok() {
                head
            } else {
                text
            }
        }
        _ => text,
    }
}

/// The byte index just past the string literal that starts `text`.
fn literal_end(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
            } else {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The value of one complete SQL string literal (`'it''s'` → `it's`).
fn string_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Inside a single literal every quote is doubled.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        value.push(c);
    }
    Some(value)
}

#[cfg(test)]
mod tests;
