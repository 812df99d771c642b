//! Policy: plan a target, run each migration in its own transaction together with its
//! version and history rows, and report exactly what happened. (refinery's sync mode commits a
//! migration apart from its history row; here they commit or roll back together.)

use crate::backend::{Backend, BackendError, Direction, Finish, HistoryRow, Record, RunLock};
use crate::dialect::RenderError;
use crate::graph::{Target, TargetError};
use crate::migration::{Migration, MigrationSet, RegistryError};
use crate::ops::Op;
use crate::plan::{self, State};
use std::fmt;
use std::time::{Duration, Instant};

mod staged;
pub use staged::LockRetriesExhausted;

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The migration set is not usable.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The target names no place in the chain.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The database failed outside a migration (connecting, locking, bookkeeping reads).
    #[error("database error: {0}")]
    Backend(#[from] BackendError),
    /// A migration failed and was rolled back; earlier ones stay applied.
    #[error("{0}")]
    Migration(Box<MigrationFailure>),
    /// A rewritten step could not get its locks within the retry bound.
    #[error("{0}")]
    LockRetries(Box<staged::LockRetriesExhausted>),
    /// A migration cannot be rewritten lock-safely on this server; refused before it ran.
    #[error(transparent)]
    Rewrite(#[from] crate::rewrite::RewriteError),
    /// The database is in the middle of a rewritten migration that this run would not resume
    /// (another target or direction).
    #[error("the database is in the middle of the rewritten {direction} of {revision} ({done} steps done): run that {direction} again first (to head, or to {revision}), or `resolve {revision}`")]
    Unfinished {
        /// The interrupted migration.
        revision: String,
        /// Which way it ran.
        direction: Direction,
        /// Its steps committed.
        done: usize,
    },
    /// A name PostgreSQL would silently truncate; refused before anything ran.
    #[error("{0}")]
    IdentifierTooLong(Box<LongIdentifier>),
    /// Transaction lock mode: another migrator applied something else while this one waited.
    #[error("another migrator moved the database to {current} while this one waited to run {revision}; nothing more was applied, run again")]
    Moved {
        /// The migration this run was about to apply.
        revision: String,
        /// Where the database is now.
        current: String,
    },
    /// An interrupted rewritten migration no longer stages as it did when it was interrupted.
    #[error("the rewritten {direction} of {revision} was interrupted with {done} steps done, but it no longer stages into the same steps (now {steps}): the migration was edited since, or the server version or the tables declared empty changed. Resuming would skip or repeat steps, so nothing was run. Restore the migration as it was when it was interrupted and run the {direction} again, or check the database and `resolve {revision} --applied` / `--rolled-back`")]
    ResumeMismatch {
        /// The interrupted migration.
        revision: String,
        /// Which way it was running.
        direction: Direction,
        /// Its steps done, by the marker.
        done: usize,
        /// How many steps it stages into now.
        steps: usize,
    },
    /// An interrupted rewritten migration is resumed only under the run lock.
    #[error("the rewritten {direction} of {revision} was interrupted with {done} steps done; it resumes only under the session run lock, which the transaction lock mode (for transaction-pooling PgBouncer) does not take, so two migrators could run its steps at once. Nothing was run. Run the {direction} again over a direct connection with STRATA_MIGRATION_LOCK=session, or check the database and `resolve {revision} --applied` / `--rolled-back`")]
    ResumeWithoutRunLock {
        /// The interrupted migration.
        revision: String,
        /// Which way it was running.
        direction: Direction,
        /// Its steps done, by the marker.
        done: usize,
    },
    /// Grouped mode cannot contain a non-transactional migration (the named revision).
    #[error("{0} cannot run inside a transaction, so it cannot be grouped with others: upgrade without grouped mode")]
    NotGroupable(String),
    /// `resolve` on a database with nothing to resolve.
    #[error("the database is not dirty: there is nothing to resolve")]
    NotDirty,
    /// `resolve` named another migration than the interrupted one.
    #[error("the database is dirty from {dirty}, not {given}: resolve {dirty}")]
    ResolveOther {
        /// The interrupted migration.
        dirty: String,
        /// The one named.
        given: String,
    },
    /// `accept` named a migration that is not applied.
    #[error("{0} is not applied: only an applied migration has a checksum to accept")]
    NotApplied(String),
    /// Applied migrations were edited (or their history rows were): refused by
    /// [`DriftPolicy::Refuse`] before anything ran.
    #[error("nothing was applied: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Drift(Vec<crate::validate::Drift>),
    /// The confirmed rollback is no longer the one the database would get.
    #[error("the database moved while the rollback was being confirmed: the confirmed plan reverts {}, but at {current} the rollback would now revert {}; nothing was changed. Run the downgrade again and confirm the new plan", list_or_none(.shown), list_or_none(.now))]
    PlanChanged {
        /// The revisions the confirmed plan reverts.
        shown: Vec<String>,
        /// The revisions a rollback from the current version would revert.
        now: Vec<String>,
        /// Where the database is now.
        current: String,
    },
    /// A database that must be empty is not (tables or a version, named).
    #[error("the database is not empty ({0}): a schema is only created from scratch on an empty one")]
    NotEmpty(String),
    /// An upgrade to an earlier revision, or a downgrade to a later one.
    #[error("cannot {direction} to {target}: the database is at {current}; use {hint}")]
    WrongDirection {
        /// The direction asked for.
        direction: Direction,
        /// The target.
        target: String,
        /// Where the database is.
        current: String,
        /// The command that goes there.
        hint: &'static str,
    },
}

fn list_or_none(revisions: &[String]) -> String {
    if revisions.is_empty() {
        "nothing".into()
    } else {
        revisions.join(", ")
    }
}

/// An identifier the engine would silently truncate.
#[derive(Debug, thiserror::Error)]
#[error("{revision}: {op} names the identifier {name:?}, {bytes} bytes long; {engine} keeps at most {max} bytes and would silently truncate it. Nothing was run")]
#[non_exhaustive]
pub struct LongIdentifier {
    /// The migration.
    pub revision: String,
    /// The op that names it.
    pub op: String,
    /// The identifier.
    pub name: String,
    /// Its length in bytes.
    pub bytes: usize,
    /// The engine's limit in bytes.
    pub max: usize,
    /// The engine.
    pub engine: String,
}

/// The details of a failed migration.
#[derive(Debug)]
#[non_exhaustive]
pub struct MigrationFailure {
    /// The migration that failed.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Which way it was running.
    pub direction: Direction,
    /// The op that failed (`add_column users.email`), with its 1-based position.
    pub op: Option<(usize, String)>,
    /// The statement the database rejected, when one was.
    pub statement: Option<String>,
    /// The database's (or the data op's) message.
    pub cause: String,
    /// Migrations committed before the failure, in order.
    pub completed: Vec<Applied>,
    /// False when the migration ran outside a transaction: statements before the failure
    /// stayed, and the database is marked dirty.
    pub transactional: bool,
    /// A migration rewritten into steps: how many are committed and recorded, of how many
    /// (the next run resumes after them).
    pub steps: Option<(usize, usize)>,
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
        if let Some((done, total)) = self.steps.filter(|_| !self.transactional) {
            write!(
                f,
                "\n  it was rewritten lock-safely into {total} steps, and {done} of them are committed and \
                 recorded: the next {} of {} resumes at step {} (an INVALID index left by a failed CREATE \
                 INDEX CONCURRENTLY is dropped first)",
                self.direction,
                self.revision,
                done + 1
            )?;
        } else if self.transactional {
            write!(f, "\n  the migration was rolled back")?;
        } else {
            write!(
                f,
                "\n  it runs outside a transaction, so statements before the failure stayed applied; the \
                 database is marked dirty: check it, then `resolve {} --applied` or `resolve {} --rolled-back`",
                self.revision, self.revision
            )?;
        }
        if !self.completed.is_empty() {
            let revs: Vec<&str> = self.completed.iter().map(|a| a.revision.as_str()).collect();
            write!(f, "; completed before it: {}", revs.join(", "))?;
        }
        Ok(())
    }
}

