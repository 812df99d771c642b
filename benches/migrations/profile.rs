//! Where a run's time goes: a [`Backend`] wrapper that times every call into the real
//! backend, so the runner's own (client-side) time is what is left of the total. The same
//! split for the raw driver comes from timing its BEGIN, statement and COMMIT separately.

use crate::report::human;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use strata::backend::{Backend, BackendError, Finish, HistoryRow, Record, VersionTables};
use strata::data::DataConnection;
use strata::ops::DialectKind;
use strata::schema::{Schema, TableSnapshot};

/// Time and calls per backend method (or raw phase).
#[derive(Debug, Default, Clone)]
pub struct Spent(BTreeMap<&'static str, (Duration, usize)>);

impl Spent {
    pub fn add(&mut self, what: &'static str, took: Duration) {
        let entry = self.0.entry(what).or_default();
        entry.0 += took;
        entry.1 += 1;
    }

    /// `total 1.2 s: execute 800 ms (1000×), …, runner (client side) 40 ms`, largest first.
    pub fn describe(&self, total: Duration, rest_label: &str) -> String {
        let mut parts: Vec<(&str, Duration, Option<usize>)> =
            self.0.iter().map(|(what, (took, calls))| (*what, *took, Some(*calls))).collect();
        let inside: Duration = self.0.values().map(|(took, _)| *took).sum();
        parts.push((rest_label, total.saturating_sub(inside), None));
        parts.sort_by_key(|part| std::cmp::Reverse(part.1));
        let parts: Vec<String> = parts
            .iter()
            .map(|(what, took, calls)| match calls {
                Some(calls) => format!("{what} {} ({calls}×)", human(*took)),
                None => format!("{what} {}", human(*took)),
            })
            .collect();
        format!("total {}: {}", human(total), parts.join(", "))
    }
}

/// A backend that times every call into the one it wraps.
pub struct Profiled {
    inner: Box<dyn Backend>,
    pub spent: Spent,
}

impl Profiled {
    pub fn new(inner: Box<dyn Backend>) -> Profiled {
        Profiled { inner, spent: Spent::default() }
    }

    fn time<T>(&mut self, what: &'static str, f: impl FnOnce(&mut dyn Backend) -> T) -> T {
        let started = Instant::now();
        let value = f(self.inner.as_mut());
        self.spent.add(what, started.elapsed());
        value
    }
}

impl Backend for Profiled {
    fn kind(&self) -> DialectKind {
        self.inner.kind()
    }
    fn version_tables(&self) -> &VersionTables {
        self.inner.version_tables()
    }
    fn execute(&mut self, sql: &str) -> Result<(), BackendError> {
        self.time("execute", |b| b.execute(sql))
    }
    fn begin(&mut self) -> Result<(), BackendError> {
        self.time("begin", |b| b.begin())
    }
    fn commit(&mut self) -> Result<(), BackendError> {
        self.time("commit", |b| b.commit())
    }
    fn rollback(&mut self) -> Result<(), BackendError> {
        self.time("rollback", |b| b.rollback())
    }
    fn set_foreign_keys(&mut self, on: bool) -> Result<bool, BackendError> {
        self.time("set_foreign_keys", |b| b.set_foreign_keys(on))
    }
    fn foreign_key_violations(&mut self) -> Result<Vec<String>, BackendError> {
        self.time("foreign_key_violations", |b| b.foreign_key_violations())
    }
    fn introspect(&mut self) -> Result<Schema, BackendError> {
        self.time("introspect", |b| b.introspect())
    }
    fn snapshot_table(&mut self, table: &str) -> Result<Option<TableSnapshot>, BackendError> {
        self.time("snapshot_table", |b| b.snapshot_table(table))
    }
    fn data(&mut self) -> &mut dyn DataConnection {
        self.inner.data()
    }
    fn ensure_version_tables(&mut self) -> Result<(), BackendError> {
        self.time("ensure_version_tables", |b| b.ensure_version_tables())
    }
    fn current_revision(&mut self) -> Result<Option<String>, BackendError> {
        self.time("current_revision", |b| b.current_revision())
    }
    fn record_and_commit(&mut self, records: &[Record]) -> Result<(), BackendError> {
        self.time("record_and_commit", |b| b.record_and_commit(records))
    }
    fn execute_record_and_commit(&mut self, statement: &str, records: &[Record]) -> Result<(), Finish> {
        self.time("execute_record_and_commit", |b| b.execute_record_and_commit(statement, records))
    }
    fn history(&mut self) -> Result<Vec<HistoryRow>, BackendError> {
        self.time("history", |b| b.history())
    }

    fn mark_started(&mut self, record: &Record) -> Result<(), BackendError> {
        self.time("mark_started", |b| b.mark_started(record))
    }

    // Forwarded so the profiled run takes the same locking path as the timed ones.
    fn lock_for_run(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<Option<strata::backend::RunLock>, BackendError> {
        self.inner.lock_for_run(timeout)
    }

    fn lock_transaction(&mut self, timeout: std::time::Duration) -> Result<(), BackendError> {
        self.inner.lock_transaction(timeout)
    }
}
