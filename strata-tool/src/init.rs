//! `strata init`: turns a cargo project (a single package or a workspace root) into one that
//! migrates with strata. It scaffolds the migrations crate (with a first migration and the
//! models that match it), adds it and `strata` (feature `cli`) to the application's
//! `Cargo.toml`, replaces cargo's hello-world `src/main.rs` with strata's command line, and
//! writes `strata.toml` and a round-trip test. Where cargo reads profiles from the manifest
//! (a workspace root or a package of its own), it builds the migrations crate without debug
//! info, which makes the rebuild after a new migration faster.
//!
//! Everything is checked before anything is written: a bad input writes nothing. Files are
//! written under temporary names and renamed into place (the migrations crate is built in a
//! temporary folder renamed in one step), so an interrupted run leaves no half-written file.
//! A file that exists is never overwritten; a second run changes nothing and says so.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use strata::scaffold::{self, Template};
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

/// Where the scaffolded manifests get `strata` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrataSource {
    /// A local checkout's `framework/` folder (`--strata-path`).
    Path(PathBuf),
    /// A version requirement on the registry (`--strata-version`).
    Version(String),
}

impl StrataSource {
    /// The default: the `framework/` folder this tool was built from when it is still there
    /// (a tool installed from a checkout), else this tool's own version.
    pub fn default_for_this_tool() -> Self {
        let checkout = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../framework"));
        match checkout.join("Cargo.toml").is_file() {
            true => StrataSource::Path(checkout.to_path_buf()),
            false => StrataSource::Version(env!("CARGO_PKG_VERSION").to_string()),
        }
    }
}

/// What `strata init` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cargo project's root folder (it holds the `Cargo.toml`).
    pub project: PathBuf,
    /// The migrations crate's name, also its folder (default `<package>-migrations`).
    pub name: Option<String>,
    /// Where `strata` comes from.
    pub strata: StrataSource,
}

/// Why init refused; nothing was written.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// The folder has no `Cargo.toml`, or one with neither `[package]` nor `[workspace]`.
    NotCargoProject(PathBuf),
    /// A `Cargo.toml` that is not valid TOML.
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// `--name` is not a valid crate name.
    BadName {
        /// The name.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// The project already has a migrations crate other than the one init would create.
    OtherMigrationsCrate {
        /// Its folder.
        path: PathBuf,
        /// Its package name.
        name: String,
    },
    /// A folder of the chosen name exists and is not a strata migrations crate of that name.
    FolderNotOurs(PathBuf),
    /// `--strata-path` is not strata's `framework/` folder.
    BadStrataPath(PathBuf),
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The first migration could not be written.
    Scaffold(scaffold::ScaffoldError),
}

impl InitError {
    /// The process exit code: 2 for bad input (usage), 1 for a failure to read or write.
    pub fn exit_code(&self) -> u8 {
        match self {
            InitError::Io { .. } | InitError::Scaffold(_) => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::NotCargoProject(dir) => write!(
                f,
                "{} is not a cargo project (no Cargo.toml with a [package] or [workspace]): run \
                 `cargo new NAME` first, or pass --path to the project's folder",
                dir.display()
            ),
            InitError::BadManifest { path, message } => {
                write!(f, "{} is not valid TOML: {}", path.display(), message.trim_end())
            }
            InitError::BadName { name, why } => {
                write!(f, "{name:?} cannot be the migrations crate's name: {why}")
            }
            InitError::OtherMigrationsCrate { path, name } => write!(
                f,
                "this project already has a migrations crate, {name} in {} (its build script calls \
                 strata::build::migrations): run `strata init --name {name}` to complete its set-up, \
                 or keep using it as it is",
                path.display()
            ),
            InitError::FolderNotOurs(path) => write!(
                f,
                "{} exists and is not a strata migrations crate of that name: choose another with --name",
                path.display()
            ),
            InitError::BadStrataPath(path) => write!(
                f,
                "{} is not strata's framework/ folder (no Cargo.toml of a package named strata)",
                path.display()
            ),
            InitError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            InitError::Scaffold(e) => write!(f, "the first migration: {e}"),
        }
    }
}

