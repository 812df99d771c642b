//! Edits of the revision graph in the migration files themselves, for when the application
//! does not build (two developers each added a migration, so the history has two heads):
//! the heads read from the files, a merge revision written for them, or one branch rebased
//! onto another head by rewriting one header literal.
//!
//! The functions that decide are pure ([`heads`], [`plan_merge`], [`plan_rebase`],
//! [`reparent_text`]); [`merge`] and [`rebase`] read the folder, decide, and hand the new
//! contents to [`write_files`], which puts them in place all or nothing: every file is first
//! written under a temporary name in the same folder and synced, and only then renamed over
//! its target. No database: what a database has applied comes in as an [`Applied`], read by
//! the caller (the `strata` tool, or the application's command line).

use crate::backend::{DatabaseUrl, SqliteMode, SqliteOptions};
use crate::build::{self, Finding, Header, Parents};
use crate::plan::{Graph, Revision};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The message `strata merge` gives a merge revision by default: `merge a1b2 and c3d4`.
pub fn merge_message(heads: &[&str]) -> String {
    match heads {
        [] => "merge".to_string(),
        [one] => format!("merge {one}"),
        [rest @ .., last] => format!("merge {} and {last}", rest.join(", ")),
    }
}

/// The command line that writes a merge revision for `heads`: `strata merge -m "merge a and b"`.
pub fn merge_command(heads: &[&str]) -> String {
    format!("strata merge -m \"{}\"", merge_message(heads))
}

/// The command line that rebases the branch ending at `branch` onto the head `onto`:
/// `strata rebase <branch> --onto <onto>`.
pub fn rebase_command(branch: &str, onto: &str) -> String {
    format!("strata rebase {branch} --onto {onto}")
}

/// The rebases that make `heads` one linear history, in order: each head after the first is
/// rebased onto the one before it (which by then ends the history).
pub fn rebase_commands(heads: &[&str]) -> Vec<String> {
    heads.windows(2).map(|w| rebase_command(w[1], w[0])).collect()
}

