//! Op → SQL, per engine. Pure: no I/O. The shared rendering lives here as default methods of
//! [`Dialect`]; each engine's file supplies type names, literals and what it does differently
//! (SQLite's table rebuild). A new dialect touches one file.

pub mod postgres;
pub mod sqlite;

use crate::ops::{self, Column, DefaultValue, DialectKind, ForeignKey, Index, Op, Unique};
use crate::schema::TableSnapshot;
use crate::types::Type;
use crate::value::Value;

/// Why an op could not be turned into SQL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The op names a table the database does not have (found while planning a SQLite rebuild).
    #[error("table {0:?} does not exist")]
    NoSuchTable(String),
    /// The op names a column the table does not have.
    #[error("column {column:?} does not exist in table {table:?}")]
    NoSuchColumn {
        /// The table.
        table: String,
        /// The missing column.
        column: String,
    },
    /// `drop_constraint` names a constraint the table does not have.
    #[error("no constraint named {name:?} on table {table:?}")]
    NoSuchConstraint {
        /// The table.
        table: String,
        /// The constraint name.
        name: String,
    },
    /// The engine cannot express the op; the message says why.
    #[error("{0}")]
    Unsupported(String),
}

/// Quotes an identifier the SQL-standard way (both engines): `"a""b"`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal: `'it''s'`. Used with standard_conforming_strings (the PostgreSQL
/// default since 9.1), where a backslash is an ordinary character.
pub fn quote_str(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `"a", "b"`.
pub fn column_list(columns: &[String]) -> String {
    columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
}

fn constraint_prefix(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!("CONSTRAINT {} ", quote_ident(name))
    }
}

/// The SQL-standard spelling of a portable type, which both engines accept; each dialect
/// overrides only where it differs.
pub fn standard_type_name(ty: &Type) -> String {
    match ty {
        Type::SmallInt => "SMALLINT".into(),
        Type::Integer => "INTEGER".into(),
        Type::BigInt => "BIGINT".into(),
        Type::Text => "TEXT".into(),
        Type::String(n) => format!("VARCHAR({n})"),
        Type::Boolean => "BOOLEAN".into(),
        Type::Date => "DATE".into(),
        Type::Timestamp => "TIMESTAMP".into(),
        Type::TimestampTz => "TIMESTAMPTZ".into(),
        Type::Numeric(p, s) => format!("NUMERIC({p}, {s})"),
        Type::Float => "REAL".into(),
        Type::Double => "DOUBLE PRECISION".into(),
        Type::Bytes => "BYTEA".into(),
        Type::Json => "JSON".into(),
        Type::Uuid => "UUID".into(),
        Type::Other(name) => name.clone(),
    }
}

/// Renders ops for one engine. The provided methods are the SQL both engines share.
pub trait Dialect: Send + Sync {
    /// Which engine this renders for.
    fn kind(&self) -> DialectKind;

    /// The engine's name for a portable type.
    fn type_name(&self, ty: &Type) -> String;

    /// A literal value (booleans differ between engines).
    fn literal(&self, value: &Value) -> String {
        match value {
            Value::Null => "NULL".into(),
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Value::Int(v) => v.to_string(),
            Value::Float(v) => format!("{v:?}"),
            Value::Text(s) => quote_str(s),
            Value::Bytes(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("X'{hex}'")
            }
            other => quote_str(&other.to_text().unwrap_or_default()),
        }
    }

    /// The longest identifier the engine keeps whole, in bytes (`None`: no practical limit).
    fn max_identifier_bytes(&self) -> Option<usize> {
        None
    }

    /// The table whose current definition `op` needs in order to render (SQLite rebuilds).
    fn needs_snapshot(&self, _op: &Op) -> Option<String> {
        None
    }

