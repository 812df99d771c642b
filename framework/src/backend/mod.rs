//! A live connection: statements, transactions, introspection and the version bookkeeping
//! SQL. One file per engine; a backend knows nothing of the runner's policy.

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub(crate) mod url;

pub use url::{redact, scrub, secrets_in, DatabaseUrl, SqliteCache, SqliteMode, SqliteOptions, UrlError};

use crate::data::DataConnection;
use crate::dialect::Dialect;
use crate::error::{plain, with_remedy, Remedy, Wording};
use crate::ops::{DialectKind, Op};
use crate::schema::{Schema, TableSnapshot};
use chrono::{DateTime, Utc};
use std::fmt;
use std::time::Duration;

/// A failure talking to the database. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The database could not be reached or refused the login.
    #[error("cannot connect to {target}: {message}")]
    Connect {
        /// The database, its password redacted.
        target: String,
        /// The driver's message, scrubbed of secrets.
        message: String,
    },
    /// The database rejected a statement.
    #[error("{message}")]
    Statement {
        /// The statement as sent.
        statement: String,
        /// The database's message.
        message: String,
    },
    /// The URL could not be used.
    #[error("{0}")]
    Url(#[from] UrlError),
    /// The version table holds what strata never writes: every command but `validate` and
    /// `stamp` refuses to run on it rather than guess the revision; the remedy is
    /// [`Remedy::Stamp`].
    #[error("{}", corrupt_message(.table, .detail, Some(&plain as Wording)))]
    CorruptVersionTable {
        /// The version table's name.
        table: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A non-transactional migration was interrupted: only an operator can tell what ran; the
    /// remedy is [`Remedy::Resolve`].
    #[error("{}", dirty_message(.revision, *.direction, Some(&plain as Wording)))]
    Dirty {
        /// The interrupted migration.
        revision: String,
        /// Which way it was running.
        direction: Direction,
        /// The version row under the marker: the database's version before the migration
        /// started (`None` = base).
        version: Option<String>,
    },
    /// A migration rewritten into several steps ([`crate::rewrite`]) was interrupted between
    /// or during its steps: the ones committed are recorded, and the next `upgrade` resumes at
    /// the next one (no operator needed).
    #[error("the database is in the middle of the rewritten {direction} of {revision}: {done} of its steps are committed and recorded; run the {direction} again to resume at step {}, or check the database and `resolve {revision} --applied` / `--rolled-back`", .done + 1)]
    InProgress {
        /// The interrupted migration.
        revision: String,
        /// Which way it was running.
        direction: Direction,
        /// The version row under the marker: the version before the migration started.
        version: Option<String>,
        /// How many of its steps are committed.
        done: usize,
        /// The fingerprint of the staged plan that ran them ([`crate::rewrite::fingerprint`]):
        /// a resumed run goes on only when it stages the migration the same way. `None`: a
        /// marker written before strata stored it.
        plan: Option<String>,
    },
    /// A statement waited for a table lock longer than its `lock_timeout` (SQLSTATE 55P03):
    /// told apart from other failures so that a rewritten step can be retried.
    #[error("{message}")]
    LockNotAvailable {
        /// The statement as sent.
        statement: String,
        /// The database's message.
        message: String,
    },
    /// Another migrator held the migration lock for longer than the lock timeout.
    #[error("another migrator holds the migration lock on {target} (waited {waited:?}{}); try again when it finishes, or raise the lock timeout (STRATA_MIGRATION_LOCK_TIMEOUT)", holder.as_deref().map(|h| format!("; held by {h}")).unwrap_or_default())]
    LockTimeout {
        /// The database, its password redacted.
        target: String,
        /// How long this migrator waited.
        waited: std::time::Duration,
        /// Who holds it, when the engine can tell (PostgreSQL's server process, application
        /// and since when).
        holder: Option<String>,
    },
    /// A run lock kept on a session cannot work behind a transaction-pooling connection
    /// pooler: refused before anything changed.
    #[error(
        "{target} is reached through a connection pooler in transaction pooling mode ({seen}): a \
         run lock kept on a session cannot work there, and nothing was changed. Set \
         STRATA_MIGRATION_LOCK=transaction (each migration then takes a transaction-scoped lock), \
         or connect to the server directly"
    )]
    TransactionPooler {
        /// The database, its password redacted.
        target: String,
        /// What gave the pooler away.
        seen: String,
    },
    /// The URL names an engine whose cargo feature is off in this build.
    #[error("this build of strata has no {0} backend (enable the cargo feature {0:?})")]
    NotCompiled(&'static str),
}

