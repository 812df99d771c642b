//! The lint's rules: a stable code each (`S` and three digits, in the order the rules were
//! added; a code is never reused), a name (squawk's where squawk has the rule), a severity and
//! the check. Every op kind is matched without a catch-all, so a new op does not compile until
//! the rules say what they make of it.

use super::{Ctx, Severity};
use crate::dialect::{column_list, quote_ident, Dialect};
use crate::locks::{Known, LockLevel, PgMajor, StatementEffect};
use crate::ops::{Column, DefaultValue, DialectKind, Op};
use crate::types::Type;

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, `S001`...
    pub code: &'static str,
    /// Name, squawk's where squawk has the rule.
    pub name: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it reports, one line.
    pub summary: &'static str,
}

macro_rules! rules {
    ($($id:ident = $code:literal, $name:literal, $severity:ident, $summary:literal;)*) => {
        $(
            #[doc = concat!("`", $code, "` `", $name, "`: ", $summary)]
            pub const $id: Rule = Rule { code: $code, name: $name, severity: Severity::$severity, summary: $summary };
        )*
        /// Every rule, by code.
        pub const ALL: &[Rule] = &[$($id),*];
    };
}

rules! {
    VOLATILE_DEFAULT = "S001", "adding-field-with-volatile-default", Error,
        "adding a column whose default is volatile (evaluated per row) rewrites the table under ACCESS EXCLUSIVE";
    REQUIRED_FIELD = "S002", "adding-required-field", Error,
        "adding a NOT NULL column without a default fails on a table with rows";
    PRIMARY_KEY_FIELD = "S003", "adding-serial-primary-key-field", Error,
        "adding a primary key column or constraint builds its index (an identity column also rewrites) under ACCESS EXCLUSIVE";
    FOREIGN_KEY = "S004", "adding-foreign-key-constraint", Error,
        "a foreign key added without NOT VALID validates every row under SHARE ROW EXCLUSIVE on both tables";
    CONSTRAINT_NOT_VALID = "S005", "constraint-missing-not-valid", Error,
        "a check constraint added without NOT VALID scans every row under ACCESS EXCLUSIVE";
    UNIQUE_CONSTRAINT = "S006", "disallowed-unique-constraint", Error,
        "a unique constraint added without a prepared index builds it under ACCESS EXCLUSIVE";
    COLUMN_TYPE = "S007", "changing-column-type", Error,
        "changing a column's type rewrites the table and its indexes under ACCESS EXCLUSIVE (unless binary-coercible)";
    SET_NOT_NULL = "S008", "adding-not-nullable-field", Error,
        "SET NOT NULL scans every row under ACCESS EXCLUSIVE unless a valid CHECK proves it (PostgreSQL 12+)";
    RENAME_COLUMN = "S009", "renaming-column", Warning,
        "renaming a column breaks the code still running during a deploy";
    RENAME_TABLE = "S010", "renaming-table", Warning,
        "renaming a table breaks the code still running during a deploy";
    DROP_COLUMN = "S011", "ban-drop-column", Warning,
        "dropping a column destroys its data and breaks the code still reading it";
    DROP_TABLE = "S012", "ban-drop-table", Warning,
        "dropping a table destroys its data and breaks the code still reading it";
    CONCURRENT_INDEX = "S013", "require-concurrent-index-creation", Error,
        "CREATE INDEX without CONCURRENTLY blocks writes (SHARE) while the index builds";
    CONCURRENT_INDEX_DROP = "S014", "require-concurrent-index-deletion", Warning,
        "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table";
    NOT_IN_TRANSACTION = "S015", "ban-concurrent-index-creation-in-transaction", Error,
        "a statement that cannot run inside a transaction block (CREATE/DROP INDEX CONCURRENTLY) in a transactional migration fails";
    LOCK_TIMEOUT = "S016", "require-lock-timeout", Warning,
        "a lock that blocks writes is requested with lock_timeout off: every query on the table queues behind the wait";
    STATEMENT_TIMEOUT = "S017", "require-statement-timeout", Warning,
        "a rewrite or scan runs with statement_timeout off: nothing bounds how long it holds its lock";
    PREFER_BIGINT = "S018", "prefer-bigint-over-int", Info,
        "a key column is integer or smallint: ids outgrow them, and widening rewrites the table";
    PREFER_IDENTITY = "S019", "prefer-identity", Info,
        "a serial column: prefer an identity column, whose sequence belongs to it";
    PREFER_TEXT = "S020", "prefer-text-field", Info,
        "a varchar(n) column: changing the limit later takes ACCESS EXCLUSIVE, and lowering it rewrites";
    PREFER_TIMESTAMPTZ = "S021", "prefer-timestamptz", Info,
        "a timestamp without time zone column: values mean nothing without the writer's zone";
    UNPARSED_SQL = "S022", "unparsed-sql", Warning,
        "raw SQL that cannot be parsed was not checked";
    UNCHECKED_SQL = "S023", "unchecked-sql", Warning,
        "raw SQL was not checked: this build has no SQL parser (the sql-lint feature)";
}

