//! What a build script calls: scan the versions folder, read each migration's header without
//! running its code, check the revision graph with [`crate::plan::Graph`], and write the module
//! list and the expected revision ids to `OUT_DIR`. [`check`] returns findings and prints
//! nothing; only [`BuildScript::run`], the build-script adapter, talks to cargo.

use crate::graph::ChainError;
use crate::plan::{Graph, Revision};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The `parent:` or `parents:` field of a header, as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Parents {
    /// Neither `parent:` nor `parents:`.
    #[default]
    Missing,
    /// `parent: None`: the root.
    Root,
    /// `parent: Some("a")`: the common form.
    One(String),
    /// `parents: ["a", "b"]`, as written: a merge revision (the check wants two or more
    /// distinct revisions).
    Many(Vec<String>),
    /// The field (`parent` or `parents`) is there but is not a literal the build can read
    /// without running code.
    Unreadable(&'static str),
    /// Both `parent:` and `parents:` are given.
    Both,
}

impl Parents {
    /// The parents the graph takes (each once, as written), or `None` when the field cannot
    /// place the revision in the graph (missing, unreadable, both fields, an empty list).
    pub fn ids(&self) -> Option<Vec<&str>> {
        match self {
            Parents::Root => Some(Vec::new()),
            Parents::One(p) => Some(vec![p.as_str()]),
            Parents::Many(list) if !list.is_empty() => {
                let mut ids: Vec<&str> = Vec::with_capacity(list.len());
                for p in list {
                    if !ids.contains(&p.as_str()) {
                        ids.push(p);
                    }
                }
                Some(ids)
            }
            _ => None,
        }
    }
}

/// What the build script read from one migration file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// The file read.
    pub path: PathBuf,
    /// The file name, as named in findings.
    pub file_name: String,
    /// The `revision:` literal, if there is one.
    pub revision: Option<String>,
    /// The `parent:` or `parents:` field.
    pub parents: Parents,
    /// Where the string literal of `parent: Some("...")` is in the file (byte offsets, quotes
    /// included): what a rebase rewrites, leaving every other byte as it is.
    pub parent_span: Option<Range<usize>>,
    /// The `replaces:` list of a squash checkpoint (empty when there is none).
    pub replaces: Vec<String>,
    /// `replaces:` is there but is not a list of string literals.
    pub replaces_unreadable: bool,
    /// The `message:` literal.
    pub message: Option<String>,
    /// The `created:` literal (RFC 3339).
    pub created: Option<String>,
    /// Whether an `upgrade:` function is given.
    pub has_upgrade: bool,
    /// Whether a `downgrade:` function is given.
    pub has_downgrade: bool,
    /// The file has no `migration!` invocation at all.
    pub no_macro: bool,
    /// The file holds tests: an attribute naming something with `test` in it (`#[test]`,
    /// `#[cfg(test)]`, `#[tokio::test]`, ...). The test harness only finds tests in modules
    /// reachable by path, so [`migrations_module`] declares such a file as a plain module.
    pub has_tests: bool,
}

impl Header {
    /// The parents the graph takes; see [`Parents::ids`].
    pub fn parent_ids(&self) -> Option<Vec<&str>> {
        self.parents.ids()
    }
}

/// A problem that fails the build.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Finding {
    /// A file in the versions folder declares no migration.
    #[error("{file}: no `migration! {{ ... }}` declaration found")]
    NoMigration {
        /// The file.
        file: String,
    },
    /// A required header field is absent.
    #[error("{file}: the migration does not declare `{field}:`")]
    MissingField {
        /// The file.
        file: String,
        /// The field (`revision`, `parent`, `message`, `created`).
        field: &'static str,
    },
    /// A header field is not a literal the build can read without running code.
    #[error("{file}: `{field}:` is not {}", expected_literal(.field))]
    Unreadable {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
    },
    /// `parent:` and `parents:` together: which one holds?
    #[error(
        "{file}: the migration declares both `parent:` and `parents:`: keep `parents: [\"a\", \"b\"]` for a \
         merge revision (two or more parents), or `parent:` alone for one parent or the root"
    )]
    BothParentFields {
        /// The file.
        file: String,
    },
    /// `parents:` with fewer than two revisions: not a merge revision.
    #[error("{file}: {}", too_few_parents(.parents))]
    TooFewParents {
        /// The file.
        file: String,
        /// The list as written.
        parents: Vec<String>,
    },
    /// The same revision twice in `parents:`.
    #[error("{file}: revision {revision} lists parent {parent} twice in `parents:`; name each parent once")]
    DuplicateParent {
        /// The file.
        file: String,
        /// Its revision.
        revision: String,
        /// The parent named twice.
        parent: String,
    },
    /// No `upgrade` or no `downgrade`: every migration must say how to undo itself.
    #[error("{file}: revision {revision} declares no {which} function")]
    MissingBody {
        /// The file.
        file: String,
        /// Its revision.
        revision: String,
        /// `upgrade` or `downgrade`.
        which: &'static str,
    },
    /// The file is not named `r<revision>_<slug>.rs` or `<YYYYMMDD_HHMM>_r<revision>_<slug>.rs`
    /// for its own revision, so the folder would mislead.
    #[error(
        "{file}: the file name does not match its revision {revision}: expected r{revision}_<slug>.rs, or \
         with the creation time first, <YYYYMMDD_HHMM>_r{revision}_<slug>.rs (the _<slug> is optional)"
    )]
    FileName {
        /// The file.
        file: String,
        /// The revision it declares.
        revision: String,
    },
    /// The revision is not a usable identifier (it becomes part of a file and module name).
    #[error("{file}: revision {revision:?} must be 1 to 64 ASCII letters, digits or underscores")]
    BadRevision {
        /// The file.
        file: String,
        /// The revision it declares.
        revision: String,
    },
    /// `created:` is not an RFC 3339 time.
    #[error("{file}: created {created:?} is not an RFC 3339 timestamp such as 2026-11-24T09:30:00Z")]
    BadCreated {
        /// The file.
        file: String,
        /// What it says.
        created: String,
    },
    /// A squash checkpoint that is not the root.
    #[error(
        "{file}: revision {revision} replaces other revisions (a squash checkpoint), so it starts the \
         history: write `parent: None`"
    )]
    CheckpointParent {
        /// The file.
        file: String,
        /// The checkpoint's revision.
        revision: String,
    },
    /// A revision a checkpoint replaces is still declared by a file.
    #[error(
        "{file}: revision {revision} is replaced by the squash checkpoint {checkpoint} ({checkpoint_file}) \
         but is still declared here: delete {file} (the checkpoint holds its work), or take {revision} out \
         of the checkpoint's `replaces:`"
    )]
    ReplacedStillPresent {
        /// The file that still declares it.
        file: String,
        /// The replaced revision.
        revision: String,
        /// The checkpoint that replaces it.
        checkpoint: String,
        /// The checkpoint's file.
        checkpoint_file: String,
    },
    /// A migration still follows a revision a squash checkpoint replaced.
    #[error(
        "{file}: revision {revision} names parent {parent}, which the squash checkpoint {checkpoint} \
         ({checkpoint_file}) replaces: write `parent: Some(\"{checkpoint}\")`"
    )]
    ParentReplaced {
        /// The file.
        file: String,
        /// Its revision.
        revision: String,
        /// The replaced parent it names.
        parent: String,
        /// The checkpoint that replaces the parent.
        checkpoint: String,
        /// The checkpoint's file.
        checkpoint_file: String,
    },
    /// The history branches: two or more revisions are heads. The message gives the commands
    /// that join them.
    #[error("{}", multiple_heads(.heads))]
    MultipleHeads {
        /// (revision, file) of each head, in the graph's order.
        heads: Vec<(String, String)>,
    },
    /// The revisions do not form one graph (duplicates, unknown parents, cycles, roots).
    #[error("{0}")]
    Chain(ChainError),
}

