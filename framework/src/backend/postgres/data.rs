//! The connection data ops see, and the crossing between [`Value`] and the PostgreSQL wire
//! types. The driver sends parameters in binary, so each `Value` must be encoded as the exact
//! type the server inferred for its placeholder. Statements are prepared first (the driver
//! would prepare them anyway), so parameter and result types are checked before anything
//! runs, with errors that name `$N` and say how to cast; a query whose columns cannot be read
//! fails on an empty table just as on a full one.

use super::driver_message;
use crate::data::{DataConnection, DataError, Row};
use crate::ops::DialectKind;
use crate::value::Value;
use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::Statement;
use std::error::Error as StdError;

type BoxError = Box<dyn StdError + Sync + Send>;

/// The backend's client, as handed to data ops (`$1..$N` placeholders are native). It also
/// holds a `BEGIN` not sent yet: the first statement of a transaction carries it, which saves
/// a round trip per migration; whatever reaches the client first sends it.
pub(super) struct DataClient {
    client: postgres::Client,
    pending_begin: bool,
    /// What starts a transaction: `BEGIN`, and under a run lock the bookkeeping lock too.
    pub(super) begin_sql: String,
    /// A transaction is open (a statement error would abort it).
    pub(super) in_transaction: bool,
    /// The session is the client's own (a run lock was taken in session mode, after checks
    /// that rule out a transaction pooler), so session-level prepared statements are safe.
    pub(super) own_session: bool,
}

impl DataClient {
    pub(super) fn new(client: postgres::Client) -> Self {
        DataClient {
            client,
            pending_begin: false,
            begin_sql: "BEGIN".into(),
            in_transaction: false,
            own_session: false,
        }
    }

    /// Runs `f`, which prepares, uses and drops (closes) a named statement, so that all of
    /// it happens in one transaction. Inside a migration's transaction it already does;
    /// outside one (a non-transactional migration) without a session of its own, a
    /// transaction pooler could serve the prepare, the execute and the close from three
    /// server connections, so they get a transaction of their own.
    fn in_one_transaction<T>(
        &mut self,
        sql: &str,
        f: impl FnOnce(&mut Self) -> Result<T, DataError>,
    ) -> Result<T, DataError> {
        if self.in_transaction || self.own_session {
            return f(self);
        }
        self.client.batch_execute("BEGIN").map_err(|e| data_error(sql, driver_message(&e)))?;
        let result = f(self);
        // The statement's Close was queued when it dropped, so it goes before the end.
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = self.client.batch_execute(end).map_err(|e| data_error(sql, driver_message(&e)));
        let value = result?;
        ended?;
        Ok(value)
    }

    /// Starts a transaction with the next statement.
    pub(super) fn begin_lazily(&mut self) {
        self.pending_begin = true;
    }

    /// Forgets a `BEGIN` that was never sent; true when there was one (nothing to end).
    pub(super) fn take_pending_begin(&mut self) -> bool {
        std::mem::take(&mut self.pending_begin)
    }

    /// The client, with any pending `BEGIN` sent first.
    pub(super) fn client(&mut self) -> Result<&mut postgres::Client, postgres::Error> {
        if self.take_pending_begin() {
            self.client.batch_execute(&self.begin_sql)?;
        }
        Ok(&mut self.client)
    }

    /// Runs a batch, prefixed with a pending `BEGIN` in the same round trip.
    pub(super) fn batch(&mut self, sql: &str) -> Result<(), postgres::Error> {
        if self.take_pending_begin() {
            self.client.batch_execute(&format!("{};\n{sql}", self.begin_sql))
        } else {
            self.client.batch_execute(sql)
        }
    }

    /// Prepares `sql` and checks that every value fits its placeholder.
    fn prepare(&mut self, sql: &str, params: &[Value]) -> Result<Statement, DataError> {
        let statement =
            self.client().and_then(|c| c.prepare(sql)).map_err(|e| data_error(sql, driver_message(&e)))?;
        let types = statement.params();
        if types.len() != params.len() {
            let message = format!(
                "the statement has {} placeholders but {} values were given",
                types.len(),
                params.len()
            );
            return Err(data_error(sql, message));
        }
        for (i, (value, ty)) in params.iter().zip(types).enumerate() {
            check_param(value, ty).map_err(|why| data_error(sql, format!("parameter ${}: {why}", i + 1)))?;
        }
        Ok(statement)
    }
}