/// The rule list of docs/safety.md, as a Markdown table.
pub fn markdown() -> String {
    let mut out = String::from("| code | name | severity | what it reports |\n| --- | --- | --- | --- |\n");
    for rule in ALL {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            rule.code, rule.name, rule.severity, rule.summary
        ));
    }
    out
}

fn is_narrow_int(ty: &Type) -> bool {
    matches!(ty, Type::Integer | Type::SmallInt)
}

/// The type preference rules for one column of `table`; `key`: part of the primary key or a
/// foreign key.
fn type_preferences(ctx: &mut Ctx, index: usize, op: &Op, table: &str, column: &str, ty: &Type, key: bool) {
    match ty {
        t if key && is_narrow_int(t) => ctx.report(
            &PREFER_BIGINT,
            index,
            op,
            format!("{table}.{column} is a key column of type {t}: ids outgrow it, and widening it later rewrites {table} and every table that references it"),
            "declare it Type::BigInt".into(),
        ),
        Type::String(n) => ctx.report(
            &PREFER_TEXT,
            index,
            op,
            format!("{table}.{column} is varchar({n}): changing the limit later takes ACCESS EXCLUSIVE on {table}, and lowering it rewrites the table"),
            format!("declare it Type::Text, with a check constraint such as length({column}) <= {n} if the limit matters"),
        ),
        Type::Timestamp => ctx.report(
            &PREFER_TIMESTAMPTZ,
            index,
            op,
            format!("{table}.{column} is a timestamp without time zone: its values mean nothing without the zone of whoever wrote them"),
            "declare it Type::TimestampTz".into(),
        ),
        _ => {}
    }
}

/// `CREATE INDEX CONCURRENTLY ...` for an index.
fn concurrent_index_sql(unique: bool, name: &str, table: &str, columns: &[String]) -> String {
    format!(
        "CREATE {}INDEX CONCURRENTLY {} ON {} ({})",
        if unique { "UNIQUE " } else { "" },
        quote_ident(name),
        quote_ident(table),
        column_list(columns)
    )
}

const NON_TRANSACTIONAL: &str =
    "in a migration declared `transactional: false`, with op.execute_on(DialectKind::Postgres, ...)";

fn not_null_remedy(major: PgMajor, table: &str, column: &str) -> String {
    let check = quote_ident(&format!("ck_{table}_{column}_not_null"));
    if major.get() >= 12 {
        format!(
            "add `ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({c} IS NOT NULL) NOT VALID`, run `ALTER TABLE {t} VALIDATE CONSTRAINT {check}` in a later migration (it blocks no writes), then SET NOT NULL, which the valid check lets PostgreSQL {major} skip the scan for, and drop the check",
            t = quote_ident(table),
            c = quote_ident(column)
        )
    } else {
        format!(
            "PostgreSQL {major} always scans for SET NOT NULL: keep a validated CHECK ({c} IS NOT NULL) instead (added NOT VALID, then validated in a later migration), and set NOT NULL once on PostgreSQL 12 or later",
            c = quote_ident(column)
        )
    }
}

