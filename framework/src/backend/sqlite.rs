//! The SQLite backend over rusqlite: statements, transactions, the bookkeeping tables, the
//! data-op connection and introspection. SQLite's pragmas report columns, keys, indexes and
//! foreign keys; constraint names, checks and AUTOINCREMENT come from the stored `CREATE
//! TABLE` text ([`super::sqlite_ddl`]).

use super::sqlite_ddl::{self, TableDdl};
use super::{millis, Backend, BackendError, DatabaseUrl, Direction, HistoryRow, Record, VersionTables};
use crate::data::{DataConnection, DataError, Row};
use crate::dialect::quote_ident;
use crate::dialect::sqlite::REBUILD_PREFIX;
use crate::ops::{Action, DialectKind};
use crate::schema::{Check, Column, ForeignKey, Index, PrimaryKey, Schema, Table, TableSnapshot, Unique};
use crate::types::Type;
use crate::value::Value;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, params_from_iter, Connection};
use std::borrow::Cow;
use std::time::Duration;

/// How long a statement waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Enough cached statements for the bookkeeping, introspection and a migration's data ops,
/// so the hot bookkeeping statements are not evicted mid-run.
const STATEMENT_CACHE: usize = 64;

/// A SQLite connection.
#[derive(Debug)]
pub struct SqliteBackend {
    conn: Connection,
    tables: VersionTables,
    sql: BookkeepingSql,
}

/// The bookkeeping statements, formatted once with the quoted table names so the hot path
/// only looks them up in the statement cache.
#[derive(Debug)]
struct BookkeepingSql {
    create_version: String,
    create_history: String,
    select_version: String,
    delete_version: String,
    update_version: String,
    insert_version: String,
    insert_history: String,
    select_history: String,
}

impl BookkeepingSql {
    fn new(tables: &VersionTables) -> Self {
        let (v, h) = (quote_ident(&tables.version), quote_ident(&tables.history));
        BookkeepingSql {
            create_version: format!("CREATE TABLE IF NOT EXISTS {v} (revision TEXT NOT NULL)"),
            create_history: format!(
                "CREATE TABLE IF NOT EXISTS {h} (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
                 revision TEXT NOT NULL,\n    message TEXT NOT NULL,\n    direction TEXT NOT NULL,\n    \
                 applied_at TEXT NOT NULL,\n    duration_ms REAL NOT NULL,\n    checksum TEXT\n)"
            ),
            select_version: format!("SELECT revision FROM {v} LIMIT 2"),
            delete_version: format!("DELETE FROM {v}"),
            update_version: format!("UPDATE {v} SET revision = ?1"),
            insert_version: format!("INSERT INTO {v} (revision) VALUES (?1)"),
            insert_history: format!(
                "INSERT INTO {h} (revision, message, direction, applied_at, duration_ms, checksum) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            select_history: format!(
                "SELECT id, revision, message, direction, applied_at, duration_ms, checksum FROM {h} ORDER BY id"
            ),
        }
    }
}

/// Maps a rusqlite error to a statement failure naming `statement`.
fn failed(statement: &str) -> impl FnOnce(rusqlite::Error) -> BackendError + '_ {
    move |e| BackendError::Statement { statement: statement.to_string(), message: e.to_string() }
}

impl SqliteBackend {
    /// Opens (creating if missing) the database `url` names, with foreign keys enforced.
    pub fn open(url: &DatabaseUrl, tables: VersionTables) -> Result<SqliteBackend, BackendError> {
        let connect_err =
            |e: rusqlite::Error| BackendError::Connect { target: url.to_string(), message: e.to_string() };
        let conn = match url {
            DatabaseUrl::Sqlite { path } => Connection::open(path),
            DatabaseUrl::SqliteMemory => Connection::open_in_memory(),
            DatabaseUrl::Postgres { .. } => {
                return Err(BackendError::Connect {
                    target: url.to_string(),
                    message: "not a SQLite URL".into(),
                })
            }
        }
        .map_err(connect_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(connect_err)?;
        conn.execute_batch("PRAGMA foreign_keys = ON").map_err(connect_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let sql = BookkeepingSql::new(&tables);
        Ok(SqliteBackend { conn, tables, sql })
    }

    /// Runs a parameterless statement through the statement cache.
    fn run_cached(&self, sql: &str) -> Result<(), BackendError> {
        self.conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop).map_err(failed(sql))
    }

    /// Every row of a query, mapped by `f`.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, BackendError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(failed(sql))?;
        let rows = stmt.query_map(params, f).map_err(failed(sql))?;
        rows.collect::<Result<Vec<T>, _>>().map_err(failed(sql))
    }

