//! Reads the live schema from pg_catalog into the normalized [`Schema`] model. Three catalog
//! queries (columns, constraints, indexes) cover every table of `current_schema()` and go to
//! the server as one simple-query round trip, which also makes them see one snapshot.

use super::statement_error;
use crate::backend::{BackendError, VersionTables};
use crate::ops::Action;
use crate::schema::{Check, Column, ForeignKey, Index, PrimaryKey, Schema, Table, Unique};
use crate::types::Type;
use postgres::{Client, SimpleQueryMessage, SimpleQueryRow};
use std::collections::BTreeMap;

/// Every column of every ordinary or partitioned table, in table order. The LEFT JOIN keeps
/// tables without columns.
const COLUMNS: &str = "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
       pg_get_expr(d.adbin, d.adrelid), a.attidentity \
FROM pg_class c \
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() \
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
WHERE c.relkind IN ('r', 'p') \
ORDER BY c.oid, a.attnum";

/// Primary keys, uniques, foreign keys and checks: one row per key column, in key order
/// (a check without columns yields one row with NULL columns).
const CONSTRAINTS: &str = "SELECT c.relname, k.oid, k.conname, k.contype, k.confdeltype, k.confupdtype, \
       f.relname, CASE WHEN k.contype = 'c' THEN pg_get_constraintdef(k.oid, true) END, \
       a.attname, fa.attname \
FROM pg_constraint k \
JOIN pg_class c ON c.oid = k.conrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() \
LEFT JOIN pg_class f ON f.oid = k.confrelid \
LEFT JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(attnum, fattnum, ord) ON true \
LEFT JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum \
LEFT JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = u.fattnum \
WHERE k.contype IN ('p', 'u', 'f', 'c') AND c.relkind IN ('r', 'p') \
ORDER BY k.oid, u.ord";

/// Indexes that do not implement a constraint of their own table (a foreign key's `conindid`
/// points at the referenced table's index, so it does not count): one row per key part,
/// expression parts as their SQL text.
const INDEXES: &str = "SELECT c.relname, x.indexrelid, i.relname, x.indisunique, \
       COALESCE(a.attname::text, pg_get_indexdef(x.indexrelid, k.ord::int, true)) \
FROM pg_index x \
JOIN pg_class c ON c.oid = x.indrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema() \
JOIN pg_class i ON i.oid = x.indexrelid \
CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0 \
WHERE c.relkind IN ('r', 'p') AND k.ord <= x.indnkeyatts \
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k2 WHERE k2.conindid = x.indexrelid \
                  AND k2.conrelid = x.indrelid AND k2.contype IN ('p', 'u', 'x')) \
ORDER BY x.indexrelid, k.ord";

/// The schema of `current_schema()`, the version tables left out.
pub(super) fn introspect(
    client: &mut Client,
    version_tables: &VersionTables,
) -> Result<Schema, BackendError> {
    let sql = [COLUMNS, CONSTRAINTS, INDEXES].join(";\n");
    let messages = client.simple_query(&sql).map_err(|e| statement_error(&sql, &e))?;
    let mut sets = result_sets(messages).into_iter();
    let mut next_set = || sets.next().unwrap_or_default();
    let (columns, constraints, indexes) = (next_set(), next_set(), next_set());
    let catalog = |detail: String| BackendError::Statement { statement: sql.clone(), message: detail };

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in &columns {
        let table_name = required(row, 0).map_err(catalog)?;
        let table = tables
            .entry(table_name.to_string())
            .or_insert_with(|| Table { name: table_name.to_string(), ..Table::default() });
        if let Some(name) = row.get(1) {
            table.columns.push(column(name, row).map_err(catalog)?);
        }
    }
    for group in groups(&constraints, 1) {
        add_constraint(&mut tables, group).map_err(catalog)?;
    }
    for group in groups(&indexes, 1) {
        add_index(&mut tables, group).map_err(catalog)?;
    }

    tables.retain(|name, _| !version_tables.contains(name));
    tables.values_mut().for_each(Table::normalize);
    Ok(Schema { tables })
}

