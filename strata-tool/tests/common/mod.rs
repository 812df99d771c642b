//! What the end-to-end tests share: new cargo projects made with `cargo new` and
//! `strata init`, built offline with this repo's `Cargo.lock` in one target folder under this
//! crate's target tmpdir (shared across tests and runs, so only the first build is cold).
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

pub const STRATA: &str = env!("CARGO_BIN_EXE_strata");

/// The settings of this test run that must not leak into a new project's commands.
const ENVIRONMENT: [&str; 5] = ["DATABASE_URL", "ENV", "STRATA_ENV", "STRATA_VERSIONS_DIR", "RUST_LOG"];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repo").to_path_buf()
}

pub fn framework() -> PathBuf {
    repo().join("framework")
}

/// Where every new project is built: one folder, so strata and its dependencies are compiled
/// once for all of them.
pub fn projects_target() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("projects-target")
}

/// `cmd` without this test run's settings.
pub fn clean(mut cmd: Command) -> Command {
    for var in ENVIRONMENT {
        cmd.env_remove(var);
    }
    cmd
}

pub fn cargo() -> Command {
    clean(Command::new(env!("CARGO")))
}

/// The `strata` tool, without this test run's settings.
pub fn strata() -> Command {
    clean(Command::new(STRATA))
}

pub fn text(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `cargo new NAME` in `dir`: the project's folder.
pub fn cargo_new(dir: &Path, name: &str) -> PathBuf {
    let output =
        cargo().args(["new", "--quiet", "--vcs", "none", name]).current_dir(dir).output().expect("cargo");
    assert!(output.status.success(), "cargo new: {}", text(&output));
    dir.join(name)
}

/// `strata init ARGS` in `dir` (with this checkout's framework unless ARGS name one).
pub fn strata_init(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = strata();
    cmd.arg("init").args(args).current_dir(dir);
    if !args.contains(&"--strata-path") {
        cmd.arg("--strata-path").arg(framework());
    }
    cmd.output().expect("run strata")
}

/// A new project `name` in `dir` set up by `strata init`, with this repo's `Cargo.lock` so it
/// builds offline.
pub fn new_project(dir: &Path, name: &str) -> PathBuf {
    let project = cargo_new(dir, name);
    let init = strata_init(&project, &[]);
    assert!(init.status.success(), "{}", text(&init));
    fs::copy(repo().join("Cargo.lock"), project.join("Cargo.lock")).expect("copy Cargo.lock");
    project
}

/// Every file under `dir` and its bytes (folders too, with no bytes).
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.insert(path.strip_prefix(root).unwrap().join(""), Vec::new());
                walk(root, &path, files);
            } else {
                files.insert(path.strip_prefix(root).unwrap().to_path_buf(), fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// `cargo ARGS` in the project, offline, quiet, in the shared target folder; whatever it
/// returns.
pub fn try_in_project(project: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let started = Instant::now();
    let output = cargo()
        .args([args[0], "--offline", "--quiet"])
        .args(&args[1..])
        .current_dir(project)
        .env("CARGO_TARGET_DIR", projects_target())
        .envs(envs.iter().copied())
        .output()
        .expect("run cargo");
    let name = project.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    eprintln!("{name}: cargo {} took {:.1} s", args.join(" "), started.elapsed().as_secs_f64());
    output
}

/// [`try_in_project`], which must succeed.
pub fn in_project(project: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let output = try_in_project(project, args, envs);
    assert!(output.status.success(), "cargo {}: {}", args.join(" "), text(&output));
    output
}

/// The files under `dir` that `before` did not have.
pub fn new_files(before: &BTreeMap<PathBuf, Vec<u8>>, dir: &Path) -> Vec<PathBuf> {
    tree(dir).into_keys().filter(|p| !before.contains_key(p)).map(|p| dir.join(p)).collect()
}

/// Replaces the first `from` in the file by `to`; panics when there is none.
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{} has no {from:?}:\n{text}", path.display());
    fs::write(path, text.replacen(from, to, 1)).expect("write");
}
