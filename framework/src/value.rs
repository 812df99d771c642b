//! Values that cross between Rust and SQL: column defaults, data-op parameters and rows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::fmt;

/// A SQL value, portable across backends. Dates, timestamps, UUIDs and JSON bind as the
/// native type on PostgreSQL and as text on SQLite (in the forms [`Value::to_text`] gives),
/// so a data op needs no per-dialect casts; reading them back, SQLite gives text, which the
/// `as_*` accessors parse as well. A decimal (`Numeric`) is text on both engines.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean (stored as 0/1 on SQLite, so reads may come back as [`Value::Int`]).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A calendar date (`date`).
    Date(NaiveDate),
    /// A timestamp without time zone (`timestamp`).
    Timestamp(NaiveDateTime),
    /// An instant (`timestamptz`).
    TimestampTz(DateTime<Utc>),
    /// A UUID, its 128 bits big-endian (`0x...` reads as the hyphenated form without hyphens).
    Uuid(u128),
    /// JSON text (`jsonb` on PostgreSQL, which checks it; text on SQLite).
    Json(String),
}

/// The text form of a timestamp: SQLite's own (`CURRENT_TIMESTAMP`, date functions).
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// A UUID in its hyphenated lowercase form.
pub fn format_uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A UUID from its hyphenated or plain 32-hex-digit form (either case, optional braces).
pub fn parse_uuid(text: &str) -> Option<u128> {
    let t = text.trim().trim_start_matches('{').trim_end_matches('}');
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    let hyphens_ok =
        t.len() == 32 || (t.len() == 36 && [8, 13, 18, 23].iter().all(|&i| t.as_bytes()[i] == b'-'));
    if hex.len() != 32 || !hyphens_ok || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

impl Value {
    /// The integer, with booleans as 0/1 (SQLite has no boolean type).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }
    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    /// The number as a float, integers included.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
    /// The boolean, with integers read as nonzero (how SQLite stores booleans).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(v) => Some(*v != 0),
            _ => None,
        }
    }
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text SQLite stores for a date, timestamp, UUID or JSON value (and text itself).
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Text(s) | Value::Json(s) => s.clone(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
            Value::Timestamp(t) => t.format(TIMESTAMP_FORMAT).to_string(),
            Value::TimestampTz(t) => format!("{}+00:00", t.naive_utc().format(TIMESTAMP_FORMAT)),
            Value::Uuid(u) => format_uuid(*u),
            _ => return None,
        })
    }

    /// A date, or text in the form `YYYY-MM-DD`.
    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            Value::Text(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").ok(),
            _ => None,
        }
    }

    /// A timestamp, or text as SQLite writes one (`YYYY-MM-DD HH:MM:SS[.fff]`, or with `T`).
    pub fn as_timestamp(&self) -> Option<NaiveDateTime> {
        match self {
            Value::Timestamp(t) => Some(*t),
            Value::Text(t) => NaiveDateTime::parse_from_str(t, TIMESTAMP_FORMAT)
                .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
                .ok(),
            _ => None,
        }
    }

    /// An instant, or text with an offset (RFC 3339 or `YYYY-MM-DD HH:MM:SS[.fff]+HH:MM`) or
    /// without one, read as UTC (what `CURRENT_TIMESTAMP` writes).
    pub fn as_timestamptz(&self) -> Option<DateTime<Utc>> {
        match self {
            Value::TimestampTz(t) => Some(*t),
            Value::Text(t) => DateTime::parse_from_rfc3339(t)
                .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z"))
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| Value::Text(t.clone()).as_timestamp().map(|t| t.and_utc())),
            _ => None,
        }
    }

    /// A UUID, or text holding one.
    pub fn as_uuid(&self) -> Option<u128> {
        match self {
            Value::Uuid(u) => Some(*u),
            Value::Text(t) => parse_uuid(t),
            _ => None,
        }
    }

    /// JSON text, or text (SQLite stores JSON as text).
    pub fn as_json(&self) -> Option<&str> {
        match self {
            Value::Json(s) | Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            Value::Json(s) => write!(f, "json {s:?}"),
            other => f.write_str(&other.to_text().unwrap_or_default()),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident $(as $cast:ty)?),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::$variant(v $(as $cast)?) }
        })*
    };
}
value_from!(bool => Bool, i16 => Int as i64, i32 => Int as i64, i64 => Int, u32 => Int as i64,
    f32 => Float as f64, f64 => Float, String => Text, Vec<u8> => Bytes, NaiveDate => Date,
    NaiveDateTime => Timestamp, DateTime<Utc> => TimestampTz);

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_format_and_parse_in_every_usual_spelling() {
        let u = 0x0000_0000_0000_4000_8000_0000_0000_0001_u128;
        assert_eq!(format_uuid(u), "00000000-0000-4000-8000-000000000001");
        assert_eq!(parse_uuid("00000000000040008000000000000001"), Some(u));
        assert_eq!(parse_uuid("{00000000-0000-4000-8000-000000000001}"), Some(u));
        assert_eq!(
            parse_uuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            Some(0xa0eebc999c0b4ef8bb6d6bb9bd380a11)
        );
        for bad in ["", "0000", "0000000-00000-4000-8000-000000000001", "g0000000000040008000000000000001"] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_and_timestamps_read_back_from_the_text_sqlite_stores() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let t = d.and_hms_micro_opt(23, 59, 58, 123_456).unwrap();
        for v in [Value::Date(d), Value::Timestamp(t), Value::TimestampTz(t.and_utc()), Value::Uuid(7)] {
            let text = Value::Text(v.to_text().unwrap());
            match v {
                Value::Date(_) => assert_eq!(text.as_date(), Some(d)),
                Value::Timestamp(_) => assert_eq!(text.as_timestamp(), Some(t)),
                Value::TimestampTz(_) => assert_eq!(text.as_timestamptz(), Some(t.and_utc())),
                _ => assert_eq!(text.as_uuid(), Some(7)),
            }
        }
        assert_eq!(Value::Timestamp(t).to_text().unwrap(), "2024-02-29 23:59:58.123456");
        assert_eq!(Value::TimestampTz(t.and_utc()).to_text().unwrap(), "2024-02-29 23:59:58.123456+00:00");
        let current_timestamp = Value::from("2024-02-29 23:59:58");
        assert_eq!(current_timestamp.as_timestamptz(), Some(d.and_hms_opt(23, 59, 58).unwrap().and_utc()));
        assert_eq!(Value::from("2024-02-29T23:59:58.123456Z").as_timestamptz(), Some(t.and_utc()));
    }
}