/// One migration that ran.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Applied {
    /// The migration.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Which way it ran.
    pub direction: Direction,
    /// How long it took, commit included.
    pub duration: Duration,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Report {
    /// The version before the run: its heads joined by spaces, one revision in a linear
    /// history (`None` = base).
    pub from: Option<String>,
    /// The version after it.
    pub to: Option<String>,
    /// Each migration that ran, in order; empty when there was nothing to do.
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

/// Hears about a run as it happens: for printing each migration as it runs and for
/// progress bars. Every method has an empty default.
pub trait Listener {
    /// A migration is about to run; `index` counts from 0 up to `total`.
    fn starting(
        &mut self,
        _revision: &str,
        _message: &str,
        _direction: Direction,
        _index: usize,
        _total: usize,
    ) {
    }
    /// A migration ran and its transaction committed (in grouped mode: the group's
    /// transaction, so every migration of the group is reported after the one commit).
    fn finished(&mut self, _applied: &Applied) {}
    /// A lint finding of a migration about to be applied, which the environment lets through
    /// ([`crate::MigrationManager`] enforces: dev and staging warn, production refuses an
    /// unacknowledged error on PostgreSQL). By default a tracing warning; a front end may show
    /// it louder (the CLI prints every one on stderr in staging).
    fn lint_finding(&mut self, env: crate::config::Environment, finding: &crate::lint::Finding) {
        warn_lint_finding(env, finding);
    }
}

/// The default report of a lint finding let through: a tracing warning naming the
/// environment, and in staging that production would refuse it unless acknowledged.
pub fn warn_lint_finding(env: crate::config::Environment, finding: &crate::lint::Finding) {
    if finding.blocks() && env != crate::config::Environment::Prod {
        tracing::warn!(
            "lint ({env}): {finding} Production refuses this unless the migration acknowledges it: {}",
            finding.how_to_acknowledge()
        );
    } else {
        tracing::warn!("lint ({env}): {finding}");
    }
}

/// A listener that ignores everything it hears, except that lint findings still reach the
/// log ([`Listener::lint_finding`]'s default): a warning is never silenced by accident.
pub struct Quiet;
impl Listener for Quiet {}

/// Runs a checked set of migrations against a backend.
///
/// The runner is the policy-free core: it applies exactly what it is asked to, with its
/// bookkeeping, locking and drift rules. Applications usually go through
/// [`crate::MigrationManager`], which adds the environment's rules (validation in production,
/// confirmed rollbacks, timeouts); tests and tools use the runner directly.
///
/// ```
/// use strata::prelude::*;
///
/// # mod migration_1 { use strata::prelude::*;
/// migration! {
///     revision: "0001aaaa",
///     parent: None,
///     message: "create users",
///     created: "2026-11-24T09:30:00Z",
///     upgrade: |op| { op.create_table(Table::new("users").column(Column::new("id", Type::BigInt).autoincrement())); },
///     downgrade: |op| { op.drop_table("users"); },
/// }
/// # }
/// # mod migration_2 { use strata::prelude::*;
/// migration! {
///     revision: "0002bbbb",
///     parent: Some("0001aaaa"),
///     message: "add emails",
///     created: "2026-11-25T09:30:00Z",
///     upgrade: |op| { op.add_column("users", Column::new("email", Type::Text).nullable()); },
///     downgrade: |op| { op.drop_column("users", "email"); },
/// }
/// # }
///
/// use strata::graph::Target;
/// use strata::runner::{Runner, TransactionMode};
///
/// let set = strata::MigrationSet::new(strata::migration::registered())?;
/// let mut db = strata::backend::connect(&"sqlite::memory:".parse()?)?;
/// let runner = Runner::new(set);
///
/// let report = runner.upgrade(&mut *db, &Target::Head)?;
/// assert_eq!(report.applied.len(), 2);
/// assert_eq!(report.to.as_deref(), Some("0002bbbb"));
/// assert!(runner.pending(&mut *db)?.is_empty());
///
/// runner.downgrade(&mut *db, &Target::Relative(-1))?; // one step back
/// assert_eq!(runner.current(&mut *db)?.last().map(|m| m.revision), Some("0001aaaa"));
///
/// // Test databases: everything pending in one transaction.
/// runner.downgrade(&mut *db, &Target::Base)?;
/// runner.clone().with_mode(TransactionMode::Grouped).upgrade(&mut *db, &Target::Head)?;
/// assert_eq!(runner.history(&mut *db)?.len(), 6); // 2 up, 1 down, 1 down, 2 up
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Runner {
    set: MigrationSet,
    mode: TransactionMode,
    log_statements: bool,
    lock_mode: LockMode,
    lock_timeout: Duration,
    drift: DriftPolicy,
    rewrite: Rewriting,
}

/// Whether the runner rewrites migrations lock-safely on PostgreSQL ([`crate::rewrite`]) and
/// how their steps retry on a lock timeout. Off by default (what dev and tests want); the
/// manager turns it on in staging and prod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rewriting {
    /// What is rewritten (`enabled` false: nothing).
    pub options: crate::rewrite::RewriteOptions,
    /// How each step waits for its locks.
    pub retry: crate::rewrite::LockRetry,
}

impl Rewriting {
    /// Rewriting on or off, with the default retries.
    pub fn new(enabled: bool) -> Self {
        let options = if enabled {
            crate::rewrite::RewriteOptions::on()
        } else {
            crate::rewrite::RewriteOptions::off()
        };
        Rewriting { options, retry: crate::rewrite::LockRetry::default() }
    }

    /// With other retries.
    pub fn with_retry(mut self, retry: crate::rewrite::LockRetry) -> Self {
        self.retry = retry;
        self
    }
}

/// How concurrent migrators are kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// A lock held around the whole run on a connection of its own (PostgreSQL's session
    /// advisory lock); waiters then find the database at the target and do nothing.
    #[default]
    Session,
    /// A transaction-scoped lock per migration, for transaction-pooling PgBouncer where a
    /// session lock would leak to another client; each migration re-checks the version.
    Transaction,
}

/// What an upgrade does when applied migrations no longer match what ran (drift): applying
/// on top of an edited history can leave a schema that no migration describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriftPolicy {
    /// Logs a warning per drifted migration and applies (dev).
    #[default]
    Warn,
    /// Applies nothing until each drifted migration is restored or `accept`ed (staging, prod).
    Refuse,
}

/// How long a migrator waits for another to finish before giving up, by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// One step of a plan: a unit of ops, which way, and the version once it is done.
struct Step<'a> {
    revision: &'a str,
    message: &'a str,
    direction: Direction,
    ops: Vec<Op>,
    /// The version row once the step is done (heads joined by spaces; `None` = base).
    new_version: Option<String>,
    /// Whether the step writes version and history rows (ad-hoc ops do not).
    record: bool,
    /// False: runs outside a transaction, marked started before and completed after.
    transactional: bool,
    /// The migration's plan checksum, recorded with its history row.
    checksum: Option<String>,
    /// The upgrade's lint acknowledgements, recorded with its history row.
    acknowledged: Option<String>,
    /// The version the database must be at for this step to run.
    before: Option<String>,
}

impl Step<'_> {
    /// The version and history row for this step, once it took `duration`.
    fn record(&self, duration: Duration) -> Record {
        Record {
            revision: self.revision.to_string(),
            message: self.message.to_string(),
            direction: self.direction,
            new_version: self.new_version.clone(),
            applied_at: chrono::Utc::now(),
            duration,
            checksum: self.checksum.clone(),
            acknowledged: self.acknowledged.clone(),
        }
    }

    /// This step's failure at op `index` (0-based).
    fn failure(
        &self,
        index: usize,
        op: &Op,
        statement: Option<String>,
        cause: String,
    ) -> Box<MigrationFailure> {
        Box::new(MigrationFailure {
            revision: self.revision.into(),
            message: self.message.into(),
            direction: self.direction,
            op: Some((index + 1, op.to_string())),
            statement,
            cause,
            completed: Vec::new(),
            transactional: true,
            steps: None,
        })
    }

    fn log_done(&self, duration: Duration) {
        tracing::info!(
            ms = duration.as_secs_f64() * 1000.0,
            "{} {} ({})",
            self.direction,
            self.revision,
            self.message
        );
    }

    /// What the report and listeners hear about this step.
    fn applied(&self, duration: Duration) -> Applied {
        Applied {
            revision: self.revision.into(),
            message: self.message.into(),
            direction: self.direction,
            duration,
        }
    }
}

