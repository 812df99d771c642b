//! The peer benchmark's strata application, shaped like the example's `src/main.rs`: every
//! generated migration compiled in (see `build.rs`), strata's own command line
//! (`strata-app upgrade`, `downgrade --revision base`, `current`, ...), `DATABASE_URL` from
//! the environment.

strata::include_migrations!();

fn main() -> std::process::ExitCode {
    strata::cli::App::new(migrations)
        .name("strata-app")
        .about("strata on the peer benchmark's generated migrations")
        .run()
}
