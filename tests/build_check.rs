//! End to end: a broken revision chain fails `cargo build` of a real crate, with a message
//! naming the files; the same crate with a sound chain builds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies the fixture crate into a temporary folder, plus `extra` migration files.
fn fixture(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = repo().join("tests/fixtures/chain-crate");
    copy_dir(&src, dir.path());
    let manifest = fs::read_to_string(src.join("Cargo.toml.in"))
        .expect("fixture manifest")
        .replace("@STRATA@", &repo().join("framework").display().to_string());
    fs::write(dir.path().join("Cargo.toml"), manifest).expect("write manifest");
    fs::remove_file(dir.path().join("Cargo.toml.in")).expect("remove template");
    // Same dependency versions as the workspace, and no network needed.
    fs::copy(repo().join("Cargo.lock"), dir.path().join("Cargo.lock")).expect("copy lock file");
    for (name, text) in extra {
        fs::write(dir.path().join("src/versions").join(name), text).expect("write migration");
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn cargo_build(dir: &Path) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        // A shared target folder keeps the second and later builds quick.
        .env("CARGO_TARGET_DIR", repo().join("target/fixture-builds"))
        .output()
        .expect("run cargo");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

const SECOND_HEAD: &str = r#"use strata::prelude::*;

migration! {
    revision: "0003cccc",
    parent: Some("0001aaaa"),
    message: "a branch nobody merged",
    created: "2026-11-24T09:20:00Z",
    upgrade: |op| {
        op.add_column("things", Column::new("other", Type::Text).nullable());
    },
    downgrade: |op| {
        op.drop_column("things", "other");
    },
}
"#;

#[test]
fn a_broken_chain_fails_the_build_naming_the_files() {
    let orphan =
        SECOND_HEAD.replace("0003cccc", "0004dddd").replace("Some(\"0001aaaa\")", "Some(\"ffff0000\")");
    let dir = fixture(&[("r0003cccc_branch.rs", SECOND_HEAD), ("r0004dddd_orphan.rs", &orphan)]);
    let (ok, stderr) = cargo_build(dir.path());
    assert!(!ok, "the build should fail:\n{stderr}");
    assert!(
        stderr.contains("more than one head (the chain branches): 0002bbbb (r0002bbbb_child.rs), 0003cccc (r0003cccc_branch.rs)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "revision 0004dddd (r0004dddd_orphan.rs) names parent ffff0000, which no migration declares"
        ),
        "{stderr}"
    );
}

/// Every template in `templates/`, filled in and chained after the fixture's head.
fn filled_templates() -> Vec<(String, String)> {
    let mut names: Vec<String> = fs::read_dir(repo().join("templates"))
        .expect("templates folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rs.tmpl"))
        .collect();
    names.sort();
    let mut parent = "0002bbbb".to_string();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let revision = format!("0100{i:04}");
            let text = fs::read_to_string(repo().join("templates").join(name))
                .expect("template")
                .replace("{{revision}}", &revision)
                .replace("{{parent}}", &format!("Some(\"{parent}\")"))
                .replace("{{message}}", &format!("filled from {name}"))
                .replace("{{created}}", "2026-11-24T10:00:00Z");
            parent = revision.clone();
            (format!("r{revision}_{}.rs", name.trim_end_matches(".rs.tmpl")), text)
        })
        .collect()
}

#[test]
fn a_sound_chain_builds_and_every_template_compiles_in_it() {
    let templates = filled_templates();
    assert!(templates.len() >= 5, "blank, add_column, add_index, add_table, add_foreign_key");
    let extra: Vec<(&str, &str)> = templates.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let dir = fixture(&extra);
    let (ok, stderr) = cargo_build(dir.path());
    assert!(ok, "the fixture should build:\n{stderr}");
}
