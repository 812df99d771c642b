use super::*;
use std::collections::BTreeMap;

/// A fresh folder under the system's temporary directory, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Self {
        let dir = std::env::temp_dir()
            .join(format!("strata-source-{}", crate::scaffold::new_revision(&HashSet::new())));
        fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    /// Writes a migration file with `parent: Some(..)` / `parent: None`, or `parents: [..]`
    /// for two parents or more.
    fn migration(&self, revision: &str, parents: &[&str]) {
        let field = match parents {
            [] => "parent: None".to_string(),
            [one] => format!("parent: Some({one:?})"),
            more => {
                format!("parents: [{}]", more.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", "))
            }
        };
        let text = format!(
            "//! m {revision}\nuse strata::prelude::*;\n\nmigration! {{\n    revision: {revision:?},\n    {field},\n    \
             message: \"m {revision}\",\n    created: \"2026-12-01T10:00:00Z\",\n    upgrade: |op| {{\n        \
             op.execute(\"SELECT 1 -- parent: Some(\\\"x\\\")\");\n    }},\n    downgrade: |_op| {{}},\n}}\n"
        );
        fs::write(self.0.join(format!("r{revision}_m.rs")), text).unwrap();
    }
    /// Every file name and its bytes.
    fn bytes(&self) -> BTreeMap<String, Vec<u8>> {
        fs::read_dir(&self.0)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).unwrap())
            })
            .collect()
    }
    fn headers(&self) -> Vec<Header> {
        scan(&self.0).unwrap()
    }
    fn heads(&self) -> Vec<String> {
        heads_in(&self.0).unwrap().into_iter().map(|h| h.revision).collect()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// root a0; mine: b1 -> b2; theirs: c1. Heads b2 and c1.
fn two_branches() -> Folder {
    let f = Folder::new();
    f.migration("a0", &[]);
    f.migration("b1", &["a0"]);
    f.migration("b2", &["b1"]);
    f.migration("c1", &["a0"]);
    f
}

fn nothing_applied() -> Applied {
    Applied::Version { database: "sqlite://app.db".into(), version: None }
}

fn applied(version: &str) -> Applied {
    Applied::Version { database: "sqlite://app.db".into(), version: Some(version.into()) }
}

#[test]
fn the_commands_are_spelt_one_way() {
    assert_eq!(merge_message(&["a", "b"]), "merge a and b");
    assert_eq!(merge_message(&["a", "b", "c"]), "merge a, b and c");
    assert_eq!(merge_command(&["a", "b"]), "strata merge -m \"merge a and b\"");
    assert_eq!(rebase_command("b", "a"), "strata rebase b --onto a");
    assert_eq!(rebase_commands(&["a", "b", "c"]), ["strata rebase b --onto a", "strata rebase c --onto b"]);
}

#[test]
fn heads_come_from_the_files() {
    let f = two_branches();
    let heads = heads_in(f.path()).unwrap();
    assert_eq!(heads.iter().map(|h| h.revision.as_str()).collect::<Vec<_>>(), ["b2", "c1"]);
    assert_eq!(heads[1].to_string(), "c1  m c1  (rc1_m.rs)");
    let err = heads_in(&f.path().join("nope")).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
}

#[test]
fn merge_writes_one_revision_whose_parents_are_the_heads() {
    let f = two_branches();
    let before = f.bytes();
    let merge = merge(f.path(), None).unwrap();
    assert_eq!(merge.parents, ["b2", "c1"]);
    assert_eq!(merge.message, "merge b2 and c1");
    let after = f.bytes();
    assert_eq!(after.len(), before.len() + 1, "one new file, no temporary one left");
    assert!(before.iter().all(|(name, bytes)| after.get(name) == Some(bytes)), "the others untouched");
    let name = merge.path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(&format!("_r{}_merge_b2_and_c1.rs", merge.revision)), "{name}");
    let text = fs::read_to_string(&merge.path).unwrap();
    assert!(text.contains("    parents: [\"b2\", \"c1\"],\n"), "{text}");
    assert!(text.contains("    upgrade: |_op| {},\n    downgrade: |_op| {},\n"), "{text}");
    assert_eq!(build::check(&f.headers()), vec![]);
    assert_eq!(f.heads(), std::slice::from_ref(&merge.revision));

    // Now there is nothing to merge, and nothing is written.
    let before = f.bytes();
    let err = super::merge(f.path(), None).unwrap_err();
    assert!(matches!(err, SourceError::NothingToMerge { .. }), "{err}");
    assert!(err
        .to_string()
        .starts_with(&format!("nothing to merge: the history has one head, {}", merge.revision)));
    assert_eq!(err.exit_code(), 1);
    assert_eq!(f.bytes(), before);
}

