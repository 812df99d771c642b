use super::*;
use crate::ops::{AlterColumn, Check, ForeignKey, Index, Ops, Table, Unique};

fn major(n: u32) -> PgMajor {
    PgMajor::new(n).unwrap()
}

/// The single effect of the single op `f` records.
fn one(f: impl FnOnce(&mut Ops), on: u32, known: &Known) -> StatementEffect {
    let mut ops = Ops::new();
    f(&mut ops);
    let ops = ops.into_ops();
    assert_eq!(ops.len(), 1);
    let mut effects = effect(&ops[0], major(on), known);
    assert_eq!(effects.len(), 1, "{effects:?}");
    effects.remove(0)
}

fn locks(e: &StatementEffect) -> Vec<(&str, LockLevel)> {
    e.locks.iter().map(|l| (l.table.as_str(), l.level)).collect()
}

#[test]
fn versions_parse_strictly() {
    assert_eq!("16".parse::<PgMajor>().unwrap().get(), 16);
    assert_eq!(" 15.4 ".parse::<PgMajor>().unwrap().get(), 15);
    assert_eq!("18beta1".parse::<PgMajor>().unwrap().get(), 18);
    assert_eq!("abc".parse::<PgMajor>(), Err(PgVersionError::NotANumber { given: "abc".into() }));
    assert_eq!("".parse::<PgMajor>(), Err(PgVersionError::NotANumber { given: "".into() }));
    assert_eq!("16x".parse::<PgMajor>(), Err(PgVersionError::NotANumber { given: "16x".into() }));
    assert_eq!("-3".parse::<PgMajor>(), Err(PgVersionError::NotANumber { given: "-3".into() }));
    assert_eq!("10".parse::<PgMajor>(), Err(PgVersionError::TooOld { major: 10 }));
    assert_eq!("19".parse::<PgMajor>(), Err(PgVersionError::TooNew { major: 19 }));
    assert_eq!(PgMajor::from_server_version_num(150004).unwrap().get(), 15);
    assert_eq!(PgMajor::from_server_version_num(100012), Err(PgVersionError::TooOld { major: 10 }));
    assert_eq!(PgMajor::all().count(), 8);
    assert!(PgVersionError::TooOld { major: 9 }.to_string().contains("11 to 18"));
    assert!(PgVersionError::NotANumber { given: "x".into() }.to_string().contains("such as 16"));
}

#[test]
fn the_conflict_table_is_symmetric_and_matches_the_documentation() {
    use LockLevel::*;
    for a in LockLevel::ALL {
        for b in LockLevel::ALL {
            assert_eq!(a.conflicts_with(b), b.conflicts_with(a), "{a} / {b}");
        }
    }
    let blocks_reads: Vec<LockLevel> = LockLevel::ALL.into_iter().filter(|l| l.blocks_reads()).collect();
    assert_eq!(blocks_reads, [AccessExclusive]);
    let blocks_writes: Vec<LockLevel> = LockLevel::ALL.into_iter().filter(|l| l.blocks_writes()).collect();
    assert_eq!(blocks_writes, [Share, ShareRowExclusive, Exclusive, AccessExclusive]);
    assert!(!ShareUpdateExclusive.conflicts_with(RowExclusive));
    assert!(ShareUpdateExclusive.conflicts_with(ShareUpdateExclusive));
    assert!(!Share.conflicts_with(Share));
    assert!(ShareRowExclusive.conflicts_with(ShareRowExclusive));
    assert!(!RowShare.conflicts_with(RowExclusive));
    assert_eq!(AccessExclusive.pg_locks_mode(), "AccessExclusiveLock");
    assert_eq!(ShareUpdateExclusive.to_string(), "SHARE UPDATE EXCLUSIVE");
}

