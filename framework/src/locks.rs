//! What each PostgreSQL statement strata renders does to the tables it touches: the lock it
//! takes on each ([`LockLevel`], the eight table lock modes), whether it rewrites the table
//! (a new relfilenode: every row copied), whether it scans it (every row read while the lock
//! is held: a rewrite, a validation or an index build), and whether it may run inside a
//! transaction, for a given PostgreSQL major version ([`PgMajor`]). Pure: no I/O.
//!
//! [`effect`] is the one function that makes the claims for an op, so the claims can be
//! proved against real servers (`pg_locks` while the statement waits, `pg_relation_filenode`
//! before and after) op by op and version by version. What the claims need to know about the
//! schema before the op (a column's current type, a valid `CHECK (col IS NOT NULL)`, an index's
//! table, a foreign key's referenced table) comes from [`Known`], which follows the ops of
//! earlier migrations. Where it does not know, the claim is the worst case and
//! [`StatementEffect::uncertain`] says why.
//!
//! The facts and their sources, all in the PostgreSQL documentation unless said otherwise
//! ("ALTER TABLE" means its Description and Notes, "locking" the "Explicit Locking" chapter,
//! table 13.2 for the conflicts):
//!
//! - ALTER TABLE: "An ACCESS EXCLUSIVE lock is acquired unless explicitly noted"; ADD FOREIGN
//!   KEY takes SHARE ROW EXCLUSIVE on the table and on the referenced table; VALIDATE
//!   CONSTRAINT takes SHARE UPDATE EXCLUSIVE (and ROW SHARE on a foreign key's referenced
//!   table); ENABLE/DISABLE TRIGGER take SHARE ROW EXCLUSIVE.
//! - ALTER TABLE notes: adding a column with a volatile default, or changing a column's type,
//!   rewrites the table, unless the old type is binary-coercible to the new one and USING does
//!   not change the values; adding a CHECK or NOT NULL constraint scans; NOT VALID skips the
//!   scan (foreign keys and checks); DROP COLUMN does not rewrite.
//! - ALTER TABLE, ADD COLUMN (PostgreSQL 11 and later): a non-volatile default is evaluated
//!   once and stored in the catalog: no rewrite.
//! - ALTER TABLE, SET NOT NULL (PostgreSQL 12 and later): the scan is skipped when a valid
//!   CHECK constraint proves that no NULL can exist.
//! - CREATE INDEX: SHARE on the table; CONCURRENTLY takes SHARE UPDATE EXCLUSIVE and "cannot
//!   be executed inside a transaction block". DROP INDEX: ACCESS EXCLUSIVE on the table;
//!   CONCURRENTLY: SHARE UPDATE EXCLUSIVE (`index_drop` in `src/backend/catalog/index.c`), not
//!   inside a transaction block.
//! - CREATE TABLE with REFERENCES: the foreign key's triggers on the referenced table take
//!   SHARE ROW EXCLUSIVE, as CREATE TRIGGER does (locking: "SHARE ROW EXCLUSIVE ... acquired
//!   by CREATE TRIGGER and some forms of ALTER TABLE").
//! - Dropping a foreign key (DROP CONSTRAINT, or DROP TABLE of the referencing table) takes
//!   ACCESS EXCLUSIVE on the referenced table too: "Must match lock taken by
//!   RemoveTriggerById" in `ATExecDropConstraint` (`src/backend/commands/tablecmds.c`).
//! - ADD COLUMN ... NOT NULL with a default: the NOT NULL columns are checked by a scan only
//!   when no value is stored for the existing rows (`verify_new_notnull` in
//!   `ATExecAddColumn`), so a non-volatile default (stored in the catalog) is not scanned, on 11
//!   as on later versions: observed on 11.22 by the proof on real servers
//!   (`tests/lock_proof.rs`, `pg_stat_get_xact_numscans`), which found strata's earlier claim
//!   that 11 re-checks them wrong (the fast default's "attmissingval" also precludes the scan,
//!   pgsql-hackers, "Document atthasmissing default avoids verification table scan", 2021).
//! - ALTER TYPE ... ADD VALUE "cannot be executed inside a transaction block" before
//!   PostgreSQL 12 (release notes of 12).
//! - CREATE INDEX, ALTER TABLE ADD UNIQUE / PRIMARY KEY: an index build reads every row
//!   (ADD UNIQUE is ACCESS EXCLUSIVE: "cases essentially the same as CREATE INDEX" in
//!   `AlterTableGetLockLevel`).

#[cfg(feature = "sql-lint")]
pub(crate) mod sql;

use crate::dialect::{postgres::Postgres, Dialect};
use crate::ops::{Column, DefaultValue, DialectKind, Op};
use crate::types::Type;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

/// A PostgreSQL major version strata knows the lock behaviour of: 11 to 18.
///
/// ```
/// use strata::locks::PgMajor;
/// assert_eq!("16".parse::<PgMajor>().unwrap().get(), 16);
/// assert_eq!("15.4".parse::<PgMajor>().unwrap().get(), 15);
/// assert!("sixteen".parse::<PgMajor>().is_err());
/// assert!("9".parse::<PgMajor>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PgMajor(u32);

impl PgMajor {
    /// The oldest version whose facts strata knows (11: the first with ADD COLUMN defaults that
    /// do not rewrite). It is also the default when the version is not known: the facts of 11
    /// are the worst case of every supported version.
    pub const OLDEST: PgMajor = PgMajor(11);
    /// The newest version whose facts strata knows.
    pub const NEWEST: PgMajor = PgMajor(18);

    /// The version `major`, if strata knows its facts.
    pub fn new(major: u32) -> Result<Self, PgVersionError> {
        if major < Self::OLDEST.0 {
            Err(PgVersionError::TooOld { major })
        } else if major > Self::NEWEST.0 {
            Err(PgVersionError::TooNew { major })
        } else {
            Ok(PgMajor(major))
        }
    }