impl DataConnection for DataClient {
    fn dialect(&self) -> DialectKind {
        DialectKind::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DataError> {
        let plain = params.is_empty() && !sql.contains('$');
        if plain && !self.in_transaction && !self.own_session && !self.pending_begin {
            // No value to check, no session to rely on: a simple query, which also runs what
            // cannot run in a transaction (VACUUM) in a non-transactional migration.
            let messages = self.client.simple_query(sql).map_err(|e| data_error(sql, driver_message(&e)))?;
            return Ok(messages
                .iter()
                .map(|m| match m {
                    postgres::SimpleQueryMessage::CommandComplete(n) => *n,
                    _ => 0,
                })
                .sum());
        }
        self.in_one_transaction(sql, |this| {
            let statement = this.prepare(sql, params)?;
            let bound: Vec<Param<'_>> = params.iter().map(Param).collect();
            this.client.execute(&statement, &refs(&bound)).map_err(|e| data_error(sql, driver_message(&e)))
        })
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DataError> {
        self.in_one_transaction(sql, |this| {
            let statement = this.prepare(sql, params)?;
            for column in statement.columns() {
                check_column(column.name(), column.type_()).map_err(|message| data_error(sql, message))?;
            }
            let bound: Vec<Param<'_>> = params.iter().map(Param).collect();
            let rows = this
                .client
                .query(&statement, &refs(&bound))
                .map_err(|e| data_error(sql, driver_message(&e)))?;
            rows.iter().map(|row| row_values(row).map_err(|message| data_error(sql, message))).collect()
        })
    }
}

fn refs<'a>(bound: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

fn data_error(sql: &str, message: String) -> DataError {
    DataError::Database { statement: sql.to_string(), message }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
        Value::Date(_) => "date",
        Value::Timestamp(_) => "timestamp",
        Value::TimestampTz(_) => "timestamptz",
        Value::Uuid(_) => "uuid",
        Value::Json(_) => "json",
    }
}

/// Whether `value` can be sent as `ty`; the error says which cast would make it fit.
fn check_param(value: &Value, ty: &Type) -> Result<(), String> {
    let fits = match value {
        Value::Null => true,
        Value::Bool(_) => *ty == Type::BOOL,
        Value::Int(v) => {
            let range_ok = if *ty == Type::INT2 {
                i16::try_from(*v).is_ok()
            } else if *ty == Type::INT4 {
                i32::try_from(*v).is_ok()
            } else {
                *ty == Type::INT8
            };
            if !range_ok && [Type::INT2, Type::INT4].contains(ty) {
                return Err(format!(
                    "the integer {v} does not fit in {}; cast the placeholder, as in $1::bigint",
                    ty.name()
                ));
            }
            range_ok
        }
        Value::Float(_) => *ty == Type::FLOAT4 || *ty == Type::FLOAT8,
        // A decimal is text in the portable value set.
        Value::Text(t) if *ty == Type::NUMERIC => {
            if numeric::encode(t).is_none() {
                return Err(format!("the text {t:?} is not a decimal number, which numeric needs"));
            }
            true
        }
        Value::Text(_) => <&str as ToSql>::accepts(ty),
        Value::Bytes(_) => *ty == Type::BYTEA,
        Value::Date(_) => *ty == Type::DATE,
        Value::Timestamp(_) => *ty == Type::TIMESTAMP,
        Value::TimestampTz(_) => *ty == Type::TIMESTAMPTZ,
        Value::Uuid(_) => *ty == Type::UUID,
        Value::Json(_) => *ty == Type::JSON || *ty == Type::JSONB,
    };
    if fits {
        return Ok(());
    }
    let cast = match value {
        Value::Text(_) => format!("$1::text::{}", ty.name()),
        Value::Int(_) => format!("$1::bigint::{}", ty.name()),
        Value::Float(_) => format!("$1::float8::{}", ty.name()),
        _ => format!("$1::{}", ty.name()),
    };
    Err(format!(
        "a {} value cannot be sent as {}; cast the placeholder in the SQL, as in {cast}",
        kind_name(value),
        ty.name()
    ))
}

/// A `Value` bound to a placeholder whose type [`check_param`] has accepted.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        check_param(self.0, ty)?;
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            // Narrowing to single precision is what a REAL column does with any input.
            Value::Float(v) if *ty == Type::FLOAT4 => (*v as f32).to_sql(ty, out),
            Value::Float(v) => v.to_sql(ty, out),
            Value::Text(s) if *ty == Type::NUMERIC => {
                out.extend_from_slice(&numeric::encode(s).ok_or("not a decimal number")?);
                Ok(IsNull::No)
            }
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
            Value::Date(d) => d.to_sql(ty, out),
            Value::Timestamp(t) => t.to_sql(ty, out),
            Value::TimestampTz(t) => t.to_sql(ty, out),
            Value::Uuid(u) => {
                out.extend_from_slice(&u.to_be_bytes());
                Ok(IsNull::No)
            }
            Value::Json(s) => {
                if *ty == Type::JSONB {
                    // jsonb's binary form: a version byte, then the text.
                    out.extend_from_slice(&[1]);
                }
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    /// Every type is accepted here; [`check_param`] decides per value, so that the error can
    /// name the value and suggest a cast.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

const TEXT_TYPES: [Type; 4] = [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME];

/// The types read as the portable [`Value`] of the same name (numeric as decimal text).
const VALUE_TYPES: [Type; 14] = [
    Type::BOOL,
    Type::INT2,
    Type::INT4,
    Type::INT8,
    Type::FLOAT4,
    Type::FLOAT8,
    Type::BYTEA,
    Type::DATE,
    Type::TIMESTAMP,
    Type::TIMESTAMPTZ,
    Type::UUID,
    Type::JSON,
    Type::JSONB,
    Type::NUMERIC,
];

/// Result columns must have a type with a portable [`Value`]; anything else (intervals,
/// arrays, ...) must be cast to text in the query.
fn check_column(name: &str, ty: &Type) -> Result<(), String> {
    let readable = VALUE_TYPES.contains(ty) || TEXT_TYPES.contains(ty);
    if readable {
        Ok(())
    } else {
        Err(unreadable(name, ty))
    }
}

fn unreadable(name: &str, ty: &Type) -> String {
    format!(
        "column {name:?} has type {}, which data ops cannot read; cast it to text in the query \
         (SELECT {}::text ...)",
        ty.name(),
        crate::dialect::quote_ident(name)
    )
}

/// Converts one result row of a query whose columns [`check_column`] has accepted.
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
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(i).map_err(read)?.map(Value::Bytes)
    } else if TEXT_TYPES.contains(ty) {
        row.try_get::<_, Option<String>>(i).map_err(read)?.map(Value::Text)
    } else if *ty == Type::DATE {
        row.try_get::<_, Option<chrono::NaiveDate>>(i).map_err(read)?.map(Value::Date)
    } else if *ty == Type::TIMESTAMP {
        row.try_get::<_, Option<chrono::NaiveDateTime>>(i).map_err(read)?.map(Value::Timestamp)
    } else if *ty == Type::TIMESTAMPTZ {
        row.try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i).map_err(read)?.map(Value::TimestampTz)
    } else if [Type::UUID, Type::JSON, Type::JSONB, Type::NUMERIC].contains(ty) {
        row.try_get::<_, Option<Raw>>(i).map_err(read)?.map(|raw| raw.0)
    } else {
        return Err(unreadable(column.name(), ty));
    };
    Ok(value.unwrap_or(Value::Null))
}

