//! The PostgreSQL backend over the synchronous `postgres` driver, with TLS as libpq's
//! `sslmode` means it (see `tls`). Transactions
//! are plain `BEGIN`/`COMMIT` statements on the one client, so the runner drives them and a
//! migration's bookkeeping commits in the same round trip as its `COMMIT`.

mod data;
mod introspect;
mod lock;
mod secrets;
mod tls;

use super::{
    millis, Backend, BackendError, DatabaseUrl, Direction, Finish, HistoryRow, Record, RunLock, VersionTables,
};
use crate::data::DataConnection;
use crate::dialect::{quote_ident, quote_str};
use crate::ops::DialectKind;
use crate::schema::{Schema, TableSnapshot};
use chrono::{DateTime, SecondsFormat, Utc};
use data::DataClient;
use postgres::{Config, SimpleQueryMessage};
use secrets::{scrub, secrets_in};
use std::str::FromStr;

/// A connection to one PostgreSQL database.
pub struct PostgresBackend {
    /// The client, wrapped so that data ops see only their own narrow interface.
    conn: DataClient,
    tables: VersionTables,
    /// For the run lock's own connection.
    config: Config,
    tls: tls::LazyTls,
    /// The URL without its password, for messages.
    target: String,
    /// Where this connection works (the lock keys derive from it), once asked.
    identity: Option<lock::Identity>,
    /// The bookkeeping statements are prepared on this session (see [`PreparedBookkeeping`]).
    prepared: bool,
    /// The version tables are known to exist (created or seen by this connection).
    tables_known: bool,
    /// The version the next bookkeeping must find (`Some(None)`: base), checked by the
    /// bookkeeping statement itself; `None`: not checked.
    expected: Option<Option<String>>,
    /// `SET LOCAL` statements for the timeouts, sent in every migration transaction when a
    /// pooler may give each transaction another session (lock mode `transaction`).
    local_timeouts: String,
    /// The session's `lock_timeout` as [`Backend::set_timeouts`] set it (`None`: the server's),
    /// restored after a rewritten step outside a transaction.
    session_lock_timeout: Option<std::time::Duration>,
    /// The server's `server_version_num`, once asked: the lint's enforcement and the rewriter
    /// both need it in one run, and it cannot change under a connection.
    server_version: Option<u32>,
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend").field("tables", &self.tables).finish_non_exhaustive()
    }
}

/// The bookkeeping of one migration as session-level prepared statements. Only used when
/// the run holds a session lock: behind a transaction-pooling PgBouncer (lock mode
/// `transaction`) the next transaction may land on a session that never prepared them.
struct PreparedBookkeeping;

impl PreparedBookkeeping {
    const NAME: &'static str = "strata_bookkeeping";

    /// One statement for the history row and the version: the version row is deleted (at
    /// base) or upserted on the one-row index in data-modifying CTEs, never both, so their
    /// order does not matter; a concurrent writer's row is a conflict the server resolves.
    /// Only prepared once that index is known to exist.
    fn prepare(tables: &VersionTables) -> String {
        let (version, history) = (quote_ident(&tables.version), quote_ident(&tables.history));
        // $7: whether to add the time since the batch arrived (the last statement's, when it
        // travels with the bookkeeping); $8: the new version, NULL for base; $9: whether to
        // check that the version is $10 (see [`moved_guard`]).
        format!(
            "PREPARE {} (text, text, text, text, float8, text, float8, text, bool, text) AS \
             WITH old AS (DELETE FROM {version} WHERE $8 IS NULL), \
             new AS (INSERT INTO {version} (revision) SELECT $8 WHERE $8 IS NOT NULL \
             ON CONFLICT ((true)) DO UPDATE SET revision = EXCLUDED.revision, dirty = NULL) \
             INSERT INTO {history} (revision, message, direction, applied_at, duration_ms, checksum) \
             SELECT $1, $2, $3, $4::timestamptz, $5 + $7 * {SINCE_BATCH_ARRIVED}, $6 \
             WHERE {}",
            Self::NAME,
            moved_guard(&version, "NOT $9", "$10")
        )
    }

    fn execute(r: &Record, count_batch: bool, expected: &Option<Option<String>>) -> String {
        format!(
            "EXECUTE {}({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            Self::NAME,
            quote_str(&r.revision),
            quote_str(&r.message),
            quote_str(r.direction.as_str()),
            quote_str(&r.applied_at.to_rfc3339_opts(SecondsFormat::Micros, true)),
            millis(r.duration),
            r.checksum.as_deref().map_or_else(|| "NULL".to_string(), quote_str),
            if count_batch { 1 } else { 0 },
            r.new_version.as_deref().map_or_else(|| "NULL".to_string(), quote_str),
            expected.is_some(),
            expected.clone().flatten().as_deref().map_or_else(|| "NULL".to_string(), quote_str)
        )
    }
}