/// Checks one op. `known` is the schema before it; `effects` its statements' claims.
pub(crate) fn check_op(ctx: &mut Ctx, index: usize, op: &Op, known: &Known, effects: &[StatementEffect]) {
    let major = ctx.options.pg_major;
    match op {
        Op::CreateTable(t) => {
            let pk = t.primary_key_columns();
            let fk_columns: Vec<&String> = t.foreign_keys.iter().flat_map(|f| &f.columns).collect();
            for c in &t.columns {
                let key = pk.contains(&c.name) || fk_columns.contains(&&c.name);
                type_preferences(ctx, index, op, &t.name, &c.name, &c.ty, key);
            }
            ctx.created(&t.name);
        }
        Op::DropTable { name } => {
            if !ctx.new_here(name) {
                ctx.report(
                    &DROP_TABLE,
                    index,
                    op,
                    format!("dropping table {name} destroys its rows, and the code still running during the deploy fails on it"),
                    "deploy code that no longer uses the table first, and keep a backup of its rows until the drop is proven".into(),
                );
            }
            ctx.dropped(name);
        }
        Op::RenameTable { from, to } => {
            if !ctx.new_here(from) {
                ctx.report(
                    &RENAME_TABLE,
                    index,
                    op,
                    format!("renaming table {from} to {to} breaks the code still running during the deploy, which uses the old name"),
                    format!("create {to}, write both, backfill and move the reads before dropping {from}; or deploy code that works with either name (a view named {from} over {to}) first"),
                );
            }
            ctx.renamed(from, to);
        }
        Op::AddColumn { table, column } => {
            if !ctx.exempt(table) {
                add_column(ctx, index, op, table, column);
            }
            type_preferences(ctx, index, op, table, &column.name, &column.ty, column.primary_key);
        }
        Op::DropColumn { table, column } => {
            if !ctx.new_here(table) {
                ctx.report(
                    &DROP_COLUMN,
                    index,
                    op,
                    format!("dropping {table}.{column} destroys its data, and the code still running during the deploy fails on it"),
                    "deploy code that no longer reads or writes the column first; the drop itself takes ACCESS EXCLUSIVE only briefly (no rewrite)".into(),
                );
            }
        }
        Op::RenameColumn { table, from, to } => {
            if !ctx.new_here(table) {
                ctx.report(
                    &RENAME_COLUMN,
                    index,
                    op,
                    format!("renaming {table}.{from} to {to} breaks the code still running during the deploy, which uses the old name"),
                    format!("add {to}, write both, backfill and move the reads, then drop {from} in a later migration"),
                );
            }
        }
        Op::AlterColumn { table, column, change } => {
            let effect = effects.first();
            if !ctx.exempt(table) {
                if let (Some(ty), Some(e)) = (&change.ty, effect) {
                    if e.rewrites {
                        let assumed =
                            e.uncertain.as_ref().map(|w| format!(" (assumed: {w})")).unwrap_or_default();
                        ctx.report(
                            &COLUMN_TYPE,
                            index,
                            op,
                            format!("changing {table}.{column} to {ty} rewrites {table} and its indexes under an ACCESS EXCLUSIVE lock{assumed}: reads and writes wait until every row is copied"),
                            format!("add a new column of type {ty}, write both from the application, backfill it in batches, move the reads, then drop {column}; a varchar is lengthened (or made text) without a rewrite"),
                        );
                    }
                }
                let proven = major.get() >= 12 && known.proves_not_null(table, column);
                // Rewritten into a validated CHECK (12+; on 11 the rewrite refuses, so it stays).
                let rewritten = ctx.rewritten() && major.get() >= 12;
                if change.nullable == Some(false) && !proven && !rewritten {
                    ctx.report(
                        &SET_NOT_NULL,
                        index,
                        op,
                        format!("SET NOT NULL on {table}.{column} scans every row of {table} under an ACCESS EXCLUSIVE lock: reads and writes wait for the scan"),
                        not_null_remedy(major, table, column),
                    );
                }
            }
            if let Some(ty) = &change.ty {
                type_preferences(ctx, index, op, table, column, ty, false);
            }
        }
        Op::CreateIndex(i) => {
            if !ctx.exempt(&i.table) && !ctx.rewritten() {
                ctx.report(
                    &CONCURRENT_INDEX,
                    index,
                    op,
                    format!(
                        "CREATE INDEX {} takes a SHARE lock on {}: writes wait until the index is built",
                        i.name, i.table
                    ),
                    format!(
                        "build it with `{}` {NON_TRANSACTIONAL}",
                        concurrent_index_sql(i.unique, &i.name, &i.table, &i.columns)
                    ),
                );
            }
        }
        Op::DropIndex { name, table } => {
            if !ctx.exempt(table) && !ctx.rewritten() {
                ctx.report(
                    &CONCURRENT_INDEX_DROP,
                    index,
                    op,
                    format!("DROP INDEX {name} takes ACCESS EXCLUSIVE on {table}: it waits for every running query on {table}, and every query after it waits too"),
                    format!("drop it with `DROP INDEX CONCURRENTLY {}` {NON_TRANSACTIONAL}", quote_ident(name)),
                );
            }
        }
        Op::AddForeignKey { table, fk } => {
            if !ctx.exempt(table) && !ctx.rewrites_named(&fk.name) {
                let clause = crate::dialect::postgres::Postgres.foreign_key_clause(fk);
                ctx.report(
                    &FOREIGN_KEY,
                    index,
                    op,
                    if fk.ref_table == *table {
                        format!("adding foreign key {} validates every row of {table} while holding SHARE ROW EXCLUSIVE on it: writes wait", fk.name)
                    } else {
                        format!("adding foreign key {} validates every row of {table} while holding SHARE ROW EXCLUSIVE on {table} and {}: writes to both wait", fk.name, fk.ref_table)
                    },
                    format!(
                        "add it with `ALTER TABLE {t} ADD {clause} NOT VALID` (op.execute_on(DialectKind::Postgres, ...)), then run `ALTER TABLE {t} VALIDATE CONSTRAINT {n}` in a later migration: validation takes SHARE UPDATE EXCLUSIVE, which blocks no writes",
                        t = quote_ident(table),
                        n = quote_ident(&fk.name)
                    ),
                );
            }
            for c in &fk.columns {
                if let Some(ty) = known.column_type(table, c).filter(|t| is_narrow_int(t)) {
                    let ty = ty.clone();
                    type_preferences(ctx, index, op, table, c, &ty, true);
                }
            }
        }
        Op::AddUniqueConstraint { table, unique } => {
            if !ctx.exempt(table) && !ctx.rewrites_named(&unique.name) {
                ctx.report(
                    &UNIQUE_CONSTRAINT,
                    index,
                    op,
                    format!("adding unique constraint {} builds its index under an ACCESS EXCLUSIVE lock on {table}: reads and writes wait until it is built", unique.name),
                    format!(
                        "build the index first with `{}` {NON_TRANSACTIONAL}, then attach it with `ALTER TABLE {} ADD CONSTRAINT {n} UNIQUE USING INDEX {n}`, which locks only briefly",
                        concurrent_index_sql(true, &unique.name, table, &unique.columns),
                        quote_ident(table),
                        n = quote_ident(&unique.name)
                    ),
                );
            }
        }
        Op::AddCheckConstraint { table, check } => {
            if !ctx.exempt(table) && !ctx.rewrites_named(&check.name) {
                ctx.report(
                    &CONSTRAINT_NOT_VALID,
                    index,
                    op,
                    format!("adding check {} scans every row of {table} under an ACCESS EXCLUSIVE lock: reads and writes wait for the scan", check.name),
                    format!(
                        "add it with `ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({}) NOT VALID` (op.execute_on(DialectKind::Postgres, ...)), then run `ALTER TABLE {t} VALIDATE CONSTRAINT {n}` in a later migration: validation takes SHARE UPDATE EXCLUSIVE, which blocks no writes",
                        check.expr,
                        t = quote_ident(table),
                        n = quote_ident(&check.name)
                    ),
                );
            }
        }
        // A brief ACCESS EXCLUSIVE lock, no scan: only the timeout rule applies.
        Op::DropConstraint { .. } => {}
        Op::Execute { sql, only, .. } => {
            if *only != Some(DialectKind::Sqlite) {
                sql_rules::check(ctx, index, op, sql, known);
            }
            return;
        }
        // Rust code: what it does is not visible to the lint.
        Op::Data { .. } => {}
    }
    for effect in effects {
        timeouts(ctx, index, op, effect, None);
    }
}

