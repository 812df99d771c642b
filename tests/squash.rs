//! `squash --to REV` on a copy of the example application's versions folder: the checkpoint's
//! upgrade builds the schema the replaced migrations built (introspected, on every engine),
//! the command line writes and refuses as documented, and (once the DAG core lands) the
//! squashed project compiles, records exactly the generated ops and keeps every database at
//! or past REV working.

mod common;

use common::fixture::{build_dir, cargo_build, compiled_checksums, fixture, repo};
use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use strata::backend::{Backend, BackendError};
use strata::graph::Target;
use strata::migration::MigrationSet;
use strata::ops::DialectKind;
use strata::runner::Runner;
use strata::scratch::{Scratch, SqliteMemory};
use strata::squash::{self, DatabaseVersion, Request};

const BIN: &str = env!("CARGO_BIN_EXE_strata-example");
/// The last revision before the first data op of the example history (eda71479153d).
const REV: &str = "da51e7982e60";
/// The squashed range, in ancestry order.
const RANGE: [&str; 5] = ["8298645ff74b", "eae66c76ec57", "ddcb1ae961ad", "766dfe9292c9", REV];

fn app_set() -> MigrationSet {
    app_migrations::migrations().expect("registry")
}

/// A copy of the example's versions folder in a temporary folder (never the source tree).
fn versions_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_versions(dir.path());
    dir
}

