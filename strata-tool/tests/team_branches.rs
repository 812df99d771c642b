//! Two developers branch the history of one project in parallel, end to end on SQLite and
//! PostgreSQL: a project made by `strata init` whose first migration is applied; Alice adds
//! one table with `create`; Bob, on his clone, adds another from the same head a minute later
//! and applies it on his databases before Alice's file reaches him; after the git merge the
//! build fails naming the two heads and the exact `strata merge` / `strata rebase` command
//! lines; each fix is run as printed, the build passes, and databases in every partial state
//! go to head and back to base.
//!
//! ```text
//! root ── alice (accounts) ──┐
//!    └─── bob (invoices) ────┴── merge        fix 1: strata merge -m "..."
//! root ── alice ── bob                        fix 2: strata rebase bob --onto alice
//! ```
//!
//! One test, so the fixture project's builds run one after another in the shared target
//! folder (see `common`): the first migration, Bob's clone, the failing build, the merge, the
//! rebase. Every other step runs the built binary.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;
use strata::ops::DialectKind;
use strata::testkit::{fresh_database, TestDatabase};

const APP: &str = "teamapp";
/// Alice's and Bob's revisions. Bob's is created a minute after Alice's, so it comes second in
/// the graph's order (and the rebase the build suggests moves his branch, the one his
/// databases have applied), while its id sorts first: a version row holding both heads is
/// sorted, not in the graph's order.
const ALICE: &str = "c0ffee5a11ce";
const BOB: &str = "0b0bfeed1234";

/// The fixture project.
struct Project {
    dir: PathBuf,
    versions: PathBuf,
}

type Files = BTreeMap<PathBuf, Vec<u8>>;

impl Project {
    /// The application binary the last successful build left.
    fn bin(&self) -> PathBuf {
        projects_target().join("debug").join(APP)
    }

    /// `cargo build`, which must succeed.
    fn build(&self) {
        in_project(&self.dir, &["build"], &[]);
    }

    /// The application's `ARGS` in the project on `db`, which must succeed: its stdout.
    fn app(&self, db: &Db, args: &[&str]) -> String {
        let mut cmd = clean(Command::new(self.bin()));
        cmd.args(args).current_dir(&self.dir);
        if !db.default {
            cmd.env("DATABASE_URL", &db.url);
        }
        let output = cmd.output().expect("run the application");
        assert!(output.status.success(), "[{}] {APP} {}: {}", db.name, args.join(" "), text(&output));
        stdout(&output)
    }

    /// A command line as a user types it in the project, with the `strata` tool on the PATH.
    fn shell(&self, line: &str, envs: &[(&str, &str)]) -> Output {
        let tools = Path::new(STRATA).parent().expect("the tool's folder");
        let path = std::env::join_paths(
            std::iter::once(tools.to_path_buf())
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        clean(Command::new("sh"))
            .args(["-c", line])
            .current_dir(&self.dir)
            .env("PATH", path)
            .envs(envs.iter().copied())
            .output()
            .expect("run sh")
    }

    fn files(&self) -> Files {
        tree(&self.versions)
    }

    /// Puts the versions folder back as `files` had it.
    fn restore(&self, files: &Files) {
        fs::remove_dir_all(&self.versions).unwrap();
        fs::create_dir(&self.versions).unwrap();
        for (path, bytes) in files {
            match path.to_string_lossy().ends_with('/') {
                true => fs::create_dir_all(self.versions.join(path)).unwrap(),
                false => fs::write(self.versions.join(path), bytes).unwrap(),
            }
        }
    }

    /// The heads the migration files declare.
    fn heads(&self) -> Vec<String> {
        strata::source::heads_in(&self.versions).unwrap().into_iter().map(|h| h.revision).collect()
    }
}

/// A database the test follows: its URL, and the throwaway database that keeps it alive.
struct Db {
    name: String,
    url: String,
    /// Whether the application finds it in its own configuration (./app.db) rather than
    /// DATABASE_URL.
    default: bool,
    _keep: Option<TestDatabase>,
}

impl Db {
    fn fresh(kind: DialectKind, name: &str) -> Db {
        let db = fresh_database(kind);
        Db {
            name: format!("{name} ({kind})"),
            url: db.url.connection_string(),
            default: false,
            _keep: Some(db),
        }
    }