/// Why the graph could not be read or edited. Nothing was written when one is returned
/// (except [`SourceError::Write`] says otherwise).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The versions folder cannot be read.
    #[error("cannot read the migrations folder {}: {source}", .dir.display())]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The files do not form a revision graph (unreadable parents, duplicates, unknown
    /// parents, cycles): heads mean nothing until that is fixed.
    #[error("the migration files do not form a revision graph: {}", .0.join("; "))]
    Broken(Vec<String>),
    /// The files have problems other than several heads; an edit of the graph waits for them.
    #[error(
        "the migrations in {} have problems to fix before their graph is edited: {}",
        .dir.display(),
        .problems.join("; ")
    )]
    Problems {
        /// The folder.
        dir: PathBuf,
        /// What the build reports.
        problems: Vec<String>,
    },
    /// `merge` with one head (or none): the history does not branch.
    #[error("nothing to merge: {}", one_head(.head))]
    NothingToMerge {
        /// (revision, file) of the one head, if there is a migration at all.
        head: Option<(String, String)>,
    },
    /// The merge message cannot be used.
    #[error(transparent)]
    Message(crate::scaffold::ScaffoldError),
    /// No revision matches what was given.
    #[error(
        "{role}: no migration file declares a revision matching {given:?}{}: name a head by its id or a \
         unique prefix of one (`strata heads` lists them)",
        did_you_mean(.suggestions)
    )]
    UnknownRevision {
        /// Which argument (`BRANCH_HEAD`, `--onto`).
        role: &'static str,
        /// What was given.
        given: String,
        /// The closest revisions, heads first.
        suggestions: Vec<String>,
    },
    /// A prefix that matches several revisions.
    #[error("{role}: {prefix:?} is ambiguous: it matches {}; give more of the revision", .candidates.join(", "))]
    Ambiguous {
        /// Which argument.
        role: &'static str,
        /// The prefix given.
        prefix: String,
        /// The revisions it matches.
        candidates: Vec<String>,
    },
    /// A rebase names a revision that is not a head.
    #[error(
        "{role} {revision} ({file}) is not a head (a revision no other migration follows): a rebase moves the \
         branch that ends at one head onto another head; the heads are {}",
        .heads.join(", ")
    )]
    NotAHead {
        /// Which argument.
        role: &'static str,
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// The heads, to choose from.
        heads: Vec<String>,
    },
    /// `rebase X --onto X`.
    #[error(
        "cannot rebase {revision} onto itself: --onto names the other head, the one its branch should follow"
    )]
    OntoItself {
        /// The revision.
        revision: String,
    },
    /// `rebase X --onto Y` with Y already an ancestor of X.
    #[error("{branch} already follows {onto} (it is one of its ancestors): there is nothing to rebase")]
    OntoAncestor {
        /// The branch head.
        branch: String,
        /// Its ancestor.
        onto: String,
    },
    /// The branch starts with a merge revision, whose parents a rebase would have to drop.
    #[error(
        "the branch of {branch} starts with the merge revision {revision} ({file}), whose parents {} record \
         which histories it joins: a rebase gives a revision one new parent and would drop them; join the \
         heads with `strata merge` instead, or edit {file}'s parents by hand",
        .parents.join(", ")
    )]
    MergeBase {
        /// The branch head.
        branch: String,
        /// The merge revision at the branch's start.
        revision: String,
        /// Its file.
        file: String,
        /// Its parents.
        parents: Vec<String>,
    },
    /// The database has applied revisions the rebase would move.
    #[error(
        "{database} has applied {} of the branch of {branch}: moving them after {onto} would leave its \
         recorded history disagreeing with the files ({onto}'s branch not applied under revisions that now \
         follow it). Downgrade that database below them first, rebase the other way (`{}`) if its branch \
         is the one not applied there, or join the heads with `strata merge`; --force rewrites anyway",
        .revisions.join(", "),
        rebase_command(.onto, .branch)
    )]
    Applied {
        /// The database, its password hidden.
        database: String,
        /// The branch head.
        branch: String,
        /// The head it was to follow.
        onto: String,
        /// The applied revisions of the branch.
        revisions: Vec<String>,
    },
    /// The database names heads no file declares.
    #[error(
        "{database} records revision {} as applied, which no migration file declares (applied from \
         another branch, or files not pulled yet): strata cannot tell what it has applied, so it does not \
         rewrite history; pull the missing files, or pass --force if that database does not matter",
        .heads.join(", ")
    )]
    UnknownDatabaseHeads {
        /// The database, its password hidden.
        database: String,
        /// The unknown revisions.
        heads: Vec<String>,
    },
    /// What the database has applied could not be read.
    #[error(
        "cannot check which revisions the database has applied: {reason}; a rebase rewrites history, so it \
         is refused while that is unknown: configure a reachable database (DATABASE_URL, strata.toml or \
         --database-url), or pass --force if no database has applied the branch"
    )]
    DatabaseUnchecked {
        /// Why.
        reason: String,
    },
    /// A file changed between reading and rewriting it.
    #[error("{}: the file changed while strata was editing the graph (its header is not what was read); run the command again", .path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A migration file could not be read.
    #[error("cannot read {}: {source}; nothing was written", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A new file's name is taken.
    #[error("{} already exists: nothing was written", .path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The edit would leave the graph broken (a bug: it is checked before any write).
    #[error("the edit would leave these problems, so nothing was written: {}", .0.join("; "))]
    WouldBreak(Vec<String>),
    /// A file could not be written. `not_restored` lists files already swapped that could
    /// not be put back (empty: every file is as it was).
    #[error("cannot write {}: {source}; {}", .path.display(), restored(.not_restored))]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
        /// Files that were changed and could not be restored.
        not_restored: Vec<PathBuf>,
    },
}