    /// Table names are case-insensitive (ASCII) in SQLite, as in `CREATE TABLE IF NOT EXISTS`.
    fn table_exists(&self, name: &str) -> Result<bool, BackendError> {
        const SQL: &str = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE";
        Ok(!self.rows(SQL, [name], |_| Ok(()))?.is_empty())
    }

    fn is_bookkeeping(&self, table: &str) -> bool {
        table.eq_ignore_ascii_case(&self.tables.version) || table.eq_ignore_ascii_case(&self.tables.history)
    }
}

fn corrupt(table: &str, detail: impl Into<String>) -> BackendError {
    BackendError::CorruptVersionTable { table: table.to_string(), detail: detail.into() }
}

impl Backend for SqliteBackend {
    fn kind(&self) -> DialectKind {
        DialectKind::Sqlite
    }

    fn version_tables(&self) -> &VersionTables {
        &self.tables
    }

    /// A batch, so raw SQL with several statements runs as written.
    fn execute(&mut self, sql: &str) -> Result<(), BackendError> {
        self.conn.execute_batch(sql).map_err(failed(sql))
    }

    /// Takes the write lock up front, so a migration never fails halfway on a busy database.
    fn begin(&mut self) -> Result<(), BackendError> {
        self.run_cached("BEGIN IMMEDIATE")
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        self.run_cached("COMMIT")
    }

