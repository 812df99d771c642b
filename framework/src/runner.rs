//! Policy: plan a target, run each migration in its own transaction together with its
//! version and history rows, and report exactly what happened. (refinery's sync mode commits a
//! migration apart from its history row; here they commit or roll back together.)

use crate::backend::{Backend, BackendError, Direction, HistoryRow, Record};
use crate::dialect::RenderError;
use crate::graph::{Position, Target, TargetError};
use crate::migration::{Migration, MigrationSet, RegistryError};
use crate::ops::Op;
use std::fmt;
use std::time::{Duration, Instant};

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("database error: {0}")]
    Backend(#[from] BackendError),
    /// A migration failed and was rolled back; earlier ones stay applied.
    #[error("{0}")]
    Migration(Box<MigrationFailure>),
    #[error("cannot {direction} to {target}: the database is at {current}; use {hint}")]
    WrongDirection { direction: Direction, target: String, current: String, hint: &'static str },
}

/// The details of a failed migration.
#[derive(Debug)]
pub struct MigrationFailure {
    pub revision: String,
    pub message: String,
    pub direction: Direction,
    /// The op that failed (`add_column users.email`), with its 1-based position.
    pub op: Option<(usize, String)>,
    pub statement: Option<String>,
    pub cause: String,
    /// Migrations committed before the failure, in order.
    pub completed: Vec<Applied>,
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} ({}) failed", self.direction, self.revision, self.message)?;
        if let Some((index, op)) = &self.op {
            write!(f, " at op {index} ({op})")?;
        }
        write!(f, ": {}", self.cause)?;
        if let Some(statement) = &self.statement {
            write!(f, "\n  statement: {}", statement.replace('\n', " "))?;
        }
        write!(f, "\n  the migration was rolled back")?;
        if !self.completed.is_empty() {
            let revs: Vec<&str> = self.completed.iter().map(|a| a.revision.as_str()).collect();
            write!(f, "; completed before it: {}", revs.join(", "))?;
        }
        Ok(())
    }
}

/// One migration that ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub revision: String,
    pub message: String,
    pub direction: Direction,
    pub duration: Duration,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub from: Option<String>,
    pub to: Option<String>,
    pub applied: Vec<Applied>,
}

/// How migrations are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransactionMode {
    /// One transaction per migration (the default): a failure keeps earlier migrations.
    #[default]
    PerMigration,
    /// All pending migrations in one transaction: for new environments and test databases,
    /// where a commit per migration is wasted time. A failure keeps nothing.
    Grouped,
}

/// Runs a checked set of migrations against a backend.
#[derive(Debug, Clone)]
pub struct Runner {
    set: MigrationSet,
    mode: TransactionMode,
}

/// One step of a plan: a unit of ops, which way, and the version once it is done.
struct Step<'a> {
    revision: &'a str,
    message: &'a str,
    direction: Direction,
    ops: Vec<Op>,
    new_version: Option<&'a str>,
    /// Whether the step writes version and history rows (ad-hoc ops do not).
    record: bool,
}

impl Step<'static> {
    fn migration(m: &'static Migration, direction: Direction) -> Self {
        let (ops, new_version) = match direction {
            Direction::Up => (m.upgrade_ops(), Some(m.revision)),
            Direction::Down => (m.downgrade_ops(), m.parent),
        };
        Step { revision: m.revision, message: m.message, direction, ops, new_version, record: true }
    }
}

/// Applies `ops` in one transaction through the same path as a migration (table snapshots,
/// foreign key switching, error reporting) but records nothing in the version tables. For
/// tests and scratch databases.
pub fn apply_ops(backend: &mut dyn Backend, label: &str, ops: Vec<Op>) -> Result<(), Error> {
    let step = Step {
        revision: label,
        message: "ad-hoc ops",
        direction: Direction::Up,
        ops,
        new_version: None,
        record: false,
    };
    run_in_transaction(backend, std::slice::from_ref(&step), &[]).map(|_| ())
}

impl Runner {
    pub fn new(set: MigrationSet) -> Self {
        Runner { set, mode: TransactionMode::PerMigration }
    }
    pub fn with_mode(mut self, mode: TransactionMode) -> Self {
        self.mode = mode;
        self
    }
    pub fn migrations(&self) -> &MigrationSet {
        &self.set
    }

