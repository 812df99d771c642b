//! The example binary end to end, as a user runs it: every command on both engines, the
//! confirmation rules of each environment (terminal prompts through `script`, which gives the
//! binary a real pseudo-terminal), production start-up, bad input, and snapshots of `--sql`
//! and `--format json`.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use strata::ops::DialectKind;

const BIN: &str = env!("CARGO_BIN_EXE_strata-example");
const HEAD: &str = "4c9379593903";

/// Runs the binary with `DATABASE_URL`, no inherited environment selection, in `dir`.
fn run_in(dir: &Path, url: &str, env: &str, args: &[&str]) -> Output {
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

/// The same on a pseudo-terminal, typing `input`.
fn run_on_terminal(dir: &Path, url: &str, env: &str, args: &[&str], input: &str) -> Output {
    let mut child = on_terminal(BIN, dir, url, env, args).spawn().expect("script(1) from util-linux");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("type");
    child.wait_with_output().expect("wait")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed ({:?}):\n{}", out.status.code(), text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn current(dir: &Path, url: &str, env: &str) -> String {
    ok(run_in(dir, url, env, &["current"])).split_whitespace().next().unwrap_or_default().to_string()
}

#[test]
fn every_command_on_both_engines() {
    for kind in engines() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        let db = fresh_database(kind);
        let url = db.url.connection_string();
        let run = |args: &[&str]| run_in(dir, &url, "dev", args);

        let init = ok(run(&["init"]));
        assert!(init.contains("created  ") && init.contains("version tables ready"), "[{kind}] {init}");
        assert!(ok(run(&["init"])).contains("exists "), "[{kind}] init is idempotent");
        // At base with migrations to apply: base, never also "(head)"; an empty log says so.
        assert_eq!(ok(run(&["current"])), "base (no migrations applied)\n", "[{kind}]");
        assert_eq!(
            ok(run(&["history", "--log"])),
            "the history table is empty: nothing was applied, reverted or stamped yet\n",
            "[{kind}]"
        );

        let up = ok(run(&["upgrade", "--revision", "+2"]));
        assert_eq!(up.matches("  applied ").count(), 2, "[{kind}] {up}");
        // Durations in human units: `(812 µs)`, `(8.3 ms)`, `(1.24 s)`.
        let human = |t: &str| {
            let (number, unit) = t.split_once(' ').unwrap_or_default();
            number.parse::<f64>().is_ok() && ["µs", "ms", "s"].contains(&unit)
        };
        for line in up.lines().filter(|l| l.starts_with("  applied ")) {
            let took = line.rsplit_once('(').and_then(|(_, t)| t.strip_suffix(')')).unwrap_or_default();
            assert!(human(took), "[{kind}] {line}");
        }
        let summary = up.lines().last().unwrap_or_default();
        let took = summary.split_once(" applied in ").and_then(|(_, t)| t.split_once(';')).map(|(t, _)| t);
        assert!(took.is_some_and(human), "[{kind}] {summary}");
        assert!(ok(run(&["current"])).starts_with("eae66c76ec57"), "[{kind}]");
        assert_eq!(ok(run(&["pending"])).lines().count(), 9, "[{kind}]");
        let validate = run(&["validate"]);
        assert_eq!(code(&validate), 0, "[{kind}] pending is a warning: {}", text(&validate));
        assert!(text(&validate).contains("9 pending migration(s)"), "[{kind}]");
        assert_eq!(code(&run(&["validate", "--strict"])), 1, "[{kind}] --strict fails on warnings");

        let up = ok(run(&["upgrade"]));
        assert!(up.contains("9 migration(s) applied"), "[{kind}] {up}");
        assert!(ok(run(&["current"])).contains("(head)"), "[{kind}]");
        assert!(ok(run(&["validate"])).contains("validation: success"), "[{kind}]");
        let history = ok(run(&["history"]));
        assert_eq!(history.lines().filter(|l| l.starts_with("[x]")).count(), 11, "[{kind}] {history}");
        assert!(history.contains("(current) (head)"), "[{kind}] {history}");
        let show = ok(run(&["show", "eda7"]));
        assert!(show.contains("data \"backfill posts.slug from titles\""), "[{kind}]");
        assert!(show.contains("\nfile     reda71479153d_post_slugs.rs\n"), "[{kind}] {show}");
        assert!(!show.contains(env!("CARGO_MANIFEST_DIR")), "[{kind}] no build path: {show}");
        assert!(
            ok(run(&["accept", "eda7"])).contains("recorded the current checksum of eda71479153d"),
            "[{kind}]"
        );
        let not_dirty = run(&["resolve", "eda7", "--applied"]);
        assert_eq!(code(&not_dirty), 2, "[{kind}] {}", text(&not_dirty));
        assert!(text(&not_dirty).contains("not dirty"), "[{kind}]");

        assert!(ok(run(&["downgrade"])).contains("1 migration(s) reverted"), "[{kind}]");
        assert!(ok(run(&["downgrade", "--revision", "-2"])).contains("2 migration(s) reverted"), "[{kind}]");
        let log = ok(run(&["history", "--log"]));
        assert_eq!(log.lines().count(), 15, "[{kind}] 11 up, 1 accept, 3 down");
        assert!(log.lines().all(|l| human(l.rsplit('\t').next().unwrap_or_default())), "[{kind}] {log}");

        assert!(ok(run(&["stamp", "head"])).contains(&format!("version set to {HEAD}")), "[{kind}]");
        assert_eq!(current(dir, &url, "dev"), HEAD, "[{kind}]");
        assert!(ok(run(&["stamp", "base"])).contains("version set to base"), "[{kind}]");
        assert_eq!(current(dir, &url, "dev"), "base", "[{kind}]");

        // create and template write into the (temporary) versions folder init made.
        let created = ok(run(&["create", "add widget table", "--template", "add_table"]));
        assert!(
            created.contains("_add_widget_table.rs") && created.contains("parent none"),
            "[{kind}] {created}"
        );
        let vague = run(&["create", "update"]);
        assert!(text(&vague).contains("is vague"), "[{kind}] {}", text(&vague));
        let from_template = ok(run(&["template", "add_column"]));
        assert!(from_template.contains("_add_a_column_to_a_table.rs"), "[{kind}] {from_template}");
        let headers = strata::build::scan(&dir.join("migrations/src/versions")).unwrap();
        assert_eq!(headers.len(), 3);
        assert_eq!(
            strata::build::check(&headers),
            vec![],
            "[{kind}] what create writes passes the build check"
        );
        let auto = run(&["create", "from models", "--auto"]);
        assert_eq!(code(&auto), 2, "[{kind}] {}", text(&auto));
        assert!(ok(run(&["template", "--list"])).lines().count() == 5, "[{kind}]");
    }
}

fn upgraded_postgres() -> Option<(TestDatabase, String, tempfile::TempDir)> {
    if !strata::testkit::postgres_available() {
        return None;
    }
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let work = tempfile::tempdir().unwrap();
    ok(run_in(work.path(), &url, "dev", &["upgrade"]));
    Some((db, url, work))
}