#[test]
fn tables_and_columns() {
    use LockLevel::*;
    let k = Known::new();
    let e = one(
        |o| {
            o.create_table(
                Table::new("posts")
                    .column(Column::new("id", Type::BigInt).autoincrement())
                    .column(Column::new("parent_id", Type::BigInt).nullable())
                    .column(Column::new("user_id", Type::BigInt))
                    .foreign_key(ForeignKey::new(["user_id"], "users", ["id"]))
                    .foreign_key(ForeignKey::new(["parent_id"], "posts", ["id"])),
            );
        },
        11,
        &k,
    );
    assert_eq!(locks(&e), [("posts", AccessExclusive), ("users", ShareRowExclusive)]);
    assert!(!e.rewrites && !e.scans && e.transactional && e.uncertain.is_none());

    let e = one(
        |o| {
            o.drop_column("users", "bio");
        },
        16,
        &k,
    );
    assert_eq!((locks(&e), e.rewrites, e.scans), (vec![("users", AccessExclusive)], false, false));
    let e = one(
        |o| {
            o.rename_table("users", "accounts");
        },
        16,
        &k,
    );
    assert_eq!(locks(&e), [("users", AccessExclusive)]);
    let e = one(
        |o| {
            o.rename_column("users", "a", "b");
        },
        16,
        &k,
    );
    assert_eq!(locks(&e), [("users", AccessExclusive)]);

    // DROP TABLE of a table with a foreign key locks the referenced table too.
    let with_fk = Known::new().with_foreign_key("posts", "fk_posts_user", "users");
    let e = one(
        |o| {
            o.drop_table("posts");
        },
        16,
        &with_fk,
    );
    assert_eq!(locks(&e), [("posts", AccessExclusive), ("users", AccessExclusive)]);
}

#[test]
fn add_column_rewrites_only_for_volatile_defaults_and_scans_for_not_null() {
    let k = Known::new();
    let add = |c: Column, on: u32| {
        one(
            |o| {
                o.add_column("users", c);
            },
            on,
            &k,
        )
    };
    for on in [11, 18] {
        let e = add(Column::new("bio", Type::Text).nullable(), on);
        assert_eq!((e.rewrites, e.scans), (false, false), "{on}");
        let e = add(Column::new("bio", Type::Text).nullable().default("x"), on);
        assert_eq!((e.rewrites, e.scans), (false, false), "{on}");
        let e = add(Column::new("at", Type::TimestampTz).default_sql("CURRENT_TIMESTAMP"), on);
        assert!(!e.rewrites, "{on}: a stable default");
        let e = add(Column::new("token", Type::Uuid).default_sql("gen_random_uuid()"), on);
        assert_eq!((e.rewrites, e.scans, e.uncertain.is_none()), (true, true, true), "{on}");
        let e = add(Column::new("n", Type::BigInt).autoincrement(), on);
        assert!(e.rewrites && e.scans, "{on}: an identity column fills every row");
        let e = add(Column::new("age", Type::Integer), on);
        assert_eq!((e.rewrites, e.scans), (false, true), "{on}: NOT NULL without a default is verified");
        let e = add(Column::new("h", Type::Text).nullable().unique(), on);
        assert_eq!((e.rewrites, e.scans), (false, true), "{on}: the index build");
        let e = add(Column::new("h", Type::Integer).nullable().check("h > 0"), on);
        assert!(e.scans, "{on}: the check is verified");
        let e = add(Column::new("x", Type::Text).nullable().default_sql("my_func()"), on);
        assert!(e.rewrites, "{on}: an unknown function is counted as volatile");
        assert!(e.uncertain.as_deref().unwrap().contains("my_func"), "{e:?}");
    }
    // NOT NULL with a constant default: the stored default fills the rows, no scan, on 11 too
    // (proved on PostgreSQL 11.22 by tests/lock_proof.rs).
    for on in [11, 12, 18] {
        let e = add(Column::new("active", Type::Boolean).default(true), on);
        assert_eq!((e.rewrites, e.scans), (false, false), "{on}");
    }
}

