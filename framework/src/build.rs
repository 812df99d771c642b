//! What a build script calls: scan the versions folder, read each migration's header without
//! running its code, check the chain with [`crate::graph`], and write the module list and the
//! expected revision ids to `OUT_DIR`. [`check`] returns findings and prints nothing; only
//! [`BuildScript::run`], the build-script adapter, talks to cargo.

use crate::graph::{self, ChainError, Node};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What the build script read from one migration file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// The file read.
    pub path: PathBuf,
    /// The file name, as named in findings.
    pub file_name: String,
    /// The `revision:` literal, if there is one.
    pub revision: Option<String>,
    /// `None`: no `parent:` field; `Some(None)`: `parent: None`.
    pub parent: Option<Option<String>>,
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
    #[error("{file}: `{field}:` is not a plain string literal or Some(\"...\")/None")]
    Unreadable {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
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
    /// The revisions do not form one chain.
    #[error("{0}")]
    Chain(ChainError),
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
    let tokens = lex(text);
    let Some(start) = tokens.windows(3).position(|w| {
        w[0] == Token::Ident("migration".into())
            && w[1] == Token::Punct('!')
            && matches!(w[2], Token::Punct('{' | '('))
    }) else {
        header.no_macro = true;
        return header;
    };
    let mut depth = 0usize;
    let mut i = start + 2;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct('{' | '(' | '[') => depth += 1,
            Token::Punct('}' | ')' | ']') => {
                depth -= 1;
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
                    "parent" => header.parent = Some(parent_at(value)),
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

fn string_at(tokens: &[Token]) -> Option<String> {
    match tokens.first() {
        Some(Token::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// `None` → `None`; `Some("x")` → `Some("x")`; anything else → a NUL marker (unreadable).
fn parent_at(tokens: &[Token]) -> Option<String> {
    match tokens {
        [Token::Ident(none), ..] if none == "None" => None,
        [Token::Ident(some), Token::Punct('('), Token::Str(s), Token::Punct(')'), ..] if some == "Some" => {
            Some(s.clone())
        }
        _ => Some("\u{0}".into()),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

/// A small Rust lexer: enough to find `key: value` pairs at the macro's top level, skipping
/// comments, strings (raw ones included) and char literals.
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
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
            i = next;
        } else if c == 'r' && matches!(chars.get(i + 1), Some('"' | '#')) {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let open = i + 1 + hashes;
            if chars.get(open) != Some(&'"') {
                tokens.push(Token::Ident("r".into()));
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
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
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

/// Checks every header and the chain they form; returns every problem, in file order.
pub fn check(headers: &[Header]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut nodes = Vec::new();
    let mut unplaced = Vec::new();
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
            continue;
        }
        let stem = without_time_prefix(h.file_name.trim_end_matches(".rs"));
        let expected = format!("r{revision}");
        if stem != expected && !stem.strip_prefix(&expected).is_some_and(|rest| rest.starts_with('_')) {
            findings.push(Finding::FileName { file: file.clone(), revision: revision.clone() });
        }
        match &h.parent {
            None => findings.push(Finding::MissingField { file: file.clone(), field: "parent" }),
            Some(Some(p)) if p == "\u{0}" => {
                findings.push(Finding::Unreadable { file: file.clone(), field: "parent" })
            }
            _ => {}
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
        match &h.parent {
            // Already reported: a missing or unreadable parent is no second root.
            None => unplaced.push(revision.as_str()),
            Some(Some(p)) if p == "\u{0}" => unplaced.push(revision.as_str()),
            Some(parent) => nodes.push(Node { revision, parent: parent.as_deref(), source: &h.file_name }),
        }
    }
    if let Err(errors) = graph::check(&nodes) {
        // Nor are the children of a migration whose parent could not be read orphans.
        let placed = |e: &ChainError| !matches!(e, ChainError::UnknownParent { parent, .. } if unplaced.contains(&parent.as_str()));
        findings.extend(errors.into_iter().filter(placed).map(Finding::Chain));
    }
    findings
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
/// build saw, and `pub fn migrations()`, the one call a consumer makes. Calling it names the
/// crate for the linker (so its registrations are kept) and checks the registered set against
/// what the build saw.
pub fn migrations_module(headers: &[Header]) -> String {
    let mut out = String::from(
        "// @generated by strata::build from the versions folder. Do not edit.\n\
         #[doc(hidden)]\n#[allow(non_snake_case)]\nmod versions {\n",
    );
    for h in headers {
        let name = module_name(&h.file_name);
        out.push_str(&format!("    #[path = {:?}]\n    mod {name};\n", h.path.display().to_string()));
    }
    out.push_str("}\n\n/// Every revision the build script saw in the versions folder.\n");
    out.push_str("pub const EXPECTED_REVISIONS: &[&str] = &[\n");
    for rev in headers.iter().filter_map(|h| h.revision.as_deref()) {
        out.push_str(&format!("    {rev:?},\n"));
    }
    out.push_str(
        "];\n\n\
         /// Every migration of this crate, as a checked set: exactly the revisions the build saw,\n\
         /// registered in this binary, forming one chain. Calling it also keeps the linker from\n\
         /// dropping the crate's registrations.\n\
         pub fn migrations() -> ::core::result::Result<::strata::MigrationSet, ::strata::RegistryError> {\n    \
             ::strata::MigrationSet::from_registry(EXPECTED_REVISIONS, env!(\"CARGO_CRATE_NAME\"))\n\
         }\n",
    );
    out
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
        assert_eq!(h.parent, Some(Some("p1".into())));
        assert_eq!(h.message.as_deref(), Some("add \"things\", {braces}"));
        assert!(h.has_upgrade && h.has_downgrade && !h.no_macro);
        let root = header("rabc.rs", &migration("abc", "None"));
        assert_eq!(root.parent, Some(None));
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
        assert!(migrations_module(&hs).contains("    mod m20261201_2230_ra1_first;"));
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
}