#[test]
fn rollback_confirmation_rules_per_environment() {
    let Some((_db, url, work)) = upgraded_postgres() else { return };
    let dir = work.path();
    let refused = |out: Output, why: &str| {
        assert_eq!(code(&out), 3, "{}", text(&out));
        assert!(text(&out).contains(why), "{}", text(&out));
        assert_eq!(current(dir, &url, "dev"), HEAD, "a refused rollback changes nothing");
    };
    // staging: y/N on a terminal, or --force.
    refused(run_in(dir, &url, "staging", &["downgrade"]), "answer y at the prompt, or pass --force");
    refused(run_on_terminal(dir, &url, "staging", &["downgrade"], "n\n"), "not confirmed");
    let yes = run_on_terminal(dir, &url, "staging", &["downgrade"], "y\n");
    assert!(text(&yes).contains("[y/N]") && text(&yes).contains("1 migration(s) reverted"), "{}", text(&yes));
    ok(run_in(dir, &url, "staging", &["downgrade", "--force"]));
    let at = current(dir, &url, "dev");
    ok(run_in(dir, &url, "dev", &["upgrade"]));
    assert_ne!(at, HEAD);

    // prod: --force and the target typed on a terminal, or --force --yes-i-am-sure.
    refused(run_in(dir, &url, "prod", &["downgrade"]), "needs --force");
    refused(run_in(dir, &url, "prod", &["downgrade", "--force"]), "--force --yes-i-am-sure for automation");
    refused(
        run_on_terminal(dir, &url, "prod", &["downgrade", "--force"], "nope\n"),
        "does not match the target",
    );
    // The prompt says exactly what to type, and that is accepted, whitespace around it aside.
    let typed = run_on_terminal(dir, &url, "prod", &["downgrade", "--force"], "  6c809c9cc13d \n");
    assert!(text(&typed).contains("Type \"6c809c9cc13d\" to confirm: "), "{}", text(&typed));
    assert!(text(&typed).contains("1 migration(s) reverted"), "{}", text(&typed));
    let sure = run_in(dir, &url, "prod", &["downgrade", "--force", "--yes-i-am-sure"]);
    assert!(text(&sure).contains("rolling back in production"), "prod logs a warning: {}", text(&sure));
    assert_eq!(current(dir, &url, "dev"), "b02594172f4c");

    // dev: no confirmation.
    ok(run_in(dir, &url, "dev", &["downgrade"]));
    assert_eq!(current(dir, &url, "dev"), "53b76130d685");

    // To base, the prompt asks for `base`, and typing it is enough.
    let args = ["downgrade", "--force", "--revision", "base"];
    let to_base = run_on_terminal(dir, &url, "prod", &args, "base\n");
    assert!(text(&to_base).contains("Type \"base\" to confirm: "), "{}", text(&to_base));
    assert!(text(&to_base).contains("8 migration(s) reverted"), "{}", text(&to_base));
    assert_eq!(current(dir, &url, "dev"), "base");
}

#[test]
fn production_start_up_applies_only_safe_migrations() {
    if !strata::testkit::postgres_available() {
        return;
    }
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // The migrations as written: lock-safe rewriting (the staging and prod default) would
    // build the index concurrently, which the end of this test shows.
    std::fs::write(dir.join("strata.toml"), "rewrite = false\n").unwrap();
    // Migrations without lint errors apply in production; it logs every statement.
    let clean = run_in(dir, &url, "prod", &["upgrade", "--revision", "766dfe9292c9"]);
    assert!(clean.status.success(), "{}", text(&clean));
    assert!(String::from_utf8_lossy(&clean.stderr).contains("CREATE TABLE"), "{}", text(&clean));
    // An index built without CONCURRENTLY, not acknowledged: refused, nothing applied.
    let refused = run_in(dir, &url, "prod", &["upgrade", "--revision", "eda71479153d"]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    let message = text(&refused);
    for part in [
        "unacknowledged lint errors",
        "da51e7982e60 op 2 (create_index ux_users_email on users): S013",
        "op.allow(\"S013\"",
    ] {
        assert!(message.contains(part), "{part:?}: {message}");
    }
    assert_eq!(current(dir, &url, "dev"), "766dfe9292c9", "nothing was applied");
    // Staging applies them, every finding marked on stderr.
    let staging = run_in(dir, &url, "staging", &["upgrade", "--revision", "eda71479153d"]);
    assert!(staging.status.success(), "{}", text(&staging));
    let stderr = String::from_utf8_lossy(&staging.stderr);
    assert!(stderr.contains("STAGING LINT S013 error da51e7982e60 op 2"), "{stderr}");
    assert!(
        stderr.contains("production refuses this unless the migration acknowledges it: op.allow(\"S013\""),
        "{stderr}"
    );
    let blocked = run_in(dir, &url, "prod", &["start"]);
    assert_eq!(code(&blocked), 1, "{}", text(&blocked));
    let message = text(&blocked);
    assert!(message.contains("6c809c9cc13d") && message.contains("changes a column's type"), "{message}");
    assert!(message.contains("4c9379593903") && message.contains("drops a column"), "{message}");
    assert!(!message.contains("34400ee0d24b"), "the view is marked safe: {message}");
    assert_eq!(current(dir, &url, "dev"), "eda71479153d", "nothing was applied");

    // An operator's explicit upgrade still refuses their lint errors in production; they
    // are applied where the lint only warns.
    let explicit = run_in(dir, &url, "prod", &["upgrade"]);
    assert_eq!(code(&explicit), 1, "{}", text(&explicit));
    assert!(
        text(&explicit).contains("b02594172f4c op 2 (add_foreign_key fk_users_invited_by on users): S004"),
        "{}",
        text(&explicit)
    );
    ok(run_in(dir, &url, "staging", &["upgrade"]));
    let again = ok(run_in(dir, &url, "prod", &["start"]));
    assert!(
        again.contains("nothing to do") && again.contains("application ready (prod environment)"),
        "{again}"
    );

    // With rewriting on (the default), production applies the index migration: the index
    // is built concurrently, so there is nothing to acknowledge.
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    std::fs::remove_file(dir.join("strata.toml")).unwrap();
    let rewritten = ok(run_in(dir, &url, "prod", &["upgrade", "--revision", "eda71479153d"]));
    assert!(rewritten.contains("applied"), "{rewritten}");
    let mut conn = connect(&db);
    assert_eq!(
        rows(
            conn.as_mut(),
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ux_users_email'::regclass"
        ),
        ["\"true\""]
    );
}

#[test]
fn dev_start_up_applies_everything() {
    let work = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", work.path().join("app.db").display());
    let out = ok(run_in(work.path(), &url, "dev", &["start"]));
    assert!(
        out.contains("11 migration(s) applied") && out.contains("application ready (dev environment)"),
        "{out}"
    );
}

#[test]
fn bad_input_says_what_was_expected_with_documented_exit_codes() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let sqlite = format!("sqlite://{}", dir.join("x.db").display());
    std::fs::create_dir_all(dir.join("migrations/src/versions")).unwrap();
    let cases: [(&str, &str, &[&str], i32, &str); 14] = [
        ("mysql://u:hunter2@localhost/db", "dev", &["current"], 2, "expected sqlite://PATH"),
        (
            "postgres://app:hunter2@127.0.0.1:1/app?connect_timeout=2",
            "dev",
            &["current"],
            4,
            "cannot connect to postgres://app:***@127.0.0.1:1/app",
        ),
        (&sqlite, "dev", &["upgrade", "--revision", "nope"], 2, "no revision matches \"nope\""),
        // A mistyped revision or prefix: the closest known ones are suggested.
        (
            &sqlite,
            "dev",
            &["upgrade", "--revision", "b0259471"],
            2,
            "no revision matches \"b0259471\" (did you mean b02594172f4c?)",
        ),
        (&sqlite, "dev", &["show", "eda8"], 2, "(did you mean eda71479153d?)"),
        (&sqlite, "dev", &["stamp", "4c9379539903"], 2, "(did you mean 4c9379593903?)"),
        (
            &sqlite,
            "dev",
            &["upgrade", "--revision", "e"],
            2,
            "\"e\" is ambiguous: it matches eae66c76ec57, eda71479153d",
        ),
        (
            &sqlite,
            "dev",
            &["upgrade", "--revision", "x;y"],
            2,
            "expected a revision id, a unique prefix of one, head, base, +N or -N",
        ),
        (&sqlite, "dev", &["template", "add_view"], 2, "unknown template \"add_view\""),
        ("", "prod", &["current"], 2, "the prod environment needs a PostgreSQL database"),
        (&sqlite, "qa", &["current"], 2, "unknown environment \"qa\""),
        (&sqlite, "dev", &["upgrade", "--frobnicate"], 2, "unexpected argument '--frobnicate'"),
        (
            &sqlite,
            "dev",
            &["create", "add x", "--rev-id", "../evil"],
            2,
            "revision id \"../evil\" cannot be used",
        ),
        (&sqlite, "dev", &["create", "two\nlines"], 2, "may not contain control characters or line breaks"),
    ];
    for (url, env, args, expected_code, expected_text) in cases {
        let out = run_in(dir, url, env, args);
        let all = text(&out);
        assert_eq!(code(&out), expected_code, "{args:?}: {all}");
        assert!(all.contains(expected_text), "{args:?}: {all}");
        assert!(!all.contains("hunter2"), "a password leaked: {all}");
    }
}

