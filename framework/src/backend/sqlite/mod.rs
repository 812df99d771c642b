//! The SQLite backend over rusqlite: statements, transactions, the bookkeeping tables, the
//! data-op connection and introspection. SQLite's pragmas report columns, keys, indexes and
//! foreign keys; constraint names, checks and AUTOINCREMENT come from the stored `CREATE
//! TABLE` text (`ddl`).

mod data;
mod ddl;
mod introspect;
#[cfg(test)]
mod tests;

use super::{
    millis, Backend, BackendError, DatabaseUrl, Direction, HistoryRow, Record, SqliteCache, SqliteMode,
    SqliteOptions, VersionTables,
};
use crate::data::DataConnection;
use crate::dialect::quote_ident;
use crate::dialect::sqlite::REBUILD_PREFIX;
use crate::ops::{DialectKind, Op};
use crate::schema::{Schema, TableSnapshot};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OpenFlags};
use std::time::{Duration, Instant};

/// How long a statement waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Enough cached statements for the bookkeeping, introspection and a migration's data ops,
/// so the hot bookkeeping statements are not evicted mid-run.
const STATEMENT_CACHE: usize = 64;

/// A SQLite connection.
#[derive(Debug)]
pub struct SqliteBackend {
    conn: Connection,
    tables: VersionTables,
    sql: BookkeepingSql,
    /// The URL, for messages.
    target: String,
    /// Opened with `mode=ro`.
    read_only: bool,
    /// The version this connection's last bookkeeping commit wrote, while nothing can have
    /// moved it since (see [`OwnCommit`]).
    own_commit: Option<OwnCommit>,
}

/// What makes the version this connection committed still the current one, so the version
/// re-check at the start of the next migration needs no read of the version table (a read that
/// SQLite must prepare again after every schema change). Another connection's commit changes
/// `PRAGMA data_version`, as read inside the transaction that wrote the version; any row this
/// connection changes since changes its `total_changes`; anything else this connection runs
/// forgets it.
#[derive(Debug)]
struct OwnCommit {
    data_version: i64,
    total_changes: u64,
    version: Option<String>,
}

/// The bookkeeping statements, formatted once with the quoted table names so the hot path
/// only looks them up in the statement cache.
#[derive(Debug)]
struct BookkeepingSql {
    create_version: String,
    create_history: String,
    create_one_row: String,
    select_version: String,
    delete_version: String,
    update_version: String,
    insert_version: String,
    insert_history: String,
    select_history: String,
    mark_dirty: String,
    insert_dirty: String,
}

impl BookkeepingSql {
    fn new(tables: &VersionTables) -> Self {
        let (v, h) = (quote_ident(&tables.version), quote_ident(&tables.history));
        let [create_version, create_history] = super::version_tables_ddl(DialectKind::Sqlite, tables);
        BookkeepingSql {
            create_version,
            create_history,
            create_one_row: super::one_row_index_ddl(DialectKind::Sqlite, tables),
            select_version: format!("SELECT revision, dirty FROM {v} LIMIT 2"),
            delete_version: format!("DELETE FROM {v}"),
            update_version: format!("UPDATE {v} SET revision = ?1, dirty = NULL"),
            mark_dirty: format!("UPDATE {v} SET dirty = ?1"),
            insert_dirty: format!("INSERT INTO {v} (revision, dirty) VALUES (NULL, ?1)"),
            insert_version: format!("INSERT INTO {v} (revision) VALUES (?1)"),
            insert_history: format!(
                "INSERT INTO {h} (revision, message, direction, applied_at, duration_ms, checksum) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            // Every column, read by name: a table made by an older strata has no
            // `acknowledged` column (it is added when first needed).
            select_history: format!("SELECT * FROM {h} ORDER BY id"),
        }
    }
}

/// The flags for a `sqlite://` URL's parameters. No URI flag: the path is already decoded,
/// so a file named `file:x` is just that.
fn open_flags(options: &SqliteOptions) -> OpenFlags {
    let mode = match options.mode {
        SqliteMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        SqliteMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        SqliteMode::ReadWriteCreate => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        SqliteMode::Memory => {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_MEMORY
        }
    };
    let cache = match options.cache {
        Some(SqliteCache::Shared) => OpenFlags::SQLITE_OPEN_SHARED_CACHE,
        Some(SqliteCache::Private) => OpenFlags::SQLITE_OPEN_PRIVATE_CACHE,
        None => OpenFlags::empty(),
    };
    mode | cache | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// SQLite's generic SQLITE_ERROR, which it gives a statement wrong for the schema (a refusal
/// found while preparing the statement comes with its offset).
fn is_plain_error(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(e, _) | rusqlite::Error::SqlInputError { error: e, .. } => {
            e.code == rusqlite::ErrorCode::Unknown
        }
        _ => false,
    }
}

/// Maps a rusqlite error to a statement failure naming `statement`.
fn failed(statement: &str) -> impl FnOnce(rusqlite::Error) -> BackendError + '_ {
    move |e| BackendError::Statement { statement: statement.to_string(), message: e.to_string() }
}

