//! Offline SQL (`--sql`): the statements a run would execute, per migration, for a dialect,
//! without connecting to the user's database. PostgreSQL renders every op on its own; a SQLite
//! table rebuild needs the table's current definition, so a scratch in-memory database follows
//! the migrations along and answers those questions.

use crate::backend::{Backend, BackendError, Direction};
use crate::dialect::{self, RenderError};
use crate::graph::{Position, Target, TargetError};
use crate::migration::{Migration, MigrationSet};
use crate::ops::{DialectKind, Op};

/// The SQL of one migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MigrationSql {
    /// The migration's revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// Statements in order; lines starting with `--` are comments (a data op, bookkeeping).
    pub statements: Vec<String>,
    /// The version once this migration has run (`None` = base).
    pub new_version: Option<String>,
}

/// Why offline SQL could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineError {
    /// The target names no place in the chain.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An op cannot be rendered for the dialect.
    #[error("{revision}: cannot render {op}: {source}")]
    Render {
        /// The migration.
        revision: String,
        /// The op.
        op: String,
        /// Why.
        source: RenderError,
    },
    /// SQLite rebuilds need the table as it is at that point; the scratch database that follows the
    /// migrations to know it failed.
    #[error("the scratch database that follows the migrations failed: {0}")]
    Scratch(String),
    /// This build has no SQLite, which offline SQLite rendering uses for its scratch database.
    #[error("offline SQL for SQLite needs the sqlite feature")]
    NoSqlite,
    /// The target lies the other way (`upgrade --sql` to an earlier revision).
    #[error("cannot {direction} from {from} to {to}: wrong direction")]
    WrongDirection {
        /// The direction asked for.
        direction: Direction,
        /// The starting revision.
        from: String,
        /// The target.
        to: String,
    },
}

impl From<BackendError> for OfflineError {
    fn from(e: BackendError) -> Self {
        OfflineError::Scratch(e.to_string())
    }
}

/// The SQL an upgrade (or downgrade) from `from` to `target` would run on `kind`.
pub fn render(
    set: &MigrationSet,
    kind: DialectKind,
    direction: Direction,
    from: &Target,
    target: &Target,
) -> Result<Vec<MigrationSql>, OfflineError> {
    let chain = set.chain();
    let start = chain.resolve(from, Position::Base)?;
    let end = chain.resolve(target, start)?;
    let after = |p: Position| match p {
        Position::Base => 0,
        Position::At(i) => i + 1,
    };
    let wrong = (direction == Direction::Up && end < start) || (direction == Direction::Down && end > start);
    if wrong {
        let name = |p| chain.revision_at(p).unwrap_or("base").to_string();
        return Err(OfflineError::WrongDirection { direction, from: name(start), to: name(end) });
    }
    let steps: Vec<(&'static Migration, Vec<Op>, Option<&str>)> = match direction {
        Direction::Down => set.migrations()[after(end)..after(start)]
            .iter()
            .rev()
            .map(|m| (*m, m.downgrade_ops(), m.parent))
            .collect(),
        _ => set.migrations()[after(start)..after(end)]
            .iter()
            .map(|m| (*m, m.upgrade_ops(), Some(m.revision)))
            .collect(),
    };
    let mut scratch = match kind {
        DialectKind::Sqlite => Some(scratch_at(set, start)?),
        DialectKind::Postgres => None,
    };
    let dialect = dialect::for_kind(kind);
    let mut out = Vec::with_capacity(steps.len());
    for (m, ops, new_version) in steps {
        let mut statements = Vec::new();
        for op in &ops {
            if let Op::Data { label, run } = op {
                statements.push(format!(
                    "-- data op {label:?}: Rust code run against the live connection; it has no SQL form"
                ));
                if let Some(db) = scratch.as_mut() {
                    // Keeps the scratch schema in step; it has no rows, so this is cheap.
                    let _ = run(db.data());
                }
                continue;
            }
            let snapshot = match (dialect.needs_snapshot(op), scratch.as_mut()) {
                (Some(table), Some(db)) => db.snapshot_table(&table)?,
                _ => None,
            };
            let rendered = dialect.render(op, snapshot.as_ref()).map_err(|source| OfflineError::Render {
                revision: m.revision.to_string(),
                op: op.to_string(),
                source,
            })?;
            if let Some(db) = scratch.as_mut() {
                for statement in &rendered {
                    db.execute(statement)?;
                }
            }
            statements.extend(rendered);
        }
        out.push(MigrationSql {
            revision: m.revision.to_string(),
            message: m.message.to_string(),
            direction,
            statements,
            new_version: new_version.map(str::to_string),
        });
    }
    Ok(out)
}

/// An in-memory SQLite database with the migrations up to `position` applied.
#[cfg(feature = "sqlite")]
fn scratch_at(set: &MigrationSet, position: Position) -> Result<Box<dyn Backend>, OfflineError> {
    let mut db: Box<dyn Backend> = Box::new(crate::backend::sqlite::SqliteBackend::open(
        &crate::backend::DatabaseUrl::SqliteMemory,
        crate::backend::VersionTables::default(),
    )?);
    if let Position::At(i) = position {
        let runner =
            crate::runner::Runner::new(set.clone()).with_mode(crate::runner::TransactionMode::Grouped);
        let target = Target::Revision(set.migrations()[i].revision.to_string());
        runner.upgrade(db.as_mut(), &target).map_err(|e| OfflineError::Scratch(e.to_string()))?;
    }
    Ok(db)
}

#[cfg(not(feature = "sqlite"))]
fn scratch_at(_set: &MigrationSet, _position: Position) -> Result<Box<dyn Backend>, OfflineError> {
    Err(OfflineError::NoSqlite)
}

/// The whole script as text: a transaction per migration, bookkeeping as comments.
pub fn script(migrations: &[MigrationSql]) -> String {
    let mut out = String::new();
    for m in migrations {
        out.push_str(&format!("-- {} {}: {}\nBEGIN;\n", m.direction, m.revision, m.message));
        for statement in &m.statements {
            out.push_str(statement);
            if !statement.starts_with("--") {
                out.push(';');
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "-- strata records {} {} and sets the version to {}\nCOMMIT;\n\n",
            m.direction,
            m.revision,
            m.new_version.as_deref().unwrap_or("base")
        ));
    }
    out
}