impl std::error::Error for InitError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> InitError + '_ {
    move |source| InitError::Io { path: path.to_path_buf(), source }
}

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written by this run.
    Created,
    /// An existing file this run edited (`Cargo.toml`) or replaced (cargo's hello world).
    Updated,
    /// Already there; left as it was.
    Exists,
}

/// One line of the report: a path relative to the project, what happened, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The path, relative to the project root.
    pub path: PathBuf,
    /// What happened to it.
    pub outcome: Outcome,
    /// A few words on what it is or what changed.
    pub note: String,
}

/// What init did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every path init looked after, in the order it handled them.
    pub steps: Vec<Step>,
    /// The migrations crate's name.
    pub crate_name: String,
    /// Lines the user adds by hand (init never edits a `src/main.rs` that is not cargo's
    /// hello world), or `None` when the application already runs strata's commands.
    pub to_add: Option<String>,
    /// The command to run next.
    pub next: String,
}

impl Report {
    /// Whether this run wrote anything.
    pub fn changed(&self) -> bool {
        self.steps.iter().any(|s| s.outcome != Outcome::Exists)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            let state = match step.outcome {
                Outcome::Created => "created",
                Outcome::Updated => "updated",
                Outcome::Exists => "exists ",
            };
            writeln!(f, "{state}  {}  ({})", step.path.display(), step.note)?;
        }
        if !self.changed() {
            writeln!(f, "nothing to do: this project is already set up for strata (nothing written)")?;
        }
        if let Some(lines) = &self.to_add {
            writeln!(f, "\n{lines}")?;
        }
        write!(f, "\nnext: {}", self.next)
    }
}

/// Whether `name` can be a crate's name: `None` when it can, else why not.
pub fn crate_name_problem(name: &str) -> Option<String> {
    const RESERVED: [&str; 8] = ["strata", "std", "core", "alloc", "proc_macro", "test", "self", "crate"];
    const KEYWORDS: [&str; 38] = [
        "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
        "yield", "gen",
    ];
    let first = name.chars().next()?;
    let why = if name.len() > 64 {
        "longer than 64 characters".to_string()
    } else if !first.is_ascii_alphabetic() {
        "it must start with an ASCII letter".to_string()
    } else if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        format!("{c:?} is not allowed (ASCII letters, digits, - and _ only)")
    } else if KEYWORDS.contains(&name) || RESERVED.contains(&name.replace('-', "_").as_str()) {
        "it is a Rust keyword or a reserved crate name".to_string()
    } else {
        return None;
    };
    Some(why)
}

fn check_name(name: &str) -> Result<(), InitError> {
    let why = match name {
        "" => Some("it is empty".to_string()),
        _ => crate_name_problem(name),
    };
    match why {
        Some(why) => Err(InitError::BadName { name: name.to_string(), why }),
        None => Ok(()),
    }
}

fn read_manifest(path: &Path) -> Result<DocumentMut, InitError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    text.parse::<DocumentMut>()
        .map_err(|e| InitError::BadManifest { path: path.to_path_buf(), message: e.to_string() })
}

/// The package name in a manifest, if it is a `[package]`.
fn package_name(doc: &DocumentMut) -> Option<String> {
    doc.get("package")?.get("name")?.as_str().map(str::to_string)
}

/// Whether `dir` holds a migrations crate: a build script that calls strata's
/// `build::migrations`. Returns its package name.
fn migrations_crate(dir: &Path) -> Option<String> {
    let build = fs::read_to_string(dir.join("build.rs")).ok()?;
    if !build.contains("build::migrations") {
        return None;
    }
    let doc = read_manifest(&dir.join("Cargo.toml")).ok()?;
    package_name(&doc)
}

