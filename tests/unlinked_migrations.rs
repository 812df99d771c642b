//! This test binary never names `app_migrations`, so the linker drops the crate and every one
//! of its inventory registrations (inventory issue 7). A consumer that builds the set by hand
//! from the revisions its build saw, instead of calling the generated `migrations()`, must be
//! refused, and told why.

use strata::migration::{MigrationSet, RegistryError};

/// Revisions of the example history, as a hand-written consumer would list them.
const EXPECTED: &[&str] = &["8298645ff74b", "eae66c76ec57", "ddcb1ae961ad"];

#[test]
fn the_runner_refuses_when_the_migrations_crate_was_dropped_by_the_linker() {
    assert!(strata::migration::registered().is_empty(), "nothing is registered in this binary");
    let err = MigrationSet::from_registry(EXPECTED, "app-migrations").unwrap_err();
    assert!(
        matches!(&err, RegistryError::Missing { missing, .. } if missing.len() == EXPECTED.len()),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("app_migrations::migrations()"), "{text}");
}