impl Step<'static> {
    /// Migration `m` run in `direction` from the version `before` to `new_version`.
    fn of(
        m: &'static Migration,
        direction: Direction,
        before: Option<String>,
        new_version: Option<String>,
    ) -> Self {
        // Both directions are built once: the checksum covers both, the step runs one.
        let (upgrade, acknowledgements) = m.upgrade_plan().into_parts();
        let downgrade = m.downgrade_ops();
        let checksum = crate::checksum::of_plan_with(&upgrade, &downgrade, &acknowledgements);
        let (ops, acknowledged) = match direction {
            Direction::Down => (downgrade, None),
            _ => (upgrade, crate::backend::acknowledged_text(&acknowledgements)),
        };
        Step {
            revision: m.revision,
            message: m.message,
            direction,
            ops,
            new_version,
            record: true,
            transactional: m.transactional,
            checksum: Some(checksum),
            acknowledged,
            before,
        }
    }
}

/// Applies `ops` in one transaction through the same path as a migration (table snapshots,
/// foreign key switching, error reporting) but records nothing in the version tables. For
/// tests and scratch databases.
pub fn apply_ops(backend: &mut dyn Backend, label: &str, ops: Vec<Op>) -> Result<(), Error> {
    let mut step = Step {
        revision: label,
        message: "ad-hoc ops",
        direction: Direction::Up,
        ops,
        new_version: None,
        record: false,
        transactional: true,
        checksum: None,
        acknowledged: None,
        before: None,
    };
    check_identifiers(backend, std::slice::from_ref(&step))?;
    let mut ctx = RunContext {
        listener: &mut Quiet,
        log_statements: false,
        total: 1,
        index: 0,
        recheck: None,
        transaction_lock: None,
        announced: 0,
    };
    run_in_transaction(backend, std::slice::from_mut(&mut step), &[], &mut ctx).map(|_| ())
}

impl Runner {
    /// A runner with the defaults: a transaction per migration, session lock waiting at most
    /// [`DEFAULT_LOCK_TIMEOUT`], drift warned about, statements not logged.
    pub fn new(set: MigrationSet) -> Self {
        Runner {
            set,
            mode: TransactionMode::PerMigration,
            log_statements: false,
            lock_mode: LockMode::Session,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            drift: DriftPolicy::Warn,
            rewrite: Rewriting::default(),
        }
    }
    /// Rewrites migrations lock-safely on PostgreSQL ([`crate::rewrite`]), or not (default).
    pub fn with_rewrite(mut self, rewrite: Rewriting) -> Self {
        self.rewrite = rewrite;
        self
    }
    /// What an upgrade does when applied migrations drifted (default: warn).
    pub fn on_drift(mut self, policy: DriftPolicy) -> Self {
        self.drift = policy;
        self
    }
    /// How concurrent migrators are kept apart, and how long one waits for another.
    pub fn with_lock(mut self, mode: LockMode, timeout: Duration) -> Self {
        self.lock_mode = mode;
        self.lock_timeout = timeout;
        self
    }
    /// Logs every statement at info level (production does; elsewhere they are debug).
    pub fn log_statements(mut self, on: bool) -> Self {
        self.log_statements = on;
        self
    }
    /// Per-migration transactions (the default) or one for the whole run.
    pub fn with_mode(mut self, mode: TransactionMode) -> Self {
        self.mode = mode;
        self
    }
    /// The migrations it runs.
    pub fn migrations(&self) -> &MigrationSet {
        &self.set
    }

    /// The database's version row and the applied state it stands for. A row strata never
    /// writes (a repeated head, a head with its own descendant) is a corrupt version table.
    fn state(&self, backend: &mut dyn Backend) -> Result<(Option<String>, State), Error> {
        let version = match backend.current_revision() {
            // Between the steps of a rewritten migration: the version under the marker (the
            // migration is still pending; the next run resumes it).
            Err(BackendError::InProgress { version, .. }) => version,
            other => other?,
        };
        let state = self.state_of(&backend.version_tables().version, version.as_deref())?;
        Ok((version, state))
    }

    /// The state a version row stands for; `table` names the version table in the error.
    fn state_of(&self, table: &str, version: Option<&str>) -> Result<State, Error> {
        self.set.state_at(version).map_err(|e| match e {
            TargetError::CorruptVersion(detail) => {
                Error::Backend(BackendError::CorruptVersionTable { table: table.to_string(), detail })
            }
            other => other.into(),
        })
    }