    /// The statements `op` takes when the live table allows them, rendered without a
    /// snapshot: SQLite's `DROP COLUMN`, which SQLite itself refuses for a column a key,
    /// index or check needs ([`crate::backend::Backend::try_plain_form`]). Tried first, it
    /// spares the snapshot and the foreign key switch a rebuild needs.
    fn plain_form(&self, _op: &Op) -> Option<Vec<String>> {
        None
    }

    /// True when `op` rebuilds a table, so foreign key enforcement must be off around the
    /// migration's transaction and `foreign_key_check` must pass before commit.
    fn rebuilds(&self, _op: &Op, _snapshot: Option<&TableSnapshot>) -> bool {
        false
    }

    /// The SQL statements for one op. `snapshot` is the table named by [`Self::needs_snapshot`].
    /// Data ops render to nothing: the runner calls them with the live connection.
    fn render(&self, op: &Op, snapshot: Option<&TableSnapshot>) -> Result<Vec<String>, RenderError>;

    /// `DEFAULT ...` for a column default.
    fn default_clause(&self, default: &DefaultValue) -> String {
        match default {
            DefaultValue::Value(v) => self.literal(v),
            DefaultValue::Sql(expr) => format!("({expr})"),
        }
    }

    /// Column-level clause for a database-generated column, and whether it carries the
    /// primary key itself (SQLite's `PRIMARY KEY AUTOINCREMENT` must be inline).
    fn identity_clause(&self, column: &Column, pk_name: &str) -> (String, bool);

    /// The declared type of a column (SQLite narrows AUTOINCREMENT columns to INTEGER).
    fn column_type(&self, column: &Column) -> String {
        self.type_name(&column.ty)
    }

    /// `"name" TYPE NOT NULL DEFAULT ...`, plus inline constraints when `inline_constraints`.
    /// Returns whether the primary key was rendered inline.
    fn column_definition(&self, column: &Column, pk_name: &str, inline_constraints: bool) -> (String, bool) {
        let mut sql = format!("{} {}", quote_ident(&column.name), self.column_type(column));
        let mut pk_inline = false;
        if column.autoincrement {
            let (clause, inline) = self.identity_clause(column, pk_name);
            if !clause.is_empty() {
                sql.push(' ');
                sql.push_str(&clause);
            }
            pk_inline = inline;
        }
        if !column.nullable {
            sql.push_str(" NOT NULL");
        }
        if let Some(default) = &column.default {
            sql.push_str(" DEFAULT ");
            sql.push_str(&self.default_clause(default));
        }
        if inline_constraints {
            if let Some(name) = &column.unique {
                sql.push_str(&format!(" {}UNIQUE", constraint_prefix(name)));
            }
            if let Some((name, expr)) = &column.check {
                sql.push_str(&format!(" {}CHECK ({expr})", constraint_prefix(name)));
            }
        }
        (sql, pk_inline)
    }

    /// `CONSTRAINT ... FOREIGN KEY ... REFERENCES ...`, as in `CREATE TABLE`.
    fn foreign_key_clause(&self, fk: &ForeignKey) -> String {
        let mut sql = format!(
            "{}FOREIGN KEY ({}) REFERENCES {} ({})",
            constraint_prefix(&fk.name),
            column_list(&fk.columns),
            quote_ident(&fk.ref_table),
            column_list(&fk.ref_columns)
        );
        if fk.on_delete != ops::Action::NoAction {
            sql.push_str(&format!(" ON DELETE {}", fk.on_delete));
        }
        if fk.on_update != ops::Action::NoAction {
            sql.push_str(&format!(" ON UPDATE {}", fk.on_update));
        }
        sql
    }

    /// `CONSTRAINT ... UNIQUE (...)`.
    fn unique_clause(&self, unique: &Unique) -> String {
        format!("{}UNIQUE ({})", constraint_prefix(&unique.name), column_list(&unique.columns))
    }

    /// Whether a one-column primary key is declared on its column rather than as a table
    /// constraint (the same key either way).
    fn inline_primary_key(&self) -> bool {
        false
    }