#[test]
fn alter_column_type_rewrites_unless_binary_coercible() {
    let k = Known::new()
        .with_column("users", "name", Type::String(100))
        .with_column("users", "age", Type::Integer)
        .with_column("users", "price", Type::Numeric(10, 2))
        .with_column("users", "at", Type::Timestamp);
    let alter = |column: &str, change: AlterColumn, on: u32| {
        one(
            |o| {
                o.alter_column("users", column, change);
            },
            on,
            &k,
        )
    };
    let rewrites = |column: &str, ty: Type| alter(column, AlterColumn::new().ty(ty), 16).rewrites;
    assert!(!rewrites("name", Type::String(200)));
    assert!(!rewrites("name", Type::String(100)));
    assert!(!rewrites("name", Type::Text));
    assert!(rewrites("name", Type::String(50)));
    assert!(rewrites("age", Type::BigInt));
    assert!(!rewrites("price", Type::Numeric(12, 2)));
    assert!(rewrites("price", Type::Numeric(12, 3)));
    let e = alter("at", AlterColumn::new().ty(Type::TimestampTz), 16);
    assert!(e.rewrites && e.uncertain.as_deref().unwrap().contains("UTC"), "{e:?}");
    let e = alter("at", AlterColumn::new().ty(Type::TimestampTz), 11);
    assert!(e.rewrites && e.uncertain.is_none(), "{e:?}");
    // Not known: the worst case, said so.
    let e = alter("ghost", AlterColumn::new().ty(Type::Text), 16);
    assert!(e.rewrites && e.uncertain.as_deref().unwrap().contains("users.ghost"), "{e:?}");
    let e = alter("name", AlterColumn::new().ty(Type::Text).using("upper(name)"), 16);
    assert!(e.rewrites && e.uncertain.is_some());
    let e = alter("name", AlterColumn::new().nullable(true).default("x"), 16);
    assert_eq!((e.rewrites, e.scans), (false, false));
    assert_eq!(locks(&e), [("users", LockLevel::AccessExclusive)]);
}

#[test]
fn set_not_null_scans_unless_a_valid_check_proves_it_on_12_and_later() {
    let plain = Known::new();
    let proven = Known::new().with_not_null_check("users", "ck", "email");
    let set = |k: &Known, on: u32| {
        one(
            |o| {
                o.alter_column("users", "email", AlterColumn::new().nullable(false));
            },
            on,
            k,
        )
    };
    assert!(set(&plain, 16).scans);
    assert!(set(&proven, 11).scans, "11 always scans");
    for on in 12..=18 {
        assert!(!set(&proven, on).scans, "{on}");
    }
    assert_eq!(not_null_check_column("email IS NOT NULL").as_deref(), Some("email"));
    assert_eq!(not_null_check_column("(\"Email\" is not null)").as_deref(), Some("Email"));
    assert_eq!(not_null_check_column("email IS NULL"), None);
    assert_eq!(not_null_check_column("length(email) > 0"), None);
}

#[test]
fn indexes_and_constraints() {
    use LockLevel::*;
    let k = Known::new();
    let e = one(
        |o| {
            o.create_index(Index::new("ix", "users", ["email"]));
        },
        16,
        &k,
    );
    assert_eq!((locks(&e), e.scans, e.transactional), (vec![("users", Share)], true, true));
    let e = one(
        |o| {
            o.drop_index("ix", "users");
        },
        16,
        &k,
    );
    assert_eq!((locks(&e), e.scans), (vec![("users", AccessExclusive)], false));
    let e = one(
        |o| {
            o.add_foreign_key("users", ForeignKey::new(["org_id"], "orgs", ["id"]));
        },
        16,
        &k,
    );
    assert_eq!((locks(&e), e.scans), (vec![("users", ShareRowExclusive), ("orgs", ShareRowExclusive)], true));
    let e = one(
        |o| {
            o.add_unique_constraint("users", Unique::new(["email"]));
        },
        16,
        &k,
    );
    assert_eq!((locks(&e), e.scans), (vec![("users", AccessExclusive)], true));
    let e = one(
        |o| {
            o.add_check_constraint("users", Check::new("ck", "age > 0"));
        },
        16,
        &k,
    );
    assert_eq!((locks(&e), e.scans, e.rewrites), (vec![("users", AccessExclusive)], true, false));
    let fk = Known::new().with_foreign_key("users", "fk_org", "orgs");
    let e = one(
        |o| {
            o.drop_constraint("users", "fk_org");
        },
        16,
        &fk,
    );
    assert_eq!(locks(&e), [("users", AccessExclusive), ("orgs", AccessExclusive)]);
    let e = one(
        |o| {
            o.drop_constraint("users", "fk_org");
        },
        16,
        &k,
    );
    assert!(e.uncertain.is_some(), "an unknown constraint may be a foreign key");
}