    /// The heads of what the database has applied: one migration in a linear history, one
    /// per branch while a branching history is partly applied, none at base.
    pub fn current(&self, backend: &mut dyn Backend) -> Result<Vec<&'static Migration>, Error> {
        let (_, state) = self.state(backend)?;
        Ok(self.set.graph().heads_of(&state).into_iter().filter_map(|r| self.set.get(r)).collect())
    }

    /// Migrations not yet applied, in apply order.
    pub fn pending(&self, backend: &mut dyn Backend) -> Result<Vec<&'static Migration>, Error> {
        let (_, state) = self.state(backend)?;
        Ok(self.migrations_of(&plan::plan(self.set.graph(), &state, &Target::Head)?))
    }

    /// The history table, oldest first.
    pub fn history(&self, backend: &mut dyn Backend) -> Result<Vec<HistoryRow>, Error> {
        Ok(backend.history()?)
    }

    /// Applies migrations up to `target` (`Target::Head` for all).
    pub fn upgrade(&self, backend: &mut dyn Backend, target: &Target) -> Result<Report, Error> {
        self.upgrade_with(backend, target, &mut Quiet)
    }

    /// Reverts migrations down to `target` (`Target::Relative(-1)` for one step, `Target::Base`
    /// for all).
    pub fn downgrade(&self, backend: &mut dyn Backend, target: &Target) -> Result<Report, Error> {
        self.downgrade_with(backend, target, &mut Quiet)
    }

    /// The migrations an upgrade to `target` would run, in order, without running them.
    pub fn plan_upgrade(
        &self,
        backend: &mut dyn Backend,
        target: &Target,
    ) -> Result<Vec<&'static Migration>, Error> {
        let (version, state) = self.state(backend)?;
        let planned = self.planned(&state, version.as_deref(), target, Direction::Up)?;
        Ok(self.migrations_of(&planned))
    }

    /// One read of the version row before a run in `direction` (refused as that run itself
    /// would be when a rewritten migration was interrupted going the other way), for the
    /// `_of` planners and then [`Runner::upgrade_after_read`] / [`Runner::downgrade_after_read`].
    pub fn read_for(&self, backend: &mut dyn Backend, direction: Direction) -> Result<VersionRead, Error> {
        let (version, state, resume) = self.state_or_resume(backend, direction)?;
        Ok(VersionRead { direction, version, state, resume })
    }

    /// The migrations an upgrade to `target` would apply from a read already made (in plan
    /// order). Asks the database nothing.
    pub fn plan_upgrade_of(
        &self,
        read: &VersionRead,
        target: &Target,
    ) -> Result<Vec<&'static Migration>, Error> {
        let planned = self.planned(&read.state, read.version.as_deref(), target, Direction::Up)?;
        Ok(self.migrations_of(&planned))
    }

    /// The migrations applied at `read`, in plan order (what the lint knows the schema from).
    pub fn applied_of(&self, read: &VersionRead) -> Vec<&'static Migration> {
        self.set.graph().applied_in(&read.state).into_iter().filter_map(|r| self.set.get(r)).collect()
    }

    /// [`Runner::upgrade_with`] starting from `read` instead of reading the version again:
    /// with nothing to do it asks the database nothing more; with work, it reads again under
    /// the migration lock as every run does (without a lock, each migration's transaction
    /// re-checks the version).
    pub fn upgrade_after_read(
        &self,
        backend: &mut dyn Backend,
        read: VersionRead,
        target: &Target,
        listener: &mut dyn Listener,
    ) -> Result<Report, Error> {
        self.move_to(backend, target, Direction::Up, None, listener, Some(read))
    }

    /// [`Runner::downgrade_with`] (or, with `expected`, [`Runner::downgrade_exactly`])
    /// starting from `read`, as [`Runner::upgrade_after_read`] does for an upgrade.
    pub fn downgrade_after_read(
        &self,
        backend: &mut dyn Backend,
        read: VersionRead,
        target: &Target,
        expected: Option<&[String]>,
        listener: &mut dyn Listener,
    ) -> Result<Report, Error> {
        self.move_to(backend, target, Direction::Down, expected, listener, Some(read))
    }

    /// [`Runner::plan_downgrade`] from a read already made. Asks the database nothing.
    pub fn plan_downgrade_of(
        &self,
        read: &VersionRead,
        target: &Target,
    ) -> Result<(Vec<&'static Migration>, Option<String>), Error> {
        let planned = self.planned(&read.state, read.version.as_deref(), target, Direction::Down)?;
        let end = self.set.version_of(&read.state.after_plan(self.set.graph(), &planned));
        Ok((self.migrations_of(&planned), end))
    }

    /// The migrations a downgrade to `target` would revert, in revert order, and the version
    /// it ends at (`None` = base), without running anything.
    pub fn plan_downgrade(
        &self,
        backend: &mut dyn Backend,
        target: &Target,
    ) -> Result<(Vec<&'static Migration>, Option<String>), Error> {
        let (version, state) = self.state(backend)?;
        let planned = self.planned(&state, version.as_deref(), target, Direction::Down)?;
        let end = self.set.version_of(&state.after_plan(self.set.graph(), &planned));
        Ok((self.migrations_of(&planned), end))
    }

    /// The one planner's answer for `target`, refused when it goes the other way than
    /// `direction`.
    fn planned(
        &self,
        state: &State,
        version: Option<&str>,
        target: &Target,
        direction: Direction,
    ) -> Result<plan::Plan<'static>, Error> {
        let planned = plan::plan(self.set.graph(), state, target)?;
        let (way, hint) = match direction {
            Direction::Down => (plan::Direction::Down, "upgrade"),
            _ => (plan::Direction::Up, "downgrade"),
        };
        match planned.direction {
            Some(d) if d != way => Err(Error::WrongDirection {
                direction,
                target: target.to_string(),
                current: version.unwrap_or("base").to_string(),
                hint,
            }),
            _ => Ok(planned),
        }
    }

    fn migrations_of(&self, planned: &plan::Plan<'_>) -> Vec<&'static Migration> {
        planned.steps.iter().filter_map(|s| self.set.get(s.revision)).collect()
    }

    /// Builds a new, empty database from `ops` (the schema at head) and stamps it at head, in
    /// one transaction with its history row, under the migration lock like any run (foreign
    /// key switching and the identifier check included). Refused with [`Error::NotEmpty`]
    /// when, once the lock is held, the database has tables or a version. Returns the head.
    pub fn create_at_head(
        &self,
        backend: &mut dyn Backend,
        ops: Vec<Op>,
        message: &'static str,
    ) -> Result<Option<&'static Migration>, Error> {
        let head = self.set.head();
        let mut step = Step {
            revision: head.map_or("base", |m| m.revision),
            message,
            direction: Direction::Up,
            ops,
            new_version: head.map(|m| m.revision.to_string()),
            record: head.is_some(),
            transactional: true,
            checksum: head.map(crate::checksum::of),
            // Stamped from the models: nothing of head's upgrade ran.
            acknowledged: None,
            before: None,
        };
        check_identifiers(backend, std::slice::from_ref(&step))?;
        let lock = self.lock(backend)?;
        // Under the lock: another process may have created it meanwhile.
        let current = backend.current_revision()?;
        let tables = backend.introspect()?;
        if current.is_some() || !tables.tables.is_empty() {
            let mut what: Vec<String> = tables.tables.keys().cloned().collect();
            what.extend(current.map(|r| format!("version {r}")));
            return Err(Error::NotEmpty(what.join(", ")));
        }
        backend.ensure_version_tables()?;
        let mut ctx = RunContext {
            listener: &mut Quiet,
            log_statements: self.log_statements,
            total: 1,
            index: 0,
            recheck: lock.is_none().then_some(&self.set),
            transaction_lock: (self.lock_mode == LockMode::Transaction).then_some(self.lock_timeout),
            announced: 0,
        };
        let applied = run_in_transaction(backend, std::slice::from_mut(&mut step), &[], &mut ctx)?;
        drop(lock);
        if applied.is_empty() && head.is_some() {
            // Without a run lock the transaction re-read the version: another process won.
            let current = backend.current_revision()?.unwrap_or_else(|| "base".into());
            return Err(Error::NotEmpty(format!("version {current}, created meanwhile by another process")));
        }
        Ok(head)
    }

    /// Sets the version to `target` without running anything, recording a `stamp` history
    /// row: `head`, `base`, a revision (the database is then at exactly that revision and its
    /// ancestors), or `+N`/`-N` planned from the version read under the lock. Returns the
    /// stamped revision (the last head of the new state in the graph's order).
    pub fn stamp(
        &self,
        backend: &mut dyn Backend,
        target: &Target,
    ) -> Result<Option<&'static Migration>, Error> {
        let graph = self.set.graph();
        let stamped = self.record_event(backend, |current| {
            let end = match target {
                Target::Head => graph.all_applied(),
                Target::Base => graph.base(),
                Target::Revision(prefix) => {
                    let id = graph.find(prefix)?;
                    graph.state_from_heads(&[id]).map_err(|e| TargetError::UnknownCurrent(e.to_string()))?
                }
                Target::Relative(_) => {
                    // A stamp is how a corrupt or unknown version is repaired: relative to it
                    // is relative to base.
                    let state = current.ok().and_then(|v| self.set.state_at(v.as_deref()).ok());
                    let state = state.unwrap_or_else(|| graph.base());
                    state.after_plan(graph, &plan::plan(graph, &state, target)?)
                }
            };
            let heads = graph.heads_of(&end);
            let migration = heads.last().and_then(|h| self.set.get(h));
            let version = self.set.version_of(&end);
            let message = match (migration, heads.len()) {
                (None, _) => "stamped at base".to_string(),
                (Some(m), 1) => m.message.to_string(),
                (Some(_), _) => format!("stamped at {}", version.as_deref().unwrap_or("base")),
            };
            let record = event(
                migration.map_or("base", |m| m.revision),
                message,
                Direction::Stamp,
                version,
                migration.map(crate::checksum::of),
            );
            Ok((record, migration))
        })?;
        // A version table that held two rows gets its one-row index now that it has one.
        backend.ensure_version_tables()?;
        Ok(stamped)
    }

    /// Records the current checksum of an applied migration after a reviewed edit, so that
    /// validation stops reporting it as drift. The version does not change.
    pub fn accept(&self, backend: &mut dyn Backend, revision: &str) -> Result<&'static Migration, Error> {
        let migration = self.set.find(revision)?;
        let table = backend.version_tables().version.clone();
        self.record_event(backend, |current| {
            let version = current?;
            let state = self.state_of(&table, version.as_deref())?;
            if !self.set.graph().is_applied(&state, migration.revision) {
                return Err(Error::NotApplied(migration.revision.to_string()));
            }
            let checksum = Some(crate::checksum::of(migration));
            let record = event(
                migration.revision,
                migration.message.into(),
                Direction::Accept,
                self.set.version_of(&state),
                checksum,
            );
            Ok((record, migration))
        })
    }

    /// Settles an interrupted non-transactional migration after an operator checked the
    /// database: `applied` when it took effect, otherwise rolled back. Clears the dirty marker
    /// and sets the version accordingly, recording a `resolve` history row. Returns the new
    /// version (`None` = base).
    pub fn resolve(
        &self,
        backend: &mut dyn Backend,
        revision: &str,
        applied: bool,
    ) -> Result<Option<String>, Error> {
        let table = backend.version_tables().version.clone();
        self.record_event(backend, |current| {
            let (dirty, direction, before) = match current {
                Err(BackendError::Dirty { revision, direction, version })
                | Err(BackendError::InProgress { revision, direction, version, .. }) => {
                    (revision, direction, version)
                }
                Ok(_) => return Err(Error::NotDirty),
                Err(e) => return Err(e.into()),
            };
            let migration = self
                .set
                .get(&dirty)
                .ok_or_else(|| TargetError::Unknown { given: dirty.clone(), suggestions: vec![] })?;
            let given = self.set.find(revision)?;
            if given.revision != migration.revision {
                return Err(Error::ResolveOther { dirty, given: given.revision.to_string() });
            }
            let state = self.state_of(&table, before.as_deref())?;
            let took_effect = match (direction, applied) {
                (Direction::Up, true) => Some(plan::Direction::Up),
                (Direction::Down, true) => Some(plan::Direction::Down),
                _ => None,
            };
            let state = match took_effect {
                Some(direction) => {
                    state.after(self.set.graph(), &plan::Step { revision: migration.revision, direction })
                }
                None => state,
            };
            let version = self.set.version_of(&state);
            let outcome = if applied { "applied" } else { "rolled back" };
            let message = format!("{direction} of {} resolved as {outcome}", migration.message);
            let checksum = Some(crate::checksum::of(migration));
            Ok((event(migration.revision, message, Direction::Resolve, version.clone(), checksum), version))
        })
    }

    /// Writes one bookkeeping row for something that runs no migration (stamp, accept,
    /// resolve) under the same lock as a run, in a transaction of its own. `decide` gets the
    /// version as read inside that transaction, after the locks, so nothing moves it before
    /// the commit; it returns the row to write, or an error that ends the transaction.
    fn record_event<T>(
        &self,
        backend: &mut dyn Backend,
        decide: impl FnOnce(Result<Option<String>, BackendError>) -> Result<(Record, T), Error>,
    ) -> Result<T, Error> {
        let _lock = self.lock(backend)?;
        backend.ensure_version_tables()?;
        backend.begin()?;
        let result = (|| {
            if self.lock_mode == LockMode::Transaction {
                backend.lock_transaction(self.lock_timeout)?;
            }
            let current = backend.current_revision();
            let expected = current.as_ref().ok().cloned();
            let (record, value) = decide(current)?;
            backend.expect_version(expected.as_ref().map(Option::as_deref));
            backend.record_and_commit(&[record])?;
            Ok(value)
        })();
        if result.is_err() {
            if let Err(e) = backend.rollback() {
                tracing::warn!("rollback after a failed {} also failed: {e}", "bookkeeping");
            }
        }
        result
    }

    /// [`Runner::upgrade`], telling `listener` about each migration as it runs.
    pub fn upgrade_with(
        &self,
        backend: &mut dyn Backend,
        target: &Target,
        listener: &mut dyn Listener,
    ) -> Result<Report, Error> {
        self.move_to(backend, target, Direction::Up, None, listener, None)
    }

    /// [`Runner::downgrade`], telling `listener` about each migration as it runs.
    pub fn downgrade_with(
        &self,
        backend: &mut dyn Backend,
        target: &Target,
        listener: &mut dyn Listener,
    ) -> Result<Report, Error> {
        self.move_to(backend, target, Direction::Down, None, listener, None)
    }

    /// [`Runner::downgrade_with`], only if it reverts exactly `expected` (revisions in revert
    /// order, as an operator confirmed them) once the migration lock is held; otherwise
    /// [`Error::PlanChanged`] and nothing runs.
    pub fn downgrade_exactly(
        &self,
        backend: &mut dyn Backend,
        target: &Target,
        expected: &[String],
        listener: &mut dyn Listener,
    ) -> Result<Report, Error> {
        self.move_to(backend, target, Direction::Down, Some(expected), listener, None)
    }

    /// Moves the database to `target` in `direction`, under the migration lock; with
    /// `expected`, only along exactly those revisions; from `read` when the caller has read
    /// the version already (in `direction`).
    fn move_to(
        &self,
        backend: &mut dyn Backend,
        target: &Target,
        direction: Direction,
        expected: Option<&[String]>,
        listener: &mut dyn Listener,
        read: Option<VersionRead>,
    ) -> Result<Report, Error> {
        let graph = self.set.graph();
        let way = if direction == Direction::Up { plan::Direction::Up } else { plan::Direction::Down };
        let (version, state, resume) = match read {
            Some(VersionRead { direction: d, version, state, resume }) if d == direction => {
                (version, state, resume)
            }
            _ => self.state_or_resume(backend, direction)?,
        };
        let planned = self.planned(&state, version.as_deref(), target, direction)?;
        if planned.is_empty() && expected.is_none_or(<[String]>::is_empty) && resume.is_none() {
            // Nothing to do: no lock, so the start-up check stays one query.
            return Ok(Report { from: version.clone(), to: version, applied: Vec::new() });
        }
        // Where the target leaves the database, fixed now: a relative target resolved before
        // the lock keeps its end, wherever another migrator moves the database meanwhile.
        let wanted = state.after_plan(graph, &planned);
        let lock = self.lock(backend)?;
        let (version, state, resume) =
            if lock.is_some() { self.state_or_resume(backend, direction)? } else { (version, state, resume) };
        let planned = plan::between(graph, &state, &wanted, way);
        if let Some(expected) = expected {
            if planned.steps.iter().map(|s| s.revision).ne(expected.iter().map(String::as_str)) {
                return Err(Error::PlanChanged {
                    shown: expected.to_vec(),
                    now: planned.revisions().iter().map(|r| r.to_string()).collect(),
                    current: version.unwrap_or_else(|| "base".into()),
                });
            }
        }
        if planned.is_empty() {
            return Ok(Report { from: version.clone(), to: version, applied: Vec::new() });
        }
        if way == plan::Direction::Up {
            self.check_drift(backend, &state)?;
        }
        if let Some((revision, done, _)) = &resume {
            if planned.steps.first().map(|s| s.revision) != Some(revision.as_str()) {
                return Err(Error::Unfinished { revision: revision.clone(), direction, done: *done });
            }
        }
        let steps = self.steps(version.clone(), &state, &planned);
        let resume = resume.map(|(_, done, plan)| (done, plan));
        self.run(backend, version, &state, steps, listener, lock.is_none(), resume)
    }

    /// The version row and its state, or (when a rewritten migration in `direction` was
    /// interrupted between its steps) the version under the marker and where to resume: the
    /// migration and its steps done.
    fn state_or_resume(
        &self,
        backend: &mut dyn Backend,
        direction: Direction,
    ) -> Result<(Option<String>, State, Option<Resume>), Error> {
        match backend.current_revision() {
            Err(BackendError::InProgress { revision, direction: d, version, done, plan })
                if d == direction =>
            {
                let state = self.state_of(&backend.version_tables().version, version.as_deref())?;
                Ok((version, state, Some((revision, done, plan))))
            }
            Err(BackendError::InProgress { revision, direction, done, .. }) => {
                Err(Error::Unfinished { revision, direction, done })
            }
            Err(e) => Err(e.into()),
            Ok(version) => {
                let state = self.state_of(&backend.version_tables().version, version.as_deref())?;
                Ok((version, state, None))
            }
        }
    }

    /// The runner's steps for `planned` from `state`, whose version row reads `version`:
    /// each with the version it expects and the version it leaves, the state moving one step
    /// at a time. The first expects the row as read (a squash target reads as its checkpoint,
    /// and is written as the checkpoint once the first step is done).
    fn steps(
        &self,
        version: Option<String>,
        state: &State,
        planned: &plan::Plan<'static>,
    ) -> Vec<Step<'static>> {
        let mut walk = plan::Walk::new(self.set.graph(), state);
        let mut before = version;
        let mut steps = Vec::with_capacity(planned.steps.len());
        for step in &planned.steps {
            let Some(m) = self.set.get(step.revision) else { continue };
            walk.step(step);
            let after = walk.version();
            let direction = match step.direction {
                plan::Direction::Up => Direction::Up,
                plan::Direction::Down => Direction::Down,
            };
            steps.push(Step::of(m, direction, before, after.clone()));
            before = after;
        }
        steps
    }

    /// Before applying on top of the migrations applied in `state`: warns about or refuses
    /// those that drifted. Only asked when something is pending, so the start-up check stays
    /// one query.
    fn check_drift(&self, backend: &mut dyn Backend, state: &State) -> Result<(), Error> {
        let applied: Vec<&'static Migration> =
            self.set.graph().applied_in(state).into_iter().filter_map(|r| self.set.get(r)).collect();
        if applied.is_empty() {
            return Ok(());
        }
        let drifted = crate::validate::find_drift(&applied, &backend.history()?);
        if drifted.is_empty() {
            return Ok(());
        }
        match self.drift {
            DriftPolicy::Refuse => Err(Error::Drift(drifted)),
            DriftPolicy::Warn => {
                for d in &drifted {
                    tracing::warn!("applying on top of a drifted migration: {d}");
                }
                Ok(())
            }
        }
    }

    /// The run lock, in session mode; `None` means each transaction re-checks the version.
    fn lock(&self, backend: &mut dyn Backend) -> Result<Option<RunLock>, Error> {
        match self.lock_mode {
            LockMode::Session => Ok(backend.lock_for_run(self.lock_timeout)?),
            LockMode::Transaction => Ok(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        backend: &mut dyn Backend,
        version: Option<String>,
        state: &State,
        mut steps: Vec<Step<'static>>,
        listener: &mut dyn Listener,
        recheck: bool,
        resume: Option<(usize, Option<String>)>,
    ) -> Result<Report, Error> {
        let mut report = Report { from: version.clone(), to: version, applied: Vec::new() };
        if steps.is_empty() {
            return Ok(report);
        }
        check_identifiers(backend, &steps)?;
        backend.ensure_version_tables()?;
        let mut ctx = RunContext {
            listener,
            log_statements: self.log_statements,
            total: steps.len(),
            index: 0,
            recheck: recheck.then_some(&self.set),
            transaction_lock: (self.lock_mode == LockMode::Transaction).then_some(self.lock_timeout),
            announced: 0,
        };
        if let (Some((done, _)), Some(step), LockMode::Transaction) = (&resume, steps.first(), self.lock_mode)
        {
            // Without a run lock two migrators would both resume: both run the next steps, one
            // drops as INVALID the index the other is building, and a slower one moves the
            // marker back (the version row does not move between steps). Resumed under the
            // run lock only.
            return Err(Error::ResumeWithoutRunLock {
                revision: step.revision.to_string(),
                direction: step.direction,
                done: *done,
            });
        }
        match self.mode {
            TransactionMode::PerMigration => {
                let mut rewriter = self.rewriter(backend, state, resume.is_some())?;
                let mut resume = resume;
                for step in &mut steps {
                    let staged = match rewriter.as_mut() {
                        Some(r) => r.plan(step)?,
                        None => None,
                    };
                    let resume = resume.take();
                    if let (Some((done, _)), None) = (&resume, &staged) {
                        // The marker says it ran in steps, but it is not rewritten now (its ops
                        // changed): running it whole would repeat the steps done.
                        return Err(Error::Unfinished {
                            revision: step.revision.to_string(),
                            direction: step.direction,
                            done: *done,
                        });
                    }
                    if let (Some((done, Some(stored))), Some(plan)) = (&resume, &staged) {
                        // Staged differently from the interrupted run (the migration was
                        // edited, the server or the declared empty tables changed): the steps
                        // counted as done are not this plan's, so resuming would skip or
                        // repeat some.
                        let now = crate::rewrite::fingerprint(plan, step.checksum.as_deref().unwrap_or(""));
                        if *stored != now {
                            return Err(Error::ResumeMismatch {
                                revision: step.revision.to_string(),
                                direction: step.direction,
                                done: *done,
                                steps: plan.steps.len(),
                            });
                        }
                    }
                    let resume = resume.map(|(done, _)| done);
                    let applied = if let Some(plan) = staged {
                        staged::run(
                            backend,
                            step,
                            &plan,
                            resume,
                            &report.applied,
                            &mut ctx,
                            &self.rewrite.retry,
                        )?
                    } else if step.transactional {
                        run_in_transaction(backend, std::slice::from_mut(step), &report.applied, &mut ctx)?
                    } else {
                        run_outside_transaction(backend, step, &report.applied, &mut ctx)?
                    };
                    report.to = step.new_version.clone();
                    report.applied.extend(applied);
                }
            }
            TransactionMode::Grouped => {
                // Grouped runs (fresh and test databases) are not rewritten, and cannot resume.
                if let (Some((done, _)), Some(step)) = (resume, steps.first()) {
                    return Err(Error::Unfinished {
                        revision: step.revision.to_string(),
                        direction: step.direction,
                        done,
                    });
                }
                if let Some(step) = steps.iter().find(|s| !s.transactional) {
                    return Err(Error::NotGroupable(step.revision.to_string()));
                }
                report.applied = run_in_transaction(backend, &mut steps, &[], &mut ctx)?;
                report.to = steps.last().and_then(|s| s.new_version.clone());
            }
        }
        Ok(report)
    }
}

/// Where an interrupted rewritten migration resumes: its revision, its steps done and the
/// fingerprint of the staged plan they belong to (`None`: an older marker).
type Resume = (String, usize, Option<String>);

/// One read of the version row before a run ([`Runner::read_for`]): what the lint of the
/// pending migrations or a rollback's plan check judges, and where the run that follows
/// starts ([`Runner::upgrade_after_read`]), so a start-up with nothing to do asks the
/// database once. A run in the other direction than the read's reads again.
#[derive(Debug, Clone)]
pub struct VersionRead {
    direction: Direction,
    version: Option<String>,
    state: State,
    resume: Option<Resume>,
}

/// Plans each migration of a run as [`crate::rewrite`] stages it, following the schema model
/// from migration to migration.
struct Rewriter {
    major: crate::locks::PgMajor,
    known: crate::locks::Known,
    options: crate::rewrite::RewriteOptions,
    /// Rewriting is off but a run resumes a rewritten migration: only that first one is staged.
    once: bool,
}

impl Rewriter {
    /// `step`'s staged plan when it is rewritten (`None`: it runs as it always did).
    fn plan(&mut self, step: &Step<'_>) -> Result<Option<crate::rewrite::StagedPlan>, Error> {
        let plan = crate::rewrite::rewrite(
            step.revision,
            step.transactional,
            &step.ops,
            self.major,
            &self.known,
            &self.options,
        )?;
        for op in &step.ops {
            self.known.follow(op);
        }
        if self.once {
            self.options.enabled = false;
        }
        Ok(plan.rewritten.then_some(plan))
    }
}

impl Runner {
    /// The rewriter for a run from `state`, when rewriting is on and the engine is PostgreSQL
    /// (asked for its version: one query, only when something is pending).
    /// `resuming`: the run resumes an interrupted rewritten migration, which must go on in
    /// steps whatever the settings say now.
    fn rewriter(
        &self,
        backend: &mut dyn Backend,
        state: &State,
        resuming: bool,
    ) -> Result<Option<Rewriter>, Error> {
        let enabled = self.rewrite.options.enabled;
        if !(enabled || resuming) || backend.kind() != crate::ops::DialectKind::Postgres {
            return Ok(None);
        }
        // Without a run lock two migrators could run the same steps at once (the version row
        // does not move between steps), and a session lock_timeout would leak through a
        // transaction pooler: behind PgBouncer migrations run as written.
        if self.lock_mode == LockMode::Transaction {
            tracing::info!("lock-safe rewriting is off in the transaction lock mode (no run lock)");
            return Ok(None);
        }
        let major = match backend.server_version_num()? {
            Some(num) => match crate::locks::PgMajor::from_server_version_num(num) {
                Ok(major) => major,
                Err(crate::locks::PgVersionError::TooNew { .. }) => crate::locks::PgMajor::NEWEST,
                // Rewriting asked for on a server older than any whose facts strata knows:
                // refused before anything runs. (Resuming a run begun on it still finishes.)
                Err(crate::locks::PgVersionError::TooOld { major }) if enabled => {
                    return Err(crate::rewrite::RewriteError::UnsupportedServer { major }.into())
                }
                Err(_) => crate::locks::PgMajor::OLDEST,
            },
            None => crate::locks::PgMajor::OLDEST,
        };
        let graph = self.set.graph();
        let known =
            crate::locks::Known::after(graph.applied_in(state).into_iter().filter_map(|r| self.set.get(r)));
        // Resuming with rewriting off: staged with the same options (the tables declared
        // empty) as a run with it on, so the plan matches the interrupted one.
        let options = crate::rewrite::RewriteOptions { enabled: true, ..self.rewrite.options.clone() };
        Ok(Some(Rewriter { major, known, options, once: !enabled }))
    }
}

/// A bookkeeping row for something that runs no migration (stamp, accept, resolve).
fn event(
    revision: &str,
    message: String,
    direction: Direction,
    new_version: Option<String>,
    checksum: Option<String>,
) -> Record {
    Record {
        revision: revision.to_string(),
        message,
        direction,
        new_version,
        applied_at: chrono::Utc::now(),
        duration: Duration::ZERO,
        checksum,
        acknowledged: None,
    }
}

/// Rejects, before anything runs, an identifier the engine would silently truncate.
fn check_identifiers(backend: &dyn Backend, steps: &[Step<'_>]) -> Result<(), Error> {
    let dialect = backend.dialect();
    let Some(max) = dialect.max_identifier_bytes() else { return Ok(()) };
    for step in steps {
        for op in &step.ops {
            if let Some(name) = op.identifiers().into_iter().find(|n| n.len() > max) {
                return Err(Error::IdentifierTooLong(Box::new(LongIdentifier {
                    revision: step.revision.to_string(),
                    op: op.to_string(),
                    name: name.to_string(),
                    bytes: name.len(),
                    max,
                    engine: dialect.kind().to_string(),
                })));
            }
        }
    }
    Ok(())
}

/// What a run carries from migration to migration besides the backend.
struct RunContext<'l> {
    listener: &'l mut dyn Listener,
    log_statements: bool,
    total: usize,
    index: usize,
    /// Without a run lock: re-read the version inside each transaction against this set.
    recheck: Option<&'l MigrationSet>,
    /// Take a transaction-scoped lock in each transaction, waiting at most this long.
    transaction_lock: Option<Duration>,
    /// How many steps the listener has heard start: a transaction started again (for a
    /// rebuild) runs its steps again without announcing them twice.
    announced: usize,
}

impl RunContext<'_> {
    /// Tells the listener that `step`, the run's next, starts (once, however many attempts).
    fn starting(&mut self, step: &Step<'_>) {
        if self.index >= self.announced {
            self.listener.starting(step.revision, step.message, step.direction, self.index, self.total);
            self.announced = self.index + 1;
        }
        self.index += 1;
    }
}