impl SourceError {
    /// The exit code the command lines use: 2 for a usage error (no such folder, an unknown or
    /// ambiguous revision, a bad message), 1 for every refusal and validation failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            SourceError::Folder { .. }
            | SourceError::Message(_)
            | SourceError::UnknownRevision { .. }
            | SourceError::Ambiguous { .. } => 2,
            _ => 1,
        }
    }
}

fn one_head(head: &Option<(String, String)>) -> String {
    match head {
        Some((rev, file)) => format!("the history has one head, {rev} ({file})"),
        None => "there are no migrations".to_string(),
    }
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        more => format!(" (did you mean one of {}?)", more.join(", ")),
    }
}

fn restored(not_restored: &[PathBuf]) -> String {
    if not_restored.is_empty() {
        "no migration file was changed".to_string()
    } else {
        let files: Vec<String> = not_restored.iter().map(|p| p.display().to_string()).collect();
        format!(
            "these files were already changed and could not be put back: {}; restore them from version \
             control (git checkout -- FILE)",
            files.join(", ")
        )
    }
}

/// Reads the headers of every migration file in `dir` ([`build::scan`]).
pub fn scan(dir: &Path) -> Result<Vec<Header>, SourceError> {
    build::scan(dir).map_err(|source| SourceError::Folder { dir: dir.to_path_buf(), source })
}

/// A head: a revision no other migration names as a parent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Head {
    /// The revision id.
    pub revision: String,
    /// Its message, when the header has one.
    pub message: Option<String>,
    /// Its file name.
    pub file: String,
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {}  ({})", self.revision, self.message.as_deref().unwrap_or(""), self.file)
    }
}

/// The graph's view of the headers: each revision, its parents and its file, borrowed.
struct Nodes<'h> {
    headers: Vec<&'h Header>,
    parents: Vec<Vec<&'h str>>,
}

impl<'h> Nodes<'h> {
    /// Every header with a readable revision and parents, or what keeps the others out.
    fn of(headers: &'h [Header]) -> Result<Self, SourceError> {
        let mut nodes = Nodes { headers: Vec::new(), parents: Vec::new() };
        let mut unreadable = Vec::new();
        for h in headers {
            match (h.revision.as_deref(), h.parent_ids()) {
                (Some(_), Some(parents)) => {
                    nodes.headers.push(h);
                    nodes.parents.push(parents);
                }
                _ => unreadable.push(format!("{}: no readable revision or parent", h.file_name)),
            }
        }
        if unreadable.is_empty() {
            Ok(nodes)
        } else {
            Err(SourceError::Broken(unreadable))
        }
    }

    fn revisions(&self) -> Vec<Revision<'_>> {
        self.headers
            .iter()
            .zip(&self.parents)
            .map(|(h, parents)| Revision {
                id: h.revision.as_deref().unwrap_or_default(),
                parents,
                source: &h.file_name,
            })
            .collect()
    }

    fn header(&self, id: &str) -> Option<&'h Header> {
        self.headers.iter().copied().find(|h| h.revision.as_deref() == Some(id))
    }
}

fn graph<'a>(revisions: &[Revision<'a>]) -> Result<Graph<'a>, SourceError> {
    Graph::new(revisions).map_err(|e| SourceError::Broken(e.iter().map(ToString::to_string).collect()))
}

fn head_of(nodes: &Nodes<'_>, id: &str) -> Head {
    let header = nodes.header(id);
    Head {
        revision: id.to_string(),
        message: header.and_then(|h| h.message.clone()),
        file: header.map(|h| h.file_name.clone()).unwrap_or_default(),
    }
}

