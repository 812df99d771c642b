//! Writing new migration modules and project scaffolding: fresh revision ids, file names from
//! messages, the templates (embedded, so this works from any directory) and `init`. Files are
//! created, never overwritten.

use crate::build;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// A migration template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Template {
    /// Empty `upgrade` and `downgrade`.
    Blank,
    /// `add_column` and its `drop_column`.
    AddColumn,
    /// `create_index` and its `drop_index`.
    AddIndex,
    /// `create_table` and its `drop_table`.
    AddTable,
    /// `add_foreign_key` and its `drop_constraint`.
    AddForeignKey,
}

impl Template {
    /// Every template, in the order `template --list` shows them.
    pub const ALL: [Template; 5] = [
        Template::Blank,
        Template::AddColumn,
        Template::AddIndex,
        Template::AddTable,
        Template::AddForeignKey,
    ];

    /// The name `template NAME` and `create --template` take.
    pub fn name(self) -> &'static str {
        match self {
            Template::Blank => "blank",
            Template::AddColumn => "add_column",
            Template::AddIndex => "add_index",
            Template::AddTable => "add_table",
            Template::AddForeignKey => "add_foreign_key",
        }
    }

    /// One line for `template --list`.
    pub fn description(self) -> &'static str {
        match self {
            Template::Blank => "an empty upgrade and downgrade",
            Template::AddColumn => "add a column to a table",
            Template::AddIndex => "add an index to a table",
            Template::AddTable => "create a new table",
            Template::AddForeignKey => "add a foreign key constraint",
        }
    }

    /// The template text with `{{placeholders}}`.
    pub fn text(self) -> &'static str {
        match self {
            Template::Blank => include_str!("../templates/blank.rs.tmpl"),
            Template::AddColumn => include_str!("../templates/add_column.rs.tmpl"),
            Template::AddIndex => include_str!("../templates/add_index.rs.tmpl"),
            Template::AddTable => include_str!("../templates/add_table.rs.tmpl"),
            Template::AddForeignKey => include_str!("../templates/add_foreign_key.rs.tmpl"),
        }
    }

    /// The template called `name`.
    pub fn from_name(name: &str) -> Result<Self, ScaffoldError> {
        Template::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| ScaffoldError::UnknownTemplate(name.to_string()))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a migration or the scaffolding could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScaffoldError {
    /// No template has this name.
    #[error("unknown template {0:?}: expected one of blank, add_column, add_index, add_table, add_foreign_key (see template --list)")]
    UnknownTemplate(String),
    /// A `--rev-id` that cannot become part of a file name and a Rust module.
    #[error("revision id {0:?} cannot be used: expected 1 to 64 ASCII letters, digits or underscores (it becomes part of a file name and of Rust code)")]
    BadRevision(String),
    /// A `--rev-id` another migration already uses.
    #[error("revision id {0} is already taken in the versions folder")]
    RevisionTaken(String),
    /// A migration needs a message.
    #[error("the message is empty: describe the change, e.g. \"add user email column\"")]
    EmptyMessage,
    /// A message with line breaks or control characters, which would break the file.
    #[error("the message may not contain control characters or line breaks: {0:?}")]
    BadMessage(String),
    /// The versions folder does not exist.
    #[error("the migrations folder {0} does not exist: run init first, or set versions_dir in strata.toml")]
    NoVersionsDir(String),
    /// The folder's chain is broken, so there is no head to be the new migration's parent.
    #[error("the migrations in {dir} have problems; fix them first: {problems}")]
    BrokenChain {
        /// The versions folder.
        dir: String,
        /// What the build would report.
        problems: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ScaffoldError + '_ {
    move |source| ScaffoldError::Io { path: path.display().to_string(), source }
}

/// A fresh 12-hex-digit revision id not in `taken`.
pub fn new_revision(taken: &HashSet<String>) -> String {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    (0u64..)
        .map(|n| {
            format!("{:012x}", state.hash_one((std::time::SystemTime::now(), std::process::id(), n)) >> 16)
        })
        .find(|id| !taken.contains(id))
        .unwrap_or_default()
}

/// The message as a file-name slug: lower-case ASCII letters, digits and underscores.
pub fn slug(message: &str) -> String {
    let mut slug = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
        if slug.len() >= 48 {
            break;
        }
    }
    let slug = slug.trim_end_matches('_').to_string();
    if slug.is_empty() {
        "migration".into()
    } else {
        slug
    }
}