/// Whether `step` still has to run, read inside its transaction: another migrator may have
/// run it while this one waited for the write lock. Another migrator on another plan (a
/// branch first, say) may have left the database elsewhere: when `step` can still run there
/// (its parents applied, or for a downgrade no child applied) and may be moved (`adjust`: it
/// runs alone in its transaction), it runs from there, its versions updated. Anything else is
/// a move this run cannot build on.
fn still_needed(
    backend: &mut dyn Backend,
    set: &MigrationSet,
    step: &mut Step<'_>,
    adjust: bool,
) -> Result<bool, Error> {
    let current = backend.current_revision()?;
    if current == step.before {
        return Ok(true);
    }
    let state = set.state_at(current.as_deref())?;
    let graph = set.graph();
    let applied = graph.is_applied(&state, step.revision);
    let (done, runnable, direction) = match step.direction {
        Direction::Up => (
            applied,
            !applied && graph.parents_of(step.revision).iter().all(|p| graph.is_applied(&state, p)),
            plan::Direction::Up,
        ),
        Direction::Down => (
            !applied && set.get(step.revision).is_some(),
            graph.heads_of(&state).contains(&step.revision),
            plan::Direction::Down,
        ),
        _ => (false, false, plan::Direction::Up),
    };
    if done {
        return Ok(false);
    }
    if runnable && adjust && step.record {
        step.new_version =
            set.version_of(&state.after(graph, &plan::Step { revision: step.revision, direction }));
        step.before = current;
        backend.expect_version(Some(step.before.as_deref()));
        return Ok(true);
    }
    Err(Error::Moved {
        revision: step.revision.to_string(),
        current: current.unwrap_or_else(|| "base".into()),
    })
}

