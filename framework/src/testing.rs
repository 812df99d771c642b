//! Round-trip tests for a migration history, called in one line from an application's own
//! tests (feature `testkit`). They prove what a review cannot: that every downgrade undoes its
//! upgrade exactly, on a real database of each engine.
//!
//! ```no_run
//! # use strata::{migration::MigrationSet, ops::DialectKind, testing::RoundTrip};
//! # fn set() -> MigrationSet { unimplemented!() }
//! RoundTrip::new(set(), DialectKind::Sqlite)
//!     .snapshots(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"))
//!     .run();
//! ```
//!
//! For every migration in chain order [`RoundTrip`] upgrades one step, snapshots the
//! introspected schema with insta (`<backend>__<nn>_<revision>.snap`), downgrades that step and
//! requires the schema to equal the one before it exactly, then upgrades again and goes on.
//! The checks pytest-alembic teams expect are also separate functions: [`single_head`],
//! [`upgrade_base_to_head`], [`downgrade_head_to_base`] and [`up_down_consistency`]; a
//! [`DataHook`] seeds rows before one revision's upgrade and checks them after it.
//!
//! Snapshots: with `CI` set (any value but `false`/`0`, insta's rule) snapshots are only
//! compared, never written, and a missing one fails; locally a new or changed snapshot fails
//! the test and leaves a `.snap.new` file for `cargo insta review`.

use crate::backend::{self, Backend, BackendError};
use crate::data::DataError;
use crate::graph::Target;
use crate::migration::{Migration, MigrationSet, RegistryError};
use crate::ops::{DataFn, DialectKind};
use crate::runner::{self, Runner};
use crate::schema::Schema;
use crate::testkit::{self, TestDatabase};
use crate::textdiff::line_diff;
use std::fmt;
use std::path::{Path, PathBuf};

/// Lines of unchanged context shown around each difference in a failure message.
const CONTEXT: usize = 3;

/// Why a round trip or check failed. `Debug` prints the same readable text as `Display`, so
/// `.unwrap()` and `-> Result<(), RoundTripError>` tests show the schema difference as lines.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum RoundTripError {
    /// The set is not one chain.
    #[error("the migration history is not one chain with a single head: {0}")]
    Chain(#[from] RegistryError),
    /// There are no migrations to test.
    #[error("the migration history is empty")]
    Empty,
    /// The test database could not be opened.
    #[error("[{backend}] cannot connect to the test database: {source}")]
    Connect {
        /// The engine.
        backend: DialectKind,
        /// The failure.
        source: BackendError,
    },
    /// The schema could not be read back.
    #[error("[{backend}] cannot read the schema: {source}")]
    Introspect {
        /// The engine.
        backend: DialectKind,
        /// The failure.
        source: BackendError,
    },
    /// An upgrade or downgrade failed.
    #[error("[{backend}] {action}: {source}")]
    Run {
        /// The engine.
        backend: DialectKind,
        /// What was being done (`upgrade to 3f9a1c2b7e01`).
        action: String,
        /// The failure.
        source: runner::Error,
    },
    /// The central failure: a downgrade that does not restore the schema before its upgrade.
    #[error(
        "[{backend}] the downgrade of {revision} ({message}) did not restore the schema it started from.\n\
         difference (- before the upgrade, + after the downgrade):\n{diff}"
    )]
    NotReversible {
        /// The engine.
        backend: DialectKind,
        /// The migration.
        revision: String,
        /// Its message.
        message: String,
        /// The schema difference, line by line.
        diff: String,
    },
    #[error(
        "[{backend}] upgrading {revision} ({message}) again after its downgrade gave a different schema.\n\
         difference (- first upgrade, + second upgrade):\n{diff}"
    )]
    /// The upgrade does not give the same schema twice: its downgrade left something behind that
    /// changes it.
    NotRepeatable {
        /// The engine.
        backend: DialectKind,
        /// The migration.
        revision: String,
        /// Its message.
        message: String,
        /// The schema difference, line by line.
        diff: String,
    },
    /// The downgrades from head to base do not remove everything the upgrades created.
    #[error("[{backend}] downgrading from head to base left tables behind:\n{schema}")]
    NotEmptyAtBase {
        /// The engine.
        backend: DialectKind,
        /// What is left.
        schema: String,
    },
    /// A data hook's seed or verify failed: the migration did not keep the data it promised to.
    #[error("[{backend}] the data hook's {stage} for {revision} failed: {source}")]
    DataHook {
        /// The engine.
        backend: DialectKind,
        /// The hook's revision.
        revision: String,
        /// `seed` or `verify`.
        stage: &'static str,
        /// The failure.
        source: DataError,
    },
    /// A data hook for a revision that is not in the set (a typo would silently test nothing).
    #[error("a data hook names revision {0:?}, which is not in the history")]
    UnknownHookRevision(String),
}

