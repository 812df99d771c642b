//! Runs a migration that [`crate::rewrite`] staged into several steps: each transactional
//! step commits with its record (the dirty marker `<direction>:<revision>#<steps done>`), each
//! step outside a transaction is recorded right after it, and the last one commits the
//! migration's version and history rows. A run killed between or during steps leaves the
//! marker, and the next run resumes after the steps it names. Every step runs with a short
//! `lock_timeout`, retried with backoff on a lock timeout (SQLSTATE 55P03, as the backend
//! classifies it) up to a bounded total.

use super::{moved_or, Applied, Error, MigrationFailure, RunContext, Step};
use crate::backend::{Backend, BackendError, Direction};
use crate::dialect::RenderError;
use crate::ops::Op;
use crate::rewrite::{LockRetry, StagedPlan};
use std::fmt;
use std::time::{Duration, Instant};

/// A rewritten step that kept timing out on its locks until the retry bound.
#[derive(Debug)]
#[non_exhaustive]
pub struct LockRetriesExhausted {
    /// The migration.
    pub revision: String,
    /// Which way it ran.
    pub direction: Direction,
    /// The step (1-based) that could not get its locks.
    pub step: usize,
    /// How many steps the migration was rewritten into.
    pub steps: usize,
    /// The statement that timed out last.
    pub statement: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// How long the step tried, sleeps included.
    pub waited: Duration,
}

impl fmt::Display for LockRetriesExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {}: step {} of {} of its lock-safe rewrite could not get its locks: {} attempts, each \
             with a short lock_timeout, timed out (SQLSTATE 55P03) over {:.1} s\n  statement: {}\n  \
             steps before it are committed and recorded, and the next {} resumes at step {}. Remedy: find \
             the transaction that holds a lock on the table for so long (pg_stat_activity, pg_locks) and \
             let it finish or end it, then run again; or allow longer retries (STRATA_REWRITE_RETRY_TOTAL, \
             rewrite_retry_total in strata.toml)",
            self.direction,
            self.revision,
            self.step,
            self.steps,
            self.attempts,
            self.waited.as_secs_f64(),
            self.statement.replace('\n', " "),
            self.direction,
            self.step
        )
    }
}

/// Why one attempt of a step failed.
enum Attempt {
    /// A lock timeout on this statement: rolled back, may be retried.
    LockTimeout(String, Box<MigrationFailure>),
    /// Anything else.
    Failed(Error),
}

impl From<BackendError> for Attempt {
    fn from(e: BackendError) -> Self {
        Attempt::Failed(e.into())
    }
}