/// Splits a multi-statement response into one row list per statement.
fn result_sets(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<SimpleQueryRow>> {
    let mut sets = Vec::new();
    let mut current = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => current.push(row),
            SimpleQueryMessage::CommandComplete(_) => sets.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    sets
}

/// Consecutive rows sharing the value of column `key` (the queries order by it).
fn groups(rows: &[SimpleQueryRow], key: usize) -> Vec<&[SimpleQueryRow]> {
    rows.chunk_by(|a, b| a.get(key) == b.get(key)).collect()
}

fn required(row: &SimpleQueryRow, index: usize) -> Result<&str, String> {
    row.get(index).ok_or_else(|| format!("the catalog query returned NULL in column {}", index + 1))
}

fn column(name: &str, row: &SimpleQueryRow) -> Result<Column, String> {
    let identity = matches!(row.get(5), Some("a" | "d"));
    let mut default = row.get(4).map(str::to_string);
    // A serial column is an autoincrement column spelled the old way: report it like an
    // identity column so that both forms compare equal.
    let serial = default.as_deref().is_some_and(|d| d.starts_with("nextval("));
    if serial {
        default = None;
    }
    Ok(Column {
        name: name.to_string(),
        ty: portable_type(required(row, 2)?),
        nullable: required(row, 3)? != "t",
        default,
        autoincrement: identity || serial,
    })
}

/// Maps `format_type` output back to the portable type set.
fn portable_type(pg: &str) -> Type {
    let sized = |prefix: &str| pg.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(')'));
    match pg {
        "smallint" => Type::SmallInt,
        "integer" => Type::Integer,
        "bigint" => Type::BigInt,
        "text" => Type::Text,
        "boolean" => Type::Boolean,
        "date" => Type::Date,
        "timestamp without time zone" => Type::Timestamp,
        "timestamp with time zone" => Type::TimestampTz,
        "real" => Type::Float,
        "double precision" => Type::Double,
        "bytea" => Type::Bytes,
        "json" | "jsonb" => Type::Json,
        "uuid" => Type::Uuid,
        _ => {
            if let Some(n) = sized("character varying(").and_then(|n| n.parse().ok()) {
                return Type::String(n);
            }
            let numeric = sized("numeric(").and_then(|ps| {
                let (p, s) = ps.split_once(',')?;
                Some(Type::Numeric(p.trim().parse().ok()?, s.trim().parse().ok()?))
            });
            numeric.unwrap_or_else(|| Type::Other(pg.to_string()))
        }
    }
}

fn action(code: Option<&str>) -> Action {
    match code {
        Some("r") => Action::Restrict,
        Some("c") => Action::Cascade,
        Some("n") => Action::SetNull,
        Some("d") => Action::SetDefault,
        _ => Action::NoAction,
    }
}

/// `CHECK (expr)` with optional `NOT VALID` / `NO INHERIT` suffixes → `expr`.
fn check_expr(def: &str) -> String {
    let mut def = def.trim();
    loop {
        let trimmed = def.strip_suffix(" NOT VALID").or_else(|| def.strip_suffix(" NO INHERIT"));
        match trimmed {
            Some(rest) => def = rest.trim_end(),
            None => break,
        }
    }
    def.strip_prefix("CHECK (").and_then(|d| d.strip_suffix(')')).unwrap_or(def).to_string()
}

fn add_constraint(tables: &mut BTreeMap<String, Table>, rows: &[SimpleQueryRow]) -> Result<(), String> {
    let first = &rows[0];
    let Some(table) = tables.get_mut(required(first, 0)?) else { return Ok(()) };
    let name = Some(required(first, 2)?.to_string());
    let columns: Vec<String> = rows.iter().filter_map(|r| r.get(8)).map(str::to_string).collect();
    match required(first, 3)? {
        "p" => table.primary_key = Some(PrimaryKey { name, columns }),
        "u" => table.uniques.push(Unique { name, columns }),
        "f" => table.foreign_keys.push(ForeignKey {
            name,
            columns,
            ref_table: required(first, 6)?.to_string(),
            ref_columns: rows.iter().filter_map(|r| r.get(9)).map(str::to_string).collect(),
            on_delete: action(first.get(4)),
            on_update: action(first.get(5)),
        }),
        "c" => table.checks.push(Check { name, expr: check_expr(required(first, 7)?) }),
        other => return Err(format!("unexpected constraint type {other:?}")),
    }
    Ok(())
}

fn add_index(tables: &mut BTreeMap<String, Table>, rows: &[SimpleQueryRow]) -> Result<(), String> {
    let first = &rows[0];
    let Some(table) = tables.get_mut(required(first, 0)?) else { return Ok(()) };
    let columns = rows.iter().map(|r| required(r, 4).map(str::to_string)).collect::<Result<_, _>>()?;
    table.indexes.push(Index {
        name: required(first, 2)?.to_string(),
        columns,
        unique: required(first, 3)? == "t",
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_format_type_output() {
        assert_eq!(portable_type("character varying(255)"), Type::String(255));
        assert_eq!(portable_type("numeric(10,2)"), Type::Numeric(10, 2));
        assert_eq!(portable_type("jsonb"), Type::Json);
        assert_eq!(portable_type("character varying"), Type::Other("character varying".into()));
        assert_eq!(portable_type("integer[]"), Type::Other("integer[]".into()));
    }

    #[test]
    fn strips_check_wrapping_and_suffixes() {
        assert_eq!(check_expr("CHECK (price > 0)"), "price > 0");
        assert_eq!(check_expr("CHECK ((a > 0) AND (b < 1)) NOT VALID"), "(a > 0) AND (b < 1)");
        assert_eq!(check_expr("CHECK (x IS NOT NULL) NO INHERIT"), "x IS NOT NULL");
    }
}