impl fmt::Debug for RoundTripError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Rows to seed before one revision's upgrade and a check that they came through it, for
/// migrations that promise to keep (or transform) data. Both run on the live connection,
/// each in its own transaction; the check runs right after the first upgrade.
#[derive(Debug, Clone)]
pub struct DataHook {
    revision: String,
    seed: Option<DataFn>,
    verify: Option<DataFn>,
}

impl DataHook {
    /// A hook for `revision`; add [`DataHook::seed`] and [`DataHook::verify`].
    pub fn new(revision: impl Into<String>) -> Self {
        DataHook { revision: revision.into(), seed: None, verify: None }
    }
    /// Runs before the revision's upgrade, with the database at its parent.
    pub fn seed(mut self, seed: DataFn) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Runs after the revision's upgrade; return an error (`DataError::failed`) to fail.
    pub fn verify(mut self, verify: DataFn) -> Self {
        self.verify = Some(verify);
        self
    }
}

/// The step-by-step round trip of a whole history on one engine. See the module docs.
///
/// Runs without a server on SQLite (a temporary file per run); on PostgreSQL it uses the test
/// kit's throwaway databases. A downgrade that forgets something fails with the difference:
///
/// ```
/// use strata::prelude::*;
/// use strata::testing::{DataHook, RoundTrip, RoundTripError};
///
/// # mod migration_1 { use strata::prelude::*;
/// migration! {
///     revision: "0001aaaa",
///     parent: None,
///     message: "create users",
///     created: "2026-11-24T09:30:00Z",
///     upgrade: |op| {
///         op.create_table(
///             Table::new("users")
///                 .column(Column::new("id", Type::BigInt).autoincrement())
///                 .column(Column::new("email", Type::Text)),
///         );
///     },
///     downgrade: |op| { op.drop_table("users"); },
/// }
/// # }
/// # mod migration_2 { use strata::prelude::*;
/// migration! {
///     revision: "0002bbbb",
///     parent: Some("0001aaaa"),
///     message: "index emails",
///     created: "2026-11-25T09:30:00Z",
///     upgrade: |op| { op.create_index(Index::new("ix_users_email", "users", ["email"])); },
///     downgrade: |_op| {}, // forgot drop_index
/// }
/// # }
///
/// fn seed(db: &mut dyn DataConnection) -> Result<(), DataError> {
///     db.execute("INSERT INTO users (email) VALUES ($1)", &["ada@example.test".into()])?;
///     Ok(())
/// }
/// fn verify(db: &mut dyn DataConnection) -> Result<(), DataError> {
///     let rows = db.query("SELECT email FROM users", &[])?;
///     if rows.len() == 1 { Ok(()) } else { Err(DataError::failed("the user was lost")) }
/// }
///
/// let set = strata::MigrationSet::new(strata::migration::registered())?;
/// let round_trip = RoundTrip::new(set, DialectKind::Sqlite)
///     // .snapshots(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots")) in a real test
///     .data_hook(DataHook::new("0002bbbb").seed(seed).verify(verify));
/// match round_trip.try_run() {
///     Err(RoundTripError::NotReversible { revision, diff, .. }) => {
///         assert_eq!(revision, "0002bbbb");
///         assert!(diff.contains("ix_users_email"), "{diff}");
///     }
///     other => panic!("expected the missing drop_index to be caught, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RoundTrip {
    set: MigrationSet,
    kind: DialectKind,
    snapshots: Option<PathBuf>,
    hooks: Vec<DataHook>,
    strict_column_order: bool,
}

impl RoundTrip {
    /// A round trip of `set` on a fresh database of `kind` ([`testkit::fresh_database`]).
    pub fn new(set: MigrationSet, kind: DialectKind) -> Self {
        RoundTrip { set, kind, snapshots: None, hooks: Vec::new(), strict_column_order: false }
    }

    /// Snapshot the schema after every upgrade into `dir`. Give an absolute path
    /// (`concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots")`): insta resolves relative
    /// paths against strata's own source file.
    pub fn snapshots(mut self, dir: impl Into<PathBuf>) -> Self {
        self.snapshots = Some(dir.into());
        self
    }

