//! Offline SQL (`--sql`): the script a run would execute, for a dialect, without connecting
//! to the user's database, complete enough to hand to a DBA. It creates the version tables if
//! missing, runs each migration in its own transaction (none for a non-transactional one, which
//! is marked started and completed like online), and writes the same version and history rows,
//! checksums included, so `current` and `validate` agree with an online run afterwards. A SQLite
//! table rebuild follows the online choreography: foreign keys off around the transaction and a
//! foreign key check before commit. A data op (Rust code) has no SQL form: it is refused unless
//! the caller asks for a marked placeholder. PostgreSQL renders every op on its own; a SQLite
//! rebuild needs the table's current definition, so a scratch in-memory database follows the
//! migrations along and answers those questions.

use crate::backend::{self, Backend, BackendError, Direction, VersionTables};
use crate::dialect::{self, quote_ident, quote_str, RenderError};
use crate::graph::{Target, TargetError};
use crate::locks::{Known, PgMajor, StatementEffect};
use crate::migration::{Migration, MigrationSet};
use crate::ops::{DialectKind, Op};
use crate::plan;
use crate::schema::TableSnapshot;

/// The SQL of one migration, in the order the script runs it: `before`, `statements`, `after`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MigrationSql {
    /// The migration's revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// The migration's own statements in order; lines starting with `--` are comments (a data
    /// op's placeholder).
    pub statements: Vec<String>,
    /// The version once this migration has run (`None` = base).
    pub new_version: Option<String>,
    /// False: runs outside a transaction, marked started before and completed after.
    pub transactional: bool,
    /// The plan checksum recorded with its history row, as an online run records it.
    pub checksum: String,
    /// The first migration only: how to apply the script, and the version tables if missing.
    pub setup: Vec<String>,
    /// What opens it: foreign keys off for a SQLite rebuild, `BEGIN` (for a non-transactional
    /// migration, its `started` bookkeeping, committed).
    pub before: Vec<String>,
    /// What closes it: the foreign key check, the version and history rows, `COMMIT`.
    pub after: Vec<String>,
    /// PostgreSQL with [`Options::lock_facts`]: what each of `statements` locks, rewrites and
    /// scans (`None` for a data op's placeholder); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<Option<StatementEffect>>,
    /// An upgrade's lint acknowledgements ([`crate::ops::Ops::allow`]) in the history's
    /// `CODE: reason` lines, recorded with its history row as an online run records them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<String>,
}

/// How offline SQL is rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The bookkeeping tables the script writes (`version_table` and `history_table`).
    pub tables: VersionTables,
    /// Leave a marked placeholder for each data op (which the operator must replace by hand)
    /// instead of refusing the migration.
    pub allow_data_placeholders: bool,
    /// On PostgreSQL, the major version whose lock facts ([`crate::locks`]) the script shows
    /// as a comment above each statement; `None`: no such comments.
    pub lock_facts: Option<PgMajor>,
    /// On PostgreSQL, rewrite migrations lock-safely ([`crate::rewrite`]) for the major version
    /// of `lock_facts` (11 when not given): the script runs the steps an online run would,
    /// with their boundaries as comments and each step's record.
    pub rewrite: Option<crate::rewrite::RewriteOptions>,
    /// The operator did not name the server's version (`--pg-version`): the lock facts stay
    /// the worst case (`lock_facts`), but the rewrite is rendered for PostgreSQL 12 and later,
    /// whose form is valid SQL on every version (on 11 a rewritten SET NOT NULL still scans;
    /// the script's header says so) rather than refused.
    pub version_unknown: bool,
}

/// The oldest version whose rewrite of SET NOT NULL skips the scan.
fn rewrite_major_when_unknown() -> PgMajor {
    PgMajor::new(12).unwrap_or(PgMajor::OLDEST)
}