/// Replaces what changes from run to run (timings, timestamps, temporary paths).
fn stable_json(stdout: &str, dir: &Path) -> String {
    fn scrub(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    match key.as_str() {
                        "duration_ms" | "elapsed_ms" => *v = "[ms]".into(),
                        "applied_at" if !v.is_null() => *v = "[time]".into(),
                        _ => scrub(v),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(stdout).expect("valid JSON");
    scrub(&mut value);
    serde_json::to_string_pretty(&value).unwrap().replace(&dir.display().to_string(), "[dir]")
}

#[test]
fn offline_sql_snapshots() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // Offline: no server is contacted, so any PostgreSQL URL will do.
    for (name, url) in
        [("sqlite", "sqlite://never-created.db"), ("postgres", "postgres://nobody@127.0.0.1:1/none")]
    {
        // The example's data ops have no SQL form: refused unless placeholders are asked for.
        let refused = run_in(dir, url, "dev", &["upgrade", "--sql"]);
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
        assert!(
            text(&refused).contains("the data op \"backfill posts.slug from titles\""),
            "{}",
            text(&refused)
        );
        assert!(text(&refused).contains("--allow-data-placeholders"), "{}", text(&refused));
        let up = ok(run_in(dir, url, "dev", &["upgrade", "--sql", "--allow-data-placeholders"]));
        insta::assert_snapshot!(format!("sql_upgrade_{name}"), up);
        let down = ok(run_in(
            dir,
            url,
            "dev",
            &["downgrade", "--sql", "--allow-data-placeholders", "--revision", "da51e7982e60"],
        ));
        insta::assert_snapshot!(format!("sql_downgrade_{name}"), down);
    }
    assert!(!dir.join("never-created.db").exists(), "--sql does not touch the database");
}

#[test]
fn json_output_snapshots() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let json = |args: &[&str]| {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        stable_json(&ok(run_in(dir, &url, "dev", &full)), dir)
    };
    insta::assert_snapshot!("json_upgrade", json(&["upgrade", "--revision", "+3"]));
    insta::assert_snapshot!("json_current", json(&["current", "--applied"]));
    // Without --applied, the history table is not read: the same shape, applied_at null.
    let plain: serde_json::Value = serde_json::from_str(&json(&["current"])).unwrap();
    assert_eq!(plain["applied_at"], serde_json::Value::Null, "{plain}");
    assert_eq!(plain["revision"], plain["heads"][0], "{plain}");
    let text = ok(run_in(dir, &url, "dev", &["current"]));
    assert!(text.contains("(created ") && !text.contains("applied"), "{text}");
    let with_time = ok(run_in(dir, &url, "dev", &["current", "--applied"]));
    assert!(with_time.contains(", applied 20"), "{with_time}");
    insta::assert_snapshot!("json_pending", json(&["pending"]));
    insta::assert_snapshot!("json_history", json(&["history"]));
    insta::assert_snapshot!("json_history_log", json(&["history", "--log"]));
    insta::assert_snapshot!("json_validate", json(&["validate"]));
    insta::assert_snapshot!("json_downgrade", json(&["downgrade", "--revision", "base"]));
    insta::assert_snapshot!("json_templates", json(&["template", "--list"]));
    insta::assert_snapshot!("json_show", json(&["show", "766d"]));
}

#[test]
fn models_commands_on_both_engines() {
    for kind in engines() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        let db = fresh_database(kind);
        let url = db.url.connection_string();
        let run = |args: &[&str]| run_in(dir, &url, "dev", args);
        // The example's models match its history at head: check passes, nothing to generate.
        assert!(ok(run(&["check"])).contains("the models match the migrations at head"), "[{kind}]");
        let auto = Command::new(BIN)
            .args(["create", "sync with models", "--auto"])
            .env("DATABASE_URL", &url)
            .env("STRATA_ENV", "dev")
            .output()
            .unwrap();
        assert!(text(&auto).contains("nothing to generate, no file written"), "[{kind}] {}", text(&auto));
        // A fresh database from the models, stamped at head; refused once it is not empty.
        let fresh = ok(run(&["init", "--from-models"]));
        assert!(fresh.contains(&format!("stamped at {HEAD}")), "[{kind}] {fresh}");
        assert_eq!(current(dir, &url, "dev"), HEAD, "[{kind}]");
        assert!(ok(run(&["validate"])).contains("validation: success"), "[{kind}]");
        let again = run(&["init", "--from-models"]);
        assert_eq!(code(&again), 1, "[{kind}] {}", text(&again));
        assert!(text(&again).contains("the database is not empty"), "[{kind}]");
        if kind == DialectKind::Postgres {
            let mut conn = connect(&db);
            let left = rows(
                conn.as_mut(),
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'strata_scratch_%'",
            );
            assert_eq!(left, ["0"], "scratch schemas are dropped");
        }
    }
}

#[test]
fn staging_migrates_over_tls_with_a_verified_certificate() {
    if !strata::testkit::postgres_available() {
        return;
    }
    let server = strata::testkit::tls_server().unwrap_or_else(|e| panic!("{e}"));
    let root = server.root_cert.display().to_string().replace('/', "%2F");
    let admin: strata::backend::DatabaseUrl = format!("{}?sslmode=require", server.url).parse().unwrap();
    let name = format!("tls_{}", std::process::id());
    strata::backend::connect(&admin).unwrap().execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = server.url.strip_suffix("/postgres").expect("the server URL names the postgres database");
    let url = format!("{base}/{name}?sslmode=verify-full&sslrootcert={root}");
    let work = tempfile::tempdir().unwrap();
    let out = ok(run_in(work.path(), &url, "staging", &["upgrade"]));
    assert!(out.contains("11 migration(s) applied"), "{out}");
    // This server refuses unencrypted connections, so the same URL without TLS fails.
    let plain = run_in(work.path(), &url.replace("verify-full", "disable"), "staging", &["current"]);
    assert_eq!(code(&plain), 4, "{}", text(&plain));
}