/// The heads of the revision graph the headers form, in the graph's order. Only the graph
/// must be sound (readable revisions and parents, no duplicate, unknown parent or cycle);
/// other header problems are the build's to report.
pub fn heads(headers: &[Header]) -> Result<Vec<Head>, SourceError> {
    let nodes = Nodes::of(headers)?;
    let revisions = nodes.revisions();
    let graph = graph(&revisions)?;
    Ok(graph.heads().into_iter().map(|id| head_of(&nodes, id)).collect())
}

/// [`heads`] of the migration files in `dir`.
pub fn heads_in(dir: &Path) -> Result<Vec<Head>, SourceError> {
    heads(&scan(dir)?)
}

/// Refuses to edit a graph whose files have any problem but several heads.
fn ready(dir: &Path, headers: &[Header]) -> Result<(), SourceError> {
    let problems: Vec<String> = build::check(headers)
        .iter()
        .filter(|f| !matches!(f, Finding::MultipleHeads { .. }))
        .map(ToString::to_string)
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SourceError::Problems { dir: dir.to_path_buf(), problems })
    }
}

/// The revision ids a new revision may not take: every declared and every replaced one.
fn taken(headers: &[Header]) -> HashSet<String> {
    headers.iter().flat_map(|h| h.revision.iter().chain(&h.replaces)).cloned().collect()
}

/// One file [`write_files`] puts in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// The file.
    pub path: PathBuf,
    /// Its new contents.
    pub text: String,
    /// `None`: a new file (refused if the name is taken); `Some`: the bytes it had when read,
    /// which it must still have (a file edited meanwhile is refused), and which are put back
    /// if a later rename fails.
    pub original: Option<Vec<u8>>,
}

/// A merge revision: its parents are the heads it joins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Merge {
    /// The new revision id.
    pub revision: String,
    /// The heads it joins, in the graph's order.
    pub parents: Vec<String>,
    /// Its message.
    pub message: String,
    /// The file to write.
    pub path: PathBuf,
    /// The file's contents.
    #[serde(skip)]
    pub text: String,
}

/// The source of a merge revision: the `parents:` form of the header, and upgrade and
/// downgrade that do nothing (a merge joins histories; it changes no schema itself).
pub fn merge_text(revision: &str, parents: &[&str], message: &str, created: DateTime<Utc>) -> String {
    let string = crate::codegen::string;
    let parents: Vec<String> = parents.iter().map(|p| string(p)).collect();
    format!(
        "//! {message}\n\
         //! A merge revision: it joins the histories of its parents and changes no schema itself.\n\
         use strata::prelude::*;\n\n\
         migration! {{\n    \
             revision: {},\n    \
             parents: [{}],\n    \
             message: {},\n    \
             created: {},\n    \
             upgrade: |_op| {{}},\n    \
             downgrade: |_op| {{}},\n\
         }}\n",
        string(revision),
        parents.join(", "),
        string(message),
        string(&created.to_rfc3339_opts(SecondsFormat::Secs, true)),
    )
}

/// The merge revision for the heads of the migrations in `dir` (their headers), created at
/// `created`, with `message` or [`merge_message`]. Refuses a folder with one head or with
/// problems other than several heads.
pub fn plan_merge(
    dir: &Path,
    headers: &[Header],
    message: Option<&str>,
    created: DateTime<Utc>,
) -> Result<Merge, SourceError> {
    ready(dir, headers)?;
    let heads = heads(headers)?;
    if heads.len() < 2 {
        return Err(SourceError::NothingToMerge {
            head: heads.into_iter().next().map(|h| (h.revision, h.file)),
        });
    }
    let ids: Vec<&str> = heads.iter().map(|h| h.revision.as_str()).collect();
    let message = message.map_or_else(|| merge_message(&ids), str::to_string);
    crate::scaffold::check_message(&message).map_err(SourceError::Message)?;
    let revision = crate::scaffold::new_revision(&taken(headers));
    let text = merge_text(&revision, &ids, &message, created);
    let path = dir.join(crate::scaffold::file_name(created, &revision, &message));
    Ok(Merge { parents: ids.iter().map(|id| id.to_string()).collect(), revision, message, path, text })
}