/// A warning for messages that will not tell anyone what the migration did.
pub fn vague_message_warning(message: &str) -> Option<String> {
    const VAGUE: [&str; 12] = [
        "update",
        "updates",
        "fix",
        "fixes",
        "change",
        "changes",
        "misc",
        "wip",
        "stuff",
        "migration",
        "tmp",
        "test",
    ];
    let words: Vec<String> = message.split_whitespace().map(|w| w.to_lowercase()).collect();
    let vague = words.len() < 2
        || words.iter().all(|w| VAGUE.contains(&w.trim_matches(|c: char| !c.is_alphanumeric())));
    vague.then(|| {
        format!("the message {message:?} is vague: say what changes, e.g. \"add email column to users\"")
    })
}

/// Refuses an empty message and one with control characters or line breaks.
pub(crate) fn check_message(message: &str) -> Result<(), ScaffoldError> {
    if message.trim().is_empty() {
        return Err(ScaffoldError::EmptyMessage);
    }
    if message.chars().any(char::is_control) {
        return Err(ScaffoldError::BadMessage(message.to_string()));
    }
    Ok(())
}

/// Fills a template's placeholders.
pub fn render(
    template: Template,
    revision: &str,
    parent: Option<&str>,
    message: &str,
    created: DateTime<Utc>,
) -> String {
    // Debug formatting escapes quotes and backslashes for a Rust string literal.
    let escaped = format!("{message:?}");
    let escaped = &escaped[1..escaped.len() - 1];
    let parent = match parent {
        Some(p) => format!("Some(\"{p}\")"),
        None => "None".into(),
    };
    // The message goes in last, so text in it that looks like a placeholder stays as written.
    template
        .text()
        .replace("{{revision}}", revision)
        .replace("{{parent}}", &parent)
        .replace("{{created}}", &created.to_rfc3339_opts(SecondsFormat::Secs, true))
        .replace("{{message}}", escaped)
}

/// A migration file that was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Created {
    /// The new file.
    pub path: PathBuf,
    /// Its revision.
    pub revision: String,
    /// Its parent: the head when it was written.
    pub parent: Option<String>,
    /// A note for the author (a vague message).
    pub warnings: Vec<String>,
}

/// Writes a new migration from `template` into `versions_dir`, with the folder's current head
/// as parent. The folder is read (not the compiled set) so a file written but not yet built
/// still counts.
pub fn create_migration(
    versions_dir: &Path,
    message: &str,
    template: Template,
) -> Result<Created, ScaffoldError> {
    create_migration_with_id(versions_dir, message, template, None)
}

/// [`create_migration`] with a chosen revision id (validated and checked for collisions).
pub fn create_migration_with_id(
    versions_dir: &Path,
    message: &str,
    template: Template,
    revision: Option<&str>,
) -> Result<Created, ScaffoldError> {
    write_migration(versions_dir, message, revision, |revision, parent, created| {
        render(template, revision, parent, message, created)
    })
}

/// The folder's current head, after checking its chain (`None` for an empty folder).
pub fn folder_head(versions_dir: &Path) -> Result<(Option<String>, HashSet<String>), ScaffoldError> {
    if !versions_dir.is_dir() {
        return Err(ScaffoldError::NoVersionsDir(versions_dir.display().to_string()));
    }
    let headers = build::scan(versions_dir).map_err(io_error(versions_dir))?;
    let findings = build::check(&headers);
    if !findings.is_empty() {
        let problems = findings.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(ScaffoldError::BrokenChain { dir: versions_dir.display().to_string(), problems });
    }
    // The check passed: one head, or none in an empty folder.
    let head = crate::source::heads(&headers).ok().and_then(|h| h.into_iter().next()).map(|h| h.revision);
    // Nor may a new revision take the id of one a squash checkpoint replaced.
    let taken = headers.iter().flat_map(|h| h.revision.iter().chain(&h.replaces)).cloned().collect();
    Ok((head, taken))
}

