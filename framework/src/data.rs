//! The connection a data op sees: parameterised statements and queries against the live
//! database, inside the migration's transaction. Placeholders are `$1`, `$2`, ... on every
//! backend (the SQLite backend maps them to `?1`, `?2`).

use crate::ops::DialectKind;
use crate::value::Value;

/// A row returned by [`DataConnection::query`].
pub type Row = Vec<Value>;

/// Why a data op failed; the runner wraps it with the revision and op.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The database rejected a statement.
    #[error("{message} (statement: {statement})")]
    Database {
        /// The statement.
        statement: String,
        /// The database's message.
        message: String,
    },
    /// The migration's own logic decided to stop.
    #[error("{0}")]
    Failed(String),
}

impl DataError {
    /// A failure raised by the migration's own code.
    pub fn failed(message: impl Into<String>) -> Self {
        DataError::Failed(message.into())
    }
}

/// The live connection handed to a data op.
pub trait DataConnection {
    /// Which database this is, for the rare data op that must branch.
    fn dialect(&self) -> DialectKind;
    /// Runs one statement, returning the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DataError>;
    /// Runs a query and returns every row. PostgreSQL types outside the portable value set
    /// (intervals, arrays, ...) must be cast to text in the query; numeric reads as text.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DataError>;
}
