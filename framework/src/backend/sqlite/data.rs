//! The data-op connection: numbered placeholders, bound values, rows as portable values.

use super::SqliteBackend;
use crate::data::{DataConnection, DataError, Row};
use crate::ops::DialectKind;
use crate::value::Value;
use rusqlite::params_from_iter;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use std::borrow::Cow;

/// Binds a portable value without copying it.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Float(v) => ValueRef::Real(*v),
            Value::Text(s) | Value::Json(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
            // Dates, timestamps and UUIDs as text (their columns have TEXT affinity).
            other => {
                return Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(
                    other.to_text().unwrap_or_default(),
                )))
            }
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
pub(super) fn numbered_placeholders(sql: &str) -> Cow<'_, str> {
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
        self.own_commit = None;
        let mut stmt = self.data_statement(sql)?;
        let changed = stmt.execute(params_from_iter(params.iter().map(Bind))).map_err(data_failed(sql))?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DataError> {
        // A query can write too (`RETURNING`, a function with side effects).
        self.own_commit = None;
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