/// [`BackendError::CorruptVersionTable`]'s message, its remedy worded by `word`.
pub(crate) fn corrupt_message(table: &str, detail: &str, word: Option<Wording>) -> String {
    let problem = format!("the version table {table} is corrupt: {detail}. Nothing was changed");
    with_remedy(problem, ". ", &Remedy::Stamp, word)
}

/// [`BackendError::Dirty`]'s message, its remedy worded by `word`.
pub(crate) fn dirty_message(revision: &str, direction: Direction, word: Option<Wording>) -> String {
    let problem = format!(
        "the database is dirty: the non-transactional {direction} of {revision} started and did not finish, so \
         some of its statements may have run"
    );
    with_remedy(problem, ". ", &Remedy::Resolve { revision: revision.to_string() }, word)
}

impl BackendError {
    /// The statement that failed, when there was one.
    pub fn statement(&self) -> Option<&str> {
        match self {
            BackendError::Statement { statement, .. } | BackendError::LockNotAvailable { statement, .. } => {
                Some(statement)
            }
            _ => None,
        }
    }
}

/// Names of the two bookkeeping tables. Two applications can share a database by choosing
/// different names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTables {
    /// One row: the current revision.
    pub version: String,
    /// One row per applied or reverted migration.
    pub history: String,
}

impl Default for VersionTables {
    fn default() -> Self {
        VersionTables { version: "strata_version".into(), history: "strata_history".into() }
    }
}

impl VersionTables {
    /// Whether `table` is one of the two, so introspection and diffs leave them out.
    pub fn contains(&self, table: &str) -> bool {
        table == self.version || table == self.history
    }
}

/// Which way a migration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Applied (an upgrade).
    #[serde(rename = "upgrade")]
    Up,
    /// Reverted (a downgrade).
    #[serde(rename = "downgrade")]
    Down,
    /// The version was set without running anything (`stamp`).
    Stamp,
    /// A reviewed edit of an applied migration: its new checksum (`accept`).
    Accept,
    /// A non-transactional migration began; its completion row follows unless interrupted.
    Started,
    /// An operator settled an interrupted non-transactional migration (`resolve`).
    Resolve,
}

impl Direction {
    /// The spelling stored in the history table (`upgrade`, `downgrade`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
            Direction::Stamp => "stamp",
            Direction::Accept => "accept",
            Direction::Started => "started",
            Direction::Resolve => "resolve",
        }
    }
    /// Reads back [`Direction::as_str`]; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upgrade" => Some(Direction::Up),
            "downgrade" => Some(Direction::Down),
            "stamp" => Some(Direction::Stamp),
            "accept" => Some(Direction::Accept),
            "started" => Some(Direction::Started),
            "resolve" => Some(Direction::Resolve),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the runner records for one migration, in the same transaction as the migration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The migration's revision.
    pub revision: String,
    /// Its message, copied so the history reads on its own.
    pub message: String,
    /// Which way it ran.
    pub direction: Direction,
    /// The version after this migration (`None` = base).
    pub new_version: Option<String>,
    /// When it ran.
    pub applied_at: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
    /// The migration's plan checksum ([`crate::checksum`]), for drift detection.
    pub checksum: Option<String>,
    /// The lint acknowledgements an upgrade applied with ([`crate::ops::Ops::allow`]), in
    /// [`acknowledged_text`]'s form; `None` without any. Written to the history table's
    /// `acknowledged` column, which is added to an older table when first needed.
    pub acknowledged: Option<String>,
}

/// The history column that holds a row's acknowledgements (nullable; tables made by an older
/// strata get it from the first migration that records one, in that migration's transaction).
pub const ACKNOWLEDGED_COLUMN: &str = "acknowledged";