/// A failed transaction of `step`, told apart from a version that moved under it: a killed
/// migrator's transaction that the server committed late, which this run's statements or
/// its bookkeeping's check then ran into. Read after the rollback, only on failure.
fn moved_or(backend: &mut dyn Backend, step: Option<&Step<'_>>, error: Error) -> Error {
    let Some(step) = step.filter(|s| s.record) else { return error };
    if !matches!(error, Error::Migration(_) | Error::Backend(_)) {
        return error;
    }
    match backend.current_revision() {
        Ok(current) if current != step.before => Error::Moved {
            revision: step.revision.to_string(),
            current: current.unwrap_or_else(|| "base".into()),
        },
        _ => error,
    }
}

/// Whether `ops` rebuild a table whatever it holds: an op that asks for a snapshot and has no
/// plain form ([`crate::dialect::Dialect::plain_form`]) the live table could allow.
fn always_rebuilds(dialect: &dyn crate::dialect::Dialect, ops: &[Op]) -> bool {
    ops.iter().any(|op| dialect.needs_snapshot(op).is_some() && dialect.plain_form(op).is_none())
}

/// How one attempt at a transaction ended, when no error ended it.
enum Attempt {
    /// Committed (or found done by another migrator: empty).
    Applied(Vec<Applied>),
    /// Rolled back: an op must rebuild its table, which needs foreign keys off, and those
    /// can only be turned off outside a transaction. The failure names the op, for where
    /// starting again cannot help.
    Rebuild(Box<MigrationFailure>),
}