/// Every folder the project's manifest points at: path dependencies (and the workspace's) and
/// workspace members (a trailing `/*` expanded).
fn linked_folders(root: &Path, doc: &DocumentMut) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut paths_in = |table: Option<&Item>| {
        let Some(table) = table.and_then(Item::as_table_like) else { return };
        for (_, dep) in table.iter() {
            if let Some(path) = dep.get("path").and_then(Item::as_str) {
                dirs.push(root.join(path));
            }
        }
    };
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        paths_in(doc.get(key));
    }
    if let Some(workspace) = doc.get("workspace") {
        paths_in(workspace.get("dependencies"));
        let members = workspace.get("members").and_then(Item::as_array).into_iter().flatten();
        for member in members.filter_map(Value::as_str) {
            match member.strip_suffix("/*") {
                Some(parent) => {
                    let entries = fs::read_dir(root.join(parent)).into_iter().flatten().flatten();
                    dirs.extend(entries.map(|e| e.path()).filter(|p| p.is_dir()));
                }
                None => dirs.push(root.join(member)),
            }
        }
    }
    dirs
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `strata = ...` for a manifest: a path or a version, with `features` and, for the
/// migrations crate, no default features (no database driver in a build script).
fn strata_dependency(source: &StrataSource, features: &[&str], default_features: bool) -> InlineTable {
    let mut dep = InlineTable::new();
    match source {
        StrataSource::Path(path) => dep.insert("path", path.display().to_string().into()),
        StrataSource::Version(version) => dep.insert("version", version.as_str().into()),
    };
    if !default_features {
        dep.insert("default-features", false.into());
    }
    if !features.is_empty() {
        dep.insert("features", Value::Array(features.iter().copied().collect()));
    }
    dep
}

/// Why the migrations crate is built without debug info: the comment init writes above the
/// profile (docs/adopting.md measures it).
const PROFILE_COMMENT: &str =
    "# From strata init: the migrations crate is declarative code, nothing to step\n\
     # through; without debug info it builds, and the application links, faster.\n";

/// Adds `[profile.dev.package.<name>] debug = 0` to a root manifest: a new migration then
/// rebuilds and relinks faster (docs/adopting.md measures it). Changes nothing and returns
/// false when the manifest already has a profile for the crate (the user's choice stands) or
/// writes `profile`, `profile.dev` or its `package` other than as `[...]` tables.
fn add_build_profile(doc: &mut DocumentMut, name: &str) -> bool {
    fn table<'a>(parent: &'a mut Table, key: &str) -> Option<&'a mut Table> {
        parent
            .entry(key)
            .or_insert_with(|| {
                let mut table = Table::new();
                table.set_implicit(true);
                Item::Table(table)
            })
            .as_table_mut()
    }
    let Some(packages) = table(doc.as_table_mut(), "profile")
        .and_then(|profile| table(profile, "dev"))
        .and_then(|dev| table(dev, "package"))
    else {
        return false;
    };
    if packages.contains_key(name) {
        return false;
    }
    let mut profile = Table::new();
    profile.insert("debug", toml_edit::value(0));
    profile.decor_mut().set_prefix(format!("\n{PROFILE_COMMENT}"));
    packages.insert(name, Item::Table(profile));
    true
}

/// Whether cargo reads profiles from this manifest: a workspace root, or a package with no
/// workspace above it (cargo ignores, with a warning, the profiles of a workspace member). A
/// `[workspace]` in any folder above counts as the package's workspace.
/// `Err` names the workspace's manifest, when it is in a folder above.
fn profiles_read_here(root: &Path, doc: &DocumentMut) -> Result<(), Option<PathBuf>> {
    if doc.get("workspace").is_some() {
        return Ok(());
    }
    if doc.get("package").and_then(|p| p.get("workspace")).is_some() {
        return Err(None);
    }
    for dir in root.ancestors().skip(1) {
        let manifest = dir.join("Cargo.toml");
        let has_workspace = fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| text.parse::<DocumentMut>().ok())
            .is_some_and(|d| d.get("workspace").is_some());
        if has_workspace {
            return Err(Some(manifest));
        }
    }
    Ok(())
}

