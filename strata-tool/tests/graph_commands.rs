//! `strata heads`, `strata merge` and `strata rebase` run as a user runs them: the built
//! binary on a temporary project whose versions folder has two branches (files that parse as
//! migration headers; they are never compiled). Every refusal is checked to leave the folder
//! byte for byte as it was.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STRATA: &str = env!("CARGO_BIN_EXE_strata");

/// A temporary project: `versions/` with root a0, "mine" b1 -> b2 and "theirs" c1.
struct Project {
    tmp: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let project = Project { tmp: tempfile::tempdir().expect("temp dir") };
        fs::create_dir(project.versions()).unwrap();
        project.migration("a0000000", &[]);
        project.migration("b1111111", &["a0000000"]);
        project.migration("b2222222", &["b1111111"]);
        project.migration("c1111111", &["a0000000"]);
        project
    }
    fn dir(&self) -> &Path {
        self.tmp.path()
    }
    fn versions(&self) -> PathBuf {
        self.dir().join("versions")
    }
    /// A migration file as the spec's header has it: `parent:` for one parent or the root,
    /// `parents: [..]` for a merge.
    fn migration(&self, revision: &str, parents: &[&str]) {
        let field = match parents {
            [] => "parent: None".to_string(),
            [one] => format!("parent: Some({one:?})"),
            more => {
                format!("parents: [{}]", more.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", "))
            }
        };
        let text = format!(
            "//! step {revision}\nuse strata::prelude::*;\n\nmigration! {{\n    revision: {revision:?},\n    \
             {field},\n    message: \"step {revision}\",\n    created: \"2026-12-01T10:00:00Z\",\n    \
             upgrade: |op| {{\n        op.execute(\"CREATE TABLE t_{revision} (id INTEGER)\");\n    }},\n    \
             downgrade: |op| {{\n        op.execute(\"DROP TABLE t_{revision}\");\n    }},\n}}\n"
        );
        fs::write(self.versions().join(format!("20261201_1000_r{revision}_step.rs")), text).unwrap();
    }
    /// Every file of the versions folder and its bytes.
    fn bytes(&self) -> BTreeMap<String, Vec<u8>> {
        fs::read_dir(self.versions())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap())
            })
            .collect()
    }
    /// `strata ARGS` in the project, with none of this test run's settings.
    fn strata(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(STRATA);
        for var in ["DATABASE_URL", "ENV", "STRATA_ENV", "STRATA_VERSIONS_DIR", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        cmd.args(args).current_dir(self.dir()).output().expect("run strata")
    }
    /// `strata ARGS --versions versions`.
    fn run(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--versions", "versions"]);
        self.strata(&all)
    }
    fn check(&self) -> Vec<String> {
        let headers = strata::build::scan(&self.versions()).unwrap();
        strata::build::check(&headers).iter().map(ToString::to_string).collect()
    }
    fn heads(&self) -> Vec<String> {
        strata::source::heads_in(&self.versions()).unwrap().into_iter().map(|h| h.revision).collect()
    }
    /// A SQLite database in the project whose version row says `version` (the spec's
    /// format: the heads, space-separated); its URL.
    fn database(&self, version: &str) -> String {
        let path = self.dir().join("applied.db");
        let url = format!("sqlite://{}", path.display());
        let mut db = strata::backend::connect(&url.parse().unwrap()).unwrap();
        db.ensure_version_tables().unwrap();
        db.execute("DELETE FROM strata_version").unwrap();
        db.execute(&format!("INSERT INTO strata_version (revision) VALUES ('{version}')")).unwrap();
        url
    }
}