/// Why offline SQL could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineError {
    /// The target names no place in the chain.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An op cannot be rendered for the dialect.
    #[error("{revision}: cannot render {op}: {source}")]
    Render {
        /// The migration.
        revision: String,
        /// The op.
        op: String,
        /// Why.
        source: RenderError,
    },
    /// A data op (Rust code) has no SQL form: refused unless placeholders were asked for.
    #[error(
        "{revision}: the data op {label:?} is Rust code run against a live connection and has no SQL \
         form, so the script would silently skip it. Run this migration online, or pass \
         --allow-data-placeholders (Options::allow_data_placeholders) to leave a marked placeholder \
         where its work must be done by hand"
    )]
    DataOp {
        /// The migration.
        revision: String,
        /// The data op's label.
        label: String,
    },
    /// SQLite rebuilds need the table as it is at that point; the scratch database that follows the
    /// migrations to know it failed.
    #[error("the scratch database that follows the migrations failed: {0}")]
    Scratch(String),
    /// This build has no SQLite, which offline SQLite rendering uses for its scratch database.
    #[error("offline SQL for SQLite needs the sqlite feature")]
    NoSqlite,
    /// A migration cannot be rewritten lock-safely for the PostgreSQL version given.
    #[error("{0}; offline, --pg-version names the server's version")]
    Rewrite(#[from] crate::rewrite::RewriteError),
    /// The target lies the other way (`upgrade --sql` to an earlier revision).
    #[error("cannot {direction} from {from} to {to}: wrong direction")]
    WrongDirection {
        /// The direction asked for.
        direction: Direction,
        /// The starting revision.
        from: String,
        /// The target.
        to: String,
    },
}

impl From<BackendError> for OfflineError {
    fn from(e: BackendError) -> Self {
        OfflineError::Scratch(e.to_string())
    }
}

/// The marker that starts a data op's placeholder line in a script.
pub const DATA_PLACEHOLDER: &str = "-- STRATA DATA OP PLACEHOLDER";

/// The statement that fails when rows break a foreign key after a rebuild (a script has no
/// other way to stop on `PRAGMA foreign_key_check`'s rows): the online runner's check.
const SQLITE_FOREIGN_KEY_CHECK: [&str; 3] = [
    "CREATE TEMP TABLE \"_strata_foreign_key_check\" (violations INTEGER \
     CONSTRAINT \"the migration leaves rows that break a foreign key: see PRAGMA foreign_key_check\" \
     CHECK (violations = 0))",
    "INSERT INTO \"_strata_foreign_key_check\" SELECT count(*) FROM pragma_foreign_key_check",
    "DROP TABLE \"_strata_foreign_key_check\"",
];

/// The current time as the history table stores it (the backends write RFC 3339 text on
/// SQLite and a timestamptz on PostgreSQL).
fn now_sql(kind: DialectKind) -> &'static str {
    match kind {
        DialectKind::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        DialectKind::Postgres => "clock_timestamp()",
    }
}

/// One history row, with the time of the script's run and no duration (not measured offline).
fn history_row(
    kind: DialectKind,
    tables: &VersionTables,
    revision: &str,
    message: &str,
    direction: Direction,
    checksum: &str,
) -> String {
    format!(
        "INSERT INTO {} (revision, message, direction, applied_at, duration_ms, checksum) VALUES ({}, {}, {}, {}, 0, {})",
        quote_ident(&tables.history),
        quote_str(revision),
        quote_str(message),
        quote_str(direction.as_str()),
        now_sql(kind),
        quote_str(checksum)
    )
}

/// The acknowledgements on the history row just written. PostgreSQL adds the column to a
/// table made by an older strata (`IF NOT EXISTS`); SQLite has no conditional form of that, so
/// a SQLite script (dev only) states them in a comment instead.
fn record_acknowledged(kind: DialectKind, tables: &VersionTables, m: &MigrationSql) -> Vec<String> {
    let Some(text) = &m.acknowledged else { return Vec::new() };
    let history = quote_ident(&tables.history);
    let column = quote_ident(backend::ACKNOWLEDGED_COLUMN);
    match kind {
        DialectKind::Postgres => vec![
            format!("ALTER TABLE {history} ADD COLUMN IF NOT EXISTS {column} TEXT"),
            format!(
                "UPDATE {history} SET {column} = {} WHERE id = (SELECT max(id) FROM {history} WHERE revision = {} AND direction = {})",
                quote_str(text),
                quote_str(&m.revision),
                quote_str(m.direction.as_str())
            ),
        ],
        DialectKind::Sqlite => text
            .lines()
            .map(|l| format!("-- acknowledged {l} (a SQLite script cannot add the history column only where missing: online runs record it)"))
            .collect(),
    }
}