fn add_column(ctx: &mut Ctx, index: usize, op: &Op, table: &str, column: &Column) {
    let name = &column.name;
    if column.primary_key {
        let identity = if column.autoincrement {
            format!("rewrites {table} (an identity column draws a value per row) and ")
        } else {
            String::new()
        };
        ctx.report(
            &PRIMARY_KEY_FIELD,
            index,
            op,
            format!("adding the primary key column {table}.{name} {identity}builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait for it"),
            format!(
                "add {name} nullable and without identity, backfill it, build `{}` {NON_TRANSACTIONAL}, then `ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}`",
                concurrent_index_sql(true, &format!("pk_{table}"), table, std::slice::from_ref(name)),
                quote_ident(table),
                quote_ident(&format!("pk_{table}")),
                quote_ident(&format!("pk_{table}"))
            ),
        );
        return;
    }
    if let Some(DefaultValue::Sql(expr)) = &column.default {
        let why = match crate::locks::volatility(expr) {
            crate::locks::Volatility::Fixed => None,
            crate::locks::Volatility::Volatile(f) => Some(format!("calls {f}(), which is volatile,")),
            crate::locks::Volatility::Unknown(f) => {
                Some(format!("calls {f}(), which strata does not know to be non-volatile,"))
            }
        };
        if let Some(why) = why {
            ctx.report(
                &VOLATILE_DEFAULT,
                index,
                op,
                format!("adding {table}.{name} with a default that {why} rewrites {table} under an ACCESS EXCLUSIVE lock: reads and writes wait until every row is copied"),
                format!("add {name} without the default (nullable), set the default with alter_column so that new rows get it, and backfill the existing rows in batches in a later migration"),
            );
        }
    }
    if !column.nullable && column.default.is_none() {
        ctx.report(
            &REQUIRED_FIELD,
            index,
            op,
            format!("{table}.{name} is added NOT NULL without a default: the statement fails as soon as {table} has a row"),
            format!("give {name} a constant default (no rewrite since PostgreSQL 11), or add it nullable, backfill it, then make it NOT NULL"),
        );
    }
    if column.unique.is_some() {
        let constraint = column.unique.clone().unwrap_or_default();
        ctx.report(
            &UNIQUE_CONSTRAINT,
            index,
            op,
            format!("adding {table}.{name} with unique constraint {constraint} builds its index under an ACCESS EXCLUSIVE lock on {table}: reads and writes wait until it is built"),
            format!(
                "add the column without unique(), build `{}` {NON_TRANSACTIONAL}, then `ALTER TABLE {} ADD CONSTRAINT {c} UNIQUE USING INDEX {c}`",
                concurrent_index_sql(true, &constraint, table, std::slice::from_ref(name)),
                quote_ident(table),
                c = quote_ident(&constraint)
            ),
        );
    }
    if let Some((constraint, expr)) = &column.check {
        ctx.report(
            &CONSTRAINT_NOT_VALID,
            index,
            op,
            format!("adding {table}.{name} with check {constraint} scans every row of {table} under an ACCESS EXCLUSIVE lock: reads and writes wait for the scan"),
            format!(
                "add the column without check(), then `ALTER TABLE {t} ADD CONSTRAINT {c} CHECK ({expr}) NOT VALID` and, in a later migration, `ALTER TABLE {t} VALIDATE CONSTRAINT {c}`",
                t = quote_ident(table),
                c = quote_ident(constraint)
            ),
        );
    }
}

