//! One migrator at a time on PostgreSQL: advisory locks whose keys derive from the database,
//! the schema and the version table's name (two applications in one database, with their own
//! version tables, do not block each other).
//!
//! The run lock is transaction-scoped and held by an open transaction on a connection of its
//! own: it cannot outlive that transaction, so no path (an error, a killed process, a pooler
//! that hands the server connection to someone else) can leave it behind; it is released when
//! its guard drops. Waiting is bounded: the lock is tried, and retried in a new transaction,
//! until the timeout, then the error names who holds it. Every statement here is a simple
//! query with the key as a literal: nothing depends on a session-level prepared statement,
//! which a transaction pooler would lose between transactions.

use super::statement_error;
use crate::backend::{BackendError, VersionTables, LOCK_POLL};
use postgres::Client;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// What a key guards.
#[derive(Debug, Clone, Copy)]
pub(super) enum Purpose {
    /// Whole runs (the run lock; per transaction in the transaction lock mode).
    Migrate,
    /// The creation of the version tables.
    CreateTables,
    /// Every transaction that writes bookkeeping, so that a successor waits for a killed
    /// migrator's transaction that the server has not finished yet.
    Bookkeeping,
}

/// Where a connection works, from the server: what the keys derive from, and the server
/// process that serves it (which tells a transaction pooler apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) pid: i32,
    database: String,
    schema: String,
}

const IDENTITY_SQL: &str = "SELECT pg_backend_pid()::text, current_database()::text, current_schema()::text";

/// The connection's [`Identity`], in one simple query.
pub(super) fn identity(client: &mut Client) -> Result<Identity, BackendError> {
    let rows = text_rows(client, IDENTITY_SQL)?;
    let row = rows.first().ok_or_else(|| BackendError::Statement {
        statement: IDENTITY_SQL.into(),
        message: "the server returned no row".into(),
    })?;
    let pid = row.first().cloned().flatten().and_then(|p| p.parse().ok()).ok_or_else(|| {
        BackendError::Statement { statement: IDENTITY_SQL.into(), message: "no server process id".into() }
    })?;
    Ok(Identity {
        pid,
        database: row.get(1).cloned().flatten().unwrap_or_default(),
        schema: row.get(2).cloned().flatten().unwrap_or_default(),
    })
}

/// The advisory lock key for `purpose` where `identity` works.
pub(super) fn key(identity: &Identity, tables: &VersionTables, purpose: Purpose) -> i64 {
    let text = format!("strata:{purpose:?}:{}:{}:{}", identity.database, identity.schema, tables.version);
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Text rows of a simple query (no prepared statement, one round trip).
fn text_rows(client: &mut Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, BackendError> {
    let messages = client.simple_query(sql).map_err(|e| statement_error(sql, &e))?;
    Ok(super::text_rows_of(&messages))
}

fn first_bool(rows: &[Vec<Option<String>>]) -> bool {
    rows.first().and_then(|r| r.first()).is_some_and(|v| v.as_deref() == Some("t"))
}

/// The message when a connection pooler shares server sessions between connections.
pub(super) fn pooler_error(target: &str, seen: String) -> BackendError {
    BackendError::TransactionPooler { target: target.to_string(), seen }
}

/// Who holds the advisory lock `key`, for the timeout message: server process, application
/// and since when (its transaction, for a transaction-scoped lock).
pub(super) fn holder(client: &mut Client, key: i64) -> Option<String> {
    let sql = holder_sql(key);
    let rows = match text_rows(client, &sql) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("cannot tell who holds the migration lock: {e}");
            return None;
        }
    };
    let row = rows.first()?;
    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let app = field(1);
    let app = if app.is_empty() { String::new() } else { format!(" ({app})") };
    let since = if field(3).is_empty() { field(2) } else { field(3) };
    Some(format!("server process {}{app}, holding it since {since}", field(0)))
}

/// The holder query: a 64-bit key is `classid` (high half) and `objid` (low half), with
/// `objsubid = 1`; both halves are compared as bigint, the key being a literal.
fn holder_sql(key: i64) -> String {
    let (high, low) = ((key >> 32) & 0xffff_ffff, key & 0xffff_ffff);
    format!(
        "SELECT a.pid::text, coalesce(a.application_name, ''), a.backend_start::text, \
         coalesce(a.xact_start::text, '') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.classid::bigint = {high} AND l.objid::bigint = {low} \
         ORDER BY a.xact_start NULLS LAST LIMIT 1"
    )
}

/// The run lock: a transaction-scoped advisory lock held by an open transaction on a
/// connection of its own (behind a transaction pooler the open transaction also pins its
/// server connection, which the pooler closes should this client vanish).
pub(super) struct SessionLock {
    client: Client,
}

/// The run lock's connection before it takes the lock, with the server process it saw.
pub(super) struct LockConnection {
    client: Client,
    pub(super) identity: Identity,
}

