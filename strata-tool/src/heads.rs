//! `strata heads`: the heads of the revision graph, read from the migration files rather than
//! the compiled set, so it works exactly when the application does not build (two developers'
//! branches each added a migration: two heads fail the build). The work is
//! [`strata::source::heads_in`]'s; this module finds the folder.

use std::path::{Path, PathBuf};
pub use strata::source::{Head, SourceError};

/// The heads of the migrations in `dir`, in the graph's order. Files whose header cannot be
/// read are reported as the build reports them.
pub fn heads(dir: &Path) -> Result<Vec<Head>, SourceError> {
    strata::source::heads_in(dir)
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
