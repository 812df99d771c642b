//! Scratch databases: empty, private, thrown away after one comparison. Autogenerate and
//! `check` build the schema at head and the models' schema on scratch databases, never on
//! the user's database.

use crate::backend::{Backend, BackendError};

/// Opens a new, empty database that nobody else uses, once per call. The connection is
/// dropped after use; whatever the database needs to disappear (a temporary PostgreSQL
/// database or schema) is the implementor's to arrange.
///
/// Any `FnMut() -> Result<Box<dyn Backend>, BackendError>` is a `Scratch`, so a caller with a
/// PostgreSQL server can pass a closure that creates a throwaway database or schema.
pub trait Scratch {
    /// A new, empty database.
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError>;
}

impl<F: FnMut() -> Result<Box<dyn Backend>, BackendError>> Scratch for F {
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError> {
        self()
    }
}

/// The scratch databases for an application on `url`'s engine: a private in-memory SQLite
/// for SQLite, throwaway schemas on the configured server for PostgreSQL
/// ([`PostgresSchemas`]); never the user's own schema.
pub fn for_url(url: &crate::backend::DatabaseUrl) -> Box<dyn Scratch> {
    match url {
        #[cfg(feature = "postgres")]
        url @ crate::backend::DatabaseUrl::Postgres { .. } => Box::new(PostgresSchemas::new(url)),
        #[cfg(feature = "sqlite")]
        _ => Box::new(SqliteMemory),
        #[cfg(not(feature = "sqlite"))]
        _ => Box::new(|| -> Result<Box<dyn Backend>, BackendError> {
            Err(BackendError::NotCompiled("sqlite"))
        }),
    }
}

/// A private in-memory SQLite database per [`Scratch::open`]: the default for SQLite
/// applications, and needs no server.
#[cfg(feature = "sqlite")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteMemory;

#[cfg(feature = "sqlite")]
impl Scratch for SqliteMemory {
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError> {
        sqlite_memory()
    }
}

/// A new private in-memory SQLite database.
#[cfg(feature = "sqlite")]
pub fn sqlite_memory() -> Result<Box<dyn Backend>, BackendError> {
    crate::backend::connect(&crate::backend::DatabaseUrl::SqliteMemory)
}

/// Throwaway schemas on the configured PostgreSQL server: each [`Scratch::open`] creates
/// `strata_scratch_<id>` and connects with it as the search path; all of them are dropped when
/// this value goes. The user's own schema is never touched.
#[cfg(feature = "postgres")]
pub struct PostgresSchemas {
    url: String,
    admin: Option<Box<dyn Backend>>,
    created: Vec<String>,
}

#[cfg(feature = "postgres")]
impl PostgresSchemas {
    /// Scratch schemas on the server and database of `url` (a `postgres://` URL).
    pub fn new(url: &crate::backend::DatabaseUrl) -> Self {
        PostgresSchemas { url: url.connection_string(), admin: None, created: Vec::new() }
    }
}

#[cfg(feature = "postgres")]
impl Scratch for PostgresSchemas {
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError> {
        use crate::backend::DatabaseUrl;
        let url = DatabaseUrl::Postgres { url: self.url.clone() };
        let admin = match &mut self.admin {
            Some(admin) => admin,
            None => self.admin.insert(crate::backend::connect(&url)?),
        };
        let name = format!("strata_scratch_{}", crate::scaffold::new_revision(&Default::default()));
        admin.execute(&format!("CREATE SCHEMA {}", crate::dialect::quote_ident(&name)))?;
        self.created.push(name.clone());
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let scoped = format!("{}{separator}options=-c%20search_path%3D{name}", self.url);
        crate::backend::connect(&DatabaseUrl::Postgres { url: scoped })
    }
}

#[cfg(feature = "postgres")]
impl Drop for PostgresSchemas {
    fn drop(&mut self) {
        if let Some(admin) = &mut self.admin {
            for name in &self.created {
                let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", crate::dialect::quote_ident(name));
                if let Err(e) = admin.execute(&sql) {
                    tracing::warn!("could not drop the scratch schema {name}: {e}");
                }
            }
        }
    }
}