/// The history text of `acknowledgements`: one `CODE: reason` per line (line breaks in a
/// reason become spaces); `None` when there are none.
pub fn acknowledged_text(acknowledgements: &[crate::ops::Acknowledgement]) -> Option<String> {
    if acknowledgements.is_empty() {
        return None;
    }
    let lines: Vec<String> = acknowledgements
        .iter()
        .map(|a| format!("{}: {}", a.code, a.reason.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    Some(lines.join("\n"))
}

/// Which part of [`Backend::execute_record_and_commit`] failed. Either way nothing of the
/// transaction is committed.
#[derive(Debug)]
pub enum Finish {
    /// The migration's statement.
    Statement(BackendError),
    /// Writing the version and history rows, or the commit.
    Bookkeeping(BackendError),
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryRow {
    /// The row's id, increasing with time.
    pub id: i64,
    /// The migration's revision.
    pub revision: String,
    /// Its message at the time.
    pub message: String,
    /// What happened.
    pub direction: Direction,
    /// When.
    pub applied_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
    /// The plan checksum recorded (`None` for rows that carry none, such as a stamp to base).
    pub checksum: Option<String>,
    /// The lint acknowledgements the upgrade applied with, one `CODE: reason` per line
    /// ([`acknowledged_text`]); `None` without any, and on tables made by an older strata.
    pub acknowledged: Option<String>,
}

impl HistoryRow {
    /// The acknowledgements as (code, reason) pairs, in order.
    pub fn acknowledgements(&self) -> Vec<(&str, &str)> {
        self.acknowledged
            .as_deref()
            .map(|text| text.lines().map(|l| l.split_once(": ").unwrap_or((l, ""))).collect())
            .unwrap_or_default()
    }
}

/// Holds the migration lock for a whole run; dropping it releases the lock, on every path.
pub struct RunLock {
    _guard: Box<dyn Send>,
}

impl RunLock {
    /// Wraps whatever releases the lock when dropped (a connection, a guard).
    pub fn new(guard: Box<dyn Send>) -> Self {
        RunLock { _guard: guard }
    }
}

impl fmt::Debug for RunLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RunLock")
    }
}

/// A live database connection. Implementations provide primitives; policy is the runner's.
pub trait Backend: Send {
    /// Which engine this is.
    fn kind(&self) -> DialectKind;
    /// How ops are rendered for this engine.
    fn dialect(&self) -> &'static dyn Dialect {
        crate::dialect::for_kind(self.kind())
    }
    /// The bookkeeping table names this connection uses.
    fn version_tables(&self) -> &VersionTables;

    /// Runs one statement (or a `;`-separated batch for raw SQL) outside any result handling.
    fn execute(&mut self, sql: &str) -> Result<(), BackendError>;
    /// Opens a transaction.
    fn begin(&mut self) -> Result<(), BackendError>;
    /// Commits the open transaction.
    fn commit(&mut self) -> Result<(), BackendError>;
    /// Rolls the open transaction back.
    fn rollback(&mut self) -> Result<(), BackendError>;

    /// Turns foreign key enforcement on or off outside a transaction; returns the old setting.
    /// Engines that need no such switch return `Ok(false)` and do nothing.
    fn set_foreign_keys(&mut self, on: bool) -> Result<bool, BackendError>;
    /// Rows that violate a foreign key, described one per line (empty when all is well).
    fn foreign_key_violations(&mut self) -> Result<Vec<String>, BackendError>;

    /// The live schema, version tables excluded.
    fn introspect(&mut self) -> Result<Schema, BackendError>;
    /// One table and what rebuilding it needs; `None` if it does not exist.
    fn snapshot_table(&mut self, table: &str) -> Result<Option<TableSnapshot>, BackendError>;
    /// Runs `statement`, the dialect's [`crate::dialect::Dialect::plain_form`] of `op`, in
    /// the migration's transaction, with foreign keys on; `Ok(false)` when the engine refused
    /// it as wrong for the live table (SQLite's `DROP COLUMN` of a column a key, index or check
    /// needs) and nothing of it stayed, so the caller runs the op in its general form. The
    /// engine's own checks decide, so the answer is exact and read under the transaction's
    /// lock. By default the plain form is never tried.
    fn try_plain_form(&mut self, _op: &Op, _statement: &str) -> Result<bool, BackendError> {
        Ok(false)
    }

    /// The connection a data op uses.
    fn data(&mut self) -> &mut dyn DataConnection;

    /// Creates the version and history tables if they are missing.
    fn ensure_version_tables(&mut self) -> Result<(), BackendError>;
    /// The current revision: `None` when nothing is applied or the tables do not exist yet.
    /// [`BackendError::Dirty`] while a non-transactional migration is marked started (read in
    /// the same query, so every run and the start-up check see it).
    fn current_revision(&mut self) -> Result<Option<String>, BackendError>;
    /// Inside an open transaction: records that the non-transactional `record.direction` of
    /// `record.revision` is starting (a `started` history row, and the dirty marker in the
    /// version table), then commits. [`Backend::record_and_commit`] clears the marker.
    fn mark_started(&mut self, record: &Record) -> Result<(), BackendError>;
    /// Writes the history rows and the final version of `records`, then commits, as one unit
    /// (one round trip where the engine allows).
    fn record_and_commit(&mut self, records: &[Record]) -> Result<(), BackendError>;
    /// Runs `statement`, the transaction's last, then [`Backend::record_and_commit`]s
    /// `records`: a backend may send them together (PostgreSQL does, saving a round trip
    /// per migration). `records` hold the time spent before `statement`; the backend adds
    /// the statement's own. The error says which of the two failed.
    fn execute_record_and_commit(&mut self, statement: &str, records: &[Record]) -> Result<(), Finish> {
        let started = std::time::Instant::now();
        self.execute(statement).map_err(Finish::Statement)?;
        let took = started.elapsed();
        let records: Vec<Record> =
            records.iter().map(|r| Record { duration: r.duration + took, ..r.clone() }).collect();
        self.record_and_commit(&records).map_err(Finish::Bookkeeping)
    }
    /// Every history row, oldest first (empty when the table does not exist yet).
    fn history(&mut self) -> Result<Vec<HistoryRow>, BackendError>;
    /// The history rows of `revisions` only, oldest first: what `current` shows of its heads,
    /// without reading a long history. Engines answer it in one query.
    fn history_of(&mut self, revisions: &[&str]) -> Result<Vec<HistoryRow>, BackendError> {
        Ok(self.history()?.into_iter().filter(|r| revisions.contains(&r.revision.as_str())).collect())
    }

    /// Takes the migration lock for a whole run, on a connection of its own, waiting at most
    /// `timeout`. `Ok(None)` where the engine serializes migrators per transaction instead
    /// (SQLite's write lock), so the runner re-checks the version inside each transaction.
    fn lock_for_run(&mut self, _timeout: std::time::Duration) -> Result<Option<RunLock>, BackendError> {
        Ok(None)
    }

    /// Inside an open transaction, takes a lock released when it ends (for connection poolers
    /// that cannot keep a session lock), waiting at most `timeout`.
    fn lock_transaction(&mut self, _timeout: std::time::Duration) -> Result<(), BackendError> {
        Ok(())
    }

    /// Bounds how long a statement waits for a lock and how long it may run (`None`: no
    /// bound). `per_transaction`: set them inside every migration transaction instead of on
    /// the session, for connection poolers that give each transaction another session (and
    /// would pass a session setting on to other clients). Engines without such settings do
    /// nothing.
    fn set_timeouts(
        &mut self,
        _lock: Option<Duration>,
        _statement: Option<Duration>,
        _per_transaction: bool,
    ) -> Result<(), BackendError> {
        Ok(())
    }

    /// The server's version as `server_version_num` gives it (`150004` for 15.4), for the lock
    /// facts of [`crate::locks`]; `None` for engines without one.
    fn server_version_num(&mut self) -> Result<Option<u32>, BackendError> {
        Ok(None)
    }

    /// The version the bookkeeping of the open transaction must find (`Some(None)`: base;
    /// `None`: any). A backend that can check it in the bookkeeping statement itself fails
    /// that statement when the version differs, so the transaction never commits. Engines
    /// whose write lock serializes whole transactions (SQLite) need no check.
    fn expect_version(&mut self, _version: Option<Option<&str>>) {}

    /// Inside an open transaction: records that `done` steps of the rewritten
    /// `record.direction` of `record.revision` are complete (the dirty marker
    /// `<direction>:<revision>#<done>@<plan>`, `plan` the staged plan's fingerprint; with
    /// `first`, also the `started` history row), then commits. [`Backend::record_and_commit`]
    /// clears the marker. Only engines that rewrite (PostgreSQL) implement it.
    fn mark_step(
        &mut self,
        record: &Record,
        _done: usize,
        _plan: &str,
        _first: bool,
    ) -> Result<(), BackendError> {
        Err(BackendError::Statement {
            statement: String::new(),
            message: format!("{} runs no rewritten migration in steps", record.revision),
        })
    }

    /// The first column of the first row of a one-statement query (`None`: no row, or NULL),
    /// for the runner's catalog checks (an INVALID index left by a failed `CREATE INDEX
    /// CONCURRENTLY`). Engines that never rewrite answer `None`.
    fn query_scalar(&mut self, _sql: &str) -> Result<Option<String>, BackendError> {
        Ok(None)
    }

    /// The `lock_timeout` of a rewritten step: `Some` sets it (`local`: for the open
    /// transaction only), `None` restores the session's configured value. Engines without
    /// such a setting do nothing.
    fn set_step_lock_timeout(
        &mut self,
        _timeout: Option<Duration>,
        _local: bool,
    ) -> Result<(), BackendError> {
        Ok(())
    }
}