#[test]
fn data_ops_and_sqlite_only_sql_render_nothing() {
    let mut ops = Ops::new();
    ops.execute_on(DialectKind::Sqlite, "VACUUM").alter_column("t", "c", AlterColumn::new());
    let ops = ops.into_ops();
    for op in &ops {
        assert!(effect(op, PgMajor::OLDEST, &Known::new()).is_empty(), "{op}");
    }
}

#[cfg(feature = "sql-lint")]
mod raw_sql {
    use super::*;
    use LockLevel::*;

    fn raw(sql: &str, on: u32, known: &Known) -> Vec<StatementEffect> {
        sql_effects(sql, major(on), known)
    }

    #[test]
    fn concurrent_index_statements_are_not_transactional() {
        let k = Known::new().with_index("ix_users_email", "users");
        let e = &raw("CREATE INDEX CONCURRENTLY ix_users_email ON users (email)", 16, &k)[0];
        assert_eq!(
            (locks(e), e.transactional, e.scans),
            (vec![("users", ShareUpdateExclusive)], false, true)
        );
        let e = &raw("drop index concurrently if exists ix_users_email", 16, &k)[0];
        assert_eq!((locks(e), e.transactional), (vec![("users", ShareUpdateExclusive)], false));
        assert!(e.uncertain.is_none(), "{e:?}");
        let e = &raw("DROP INDEX ix_users_email", 16, &k)[0];
        assert_eq!((locks(e), e.transactional), (vec![("users", AccessExclusive)], true));
        let e = &raw("DROP INDEX ix_unknown", 16, &k)[0];
        assert!(e.locks.is_empty() && e.uncertain.as_deref().unwrap().contains("ix_unknown"));
    }

    #[test]
    fn not_valid_then_validate_then_set_not_null() {
        let k = Known::new();
        let sql = "ALTER TABLE Users ADD CONSTRAINT ck_email CHECK (email IS NOT NULL) NOT VALID;\n\
                   ALTER TABLE users VALIDATE CONSTRAINT ck_email;\n\
                   -- a comment; with a semicolon\n\
                   ALTER TABLE users ALTER COLUMN email SET NOT NULL;";
        let effects = raw(sql, 16, &k);
        assert_eq!(effects.len(), 3, "{effects:?}");
        assert_eq!((locks(&effects[0]), effects[0].scans), (vec![("users", AccessExclusive)], false));
        assert_eq!((locks(&effects[1]), effects[1].scans), (vec![("users", ShareUpdateExclusive)], true));
        assert_eq!((locks(&effects[2]), effects[2].scans), (vec![("users", AccessExclusive)], false));
        assert!(raw(sql, 11, &k)[2].scans, "11 scans anyway");
        // Without the validation, the check proves nothing.
        let unvalidated = "ALTER TABLE users ADD CONSTRAINT ck CHECK (email IS NOT NULL) NOT VALID; \
                           ALTER TABLE users ALTER COLUMN email SET NOT NULL";
        assert!(raw(unvalidated, 16, &k)[1].scans);
    }

    #[test]
    fn foreign_keys_in_sql() {
        let k = Known::new().with_foreign_key("users", "fk_org", "orgs");
        let e = &raw(
            "ALTER TABLE users ADD CONSTRAINT fk2 FOREIGN KEY (team_id) REFERENCES teams (id) NOT VALID",
            16,
            &k,
        )[0];
        assert_eq!(
            (locks(e), e.scans),
            (vec![("users", ShareRowExclusive), ("teams", ShareRowExclusive)], false)
        );
        let e =
            &raw("ALTER TABLE users ADD CONSTRAINT fk2 FOREIGN KEY (team_id) REFERENCES teams (id)", 16, &k)
                [0];
        assert!(e.scans);
        let e = &raw("ALTER TABLE users VALIDATE CONSTRAINT fk_org", 16, &k)[0];
        assert_eq!(locks(e), [("users", ShareUpdateExclusive), ("orgs", RowShare)]);
        let e =
            &raw("CREATE TABLE t (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id))", 16, &k)[0];
        assert_eq!(locks(e), [("t", AccessExclusive), ("users", ShareRowExclusive)]);
    }