/// The version row replaced (none at base), clearing any dirty marker.
fn set_version(tables: &VersionTables, version: Option<&str>) -> Vec<String> {
    let table = quote_ident(&tables.version);
    let mut out = vec![format!("DELETE FROM {table}")];
    if let Some(v) = version {
        out.push(format!("INSERT INTO {table} (revision) VALUES ({})", quote_str(v)));
    }
    out
}

/// The non-transactional migration's `started` row and the version table's dirty marker.
fn mark_started(kind: DialectKind, tables: &VersionTables, m: &MigrationSql) -> Vec<String> {
    let table = quote_ident(&tables.version);
    let marker = quote_str(&backend::dirty_marker(m.direction, &m.revision));
    let message = format!("{} started: {}", m.direction, m.message);
    vec![
        history_row(kind, tables, &m.revision, &message, Direction::Started, &m.checksum),
        format!("UPDATE {table} SET dirty = {marker}"),
        format!("INSERT INTO {table} (revision, dirty) SELECT NULL, {marker} WHERE NOT EXISTS (SELECT 1 FROM {table})"),
    ]
}

/// How to apply the script so that its first error stops it.
fn how_to_apply(kind: DialectKind) -> &'static str {
    match kind {
        DialectKind::Sqlite => "-- strata offline script: apply with `sqlite3 -bail DATABASE < FILE` so the first error stops it",
        DialectKind::Postgres => "-- strata offline script: apply with `psql -v ON_ERROR_STOP=1 -f FILE` so the first error stops it",
    }
}

/// Wraps one migration's statements the way the runner runs it.
fn choreograph(kind: DialectKind, tables: &VersionTables, m: &mut MigrationSql, foreign_keys_off: bool) {
    let begin = match kind {
        // The write lock up front, as the online run takes it.
        DialectKind::Sqlite => "BEGIN IMMEDIATE",
        DialectKind::Postgres => "BEGIN",
    };
    let record = |m: &MigrationSql| {
        let mut out = vec![history_row(kind, tables, &m.revision, &m.message, m.direction, &m.checksum)];
        out.extend(record_acknowledged(kind, tables, m));
        out.extend(set_version(tables, m.new_version.as_deref()));
        out
    };
    if !m.transactional {
        m.before.push(begin.into());
        m.before.extend(mark_started(kind, tables, m));
        m.before.push("COMMIT".into());
        m.after.push(begin.into());
        m.after.extend(record(m));
        m.after.push("COMMIT".into());
        return;
    }
    if foreign_keys_off {
        m.before.push("PRAGMA foreign_keys = OFF".into());
    }
    m.before.push(begin.into());
    if foreign_keys_off {
        m.after.extend(SQLITE_FOREIGN_KEY_CHECK.map(String::from));
    }
    m.after.extend(record(m));
    m.after.push("COMMIT".into());
    if foreign_keys_off {
        // The setting strata's own connections run with.
        m.after.push("PRAGMA foreign_keys = ON".into());
    }
}

/// The SQL an upgrade (or downgrade) from `from` to `target` would run on `kind`.
pub fn render(
    set: &MigrationSet,
    kind: DialectKind,
    direction: Direction,
    from: &Target,
    target: &Target,
    options: &Options,
) -> Result<Vec<MigrationSql>, OfflineError> {
    render_from(set, kind, direction, &start_of(set, from)?, target, options)
}

/// Where a script from `from` starts: `from` planned from base (a revision, head, base or
/// +N), as an applied state.
pub fn start_of(set: &MigrationSet, from: &Target) -> Result<plan::State, OfflineError> {
    let graph = set.graph();
    let base = graph.base();
    Ok(base.after_plan(graph, &plan::plan(graph, &base, from)?))
}