    /// The major version number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Every version strata knows, oldest first.
    pub fn all() -> impl Iterator<Item = PgMajor> {
        (Self::OLDEST.0..=Self::NEWEST.0).map(PgMajor)
    }

    /// The major version of a server's `server_version_num` (`150004` is 15).
    pub fn from_server_version_num(num: u32) -> Result<Self, PgVersionError> {
        Self::new(num / 10_000)
    }
}

impl fmt::Display for PgMajor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PgMajor {
    type Err = PgVersionError;

    /// `16`, or a full version (`16.4`, `16beta1`): the major version is what counts.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        let rest = &text[digits.len()..];
        let tail_ok = rest.is_empty()
            || rest.starts_with('.') && rest[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
            || rest.starts_with("beta")
            || rest.starts_with("rc")
            || rest.starts_with("devel");
        match digits.parse::<u32>() {
            Ok(major) if tail_ok => Self::new(major),
            _ => Err(PgVersionError::NotANumber { given: text.to_string() }),
        }
    }
}

/// Why a PostgreSQL version was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PgVersionError {
    /// Not a version number.
    #[error("{given:?} is not a PostgreSQL major version: give a number such as 16")]
    NotANumber {
        /// What was given.
        given: String,
    },
    /// Older than the facts strata knows.
    #[error(
        "PostgreSQL {major} is older than strata's lock facts cover (11 to 18): before 11 even \
         ADD COLUMN with a constant default rewrites the table. Upgrade the server, or check \
         against 11 knowing that the older server locks more"
    )]
    TooOld {
        /// The major version given.
        major: u32,
    },
    /// Newer than the facts strata knows.
    #[error(
        "PostgreSQL {major} is newer than strata's lock facts cover (11 to 18): check against 18, \
         whose facts a newer server most likely keeps, or upgrade strata"
    )]
    TooNew {
        /// The major version given.
        major: u32,
    },
}

/// PostgreSQL's table lock modes, weakest first (the "Explicit Locking" chapter, table 13.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockLevel {
    /// `SELECT`.
    AccessShare,
    /// `SELECT FOR UPDATE/SHARE`; a foreign key's VALIDATE on the referenced table.
    RowShare,
    /// `INSERT`, `UPDATE`, `DELETE`.
    RowExclusive,
    /// `CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`, `VACUUM`: blocks no reads or writes.
    ShareUpdateExclusive,
    /// `CREATE INDEX`: blocks writes.
    Share,
    /// Foreign keys, `CREATE TRIGGER`: blocks writes.
    ShareRowExclusive,
    /// `REFRESH MATERIALIZED VIEW CONCURRENTLY`: blocks writes and row locks.
    Exclusive,
    /// Most of ALTER TABLE, `DROP`, `TRUNCATE`: blocks everything, reads included.
    AccessExclusive,
}

impl LockLevel {
    /// Every mode, weakest first.
    pub const ALL: [LockLevel; 8] = [
        LockLevel::AccessShare,
        LockLevel::RowShare,
        LockLevel::RowExclusive,
        LockLevel::ShareUpdateExclusive,
        LockLevel::Share,
        LockLevel::ShareRowExclusive,
        LockLevel::Exclusive,
        LockLevel::AccessExclusive,
    ];

    /// The SQL name (`ACCESS EXCLUSIVE`), as `LOCK TABLE` and the documentation spell it.
    pub fn sql(self) -> &'static str {
        match self {
            LockLevel::AccessShare => "ACCESS SHARE",
            LockLevel::RowShare => "ROW SHARE",
            LockLevel::RowExclusive => "ROW EXCLUSIVE",
            LockLevel::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockLevel::Share => "SHARE",
            LockLevel::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockLevel::Exclusive => "EXCLUSIVE",
            LockLevel::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The name `pg_locks.mode` shows (`AccessExclusiveLock`), to compare claims with a server.
    pub fn pg_locks_mode(self) -> &'static str {
        match self {
            LockLevel::AccessShare => "AccessShareLock",
            LockLevel::RowShare => "RowShareLock",
            LockLevel::RowExclusive => "RowExclusiveLock",
            LockLevel::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockLevel::Share => "ShareLock",
            LockLevel::ShareRowExclusive => "ShareRowExclusiveLock",
            LockLevel::Exclusive => "ExclusiveLock",
            LockLevel::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// Whether two transactions can hold these modes on one table at once (table 13.2).
    pub fn conflicts_with(self, other: LockLevel) -> bool {
        use LockLevel::*;
        let conflicts = |a: LockLevel, b: LockLevel| match a {
            AccessShare => b == AccessExclusive,
            RowShare => matches!(b, Exclusive | AccessExclusive),
            RowExclusive => matches!(b, Share | ShareRowExclusive | Exclusive | AccessExclusive),
            ShareUpdateExclusive => b >= ShareUpdateExclusive,
            Share => {
                matches!(b, RowExclusive | ShareUpdateExclusive | ShareRowExclusive | Exclusive)
                    || b == AccessExclusive
            }
            ShareRowExclusive => b >= RowExclusive,
            Exclusive => b >= RowShare,
            AccessExclusive => true,
        };
        conflicts(self, other)
    }

    /// Whether plain `SELECT`s wait for it.
    pub fn blocks_reads(self) -> bool {
        self.conflicts_with(LockLevel::AccessShare)
    }

    /// Whether `INSERT`, `UPDATE` and `DELETE` wait for it.
    pub fn blocks_writes(self) -> bool {
        self.conflicts_with(LockLevel::RowExclusive)
    }
}

impl fmt::Display for LockLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql())
    }
}

impl serde::Serialize for LockLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.sql())
    }
}

/// One table lock a statement takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableLock {
    /// The table, as the op names it.
    pub table: String,
    /// The lock mode.
    pub level: LockLevel,
}