    fn position(&self, backend: &mut dyn Backend) -> Result<Position, Error> {
        let current = backend.current_revision()?;
        Ok(self.set.chain().position_of(current.as_deref())?)
    }

    /// The migration the database is at (`None` = base).
    pub fn current(&self, backend: &mut dyn Backend) -> Result<Option<&'static Migration>, Error> {
        Ok(match self.position(backend)? {
            Position::Base => None,
            Position::At(i) => Some(self.set.migrations()[i]),
        })
    }

    /// Migrations not yet applied, in apply order.
    pub fn pending(&self, backend: &mut dyn Backend) -> Result<Vec<&'static Migration>, Error> {
        let from = match self.position(backend)? {
            Position::Base => 0,
            Position::At(i) => i + 1,
        };
        Ok(self.set.migrations()[from..].to_vec())
    }

    /// The history table, oldest first.
    pub fn history(&self, backend: &mut dyn Backend) -> Result<Vec<HistoryRow>, Error> {
        Ok(backend.history()?)
    }

    /// Applies migrations up to `target` (`Target::Head` for all).
    pub fn upgrade(&self, backend: &mut dyn Backend, target: &Target) -> Result<Report, Error> {
        let current = self.position(backend)?;
        let wanted = self.set.chain().resolve(target, current)?;
        if wanted < current {
            return Err(self.wrong_direction(Direction::Up, target, current, "downgrade"));
        }
        let (from, to) = (index_after(current), index_after(wanted));
        let migrations = &self.set.migrations()[from..to];
        let steps = migrations.iter().map(|m| Step::migration(m, Direction::Up)).collect();
        self.run(backend, current, steps)
    }

    /// Reverts migrations down to `target` (`Target::Relative(-1)` for one step, `Target::Base`
    /// for all).
    pub fn downgrade(&self, backend: &mut dyn Backend, target: &Target) -> Result<Report, Error> {
        let current = self.position(backend)?;
        let wanted = self.set.chain().resolve(target, current)?;
        if wanted > current {
            return Err(self.wrong_direction(Direction::Down, target, current, "upgrade"));
        }
        let (from, to) = (index_after(wanted), index_after(current));
        let migrations = &self.set.migrations()[from..to];
        let steps = migrations.iter().rev().map(|m| Step::migration(m, Direction::Down)).collect();
        self.run(backend, current, steps)
    }

    fn wrong_direction(
        &self,
        direction: Direction,
        target: &Target,
        current: Position,
        hint: &'static str,
    ) -> Error {
        Error::WrongDirection {
            direction,
            target: target.to_string(),
            current: self.set.chain().revision_at(current).unwrap_or("base").to_string(),
            hint,
        }
    }

    fn run(
        &self,
        backend: &mut dyn Backend,
        current: Position,
        steps: Vec<Step<'static>>,
    ) -> Result<Report, Error> {
        let mut report = Report {
            from: self.set.chain().revision_at(current).map(str::to_string),
            to: self.set.chain().revision_at(current).map(str::to_string),
            applied: Vec::new(),
        };
        if steps.is_empty() {
            return Ok(report);
        }
        backend.ensure_version_tables()?;
        match self.mode {
            TransactionMode::PerMigration => {
                for step in &steps {
                    let applied = run_in_transaction(backend, std::slice::from_ref(step), &report.applied)?;
                    report.to = step.new_version.map(str::to_string);
                    report.applied.extend(applied);
                }
            }
            TransactionMode::Grouped => {
                report.applied = run_in_transaction(backend, &steps, &[])?;
                report.to = steps.last().and_then(|s| s.new_version).map(str::to_string);
            }
        }
        Ok(report)
    }
}

fn index_after(pos: Position) -> usize {
    match pos {
        Position::Base => 0,
        Position::At(i) => i + 1,
    }
}

