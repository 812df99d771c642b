//! One migrator at a time on PostgreSQL: an advisory lock whose key derives from the database,
//! the schema and the version table's name (two applications in one database, with their own
//! version tables, do not block each other). The run lock lives on a connection of its own and
//! is released when its guard drops, failures included (sqlx once leaked it on an error path);
//! a killed process's lock goes with its connection. Waiting is bounded: `pg_try_advisory_lock`
//! is polled until the timeout, then the error names who holds it.

use super::statement_error;
use crate::backend::{BackendError, VersionTables, LOCK_POLL};
use postgres::Client;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// What a key guards: whole runs, or the creation of the version tables.
#[derive(Debug, Clone, Copy)]
pub(super) enum Purpose {
    Migrate,
    CreateTables,
}

/// The advisory lock key for `purpose` in the database and schema `client` is connected to.
pub(super) fn key(
    client: &mut Client,
    tables: &VersionTables,
    purpose: Purpose,
) -> Result<i64, BackendError> {
    let sql = "SELECT current_database()::text, current_schema()::text";
    let row = client.query_one(sql, &[]).map_err(|e| statement_error(sql, &e))?;
    let (db, schema): (String, Option<String>) = (row.get(0), row.get(1));
    let text = format!("strata:{purpose:?}:{db}:{}:{}", schema.unwrap_or_default(), tables.version);
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    Ok(i64::from_be_bytes(bytes))
}

/// Polls `try_sql` (which returns one boolean) until it is true or `timeout` passes.
fn poll(
    client: &mut Client,
    try_sql: &str,
    key: i64,
    timeout: Duration,
    target: &str,
) -> Result<(), BackendError> {
    let started = Instant::now();
    loop {
        let row = client.query_one(try_sql, &[&key]).map_err(|e| statement_error(try_sql, &e))?;
        if row.get::<_, bool>(0) {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(BackendError::LockTimeout {
                target: target.to_string(),
                waited: started.elapsed(),
                holder: holder(client, key),
            });
        }
        std::thread::sleep(
            LOCK_POLL.min(timeout.saturating_sub(started.elapsed())).max(Duration::from_millis(1)),
        );
    }
}

/// Who holds the advisory lock `key`, for the timeout message.
fn holder(client: &mut Client, key: i64) -> Option<String> {
    let sql = "SELECT a.pid, coalesce(a.application_name, ''), a.backend_start::text \
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
               WHERE l.locktype = 'advisory' AND l.granted \
               AND l.classid::bigint = ($1 >> 32) & 4294967295 AND l.objid::bigint = $1 & 4294967295 \
               LIMIT 1";
    let row = client.query_opt(sql, &[&key]).ok()??;
    let (pid, app, since): (i32, String, String) = (row.get(0), row.get(1), row.get(2));
    let app = if app.is_empty() { String::new() } else { format!(" ({app})") };
    Some(format!("server process {pid}{app}, connected since {since}"))
}

/// The run lock: a session advisory lock on a connection of its own.
pub(super) struct SessionLock {
    client: Client,
    key: i64,
}

impl SessionLock {
    pub(super) fn acquire(
        config: &postgres::Config,
        tls: super::tls::LazyTls,
        tables: &VersionTables,
        timeout: Duration,
        target: &str,
    ) -> Result<Self, BackendError> {
        let mut client = config.connect(tls).map_err(|e| BackendError::Connect {
            target: target.to_string(),
            message: super::driver_message(&e),
        })?;
        let key = key(&mut client, tables, Purpose::Migrate)?;
        poll(&mut client, "SELECT pg_try_advisory_lock($1)", key, timeout, target)?;
        tracing::debug!(key, "took the migration lock");
        Ok(SessionLock { client, key })
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        // Closing the connection releases the lock too; unlocking first makes it immediate.
        if let Err(e) = self.client.execute("SELECT pg_advisory_unlock($1)", &[&self.key]) {
            tracing::warn!("releasing the migration lock: {e}; it is released when the connection closes");
        }
    }
}

/// Inside an open transaction: the same lock, released at commit or rollback.
pub(super) fn acquire_for_transaction(
    client: &mut Client,
    key: i64,
    timeout: Duration,
    target: &str,
) -> Result<(), BackendError> {
    poll(client, "SELECT pg_try_advisory_xact_lock($1)", key, timeout, target)
}
