//! Lock-safe rewriting for PostgreSQL: a migration's ops become a staged plan whose steps each
//! hold weak locks, or strong ones only briefly. Pure: no I/O. The one plan feeds apply (the
//! runner), offline SQL and `show`, so what a DBA reads is what runs.
//!
//! What is rewritten, on a table that is neither created earlier in the same migration nor
//! declared empty (the exemption the lint uses: nobody else can see such a table, or it has no
//! rows to scan):
//!
//! - `create_index` → `CREATE INDEX CONCURRENTLY` in a step of its own outside a transaction,
//!   preceded by dropping an INVALID index of that name that an earlier failure left behind;
//! - `drop_index` → `DROP INDEX CONCURRENTLY` in a step of its own;
//! - `add_foreign_key`, `add_check_constraint` → `ADD ... NOT VALID`, then `VALIDATE
//!   CONSTRAINT` in a transaction of its own (the scan holds SHARE UPDATE EXCLUSIVE only);
//! - `alter_column` to NOT NULL → `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE`, then `SET NOT
//!   NULL` (which PostgreSQL 12+ proves from the valid check without a scan) and the check
//!   dropped; PostgreSQL 11 cannot skip the scan, so there it is a [`RewriteError::ServerTooOld`];
//! - `add_unique_constraint` → `CREATE UNIQUE INDEX CONCURRENTLY` and `ADD CONSTRAINT ... UNIQUE
//!   USING INDEX`.
//!
//! Everything else stays as the dialect renders it; consecutive transactional pieces share one
//! transaction step, and the migration's bookkeeping commits with the last step.

use crate::dialect::postgres::Postgres;
use crate::dialect::{column_list, quote_ident, quote_str, Dialect};
use crate::locks::{Known, PgMajor};
use crate::ops::{AlterColumn, Op};
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::time::Duration;

/// Whether and how migrations are rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RewriteOptions {
    /// Rewrite at all (on by default in staging and prod, off in dev).
    pub enabled: bool,
    /// Tables known to be empty: not rewritten, as a table created in the same migration.
    pub empty_tables: BTreeSet<String>,
}

impl RewriteOptions {
    /// Rewriting on, no table declared empty.
    pub fn on() -> Self {
        RewriteOptions { enabled: true, empty_tables: BTreeSet::new() }
    }

    /// Rewriting off: every migration is one transaction, as the dialect renders it.
    pub fn off() -> Self {
        RewriteOptions::default()
    }

    /// Declares `table` empty.
    pub fn empty_table(mut self, table: impl Into<String>) -> Self {
        self.empty_tables.insert(table.into());
        self
    }
}

/// How a rewritten step waits for its locks: every attempt runs with a short `lock_timeout`
/// (so a statement queued behind a long transaction never blocks the table's other users for
/// long), starting at `first` and doubling up to `max`, with a sleep as long as the attempt's
/// timeout between attempts, until `total` has passed. Then the step fails with a typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRetry {
    /// The first attempt's `lock_timeout` (default 100 ms).
    pub first: Duration,
    /// The largest `lock_timeout` (default 2 s).
    pub max: Duration,
    /// How long a step keeps trying, attempts and sleeps together (default 60 s).
    pub total: Duration,
}

impl Default for LockRetry {
    fn default() -> Self {
        LockRetry {
            first: Duration::from_millis(100),
            max: Duration::from_secs(2),
            total: Duration::from_secs(60),
        }
    }
}

impl LockRetry {
    /// The shortest `lock_timeout` an attempt runs with: PostgreSQL reads 0 as "wait forever",
    /// the opposite of a short timeout, so a zero or sub-millisecond setting waits 1 ms.
    pub const SHORTEST: Duration = Duration::from_millis(1);

    /// The longest `lock_timeout` PostgreSQL accepts (`i32::MAX` milliseconds).
    pub const LONGEST: Duration = Duration::from_millis(i32::MAX as u64);

    /// Attempt `n`'s (0-based) `lock_timeout`, which is also the sleep after it fails: always
    /// between [`LockRetry::SHORTEST`] and [`LockRetry::LONGEST`], whatever a caller built
    /// the struct with (never 0, which would disable the timeout).
    pub fn timeout(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        let timeout = self.first.saturating_mul(factor).min(self.max.max(self.first));
        timeout.clamp(Self::SHORTEST, Self::LONGEST)
    }

    /// Whether another attempt may start, `elapsed` after the step's first one started.
    pub fn may_retry(&self, elapsed: Duration) -> bool {
        elapsed < self.total
    }
}