    #[test]
    fn add_column_and_types_in_sql() {
        let k = Known::new().with_column("users", "name", Type::String(100));
        let e = &raw("ALTER TABLE users ADD COLUMN n serial", 16, &k)[0];
        assert!(e.rewrites);
        let e = &raw("ALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid()", 16, &k)[0];
        assert!(e.rewrites);
        let e = &raw("ALTER TABLE users ADD COLUMN a boolean NOT NULL DEFAULT false", 16, &k)[0];
        assert_eq!((e.rewrites, e.scans), (false, false));
        // On 11 too (proved on 11.22 by tests/lock_proof.rs).
        assert!(!raw("ALTER TABLE users ADD COLUMN a boolean NOT NULL DEFAULT false", 11, &k)[0].scans);
        let e = &raw("ALTER TABLE users ALTER COLUMN name TYPE varchar(200)", 16, &k)[0];
        assert!(!e.rewrites && e.uncertain.is_none(), "{e:?}");
        let e = &raw("ALTER TABLE users ALTER COLUMN name TYPE text", 16, &k)[0];
        assert!(!e.rewrites);
        let e = &raw("ALTER TABLE users ALTER COLUMN name TYPE varchar(10)", 16, &k)[0];
        assert!(e.rewrites);
        let e = &raw("ALTER TABLE users ALTER COLUMN name TYPE bigint USING length(name)", 16, &k)[0];
        assert!(e.rewrites && e.uncertain.is_some());
        // A created table's column types are followed.
        let e = raw(
            "CREATE TABLE x (v varchar(20)); ALTER TABLE x ALTER COLUMN v TYPE varchar(40)",
            16,
            &Known::new(),
        );
        assert!(!e[1].rewrites && e[1].uncertain.is_none(), "{e:?}");
    }

    #[test]
    fn alter_type_add_value_is_transactional_from_12() {
        let k = Known::new();
        assert!(!raw("ALTER TYPE mood ADD VALUE 'sad'", 11, &k)[0].transactional);
        assert!(raw("ALTER TYPE mood ADD VALUE 'sad'", 12, &k)[0].transactional);
    }

    #[test]
    fn sql_that_does_not_parse_or_is_not_classified_is_uncertain() {
        let k = Known::new();
        let effects = raw("UPDATE users SET a = 1; FROBNICATE everything; SET lock_timeout = '2s'", 16, &k);
        assert_eq!(effects.len(), 3);
        assert_eq!(locks(&effects[0]), [("users", RowExclusive)]);
        assert!(effects[1].locks.is_empty() && effects[1].uncertain.as_deref().unwrap().contains("parsed"));
        assert!(effects[2].locks.is_empty() && effects[2].uncertain.is_none());
        assert!(raw("CREATE VIEW v AS SELECT 1", 16, &k)[0].uncertain.is_some());
        // Strings and dollar quotes keep their semicolons.
        let effects = raw(
            "INSERT INTO t VALUES ('a;b'); CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
            16,
            &k,
        );
        assert_eq!(effects.len(), 2, "{effects:?}");
        // One op sends it all: the effects merge.
        let mut ops = Ops::new();
        ops.execute("CREATE INDEX CONCURRENTLY ix ON t (c); UPDATE u SET a = 1");
        let merged = effect(&ops.ops()[0], major(16), &k);
        assert_eq!(merged.len(), 1);
        assert_eq!(locks(&merged[0]), [("t", ShareUpdateExclusive), ("u", RowExclusive)]);
        assert!(!merged[0].transactional);
    }

    #[test]
    fn unparsed_sql_makes_the_model_forget_what_would_weaken_a_claim() {
        let mut k = Known::new().with_column("users", "name", Type::String(10));
        let mut ops = Ops::new();
        ops.execute("FROBNICATE users");
        k.follow(&ops.ops()[0]);
        assert_eq!(k.column_type("users", "name"), None);
    }
}