/// A condition that is true when the version table holds `expected` (an SQL text value,
/// NULL for base) or when `unchecked` is true, and otherwise divides by zero, which stops the
/// statement and its transaction: the bookkeeping of a run that the version moved under
/// (a killed migrator's transaction committing late, a stamp by an older strata) never
/// commits. Evaluated in the statement's snapshot, before its own changes.
fn moved_guard(version: &str, unchecked: &str, expected: &str) -> String {
    format!(
        "1 / ({unchecked} OR (SELECT count(*) FILTER (WHERE revision IS DISTINCT FROM {expected}) = 0 \
         AND ({expected} IS NULL OR count(*) > 0) FROM {version}))::int = 1"
    )
}

/// The guard as a statement of its own, for the plain bookkeeping; empty when unchecked.
fn moved_guard_statement(version: &str, expected: &Option<Option<String>>) -> String {
    match expected {
        None => String::new(),
        Some(revision) => {
            let value = revision.as_deref().map_or_else(|| "NULL".to_string(), quote_str);
            format!("SELECT {};\n", moved_guard(version, "false", &value))
        }
    }
}

/// The index that keeps the version table to one row (on a constant: any second row is a
/// duplicate), enforced by the server whoever writes.
fn one_row_index(version: &str) -> String {
    format!("{version}_one_row")
}

/// Milliseconds since the current batch reached the server, to add to a duration.
const SINCE_BATCH_ARRIVED: &str =
    "1000 * EXTRACT(EPOCH FROM clock_timestamp() - statement_timestamp())::float8";

impl PostgresBackend {
    /// Connects to `url`. Errors name the redacted URL and never echo a password.
    pub fn connect(url: &DatabaseUrl, tables: VersionTables) -> Result<Self, BackendError> {
        let fail = |message: String| BackendError::Connect { target: url.to_string(), message };
        let DatabaseUrl::Postgres { url: raw } = url else {
            return Err(fail("not a PostgreSQL URL".into()));
        };
        let secrets = secrets_in(raw);
        let (driver_url, tls) = tls::configure(raw, &url.to_string())?;
        let config = Config::from_str(&driver_url).map_err(|e| {
            fail(scrub(&format!("invalid connection parameters: {}", driver_message(&e)), &secrets))
        })?;
        // Literals are rendered with quote_str, which relies on backslashes being ordinary
        // characters: the server default, but a server may be configured otherwise. Sent as a
        // startup option, it costs no round trip (the start-up check is measured).
        let options = match config.get_options() {
            Some(given) => format!("{given} -c standard_conforming_strings=on"),
            None => "-c standard_conforming_strings=on".to_string(),
        };
        let mut config = config;
        config.options(&options);
        tls::skip_for_unix_sockets(&mut config);
        let client = open_client(&config, &tls).map_err(|e| fail(scrub(&e, &secrets)))?;
        Ok(PostgresBackend {
            conn: DataClient::new(client),
            tables,
            config,
            tls,
            target: url.to_string(),
            identity: None,
            prepared: false,
            tables_known: false,
            expected: None,
            local_timeouts: String::new(),
            session_lock_timeout: None,
            server_version: None,
        })
    }

    /// The history rows and the final version of `records` (not empty), as statements
    /// (prepared ones when this session has them). With `count_batch`, each row's duration
    /// adds the server's time since the batch arrived (for a last statement sent along).
    fn bookkeeping(&self, records: &[Record], count_batch: bool) -> String {
        let mut sql = self.rows_bookkeeping(records, count_batch);
        sql.push_str(&self.acknowledged_bookkeeping(records));
        sql
    }

    /// For the records that carry acknowledgements (rare: a migration's `op.allow`), the
    /// history column (added to a table made by an older strata, in the same transaction)
    /// and their values on the rows just inserted; empty without any, so the usual
    /// bookkeeping is untouched. Sent in the same batch: no round trip of its own.
    fn acknowledged_bookkeeping(&self, records: &[Record]) -> String {
        let history = quote_ident(&self.tables.history);
        let column = quote_ident(super::ACKNOWLEDGED_COLUMN);
        let updates: Vec<String> = records
            .iter()
            .filter_map(|r| {
                let text = r.acknowledged.as_deref()?;
                Some(format!(
                    ";\nUPDATE {history} SET {column} = {} WHERE id = (SELECT max(id) FROM {history} WHERE revision = {} AND direction = {})",
                    quote_str(text),
                    quote_str(&r.revision),
                    quote_str(r.direction.as_str())
                ))
            })
            .collect();
        if updates.is_empty() {
            return String::new();
        }
        format!(";\nALTER TABLE {history} ADD COLUMN IF NOT EXISTS {column} TEXT{}", updates.concat())
    }