/// A TOML basic string literal.
fn toml_string(s: &str) -> String {
    Value::from(s).to_string().trim().to_string()
}

fn is_hello_world(main: &str) -> bool {
    let squeezed: String = main.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed == "fnmain(){println!(\"Hello,world!\");}"
}

/// A new file: written under a temporary name, then linked into place only if nothing is
/// there (so it is never overwritten and never half-written). False when it existed.
fn write_new(path: &Path, text: &str) -> Result<bool, InitError> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let tmp = temp_name(path);
    fs::write(&tmp, text).map_err(io_err(&tmp))?;
    let linked = fs::hard_link(&tmp, path);
    let result = match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links: rename, still never over an existing file.
        Err(_) if !path.exists() => fs::rename(&tmp, path).map(|()| true).map_err(io_err(path)),
        Err(e) => Err(io_err(path)(e)),
    };
    let _ = fs::remove_file(&tmp);
    result
}

/// An edit of an existing file: the new text under a temporary name, renamed over it.
fn replace(path: &Path, text: &str) -> Result<(), InitError> {
    let tmp = temp_name(path);
    fs::write(&tmp, text).map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(path)(e)
    })
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.strata-init-{}.tmp", std::process::id()))
}

/// The files of a new migrations crate, relative to its folder.
fn crate_files(name: &str, app: &str, strata: &StrataSource) -> Vec<(&'static str, String)> {
    let dep = strata_dependency(strata, &[], false).to_string();
    let manifest = format!(
        "[package]\n\
         name = {}\n\
         version = \"0.1.0\"\n\
         edition = \"2021\"\n\
         publish = false\n\
         description = {}\n\
         \n\
         [dependencies]\n\
         strata = {dep}\n\
         \n\
         # The build script checks the revision chain and declares one module per migration.\n\
         [build-dependencies]\n\
         strata = {dep}\n",
        toml_string(name),
        toml_string(&format!("{app}'s database migrations, one Rust module per revision in src/versions/")),
    );
    let build =
        "//! Checks the revision chain of `src/versions/` at compile time and declares a module per\n\
                 //! migration file.\n\
                 fn main() {\n    strata::build::migrations(\"src/versions\");\n}\n";
    let lib = format!(
        "//! {app}'s migrations: one Rust module per revision in `src/versions/` (the build script\n\
         //! declares them and checks the chain), and the schema they build in [`models`].\n\
         //! The application calls `migrations()`.\n\
         \n\
         pub mod models;\n\
         \n\
         strata::include_migrations!();\n"
    );
    let models = "//! The schema the application expects at head. `cargo run -- check` compares it with the\n\
        //! migrations; after changing it, `cargo run -- create \"what changed\" --auto` writes the\n\
        //! migration that gets there.\n\
        \n\
        use strata::models::Models;\n\
        use strata::prelude::*;\n\
        \n\
        /// The tables the application expects.\n\
        pub fn models() -> Models {\n    \
            Models::new().table(\n        \
                Table::new(\"widgets\")\n            \
                    .column(Column::new(\"id\", Type::BigInt).autoincrement())\n            \
                    .column(Column::new(\"name\", Type::String(200)))\n            \
                    .column(Column::new(\"created_at\", Type::TimestampTz).default_sql(\"CURRENT_TIMESTAMP\")),\n    \
            )\n\
        }\n"
    .to_string();
    vec![
        ("Cargo.toml", manifest),
        ("build.rs", build.to_string()),
        ("src/lib.rs", lib),
        ("src/models.rs", models),
    ]
}

/// The message of the first migration, written from the `add_table` template.
pub const FIRST_MIGRATION: &str = "create widgets table";

/// The application's `src/main.rs`: strata's command line on the migrations crate.
fn main_rs(app: &str, name: &str) -> String {
    let ident = name.replace('-', "_");
    format!(
        "//! {app}'s command line: strata's migration commands on the migrations in `{name}/`\n\
         //! (`cargo run -- upgrade`, `create`, `history`, ...; `cargo run -- --help` lists them).\n\
         \n\
         fn main() -> std::process::ExitCode {{\n    \
             strata::cli::App::new({ident}::migrations)\n        \
                 .models({ident}::models::models())\n        \
                 .versions_dir(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{name}/src/versions\"))\n        \
                 .run()\n\
         }}\n"
    )
}

