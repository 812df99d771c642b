//! The example application's binary. It embeds every migration of `app-migrations` (no files
//! are read at run time) and runs them with strata: `strata-example upgrade`, `current`, ...
//! `strata-example start` is the application's own start-up, which migrates under the
//! environment's rules before the application would serve.

// Naming the crate keeps the linker from dropping its inventory registrations.
use app_migrations as _;

mod cli;
mod output;
mod prompt;

include!(concat!(env!("OUT_DIR"), "/expected_revisions.rs"));

fn main() -> std::process::ExitCode {
    cli::main(EXPECTED_REVISIONS)
}