/// What one statement does to the tables it touches, on one PostgreSQL major version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StatementEffect {
    /// The statement, as rendered for PostgreSQL.
    pub sql: String,
    /// The table locks it takes, strongest per table, in the order the tables are named.
    pub locks: Vec<TableLock>,
    /// Whether it rewrites a table: every row copied into a new file, under its lock.
    pub rewrites: bool,
    /// Whether it reads every row of a table while holding its lock: a rewrite, a validation
    /// (SET NOT NULL, a constraint added without NOT VALID, VALIDATE CONSTRAINT) or an index
    /// build.
    pub scans: bool,
    /// Whether it may run inside a transaction block.
    pub transactional: bool,
    /// `None` when the claims are exact for the version; otherwise why they are a worst case
    /// or incomplete (the column's current type is not known, the SQL is not classified).
    pub uncertain: Option<String>,
}

impl StatementEffect {
    /// The strongest lock it takes on `table`, if any.
    pub fn lock_on(&self, table: &str) -> Option<LockLevel> {
        self.locks.iter().filter(|l| l.table == table).map(|l| l.level).max()
    }

    /// The strongest lock it takes on any table.
    pub fn strongest(&self) -> Option<LockLevel> {
        self.locks.iter().map(|l| l.level).max()
    }

    /// The facts as one line (no comment marker): `locks users: ACCESS EXCLUSIVE; rewrites:
    /// no; scans: yes`.
    pub fn summary(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut line = match (&self.uncertain, self.locks.is_empty()) {
            // Nothing is claimed: say so, and why.
            (Some(why), true) if !self.rewrites && !self.scans && self.transactional => {
                return format!("locks: unknown ({why})");
            }
            (_, true) => "locks: none".to_string(),
            (_, false) => format!(
                "locks {}",
                self.locks.iter().map(|l| format!("{}: {}", l.table, l.level)).collect::<Vec<_>>().join(", ")
            ),
        };
        line.push_str(&format!("; rewrites: {}; scans: {}", yes(self.rewrites), yes(self.scans)));
        if !self.transactional {
            line.push_str("; outside a transaction only");
        }
        if let Some(why) = &self.uncertain {
            line.push_str(&format!(" (not certain: {why})"));
        }
        line
    }

    /// The SQL comment a script shows above the statement: `-- locks users: ...`.
    pub fn comment(&self) -> String {
        format!("-- {}", self.summary())
    }

    pub(crate) fn from_claim(sql: String, claim: Claim) -> Self {
        StatementEffect {
            sql,
            locks: claim.locks,
            rewrites: claim.rewrites,
            scans: claim.scans || claim.rewrites,
            transactional: claim.transactional,
            uncertain: claim.uncertain,
        }
    }

    /// The effects of several statements sent as one (a multi-statement `execute`).
    fn merged(sql: String, parts: Vec<StatementEffect>) -> Self {
        let mut claim = Claim::none();
        for part in parts {
            for lock in part.locks {
                claim.lock(&lock.table, lock.level);
            }
            claim.rewrites |= part.rewrites;
            claim.scans |= part.scans;
            claim.transactional &= part.transactional;
            if let Some(why) = part.uncertain {
                claim.doubt(why);
            }
        }
        StatementEffect::from_claim(sql, claim)
    }
}

/// The claims about one statement while they are put together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) locks: Vec<TableLock>,
    pub(crate) rewrites: bool,
    pub(crate) scans: bool,
    pub(crate) transactional: bool,
    pub(crate) uncertain: Option<String>,
}

impl Claim {
    pub(crate) fn none() -> Self {
        Claim { locks: Vec::new(), rewrites: false, scans: false, transactional: true, uncertain: None }
    }

    /// Adds a lock, keeping the strongest per table.
    pub(crate) fn lock(&mut self, table: &str, level: LockLevel) -> &mut Self {
        match self.locks.iter_mut().find(|l| l.table == table) {
            Some(l) => l.level = l.level.max(level),
            None => self.locks.push(TableLock { table: table.to_string(), level }),
        }
        self
    }

    pub(crate) fn doubt(&mut self, why: impl Into<String>) -> &mut Self {
        let why = why.into();
        self.uncertain = Some(match self.uncertain.take() {
            Some(before) if before != why => format!("{before}; {why}"),
            _ => why,
        });
        self
    }
}

/// What the claims need to know about the schema before an op: column types, valid checks
/// that prove a column NOT NULL, which table an index belongs to, which table a foreign key
/// references. Built by following the ops of the migrations applied before ([`Known::follow`]);
/// raw SQL is followed where it parses, and SQL that does not parse makes the model forget the
/// facts that would make a claim weaker (types and checks), so a claim is never weaker than
/// the truth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    /// table -> column -> type.
    columns: HashMap<String, HashMap<String, Type>>,
    /// table -> constraint -> column, for valid `CHECK (column IS NOT NULL)` constraints.
    not_null_checks: HashMap<String, HashMap<String, String>>,
    /// table -> constraint -> column, for such checks added NOT VALID and not validated yet.
    unvalidated_checks: HashMap<String, HashMap<String, String>>,
    /// table -> constraint -> referenced table.
    foreign_keys: HashMap<String, HashMap<String, String>>,
    /// index -> table (explicit indexes).
    indexes: HashMap<String, String>,
}

impl Known {
    /// Nothing known.
    pub fn new() -> Self {
        Self::default()
    }

