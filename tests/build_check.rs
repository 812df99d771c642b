//! End to end: a broken revision chain fails `cargo build` of a real crate, with a message
//! naming the files; the same crate with a sound chain builds.

// Only the fixture helpers: the rest of tests/common is about live databases.
#[path = "common/fixture.rs"]
mod fixture;

use fixture::{cargo_build, fixture, repo};
use std::fs;

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
        stderr.contains("more than one head: 0002bbbb (r0002bbbb_child.rs), 0003cccc (r0003cccc_branch.rs)"),
        "{stderr}"
    );
    // The exact command lines that join the branches, while the application cannot build.
    assert!(stderr.contains("`strata merge -m \"merge 0002bbbb and 0003cccc\"`"), "{stderr}");
    assert!(stderr.contains("`strata rebase 0003cccc --onto 0002bbbb`"), "{stderr}");
    assert!(
        stderr.contains(
            "revision 0004dddd (r0004dddd_orphan.rs) names parent ffff0000, which no migration declares"
        ),
        "{stderr}"
    );
    // Each problem once, then one summary line.
    assert_eq!(stderr.matches("more than one head").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("names parent ffff0000").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("2 problem(s) in").count(), 1, "{stderr}");
}

/// Every template in `framework/templates/`, filled in and chained after the fixture's head.
fn filled_templates() -> Vec<(String, String)> {
    let mut names: Vec<String> = fs::read_dir(repo().join("framework/templates"))
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
            let text = fs::read_to_string(repo().join("framework/templates").join(name))
                .expect("template")
                .replace("{{revision}}", &revision)
                .replace("{{parent}}", &format!("Some(\"{parent}\")"))
                .replace("{{message}}", &format!("filled from {name}"))
                .replace("{{created}}", "2026-11-24T10:00:00Z");
            parent = revision.clone();
            // Half of them named as `create` names files now, with the creation time first
            // (the generated module name must still be an identifier); the others as before.
            let prefix = if i % 2 == 0 { format!("20261124_10{i:02}_") } else { String::new() };
            (format!("{prefix}r{revision}_{}.rs", name.trim_end_matches(".rs.tmpl")), text)
        })
        .collect()
}

#[test]
fn a_sound_chain_builds_and_every_template_compiles_in_it() {
    let templates = filled_templates();
    assert!(templates.len() >= 5, "blank, add_column, add_index, add_table, add_foreign_key");
    assert!(templates.iter().any(|(n, _)| n.starts_with("20261124_1000_r")), "a prefixed file");
    let extra: Vec<(&str, &str)> = templates.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let dir = fixture(&extra);
    let (ok, stderr) = cargo_build(dir.path());
    assert!(ok, "the fixture should build:\n{stderr}");
}