/// The round-trip test the application gets in `tests/migrations.rs`.
fn round_trip_test(name: &str) -> String {
    let ident = name.replace('-', "_");
    format!(
        "//! Every migration upgrades, downgrades and upgrades again on a throwaway database, the\n\
         //! schema compared at each step (strata's round trip): on SQLite always, and on PostgreSQL\n\
         //! when TEST_DATABASE_URL names a server where databases may be created (as in CI).\n\
         \n\
         use strata::ops::DialectKind;\n\
         \n\
         #[test]\n\
         fn migrations_round_trip_on_sqlite() {{\n    \
             let migrations = {ident}::migrations().expect(\"every migration is registered\");\n    \
             strata::testing::RoundTrip::new(migrations, DialectKind::Sqlite).run();\n\
         }}\n\
         \n\
         #[test]\n\
         fn migrations_round_trip_on_postgres() {{\n    \
             if std::env::var_os(strata::testkit::TEST_DATABASE_URL).is_none() {{\n        \
                 eprintln!(\"TEST_DATABASE_URL is not set: the PostgreSQL round trip did not run\");\n        \
                 return;\n    \
             }}\n    \
             let migrations = {ident}::migrations().expect(\"every migration is registered\");\n    \
             strata::testing::RoundTrip::new(migrations, DialectKind::Postgres).run();\n\
         }}\n"
    )
}

/// The lines to add by hand when `src/main.rs` is the user's own.
fn lines_to_add(name: &str, intro: &str) -> String {
    let ident = name.replace('-', "_");
    format!(
        "{intro} strata's commands with a `migrate` binary, src/bin/migrate.rs:\n\n    \
         fn main() -> std::process::ExitCode {{\n        \
             strata::cli::App::new({ident}::migrations)\n            \
                 .models({ident}::models::models())\n            \
                 .run()\n    \
         }}\n\n\
         or nest them under your own clap command line with `strata::cli::DbArgs` and \
         `App::run_args` (a `db` subcommand)."
    )
}

