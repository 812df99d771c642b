//! The fixture crate `tests/fixtures/chain-crate`, copied into a temporary folder with extra
//! migration files and built with cargo: proves that a chain fails or passes the build, and
//! that templates and generated migrations compile.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where fixture crates are built: one folder under the cargo target directory (wherever
/// `CARGO_TARGET_DIR` puts it), shared by every fixture build so that only the first is cold.
/// Never the source tree: a read-only checkout must stay untouched.
pub fn build_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fixture-builds")
}

/// Copies the fixture crate into a temporary folder, plus `extra` migration files.
pub fn fixture(extra: &[(&str, &str)]) -> tempfile::TempDir {
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

/// `cargo build` of the copied crate: whether it succeeded, and what it printed.
pub fn cargo_build(dir: &Path) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        // A shared target folder keeps the second and later builds quick.
        .env("CARGO_TARGET_DIR", build_dir())
        .output()
        .expect("run cargo");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `cargo run --bin plan_checksums` in the copied crate: `revision checksum` per compiled
/// migration.
#[allow(dead_code)] // used by tests/autogen.rs, not by tests/build_check.rs
pub fn compiled_checksums(dir: &Path) -> std::collections::HashMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["run", "--offline", "--quiet", "--bin", "plan_checksums"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", build_dir())
        .output()
        .expect("run cargo");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(r, c)| (r.to_string(), c.to_string())))
        .collect()
}