/// The dirty marker of a rewritten migration with `done` steps of the staged plan whose
/// fingerprint is `plan` committed: `upgrade:<revision>#<done>@<plan>`.
pub(crate) fn step_marker(direction: Direction, revision: &str, done: usize, plan: &str) -> String {
    format!("{}#{done}@{plan}", dirty_marker(direction, revision))
}

/// The dirty marker's text in the version table: `upgrade:<revision>`.
pub(crate) fn dirty_marker(direction: Direction, revision: &str) -> String {
    format!("{}:{revision}", direction.as_str())
}

/// The history row that marks a non-transactional migration as started.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn started_row(record: &Record) -> Record {
    Record {
        direction: Direction::Started,
        message: format!("{} started: {}", record.direction, record.message),
        // Recorded with the completion row.
        acknowledged: None,
        ..record.clone()
    }
}

/// The error for a dirty marker read from the version table.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn dirty_error(table: &str, marker: &str, version: Option<String>) -> BackendError {
    match marker.split_once(':').and_then(|(d, r)| Some((Direction::parse(d)?, r))) {
        Some((direction, rest)) => {
            // `<revision>#<done>`: a rewritten migration between steps (old markers have no `#`).
            // `#<done>@<plan>` since the plan's fingerprint is stored; `#<done>` before.
            let step = rest.rsplit_once('#').and_then(|(r, tail)| {
                let (n, plan) = match tail.split_once('@') {
                    Some((n, plan)) => (n, Some(plan.to_string())),
                    None => (tail, None),
                };
                Some((r, n.parse::<usize>().ok()?, plan))
            });
            match step {
                Some((revision, done, plan)) => BackendError::InProgress {
                    revision: revision.to_string(),
                    direction,
                    version,
                    done,
                    plan,
                },
                None => BackendError::Dirty { revision: rest.to_string(), direction, version },
            }
        }
        None => BackendError::CorruptVersionTable {
            table: table.to_string(),
            detail: format!("its dirty marker {marker:?} is not <direction>:<revision>"),
        },
    }
}

