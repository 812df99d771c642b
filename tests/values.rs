//! Edge values of every portable type, written through a data op's connection and read back,
//! on both engines: all-digit strings, leading zeros, the integer limits, big decimals, empty
//! and non-UTF-8 bytes, non-ASCII text, NULLs. The same SQL and the same values on both: no
//! per-dialect casts. On SQLite the declared types must keep each value as written (TEXT
//! affinity for dates, timestamps, decimals, JSON and UUIDs).

mod common;

use common::*;
use strata::chrono::{NaiveDate, TimeZone, Utc};
use strata::ops::{Column, DialectKind, Table};
use strata::types::Type;
use strata::value::Value;

const COLUMNS: [(&str, Type); 15] = [
    ("small", Type::SmallInt),
    ("int", Type::Integer),
    ("big", Type::BigInt),
    ("text", Type::Text),
    ("string", Type::String(40)),
    ("flag", Type::Boolean),
    ("day", Type::Date),
    ("at", Type::Timestamp),
    ("at_tz", Type::TimestampTz),
    ("amount", Type::Numeric(38, 10)),
    ("single", Type::Float),
    ("double", Type::Double),
    ("blob", Type::Bytes),
    ("doc", Type::Json),
    ("uid", Type::Uuid),
];

fn rows_to_write() -> Vec<Vec<Value>> {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    vec![
        vec![
            Value::Int(i64::from(i16::MAX)),
            Value::Int(i64::from(i32::MAX)),
            Value::Int(i64::MAX),
            Value::from("00000000000040008000000000000001"),
            Value::from("0007"),
            Value::Bool(true),
            Value::Date(day(2024, 2, 29)),
            Value::Timestamp(day(1999, 12, 31).and_hms_micro_opt(23, 59, 59, 999_999).unwrap()),
            Value::TimestampTz(Utc.with_ymd_and_hms(2038, 1, 19, 3, 14, 8).unwrap()),
            Value::from("1234567890123456789012345678.0123456789"),
            Value::Float(1.5),
            Value::Float(f64::MAX),
            Value::Bytes(Vec::new()),
            Value::Json(r#"{"n": 12345678901234567890, "id": "00123"}"#.into()),
            Value::Uuid(0x0000_0000_0000_4000_8000_0000_0000_0001),
        ],
        vec![
            Value::Int(i64::from(i16::MIN)),
            Value::Int(i64::from(i32::MIN)),
            Value::Int(i64::MIN),
            Value::from(""),
            Value::from("héllo ✓ 𝄞"),
            Value::Bool(false),
            Value::Date(day(1, 1, 1)),
            Value::Timestamp(day(2000, 1, 1).and_hms_opt(0, 0, 0).unwrap()),
            Value::TimestampTz(Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap()),
            Value::from("-0.0000000001"),
            Value::Float(-0.25),
            Value::Float(1e-300),
            Value::Bytes(vec![0xff, 0x00, 0xfe, b'\'']),
            Value::Json("[]".into()),
            Value::Uuid(0x0000_0000_0000_4000_8000_0000_0000_0002),
        ],
        vec![Value::Null; COLUMNS.len()],
    ]
}

/// Whether `read` is `written` as the engine hands it back: SQLite returns text for dates,
/// timestamps, UUIDs and JSON and integers for booleans, which the accessors read.
fn same(ty: &Type, written: &Value, read: &Value) -> bool {
    if written.is_null() || read.is_null() {
        return written.is_null() && read.is_null();
    }
    match ty {
        Type::Boolean => written.as_bool() == read.as_bool(),
        Type::Date => written.as_date() == read.as_date(),
        Type::Timestamp => written.as_timestamp() == read.as_timestamp(),
        Type::TimestampTz => written.as_timestamptz() == read.as_timestamptz(),
        Type::Uuid => written.as_uuid() == read.as_uuid(),
        Type::Json => written.as_json() == read.as_json(),
        _ => written == read,
    }
}

#[test]
fn edge_values_of_every_portable_type_round_trip_on_both_engines() {
    for kind in engines() {
        let (_db, mut conn) = open(kind);
        apply(conn.as_mut(), |op| {
            let mut table = Table::new("edge").column(Column::new("id", Type::Integer).primary_key());
            for (name, ty) in COLUMNS {
                let mut column = Column::new(name, ty).nullable();
                if name == "uid" || name == "text" {
                    column = column.unique();
                }
                table = table.column(column);
            }
            op.create_table(table);
        });
        let names: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
        let placeholders: Vec<String> = (2..=COLUMNS.len() + 1).map(|i| format!("${i}")).collect();
        let insert =
            format!("INSERT INTO edge (id, {}) VALUES ($1, {})", names.join(", "), placeholders.join(", "));
        let written = rows_to_write();
        for (id, row) in written.iter().enumerate() {
            let mut params = vec![Value::Int(id as i64)];
            params.extend(row.iter().cloned());
            conn.data().execute(&insert, &params).unwrap_or_else(|e| panic!("[{kind}] row {id}: {e}"));
        }
        let read = conn
            .data()
            .query(&format!("SELECT {} FROM edge ORDER BY id", names.join(", ")), &[])
            .unwrap_or_else(|e| panic!("[{kind}] {e}"));
        assert_eq!(read.len(), written.len());
        for (row, (w, r)) in written.iter().zip(&read).enumerate() {
            for (i, (name, ty)) in COLUMNS.iter().enumerate() {
                assert!(
                    same(ty, &w[i], &r[i]),
                    "[{kind}] row {row} {name} ({ty}): wrote {:?}, read {:?}",
                    w[i],
                    r[i]
                );
            }
        }
        // A value compares equal to itself through a placeholder (what a WHERE clause does).
        let found = conn
            .data()
            .query(
                "SELECT id FROM edge WHERE uid = $1 AND day = $2",
                &[written[0][14].clone(), written[0][6].clone()],
            )
            .unwrap();
        assert_eq!(found, [vec![Value::Int(0)]], "[{kind}]");
    }
}

/// The repro: on SQLite a column declared UUID (NUMERIC affinity) stored an all-digit
/// 32-hex-digit value as the REAL 4.0008e+19, and a second such value collided on UNIQUE.
/// Every text-like portable type must keep all-digit text as text.
#[test]
fn sqlite_keeps_all_digit_text_as_text_in_every_text_like_column() {
    let (_db, mut conn) = open(DialectKind::Sqlite);
    apply(conn.as_mut(), |op| {
        op.create_table(
            Table::new("digits")
                .column(Column::new("uid", Type::Uuid).unique())
                .column(Column::new("day", Type::Date))
                .column(Column::new("at", Type::Timestamp))
                .column(Column::new("at_tz", Type::TimestampTz))
                .column(Column::new("amount", Type::Numeric(38, 10)))
                .column(Column::new("doc", Type::Json))
                .column(Column::new("code", Type::String(32))),
        );
    });
    let sql =
        "INSERT INTO digits (uid, day, at, at_tz, amount, doc, code) VALUES ($1, $2, $2, $2, $3, $2, $4)";
    for (uid, amount) in [
        ("00000000000040008000000000000001", "12345678901234567890.1234567891"),
        ("00000000000040008000000000000002", "12345678901234567890.1234567892"),
    ] {
        conn.data()
            .execute(
                sql,
                &[Value::from(uid), Value::from("20240101"), Value::from(amount), Value::from("007")],
            )
            .unwrap_or_else(|e| panic!("{uid}: {e}"));
    }
    assert_eq!(
        rows(conn.as_mut(), "SELECT uid, typeof(uid), typeof(day), typeof(at), typeof(at_tz), amount, typeof(doc), code FROM digits ORDER BY uid"),
        [
            "\"00000000000040008000000000000001\"|\"text\"|\"text\"|\"text\"|\"text\"|\"12345678901234567890.1234567891\"|\"text\"|\"007\"",
            "\"00000000000040008000000000000002\"|\"text\"|\"text\"|\"text\"|\"text\"|\"12345678901234567890.1234567892\"|\"text\"|\"007\"",
        ]
    );
}