    /// The model after `migrations`' upgrades, in the order given (plan order).
    pub fn after<'a>(migrations: impl IntoIterator<Item = &'a crate::Migration>) -> Self {
        let mut known = Known::new();
        for m in migrations {
            for op in m.upgrade_ops() {
                known.follow(&op);
            }
        }
        known
    }

    /// The column's current type, when known.
    pub fn column_type(&self, table: &str, column: &str) -> Option<&Type> {
        self.columns.get(table).and_then(|c| c.get(column))
    }

    /// Whether a valid `CHECK (column IS NOT NULL)` constraint is known on the table.
    pub fn proves_not_null(&self, table: &str, column: &str) -> bool {
        self.not_null_checks.get(table).is_some_and(|c| c.values().any(|col| col == column))
    }

    /// The table a foreign key constraint references, when known.
    pub fn foreign_key_target(&self, table: &str, constraint: &str) -> Option<&str> {
        self.foreign_keys.get(table).and_then(|f| f.get(constraint)).map(String::as_str)
    }

    /// The tables the table's foreign keys reference (itself excluded), sorted.
    pub fn referenced_by(&self, table: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .foreign_keys
            .get(table)
            .map(|f| f.values().map(String::as_str).filter(|t| *t != table).collect())
            .unwrap_or_default();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The table of an explicit index, when known.
    pub fn index_table(&self, index: &str) -> Option<&str> {
        self.indexes.get(index).map(String::as_str)
    }

    /// Records a column's type (tests, or a caller that knows the live schema).
    pub fn with_column(mut self, table: &str, column: &str, ty: Type) -> Self {
        self.columns.entry(table.into()).or_default().insert(column.into(), ty);
        self
    }

    /// Records a valid `CHECK (column IS NOT NULL)` named `constraint`.
    pub fn with_not_null_check(mut self, table: &str, constraint: &str, column: &str) -> Self {
        self.not_null_checks.entry(table.into()).or_default().insert(constraint.into(), column.into());
        self
    }

    /// Records a foreign key `constraint` from `table` to `referenced`.
    pub fn with_foreign_key(mut self, table: &str, constraint: &str, referenced: &str) -> Self {
        self.foreign_keys.entry(table.into()).or_default().insert(constraint.into(), referenced.into());
        self
    }

    /// Records an explicit index on `table`.
    pub fn with_index(mut self, index: &str, table: &str) -> Self {
        self.indexes.insert(index.into(), table.into());
        self
    }

    fn add_column(&mut self, table: &str, column: &Column) {
        self.columns.entry(table.into()).or_default().insert(column.name.clone(), column.ty.clone());
        if let Some((name, expr)) = &column.check {
            self.add_check(table, name, expr, true);
        }
    }

    pub(crate) fn add_check(&mut self, table: &str, name: &str, expr: &str, valid: bool) {
        if let Some(column) = not_null_check_column(expr) {
            let map = if valid { &mut self.not_null_checks } else { &mut self.unvalidated_checks };
            map.entry(table.into()).or_default().insert(name.into(), column);
        }
    }

    #[cfg_attr(not(feature = "sql-lint"), allow(dead_code))]
    pub(crate) fn validate_constraint(&mut self, table: &str, name: &str) {
        if let Some(column) = self.unvalidated_checks.get_mut(table).and_then(|c| c.remove(name)) {
            self.not_null_checks.entry(table.into()).or_default().insert(name.into(), column);
        }
    }

    pub(crate) fn drop_constraint(&mut self, table: &str, name: &str) {
        for map in [&mut self.not_null_checks, &mut self.unvalidated_checks, &mut self.foreign_keys] {
            if let Some(c) = map.get_mut(table) {
                c.remove(name);
            }
        }
    }

    pub(crate) fn set_column_type(&mut self, table: &str, column: &str, ty: Option<Type>) {
        let columns = self.columns.entry(table.into()).or_default();
        match ty {
            Some(ty) => columns.insert(column.into(), ty),
            None => columns.remove(column),
        };
    }

    pub(crate) fn add_foreign_key(&mut self, table: &str, name: &str, referenced: &str) {
        self.foreign_keys.entry(table.into()).or_default().insert(name.into(), referenced.into());
    }

    pub(crate) fn add_index(&mut self, index: &str, table: &str) {
        self.indexes.insert(index.into(), table.into());
    }

    pub(crate) fn drop_index(&mut self, index: &str) {
        self.indexes.remove(index);
    }

    pub(crate) fn drop_table(&mut self, table: &str) {
        self.columns.remove(table);
        self.not_null_checks.remove(table);
        self.unvalidated_checks.remove(table);
        self.foreign_keys.remove(table);
        self.indexes.retain(|_, t| t != table);
    }

    pub(crate) fn drop_column(&mut self, table: &str, column: &str) {
        if let Some(c) = self.columns.get_mut(table) {
            c.remove(column);
        }
        // PostgreSQL drops the constraints that use the column with it.
        for map in [&mut self.not_null_checks, &mut self.unvalidated_checks] {
            if let Some(c) = map.get_mut(table) {
                c.retain(|_, col| col != column);
            }
        }
    }

    pub(crate) fn rename_table(&mut self, from: &str, to: &str) {
        for map in [&mut self.not_null_checks, &mut self.unvalidated_checks, &mut self.foreign_keys] {
            if let Some(v) = map.remove(from) {
                map.insert(to.into(), v);
            }
        }
        if let Some(v) = self.columns.remove(from) {
            self.columns.insert(to.into(), v);
        }
        for target in self.foreign_keys.values_mut().flat_map(|f| f.values_mut()) {
            if target == from {
                *target = to.into();
            }
        }
        for table in self.indexes.values_mut() {
            if table == from {
                *table = to.into();
            }
        }
    }

    pub(crate) fn rename_column(&mut self, table: &str, from: &str, to: &str) {
        if let Some(ty) = self.columns.get_mut(table).and_then(|c| c.remove(from)) {
            self.columns.entry(table.into()).or_default().insert(to.into(), ty);
        }
        for map in [&mut self.not_null_checks, &mut self.unvalidated_checks] {
            for col in map.get_mut(table).into_iter().flat_map(|c| c.values_mut()) {
                if col == from {
                    *col = to.into();
                }
            }
        }
    }

    /// Forgets what could make a claim weaker than the truth (after SQL that is not followed).
    pub(crate) fn forget_weakening_facts(&mut self) {
        self.columns.clear();
        self.not_null_checks.clear();
    }

    /// Forgets the weakening facts about one table (after SQL on it that is not followed).
    #[cfg_attr(not(feature = "sql-lint"), allow(dead_code))]
    pub(crate) fn forget_table(&mut self, table: &str) {
        self.columns.remove(table);
        self.not_null_checks.remove(table);
    }

    /// Follows `op`: the model as it is once the op has run.
    pub fn follow(&mut self, op: &Op) {
        match op {
            Op::CreateTable(t) => {
                self.drop_table(&t.name);
                for c in &t.columns {
                    self.add_column(&t.name, c);
                }
                for fk in &t.foreign_keys {
                    self.add_foreign_key(&t.name, &fk.name, &fk.ref_table);
                }
                for check in &t.checks {
                    self.add_check(&t.name, &check.name, &check.expr, true);
                }
            }
            Op::DropTable { name } => self.drop_table(name),
            Op::RenameTable { from, to } => self.rename_table(from, to),
            Op::AddColumn { table, column } => self.add_column(table, column),
            Op::DropColumn { table, column } => self.drop_column(table, column),
            Op::RenameColumn { table, from, to } => self.rename_column(table, from, to),
            Op::AlterColumn { table, column, change } => {
                if let Some(ty) = &change.ty {
                    self.set_column_type(table, column, Some(ty.clone()));
                }
            }
            Op::CreateIndex(i) => self.add_index(&i.name, &i.table),
            Op::DropIndex { name, .. } => self.drop_index(name),
            Op::AddForeignKey { table, fk } => self.add_foreign_key(table, &fk.name, &fk.ref_table),
            Op::AddUniqueConstraint { .. } => {}
            Op::AddCheckConstraint { table, check } => self.add_check(table, &check.name, &check.expr, true),
            Op::DropConstraint { table, name } => self.drop_constraint(table, name),
            Op::Execute { sql, only, .. } => {
                if *only == Some(DialectKind::Sqlite) {
                    return;
                }
                follow_sql(self, sql);
            }
            // Data ops change rows, not the schema.
            Op::Data { .. } => {}
        }
    }
}