#[test]
fn merge_takes_a_message_and_refuses_a_bad_one_or_broken_files() {
    let f = two_branches();
    let before = f.bytes();
    for bad in ["", "two\nlines"] {
        let err = merge(f.path(), Some(bad)).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert_eq!(f.bytes(), before);
    }
    let planned = plan_merge(f.path(), &f.headers(), Some("join \"mine\" and theirs"), Utc::now()).unwrap();
    assert!(planned.text.contains("message: \"join \\\"mine\\\" and theirs\""), "{}", planned.text);
    assert!(planned.path.to_string_lossy().ends_with("_join_mine_and_theirs.rs"));
    // A problem other than the heads: fixed first.
    fs::write(f.path().join("rzz_bad.rs"), "fn main() {}").unwrap();
    let before = f.bytes();
    let err = merge(f.path(), None).unwrap_err();
    assert!(err.to_string().contains("rzz_bad.rs: no `migration! { ... }` declaration found"), "{err}");
    assert_eq!(f.bytes(), before);
    assert!(matches!(merge(Folder::new().path(), None), Err(SourceError::NothingToMerge { head: None })));
}

#[test]
fn rebase_rewrites_only_the_parent_literal_of_the_branch_start() {
    let f = two_branches();
    let before = f.bytes();
    let rebase = rebase(f.path(), "c1", "b2", &nothing_applied()).unwrap();
    assert_eq!(
        (rebase.moved.clone(), rebase.database.as_deref()),
        (vec!["c1".to_string()], Some("sqlite://app.db"))
    );
    assert_eq!(rebase.reparented.len(), 1);
    assert_eq!((rebase.reparented[0].from.as_str(), rebase.reparented[0].to.as_str()), ("a0", "b2"));
    let after = f.bytes();
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "no file added");
    for (name, bytes) in &before {
        if name == "rc1_m.rs" {
            let old = String::from_utf8(bytes.clone()).unwrap();
            let expected = old.replacen("parent: Some(\"a0\")", "parent: Some(\"b2\")", 1);
            assert_eq!(String::from_utf8(after[name].clone()).unwrap(), expected);
        } else {
            assert_eq!(&after[name], bytes, "{name}");
        }
    }
    assert_eq!(build::check(&f.headers()), vec![]);
    assert_eq!(f.heads(), ["c1"]);
}

#[test]
fn rebase_moves_a_longer_branch_by_its_first_revision_and_takes_prefixes() {
    let f = two_branches();
    let rebase = rebase(f.path(), "b", "c", &applied("c1")).unwrap_err();
    assert!(matches!(rebase, SourceError::Ambiguous { role: "BRANCH_HEAD", .. }), "{rebase}");
    let rebase = super::rebase(f.path(), "b2", "c", &applied("c1")).unwrap();
    assert_eq!(rebase.moved, ["b1", "b2"]);
    assert_eq!(rebase.reparented.iter().map(|r| r.revision.as_str()).collect::<Vec<_>>(), ["b1"]);
    assert_eq!(build::check(&f.headers()), vec![]);
    assert_eq!(f.heads(), ["b2"]);
    // Linear: each revision has one parent and one child at most.
    let headers = f.headers();
    let ids: Vec<Vec<&str>> = headers.iter().map(|h| h.parent_ids().unwrap()).collect();
    let mut parents: Vec<&str> = ids.iter().flatten().copied().collect();
    parents.sort_unstable();
    parents.dedup();
    assert_eq!(parents.len(), headers.len() - 1);
}