/// The file name of a new migration: its creation time in UTC (`YYYYMMDD_HHMM_`), so a
/// directory listing shows the migrations in the order they were written, then
/// `r<revision>_<slug of the message>.rs`, e.g. `20261201_2230_r3f9a1c2b7e01_add_email.rs`.
/// The build check also accepts the unprefixed `r<revision>_<slug>.rs`.
pub fn file_name(created: DateTime<Utc>, revision: &str, message: &str) -> String {
    format!("{}_r{revision}_{}.rs", created.format("%Y%m%d_%H%M"), slug(message))
}

/// Writes [`file_name`] (`<YYYYMMDD_HHMM>_r<new revision>_<slug>.rs`) with the text
/// `source(revision, parent, created)` returns, the folder's head as parent; never
/// overwrites a file.
/// `revision`: the id to use (Alembic's `--rev-id`), or `None` for a fresh one.
pub fn write_migration(
    versions_dir: &Path,
    message: &str,
    revision: Option<&str>,
    source: impl FnOnce(&str, Option<&str>, DateTime<Utc>) -> String,
) -> Result<Created, ScaffoldError> {
    check_message(message)?;
    if let Some(id) = revision.filter(|id| !build::valid_revision(id)) {
        return Err(ScaffoldError::BadRevision(id.to_string()));
    }
    let (head, taken) = folder_head(versions_dir)?;
    let revision = match revision {
        Some(id) if taken.contains(id) => return Err(ScaffoldError::RevisionTaken(id.to_string())),
        Some(id) => id.to_string(),
        None => new_revision(&taken),
    };
    let created = Utc::now();
    let text = source(&revision, head.as_deref(), created);
    let path = versions_dir.join(file_name(created, &revision, message));
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(io_error(&path))?;
    file.write_all(text.as_bytes()).map_err(io_error(&path))?;
    Ok(Created {
        path,
        revision,
        parent: head,
        warnings: vague_message_warning(message).into_iter().collect(),
    })
}

/// What `init` did to one path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Scaffolded {
    /// The path.
    pub path: PathBuf,
    /// False when it was already there (init never overwrites).
    pub created: bool,
}