#[test]
fn sslrootcert_system_verifies_the_host_against_the_systems_roots() {
    if !strata::testkit::postgres_available() {
        return;
    }
    let server = strata::testkit::tls_server().unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // The system's roots, as OpenSSL and rustls-native-certs read them: this server's own
    // certificate (self-signed) is the only one.
    let cert_file = server.root_cert.display().to_string();
    let run = |url: &str, roots: &str| {
        run_with(
            dir,
            &[("DATABASE_URL", url), ("STRATA_ENV", "staging"), ("SSL_CERT_FILE", roots)],
            &["current"],
        )
    };
    let system = format!("{}?sslrootcert=system", server.url);
    let out = run(&system, &cert_file);
    assert!(out.status.success(), "{}", text(&out));
    // The host name is checked (verify-full): by address the certificate (for localhost) fails.
    let by_address = system.replacen("@localhost:", "@127.0.0.1:", 1);
    let out = run(&by_address, &cert_file);
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(
        text(&out).contains("(sslmode=verify-full): it is not issued for the host name 127.0.0.1"),
        "{}",
        text(&out)
    );
    // Other roots: the server's certificate is not among them.
    let stranger = dir.join("none.pem");
    std::fs::write(&stranger, "").unwrap();
    let out = run(&system, &stranger.display().to_string());
    assert_eq!(code(&out), 4, "{}", text(&out));
    // A weaker mode beside it is refused before any connection, as libpq refuses it.
    let out = run(&format!("{system}&sslmode=require"), &cert_file);
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(
        text(&out).contains("sslrootcert=system needs sslmode=verify-full, not sslmode=require"),
        "{}",
        text(&out)
    );
}

/// Runs the binary in `dir` with exactly the strata variables in `vars` (none inherited).
fn run_with(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir);
    for name in [
        "ENV",
        "STRATA_ENV",
        "DATABASE_URL",
        "RUST_LOG",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "STRATA_LOCK_TIMEOUT",
        "STRATA_STATEMENT_TIMEOUT",
        "STRATA_MIGRATION_LOCK_TIMEOUT",
    ] {
        command.env_remove(name);
    }
    command.env("STRATA_VERSIONS_DIR", dir.join("migrations/src/versions"));
    command.envs(vars.iter().copied()).output().expect("run the binary")
}

#[test]
fn a_dotenv_file_cannot_turn_production_into_dev() {
    let Some((_db, url, work)) = upgraded_postgres() else { return };
    let dir = work.path();
    std::fs::write(dir.join(".env"), "STRATA_ENV=dev\n").unwrap();
    for env in ["prod", "staging"] {
        for args in [&["downgrade"][..], &["start"], &["--env", env, "downgrade"]] {
            let out = run_with(dir, &[("ENV", env), ("DATABASE_URL", &url)], args);
            assert_eq!(code(&out), 2, "{args:?}: {}", text(&out));
            let expected = format!("ENV={env} (process environment) and STRATA_ENV=dev (.env file ");
            assert!(text(&out).contains(&expected), "{args:?}: {}", text(&out));
            assert!(!text(&out).contains("application ready"), "{}", text(&out));
        }
    }
    std::fs::remove_file(dir.join(".env")).unwrap();
    assert_eq!(current(dir, &url, "dev"), HEAD, "nothing was reverted");
    // The process environment beats .env for every variable.
    std::fs::write(dir.join(".env"), "DATABASE_URL=sqlite://dotenv.db\nENV=prod\n").unwrap();
    let out = run_with(dir, &[("ENV", "prod"), ("DATABASE_URL", &url)], &["current"]);
    assert!(text(&out).starts_with(HEAD), "{}", text(&out));
    assert!(!dir.join("dotenv.db").exists());
}

