use super::*;
use crate::locks::PgMajor;
use crate::ops::{AlterColumn, Check, Column, DialectKind, ForeignKey, Index, Ops, Table, Unique};
use crate::types::Type;

fn options() -> LintOptions {
    LintOptions::for_version(PgMajor::new(16).unwrap())
}

/// The codes the ops `f` records give, on a schema where `users` exists with a few columns.
fn codes_with(options: &LintOptions, transactional: bool, f: impl FnOnce(&mut Ops)) -> Vec<&'static str> {
    findings_with(options, transactional, f).iter().map(|f| f.code).collect()
}

fn findings_with(options: &LintOptions, transactional: bool, f: impl FnOnce(&mut Ops)) -> Vec<Finding> {
    let mut ops = Ops::new();
    f(&mut ops);
    let mut known = Known::new()
        .with_column("users", "name", Type::String(100))
        .with_column("users", "org_id", Type::Integer)
        .with_column("users", "email", Type::Text);
    let findings = lint_ops("abc123", transactional, ops.ops(), &mut known, options);
    for f in &findings {
        // Every finding is a sentence with a remedy, naming the revision and op.
        assert!(!f.message.is_empty() && !f.remedy.is_empty(), "{f:?}");
        assert!(f.to_string().starts_with(&format!("{} {} abc123 op ", f.code, f.severity)), "{f}");
    }
    findings
}

fn codes(f: impl FnOnce(&mut Ops)) -> Vec<&'static str> {
    codes_with(&options(), true, f)
}

#[test]
fn adding_columns() {
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("bio", Type::Text).nullable());
        }),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("active", Type::Boolean).default(true));
        }),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("at", Type::TimestampTz).default_sql("now()"));
        }),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("t", Type::Uuid).default_sql("gen_random_uuid()"));
        }),
        ["S001"]
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("age", Type::BigInt));
        }),
        ["S002"]
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("n", Type::BigInt).autoincrement());
        }),
        ["S003"]
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("n", Type::Integer).autoincrement());
        }),
        ["S003", "S018"]
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("h", Type::Text).nullable().unique());
        }),
        ["S006"]
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("h", Type::BigInt).nullable().check("h > 0"));
        }),
        ["S005"]
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("h", Type::String(20)).nullable());
        }),
        ["S020"]
    );
    assert_eq!(
        codes(|o| {
            o.add_column("users", Column::new("h", Type::Timestamp).nullable());
        }),
        ["S021"]
    );
}

#[test]
fn a_table_created_in_the_same_migration_or_declared_empty_is_exempt() {
    let create = |o: &mut Ops| {
        o.create_table(Table::new("t").column(Column::new("id", Type::BigInt).autoincrement()));
    };
    let all_risky = |o: &mut Ops, t: &str| {
        o.add_column(t, Column::new("age", Type::BigInt))
            .add_column(t, Column::new("tok", Type::Uuid).default_sql("gen_random_uuid()"))
            .create_index(Index::new("ix", t, ["age"]))
            .add_unique_constraint(t, Unique::new(["age"]))
            .add_check_constraint(t, Check::new("ck", "age > 0"))
            .add_foreign_key(t, ForeignKey::new(["age"], "users", ["id"]))
            .alter_column(t, "age", AlterColumn::new().ty(Type::Text).nullable(false))
            .drop_index("ix", t);
    };
    assert_eq!(
        codes(|o| {
            create(o);
            all_risky(o, "t");
            o.rename_column("t", "age", "years")
                .drop_column("t", "years")
                .rename_table("t", "u")
                .drop_table("u");
        }),
        Vec::<&str>::new()
    );
    // The same ops on an existing table: every rule fires.
    assert_eq!(
        codes(|o| all_risky(o, "users")),
        ["S002", "S001", "S013", "S006", "S005", "S004", "S007", "S008", "S014"]
    );
    // Declared empty: the lock rules are off; renames and drops still break running code.
    let empty = options().empty_table("users");
    assert_eq!(codes_with(&empty, true, |o| all_risky(o, "users")), Vec::<&str>::new());
    assert_eq!(
        codes_with(&empty, true, |o| {
            o.rename_column("users", "a", "b").drop_column("users", "b");
        }),
        ["S009", "S011"]
    );
}