/// One statement of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// Op `0` (its index in the migration's ops) as the dialect renders it, not rewritten
    /// (a data op runs its code here).
    Op(usize),
    /// SQL the rewrite wrote for op `op`.
    Sql {
        /// The op's index in the migration's ops.
        op: usize,
        /// The statement.
        sql: String,
        /// The form to run when a killed run is resumed at this step (outside a transaction a
        /// statement may have taken effect without being recorded): `IF [NOT] EXISTS`.
        on_resume: Option<String>,
    },
    /// Drops the index `name` if an earlier failure left it INVALID (`pg_index.indisvalid`),
    /// so that the `CREATE INDEX CONCURRENTLY` after it can run again.
    DropInvalidIndex {
        /// The op's index in the migration's ops.
        op: usize,
        /// The index.
        name: String,
        /// The table the index is built on: only an INVALID index of that name on this very
        /// table (so in its schema) is dropped, never a namesake elsewhere on the search_path.
        table: String,
    },
}

impl Statement {
    /// The index of the op this statement comes from.
    pub fn op(&self) -> usize {
        match self {
            Statement::Op(op) | Statement::Sql { op, .. } | Statement::DropInvalidIndex { op, .. } => *op,
        }
    }
}

/// One step of a staged plan: a transaction, or statements run one by one outside one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// True: the statements run in one transaction (committed with the step's record).
    pub transactional: bool,
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// A migration's ops as steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedPlan {
    /// The steps, in order; never empty.
    pub steps: Vec<Step>,
    /// Whether any op was rewritten (false: one transactional step of the ops as they are).
    pub rewritten: bool,
}

impl StagedPlan {
    /// The ops as they are, in one transaction: what runs with rewriting off.
    pub fn plain(ops: &[Op]) -> Self {
        StagedPlan {
            steps: vec![Step {
                transactional: true,
                statements: (0..ops.len()).map(Statement::Op).collect(),
            }],
            rewritten: false,
        }
    }
}

/// Why a migration cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// The rewrite needs a newer PostgreSQL than the server's.
    #[error(
        "{revision}: op {position} ({op}) cannot be rewritten lock-safely: the server is too old for this \
         rewrite (PostgreSQL {major}; {needs}). Nothing of it was run. Turn rewriting off for the run \
         that applies this migration (STRATA_REWRITE=off, or rewrite = false in strata.toml) and \
         accept the scan under an ACCESS EXCLUSIVE lock, or upgrade the server"
    )]
    ServerTooOld {
        /// The migration.
        revision: String,
        /// The op's 1-based position.
        position: usize,
        /// The op.
        op: String,
        /// The server's major version.
        major: PgMajor,
        /// What the rewrite needs.
        needs: &'static str,
    },
    /// The server is older than every version whose lock facts strata knows, so no rewrite
    /// can be judged safe on it.
    #[error(
        "the server runs PostgreSQL {major}, older than {oldest}, the oldest version strata's lock-safe \
         rewriting knows; nothing was run. Turn rewriting off (STRATA_REWRITE=off, or rewrite = false in \
         strata.toml) to apply the migrations as written, or upgrade the server",
        oldest = PgMajor::OLDEST
    )]
    UnsupportedServer {
        /// The server's major version.
        major: u32,
    },
}

/// The longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1).
const MAX_IDENT: usize = 63;

/// The temporary check's name for `table.column` set NOT NULL: `<table>_<column>_strata_nn`,
/// shortened with a hash of the whole when it would pass 63 bytes, so it is stable (a resumed
/// run and the offline script name the same constraint) and never silently truncated. Never
/// `<table>_<column>_not_null`: PostgreSQL 18 gives that name to the column's NOT NULL
/// constraint itself, so a column already NOT NULL where the schema model cannot see it (raw
/// SQL, a stamped database) would make the check's `ADD CONSTRAINT` fail.
pub fn not_null_check_name(table: &str, column: &str) -> String {
    let full = format!("{table}_{column}_strata_nn");
    if full.len() <= MAX_IDENT {
        return full;
    }
    // FNV-1a: stable across builds and platforms.
    let mut hash: u32 = 0x811c_9dc5;
    for b in full.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let suffix = format!("_{hash:08x}_nn");
    let mut cut = MAX_IDENT - suffix.len();
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &full[..cut])
}

/// The query that finds an INVALID index `name` on `table` (where the unqualified table name
/// resolves): one row, the `DROP INDEX CONCURRENTLY IF EXISTS` to run, when it is invalid;
/// none otherwise. The index is matched by its exact name among the indexes of that table, so
/// an index of the same name in another schema (earlier on the search_path, or built by
/// someone else) is never dropped. The runner runs its answer; an offline script hands it to
/// psql's `\gexec`.
pub fn invalid_index_query(name: &str, table: &str) -> String {
    format!(
        "SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname) FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE i.indrelid = to_regclass({}) AND c.relname = {} AND NOT i.indisvalid",
        quote_str(&quote_ident(table)),
        quote_str(name)
    )
}