/// [`render`] from a database whose applied state is `start` (any state of a branching
/// history, such as a merge revision's parents applied and nothing else).
pub fn render_from(
    set: &MigrationSet,
    kind: DialectKind,
    direction: Direction,
    start: &plan::State,
    target: &Target,
    options: &Options,
) -> Result<Vec<MigrationSql>, OfflineError> {
    let graph = set.graph();
    let start = start.clone();
    let planned = plan::plan(graph, &start, target)?;
    let way = match direction {
        Direction::Down => plan::Direction::Down,
        _ => plan::Direction::Up,
    };
    if planned.direction.is_some_and(|d| d != way) {
        let end = start.after_plan(graph, &planned);
        let name = |state: &plan::State| set.version_of(state).unwrap_or_else(|| "base".into());
        return Err(OfflineError::WrongDirection { direction, from: name(&start), to: name(&end) });
    }
    let mut walk = plan::Walk::new(graph, &start);
    let mut steps: Vec<(&'static Migration, Vec<Op>, Option<String>)> =
        Vec::with_capacity(planned.steps.len());
    for step in &planned.steps {
        let Some(m) = set.get(step.revision) else { continue };
        walk.step(step);
        let ops = if way == plan::Direction::Down { m.downgrade_ops() } else { m.upgrade_ops() };
        steps.push((m, ops, walk.version()));
    }
    let mut scratch = match kind {
        DialectKind::Sqlite => Some(scratch_at(set, &start)?),
        DialectKind::Postgres => None,
    };
    let dialect = dialect::for_kind(kind);
    // The schema the lock facts start from: the migrations applied in `start`, in plan order.
    let mut facts = match (kind, options.lock_facts) {
        (DialectKind::Postgres, Some(major)) => {
            Some((major, Known::after(graph.applied_in(&start).into_iter().filter_map(|r| set.get(r)))))
        }
        _ => None,
    };
    // What the rewrite knows of the schema, followed along like the lock facts.
    let mut rewriting = match (kind, &options.rewrite) {
        (DialectKind::Postgres, Some(rewrite)) if rewrite.enabled => Some((
            rewrite,
            match options.lock_facts.unwrap_or(PgMajor::OLDEST) {
                major if options.version_unknown => major.max(rewrite_major_when_unknown()),
                major => major,
            },
            Known::after(graph.applied_in(&start).into_iter().filter_map(|r| set.get(r))),
        )),
        _ => None,
    };
    let mut out = Vec::with_capacity(steps.len());
    for (m, ops, new_version) in steps {
        let staged = match rewriting.as_mut() {
            Some((rewrite, major, known)) => {
                let plan =
                    crate::rewrite::rewrite(m.revision, m.transactional, &ops, *major, known, rewrite)?;
                for op in &ops {
                    known.follow(op);
                }
                plan.rewritten.then_some(plan)
            }
            None => None,
        };
        if let Some(plan) = staged {
            let sql =
                staged_sql(m, &ops, &plan, new_version, direction, options, facts.as_mut(), out.is_empty())?;
            out.push(sql);
            continue;
        }
        let mut sink = ScriptSink {
            revision: m.revision,
            options,
            scratch: &mut scratch,
            statements: Vec::new(),
            rebuilds: false,
        };
        crate::execute::execute(dialect, &ops, &mut sink)?;
        // The runner's own decision, so the script switches foreign keys exactly when it
        // would: for a rebuild, not for a plain `DROP COLUMN` the scratch database took.
        let foreign_keys_off = sink.rebuilds;
        let statements = sink.statements;
        let effects = match facts.as_mut() {
            Some((major, known)) => {
                align_effects(&statements, crate::locks::plan_effects(&ops, *major, known))
            }
            None => Vec::new(),
        };
        let mut sql = MigrationSql {
            revision: m.revision.to_string(),
            message: m.message.to_string(),
            direction,
            statements,
            new_version,
            transactional: m.transactional,
            checksum: crate::checksum::of(m),
            setup: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
            effects,
            acknowledged: match direction {
                Direction::Up => backend::acknowledged_text(&m.acknowledgements()),
                _ => None,
            },
        };
        if out.is_empty() {
            sql.setup = setup(kind, options, facts.as_ref().map(|(major, _)| *major));
        }
        choreograph(kind, &options.tables, &mut sql, foreign_keys_off);
        out.push(sql);
    }
    Ok(out)
}

/// What the first migration of a script starts with: how to apply it, the version tables.
fn setup(kind: DialectKind, options: &Options, facts: Option<PgMajor>) -> Vec<String> {
    let mut setup = vec![how_to_apply(kind).to_string()];
    if kind == DialectKind::Postgres {
        // Every literal is quoted for standard_conforming_strings = on (where a backslash is
        // an ordinary character), as online sessions set it at connect: a database or role
        // set to off would read a backslash in a message or an acknowledgement's reason as
        // an escape, and a quote after it would end the literal early.
        setup.push("SET standard_conforming_strings = on".to_string());
    }
    if let Some(major) = facts {
        setup.push(format!(
            "-- each \"-- locks\" line: what the statement below locks, rewrites and scans on PostgreSQL {major}"
        ));
    }
    let rewriting = options.rewrite.as_ref().is_some_and(|r| r.enabled);
    if kind == DialectKind::Postgres && rewriting && options.version_unknown {
        setup.push(format!(
            "-- rewritten lock-safely for PostgreSQL {} or later (no --pg-version given): on 11 a rewritten SET NOT NULL still scans its table under ACCESS EXCLUSIVE",
            rewrite_major_when_unknown()
        ));
    }
    setup.extend(backend::version_tables_ddl(kind, &options.tables));
    setup.push(backend::one_row_index_ddl(kind, &options.tables));
    setup
}

/// The step marker of a rewritten migration with `done` steps committed (and on the first,
/// its `started` row), as the online run writes it.
fn mark_step(tables: &VersionTables, m: &MigrationSql, done: usize, plan: &str, first: bool) -> Vec<String> {
    let table = quote_ident(&tables.version);
    let marker = quote_str(&backend::step_marker(m.direction, &m.revision, done, plan));
    let mut out = Vec::new();
    if first {
        let message = format!("{} started: {}", m.direction, m.message);
        out.push(history_row(
            DialectKind::Postgres,
            tables,
            &m.revision,
            &message,
            Direction::Started,
            &m.checksum,
        ));
    }
    out.push(format!("UPDATE {table} SET dirty = {marker}"));
    out.push(format!(
        "INSERT INTO {table} (revision, dirty) SELECT NULL, {marker} WHERE NOT EXISTS (SELECT 1 FROM {table})"
    ));
    out
}

/// A migration rewritten into steps ([`crate::rewrite`]): each step opened by a comment, a
/// transactional one in `BEGIN` ... its record `COMMIT`, one outside a transaction recorded
/// right after it, the last committing the version and history rows. The INVALID index
/// cleanup is a query whose answer psql runs (`\gexec`).
#[allow(clippy::too_many_arguments)]
fn staged_sql(
    m: &'static Migration,
    ops: &[Op],
    plan: &crate::rewrite::StagedPlan,
    new_version: Option<String>,
    direction: Direction,
    options: &Options,
    mut facts: Option<&mut (PgMajor, Known)>,
    first_of_script: bool,
) -> Result<MigrationSql, OfflineError> {
    let tables = &options.tables;
    let mut sql = MigrationSql {
        revision: m.revision.to_string(),
        message: m.message.to_string(),
        direction,
        statements: Vec::new(),
        new_version,
        transactional: false,
        checksum: crate::checksum::of(m),
        setup: Vec::new(),
        before: Vec::new(),
        after: Vec::new(),
        effects: Vec::new(),
        acknowledged: match direction {
            Direction::Up => backend::acknowledged_text(&m.acknowledgements()),
            _ => None,
        },
    };
    if first_of_script {
        sql.setup = setup(DialectKind::Postgres, options, facts.as_ref().map(|f| f.0));
    }
    let total = plan.steps.len();
    let fingerprint = crate::rewrite::fingerprint(plan, &sql.checksum);
    let plural = if total == 1 { "" } else { "s" };
    sql.before.push(format!(
        "-- strata rewrite: {total} step{plural}, lock-safe; each step is recorded in the version table, so an interrupted script is resumed by `upgrade`"
    ));
    // What the lock facts see: the schema before the migration (followed past it at the end).
    let known_before = facts.as_ref().map(|f| f.1.clone());
    let mut lines: Vec<(String, bool)> = Vec::new();
    for (k, step) in plan.steps.iter().enumerate() {
        lines.push((crate::rewrite::step_comment(k, total, step), false));
        if k == 0 && !step.transactional {
            lines.push(("BEGIN".into(), false));
            lines.extend(mark_step(tables, &sql, 0, &fingerprint, true).into_iter().map(|l| (l, false)));
            lines.push(("COMMIT".into(), false));
        }
        if step.transactional {
            lines.push(("BEGIN".into(), false));
        }
        let mut sink = ScriptSink {
            revision: m.revision,
            options,
            scratch: &mut None,
            statements: Vec::new(),
            rebuilds: false,
        };
        crate::execute::execute_step(&crate::dialect::postgres::Postgres, ops, step, false, &mut sink)?;
        lines.extend(sink.statements.into_iter().map(|l| (l, true)));
        if k + 1 == total {
            break;
        }
        if !step.transactional {
            lines.push(("BEGIN".into(), false));
        }
        lines.extend(
            mark_step(tables, &sql, k + 1, &fingerprint, k == 0 && step.transactional)
                .into_iter()
                .map(|l| (l, false)),
        );
        lines.push(("COMMIT".into(), false));
    }
    if plan.steps.last().is_some_and(|s| !s.transactional) {
        sql.after.push("BEGIN".into());
    }
    sql.after.push(history_row(
        DialectKind::Postgres,
        tables,
        &sql.revision,
        &sql.message,
        direction,
        &sql.checksum,
    ));
    sql.after.extend(record_acknowledged(DialectKind::Postgres, tables, &sql));
    sql.after.extend(set_version(tables, sql.new_version.as_deref()));
    sql.after.push("COMMIT".into());
    if let (Some((major, known)), Some(before)) = (facts.as_mut(), known_before) {
        let is_sql =
            |(line, own): &(String, bool)| *own && !line.starts_with("--") && !line.ends_with("\\gexec");
        // All at once, so each statement's facts see the ones before it (SET NOT NULL after
        // the VALIDATE of its check scans nothing); one by one if that does not line up.
        let own: Vec<&str> = lines.iter().filter(|l| is_sql(l)).map(|(l, _)| l.as_str()).collect();
        let together = crate::locks::sql_effects(&own.join(";\n"), *major, &before);
        let mut together = (together.len() == own.len()).then(|| together.into_iter());
        sql.effects = lines
            .iter()
            .map(|l| {
                if !is_sql(l) {
                    return None;
                }
                match together.as_mut() {
                    Some(effects) => effects.next(),
                    None => crate::locks::sql_effects(&l.0, *major, &before).into_iter().next(),
                }
            })
            .collect();
        for op in ops {
            known.follow(op);
        }
    }
    sql.statements = lines.into_iter().map(|(line, _)| line).collect();
    Ok(sql)
}

/// Pairs each rendered statement with its effect (the ops' effects, in order); a data op's
/// placeholder has none.
fn align_effects(statements: &[String], per_op: Vec<Vec<StatementEffect>>) -> Vec<Option<StatementEffect>> {
    let mut effects = per_op.into_iter().flatten().peekable();
    statements
        .iter()
        .map(|statement| match effects.peek() {
            Some(e) if e.sql == *statement => effects.next(),
            _ => None,
        })
        .collect()
}

/// Offline SQL's [`crate::execute::Sink`]: keeps the statements, and runs them on the scratch
/// database (SQLite) so the next rebuild's snapshot sees the schema as it will be.
struct ScriptSink<'a> {
    revision: &'a str,
    options: &'a Options,
    scratch: &'a mut Option<Box<dyn Backend>>,
    statements: Vec<String>,
    /// A table snapshot was read: an op rebuilds, so the script switches foreign keys off.
    rebuilds: bool,
}

