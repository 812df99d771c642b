//! Lint acknowledgements and the environment's enforcement, through the application API on
//! real databases: production refuses an unacknowledged error finding and leaves the database
//! as it was; the same migration with `op.allow` applies, and the history says why; dev and
//! staging apply with warnings; acknowledgements are part of the checksum; an acknowledgement
//! of an unknown rule is refused everywhere.

mod common;

use common::*;
use strata::config::{Environment, Overrides, Settings};
use strata::graph::Target;
use strata::lint::Finding;
use strata::manager::ManagerError;
use strata::ops::{DialectKind, Ops};
use strata::prelude::*;
use strata::runner::Listener;
use strata::{Migration, MigrationManager, MigrationSet};

fn create_items(op: &mut Ops) {
    op.create_table(
        Table::new("items")
            .column(Column::new("id", Type::BigInt).autoincrement())
            .column(Column::new("name", Type::Text).nullable()),
    );
}

fn index_items(op: &mut Ops) {
    op.create_index(Index::new("ix_items_name", "items", ["name"]));
}

const A1_FIELDS: Migration = Migration {
    revision: "a1",
    parents: &[],
    message: "create items",
    created: "2026-11-24T00:00:00Z",
    upgrade: create_items,
    downgrade: |op| {
        op.drop_table("items");
    },
    file: "a1.rs",
    transactional: true,
    replaces: &[],
};
static A1: Migration = A1_FIELDS;

/// An index built without CONCURRENTLY on a table an earlier migration created: S013, an error.
const B2_FIELDS: Migration = Migration {
    revision: "b2",
    parents: &["a1"],
    message: "index items",
    created: "2026-11-25T00:00:00Z",
    upgrade: index_items,
    downgrade: |op| {
        op.drop_index("ix_items_name", "items");
    },
    file: "b2.rs",
    transactional: true,
    replaces: &[],
};
static B2: Migration = B2_FIELDS;

const REASON: &str = "items holds a few hundred rows: the index builds in milliseconds";

/// B2 acknowledging S013.
static B2_ALLOWED: Migration = Migration {
    upgrade: |op| {
        index_items(op);
        op.allow("S013", REASON);
    },
    ..B2_FIELDS
};

/// B2 acknowledging a code that is no rule's.
static B2_UNKNOWN: Migration = Migration {
    upgrade: |op| {
        index_items(op);
        op.allow("S13", "typo");
    },
    ..B2_FIELDS
};

fn set(b2: &'static Migration) -> MigrationSet {
    MigrationSet::new(vec![&A1, b2]).expect("a chain")
}

/// A manager for `env` with lock-safe rewriting off: these tests judge the ops as written
/// (with rewriting on, staging and prod build the index concurrently and S013 is not reported).
fn manager(b2: &'static Migration, env: Environment, db: &TestDatabase) -> MigrationManager {
    manager_with(b2, env, db, false)
}

/// A manager for `env` with the environment's rewriting default (on in staging and prod).
fn manager_rewriting(b2: &'static Migration, env: Environment, db: &TestDatabase) -> MigrationManager {
    manager_with(b2, env, db, true)
}

fn manager_with(
    b2: &'static Migration,
    env: Environment,
    db: &TestDatabase,
    rewriting_default: bool,
) -> MigrationManager {
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        env: Some(env.as_str().into()),
        database_url: Some(db.url.connection_string()),
        ..Overrides::default()
    };
    let mut settings = Settings::load(&overrides, dir.path()).unwrap_or_else(|e| panic!("settings: {e}"));
    settings.rewrite &= rewriting_default;
    MigrationManager::new(set(b2), settings)
}

