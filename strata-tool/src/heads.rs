//! `strata heads`: the heads of the revision graph, read from the migration files rather than
//! the compiled set, so it works exactly when the application does not build (two developers'
//! branches each added a migration: two heads fail the build).

use std::fmt;
use std::path::{Path, PathBuf};
use strata::build::{self, Header};
use strata::plan::{Graph, Revision};

/// A head: a revision no other migration names as its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The revision id.
    pub revision: String,
    /// Its message, when the header has one.
    pub message: Option<String>,
    /// Its file name.
    pub file: String,
}

/// Why the heads could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HeadsError {
    /// The versions folder cannot be read.
    #[error("cannot read the migrations folder {}: {source}", .dir.display())]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The files do not form a graph (duplicates, unknown parents, cycles): heads would mean
    /// nothing until those are fixed.
    #[error("the migration files do not form a revision graph: {}", .0.join("; "))]
    Broken(Vec<String>),
}

impl HeadsError {
    /// The exit code: 1 for a broken graph (a validation failure), 2 for a folder that is not
    /// there (a usage error).
    pub fn exit_code(&self) -> u8 {
        match self {
            HeadsError::Folder { .. } => 2,
            HeadsError::Broken(_) => 1,
        }
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {}  ({})", self.revision, self.message.as_deref().unwrap_or(""), self.file)
    }
}

/// The heads of the migrations in `dir`, in the graph's order. Files whose header cannot be
/// read are reported as the build reports them.
pub fn heads(dir: &Path) -> Result<Vec<Head>, HeadsError> {
    let headers = build::scan(dir).map_err(|source| HeadsError::Folder { dir: dir.to_path_buf(), source })?;
    let unreadable: Vec<String> = headers
        .iter()
        .filter(|h| h.revision.is_none() || h.parent.is_none())
        .map(|h| format!("{}: no readable revision or parent", h.file_name))
        .collect();
    if !unreadable.is_empty() {
        return Err(HeadsError::Broken(unreadable));
    }
    // Parent lists as the graph wants them: borrowed from the headers.
    let parents: Vec<Vec<&str>> =
        headers.iter().map(|h| h.parent.as_ref().and_then(|p| p.as_deref()).into_iter().collect()).collect();
    let revisions: Vec<Revision<'_>> = headers
        .iter()
        .zip(&parents)
        .map(|(h, ps)| Revision {
            id: h.revision.as_deref().unwrap_or_default(),
            parents: ps,
            source: &h.file_name,
        })
        .collect();
    let graph = Graph::new(&revisions)
        .map_err(|e| HeadsError::Broken(e.iter().map(ToString::to_string).collect()))?;
    let by_id = |id: &str| headers.iter().find(|h: &&Header| h.revision.as_deref() == Some(id));
    Ok(graph
        .heads()
        .into_iter()
        .map(|id| {
            let header = by_id(id);
            Head {
                revision: id.to_string(),
                message: header.and_then(|h| h.message.clone()),
                file: header.map(|h| h.file_name.clone()).unwrap_or_default(),
            }
        })
        .collect())
}

/// The versions folder of the project in `project`: `versions_dir` from its `strata.toml`
/// (relative to the project), or `None`.
pub fn versions_dir_of(project: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(project.join("strata.toml")).ok()?;
    let table: toml_edit::DocumentMut = text.parse().ok()?;
    let dir = table.get("versions_dir")?.as_str()?;
    Some(project.join(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(dir: &Path, file: &str, revision: &str, parent: Option<&str>) {
        let parent = parent.map_or_else(|| "None".to_string(), |p| format!("Some({p:?})"));
        let text = format!(
            "use strata::prelude::*;\nmigration! {{\n    revision: {revision:?},\n    parent: {parent},\n    \
             message: \"m {revision}\",\n    created: \"2026-12-01T10:00:00Z\",\n    upgrade: |_op| {{}},\n    \
             downgrade: |_op| {{}},\n}}\n"
        );
        std::fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn two_branches_have_two_heads_read_from_the_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        migration(dir, "r000aaaa_root.rs", "000aaaa", None);
        migration(dir, "r000bbbb_mine.rs", "000bbbb", Some("000aaaa"));
        let one = heads(dir).unwrap();
        assert_eq!(one.iter().map(|h| h.revision.as_str()).collect::<Vec<_>>(), ["000bbbb"]);
        migration(dir, "r000cccc_theirs.rs", "000cccc", Some("000aaaa"));
        let two = heads(dir).unwrap();
        assert_eq!(two.iter().map(|h| h.revision.as_str()).collect::<Vec<_>>(), ["000bbbb", "000cccc"]);
        assert_eq!(two[1].file, "r000cccc_theirs.rs");
        assert_eq!(two[1].message.as_deref(), Some("m 000cccc"));
    }

    #[test]
    fn a_broken_graph_or_a_missing_folder_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = heads(&tmp.path().join("nope")).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        migration(tmp.path(), "r000aaaa_root.rs", "000aaaa", None);
        migration(tmp.path(), "r000dddd_orphan.rs", "000dddd", Some("zzzz"));
        let err = heads(tmp.path()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("zzzz") && err.to_string().contains("r000dddd_orphan.rs"), "{err}");
    }
}
