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
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError>;
}

impl<F: FnMut() -> Result<Box<dyn Backend>, BackendError>> Scratch for F {
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError> {
        self()
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
