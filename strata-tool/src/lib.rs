//! The `strata` command's library: what `strata init` does to a cargo project, so that its
//! tests can call it without a process. The binary (`src/main.rs`) is a thin clap front.
//!
//! `strata init` runs before the application has any strata code (there is no application
//! binary to run `init` with yet); `strata heads`, `strata merge` and `strata rebase` read and
//! edit the migration files when the application cannot build (two heads after a git merge);
//! every other command is the application's own (`cargo run -- upgrade`, `create`, ...), from
//! `strata::cli`.

#![deny(missing_docs)]

pub mod edit;
pub mod heads;
pub mod init;