    fn connect(&self) -> Box<dyn strata::backend::Backend> {
        strata::backend::connect(&self.url.parse().expect("a database URL"))
            .unwrap_or_else(|e| panic!("[{}] connect: {e}", self.name))
    }

    /// The version row (`None` at base).
    fn version(&self) -> Option<String> {
        self.connect().current_revision().unwrap_or_else(|e| panic!("[{}] version: {e}", self.name))
    }

    /// The application's tables, sorted.
    fn tables(&self) -> Vec<String> {
        let schema =
            self.connect().introspect().unwrap_or_else(|e| panic!("[{}] introspect: {e}", self.name));
        schema.tables.into_keys().collect()
    }

    /// The version row holds `heads` (sorted, space-separated; empty: base) and the database
    /// has exactly `tables`.
    fn expect(&self, heads: &[&str], tables: &[&str], when: &str) {
        let mut sorted = heads.to_vec();
        sorted.sort();
        let version = (!sorted.is_empty()).then(|| sorted.join(" "));
        assert_eq!(self.version(), version, "[{}] {when}: the version row", self.name);
        let mut tables: Vec<String> = tables.iter().map(ToString::to_string).collect();
        tables.sort();
        assert_eq!(self.tables(), tables, "[{}] {when}: the tables", self.name);
    }
}

/// The text between `start` (included) and the next backtick.
fn quoted<'a>(text: &'a str, start: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?} in\n{text}"));
    let rest = &text[from..];
    &rest[..rest.find('`').unwrap_or_else(|| panic!("no closing backtick after {start:?} in\n{text}"))]
}

/// The value of a header field (`revision: "..."`) in a migration file.
fn field<'a>(text: &'a str, name: &str) -> &'a str {
    let start = format!("    {name}: \"");
    let line = text.lines().find(|l| l.starts_with(&start)).unwrap_or_else(|| panic!("no {name} in\n{text}"));
    line[start.len()..].trim_end_matches("\",")
}

/// The application's `--format json` output of `args`.
fn json(project: &Project, db: &Db, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend(args);
    let out = project.app(db, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("[{}] {args:?}: {e}: {out}", db.name))
}

/// The first revision and the head of the history being tested.
struct Revisions {
    root: String,
    head: String,
}

const ROOT_TABLES: &[&str] = &["widgets"];
const ALICE_TABLES: &[&str] = &["accounts", "widgets"];
const BOB_TABLES: &[&str] = &["invoices", "widgets"];
const ALL_TABLES: &[&str] = &["accounts", "invoices", "widgets"];

/// At head: `current` says so and the version row is the merge revision.
fn at_head(project: &Project, db: &Db, revs: &Revisions, when: &str) {
    db.expect(&[&revs.head], ALL_TABLES, when);
    let current = json(project, db, &["current"]);
    assert_eq!(current["is_head"], Value::Bool(true), "[{}] {when}: {current}", db.name);
    assert_eq!(current["revision"].as_str(), Some(revs.head.as_str()), "[{}] {when}: {current}", db.name);
}

fn at_base(db: &Db, when: &str) {
    db.expect(&[], &[], when);
}

/// `current --format json` agrees with the version row: "revision" is the row itself, "heads"
/// the applied heads in the graph's order (`order`).
fn current_says(project: &Project, db: &Db, order: &[&str], when: &str) {
    let current = json(project, db, &["current"]);
    assert_eq!(
        current["revision"].as_str().map(str::to_string),
        db.version(),
        "[{}] {when}: {current}",
        db.name
    );
    assert_eq!(current["heads"], serde_json::json!(order), "[{}] {when}: {current}", db.name);
}

