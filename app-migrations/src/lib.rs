//! The example application's migrations: one Rust module per revision in `src/versions/`.
//!
//! Nobody keeps a list: the build script generates the module declarations from the folder
//! and checks the revision chain. Each module registers itself with `strata::migration!`.
//! A binary or test that runs these migrations must name this crate (`use app_migrations as _;`)
//! or the linker drops it, and with it every registration.

pub mod models;

mod versions {
    include!(concat!(env!("OUT_DIR"), "/versions.rs"));
}

/// The crate's name as a consumer writes it, for messages.
pub const CRATE_NAME: &str = "app_migrations";
