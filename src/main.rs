//! The example application's binary. It embeds every migration of `app-migrations` (no files
//! are read at run time) and runs them with strata's command line: `strata-example upgrade`,
//! `current`, ... `strata-example start` is the application's own start-up, which migrates
//! under the environment's rules before the application would serve.

fn main() -> std::process::ExitCode {
    strata::cli::App::new(app_migrations::migrations)
        .models(app_migrations::models::models())
        .versions_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/app-migrations/src/versions"))
        .version(env!("CARGO_PKG_VERSION"))
        .about("Migrations for the example application, compiled in")
        .run()
}