/// Runs `strata init`: checks everything, then writes what is missing.
pub fn init(options: &Options) -> Result<Report, InitError> {
    let root =
        options.project.canonicalize().map_err(|_| InitError::NotCargoProject(options.project.clone()))?;
    let manifest_path = root.join("Cargo.toml");
    if !manifest_path.is_file() {
        return Err(InitError::NotCargoProject(root));
    }
    let mut doc = read_manifest(&manifest_path)?;
    let package = package_name(&doc);
    let is_workspace = doc.get("workspace").is_some();
    if package.is_none() && !is_workspace {
        return Err(InitError::NotCargoProject(root));
    }
    let app = package.clone().unwrap_or_else(|| {
        root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "app".into())
    });
    let name = match &options.name {
        Some(name) => name.clone(),
        None => format!("{app}-migrations"),
    };
    check_name(&name)?;
    if package.as_deref() == Some(name.as_str()) {
        return Err(InitError::BadName { name, why: "it is the application's own name".into() });
    }
    let strata = match &options.strata {
        StrataSource::Path(path) => {
            let path = path.canonicalize().map_err(|_| InitError::BadStrataPath(path.clone()))?;
            let is_strata = read_manifest(&path.join("Cargo.toml"))
                .ok()
                .and_then(|d| package_name(&d))
                .is_some_and(|n| n == "strata");
            if !is_strata {
                return Err(InitError::BadStrataPath(path));
            }
            StrataSource::Path(path)
        }
        version => version.clone(),
    };

    // The migrations crate: new, ours already, or a conflict.
    let crate_dir = root.join(&name);
    for dir in linked_folders(&root, &doc) {
        if same_dir(&dir, &crate_dir) {
            continue;
        }
        if let Some(other) = migrations_crate(&dir) {
            return Err(InitError::OtherMigrationsCrate { path: dir, name: other });
        }
    }
    let crate_exists = crate_dir.exists();
    if crate_exists && migrations_crate(&crate_dir).as_deref() != Some(name.as_str()) {
        return Err(InitError::FolderNotOurs(crate_dir));
    }

    // The manifest's edits, made in memory now and written last.
    let mut added = Vec::new();
    if let Some(workspace) = doc.get_mut("workspace").and_then(Item::as_table_like_mut) {
        let members = workspace.entry("members").or_insert(Item::Value(Value::Array(Default::default())));
        if let Some(members) = members.as_array_mut() {
            let listed = members.iter().filter_map(Value::as_str).any(|m| {
                let m = m.trim_start_matches("./").trim_end_matches('/');
                m == name || m == "*"
            });
            if !listed {
                members.push(name.as_str());
                added.push(format!("workspace member {name}"));
            }
        }
    }
    if package.is_some() {
        let deps = doc.entry("dependencies").or_insert(Item::Table(Table::new()));
        if let Some(deps) = deps.as_table_like_mut() {
            if !deps.contains_key(&name) {
                let mut dep = InlineTable::new();
                dep.insert("path", name.as_str().into());
                deps.insert(&name, Item::Value(Value::InlineTable(dep)));
                added.push(format!("dependency {name}"));
            }
            if !deps.contains_key("strata") {
                let dep = strata_dependency(&strata, &["cli"], true);
                deps.insert("strata", Item::Value(Value::InlineTable(dep)));
                added.push("dependency strata (feature cli)".into());
            }
        }
        let dev = doc.entry("dev-dependencies").or_insert(Item::Table(Table::new()));
        if let Some(dev) = dev.as_table_like_mut() {
            if !dev.contains_key("strata") {
                let dep = strata_dependency(&strata, &["testkit"], true);
                dev.insert("strata", Item::Value(Value::InlineTable(dep)));
                added.push("dev-dependency strata (feature testkit)".into());
            }
        }
    }
    let profile_elsewhere = match profiles_read_here(&root, &doc) {
        Ok(()) => {
            if add_build_profile(&mut doc, &name) {
                added.push(format!("[profile.dev.package.{name}] debug = 0"));
            }
            None
        }
        Err(workspace) => Some(workspace),
    };
    let main_path = root.join("src/main.rs");
    let main_text = fs::read_to_string(&main_path).ok();
    let replace_main = package.is_some() && main_text.as_deref().is_some_and(is_hello_world);
    let main_runs_strata = main_text.as_deref().is_some_and(|t| t.contains("strata::cli"));

    // Everything is checked: write, the crate first and the manifest that names it last.
    let mut steps = Vec::new();
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).to_path_buf();
    if crate_exists {
        steps.push(Step {
            path: PathBuf::from(format!("{name}/")),
            outcome: Outcome::Exists,
            note: "the migrations crate".into(),
        });
    } else {
        let first = write_crate(&root, &crate_dir, &name, &app, &strata)?;
        for (file, note) in first {
            steps.push(Step { path: rel(&file), outcome: Outcome::Created, note });
        }
    }
    let versions_dir = format!("{name}/src/versions");
    let config = format!(
        "# strata's settings: where `create` and `template` write, and the bookkeeping tables.\n\
         # Per-environment settings go in [environments.staging] / [environments.prod] sections.\n\
         versions_dir = {}\n\
         version_table = \"strata_version\"\n\
         history_table = \"strata_history\"\n",
        toml_string(&versions_dir)
    );
    let mut new_files = vec![(root.join("strata.toml"), config, "versions folder and version tables")];
    if package.is_some() {
        new_files.push((root.join("tests/migrations.rs"), round_trip_test(&name), "a round-trip test"));
    }
    for (path, text, note) in new_files {
        let outcome = if write_new(&path, &text)? { Outcome::Created } else { Outcome::Exists };
        steps.push(Step { path: rel(&path), outcome, note: note.into() });
    }
    if replace_main {
        replace(&main_path, &main_rs(&app, &name))?;
        steps.push(Step {
            path: rel(&main_path),
            outcome: Outcome::Updated,
            note: "cargo's hello world replaced by strata's command line".into(),
        });
    } else if main_text.is_some() {
        let note = match main_runs_strata {
            true => "runs strata's command line",
            false => "yours: left alone",
        };
        steps.push(Step { path: rel(&main_path), outcome: Outcome::Exists, note: note.into() });
    }
    if added.is_empty() {
        let note = match package {
            Some(_) => format!("already depends on {name} and strata"),
            None => format!("{name} is already a workspace member"),
        };
        steps.push(Step { path: "Cargo.toml".into(), outcome: Outcome::Exists, note });
    } else {
        replace(&manifest_path, &doc.to_string())?;
        steps.push(Step { path: "Cargo.toml".into(), outcome: Outcome::Updated, note: added.join(", ") });
    }
    if let Some(workspace) = profile_elsewhere {
        let path = workspace.as_deref().map_or_else(|| PathBuf::from("the workspace's Cargo.toml"), rel);
        steps.push(Step {
            path,
            outcome: Outcome::Exists,
            note: format!(
                "the workspace root, not edited: cargo reads profiles only there; add \
                 [profile.dev.package.{name}] with debug = 0 for faster builds (docs/adopting.md)"
            ),
        });
    }

    let (to_add, next) = if package.is_none() {
        let lines = format!(
            "this workspace has no root package: in the application's Cargo.toml add\n\n    \
             {name} = {{ path = \"../{name}\" }}\n    \
             strata = {}\n\n{}",
            strata_dependency(&strata, &["cli"], true),
            lines_to_add(&name, "and add"),
        );
        (Some(lines), "cargo run -p <your application> --bin migrate -- upgrade".to_string())
    } else if replace_main || main_runs_strata {
        (None, "cargo run -- upgrade".to_string())
    } else {
        let intro = match main_text {
            Some(_) => "src/main.rs is yours, so init left it alone: add",
            None => "there is no src/main.rs: add",
        };
        (Some(lines_to_add(&name, intro)), "cargo run --bin migrate -- upgrade".to_string())
    };
    Ok(Report { steps, crate_name: name, to_add, next })
}