fn text(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn heads_lists_both_branches_and_how_to_join_them() {
    let p = Project::new();
    let out = p.run(&["heads"]);
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        [
            "b2222222  step b2222222  (20261201_1000_rb2222222_step.rs)",
            "c1111111  step c1111111  (20261201_1000_rc1111111_step.rs)",
        ]
    );
    let err = stderr(&out);
    assert!(err.contains("`strata merge -m \"merge b2222222 and c1111111\"`"), "{err}");
    assert!(err.contains("`strata rebase c1111111 --onto b2222222`"), "{err}");
    // The build says the same.
    let findings = p.check();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(findings[0].contains("`strata rebase c1111111 --onto b2222222`"), "{findings:?}");
}

#[test]
fn merge_writes_one_merge_revision_and_the_build_check_passes() {
    let p = Project::new();
    let before = p.bytes();
    let out = p.run(&["merge"]);
    assert!(out.status.success(), "{}", text(&out));
    let after = p.bytes();
    let new: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(new.len(), 1, "one file: {new:?}");
    assert!(before.iter().all(|(k, v)| after.get(k) == Some(v)), "the others untouched");
    let text = String::from_utf8(after[new[0]].clone()).unwrap();
    assert!(text.contains("    parents: [\"b2222222\", \"c1111111\"],\n"), "{text}");
    assert!(text.contains("    message: \"merge b2222222 and c1111111\",\n"), "{text}");
    assert!(new[0].ends_with("_merge_b2222222_and_c1111111.rs"), "{new:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(parents b2222222, c1111111)"), "{stdout}");
    assert_eq!(p.check(), Vec::<String>::new());
    assert_eq!(p.heads().len(), 1);
}

#[test]
fn rebase_rewrites_one_header_and_leaves_a_linear_history() {
    let p = Project::new();
    // The database has applied mine (b1, b2): theirs (c1) moves after b2.
    let url = p.database("b2222222");
    let before = p.bytes();
    let out = p.run(&["rebase", "c1", "--onto", "b2", "--database-url", &url]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("parent a0000000 -> b2222222"), "{stdout}");
    assert!(stdout.contains("has applied none of it"), "{stdout}");
    let after = p.bytes();
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    for (name, bytes) in &before {
        if name.contains("rc1111111") {
            let expected = String::from_utf8(bytes.clone())
                .unwrap()
                .replace("parent: Some(\"a0000000\")", "parent: Some(\"b2222222\")");
            assert_eq!(String::from_utf8(after[name].clone()).unwrap(), expected, "only the literal changed");
        } else {
            assert_eq!(&after[name], bytes, "{name}");
        }
    }
    assert_eq!(p.check(), Vec::<String>::new());
    assert_eq!(p.heads(), ["c1111111"]);
    // Linear: a0 <- b1 <- b2 <- c1, every revision the parent of one other at most.
    let headers = strata::build::scan(&p.versions()).unwrap();
    let mut parents: Vec<String> =
        headers.iter().flat_map(|h| h.parent_ids().unwrap()).map(str::to_string).collect();
    parents.sort();
    assert_eq!(parents, ["a0000000", "b1111111", "b2222222"]);
}

