//! `show`: one migration as data (its header, its ops in both directions and the SQL they
//! render to for the configured database), for a front end to print.

use crate::backend::Direction;
use crate::graph::{Target, TargetError};
use crate::manager::{ManagerError, MigrationManager};
use crate::migration::Migration;
use crate::offline::MigrationSql;
use std::path::Path;

/// One migration in detail.
#[derive(Debug, Clone)]
pub struct MigrationDetail {
    /// The migration (revision, parent, message, created, source file).
    pub migration: &'static Migration,
    /// The source file's name: the build path means nothing where the binary runs.
    pub file_name: String,
    /// Its upgrade ops, described (`add_column users.email`).
    pub upgrade: Vec<String>,
    /// Its downgrade ops, described.
    pub downgrade: Vec<String>,
    /// The SQL of its upgrade for the configured database.
    pub upgrade_sql: Option<MigrationSql>,
    /// The SQL of its downgrade for the configured database.
    pub downgrade_sql: Option<MigrationSql>,
}

impl MigrationManager {
    /// The migration `revision` (an id or unique prefix) in detail. Offline: the database is
    /// not touched.
    pub fn show(&self, revision: &str) -> Result<MigrationDetail, ManagerError> {
        let set = self.migrations();
        let m = set.find(revision)?;
        let target = Target::Revision(m.revision.to_string());
        let graph = set.graph();
        // Its parents applied (a merge revision has several) and nothing else.
        let parents =
            graph.state_from_heads(m.parents).map_err(|e| TargetError::UnknownCurrent(e.to_string()))?;
        let applied =
            graph.state_from_heads(&[m.revision]).map_err(|e| TargetError::UnknownCurrent(e.to_string()))?;
        // Shown, not applied: a data op is a placeholder line.
        let up = self.offline_sql_from(Direction::Up, &parents, &target, true)?;
        let down = self.offline_sql_from(Direction::Down, &applied, &Target::Relative(-1), true)?;
        let ops = |ops: Vec<crate::ops::Op>| ops.iter().map(ToString::to_string).collect::<Vec<_>>();
        let file_name = Path::new(m.file)
            .file_name()
            .map_or_else(|| m.file.to_string(), |f| f.to_string_lossy().into_owned());
        Ok(MigrationDetail {
            migration: m,
            file_name,
            upgrade: ops(m.upgrade_ops()),
            downgrade: ops(m.downgrade_ops()),
            upgrade_sql: up.into_iter().next(),
            downgrade_sql: down.into_iter().next(),
        })
    }
}