#[cfg(feature = "sql-lint")]
fn follow_sql(known: &mut Known, sql: &str) {
    sql::follow(known, sql);
}

#[cfg(not(feature = "sql-lint"))]
fn follow_sql(known: &mut Known, _sql: &str) {
    known.forget_weakening_facts();
}

/// The column a check expression proves NOT NULL: `col IS NOT NULL`, `("col" IS NOT NULL)`.
pub(crate) fn not_null_check_column(expr: &str) -> Option<String> {
    let mut text = expr.trim();
    while text.starts_with('(') && text.ends_with(')') {
        text = text[1..text.len() - 1].trim();
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [column, is, not, null]
            if is.eq_ignore_ascii_case("is")
                && not.eq_ignore_ascii_case("not")
                && null.eq_ignore_ascii_case("null") =>
        {
            let column = column
                .strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
                .map_or_else(|| column.to_ascii_lowercase(), |quoted| quoted.replace("\"\"", "\""));
            (!column.is_empty()).then_some(column)
        }
        _ => None,
    }
}

/// How a default expression behaves, as far as the table rewrite is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volatility {
    /// A constant, or only calls known to be immutable or stable (`now()`, `CURRENT_TIMESTAMP`):
    /// evaluated once, no rewrite (PostgreSQL 11 and later).
    Fixed,
    /// Calls a volatile function (`random()`, `gen_random_uuid()`, `clock_timestamp()`,
    /// `nextval(...)`): evaluated per row, a rewrite.
    Volatile(String),
    /// Calls a function strata does not know; counted as volatile.
    Unknown(String),
}

/// Functions a default may call without being volatile (immutable or stable in the catalog).
const FIXED_FUNCTIONS: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "transaction_timestamp",
    "statement_timestamp",
    "current_user",
    "current_setting",
    "cast",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "lower",
    "upper",
    "length",
    "concat",
    "to_jsonb",
    "jsonb_build_object",
    "jsonb_build_array",
    "json_build_object",
    "json_build_array",
    "array",
    "row",
    "make_date",
    "make_interval",
    "date_trunc",
    "to_timestamp",
    "interval",
    "timezone",
    "abs",
    "round",
];

/// Functions known to be volatile.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
    "gen_random_bytes",
    "random_normal",
];

/// Whether a default expression (SQL text) is evaluated once or per row: every name followed
/// by `(` outside string literals is a call, looked up in strata's lists.
pub fn volatility(expr: &str) -> Volatility {
    let mut unknown = None;
    for name in called_functions(expr) {
        let bare = name.rsplit('.').next().unwrap_or(&name).to_string();
        if VOLATILE_FUNCTIONS.contains(&bare.as_str()) {
            return Volatility::Volatile(bare);
        }
        if !FIXED_FUNCTIONS.contains(&bare.as_str()) && unknown.is_none() {
            unknown = Some(bare);
        }
    }
    match unknown {
        Some(name) => Volatility::Unknown(name),
        None => Volatility::Fixed,
    }
}

/// The lowercase names of the functions an SQL expression calls (a name, possibly quoted or
/// schema-qualified, followed by `(`), string literals skipped.
fn called_functions(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut name = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // A string literal: skip to its end ('' is an escaped quote).
            i += 1;
            while i < chars.len() && !(chars[i] == '\'' && chars.get(i + 1) != Some(&'\'')) {
                i += if chars[i] == '\'' { 2 } else { 1 };
            }
            i += 1;
            name.clear();
        } else if c == '"' {
            // A quoted identifier (part of a name).
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                name.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '$' || (c == '.' && !name.is_empty()) {
            name.extend(c.to_lowercase());
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
            // A call may put spaces before its parenthesis; anything else ends the name.
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            if next != Some(&'(') {
                name.clear();
            }
        } else {
            if c == '(' && !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                out.push(std::mem::take(&mut name));
            }
            name.clear();
            i += 1;
        }
    }
    out
}