/// On the merged history: each partial state a team meets (the first migration only, one
/// branch, the other, both without their merge), reached by upgrades from base, goes to head
/// and back to base, and straight back to base; then states reached by downgrades from head,
/// across the merge.
fn every_partial_state(project: &Project, db: &Db, revs: &Revisions) {
    let root = revs.root.as_str();
    let states: [(&str, &[&str], &[&str]); 4] = [
        ("the first migration only", &[root], ROOT_TABLES),
        ("alice's branch only", &[ALICE], ALICE_TABLES),
        ("bob's branch only", &[BOB], BOB_TABLES),
        // In the graph's order; the version row has them sorted (bob's id first).
        ("both branches, not their merge", &[ALICE, BOB], ALL_TABLES),
    ];
    for (name, heads, tables) in states {
        for via_head in [true, false] {
            for head in heads {
                project.app(db, &["upgrade", "-r", head]);
            }
            db.expect(heads, tables, name);
            current_says(project, db, heads, name);
            let pending = json(project, db, &["pending"]);
            let pending: Vec<&str> =
                pending.as_array().unwrap().iter().map(|m| m["revision"].as_str().unwrap()).collect();
            assert_eq!(pending.last(), Some(&revs.head.as_str()), "[{}] {name}: {pending:?}", db.name);
            if via_head {
                let upgrade = project.app(db, &["upgrade"]);
                assert!(upgrade.contains(&format!("{} migration(s) applied", pending.len())), "{upgrade}");
                at_head(project, db, revs, &format!("head from {name}"));
            }
            project.app(db, &["downgrade", "-r", "base"]);
            at_base(db, &format!("base from {name} (via head: {via_head})"));
        }
    }
    // Downgrades across the merge: to alice's revision keeps bob's branch applied.
    project.app(db, &["upgrade"]);
    project.app(db, &["downgrade", "-r", ALICE]);
    db.expect(&[ALICE, BOB], ALL_TABLES, "downgraded from head to alice's revision");
    current_says(project, db, &[ALICE, BOB], "downgraded from head to alice's revision");
    // One step back reverts the last applied in the graph's order: bob's.
    project.app(db, &["downgrade"]);
    db.expect(&[ALICE], ALICE_TABLES, "one step down from both branches");
    project.app(db, &["upgrade"]);
    at_head(project, db, revs, "head again from alice's branch");
    project.app(db, &["downgrade", "-r", root]);
    db.expect(&[root], ROOT_TABLES, "downgraded from head to the first migration");
    project.app(db, &["downgrade", "-r", "base"]);
    at_base(db, "base after the downgrades");
}

