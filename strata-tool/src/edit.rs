//! `strata merge` and `strata rebase`: the revision graph edited in the migration files, for
//! when two heads keep the application from building. The edits are
//! [`strata::source`]'s; this module reads what the configured database has applied, which
//! `rebase` must not rewrite.

use std::path::Path;
use strata::backend::{self, DatabaseUrl};
use strata::config::{Overrides, Settings, DEFAULT_DEV_URL};
use strata::source::{self, Applied};

/// What the database the application would use has applied: the settings are resolved as the
/// application resolves them (`--database-url`, `DATABASE_URL`, `.env`, `strata.toml` and its
/// `[environments]`, the dev default) with `dir` as the working directory, and the version
/// row is read without creating or changing anything (a SQLite file is opened read-only).
pub fn applied(overrides: &Overrides, dir: &Path) -> Applied {
    let settings = match Settings::load(overrides, dir) {
        Ok(settings) => settings,
        Err(e) => return Applied::Unknown { reason: format!("the settings name no usable database: {e}") },
    };
    let database = settings.database_url.to_string();
    if let DatabaseUrl::Sqlite { path, .. } = &settings.database_url {
        let path = if path.is_relative() { dir.join(path) } else { path.clone() };
        if !path.exists() {
            let default = if database == DEFAULT_DEV_URL {
                " (the dev default: no database is configured in DATABASE_URL, strata.toml or --database-url)"
            } else {
                ""
            };
            return Applied::Unknown {
                reason: format!("{database} does not exist: there is no file {}{default}", path.display()),
            };
        }
    }
    let url = source::read_only(&settings.database_url);
    match backend::connect_with(&url, settings.tables.clone()).and_then(|mut db| db.current_revision()) {
        Ok(version) => Applied::Version { database, version },
        // A connection error names the database already.
        Err(e) if e.to_string().contains(&database) => Applied::Unknown { reason: e.to_string() },
        Err(e) => Applied::Unknown { reason: format!("{database}: {e}") },
    }
}