/// A uuid, json, jsonb or numeric column read from its binary form.
struct Raw(Value);

impl<'a> postgres::types::FromSql<'a> for Raw {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec());
        Ok(Raw(if *ty == Type::UUID {
            Value::Uuid(u128::from_be_bytes(raw.try_into()?))
        } else if *ty == Type::JSONB {
            match raw.split_first() {
                Some((1, json)) => Value::Json(text(json)?),
                _ => return Err("unknown jsonb format version".into()),
            }
        } else if *ty == Type::JSON {
            Value::Json(text(raw)?)
        } else {
            Value::Text(numeric::decode(raw).ok_or("malformed numeric")?)
        }))
    }

    fn accepts(ty: &Type) -> bool {
        [Type::UUID, Type::JSON, Type::JSONB, Type::NUMERIC].contains(ty)
    }
}

/// PostgreSQL's binary numeric: digit count, weight (of the first base-10000 digit), sign,
/// display scale, then the base-10000 digits, all big-endian 16-bit.
mod numeric {
    const NEGATIVE: u16 = 0x4000;
    const NAN: u16 = 0xC000;

    /// `[-+]digits[.digits]` as a binary numeric; `None` for anything else.
    pub(super) fn encode(text: &str) -> Option<Vec<u8>> {
        let t = text.trim();
        let (negative, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let dscale = u16::try_from(frac.len()).ok()?;
        let int = int.trim_start_matches('0');
        let lead = (4 - int.len() % 4) % 4;
        let tail = (4 - frac.len() % 4) % 4;
        let padded: Vec<u8> = std::iter::repeat_n(b'0', lead)
            .chain(int.bytes())
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', tail))
            .collect();
        let mut digits: Vec<i16> =
            padded.chunks(4).map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0'))).collect();
        let mut weight = i16::try_from((lead + int.len()) / 4).ok()? - 1;
        while digits.first() == Some(&0) {
            digits.remove(0);
            weight -= 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            weight = 0;
        }
        let sign = if negative && !digits.is_empty() { NEGATIVE } else { 0 };
        let mut out = Vec::with_capacity(8 + 2 * digits.len());
        out.extend_from_slice(&i16::try_from(digits.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&weight.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        Some(out)
    }

    /// A binary numeric as the text PostgreSQL prints (`NaN` included).
    pub(super) fn decode(raw: &[u8]) -> Option<String> {
        let word = |i: usize| raw.get(2 * i..2 * i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let (ndigits, weight, sign, dscale) = (word(0)?, word(1)? as i16, word(2)?, word(3)?);
        if sign == NAN {
            return Some("NaN".into());
        }
        let digits: Vec<u16> = (0..usize::from(ndigits)).map(|i| word(4 + i)).collect::<Option<_>>()?;
        let digit = |w: i32| -> u16 {
            usize::try_from(i32::from(weight) - w).ok().and_then(|i| digits.get(i).copied()).unwrap_or(0)
        };
        let mut int = String::new();
        for w in (0..=i32::from(weight).max(0)).rev() {
            int.push_str(&format!("{:04}", digit(w)));
        }
        let int = int.trim_start_matches('0');
        let mut frac = String::new();
        let groups = usize::from(dscale).div_ceil(4);
        for g in 1..=groups {
            frac.push_str(&format!("{:04}", digit(-(g as i32))));
        }
        frac.truncate(usize::from(dscale));
        let mut out = String::new();
        if sign == NEGATIVE {
            out.push('-');
        }
        out.push_str(if int.is_empty() { "0" } else { int });
        if dscale > 0 {
            out.push('.');
            out.push_str(&frac);
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn decimals_survive_the_binary_form() {
            for (text, back) in [
                ("0", "0"),
                ("12.5", "12.5"),
                ("-0.0000000001", "-0.0000000001"),
                ("0.0000000000", "0.0000000000"),
                ("00012.50", "12.50"),
                ("1234567890123456789012345678.0123456789", "1234567890123456789012345678.0123456789"),
                ("10000", "10000"),
                ("-99990000.0001", "-99990000.0001"),
                ("+7", "7"),
                (".5", "0.5"),
            ] {
                let raw = super::encode(text).unwrap_or_else(|| panic!("{text}"));
                assert_eq!(super::decode(&raw).as_deref(), Some(back), "{text}");
            }
            for bad in ["", "-", ".", "1e5", "1.2.3", "abc", "NaN"] {
                assert!(super::encode(bad).is_none(), "{bad}");
            }
        }
    }
}