/// The error for a version row with neither a revision nor a dirty marker: strata records base
/// as an empty table, so such a row was written by hand or by another tool.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn revisionless_row(table: &str) -> BackendError {
    BackendError::CorruptVersionTable {
        table: table.to_string(),
        detail: "its row has no revision (strata records base as an empty table, never as a NULL revision)"
            .into(),
    }
}

/// The error for a missing version table while the history table says migrations ran: reading
/// it as base would apply them all again.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn version_table_missing(tables: &VersionTables) -> BackendError {
    BackendError::CorruptVersionTable {
        table: tables.version.clone(),
        detail: format!(
            "it is missing, but the history table {} holds rows, so migrations did run here",
            tables.history
        ),
    }
}

/// The version and history tables' `CREATE TABLE IF NOT EXISTS` statements on `kind`: what
/// each backend's [`Backend::ensure_version_tables`] runs and what offline scripts start with.
pub fn version_tables_ddl(kind: DialectKind, tables: &VersionTables) -> [String; 2] {
    let (v, h) = (crate::dialect::quote_ident(&tables.version), crate::dialect::quote_ident(&tables.history));
    // SQLite: a plain rowid key, not AUTOINCREMENT: history rows are never deleted, so ids
    // still only grow, and each migration's commit writes no sqlite_sequence page.
    let (id, applied_at, duration) = match kind {
        DialectKind::Sqlite => ("INTEGER PRIMARY KEY", "TEXT", "REAL"),
        DialectKind::Postgres => {
            ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "TIMESTAMPTZ", "DOUBLE PRECISION")
        }
    };
    [
        // revision NULL with a dirty marker: a non-transactional migration started at base.
        format!("CREATE TABLE IF NOT EXISTS {v} (revision TEXT, dirty TEXT)"),
        format!(
            "CREATE TABLE IF NOT EXISTS {h} (\n    id {id},\n    revision TEXT NOT NULL,\n    \
             message TEXT NOT NULL,\n    direction TEXT NOT NULL,\n    applied_at {applied_at} NOT NULL,\n    \
             duration_ms {duration} NOT NULL,\n    checksum TEXT\n)"
        ),
    ]
}