#[test]
fn every_refused_rebase_writes_nothing_and_says_why() {
    let f = two_branches();
    // A merge branch: m1 and m2 both join x and y; a revision d1 on m1.
    let refuse = |branch: &str, onto: &str, applied: Applied| {
        let before = f.bytes();
        let err = rebase(f.path(), branch, onto, &applied).unwrap_err();
        assert_eq!(f.bytes(), before, "{branch} onto {onto}: {err}");
        err
    };
    let err = refuse("c1x", "b2", nothing_applied());
    assert_eq!(
        err.to_string(),
        "BRANCH_HEAD: no migration file declares a revision matching \"c1x\" (did you mean c1?): name a head by its \
         id or a unique prefix of one (`strata heads` lists them)"
    );
    assert_eq!(err.exit_code(), 2);
    assert!(matches!(
        refuse("c1", "zz", nothing_applied()),
        SourceError::UnknownRevision { role: "--onto", .. }
    ));
    let err = refuse("c1", "c1", nothing_applied());
    assert!(matches!(err, SourceError::OntoItself { .. }), "{err}");
    let err = refuse("b2", "b1", nothing_applied());
    assert_eq!(
        err.to_string(),
        "b2 already follows b1 (it is one of its ancestors): there is nothing to rebase"
    );
    let err = refuse("c1", "a0", nothing_applied());
    assert!(matches!(err, SourceError::OntoAncestor { .. }), "{err}");
    let err = refuse("c1", "b1", nothing_applied());
    assert!(matches!(err, SourceError::NotAHead { role: "--onto", .. }), "{err}");
    assert!(err.to_string().contains("the heads are b2, c1"), "{err}");
    let err = refuse("b1", "c1", nothing_applied());
    assert!(matches!(err, SourceError::NotAHead { role: "BRANCH_HEAD", .. }), "{err}");
    assert_eq!(err.exit_code(), 1);

    // The database has applied the branch (c1), or b1 under b2's branch: refused.
    let err = refuse("c1", "b2", applied("c1"));
    assert_eq!(
        err.to_string(),
        "sqlite://app.db has applied c1 of the branch of c1: moving them after b2 would leave its recorded history \
         disagreeing with the files (b2's branch not applied under revisions that now follow it). Downgrade that \
         database below them first, rebase the other way (`strata rebase b2 --onto c1`) if its branch is the one \
         not applied there, or join the heads with `strata merge`; --force rewrites anyway"
    );
    let err = refuse("b2", "c1", applied("b1 c1"));
    assert!(matches!(&err, SourceError::Applied { revisions, .. } if revisions == &["b1"]), "{err}");
    let err = refuse("b2", "c1", applied("zz9"));
    assert!(err
        .to_string()
        .contains("sqlite://app.db records revision zz9 as applied, which no migration file declares"));
    let err =
        refuse("b2", "c1", Applied::Unknown { reason: "cannot connect to sqlite://app.db: no file".into() });
    assert!(err.to_string().starts_with(
        "cannot check which revisions the database has applied: cannot connect to sqlite://app.db: no file; a \
         rebase rewrites history"
    ));
    // --force: not checked.
    let forced = plan_rebase(f.path(), &f.headers(), "c1", "b2", &Applied::Unchecked).unwrap();
    assert_eq!(forced.database, None);
    // The database's other branch does not matter.
    plan_rebase(f.path(), &f.headers(), "c1", "b2", &applied("b2")).unwrap();
}

#[test]
fn a_branch_that_starts_with_a_merge_revision_is_not_rebased() {
    let f = Folder::new();
    f.migration("a0", &[]);
    f.migration("x1", &["a0"]);
    f.migration("y1", &["a0"]);
    f.migration("m1", &["x1", "y1"]);
    f.migration("m2", &["x1", "y1"]);
    let before = f.bytes();
    let err = rebase(f.path(), "m2", "m1", &nothing_applied()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the branch of m2 starts with the merge revision m2 (rm2_m.rs), whose parents x1, y1 record which \
         histories it joins: a rebase gives a revision one new parent and would drop them; join the heads with \
         `strata merge` instead, or edit rm2_m.rs's parents by hand"
    );
    assert_eq!(f.bytes(), before);
    // A branch that merges inside itself starts with two revisions: both are re-parented.
    let f = Folder::new();
    f.migration("a0", &[]);
    f.migration("h1", &["a0"]);
    f.migration("x1", &["a0"]);
    f.migration("y1", &["a0"]);
    f.migration("m1", &["x1", "y1"]);
    let rebase = rebase(f.path(), "m1", "h1", &nothing_applied()).unwrap();
    assert_eq!(rebase.reparented.iter().map(|r| r.revision.as_str()).collect::<Vec<_>>(), ["x1", "y1"]);
    assert_eq!(build::check(&f.headers()), vec![]);
}

#[test]
fn a_database_at_a_replaced_revision_reads_as_its_checkpoint() {
    let f = Folder::new();
    let checkpoint = "//! c\nuse strata::prelude::*;\nmigration! {\n    revision: \"c0\",\n    parent: None,\n    \
                      message: \"c\",\n    created: \"2026-12-01T10:00:00Z\",\n    replaces: [\"r1\", \"r2\"],\n    \
                      upgrade: |_op| {},\n    downgrade: |_op| {},\n}\n";
    fs::write(f.path().join("rc0_c.rs"), checkpoint).unwrap();
    f.migration("b1", &["c0"]);
    f.migration("d1", &["c0"]);
    plan_rebase(f.path(), &f.headers(), "d1", "b1", &applied("r2")).unwrap();
}