impl SqliteBackend {
    /// Opens (creating if missing) the database `url` names, with foreign keys enforced.
    pub fn open(url: &DatabaseUrl, tables: VersionTables) -> Result<SqliteBackend, BackendError> {
        let connect_err =
            |e: rusqlite::Error| BackendError::Connect { target: url.to_string(), message: e.to_string() };
        let conn = match url {
            DatabaseUrl::Sqlite { path, options } => Connection::open_with_flags(path, open_flags(options)),
            DatabaseUrl::SqliteMemory => Connection::open_in_memory(),
            DatabaseUrl::Postgres { .. } => {
                return Err(BackendError::Connect {
                    target: url.to_string(),
                    message: "not a SQLite URL".into(),
                })
            }
        }
        .map_err(connect_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(connect_err)?;
        conn.execute_batch("PRAGMA foreign_keys = ON").map_err(connect_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let sql = BookkeepingSql::new(&tables);
        let read_only =
            matches!(url, DatabaseUrl::Sqlite { options, .. } if options.mode == SqliteMode::ReadOnly);
        Ok(SqliteBackend { conn, tables, sql, target: url.to_string(), read_only, own_commit: None })
    }

    /// One history row per record, through the statement cache.
    fn insert_history_rows(&self, records: &[Record]) -> Result<(), BackendError> {
        let sql = &self.sql.insert_history;
        let mut insert = self.conn.prepare_cached(sql).map_err(failed(sql))?;
        for r in records {
            let applied_at = r.applied_at.to_rfc3339_opts(SecondsFormat::Micros, true);
            insert
                .execute(params![
                    r.revision,
                    r.message,
                    r.direction.as_str(),
                    applied_at,
                    millis(r.duration),
                    r.checksum
                ])
                .map_err(failed(sql))?;
            if let Some(text) = &r.acknowledged {
                self.record_acknowledged(text)?;
            }
        }
        Ok(())
    }

    /// The acknowledgements of the history row just inserted, in its transaction; the column
    /// is added first to a table made by an older strata. Only for a migration with
    /// `op.allow`, so the usual bookkeeping is untouched.
    fn record_acknowledged(&self, text: &str) -> Result<(), BackendError> {
        let (h, column) = (quote_ident(&self.tables.history), super::ACKNOWLEDGED_COLUMN);
        let probe = "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2";
        if self.rows(probe, [self.tables.history.as_str(), column], |_| Ok(()))?.is_empty() {
            let add = format!("ALTER TABLE {h} ADD COLUMN {} TEXT", quote_ident(column));
            self.conn.execute_batch(&add).map_err(failed(&add))?;
        }
        let update = format!("UPDATE {h} SET {} = ?1 WHERE id = last_insert_rowid()", quote_ident(column));
        self.conn.prepare_cached(&update).and_then(|mut s| s.execute([text])).map_err(failed(&update))?;
        Ok(())
    }

    /// Runs a parameterless statement through the statement cache.
    fn run_cached(&self, sql: &str) -> Result<(), BackendError> {
        self.conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop).map_err(failed(sql))
    }

    /// Every row of a query, mapped by `f`.
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, BackendError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(failed(sql))?;
        let rows = stmt.query_map(params, f).map_err(failed(sql))?;
        rows.collect::<Result<Vec<T>, _>>().map_err(failed(sql))
    }