/// Writes the merge revision for the heads of the migrations in `dir` ([`plan_merge`]).
pub fn merge(dir: &Path, message: Option<&str>) -> Result<Merge, SourceError> {
    let headers = scan(dir)?;
    let merge = plan_merge(dir, &headers, message, Utc::now())?;
    let mut after = headers.clone();
    after.push(build::parse_header(&merge.path, &merge.text));
    verify(&after, 1)?;
    write_files(&[FileWrite { path: merge.path.clone(), text: merge.text.clone(), original: None }])?;
    Ok(merge)
}

/// What the database a rebase is checked against has applied, as the caller read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The version row as read: `None` for base (nothing applied), else the database's
    /// heads separated by spaces.
    Version {
        /// The database, its password hidden, for messages.
        database: String,
        /// The row's `revision`.
        version: Option<String>,
    },
    /// It could not be read (no database configured, unreachable, a dirty marker): why.
    Unknown {
        /// Why, naming the database.
        reason: String,
    },
    /// Not checked: the user said `--force`.
    Unchecked,
}

/// `url` opened read-only where the engine allows (SQLite: `mode=ro`, so a missing file is
/// an error rather than a new empty database): reading what a database has applied must
/// not create or change one.
pub fn read_only(url: &DatabaseUrl) -> DatabaseUrl {
    match url {
        DatabaseUrl::Sqlite { path, options } => DatabaseUrl::Sqlite {
            path: path.clone(),
            options: SqliteOptions { mode: SqliteMode::ReadOnly, ..*options },
        },
        other => other.clone(),
    }
}

/// One header a rebase rewrites: the revision at the start of the branch gets a new parent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reparent {
    /// The revision.
    pub revision: String,
    /// Its file.
    pub path: PathBuf,
    /// The parent it had.
    pub from: String,
    /// The parent it gets: the other head.
    pub to: String,
}

/// A rebase: the branch ending at `branch` moved after the head `onto`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rebase {
    /// The head of the branch moved.
    pub branch: String,
    /// The head it now follows.
    pub onto: String,
    /// The branch's revisions (reachable from `branch` and not from `onto`), parents first.
    pub moved: Vec<String>,
    /// The headers rewritten: the branch's first revisions.
    pub reparented: Vec<Reparent>,
    /// The database checked, `None` when the check was skipped (`--force`).
    pub database: Option<String>,
}

/// Resolves a revision or unique prefix among the graph's revisions.
fn find<'a>(
    graph: &Graph<'a>,
    heads: &[&'a str],
    role: &'static str,
    given: &str,
) -> Result<&'a str, SourceError> {
    if graph.contains(given) {
        return Ok(graph.revisions().iter().copied().find(|id| *id == given).unwrap_or_default());
    }
    let matches: Vec<&'a str> =
        graph.revisions().iter().copied().filter(|id| id.starts_with(given)).collect();
    match matches.as_slice() {
        [id] => Ok(id),
        [] => {
            let mut suggestions = crate::graph::suggest(given, heads.iter().copied());
            if suggestions.is_empty() {
                suggestions = crate::graph::suggest(given, graph.revisions().iter().copied());
            }
            Err(SourceError::UnknownRevision { role, given: given.to_string(), suggestions })
        }
        _ => Err(SourceError::Ambiguous {
            role,
            prefix: given.to_string(),
            candidates: matches.iter().map(|id| id.to_string()).collect(),
        }),
    }
}

