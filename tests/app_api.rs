//! The application API as an application calls it: `init_database()` at start-up, and the free
//! helpers, with settings from the process environment. One test in its own binary, because it
//! sets environment variables.

mod common;

use common::*;
use strata::manager::ManagerError;
use strata::ops::DialectKind;
use strata::policy::Refusal;
use strata::MigrationSet;

fn set() -> MigrationSet {
    app_migrations::migrations().expect("registry")
}

#[test]
fn init_database_and_the_free_helpers_follow_the_environment() {
    let work = tempfile::tempdir().unwrap();
    let versions = work.path().join("migrations/src/versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::env::remove_var("ENV");
    std::env::set_var("STRATA_ENV", "dev");
    std::env::set_var("STRATA_VERSIONS_DIR", &versions);
    std::env::set_var("DATABASE_URL", format!("sqlite://{}", work.path().join("app.db").display()));

    let report = strata::init_database(set()).expect("start-up migrates in dev");
    assert_eq!(report.applied.len(), 11);
    assert!(strata::init_database(set()).unwrap().applied.is_empty(), "the next start-up has nothing to do");
    assert_eq!(strata::rollback(set(), "-2").unwrap().applied.len(), 2);
    assert_eq!(strata::migrate(set(), "+1").unwrap().applied.len(), 1);
    assert!(matches!(strata::migrate(set(), "x;y"), Err(ManagerError::Target(_))), "malformed");
    let unknown = strata::migrate(set(), "nope").unwrap_err();
    assert!(unknown.to_string().contains("no revision matches \"nope\""), "{unknown}");
    let created = strata::create_migration(set(), "add widgets table").unwrap();
    assert!(created.path.starts_with(&versions) && created.parent.is_none());

    if strata::testkit::postgres_available() {
        let db = fresh_database(DialectKind::Postgres);
        std::env::set_var("DATABASE_URL", db.url.connection_string());
        std::env::set_var("STRATA_ENV", "staging");
        strata::init_database(set()).expect("staging migrates at start-up");
        let refused = strata::rollback(set(), "-1").unwrap_err();
        assert!(matches!(refused, ManagerError::Refused(Refusal::StagingNeedsConfirmation)), "{refused}");
        std::env::set_var("STRATA_ENV", "prod");
        assert!(strata::init_database(set()).unwrap().applied.is_empty());
    }
    std::env::set_var("STRATA_ENV", "prod");
    std::env::remove_var("DATABASE_URL");
    assert!(
        matches!(strata::init_database(set()), Err(ManagerError::Config(_))),
        "prod never falls back to SQLite"
    );
}