/// The timeout rules for one statement: once per migration each. `statement` names a raw
/// statement in the message.
pub(crate) fn timeouts(
    ctx: &mut Ctx,
    index: usize,
    op: &Op,
    effect: &StatementEffect,
    statement: Option<&str>,
) {
    let Some(t) = ctx.options.timeouts else { return };
    let what = statement.map(|s| format!("{s} ")).unwrap_or_default();
    if t.lock.is_none() && !ctx.lock_timeout_reported {
        let blocking = effect
            .locks
            .iter()
            .filter(|l| l.level.blocks_writes() && !ctx.exempt(&l.table))
            .max_by_key(|l| l.level)
            .cloned();
        if let Some(lock) = blocking {
            ctx.lock_timeout_reported = true;
            let waiters = if lock.level == LockLevel::AccessExclusive { "query" } else { "write" };
            ctx.report(
                &LOCK_TIMEOUT,
                index,
                op,
                format!("{what}asks for {} on {} with lock_timeout off: while it waits for a long-running transaction, every {waiters} on {} queues behind it", lock.level, lock.table, lock.table),
                "set a lock timeout (STRATA_LOCK_TIMEOUT or lock_timeout in strata.toml; staging and prod default to 10 seconds) and retry the deploy when it expires".into(),
            );
        }
    }
    if t.statement.is_none() && !ctx.statement_timeout_reported && effect.scans {
        if let Some(lock) = effect.locks.first().filter(|l| !ctx.exempt(&l.table)).cloned() {
            ctx.statement_timeout_reported = true;
            ctx.report(
                &STATEMENT_TIMEOUT,
                index,
                op,
                format!("{what}reads every row of {} under {} with statement_timeout off: nothing bounds how long the lock is held", lock.table, lock.level),
                "set a statement timeout (STRATA_STATEMENT_TIMEOUT or statement_timeout in strata.toml; staging and prod default to 600 seconds)".into(),
            );
        }
    }
}

#[cfg(feature = "sql-lint")]
mod sql_rules {
    use super::*;
    use crate::locks::sql::{self, is_serial, name, portable_type, RawStatement};
    use sqlparser::ast::{
        AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, Expr, ObjectType, Set, Statement,
        TableConstraint, Value,
    };

    /// The statement as findings name it: `statement 2 (CREATE INDEX ix ON t (c))`.
    fn label(n: usize, text: &str) -> String {
        let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let short: String = one_line.chars().take(60).collect();
        let more = if one_line.chars().count() > 60 { "..." } else { "" };
        format!("statement {n} ({short}{more})")
    }

    /// Checks raw SQL statement by statement.
    pub(super) fn check(ctx: &mut Ctx, index: usize, op: &Op, text: &str, known: &Known) {
        let mut known = known.clone();
        let major = ctx.options.pg_major;
        for (n, statement) in sql::statements(text).iter().enumerate() {
            let what = label(n + 1, &statement.text);
            let effect =
                StatementEffect::from_claim(statement.text.clone(), sql::claim(statement, major, &known));
            match &statement.parsed {
                Err(e) => ctx.report(
                    &UNPARSED_SQL,
                    index,
                    op,
                    format!("{what} cannot be parsed, so it was not checked: {e}"),
                    "check its locks by hand against docs/safety.md, or write it in the PostgreSQL syntax sqlparser reads".into(),
                ),
                Ok(parsed) => check_statement(ctx, index, op, &what, statement, parsed, &effect),
            }
            if !effect.transactional && ctx.transactional {
                ctx.report(
                    &NOT_IN_TRANSACTION,
                    index,
                    op,
                    format!("{what} cannot run inside a transaction block, and {} runs in one: the migration fails", ctx.revision),
                    "declare the migration `transactional: false` (before `upgrade:`), and keep in it only statements that are safe to run one by one".into(),
                );
            }
            timeouts(ctx, index, op, &effect, Some(&what));
            sql::follow_statement(&mut known, statement);
        }
    }