#[test]
fn absurd_timeouts_are_a_usage_error_before_connecting() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // Nothing listens on port 1: reaching the database would exit 4.
    let url = "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2";
    for (var, value) in [
        ("STRATA_LOCK_TIMEOUT", "1e300"),
        ("STRATA_STATEMENT_TIMEOUT", "1e12"),
        ("STRATA_LOCK_TIMEOUT", "0"),
        ("STRATA_MIGRATION_LOCK_TIMEOUT", "1e300"),
    ] {
        let out = run_with(dir, &[("ENV", "staging"), ("DATABASE_URL", url), (var, value)], &["upgrade"]);
        assert_eq!(code(&out), 2, "{var}={value}: {}", text(&out));
        assert!(text(&out).contains(&format!("{var}=\"{value}\" (process environment) is not a timeout")));
    }
    std::fs::write(dir.join("strata.toml"), "[environments.staging]\nlock_timeout = 1e300\n").unwrap();
    let out = run_with(dir, &[("ENV", "staging"), ("DATABASE_URL", url)], &["upgrade"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
}

/// A server that takes the connection and never answers (a stalled server, a pooler with no
/// backend, a port that is not PostgreSQL's) fails the command within the URL's
/// `connect_timeout`, as libpq bounds the whole start-up, with or without TLS asked for.
#[test]
fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let work = tempfile::tempdir().unwrap();
    for (query, command) in
        [("", "current"), ("&sslmode=disable", "upgrade"), ("&sslmode=require", "history")]
    {
        let url = format!("postgres://u:hunter2@127.0.0.1:{port}/db?connect_timeout=1{query}");
        let mut child = Command::new(BIN)
            .arg(command)
            .current_dir(work.path())
            .env("DATABASE_URL", &url)
            .env("ENV", "dev")
            .env("STRATA_VERSIONS_DIR", work.path().join("v"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run the binary");
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("{command} on {url}: still connecting after 20 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 4, "{command} on {url}: {}", text(&out));
        assert!(
            text(&out).contains("did not finish the start-up within 1s (connect_timeout)"),
            "{}",
            text(&out)
        );
        assert_no_secret(&out, &["hunter2"], command);
    }
}

/// Database URLs of every shape the driver reads a password from, and the secrets in them
/// (as written and decoded). Nothing listens on port 1, so each run fails fast at connect.
const LEAKY_URLS: &[(&str, &[&str])] = &[
    ("postgres://u:hunter2@127.0.0.1:1/db", &["hunter2"]),
    ("postgresql://u:hunter2@127.0.0.1:1/db?sslmode=disable", &["hunter2"]),
    ("postgres://pw2:pa/ss@127.0.0.1:1/t5", &["pa/ss"]),
    ("postgres://u:hunt?er2@127.0.0.1:1/db", &["hunt?er2"]),
    ("postgres://u:hu/nt?er2&x=1@127.0.0.1:1/db?sslmode=disable", &["hu/nt?er2&x=1"]),
    ("postgres://u:hunt#er2@127.0.0.1:1/db", &["hunt#er2"]),
    ("postgres://u:hunt%40er2@127.0.0.1:1/db", &["hunt%40er2", "hunt@er2"]),
    ("postgres://u:hunt:er2@127.0.0.1:1/db", &["hunt:er2"]),
    ("postgres://u:hunt@er2@127.0.0.1:1/db", &["hunt@er2"]),
    ("postgres://127.0.0.1:1/db?password=hunter2", &["hunter2"]),
    ("postgres://127.0.0.1:1/db?user=u&password=hunter2&password=hunter3", &["hunter2", "hunter3"]),
    ("postgres://127.0.0.1:1/db?PASSWORD=hunter2", &["hunter2"]),
    ("postgres://127.0.0.1:1/db?Password=hunter2&sslmode=disable", &["hunter2"]),
    ("postgres://u:hunter1@127.0.0.1:1/db?password=hunter2", &["hunter1", "hunter2"]),
    ("postgres://127.0.0.1:1/db?pass%77ord=hunter2", &["hunter2"]),
    ("postgres://127.0.0.1:1/db?sslpassword=hunter2", &["hunter2"]),
    ("postgres://u:hunter2@127.0.0.1:1,127.0.0.1:2/db", &["hunter2"]),
    ("postgres://u:hunter2@[::1]:1/db", &["hunter2"]),
    ("postgres://u:hunter2@%2Fnonexistent%2Fdir:1/db", &["hunter2"]),
    ("postgresql:///db?host=/nonexistent&port=1&password=hunter2", &["hunter2"]),
    ("postgres://u:hunter2@127.0.0.1:1/db?application_name=a@b", &["hunter2"]),
    ("postgres://:hunter2@127.0.0.1:1/db", &["hunter2"]),
    ("postgres://u:hunter%32x@127.0.0.1:1/db", &["hunter%32x", "hunter2x"]),
    ("postgres://u:h%C3%BCnter2@127.0.0.1:1/db", &["h%C3%BCnter2", "hünter2"]),
    ("postgres://u:hünter2@127.0.0.1:1/db", &["hünter2"]),
    ("postgres://127.0.0.1:1/db?a&password=hunter2", &["hunter2"]),
    ("postgres://127.0.0.1:1/db?password=hunt=er2&x=1", &["hunt=er2"]),
    ("postgres://127.0.0.1:1/db?password=hunt&er2", &["hunt&er2"]),
    ("postgres://u:hunter2@127.0.0.1:1/db?sslmode=bogus", &["hunter2"]),
    ("postgres://u:hunter2@127.0.0.1:1/db?port=x", &["hunter2"]),
    ("postgres://u:hunter2@remote.invalid:1/db?connect_timeout=2", &["hunter2"]),
    ("postgres:/u:hunter2@127.0.0.1:1/db", &["hunter2"]),
    ("postgres:u:hunter2@127.0.0.1", &["hunter2"]),
    ("postgres//u:hunter2@127.0.0.1", &["hunter2"]),
    ("POSTGRES://u:hunter2@127.0.0.1:1/db", &["hunter2"]),
    ("mysql://u:hunter2@127.0.0.1/db", &["hunter2"]),
    ("host=127.0.0.1 port=1 password=hunter2", &["hunter2"]),
    ("host=127.0.0.1 password='hunt er2'", &["hunt er2"]),
];

fn assert_no_secret(out: &Output, secrets: &[&str], what: &str) {
    let all = text(out);
    for secret in secrets {
        assert!(!all.contains(secret), "{what}: {secret} leaked:\n{all}");
    }
    assert_ne!(code(out), 101, "{what}: a panic:\n{all}");
}

#[test]
fn passwords_never_leak_on_any_channel() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    assert!(LEAKY_URLS.len() >= 30);
    for (url, secrets) in LEAKY_URLS {
        for args in [
            &["current"][..],
            &["--format", "json", "current"],
            &["validate"],
            &["--format", "json", "validate"],
            &["-vv", "upgrade"],
        ] {
            let out = run_with(dir, &[("DATABASE_URL", url)], args);
            assert_no_secret(&out, secrets, &format!("{url} {args:?}"));
        }
        let out = run_with(dir, &[("DATABASE_URL", url), ("RUST_LOG", "trace")], &["current"]);
        assert_no_secret(&out, secrets, &format!("{url} RUST_LOG=trace"));
        let out = run_with(dir, &[("ENV", "staging")], &["--database-url", url, "-vv", "upgrade"]);
        assert_no_secret(&out, secrets, &format!("{url} --database-url in staging"));
        // clap echoes what it cannot place: a URL given without --database-url.
        let out = run_with(dir, &[], &["upgrade", url]);
        assert_eq!(code(&out), 2, "{}", text(&out));
        assert_no_secret(&out, secrets, &format!("{url} as a stray argument"));
        let flag = format!("--database-url={url}");
        assert_no_secret(&run_with(dir, &[], &[&flag, "--frobnicate"]), secrets, &format!("{url} bad flag"));
    }
    // From .env and strata.toml too.
    let (url, secrets) = LEAKY_URLS[2];
    std::fs::write(dir.join(".env"), format!("DATABASE_URL={url}\n")).unwrap();
    assert_no_secret(&run_with(dir, &[("RUST_LOG", "trace")], &["validate"]), secrets, ".env");
    std::fs::remove_file(dir.join(".env")).unwrap();
    std::fs::write(dir.join("strata.toml"), format!("database_url = {url:?}\n")).unwrap();
    assert_no_secret(&run_with(dir, &[("RUST_LOG", "trace")], &["-vv", "validate"]), secrets, "strata.toml");
}

#[test]
fn passwords_never_leak_from_a_working_connection() {
    if !strata::testkit::postgres_available() {
        return;
    }
    let db = fresh_database(DialectKind::Postgres);
    let plain = db.url.connection_string();
    // The throwaway server trusts local connections, so any password gets in.
    let with_password = |password: &str, param: &str| {
        let url = plain.replacen("postgres://postgres@", &format!("postgres://postgres:{password}@"), 1);
        if param.is_empty() {
            url
        } else if url.contains('?') {
            format!("{url}&{param}")
        } else {
            format!("{url}?{param}")
        }
    };
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    for (url, secrets) in [
        (with_password("pa/ss?wd", ""), &["pa/ss?wd"][..]),
        (with_password("hunter%232", "application_name=x"), &["hunter%232", "hunter#2"]),
        (with_password("hunter1", "password=hunter2"), &["hunter1", "hunter2"]),
    ] {
        for (vars, args) in [
            (vec![], &["-vv", "upgrade", "--revision", "+1"][..]),
            (vec![("RUST_LOG", "trace")], &["upgrade", "--revision", "+1"]),
            (vec![("RUST_LOG", "trace")], &["--format", "json", "current"]),
            (vec![("ENV", "prod")], &["--format", "json", "upgrade", "--revision", "+1"]),
            (vec![("RUST_LOG", "trace")], &["validate"]),
            (vec![], &["downgrade", "--revision", "base"]),
        ] {
            let mut vars = vars.clone();
            vars.push(("DATABASE_URL", url.as_str()));
            let out = run_with(dir, &vars, args);
            assert!(out.status.success(), "{args:?}: {}", text(&out));
            assert_no_secret(&out, secrets, &format!("{args:?}"));
        }
    }
}

/// Runs the binary with stdout a pipe nobody reads any more.
fn run_into_closed_pipe(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env_remove("ENV").env_remove("RUST_LOG");
    command.envs(vars.iter().copied()).stdout(writer).output().expect("run the binary")
}

#[test]
fn a_closed_pipe_is_a_quiet_exit_not_a_panic() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let vars = [("DATABASE_URL", url.as_str()), ("STRATA_ENV", "dev")];
    // The work is done even though nobody reads what it prints.
    let out = run_into_closed_pipe(dir, &vars, &["upgrade"]);
    // Dev logs the lint errors that production would refuse, and nothing else.
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let other: Vec<&str> =
        stderr.lines().filter(|l| !l.contains("WARN strata::runner: lint (dev): ")).collect();
    assert_eq!((code(&out), other), (0, Vec::<&str>::new()), "{stderr}");
    assert_eq!(current(dir, &url, "dev"), HEAD);
    for args in [
        &["show", "766d"][..],
        &["--format", "json", "show", "766d"],
        &["history"],
        &["history", "--log"],
        &["upgrade", "--sql", "--allow-data-placeholders"],
        &["template", "--list"],
        &["validate"],
        &["current"],
    ] {
        let out = run_into_closed_pipe(dir, &vars, args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("panicked"), "{args:?}: {}", text(&out));
    }
}

#[test]
fn targets_parse_strictly_and_absurd_steps_are_an_error() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    for (args, expected) in [
        (&["upgrade", "--revision", "++1"][..], "\"++1\" is not a target"),
        (&["upgrade", "--revision", "+-1"], "\"+-1\" is not a target"),
        (&["downgrade", "--revision", "--1"], "\"--1\" is not a target"),
        (&["upgrade", "--revision", "+1.5"], "\"+1.5\" is not a target"),
        (&["upgrade", "--revision", "+99999999999999999999"], "more steps than any chain holds"),
        (&["downgrade", "--revision", "-99999999999999999999"], "more steps than any chain holds"),
        (&["upgrade", "--revision", "+9223372036854775807"], "goes past head"),
        (&["upgrade", "--sql", "--revision", "++1"], "\"++1\" is not a target"),
    ] {
        let out = run_in(dir, &url, "dev", args);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
    assert_eq!(current(dir, &url, "dev"), "base", "nothing was applied");
}

#[test]
fn a_database_at_an_unknown_revision_is_a_validation_failure() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    ok(run_in(dir, &url, "dev", &["upgrade"]));
    let db: strata::backend::DatabaseUrl = url.parse().unwrap();
    strata::backend::connect(&db)
        .unwrap()
        .execute("UPDATE strata_version SET revision = 'ffffffffffff'")
        .unwrap();
    for args in [&["current"][..], &["upgrade"], &["downgrade"], &["pending"], &["history"], &["validate"]] {
        let out = run_in(dir, &url, "dev", args);
        assert_eq!(code(&out), 1, "{args:?}: {}", text(&out));
        assert!(text(&out).contains("which this code does not know"), "{args:?}: {}", text(&out));
    }
}