#[test]
fn two_branches_are_joined_by_merge_or_rebase_and_every_database_follows() {
    let started = Instant::now();
    let engines = strata::testkit::engines();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = new_project(tmp.path(), APP);
    let project = Project { versions: dir.join(format!("{APP}-migrations/src/versions")), dir };

    // 1. The first migration, applied with the application on its own database (./app.db),
    //    and on Bob's databases: a SQLite one and a PostgreSQL one.
    let upgrade = stdout(&in_project(&project.dir, &["run", "--", "upgrade"], &[]));
    assert!(
        upgrade.contains("create widgets table") && upgrade.contains("1 migration(s) applied"),
        "{upgrade}"
    );
    let [root] = <[String; 1]>::try_from(project.heads()).expect("one head");
    let app_db = Db {
        name: "app.db (sqlite)".into(),
        url: format!("sqlite://{}", project.dir.join("app.db").display()),
        default: true,
        _keep: None,
    };
    app_db.expect(&[&root], ROOT_TABLES, "the first migration");
    let bobs = engines.iter().map(|&kind| Db::fresh(kind, "bob's database")).collect::<Vec<_>>();
    for db in &bobs {
        project.app(db, &["upgrade"]);
        db.expect(&[&root], ROOT_TABLES, "the first migration");
    }
    let first = project.files();

    // 2. Alice writes her migration with the application (the folder's head is the built one).
    let created =
        project.app(&app_db, &["create", "add accounts table", "--template", "add_table", "--rev-id", ALICE]);
    let written = new_files(&first, &project.versions);
    assert_eq!(written.len(), 1, "{written:?}\n{created}");
    let alice_file = written[0].clone();
    let alice_text = fs::read_to_string(&alice_file).unwrap().replace("\"widgets\"", "\"accounts\"");
    assert!(alice_text.contains(&format!("parent: Some({root:?})")), "{alice_text}");
    let alice_name = alice_file.file_name().unwrap().to_string_lossy().into_owned();

    // 3. Bob, on his clone (without Alice's file), writes his from the same head a minute
    //    later (a copy of hers with his revision, message, table and time), and applies it:
    //    his databases have his branch before Alice's reaches him.
    project.restore(&first);
    let alice_created: chrono::DateTime<chrono::Utc> = field(&alice_text, "created").parse().unwrap();
    let bob_created = alice_created + chrono::Duration::minutes(1);
    let bob_text = alice_text.replace(ALICE, BOB).replace("accounts", "invoices").replace(
        field(&alice_text, "created"),
        &bob_created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let bob_name = strata::scaffold::file_name(bob_created, BOB, "add invoices table");
    fs::write(project.versions.join(&bob_name), &bob_text).unwrap();
    project.build();
    for db in &bobs {
        let upgrade = project.app(db, &["upgrade"]);
        assert!(
            upgrade.contains("add invoices table") && upgrade.contains("1 migration(s) applied"),
            "{upgrade}"
        );
        db.expect(&[BOB], BOB_TABLES, "bob's branch applied");
    }

    // 4. The git merge brings Alice's file: the build fails naming both heads and the
    //    commands that join them.
    fs::write(&alice_file, &alice_text).unwrap();
    let two_heads = project.files();
    let failed = try_in_project(&project.dir, &["build"], &[]);
    assert!(!failed.status.success(), "two heads must not build: {}", text(&failed));
    let err = stderr(&failed);
    assert!(err.contains("more than one head"), "{err}");
    for named in [ALICE, &alice_name, BOB, &bob_name] {
        assert!(err.contains(named), "{named:?} in\n{err}");
    }
    let merge_command = quoted(&err, "strata merge").to_string();
    let rebase_command = quoted(&err, "strata rebase").to_string();
    assert_eq!(merge_command, format!("strata merge -m \"merge {ALICE} and {BOB}\""), "{err}");
    assert_eq!(rebase_command, format!("strata rebase {BOB} --onto {ALICE}"), "{err}");

    // Bob's database has applied the branch that rebase moves: refused, nothing written,
    // until --force.
    let bobs_sqlite = &bobs[0];
    let refused = project.shell(&rebase_command, &[("DATABASE_URL", &bobs_sqlite.url)]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let why = stderr(&refused);
    assert!(
        why.contains(&format!("has applied {BOB} of the branch of {BOB}")) && why.contains("Downgrade"),
        "{why}"
    );
    assert_eq!(project.files(), two_heads, "a refused rebase wrote nothing");
    let forced = project.shell(&format!("{rebase_command} --force"), &[("DATABASE_URL", &bobs_sqlite.url)]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(stdout(&forced).contains("not checked against a database (--force)"), "{}", text(&forced));
    let rebased_files = project.files();
    assert_ne!(rebased_files, two_heads);
    bobs_sqlite.expect(&[BOB], BOB_TABLES, "a rebase only reads the database");
    project.restore(&two_heads);

    // 5. Fix 1: the merge command as printed; the build passes.
    let merged = project.shell(&merge_command, &[]);
    assert!(merged.status.success(), "{}", text(&merged));
    let [merge] = <[String; 1]>::try_from(project.heads()).expect("one head after the merge");
    let merge_file = new_files(&two_heads, &project.versions);
    assert_eq!(merge_file.len(), 1, "{merge_file:?}");
    let merge_text = fs::read_to_string(&merge_file[0]).unwrap();
    assert!(merge_text.contains(&format!("    parents: [\"{ALICE}\", \"{BOB}\"],\n")), "{merge_text}");
    project.build();
    let revs = Revisions { root: root.clone(), head: merge.clone() };
    let graph = json(&project, &app_db, &["graph"]);
    assert_eq!(graph["heads"], serde_json::json!([merge]), "{graph}");

    // Bob's databases (his branch applied, Alice's not) and the app's own (the first
    // migration) go to head: what is missing runs, the merge last.
    for db in bobs.iter().chain([&app_db]) {
        let upgrade = project.app(db, &["upgrade"]);
        assert!(upgrade.contains("add accounts table") && upgrade.contains(&merge), "{upgrade}");
        assert!(!upgrade.contains("add invoices table") || db.default, "[{}] {upgrade}", db.name);
        at_head(&project, db, &revs, "head from the partial state");
        project.app(db, &["downgrade", "-r", "base"]);
        at_base(db, "base from head");
    }
    // And fresh databases through every partial state.
    for &kind in &engines {
        let db = Db::fresh(kind, "a fresh database");
        project.app(&db, &["upgrade"]);
        at_head(&project, &db, &revs, "head from base");
        project.app(&db, &["downgrade", "-r", "base"]);
        at_base(&db, "base from head");
        every_partial_state(&project, &db, &revs);
    }

    // 6. Fix 2, from the two heads again: the rebase command as printed, checked against the
    //    application's own database (./app.db, back at the first migration), which has
    //    applied none of Bob's branch; it writes what --force wrote, the build passes, and
    //    the history is linear.
    project.restore(&two_heads);
    project.app(&app_db, &["upgrade", "-r", &root]);
    let rebased = project.shell(&rebase_command, &[]);
    assert!(rebased.status.success(), "{}", text(&rebased));
    let said = stdout(&rebased);
    assert!(said.contains("checked: sqlite://app.db has applied none of it"), "{said}");
    assert_eq!(project.files(), rebased_files, "the same rewrite as with --force");
    let bob_now = fs::read_to_string(project.versions.join(&bob_name)).unwrap();
    assert_eq!(
        bob_now,
        bob_text.replace(&format!("parent: Some({root:?})"), &format!("parent: Some({ALICE:?})"))
    );
    project.build();
    let graph = json(&project, &app_db, &["graph"]);
    let chain: Vec<(String, Vec<String>)> = graph["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let parents = r["parents"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string());
            (r["revision"].as_str().unwrap().to_string(), parents.collect())
        })
        .collect();
    let expected = vec![
        (BOB.to_string(), vec![ALICE.to_string()]),
        (ALICE.to_string(), vec![root.clone()]),
        (root.clone(), vec![]),
    ];
    assert_eq!(chain, expected, "newest first, one parent each: {graph}");
    assert_eq!(graph["heads"], serde_json::json!([BOB]), "{graph}");
    let revs = Revisions { root: root.clone(), head: BOB.to_string() };
    // The database the check read follows the rebased history from where it is.
    let upgrade = project.app(&app_db, &["upgrade"]);
    assert!(upgrade.contains("2 migration(s) applied"), "{upgrade}");
    at_head(&project, &app_db, &revs, "head on the rebased history");
    for db in engines.iter().map(|&kind| Db::fresh(kind, "a fresh database")).chain([app_db]) {
        if !db.default {
            project.app(&db, &["upgrade", "-r", ALICE]);
            db.expect(&[ALICE], ALICE_TABLES, "alice's revision, the first after root");
            project.app(&db, &["upgrade"]);
            at_head(&project, &db, &revs, "head on the rebased history");
        }
        project.app(&db, &["downgrade", "-r", "base"]);
        at_base(&db, "base on the rebased history");
        project.app(&db, &["upgrade"]);
        at_head(&project, &db, &revs, "head from base on the rebased history");
        project.app(&db, &["downgrade", "-r", "base"]);
        at_base(&db, "base again");
    }
    eprintln!("team branches: the whole test took {:.1} s", started.elapsed().as_secs_f64());
}