/// The unique index on a constant that keeps the version table at one row at most, whoever
/// writes to it (named `<version table>_one_row`); created with the tables, and added to
/// tables made by an older strata.
pub fn one_row_index_ddl(kind: DialectKind, tables: &VersionTables) -> String {
    let constant = match kind {
        DialectKind::Sqlite => "1",
        DialectKind::Postgres => "true",
    };
    format!(
        "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (({constant}))",
        crate::dialect::quote_ident(&format!("{}_one_row", tables.version)),
        crate::dialect::quote_ident(&tables.version)
    )
}

/// How often a lock is retried while another migrator holds it.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Connects to `url` with the default version table names.
pub fn connect(url: &DatabaseUrl) -> Result<Box<dyn Backend>, BackendError> {
    connect_with(url, VersionTables::default())
}

/// Connects to `url`, keeping bookkeeping in `tables`.
#[allow(unused_variables)]
pub fn connect_with(url: &DatabaseUrl, tables: VersionTables) -> Result<Box<dyn Backend>, BackendError> {
    match url {
        #[cfg(feature = "sqlite")]
        DatabaseUrl::Sqlite { .. } | DatabaseUrl::SqliteMemory => {
            Ok(Box::new(sqlite::SqliteBackend::open(url, tables)?))
        }
        #[cfg(feature = "postgres")]
        DatabaseUrl::Postgres { .. } => Ok(Box::new(postgres::PostgresBackend::connect(url, tables)?)),
        #[allow(unreachable_patterns)]
        DatabaseUrl::Sqlite { .. } | DatabaseUrl::SqliteMemory => Err(BackendError::NotCompiled("sqlite")),
        #[allow(unreachable_patterns)]
        DatabaseUrl::Postgres { .. } => Err(BackendError::NotCompiled("postgres")),
    }
}

/// Seconds-with-fraction milliseconds for a history row.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_markers_read_as_in_progress_and_old_markers_stay_dirty() {
        let marker = step_marker(Direction::Up, "abc123", 2, "00ff00ff00ff00ff");
        assert_eq!(marker, "upgrade:abc123#2@00ff00ff00ff00ff");
        match dirty_error("v", &marker, Some("prev".into())) {
            BackendError::InProgress { revision, direction, version, done, plan } => {
                assert_eq!(
                    (revision.as_str(), direction, version.as_deref(), done, plan.as_deref()),
                    ("abc123", Direction::Up, Some("prev"), 2, Some("00ff00ff00ff00ff"))
                );
            }
            other => panic!("{other:?}"),
        }
        // A marker from before the fingerprint: no plan to compare.
        match dirty_error("v", "upgrade:abc123#1", None) {
            BackendError::InProgress { done: 1, plan: None, .. } => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(dirty_error("v", "upgrade:abc#x@ff", None), BackendError::Dirty { .. }));
        let old = dirty_error("v", &dirty_marker(Direction::Down, "abc123"), None);
        assert!(
            matches!(old, BackendError::Dirty { ref revision, direction: Direction::Down, .. } if revision == "abc123"),
            "{old:?}"
        );
        let text = dirty_error("v", "upgrade:abc123#0", None).to_string();
        assert!(text.contains("resume at step 1") && text.contains("abc123"), "{text}");
        assert!(matches!(dirty_error("v", "nonsense", None), BackendError::CorruptVersionTable { .. }));
        assert!(matches!(dirty_error("v", "upgrade:abc#x", None), BackendError::Dirty { .. }));
    }
}