/// The log subscriber is built only when a record can pass its filter: whatever filter it
/// ends up with, nothing that filter lets through is lost. RUST_LOG wins when valid; one that
/// tracing's parser rejects (here `a=b=error`, which reads as `error` at a glance) leaves
/// `-v`'s info level in force, as before.
#[test]
fn every_record_the_log_filter_lets_through_is_written() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let logs = |rust_log: Option<&str>, args: &[&str]| {
        let mut vars = vec![("DATABASE_URL", url.as_str())];
        vars.extend(rust_log.map(|v| ("RUST_LOG", v)));
        let out = run_with(dir, &vars, args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let rejected = logs(Some("error,a=b=error"), &["-v", "upgrade", "--revision", "+1"]);
    assert!(rejected.contains("INFO"), "-v applies when RUST_LOG is rejected: {rejected}");
    let quiet = logs(Some("error"), &["-v", "upgrade", "--revision", "+1"]);
    assert!(!quiet.contains("INFO"), "a valid RUST_LOG replaces -v: {quiet}");
    let loud = logs(Some("strata=debug"), &["upgrade", "--revision", "+1"]);
    assert!(loud.contains("DEBUG migration{"), "RUST_LOG=strata=debug, spans included: {loud}");
    let default = logs(None, &["-v", "upgrade", "--revision", "+1"]);
    assert!(default.contains("INFO"), "{default}");
}

/// The example binary with `args` (one shell word list) on a pseudo-terminal in dev, colour
/// left to the terminal check (or turned off with NO_COLOR); what the terminal showed.
fn on_a_terminal(dir: &Path, url: &str, args: &str, no_color: bool) -> String {
    let command = format!("{}{BIN} {args}", if no_color { "NO_COLOR=1 " } else { "env -u NO_COLOR " });
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("STRATA_ENV", "dev")
        .env_remove("RUST_LOG")
        .env_remove("CLICOLOR_FORCE")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn logs_are_coloured_only_where_stdout_would_be() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let esc = |out: &Output| String::from_utf8_lossy(&out.stderr).contains('\u{1b}');
    let piped = run_with(dir, &[("DATABASE_URL", &url)], &["-v", "upgrade", "--revision", "+1"]);
    assert!(piped.status.success() && !piped.stderr.is_empty(), "{}", text(&piped));
    assert!(!esc(&piped), "no colour on a piped stderr: {:?}", String::from_utf8_lossy(&piped.stderr));
    let forced = run_with(
        dir,
        &[("DATABASE_URL", &url), ("CLICOLOR_FORCE", "1")],
        &["-v", "upgrade", "--revision", "+1"],
    );
    assert!(esc(&forced), "CLICOLOR_FORCE colours logs: {}", text(&forced));
    // On a terminal: colour, unless NO_COLOR.
    let on_terminal = |no_color: bool| on_a_terminal(dir, &url, "-v upgrade --revision +1", no_color);
    let coloured = on_terminal(false);
    assert!(coloured.contains("\u{1b}[") && coloured.contains("INFO"), "{coloured:?}");
    let plain = on_terminal(true);
    assert!(!plain.contains('\u{1b}') && plain.contains("INFO"), "{plain:?}");
}

/// Each migration's line of an upgrade: dimmed durations on a terminal (whose kind strata asks
/// once a process, not at every line), none under NO_COLOR or when piped, and every line there
/// in each case.
#[test]
fn progress_lines_are_coloured_only_on_a_terminal() {
    const DIM: &str = "\u{1b}[2m";
    let applied = |out: &str| out.lines().filter(|l| l.contains("applied ")).count();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = |name: &str| format!("sqlite://{}", dir.join(name).display());
    let piped = ok(run_with(dir, &[("DATABASE_URL", &url("piped.db"))], &["upgrade"]));
    assert!(!piped.contains('\u{1b}'), "no colour when piped: {piped:?}");
    let all = applied(&piped);
    assert!(all > 2, "the example has several migrations: {piped}");
    let on_terminal = |db: &str, no_color: bool| on_a_terminal(dir, &url(db), "upgrade", no_color);
    let coloured = on_terminal("terminal.db", false);
    assert_eq!(applied(&coloured), all, "{coloured:?}");
    let dimmed = coloured.lines().filter(|l| l.contains("applied ") && l.contains(DIM)).count();
    assert_eq!(
        dimmed,
        all - 1,
        "a dimmed duration on each migration's line (not the summary's): {coloured:?}"
    );
    let plain = on_terminal("no-color.db", true);
    assert_eq!(applied(&plain), all, "{plain:?}");
    assert!(
        !plain.lines().any(|l| l.contains("applied ") && l.contains(DIM)),
        "NO_COLOR on a terminal: {plain:?}"
    );
}

/// `mode=ro` is honoured: upgrade fails with a clear error and the file is byte for byte the
/// same; a percent-encoded path names the decoded file; an unknown parameter is refused.
#[test]
fn sqlite_url_parameters_are_honoured_and_paths_decoded() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let file = dir.join("ro.db");
    let seeded = std::process::Command::new("/usr/bin/sqlite3")
        .arg(&file)
        .arg("CREATE TABLE keep (x INTEGER); INSERT INTO keep VALUES (1);")
        .status()
        .expect("sqlite3");
    assert!(seeded.success());
    let before = std::fs::read(&file).unwrap();
    let ro = format!("sqlite://{}?mode=ro", file.display());
    let out = run_in(dir, &ro, "dev", &["upgrade"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains(&format!("{ro} is read-only, so nothing was written")), "{}", text(&out));
    assert!(text(&out).contains("drop mode=ro"), "{}", text(&out));
    assert_eq!(std::fs::read(&file).unwrap(), before, "mode=ro wrote nothing");
    let names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["ro.db"], "no journal or other file either");
    assert!(ok(run_in(dir, &ro, "dev", &["current"])).contains("base"), "reading is fine");

    let encoded = format!("sqlite://{}/enc%20oded.db", dir.display());
    ok(run_in(dir, &encoded, "dev", &["upgrade"]));
    assert!(dir.join("enc oded.db").exists() && !dir.join("enc%20oded.db").exists());
    assert!(ok(run_in(dir, &encoded, "dev", &["current"])).contains(HEAD));

    let out = run_in(dir, &format!("sqlite://{}/x.db?journal=wal", dir.display()), "dev", &["upgrade"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("unknown parameter \"journal\""), "{}", text(&out));
    let out = run_in(dir, &format!("sqlite://{}/bad%zz.db", dir.display()), "dev", &["upgrade"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!dir.join("x.db").exists() && !dir.join("bad%zz.db").exists(), "refused URLs create nothing");

    // mode=rw needs the file; mode=memory never makes one.
    let out = run_in(dir, &format!("sqlite://{}/missing.db?mode=rw", dir.display()), "dev", &["upgrade"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("unable to open database file"), "{}", text(&out));
    let memory = format!("sqlite://{}/mem.db?mode=memory&cache=shared", dir.display());
    assert!(ok(run_in(dir, &memory, "dev", &["upgrade"])).contains("11 migration(s) applied"));
    assert!(!dir.join("missing.db").exists() && !dir.join("mem.db").exists());
}

/// The `--sql` script handed to a DBA: applied with the sqlite3 shell to a fresh database, it
/// leaves it at head by `current`, with a clean `validate`.
#[test]
fn an_offline_script_applied_by_the_sqlite_shell_leaves_the_database_at_head() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let file = dir.join("dba.db");
    let url = format!("sqlite://{}", file.display());
    let script = ok(run_in(dir, &url, "dev", &["upgrade", "--sql", "--allow-data-placeholders"]));
    let mut shell = Command::new("/usr/bin/sqlite3")
        .args(["-bail", "-cmd", "PRAGMA foreign_keys = ON"])
        .arg(&file)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3");
    use std::io::Write;
    shell.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let applied = shell.wait_with_output().unwrap();
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    assert!(ok(run_in(dir, &url, "dev", &["current"])).contains(&format!("{HEAD} (head)")));
    assert!(ok(run_in(dir, &url, "dev", &["validate"]))
        .contains("validation: success (0 error(s), 0 warning(s))"));
    assert!(ok(run_in(dir, &url, "dev", &["upgrade"])).contains("nothing to do"));
}

#[test]
fn json_errors_carry_the_exit_code_kind_message_and_remedy() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let error = |url: &str, env: &str, args: &[&str], expected: i32| {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let out = run_in(dir, url, env, &full);
        assert_eq!(code(&out), expected, "{args:?}: {}", text(&out));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON error on stdout");
        let error = value["error"].clone();
        assert_eq!(error["code"], expected, "{value}");
        let keys: Vec<_> = error.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["code", "kind", "message", "remedy"], "{value}");
        error
    };

    let e = error(&url, "dev", &["upgrade", "--revision", "nope"], 2);
    assert_eq!(e["kind"], "usage");
    assert!(e["message"].as_str().unwrap().contains("no revision matches \"nope\""), "{e}");
    assert!(e["remedy"].is_null(), "{e}");
    let e = error(&url, "dev", &["upgrade", "--frobnicate"], 2);
    assert_eq!(e["kind"], "usage", "clap's errors too: {e}");
    assert!(e["message"].as_str().unwrap().contains("--frobnicate"), "{e}");

    // A corrupt version table: the remedy apart from the message, in the CLI's words.
    ok(run_in(dir, &url, "dev", &["upgrade", "--revision", "+2"]));
    let db: strata::backend::DatabaseUrl = url.parse().unwrap();
    strata::backend::connect(&db).unwrap().execute("UPDATE strata_version SET revision = NULL").unwrap();
    let e = error(&url, "dev", &["current"], 4);
    assert_eq!(e["kind"], "database");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("is corrupt") && !message.contains("stamp"), "{e}");
    assert!(e["remedy"].as_str().unwrap().contains("`stamp <revision>`"), "{e}");

    // A refused rollback names the flags that get past it.
    if let Some((_db, url, _work)) = upgraded_postgres() {
        let e = error(&url, "staging", &["downgrade"], 3);
        assert_eq!(e["kind"], "refused");
        assert_eq!(e["message"], "rolling back in staging needs confirmation");
        assert_eq!(e["remedy"], "answer y at the prompt, or pass --force");
        let e = error(&url, "prod", &["downgrade", "--force"], 3);
        assert!(e["remedy"].as_str().unwrap().contains("--force --yes-i-am-sure"), "{e}");
    }
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = ok(run_in(dir.path(), "sqlite::memory:", "dev", &["completions", shell]));
        assert!(script.contains("strata-example"), "{shell}: {script}");
        assert!(script.contains("upgrade") && script.contains("downgrade"), "{shell}: {script}");
    }
    let unknown = run_in(dir.path(), "sqlite::memory:", "dev", &["completions", "tcsh"]);
    assert_eq!(code(&unknown), 2, "{}", text(&unknown));
}