    /// Table names are case-insensitive (ASCII) in SQLite, as in `CREATE TABLE IF NOT EXISTS`.
    fn table_exists(&self, name: &str) -> Result<bool, BackendError> {
        const SQL: &str = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE";
        Ok(!self.rows(SQL, [name], |_| Ok(()))?.is_empty())
    }

    /// Whether the history table exists and holds a row (asked only when the version table
    /// is missing, which must then mean a fresh database).
    fn history_has_rows(&self) -> Result<bool, BackendError> {
        if !self.table_exists(&self.tables.history)? {
            return Ok(false);
        }
        let sql = format!("SELECT 1 FROM {} LIMIT 1", quote_ident(&self.tables.history));
        Ok(!self.rows(&sql, [], |_| Ok(()))?.is_empty())
    }

    /// Says what SQLite's terse messages mean. It reports another connection's lock as
    /// "database is locked" once the busy timeout has passed, whichever statement met it: a
    /// `BEGIN IMMEDIATE` holder blocks `BEGIN`, a `BEGIN EXCLUSIVE` holder blocks every read too
    /// (the version read before the run's own `BEGIN` included). Either way another connection
    /// holds the database's only lock. A write to a read-only database names why it is one.
    fn locked(&self, started: Instant) -> impl FnOnce(BackendError) -> BackendError + '_ {
        move |e| match e {
            e if is_locked(&e) => BackendError::LockTimeout {
                target: self.target.clone(),
                waited: started.elapsed(),
                holder: None,
            },
            BackendError::Statement { statement, message }
                if message.starts_with("attempt to write a readonly") =>
            {
                let why = if self.read_only {
                    "its URL opens it read-only (mode=ro): drop mode=ro to migrate it"
                } else {
                    "check the permissions of the file and of its directory"
                };
                BackendError::Statement {
                    statement,
                    message: format!(
                        "{} is read-only, so nothing was written ({message}); {why}",
                        self.target
                    ),
                }
            }
            other => other,
        }
    }

    fn is_bookkeeping(&self, table: &str) -> bool {
        table.eq_ignore_ascii_case(&self.tables.version) || table.eq_ignore_ascii_case(&self.tables.history)
    }
}

/// Whether `e` is SQLite giving up on another connection's lock after the busy timeout.
fn is_locked(e: &BackendError) -> bool {
    matches!(e, BackendError::Statement { message, .. } if message.starts_with("database is locked"))
}

fn corrupt(table: &str, detail: impl Into<String>) -> BackendError {
    BackendError::CorruptVersionTable { table: table.to_string(), detail: detail.into() }
}

impl Backend for SqliteBackend {
    fn kind(&self) -> DialectKind {
        DialectKind::Sqlite
    }

    fn version_tables(&self) -> &VersionTables {
        &self.tables
    }

    /// A batch, so raw SQL with several statements runs as written.
    fn execute(&mut self, sql: &str) -> Result<(), BackendError> {
        self.own_commit = None;
        let started = Instant::now();
        self.conn.execute_batch(sql).map_err(failed(sql)).map_err(self.locked(started))
    }

    /// Takes the write lock up front, so concurrent migrators queue here (bounded by the busy
    /// timeout) instead of failing half-way through a migration.
    fn begin(&mut self) -> Result<(), BackendError> {
        let started = Instant::now();
        self.run_cached("BEGIN IMMEDIATE").map_err(self.locked(started))
    }

