//! The benchmark's bad-input rule, end to end through hyperfine: a tool that leaves the
//! wrong state, or fails, is named with the run, and nothing is reported for it.
//!
//! Needs hyperfine (`apt-get install hyperfine`), like the benchmark.

use peer_bench::db::Db;
use peer_bench::report::{Results, RowKey};
use peer_bench::tools::{App, Engine, Expect, Tool, Workload};
use peer_bench::{Paths, Series};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A work folder with `bin/strata-app-100` as a shell script.
fn work(test: &str, script: &str) -> Paths {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("refusal-{test}"));
    fs::remove_dir_all(&root).ok();
    let paths = Paths { repo: PathBuf::from("."), build: root.join("build"), work: root.join("work") };
    for dir in ["bin", "sqlite", "ledgers", "hyperfine"] {
        fs::create_dir_all(paths.work.join(dir)).expect("create the work folder");
    }
    let binary = paths.binary(App::Strata, 100);
    fs::write(&binary, format!("#!/bin/sh\n{script}\n")).expect("write the fake app");
    fs::set_permissions(&binary, fs::Permissions::from_mode(0o755)).expect("make it executable");
    paths
}

/// Measures the fake strata in the upgrade row on SQLite; returns the failures.
fn measure(paths: &Paths, runs: u32, heads: &[(App, Db)], workload: Workload) -> (Results, Vec<String>) {
    let bench = Db::Sqlite { path: paths.work.join("sqlite/bench.db") };
    let series = Series {
        paths,
        row: RowKey { workload, engine: Engine::Sqlite, n: 100 },
        tools: &[Tool::Strata],
        rounds: 1,
        runs,
        warmup: 1,
        bench: &bench,
        heads,
        driver: env!("CARGO_BIN_EXE_peer-bench"),
    };
    let mut results = Results::default();
    let mut failures = Vec::new();
    series.measure(&mut results, &mut failures).expect("the series runs");
    (results, failures)
}

#[test]
fn a_run_that_leaves_the_wrong_state_is_named() {
    // Exits 0 without migrating anything: the state after run 1 (the warm-up) is base.
    let paths = work("wrong-state", "exit 0");
    let (_, failures) = measure(&paths, 3, &[], Workload::Upgrade);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with(
            "strata (strata-app) in \"upgrade · SQLite · 100\", run 1 of 4 (warm-ups count): \
             the state check after the run failed: expected 50 tables t_* and 50 columns extra_* \
             (head of 100 migrations), found 0 and 0; missing: t_1, "
        ),
        "{}",
        failures[0]
    );
}

/// A SQLite file holding the first `count` upgrade statements of the workload.
fn database(path: PathBuf, count: usize) -> Db {
    let steps: Vec<String> = peer_workload::steps(100).iter().take(count).map(|s| s.up_sql()).collect();
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(&steps.join(";\n")).expect("build a test database");
    Db::Sqlite { path }
}

#[test]
fn the_last_run_is_checked_too() {
    // A "downgrade" right on its first run (the warm-up) and wrong on its second, which only
    // the driver's check after hyperfine sees: it leaves t_1 and its column.
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("refusal-last-run/work");
    let script = format!(
        "f=\"${{DATABASE_URL#sqlite://}}\"\n\
         if [ -e {0}/ran ]; then cp {0}/two.db \"$f\"; else touch {0}/ran; cp {0}/none.db \"$f\"; fi",
        root.display()
    );
    let paths = work("last-run", &script);
    let head = database(paths.work.join("sqlite/head.db"), 100);
    head.verify(100, Expect::Head).expect("the copy source is at head");
    database(paths.work.join("none.db"), 0);
    database(paths.work.join("two.db"), 2);
    let heads = [(App::Strata, head)];
    let (_, failures) = measure(&paths, 1, &heads, Workload::Downgrade);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with(
            "strata (strata-app) in \"downgrade · SQLite · 100\", run 2 of 2 (warm-ups count): \
             the state check after the run failed: expected 0 tables t_* and 0 columns extra_* \
             (base of 100 migrations), found 1 and 1; unexpected: t_1, t_1.extra_2"
        ),
        "{}",
        failures[0]
    );
}

#[test]
fn a_run_that_fails_is_named() {
    let paths = work("fails", "echo 'cannot connect' >&2; exit 4");
    let (results, failures) = measure(&paths, 3, &[], Workload::Upgrade);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("strata (strata-app) in \"upgrade · SQLite · 100\", run 1 of 4 (warm-ups count): the run failed: hyperfine failed"),
        "{}",
        failures[0]
    );
    assert!(results.table(&[]).lines().count() == 2, "nothing was recorded");
}
