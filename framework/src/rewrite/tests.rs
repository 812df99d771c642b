use super::*;
use crate::ops::{Check, Column, ForeignKey, Index, Ops, Table, Unique};
use crate::types::Type;

fn ops(record: impl FnOnce(&mut Ops)) -> Vec<Op> {
    let mut ops = Ops::new();
    record(&mut ops);
    ops.into_ops()
}

fn pg(major: u32) -> PgMajor {
    PgMajor::new(major).unwrap()
}

fn plan(ops: &[Op]) -> StagedPlan {
    rewrite("r1", true, ops, pg(15), &Known::new(), &RewriteOptions::on()).unwrap()
}

/// Each step as `tx:` or `out:` followed by its statements' SQL (`Op(i)` for plain ops).
fn shape(plan: &StagedPlan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|step| {
            let parts: Vec<String> = step
                .statements
                .iter()
                .map(|s| match s {
                    Statement::Op(i) => format!("Op({i})"),
                    Statement::Sql { sql, .. } => sql.clone(),
                    Statement::DropInvalidIndex { name, .. } => format!("drop invalid {name}"),
                })
                .collect();
            format!("{} {}", if step.transactional { "tx:" } else { "out:" }, parts.join(" | "))
        })
        .collect()
}

#[test]
fn create_index_becomes_concurrent_in_its_own_step_after_the_invalid_index_cleanup() {
    let ops = ops(|op| {
        op.add_column("users", Column::new("email", Type::Text).nullable());
        op.create_index(Index::new("ix_users_email", "users", ["email"]));
        op.add_column("users", Column::new("nick", Type::Text).nullable());
    });
    let plan = plan(&ops);
    assert!(plan.rewritten);
    assert_eq!(
        shape(&plan),
        [
            "tx: Op(0)",
            "out: drop invalid ix_users_email | CREATE INDEX CONCURRENTLY \"ix_users_email\" ON \"users\" (\"email\")",
            "tx: Op(2)",
        ]
    );
    let Statement::Sql { on_resume, .. } = &plan.steps[1].statements[1] else { panic!() };
    assert_eq!(
        on_resume.as_deref(),
        Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"ix_users_email\" ON \"users\" (\"email\")")
    );
}

#[test]
fn drop_index_becomes_concurrent() {
    let plan = plan(&ops(|op| {
        op.drop_index("ix_users_email", "users");
    }));
    assert_eq!(shape(&plan), ["out: DROP INDEX CONCURRENTLY \"ix_users_email\""]);
}

#[test]
fn foreign_keys_and_checks_are_added_not_valid_then_validated_in_a_transaction_of_their_own() {
    let plan = plan(&ops(|op| {
        op.add_foreign_key("posts", ForeignKey::new(["author_id"], "users", ["id"]).named("fk_posts_author"));
        op.add_check_constraint("posts", Check::new("ck_title", "length(title) > 0"));
        op.add_column("posts", Column::new("x", Type::Text).nullable());
    }));
    assert_eq!(
        shape(&plan),
        [
            "tx: ALTER TABLE \"posts\" ADD CONSTRAINT \"fk_posts_author\" FOREIGN KEY (\"author_id\") REFERENCES \"users\" (\"id\") NOT VALID",
            "tx: ALTER TABLE \"posts\" VALIDATE CONSTRAINT \"fk_posts_author\"",
            "tx: ALTER TABLE \"posts\" ADD CONSTRAINT \"ck_title\" CHECK (length(title) > 0) NOT VALID",
            "tx: ALTER TABLE \"posts\" VALIDATE CONSTRAINT \"ck_title\"",
            "tx: Op(2)",
        ]
    );
}

#[test]
fn not_null_goes_through_a_validated_check_that_is_dropped_afterwards() {
    let plan = plan(&ops(|op| {
        op.alter_column("posts", "slug", AlterColumn::new().nullable(false).default("x"));
    }));
    assert_eq!(
        shape(&plan),
        [
            "tx: ALTER TABLE \"posts\" ALTER COLUMN \"slug\" SET DEFAULT 'x' | \
             ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_slug_strata_nn\" CHECK (\"slug\" IS NOT NULL) NOT VALID",
            "tx: ALTER TABLE \"posts\" VALIDATE CONSTRAINT \"posts_slug_strata_nn\"",
            "tx: ALTER TABLE \"posts\" ALTER COLUMN \"slug\" SET NOT NULL | \
             ALTER TABLE \"posts\" DROP CONSTRAINT \"posts_slug_strata_nn\"",
        ]
    );
}