impl crate::execute::Sink for ScriptSink<'_> {
    type Error = OfflineError;

    fn snapshot(
        &mut self,
        _index: usize,
        _op: &Op,
        table: &str,
    ) -> Result<Option<TableSnapshot>, OfflineError> {
        self.rebuilds = true;
        match self.scratch.as_mut() {
            Some(db) => Ok(db.snapshot_table(table)?),
            None => Ok(None),
        }
    }

    /// Tried on the scratch database as the runner tries it live: the same refusal decides.
    fn try_plain_form(
        &mut self,
        _index: usize,
        op: &Op,
        statements: Vec<String>,
    ) -> Result<bool, OfflineError> {
        let Some(db) = self.scratch.as_mut() else { return Ok(false) };
        for statement in &statements {
            if !db.try_plain_form(op, statement)? {
                return Ok(false);
            }
        }
        self.statements.extend(statements);
        Ok(true)
    }

    fn render_failed(&mut self, _index: usize, op: &Op, source: RenderError) -> OfflineError {
        OfflineError::Render { revision: self.revision.to_string(), op: op.to_string(), source }
    }

    fn data(&mut self, _index: usize, op: &Op) -> Result<(), OfflineError> {
        let Op::Data { label, run } = op else { return Ok(()) };
        if !self.options.allow_data_placeholders {
            return Err(OfflineError::DataOp {
                revision: self.revision.to_string(),
                label: label.to_string(),
            });
        }
        self.statements.push(format!(
            "{DATA_PLACEHOLDER} {label:?}: Rust code run against the live connection; it has no SQL \
             form: do its work here by hand before going on"
        ));
        if let Some(db) = self.scratch.as_mut() {
            // Keeps the scratch schema in step; it has no rows, so this is cheap.
            let _ = run(db.data());
        }
        Ok(())
    }

    fn statement(
        &mut self,
        _index: usize,
        _op: &Op,
        statement: String,
        _last: bool,
    ) -> Result<(), OfflineError> {
        if let Some(db) = self.scratch.as_mut() {
            db.execute(&statement)?;
        }
        self.statements.push(statement);
        Ok(())
    }
}