    fn zero(values: &[Expr]) -> bool {
        values.iter().any(|v| match v {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.trim() == "0",
                Value::SingleQuotedString(s) => {
                    let s = s.trim().to_ascii_lowercase();
                    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                    !digits.is_empty() && digits.chars().all(|c| c == '0')
                }
                _ => false,
            },
            _ => false,
        })
    }

    fn column_key(def: &ColumnDef) -> bool {
        def.options
            .iter()
            .any(|o| matches!(o.option, ColumnOption::PrimaryKey(_) | ColumnOption::ForeignKey(_)))
    }

    fn column_preferences(ctx: &mut Ctx, index: usize, op: &Op, table: &str, def: &ColumnDef, key: bool) {
        let column = sql::ident_name(def.name.quote_style, &def.name.value);
        if is_serial(&def.data_type) {
            ctx.report(
                &PREFER_IDENTITY,
                index,
                op,
                format!("{table}.{column} is declared {}: its sequence is a separate object with its own permissions and ownership", def.data_type),
                format!("declare it `{} GENERATED BY DEFAULT AS IDENTITY` (what Column::autoincrement renders)", if def.data_type.to_string().to_lowercase().starts_with("big") || def.data_type.to_string().to_lowercase() == "serial8" { "BIGINT" } else { "BIGINT (or INTEGER)" }),
            );
            if !def.data_type.to_string().to_lowercase().starts_with("big")
                && def.data_type.to_string().to_lowercase() != "serial8"
                && key
            {
                type_preferences(ctx, index, op, table, &column, &Type::Integer, true);
            }
            return;
        }
        let text = def.data_type.to_string().to_lowercase();
        if text.starts_with("char") || text.starts_with("character(") || text == "character" {
            ctx.report(
                &PREFER_TEXT,
                index,
                op,
                format!("{table}.{column} is {}: it pads values with spaces, and changing the length later takes ACCESS EXCLUSIVE", def.data_type),
                "declare it text, with a check constraint on length() if the limit matters".into(),
            );
            return;
        }
        type_preferences(ctx, index, op, table, &column, &portable_type(&def.data_type), key);
    }

    #[allow(clippy::too_many_arguments)]
    fn check_statement(
        ctx: &mut Ctx,
        index: usize,
        op: &Op,
        what: &str,
        raw: &RawStatement,
        parsed: &Statement,
        effect: &StatementEffect,
    ) {
        match parsed {
            Statement::CreateTable(ct) => {
                let table = name(&ct.name);
                let pk_columns: Vec<String> = ct
                    .constraints
                    .iter()
                    .flat_map(|c| match c {
                        TableConstraint::PrimaryKey(pk) => {
                            pk.columns.iter().map(|c| c.column.expr.to_string().to_lowercase()).collect()
                        }
                        TableConstraint::ForeignKey(fk) => {
                            fk.columns.iter().map(|c| sql::ident_name(c.quote_style, &c.value)).collect()
                        }
                        _ => Vec::new(),
                    })
                    .collect();
                for def in &ct.columns {
                    let column = sql::ident_name(def.name.quote_style, &def.name.value);
                    let key = column_key(def) || pk_columns.contains(&column);
                    column_preferences(ctx, index, op, &table, def, key);
                }
                ctx.created(&table);
            }
            Statement::AlterTable(at) => {
                let table = name(&at.name);
                for operation in &at.operations {
                    alter_operation(ctx, index, op, what, &table, operation, effect);
                }
            }
            Statement::CreateIndex(ci) => {
                let table = name(&ci.table_name);
                if !ci.concurrently && !ctx.exempt(&table) {
                    let index_name = ci.name.as_ref().map(name).unwrap_or_default();
                    ctx.report(
                        &CONCURRENT_INDEX,
                        index,
                        op,
                        format!("{what} takes a SHARE lock on {table}: writes wait until the index is built"),
                        format!(
                            "write CREATE {}INDEX CONCURRENTLY {index_name} ... {NON_TRANSACTIONAL}",
                            if ci.unique { "UNIQUE " } else { "" }
                        ),
                    );
                }
            }
            Statement::Drop { object_type: ObjectType::Table, names, .. } => {
                for n in names {
                    let table = name(n);
                    if !ctx.new_here(&table) {
                        ctx.report(
                            &DROP_TABLE,
                            index,
                            op,
                            format!("{what} destroys the rows of {table}, and the code still running during the deploy fails on it"),
                            "deploy code that no longer uses the table first, and keep a backup of its rows until the drop is proven".into(),
                        );
                    }
                    ctx.dropped(&table);
                }
            }
            Statement::Drop { object_type: ObjectType::Index, .. } => {
                let table = effect.locks.first().map(|l| l.table.clone());
                let exempt = table.as_deref().is_some_and(|t| ctx.exempt(t));
                if !raw.concurrently && !exempt {
                    let on = table.map(|t| format!(" on {t}")).unwrap_or_else(|| " on its table".into());
                    ctx.report(
                        &CONCURRENT_INDEX_DROP,
                        index,
                        op,
                        format!("{what} takes ACCESS EXCLUSIVE{on}: it waits for every running query, and every query after it waits too"),
                        format!("write DROP INDEX CONCURRENTLY {NON_TRANSACTIONAL}"),
                    );
                }
            }
            Statement::Set(Set::SingleAssignment { variable, values, .. }) => {
                let variable = variable.to_string().to_lowercase();
                let rule = match variable.as_str() {
                    "lock_timeout" => Some((&LOCK_TIMEOUT, "lock_timeout", "a lock wait")),
                    "statement_timeout" => Some((&STATEMENT_TIMEOUT, "statement_timeout", "a statement")),
                    _ => None,
                };
                if let Some((rule, setting, bounded)) = rule {
                    if zero(values) {
                        ctx.report(
                            rule,
                            index,
                            op,
                            format!("{what} turns {setting} off for the rest of the migration: nothing bounds {bounded} any more"),
                            format!("leave {setting} to strata's settings, or set it to a bound instead of 0"),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn alter_operation(
        ctx: &mut Ctx,
        index: usize,
        op: &Op,
        what: &str,
        table: &str,
        operation: &AlterTableOperation,
        effect: &StatementEffect,
    ) {
        let exempt = ctx.exempt(table);
        match operation {
            AlterTableOperation::AddColumn { column_def, .. } => {
                let column = sql::ident_name(column_def.name.quote_style, &column_def.name.value);
                column_preferences(ctx, index, op, table, column_def, column_key(column_def));
                if exempt {
                    return;
                }
                let has = |f: &dyn Fn(&ColumnOption) -> bool| column_def.options.iter().any(|o| f(&o.option));
                if has(&|o| matches!(o, ColumnOption::PrimaryKey(_))) {
                    ctx.report(
                        &PRIMARY_KEY_FIELD,
                        index,
                        op,
                        format!("{what} adds the primary key column {table}.{column} and builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait for it"),
                        format!("add the column nullable, backfill it, build a unique index CONCURRENTLY {NON_TRANSACTIONAL}, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX"),
                    );
                    return;
                }
                let volatile = column_def.options.iter().find_map(|o| match &o.option {
                    ColumnOption::Default(expr) => match crate::locks::volatility(&expr.to_string()) {
                        crate::locks::Volatility::Fixed => None,
                        crate::locks::Volatility::Volatile(f) => {
                            Some(format!("calls {f}(), which is volatile"))
                        }
                        crate::locks::Volatility::Unknown(f) => {
                            Some(format!("calls {f}(), which strata does not know to be non-volatile"))
                        }
                    },
                    ColumnOption::Generated { .. } => Some("is generated per row".to_string()),
                    _ => None,
                });
                let volatile = volatile.or_else(|| {
                    is_serial(&column_def.data_type).then(|| "draws from a sequence per row".to_string())
                });
                if let Some(why) = &volatile {
                    ctx.report(
                        &VOLATILE_DEFAULT,
                        index,
                        op,
                        format!("{what} adds {table}.{column}, whose value {why}: that rewrites {table} under an ACCESS EXCLUSIVE lock, and reads and writes wait until every row is copied"),
                        "add the column without the default (nullable), set the default afterwards so that new rows get it, and backfill the existing rows in batches in a later migration".into(),
                    );
                }
                let not_null = has(&|o| matches!(o, ColumnOption::NotNull));
                let default =
                    has(&|o| matches!(o, ColumnOption::Default(_) | ColumnOption::Generated { .. }));
                if not_null && !default && volatile.is_none() {
                    ctx.report(
                        &REQUIRED_FIELD,
                        index,
                        op,
                        format!("{what} adds {table}.{column} NOT NULL without a default: it fails as soon as {table} has a row"),
                        "give the column a constant default (no rewrite since PostgreSQL 11), or add it nullable, backfill it, then make it NOT NULL".into(),
                    );
                }
                if has(&|o| matches!(o, ColumnOption::Unique(_))) {
                    ctx.report(
                        &UNIQUE_CONSTRAINT,
                        index,
                        op,
                        format!("{what} adds {table}.{column} UNIQUE, building its index under an ACCESS EXCLUSIVE lock on {table}"),
                        format!("add the column, build the unique index CONCURRENTLY {NON_TRANSACTIONAL}, then ADD CONSTRAINT ... UNIQUE USING INDEX"),
                    );
                }
                if has(&|o| matches!(o, ColumnOption::Check(_))) {
                    ctx.report(
                        &CONSTRAINT_NOT_VALID,
                        index,
                        op,
                        format!("{what} adds {table}.{column} with a check that scans every row under an ACCESS EXCLUSIVE lock"),
                        "add the column, then the check as a table constraint with NOT VALID, and VALIDATE it in a later migration".into(),
                    );
                }
                if has(&|o| matches!(o, ColumnOption::ForeignKey(_))) {
                    ctx.report(
                        &FOREIGN_KEY,
                        index,
                        op,
                        format!("{what} adds {table}.{column} with REFERENCES, which validates every row under SHARE ROW EXCLUSIVE on both tables"),
                        "add the column, then the foreign key with NOT VALID, and VALIDATE it in a later migration".into(),
                    );
                }
            }
            AlterTableOperation::AddConstraint { constraint, not_valid } => {
                if exempt {
                    return;
                }
                match constraint {
                    TableConstraint::ForeignKey(fk) if !not_valid => ctx.report(
                        &FOREIGN_KEY,
                        index,
                        op,
                        format!("{what} validates every row of {table} while holding SHARE ROW EXCLUSIVE on {table} and {}: writes to both wait", name(&fk.foreign_table)),
                        "append NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a later migration: validation takes SHARE UPDATE EXCLUSIVE, which blocks no writes".into(),
                    ),
                    TableConstraint::Check(_) if !not_valid => ctx.report(
                        &CONSTRAINT_NOT_VALID,
                        index,
                        op,
                        format!("{what} scans every row of {table} under an ACCESS EXCLUSIVE lock: reads and writes wait for the scan"),
                        "append NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a later migration: validation takes SHARE UPDATE EXCLUSIVE, which blocks no writes".into(),
                    ),
                    TableConstraint::Unique(_) => ctx.report(
                        &UNIQUE_CONSTRAINT,
                        index,
                        op,
                        format!("{what} builds a unique index under an ACCESS EXCLUSIVE lock on {table}: reads and writes wait until it is built"),
                        format!("build the index with CREATE UNIQUE INDEX CONCURRENTLY {NON_TRANSACTIONAL}, then ADD CONSTRAINT ... UNIQUE USING INDEX"),
                    ),
                    TableConstraint::PrimaryKey(_) => ctx.report(
                        &PRIMARY_KEY_FIELD,
                        index,
                        op,
                        format!("{what} builds the primary key's index under an ACCESS EXCLUSIVE lock on {table}: reads and writes wait until it is built"),
                        format!("build the index with CREATE UNIQUE INDEX CONCURRENTLY {NON_TRANSACTIONAL}, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX"),
                    ),
                    _ => {}
                }
            }
            AlterTableOperation::AlterColumn { column_name, op: change } => {
                let column = sql::ident_name(column_name.quote_style, &column_name.value);
                match change {
                    AlterColumnOperation::SetNotNull if !exempt && effect.scans => ctx.report(
                        &SET_NOT_NULL,
                        index,
                        op,
                        format!("{what} scans every row of {table} under an ACCESS EXCLUSIVE lock to check {column}: reads and writes wait for the scan"),
                        not_null_remedy(ctx.options.pg_major, table, &column),
                    ),
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        if !exempt && effect.rewrites {
                            let assumed = effect.uncertain.as_ref().map(|w| format!(" (assumed: {w})")).unwrap_or_default();
                            ctx.report(
                                &COLUMN_TYPE,
                                index,
                                op,
                                format!("{what} rewrites {table} and its indexes under an ACCESS EXCLUSIVE lock{assumed}: reads and writes wait until every row is copied"),
                                format!("add a new column of type {data_type}, write both, backfill it in batches, move the reads, then drop {column}"),
                            );
                        }
                        type_preferences(ctx, index, op, table, &column, &portable_type(data_type), false);
                    }
                    _ => {}
                }
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name }
                if !ctx.new_here(table) =>
            {
                ctx.report(
                    &RENAME_COLUMN,
                    index,
                    op,
                    format!("{what} renames {table}.{old_column_name} to {new_column_name}, which breaks the code still running during the deploy"),
                    "add the new column, write both, backfill and move the reads, then drop the old one in a later migration".into(),
                );
            }
            AlterTableOperation::RenameTable { table_name } => {
                let to = match table_name {
                    sqlparser::ast::RenameTableNameKind::As(n)
                    | sqlparser::ast::RenameTableNameKind::To(n) => name(n),
                };
                if !ctx.new_here(table) {
                    ctx.report(
                        &RENAME_TABLE,
                        index,
                        op,
                        format!("{what} renames {table} to {to}, which breaks the code still running during the deploy"),
                        format!("create {to}, write both, backfill and move the reads before dropping {table}"),
                    );
                }
                ctx.renamed(table, &to);
            }
            AlterTableOperation::DropColumn { column_names, .. } if !ctx.new_here(table) => {
                let columns: Vec<String> = column_names.iter().map(|c| c.to_string()).collect();
                ctx.report(
                    &DROP_COLUMN,
                    index,
                    op,
                    format!("{what} destroys {table}.{}, and the code still running during the deploy fails on it", columns.join(", ")),
                    "deploy code that no longer reads or writes the column first".into(),
                );
            }
            _ => {}
        }
    }
}

#[cfg(not(feature = "sql-lint"))]
mod sql_rules {
    use super::*;

    /// Without a parser, raw SQL is reported as not checked.
    pub(super) fn check(ctx: &mut Ctx, index: usize, op: &Op, _text: &str, _known: &Known) {
        ctx.report(
            &UNCHECKED_SQL,
            index,
            op,
            "the SQL was not checked: this build of strata has no SQL parser".into(),
            "build strata with the sql-lint feature (one of its default features) to lint raw SQL".into(),
        );
    }
}