#[test]
fn the_model_follows_renames_and_drops() {
    let mut ops = Ops::new();
    ops.create_table(
        Table::new("users")
            .column(Column::new("id", Type::BigInt).autoincrement())
            .column(Column::new("name", Type::String(50)).check("name IS NOT NULL"))
            .foreign_key(ForeignKey::new(["id"], "orgs", ["id"])),
    )
    .create_index(Index::new("ix_users_name", "users", ["name"]))
    .rename_column("users", "name", "full_name")
    .rename_table("users", "people")
    .alter_column("people", "full_name", AlterColumn::new().ty(Type::Text));
    let mut k = Known::new();
    for op in ops.ops() {
        k.follow(op);
    }
    assert_eq!(k.column_type("people", "full_name"), Some(&Type::Text));
    assert!(k.proves_not_null("people", "full_name"));
    assert_eq!(k.index_table("ix_users_name"), Some("people"));
    assert_eq!(k.referenced_by("people"), ["orgs"]);
    assert_eq!(k.column_type("users", "name"), None);
    let mut drop = Ops::new();
    drop.drop_column("people", "full_name").drop_table("people");
    k.follow(&drop.ops()[0]);
    assert!(!k.proves_not_null("people", "full_name"));
    k.follow(&drop.ops()[1]);
    assert_eq!(k.index_table("ix_users_name"), None);
}

#[test]
fn volatility_of_defaults() {
    assert_eq!(volatility("CURRENT_TIMESTAMP"), Volatility::Fixed);
    assert_eq!(volatility("now()"), Volatility::Fixed);
    assert_eq!(volatility("'random()'"), Volatility::Fixed, "inside a string");
    assert_eq!(volatility("'it''s' || lower('X')"), Volatility::Fixed);
    assert_eq!(volatility("(0)::bigint"), Volatility::Fixed);
    assert_eq!(volatility("gen_random_uuid()"), Volatility::Volatile("gen_random_uuid".into()));
    assert_eq!(volatility("nextval('s'::regclass)"), Volatility::Volatile("nextval".into()));
    assert_eq!(volatility("public.uuid_generate_v4 ()"), Volatility::Volatile("uuid_generate_v4".into()));
    assert_eq!(volatility("\"clock_timestamp\"()"), Volatility::Volatile("clock_timestamp".into()));
    // Quoted, the name keeps its case: not the built-in.
    assert_eq!(volatility("\"Clock_Timestamp\"()"), Volatility::Unknown("Clock_Timestamp".into()));
    assert_eq!(volatility("my_func(1)"), Volatility::Unknown("my_func".into()));
}

#[test]
fn summaries_read_as_script_comments() {
    let k = Known::new();
    let e = one(
        |o| {
            o.create_index(Index::new("ix", "users", ["email"]));
        },
        16,
        &k,
    );
    assert_eq!(e.comment(), "-- locks users: SHARE; rewrites: no; scans: yes");
    let e = one(
        |o| {
            o.add_foreign_key("users", ForeignKey::new(["org_id"], "orgs", ["id"]));
        },
        16,
        &k,
    );
    assert_eq!(
        e.summary(),
        "locks users: SHARE ROW EXCLUSIVE, orgs: SHARE ROW EXCLUSIVE; rewrites: no; scans: yes"
    );
    let e = one(
        |o| {
            o.alter_column("users", "x", AlterColumn::new().ty(Type::Text));
        },
        16,
        &k,
    );
    assert!(
        e.summary().ends_with("(not certain: the current type of users.x is not known)"),
        "{}",
        e.summary()
    );
}

#[test]
fn every_example_of_the_reference_table_renders_one_statement() {
    for example in examples() {
        for m in PgMajor::all() {
            assert_eq!(effect(&example.op, m, &example.known).len(), 1, "{}", example.what);
        }
    }
    let table = reference_table();
    assert!(table.contains("| add_column, NOT NULL with a constant default | 11+ |"), "{table}");
    let split = "| alter_column SET NOT NULL with a valid CHECK (name IS NOT NULL) |";
    assert!(table.contains(&format!("{split} 11 |")), "{table}");
    assert!(table.contains(&format!("{split} 12+ |")), "{table}");
}
