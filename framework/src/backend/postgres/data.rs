//! The connection data ops see, and the crossing between [`Value`] and the PostgreSQL wire
//! types. The driver sends parameters in binary, so each `Value` must be encoded as the exact
//! type the server inferred for its placeholder; the errors say how to cast when it does not
//! fit.

use super::driver_message;
use crate::data::{DataConnection, DataError, Row};
use crate::ops::DialectKind;
use crate::value::Value;
use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use std::error::Error as StdError;
use std::fmt;

type BoxError = Box<dyn StdError + Sync + Send>;

/// The backend's client, as handed to data ops (`$1..$N` placeholders are native).
pub(super) struct DataClient(pub(super) postgres::Client);

impl DataConnection for DataClient {
    fn dialect(&self) -> DialectKind {
        DialectKind::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DataError> {
        let bound: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.0.execute(sql, &refs).map_err(|e| data_error(sql, driver_message(&e)))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DataError> {
        let bound: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.0.query(sql, &refs).map_err(|e| data_error(sql, driver_message(&e)))?;
        rows.iter().map(|row| row_values(row).map_err(|message| data_error(sql, message))).collect()
    }
}

fn data_error(sql: &str, message: String) -> DataError {
    DataError::Database { statement: sql.to_string(), message }
}

/// A `Value` bound to a `$N` placeholder.
#[derive(Debug)]
struct Param<'a>(&'a Value);

/// A value whose kind cannot be encoded as the placeholder's type.
#[derive(Debug)]
struct Mismatch {
    value: &'static str,
    ty: String,
    hint: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} value cannot be sent as {}; {}", self.value, self.ty, self.hint)
    }
}

impl StdError for Mismatch {}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
    }
}

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    let hint = match value {
        Value::Text(_) => format!("cast the placeholder in the SQL, as in $1::text::{}", ty.name()),
        _ => "cast the placeholder in the SQL to a matching type (for example $1::bigint)".to_string(),
    };
    Box::new(Mismatch { value: kind_name(value), ty: ty.name().to_string(), hint })
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT8 => v.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT4 => {
                i32::try_from(*v).map_err(|_| out_of_range(*v, ty))?.to_sql(ty, out)
            }
            Value::Int(v) if *ty == Type::INT2 => {
                i16::try_from(*v).map_err(|_| out_of_range(*v, ty))?.to_sql(ty, out)
            }
            Value::Float(v) if *ty == Type::FLOAT8 => v.to_sql(ty, out),
            // Narrowing to single precision is what a REAL column does with any input.
            Value::Float(v) if *ty == Type::FLOAT4 => (*v as f32).to_sql(ty, out),
            Value::Text(s) if <&str as ToSql>::accepts(ty) => s.as_str().to_sql(ty, out),
            Value::Bytes(b) if *ty == Type::BYTEA => b.as_slice().to_sql(ty, out),
            other => Err(mismatch(other, ty)),
        }
    }

    /// Every type is accepted here; `to_sql` checks the actual pairing so the error can name
    /// the value and suggest a cast.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn out_of_range(v: i64, ty: &Type) -> BoxError {
    format!("the integer {v} does not fit in {}; cast the placeholder, as in $1::bigint", ty.name()).into()
}

/// Converts one result row; any column outside the portable value set is an error that
/// tells the migration author to cast it to text.
fn row_values(row: &postgres::Row) -> Result<Vec<Value>, String> {
    (0..row.len()).map(|i| column_value(row, i)).collect()
}

fn column_value(row: &postgres::Row, i: usize) -> Result<Value, String> {
    let column = &row.columns()[i];
    let ty = column.type_();
    let read = |e: postgres::Error| format!("cannot read column {:?}: {e}", column.name());
    let value = if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i).map_err(read)?.map(Value::Bool)
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i).map_err(read)?.map(Value::from)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i).map_err(read)?.map(Value::from)
    } else if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i).map_err(read)?.map(Value::Int)
    } else if *ty == Type::FLOAT4 {
        row.try_get::<_, Option<f32>>(i).map_err(read)?.map(Value::from)
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i).map_err(read)?.map(Value::Float)
    } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
        row.try_get::<_, Option<String>>(i).map_err(read)?.map(Value::Text)
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i).map_err(read)?.map(Value::Bytes)
    } else {
        return Err(format!(
            "column {:?} has type {}, which data ops cannot read; cast it to text in the query \
             (SELECT {}::text ...)",
            column.name(),
            ty.name(),
            crate::dialect::quote_ident(column.name())
        ));
    };
    Ok(value.unwrap_or(Value::Null))
}