    /// A no-op when no transaction is open (SQLite may already have rolled back on an error).
    fn rollback(&mut self) -> Result<(), BackendError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.run_cached("ROLLBACK")
    }

    fn set_foreign_keys(&mut self, on: bool) -> Result<bool, BackendError> {
        const READ: &str = "PRAGMA foreign_keys";
        let was: i64 = self.conn.query_row(READ, [], |r| r.get(0)).map_err(failed(READ))?;
        let set = if on { "PRAGMA foreign_keys = ON" } else { "PRAGMA foreign_keys = OFF" };
        self.conn.execute_batch(set).map_err(failed(set))?;
        Ok(was != 0)
    }

    fn foreign_key_violations(&mut self) -> Result<Vec<String>, BackendError> {
        const SQL: &str = "PRAGMA foreign_key_check";
        self.rows(SQL, [], |r| {
            let table: String = r.get(0)?;
            let rowid: Option<i64> = r.get(1)?;
            let parent: String = r.get(2)?;
            let fk: i64 = r.get(3)?;
            let row = rowid.map_or_else(|| "a row".to_string(), |id| format!("rowid {id}"));
            Ok(format!("{table} {row} references a missing row of {parent} (foreign key {fk})"))
        })
    }

    fn introspect(&mut self) -> Result<Schema, BackendError> {
        // pragma_table_list tells real tables from virtual and shadow ones, which have no
        // definition strata can rebuild.
        const SQL: &str = "SELECT m.name, m.sql FROM sqlite_master AS m \
             JOIN pragma_table_list AS l ON l.name = m.name AND l.schema = 'main' AND l.type = 'table' \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.name";
        let found: Vec<(String, Option<String>)> = self.rows(SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut schema = Schema::default();
        for (name, sql) in found {
            if self.is_bookkeeping(&name) || name.starts_with(REBUILD_PREFIX) {
                continue;
            }
            let table = self.read_table(&name, sql.as_deref().unwrap_or_default())?;
            schema.tables.insert(name, table);
        }
        Ok(schema)
    }

    fn snapshot_table(&mut self, table: &str) -> Result<Option<TableSnapshot>, BackendError> {
        const TABLE: &str =
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE";
        const OBJECTS: &str = "SELECT name, sql FROM sqlite_master \
             WHERE type = ?1 AND tbl_name = ?2 COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid";
        let found: Vec<(String, Option<String>)> =
            self.rows(TABLE, [table], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let Some((name, sql)) = found.into_iter().next() else {
            return Ok(None);
        };
        let table = self.read_table(&name, sql.as_deref().unwrap_or_default())?;
        let indexes_sql = self.rows(OBJECTS, ["index", name.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let triggers_sql = self.rows(OBJECTS, ["trigger", name.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Some(TableSnapshot { table, indexes_sql, triggers_sql }))
    }

    fn data(&mut self) -> &mut dyn DataConnection {
        self
    }

    fn ensure_version_tables(&mut self) -> Result<(), BackendError> {
        for sql in [&self.sql.create_version, &self.sql.create_history] {
            self.conn.execute_batch(sql).map_err(failed(sql))?;
        }
        Ok(())
    }

    fn current_revision(&mut self) -> Result<Option<String>, BackendError> {
        if !self.table_exists(&self.tables.version)? {
            return Ok(None);
        }
        let mut revisions = self.rows(&self.sql.select_version, [], |r| r.get::<_, String>(0))?;
        if revisions.len() > 1 {
            return Err(corrupt(&self.tables.version, "it holds more than one row"));
        }
        Ok(revisions.pop())
    }

    /// Runs on every migration, so it only uses cached statements.
    fn record_and_commit(&mut self, records: &[Record]) -> Result<(), BackendError> {
        let sql = &self.sql;
        {
            let mut insert =
                self.conn.prepare_cached(&sql.insert_history).map_err(failed(&sql.insert_history))?;
            for r in records {
                let applied_at = r.applied_at.to_rfc3339_opts(SecondsFormat::Micros, true);
                insert
                    .execute(params![
                        r.revision,
                        r.message,
                        r.direction.as_str(),
                        applied_at,
                        millis(r.duration),
                        r.checksum
                    ])
                    .map_err(failed(&sql.insert_history))?;
            }
        }
        match records.last().map(|r| &r.new_version) {
            None => {}
            Some(None) => self.run_cached(&sql.delete_version)?,
            // One statement in the usual case: the row is there and only changes.
            Some(Some(version)) => {
                let update = |s: &str| self.conn.prepare_cached(s).and_then(|mut st| st.execute([version]));
                if update(&sql.update_version).map_err(failed(&sql.update_version))? == 0 {
                    update(&sql.insert_version).map_err(failed(&sql.insert_version))?;
                }
            }
        }
        self.run_cached("COMMIT")
    }

    fn history(&mut self) -> Result<Vec<HistoryRow>, BackendError> {
        if !self.table_exists(&self.tables.history)? {
            return Ok(Vec::new());
        }
        type Raw = (i64, String, String, String, String, f64, Option<String>);
        let raw: Vec<Raw> = self.rows(&self.sql.select_history, [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })?;
        raw.into_iter()
            .map(|(id, revision, message, direction, applied_at, duration_ms, checksum)| {
                let table = &self.tables.history;
                let direction = Direction::parse(&direction).ok_or_else(|| {
                    corrupt(table, format!("row {id} has the unknown direction {direction:?}"))
                })?;
                let applied_at = DateTime::parse_from_rfc3339(&applied_at)
                    .map_err(|e| corrupt(table, format!("row {id} has the bad time {applied_at:?}: {e}")))?
                    .with_timezone(&Utc);
                Ok(HistoryRow { id, revision, message, direction, applied_at, duration_ms, checksum })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Data ops

/// Binds a portable value without copying it.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Float(v) => ValueRef::Real(*v),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn to_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The index just past the next `close` at or after `from` (or the end of `bytes`).
fn skip_past(bytes: &[u8], from: usize, close: &[u8]) -> usize {
    bytes[from.min(bytes.len())..]
        .windows(close.len())
        .position(|w| w == close)
        .map_or(bytes.len(), |p| from + p + close.len())
}

/// Rewrites the portable `$N` placeholders to SQLite's `?N`, leaving string literals, quoted
/// identifiers, comments and identifiers containing `$` alone. (SQLite reads `$1` as a named
/// parameter, which would not bind by position.)
fn numbered_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        i = match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => skip_past(bytes, i + 1, &[q]),
            b'[' => skip_past(bytes, i + 1, b"]"),
            b'-' if bytes.get(i + 1) == Some(&b'-') => skip_past(bytes, i + 2, b"\n"),
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_past(bytes, i + 2, b"*/"),
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && (i == 0 || !is_ident_byte(bytes[i - 1])) =>
            {
                out.push_str(&sql[copied..i]);
                out.push('?');
                copied = i + 1;
                i + 1
            }
            _ => i + 1,
        };
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

impl SqliteBackend {
    fn data_statement(&self, sql: &str) -> Result<rusqlite::CachedStatement<'_>, DataError> {
        self.conn.prepare_cached(&numbered_placeholders(sql)).map_err(data_failed(sql))
    }
}

fn data_failed(statement: &str) -> impl FnOnce(rusqlite::Error) -> DataError + '_ {
    move |e| DataError::Database { statement: statement.to_string(), message: e.to_string() }
}

impl DataConnection for SqliteBackend {
    fn dialect(&self) -> DialectKind {
        DialectKind::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DataError> {
        let mut stmt = self.data_statement(sql)?;
        let changed = stmt.execute(params_from_iter(params.iter().map(Bind))).map_err(data_failed(sql))?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DataError> {
        let mut stmt = self.data_statement(sql)?;
        let width = stmt.column_count();
        let rows = stmt
            .query_map(params_from_iter(params.iter().map(Bind)), |r| {
                (0..width).map(|i| r.get_ref(i).map(to_value)).collect::<rusqlite::Result<Row>>()
            })
            .map_err(data_failed(sql))?;
        rows.collect::<Result<Vec<Row>, _>>().map_err(data_failed(sql))
    }
}

// ---------------------------------------------------------------------------------------------
// Introspection

/// The portable type a declared type stands for: the reverse of the dialect's `type_name`,
/// tolerant of case and spacing. Anything else is kept as declared.
fn portable_type(declared: &str) -> Type {
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
        "DATE" => return Type::Date,
        "TIMESTAMP" => return Type::Timestamp,
        "TIMESTAMPTZ" => return Type::TimestampTz,
        "REAL" => return Type::Float,
        "DOUBLE PRECISION" => return Type::Double,
        "BLOB" => return Type::Bytes,
        "JSON" => return Type::Json,
        "UUID" => return Type::Uuid,
        _ => {}
    }
    if let Some(n) = args("VARCHAR(").and_then(|n| n.parse().ok()) {
        return Type::String(n);
    }
    let numeric = args("NUMERIC(").and_then(|ps| {
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
    fn read_table(&self, name: &str, create_sql: &str) -> Result<Table, BackendError> {
        let ddl = sqlite_ddl::parse_create_table(create_sql).map_err(|e| BackendError::Statement {
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
                let parts = sqlite_ddl::parse_index_columns(&sql).map_err(|e| BackendError::Statement {
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

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(
            t.primary_key,
            Some(PrimaryKey { name: Some("pk_child".into()), columns: strings(&["id"]) })
        );
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
        assert_eq!(
            u.primary_key,
            Some(PrimaryKey { name: Some("pk \"u\"".into()), columns: strings(&["--x"]) })
        );
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
        let rows = data
            .query("SELECT a, b, c, d, e FROM t WHERE b >= $1 ORDER BY b DESC", &[Value::Int(1)])
            .unwrap();
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
        b.record_and_commit(&[
            record("r1", Direction::Up, Some("r1")),
            record("r2", Direction::Up, Some("r2")),
        ])
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
        Backend::execute(&mut b, "INSERT INTO strata_version VALUES ('a'), ('b')").unwrap();
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

        let url = DatabaseUrl::Sqlite { path: "/nonexistent-strata-dir/x/app.db".into() };
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
        assert!(
            Backend::execute(&mut b, "INSERT INTO c VALUES (1)").is_err(),
            "foreign keys are on after open"
        );
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
        assert_eq!(
            query(&mut b, "SELECT count(*) FROM \"v \"\"child\"\"\"").len(),
            1,
            "the view still works"
        );
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
        apply(
            &mut b,
            &Op::AlterColumn { table: "d".into(), column: "u".into(), change: change.default("z") },
        );
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
}