/// Runs `steps` in one transaction with their bookkeeping; on failure rolls everything back.
fn run_in_transaction(
    backend: &mut dyn Backend,
    steps: &[Step<'_>],
    completed: &[Applied],
) -> Result<Vec<Applied>, Error> {
    let dialect = backend.dialect();
    // A rebuild needs foreign keys off, and that must be set before the transaction begins.
    // Whether a drop_column rebuilds is only known from the live table, so any op that asks
    // for a snapshot counts.
    let rebuilds = steps.iter().any(|s| s.ops.iter().any(|op| dialect.needs_snapshot(op).is_some()));
    let fk_were_on = if rebuilds { backend.set_foreign_keys(false)? } else { false };
    let result = (|| {
        backend.begin()?;
        let mut records = Vec::with_capacity(steps.len());
        let mut applied = Vec::with_capacity(steps.len());
        for step in steps {
            let span =
                tracing::info_span!("migration", revision = step.revision, direction = %step.direction);
            let _guard = span.enter();
            let started = Instant::now();
            run_ops(backend, step).map_err(|mut failure| {
                failure.completed = completed.iter().chain(applied.iter()).cloned().collect();
                Error::Migration(failure)
            })?;
            let duration = started.elapsed();
            tracing::info!(
                ms = duration.as_secs_f64() * 1000.0,
                "{} {} ({})",
                step.direction,
                step.revision,
                step.message
            );
            if !step.record {
                continue;
            }
            records.push(Record {
                revision: step.revision.to_string(),
                message: step.message.to_string(),
                direction: step.direction,
                new_version: step.new_version.map(str::to_string),
                applied_at: chrono::Utc::now(),
                duration,
                checksum: None,
            });
            applied.push(Applied {
                revision: step.revision.into(),
                message: step.message.into(),
                direction: step.direction,
                duration,
            });
        }
        if fk_were_on {
            let violations = backend.foreign_key_violations()?;
            if !violations.is_empty() {
                let last = &steps[steps.len() - 1];
                return Err(Error::Migration(Box::new(MigrationFailure {
                    revision: last.revision.into(),
                    message: last.message.into(),
                    direction: last.direction,
                    op: None,
                    statement: Some("PRAGMA foreign_key_check".into()),
                    cause: format!(
                        "the migration leaves rows that break a foreign key: {}",
                        violations.join("; ")
                    ),
                    completed: completed.to_vec(),
                })));
            }
        }
        if records.is_empty() {
            backend.commit()?;
        } else {
            backend.record_and_commit(&records)?;
        }
        Ok(applied)
    })();
    if result.is_err() {
        if let Err(e) = backend.rollback() {
            tracing::warn!("rollback after a failed migration also failed: {e}");
        }
    }
    if fk_were_on {
        let restored = backend.set_foreign_keys(true);
        if let (Ok(_), Err(e)) = (&result, restored) {
            return Err(e.into());
        }
    }
    result
}

/// Renders and executes one step's ops, naming the op and statement on failure.
fn run_ops(backend: &mut dyn Backend, step: &Step<'_>) -> Result<(), Box<MigrationFailure>> {
    let dialect = backend.dialect();
    let fail = |index: usize, op: &Op, statement: Option<String>, cause: String| {
        Box::new(MigrationFailure {
            revision: step.revision.into(),
            message: step.message.into(),
            direction: step.direction,
            op: Some((index + 1, op.to_string())),
            statement,
            cause,
            completed: Vec::new(),
        })
    };
    for (index, op) in step.ops.iter().enumerate() {
        tracing::debug!(op = %op, "op");
        if let Op::Data { run, .. } = op {
            run(backend.data()).map_err(|e| fail(index, op, None, e.to_string()))?;
            continue;
        }
        let snapshot = match dialect.needs_snapshot(op) {
            Some(table) => Some(
                backend
                    .snapshot_table(&table)
                    .map_err(|e| fail(index, op, e.statement().map(str::to_string), e.to_string()))?
                    .ok_or_else(|| {
                        fail(index, op, None, RenderError::NoSuchTable(table.clone()).to_string())
                    })?,
            ),
            None => None,
        };
        let statements =
            dialect.render(op, snapshot.as_ref()).map_err(|e| fail(index, op, None, e.to_string()))?;
        for statement in statements {
            tracing::debug!(sql = %statement, "execute");
            backend
                .execute(&statement)
                .map_err(|e| fail(index, op, Some(statement.clone()), e.to_string()))?;
        }
    }
    Ok(())
}