/// An in-memory SQLite database with the migrations of `state` applied.
#[cfg(feature = "sqlite")]
fn scratch_at(set: &MigrationSet, state: &plan::State) -> Result<Box<dyn Backend>, OfflineError> {
    let mut db: Box<dyn Backend> = Box::new(crate::backend::sqlite::SqliteBackend::open(
        &crate::backend::DatabaseUrl::SqliteMemory,
        crate::backend::VersionTables::default(),
    )?);
    let applied = set.graph().applied_in(state);
    if !applied.is_empty() {
        // Grouped is quicker, but a non-transactional migration cannot be grouped.
        let mode = if applied.iter().filter_map(|r| set.get(r)).all(|m| m.transactional) {
            crate::runner::TransactionMode::Grouped
        } else {
            crate::runner::TransactionMode::PerMigration
        };
        let runner = crate::runner::Runner::new(set.clone()).with_mode(mode);
        for head in set.graph().heads_of(state) {
            let target = Target::Revision(head.to_string());
            runner.upgrade(db.as_mut(), &target).map_err(|e| OfflineError::Scratch(e.to_string()))?;
        }
    }
    Ok(db)
}

#[cfg(not(feature = "sqlite"))]
fn scratch_at(_set: &MigrationSet, _state: &plan::State) -> Result<Box<dyn Backend>, OfflineError> {
    Err(OfflineError::NoSqlite)
}

/// The whole script as text: each migration's opening, statements and closing, in order.
pub fn script(migrations: &[MigrationSql]) -> String {
    let mut out = String::new();
    let line = |out: &mut String, statement: &str| {
        out.push_str(statement);
        // A psql meta-command ends its own query.
        if !statement.starts_with("--") && !statement.ends_with("\\gexec") {
            out.push(';');
        }
        out.push('\n');
    };
    for m in migrations {
        for statement in &m.setup {
            line(&mut out, statement);
        }
        if !m.setup.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("-- {} {}: {}\n", m.direction, m.revision, m.message));
        for statement in &m.before {
            line(&mut out, statement);
        }
        for (k, statement) in m.statements.iter().enumerate() {
            if let Some(Some(effect)) = m.effects.get(k) {
                out.push_str(&effect.comment());
                out.push('\n');
            }
            line(&mut out, statement);
        }
        for statement in &m.after {
            line(&mut out, statement);
        }
        out.push('\n');
    }
    out
}