#[test]
fn renames_and_drops() {
    assert_eq!(
        codes(|o| {
            o.rename_column("users", "name", "full_name");
        }),
        ["S009"]
    );
    assert_eq!(
        codes(|o| {
            o.rename_table("users", "accounts");
        }),
        ["S010"]
    );
    assert_eq!(
        codes(|o| {
            o.drop_column("users", "name");
        }),
        ["S011"]
    );
    assert_eq!(
        codes(|o| {
            o.drop_table("users");
        }),
        ["S012"]
    );
    assert_eq!(
        codes(|o| {
            o.drop_constraint("users", "uq");
        }),
        Vec::<&str>::new()
    );
}

#[test]
fn column_types_change_without_a_finding_when_binary_coercible() {
    assert_eq!(
        codes(|o| {
            o.alter_column("users", "name", AlterColumn::new().ty(Type::Text));
        }),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(|o| {
            o.alter_column("users", "name", AlterColumn::new().ty(Type::String(200)));
        }),
        ["S020"]
    );
    assert_eq!(
        codes(|o| {
            o.alter_column("users", "org_id", AlterColumn::new().ty(Type::BigInt));
        }),
        ["S007"]
    );
    let unknown = findings_with(&options(), true, |o| {
        o.alter_column("users", "ghost", AlterColumn::new().ty(Type::BigInt));
    });
    assert_eq!(unknown[0].code, "S007");
    assert!(unknown[0].message.contains("assumed"), "{}", unknown[0].message);
}

#[test]
fn set_not_null_is_fine_once_a_validated_check_proves_it() {
    assert_eq!(
        codes(|o| {
            o.alter_column("users", "email", AlterColumn::new().nullable(false));
        }),
        ["S008"]
    );
    assert_eq!(
        codes(|o| {
            o.alter_column("users", "email", AlterColumn::new().nullable(true));
        }),
        Vec::<&str>::new()
    );
    let with_check = |o: &mut Ops| {
        o.alter_column("users", "email", AlterColumn::new().nullable(false));
    };
    let mut ops = Ops::new();
    with_check(&mut ops);
    let mut known = Known::new().with_not_null_check("users", "ck", "email");
    assert!(lint_ops("r", true, ops.ops(), &mut known, &options()).is_empty());
    // PostgreSQL 11 scans anyway, and the remedy says what works there.
    let mut known = Known::new().with_not_null_check("users", "ck", "email");
    let on_11 = lint_ops("r", true, ops.ops(), &mut known, &LintOptions::default());
    assert_eq!(on_11.len(), 1);
    assert!(on_11[0].remedy.contains("PostgreSQL 11"), "{}", on_11[0].remedy);
}

#[test]
fn key_columns_should_be_bigint() {
    let table = |ty: Type| {
        codes(move |o| {
            o.create_table(
                Table::new("t")
                    .column(Column::new("id", ty.clone()).autoincrement())
                    .column(Column::new("user_id", ty).nullable())
                    .column(Column::new("count", Type::Integer))
                    .foreign_key(ForeignKey::new(["user_id"], "users", ["id"])),
            );
        })
    };
    assert_eq!(table(Type::Integer), ["S018", "S018"]);
    assert_eq!(table(Type::BigInt), Vec::<&str>::new());
    // A foreign key over an existing integer column.
    assert_eq!(
        codes(|o| {
            o.add_foreign_key("users", ForeignKey::new(["org_id"], "orgs", ["id"]));
        }),
        ["S004", "S018"]
    );
}