#[test]
fn every_commands_help_shows_an_example_with_the_binarys_name() {
    let dir = tempfile::tempdir().unwrap();
    let help = ok(run_in(dir.path(), "sqlite::memory:", "dev", &["--help"]));
    let commands: Vec<&str> = help
        .split_once("Commands:\n")
        .expect("a commands list")
        .1
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 16, "{commands:?}");
    for command in commands {
        let help = ok(run_in(dir.path(), "sqlite::memory:", "dev", &[command, "--help"]));
        let examples = help.split_once("Examples:\n").unwrap_or_else(|| panic!("{command}: {help}")).1;
        assert!(examples.contains(&format!("  strata-example {command}")), "{command}: {examples}");
    }
}

#[test]
fn history_graph_draws_the_revision_graph_with_what_is_applied() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    ok(run_in(dir, &url, "dev", &["upgrade", "--revision", "+2"]));
    let drawn = ok(run_in(dir, &url, "dev", &["history", "--graph"]));
    let lines: Vec<&str> = drawn.lines().collect();
    assert_eq!(lines.len(), 11, "one lane, one line per revision:\n{drawn}");
    assert!(lines[0].starts_with(&format!("*  [ ] {HEAD}")) && lines[0].ends_with("(head)"), "{drawn}");
    assert!(lines[9].starts_with("*  [x] eae66c76ec57") && lines[9].ends_with("(current)"), "{drawn}");
    assert!(lines[10].starts_with("*  [x] 8298645ff74b"), "{drawn}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(run_in(dir, &url, "dev", &["--format", "json", "history", "--graph"])))
            .unwrap();
    let nodes = json.as_array().expect("an array of revisions");
    assert_eq!(nodes.len(), 11);
    assert_eq!(nodes[10]["parents"], serde_json::json!([]));
    assert_eq!(nodes[9]["parents"], serde_json::json!(["8298645ff74b"]));
    assert_eq!((nodes[9]["applied"].as_bool(), nodes[0]["applied"].as_bool()), (Some(true), Some(false)));
    let both = run_in(dir, &url, "dev", &["history", "--graph", "--log"]);
    assert_eq!(code(&both), 2, "{}", text(&both));
}