    /// SQLite has no lock to hold across a run: each migration's `BEGIN IMMEDIATE` takes the
    /// write lock and the runner re-checks the version inside it. `timeout` bounds that wait.
    fn lock_for_run(&mut self, timeout: std::time::Duration) -> Result<Option<super::RunLock>, BackendError> {
        self.conn.busy_timeout(timeout).map_err(failed("PRAGMA busy_timeout"))?;
        Ok(None)
    }

    fn commit(&mut self) -> Result<(), BackendError> {
        let started = Instant::now();
        self.run_cached("COMMIT").map_err(self.locked(started))
    }

    /// A no-op when no transaction is open (SQLite may already have rolled back on an error).
    fn rollback(&mut self) -> Result<(), BackendError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.run_cached("ROLLBACK")
    }

    fn set_foreign_keys(&mut self, on: bool) -> Result<bool, BackendError> {
        const READ: &str = "PRAGMA foreign_keys";
        let was: i64 = self.conn.query_row(READ, [], |r| r.get(0)).map_err(failed(READ))?;
        let set = if on { "PRAGMA foreign_keys = ON" } else { "PRAGMA foreign_keys = OFF" };
        self.conn.execute_batch(set).map_err(failed(set))?;
        Ok(was != 0)
    }

    fn foreign_key_violations(&mut self) -> Result<Vec<String>, BackendError> {
        const SQL: &str = "PRAGMA foreign_key_check";
        self.rows(SQL, [], |r| {
            let table: String = r.get(0)?;
            let rowid: Option<i64> = r.get(1)?;
            let parent: String = r.get(2)?;
            let fk: i64 = r.get(3)?;
            let row = rowid.map_or_else(|| "a row".to_string(), |id| format!("rowid {id}"));
            Ok(format!("{table} {row} references a missing row of {parent} (foreign key {fk})"))
        })
    }

    fn introspect(&mut self) -> Result<Schema, BackendError> {
        let started = Instant::now();
        self.read_schema().map_err(self.locked(started))
    }

    fn snapshot_table(&mut self, table: &str) -> Result<Option<TableSnapshot>, BackendError> {
        let started = Instant::now();
        self.read_snapshot(table).map_err(self.locked(started))
    }

    /// SQLite's `DROP COLUMN` refuses, with the generic SQLITE_ERROR and before anything
    /// changes (a failed statement is undone), a column in the primary key, a UNIQUE
    /// constraint, an index, a foreign key, a CHECK, a generated column, a trigger or a view.
    /// Any other failure (a full disk, a lost lock, a read-only file) is not a refusal. A
    /// missing table or column is one: the general form then names it as it always did.
    fn try_plain_form(&mut self, op: &Op, statement: &str) -> Result<bool, BackendError> {
        if !matches!(op, Op::DropColumn { .. }) {
            return Ok(false);
        }
        self.own_commit = None;
        let started = Instant::now();
        match self.conn.execute_batch(statement) {
            Ok(()) => Ok(true),
            Err(e) if is_plain_error(&e) => {
                tracing::debug!(sql = statement, "SQLite refused the plain form: {e}");
                Ok(false)
            }
            Err(e) => Err(self.locked(started)(failed(statement)(e))),
        }
    }

    fn data(&mut self) -> &mut dyn DataConnection {
        self.own_commit = None;
        self
    }

    fn ensure_version_tables(&mut self) -> Result<(), BackendError> {
        let started = Instant::now();
        if !self.version_tables_missing().map_err(self.locked(started))? {
            return Ok(());
        }
        // What is missing is made in one transaction: a fresh database pays one commit (its
        // journal and fsyncs) instead of one per statement. The write lock comes first, so a
        // second creator waits for it (busy timeout) instead of meeting it half-way.
        self.begin()?;
        match self.create_version_tables() {
            Ok(()) => self.commit(),
            Err(e) => {
                // The creation's own error is the one to report; a failed rollback only
                // means SQLite has already rolled back.
                if let Err(rollback) = self.rollback() {
                    tracing::debug!("rolling back the version tables' creation: {rollback}");
                }
                Err(self.locked(started)(e))
            }
        }
    }

    fn current_revision(&mut self) -> Result<Option<String>, BackendError> {
        let started = Instant::now();
        if let Some(version) = self.own_commit_still_current().map_err(self.locked(started))? {
            return Ok(version);
        }
        self.read_version().map_err(self.locked(started))
    }

    fn mark_started(&mut self, record: &Record) -> Result<(), BackendError> {
        let started = Instant::now();
        self.write_started(record).map_err(self.locked(started))
    }

    fn record_and_commit(&mut self, records: &[Record]) -> Result<(), BackendError> {
        let started = Instant::now();
        self.write_records(records).map_err(self.locked(started))
    }

    fn history(&mut self) -> Result<Vec<HistoryRow>, BackendError> {
        let started = Instant::now();
        self.read_history(None).map_err(self.locked(started))
    }

    fn history_of(&mut self, revisions: &[&str]) -> Result<Vec<HistoryRow>, BackendError> {
        let started = Instant::now();
        self.read_history(Some(revisions)).map_err(self.locked(started))
    }
}

