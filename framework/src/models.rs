//! The application's target schema, declared once in Rust with the same builders migrations
//! use ([`Table`], [`Column`](crate::ops::Column), [`Index`]), so one vocabulary describes both.
//!
//! Models are compared with the migrations by building them: their `create_table` and
//! `create_index` ops run on an empty scratch database through the runner's own path and the
//! result is introspected, so both sides of a comparison went through the same dialect and
//! the same catalog reading (like for like, no second interpretation of types or defaults).

use crate::backend::{Backend, BackendError};
use crate::diff::dependency_order;
use crate::ops::{Index, Op, Ops, Table};
use crate::runner;
use crate::schema::Schema;

/// Tables and indexes the application wants at head.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Models {
    tables: Vec<Table>,
    indexes: Vec<Index>,
}

/// Why the models' schema could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelsError {
    /// The scratch database could not be opened or read.
    #[error("cannot use the scratch database: {0}")]
    Scratch(#[source] BackendError),
    /// The scratch database was not empty.
    #[error("the scratch database already has tables ({0}); models are built on an empty one")]
    NotEmpty(String),
    /// Creating the models' tables failed (a foreign key to a table that is not declared, say).
    #[error("the models do not build on {kind}: {source}")]
    Build {
        /// The engine.
        kind: crate::ops::DialectKind,
        /// The failure.
        source: Box<runner::Error>,
    },
}

impl Models {
    /// No tables yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a table, declared with the same builder migrations use.
    pub fn table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }
    /// Adds an index.
    pub fn index(mut self, index: Index) -> Self {
        self.indexes.push(index);
        self
    }
    /// The declared tables, in declaration order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }
    /// The declared indexes.
    pub fn indexes(&self) -> &[Index] {
        &self.indexes
    }
    /// The declared table called `name`.
    pub fn get(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The ops that create the models from nothing: tables after the tables they reference
    /// (a foreign key in a reference cycle is added after both tables), then indexes. Every
    /// constraint name is resolved, as if a migration had recorded them.
    pub fn create_ops(&self) -> Vec<Op> {
        let deps: Vec<(String, Vec<String>)> = self
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.foreign_keys.iter().map(|f| f.ref_table.clone()).collect()))
            .collect();
        let (order, deferred) = dependency_order(&deps);
        let mut ops = Ops::new();
        let mut late = Vec::new();
        for name in &order {
            let Some(table) = self.get(name) else { continue };
            let mut table = table.clone();
            let (keep, cyclic) = table
                .foreign_keys
                .into_iter()
                .partition(|fk| !deferred.iter().any(|(n, p)| n == name && *p == fk.ref_table));
            table.foreign_keys = keep;
            late.extend(cyclic.into_iter().map(|fk| (name.clone(), fk)));
            ops.create_table(table);
        }
        for (table, fk) in late {
            ops.add_foreign_key(table, fk);
        }
        for index in &self.indexes {
            ops.create_index(index.clone());
        }
        ops.into_ops()
    }

    /// Builds the models on `scratch`, which must hold no table, in one transaction, and
    /// returns the introspected schema. The caller owns (and discards) the scratch database.
    pub fn build_on(&self, scratch: &mut dyn Backend) -> Result<Schema, ModelsError> {
        let existing = scratch.introspect().map_err(ModelsError::Scratch)?;
        if !existing.tables.is_empty() {
            let names: Vec<&str> = existing.tables.keys().map(String::as_str).collect();
            return Err(ModelsError::NotEmpty(names.join(", ")));
        }
        let kind = scratch.kind();
        runner::apply_ops(scratch, "models", self.create_ops())
            .map_err(|source| ModelsError::Build { kind, source: Box::new(source) })?;
        scratch.introspect().map_err(ModelsError::Scratch)
    }

    /// The models' schema as SQLite sees it, built in a private in-memory database.
    #[cfg(feature = "sqlite")]
    pub fn sqlite_schema(&self) -> Result<Schema, ModelsError> {
        let mut scratch = crate::scratch::sqlite_memory().map_err(ModelsError::Scratch)?;
        self.build_on(scratch.as_mut())
    }
}
