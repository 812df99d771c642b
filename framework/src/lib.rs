//! strata: database migrations as compiled Rust.
//!
//! A migration is a Rust module that records typed [`ops`] in its `upgrade` and `downgrade`
//! functions and registers itself with [`migration!`]. A build script ([`build`]) checks the
//! revision chain at compile time; at run time the [`runner`] applies each migration in its own
//! transaction on a [`backend`] (SQLite or PostgreSQL), rendering ops through a [`dialect`].
//!
//! ```
//! use strata::prelude::*;
//!
//! migration! {
//!     revision: "3f9a1c2b7e01",
//!     parent: Some("9b2d4e6f8a10"),
//!     message: "add user email",
//!     created: "2026-11-24T09:30:00Z",
//!     upgrade: |op| {
//!         op.add_column("users", Column::new("email", Type::String(255)).nullable());
//!         op.create_index(Index::new("ix_users_email", "users", ["email"]).unique());
//!     },
//!     downgrade: |op| {
//!         op.drop_index("ix_users_email", "users");
//!         op.drop_column("users", "email");
//!     },
//! }
//! ```

pub mod backend;
pub mod build;
pub mod config;
pub mod data;
pub mod dialect;
pub mod graph;
pub mod manager;
pub mod migration;
pub mod offline;
pub mod ops;
pub mod policy;
pub mod runner;
pub mod scaffold;
pub mod schema;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod types;
pub mod validate;
pub mod value;

/// Re-exported: creation and applied times are `chrono` values.
pub use chrono;
#[doc(hidden)]
pub use inventory;

pub use manager::{create_migration, init_database, migrate, rollback, ManagerError, MigrationManager};
pub use migration::{Migration, MigrationSet, RegistryError};

/// What a migration file needs: `use strata::prelude::*;`.
pub mod prelude {
    pub use crate::data::{DataConnection, DataError, Row};
    pub use crate::migration;
    pub use crate::ops::{
        Action, AlterColumn, Check, Column, DialectKind, ForeignKey, Index, Ops, Table, Unique,
    };
    pub use crate::types::Type;
    pub use crate::value::Value;
}