/// The bodies of the reads and writes that can meet another connection's lock; the trait
/// methods above turn that into [`BackendError::LockTimeout`].
impl SqliteBackend {
    fn read_schema(&mut self) -> Result<Schema, BackendError> {
        // pragma_table_list tells real tables from virtual and shadow ones, which have no
        // definition strata can rebuild.
        const SQL: &str = "SELECT m.name, m.sql FROM sqlite_master AS m \
             JOIN pragma_table_list AS l ON l.name = m.name AND l.schema = 'main' AND l.type = 'table' \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.name";
        let found: Vec<(String, Option<String>)> = self.rows(SQL, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut schema = Schema::default();
        for (name, sql) in found {
            if self.is_bookkeeping(&name) || name.starts_with(REBUILD_PREFIX) {
                continue;
            }
            let table = self.read_table(&name, sql.as_deref().unwrap_or_default())?;
            schema.tables.insert(name, table);
        }
        Ok(schema)
    }

    /// One pass over `sqlite_master` (it has no index on names, so each query is a scan of
    /// every schema object): the table's definition, then its indexes and triggers.
    fn read_snapshot(&mut self, table: &str) -> Result<Option<TableSnapshot>, BackendError> {
        const SQL: &str = "SELECT type, name, sql FROM sqlite_master \
             WHERE tbl_name = ?1 COLLATE NOCASE AND type IN ('table', 'index', 'trigger') ORDER BY rowid";
        let objects: Vec<(String, String, Option<String>)> =
            self.rows(SQL, [table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let Some((_, name, sql)) = objects.iter().find(|(kind, ..)| kind == "table") else {
            return Ok(None);
        };
        let table = self.read_table(name, sql.as_deref().unwrap_or_default())?;
        // Automatic indexes (those behind a key constraint) have no SQL of their own.
        let of_kind = |wanted: &str| -> Vec<(String, String)> {
            objects
                .iter()
                .filter(|(kind, ..)| kind == wanted)
                .filter_map(|(_, name, sql)| Some((name.clone(), sql.clone()?)))
                .collect()
        };
        Ok(Some(TableSnapshot { indexes_sql: of_kind("index"), triggers_sql: of_kind("trigger"), table }))
    }

    /// Whether a version table, the history table or the version table's one-row index is
    /// missing. Each `IF NOT EXISTS` statement compiles to a read when its object is there, so
    /// asking costs a prepare each and takes no write lock.
    fn version_tables_missing(&self) -> Result<bool, BackendError> {
        // In this order: the index's statement compiles only once its table exists.
        for sql in [&self.sql.create_version, &self.sql.create_history, &self.sql.create_one_row] {
            if !self.conn.prepare(sql).map_err(failed(sql))?.readonly() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The creation statements, run inside the caller's transaction.
    fn create_version_tables(&self) -> Result<(), BackendError> {
        for sql in [&self.sql.create_version, &self.sql.create_history] {
            self.conn.execute_batch(sql).map_err(failed(sql))?;
        }
        // One row at most, enforced by SQLite whoever writes (an index on a constant), also
        // on tables made by an older strata. A table that already holds two rows cannot get
        // it: runs report it corrupt, and the next run after a `stamp` adds it. The failed
        // statement is undone on its own; the transaction goes on.
        let sql = &self.sql.create_one_row;
        match self.conn.execute_batch(sql) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                tracing::warn!("the version table {} holds more than one row", self.tables.version);
                Ok(())
            }
            other => other.map_err(failed(sql)),
        }
    }

    /// Runs once per migration inside its transaction, so the usual case is one cached
    /// statement; whether the table exists is only asked when reading it fails.
    fn read_version(&mut self) -> Result<Option<String>, BackendError> {
        self.read_version_once(true)
    }

    /// [`Self::read_version`]; `retry`: read once more when the table appeared meanwhile.
    fn read_version_once(&mut self, retry: bool) -> Result<Option<String>, BackendError> {
        let read = self.rows(&self.sql.select_version, [], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?))
        });
        let mut rows = match read {
            Ok(rows) => rows,
            // Another connection's lock: asking whether the table exists would wait again.
            Err(e) if is_locked(&e) => return Err(e),
            Err(_) if !self.table_exists(&self.tables.version)? => {
                if self.history_has_rows()? {
                    // strata creates the version table before the history table, so a history
                    // with rows and no version table is corrupt, unless another migrator
                    // created both (and migrated) between these reads: then it is there now.
                    if self.table_exists(&self.tables.version)? {
                        return self.read_version_once(false);
                    }
                    return Err(super::version_table_missing(&self.tables));
                }
                return Ok(None);
            }
            // Missing when read, there now: another migrator created it in between (a race
            // sixteen migrators meet), so read it again.
            Err(e) if retry && e.to_string().contains("no such table") => {
                return self.read_version_once(false)
            }
            // The table exists, so a failing read means it is not the table strata made.
            Err(e) => return Err(corrupt(&self.tables.version, format!("its format is unknown ({e})"))),
        };
        if rows.len() > 1 {
            return Err(corrupt(&self.tables.version, "it holds more than one row"));
        }
        match rows.pop() {
            Some((version, Some(marker))) => Err(super::dirty_error(&self.tables.version, &marker, version)),
            Some((None, None)) => Err(super::revisionless_row(&self.tables.version)),
            Some((revision, None)) => Ok(revision),
            None => Ok(None),
        }
    }