impl LockConnection {
    pub(super) fn open(
        config: &postgres::Config,
        tls: super::tls::LazyTls,
        target: &str,
    ) -> Result<Self, BackendError> {
        let mut client = super::open_client(config, &tls)
            .map_err(|message| BackendError::Connect { target: target.to_string(), message })?;
        let identity = identity(&mut client)?;
        Ok(LockConnection { client, identity })
    }

    /// Takes the lock `key`, waiting at most `timeout`. Each try is a transaction that is
    /// kept open when it got the lock and rolled back (freeing a pooled server connection
    /// between tries) when it did not; a try served by another server process than the
    /// first query is a transaction pooler, and nothing is kept.
    pub(super) fn lock(
        mut self,
        key: i64,
        timeout: Duration,
        target: &str,
    ) -> Result<SessionLock, BackendError> {
        let started = Instant::now();
        let sql = format!("BEGIN; SELECT pg_try_advisory_xact_lock({key}), pg_backend_pid()::text");
        loop {
            let rows = text_rows(&mut self.client, &sql).inspect_err(|_| {
                let _ = self.client.batch_execute("ROLLBACK");
            })?;
            let pid = rows.first().and_then(|r| r.get(1).cloned().flatten()).unwrap_or_default();
            if pid != self.identity.pid.to_string() {
                let _ = self.client.batch_execute("ROLLBACK");
                return Err(pooler_error(
                    target,
                    format!(
                        "one connection was served by server process {} and then by {pid}",
                        self.identity.pid
                    ),
                ));
            }
            if first_bool(&rows) {
                tracing::debug!(key, "took the migration lock");
                return Ok(SessionLock { client: self.client });
            }
            self.client.batch_execute("ROLLBACK").map_err(|e| statement_error("ROLLBACK", &e))?;
            if started.elapsed() >= timeout {
                return Err(BackendError::LockTimeout {
                    target: target.to_string(),
                    waited: started.elapsed(),
                    holder: holder(&mut self.client, key),
                });
            }
            sleep_until_next_try(started, timeout);
        }
    }
}

fn sleep_until_next_try(started: Instant, timeout: Duration) {
    std::thread::sleep(
        LOCK_POLL.min(timeout.saturating_sub(started.elapsed())).max(Duration::from_millis(1)),
    );
}

impl SessionLock {
    /// Waits until nobody holds the lock `key` (taken and released at once).
    pub(super) fn wait_for(&mut self, key: i64) -> Result<(), BackendError> {
        let sql = format!("SELECT pg_advisory_lock({key});\nSELECT pg_advisory_unlock({key})");
        self.client.batch_execute(&sql).map_err(|e| statement_error(&sql, &e))
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        // Closing the connection ends the transaction too; ending it first makes it immediate.
        if let Err(e) = self.client.batch_execute("ROLLBACK") {
            tracing::warn!("releasing the migration lock: {e}; it is released when the connection closes");
        }
    }
}

/// Inside an open transaction: the lock `key` for that transaction, polled until `timeout`.
pub(super) fn acquire_for_transaction(
    client: &mut Client,
    key: i64,
    timeout: Duration,
    target: &str,
) -> Result<(), BackendError> {
    let started = Instant::now();
    let sql = format!("SELECT pg_try_advisory_xact_lock({key})");
    loop {
        if first_bool(&text_rows(client, &sql)?) {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(BackendError::LockTimeout {
                target: target.to_string(),
                waited: started.elapsed(),
                holder: holder(client, key),
            });
        }
        sleep_until_next_try(started, timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_purpose_database_schema_and_table() {
        let id = |db: &str, schema: &str| Identity { pid: 1, database: db.into(), schema: schema.into() };
        let tables = VersionTables::default();
        let base = key(&id("app", "public"), &tables, Purpose::Migrate);
        assert_eq!(base, key(&Identity { pid: 2, ..id("app", "public") }, &tables, Purpose::Migrate));
        assert_ne!(base, key(&id("app", "public"), &tables, Purpose::Bookkeeping));
        assert_ne!(base, key(&id("app", "public"), &tables, Purpose::CreateTables));
        assert_ne!(base, key(&id("other", "public"), &tables, Purpose::Migrate));
        assert_ne!(base, key(&id("app", "tenant"), &tables, Purpose::Migrate));
        let mine = VersionTables { version: "mine_version".into(), ..VersionTables::default() };
        assert_ne!(base, key(&id("app", "public"), &mine, Purpose::Migrate));
    }

    #[test]
    fn the_holder_query_splits_the_key_into_unsigned_halves() {
        let sql = holder_sql(-1);
        assert!(sql.contains("classid::bigint = 4294967295 AND l.objid::bigint = 4294967295"), "{sql}");
        let sql = holder_sql(0x1234_5678_9abc_def0);
        assert!(sql.contains(&format!("= {} AND", 0x1234_5678u32)), "{sql}");
        assert!(sql.contains(&format!("objid::bigint = {} ", 0x9abc_def0u32)), "{sql}");
    }
}