#[test]
fn remedies_give_the_sql_to_run() {
    let f = findings_with(&options(), true, |o| {
        o.create_index(Index::new("ix_users_email", "users", ["email"]).unique());
        o.add_foreign_key("users", ForeignKey::new(["org_id"], "orgs", ["id"]).named("fk_org"));
    });
    assert!(
        f[0].remedy.contains("CREATE UNIQUE INDEX CONCURRENTLY \"ix_users_email\" ON \"users\" (\"email\")"),
        "{}",
        f[0].remedy
    );
    assert!(f[0].remedy.contains("transactional: false"), "{}", f[0].remedy);
    assert!(f[1].remedy.contains("NOT VALID") && f[1].remedy.contains("VALIDATE CONSTRAINT \"fk_org\""));
    assert_eq!((f[0].op_index, f[1].op_index), (0, 1));
    assert_eq!(f[0].op, "create_index ix_users_email on users");
}

#[test]
fn timeouts() {
    let off = options().with_timeouts(Timeouts { lock: None, statement: None });
    let on = options().with_timeouts(Timeouts {
        lock: Some(Duration::from_secs(10)),
        statement: Some(Duration::from_secs(600)),
    });
    let risky = |o: &mut Ops| {
        o.rename_column("users", "a", "b")
            .create_index(Index::new("ix", "users", ["b"]))
            .drop_column("users", "b");
    };
    assert_eq!(codes_with(&off, true, risky), ["S009", "S016", "S013", "S017", "S011"], "once per migration");
    assert_eq!(codes_with(&on, true, risky), ["S009", "S013", "S011"]);
    assert_eq!(codes_with(&options(), true, risky), ["S009", "S013", "S011"], "timeouts not known");
    // Nothing that blocks writes: no timeout finding.
    assert_eq!(
        codes_with(&off, true, |o| {
            o.create_table(Table::new("t").column(Column::new("id", Type::BigInt)));
        }),
        Vec::<&str>::new()
    );
}

#[test]
fn execute_safe_is_linted_too_and_sqlite_only_sql_is_not() {
    assert_eq!(
        codes(|o| {
            o.execute_safe("CREATE INDEX ix ON users (email)");
        }),
        expected_for_sql(["S013"])
    );
    assert_eq!(
        codes(|o| {
            o.execute_on(DialectKind::Sqlite, "CREATE INDEX ix ON users (email)");
        }),
        Vec::<&str>::new()
    );
}