#[test]
fn not_null_already_proved_by_a_valid_check_is_left_alone() {
    let ops = ops(|op| {
        op.alter_column("posts", "slug", AlterColumn::new().nullable(false));
    });
    let known = Known::new().with_not_null_check("posts", "ck", "slug");
    let plan = rewrite("r1", true, &ops, pg(15), &known, &RewriteOptions::on()).unwrap();
    assert_eq!(plan, StagedPlan::plain(&ops));
}

#[test]
fn not_null_on_postgres_11_is_a_clear_error_naming_revision_op_version_and_remedy() {
    let ops = ops(|op| {
        op.add_column("posts", Column::new("x", Type::Text).nullable());
        op.alter_column("posts", "slug", AlterColumn::new().nullable(false));
    });
    let err = rewrite("r42", true, &ops, pg(11), &Known::new(), &RewriteOptions::on()).unwrap_err();
    let text = err.to_string();
    for part in [
        "r42",
        "op 2",
        "alter_column",
        "server is too old for this rewrite",
        "PostgreSQL 11",
        "STRATA_REWRITE=off",
        "upgrade the server",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    // Rewriting off: no error, the plain plan.
    let plain = rewrite("r42", true, &ops, pg(11), &Known::new(), &RewriteOptions::off()).unwrap();
    assert_eq!(plain, StagedPlan::plain(&ops));
    // The other rewrites work on 11.
    let ix = self::ops(|op| {
        op.create_index(Index::new("ix", "t", ["a"]));
    });
    assert!(rewrite("r42", true, &ix, pg(11), &Known::new(), &RewriteOptions::on()).unwrap().rewritten);
}

#[test]
fn unique_constraints_are_built_from_a_concurrent_unique_index() {
    let plan = plan(&ops(|op| {
        op.add_unique_constraint("users", Unique::new(["email"]).named("uq_users_email"));
    }));
    assert_eq!(
        shape(&plan),
        [
            "out: drop invalid uq_users_email | CREATE UNIQUE INDEX CONCURRENTLY \"uq_users_email\" ON \"users\" (\"email\")",
            "tx: ALTER TABLE \"users\" ADD CONSTRAINT \"uq_users_email\" UNIQUE USING INDEX \"uq_users_email\"",
        ]
    );
}

#[test]
fn tables_created_in_the_migration_or_declared_empty_are_not_rewritten() {
    let ops = ops(|op| {
        op.create_table(Table::new("tags").column(Column::new("id", Type::BigInt).autoincrement()));
        op.create_index(Index::new("ix_tags_id", "tags", ["id"]));
        op.rename_table("tags", "topics");
        op.create_index(Index::new("ix_topics_id", "topics", ["id"]));
        op.create_index(Index::new("ix_empty", "empty", ["a"]));
        op.alter_column("empty", "a", AlterColumn::new().nullable(false));
    });
    let options = RewriteOptions::on().empty_table("empty");
    let plan = rewrite("r1", true, &ops, pg(11), &Known::new(), &options).unwrap();
    assert_eq!(plan, StagedPlan::plain(&ops));
    // Dropped and created again elsewhere: a table of an earlier migration is rewritten.
    let ops = self::ops(|op| {
        op.create_table(Table::new("tags").column(Column::new("id", Type::BigInt).autoincrement()));
        op.drop_table("tags");
        op.create_index(Index::new("ix_tags_id", "tags", ["id"]));
    });
    assert!(self::plan(&ops).rewritten);
}

#[test]
fn rewriting_off_or_a_non_transactional_migration_gives_the_plain_plan() {
    let ops = ops(|op| {
        op.create_index(Index::new("ix", "t", ["a"]));
        op.run_data("backfill", |_| Ok(()));
    });
    let off = rewrite("r1", true, &ops, pg(15), &Known::new(), &RewriteOptions::off()).unwrap();
    assert_eq!(shape(&off), ["tx: Op(0) | Op(1)"]);
    assert!(!off.rewritten);
    let nontx = rewrite("r1", false, &ops, pg(15), &Known::new(), &RewriteOptions::on()).unwrap();
    assert_eq!(nontx, off);
}

#[test]
fn consecutive_transactional_pieces_group_and_data_ops_stay_in_place() {
    let plan = plan(&ops(|op| {
        op.add_column("posts", Column::new("slug", Type::Text).nullable());
        op.run_data("backfill", |_| Ok(()));
        op.create_index(Index::new("ix_posts_slug", "posts", ["slug"]));
        op.add_column("posts", Column::new("a", Type::Text).nullable());
        op.add_column("posts", Column::new("b", Type::Text).nullable());
        op.drop_index("ix_old", "posts");
    }));
    let shape = shape(&plan);
    assert_eq!(shape.len(), 4, "{shape:?}");
    assert_eq!(shape[0], "tx: Op(0) | Op(1)");
    assert!(shape[1].starts_with("out: drop invalid ix_posts_slug"));
    assert_eq!(shape[2], "tx: Op(3) | Op(4)");
    assert!(shape[3].starts_with("out: DROP INDEX CONCURRENTLY"));
}

#[test]
fn check_names_are_quoted_stable_and_never_longer_than_postgres_keeps() {
    assert_eq!(not_null_check_name("posts", "slug"), "posts_slug_strata_nn");
    let long = not_null_check_name(&"t".repeat(40), &"é".repeat(20));
    assert!(long.len() <= 63, "{long}");
    assert_eq!(long, not_null_check_name(&"t".repeat(40), &"é".repeat(20)), "stable");
    assert_ne!(long, not_null_check_name(&"t".repeat(40), &"é".repeat(21)), "distinct");
    let plan = plan(&ops(|op| {
        op.alter_column("we\"ird", "c", AlterColumn::new().nullable(false));
    }));
    assert!(shape(&plan)[0].contains("ADD CONSTRAINT \"we\"\"ird_c_strata_nn\""), "{:?}", shape(&plan));
}

#[test]
fn the_invalid_index_query_quotes_the_names_and_matches_the_index_on_its_table_only() {
    let q = invalid_index_query("ix\"a'b", "T a'b\"le");
    assert!(q.contains("i.indrelid = to_regclass('\"T a''b\"\"le\"')"), "{q}");
    assert!(q.contains("c.relname = 'ix\"a''b'"), "the exact name, not resolved on the search_path: {q}");
    assert!(!q.contains("indexrelid = to_regclass"), "{q}");
    assert!(q.contains("%I.%I") && q.contains("NOT i.indisvalid"), "{q}");
}

#[test]
fn the_fingerprint_changes_with_the_steps_and_the_checksum() {
    let a = plan(&ops(|op| {
        op.create_index(Index::new("ix_a", "t", ["a"]));
    }));
    let b = plan(&ops(|op| {
        op.create_index(Index::new("ix_a", "t", ["a"]));
        op.create_index(Index::new("ix_b", "t", ["b"]));
    }));
    assert_eq!(fingerprint(&a, "c1"), fingerprint(&a, "c1"));
    assert_eq!(fingerprint(&a, "c1").len(), 16);
    assert_ne!(fingerprint(&a, "c1"), fingerprint(&b, "c1"));
    assert_ne!(fingerprint(&a, "c1"), fingerprint(&a, "c2"));
}

#[test]
fn lock_retries_start_short_double_up_to_the_cap_and_stop_after_the_total() {
    let retry = LockRetry::default();
    let ms = |n| retry.timeout(n).as_millis();
    assert_eq!([ms(0), ms(1), ms(2), ms(4), ms(5), ms(60)], [100, 200, 400, 1600, 2000, 2000]);
    assert!(retry.may_retry(std::time::Duration::from_secs(59)));
    assert!(!retry.may_retry(std::time::Duration::from_secs(60)));
    let odd = LockRetry {
        first: std::time::Duration::from_secs(3),
        max: std::time::Duration::from_secs(1),
        ..retry
    };
    assert_eq!(odd.timeout(3).as_secs(), 3, "a cap below the start keeps the start");
}

#[test]
fn a_zero_or_absurd_lock_retry_never_means_wait_forever_nor_overflows() {
    use std::time::Duration;
    // lock_timeout = 0 disables the timeout in PostgreSQL: never sent.
    for first in [Duration::ZERO, Duration::from_micros(300)] {
        let zero = LockRetry { first, max: Duration::ZERO, total: Duration::from_secs(1) };
        for attempt in [0, 1, 30, u32::MAX] {
            assert_eq!(zero.timeout(attempt), LockRetry::SHORTEST, "{first:?} attempt {attempt}");
        }
    }
    // Huge values stay within what PostgreSQL accepts, and adding the elapsed time to one
    // (as the runner does) cannot overflow.
    let huge = LockRetry { first: Duration::MAX, max: Duration::MAX, total: Duration::MAX };
    for attempt in [0, 5, u32::MAX] {
        assert_eq!(huge.timeout(attempt), LockRetry::LONGEST);
        assert!(Duration::from_secs(3600 * 24 * 365).checked_add(huge.timeout(attempt)).is_some());
    }
    assert!(huge.may_retry(Duration::from_secs(1)));
}