/// The query that answers `true` when a valid index `name` is on `table`, `false` when it is
/// there but INVALID, and no row when no index of that name is on that table (whatever holds
/// the name elsewhere): a resumed `CREATE INDEX CONCURRENTLY IF NOT EXISTS` is checked with it.
pub fn index_on_table_query(name: &str, table: &str) -> String {
    format!(
        "SELECT i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = to_regclass({}) AND c.relname = {}",
        quote_str(&quote_ident(table)),
        quote_str(name)
    )
}

/// A short stable fingerprint of a staged plan run for a migration whose checksum is
/// `checksum`: stored in the step marker, so a run resumed after an interruption goes on only
/// when it would stage the migration exactly as the interrupted one did (same ops, same
/// steps); otherwise the steps counted as done would not be the ones that ran.
pub fn fingerprint(plan: &StagedPlan, checksum: &str) -> String {
    let mut text = format!("{checksum}\n");
    for step in &plan.steps {
        text.push_str(if step.transactional { "T\n" } else { "N\n" });
        for statement in &step.statements {
            match statement {
                Statement::Op(op) => text.push_str(&format!("op {op}\n")),
                Statement::Sql { op, sql, on_resume } => text.push_str(&format!(
                    "sql {op} {} {sql:?} {:?}\n",
                    sql.len(),
                    on_resume.as_deref().unwrap_or("")
                )),
                Statement::DropInvalidIndex { op, name, table } => {
                    text.push_str(&format!("drop-invalid {op} {name:?} {table:?}\n"))
                }
            }
        }
    }
    // FNV-1a 64: stable across builds and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Builds steps: transactional pieces join the open transaction step, others stand alone.
#[derive(Default)]
struct Builder {
    steps: Vec<Step>,
    /// The last step takes no more statements (a VALIDATE's scan is retried alone).
    closed: bool,
}

impl Builder {
    fn transactional(&mut self, statement: Statement) {
        match self.steps.last_mut() {
            Some(step) if step.transactional && !self.closed => step.statements.push(statement),
            _ => self.steps.push(Step { transactional: true, statements: vec![statement] }),
        }
        self.closed = false;
    }

    /// A transaction of its own, closed behind it.
    fn alone(&mut self, statement: Statement) {
        self.steps.push(Step { transactional: true, statements: vec![statement] });
        self.closed = true;
    }

    fn outside(&mut self, statements: Vec<Statement>) {
        self.steps.push(Step { transactional: false, statements });
        self.closed = true;
    }
}

/// `ops` (a migration's upgrade or downgrade, `revision` naming it in errors) as a staged
/// plan for PostgreSQL `major`, given what is `known` about the schema before them. A
/// non-transactional migration (`transactional` false) and rewriting off give the plain plan.
pub fn rewrite(
    revision: &str,
    transactional: bool,
    ops: &[Op],
    major: PgMajor,
    known: &Known,
    options: &RewriteOptions,
) -> Result<StagedPlan, RewriteError> {
    if !options.enabled || !transactional {
        return Ok(StagedPlan::plain(ops));
    }
    let mut known = known.clone();
    let mut created: HashSet<String> = HashSet::new();
    let mut b = Builder::default();
    let mut rewritten = false;
    let alter = |table: &str, rest: String| format!("ALTER TABLE {} {rest}", quote_ident(table));
    for (index, op) in ops.iter().enumerate() {
        let exempt = |table: &str| created.contains(table) || options.empty_tables.contains(table);
        let sql = |sql: String| Statement::Sql { op: index, sql, on_resume: None };
        let mut done = true;
        match op {
            Op::CreateIndex(i) if !exempt(&i.table) => {
                let create = |if_not_exists: &str| {
                    format!(
                        "CREATE {}INDEX CONCURRENTLY {if_not_exists}{} ON {} ({})",
                        if i.unique { "UNIQUE " } else { "" },
                        quote_ident(&i.name),
                        quote_ident(&i.table),
                        column_list(&i.columns)
                    )
                };
                b.outside(vec![
                    Statement::DropInvalidIndex { op: index, name: i.name.clone(), table: i.table.clone() },
                    Statement::Sql { op: index, sql: create(""), on_resume: Some(create("IF NOT EXISTS ")) },
                ]);
            }
            Op::DropIndex { name, table } if !exempt(table) => {
                let drop =
                    |if_exists: &str| format!("DROP INDEX CONCURRENTLY {if_exists}{}", quote_ident(name));
                b.outside(vec![Statement::Sql {
                    op: index,
                    sql: drop(""),
                    on_resume: Some(drop("IF EXISTS ")),
                }]);
            }
            Op::AddForeignKey { table, fk } if !exempt(table) && !fk.name.is_empty() => {
                b.transactional(sql(alter(
                    table,
                    format!("ADD {} NOT VALID", Postgres.foreign_key_clause(fk)),
                )));
                b.alone(sql(alter(table, format!("VALIDATE CONSTRAINT {}", quote_ident(&fk.name)))));
            }
            Op::AddCheckConstraint { table, check } if !exempt(table) && !check.name.is_empty() => {
                let add =
                    format!("ADD CONSTRAINT {} CHECK ({}) NOT VALID", quote_ident(&check.name), check.expr);
                b.transactional(sql(alter(table, add)));
                b.alone(sql(alter(table, format!("VALIDATE CONSTRAINT {}", quote_ident(&check.name)))));
            }
            Op::AlterColumn { table, column, change }
                if change.nullable == Some(false)
                    && !exempt(table)
                    && !known.proves_not_null(table, column) =>
            {
                if major.get() < 12 {
                    return Err(RewriteError::ServerTooOld {
                        revision: revision.to_string(),
                        position: index + 1,
                        op: op.to_string(),
                        major,
                        needs: "SET NOT NULL uses a valid CHECK (col IS NOT NULL) instead of a scan only from PostgreSQL 12",
                    });
                }
                // The other changes (type, default) first, as the dialect renders them.
                let rest = AlterColumn { nullable: None, ..change.clone() };
                let rest = Op::AlterColumn { table: table.clone(), column: column.clone(), change: rest };
                for statement in Postgres.render(&rest, None).unwrap_or_default() {
                    b.transactional(sql(statement));
                }
                let check = quote_ident(&not_null_check_name(table, column));
                let col = quote_ident(column);
                b.transactional(sql(alter(
                    table,
                    format!("ADD CONSTRAINT {check} CHECK ({col} IS NOT NULL) NOT VALID"),
                )));
                b.alone(sql(alter(table, format!("VALIDATE CONSTRAINT {check}"))));
                b.transactional(sql(alter(table, format!("ALTER COLUMN {col} SET NOT NULL"))));
                b.transactional(sql(alter(table, format!("DROP CONSTRAINT {check}"))));
            }
            Op::AddUniqueConstraint { table, unique } if !exempt(table) && !unique.name.is_empty() => {
                let name = quote_ident(&unique.name);
                let create = |if_not_exists: &str| {
                    format!(
                        "CREATE UNIQUE INDEX CONCURRENTLY {if_not_exists}{name} ON {} ({})",
                        quote_ident(table),
                        column_list(&unique.columns)
                    )
                };
                b.outside(vec![
                    Statement::DropInvalidIndex {
                        op: index,
                        name: unique.name.clone(),
                        table: table.clone(),
                    },
                    Statement::Sql { op: index, sql: create(""), on_resume: Some(create("IF NOT EXISTS ")) },
                ]);
                b.transactional(sql(alter(
                    table,
                    format!("ADD CONSTRAINT {name} UNIQUE USING INDEX {name}"),
                )));
            }
            _ => done = false,
        }
        rewritten |= done;
        if !done {
            b.transactional(Statement::Op(index));
        }
        match op {
            Op::CreateTable(t) => {
                created.insert(t.name.clone());
            }
            Op::RenameTable { from, to } if created.remove(from) => {
                created.insert(to.clone());
            }
            Op::DropTable { name } => {
                created.remove(name);
            }
            _ => {}
        }
        known.follow(op);
    }
    if !rewritten {
        return Ok(StagedPlan::plain(ops));
    }
    Ok(StagedPlan { steps: b.steps, rewritten })
}

impl fmt::Display for StagedPlan {
    /// The steps, one line each: `1 transaction (3 statements)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, step) in self.steps.iter().enumerate() {
            writeln!(
                f,
                "{} {} ({} statements)",
                k + 1,
                if step.transactional { "transaction" } else { "outside a transaction" },
                step.statements.len()
            )?;
        }
        Ok(())
    }
}

/// The comment that opens step `k` (0-based) of `total` in offline SQL and `show`.
pub fn step_comment(k: usize, total: usize, step: &Step) -> String {
    format!(
        "-- strata rewrite: step {} of {total}, {}",
        k + 1,
        if step.transactional { "in a transaction" } else { "outside a transaction (CONCURRENTLY)" }
    )
}

#[cfg(test)]
mod tests;
