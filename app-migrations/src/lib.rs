//! The example application's migrations: one Rust module per revision in `src/versions/`.
//!
//! Nobody keeps a list: the build script generates the module declarations from the folder
//! and checks the revision chain. Each module registers itself with `strata::migration!`.
//! Consumers call [`migrations()`], which names this crate for the linker and checks that every
//! migration the build saw is registered.

pub mod models;

strata::include_migrations!();

/// The crate's name as a consumer writes it, for messages.
pub const CRATE_NAME: &str = "app_migrations";