    /// Whether `column`, declared as its table's one-column primary key, can never hold NULL
    /// without a NOT NULL of its own (SQLite's rowid alias, `INTEGER PRIMARY KEY`): that NOT
    /// NULL is left out of the definition, the same table in fewer tokens.
    fn key_implies_not_null(&self, _column: &Column) -> bool {
        false
    }

    /// `CREATE TABLE` with every constraint named.
    fn create_table(&self, table: &ops::Table) -> String {
        let mut parts = Vec::new();
        let pk = table.primary_key_columns();
        let inline_pk = match pk.as_slice() {
            [only] if self.inline_primary_key() => Some(only.as_str()),
            _ => None,
        };
        let mut pk_done = false;
        for column in &table.columns {
            let keyed = inline_pk == Some(column.name.as_str()) || column.autoincrement;
            let implied;
            let column = if keyed && !column.nullable && self.key_implies_not_null(column) {
                implied = Column { nullable: true, ..column.clone() };
                &implied
            } else {
                column
            };
            let (mut def, pk_inline) = self.column_definition(column, &table.primary_key_name, false);
            if !pk_inline && !pk_done && inline_pk == Some(column.name.as_str()) {
                def.push_str(&format!(" {}PRIMARY KEY", constraint_prefix(&table.primary_key_name)));
                pk_done = true;
            }
            pk_done |= pk_inline;
            parts.push(def);
        }
        if !pk.is_empty() && !pk_done {
            parts.push(format!(
                "{}PRIMARY KEY ({})",
                constraint_prefix(&table.primary_key_name),
                column_list(&pk)
            ));
        }
        for column in &table.columns {
            if let Some(name) = &column.unique {
                parts.push(format!("{}UNIQUE ({})", constraint_prefix(name), quote_ident(&column.name)));
            }
        }
        parts.extend(table.uniques.iter().map(|u| self.unique_clause(u)));
        parts.extend(table.foreign_keys.iter().map(|fk| self.foreign_key_clause(fk)));
        for column in &table.columns {
            if let Some((name, expr)) = &column.check {
                parts.push(format!("{}CHECK ({expr})", constraint_prefix(name)));
            }
        }
        parts
            .extend(table.checks.iter().map(|c| format!("{}CHECK ({})", constraint_prefix(&c.name), c.expr)));
        format!("CREATE TABLE {} (\n    {}\n)", quote_ident(&table.name), parts.join(",\n    "))
    }

    /// `CREATE [UNIQUE] INDEX ...`.
    fn create_index(&self, index: &Index) -> String {
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            quote_ident(&index.name),
            quote_ident(&index.table),
            column_list(&index.columns)
        )
    }

    /// SQL both engines spell the same way; `None` for ops each dialect renders itself.
    fn render_common(&self, op: &Op) -> Option<Vec<String>> {
        let sql = match op {
            Op::CreateTable(t) => self.create_table(t),
            Op::DropTable { name } => format!("DROP TABLE {}", quote_ident(name)),
            Op::RenameTable { from, to } => {
                format!("ALTER TABLE {} RENAME TO {}", quote_ident(from), quote_ident(to))
            }
            Op::RenameColumn { table, from, to } => format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                quote_ident(table),
                quote_ident(from),
                quote_ident(to)
            ),
            Op::CreateIndex(index) => self.create_index(index),
            Op::DropIndex { name, .. } => format!("DROP INDEX {}", quote_ident(name)),
            Op::Execute { sql, only, .. } => {
                return Some(match only {
                    Some(kind) if *kind != self.kind() => Vec::new(),
                    _ => vec![sql.clone()],
                })
            }
            Op::Data { .. } => return Some(Vec::new()),
            _ => return None,
        };
        Some(vec![sql])
    }
}

/// The dialect for an engine.
pub fn for_kind(kind: DialectKind) -> &'static dyn Dialect {
    match kind {
        DialectKind::Sqlite => &sqlite::Sqlite,
        DialectKind::Postgres => &postgres::Postgres,
    }
}