#[test]
fn reparent_text_changes_the_literal_only() {
    let text = "migration! {\n    revision: \"b\",\n    parent: Some( r#\"a\"# ), // was a\n    message: \"parent: Some(\\\"a\\\")\",\n}\n";
    let path = Path::new("rb.rs");
    let out = reparent_text(text, path, "b", "a", "z9").unwrap();
    assert_eq!(out, text.replacen("r#\"a\"#", "\"z9\"", 1));
    for (rev, from) in [("x", "a"), ("b", "q")] {
        assert!(matches!(reparent_text(text, path, rev, from, "z9"), Err(SourceError::Changed { .. })));
    }
}

/// The disk, with one chosen operation failing.
struct Failing {
    write_at: Option<usize>,
    rename_at: Option<usize>,
    writes: usize,
    renames: usize,
}

impl Files for Failing {
    fn write_temp(&mut self, path: &Path, bytes: &[u8], like: Option<&Path>) -> io::Result<()> {
        self.writes += 1;
        if Some(self.writes) == self.write_at {
            // Half written, then the disk is full.
            fs::write(path, &bytes[..bytes.len() / 2])?;
            return Err(io::Error::other("no space left on device"));
        }
        Disk.write_temp(path, bytes, like)
    }
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        self.renames += 1;
        if Some(self.renames) == self.rename_at {
            return Err(io::Error::other("injected rename failure"));
        }
        Disk.rename(from, to)
    }
    fn remove(&mut self, path: &Path) -> io::Result<()> {
        Disk.remove(path)
    }
    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        Disk.sync_dir(dir)
    }
}

/// Three writes in `f`: two rewrites and a new file.
fn three_writes(f: &Folder) -> Vec<FileWrite> {
    let rewrite = |name: &str| {
        let path = f.path().join(name);
        let original = fs::read(&path).unwrap();
        FileWrite { path, text: "rewritten\n".into(), original: Some(original) }
    };
    vec![
        rewrite("rb1_m.rs"),
        rewrite("rc1_m.rs"),
        FileWrite { path: f.path().join("rn1_new.rs"), text: "new\n".into(), original: None },
    ]
}

#[test]
fn a_failure_before_the_swap_leaves_every_file_as_it_was() {
    for at in 1..=3 {
        let f = two_branches();
        let before = f.bytes();
        let mut files = Failing { write_at: Some(at), rename_at: None, writes: 0, renames: 0 };
        let err = write_files_with(&three_writes(&f), &mut files).unwrap_err();
        assert!(err.to_string().ends_with("no space left on device; no migration file was changed"), "{err}");
        assert_eq!(f.bytes(), before, "write {at} failed: nothing changed, no temporary file left");
    }
}

#[test]
fn a_failed_rename_puts_back_the_files_already_swapped() {
    for at in 1..=3 {
        let f = two_branches();
        let before = f.bytes();
        let mut files = Failing { write_at: None, rename_at: Some(at), writes: 0, renames: 0 };
        let err = write_files_with(&three_writes(&f), &mut files).unwrap_err();
        assert!(matches!(&err, SourceError::Write { not_restored, .. } if not_restored.is_empty()), "{err}");
        assert_eq!(f.bytes(), before, "rename {at} failed: the earlier ones undone");
    }
    let f = two_branches();
    write_files(&three_writes(&f)).unwrap();
    let after = f.bytes();
    assert_eq!(after["rb1_m.rs"], b"rewritten\n");
    assert_eq!(after["rn1_new.rs"], b"new\n");
    assert_eq!(after.len(), 5, "no temporary file left");
}

#[test]
fn a_taken_name_or_a_file_changed_since_it_was_read_is_refused_before_any_write() {
    let f = two_branches();
    let mut writes = three_writes(&f);
    writes[2].path = f.path().join("ra0_m.rs");
    let before = f.bytes();
    assert!(matches!(write_files(&writes), Err(SourceError::Exists { .. })));
    assert_eq!(f.bytes(), before);
    let mut writes = three_writes(&f);
    writes[1].original = Some(b"something else".to_vec());
    assert!(matches!(write_files(&writes), Err(SourceError::Changed { .. })));
    assert_eq!(f.bytes(), before);
}

#[test]
fn a_sqlite_database_is_read_without_creating_it() {
    let url: DatabaseUrl = "sqlite://some/app.db".parse().unwrap();
    assert_eq!(read_only(&url).to_string(), "sqlite://some/app.db?mode=ro");
    let pg: DatabaseUrl = "postgres://u@h/db".parse().unwrap();
    assert_eq!(read_only(&pg), pg);
}