/// What a build without the SQL parser reports instead.
fn expected_for_sql<const N: usize>(codes: [&'static str; N]) -> Vec<&'static str> {
    if cfg!(feature = "sql-lint") {
        codes.to_vec()
    } else {
        vec!["S023"]
    }
}

#[cfg(feature = "sql-lint")]
mod raw_sql {
    use super::*;

    fn sql(text: &str) -> Vec<&'static str> {
        codes(|o| {
            o.execute(text);
        })
    }

    fn sql_outside_transaction(text: &str) -> Vec<&'static str> {
        codes_with(&options(), false, |o| {
            o.execute(text);
        })
    }

    #[test]
    fn indexes() {
        assert_eq!(sql("CREATE INDEX ix ON users (email)"), ["S013"]);
        assert_eq!(sql("CREATE INDEX CONCURRENTLY ix ON users (email)"), ["S015"]);
        assert_eq!(
            sql_outside_transaction("CREATE INDEX CONCURRENTLY ix ON users (email)"),
            Vec::<&str>::new()
        );
        assert_eq!(sql("DROP INDEX ix"), ["S014"]);
        assert_eq!(sql_outside_transaction("DROP INDEX CONCURRENTLY ix"), Vec::<&str>::new());
        assert_eq!(sql("DROP INDEX CONCURRENTLY ix"), ["S015"]);
        // A table created by the same SQL is exempt.
        assert_eq!(
            sql("CREATE TABLE t (id bigint PRIMARY KEY, e text); CREATE INDEX ix ON t (e)"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn constraints() {
        assert_eq!(
            sql("ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id)"),
            ["S004"]
        );
        assert_eq!(
            sql("ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID"),
            Vec::<&str>::new()
        );
        assert_eq!(sql("ALTER TABLE users VALIDATE CONSTRAINT fk"), Vec::<&str>::new());
        assert_eq!(sql("ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0)"), ["S005"]);
        assert_eq!(sql("ALTER TABLE users ADD CONSTRAINT ck CHECK (age > 0) NOT VALID"), Vec::<&str>::new());
        assert_eq!(sql("ALTER TABLE users ADD CONSTRAINT uq UNIQUE (email)"), ["S006"]);
        assert_eq!(
            sql("ALTER TABLE users ADD CONSTRAINT uq UNIQUE USING INDEX ix_email"),
            Vec::<&str>::new()
        );
        assert_eq!(sql("ALTER TABLE users ADD PRIMARY KEY (id)"), ["S003"]);
        assert_eq!(sql("ALTER TABLE users ALTER COLUMN email SET NOT NULL"), ["S008"]);
        assert_eq!(
            sql("ALTER TABLE users ADD CONSTRAINT ck CHECK (email IS NOT NULL) NOT VALID; \
                 ALTER TABLE users VALIDATE CONSTRAINT ck; \
                 ALTER TABLE users ALTER COLUMN email SET NOT NULL"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn columns() {
        assert_eq!(sql("ALTER TABLE users ADD COLUMN bio text"), Vec::<&str>::new());
        assert_eq!(sql("ALTER TABLE users ADD COLUMN a boolean NOT NULL DEFAULT false"), Vec::<&str>::new());
        assert_eq!(sql("ALTER TABLE users ADD COLUMN a bigint NOT NULL"), ["S002"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid()"), ["S001"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN n bigserial"), ["S019", "S001"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN id bigint PRIMARY KEY"), ["S003"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN h text UNIQUE"), ["S006"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN o bigint REFERENCES orgs (id)"), ["S004"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN v varchar(10)"), ["S020"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN c char(2)"), ["S020"]);
        assert_eq!(sql("ALTER TABLE users ADD COLUMN at timestamp"), ["S021"]);
        assert_eq!(sql("ALTER TABLE users ALTER COLUMN name TYPE text"), Vec::<&str>::new());
        assert_eq!(sql("ALTER TABLE users ALTER COLUMN org_id TYPE bigint"), ["S007"]);
        assert_eq!(sql("ALTER TABLE users RENAME COLUMN name TO full_name"), ["S009"]);
        assert_eq!(sql("ALTER TABLE users RENAME TO people"), ["S010"]);
        assert_eq!(sql("ALTER TABLE users DROP COLUMN name"), ["S011"]);
        assert_eq!(sql("DROP TABLE users"), ["S012"]);
        assert_eq!(
            sql("CREATE TABLE t (id serial PRIMARY KEY, at timestamp, n int REFERENCES users (id))"),
            ["S019", "S018", "S021", "S018"]
        );
    }

    #[test]
    fn sql_that_cannot_be_parsed_is_a_finding_and_the_rest_is_checked() {
        let found = findings_with(&options(), true, |o| {
            o.execute("FROBNICATE users; CREATE INDEX ix ON users (email)");
        });
        let codes: Vec<&str> = found.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["S022", "S013"]);
        assert!(found[0]
            .message
            .contains("statement 1 (FROBNICATE users) cannot be parsed, so it was not checked"));
        assert!(found[1].message.starts_with("statement 2 (CREATE INDEX ix ON users (email))"));
    }

    #[test]
    fn sql_that_turns_a_timeout_off() {
        assert_eq!(sql("SET lock_timeout = 0"), ["S016"]);
        assert_eq!(sql("SET statement_timeout TO '0'"), ["S017"]);
        assert_eq!(sql("SET lock_timeout = '5s'"), Vec::<&str>::new());
    }
}

#[test]
fn rule_codes_are_unique_and_sequential() {
    for (i, rule) in rules::ALL.iter().enumerate() {
        assert_eq!(rule.code, format!("S{:03}", i + 1), "{}", rule.name);
        assert!(!rules::ALL[..i].iter().any(|r| r.name == rule.name), "{}", rule.name);
    }
}

/// docs/safety.md carries the generated tables between markers; this test compares them with
/// what the code says, and rewrites them with `STRATA_UPDATE_DOCS=1`. (The raw SQL rows need
/// the parser.)
#[cfg(feature = "sql-lint")]
#[test]
fn docs_safety_md_is_generated_from_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/safety.md");
    let text = std::fs::read_to_string(&path).expect("docs/safety.md");
    let mut updated = text.clone();
    for (name, generated) in [("locks", crate::locks::reference_table()), ("rules", rules::markdown())] {
        let start = format!("<!-- generated: {name} -->\n");
        let end = format!("<!-- end generated: {name} -->");
        let (before, rest) = updated.split_once(&start).unwrap_or_else(|| panic!("no {start:?} marker"));
        let (_, after) = rest.split_once(&end).unwrap_or_else(|| panic!("no {end:?} marker"));
        updated = format!("{before}{start}{generated}{end}{after}");
    }
    if updated != text {
        if std::env::var_os("STRATA_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &updated).expect("write docs/safety.md");
        } else {
            panic!("docs/safety.md is out of date: run the test with STRATA_UPDATE_DOCS=1 to regenerate it");
        }
    }
}

#[test]
fn the_example_migrations_lint_in_plan_order() {
    // Two migrations: the second's index is on a table the first created, so it counts.
    let m1 = Box::leak(Box::new(crate::Migration {
        revision: "a1",
        parents: &[],
        message: "create t",
        created: "2026-01-01T00:00:00Z",
        file: "a1.rs",
        upgrade: |op| {
            op.create_table(Table::new("t").column(Column::new("id", Type::BigInt).autoincrement()))
                .create_index(Index::new("ix_t", "t", ["id"]));
        },
        downgrade: |_| {},
        transactional: true,
        replaces: &[],
    }));
    let m2 = Box::leak(Box::new(crate::Migration {
        revision: "b2",
        parents: &["a1"],
        message: "index t",
        created: "2026-01-02T00:00:00Z",
        file: "b2.rs",
        upgrade: |op| {
            op.create_index(Index::new("ix_t2", "t", ["id"]));
        },
        downgrade: |_| {},
        transactional: true,
        replaces: &[],
    }));
    let set = MigrationSet::new(vec![m2, m1]).unwrap();
    let found = lint(&set, &LintOptions::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].revision.as_str(), found[0].code, found[0].op_index), ("b2", "S013", 0));
    assert!(has_errors(&found));
}

#[test]
fn acknowledged_findings_are_kept_marked_and_do_not_count_as_errors() {
    let m = Box::leak(Box::new(crate::Migration {
        revision: "c3",
        parents: &[],
        message: "index and type",
        created: "2026-01-03T00:00:00Z",
        file: "c3.rs",
        upgrade: |op| {
            op.create_index(Index::new("ix_users_name", "users", ["name"]))
                .create_index(Index::new("ix_users_email", "users", ["email"]))
                .alter_column("users", "org_id", AlterColumn::new().ty(Type::BigInt))
                .allow("S013", "users holds 40 rows");
        },
        downgrade: |_| {},
        transactional: true,
        replaces: &[],
    }));
    let mut known = Known::new()
        .with_column("users", "name", Type::String(100))
        .with_column("users", "org_id", Type::Integer)
        .with_column("users", "email", Type::Text);
    let found = lint_migration(m, &mut known, &options());
    let s013: Vec<&Finding> = found.iter().filter(|f| f.code == "S013").collect();
    assert_eq!(s013.len(), 2, "migration-wide: both indexes: {found:?}");
    assert!(s013.iter().all(|f| f.acknowledged.as_deref() == Some("users holds 40 rows")));
    assert!(s013[0].to_string().ends_with("Acknowledged: users holds 40 rows."), "{}", s013[0]);
    // The type change is not acknowledged: still an error.
    let blocking = unacknowledged_errors(&found);
    assert_eq!(blocking.iter().map(|f| f.code).collect::<Vec<_>>(), ["S007"], "{found:?}");
    assert!(has_errors(&found));
    assert!(blocking[0].how_to_acknowledge().contains("op.allow(\"S007\""));

    let mut only_acknowledged = s013.into_iter().cloned().collect::<Vec<_>>();
    assert!(!has_errors(&only_acknowledged));
    acknowledge(&mut only_acknowledged, &[]);
    assert!(has_errors(&only_acknowledged), "without the acknowledgement they count again");
}

#[test]
fn acknowledgements_with_unknown_codes_or_no_reason_are_errors() {
    use crate::ops::Acknowledgement;
    let ack = |code: &str, reason: &str| Acknowledgement { code: code.into(), reason: reason.into() };
    assert!(check_acknowledgements("r1", &[ack("S013", "tiny"), ack("S001", "x")]).is_empty());
    let errors = check_acknowledgements(
        "r1",
        &[
            ack("s13", "tiny"),
            ack("S999", "x"),
            ack("require-concurrent-index-creation", "x"),
            ack("S013", "  "),
        ],
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text[0].starts_with(
            "migration r1 acknowledges \"s13\", which is not a lint rule code (did you mean S013?)"
        ),
        "{}",
        text[0]
    );
    assert!(text[0].contains("S001, S002") && text[0].contains("S023"), "lists the known codes: {}", text[0]);
    assert!(!text[1].contains("did you mean"), "{}", text[1]);
    assert!(text[2].contains("(did you mean S013?)"), "a rule's name: {}", text[2]);
    assert!(text[3].contains("acknowledges S013 without a reason"), "{}", text[3]);
    assert!(matches!(errors[3], AcknowledgementError::EmptyReason { .. }));

    // An acknowledgement that cannot be honoured marks nothing.
    let mut ops = Ops::new();
    ops.create_index(Index::new("ix_users_name", "users", ["name"])).allow("S013", "");
    let (ops, acks) = ops.into_parts();
    let mut findings = lint_ops("r1", true, &ops, &mut Known::new(), &options());
    acknowledge(&mut findings, &acks);
    assert!(has_errors(&findings));
}

#[test]
fn with_rewriting_on_what_the_rewrite_fixes_is_not_reported_and_the_rest_is() {
    let record = |op: &mut Ops| {
        op.create_index(Index::new("ix_users_name", "users", ["name"]));
        op.drop_index("ix_users_old", "users");
        op.add_foreign_key("users", ForeignKey::new(["org_id"], "orgs", ["id"]).named("fk_users_org"));
        op.add_check_constraint("users", Check::new("ck_age", "age > 0"));
        op.add_unique_constraint("users", Unique::new(["name"]).named("uq_users_name"));
        op.alter_column("users", "name", AlterColumn::new().nullable(false));
        op.drop_column("users", "age");
    };
    let pg15 = LintOptions::for_version(PgMajor::new(15).unwrap());
    let off = codes_with(&pg15, true, record);
    for code in ["S013", "S014", "S004", "S005", "S006", "S008", "S011"] {
        assert!(off.contains(&code), "{code} without rewriting: {off:?}");
    }
    let on = codes_with(&pg15.clone().rewriting(true), true, record);
    for code in ["S013", "S014", "S004", "S005", "S006", "S008"] {
        assert!(!on.contains(&code), "{code} with rewriting: {on:?}");
    }
    assert!(on.contains(&"S011"), "a dropped column stays reported: {on:?}");
    // PostgreSQL 11: the NOT NULL rewrite refuses, so the scan stays reported.
    let pg11 = codes_with(&LintOptions::default().rewriting(true), true, record);
    assert!(pg11.contains(&"S008") && !pg11.contains(&"S013"), "{pg11:?}");
    // A non-transactional migration is not rewritten.
    let nontx = codes_with(&pg15.rewriting(true), false, record);
    assert!(nontx.contains(&"S013"), "{nontx:?}");
}