    /// The history rows and the version, without acknowledgements.
    fn rows_bookkeeping(&self, records: &[Record], count_batch: bool) -> String {
        if let (true, [record]) = (self.prepared, records) {
            return PreparedBookkeeping::execute(record, count_batch, &self.expected);
        }
        let extra_ms = if count_batch { format!(" + {SINCE_BATCH_ARRIVED}") } else { String::new() };
        let extra_ms = extra_ms.as_str();
        let version = quote_ident(&self.tables.version);
        let mut sql = format!(
            "{}{};\nDELETE FROM {version}",
            moved_guard_statement(&version, &self.expected),
            self.history_insert(records, extra_ms)
        );
        if let Some(revision) = records.last().and_then(|r| r.new_version.as_ref()) {
            sql.push_str(&format!(";\nINSERT INTO {version} (revision) VALUES ({})", quote_str(revision)));
        }
        sql
    }

    /// One multi-row INSERT of history rows, with literals quoted.
    fn history_insert(&self, records: &[Record], extra_ms: &str) -> String {
        let rows: Vec<String> = records
            .iter()
            .map(|r| {
                format!(
                    "({}, {}, {}, {}::timestamptz, {}{extra_ms}, {})",
                    quote_str(&r.revision),
                    quote_str(&r.message),
                    quote_str(r.direction.as_str()),
                    quote_str(&r.applied_at.to_rfc3339_opts(SecondsFormat::Micros, true)),
                    millis(r.duration),
                    r.checksum.as_deref().map_or_else(|| "NULL".to_string(), quote_str)
                )
            })
            .collect();
        format!(
            "INSERT INTO {} (revision, message, direction, applied_at, duration_ms, checksum) VALUES {}",
            quote_ident(&self.tables.history),
            rows.join(", ")
        )
    }

    fn batch(&mut self, sql: &str) -> Result<(), BackendError> {
        self.conn.batch(sql).map_err(|e| statement_error(sql, &e))
    }

    /// Text rows of a single-statement simple query (one round trip, no prepare).
    fn simple_rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
        self.simple_rows_raw(sql).map_err(|e| statement_error(sql, &e))
    }

    /// [`Self::simple_rows`] with the driver's error, for callers that inspect its code.
    fn simple_rows_raw(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, postgres::Error> {
        let messages = self.conn.client().and_then(|c| c.simple_query(sql))?;
        Ok(text_rows_of(&messages))
    }

    /// Whether `table` exists where unqualified statements find it; asked first so that a
    /// missing table never aborts a transaction.
    fn table_exists(&mut self, table: &str) -> Result<bool, BackendError> {
        let sql = format!("SELECT to_regclass({}) IS NOT NULL", quote_str(&quote_ident(table)));
        let rows = self.simple_rows(&sql)?;
        Ok(rows.first().and_then(|r| r.first()).is_some_and(|v| v.as_deref() == Some("t")))
    }

    /// Prepares the bookkeeping statements once per session, when the session is the
    /// client's own: parsing and planning them for every migration was most of what
    /// bookkeeping cost (benchmark: 1.19x raw → 1.07x with the same SQL prepared). The same
    /// batch first checks that the server process is still the one this connection had (a
    /// division by zero otherwise, which stops the batch before the PREPARE), so that no
    /// undetected pooler is left with a stray prepared statement.
    fn prepare_bookkeeping(&mut self) -> Result<(), BackendError> {
        if self.prepared || !self.conn.own_session || self.conn.in_transaction {
            return Ok(());
        }
        let Some(pid) = self.identity.as_ref().map(|i| i.pid) else { return Ok(()) };
        let sql = format!(
            "SELECT 1 / (pg_backend_pid() = {pid})::int;\n{}",
            PreparedBookkeeping::prepare(&self.tables)
        );
        match self.conn.batch(&sql) {
            // Another server process, or one where the statement exists already (which a
            // session of this client's own cannot have): a transaction pooler.
            Err(e)
                if e.code() == Some(&postgres::error::SqlState::DIVISION_BY_ZERO)
                    || e.code() == Some(&postgres::error::SqlState::DUPLICATE_PSTATEMENT) =>
            {
                self.conn.own_session = false;
                Err(lock::pooler_error(
                    &self.target,
                    format!("this connection, served by server process {pid}, saw another session"),
                ))
            }
            other => {
                other.map_err(|e| statement_error(&sql, &e))?;
                self.prepared = true;
                Ok(())
            }
        }
    }

    /// Where this connection works, asked once (one simple query).
    fn identity(&mut self) -> Result<lock::Identity, BackendError> {
        if let Some(identity) = &self.identity {
            return Ok(identity.clone());
        }
        let client = self.conn.client().map_err(|e| statement_error("BEGIN", &e))?;
        let identity = lock::identity(client)?;
        Ok(self.identity.insert(identity).clone())
    }

    /// A migration's SQL may have dropped the prepared bookkeeping (`DEALLOCATE ALL`,
    /// `DISCARD ALL`): that transaction fails, and later ones go back to plain SQL. Unless
    /// the server process changed: then a transaction pooler that escaped the checks took
    /// the session away, and the error says so.
    fn lost_statement(&mut self, error: &postgres::Error, sql: &str) -> BackendError {
        if error.code() != Some(&postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME) || !self.prepared {
            return statement_error(sql, error);
        }
        self.prepared = false;
        let before = self.identity.as_ref().map(|i| i.pid);
        let now = self.conn.client().ok().and_then(|c| lock::identity(c).ok()).map(|i| i.pid);
        match (before, now) {
            (Some(before), Some(now)) if before != now => {
                self.conn.own_session = false;
                lock::pooler_error(
                    &self.target,
                    format!("one connection was served by server process {before} and then by {now}"),
                )
            }
            _ => statement_error(sql, error),
        }
    }

    /// Whether the history table exists and holds a row (asked only when the version table
    /// is missing, which must then mean a fresh database).
    fn history_has_rows(&mut self) -> Result<bool, BackendError> {
        let history = self.tables.history.clone();
        if !self.table_exists(&history)? {
            return Ok(false);
        }
        let rows = self.simple_rows(&format!("SELECT 1 FROM {} LIMIT 1", quote_ident(&history)))?;
        Ok(!rows.is_empty())
    }

    fn corrupt(&self, table: &str, detail: String) -> BackendError {
        BackendError::CorruptVersionTable { table: table.to_string(), detail }
    }
}

