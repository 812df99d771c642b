//! The example binary end to end, as a user runs it, on both engines.

mod common;

use common::*;
use std::process::{Command, Output};

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata-example"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .output()
        .expect("run the binary")
}

fn stdout_of(url: &str, args: &[&str]) -> String {
    let out = run(url, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn upgrade_current_downgrade_on_both_engines() {
    for kind in engines() {
        let db = fresh_database(kind);
        // The URL as the driver needs it; the password-free form is what gets printed.
        let url = db.url.connection_string();
        let up = stdout_of(&url, &["upgrade"]);
        assert_eq!(up.matches("  applied ").count(), 11, "[{kind}] {up}");
        assert!(up.contains("11 migration(s) applied"), "[{kind}] {up}");
        assert!(stdout_of(&url, &["current"]).contains("(head)"), "[{kind}]");
        assert!(stdout_of(&url, &["pending"]).contains("nothing pending"), "[{kind}]");
        assert!(stdout_of(&url, &["upgrade"]).contains("nothing to do"), "[{kind}]");

        let down = stdout_of(&url, &["downgrade"]);
        assert!(down.contains("1 migration(s) reverted"), "[{kind}] {down}");
        assert_eq!(stdout_of(&url, &["pending"]).lines().count(), 1, "[{kind}]");
        let base = stdout_of(&url, &["downgrade", "--revision", "base"]);
        assert!(base.contains("10 migration(s) reverted"), "[{kind}] {base}");
        assert!(stdout_of(&url, &["current"]).starts_with("base"), "[{kind}]");
        let history = stdout_of(&url, &["history", "--log"]);
        assert_eq!(history.lines().count(), 22, "[{kind}] {history}");
    }
}

#[test]
fn bad_input_says_what_was_expected() {
    let out = run("mysql://u:hunter2@localhost/db", &["current"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("expected sqlite://PATH") && !stderr.contains("hunter2"), "{stderr}");

    let out = run("postgres://app:hunter2@127.0.0.1:1/app?connect_timeout=2", &["current"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot connect to postgres://app:***@127.0.0.1:1/app"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let out = run(&url, &["upgrade", "--revision", "nope"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no revision matches \"nope\""), "{stderr}");
}
