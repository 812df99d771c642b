//! Migrations vs models, for `create --auto` and `check`: build the schema at head and the
//! models' schema on scratch databases of one engine ([`Scratch`]), introspect both, and diff
//! them. The user's database is never touched.
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")] {
//! # use strata::{autogen, codegen::{self, MigrationHeader}, scratch::SqliteMemory};
//! # fn set() -> strata::MigrationSet { unimplemented!() }
//! # fn models() -> strata::models::Models { unimplemented!() }
//! let diff = autogen::autogenerate(&set(), &models(), &mut SqliteMemory).expect("compare");
//! if diff.is_empty() {
//!     println!("the models match the migrations at head; nothing to generate");
//! } else {
//!     let header = MigrationHeader {
//!         revision: "0a1b2c3d4e5f".into(),
//!         parent: set().head().map(|m| m.revision.to_string()),
//!         message: "add user nicknames".into(),
//!         created: "2026-11-24T09:30:00Z".into(),
//!     };
//!     let source = codegen::migration_source(&header, &diff);
//!     std::fs::write(format!("src/versions/{}", header.file_name()), source).expect("write");
//! }
//! # }
//! ```
//!
//! The same, runnable: the models gained a column that no migration adds yet.
//!
//! ```
//! use strata::prelude::*;
//! use strata::{autogen, models::Models, scratch::SqliteMemory};
//!
//! migration! {
//!     revision: "0001aaaa",
//!     parent: None,
//!     message: "create users",
//!     created: "2026-11-24T09:30:00Z",
//!     upgrade: |op| { op.create_table(Table::new("users").column(Column::new("id", Type::BigInt).autoincrement())); },
//!     downgrade: |op| { op.drop_table("users"); },
//! }
//!
//! let set = strata::MigrationSet::new(strata::migration::registered())?;
//! let users = Table::new("users").column(Column::new("id", Type::BigInt).autoincrement());
//! assert_eq!(autogen::check(&set, &Models::new().table(users.clone()), &mut SqliteMemory)?, None);
//!
//! let models = Models::new().table(users.column(Column::new("nickname", Type::String(40)).nullable()));
//! let diff = autogen::autogenerate(&set, &models, &mut SqliteMemory)?;
//! assert_eq!(diff.upgrade.len(), 1); // add_column users.nickname
//! assert_eq!(diff.upgrade[0].kind(), "add_column");
//! assert_eq!(diff.downgrade[0].kind(), "drop_column");
//! // `check` (CI) reports the same gap as text; `create --auto` writes it as a migration.
//! assert!(autogen::check(&set, &models, &mut SqliteMemory)?.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::backend::{Backend, BackendError};
use crate::diff::{self, Diff};
use crate::graph::Target;
use crate::migration::MigrationSet;
use crate::models::{Models, ModelsError};
use crate::ops::{DialectKind, Op, Ops};
use crate::runner::{self, Runner, TransactionMode};
use crate::schema::Schema;
use crate::scratch::Scratch;
use crate::types::Type;

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AutogenError {
    /// The scratch database could not be opened (a PostgreSQL server refusing `CREATE DATABASE`).
    #[error("cannot open a scratch database: {0}")]
    Scratch(#[source] BackendError),
    /// The scratch database was not empty, so its introspection would mix in foreign tables.
    #[error("the scratch database for the migrations already has tables ({0}); it must be empty")]
    NotEmpty(String),
    /// A migration fails on the scratch database, so there is no schema at head to compare with.
    #[error("the migrations do not build on a scratch {kind} database: {source}")]
    Head {
        /// The engine of the scratch database.
        kind: DialectKind,
        /// The run's failure.
        source: Box<runner::Error>,
    },
    /// The models themselves do not build.
    #[error(transparent)]
    Models(#[from] ModelsError),
    /// `create_from_models` refuses models that differ from head: the database would be stamped at
    /// a head it does not match. Holds the difference.
    #[error("refusing to create the schema from the models: {0}")]
    Differs(String),
    /// `create_from_models` only builds a new, empty database; holds the tables found.
    #[error("refusing to create the schema from the models: the database is not empty ({0})")]
    TargetNotEmpty(String),
    /// A statement creating the models' schema failed; nothing was kept.
    #[error("creating the schema from the models failed and was rolled back: {0}")]
    Create(#[source] BackendError),
    /// The models could not be rendered to SQL for this engine.
    #[error("creating the schema from the models failed and was rolled back: {0}")]
    Render(#[from] crate::dialect::RenderError),
    /// The runner refused or failed to build the schema (a lock timeout, a failed statement).
    #[error("creating the schema from the models failed: {0}")]
    Apply(Box<runner::Error>),
}

/// The schema the migrations build at head, on `scratch` (which must hold no table), in one
/// transaction.
pub fn head_schema(set: &MigrationSet, scratch: &mut dyn Backend) -> Result<Schema, AutogenError> {
    let existing = scratch.introspect().map_err(AutogenError::Scratch)?;
    if !existing.tables.is_empty() {
        let names: Vec<&str> = existing.tables.keys().map(String::as_str).collect();
        return Err(AutogenError::NotEmpty(names.join(", ")));
    }
    let kind = scratch.kind();
    Runner::new(set.clone())
        .with_mode(TransactionMode::Grouped)
        .upgrade(scratch, &Target::Head)
        .map_err(|source| AutogenError::Head { kind, source: Box::new(source) })?;
    scratch.introspect().map_err(AutogenError::Scratch)
}

/// The raw difference between the migrations at head and the models, both built on scratch
/// databases from `scratch`: ops exactly as the diff derives them from the catalog.
pub fn compare(set: &MigrationSet, models: &Models, scratch: &mut dyn Scratch) -> Result<Diff, AutogenError> {
    compare_on(set, models, scratch).map(|(diff, _)| diff)
}

fn compare_on(
    set: &MigrationSet,
    models: &Models,
    scratch: &mut dyn Scratch,
) -> Result<(Diff, DialectKind), AutogenError> {
    let mut head_db = scratch.open().map_err(AutogenError::Scratch)?;
    let kind = head_db.kind();
    let head = head_schema(set, head_db.as_mut())?;
    drop(head_db);
    let mut models_db = scratch.open().map_err(AutogenError::Scratch)?;
    let target = models.build_on(models_db.as_mut())?;
    Ok((diff::diff(&head, &target), kind))
}

/// What `create --auto` writes: [`compare`], with the upgrade's new tables, new columns and
/// new checks taken from the models' own declarations where they exist (portable types and
/// expressions as the developer wrote them, rather than one engine's reading of them; SQLite
/// reports an autoincrement `BigInt` as `Integer`, PostgreSQL rewrites check expressions).
/// Empty means there is nothing to generate. Render it with
/// [`codegen::migration_source`](crate::codegen::migration_source).
pub fn autogenerate(
    set: &MigrationSet,
    models: &Models,
    scratch: &mut dyn Scratch,
) -> Result<Diff, AutogenError> {
    let (mut diff, kind) = compare_on(set, models, scratch)?;
    diff.upgrade = diff.upgrade.into_iter().map(|op| prefer_models(op, models)).collect();
    if kind == DialectKind::Sqlite && !diff.is_empty() {
        widen_sqlite_autoincrement(&mut diff);
    }
    Ok(diff)
}

/// SQLite reports every autoincrement column as INTEGER (its rowid), whatever type the
/// migration declared. Where no model says otherwise, a generated column says `BigInt`, the
/// usual declaration, which is the same on SQLite and right for PostgreSQL; a note asks the
/// reviewer to compare it with the migration that created the table.
fn widen_sqlite_autoincrement(diff: &mut Diff) {
    let mut widened = Vec::new();
    for op in diff.upgrade.iter_mut().chain(diff.downgrade.iter_mut()) {
        let (table, columns) = match op {
            Op::CreateTable(t) => (t.name.clone(), t.columns.iter_mut().collect::<Vec<_>>()),
            Op::AddColumn { table, column } => (table.clone(), vec![column]),
            _ => continue,
        };
        for column in columns.into_iter().filter(|c| c.autoincrement && c.ty == Type::Integer) {
            column.ty = Type::BigInt;
            widened.push(format!("{table}.{}", column.name));
        }
    }
    if !widened.is_empty() {
        diff.notes.push(format!(
            "SQLite reports every autoincrement column as INTEGER; the generated code declares {} as \
             BigInt: if a migration declared Integer, change it here",
            widened.join(", ")
        ));
    }
}

/// `check`: `None` when the models and the migrations at head agree; otherwise the difference
/// as readable text (the ops a migration would need, and the notes), for a non-zero exit.
pub fn check(
    set: &MigrationSet,
    models: &Models,
    scratch: &mut dyn Scratch,
) -> Result<Option<String>, AutogenError> {
    let diff = autogenerate(set, models, scratch)?;
    if diff.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "the models and the migrations at head differ; a migration that closes the gap would do:\n{diff}"
    )))
}

/// The model's own declaration in place of the catalog's reading, where they name the same
/// thing. Constraint names are resolved first so that they match the diff's.
fn prefer_models(op: Op, models: &Models) -> Op {
    match op {
        Op::CreateTable(from_catalog) => {
            let Some(model) = models.get(&from_catalog.name) else { return Op::CreateTable(from_catalog) };
            let mut ops = Ops::new();
            ops.create_table(model.clone());
            let Some(Op::CreateTable(mut table)) = ops.into_ops().pop() else {
                return Op::CreateTable(from_catalog);
            };
            // A foreign key the diff moved out of the table (a reference cycle) stays out.
            table.foreign_keys.retain(|fk| from_catalog.foreign_keys.iter().any(|f| f.name == fk.name));
            Op::CreateTable(table)
        }
        Op::AddColumn { table, column } => {
            let model = models.get(&table).and_then(|t| t.columns.iter().find(|c| c.name == column.name));
            match model {
                Some(model) => {
                    // Unique and check constraints come as their own ops from the diff.
                    let mut model = model.clone();
                    model.unique = None;
                    model.check = None;
                    Op::AddColumn { table, column: model }
                }
                None => Op::AddColumn { table, column },
            }
        }
        Op::AddCheckConstraint { table, mut check } => {
            if let Some(expr) = models.get(&table).and_then(|t| model_check(t, &check.name)) {
                check.expr = expr;
            }
            Op::AddCheckConstraint { table, check }
        }
        other => other,
    }
}

/// The expression of the model's check constraint called `name`, table- or column-level.
fn model_check(table: &crate::ops::Table, name: &str) -> Option<String> {
    let mut ops = Ops::new();
    ops.create_table(table.clone());
    let Some(Op::CreateTable(resolved)) = ops.into_ops().pop() else { return None };
    resolved.checks.iter().find(|c| c.name == name).map(|c| c.expr.clone()).or_else(|| {
        resolved.columns.iter().filter_map(|c| c.check.clone()).find(|(n, _)| n == name).map(|(_, e)| e)
    })
}

/// A new database straight from the models, stamped at head (Alembic's `create_all` then
/// `stamp head`), for new environments and test databases. Refuses unless the models equal
/// the migrations at head (compared on `scratch`) and `target` is empty with no version.
/// Tables, indexes, the version and one history row ("created from models") commit together
/// in one transaction, through the runner (its lock, foreign key switching and identifier
/// check; [`create_from_models_with`] takes a configured one). Returns the head revision it
/// stamped (`None` for an empty history).
pub fn create_from_models(
    set: &MigrationSet,
    models: &Models,
    scratch: &mut dyn Scratch,
    target: &mut dyn Backend,
) -> Result<Option<String>, AutogenError> {
    create_from_models_with(&runner::Runner::new(set.clone()), models, scratch, target)
}

/// [`create_from_models`] with `runner`'s lock mode and timeout.
pub fn create_from_models_with(
    runner: &runner::Runner,
    models: &Models,
    scratch: &mut dyn Scratch,
    target: &mut dyn Backend,
) -> Result<Option<String>, AutogenError> {
    let set = runner.migrations();
    if let Some(difference) = check(set, models, scratch)? {
        return Err(AutogenError::Differs(difference));
    }
    let not_empty = |target: &mut dyn Backend| -> Result<Option<String>, BackendError> {
        let existing = target.introspect()?;
        let current = target.current_revision()?;
        if existing.tables.is_empty() && current.is_none() {
            return Ok(None);
        }
        let mut what: Vec<String> = existing.tables.keys().cloned().collect();
        what.extend(current.map(|r| format!("version {r}")));
        Ok(Some(what.join(", ")))
    };
    if let Some(what) = not_empty(target).map_err(AutogenError::Create)? {
        return Err(AutogenError::TargetNotEmpty(what));
    }
    let created =
        runner.create_at_head(target, models.create_ops(), "created from models").map_err(|e| match e {
            runner::Error::NotEmpty(what) => AutogenError::TargetNotEmpty(what),
            other => AutogenError::Apply(Box::new(other)),
        })?;
    Ok(created.map(|m| m.revision.to_string()))
}