/// The rows of a simple query's messages, as text (`None` for NULL).
pub(super) fn text_rows_of(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// Opens `config`'s connection, the whole start-up (socket, TLS, start-up message,
/// authentication) within the URL's `connect_timeout` when it names one, as libpq bounds it:
/// the driver applies that timeout to the socket connect alone, so a server that accepts the
/// connection and never answers (a stalled server, a pooler without a backend, a port that is
/// not PostgreSQL's) held the connect for ever. Without a `connect_timeout` it waits as long
/// as the driver does, as libpq does. The error is the driver's message, not yet scrubbed.
fn open_client(config: &Config, tls: &tls::LazyTls) -> Result<postgres::Client, String> {
    let Some(&timeout) = config.get_connect_timeout() else {
        return config.connect(tls.clone()).map_err(|e| driver_message(&e));
    };
    // Each host is tried in turn, each within the timeout.
    let hosts = config.get_hosts().len().max(1);
    let limit = timeout.saturating_mul(u32::try_from(hosts).unwrap_or(u32::MAX));
    let (sent, answer) = std::sync::mpsc::sync_channel(1);
    let (for_thread, tls_for_thread) = (config.clone(), tls.clone());
    // The driver has no deadline of its own to give: the start-up runs on a thread that is
    // abandoned when the limit passes (it ends when the server closes the connection, or
    // with the process), and its connection, should it open late, is closed at once.
    let opening = std::thread::Builder::new()
        .name("strata-pg-startup".into())
        .spawn(move || drop(sent.send(for_thread.connect(tls_for_thread).map_err(|e| driver_message(&e)))));
    if opening.is_err() {
        // No thread to be had: connect as the driver does.
        return config.connect(tls.clone()).map_err(|e| driver_message(&e));
    }
    match answer.recv_timeout(limit) {
        Ok(opened) => opened,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            let bound = match hosts {
                1 => format!("{timeout:?} (connect_timeout)"),
                n => format!("{limit:?} (connect_timeout {timeout:?} for each of {n} hosts)"),
            };
            Err(format!(
                "the server took the connection but did not finish the start-up within {bound}: \
             is this PostgreSQL's host and port, and is the server (or the pooler in front of it) \
             accepting sessions?"
            ))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err("the connection's start-up stopped without an answer (its thread ended)".into())
        }
    }
}

/// The message for a failed statement: the server's text plus its detail and hint, or the
/// driver's description of a client-side failure.
pub(crate) fn driver_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut message = db.message().to_string();
            if let Some(detail) = db.detail() {
                message.push_str(&format!(" (detail: {detail})"));
            }
            if let Some(hint) = db.hint() {
                message.push_str(&format!(" (hint: {hint})"));
            }
            message
        }
        None => {
            // The driver's own text leaves out the cause (a parameter that did not encode, an
            // I/O error), which is the useful part.
            let mut message = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                let text = cause.to_string();
                if !message.contains(&text) {
                    message.push_str(": ");
                    message.push_str(&text);
                }
                source = cause.source();
            }
            message
        }
    }
}