#[test]
fn rebase_reads_the_database_the_way_the_application_does() {
    let p = Project::new();
    let url = p.database("c1111111");
    // strata.toml names the folder and the database, as the application reads them.
    fs::write(p.dir().join("strata.toml"), format!("versions_dir = \"versions\"\ndatabase_url = {url:?}\n"))
        .unwrap();
    let before = p.bytes();
    let out = p.strata(&["rebase", "c1111111", "--onto", "b2222222"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("has applied c1111111 of the branch of c1111111"), "{err}");
    assert!(err.contains("rebase the other way (`strata rebase b2222222 --onto c1111111`)"), "{err}");
    assert!(err.contains("--force rewrites anyway"), "{err}");
    assert_eq!(p.bytes(), before, "refused: nothing written");
    // The other way round is fine for that database.
    let out = p.strata(&["rebase", "b2222222", "--onto", "c1111111"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(p.check(), Vec::<String>::new());
    assert_eq!(p.heads(), ["b2222222"]);
}

#[test]
fn force_rebases_what_the_database_has_applied() {
    let p = Project::new();
    let url = p.database("c1111111");
    let out = p.run(&["rebase", "c1111111", "--onto", "b2222222", "--database-url", &url, "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not checked against a database (--force)"));
    assert_eq!(p.heads(), ["c1111111"]);
}

#[test]
fn every_refused_command_writes_nothing() {
    let p = Project::new();
    let applied_theirs = p.database("c1111111");
    // A database that names a revision no file declares.
    let stale = p.dir().join("stale.db");
    fs::copy(p.dir().join("applied.db"), &stale).unwrap();
    {
        let mut db =
            strata::backend::connect(&format!("sqlite://{}", stale.display()).parse().unwrap()).unwrap();
        db.execute("UPDATE strata_version SET revision = 'ffff0000 b2222222'").unwrap();
    }
    let stale = format!("sqlite://{}", stale.display());
    let missing = format!("sqlite://{}", p.dir().join("nope.db").display());
    let cases: Vec<(Vec<&str>, u8, &str)> = vec![
        (vec!["rebase", "c1x", "--onto", "b2"], 2, "matching \"c1x\" (did you mean c1111111?)"),
        (vec!["rebase", "c1", "--onto", "b"], 2, "\"b\" is ambiguous: it matches b1111111, b2222222"),
        (vec!["rebase", "c1", "--onto", "c1"], 1, "cannot rebase c1111111 onto itself"),
        (vec!["rebase", "c1", "--onto", "a0"], 1, "c1111111 already follows a0000000"),
        (
            vec!["rebase", "c1", "--onto", "b1"],
            1,
            "--onto b1111111 (20261201_1000_rb1111111_step.rs) is not a head",
        ),
        (vec!["rebase", "b1", "--onto", "c1", "--force"], 1, "BRANCH_HEAD b1111111"),
        // No database configured: the dev default app.db does not exist.
        (vec!["rebase", "c1", "--onto", "b2"], 1, "sqlite://app.db does not exist"),
        (vec!["rebase", "c1", "--onto", "b2", "--database-url", &missing], 1, "nope.db does not exist"),
        (vec!["rebase", "c1", "--onto", "b2", "--database-url", &applied_theirs], 1, "has applied c1111111"),
        (
            vec!["rebase", "c1", "--onto", "b2", "--database-url", &stale],
            1,
            "records revision ffff0000 as applied",
        ),
        (
            vec!["rebase", "c1", "--onto", "b2", "--env", "prod"],
            1,
            "the prod environment needs a PostgreSQL database",
        ),
        (vec!["merge", "-m", ""], 2, "the message is empty"),
    ];
    for (args, code, needle) in cases {
        let before = p.bytes();
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(i32::from(code)), "{args:?}: {}", text(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {needle:?} in {}", text(&out));
        assert_eq!(p.bytes(), before, "{args:?} wrote something");
    }
    assert!(!p.dir().join("app.db").exists(), "no database was created");
    assert!(!p.dir().join("nope.db").exists(), "no database was created");

    // Without a folder: a usage error.
    let out = p.strata(&["merge"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("no migrations folder"), "{}", text(&out));

    // After a merge there is one head: nothing to merge, nothing written.
    assert!(p.run(&["merge"]).status.success());
    let before = p.bytes();
    let out = p.run(&["merge"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("nothing to merge: the history has one head"), "{}", text(&out));
    assert_eq!(p.bytes(), before);
}

#[test]
fn a_branch_that_starts_with_a_merge_is_refused() {
    let p = Project::new();
    p.migration("d1111111", &["b2222222", "c1111111"]);
    p.migration("d2222222", &["b2222222", "c1111111"]);
    let before = p.bytes();
    let out = p.run(&["rebase", "d2", "--onto", "d1", "--force"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("starts with the merge revision d2222222"), "{}", text(&out));
    assert_eq!(p.bytes(), before);
}