/// Decides the rebase of the branch ending at the head `branch` onto the head `onto` (ids or
/// unique prefixes) in the migrations of `dir` (their headers), checked against what a
/// database has `applied`. Refuses: problems in the files other than several heads; unknown or
/// ambiguous revisions; a revision that is not a head; a head onto itself or its ancestor; a
/// branch that starts with a merge revision; a branch the database has applied (or when what
/// it applied is unknown), unless [`Applied::Unchecked`].
pub fn plan_rebase(
    dir: &Path,
    headers: &[Header],
    branch: &str,
    onto: &str,
    applied: &Applied,
) -> Result<Rebase, SourceError> {
    ready(dir, headers)?;
    let nodes = Nodes::of(headers)?;
    let revisions = nodes.revisions();
    let graph = graph(&revisions)?;
    let heads = graph.heads();
    let branch = find(&graph, &heads, "BRANCH_HEAD", branch)?;
    let onto = find(&graph, &heads, "--onto", onto)?;
    if branch == onto {
        return Err(SourceError::OntoItself { revision: branch.to_string() });
    }
    let ancestors = |id: &str| graph.state_from_heads(&[id]).unwrap_or_else(|_| graph.base());
    let from_branch = ancestors(branch);
    let from_onto = ancestors(onto);
    if graph.is_applied(&from_branch, onto) {
        return Err(SourceError::OntoAncestor { branch: branch.to_string(), onto: onto.to_string() });
    }
    let heads_list = || heads.iter().map(|h| h.to_string()).collect::<Vec<_>>();
    for (role, id) in [("--onto", onto), ("BRANCH_HEAD", branch)] {
        if !heads.contains(&id) {
            let file = graph.source_of(id).unwrap_or_default().to_string();
            return Err(SourceError::NotAHead { role, revision: id.to_string(), file, heads: heads_list() });
        }
    }
    let moved: Vec<&str> = graph
        .revisions()
        .iter()
        .copied()
        .filter(|id| graph.is_applied(&from_branch, id) && !graph.is_applied(&from_onto, id))
        .collect();
    let in_branch: HashSet<&str> = moved.iter().copied().collect();
    let mut reparented = Vec::new();
    for id in &moved {
        if graph.parents_of(id).iter().any(|p| in_branch.contains(p)) {
            continue;
        }
        // The branch starts here: every parent is shared with `onto`'s history.
        let Some(header) = nodes.header(id) else { continue };
        match &header.parents {
            Parents::One(from) => reparented.push(Reparent {
                revision: id.to_string(),
                path: header.path.clone(),
                from: from.clone(),
                to: onto.to_string(),
            }),
            other => {
                return Err(SourceError::MergeBase {
                    branch: branch.to_string(),
                    revision: id.to_string(),
                    file: header.file_name.clone(),
                    parents: other.ids().unwrap_or_default().iter().map(|p| p.to_string()).collect(),
                })
            }
        }
    }
    let database = check_applied(&graph, headers, branch, onto, &moved, applied)?;
    Ok(Rebase {
        branch: branch.to_string(),
        onto: onto.to_string(),
        moved: moved.iter().map(|id| id.to_string()).collect(),
        reparented,
        database,
    })
}

/// Refuses a rebase of revisions the database has applied; returns the database checked.
fn check_applied(
    graph: &Graph<'_>,
    headers: &[Header],
    branch: &str,
    onto: &str,
    moved: &[&str],
    applied: &Applied,
) -> Result<Option<String>, SourceError> {
    let (database, version) = match applied {
        Applied::Unchecked => return Ok(None),
        Applied::Unknown { reason } => return Err(SourceError::DatabaseUnchecked { reason: reason.clone() }),
        Applied::Version { database, version } => (database, version.as_deref().unwrap_or_default()),
    };
    // A revision a squash checkpoint replaced reads as the checkpoint.
    let replaced: HashMap<&str, &str> = headers
        .iter()
        .filter_map(|h| Some((h.revision.as_deref()?, &h.replaces)))
        .flat_map(|(checkpoint, replaces)| replaces.iter().map(move |r| (r.as_str(), checkpoint)))
        .collect();
    let mut db_heads = Vec::new();
    let mut unknown = Vec::new();
    for head in version.split_whitespace() {
        if graph.contains(head) {
            db_heads.push(head);
        } else if let Some(checkpoint) = replaced.get(head) {
            db_heads.push(checkpoint);
        } else {
            unknown.push(head.to_string());
        }
    }
    if !unknown.is_empty() {
        return Err(SourceError::UnknownDatabaseHeads { database: database.clone(), heads: unknown });
    }
    let state = graph
        .state_from_heads(&db_heads)
        .map_err(|e| SourceError::DatabaseUnchecked { reason: format!("{database}: {e}") })?;
    let revisions: Vec<String> =
        moved.iter().filter(|id| graph.is_applied(&state, id)).map(|id| id.to_string()).collect();
    if !revisions.is_empty() {
        return Err(SourceError::Applied {
            database: database.clone(),
            branch: branch.to_string(),
            onto: onto.to_string(),
            revisions,
        });
    }
    Ok(Some(database.clone()))
}