/// Writes the migrations crate in a temporary folder beside it, with the first migration from
/// the `add_table` template, then renames the folder into place. Returns the files with notes.
fn write_crate(
    root: &Path,
    crate_dir: &Path,
    name: &str,
    app: &str,
    strata: &StrataSource,
) -> Result<Vec<(PathBuf, String)>, InitError> {
    let staging = root.join(format!(".{name}.strata-init-{}", std::process::id()));
    let result = (|| {
        let versions = staging.join("src/versions");
        fs::create_dir_all(&versions).map_err(io_err(&versions))?;
        let mut files = Vec::new();
        for (file, text) in crate_files(name, app, strata) {
            let path = staging.join(file);
            fs::write(&path, text).map_err(io_err(&path))?;
            let note = match file {
                "Cargo.toml" => "the migrations crate, strata as dependency and build-dependency",
                "build.rs" => "checks the revision chain at build time",
                "src/lib.rs" => "strata::include_migrations!() and pub mod models",
                _ => "the models, matching the first migration",
            };
            files.push((crate_dir.join(file), note.to_string()));
        }
        let first = scaffold::create_migration(&versions, FIRST_MIGRATION, Template::AddTable)
            .map_err(InitError::Scaffold)?;
        let file_name = first.path.file_name().map(PathBuf::from).unwrap_or_default();
        files.push((
            crate_dir.join("src/versions").join(file_name),
            format!("the first migration, {}: {FIRST_MIGRATION}", first.revision),
        ));
        if crate_dir.exists() {
            return Err(InitError::FolderNotOurs(crate_dir.to_path_buf()));
        }
        fs::rename(&staging, crate_dir).map_err(io_err(crate_dir))?;
        Ok(files)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names() {
        for good in ["myapp-migrations", "migrations", "a_b-c9"] {
            assert_eq!(crate_name_problem(good), None, "{good}");
        }
        for bad in ["9lives", "-x", "my app", "ünï", "fn", "strata", "../x", "a.b", &"x".repeat(65)] {
            assert!(crate_name_problem(bad).is_some(), "{bad}");
        }
    }

    fn with_profile(manifest: &str) -> (bool, String) {
        let mut doc: DocumentMut = manifest.parse().unwrap();
        let added = add_build_profile(&mut doc, "shop-migrations");
        (added, doc.to_string())
    }

    #[test]
    fn the_migrations_crate_gets_a_profile_without_debug_info() {
        let package = "[package]\nname = \"shop\"\n\n[dependencies]\nserde = \"1\"\n";
        let (added, text) = with_profile(package);
        assert!(added);
        assert_eq!(
            text,
            format!("{package}\n{PROFILE_COMMENT}[profile.dev.package.shop-migrations]\ndebug = 0\n")
        );
        // Beside the user's own profiles, which stay as they were.
        let tuned = "[package]\nname = \"shop\"\n\n[profile.dev]\nopt-level = 1 # ours\n\n[profile.release]\nlto = true\n";
        let (added, text) = with_profile(tuned);
        assert!(added);
        // Placed under `[profile.dev]`, the user's lines and comments as they were.
        assert_eq!(
            text,
            tuned.replace(
                "# ours\n",
                &format!("# ours\n\n{PROFILE_COMMENT}[profile.dev.package.shop-migrations]\ndebug = 0\n")
            )
        );
        let reparsed: DocumentMut = text.parse().unwrap();
        assert_eq!(reparsed["profile"]["dev"]["opt-level"].as_integer(), Some(1));
        assert_eq!(reparsed["profile"]["dev"]["package"]["shop-migrations"]["debug"].as_integer(), Some(0));
    }

    #[test]
    fn a_profile_the_user_wrote_is_left_alone() {
        for manifest in [
            // The crate's own profile, whatever it says.
            "[package]\nname = \"shop\"\n[profile.dev.package.shop-migrations]\ndebug = 2\n",
            // Shapes init does not edit: an inline table, a dotted key, a value.
            "[package]\nname = \"shop\"\n[profile]\ndev = { opt-level = 1 }\n",
            "[package]\nname = \"shop\"\n[profile.dev]\npackage = { serde = { debug = 0 } }\n",
            "profile = 1\n[package]\nname = \"shop\"\n",
        ] {
            let (added, text) = with_profile(manifest);
            assert!(!added, "{manifest}");
            assert_eq!(text, manifest);
        }
    }

    #[test]
    fn profiles_are_written_only_where_cargo_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let doc = |text: &str| text.parse::<DocumentMut>().unwrap();
        let app = tmp.path().join("shop");
        fs::create_dir_all(&app).unwrap();
        let package = doc("[package]\nname = \"shop\"\n");
        assert_eq!(profiles_read_here(&app, &package), Ok(()));
        assert_eq!(
            profiles_read_here(&app, &doc("[package]\nname = \"shop\"\nworkspace = \"..\"\n")),
            Err(None)
        );
        // A workspace in a folder above: the package is its member.
        fs::write(tmp.path().join("Cargo.toml"), "[workspace]\nmembers = [\"shop\"]\n").unwrap();
        assert_eq!(profiles_read_here(&app, &package), Err(Some(tmp.path().join("Cargo.toml"))));
        // A workspace root reads its own, whatever is above it.
        assert_eq!(profiles_read_here(&app, &doc("[workspace]\nmembers = []\n")), Ok(()));
    }

    #[test]
    fn hello_world_is_recognised() {
        assert!(is_hello_world("fn main() {\n    println!(\"Hello, world!\");\n}\n"));
        assert!(!is_hello_world("fn main() {\n    println!(\"Hello, world!\");\n    serve();\n}\n"));
    }
}
