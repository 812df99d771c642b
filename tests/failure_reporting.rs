//! What the binary reports when the database fails it: a disk that fills at commit, corrupt
//! version tables, applied migrations that were edited, and a rollback whose plan changed
//! while the operator read the prompt. Every report must match what the database holds.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use strata::ops::DialectKind;

const BIN: &str = env!("CARGO_BIN_EXE_strata-example");

/// Runs the binary in `dir` against `url` in environment `env`.
fn run(dir: &Path, url: &str, env: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("STRATA_ENV", env)
        .env_remove("ENV")
        .env_remove("RUST_LOG")
        .env("STRATA_VERSIONS_DIR", dir.join("migrations/src/versions"))
        .output()
        .expect("run the binary")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed ({:?}):\n{}{}", out.status.code(), stdout(&out), stderr(&out));
    stdout(&out)
}

/// A small tmpfs, unmounted on drop: the only honest way to fill a disk at commit time.
struct SmallDisk {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "this test mounts a {size} tmpfs to fill a disk and needs root (CI runs as root); mount said {status}"
        );
        SmallDisk { path, _dir: dir }
    }

    fn available_kib(&self) -> u64 {
        let out = Command::new("df").args(["-k", "--output=avail"]).arg(&self.path).output().expect("df");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().nth(1).and_then(|l| l.trim().parse().ok()).expect("df prints the free space")
    }

    /// Fills the disk until `free_kib` KiB remain.
    fn fill_to(&self, free_kib: u64) {
        let fill = self.available_kib().saturating_sub(free_kib);
        std::fs::write(self.path.join("filler"), vec![0u8; (fill * 1024) as usize]).expect("fill the disk");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// The revisions stdout reports as applied, in order.
fn reported_applied(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("applied "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_disk_that_fills_at_commit_is_never_reported_as_applied() {
    let mut commit_failures = 0;
    // From almost no room to enough for everything: some trials fail inside a migration,
    // some at its commit, some not at all. Whatever happens, the report is the truth.
    for free_kib in [8, 16, 24, 40, 60, 80, 120] {
        let disk = SmallDisk::mount("2m");
        let work = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", disk.path.join("app.db").display());
        ok(run(work.path(), &url, "dev", &["upgrade", "--revision", "+3"]));
        let before = ok(run(work.path(), &url, "dev", &["current"]));
        disk.fill_to(free_kib);

        let out = run(work.path(), &url, "dev", &["upgrade"]);
        let (said, errors) = (stdout(&out), stderr(&out));
        let applied = reported_applied(&said);
        let now = ok(run(work.path(), &url, "dev", &["current"]));
        let at = now.split_whitespace().next().unwrap_or_default().to_string();
        match applied.last() {
            Some(last) => assert_eq!(&at, last, "[{free_kib} KiB free] stdout:\n{said}\nstderr:\n{errors}"),
            None => assert_eq!(now, before, "[{free_kib} KiB free] nothing reported, nothing applied"),
        }
        if out.status.success() {
            continue;
        }
        assert_eq!(out.status.code(), Some(4), "[{free_kib} KiB free] {errors}");
        assert!(errors.contains("rolled back"), "[{free_kib} KiB free] {errors}");
        if errors.contains("its commit failed") {
            commit_failures += 1;
            let failed = errors.split_whitespace().nth(3).unwrap_or_default();
            assert!(!applied.iter().any(|r| r == failed), "[{free_kib} KiB free] {failed} reported applied");
        }
    }
    assert!(commit_failures > 0, "no trial filled the disk at a commit; adjust the free sizes");
}

/// A database on `kind` upgraded three steps, its URL, and a working folder.
fn three_steps(kind: strata::ops::DialectKind) -> (TestDatabase, String, tempfile::TempDir) {
    let db = fresh_database(kind);
    let url = db.url.connection_string();
    let work = tempfile::tempdir().unwrap();
    ok(run(work.path(), &url, "dev", &["upgrade", "--revision", "+3"]));
    (db, url, work)
}

const SECOND: &str = "eae66c76ec57";
const THIRD: &str = "ddcb1ae961ad";

#[test]
fn corrupt_version_tables_are_refused_never_read_as_base() {
    for kind in engines() {
        for (what, sql) in [
            ("a NULL revision", "UPDATE strata_version SET revision = NULL"),
            ("a missing version table", "DROP TABLE strata_version"),
        ] {
            let (db, url, work) = three_steps(kind);
            exec(connect(&db).as_mut(), sql);
            let dir = work.path();
            // The start-up validates first, so it fails validation; the others fail reading.
            for (args, code) in [(&["current"][..], 4), (&["pending"], 4), (&["upgrade"], 4), (&["start"], 1)]
            {
                let out = run(dir, &url, "dev", args);
                let said = format!("{}{}", stdout(&out), stderr(&out));
                assert_eq!(out.status.code(), Some(code), "[{kind}] {what}: {args:?} said:\n{said}");
                assert!(said.contains("is corrupt") && said.contains("stamp <revision>"), "[{kind}] {said}");
            }
            if what == "a missing version table" {
                // init must not create an empty version table: that would read as base.
                let out = run(dir, &url, "dev", &["init"]);
                assert_eq!(out.status.code(), Some(4), "[{kind}] init: {}", stderr(&out));
            }
            let out = run(dir, &url, "dev", &["validate"]);
            assert_eq!(out.status.code(), Some(1), "[{kind}] {what}: validate\n{}", stderr(&out));
            assert!(stderr(&out).contains("is corrupt"), "[{kind}] {}", stderr(&out));
            let upgrades = rows(
                connect(&db).as_mut(),
                "SELECT count(*) FROM strata_history WHERE direction = 'upgrade'",
            );
            assert_eq!(upgrades, ["3"], "[{kind}] {what}: nothing ran again");
            // The documented repair.
            ok(run(dir, &url, "dev", &["stamp", THIRD]));
            assert!(ok(run(dir, &url, "dev", &["current"])).starts_with(THIRD), "[{kind}] {what}");
            ok(run(dir, &url, "dev", &["upgrade"]));
        }
    }
}

#[test]
fn drift_is_an_error_in_validate_a_warning_for_a_dev_upgrade_and_a_refusal_elsewhere() {
    let changed = format!("'1:{}'", "0".repeat(64));
    for kind in engines() {
        for bad in ["NULL", "'garbage'", "'9:abc'", changed.as_str()] {
            let (db, url, work) = three_steps(kind);
            let dir = work.path();
            exec(
                connect(&db).as_mut(),
                &format!("UPDATE strata_history SET checksum = {bad} WHERE revision = '{SECOND}'"),
            );
            let out = run(dir, &url, "dev", &["validate"]);
            let said = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "[{kind}] checksum {bad}: validate said\n{said}");
            assert!(said.contains(SECOND) && said.contains(&format!("accept {SECOND}")), "[{kind}] {said}");

            if kind == DialectKind::Postgres {
                for env in ["staging", "prod"] {
                    let out = run(dir, &url, env, &["upgrade"]);
                    let said = format!("{}{}", stdout(&out), stderr(&out));
                    assert_eq!(out.status.code(), Some(1), "[{kind}] {env} upgrade over drift:\n{said}");
                    assert!(said.contains(&format!("accept {SECOND}")), "[{kind}] {env}: {said}");
                    let at = ok(run(dir, &url, "dev", &["current"]));
                    assert!(at.starts_with(THIRD), "[{kind}] {env} applied nothing: {at}");
                }
            }

            let out = run(dir, &url, "dev", &["upgrade", "--revision", "+1"]);
            let said = stderr(&out);
            assert!(out.status.success(), "[{kind}] dev upgrades over drift: {said}");
            assert!(said.contains("drifted") && said.contains(SECOND), "[{kind}] dev warns: {said}");

            ok(run(dir, &url, "dev", &["accept", SECOND]));
            let out = run(dir, &url, "dev", &["validate"]);
            assert_ne!(out.status.code(), Some(1), "[{kind}] accepted: {}", stderr(&out));
            if kind == DialectKind::Postgres {
                ok(run(dir, &url, "staging", &["upgrade", "--revision", "+1"]));
            }
        }
    }
}

/// Starts the binary on a pseudo-terminal (script(1)), waits until it shows `prompt`, lets
/// `meanwhile` run, then types `answer`. Returns everything the terminal showed, and the exit
/// code.
fn answer_after(
    dir: &Path,
    url: &str,
    env: &str,
    args: &[&str],
    prompt: &str,
    meanwhile: impl FnOnce(),
    answer: &str,
) -> (String, i32) {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let mut child = on_terminal(BIN, dir, url, env, args).spawn().expect("script(1) from util-linux");
    let shown = Arc::new(Mutex::new(String::new()));
    let mut out = child.stdout.take().expect("stdout");
    let reader = {
        let shown = Arc::clone(&shown);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let started = std::time::Instant::now();
    while !shown.lock().unwrap().contains(prompt) {
        assert!(
            started.elapsed().as_secs() < 60,
            "no prompt {prompt:?}; the terminal showed:\n{}",
            shown.lock().unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    meanwhile();
    child.stdin.take().expect("stdin").write_all(answer.as_bytes()).expect("type the answer");
    let status = child.wait().expect("wait");
    reader.join().expect("reader");
    let text = shown.lock().unwrap().clone();
    (text, status.code().unwrap_or(-1))
}

#[test]
fn a_confirmed_rollback_reverts_exactly_what_the_prompt_listed() {
    const AT: &str = "6c809c9cc13d";
    const TARGET: &str = "b02594172f4c";
    const HEAD: &str = "4c9379593903";
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    ok(run(dir, &url, "dev", &["upgrade", "--revision", AT]));
    let upgrade_meanwhile = || {
        ok(run(dir, &url, "dev", &["upgrade"]));
    };

    // prod: the typed answer confirms reverting AT alone; the database moved to HEAD.
    let (shown, code) = answer_after(
        dir,
        &url,
        "prod",
        &["downgrade", "--force", "--revision", TARGET],
        "to confirm: ",
        upgrade_meanwhile,
        &format!("{TARGET}\n"),
    );
    assert!(shown.contains(&format!("revert {AT}")), "the prompt lists the plan:\n{shown}");
    assert!(!shown.contains(&format!("  revert {HEAD}")), "only the plan of the moment: {shown}");
    assert_eq!(code, 3, "refused, exit {code}:\n{shown}");
    assert!(shown.contains("the database moved while the rollback was being confirmed"), "{shown}");
    assert!(ok(run(dir, &url, "dev", &["current"])).starts_with(HEAD), "nothing was reverted");

    // staging: the y/N prompt lists the plan too, and is bound to it the same way.
    ok(run(dir, &url, "dev", &["downgrade", "--revision", AT]));
    let (shown, code) =
        answer_after(dir, &url, "staging", &["downgrade"], "[y/N] ", upgrade_meanwhile, "y\n");
    assert!(shown.contains(&format!("revert {AT}")), "{shown}");
    assert_eq!(code, 3, "refused:\n{shown}");
    assert!(ok(run(dir, &url, "dev", &["current"])).starts_with(HEAD), "nothing was reverted");

    // Unmoved, the same confirmation goes through.
    let (shown, code) = answer_after(dir, &url, "staging", &["downgrade"], "[y/N] ", || {}, "y\n");
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(&format!("revert {HEAD}")) && shown.contains("1 migration(s) reverted"),
        "{shown}"
    );
}
