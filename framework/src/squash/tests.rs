use super::*;
use crate::ops::{Column, ForeignKey, Index, Table};
use crate::plan::Revision;
use crate::scratch::SqliteMemory;
use std::collections::BTreeMap;

/// A migration for a test set: the one place that builds `Migration` values here.
fn migration(
    revision: &'static str,
    parent: Option<&'static str>,
    upgrade: fn(&mut Ops),
    downgrade: fn(&mut Ops),
) -> &'static Migration {
    Box::leak(Box::new(Migration {
        revision,
        parents: match parent {
            Some(p) => Box::leak(Box::new([p])),
            None => &[],
        },
        message: "test migration",
        created: "2026-01-01T00:00:00Z",
        upgrade,
        downgrade,
        file: Box::leak(format!("src/versions/r{revision}_test.rs").into_boxed_str()),
        transactional: true,
        replaces: &[],
    }))
}

/// A folder under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir()
            .join(format!("strata-squash-{}", crate::scaffold::new_revision(&HashSet::new())));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn graph<'a>(revisions: &'a [(&'a str, &'a [&'a str])]) -> Graph<'a> {
    let revisions: Vec<Revision> =
        revisions.iter().map(|(id, parents)| Revision { id, parents, source: "src/versions/x.rs" }).collect();
    Graph::new(&revisions).expect("a graph")
}

const LINE: &[(&str, &[&str])] =
    &[("a1a1", &[]), ("b2b2", &["a1a1"]), ("c3c3", &["b2b2"]), ("d4d4", &["c3c3"])];

#[test]
fn the_range_is_rev_and_its_ancestors_in_ancestry_order() {
    let g = graph(LINE);
    let range = select(&g, "c3").expect("a prefix");
    assert_eq!(range.target, "c3c3");
    assert_eq!(range.revisions, ["a1a1", "b2b2", "c3c3"]);
    assert_eq!(range.children, ["d4d4"]);
    let head = select(&g, "head").expect("head");
    assert_eq!((head.revisions.len(), head.children.len()), (4, 0));
}

#[test]
fn unknown_base_and_step_targets_are_refused() {
    let g = graph(LINE);
    let unknown = select(&g, "c3c4").unwrap_err();
    assert!(matches!(unknown, SquashError::Target { .. }));
    assert!(unknown.to_string().contains("did you mean c3c3?"), "{unknown}");
    assert_eq!(unknown.kind(), crate::error::ErrorKind::Usage);
    for base in ["base", "", "  "] {
        let err = select(&g, base).unwrap_err();
        assert!(matches!(err, SquashError::Base(_)), "{base:?}: {err}");
        assert!(err.to_string().contains("nothing before base to squash"), "{err}");
    }
    assert!(matches!(select(&g, "-2"), Err(SquashError::Relative(_))));
    assert!(matches!(select(&g, "x;y"), Err(SquashError::Target { .. })));
}

#[test]
fn a_branch_leaving_the_range_before_rev_is_refused() {
    // a - b - c, and x branches off b: squashing up to c would take x's parent away.
    let g = graph(&[("aaaa", &[]), ("bbbb", &["aaaa"]), ("cccc", &["bbbb"]), ("xxxx", &["bbbb"])]);
    let err = select(&g, "cccc").unwrap_err();
    let SquashError::NotClosed { leaks, .. } = &err else { panic!("{err}") };
    assert_eq!(leaks.len(), 1);
    assert_eq!((leaks[0].revision.as_str(), leaks[0].parent.as_str()), ("xxxx", "bbbb"));
    assert!(err.to_string().contains("xxxx (x.rs) follows bbbb, which is not cccc"), "{err}");
    // At the branch point both branches are children of REV.
    let at_fork = select(&g, "bbbb").unwrap();
    assert_eq!(at_fork.children, ["cccc", "xxxx"]);
    // A merge revision that both branches reach closes the range.
    let g = graph(&[("aaaa", &[]), ("bbbb", &["aaaa"]), ("xxxx", &["aaaa"]), ("mmmm", &["bbbb", "xxxx"])]);
    assert!(matches!(select(&g, "bbbb"), Err(SquashError::NotClosed { .. })));
    assert_eq!(select(&g, "mmmm").unwrap().revisions, ["aaaa", "bbbb", "xxxx", "mmmm"]);
    // A merge child naming REV and a revision outside the range is re-pointed.
    let g = graph(&[("aaaa", &[]), ("bbbb", &["aaaa"]), ("xxxx", &["aaaa"]), ("mmmm", &["xxxx", "bbbb"])]);
    assert_eq!(select(&g, "aaaa").unwrap().children, ["bbbb", "xxxx"]);
}

#[test]
fn a_database_between_base_and_rev_is_refused_and_one_at_or_past_rev_is_not() {
    let g = graph(LINE);
    let range = select(&g, "c3c3").unwrap();
    let replaces: Vec<String> = vec!["a0a0".into(), "a1a1".into(), "b2b2".into(), "c3c3".into()];
    let same = ["a0a0".to_string()];
    let at = |row: Option<&str>| {
        check_database(&g, &range, &replaces, &same, &DatabaseVersion::from_row("app.db", row))
    };
    assert!(at(None).is_ok(), "base");
    assert!(at(Some("c3c3")).is_ok(), "at REV");
    assert!(at(Some("d4d4")).is_ok(), "past REV");
    assert!(at(Some("a0a0")).is_ok(), "what an earlier checkpoint at REV stood for");
    let err = at(Some("b2b2")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the database app.db is at b2b2, which stands between base and c3c3; upgrade it to c3c3 or later \
         first, then squash"
    );
    assert!(matches!(at(Some("d4d4 b2b2")), Err(SquashError::DatabaseBetween { .. })), "any head");
    assert!(matches!(at(Some("ffff")), Err(SquashError::DatabaseUnknown { .. })));
    assert_eq!(DatabaseVersion::from_row("x", Some(" a1 b2 ")).heads, ["a1", "b2"]);
}

const CHILD: &str = r##"//! parent: Some("c3c3") in a doc comment stays.
use strata::prelude::*;

/* parent: Some("c3c3") */
migration! {
    revision: "d4d4",
    parent: Some("c3c3"),
    message: "mentions \"c3c3\" and parent: Some(\"c3c3\")",
    created: "2026-01-01T00:00:00Z",
    upgrade: |op| {
        let _ = 'x';
        op.execute(r#"SELECT 'c3c3' -- parent: Some("c3c3")"#);
    },
    downgrade: |_op| {},
}
"##;

#[test]
fn repointing_changes_only_the_parent_token() {
    let after = repoint(CHILD, "c3c3", "feedbeef0001").expect("found");
    assert_eq!(after, CHILD.replacen("parent: Some(\"c3c3\"),", "parent: Some(\"feedbeef0001\"),", 1));
    let header = build::parse_header(Path::new("r d4d4.rs"), &after);
    assert_eq!(header.parent_ids(), Some(vec!["feedbeef0001"]));
    assert_eq!(header.message, build::parse_header(Path::new("x.rs"), CHILD).message);
    assert_eq!(repoint(CHILD, "b2b2", "x"), None, "another parent");
    assert_eq!(repoint("fn main() {}", "c3c3", "x"), None, "no migration");
    let merge =
        "migration! {\n    revision: \"m\",\n    parents: [\"xxxx\", \"c3c3\"],\n    message: \"é\",\n}\n";
    assert_eq!(repoint(merge, "c3c3", "ffff").unwrap(), merge.replace("\"c3c3\"", "\"ffff\""));
}

#[test]
fn declared_types_follow_renames_and_drops() {
    let mut ops = Ops::new();
    ops.create_table(Table::new("tags").column(Column::new("id", Type::Integer).autoincrement()));
    ops.create_table(Table::new("gone").column(Column::new("id", Type::BigInt).autoincrement()));
    ops.rename_table("tags", "topics");
    ops.add_column("topics", Column::new("n", Type::Text));
    ops.rename_column("topics", "n", "name");
    ops.alter_column("topics", "name", crate::ops::AlterColumn::new().ty(Type::String(9)));
    ops.drop_table("gone");
    let types = declared_types(ops.ops());
    let at = |t: &str, c: &str| types.get(&(t.to_string(), c.to_string())).cloned();
    assert_eq!(at("topics", "id"), Some(Type::Integer));
    assert_eq!(at("topics", "name"), Some(Type::String(9)));
    assert_eq!((at("tags", "id"), at("gone", "id")), (None, None));
}

/// Every file of `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap())
        })
        .collect()
}

fn header_file(revision: &str, parent: Option<&str>) -> (String, String) {
    let parent = parent.map_or("None".to_string(), |p| format!("Some({p:?})"));
    let text = format!(
        "use strata::prelude::*;\n\nmigration! {{\n    revision: {revision:?},\n    parent: {parent},\n    \
         message: \"m\",\n    created: \"2026-01-01T00:00:00Z\",\n    upgrade: |_op| {{}},\n    \
         downgrade: |_op| {{}},\n}}\n"
    );
    (format!("r{revision}_test.rs"), text)
}

/// A versions folder holding header-only files for `migrations`.
fn folder(migrations: &[&'static Migration]) -> TempDir {
    let dir = TempDir::new();
    for m in migrations {
        let (name, text) = header_file(m.revision, m.parent());
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn request(to: &str) -> Request<'_> {
    Request { to, message: None, database: None }
}

fn users(op: &mut Ops) {
    op.create_table(
        Table::new("users")
            .column(Column::new("id", Type::Integer).autoincrement())
            .column(Column::new("email", Type::String(100)).unique())
            .column(Column::new("active", Type::Boolean).default(true)),
    );
    op.create_index(Index::new("ix_users_email", "users", ["email"]));
}
fn drop_users(op: &mut Ops) {
    op.drop_table("users");
}
fn posts(op: &mut Ops) {
    op.create_table(
        Table::new("posts")
            .column(Column::new("id", Type::BigInt).autoincrement())
            .column(Column::new("author_id", Type::Integer))
            .column(Column::new("title", Type::Text).default_sql("'untitled'"))
            .foreign_key(ForeignKey::new(["author_id"], "users", ["id"])),
    );
}
fn drop_posts(op: &mut Ops) {
    op.drop_table("posts");
}
const VIEW: &str = "CREATE VIEW active_users AS SELECT id, email FROM users WHERE active";
fn view(op: &mut Ops) {
    op.execute_safe(VIEW);
    op.execute("UPDATE users SET active = (1 = 1)");
}
fn drop_view(op: &mut Ops) {
    op.execute("DROP VIEW active_users");
}
fn rename(op: &mut Ops) {
    op.rename_column("users", "email", "mail");
}
fn unrename(op: &mut Ops) {
    op.rename_column("users", "mail", "email");
}
fn nothing(_op: &mut Ops) {}

#[test]
fn a_squash_replays_the_range_and_writes_a_checkpoint_that_rebuilds_it() {
    let all = vec![
        migration("aa01", None, users, drop_users),
        migration("bb02", Some("aa01"), posts, drop_posts),
        migration("cc03", Some("bb02"), view, drop_view),
        migration("dd04", Some("cc03"), nothing, nothing),
    ];
    let set = MigrationSet::new(all.clone()).unwrap();
    let dir = folder(&all);
    let before = snapshot(dir.path());
    let squash = prepare(&set, dir.path(), &request("cc03"), &mut SqliteMemory).expect("squash");
    assert_eq!(snapshot(dir.path()), before, "prepare writes nothing");
    let checkpoint = &squash.checkpoint;
    assert_eq!(checkpoint.replaces, ["aa01", "bb02", "cc03"]);
    assert_eq!(checkpoint.header.message, "squash of 3 migrations up to cc03");
    let source = &checkpoint.source;
    assert!(source.contains("    parent: None,\n"), "{source}");
    assert!(
        source.contains("    replaces: [\"aa01\", \"bb02\", \"cc03\"],\n    upgrade: |op| {"),
        "{source}"
    );
    // The declared type, not SQLite's INTEGER reading, for autoincrement columns.
    assert!(source.contains("Column::new(\"id\", Type::BigInt).autoincrement()"), "{source}");
    assert!(source.contains("Column::new(\"id\", Type::Integer).autoincrement()"), "{source}");
    // The view as the migration wrote it, after the tables; dropped first.
    let view_at = source.find(&format!("op.execute_safe({VIEW:?});")).expect("the view, as written");
    assert!(view_at > source.find("Table::new(\"posts\")").unwrap(), "{source}");
    assert!(!source.contains("UPDATE users"), "no lasting effect, nothing carried:\n{source}");
    let downgrade = &source[source.find("downgrade: |op|").unwrap()..];
    assert!(
        downgrade.starts_with("downgrade: |op| {\n        op.execute(\"DROP VIEW \\\"active_users\\\"\");\n"),
        "{downgrade}"
    );
    assert!(
        downgrade.find("drop_table(\"posts\")").unwrap() < downgrade.find("drop_table(\"users\")").unwrap()
    );

    let written = squash.write().expect("write");
    assert_eq!(written.removed.len(), 3);
    let after = snapshot(dir.path());
    let names: Vec<&str> = after.keys().map(String::as_str).collect();
    assert_eq!(names, [checkpoint.file_name.as_str(), "rdd04_test.rs"], "no temporary file is left");
    let child = String::from_utf8(after["rdd04_test.rs"].clone()).unwrap();
    let old_child = String::from_utf8(before["rdd04_test.rs"].clone()).unwrap();
    assert_eq!(
        child,
        old_child.replace("Some(\"cc03\")", &format!("Some({:?})", checkpoint.header.revision))
    );
    assert!(checkpoint
        .file_name
        .contains(&format!("_r{}_squash_of_3_migrations_up_to_cc03.rs", checkpoint.header.revision)));
    // The folder passes the build check: one root (the checkpoint), one chain.
    assert_eq!(build::check(&build::scan(dir.path()).unwrap()), vec![]);
}

#[test]
fn a_view_a_later_rename_rewrote_is_carried_as_the_database_holds_it() {
    let all = vec![
        migration("aa01", None, users, drop_users),
        migration("cc03", Some("aa01"), view, drop_view),
        migration("ee05", Some("cc03"), rename, unrename),
    ];
    let set = MigrationSet::new(all.clone()).unwrap();
    let dir = folder(&all);
    let squash = prepare(&set, dir.path(), &request("ee05"), &mut SqliteMemory).expect("squash");
    let source = &squash.checkpoint.source;
    assert!(
        source.contains("DialectKind::Sqlite,\n            \"CREATE VIEW active_users AS SELECT id, \\\"mail\\\" FROM users"),
        "{source}"
    );
}

fn seed(op: &mut Ops) {
    op.execute("INSERT INTO users (email) VALUES ('root@example.com')");
}
fn backfill(op: &mut Ops) {
    op.run_data("backfill emails", |_| Ok(()));
}
fn postgres_only(op: &mut Ops) {
    op.execute_on(DialectKind::Postgres, "CREATE EXTENSION citext");
}

#[test]
fn refusals_name_the_revision_and_op_and_write_nothing() {
    let all = vec![
        migration("aa01", None, users, drop_users),
        migration("bb02", Some("aa01"), backfill, nothing),
        migration("cc03", Some("bb02"), seed, nothing),
        migration("dd04", Some("cc03"), postgres_only, nothing),
    ];
    let set = MigrationSet::new(all.clone()).unwrap();
    let dir = folder(&all);
    let before = snapshot(dir.path());
    let refused = |req: Request<'_>| {
        let err = prepare(&set, dir.path(), &req, &mut SqliteMemory).unwrap_err();
        assert_eq!(snapshot(dir.path()), before, "{err}: nothing written");
        err.to_string()
    };
    let data = refused(request("bb02"));
    assert!(data.contains("bb02 (rbb02_test.rs): data \"backfill emails\""), "{data}");
    assert!(data.contains("Squash up to a revision before bb02 (its parent aa01)"), "{data}");
    let at_rev = Request {
        to: "aa01",
        message: None,
        database: Some(DatabaseVersion::from_row("app.db", Some("aa01"))),
    };
    let one = prepare(&set, dir.path(), &at_rev, &mut SqliteMemory).expect("a database at REV is fine");
    assert_eq!(one.checkpoint.header.message, "squash of 1 migration up to aa01");
    assert_eq!(snapshot(dir.path()), before, "prepare writes nothing");
    let all2 = [
        all[0],
        migration("ab02", Some("aa01"), seed, nothing),
        migration("ac03", Some("ab02"), postgres_only, nothing),
    ];
    let set2 = MigrationSet::new(all2.to_vec()).unwrap();
    let dir2 = folder(&all2);
    let before2 = snapshot(dir2.path());
    let rows = prepare(&set2, dir2.path(), &request("ab02"), &mut SqliteMemory).unwrap_err().to_string();
    assert!(
        rows.contains("users hold rows")
            && rows.contains("ab02 (rab02_test.rs): execute \"INSERT INTO users"),
        "{rows}"
    );
    let other = prepare(&set2, dir2.path(), &request("ac03"), &mut SqliteMemory).unwrap_err().to_string();
    assert!(
        other.contains("raw SQL for another engine than sqlite") && other.contains("CREATE EXTENSION"),
        "{other}"
    );
    let between = prepare(
        &set2,
        dir2.path(),
        &Request {
            to: "ab02",
            message: None,
            database: Some(DatabaseVersion::from_row("app.db", Some("aa01"))),
        },
        &mut SqliteMemory,
    )
    .unwrap_err()
    .to_string();
    assert!(between.contains("stands between base and ab02"), "{between}");
    let bad = prepare(
        &set2,
        dir2.path(),
        &Request { to: "aa01", message: Some("two\nlines"), database: None },
        &mut SqliteMemory,
    );
    assert!(matches!(bad, Err(SquashError::BadMessage(_))));
    assert_eq!(snapshot(dir2.path()), before2);
    // A folder that is not what was built.
    fs::remove_file(dir2.path().join("rac03_test.rs")).unwrap();
    let stale = prepare(&set2, dir2.path(), &request("aa01"), &mut SqliteMemory).unwrap_err().to_string();
    assert!(stale.contains("only in the build: ac03") && stale.contains("rebuild first"), "{stale}");
}

fn edits(dir: &Path) -> FileEdits {
    let (a, a_text) = header_file("aa01", None);
    let (b, b_text) = header_file("bb02", Some("aa01"));
    for (name, text) in [(&a, &a_text), (&b, &b_text)] {
        fs::write(dir.join(name), text).unwrap();
    }
    FileEdits {
        dir: dir.to_path_buf(),
        created: vec![FileText { name: "rcafe_checkpoint.rs".into(), text: header_file("cafe", None).1 }],
        rewritten: vec![Rewrite { name: b.clone(), after: b_text.replace("aa01", "cafe"), before: b_text }],
        removed: vec![FileText { name: a, text: a_text }],
    }
}

#[test]
fn a_failure_before_the_swap_leaves_the_folder_as_it_was() {
    let dir = TempDir::new();
    let edits = edits(dir.path());
    let before = snapshot(dir.path());
    let err = edits
        .apply_with(&mut |stage| match stage {
            Stage::BeforeSwap => Err(io::Error::other("interrupted")),
            Stage::Swap(_) => Ok(()),
        })
        .unwrap_err();
    assert!(
        matches!(err, SquashError::Io { .. }) && err.to_string().contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_failure_during_the_swap_is_undone() {
    for failing in 0..3 {
        let dir = TempDir::new();
        let edits = edits(dir.path());
        let before = snapshot(dir.path());
        let err = edits
            .apply_with(&mut |stage| match stage {
                Stage::Swap(n) if n == failing => Err(io::Error::other("disk full")),
                _ => Ok(()),
            })
            .unwrap_err();
        assert!(matches!(err, SquashError::Swap { undone: true, .. }), "{failing}: {err}");
        assert_eq!(snapshot(dir.path()), before, "step {failing}");
    }
}

#[test]
fn the_swap_refuses_a_folder_that_changed_and_applies_otherwise() {
    let dir = TempDir::new();
    let edits = edits(dir.path());
    fs::write(dir.path().join("raa01_test.rs"), "edited").unwrap();
    let before = snapshot(dir.path());
    assert!(matches!(edits.apply(), Err(SquashError::Changed(_))));
    assert_eq!(snapshot(dir.path()), before);
    let edits = self::edits(dir.path());
    let written = edits.apply().expect("applies");
    assert_eq!(written.created, [dir.path().join("rcafe_checkpoint.rs")]);
    let names: Vec<String> = snapshot(dir.path()).into_keys().collect();
    assert_eq!(names, ["rbb02_test.rs", "rcafe_checkpoint.rs"]);
    assert!(fs::read_to_string(dir.path().join("rbb02_test.rs")).unwrap().contains("Some(\"cafe\")"));
}

#[test]
fn declared_checks_follow_the_range_and_drop_out_on_column_renames() {
    let mut ops = Ops::new();
    ops.create_table(
        Table::new("posts")
            .column(Column::new("status", Type::Text).check("status <> ''"))
            .check(crate::ops::Check::new("ck_posts_len", "length(status) < 9")),
    );
    ops.add_check_constraint("posts", crate::ops::Check::new("ck_more", "1 = 1"));
    ops.drop_constraint("posts", "ck_more");
    ops.rename_table("posts", "articles");
    ops.create_table(Table::new("tags").check(crate::ops::Check::new("ck_tags", "true")));
    ops.rename_column("tags", "a", "b");
    let checks = declared_checks(ops.ops());
    let mut keys: Vec<_> = checks.keys().map(|(t, n)| format!("{t}.{n}")).collect();
    keys.sort();
    assert_eq!(keys, ["articles.ck_posts_len", "articles.ck_posts_status"]);
    assert_eq!(checks[&("articles".to_string(), "ck_posts_status".to_string())], "status <> ''");
}

#[cfg(feature = "testkit")]
fn pg_function(op: &mut Ops) {
    op.execute_on(DialectKind::Postgres, "CREATE FUNCTION one() RETURNS integer LANGUAGE sql AS 'SELECT 1'");
}

/// On every engine: a view (renamed under it) is carried and rebuilds exactly; on PostgreSQL
/// a function is refused, naming the raw SQL.
#[cfg(feature = "testkit")]
#[test]
fn views_are_carried_and_uncarriable_objects_refused_on_every_engine() {
    use crate::testkit::{engines, fresh_database, TestDatabase};
    let all = vec![
        migration("aa01", None, users, drop_users),
        migration("bb02", Some("aa01"), posts, drop_posts),
        migration("cc03", Some("bb02"), view, drop_view),
        migration("ee05", Some("cc03"), rename, unrename),
        migration("ff06", Some("ee05"), pg_function, nothing),
    ];
    let set = MigrationSet::new(all.clone()).unwrap();
    let dir = folder(&all);
    for kind in engines() {
        let mut kept: Vec<TestDatabase> = Vec::new();
        let mut scratch = move || -> Result<Box<dyn Backend>, BackendError> {
            let db = fresh_database(kind);
            let conn = crate::backend::connect(&db.url)?;
            kept.push(db);
            Ok(conn)
        };
        let squash = prepare(&set, dir.path(), &request("ee05"), &mut scratch)
            .unwrap_or_else(|e| panic!("[{kind}] {e}"));
        let source = &squash.checkpoint.source;
        assert!(source.contains("CREATE VIEW") && source.contains("DROP VIEW"), "[{kind}] {source}");
        let refused = prepare(&set, dir.path(), &request("ff06"), &mut scratch).map(|_| ());
        match kind {
            DialectKind::Postgres => {
                let err = refused.unwrap_err().to_string();
                assert!(
                    err.contains("function one") && err.contains("ff06 (rff06_test.rs): execute"),
                    "{err}"
                );
            }
            DialectKind::Sqlite => {
                let err = refused.unwrap_err().to_string();
                assert!(err.contains("raw SQL for another engine than sqlite"), "{err}");
            }
        }
    }
}
