//! The normalized schema model that introspection of either backend produces. It is
//! deterministic (tables, constraints and indexes sorted by name; columns in table order) and
//! has a stable text form, so tests compare against the real catalog and snapshots stay put.

use crate::ops::Action;
use crate::types::Type;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// A whole database schema: every user table (the version tables excluded).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
}

impl Schema {
    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// A copy with every table's columns sorted by name, for comparisons where column
    /// position does not matter (a column a downgrade re-adds always comes back last).
    pub fn with_sorted_columns(&self) -> Schema {
        let mut schema = self.clone();
        for table in schema.tables.values_mut() {
            table.columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
        schema
    }
}

/// One table as the database holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// The primary key, if any.
    pub primary_key: Option<PrimaryKey>,
    /// Unique constraints (not unique indexes, which are in `indexes`).
    pub uniques: Vec<Unique>,
    /// Explicit indexes.
    pub indexes: Vec<Index>,
    /// Foreign keys from this table.
    pub foreign_keys: Vec<ForeignKey>,
    /// Check constraints.
    pub checks: Vec<Check>,
}

impl Table {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    /// The index called `name`.
    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| i.name == name)
    }
    /// The unique constraint called `name`.
    pub fn unique(&self, name: &str) -> Option<&Unique> {
        self.uniques.iter().find(|u| u.name.as_deref() == Some(name))
    }
    /// The foreign key called `name`.
    pub fn foreign_key(&self, name: &str) -> Option<&ForeignKey> {
        self.foreign_keys.iter().find(|f| f.name.as_deref() == Some(name))
    }
    /// The check constraint called `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name.as_deref() == Some(name))
    }
    /// Sorts constraints and indexes so that two reads of the same table compare equal.
    pub fn normalize(&mut self) {
        self.uniques.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
        self.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        self.foreign_keys
            .sort_by(|a, b| (&a.name, &a.columns, &a.ref_table).cmp(&(&b.name, &b.columns, &b.ref_table)));
        self.checks.sort_by(|a, b| (&a.name, &a.expr).cmp(&(&b.name, &b.expr)));
    }
}

/// One column as the database holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its type, mapped back to the portable set ([`Type::Other`] for the rest).
    pub ty: Type,
    /// Whether it allows NULL.
    pub nullable: bool,
    /// The default expression as the database reports it.
    pub default: Option<String>,
    /// An identity column (PostgreSQL) or AUTOINCREMENT rowid alias (SQLite).
    pub autoincrement: bool,
}

/// A primary key constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryKey {
    /// Its name (`None` where the engine keeps none: SQLite without a `CONSTRAINT` clause).
    pub name: Option<String>,
    /// Its columns, in key order.
    pub columns: Vec<String>,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Unique {
    /// Its name, where the engine keeps one.
    pub name: Option<String>,
    /// Its columns.
    pub columns: Vec<String>,
}

/// An index that is not the implementation of a primary key or unique constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// The index name.
    pub name: String,
    /// Column names; an expression part is kept as its SQL text.
    pub columns: Vec<String>,
    /// Whether it is a unique index.
    pub unique: bool,
}

/// A foreign key constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    /// Its name, where the engine keeps one.
    pub name: Option<String>,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: String,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// The delete action.
    pub on_delete: Action,
    /// The update action.
    pub on_update: Action,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Its name, where the engine keeps one.
    pub name: Option<String>,
    /// The expression without the surrounding `CHECK (...)`.
    pub expr: String,
}

/// What a SQLite table rebuild needs beyond the model: the original SQL of the table's
/// indexes and triggers, re-run after the new table takes the old one's place.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableSnapshot {
    /// The table as introspected.
    pub table: Table,
    /// (index name, CREATE INDEX statement) for explicit indexes.
    pub indexes_sql: Vec<(String, String)>,
    /// (trigger name, CREATE TRIGGER statement).
    pub triggers_sql: Vec<(String, String)>,
}

fn name_or_unnamed(name: &Option<String>) -> &str {
    name.as_deref().unwrap_or("<unnamed>")
}

impl fmt::Display for Schema {
    /// The stable text form: one block per table, sorted, every fact on its own line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, table) in self.tables.values().enumerate() {
            if i > 0 {
                f.write_char('\n')?;
            }
            write!(f, "{table}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "table {}", self.name)?;
        for c in &self.columns {
            write!(f, "  column {} {}", c.name, c.ty)?;
            f.write_str(if c.nullable { " null" } else { " not null" })?;
            if let Some(d) = &c.default {
                write!(f, " default {d}")?;
            }
            if c.autoincrement {
                f.write_str(" autoincrement")?;
            }
            f.write_char('\n')?;
        }
        if let Some(pk) = &self.primary_key {
            writeln!(f, "  primary key {} ({})", name_or_unnamed(&pk.name), pk.columns.join(", "))?;
        }
        for u in &self.uniques {
            writeln!(f, "  unique {} ({})", name_or_unnamed(&u.name), u.columns.join(", "))?;
        }
        for fk in &self.foreign_keys {
            writeln!(
                f,
                "  foreign key {} ({}) references {} ({}) on delete {} on update {}",
                name_or_unnamed(&fk.name),
                fk.columns.join(", "),
                fk.ref_table,
                fk.ref_columns.join(", "),
                fk.on_delete,
                fk.on_update
            )?;
        }
        for c in &self.checks {
            writeln!(f, "  check {} ({})", name_or_unnamed(&c.name), c.expr)?;
        }
        for i in &self.indexes {
            let kind = if i.unique { "unique index" } else { "index" };
            writeln!(f, "  {kind} {} ({})", i.name, i.columns.join(", "))?;
        }
        Ok(())
    }
}