    fn write_started(&mut self, record: &Record) -> Result<(), BackendError> {
        self.own_commit = None;
        self.insert_history_rows(&[super::started_row(record)])?;
        let marker = super::dirty_marker(record.direction, &record.revision);
        let sql = &self.sql;
        let updated = self
            .conn
            .prepare_cached(&sql.mark_dirty)
            .and_then(|mut s| s.execute([&marker]))
            .map_err(failed(&sql.mark_dirty))?;
        if updated == 0 {
            self.conn
                .prepare_cached(&sql.insert_dirty)
                .and_then(|mut s| s.execute([&marker]))
                .map_err(failed(&sql.insert_dirty))?;
        }
        self.commit()
    }

    /// Runs on every migration, so it only uses cached statements.
    fn write_records(&mut self, records: &[Record]) -> Result<(), BackendError> {
        self.own_commit = None;
        self.insert_history_rows(records)?;
        let sql = &self.sql;
        let written = records.last().map(|r| &r.new_version);
        match written {
            None => {}
            Some(None) => self.run_cached(&sql.delete_version)?,
            // One statement in the usual case: the row is there and only changes.
            Some(Some(version)) => {
                let update = |s: &str| self.conn.prepare_cached(s).and_then(|mut st| st.execute([version]));
                if update(&sql.update_version).map_err(failed(&sql.update_version))? == 0 {
                    update(&sql.insert_version).map_err(failed(&sql.insert_version))?;
                }
            }
        }
        // Read while this transaction holds the write lock: no other commit can come between.
        let data_version = match written {
            Some(_) => Some(self.data_version()?),
            None => None,
        };
        self.run_cached("COMMIT")?;
        if let (Some(data_version), Some(version)) = (data_version, written) {
            let total_changes = self.conn.total_changes();
            self.own_commit = Some(OwnCommit { data_version, total_changes, version: version.clone() });
        }
        Ok(())
    }