/// Runs `step` as `plan`'s steps, starting after the `resume` steps a killed run committed
/// (`None`: a fresh start).
pub(super) fn run(
    backend: &mut dyn Backend,
    step: &Step<'_>,
    plan: &StagedPlan,
    resume: Option<usize>,
    completed: &[Applied],
    ctx: &mut RunContext<'_>,
    retry: &LockRetry,
) -> Result<Vec<Applied>, Error> {
    let total = plan.steps.len();
    let fingerprint = crate::rewrite::fingerprint(plan, step.checksum.as_deref().unwrap_or(""));
    let span = tracing::info_span!("migration", revision = step.revision, direction = %step.direction);
    let _guard = span.enter();
    ctx.starting(step);
    let started = Instant::now();
    let from = resume.unwrap_or(0).min(total.saturating_sub(1));
    if resume.is_some() {
        tracing::info!(
            "resuming the rewritten {} of {} at step {} of {total}",
            step.direction,
            step.revision,
            from + 1
        );
    }
    let fail = |mut failure: Box<MigrationFailure>, done: usize, nothing_stayed: bool| {
        failure.completed = completed.to_vec();
        failure.transactional = nothing_stayed;
        failure.steps = Some((done, total));
        Error::Migration(failure)
    };
    // A first step outside a transaction is marked before it starts: a kill during it must
    // leave a trace, or the next run would not know to resume it.
    let mut marked = resume.is_some();
    if !marked && !plan.steps[0].transactional {
        backend.begin()?;
        if let Some(timeout) = ctx.transaction_lock {
            backend.lock_transaction(timeout)?;
        }
        backend.expect_version(Some(step.before.as_deref()));
        if let Err(e) = backend.mark_step(&step.record(Duration::ZERO), 0, &fingerprint, true) {
            let _ = backend.rollback();
            return Err(moved_or(backend, Some(step), e.into()));
        }
        marked = true;
    }
    for k in from..total {
        let stage = &plan.steps[k];
        // Resumed at a step outside a transaction: it may have run, unrecorded.
        let resuming = resume == Some(k) && !stage.transactional;
        let first_try = Instant::now();
        let mut attempt = 0u32;
        loop {
            let timeout = retry.timeout(attempt);
            let outcome = if stage.transactional {
                transaction(backend, step, plan, &fingerprint, k, resuming, timeout, started, !marked, ctx)
            } else {
                outside(backend, step, plan, &fingerprint, k, resuming, timeout, started, ctx)
            };
            match outcome {
                Ok(()) => break,
                Err(Attempt::LockTimeout(statement, failure)) => {
                    let waited = first_try.elapsed();
                    if !retry.may_retry(waited + timeout) {
                        tracing::debug!("{failure}");
                        return Err(Error::LockRetries(Box::new(LockRetriesExhausted {
                            revision: step.revision.to_string(),
                            direction: step.direction,
                            step: k + 1,
                            steps: total,
                            statement,
                            attempts: attempt + 1,
                            waited,
                        })));
                    }
                    tracing::warn!(
                        step = k + 1,
                        attempt = attempt + 1,
                        lock_timeout_ms = timeout.as_millis() as u64,
                        "lock timeout on {}; retrying after {} ms",
                        statement.replace('\n', " "),
                        timeout.as_millis()
                    );
                    std::thread::sleep(timeout);
                    // A CREATE INDEX CONCURRENTLY that timed out may leave an INVALID index,
                    // which the step's cleanup drops before the next attempt.
                    attempt += 1;
                }
                Err(Attempt::Failed(Error::Migration(failure))) => {
                    let nothing_stayed = !marked && stage.transactional;
                    return Err(fail(failure, k, nothing_stayed));
                }
                Err(Attempt::Failed(other)) => return Err(moved_or(backend, Some(step), other)),
            }
        }
        marked = true;
    }
    let duration = started.elapsed();
    step.log_done(duration);
    let done = step.applied(duration);
    ctx.listener.finished(&done);
    Ok(vec![done])
}

/// Step `k` in a transaction with its record (the last one: the migration's bookkeeping).
#[allow(clippy::too_many_arguments)]
fn transaction(
    backend: &mut dyn Backend,
    step: &Step<'_>,
    plan: &StagedPlan,
    fingerprint: &str,
    k: usize,
    resuming: bool,
    timeout: Duration,
    started: Instant,
    first_record: bool,
    ctx: &mut RunContext<'_>,
) -> Result<(), Attempt> {
    let result = (|| {
        backend.begin()?;
        if let Some(lock) = ctx.transaction_lock {
            backend.lock_transaction(lock)?;
        }
        backend.set_step_lock_timeout(Some(timeout), true)?;
        statements(backend, step, plan, k, resuming, ctx.log_statements)?;
        backend.expect_version(Some(step.before.as_deref()));
        let record = step.record(started.elapsed());
        if k + 1 == plan.steps.len() {
            backend.record_and_commit(&[record])?;
        } else {
            backend.mark_step(&record, k + 1, fingerprint, first_record)?;
        }
        Ok(())
    })();
    if result.is_err() {
        if let Err(e) = backend.rollback() {
            tracing::warn!("rollback after a failed step also failed: {e}");
        }
    }
    result
}

/// Step `k` outside a transaction, then its record in a transaction of its own.
#[allow(clippy::too_many_arguments)]
fn outside(
    backend: &mut dyn Backend,
    step: &Step<'_>,
    plan: &StagedPlan,
    fingerprint: &str,
    k: usize,
    resuming: bool,
    timeout: Duration,
    started: Instant,
    ctx: &mut RunContext<'_>,
) -> Result<(), Attempt> {
    backend.set_step_lock_timeout(Some(timeout), false)?;
    let ran = statements(backend, step, plan, k, resuming, ctx.log_statements);
    let restored = backend.set_step_lock_timeout(None, false);
    ran?;
    restored?;
    backend.begin()?;
    let recorded = (|| {
        if let Some(lock) = ctx.transaction_lock {
            backend.lock_transaction(lock)?;
        }
        backend.expect_version(Some(step.before.as_deref()));
        let record = step.record(started.elapsed());
        if k + 1 == plan.steps.len() {
            backend.record_and_commit(&[record])
        } else {
            backend.mark_step(&record, k + 1, fingerprint, false)
        }
    })();
    if let Err(e) = recorded {
        let _ = backend.rollback();
        return Err(e.into());
    }
    Ok(())
}