/// `text` (the file at `path`) with the string literal of its `parent: Some("from")` replaced
/// by `"to"`; every other byte stays as it is. Refuses a file whose header no longer says
/// `revision` with the parent `from`.
pub fn reparent_text(
    text: &str,
    path: &Path,
    revision: &str,
    from: &str,
    to: &str,
) -> Result<String, SourceError> {
    let header = build::parse_header(path, text);
    let changed = || SourceError::Changed { path: path.to_path_buf() };
    if header.revision.as_deref() != Some(revision) || header.parents != Parents::One(from.to_string()) {
        return Err(changed());
    }
    let span = header.parent_span.ok_or_else(changed)?;
    let (Some(before), Some(after)) = (text.get(..span.start), text.get(span.end..)) else {
        return Err(changed());
    };
    Ok(format!("{before}{}{after}", crate::codegen::string(to)))
}

/// Rebases the branch ending at `branch` onto the head `onto` in the migration files of
/// `dir` ([`plan_rebase`]), rewriting the parent of the branch's first revision(s).
pub fn rebase(dir: &Path, branch: &str, onto: &str, applied: &Applied) -> Result<Rebase, SourceError> {
    let headers = scan(dir)?;
    let before = heads(&headers)?.len();
    let rebase = plan_rebase(dir, &headers, branch, onto, applied)?;
    let mut writes = Vec::new();
    let mut after = headers.clone();
    for r in &rebase.reparented {
        let original =
            fs::read(&r.path).map_err(|source| SourceError::Read { path: r.path.clone(), source })?;
        let text =
            String::from_utf8(original.clone()).map_err(|_| SourceError::Changed { path: r.path.clone() })?;
        let text = reparent_text(&text, &r.path, &r.revision, &r.from, &r.to)?;
        if let Some(h) = after.iter_mut().find(|h| h.path == r.path) {
            *h = build::parse_header(&r.path, &text);
        }
        writes.push(FileWrite { path: r.path.clone(), text, original: Some(original) });
    }
    verify(&after, before.saturating_sub(1))?;
    write_files(&writes)?;
    Ok(rebase)
}

/// Checks the headers an edit leaves: no problem but several heads, and `heads` of them.
fn verify(after: &[Header], heads: usize) -> Result<(), SourceError> {
    let findings = build::check(after);
    let problems: Vec<String> = findings
        .iter()
        .filter(|f| !matches!(f, Finding::MultipleHeads { heads: h } if h.len() == heads))
        .map(ToString::to_string)
        .collect();
    let count = self::heads(after).map(|h| h.len()).unwrap_or_default();
    if problems.is_empty() && count == heads {
        Ok(())
    } else if problems.is_empty() {
        Err(SourceError::WouldBreak(vec![format!("{count} heads instead of {heads}")]))
    } else {
        Err(SourceError::WouldBreak(problems))
    }
}

