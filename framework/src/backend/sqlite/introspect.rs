//! Introspection: the pragmas for columns, keys, indexes and foreign keys; the stored CREATE
//! TABLE text for constraint names, checks and AUTOINCREMENT.

use super::ddl::{self, TableDdl};
use super::SqliteBackend;
use crate::backend::BackendError;
use crate::ops::Action;
use crate::schema::{Check, Column, ForeignKey, Index, PrimaryKey, Table, Unique};
use crate::types::Type;

/// The portable type a declared type stands for: the reverse of the dialect's `type_name`,
/// tolerant of case and spacing. Anything else is kept as declared.
pub(super) fn portable_type(declared: &str) -> Type {
    let mut norm = String::with_capacity(declared.len());
    for word in declared.split_whitespace() {
        if !norm.is_empty() {
            norm.push(' ');
        }
        norm.push_str(&word.to_ascii_uppercase());
    }
    let norm =
        norm.replace(" (", "(").replace("( ", "(").replace(" )", ")").replace(" ,", ",").replace(", ", ",");
    let args =
        |prefix: &str| norm.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(')')).map(str::to_string);
    match norm.as_str() {
        "SMALLINT" => return Type::SmallInt,
        "INTEGER" => return Type::Integer,
        "BIGINT" => return Type::BigInt,
        "TEXT" => return Type::Text,
        "BOOLEAN" => return Type::Boolean,
        // The `_TEXT` names (TEXT affinity) and the standard ones databases made before them.
        "DATE" | "DATE_TEXT" => return Type::Date,
        "TIMESTAMP" | "TIMESTAMP_TEXT" => return Type::Timestamp,
        "TIMESTAMPTZ" | "TIMESTAMPTZ_TEXT" => return Type::TimestampTz,
        "REAL" => return Type::Float,
        "DOUBLE PRECISION" => return Type::Double,
        "BLOB" => return Type::Bytes,
        "JSON" | "JSON_TEXT" => return Type::Json,
        "UUID" | "UUID_TEXT" => return Type::Uuid,
        _ => {}
    }
    if let Some(n) = args("VARCHAR(").and_then(|n| n.parse().ok()) {
        return Type::String(n);
    }
    let numeric = args("NUMERIC_TEXT(").or_else(|| args("NUMERIC(")).and_then(|ps| {
        let (p, s) = ps.split_once(',')?;
        Some(Type::Numeric(p.parse().ok()?, s.parse().ok()?))
    });
    numeric.unwrap_or_else(|| Type::Other(declared.to_string()))
}

fn action(rule: &str) -> Action {
    match rule.to_ascii_uppercase().as_str() {
        "RESTRICT" => Action::Restrict,
        "CASCADE" => Action::Cascade,
        "SET NULL" => Action::SetNull,
        "SET DEFAULT" => Action::SetDefault,
        _ => Action::NoAction,
    }
}

/// One row of `pragma_table_xinfo`.
struct ColumnInfo {
    name: String,
    declared: String,
    not_null: bool,
    default: Option<String>,
    /// 1-based position in the primary key, 0 when not part of it.
    pk: i64,
}

/// Column names in constraint text may differ in ASCII case from the column's own spelling;
/// report the column's.
fn canonical(columns: &[ColumnInfo], name: &str) -> String {
    columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |c| c.name.clone())
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

impl SqliteBackend {
    /// The normalized model of one table, from the pragmas and its `CREATE TABLE` text.
    pub(super) fn read_table(&self, name: &str, create_sql: &str) -> Result<Table, BackendError> {
        let ddl = ddl::parse_create_table(create_sql).map_err(|e| BackendError::Statement {
            statement: create_sql.to_string(),
            message: format!("strata cannot read the definition of table {name}: {e}"),
        })?;
        let infos = self.column_infos(name)?;
        let mut table = Table { name: name.to_string(), ..Table::default() };
        table.columns = self.columns(&infos, &ddl);

        let mut pk: Vec<&ColumnInfo> = infos.iter().filter(|c| c.pk > 0).collect();
        pk.sort_by_key(|c| c.pk);
        if !pk.is_empty() {
            table.primary_key = Some(PrimaryKey {
                name: ddl.primary_key.as_ref().and_then(|k| k.name.clone()),
                columns: pk.iter().map(|c| c.name.clone()).collect(),
            });
        }
        table.uniques = ddl
            .uniques
            .iter()
            .map(|u| Unique {
                name: u.name.clone(),
                columns: u.columns.iter().map(|c| canonical(&infos, c)).collect(),
            })
            .collect();
        table.checks =
            ddl.checks.iter().map(|c| Check { name: c.name.clone(), expr: c.expr.clone() }).collect();
        table.foreign_keys = self.foreign_keys(name, &infos, &ddl)?;
        table.indexes = self.indexes(name)?;
        table.normalize();
        Ok(table)
    }

    fn column_infos(&self, table: &str) -> Result<Vec<ColumnInfo>, BackendError> {
        // hidden = 1 marks a virtual table's hidden column; generated columns (2, 3) are real.
        const SQL: &str = "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?1) \
             WHERE hidden <> 1 ORDER BY cid";
        self.rows(SQL, [table], |r| {
            Ok(ColumnInfo {
                name: r.get(0)?,
                declared: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                pk: r.get(4)?,
            })
        })
    }

