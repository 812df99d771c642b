//! This test binary never names `app_migrations`, so the linker drops the crate and every one
//! of its inventory registrations (inventory issue 7). The runner must refuse, and say why.

use strata::migration::{MigrationSet, RegistryError};

include!(concat!(env!("OUT_DIR"), "/expected_revisions.rs"));

#[test]
fn the_runner_refuses_when_the_migrations_crate_was_dropped_by_the_linker() {
    assert!(!EXPECTED_REVISIONS.is_empty());
    let err = MigrationSet::from_registry(EXPECTED_REVISIONS, "app-migrations").unwrap_err();
    assert!(
        matches!(&err, RegistryError::Missing { missing, .. } if missing.len() == EXPECTED_REVISIONS.len()),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("add `use app_migrations as _;`"), "{text}");
}