/// The file operations [`write_files`] uses, so a test can make one fail.
trait Files {
    /// Creates `path` (never over an existing file) with `bytes`, with the permissions of
    /// `like` when given, and syncs it to disk.
    fn write_temp(&mut self, path: &Path, bytes: &[u8], like: Option<&Path>) -> io::Result<()>;
    /// Renames `from` over `to`.
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&mut self, path: &Path) -> io::Result<()>;
    /// Syncs a folder, so the renames in it survive a crash.
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()>;
}

/// The real file system.
struct Disk;

impl Files for Disk {
    fn write_temp(&mut self, path: &Path, bytes: &[u8], like: Option<&Path>) -> io::Result<()> {
        let mut file = fs::OpenOptions::new().write(true).create_new(true).open(path)?;
        file.write_all(bytes)?;
        if let Some(like) = like {
            fs::set_permissions(path, fs::metadata(like)?.permissions())?;
        }
        file.sync_all()
    }
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn remove(&mut self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        if cfg!(unix) {
            fs::File::open(dir)?.sync_all()
        } else {
            Ok(())
        }
    }
}

/// The temporary name of `path` while it is written: hidden, in the same folder (so the
/// rename stays on one file system), not ending in `.rs` (so no scan reads it).
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.strata-{}.tmp", std::process::id()))
}

/// Puts `writes` in place, all or nothing: each new text is written to a temporary file in
/// its target's folder and synced; only when every one is written are they renamed over
/// their targets (the rename is the swap). A failure before the swap removes the temporary
/// files and leaves every target as it was; a rename that fails puts back the files
/// already swapped. A new file whose name is taken, or a file whose bytes are no longer
/// [`FileWrite::original`], is refused before anything is written.
pub fn write_files(writes: &[FileWrite]) -> Result<(), SourceError> {
    write_files_with(writes, &mut Disk)
}

fn write_files_with(writes: &[FileWrite], files: &mut dyn Files) -> Result<(), SourceError> {
    for w in writes {
        match &w.original {
            None if fs::symlink_metadata(&w.path).is_ok() => {
                return Err(SourceError::Exists { path: w.path.clone() })
            }
            Some(original) if fs::read(&w.path).ok().as_ref() != Some(original) => {
                return Err(SourceError::Changed { path: w.path.clone() })
            }
            _ => {}
        }
    }
    let temps: Vec<PathBuf> = writes.iter().map(|w| temp_path(&w.path)).collect();
    for (i, w) in writes.iter().enumerate() {
        let like = w.original.is_some().then_some(w.path.as_path());
        if let Err(source) = files.write_temp(&temps[i], w.text.as_bytes(), like) {
            // The failed one may be half written; the earlier ones are complete.
            for t in &temps[..=i] {
                let _ = files.remove(t);
            }
            return Err(SourceError::Write { path: w.path.clone(), source, not_restored: Vec::new() });
        }
    }
    for (i, w) in writes.iter().enumerate() {
        if let Err(source) = files.rename(&temps[i], &w.path) {
            let mut not_restored = Vec::new();
            for done in writes[..i].iter().rev() {
                let undone = match &done.original {
                    None => files.remove(&done.path),
                    Some(original) => {
                        let back = temp_path(&done.path);
                        files
                            .write_temp(&back, original, Some(&done.path))
                            .and_then(|()| files.rename(&back, &done.path))
                            .inspect_err(|_| {
                                let _ = files.remove(&back);
                            })
                    }
                };
                if undone.is_err() {
                    not_restored.push(done.path.clone());
                }
            }
            for t in &temps[i..] {
                let _ = files.remove(t);
            }
            return Err(SourceError::Write { path: w.path.clone(), source, not_restored });
        }
    }
    let mut dirs: Vec<&Path> = writes.iter().filter_map(|w| w.path.parent()).collect();
    dirs.dedup();
    for dir in dirs {
        // The files themselves are synced; a folder that cannot be synced (some file
        // systems) only loses the rename's durability across a crash, not its atomicity.
        let _ = files.sync_dir(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