    /// Columns with the nullability SQLite enforces: a primary key column without NOT NULL
    /// still takes NULL, except a rowid alias or in a WITHOUT ROWID table.
    fn columns(&self, infos: &[ColumnInfo], ddl: &TableDdl) -> Vec<Column> {
        let parsed = |name: &str| ddl.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name));
        let pk_count = infos.iter().filter(|c| c.pk > 0).count();
        infos
            .iter()
            .map(|c| {
                let rowid_alias = c.pk > 0
                    && pk_count == 1
                    && !ddl.without_rowid
                    && c.declared.eq_ignore_ascii_case("INTEGER")
                    && !parsed(&c.name).is_some_and(|p| p.descending_key);
                let key_enforced = c.pk > 0 && (rowid_alias || ddl.without_rowid);
                Column {
                    name: c.name.clone(),
                    ty: portable_type(&c.declared),
                    nullable: !c.not_null && !key_enforced,
                    default: c.default.clone(),
                    autoincrement: parsed(&c.name).is_some_and(|p| p.autoincrement),
                }
            })
            .collect()
    }

    /// Foreign keys from the pragma (what SQLite enforces), named from the definition by
    /// matching columns, parent and actions.
    fn foreign_keys(
        &self,
        table: &str,
        infos: &[ColumnInfo],
        ddl: &TableDdl,
    ) -> Result<Vec<ForeignKey>, BackendError> {
        const SQL: &str = "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
             FROM pragma_foreign_key_list(?1) ORDER BY id, seq";
        type Raw = (i64, String, String, Option<String>, String, String);
        let raw: Vec<Raw> = self
            .rows(SQL, [table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?;
        let mut fks: Vec<(i64, ForeignKey)> = Vec::new();
        let mut unresolved: Vec<bool> = Vec::new();
        for (id, ref_table, from, to, on_update, on_delete) in raw {
            if fks.last().is_none_or(|(last, _)| *last != id) {
                let fk = ForeignKey {
                    name: None,
                    columns: Vec::new(),
                    ref_table,
                    ref_columns: Vec::new(),
                    on_delete: action(&on_delete),
                    on_update: action(&on_update),
                };
                fks.push((id, fk));
                unresolved.push(false);
            }
            if let (Some((_, fk)), Some(missing)) = (fks.last_mut(), unresolved.last_mut()) {
                fk.columns.push(canonical(infos, &from));
                match to {
                    Some(to) => fk.ref_columns.push(to),
                    None => *missing = true,
                }
            }
        }
        let mut used = vec![false; ddl.foreign_keys.len()];
        let mut out = Vec::with_capacity(fks.len());
        // The pragma numbers foreign keys last-declared first; walking them in declaration
        // order pairs identical declarations in order.
        for ((_, mut fk), missing) in fks.into_iter().zip(unresolved).rev() {
            // `REFERENCES parent` without columns means the parent's primary key.
            if missing {
                fk.ref_columns = self.primary_key_columns(&fk.ref_table)?;
            }
            let matched = ddl.foreign_keys.iter().enumerate().find(|(i, d)| {
                !used[*i]
                    && d.ref_table.eq_ignore_ascii_case(&fk.ref_table)
                    && same_columns(&d.columns, &fk.columns)
                    && (d.on_delete, d.on_update) == (fk.on_delete, fk.on_update)
            });
            if let Some((i, d)) = matched {
                used[i] = true;
                fk.name = d.name.clone();
            }
            out.push(fk);
        }
        Ok(out)
    }

    fn primary_key_columns(&self, table: &str) -> Result<Vec<String>, BackendError> {
        const SQL: &str = "SELECT name FROM pragma_table_xinfo(?1) WHERE pk > 0 ORDER BY pk";
        self.rows(SQL, [table], |r| r.get(0))
    }

    /// Explicit indexes only: those behind a UNIQUE or PRIMARY KEY constraint belong to it.
    fn indexes(&self, table: &str) -> Result<Vec<Index>, BackendError> {
        const LIST: &str = "SELECT name, \"unique\" FROM pragma_index_list(?1) WHERE origin = 'c'";
        const COLUMNS: &str = "SELECT name FROM pragma_index_info(?1) ORDER BY seqno";
        const SQL: &str = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1";
        let list: Vec<(String, bool)> = self.rows(LIST, [table], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut indexes = Vec::with_capacity(list.len());
        for (name, unique) in list {
            let names: Vec<Option<String>> = self.rows(COLUMNS, [&name], |r| r.get(0))?;
            let columns = if names.iter().all(Option::is_some) {
                names.into_iter().flatten().collect()
            } else {
                // An expression part has no column name; take its text from the definition.
                let sql: Option<String> =
                    self.rows(SQL, [&name], |r| r.get::<_, Option<String>>(0))?.into_iter().flatten().next();
                let sql = sql.unwrap_or_default();
                let parts = ddl::parse_index_columns(&sql).map_err(|e| BackendError::Statement {
                    statement: sql.clone(),
                    message: format!("strata cannot read the definition of index {name}: {e}"),
                })?;
                names
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| n.or_else(|| parts.get(i).cloned()).unwrap_or_default())
                    .collect()
            };
            indexes.push(Index { name, columns, unique });
        }
        Ok(indexes)
    }
}