fn expected_literal(field: &str) -> &'static str {
    match field {
        "parents" => "a list of string literals such as [\"a1b2\", \"c3d4\"]",
        "replaces" => "a list of string literals such as [\"r1\", \"r2\"]",
        _ => "a plain string literal or Some(\"...\")/None",
    }
}

fn too_few_parents(parents: &[String]) -> String {
    match parents {
        [] => "`parents: []` names no revision: a merge revision has two or more parents; the root writes \
               `parent: None`"
            .to_string(),
        [one] => format!(
            "`parents: [{one:?}]` names one revision: a merge revision has two or more parents; for one \
             parent write `parent: Some({one:?})`"
        ),
        _ => String::new(),
    }
}

fn multiple_heads(heads: &[(String, String)]) -> String {
    let ids: Vec<&str> = heads.iter().map(|(rev, _)| rev.as_str()).collect();
    let listed: Vec<String> = heads.iter().map(|(rev, file)| format!("{rev} ({file})")).collect();
    format!(
        "more than one head: {}; strata applies one history, so join them in the files: `{}` writes a merge \
         revision whose parents are the heads, or {} re-parents a branch onto the other head for a linear \
         history (refused while the database has applied that branch); `strata heads` lists the heads \
         while the build fails",
        listed.join(", "),
        crate::source::merge_command(&ids),
        crate::source::rebase_commands(&ids)
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(" then "),
    )
}

/// Reads every `*.rs` file in `dir` (not `mod.rs`), sorted by name.
pub fn scan(dir: &Path) -> io::Result<Vec<Header>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && p.file_name().is_some_and(|n| n != "mod.rs"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path)?;
            Ok(parse_header(&path, &text))
        })
        .collect()
}

