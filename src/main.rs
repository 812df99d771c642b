//! The example application's binary. It embeds every migration of `app-migrations` (no files
//! are read at run time) and runs them with strata. The database comes from `DATABASE_URL`
//! (`sqlite://PATH`, `sqlite::memory:`, `postgres://...`), defaulting to `sqlite://app.db`.

// Naming the crate keeps the linker from dropping its inventory registrations.
use app_migrations as _;

mod cli;

include!(concat!(env!("OUT_DIR"), "/expected_revisions.rs"));

fn main() -> std::process::ExitCode {
    cli::main(EXPECTED_REVISIONS)
}