/// Creates what a migrations crate needs where it is missing: the versions folder, and next to
/// `src/`, a `build.rs` and `src/lib.rs` with the build glue. `versions_dir` is
/// `<crate>/src/versions`. Idempotent; never overwrites a file.
pub fn init(versions_dir: &Path) -> Result<Vec<Scaffolded>, ScaffoldError> {
    let src = versions_dir.parent().unwrap_or(Path::new("."));
    let crate_dir = src.parent().unwrap_or(Path::new("."));
    let mut done = Vec::new();
    let existed = versions_dir.is_dir();
    fs::create_dir_all(versions_dir).map_err(io_error(versions_dir))?;
    done.push(Scaffolded { path: versions_dir.to_path_buf(), created: !existed });
    let build_rs = "//! Checks the revision chain of `src/versions/` and generates `migrations()`.\n\
        fn main() {\n    strata::build::migrations(\"src/versions\");\n}\n";
    let lib_rs = "//! This application's migrations: one Rust module per revision in `src/versions/`.\n\
        //! Consumers call `migrations()`.\n\n\
        strata::include_migrations!();\n";
    for (path, text) in [(crate_dir.join("build.rs"), build_rs), (src.join("lib.rs"), lib_rs)] {
        let created = match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).map_err(io_error(&path))?;
                true
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(io_error(&path)(e)),
        };
        done.push(Scaffolded { path, created });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("strata-scaffold-{}", new_revision(&HashSet::new())));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn slugs_and_vague_messages() {
        assert_eq!(slug("Add user email column!"), "add_user_email_column");
        assert_eq!(slug("  ÜNÏ -- x"), "n_x");
        assert_eq!(slug("!!!"), "migration");
        assert!(vague_message_warning("update").is_some());
        assert!(vague_message_warning("misc fixes").is_some());
        assert!(vague_message_warning("add email column to users").is_none());
    }

    #[test]
    fn revisions_are_fresh() {
        let taken: HashSet<String> = (0..50).map(|_| new_revision(&HashSet::new())).collect();
        assert_eq!(taken.len(), 50);
        let id = new_revision(&taken);
        assert!(id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()) && !taken.contains(&id));
    }

    #[test]
    fn new_file_names_start_with_the_creation_time_in_utc() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T22:30:59+00:00").unwrap().with_timezone(&Utc);
        assert_eq!(file_name(at, "3f9a1c2b7e01", "add email"), "20261201_2230_r3f9a1c2b7e01_add_email.rs");
        let earlier = DateTime::parse_from_rfc3339("2026-02-03T04:05:00Z").unwrap().with_timezone(&Utc);
        assert!(file_name(earlier, "ffff", "x") < file_name(at, "0000", "x"), "they sort by time");
    }

    #[test]
    fn creates_chained_migrations_that_pass_the_build_check() {
        let dir = temp();
        let versions = dir.join("src/versions");
        let scaffolded = init(&versions).unwrap();
        assert!(scaffolded.iter().all(|s| s.created));
        assert!(init(&versions).unwrap().iter().all(|s| !s.created), "idempotent");

        let first = create_migration(&versions, "create \"widgets\" table", Template::AddTable).unwrap();
        assert_eq!(first.parent, None);
        let second = create_migration(&versions, "add widget colour", Template::AddColumn).unwrap();
        assert_eq!(second.parent.as_deref(), Some(first.revision.as_str()));
        let name = second.path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.ends_with(&format!("_r{}_add_widget_colour.rs", second.revision)), "{name}");
        let headers = build::scan(&versions).unwrap();
        assert_eq!(build::check(&headers), vec![]);
        // The name starts with the header's creation time, in UTC: listings sort in chain order.
        let header = headers.iter().find(|h| h.file_name == name).expect("scanned");
        let created: DateTime<Utc> = header.created.as_deref().unwrap().parse().unwrap();
        assert!(name.starts_with(&created.format("%Y%m%d_%H%M_r").to_string()), "{name} {created}");
        assert_eq!(
            headers
                .iter()
                .find(|h| h.revision.as_deref() == Some(&first.revision))
                .unwrap()
                .message
                .as_deref(),
            Some("create \"widgets\" table")
        );
        let vague = create_migration(&versions, "update", Template::Blank).unwrap();
        assert_eq!(vague.warnings.len(), 1);
        assert!(matches!(
            create_migration(&versions, "two\nlines", Template::Blank),
            Err(ScaffoldError::BadMessage(_))
        ));
        assert!(matches!(Template::from_name("nope"), Err(ScaffoldError::UnknownTemplate(_))));
        for bad in ["../x", "a b", "x\"); evil(\"", "", "é"] {
            let err =
                create_migration_with_id(&versions, "add a thing", Template::Blank, Some(bad)).unwrap_err();
            assert!(matches!(err, ScaffoldError::BadRevision(_)), "{bad:?}: {err}");
        }
        let chosen = create_migration_with_id(
            &versions,
            "mentions {{created}} literally",
            Template::Blank,
            Some("custom_01"),
        )
        .unwrap();
        assert!(fs::read_to_string(&chosen.path)
            .unwrap()
            .contains("message: \"mentions {{created}} literally\""));
        let again =
            create_migration_with_id(&versions, "again", Template::Blank, Some("custom_01")).unwrap_err();
        assert!(matches!(again, ScaffoldError::RevisionTaken(_)));
        assert_eq!(build::check(&build::scan(&versions).unwrap()), vec![]);
        fs::remove_dir_all(dir).unwrap();
    }
}
