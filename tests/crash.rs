//! Crash safety: the example binary is killed with SIGKILL at random moments while it
//! migrates. After each kill the version table must match the live schema exactly (compared,
//! through introspection, with the schema a reference database has at that revision), and a
//! rerun must complete. `cargo test` runs a reduced number of trials per engine;
//! `STRATA_CRASH_TRIALS=100 cargo test --test crash -- --include-ignored` runs the full set.

mod common;

use common::*;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use strata::graph::Target;
use strata::ops::DialectKind;
use strata::runner::Runner;
use strata::schema::Schema;

const BIN: &str = env!("CARGO_BIN_EXE_strata-example");

fn runner() -> Runner {
    Runner::new(app_migrations::migrations().expect("registry"))
}

/// The schema at every revision (and at base), from a reference database migrated step by step.
fn expected_schemas(kind: DialectKind) -> HashMap<Option<String>, Schema> {
    let (_db, mut conn) = open(kind);
    let runner = runner();
    let mut schemas = HashMap::from([(None, schema(conn.as_mut()))]);
    for m in runner.migrations().migrations() {
        runner.upgrade(conn.as_mut(), &Target::Revision(m.revision.into())).expect("reference upgrade");
        schemas.insert(Some(m.revision.to_string()), schema(conn.as_mut()));
    }
    schemas
}

/// A small deterministic generator, seeded per run and printed, so a failure can be replayed.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn trials(kind: DialectKind, count: usize) {
    let expected = expected_schemas(kind);
    let runner = runner();
    let seed = std::env::var("STRATA_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64)
    });
    eprintln!("[{kind}] {count} crash trials, STRATA_CRASH_SEED={seed}");
    let mut rng = Lcg(seed);
    // How long a whole run takes here, so kills land anywhere in it.
    let db = fresh_database(kind);
    let started = Instant::now();
    let full =
        Command::new(BIN).arg("upgrade").env("DATABASE_URL", db.url.connection_string()).output().unwrap();
    assert!(full.status.success());
    let window = (started.elapsed().as_micros() as u64).max(1000);
    let mut killed_mid_run = 0;
    for trial in 0..count {
        let db = fresh_database(kind);
        let url = db.url.connection_string();
        let mut child = Command::new(BIN)
            .arg("upgrade")
            .env("DATABASE_URL", &url)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(window)));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok();
        child.wait().unwrap();
        killed_mid_run += usize::from(!finished);

        let mut conn = connect(&db);
        if kind == DialectKind::Postgres {
            // The killed client's server sessions may still finish what they were sent (a
            // batch ending in COMMIT); judge the database once they are gone, or the version
            // and the schema would be read on either side of that commit.
            let others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                          AND pid <> pg_backend_pid()";
            let waited = Instant::now();
            while rows(conn.as_mut(), others) != ["0"] {
                assert!(
                    waited.elapsed() < Duration::from_secs(30),
                    "[{kind}] the killed run's sessions linger"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let at = runner.current(conn.as_mut()).unwrap_or_else(|e| panic!("[{kind}] trial {trial}: {e}"));
        let at = at.last().map(|m| m.revision.to_string());
        let live = schema(conn.as_mut());
        assert_eq!(
            &live, &expected[&at],
            "[{kind}] trial {trial} (seed {seed}): the version table says {at:?} but the schema differs"
        );
        let rerun = Command::new(BIN).arg("upgrade").env("DATABASE_URL", &url).output().unwrap();
        assert!(
            rerun.status.success(),
            "[{kind}] trial {trial}: rerun failed: {}",
            String::from_utf8_lossy(&rerun.stderr)
        );
        assert_eq!(
            schema(conn.as_mut()),
            expected[&Some(runner.migrations().head().unwrap().revision.to_string())]
        );
    }
    eprintln!("[{kind}] {count} trials, {killed_mid_run} killed mid-run; all consistent");
}

fn count(default: usize) -> usize {
    std::env::var("STRATA_CRASH_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

#[test]
fn killed_migrations_leave_version_and_schema_consistent() {
    for kind in engines() {
        trials(kind, count(12));
    }
}

#[test]
#[ignore = "the full run: 100 trials per engine (about a minute)"]
fn killed_migrations_leave_version_and_schema_consistent_100_trials() {
    for kind in engines() {
        trials(kind, count(100));
    }
}