/// The findings a run let through, as (environment, code, acknowledged).
#[derive(Default)]
struct Heard(Vec<(Environment, &'static str, Option<String>)>);

impl Listener for Heard {
    fn lint_finding(&mut self, env: Environment, finding: &Finding) {
        self.0.push((env, finding.code, finding.acknowledged.clone()));
    }
}

fn at_a1(kind: DialectKind) -> TestDatabase {
    let db = fresh_database(kind);
    let report =
        manager(&B2, Environment::Dev, &db).run_migrations(&"a1".parse().unwrap(), &mut Heard::default());
    assert_eq!(report.expect("a1 applies").applied.len(), 1);
    db
}

/// The version, the history's length, and whether the index exists.
fn state(db: &TestDatabase) -> (Option<String>, usize, bool) {
    let mut conn = connect(db);
    let version = conn.current_revision().unwrap();
    let history = conn.history().unwrap().len();
    let indexed = table(conn.as_mut(), "items").indexes.iter().any(|i| i.name == "ix_items_name");
    (version, history, indexed)
}

#[test]
fn production_refuses_an_unacknowledged_error_and_leaves_the_database_untouched() {
    let db = at_a1(DialectKind::Postgres);
    let before = state(&db);
    assert_eq!(before, (Some("a1".into()), 1, false));
    let prod = manager(&B2, Environment::Prod, &db);

    let mut heard = Heard::default();
    let refused = prod.start_up(&mut heard).unwrap_err();
    let ManagerError::LintRefused(findings) = &refused else { panic!("start-up: {refused:?}") };
    assert_eq!(findings.iter().map(|f| (f.revision.as_str(), f.code)).collect::<Vec<_>>(), [("b2", "S013")]);
    let text = refused.to_string();
    for part in [
        "production refuses to apply migrations with unacknowledged lint errors, and nothing was applied",
        "b2 op 1 (create_index ix_items_name on items): S013 ",
        "Remedy: ",
        "op.allow(\"S013\", \"<why it is safe here>\") in the upgrade of b2",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
    assert_eq!(refused.kind().exit_code(), 1);
    assert_eq!(state(&db), before, "start-up left the database untouched");

    let refused = prod.run_migrations(&Target::Head, &mut heard).unwrap_err();
    assert!(matches!(refused, ManagerError::LintRefused(_)), "upgrade: {refused:?}");
    assert_eq!(state(&db), before, "upgrade left the database untouched");
    assert!(heard.0.is_empty(), "refused, not warned: {:?}", heard.0);

    // validate says so too, as an error in production, with the finding in its JSON.
    let validation = prod.validate_migrations();
    assert!(validation.is_error(), "{validation:?}");
    assert!(
        validation.errors.iter().any(|e| e.contains("S013") && e.contains("op.allow(\"S013\"")),
        "{validation:?}"
    );
    let s013 = validation.findings.iter().find(|f| f.code == "S013").expect("the finding");
    assert_eq!(s013.acknowledged, None);
    let json = serde_json::to_value(&validation).unwrap();
    assert_eq!(json["findings"][0]["code"], "S013", "{json}");
    assert!(json["findings"][0]["acknowledged"].is_null(), "{json}");
}

#[test]
fn the_acknowledged_migration_applies_in_production_and_the_history_says_why() {
    let db = at_a1(DialectKind::Postgres);
    let prod = manager(&B2_ALLOWED, Environment::Prod, &db);
    let validation = prod.validate_migrations();
    assert!(!validation.is_error(), "{validation:?}");
    let s013 = validation.findings.iter().find(|f| f.code == "S013").expect("still reported");
    assert_eq!(s013.acknowledged.as_deref(), Some(REASON));

    let mut heard = Heard::default();
    let report = prod.start_up(&mut heard).expect("acknowledged: applies");
    assert_eq!(report.applied.len(), 1);
    assert!(heard.0.contains(&(Environment::Prod, "S013", Some(REASON.into()))), "{:?}", heard.0);
    let (version, _, indexed) = state(&db);
    assert_eq!((version.as_deref(), indexed), (Some("b2"), true));

    let history = prod.migration_history().unwrap();
    let row = history.iter().rev().find(|r| r.revision == "b2").unwrap();
    assert_eq!(row.acknowledgements(), [("S013", REASON)]);
    assert_eq!(row.checksum.as_deref(), Some(strata::checksum::of(&B2_ALLOWED).as_str()));
    assert!(history.iter().filter(|r| r.revision == "a1").all(|r| r.acknowledged.is_none()));

    // The acknowledgement is part of the checksum: the same ops without it are drift.
    assert_ne!(strata::checksum::of(&B2_ALLOWED), strata::checksum::of(&B2));
    let drifted = manager(&B2, Environment::Prod, &db).validate_migrations();
    assert!(
        drifted.errors.iter().any(|e| e.contains("b2") && e.contains("changed since it was applied")),
        "{drifted:?}"
    );
}

/// A1's table acknowledging S013, which its upgrade never triggers.
static A1_NEEDLESS: Migration = Migration {
    upgrade: |op| {
        create_items(op);
        op.allow("S013", "nothing to acknowledge");
    },
    ..A1_FIELDS
};

#[test]
fn an_acknowledgement_nothing_needs_is_a_validate_warning() {
    let db = fresh_database(DialectKind::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides { database_url: Some(db.url.connection_string()), ..Overrides::default() };
    let settings = Settings::load(&overrides, dir.path()).unwrap();
    let set = MigrationSet::new(vec![&A1_NEEDLESS, &B2]).unwrap();
    let validation = MigrationManager::new(set, settings).validate_migrations();
    assert!(!validation.is_error(), "{validation:?}");
    let warning = validation
        .warnings
        .iter()
        .find(|w| w.contains("pending a1 acknowledges S013"))
        .unwrap_or_else(|| panic!("{validation:?}"));
    assert!(
        warning.contains("(require-concurrent-index-creation), but the lint finds nothing of that rule"),
        "{warning}"
    );
}

#[test]
fn dev_and_staging_apply_with_warnings() {
    // Dev on SQLite too: the code runs on PostgreSQL in production, so its findings count
    // (those production's default rewriting leaves).
    for (kind, env) in [
        (DialectKind::Sqlite, Environment::Dev),
        (DialectKind::Postgres, Environment::Dev),
        (DialectKind::Postgres, Environment::Staging),
    ] {
        for explicit in [false, true] {
            let db = at_a1(kind);
            let m = manager(&B2, env, &db);
            let mut heard = Heard::default();
            let report =
                if explicit { m.run_migrations(&Target::Head, &mut heard) } else { m.start_up(&mut heard) };
            assert_eq!(report.unwrap_or_else(|e| panic!("{kind} {env}: {e}")).applied.len(), 1);
            if env == Environment::Dev {
                // Dev warns of what production would refuse, and production builds the index
                // concurrently by default (lock-safe rewriting): nothing to warn of.
                assert!(heard.0.is_empty(), "{kind} {env}: {:?}", heard.0);
            } else {
                // This staging runs the migrations as written (rewrite off: see `manager`).
                assert!(heard.0.contains(&(env, "S013", None)), "{kind} {env}: {:?}", heard.0);
            }
            assert_eq!(state(&db).0.as_deref(), Some("b2"));
            // Nothing pending: nothing to say.
            let mut again = Heard::default();
            m.start_up(&mut again).unwrap();
            assert!(again.0.is_empty(), "{:?}", again.0);
        }
    }
}

#[test]
fn an_acknowledgement_of_an_unknown_rule_is_refused_everywhere() {
    for (kind, env) in [(DialectKind::Sqlite, Environment::Dev), (DialectKind::Postgres, Environment::Prod)] {
        let db = at_a1(kind);
        let before = state(&db);
        let m = manager(&B2_UNKNOWN, env, &db);
        let validation = m.validate_migrations();
        let error = validation
            .errors
            .iter()
            .find(|e| e.contains("\"S13\""))
            .unwrap_or_else(|| panic!("{validation:?}"));
        assert!(
            error.contains(
                "migration b2 acknowledges \"S13\", which is not a lint rule code (did you mean S013?)"
            ),
            "{error}"
        );
        assert!(error.contains("S001, S002"), "lists the codes: {error}");

        let refused = m.start_up(&mut Heard::default()).unwrap_err();
        assert!(matches!(refused, ManagerError::Invalid(_)), "{kind} {env} start-up: {refused:?}");
        assert!(refused.to_string().contains("did you mean S013?"), "{refused}");
        let refused = m.run_migrations(&Target::Head, &mut Heard::default()).unwrap_err();
        assert!(
            matches!(refused, ManagerError::Acknowledgements(_) | ManagerError::Invalid(_)),
            "{kind} {env} upgrade: {refused:?}"
        );
        assert!(refused.to_string().contains("did you mean S013?"), "{refused}");
        assert_eq!(refused.kind().exit_code(), 1);
        assert_eq!(state(&db), before);
    }
}

/// A proxy in front of the test server's Unix socket that counts the round trips clients
/// make (each simple query, each Sync of the extended protocol), and the URL through it.
fn counting_proxy(url: &str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>, tempfile::TempDir) {
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let rest = url.strip_prefix("postgres://postgres@").expect("a testkit URL");
    let (host, rest) = rest.rsplit_once(':').expect("host:port");
    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let mut dir = String::new();
    let bytes = host.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            dir.push(u8::from_str_radix(&host[i + 1..i + 3], 16).unwrap() as char);
            i += 3;
        } else {
            dir.push(bytes[i] as char);
            i += 1;
        }
    }
    let server = format!("{dir}/.s.PGSQL.{port}");
    let here = tempfile::tempdir().unwrap();
    let listener = UnixListener::bind(here.path().join(format!(".s.PGSQL.{port}"))).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let mut upstream = UnixStream::connect(&server).unwrap();
            let (mut down_from, mut down_to) = (upstream.try_clone().unwrap(), client.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut down_from, &mut down_to));
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut read_exact = |n: usize| -> Option<Vec<u8>> {
                    let mut buf = vec![0; n];
                    client.read_exact(&mut buf).ok().map(|_| buf)
                };
                // The startup message: a length, no type byte.
                let Some(len) = read_exact(4) else { return };
                let n = u32::from_be_bytes(len[..4].try_into().unwrap()) as usize;
                let Some(body) = read_exact(n - 4) else { return };
                upstream.write_all(&[len, body].concat()).unwrap();
                loop {
                    let Some(head) = read_exact(5) else { return };
                    if matches!(head[0], b'Q' | b'S') {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    let n = u32::from_be_bytes(head[1..5].try_into().unwrap()) as usize;
                    let Some(body) = read_exact(n - 4) else { return };
                    if upstream.write_all(&[head, body].concat()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let proxied = format!("postgres://postgres@{}:{rest}", strata::testkit::encode_host(here.path()));
    (proxied, count, here)
}

#[test]
fn the_nothing_pending_start_up_costs_no_round_trip_more() {
    use std::sync::atomic::Ordering;
    let db = at_a1(DialectKind::Postgres);
    manager(&B2_ALLOWED, Environment::Dev, &db).start_up(&mut Heard::default()).unwrap();
    let (url, count, _dir) = counting_proxy(&db.url.connection_string());
    for (env, expected) in [(Environment::Dev, 3), (Environment::Prod, 3)] {
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            env: Some(env.as_str().into()),
            database_url: Some(url.clone()),
            ..Overrides::default()
        };
        let m = MigrationManager::new(set(&B2_ALLOWED), Settings::load(&overrides, dir.path()).unwrap());
        count.store(0, Ordering::SeqCst);
        drop(m.connect().unwrap());
        let bare = count.swap(0, Ordering::SeqCst);
        assert!(m.start_up(&mut Heard::default()).unwrap().applied.is_empty());
        let start_up = count.swap(0, Ordering::SeqCst);
        // The version and the history (validate: the server's version only when something
        // is pending), the version again (one read for production's start-up rule, what is
        // pending, and the run).
        assert_eq!(start_up - bare, expected, "{env}: start-up {start_up}, bare connect {bare}");
        // The upgrade command reads the version once, for the lint and the run (prod's
        // validation first reads it and the history).
        let report = m
            .run_migrations_in(
                &Target::Head,
                strata::runner::TransactionMode::PerMigration,
                &mut Heard::default(),
            )
            .unwrap();
        assert!(report.applied.is_empty());
        let upgrade = count.swap(0, Ordering::SeqCst);
        let expected = if env == Environment::Prod { 3 } else { 1 };
        assert_eq!(upgrade - bare, expected, "{env}: upgrade {upgrade}, bare connect {bare}");
        // A rollback with nothing to revert reads the version once, for its plan and its run
        // (production refuses a rollback without --force before it looks).
        if env == Environment::Prod {
            continue;
        }
        let mut db = m.connect().unwrap();
        count.store(0, Ordering::SeqCst);
        let target: Target = "b2".parse().unwrap();
        let said = strata::policy::Confirmation::default();
        let report = m.rollback_migration_on(db.as_mut(), &target, &said, &mut Heard::default()).unwrap();
        assert!(report.applied.is_empty());
        assert_eq!(count.swap(0, Ordering::SeqCst), 1, "{env}: a rollback with nothing to revert");
    }
}

#[test]
fn an_offline_script_records_the_acknowledgements_as_an_online_run_does() {
    let db = at_a1(DialectKind::Postgres);
    let prod = manager(&B2_ALLOWED, Environment::Prod, &db);
    let sql = prod
        .offline_sql(strata::backend::Direction::Up, &"a1".parse().unwrap(), &Target::Head, false)
        .unwrap();
    let script = strata::offline::script(&sql);
    assert!(script.contains("ADD COLUMN IF NOT EXISTS \"acknowledged\" TEXT"), "{script}");
    connect(&db).execute(&script).unwrap_or_else(|e| panic!("{e}\n{script}"));
    let history = prod.migration_history().unwrap();
    let row = history.iter().rev().find(|r| r.revision == "b2").unwrap();
    assert_eq!(row.acknowledgements(), [("S013", REASON)]);
    assert!(!prod.validate_migrations().is_error(), "no drift: the same checksum as online");

    // SQLite (dev) states them in a comment.
    let dev = manager(&B2_ALLOWED, Environment::Dev, &fresh_database(DialectKind::Sqlite));
    let sql = dev.offline_sql(strata::backend::Direction::Up, &Target::Base, &Target::Head, false).unwrap();
    let script = strata::offline::script(&sql);
    assert!(script.contains(&format!("-- acknowledged S013: {REASON} (")), "{script}");
}

#[test]
fn production_does_not_count_on_the_rewrite_for_a_grouped_upgrade_which_is_never_rewritten() {
    let db = at_a1(DialectKind::Postgres);
    let before = state(&db);
    let prod = manager_rewriting(&B2, Environment::Prod, &db);
    // Grouped: the index would be built as written (no CONCURRENTLY), so S013 stands.
    let refused = prod
        .run_migrations_in(&Target::Head, strata::runner::TransactionMode::Grouped, &mut Heard::default())
        .unwrap_err();
    let ManagerError::LintRefused(findings) = &refused else { panic!("grouped: {refused:?}") };
    assert_eq!(findings.iter().map(|f| f.code).collect::<Vec<_>>(), ["S013"]);
    assert_eq!(state(&db), before, "nothing applied");
    // Per migration, the rewrite builds it concurrently: nothing to refuse.
    prod.run_migrations(&Target::Head, &mut Heard::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut conn = connect(&db);
    assert_eq!(
        rows(
            conn.as_mut(),
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_items_name'::regclass"
        ),
        ["\"true\""]
    );
}

/// B2 with its acknowledgement in the downgrade, where nothing is linted.
static B2_ALLOWED_DOWN: Migration = Migration {
    downgrade: |op| {
        op.drop_index("ix_items_name", "items");
        op.allow("S013", REASON);
    },
    ..B2_FIELDS
};

#[test]
fn an_acknowledgement_in_the_downgrade_is_an_error_not_silently_ignored() {
    let db = at_a1(DialectKind::Postgres);
    let validation = manager(&B2_ALLOWED_DOWN, Environment::Prod, &db).validate_migrations();
    assert!(
        validation.errors.iter().any(|e| e.contains("b2 calls op.allow(\"S013\", ..) in its downgrade")
            && e.contains("move it into the upgrade")),
        "{:?}",
        validation.errors
    );
    let refused = manager(&B2_ALLOWED_DOWN, Environment::Prod, &db)
        .run_migrations(&Target::Head, &mut Heard::default())
        .unwrap_err();
    assert!(matches!(refused, ManagerError::Invalid(_)), "{refused:?}");
    assert_eq!(state(&db).0.as_deref(), Some("a1"), "nothing applied");
}

#[test]
fn with_rewriting_on_production_builds_the_index_concurrently_and_nothing_needs_acknowledging() {
    let db = at_a1(DialectKind::Postgres);
    let mut prod = manager(&B2, Environment::Prod, &db);
    // The production default.
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        env: Some("prod".into()),
        database_url: Some(db.url.connection_string()),
        ..Overrides::default()
    };
    let settings = Settings::load(&overrides, dir.path()).unwrap();
    assert!(settings.rewrite, "on by default in production");
    prod = MigrationManager::new(set(&B2), settings).with_pg_major(prod.pg_major());
    let mut heard = Heard::default();
    let report = prod.start_up(&mut heard).unwrap_or_else(|e| panic!("start-up: {e}"));
    assert_eq!(report.applied.len(), 1);
    assert!(heard.0.is_empty(), "nothing reported: {:?}", heard.0);
    let mut conn = connect(&db);
    assert_eq!(
        rows(
            conn.as_mut(),
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'ix_items_name'::regclass"
        ),
        ["\"true\""]
    );
    assert_eq!(conn.current_revision().unwrap().as_deref(), Some("b2"));
}