pub(super) fn statement_error(statement: &str, error: &postgres::Error) -> BackendError {
    let (statement, message) = (statement.to_string(), driver_message(error));
    // A lock_timeout: a rewritten step is retried on it, anything else is not.
    if error.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
        return BackendError::LockNotAvailable { statement, message };
    }
    BackendError::Statement { statement, message }
}

impl Backend for PostgresBackend {
    fn kind(&self) -> DialectKind {
        DialectKind::Postgres
    }

    fn server_version_num(&mut self) -> Result<Option<u32>, BackendError> {
        if let Some(num) = self.server_version {
            return Ok(Some(num));
        }
        let sql = "SHOW server_version_num";
        let rows = self.simple_rows(sql)?;
        let text = rows.first().and_then(|r| r.first()).cloned().flatten().unwrap_or_default();
        let num: u32 = text.trim().parse().map_err(|_| BackendError::Statement {
            statement: sql.into(),
            message: format!("the server answered {text:?}, not a version number"),
        })?;
        self.server_version = Some(num);
        Ok(Some(num))
    }

    fn version_tables(&self) -> &VersionTables {
        &self.tables
    }

    fn execute(&mut self, sql: &str) -> Result<(), BackendError> {
        self.batch(sql)
    }

    /// The `BEGIN` travels with the transaction's first statement (one round trip fewer per
    /// migration); a failure of that statement is still reported as that statement's.
    fn begin(&mut self) -> Result<(), BackendError> {
        self.expected = None;
        self.conn.begin_lazily();
        self.conn.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        self.conn.in_transaction = false;
        if self.conn.take_pending_begin() {
            return Ok(());
        }
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), BackendError> {
        self.conn.in_transaction = false;
        if self.conn.take_pending_begin() {
            return Ok(());
        }
        self.batch("ROLLBACK")
    }

    /// Foreign keys are always enforced; PostgreSQL never rebuilds a table.
    fn set_foreign_keys(&mut self, _on: bool) -> Result<bool, BackendError> {
        Ok(false)
    }

    fn foreign_key_violations(&mut self) -> Result<Vec<String>, BackendError> {
        Ok(Vec::new())
    }

    fn introspect(&mut self) -> Result<Schema, BackendError> {
        let client = self.conn.client().map_err(|e| statement_error("BEGIN", &e))?;
        introspect::introspect(client, &self.tables)
    }

    fn snapshot_table(&mut self, table: &str) -> Result<Option<TableSnapshot>, BackendError> {
        let mut schema = self.introspect()?;
        Ok(schema.tables.remove(table).map(|table| TableSnapshot { table, ..TableSnapshot::default() }))
    }

    fn data(&mut self) -> &mut dyn DataConnection {
        &mut self.conn
    }