/// Whether adding `column` evaluates its default per row (identity columns draw from a
/// sequence, so they do): `Some(why)` when it does.
fn column_rewrite(column: &Column) -> Option<(String, bool)> {
    if column.autoincrement {
        return Some(("an identity column draws a value per row from its sequence".into(), true));
    }
    match &column.default {
        Some(DefaultValue::Sql(expr)) => match volatility(expr) {
            Volatility::Fixed => None,
            Volatility::Volatile(f) => Some((format!("the default calls {f}(), which is volatile"), true)),
            Volatility::Unknown(f) => Some((
                format!("the default calls {f}(), which strata does not know to be non-volatile"),
                false,
            )),
        },
        Some(DefaultValue::Value(_)) | None => None,
    }
}

/// Whether changing a column from `old` to `new` rewrites the table (ALTER TABLE notes: not
/// when the old type is binary-coercible to the new one); `Err(why)` when strata cannot tell
/// and assumes it does.
fn type_change_rewrites(old: &Type, new: &Type, major: PgMajor) -> Result<bool, String> {
    match (old, new) {
        (a, b) if a == b => Ok(false),
        // varchar's length coercion is dropped when the new limit is not smaller
        // (varchar_support); varchar to text is binary-coercible.
        (Type::String(n), Type::String(m)) => Ok(m < n),
        (Type::String(_), Type::Text) => Ok(false),
        // numeric_support: more precision with the same scale keeps every value.
        (Type::Numeric(p, s), Type::Numeric(p2, s2)) => Ok(!(s == s2 && p2 >= p)),
        (Type::Timestamp, Type::TimestampTz) if major >= PgMajor(12) => {
            Err("timestamp to timestamptz rewrites unless the session TimeZone is UTC".into())
        }
        (Type::Other(_), _) | (_, Type::Other(_)) => {
            Err(format!("strata does not know whether {old} is binary-coercible to {new}"))
        }
        _ => Ok(true),
    }
}

/// The claims for one typed op (everything but `execute` and data ops).
fn typed_claim(op: &Op, major: PgMajor, known: &Known) -> Claim {
    use LockLevel::*;
    let mut claim = Claim::none();
    match op {
        Op::CreateTable(t) => {
            claim.lock(&t.name, AccessExclusive);
            for fk in t.foreign_keys.iter().filter(|fk| fk.ref_table != t.name) {
                claim.lock(&fk.ref_table, ShareRowExclusive);
            }
        }
        Op::DropTable { name } => {
            claim.lock(name, AccessExclusive);
            for referenced in known.referenced_by(name) {
                claim.lock(referenced, AccessExclusive);
            }
        }
        Op::RenameTable { from, .. } => {
            claim.lock(from, AccessExclusive);
        }
        Op::AddColumn { table, column } => {
            claim.lock(table, AccessExclusive);
            if let Some((why, certain)) = column_rewrite(column) {
                claim.rewrites = true;
                if !certain {
                    claim.doubt(why);
                }
            }
            let fixed_default = column.default.is_some() && !claim.rewrites;
            if !column.nullable && !fixed_default {
                // NOT NULL verified over the existing rows, unless a stored default fills them.
                claim.scans = true;
            }
            if column.primary_key || column.unique.is_some() {
                claim.scans = true; // the index build
            }
            if column.check.is_some() {
                claim.scans = true;
            }
        }
        Op::DropColumn { table, .. } | Op::RenameColumn { table, .. } => {
            claim.lock(table, AccessExclusive);
        }
        Op::AlterColumn { table, column, change } => {
            claim.lock(table, AccessExclusive);
            if let Some(new) = &change.ty {
                if change.using.is_some() {
                    claim.rewrites = true;
                    claim.doubt("a USING expression is assumed to change the values");
                } else {
                    match known.column_type(table, column) {
                        Some(old) => match type_change_rewrites(old, new, major) {
                            Ok(rewrites) => claim.rewrites = rewrites,
                            Err(why) => {
                                claim.rewrites = true;
                                claim.doubt(why);
                            }
                        },
                        None => {
                            claim.rewrites = true;
                            claim.doubt(format!("the current type of {table}.{column} is not known"));
                        }
                    }
                }
            }
            if change.nullable == Some(false)
                && !(major >= PgMajor(12) && known.proves_not_null(table, column))
            {
                claim.scans = true;
            }
        }
        Op::CreateIndex(i) => {
            claim.lock(&i.table, Share);
            claim.scans = true;
        }
        Op::DropIndex { table, .. } => {
            claim.lock(table, AccessExclusive);
        }
        Op::AddForeignKey { table, fk } => {
            claim.lock(table, ShareRowExclusive).lock(&fk.ref_table, ShareRowExclusive);
            claim.scans = true;
        }
        Op::AddUniqueConstraint { table, .. } => {
            claim.lock(table, AccessExclusive);
            claim.scans = true;
        }
        Op::AddCheckConstraint { table, .. } => {
            claim.lock(table, AccessExclusive);
            claim.scans = true;
        }
        Op::DropConstraint { table, name } => {
            claim.lock(table, AccessExclusive);
            match known.foreign_key_target(table, name) {
                Some(referenced) => {
                    claim.lock(referenced, AccessExclusive);
                }
                None if !known.columns.contains_key(table.as_str()) => {
                    claim.doubt(format!(
                        "if {name} is a foreign key, its referenced table is locked ACCESS EXCLUSIVE too"
                    ));
                }
                None => {}
            }
        }
        // Rendered and classified by the callers.
        Op::Execute { .. } | Op::Data { .. } => {}
    }
    claim
}