#[test]
fn graph_exports_dot_and_mermaid_without_a_database() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // No database is opened: an unreachable server does not matter.
    let url = "postgres://nobody@127.0.0.1:1/none?connect_timeout=1";
    let dot = ok(run_in(dir, url, "dev", &["graph", "--format", "dot"]));
    assert!(dot.starts_with("digraph revisions {") && dot.trim_end().ends_with('}'), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), 10, "an edge per parent:\n{dot}");
    assert!(dot.contains(&format!("\"{HEAD}\" -> \"6c809c9cc13d\";")), "{dot}");
    let mermaid = ok(run_in(dir, url, "dev", &["graph", "--format", "mermaid"]));
    assert!(mermaid.starts_with("flowchart BT\n") && mermaid.matches(" --> ").count() == 10, "{mermaid}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(run_in(dir, url, "dev", &["graph", "--format", "json"]))).unwrap();
    assert_eq!(json["heads"], serde_json::json!([HEAD]));
    assert_eq!(json["revisions"].as_array().map(Vec::len), Some(11));
    let elsewhere = run_in(dir, url, "dev", &["--format", "dot", "current"]);
    assert_eq!(code(&elsewhere), 2, "{}", text(&elsewhere));
    assert!(text(&elsewhere).contains("are for `graph`"), "{}", text(&elsewhere));
}

#[test]
fn lint_reports_stable_codes_and_fails_on_errors() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // Offline: no server is contacted.
    let url = "postgres://nobody@127.0.0.1:1/none";
    let out = run_in(dir, url, "dev", &["lint"]);
    assert_eq!(code(&out), 1, "the example has error findings: {}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("S013 error   da51e7982e60 op 2 (create_index ux_users_email on users)"),
        "{printed}"
    );
    assert!(printed.contains("for PostgreSQL 11"), "{printed}");

    let out = run_in(dir, url, "dev", &["--format", "json", "lint", "--pg-version", "16"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let first = &findings.as_array().expect("an array")[0];
    for key in ["code", "severity", "revision", "op", "message", "remedy"] {
        assert!(first[key].is_string(), "{key}: {first}");
    }
    // On 16, the slug's SET NOT NULL is still a scan (no check proves it), 11's remedy differs.
    let set_not_null = findings.as_array().unwrap().iter().find(|f| f["code"] == "S008").expect("S008");
    assert!(
        set_not_null["remedy"].as_str().unwrap().contains("PostgreSQL 16 skip the scan"),
        "{set_not_null}"
    );

    // Declared empty, the tables' lock findings go; renames and drops stay.
    let out =
        run_in(dir, url, "dev", &["lint", "--empty", "users", "--empty", "posts", "--empty", "comments"]);
    let printed = text(&out);
    assert!(!printed.contains("S013"), "{printed}");
    assert!(printed.contains("S009"), "{printed}");

    let out = run_in(dir, url, "dev", &["lint", "--pg-version", "sixteen"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("\"sixteen\" is not a PostgreSQL major version"), "{}", text(&out));
    let out = run_in(dir, url, "dev", &["lint", "--pg-version", "9"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("older than strata's lock facts cover"), "{}", text(&out));

    // The script shows the facts for the version asked for.
    let script = ok(run_in(dir, url, "dev", &["--pg-version", "16", "show", "eda7"]));
    assert!(
        script.contains("-- locks posts: SHARE; rewrites: no; scans: yes\nCREATE UNIQUE INDEX"),
        "{script}"
    );
    assert!(script.contains("on PostgreSQL 16"), "{script}");
}

#[test]
fn validate_on_postgresql_warns_of_the_lint_errors_of_pending_migrations() {
    if !strata::testkit::postgres_available() {
        return;
    }
    let db = fresh_database(DialectKind::Postgres);
    let url = db.url.connection_string();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // The server's own version is read: a supported one is what the installed server runs.
    let mut conn = connect(&db);
    let num = conn.server_version_num().expect("SHOW server_version_num").expect("a number");
    let major = strata::locks::PgMajor::from_server_version_num(num).expect("a supported server");
    // The migrations as written: dev would otherwise judge them as production's default
    // rewriting runs them (an index built concurrently is nothing to warn of).
    std::fs::write(dir.join("strata.toml"), "rewrite = false\n").unwrap();
    ok(run_in(dir, &url, "dev", &["upgrade", "--revision", "766dfe9292c9"]));
    let out = run_in(dir, &url, "dev", &["--format", "json", "validate"]);
    let validation: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let warnings: Vec<&str> =
        validation["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("pending da51e7982e60: lint S013 error da51e7982e60 op 2")),
        "{warnings:?}"
    );
    // Only errors: the renames (warnings) of pending migrations are lint's to show.
    assert!(!warnings.iter().any(|w| w.contains("lint S009")), "{warnings:?}");
    // Judged for the server's version: PostgreSQL 12 and later name their own scan-free remedy.
    if major.get() >= 12 {
        let s008 = warnings.iter().find(|w| w.contains("lint S008")).expect("S008");
        assert!(s008.contains(&format!("PostgreSQL {major} skip the scan")), "{s008}");
    }
    ok(run_in(dir, &url, "dev", &["upgrade"]));
    let out = ok(run_in(dir, &url, "dev", &["validate"]));
    assert!(!out.contains("lint"), "nothing pending, nothing linted: {out}");
}

#[test]
fn production_offline_sql_rewrites_for_12_and_later_unless_told_the_server_is_11() {
    // Offline, nothing says which server will run the script: the rewrite is rendered in its
    // form for 12 and later (valid SQL everywhere) and the header says what 11 would do; told
    // the server is 11, the NOT NULL rewrite is refused by name.
    let work = tempfile::tempdir().unwrap();
    let url = "postgres://app@db.invalid/app";
    let args = ["upgrade", "--sql", "--allow-data-placeholders"];
    let script = ok(run_in(work.path(), url, "prod", &args));
    assert!(
        script.contains("-- rewritten lock-safely for PostgreSQL 12 or later (no --pg-version given)"),
        "{script}"
    );
    assert!(script.contains("VALIDATE CONSTRAINT") && script.contains("CONCURRENTLY"), "{script}");
    let eleven = run_in(
        work.path(),
        url,
        "prod",
        &["upgrade", "--sql", "--allow-data-placeholders", "--pg-version", "11"],
    );
    assert_eq!(code(&eleven), 2, "{}", text(&eleven));
    assert!(
        text(&eleven).contains("alter_column posts.slug")
            && text(&eleven).contains("too old for this rewrite"),
        "{}",
        text(&eleven)
    );
    let fifteen = ok(run_in(
        work.path(),
        url,
        "prod",
        &["upgrade", "--sql", "--allow-data-placeholders", "--pg-version", "15"],
    ));
    assert!(!fifteen.contains("no --pg-version given"), "{fifteen}");
}