    /// Creates missing tables under a transaction-scoped lock of their own: concurrent
    /// `CREATE TABLE IF NOT EXISTS` can otherwise fail on PostgreSQL's catalog unique index.
    fn ensure_version_tables(&mut self) -> Result<(), BackendError> {
        if self.tables_known {
            return self.prepare_bookkeeping();
        }
        let one_row = quote_ident(&one_row_index(&self.tables.version));
        let regclass = |name: &str| format!("to_regclass({}) IS NOT NULL", quote_str(name));
        let sql = format!(
            "SELECT {}, {}, {}",
            regclass(&quote_ident(&self.tables.version)),
            regclass(&quote_ident(&self.tables.history)),
            regclass(&one_row)
        );
        let rows = self.simple_rows(&sql)?;
        if rows.first().is_some_and(|r| r.iter().all(|v| v.as_deref() == Some("t"))) {
            self.tables_known = true;
            return self.prepare_bookkeeping();
        }
        let key = lock::key(&self.identity()?, &self.tables, lock::Purpose::CreateTables);
        let [create_version, create_history] = super::version_tables_ddl(DialectKind::Postgres, &self.tables);
        let one_row_ddl = super::one_row_index_ddl(DialectKind::Postgres, &self.tables);
        let sql = format!(
            "BEGIN;\nSELECT pg_advisory_xact_lock({key});\n{create_version};\n{create_history};\n{one_row_ddl};\nCOMMIT"
        );
        match self.conn.batch(&sql) {
            Ok(()) => {}
            // A version table that already holds two rows (written by an older strata) cannot
            // get its one-row index: it is corrupt, runs say so, and `stamp` repairs it (the
            // next run then adds the index).
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
                let _ = self.conn.batch("ROLLBACK");
                tracing::warn!("the version table holds more than one row: {}", driver_message(&e));
                return Ok(());
            }
            Err(e) => {
                let _ = self.conn.batch("ROLLBACK");
                return Err(statement_error(&sql, &e));
            }
        }
        self.tables_known = true;
        self.prepare_bookkeeping()
    }

    /// The run lock on a connection of its own. A transaction pooler is told apart by
    /// server process ids: the two connections served by one process, or one connection
    /// by two, is one; then nothing is locked and the error says to use the transaction
    /// lock mode. (A pooler that escapes these checks still cannot keep the lock: it is
    /// held by an open transaction, see `lock`.)
    fn lock_for_run(&mut self, timeout: std::time::Duration) -> Result<Option<RunLock>, BackendError> {
        let connection = lock::LockConnection::open(&self.config, self.tls.clone(), &self.target)?;
        let client = self.conn.client().map_err(|e| statement_error("BEGIN", &e))?;
        let now = lock::identity(client)?;
        let seen = match &self.identity {
            Some(before) if before.pid != now.pid => Some(format!(
                "one connection was served by server process {} and then by {}",
                before.pid, now.pid
            )),
            _ if now.pid == connection.identity.pid => {
                Some(format!("two connections were served by the same server process {}", now.pid))
            }
            _ => None,
        };
        if let Some(seen) = seen {
            return Err(lock::pooler_error(&self.target, seen));
        }
        let key = lock::key(&connection.identity, &self.tables, lock::Purpose::Migrate);
        let bookkeeping = lock::key(&now, &self.tables, lock::Purpose::Bookkeeping);
        self.identity = Some(now);
        let mut lock = connection.lock(key, timeout, &self.target)?;
        // A killed holder's last transaction may still be running on the server: wait for it
        // (it holds the bookkeeping lock), then every transaction of this run takes that lock
        // first, in the same round trip as its BEGIN.
        lock.wait_for(bookkeeping)?;
        self.conn.begin_sql = format!("BEGIN;\nSELECT pg_advisory_xact_lock({bookkeeping})");
        self.conn.own_session = true;
        Ok(Some(RunLock::new(Box::new(lock))))
    }

    fn lock_transaction(&mut self, timeout: std::time::Duration) -> Result<(), BackendError> {
        let identity = self.identity()?;
        let key = lock::key(&identity, &self.tables, lock::Purpose::Migrate);
        let bookkeeping = lock::key(&identity, &self.tables, lock::Purpose::Bookkeeping);
        let client = self.conn.client().map_err(|e| statement_error("BEGIN", &e))?;
        lock::acquire_for_transaction(client, key, timeout, &self.target)?;
        // After the run lock, as in session mode: the lock order is the same everywhere. The
        // timeouts travel with it: behind a pooler only this transaction's settings are ours.
        let sql = format!("{}SELECT pg_advisory_xact_lock({bookkeeping})", self.local_timeouts);
        self.batch(&sql)
    }

    fn set_timeouts(
        &mut self,
        lock: Option<std::time::Duration>,
        statement: Option<std::time::Duration>,
        per_transaction: bool,
    ) -> Result<(), BackendError> {
        let settings: Vec<(&str, std::time::Duration)> =
            [("lock_timeout", lock), ("statement_timeout", statement)]
                .into_iter()
                .filter_map(|(name, t)| t.map(|t| (name, t)))
                .collect();
        if !per_transaction {
            self.session_lock_timeout = lock;
        }
        if per_transaction {
            self.local_timeouts =
                settings.iter().map(|(name, t)| format!("SET LOCAL {name} = {};\n", t.as_millis())).collect();
            return Ok(());
        }
        // One round trip for both. Not deferred to travel with the next statement: a simple
        // query of several statements is one implicit transaction, and the next statement
        // failing (the version table not there yet) would undo the settings.
        let sql: String =
            settings.iter().map(|(name, t)| format!("SET {name} = {};\n", t.as_millis())).collect();
        if !sql.is_empty() {
            self.batch(&sql)?;
        }
        Ok(())
    }

    fn expect_version(&mut self, version: Option<Option<&str>>) {
        self.expected = version.map(|v| v.map(str::to_string));
    }

    /// One round trip: outside a transaction a missing table simply means base; inside one,
    /// where an error would abort it, the table is checked first unless it is known to exist.
    fn current_revision(&mut self) -> Result<Option<String>, BackendError> {
        let table = self.tables.version.clone();
        if self.conn.in_transaction && !self.tables_known && !self.table_exists(&table)? {
            return Ok(None);
        }
        let sql = format!("SELECT revision, dirty FROM {}", quote_ident(&table));
        let rows = match self.simple_rows_raw(&sql) {
            // The table is not there yet: nothing has been applied (decided by the error's own
            // code: looking again could see a table another migrator has just created).
            Err(e)
                if !self.conn.in_transaction
                    && e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) =>
            {
                if self.history_has_rows()? {
                    // The tables are created together, so a history with rows and no version
                    // table is corrupt, unless another migrator created both (and migrated)
                    // between these reads: then the version table is there now.
                    if self.table_exists(&table)? {
                        return self.current_revision();
                    }
                    return Err(super::version_table_missing(&self.tables));
                }
                return Ok(None);
            }
            // Columns strata did not make: not a version table it can trust.
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_COLUMN) => {
                return Err(self.corrupt(&table, format!("its format is unknown ({})", driver_message(&e))));
            }
            other => other.map_err(|e| statement_error(&sql, &e))?,
        };
        match rows.as_slice() {
            [] => Ok(None),
            [row] => match (row.first().cloned().flatten(), row.get(1).cloned().flatten()) {
                (version, Some(marker)) => Err(super::dirty_error(&table, &marker, version)),
                (None, None) => Err(super::revisionless_row(&table)),
                (revision, None) => Ok(revision),
            },
            _ => {
                Err(self
                    .corrupt(&table, format!("it holds {} rows where at most one is allowed", rows.len())))
            }
        }
    }

    /// The history row, the dirty marker and `COMMIT` in one round trip.
    fn mark_started(&mut self, record: &Record) -> Result<(), BackendError> {
        let version = quote_ident(&self.tables.version);
        let marker = quote_str(&super::dirty_marker(record.direction, &record.revision));
        let sql = format!(
            "{}{};\nUPDATE {version} SET dirty = {marker};\n\
             INSERT INTO {version} (revision, dirty) SELECT NULL, {marker} WHERE NOT EXISTS (SELECT 1 FROM {version});\n\
             COMMIT",
            moved_guard_statement(&version, &self.expected),
            self.history_insert(&[super::started_row(record)], "")
        );
        self.conn.in_transaction = false;
        self.expected = None;
        self.batch(&sql)
    }

    /// The step marker (and on the first step the `started` row) and `COMMIT` in one round trip.
    fn mark_step(
        &mut self,
        record: &Record,
        done: usize,
        plan: &str,
        first: bool,
    ) -> Result<(), BackendError> {
        let version = quote_ident(&self.tables.version);
        let marker = quote_str(&super::step_marker(record.direction, &record.revision, done, plan));
        let started = if first {
            format!("{};\n", self.history_insert(&[super::started_row(record)], ""))
        } else {
            String::new()
        };
        let sql = format!(
            "{}{started}UPDATE {version} SET dirty = {marker};\n\
             INSERT INTO {version} (revision, dirty) SELECT NULL, {marker} WHERE NOT EXISTS (SELECT 1 FROM {version});\n\
             COMMIT",
            moved_guard_statement(&version, &self.expected),
        );
        self.conn.in_transaction = false;
        self.expected = None;
        self.batch(&sql)
    }

    fn query_scalar(&mut self, sql: &str) -> Result<Option<String>, BackendError> {
        Ok(self.simple_rows(sql)?.into_iter().next().and_then(|row| row.into_iter().next().flatten()))
    }

    fn set_step_lock_timeout(
        &mut self,
        timeout: Option<std::time::Duration>,
        local: bool,
    ) -> Result<(), BackendError> {
        // 0 would mean "no timeout" and beyond i32::MAX ms the server refuses the value.
        let ms = |t: std::time::Duration| t.as_millis().clamp(1, i32::MAX as u128);
        let sql = match (timeout, local) {
            (Some(t), true) => format!("SET LOCAL lock_timeout = {}", ms(t)),
            (Some(t), false) => format!("SET lock_timeout = {}", ms(t)),
            (None, _) => match self.session_lock_timeout {
                Some(t) => format!("SET lock_timeout = {}", t.as_millis()),
                None => "RESET lock_timeout".to_string(),
            },
        };
        self.batch(&sql)
    }

    /// History rows, the final version and `COMMIT` as one batch: one round trip per
    /// migration (or per group), which keeps bookkeeping off the benchmark's critical path.
    fn record_and_commit(&mut self, records: &[Record]) -> Result<(), BackendError> {
        if records.is_empty() {
            return self.commit();
        }
        // Committed, or aborted and rolled back by the runner: either way no longer open.
        self.conn.in_transaction = false;
        let sql = format!("{};\nCOMMIT", self.bookkeeping(records, false));
        self.expected = None;
        self.conn.batch(&sql).map_err(|e| self.lost_statement(&e, &sql))
    }

    /// The statement, the bookkeeping and `COMMIT` in one round trip (with a pending `BEGIN`,
    /// a one-statement migration is a single round trip). The history row's duration adds
    /// the server's time since the batch arrived. The server stops at the first failure;
    /// which part it was is told by trying the bookkeeping alone, rolled back.
    fn execute_record_and_commit(&mut self, statement: &str, records: &[Record]) -> Result<(), Finish> {
        if records.is_empty() {
            self.execute(statement).map_err(Finish::Statement)?;
            return self.commit().map_err(Finish::Bookkeeping);
        }
        self.conn.in_transaction = false;
        let bookkeeping = self.bookkeeping(records, true);
        self.expected = None;
        // The line break ends a trailing `--` comment before the separator.
        match self.conn.batch(&format!("{statement}\n;\n{bookkeeping};\nCOMMIT")) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = self.conn.batch("ROLLBACK");
                // The prepared bookkeeping missing from the batch's session (a migration's own
                // `DISCARD ALL` aside, which the try alone then meets too).
                let lost = self.prepared
                    && e.code() == Some(&postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME)
                    && e.as_db_error().is_some_and(|d| d.message().contains(PreparedBookkeeping::NAME));
                let alone = self.conn.batch(&format!("BEGIN;\n{bookkeeping};\nROLLBACK"));
                if lost && alone.is_ok() {
                    // Missing in one transaction, there in the next: two sessions behind one
                    // connection, whatever the process ids said (a transaction pooler that
                    // escaped the checks before the lock).
                    self.conn.own_session = false;
                    self.prepared = false;
                    return Err(Finish::Bookkeeping(lock::pooler_error(
                        &self.target,
                        "the prepared bookkeeping was missing in one transaction of this connection and \
                         present in the next"
                            .into(),
                    )));
                }
                if let Err(alone) = alone {
                    let _ = self.conn.batch("ROLLBACK");
                    let error = match self.lost_statement(&alone, &bookkeeping) {
                        pooler @ BackendError::TransactionPooler { .. } => pooler,
                        _ => statement_error(&bookkeeping, &e),
                    };
                    return Err(Finish::Bookkeeping(error));
                }
                Err(Finish::Statement(statement_error(statement, &e)))
            }
        }
    }

    fn history(&mut self) -> Result<Vec<HistoryRow>, BackendError> {
        self.read_history(None)
    }

    fn history_of(&mut self, revisions: &[&str]) -> Result<Vec<HistoryRow>, BackendError> {
        self.read_history(Some(revisions))
    }
}

