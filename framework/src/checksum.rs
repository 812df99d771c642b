//! Checksums of a migration's operation plan, for drift detection. The checksum is computed
//! from an explicit canonical text of the ops (never from source text, so comments and
//! formatting do not count, and never from `Debug` output, which changes when a field is
//! added) and is tagged with the algorithm's version: `1:<sha-256 hex>`. A later strata keeps
//! computing version-1 checksums for rows recorded with version 1, so upgrading strata never
//! turns unchanged migrations into false alarms (Flyway and Liquibase both did that).
//!
//! A migration's lint acknowledgements ([`crate::ops::Ops::allow`]) count too: they are
//! appended to the canonical text only when there are any, so a migration without them keeps
//! the checksum it always had, and adding, changing or removing one is drift.

use crate::migration::Migration;
use crate::ops::{Acknowledgement, Action, AlterColumn, Column, DefaultValue, ForeignKey, Op, Table, Unique};
use crate::value::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The algorithm version new checksums are written with.
pub const VERSION: u32 = 1;

/// The checksum of a migration's upgrade and downgrade plans.
pub fn of(migration: &Migration) -> String {
    let (upgrade, acknowledgements) = migration.upgrade_plan().into_parts();
    compute(VERSION, &upgrade, &migration.downgrade_ops(), &acknowledgements).unwrap_or_default()
}

/// The checksum of a plan given as ops (what [`of`] computes from a migration's functions).
pub fn of_plan(upgrade: &[Op], downgrade: &[Op]) -> String {
    compute(VERSION, upgrade, downgrade, &[]).unwrap_or_default()
}

/// [`of_plan`] with the upgrade's acknowledgements ([`crate::ops::Ops::allow`]).
pub fn of_plan_with(upgrade: &[Op], downgrade: &[Op], acknowledgements: &[Acknowledgement]) -> String {
    compute(VERSION, upgrade, downgrade, acknowledgements).unwrap_or_default()
}

/// Whether `recorded` still matches `migration`: `Some(true)` or `Some(false)`, or `None` when
/// the recorded checksum cannot be judged (malformed, or of an algorithm this strata does not
/// know). [`verify`] says which.
pub fn matches(recorded: &str, migration: &Migration) -> Option<bool> {
    match verify(Some(recorded), migration) {
        Verdict::Unchanged => Some(true),
        Verdict::Changed => Some(false),
        _ => None,
    }
}

/// What a history row's checksum says about a migration as compiled now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The plan is the one that was recorded.
    Unchanged,
    /// The plan changed since it was recorded (drift).
    Changed,
    /// The row has no checksum: strata always writes one, so the row was edited or written by
    /// another tool, and nothing proves the migration is what ran.
    Missing,
    /// The text is not `<version>:<64 hex digits>`: the row was edited.
    Malformed(String),
    /// A well-formed checksum of an algorithm this strata does not know: a newer strata wrote
    /// it, and only that one can judge it.
    UnknownAlgorithm(u32),
}

/// Judges `recorded` (a history row's checksum) against `migration`.
pub fn verify(recorded: Option<&str>, migration: &Migration) -> Verdict {
    let Some(recorded) = recorded else { return Verdict::Missing };
    let parsed = recorded.split_once(':').and_then(|(version, hex)| {
        let well_formed = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| version.parse::<u32>().ok()).flatten()
    });
    let Some(version) = parsed else { return Verdict::Malformed(recorded.to_string()) };
    let (upgrade, acknowledgements) = migration.upgrade_plan().into_parts();
    match compute(version, &upgrade, &migration.downgrade_ops(), &acknowledgements) {
        Some(now) if now == recorded => Verdict::Unchanged,
        Some(_) => Verdict::Changed,
        None => Verdict::UnknownAlgorithm(version),
    }
}

/// Lower-case hex digits, as the checksum text spells its digest.
const HEX: &[u8; 16] = b"0123456789abcdef";