/// Runs `steps` in one transaction with their bookkeeping; on failure rolls everything back.
/// A rebuild needs foreign keys off (and a foreign key check before commit), set before the
/// transaction begins. When only the live table can tell whether an op rebuilds (a SQLite
/// drop_column), the transaction starts with them on and tries the plain form, which SQLite
/// refuses for a column a key, index or check needs; only then does it start again with them
/// off. A plain `DROP COLUMN` so costs no snapshot, no switch and no check.
fn run_in_transaction(
    backend: &mut dyn Backend,
    steps: &mut [Step<'_>],
    completed: &[Applied],
    ctx: &mut RunContext<'_>,
) -> Result<Vec<Applied>, Error> {
    let dialect = backend.dialect();
    if !steps.iter().any(|s| always_rebuilds(dialect, &s.ops)) {
        let index = ctx.index;
        match attempt_transaction(backend, steps, completed, ctx, None)? {
            Attempt::Applied(applied) => return Ok(applied),
            Attempt::Rebuild(_) => {
                tracing::debug!("a table needs a rebuild: starting again with foreign keys off");
                ctx.index = index;
            }
        }
    }
    let fk_were_on = backend.set_foreign_keys(false)?;
    let result = attempt_transaction(backend, steps, completed, ctx, Some(fk_were_on));
    if fk_were_on {
        let restored = backend.set_foreign_keys(true);
        if let (Ok(_), Err(e)) = (&result, restored) {
            return Err(e.into());
        }
    }
    match result? {
        Attempt::Applied(applied) => Ok(applied),
        // With foreign keys off the sink rebuilds in place and never asks again.
        Attempt::Rebuild(mut failure) => {
            failure.completed = completed.to_vec();
            Err(Error::Migration(failure))
        }
    }
}

/// One transaction of `steps`. `foreign_keys_off`: `None` while they are on (an op that must
/// rebuild its table ends the attempt with [`Attempt::Rebuild`]), else whether they were on
/// before the caller turned them off (then the foreign key check runs before commit).
fn attempt_transaction(
    backend: &mut dyn Backend,
    steps: &mut [Step<'_>],
    completed: &[Applied],
    ctx: &mut RunContext<'_>,
    foreign_keys_off: Option<bool>,
) -> Result<Attempt, Error> {
    let rebuild = if foreign_keys_off.is_some() { Rebuilds::Allowed } else { Rebuilds::Restart };
    let fk_were_on = foreign_keys_off.unwrap_or(false);
    let result = (|| {
        backend.begin()?;
        if let Some(timeout) = ctx.transaction_lock {
            backend.lock_transaction(timeout)?;
        }
        if let Some(first) = steps.first().filter(|s| s.record) {
            backend.expect_version(Some(first.before.as_deref()));
        }
        let alone = steps.len() == 1;
        if let (Some(set), Some(first)) = (ctx.recheck, steps.first_mut()) {
            if !still_needed(backend, set, first, alone)? {
                if !alone {
                    return Err(Error::Moved {
                        revision: first.revision.to_string(),
                        current: "a later revision".into(),
                    });
                }
                tracing::info!(revision = first.revision, "already done by another migrator");
                backend.rollback()?;
                return Ok(Attempt::Applied(Vec::new()));
            }
        }
        let mut records = Vec::with_capacity(steps.len());
        let mut applied = Vec::with_capacity(steps.len());
        // A lone migration's last statement goes with its bookkeeping and commit (one round
        // trip fewer on PostgreSQL), unless a foreign key check must run between them.
        let fold = steps.len() == 1 && !fk_were_on;
        for step in steps.iter() {
            let span =
                tracing::info_span!("migration", revision = step.revision, direction = %step.direction);
            let _guard = span.enter();
            ctx.starting(step);
            let started = Instant::now();
            let held = match run_ops(backend, step, ctx.log_statements, fold && step.record, rebuild) {
                Ok(held) => held,
                Err(Stop::Rebuild(failure)) => {
                    backend.rollback()?;
                    return Ok(Attempt::Rebuild(failure));
                }
                Err(Stop::Failed(mut failure)) => {
                    failure.completed = completed.iter().chain(applied.iter()).cloned().collect();
                    return Err(Error::Migration(failure));
                }
            };
            if let Some(last) = held {
                let record = step.record(started.elapsed());
                backend.execute_record_and_commit(&last.statement, &[record]).map_err(|e| match e {
                    Finish::Statement(e) => {
                        let mut failure =
                            step.failure(last.index, last.op, Some(last.statement), e.to_string());
                        failure.completed = completed.to_vec();
                        Error::Migration(failure)
                    }
                    Finish::Bookkeeping(e) => commit_failure(step, e, completed),
                })?;
                let done = step.applied(started.elapsed());
                step.log_done(done.duration);
                ctx.listener.finished(&done);
                return Ok(Attempt::Applied(vec![done]));
            }
            let duration = started.elapsed();
            step.log_done(duration);
            if !step.record {
                continue;
            }
            records.push(step.record(duration));
            applied.push(step.applied(duration));
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
                    transactional: true,
                    steps: None,
                })));
            }
        }
        // Only a commit that succeeded makes a migration applied: a disk that fills at
        // commit rolls everything back, and the report must say so.
        let committed =
            if records.is_empty() { backend.commit() } else { backend.record_and_commit(&records) };
        if let Err(e) = committed {
            let last = steps.last().filter(|_| !applied.is_empty());
            return Err(match last {
                Some(step) => commit_failure(step, e, completed),
                None => Error::Backend(e),
            });
        }
        for done in &applied {
            ctx.listener.finished(done);
        }
        Ok(Attempt::Applied(applied))
    })();
    match result {
        Err(error) => {
            if let Err(e) = backend.rollback() {
                tracing::warn!("rollback after a failed migration also failed: {e}");
            }
            Err(moved_or(backend, steps.first(), error))
        }
        ok => ok,
    }
}