/// Reads the header fields of a `migration! { ... }` invocation from source text.
pub fn parse_header(path: &Path, text: &str) -> Header {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut header = Header { path: path.to_path_buf(), file_name, ..Header::default() };
    let (tokens, spans) = lex(text);
    header.has_tests = has_test_attribute(&tokens);
    let Some(start) = tokens.windows(3).position(|w| {
        w[0] == Token::Ident("migration".into())
            && w[1] == Token::Punct('!')
            && matches!(w[2], Token::Punct('{' | '('))
    }) else {
        header.no_macro = true;
        return header;
    };
    // Which of `parent` / `parents` was read first, to tell both fields from one.
    let mut parent_key: Option<&'static str> = None;
    let mut depth = 0usize;
    let mut i = start + 2;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{' | '(' | '[') => depth += 1,
            Token::Punct('}' | ')' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            Token::Ident(key) if depth == 1 && tokens.get(i + 1) == Some(&Token::Punct(':')) => {
                let value = &tokens[i + 2..];
                match key.as_str() {
                    "revision" => header.revision = string_at(value),
                    "message" => header.message = string_at(value),
                    "created" => header.created = string_at(value),
                    "parent" | "parents" => {
                        let key = if key == "parent" { "parent" } else { "parents" };
                        let read = if key == "parent" { parent_at(value) } else { parents_at(value) };
                        header.parent_span = None;
                        header.parents = match parent_key {
                            Some(first) if first != key => Parents::Both,
                            _ => {
                                if matches!(read, Parents::One(_)) {
                                    // `Some` `(` then the literal.
                                    header.parent_span = spans.get(i + 4).cloned();
                                }
                                read
                            }
                        };
                        parent_key.get_or_insert(key);
                    }
                    "replaces" => match list_at(value) {
                        Some(list) => header.replaces = list,
                        None => header.replaces_unreadable = true,
                    },
                    "upgrade" => header.has_upgrade = true,
                    "downgrade" => header.has_downgrade = true,
                    _ => {}
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    header
}

/// Whether an attribute (`#[...]` or `#![...]`) names an identifier containing `test`.
fn has_test_attribute(tokens: &[Token]) -> bool {
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == Token::Punct('#') {
            let mut j = i + 1;
            if tokens.get(j) == Some(&Token::Punct('!')) {
                j += 1;
            }
            if tokens.get(j) == Some(&Token::Punct('[')) {
                let mut depth = 0usize;
                for token in &tokens[j..] {
                    match token {
                        Token::Punct('[') => depth += 1,
                        Token::Punct(']') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Token::Ident(name) if name.contains("test") => return true,
                        _ => {}
                    }
                }
            }
        }
        i += 1;
    }
    false
}

fn string_at(tokens: &[Token]) -> Option<String> {
    match tokens.first() {
        Some(Token::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// `None`, `Some("x")`, or unreadable.
fn parent_at(tokens: &[Token]) -> Parents {
    match tokens {
        [Token::Ident(none), ..] if none == "None" => Parents::Root,
        [Token::Ident(some), Token::Punct('('), Token::Str(s), Token::Punct(')'), ..] if some == "Some" => {
            Parents::One(s.clone())
        }
        _ => Parents::Unreadable("parent"),
    }
}

/// `["a", "b"]`, as written, or unreadable.
fn parents_at(tokens: &[Token]) -> Parents {
    list_at(tokens).map_or(Parents::Unreadable("parents"), Parents::Many)
}

/// A list of string literals, `["a", "b"]` (a trailing comma allowed), or `None` when the
/// value is anything else.
fn list_at(tokens: &[Token]) -> Option<Vec<String>> {
    let mut rest = match tokens {
        [Token::Punct('['), rest @ ..] => rest,
        _ => return None,
    };
    let mut items = Vec::new();
    loop {
        match rest {
            [Token::Punct(']'), ..] => return Some(items),
            [Token::Str(s), Token::Punct(','), tail @ ..] => {
                items.push(s.clone());
                rest = tail;
            }
            [Token::Str(s), Token::Punct(']'), ..] => {
                items.push(s.clone());
                return Some(items);
            }
            _ => return None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

/// A small Rust lexer: enough to find `key: value` pairs at the macro's top level, skipping
/// comments, strings (raw ones included) and char literals. Each token comes with its byte
/// range in `text`.
fn lex(text: &str) -> (Vec<Token>, Vec<Range<usize>>) {
    let chars: Vec<char> = text.chars().collect();
    // The byte offset of each char, and of the end.
    let offsets: Vec<usize> = text.char_indices().map(|(at, _)| at).chain([text.len()]).collect();
    let span = |from: usize, to: usize| offsets[from.min(chars.len())]..offsets[to.min(chars.len())];
    let mut tokens = Vec::new();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            let (s, next) = lex_string(&chars, i + 1);
            tokens.push(Token::Str(s));
            spans.push(span(i, next));
            i = next;
        } else if c == 'r' && matches!(chars.get(i + 1), Some('"' | '#')) {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let open = i + 1 + hashes;
            if chars.get(open) != Some(&'"') {
                tokens.push(Token::Ident("r".into()));
                spans.push(span(i, i + 1));
                i += 1;
                continue;
            }
            let mut j = open + 1;
            let mut s = String::new();
            while j < chars.len() {
                if chars[j] == '"'
                    && chars[j + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes
                {
                    j += 1 + hashes;
                    break;
                }
                s.push(chars[j]);
                j += 1;
            }
            tokens.push(Token::Str(s));
            spans.push(span(i, j));
            i = j;
        } else if c == '\'' {
            // A char literal ('x', '\n') or a lifetime ('a).
            if chars.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
            spans.push(span(start, i));
        } else {
            tokens.push(Token::Punct(c));
            spans.push(span(i, i + 1));
            i += 1;
        }
    }
    (tokens, spans)
}

fn lex_string(chars: &[char], mut i: usize) -> (String, usize) {
    let mut s = String::new();
    while i < chars.len() {
        match chars[i] {
            '"' => return (s, i + 1),
            '\\' => {
                match chars.get(i + 1) {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('0') => s.push('\0'),
                    Some('\n') => {
                        // line continuation: skip the newline and leading whitespace
                        i += 2;
                        while i < chars.len() && chars[i].is_whitespace() {
                            i += 1;
                        }
                        continue;
                    }
                    Some(&other) => s.push(other),
                    None => {}
                }
                i += 2;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    (s, i)
}

/// A revision id the file name, the module name and the generated code can all carry.
pub fn valid_revision(revision: &str) -> bool {
    !revision.is_empty()
        && revision.len() <= 64
        && revision.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A file stem without its creation-time prefix `YYYYMMDD_HHMM_` (as `create` writes it), or
/// the stem itself when it has none.
fn without_time_prefix(stem: &str) -> &str {
    let b = stem.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if digits(0..8) && b.get(8) == Some(&b'_') && digits(9..13) && b.get(13) == Some(&b'_') {
        &stem[14..]
    } else {
        stem
    }
}

/// The Rust module name generated for a migration file: its stem, with an `m` before a stem
/// that starts with a digit (a time-prefixed file), which no identifier may.
pub fn module_name(file_name: &str) -> String {
    let stem = file_name.trim_end_matches(".rs");
    if stem.starts_with(|c: char| c.is_ascii_digit()) {
        format!("m{stem}")
    } else {
        stem.to_string()
    }
}

/// Checks every header and the revision graph they form; returns every problem, in file
/// order, then the graph's. A problem already reported for a file is not reported again as
/// its consequence (the children of a revision whose parents could not be read are no
/// orphans, a revision whose parents could not be read is no second root).
pub fn check(headers: &[Header]) -> Vec<Finding> {
    let mut findings = Vec::new();
    // The revisions squash checkpoints replace: replaced -> (checkpoint, its file).
    let mut replaced: HashMap<&str, (&str, &str)> = HashMap::new();
    for h in headers {
        if let Some(revision) = h.revision.as_deref().filter(|r| valid_revision(r)) {
            for r in &h.replaces {
                replaced.entry(r.as_str()).or_insert((revision, h.file_name.as_str()));
            }
        }
    }
    // (revision, parents, file) of each revision the graph can place.
    let mut placed: Vec<(&str, Vec<&str>, &str)> = Vec::new();
    let mut unplaced: HashSet<&str> = HashSet::new();
    for h in headers {
        let file = h.file_name.clone();
        if h.no_macro {
            findings.push(Finding::NoMigration { file });
            continue;
        }
        let Some(revision) = &h.revision else {
            findings.push(Finding::MissingField { file, field: "revision" });
            continue;
        };
        if !valid_revision(revision) {
            findings.push(Finding::BadRevision { file, revision: revision.clone() });
            unplaced.insert(revision);
            continue;
        }
        let stem = without_time_prefix(h.file_name.trim_end_matches(".rs"));
        let expected = format!("r{revision}");
        if stem != expected && !stem.strip_prefix(&expected).is_some_and(|rest| rest.starts_with('_')) {
            findings.push(Finding::FileName { file: file.clone(), revision: revision.clone() });
        }
        match &h.parents {
            Parents::Missing => findings.push(Finding::MissingField { file: file.clone(), field: "parent" }),
            Parents::Unreadable(field) => findings.push(Finding::Unreadable { file: file.clone(), field }),
            Parents::Both => findings.push(Finding::BothParentFields { file: file.clone() }),
            Parents::Many(list) if list.len() < 2 => {
                findings.push(Finding::TooFewParents { file: file.clone(), parents: list.clone() })
            }
            Parents::Many(list) => {
                let mut seen = HashSet::new();
                let mut reported = HashSet::new();
                for p in list {
                    if !seen.insert(p) && reported.insert(p) {
                        findings.push(Finding::DuplicateParent {
                            file: file.clone(),
                            revision: revision.clone(),
                            parent: p.clone(),
                        });
                    }
                }
            }
            Parents::Root | Parents::One(_) => {}
        }
        if h.replaces_unreadable {
            findings.push(Finding::Unreadable { file: file.clone(), field: "replaces" });
        }
        if !h.replaces.is_empty() && h.parents != Parents::Root {
            findings.push(Finding::CheckpointParent { file: file.clone(), revision: revision.clone() });
        }
        if h.message.is_none() {
            findings.push(Finding::MissingField { file: file.clone(), field: "message" });
        }
        match &h.created {
            None => findings.push(Finding::MissingField { file: file.clone(), field: "created" }),
            Some(c) if chrono::DateTime::parse_from_rfc3339(c).is_err() => {
                findings.push(Finding::BadCreated { file: file.clone(), created: c.clone() })
            }
            _ => {}
        }
        for (present, which) in [(h.has_upgrade, "upgrade"), (h.has_downgrade, "downgrade")] {
            if !present {
                findings.push(Finding::MissingBody { file: file.clone(), revision: revision.clone(), which });
            }
        }
        if let Some(&(checkpoint, checkpoint_file)) = replaced.get(revision.as_str()) {
            findings.push(Finding::ReplacedStillPresent {
                file: file.clone(),
                revision: revision.clone(),
                checkpoint: checkpoint.to_string(),
                checkpoint_file: checkpoint_file.to_string(),
            });
            // Reported: the old revisions are no second root, nor orphans.
            unplaced.insert(revision);
            continue;
        }
        match h.parent_ids() {
            Some(parents) => placed.push((revision, parents, &h.file_name)),
            // Already reported: a revision whose parents cannot be read is no second root.
            None => {
                unplaced.insert(revision);
            }
        }
    }
    let revisions: Vec<Revision<'_>> =
        placed.iter().map(|(id, parents, source)| Revision { id, parents, source }).collect();
    match Graph::new(&revisions) {
        Ok(graph) => {
            let heads = graph.heads();
            if heads.len() > 1 {
                let heads = heads
                    .iter()
                    .map(|id| (id.to_string(), graph.source_of(id).unwrap_or_default().to_string()))
                    .collect();
                findings.push(Finding::MultipleHeads { heads });
            }
        }
        Err(errors) => {
            for e in errors {
                match e {
                    // Nor are the children of a revision whose parents could not be read orphans.
                    ChainError::UnknownParent { parent, .. } if unplaced.contains(parent.as_str()) => {}
                    // The root may well be one of the revisions left out.
                    ChainError::NoRoot if !unplaced.is_empty() => {}
                    ChainError::UnknownParent { revision, parent, file } => {
                        match replaced.get(parent.as_str()) {
                            Some(&(checkpoint, checkpoint_file)) => findings.push(Finding::ParentReplaced {
                                file,
                                revision,
                                parent,
                                checkpoint: checkpoint.to_string(),
                                checkpoint_file: checkpoint_file.to_string(),
                            }),
                            None => findings.push(Finding::Chain(ChainError::UnknownParent {
                                revision,
                                parent,
                                file,
                            })),
                        }
                    }
                    other => findings.push(Finding::Chain(other)),
                }
            }
            // The branches are worth telling about in the same build: the heads of what does
            // form a graph once the orphans (and their descendants) and copies are left out.
            if let Some(heads) = heads_of_the_sound_part(&revisions) {
                findings.push(Finding::MultipleHeads { heads });
            }
        }
    }
    findings
}

/// The heads, when several, of `revisions` without duplicates' copies and without the
/// revisions whose ancestry leaves the set; `None` when that part has one head or is itself
/// broken (a cycle).
fn heads_of_the_sound_part(revisions: &[Revision<'_>]) -> Option<Vec<(String, String)>> {
    let mut seen = std::collections::HashSet::new();
    let mut sound: Vec<Revision<'_>> = revisions.iter().filter(|r| seen.insert(r.id)).copied().collect();
    loop {
        let ids: std::collections::HashSet<&str> = sound.iter().map(|r| r.id).collect();
        let before = sound.len();
        sound.retain(|r| r.parents.iter().all(|p| ids.contains(p)));
        if sound.len() == before {
            break;
        }
    }
    let graph = Graph::new(&sound).ok()?;
    let heads = graph.heads();
    (heads.len() > 1).then(|| {
        heads.iter().map(|id| (id.to_string(), graph.source_of(id).unwrap_or_default().to_string())).collect()
    })
}

/// The generated `mod` declarations, one per file, with absolute `#[path]`s.
pub fn module_list(headers: &[Header]) -> String {
    let mut out = String::from("// @generated by strata::build from the versions folder. Do not edit.\n");
    for h in headers {
        let name = module_name(&h.file_name);
        out.push_str(&format!("#[path = {:?}]\nmod {name};\n", h.path.display().to_string()));
    }
    out
}

/// The generated `EXPECTED_REVISIONS` constant the runner compares with what is registered.
pub fn expected_revisions(headers: &[Header]) -> String {
    let mut out = String::from("// @generated by strata::build. Do not edit.\n/// Every revision the build script saw.\npub const EXPECTED_REVISIONS: &[&str] = &[\n");
    for rev in headers.iter().filter_map(|h| h.revision.as_deref()) {
        out.push_str(&format!("    {rev:?},\n"));
    }
    out.push_str("];\n");
    out
}

/// The file [`migrations`] writes and [`include_migrations!`](crate::include_migrations)
/// includes.
pub const MIGRATIONS_FILE: &str = "strata_migrations.rs";

/// The generated body of a migrations crate: a module per migration file, the revisions the
/// build saw, and `pub fn migrations()`, the one call a consumer makes, which lists every
/// file's migration static (so the linker keeps them all) and checks them as one chain.
///
/// The file modules are spread over [`GROUPS`] group modules by a hash of the file name
/// ([`group_of`]), each group's files declared inside its list's initialiser: rustc puts the
/// code of an item nested in a non-module item in the codegen unit of the module above it,
/// so each group is one unit (plus one for its generic code) and adding a migration
/// recompiles its group's units only (each group is one line, so that no other group's
/// spans move). One module per unit would cost far more in a clean
/// build; fewer modules than units are never merged, and the default 256 units hold the 32
/// groups. A file with tests ([`Header::has_tests`]) is declared in its group module
/// instead, where the test harness finds it (its code is a unit of its own).
pub fn migrations_module(headers: &[Header]) -> String {
    let mut out = String::from(
        "// @generated by strata::build from the versions folder. Do not edit.\n\
         #[doc(hidden)]\n#[allow(non_snake_case)]\nmod versions {\n",
    );
    let mut groups: Vec<Vec<&Header>> = vec![Vec::new(); GROUPS];
    for h in headers {
        groups[group_of(&h.file_name)].push(h);
    }
    let used: Vec<usize> = (0..GROUPS).filter(|&g| !groups[g].is_empty()).collect();
    for (index, group) in groups.iter().enumerate() {
        // One line a group, an empty one for a group without files: a file added to one group
        // moves no other group's spans, so in a build with debug info (cargo's default dev
        // profile) the code of the other groups, whose line numbers would otherwise shift, is
        // not compiled again.
        if group.is_empty() {
            out.push('\n');
            continue;
        }
        out.push_str(&format!("    pub(super) mod g{index:02} {{"));
        for h in group.iter().filter(|h| h.has_tests) {
            out.push_str(&format!(
                " #[path = {:?}] mod {};",
                h.path.display().to_string(),
                module_name(&h.file_name)
            ));
        }
        // The braces hold the plain files' modules (none when every file has tests).
        out.push_str(" #[allow(unused_braces)] pub(crate) static MIGRATIONS: &[&::strata::Migration] = {");
        for h in group.iter().filter(|h| !h.has_tests) {
            out.push_str(&format!(
                " #[path = {:?}] mod {};",
                h.path.display().to_string(),
                module_name(&h.file_name)
            ));
        }
        out.push_str(" &[");
        for h in group {
            out.push_str(&format!(" &{}::__STRATA_ONE_MIGRATION_PER_MODULE,", module_name(&h.file_name)));
        }
        out.push_str(" ] }; }\n");
    }
    out.push_str("}\n\n/// Every revision the build script saw in the versions folder.\n");
    out.push_str("pub const EXPECTED_REVISIONS: &[&str] = &[\n");
    for rev in headers.iter().filter_map(|h| h.revision.as_deref()) {
        out.push_str(&format!("    {rev:?},\n"));
    }
    out.push_str(
        "];\n\n\
         /// Every migration of this crate, as a checked set: exactly the files the build saw,\n\
         /// forming one chain.\n\
         pub fn migrations() -> ::core::result::Result<::strata::MigrationSet, ::strata::RegistryError> {\n    \
             ::strata::MigrationSet::__from_files_in_order(\n        &[\n",
    );
    for &index in &used {
        out.push_str(&format!("            versions::g{index:02}::MIGRATIONS,\n"));
    }
    // Here, not in the groups: adding a file changes this function only.
    out.push_str("        ],\n        &[");
    let listed: Vec<&Header> = used.iter().flat_map(|&g| groups[g].iter().copied()).collect();
    for (k, i) in canonical_order(&listed).into_iter().enumerate() {
        out.push_str(if k % 16 == 0 { "\n            " } else { " " });
        out.push_str(&format!("{i},"));
    }
    out.push_str("\n        ],\n    )\n}\n");
    out
}

/// The files' indices in the order [`crate::MigrationSet`] puts migrations before it builds
/// the graph: by creation time, then revision id, then file. The set checks it and sorts
/// only when it is not that order.
fn canonical_order(listed: &[&Header]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..listed.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (listed[a], listed[b]);
        (x.created.as_deref(), x.revision.as_deref(), &x.path).cmp(&(
            y.created.as_deref(),
            y.revision.as_deref(),
            &y.path,
        ))
    });
    order
}

/// How many groups [`migrations_module`] spreads the migration modules over.
pub const GROUPS: usize = 32;

/// The group of a migration file: a hash of its name, so that adding or removing a file
/// leaves every other file in its group.
pub fn group_of(file_name: &str) -> usize {
    // FNV-1a, 64 bits: stable across builds and platforms (std's hasher is not promised to be).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in file_name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % GROUPS as u64) as usize
}

/// The whole build script of a migrations crate, in one call: checks the chain in
/// `versions_dir` (relative to the crate) and writes [`MIGRATIONS_FILE`] for
/// [`include_migrations!`](crate::include_migrations).
///
/// Checking in the build means a broken chain (two heads after a merge, a deleted parent, a
/// file renamed away from its revision) fails `cargo build` with the files named, instead of
/// failing a deploy. The folder is read without running code, and cargo reruns the script
/// only when a file in it changes.
///
/// In the migrations crate's `build.rs`, as the body of `fn main` (with strata in both
/// `[dependencies]` and `[build-dependencies]`):
///
/// ```no_run
/// strata::build::migrations("src/versions");
/// ```
pub fn migrations(versions_dir: impl Into<PathBuf>) {
    BuildScript::new(versions_dir).migrations_module(MIGRATIONS_FILE).run();
}

/// The build-script adapter: scans, checks, writes the outputs and speaks cargo's protocol.
#[derive(Debug, Clone)]
pub struct BuildScript {
    versions_dir: PathBuf,
    module_list: Option<String>,
    expected: Option<String>,
    migrations_module: Option<String>,
}

impl BuildScript {
    /// `versions_dir` relative to the package being built (CARGO_MANIFEST_DIR) or absolute.
    pub fn new(versions_dir: impl Into<PathBuf>) -> Self {
        BuildScript {
            versions_dir: versions_dir.into(),
            module_list: None,
            expected: None,
            migrations_module: None,
        }
    }
    /// Writes [`migrations_module`] (modules, expected revisions, `migrations()`) to
    /// `OUT_DIR/<file>`.
    pub fn migrations_module(mut self, file: impl Into<String>) -> Self {
        self.migrations_module = Some(file.into());
        self
    }
    /// Writes the module list to `OUT_DIR/<file>` (include it with `include!`).
    pub fn module_list(mut self, file: impl Into<String>) -> Self {
        self.module_list = Some(file.into());
        self
    }
    /// Writes `EXPECTED_REVISIONS` to `OUT_DIR/<file>`.
    pub fn expected_revisions(mut self, file: impl Into<String>) -> Self {
        self.expected = Some(file.into());
        self
    }

    /// Runs the whole build step. Chain problems are reported with `cargo::error=`, which fails
    /// the build; an unreadable folder panics with the reason (build scripts have no better
    /// channel).
    pub fn run(self) {
        let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
        let dir = base.join(&self.versions_dir);
        println!("cargo::rerun-if-changed={}", dir.display());
        let headers = match scan(&dir) {
            Ok(h) => h,
            Err(e) => {
                println!("cargo::error=strata: cannot read the migrations folder {}: {e}", dir.display());
                return;
            }
        };
        let findings = check(&headers);
        for finding in &findings {
            println!("cargo::error=strata migration chain: {}", one_line(&finding.to_string()));
        }
        if !findings.is_empty() {
            println!(
                "cargo::error=strata: {} problem(s) in {}; fix them and rebuild",
                findings.len(),
                dir.display()
            );
            return;
        }
        if self.migrations_module.is_some() {
            // The generated `migrations()` names every file's migration, so `migration!` skips
            // inventory in this crate (see `__submit_migration!`).
            println!("cargo::rustc-check-cfg=cfg(strata_glue)");
            println!("cargo::rustc-cfg=strata_glue");
        }
        let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
        let outputs = [
            (self.module_list.as_deref(), module_list(&headers)),
            (self.expected.as_deref(), expected_revisions(&headers)),
            (self.migrations_module.as_deref(), migrations_module(&headers)),
        ];
        for (name, text) in outputs {
            if let Some(name) = name {
                let path = out_dir.join(name);
                if let Err(e) = write_if_changed(&path, &text) {
                    println!("cargo::error=strata: cannot write {}: {e}", path.display());
                }
            }
        }
    }
}

fn one_line(text: &str) -> String {
    text.replace('\n', " ")
}

/// Leaves an unchanged output untouched so that rustc's incremental cache stays warm.
fn write_if_changed(path: &Path, text: &str) -> io::Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    fs::write(path, text)
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.file_name, self.revision.as_deref().unwrap_or("?"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(file: &str, text: &str) -> Header {
        parse_header(Path::new(file), text)
    }

    fn migration(rev: &str, parent: &str) -> String {
        format!(
            "use strata::prelude::*;\n// revision: \"commented\"\nmigration! {{\n    revision: \"{rev}\",\n    parent: {parent},\n    \
             message: \"add \\\"things\\\", {{braces}}\",\n    created: \"2026-11-24T09:30:00Z\",\n    \
             upgrade: |op| {{ op.execute(\"SELECT '}}'\"); let message: &str = \"x\"; }},\n    downgrade: |op| {{ op.execute(r#\"SELECT \"}}\"\"#); }},\n}}\n"
        )
    }

    #[test]
    fn reads_a_header_without_running_code() {
        let h = header("rabc_add_things.rs", &migration("abc", "Some(\"p1\")"));
        assert_eq!(h.revision.as_deref(), Some("abc"));
        assert_eq!(h.parents, Parents::One("p1".into()));
        let text = migration("abc", "Some(\"p1\")");
        assert_eq!(&text[h.parent_span.clone().unwrap()], "\"p1\"", "the literal's bytes");
        assert_eq!(h.message.as_deref(), Some("add \"things\", {braces}"));
        assert!(h.has_upgrade && h.has_downgrade && !h.no_macro);
        let root = header("rabc.rs", &migration("abc", "None"));
        assert_eq!(root.parents, Parents::Root);
        assert_eq!(root.parent_span, None);
    }

    #[test]
    fn a_good_chain_has_no_findings() {
        let hs = [
            header("ra1.rs", &migration("a1", "None")),
            header("rb2_next.rs", &migration("b2", "Some(\"a1\")")),
        ];
        assert_eq!(check(&hs), vec![]);
        let list = module_list(&hs);
        assert!(list.contains("mod ra1;") && list.contains("mod rb2_next;"));
        assert!(expected_revisions(&hs).contains("\"a1\",\n    \"b2\""));
    }

    #[test]
    fn every_header_problem_is_found_and_names_the_file() {
        let no_down = migration("c3", "Some(\"a1\")").replace("downgrade:", "// gone:");
        let hs = [
            header("ra1.rs", &migration("a1", "None")),
            header("rwrong.rs", &migration("b2", "Some(\"a1\")")),
            header("rc3.rs", &no_down),
            header("rd4.rs", "fn main() {}"),
            header("re5.rs", &migration("e5", "Some(parent())")),
            header("rf6.rs", &migration("f6", "Some(\"a1\")").replace("2026-11-24T09:30:00Z", "yesterday")),
            header("rg7.rs", &migration("g 7", "None")),
        ];
        let text: Vec<String> = check(&hs).iter().map(ToString::to_string).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(has("rwrong.rs: the file name does not match its revision b2"), "{text:#?}");
        assert!(has("rc3.rs: revision c3 declares no downgrade function"), "{text:#?}");
        assert!(has("rd4.rs: no `migration! { ... }` declaration found"), "{text:#?}");
        assert!(has("re5.rs: `parent:` is not a plain string literal"), "{text:#?}");
        assert!(has("rf6.rs: created \"yesterday\" is not an RFC 3339 timestamp"), "{text:#?}");
        assert!(has("rg7.rs: revision \"g 7\" must be 1 to 64"), "{text:#?}");
        assert!(has("more than one head"), "{text:#?}");
    }

    #[test]
    fn chain_problems_name_files() {
        let hs = [
            header("ra1.rs", &migration("a1", "None")),
            header("ra1_copy.rs", &migration("a1", "None")),
            header("rb2.rs", &migration("b2", "Some(\"zz\")")),
        ];
        let text: Vec<String> = check(&hs).iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.contains("duplicate revision a1: declared in ra1.rs, ra1_copy.rs")),
            "{text:#?}"
        );
        assert!(text.iter().any(|t| t.contains("revision b2 (rb2.rs) names parent zz")), "{text:#?}");
        // Each problem once: the copy is not also a second root.
        assert_eq!(text.len(), 2, "{text:#?}");
    }

    #[test]
    fn a_header_problem_is_not_reported_again_as_a_chain_problem() {
        let hs = [
            header("ra1.rs", &migration("a1", "None")),
            header("rb2.rs", &migration("b2", "Some(\"a1\")").replace("parent:", "// parent:")),
            header("rc3.rs", &migration("c3", "Some(\"b2\")")),
            header("rd4.rs", &migration("d4", "Some(parent())")),
            header("re5.rs", &migration("e5", "Some(\"d4\")")),
        ];
        let text: Vec<String> = check(&hs).iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "rb2.rs: the migration does not declare `parent:`",
                "rd4.rs: `parent:` is not a plain string literal or Some(\"...\")/None",
            ],
            "no second root, no orphaned children"
        );
    }

    #[test]
    fn time_prefixed_file_names_are_checked_like_the_others() {
        let hs = [
            header("20261201_2230_ra1_first.rs", &migration("a1", "None")),
            header("20261201_2231_rb2.rs", &migration("b2", "Some(\"a1\")")),
            header("rc3_old_style.rs", &migration("c3", "Some(\"b2\")")),
        ];
        assert_eq!(check(&hs), vec![]);
        let list = module_list(&hs);
        assert!(list.contains("mod m20261201_2230_ra1_first;"), "{list}");
        assert!(list.contains("mod m20261201_2231_rb2;") && list.contains("mod rc3_old_style;"), "{list}");
        assert!(migrations_module(&hs).contains(" mod m20261201_2230_ra1_first;"));
        // The revision in the name must still be the header's.
        for wrong in [
            "20261201_2230_rzz_first.rs",
            "20261201_223_ra1_first.rs",
            "2026120_2230_ra1.rs",
            "20261201_2230_a1.rs",
            "20261201_2230ra1.rs",
        ] {
            let found = check(&[header(wrong, &migration("a1", "None"))]);
            assert!(matches!(found.as_slice(), [Finding::FileName { .. }]), "{wrong}: {found:?}");
            let text = found[0].to_string();
            assert!(
                text.contains(
                    "expected ra1_<slug>.rs, or with the creation time first, <YYYYMMDD_HHMM>_ra1_<slug>.rs"
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn files_are_grouped_by_a_stable_hash_of_their_name() {
        // The groups must not change between builds or versions: a file that moved group
        // would recompile two groups' units after an upgrade of strata.
        assert_eq!(group_of("ra1_first.rs"), group_of("ra1_first.rs"));
        assert_eq!([group_of(""), group_of("ra1_first.rs")], [5, 23]);
        let hs: Vec<Header> = (0..200)
            .map(|i| {
                let parent = if i == 0 { "None".to_string() } else { format!("Some(\"a{}\")", i - 1) };
                header(&format!("ra{i}.rs"), &migration(&format!("a{i}"), &parent))
            })
            .collect();
        assert_eq!(check(&hs), vec![]);
        let glue = migrations_module(&hs);
        // Every file declared once and listed once, every group with files listed once.
        for h in &hs {
            let name = module_name(&h.file_name);
            assert_eq!(glue.matches(&format!("mod {name};")).count(), 1, "{name}");
            assert_eq!(
                glue.matches(&format!("&{name}::__STRATA_ONE_MIGRATION_PER_MODULE,")).count(),
                1,
                "{name}"
            );
        }
        for g in 0..GROUPS {
            let files = hs.iter().filter(|h| group_of(&h.file_name) == g).count();
            assert_eq!(
                glue.matches(&format!("versions::g{g:02}::MIGRATIONS,")).count(),
                usize::from(files > 0)
            );
        }
        // Adding a file changes its own group's line only: every other group keeps its line
        // number and its text, so none of its spans moves.
        let mut more = hs.clone();
        more.push(header("ra200.rs", &migration("a200", "Some(\"a199\")")));
        let group = |text: &str, g: usize| {
            text.lines()
                .enumerate()
                .find(|(_, l)| l.contains(&format!("mod g{g:02} {{")))
                .map(|(n, l)| (n, l.to_string()))
        };
        let added = group_of("ra200.rs");
        let after = migrations_module(&more);
        for g in (0..GROUPS).filter(|g| glue.contains(&format!("mod g{g:02} {{"))) {
            assert_eq!(group(&glue, g) == group(&after, g), g != added, "group {g}");
            assert_eq!(group(&glue, g).map(|(n, _)| n), group(&after, g).map(|(n, _)| n), "group {g}");
        }
    }

    /// The order the generated `migrations()` gives is the set's canonical one: by creation
    /// time, then revision id, whatever the files' names and groups.
    #[test]
    fn the_generated_order_is_by_creation_time_then_revision() {
        let at = |file: &str, rev: &str, parent: &str, created: &str| {
            header(file, &migration(rev, parent).replace("2026-11-24T09:30:00Z", created))
        };
        let hs = [
            at("rz_first.rs", "c1", "None", "2026-01-01T00:00:00Z"),
            at("ra_third.rs", "b3", "Some(\"a2\")", "2026-01-03T00:00:00Z"),
            at("rm_second.rs", "a2", "Some(\"c1\")", "2026-01-02T00:00:00Z"),
            at("rb_tie.rs", "a3", "Some(\"a2\")", "2026-01-03T00:00:00Z"),
        ];
        let refs: Vec<&Header> = hs.iter().collect();
        let revisions: Vec<&str> =
            canonical_order(&refs).into_iter().filter_map(|i| hs[i].revision.as_deref()).collect();
        assert_eq!(revisions, ["c1", "a2", "a3", "b3"]);
        assert!(migrations_module(&hs).contains("::strata::MigrationSet::__from_files_in_order("));
    }

    #[test]
    fn a_file_with_tests_is_a_module_the_test_harness_finds() {
        let plain = migration("a1", "None");
        let tested = format!("{plain}\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn it() {{}}\n}}\n");
        assert!(!header("ra1.rs", &plain).has_tests);
        assert!(header("ra1.rs", &tested).has_tests);
        for attribute in
            ["#[test]", "#[tokio::test]", "#![cfg(test)]", "#[cfg(all(test, unix))]", "#[rstest]"]
        {
            assert!(header("ra1.rs", &format!("{plain}{attribute}\nfn f() {{}}\n")).has_tests, "{attribute}");
        }
        for not_an_attribute in ["// #[test]\n", "const T: &str = \"#[test]\";\n", "fn test() {}\n"] {
            assert!(!header("ra1.rs", &format!("{plain}{not_an_attribute}")).has_tests, "{not_an_attribute}");
        }
        let hs = [header("ra1.rs", &plain), header("rb2.rs", &tested.replace("\"a1\"", "\"b2\""))];
        let glue = migrations_module(&hs);
        // The tested file straight in its group module, the other in the list's block.
        let line =
            |name: &str| glue.lines().find(|l| l.contains(&format!(" mod {name};"))).unwrap().to_string();
        let (tested_line, plain_line) = (line("rb2"), line("ra1"));
        let opening = "pub(crate) static MIGRATIONS: &[&::strata::Migration] = {";
        assert!(tested_line.find(" mod rb2;") < tested_line.find(opening), "{tested_line}");
        assert!(plain_line.find(" mod ra1;") > plain_line.find(opening), "{plain_line}");
        assert!(
            glue.contains("&ra1::__STRATA_ONE_MIGRATION_PER_MODULE,")
                && glue.contains("&rb2::__STRATA_ONE_MIGRATION_PER_MODULE,"),
            "{glue}"
        );
    }

    #[test]
    fn scans_a_folder_in_name_order() {
        let dir = std::env::temp_dir().join(format!("strata-scan-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("rb2.rs"), migration("b2", "Some(\"a1\")")).unwrap();
        fs::write(dir.join("ra1.rs"), migration("a1", "None")).unwrap();
        fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let hs = scan(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(hs.iter().map(|h| h.file_name.as_str()).collect::<Vec<_>>(), ["ra1.rs", "rb2.rs"]);
    }

    /// A migration whose `parent: None` line is replaced by `field` (e.g. a `parents:` list).
    fn with(rev: &str, field: &str) -> String {
        migration(rev, "None").replace("parent: None,", field)
    }

    fn texts(headers: &[Header]) -> Vec<String> {
        check(headers).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_merge_revision_parses_and_passes() {
        let merge = with("m4", "parents: [\"b2\", r#\"c3\"#,],\n    replaces: [],");
        let h = header("rm4_merge.rs", &merge);
        assert_eq!(h.parents, Parents::Many(vec!["b2".into(), "c3".into()]));
        assert_eq!(h.parent_ids(), Some(vec!["b2", "c3"]));
        assert_eq!(
            (h.parent_span.clone(), h.replaces.is_empty(), h.replaces_unreadable),
            (None, true, false)
        );
        let hs = [
            header("ra1.rs", &migration("a1", "None")),
            header("rb2.rs", &migration("b2", "Some(\"a1\")")),
            header("rc3.rs", &migration("c3", "Some(\"a1\")")),
            h,
        ];
        assert_eq!(check(&hs), vec![]);
    }

    #[test]
    fn two_heads_are_a_finding_that_gives_the_commands_that_join_them() {
        let hs = [
            header("ra1.rs", &migration("a1", "None")),
            header("rb2_mine.rs", &migration("b2", "Some(\"a1\")")),
            header("rc3_theirs.rs", &migration("c3", "Some(\"a1\")")),
        ];
        let found = check(&hs);
        let [Finding::MultipleHeads { heads }] = found.as_slice() else { panic!("{found:?}") };
        assert_eq!(heads, &[("b2".into(), "rb2_mine.rs".into()), ("c3".into(), "rc3_theirs.rs".into())]);
        let text = found[0].to_string();
        for needle in [
            "more than one head: b2 (rb2_mine.rs), c3 (rc3_theirs.rs)",
            "`strata merge -m \"merge b2 and c3\"` writes a merge revision",
            "`strata rebase c3 --onto b2` re-parents a branch",
            "`strata heads` lists the heads",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        // Three heads: one merge, or two rebases in turn.
        let mut three = hs.to_vec();
        three.push(header("rd4.rs", &migration("d4", "Some(\"a1\")")));
        let text = texts(&three).join("\n");
        assert!(text.contains("`strata merge -m \"merge b2, c3 and d4\"`"), "{text}");
        assert!(text.contains("`strata rebase c3 --onto b2` then `strata rebase d4 --onto c3`"), "{text}");
    }

    #[test]
    fn parents_fields_that_do_not_make_a_merge_are_findings() {
        let hs = [
            header("ra1.rs", &migration("a1", "None")),
            header("rb2.rs", &migration("b2", "Some(\"a1\")")),
            header("rc3.rs", &with("c3", "parent: Some(\"a1\"),\n    parents: [\"a1\", \"b2\"],")),
            header("rd4.rs", &with("d4", "parents: [],")),
            header("re5.rs", &with("e5", "parents: [\"b2\"],")),
            header("rf6.rs", &with("f6", "parents: [\"e5\", \"b2\", \"e5\"],")),
            header("rg7.rs", &with("g7", "parents: [\"f6\", other()],")),
            header("rh8.rs", &migration("h8", "Some(\"c3\")")),
            header("ri9.rs", &migration("i9", "Some(\"d4\")")),
            header("rj0.rs", &migration("j0", "Some(\"g7\")")),
        ];
        assert_eq!(
            texts(&hs),
            [
                "rc3.rs: the migration declares both `parent:` and `parents:`: keep `parents: [\"a\", \"b\"]` for \
                 a merge revision (two or more parents), or `parent:` alone for one parent or the root",
                "rd4.rs: `parents: []` names no revision: a merge revision has two or more parents; the root \
                 writes `parent: None`",
                "re5.rs: `parents: [\"b2\"]` names one revision: a merge revision has two or more parents; for \
                 one parent write `parent: Some(\"b2\")`",
                "rf6.rs: revision f6 lists parent e5 twice in `parents:`; name each parent once",
                "rg7.rs: `parents:` is not a list of string literals such as [\"a1b2\", \"c3d4\"]",
            ],
            "each once; the children of c3, d4 and g7 are no orphans, d4 no second root, e5 and f6 placed"
        );
    }

    #[test]
    fn squash_checkpoints_start_the_history_and_replace_their_revisions() {
        let checkpoint =
            |parent: &str| with("c0", &format!("parent: {parent},\n    replaces: [\"r1\", \"r2\"],"));
        let good =
            [header("rc0.rs", &checkpoint("None")), header("rd1.rs", &migration("d1", "Some(\"c0\")"))];
        assert_eq!(good[0].replaces, ["r1", "r2"]);
        assert_eq!(check(&good), vec![]);

        let bad = [
            header("rc0.rs", &checkpoint("Some(\"r1\")")),
            header("rr1.rs", &migration("r1", "None")),
            header("rd1.rs", &migration("d1", "Some(\"r2\")")),
            header("re1.rs", &with("e1", "parent: Some(\"d1\"),\n    replaces: [r1],")),
        ];
        assert_eq!(
            texts(&bad),
            [
                "rc0.rs: revision c0 replaces other revisions (a squash checkpoint), so it starts the history: \
                 write `parent: None`",
                "rr1.rs: revision r1 is replaced by the squash checkpoint c0 (rc0.rs) but is still declared \
                 here: delete rr1.rs (the checkpoint holds its work), or take r1 out of the checkpoint's \
                 `replaces:`",
                "re1.rs: `replaces:` is not a list of string literals such as [\"r1\", \"r2\"]",
                "rd1.rs: revision d1 names parent r2, which the squash checkpoint c0 (rc0.rs) replaces: write \
                 `parent: Some(\"c0\")`",
            ],
            "r1 is left out of the graph, so c0 following it is no orphan, nor is the graph rootless"
        );
    }

    #[test]
    fn the_parent_span_is_the_literal_even_after_multibyte_text() {
        let text = migration("abc", "Some( r\"p1\" )").replace("use strata", "// é ü 日本\nuse strata");
        let h = header("rabc.rs", &text);
        assert_eq!(&text[h.parent_span.clone().unwrap()], "r\"p1\"");
        assert!(matches!(h.parents, Parents::One(ref p) if p == "p1"));
    }
}