fn compute(
    version: u32,
    upgrade: &[Op],
    downgrade: &[Op],
    acknowledgements: &[Acknowledgement],
) -> Option<String> {
    match version {
        1 => {
            let mut text = String::from("upgrade\n");
            upgrade.iter().for_each(|op| v1::op(&mut text, op));
            text.push_str("downgrade\n");
            downgrade.iter().for_each(|op| v1::op(&mut text, op));
            // Only when there are some: the text of a migration without any is unchanged.
            if !acknowledgements.is_empty() {
                text.push_str("allow\n");
                acknowledgements.iter().for_each(|a| v1::acknowledgement(&mut text, a));
            }
            let digest = Sha256::digest(text.as_bytes());
            let mut checksum = String::with_capacity(2 + 2 * digest.len());
            checksum.push_str("1:");
            for byte in digest {
                checksum.push(char::from(HEX[usize::from(byte >> 4)]));
                checksum.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
            Some(checksum)
        }
        _ => None,
    }
}

/// Version 1 of the canonical text: one line per op, fields in a fixed order, optional fields
/// written only when set. Never change what this writes; add a `v2` instead.
mod v1 {
    use super::*;

    fn s(out: &mut String, text: &str) {
        // Length-prefixed, so no separator inside a name can be confused with structure.
        let _ = write!(out, "{}:{text} ", text.len());
    }

    fn list(out: &mut String, items: &[String]) {
        let _ = write!(out, "[{}] ", items.len());
        items.iter().for_each(|i| s(out, i));
    }

    fn value(out: &mut String, v: &Value) {
        match v {
            Value::Null => out.push_str("null "),
            Value::Bool(b) => {
                let _ = write!(out, "bool:{b} ");
            }
            Value::Int(i) => {
                let _ = write!(out, "int:{i} ");
            }
            Value::Float(f) => {
                let _ = write!(out, "float:{:016x} ", f.to_bits());
            }
            Value::Text(t) => {
                out.push_str("text:");
                s(out, t);
            }
            Value::Bytes(b) => {
                let _ = write!(out, "bytes:{} ", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
            }
            Value::Date(_)
            | Value::Timestamp(_)
            | Value::TimestampTz(_)
            | Value::Uuid(_)
            | Value::Json(_) => {
                let tag = match v {
                    Value::Date(_) => "date",
                    Value::Timestamp(_) => "timestamp",
                    Value::TimestampTz(_) => "timestamptz",
                    Value::Uuid(_) => "uuid",
                    _ => "json",
                };
                let _ = write!(out, "{tag}:");
                s(out, &v.to_text().unwrap_or_default());
            }
        }
    }

    fn default(out: &mut String, d: &DefaultValue) {
        match d {
            DefaultValue::Value(v) => {
                out.push_str("default=value ");
                value(out, v);
            }
            DefaultValue::Sql(sql) => {
                out.push_str("default=sql ");
                s(out, &normalize_sql(sql));
            }
        }
    }

    fn action(out: &mut String, name: &str, a: Action) {
        if a != Action::NoAction {
            let _ = write!(out, "{name}={a} ");
        }
    }

    fn column(out: &mut String, c: &Column) {
        out.push_str("column ");
        s(out, &c.name);
        s(out, &c.ty.to_string());
        if c.nullable {
            out.push_str("nullable ");
        }
        if let Some(d) = &c.default {
            default(out, d);
        }
        if c.primary_key {
            out.push_str("primary_key ");
        }
        if c.autoincrement {
            out.push_str("autoincrement ");
        }
        if let Some(name) = &c.unique {
            out.push_str("unique=");
            s(out, name);
        }
        if let Some((name, expr)) = &c.check {
            out.push_str("check=");
            s(out, name);
            s(out, &normalize_sql(expr));
        }
        out.push_str("; ");
    }

    fn fk(out: &mut String, f: &ForeignKey) {
        out.push_str("fk ");
        s(out, &f.name);
        list(out, &f.columns);
        s(out, &f.ref_table);
        list(out, &f.ref_columns);
        action(out, "on_delete", f.on_delete);
        action(out, "on_update", f.on_update);
    }

    fn unique(out: &mut String, u: &Unique) {
        out.push_str("unique ");
        s(out, &u.name);
        list(out, &u.columns);
    }

    fn table(out: &mut String, t: &Table) {
        s(out, &t.name);
        t.columns.iter().for_each(|c| column(out, c));
        if !t.primary_key.is_empty() {
            out.push_str("pk ");
            list(out, &t.primary_key);
        }
        s(out, &t.primary_key_name);
        t.uniques.iter().for_each(|u| unique(out, u));
        t.foreign_keys.iter().for_each(|f| fk(out, f));
        for c in &t.checks {
            out.push_str("check ");
            s(out, &c.name);
            s(out, &normalize_sql(&c.expr));
        }
    }

    fn alter(out: &mut String, a: &AlterColumn) {
        if let Some(ty) = &a.ty {
            out.push_str("type=");
            s(out, &ty.to_string());
        }
        if let Some(n) = a.nullable {
            let _ = write!(out, "nullable={n} ");
        }
        match &a.default {
            Some(Some(d)) => default(out, d),
            Some(None) => out.push_str("drop_default "),
            None => {}
        }
        if let Some(using) = &a.using {
            out.push_str("using=");
            s(out, &normalize_sql(using));
        }
    }

    /// One line per acknowledgement: code and reason, length-prefixed.
    pub(super) fn acknowledgement(out: &mut String, a: &Acknowledgement) {
        s(out, &a.code);
        s(out, &a.reason);
        out.push('\n');
    }

    pub(super) fn op(out: &mut String, op: &Op) {
        out.push_str(op.kind());
        out.push(' ');
        match op {
            Op::CreateTable(t) => table(out, t),
            Op::DropTable { name } => s(out, name),
            Op::RenameTable { from, to } => {
                s(out, from);
                s(out, to);
            }
            Op::AddColumn { table, column: c } => {
                s(out, table);
                column(out, c);
            }
            Op::DropColumn { table, column } => {
                s(out, table);
                s(out, column);
            }
            Op::RenameColumn { table, from, to } => {
                s(out, table);
                s(out, from);
                s(out, to);
            }
            Op::AlterColumn { table, column, change } => {
                s(out, table);
                s(out, column);
                alter(out, change);
            }
            Op::CreateIndex(i) => {
                s(out, &i.name);
                s(out, &i.table);
                list(out, &i.columns);
                if i.unique {
                    out.push_str("unique ");
                }
            }
            Op::DropIndex { name, table } => {
                s(out, name);
                s(out, table);
            }
            Op::AddForeignKey { table, fk: f } => {
                s(out, table);
                fk(out, f);
            }
            Op::AddUniqueConstraint { table, unique: u } => {
                s(out, table);
                unique(out, u);
            }
            Op::AddCheckConstraint { table, check } => {
                s(out, table);
                s(out, &check.name);
                s(out, &normalize_sql(&check.expr));
            }
            Op::DropConstraint { table, name } => {
                s(out, table);
                s(out, name);
            }
            Op::Execute { sql, only, safe } => {
                s(out, &normalize_sql(sql));
                if let Some(kind) = only {
                    let _ = write!(out, "only={kind} ");
                }
                if *safe {
                    out.push_str("safe ");
                }
            }
            // A data op's code cannot be hashed; its label stands for it.
            Op::Data { label, .. } => s(out, label),
        }
        out.push('\n');
    }
}

/// SQL with runs of whitespace folded to one space, so re-indenting a statement is not drift.
/// Whitespace inside quotes is kept: it is data.
fn normalize_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut pending_space = false;
    for c in sql.trim().chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => pending_space = true,
            None => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Column, Ops, Table};
    use crate::types::Type;

    fn plan(f: impl FnOnce(&mut Ops)) -> Vec<Op> {
        let mut ops = Ops::new();
        f(&mut ops);
        ops.into_ops()
    }

    fn sum(up: &[Op]) -> String {
        compute(1, up, &[], &[]).unwrap()
    }

    #[test]
    fn same_plan_same_checksum_and_sql_whitespace_does_not_count() {
        let a = plan(|op| {
            op.create_table(Table::new("t").column(Column::new("id", Type::Integer).primary_key()));
            op.execute("UPDATE t SET x = 'a  b'");
        });
        let b = plan(|op| {
            // A comment and different formatting: same ops.
            op.create_table(Table::new("t").column(Column::new("id", Type::Integer).primary_key()));
            op.execute("  UPDATE t\n   SET x = 'a  b'  ");
        });
        assert_eq!(sum(&a), sum(&b));
        assert!(sum(&a).starts_with("1:") && sum(&a).len() == 2 + 64);
    }

    #[test]
    fn every_change_of_meaning_changes_the_checksum() {
        let base = plan(|op| {
            op.add_column("t", Column::new("c", Type::String(10)).nullable());
        });
        let variants = [
            plan(|op| {
                op.add_column("t", Column::new("c", Type::String(11)).nullable());
            }),
            plan(|op| {
                op.add_column("t", Column::new("c", Type::String(10)));
            }),
            plan(|op| {
                op.add_column("t", Column::new("c", Type::String(10)).nullable().default("x"));
            }),
            plan(|op| {
                op.add_column("u", Column::new("c", Type::String(10)).nullable());
            }),
            plan(|op| {
                op.execute("UPDATE t SET x = 'a b'");
            }),
        ];
        for v in &variants {
            assert_ne!(sum(&base), sum(v), "{v:?}");
        }
        assert_ne!(
            sum(&plan(|op| {
                op.execute("SELECT 'a  b'");
            })),
            sum(&plan(|op| {
                op.execute("SELECT 'a b'");
            }))
        );
    }

    /// A one-op migration whose recorded checksums the verdict tests vary.
    static M: Migration = Migration {
        revision: "m1",
        parents: &[],
        message: "m",
        created: "2026-11-24T00:00:00Z",
        upgrade: |op| {
            op.drop_table("t");
        },
        downgrade: |_| {},
        file: "m1.rs",
        transactional: true,
        replaces: &[],
    };

    #[test]
    fn unknown_algorithm_versions_are_not_judged() {
        assert_eq!(matches(&of(&M), &M), Some(true));
        let other = format!("1:{}", "0".repeat(64));
        assert_eq!(matches(&other, &M), Some(false));
        assert_eq!(verify(Some(&other), &M), Verdict::Changed);
        assert_eq!(verify(Some(&format!("9:{}", "a".repeat(64))), &M), Verdict::UnknownAlgorithm(9));
        assert_eq!(matches("9:abcd", &M), None);
        assert_eq!(matches("garbage", &M), None);
    }

    #[test]
    fn missing_and_malformed_checksums_are_told_apart() {
        assert_eq!(verify(None, &M), Verdict::Missing);
        for bad in ["garbage", "9:abc", "1:", ":", "", "1:0000", "x:".repeat(40).as_str()] {
            assert_eq!(verify(Some(bad), &M), Verdict::Malformed(bad.to_string()), "{bad:?}");
        }
        let upper = of(&M).to_uppercase();
        assert_eq!(verify(Some(&upper), &M), Verdict::Malformed(upper.clone()), "hex is lower case");
        assert_eq!(verify(Some(&of(&M)), &M), Verdict::Unchanged);
    }

    fn ack(code: &str, reason: &str) -> Acknowledgement {
        Acknowledgement { code: code.into(), reason: reason.into() }
    }

    #[test]
    fn acknowledgements_are_part_of_the_checksum_and_none_changes_nothing() {
        let ops = plan(|op| {
            op.create_index(crate::ops::Index::new("ix_t_n", "t", ["n"]));
        });
        let without = sum(&ops);
        assert_eq!(compute(1, &ops, &[], &[]).unwrap(), without, "no acknowledgement: the old checksum");
        let with = compute(1, &ops, &[], &[ack("S013", "t is tiny")]).unwrap();
        assert_ne!(with, without, "adding one is drift");
        for other in [
            vec![ack("S013", "t is small")],
            vec![ack("S014", "t is tiny")],
            vec![ack("S013", "t is tiny"), ack("S020", "legacy")],
            vec![ack("S01", "3t is tiny")],
        ] {
            assert_ne!(compute(1, &ops, &[], &other).unwrap(), with, "{other:?}");
        }
        // Recorded through `Ops::allow`, as a migration does.
        let mut recorded = Ops::new();
        recorded.create_index(crate::ops::Index::new("ix_t_n", "t", ["n"])).allow("S013", "  t is tiny ");
        let (up, acks) = recorded.into_parts();
        assert_eq!(of_plan_with(&up, &[], &acks), with, "the reason is trimmed");
        assert_eq!(of_plan_with(&up, &[], &[]), of_plan(&up, &[]));
    }

    static ACKNOWLEDGED: Migration = Migration {
        revision: "m2",
        parents: &[],
        message: "m",
        created: "2026-11-24T00:00:00Z",
        upgrade: |op| {
            op.drop_table("t");
            op.allow("S012", "t was never used");
        },
        downgrade: |_| {},
        file: "m2.rs",
        transactional: true,
        replaces: &[],
    };

    #[test]
    fn a_migration_s_acknowledgements_are_verified() {
        let recorded = of(&ACKNOWLEDGED);
        assert_eq!(verify(Some(&recorded), &ACKNOWLEDGED), Verdict::Unchanged);
        // The same ops without the acknowledgement (M) have another checksum: drift.
        assert_ne!(of(&M), recorded);
        assert_eq!(verify(Some(&of(&M)), &ACKNOWLEDGED), Verdict::Changed);
    }

    #[test]
    fn the_canonical_text_is_frozen() {
        // If this fails, version 1 changed (or the stable text of `Type`, which it includes):
        // every recorded checksum would turn into drift. Add a version 2 instead.
        let ops = plan(|op| {
            op.create_table(
                Table::new("t")
                    .column(Column::new("id", Type::BigInt).autoincrement())
                    .column(Column::new("n", Type::Text).nullable()),
            );
        });
        assert_eq!(sum(&ops), "1:137da5ee535db95de9991d8e63c9c7018356f81aca8b746096c76ea622035f5f");
    }
}