/// Runs step `k`'s statements through the one executor.
fn statements(
    backend: &mut dyn Backend,
    step: &Step<'_>,
    plan: &StagedPlan,
    k: usize,
    resuming: bool,
    log_statements: bool,
) -> Result<(), Attempt> {
    let dialect = backend.dialect();
    let mut sink = StepSink { backend, step, log_statements, lock_timeout: None };
    match crate::execute::execute_step(dialect, &step.ops, &plan.steps[k], resuming, &mut sink) {
        Ok(()) => Ok(()),
        Err(failure) => Err(match sink.lock_timeout {
            Some(statement) => Attempt::LockTimeout(statement, failure),
            None => Attempt::Failed(Error::Migration(failure)),
        }),
    }
}

/// A step's [`crate::execute::Sink`]: the live connection, noting a lock timeout.
struct StepSink<'b, 's, 'm> {
    backend: &'b mut dyn Backend,
    step: &'s Step<'m>,
    log_statements: bool,
    /// The statement that hit a lock timeout.
    lock_timeout: Option<String>,
}

impl StepSink<'_, '_, '_> {
    fn run(&mut self, index: usize, op: &Op, statement: String) -> Result<(), Box<MigrationFailure>> {
        super::log_statement(&statement, self.log_statements);
        match self.backend.execute(&statement) {
            Ok(()) => Ok(()),
            Err(e) => {
                if matches!(e, BackendError::LockNotAvailable { .. }) {
                    self.lock_timeout = Some(statement.clone());
                }
                Err(self.step.failure(index, op, Some(statement), e.to_string()))
            }
        }
    }
}

impl crate::execute::Sink for StepSink<'_, '_, '_> {
    type Error = Box<MigrationFailure>;

    fn snapshot(
        &mut self,
        index: usize,
        op: &Op,
        table: &str,
    ) -> Result<Option<crate::schema::TableSnapshot>, Self::Error> {
        // PostgreSQL, the only engine that rewrites, never rebuilds a table.
        Err(self.step.failure(index, op, None, RenderError::NoSuchTable(table.to_string()).to_string()))
    }

    fn render_failed(&mut self, index: usize, op: &Op, error: RenderError) -> Self::Error {
        self.step.failure(index, op, None, error.to_string())
    }

    fn data(&mut self, index: usize, op: &Op) -> Result<(), Self::Error> {
        if let Op::Data { run, .. } = op {
            run(self.backend.data()).map_err(|e| self.step.failure(index, op, None, e.to_string()))?;
        }
        Ok(())
    }

    fn statement(
        &mut self,
        index: usize,
        op: &Op,
        statement: String,
        _last: bool,
    ) -> Result<(), Self::Error> {
        self.run(index, op, statement)
    }

    fn drop_invalid_index(
        &mut self,
        index: usize,
        op: &Op,
        name: &str,
        table: &str,
    ) -> Result<(), Self::Error> {
        let query = crate::rewrite::invalid_index_query(name, table);
        let drop = self
            .backend
            .query_scalar(&query)
            .map_err(|e| self.step.failure(index, op, Some(query.clone()), e.to_string()))?;
        if let Some(drop) = drop {
            tracing::warn!("dropping the INVALID index {name:?} an earlier failure left, to build it again");
            self.run(index, op, drop)?;
        }
        Ok(())
    }

    fn check_resumed_index(
        &mut self,
        index: usize,
        op: &Op,
        name: &str,
        table: &str,
    ) -> Result<(), Self::Error> {
        let query = crate::rewrite::index_on_table_query(name, table);
        let found = self
            .backend
            .query_scalar(&query)
            .map_err(|e| self.step.failure(index, op, Some(query.clone()), e.to_string()))?;
        let problem = match found.as_deref() {
            Some("true") => return Ok(()),
            Some(_) => format!(
                "the index {name:?} on {table:?} is INVALID after the resumed CREATE INDEX CONCURRENTLY IF NOT EXISTS (another session may be building it); run again once it is done or dropped"
            ),
            None => format!(
                "the resumed CREATE INDEX CONCURRENTLY IF NOT EXISTS built nothing: the name {name:?} is taken by another relation in the schema of {table:?}, so no index of that name is on {table:?}. Rename or drop that relation, then run again"
            ),
        };
        Err(self.step.failure(index, op, Some(query), problem))
    }
}