impl PostgresBackend {
    /// Every history row, or those of `only`.
    fn read_history(&mut self, only: Option<&[&str]>) -> Result<Vec<HistoryRow>, BackendError> {
        let table = self.tables.history.clone();
        // Inside a transaction an error would abort it, so the table is looked for first;
        // outside one a missing table is simply the error's code (one round trip fewer).
        if self.conn.in_transaction && !self.table_exists(&table)? {
            return Ok(Vec::new());
        }
        let filter = match only {
            None => String::new(),
            Some(revisions) => {
                let list: Vec<String> = revisions.iter().map(|r| quote_str(r)).collect();
                format!(" WHERE revision IN ({})", list.join(", "))
            }
        };
        // Every column, read by name: a table made by an older strata has no `acknowledged`
        // column (it is added when first needed), and this reads both in one round trip.
        let sql = format!("SELECT * FROM {}{filter} ORDER BY id", quote_ident(&table));
        // An unnamed statement (parse, bind, execute in one round trip): a named one would
        // be prepared and used in two transactions, which a transaction pooler may serve
        // from two server connections.
        let rows = match self.conn.client().and_then(|c| c.query_typed(sql.as_str(), &[])) {
            Ok(rows) => rows,
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => return Ok(Vec::new()),
            Err(e) => return Err(statement_error(&sql, &e)),
        };
        rows.iter()
            .map(|row| {
                let read = |e: postgres::Error| self.corrupt(&table, e.to_string());
                let id: i64 = row.try_get("id").map_err(read)?;
                let direction: String = row.try_get("direction").map_err(read)?;
                let direction = Direction::parse(&direction).ok_or_else(|| {
                    self.corrupt(&table, format!("row {id} has an unknown direction {direction:?}"))
                })?;
                let has_acknowledged = row.columns().iter().any(|c| c.name() == super::ACKNOWLEDGED_COLUMN);
                Ok(HistoryRow {
                    id,
                    revision: row.try_get("revision").map_err(read)?,
                    message: row.try_get("message").map_err(read)?,
                    direction,
                    applied_at: row.try_get::<_, DateTime<Utc>>("applied_at").map_err(read)?,
                    duration_ms: row.try_get("duration_ms").map_err(read)?,
                    checksum: row.try_get("checksum").map_err(read)?,
                    acknowledged: if has_acknowledged {
                        row.try_get(super::ACKNOWLEDGED_COLUMN).map_err(read)?
                    } else {
                        None
                    },
                })
            })
            .collect()
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests;
