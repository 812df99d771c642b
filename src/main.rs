//! The example application's binary. It embeds every migration of `app-migrations` (no files
//! are read at run time) and runs them with strata: `strata-example upgrade`, `current`, ...
//! `strata-example start` is the application's own start-up, which migrates under the
//! environment's rules before the application would serve.

mod cli;
mod output;
mod prompt;

fn main() -> std::process::ExitCode {
    cli::main(app_migrations::migrations())
}
