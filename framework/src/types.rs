//! The portable column type set: one vocabulary that every dialect maps to its own names,
//! and that introspection maps back, so a schema reads the same on SQLite and PostgreSQL.

use std::fmt;

/// A column type that every supported dialect can store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Type {
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer; the usual choice for ids.
    BigInt,
    /// Unbounded text.
    Text,
    /// Variable-length text of at most `n` characters.
    String(u32),
    /// True or false (stored as 0/1 on SQLite).
    Boolean,
    /// A calendar date.
    Date,
    /// Timestamp without time zone.
    Timestamp,
    /// Timestamp with time zone.
    TimestampTz,
    /// Exact decimal with `precision` digits, `scale` of them after the point.
    Numeric(u16, u16),
    /// Single-precision float.
    Float,
    /// Double-precision float.
    Double,
    /// Binary data (`bytea`, `BLOB`).
    Bytes,
    /// JSON (`JSONB` on PostgreSQL, declared `JSON` on SQLite, where it is stored as text).
    Json,
    /// A UUID (`UUID`; SQLite stores it as text).
    Uuid,
    /// A type the portable set does not name, kept as the database spells it.
    Other(String),
}

impl fmt::Display for Type {
    /// The stable text form used in schema dumps and snapshots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::SmallInt => f.write_str("smallint"),
            Type::Integer => f.write_str("integer"),
            Type::BigInt => f.write_str("bigint"),
            Type::Text => f.write_str("text"),
            Type::String(n) => write!(f, "string({n})"),
            Type::Boolean => f.write_str("boolean"),
            Type::Date => f.write_str("date"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::TimestampTz => f.write_str("timestamptz"),
            Type::Numeric(p, s) => write!(f, "numeric({p},{s})"),
            Type::Float => f.write_str("float"),
            Type::Double => f.write_str("double"),
            Type::Bytes => f.write_str("bytes"),
            Type::Json => f.write_str("json"),
            Type::Uuid => f.write_str("uuid"),
            Type::Other(name) => write!(f, "other({name})"),
        }
    }
}