/// A commit (or the bookkeeping sent with it) that failed: nothing of the transaction
/// stayed, so `step` is reported as rolled back, naming it and the database's reason.
fn commit_failure(step: &Step<'_>, error: BackendError, completed: &[Applied]) -> Error {
    Error::Migration(Box::new(MigrationFailure {
        revision: step.revision.into(),
        message: step.message.into(),
        direction: step.direction,
        op: None,
        statement: error.statement().map(str::to_string).or_else(|| Some("COMMIT".into())),
        cause: format!("its commit failed: {error}"),
        completed: completed.to_vec(),
        transactional: true,
        steps: None,
    }))
}

/// Runs a non-transactional step: marked started (history row and the version table's dirty
/// marker, committed) before its statements run one by one, completed after. A failure leaves
/// the dirty marker, which blocks every run until an operator `resolve`s it.
fn run_outside_transaction(
    backend: &mut dyn Backend,
    step: &mut Step<'_>,
    completed: &[Applied],
    ctx: &mut RunContext<'_>,
) -> Result<Vec<Applied>, Error> {
    backend.begin()?;
    if let Some(timeout) = ctx.transaction_lock {
        backend.lock_transaction(timeout)?;
    }
    if let Some(set) = ctx.recheck {
        if !still_needed(backend, set, step, true)? {
            backend.rollback()?;
            return Ok(Vec::new());
        }
    }
    backend.expect_version(Some(step.before.as_deref()));
    if let Err(e) = backend.mark_started(&step.record(Duration::ZERO)) {
        let _ = backend.rollback();
        return Err(moved_or(backend, Some(step), e.into()));
    }
    ctx.starting(step);
    let started = Instant::now();
    run_ops(backend, step, ctx.log_statements, false, Rebuilds::Allowed).map_err(|stop| {
        let mut failure = stop.into_failure();
        failure.completed = completed.to_vec();
        failure.transactional = false;
        Error::Migration(failure)
    })?;
    let duration = started.elapsed();
    backend.begin()?;
    backend.expect_version(Some(step.before.as_deref()));
    backend.record_and_commit(&[step.record(duration)])?;
    let done = step.applied(duration);
    ctx.listener.finished(&done);
    Ok(vec![done])
}

/// A statement [`run_ops`] held back for the caller to send with the commit.
struct Held<'a> {
    index: usize,
    op: &'a Op,
    statement: String,
}

/// Renders and executes one step's ops through the one executor ([`crate::execute`]),
/// naming the op and statement on failure. With `hold_last`, the step's last statement is
/// returned instead of executed when the step ends with one (not with a data op).
fn run_ops<'s>(
    backend: &mut dyn Backend,
    step: &'s Step<'_>,
    log_statements: bool,
    hold_last: bool,
    rebuilds: Rebuilds,
) -> Result<Option<Held<'s>>, Stop> {
    let dialect = backend.dialect();
    let mut sink = LiveSink { backend, step, log_statements, hold_last, rebuilds, held: None };
    crate::execute::execute(dialect, &step.ops, &mut sink)?;
    Ok(sink.held)
}

/// Whether an op may rebuild its table where it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rebuilds {
    /// Foreign keys are off (or the step runs outside a transaction, as it always did).
    Allowed,
    /// Foreign keys are on: an op that must rebuild stops the ops ([`Stop::Rebuild`]).
    Restart,
}

/// Why a step's ops stopped.
enum Stop {
    /// An op failed.
    Failed(Box<MigrationFailure>),
    /// An op must rebuild its table and foreign keys are on ([`Rebuilds::Restart`]): the
    /// caller starts the transaction again with them off. The failure is what it means
    /// where that cannot be done.
    Rebuild(Box<MigrationFailure>),
}

impl From<Box<MigrationFailure>> for Stop {
    fn from(failure: Box<MigrationFailure>) -> Self {
        Stop::Failed(failure)
    }
}

impl Stop {
    /// The failure to report when the ops cannot be run again.
    fn into_failure(self) -> Box<MigrationFailure> {
        match self {
            Stop::Failed(failure) | Stop::Rebuild(failure) => failure,
        }
    }
}

/// The runner's [`crate::execute::Sink`]: the live connection.
struct LiveSink<'b, 's, 'm> {
    backend: &'b mut dyn Backend,
    step: &'s Step<'m>,
    log_statements: bool,
    hold_last: bool,
    rebuilds: Rebuilds,
    held: Option<Held<'s>>,
}

impl<'s> LiveSink<'_, 's, '_> {
    /// The step's op at `index`, borrowed for as long as the step (what [`Held`] keeps).
    fn op(&self, index: usize) -> &'s Op {
        &self.step.ops[index]
    }
}

impl crate::execute::Sink for LiveSink<'_, '_, '_> {
    type Error = Stop;

    fn snapshot(
        &mut self,
        index: usize,
        op: &Op,
        table: &str,
    ) -> Result<Option<crate::schema::TableSnapshot>, Self::Error> {
        if self.rebuilds == Rebuilds::Restart {
            let cause = format!("{op} rebuilds table {table}, which needs foreign keys off");
            return Err(Stop::Rebuild(self.step.failure(index, op, None, cause)));
        }
        let found = self
            .backend
            .snapshot_table(table)
            .map_err(|e| self.step.failure(index, op, e.statement().map(str::to_string), e.to_string()))?;
        match found {
            Some(snapshot) => Ok(Some(snapshot)),
            None => Err(self
                .step
                .failure(index, op, None, RenderError::NoSuchTable(table.to_string()).to_string())
                .into()),
        }
    }

    /// Only with foreign keys on, where the general form (a rebuild) would have to start the
    /// transaction again; with them off the snapshot decides, as it always did.
    fn try_plain_form(
        &mut self,
        index: usize,
        op: &Op,
        statements: Vec<String>,
    ) -> Result<bool, Self::Error> {
        if self.rebuilds == Rebuilds::Allowed {
            return Ok(false);
        }
        for statement in statements {
            log_statement(&statement, self.log_statements);
            match self.backend.try_plain_form(op, &statement) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => return Err(self.step.failure(index, op, Some(statement), e.to_string()).into()),
            }
        }
        Ok(true)
    }

    fn render_failed(&mut self, index: usize, op: &Op, error: RenderError) -> Self::Error {
        self.step.failure(index, op, None, error.to_string()).into()
    }

    fn data(&mut self, index: usize, op: &Op) -> Result<(), Self::Error> {
        if let Op::Data { run, .. } = op {
            run(self.backend.data()).map_err(|e| self.step.failure(index, op, None, e.to_string()))?;
        }
        Ok(())
    }

    fn statement(&mut self, index: usize, op: &Op, statement: String, last: bool) -> Result<(), Self::Error> {
        log_statement(&statement, self.log_statements);
        if last && self.hold_last {
            self.held = Some(Held { index, op: self.op(index), statement });
            return Ok(());
        }
        self.backend
            .execute(&statement)
            .map_err(|e| self.step.failure(index, op, Some(statement), e.to_string()).into())
    }
}

fn log_statement(statement: &str, at_info: bool) {
    if at_info {
        tracing::info!(sql = %statement, "execute");
    } else {
        tracing::debug!(sql = %statement, "execute");
    }
}