    /// Also require columns to come back in the same position. Off by default: no op can put
    /// a column that a downgrade re-adds back where it was, on either engine, so a dropped and
    /// restored column would otherwise fail every history that ever drops one.
    pub fn strict_column_order(mut self) -> Self {
        self.strict_column_order = true;
        self
    }

    /// Registers a data hook; several may name the same revision.
    pub fn data_hook(mut self, hook: DataHook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Runs the round trip and panics with a readable message on the first failure.
    pub fn run(self) {
        if let Err(e) = self.try_run() {
            panic!("strata round trip failed: {e}");
        }
    }

    /// Runs the round trip and returns the first failure. A snapshot mismatch still panics:
    /// that is insta's assertion.
    pub fn try_run(&self) -> Result<(), RoundTripError> {
        for hook in &self.hooks {
            if self.set.get(&hook.revision).is_none() {
                return Err(RoundTripError::UnknownHookRevision(hook.revision.clone()));
            }
        }
        let kind = self.kind;
        let (_db, mut conn) = open(kind)?;
        let conn = conn.as_mut();
        let runner = Runner::new(self.set.clone());
        let width = self.set.migrations().len().to_string().len().max(2);
        let mut before = introspect(conn)?;
        for (index, m) in self.set.migrations().iter().enumerate() {
            self.run_hooks(conn, m, "seed", |h| h.seed)?;
            step(&runner, conn, m, true)?;
            self.run_hooks(conn, m, "verify", |h| h.verify)?;
            let after = introspect(conn)?;
            if let Some(dir) = &self.snapshots {
                let name = format!("{kind}__{:0width$}_{}", index + 1, m.revision);
                let description =
                    format!("schema on {kind} after upgrading to {} ({})", m.revision, m.message);
                assert_snapshot(dir, &name, description, &after.to_string());
            }
            step(&runner, conn, m, false)?;
            let restored = introspect(conn)?;
            if let Some(diff) = self.difference(&before, &restored) {
                return Err(RoundTripError::NotReversible {
                    backend: kind,
                    revision: m.revision.to_string(),
                    message: m.message.to_string(),
                    diff,
                });
            }
            step(&runner, conn, m, true)?;
            let again = introspect(conn)?;
            if let Some(diff) = self.difference(&after, &again) {
                return Err(RoundTripError::NotRepeatable {
                    backend: kind,
                    revision: m.revision.to_string(),
                    message: m.message.to_string(),
                    diff,
                });
            }
            before = after;
        }
        Ok(())
    }

    /// The line difference between two schemas, or `None` when they count as equal.
    fn difference(&self, old: &Schema, new: &Schema) -> Option<String> {
        if self.strict_column_order {
            return (old != new).then(|| schema_diff(old, new));
        }
        let (old, new) = (old.with_sorted_columns(), new.with_sorted_columns());
        (old != new).then(|| schema_diff(&old, &new))
    }

    fn run_hooks(
        &self,
        conn: &mut dyn Backend,
        m: &Migration,
        stage: &'static str,
        pick: impl Fn(&DataHook) -> Option<DataFn>,
    ) -> Result<(), RoundTripError> {
        let fail = |source| RoundTripError::DataHook {
            backend: self.kind,
            revision: m.revision.to_string(),
            stage,
            source,
        };
        for run in self.hooks.iter().filter(|h| h.revision == m.revision).filter_map(&pick) {
            let database = |e: BackendError| DataError::Failed(e.to_string());
            conn.begin().map_err(database).map_err(fail)?;
            let result = run(conn.data());
            match result {
                Ok(()) => conn.commit().map_err(database).map_err(fail)?,
                Err(e) => {
                    let _ = conn.rollback();
                    return Err(fail(e));
                }
            }
        }
        Ok(())
    }
}

/// Upgrades to `m` (`up`) or reverts `m` alone: the walk goes in apply order, so `m` is
/// then the last applied migration, and one step back reverts exactly it (on a merge
/// revision too, whose parents all stay applied).
fn step(runner: &Runner, conn: &mut dyn Backend, m: &Migration, up: bool) -> Result<(), RoundTripError> {
    let backend = conn.kind();
    let result = if up {
        runner.upgrade(conn, &Target::Revision(m.revision.to_string()))
    } else {
        runner.downgrade(conn, &Target::Relative(-1))
    };
    result.map(|_| ()).map_err(|source| RoundTripError::Run {
        backend,
        action: format!("{} of {} ({})", if up { "upgrade" } else { "downgrade" }, m.revision, m.message),
        source,
    })
}

fn open(kind: DialectKind) -> Result<(TestDatabase, Box<dyn Backend>), RoundTripError> {
    let db = testkit::fresh_database(kind);
    let conn =
        backend::connect(&db.url).map_err(|source| RoundTripError::Connect { backend: kind, source })?;
    Ok((db, conn))
}

fn introspect(conn: &mut dyn Backend) -> Result<Schema, RoundTripError> {
    let backend = conn.kind();
    conn.introspect().map_err(|source| RoundTripError::Introspect { backend, source })
}

/// The line difference between two schemas' stable text forms.
pub fn schema_diff(old: &Schema, new: &Schema) -> String {
    let (old, new) = (old.to_string(), new.to_string());
    let diff = line_diff(&old, &new, CONTEXT);
    if diff.is_empty() {
        // Equal text, unequal values: a field the text form does not show.
        format!("(the text forms are equal; the values differ)\n{old:#?}\n{new:#?}")
    } else {
        diff
    }
}

/// The history has exactly one head (and one root, no cycle, no unknown parent); returns it.
/// `migrations` may be any list, for instance [`crate::migration::registered`].
pub fn single_head(migrations: &[&'static Migration]) -> Result<&'static Migration, RoundTripError> {
    let set = MigrationSet::new(migrations.to_vec())?;
    set.head().ok_or(RoundTripError::Empty)
}

/// Every migration applies, in order, from an empty database; returns the schema at head.
pub fn upgrade_base_to_head(set: &MigrationSet, kind: DialectKind) -> Result<Schema, RoundTripError> {
    let (_db, mut conn) = open(kind)?;
    let conn = conn.as_mut();
    upgrade_all(set, conn)?;
    introspect(conn)
}

fn upgrade_all(set: &MigrationSet, conn: &mut dyn Backend) -> Result<(), RoundTripError> {
    let backend = conn.kind();
    Runner::new(set.clone()).upgrade(conn, &Target::Head).map(|_| ()).map_err(|source| RoundTripError::Run {
        backend,
        action: "upgrade from base to head".into(),
        source,
    })
}

/// After upgrading to head, every downgrade runs, in reverse order, and leaves no table.
pub fn downgrade_head_to_base(set: &MigrationSet, kind: DialectKind) -> Result<(), RoundTripError> {
    let (_db, mut conn) = open(kind)?;
    let conn = conn.as_mut();
    upgrade_all(set, conn)?;
    Runner::new(set.clone()).downgrade(conn, &Target::Base).map_err(|source| RoundTripError::Run {
        backend: kind,
        action: "downgrade from head to base".into(),
        source,
    })?;
    let schema = introspect(conn)?;
    if !schema.tables.is_empty() {
        return Err(RoundTripError::NotEmptyAtBase { backend: kind, schema: schema.to_string() });
    }
    Ok(())
}

/// Each migration's downgrade restores exactly the schema before its upgrade (the round trip
/// without snapshots or data hooks).
pub fn up_down_consistency(set: &MigrationSet, kind: DialectKind) -> Result<(), RoundTripError> {
    RoundTrip::new(set.clone(), kind).try_run()
}

/// insta's own CI rule, so that strata and insta agree on what CI is.
fn is_ci() -> bool {
    match std::env::var("CI").ok().as_deref() {
        Some("false" | "0" | "") => false,
        None => std::env::var("TF_BUILD").is_ok(),
        Some(_) => true,
    }
}

/// One insta snapshot, file `dir/<name>.snap`. Under CI nothing is ever written: an
/// `INSTA_UPDATE` that would write is refused and a missing snapshot fails with the remedy.
fn assert_snapshot(dir: &Path, name: &str, description: String, text: &str) {
    if is_ci() {
        let mode = std::env::var("INSTA_UPDATE").unwrap_or_default();
        if !matches!(mode.as_str(), "" | "no" | "auto") {
            panic!("CI is set, so snapshots are only compared, never written; unset INSTA_UPDATE={mode}");
        }
        let file = dir.join(format!("{name}.snap"));
        if !file.exists() {
            panic!(
                "snapshot {} is missing and CI never writes one: run the tests locally, review with \
                 `cargo insta review` (or INSTA_UPDATE=always), and commit the file",
                file.display()
            );
        }
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    settings.bind(|| insta::assert_snapshot!(name, text));
}