    /// `PRAGMA data_version`: changes when another connection commits to the database. Its
    /// statement reads no table, so a schema change does not make SQLite prepare it again.
    fn data_version(&self) -> Result<i64, BackendError> {
        const SQL: &str = "PRAGMA data_version";
        self.conn.prepare_cached(SQL).and_then(|mut s| s.query_row([], |r| r.get(0))).map_err(failed(SQL))
    }

    /// The version this connection last committed, when that is provably still the current
    /// one ([`OwnCommit`]); `None`: it must be read.
    fn own_commit_still_current(&mut self) -> Result<Option<Option<String>>, BackendError> {
        let Some(own) = &self.own_commit else { return Ok(None) };
        if own.total_changes != self.conn.total_changes() {
            self.own_commit = None;
            return Ok(None);
        }
        let (expected, version) = (own.data_version, own.version.clone());
        if self.data_version()? != expected {
            self.own_commit = None;
            return Ok(None);
        }
        Ok(Some(version))
    }

    fn read_history(&mut self, only: Option<&[&str]>) -> Result<Vec<HistoryRow>, BackendError> {
        if !self.table_exists(&self.tables.history)? {
            return Ok(Vec::new());
        }
        type Raw = (i64, String, String, String, String, f64, Option<String>, Option<String>);
        let sql = match only {
            None => self.sql.select_history.clone(),
            Some(revisions) => {
                let list: Vec<String> = revisions.iter().map(|r| crate::dialect::quote_str(r)).collect();
                self.sql
                    .select_history
                    .replace(" ORDER BY id", &format!(" WHERE revision IN ({}) ORDER BY id", list.join(", ")))
            }
        };
        let column = super::ACKNOWLEDGED_COLUMN;
        let raw: Vec<Raw> = self.rows(&sql, [], |r| {
            let acknowledged = match r.as_ref().column_index(column) {
                Ok(i) => r.get(i)?,
                Err(_) => None,
            };
            Ok((
                r.get("id")?,
                r.get("revision")?,
                r.get("message")?,
                r.get("direction")?,
                r.get("applied_at")?,
                r.get("duration_ms")?,
                r.get("checksum")?,
                acknowledged,
            ))
        })?;
        raw.into_iter()
            .map(|(id, revision, message, direction, applied_at, duration_ms, checksum, acknowledged)| {
                let table = &self.tables.history;
                let direction = Direction::parse(&direction).ok_or_else(|| {
                    corrupt(table, format!("row {id} has the unknown direction {direction:?}"))
                })?;
                let applied_at = DateTime::parse_from_rfc3339(&applied_at)
                    .map_err(|e| corrupt(table, format!("row {id} has the bad time {applied_at:?}: {e}")))?
                    .with_timezone(&Utc);
                Ok(HistoryRow {
                    id,
                    revision,
                    message,
                    direction,
                    applied_at,
                    duration_ms,
                    checksum,
                    acknowledged,
                })
            })
            .collect()
    }
}