fn copy_versions(to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(repo().join("app-migrations/src/versions")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Fresh test databases of one engine as scratch databases; they live as long as this value.
struct TestScratch {
    kind: DialectKind,
    databases: Vec<TestDatabase>,
}

impl Scratch for TestScratch {
    fn open(&mut self) -> Result<Box<dyn Backend>, BackendError> {
        let db = fresh_database(self.kind);
        let conn = strata::backend::connect(&db.url)?;
        self.databases.push(db);
        Ok(conn)
    }
}

/// The schema the original migrations build at REV on a fresh `kind` database.
fn replayed_schema(kind: DialectKind) -> strata::schema::Schema {
    let (_db, mut conn) = open(kind);
    Runner::new(app_set()).upgrade(conn.as_mut(), &Target::Revision(REV.into())).expect("replay");
    schema(conn.as_mut())
}

#[test]
fn the_checkpoint_upgrade_builds_the_schema_the_replaced_migrations_built() {
    let set = app_set();
    let mut scratches: Vec<(&str, Box<dyn Scratch>)> = vec![("sqlite in memory", Box::new(SqliteMemory))];
    for kind in engines() {
        scratches.push(("test database", Box::new(TestScratch { kind, databases: Vec::new() })));
    }
    for (what, mut scratch) in scratches {
        let versions = versions_copy();
        let squash = squash::prepare(
            &set,
            versions.path(),
            &Request { to: "da51", message: None, database: None },
            scratch.as_mut(),
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        let checkpoint = &squash.checkpoint;
        assert_eq!(checkpoint.replaces, RANGE, "{what}");
        assert_eq!(squash.range.children, ["eda71479153d"], "{what}");
        // Wherever it was generated, the checkpoint builds what the range builds, on every engine.
        for kind in engines() {
            let (_db, mut conn) = open(kind);
            strata::runner::apply_ops(conn.as_mut(), "checkpoint", checkpoint.upgrade.clone())
                .unwrap_or_else(|e| panic!("{what} on {kind}: {e}\n{}", checkpoint.source));
            let built = schema(conn.as_mut());
            let replayed = replayed_schema(kind);
            assert_eq!(
                built,
                replayed,
                "{what} on {kind}:\n{}\n{}",
                strata::testing::schema_diff(&replayed, &built),
                checkpoint.source
            );
            strata::runner::apply_ops(conn.as_mut(), "checkpoint", checkpoint.downgrade.clone()).unwrap();
            assert!(
                schema(conn.as_mut()).tables.is_empty(),
                "{what} on {kind}: the downgrade drops everything"
            );
        }
        let written = squash.write().unwrap();
        assert_eq!(written.removed.len(), 5);
        let headers = strata::build::scan(versions.path()).unwrap();
        assert_eq!(headers.len(), 11 - 5 + 1, "{what}");
        assert_eq!(strata::build::check(&headers), vec![], "{what}: one chain from the checkpoint");
        let child = headers.iter().find(|h| h.revision.as_deref() == Some("eda71479153d")).unwrap();
        assert_eq!(child.parent_ids(), Some(vec![checkpoint.header.revision.as_str()]), "{what}");
        // The child's bytes differ only in that token.
        let before =
            fs::read_to_string(repo().join("app-migrations/src/versions/reda71479153d_post_slugs.rs"))
                .unwrap();
        let after = fs::read_to_string(&child.path).unwrap();
        assert_eq!(
            after,
            before.replace(&format!("Some(\"{REV}\")"), &format!("Some(\"{}\")", checkpoint.header.revision))
        );
    }
}

#[test]
fn the_configured_database_between_base_and_rev_is_refused_and_one_past_it_is_not() {
    let set = app_set();
    let versions = versions_copy();
    let before = snapshot(versions.path());
    let request = |row: Option<&str>| Request {
        to: REV,
        message: Some("schema as of the first release"),
        database: Some(DatabaseVersion::from_row("app.db", row)),
    };
    let err = squash::prepare(&set, versions.path(), &request(Some("ddcb1ae961ad")), &mut SqliteMemory)
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "stands between base and da51e7982e60; upgrade it to da51e7982e60 or later first, then squash"
        ),
        "{err}"
    );
    assert_eq!(snapshot(versions.path()), before);
    let past =
        squash::prepare(&set, versions.path(), &request(Some("4c9379593903")), &mut SqliteMemory).unwrap();
    assert_eq!(past.checkpoint.header.message, "schema as of the first release");
}

/// Runs the example binary in `dir` with its versions folder at `versions`.
fn run(dir: &Path, versions: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("STRATA_ENV", "dev")
        .env_remove("ENV")
        .env_remove("RUST_LOG")
        .env("STRATA_VERSIONS_DIR", versions)
        .output()
        .expect("run the binary")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_command_line_squashes_and_refuses_without_writing() {
    let work = tempfile::tempdir().unwrap();
    let versions = work.path().join("versions");
    copy_versions(&versions);
    let url = format!("sqlite://{}", work.path().join("app.db").display());
    let before = snapshot(&versions);
    let refused = |args: &[&str], code: i32, words: &str| {
        let out = run(work.path(), &versions, &url, args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(words), "{args:?}: {}", text(&out));
        assert_eq!(snapshot(&versions), before, "{args:?} wrote nothing");
    };
    refused(&["squash", "--to", "da51e7982e6f"], 2, "did you mean da51e7982e60?");
    refused(&["squash", "--to", "base"], 2, "nothing before base to squash");
    refused(
        &["squash", "--to", "34400ee0d24b"],
        1,
        "eda71479153d (reda71479153d_post_slugs.rs): data \"backfill posts.slug from titles\"",
    );
    refused(
        &["squash", "--to", "eda7"],
        1,
        "Squash up to a revision before eda71479153d (its parent da51e7982e60)",
    );
    let up = run(work.path(), &versions, &url, &["upgrade", "--revision", "+2"]);
    assert!(up.status.success(), "{}", text(&up));
    refused(
        &["squash", "--to", "da51"],
        1,
        "stands between base and da51e7982e60; upgrade it to da51e7982e60 or later first",
    );
    let help = run(work.path(), &versions, &url, &["squash", "--help"]);
    assert!(text(&help).contains("a data op") && text(&help).contains("Examples:"), "{}", text(&help));

    let up = run(work.path(), &versions, &url, &["upgrade"]);
    assert!(up.status.success(), "{}", text(&up));
    let out = run(work.path(), &versions, &url, &["--format", "json", "squash", "--to", "da51"]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["target"], REV);
    assert_eq!(json["replaces"], serde_json::json!(RANGE));
    assert_eq!(json["removed"].as_array().map(Vec::len), Some(5));
    assert_eq!(json["rewritten"].as_array().map(Vec::len), Some(1));
    let names: Vec<String> = snapshot(&versions).into_keys().collect();
    assert_eq!(names.len(), 7, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with('.')), "no temporary file is left: {names:?}");
    // The database, past REV, is untouched.
    assert!(text(&run(work.path(), &versions, &url, &["current"])).starts_with("4c9379593903"));
}

/// Replaces the fixture crate's versions with a squashed copy of the example's, and gives it
/// the command line (`src/bin/cli.rs`).
fn squashed_fixture() -> (tempfile::TempDir, squash::Squash) {
    let dir = fixture(&[]);
    let versions = dir.path().join("src/versions");
    fs::remove_dir_all(&versions).unwrap();
    copy_versions(&versions);
    let squash = squash::prepare(
        &app_set(),
        &versions,
        &Request { to: REV, message: None, database: None },
        &mut SqliteMemory,
    )
    .expect("squash");
    squash.write().expect("write");
    let manifest = fs::read_to_string(dir.path().join("Cargo.toml")).unwrap().replace(
        "default-features = false }\n\n[build",
        "default-features = false, features = [\"sqlite\", \"cli\"] }\n\n[build",
    );
    fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    fs::write(
        dir.path().join("src/bin/cli.rs"),
        "fn main() -> std::process::ExitCode {\n    strata::cli::App::new(chain_fixture::migrations()).run()\n}\n",
    )
    .unwrap();
    (dir, squash)
}

/// WAITS ON THE CORE: the checkpoint's `replaces:` header needs the `migration!` macro's
/// `replaces:` field, and the squashed set needs the planner reading a database at REV as
/// the checkpoint applied and validate knowing replaced revisions.
#[test]
fn the_squashed_project_compiles_and_keeps_every_database_past_rev_working() {
    let (dir, squash) = squashed_fixture();
    let (ok, stderr) = cargo_build(dir.path());
    assert!(ok, "the squashed project must compile:\n{stderr}\n{}", squash.checkpoint.source);
    // The compiled checkpoint records exactly the ops the self-check applied.
    let compiled = compiled_checksums(dir.path());
    let expected = strata::checksum::of_plan(&squash.checkpoint.upgrade, &squash.checkpoint.downgrade);
    assert_eq!(compiled.get(&squash.checkpoint.header.revision), Some(&expected));
    let squashed = build_dir().join("debug/cli");
    let work = tempfile::tempdir().unwrap();
    let versions = dir.path().join("src/versions");
    let squashed_run = |url: &str, args: &[&str]| {
        Command::new(&squashed)
            .args(args)
            .current_dir(work.path())
            .env("DATABASE_URL", url)
            .env("STRATA_ENV", "dev")
            .env_remove("ENV")
            .env_remove("RUST_LOG")
            .env("STRATA_VERSIONS_DIR", &versions)
            .output()
            .expect("run the squashed binary")
    };
    for (name, at, refused) in
        [("past.db", "4c9379593903", false), ("at.db", REV, false), ("between.db", "eae66c76ec57", true)]
    {
        let url = format!("sqlite://{}", work.path().join(name).display());
        // The database was made by the original build.
        let up = run(work.path(), &versions, &url, &["upgrade", "--revision", at]);
        assert!(up.status.success(), "{}", text(&up));
        let tables_before = rows_of(&url);
        let validate = squashed_run(&url, &["validate"]);
        let current = squashed_run(&url, &["upgrade"]);
        if refused {
            assert!(!current.status.success(), "{name}: {}", text(&current));
            assert!(
                text(&current).contains("stands between base and da51e7982e60"),
                "{name}: {}",
                text(&current)
            );
            continue;
        }
        assert!(validate.status.success(), "{name}: {}", text(&validate));
        assert!(!text(&validate).contains("unknown revision"), "{name}: {}", text(&validate));
        assert!(current.status.success(), "{name}: {}", text(&current));
        if at != REV {
            assert_eq!(rows_of(&url), tables_before, "{name}: a database past REV is untouched");
        }
    }
    // A fresh database goes through the checkpoint, to head and back.
    let url = format!("sqlite://{}", work.path().join("fresh.db").display());
    for args in [&["upgrade"][..], &["downgrade", "--revision", "base"], &["upgrade"]] {
        let out = squashed_run(&url, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let validate = squashed_run(&url, &["validate"]);
    assert!(validate.status.success(), "{}", text(&validate));
}

/// Every table's schema text and row count in the database at `url`.
fn rows_of(url: &str) -> String {
    let mut conn = strata::backend::connect(&url.parse().unwrap()).unwrap();
    let schema = schema(conn.as_mut());
    let mut out = schema.to_string();
    for table in schema.tables.keys() {
        out.push_str(&format!(
            "{table}: {:?}\n",
            rows(conn.as_mut(), &format!("SELECT COUNT(*) FROM \"{table}\""))
        ));
    }
    out
}