/// The effects of the statements `op` renders to on PostgreSQL `major`, given what is
/// `known` about the schema before it: one per rendered statement, in order (none for a data
/// op, an empty `alter_column`, or SQL meant for SQLite only). A multi-statement `execute` is
/// one statement to the server, so its effects are merged; [`sql_effects`] gives them one by
/// one.
pub fn effect(op: &Op, major: PgMajor, known: &Known) -> Vec<StatementEffect> {
    let rendered = Postgres.render(op, None).unwrap_or_default();
    match op {
        Op::Execute { sql, .. } => rendered
            .into_iter()
            .map(|text| StatementEffect::merged(text, sql_effects(sql, major, known)))
            .collect(),
        Op::Data { .. } => Vec::new(),
        Op::CreateTable(_)
        | Op::DropTable { .. }
        | Op::RenameTable { .. }
        | Op::AddColumn { .. }
        | Op::DropColumn { .. }
        | Op::RenameColumn { .. }
        | Op::AlterColumn { .. }
        | Op::CreateIndex(_)
        | Op::DropIndex { .. }
        | Op::AddForeignKey { .. }
        | Op::AddUniqueConstraint { .. }
        | Op::AddCheckConstraint { .. }
        | Op::DropConstraint { .. } => {
            let claim = typed_claim(op, major, known);
            rendered.into_iter().map(|text| StatementEffect::from_claim(text, claim.clone())).collect()
        }
    }
}

/// The effects of each statement of raw SQL on PostgreSQL `major`, in order; SQL that cannot
/// be parsed (or a build without the `sql-lint` feature) gives one effect whose claims are
/// unknown.
pub fn sql_effects(sql: &str, major: PgMajor, known: &Known) -> Vec<StatementEffect> {
    sql_effects_impl(sql, major, known)
}

#[cfg(feature = "sql-lint")]
fn sql_effects_impl(sql: &str, major: PgMajor, known: &Known) -> Vec<StatementEffect> {
    let mut known = known.clone();
    sql::statements(sql)
        .into_iter()
        .map(|statement| {
            let claim = sql::claim(&statement, major, &known);
            sql::follow_statement(&mut known, &statement);
            StatementEffect::from_claim(statement.text.clone(), claim)
        })
        .collect()
}

#[cfg(not(feature = "sql-lint"))]
fn sql_effects_impl(sql: &str, _major: PgMajor, _known: &Known) -> Vec<StatementEffect> {
    let mut claim = Claim::none();
    claim.doubt("raw SQL is not parsed in a build without the sql-lint feature");
    vec![StatementEffect::from_claim(sql.trim().to_string(), claim)]
}

/// The effects of a whole plan, op by op (`ops[i]` gives `result[i]`), following `known`
/// along so each op sees the schema the ops before it left.
pub fn plan_effects(ops: &[Op], major: PgMajor, known: &mut Known) -> Vec<Vec<StatementEffect>> {
    ops.iter()
        .map(|op| {
            let effects = effect(op, major, known);
            known.follow(op);
            effects
        })
        .collect()
}

/// One row of the reference table: an example op, what it stands for, and what it needs
/// known beforehand. The examples work on `users (id, name varchar(100), age integer, org_id,
/// ...)` and `orgs (id)`: a proof against a real server creates those, runs each op, and
/// compares `pg_locks` and `pg_relation_filenode` with [`effect`]'s claims.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Example {
    /// What the op stands for, as the table's first column says it.
    pub what: &'static str,
    /// The op.
    pub op: Op,
    /// What the claims assume about the schema before it.
    pub known: Known,
}

/// The example ops of the reference table, in its order.
pub fn examples() -> Vec<Example> {
    use crate::ops::{AlterColumn, Check, ForeignKey, Index, Ops, Table, Unique};
    let one = |f: &dyn Fn(&mut Ops)| {
        let mut ops = Ops::new();
        f(&mut ops);
        ops.into_ops().remove(0)
    };
    let users = || Known::new().with_column("users", "name", Type::String(100));
    vec![
        Example {
            what: "create_table with a foreign key to users",
            op: one(&|o| {
                o.create_table(
                    Table::new("posts")
                        .column(Column::new("id", Type::BigInt).autoincrement())
                        .column(Column::new("user_id", Type::BigInt))
                        .foreign_key(ForeignKey::new(["user_id"], "users", ["id"])),
                );
            }),
            known: Known::new(),
        },
        Example {
            what: "drop_table",
            op: one(&|o| {
                o.drop_table("users");
            }),
            known: Known::new(),
        },
        Example {
            what: "rename_table",
            op: one(&|o| {
                o.rename_table("users", "accounts");
            }),
            known: Known::new(),
        },
        Example {
            what: "add_column, nullable, no default",
            op: one(&|o| {
                o.add_column("users", Column::new("bio", Type::Text).nullable());
            }),
            known: Known::new(),
        },
        Example {
            what: "add_column, NOT NULL with a constant default",
            op: one(&|o| {
                o.add_column("users", Column::new("active", Type::Boolean).default(true));
            }),
            known: Known::new(),
        },
        Example {
            what: "add_column, NOT NULL without a default",
            op: one(&|o| {
                o.add_column("users", Column::new("age", Type::Integer));
            }),
            known: Known::new(),
        },
        Example {
            what: "add_column with a volatile default (`gen_random_uuid()`)",
            op: one(&|o| {
                o.add_column("users", Column::new("token", Type::Uuid).default_sql("gen_random_uuid()"));
            }),
            known: Known::new(),
        },
        Example {
            what: "add_column, identity (autoincrement)",
            op: one(&|o| {
                o.add_column("users", Column::new("number", Type::BigInt).autoincrement());
            }),
            known: Known::new(),
        },
        Example {
            what: "add_column with unique",
            op: one(&|o| {
                o.add_column("users", Column::new("handle", Type::Text).nullable().unique());
            }),
            known: Known::new(),
        },
        Example {
            what: "drop_column",
            op: one(&|o| {
                o.drop_column("users", "bio");
            }),
            known: Known::new(),
        },
        Example {
            what: "rename_column",
            op: one(&|o| {
                o.rename_column("users", "name", "full_name");
            }),
            known: Known::new(),
        },
        Example {
            what: "alter_column type varchar(100) -> varchar(200)",
            op: one(&|o| {
                o.alter_column("users", "name", AlterColumn::new().ty(Type::String(200)));
            }),
            known: users(),
        },
        Example {
            what: "alter_column type varchar(100) -> text",
            op: one(&|o| {
                o.alter_column("users", "name", AlterColumn::new().ty(Type::Text));
            }),
            known: users(),
        },
        Example {
            what: "alter_column type varchar(100) -> varchar(50)",
            op: one(&|o| {
                o.alter_column("users", "name", AlterColumn::new().ty(Type::String(50)));
            }),
            known: users(),
        },
        Example {
            what: "alter_column type integer -> bigint",
            op: one(&|o| {
                o.alter_column("users", "age", AlterColumn::new().ty(Type::BigInt));
            }),
            known: Known::new().with_column("users", "age", Type::Integer),
        },
        Example {
            what: "alter_column SET NOT NULL",
            op: one(&|o| {
                o.alter_column("users", "name", AlterColumn::new().nullable(false));
            }),
            known: users(),
        },
        Example {
            what: "alter_column SET NOT NULL with a valid CHECK (name IS NOT NULL)",
            op: one(&|o| {
                o.alter_column("users", "name", AlterColumn::new().nullable(false));
            }),
            known: users().with_not_null_check("users", "ck_users_name", "name"),
        },
        Example {
            what: "alter_column DROP NOT NULL, SET/DROP DEFAULT",
            op: one(&|o| {
                o.alter_column("users", "name", AlterColumn::new().nullable(true).default("x"));
            }),
            known: users(),
        },
        Example {
            what: "create_index",
            op: one(&|o| {
                o.create_index(Index::new("ix_users_name", "users", ["name"]));
            }),
            known: Known::new(),
        },
        Example {
            what: "drop_index",
            op: one(&|o| {
                o.drop_index("ix_users_name", "users");
            }),
            known: Known::new(),
        },
        Example {
            what: "add_foreign_key to orgs",
            op: one(&|o| {
                o.add_foreign_key("users", ForeignKey::new(["org_id"], "orgs", ["id"]));
            }),
            known: Known::new(),
        },
        Example {
            what: "add_unique_constraint",
            op: one(&|o| {
                o.add_unique_constraint("users", Unique::new(["name"]));
            }),
            known: Known::new(),
        },
        Example {
            what: "add_check_constraint",
            op: one(&|o| {
                o.add_check_constraint("users", Check::new("ck_users_name", "length(name) > 0"));
            }),
            known: Known::new(),
        },
        Example {
            what: "drop_constraint of a foreign key to orgs",
            op: one(&|o| {
                o.drop_constraint("users", "fk_users_org_id_orgs");
            }),
            known: Known::new().with_foreign_key("users", "fk_users_org_id_orgs", "orgs"),
        },
        Example {
            what: "execute `CREATE INDEX CONCURRENTLY ...`",
            op: one(&|o| {
                o.execute("CREATE INDEX CONCURRENTLY ix_users_name ON users (name)");
            }),
            known: Known::new(),
        },
        Example {
            what: "execute `DROP INDEX CONCURRENTLY ...`",
            op: one(&|o| {
                o.execute("DROP INDEX CONCURRENTLY ix_users_name");
            }),
            known: Known::new().with_index("ix_users_name", "users"),
        },
        Example {
            what: "execute `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID`",
            op: one(&|o| {
                o.execute(
                    "ALTER TABLE users ADD CONSTRAINT fk_users_org FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID",
                );
            }),
            known: Known::new(),
        },
        Example {
            what: "execute `ALTER TABLE ... VALIDATE CONSTRAINT` of a foreign key to orgs",
            op: one(&|o| {
                o.execute("ALTER TABLE users VALIDATE CONSTRAINT fk_users_org");
            }),
            known: Known::new().with_foreign_key("users", "fk_users_org", "orgs"),
        },
        Example {
            what: "execute `ALTER TYPE ... ADD VALUE`",
            op: one(&|o| {
                o.execute("ALTER TYPE mood ADD VALUE 'sad'");
            }),
            known: Known::new(),
        },
    ]
}

/// The reference table of `docs/safety.md`: for each example op, each range of PostgreSQL
/// versions with the same facts, the locks, whether it rewrites, scans, and may run inside a
/// transaction. Generated from [`effect`], so the documentation cannot drift from the claims.
pub fn reference_table() -> String {
    let mut out = String::from(
        "| op | PostgreSQL | locks | rewrites | scans | in a transaction |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    for example in examples() {
        // Versions with the same claims share a row.
        let mut rows: BTreeMap<u32, (u32, StatementEffect)> = BTreeMap::new();
        let mut last: Option<(u32, StatementEffect)> = None;
        for major in PgMajor::all() {
            let Some(e) = effect(&example.op, major, &example.known).into_iter().next() else { continue };
            match &mut last {
                Some((start, prev)) if *prev == e => {
                    rows.insert(*start, (major.get(), e));
                }
                _ => {
                    rows.insert(major.get(), (major.get(), e.clone()));
                    last = Some((major.get(), e));
                }
            }
        }
        for (start, (end, e)) in rows {
            let versions = if start == end {
                start.to_string()
            } else if end == PgMajor::NEWEST.get() {
                format!("{start}+")
            } else {
                format!("{start}–{end}")
            };
            let locks = if e.locks.is_empty() {
                "none".to_string()
            } else {
                e.locks.iter().map(|l| format!("{} {}", l.table, l.level)).collect::<Vec<_>>().join(", ")
            };
            let mut rewrites = yes(e.rewrites).to_string();
            if let Some(why) = &e.uncertain {
                rewrites.push_str(&format!(" ({why})"));
            }
            out.push_str(&format!(
                "| {} | {versions} | {locks} | {rewrites} | {} | {} |\n",
                example.what,
                yes(e.scans),
                yes(e.transactional)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
