//! Runtime: strata's runner against the bare driver executing the very same SQL. The SQL is
//! rendered up front by the same dialect, so any difference is the runner's own cost
//! (planning, bookkeeping rows, round trips), not a difference in the work asked of the
//! database.

use crate::build_time::thousands;
use crate::profile::{Profiled, Spent};
use crate::report::{human, median, runs, timed, Goal, Report, Row};
use std::time::{Duration, Instant};
use strata::backend::{self, Backend, DatabaseUrl, Direction};
use strata::graph::Target;
use strata::ops::DialectKind;
use strata::runner::{Listener, Runner, TransactionMode};
use strata::MigrationSet;

/// A database made for one measurement; dropping it drops the database where that applies.
pub struct Fresh {
    pub url: DatabaseUrl,
    _keep: Keep,
}

/// What keeps a fresh database alive.
enum Keep {
    Nothing,
    #[allow(dead_code)] // held only for its Drop
    TestDatabase(strata::testkit::TestDatabase),
}

/// Where fresh databases come from.
pub enum Engine {
    /// Files in a private temporary folder, opened with SQLite's default pragmas.
    Sqlite { dir: tempfile::TempDir, next: usize },
    /// Throwaway databases from the test kit (it starts a private server when needed).
    Postgres,
}

impl Engine {
    pub fn sqlite() -> Result<Engine, String> {
        let dir = tempfile::Builder::new()
            .prefix("strata-bench-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder for SQLite files: {e}"))?;
        Ok(Engine::Sqlite { dir, next: 0 })
    }

    pub fn kind(&self) -> DialectKind {
        match self {
            Engine::Sqlite { .. } => DialectKind::Sqlite,
            Engine::Postgres => DialectKind::Postgres,
        }
    }

    fn driver(&self) -> &'static str {
        match self {
            Engine::Sqlite { .. } => "rusqlite",
            Engine::Postgres => "postgres crate",
        }
    }

    pub fn fresh(&mut self) -> Result<Fresh, String> {
        match self {
            Engine::Sqlite { dir, next } => {
                *next += 1;
                let path = dir.path().join(format!("bench-{next}.db"));
                Ok(Fresh { url: DatabaseUrl::sqlite(path), _keep: Keep::Nothing })
            }
            Engine::Postgres => {
                // The test kit panics with a remedy when it cannot make a database.
                let db = std::panic::catch_unwind(|| strata::testkit::fresh_database(DialectKind::Postgres))
                    .map_err(|_| {
                        "strata::testkit could not make a PostgreSQL database (see above)".to_string()
                    })?;
                Ok(Fresh { url: db.url.clone(), _keep: Keep::TestDatabase(db) })
            }
        }
    }
}

/// A bare driver connection, used the way a hand-written migration script would use it.
pub enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Raw {
    pub fn connect(url: &DatabaseUrl) -> Result<Raw, String> {
        match url {
            DatabaseUrl::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .map(Raw::Sqlite)
                .map_err(|e| format!("rusqlite cannot open {}: {e}", path.display())),
            DatabaseUrl::Postgres { url } => postgres::Client::connect(url, postgres::NoTls)
                .map(Raw::Postgres)
                .map_err(|e| format!("the postgres crate cannot connect: {e}")),
            DatabaseUrl::SqliteMemory => Err("the bench needs a file or server database".into()),
        }
    }

    /// `statements` in one transaction, committed; each phase's time goes to `spent`.
    pub fn in_transaction(&mut self, statements: &[String], spent: &mut Spent) -> Result<(), String> {
        let mut phase = Instant::now();
        let mut lap = |what: &'static str, spent: &mut Spent| {
            spent.add(what, std::mem::replace(&mut phase, Instant::now()).elapsed())
        };
        match self {
            Raw::Sqlite(conn) => {
                let tx = conn.transaction().map_err(|e| e.to_string())?;
                lap("BEGIN", spent);
                for sql in statements {
                    tx.execute_batch(sql).map_err(|e| format!("{e}: {sql}"))?;
                    lap("statement", spent);
                }
                tx.commit().map_err(|e| e.to_string())?;
            }
            Raw::Postgres(client) => {
                let mut tx = client.transaction().map_err(|e| e.to_string())?;
                lap("BEGIN", spent);
                for sql in statements {
                    tx.batch_execute(sql).map_err(|e| format!("{e}: {sql}"))?;
                    lap("statement", spent);
                }
                tx.commit().map_err(|e| e.to_string())?;
            }
        }
        lap("COMMIT", spent);
        Ok(())
    }

    /// The cheapest round trip: what any application does to see that its database is there.
    pub fn select_one(&mut self) -> Result<(), String> {
        let one: i32 = match self {
            Raw::Sqlite(conn) => {
                conn.query_row("SELECT 1", [], |row| row.get(0)).map_err(|e| e.to_string())?
            }
            Raw::Postgres(client) => client.query_one("SELECT 1", &[]).map_err(|e| e.to_string())?.get(0),
        };
        (one == 1).then_some(()).ok_or_else(|| "SELECT 1 did not return 1".into())
    }

    /// The server or library version, for the report's context.
    pub fn version(&mut self) -> String {
        match self {
            Raw::Sqlite(_) => format!("SQLite {}", rusqlite::version()),
            Raw::Postgres(client) => client
                .query_one("SHOW server_version", &[])
                .map(|row| format!("PostgreSQL {}", row.get::<_, String>(0)))
                .unwrap_or_else(|e| format!("PostgreSQL (version unknown: {e})")),
        }
    }
}

/// What to measure and how often.
pub struct RuntimeBench<'a> {
    pub set: &'a MigrationSet,
    /// Repetitions of each upgrade / downgrade measurement.
    pub runs: usize,
    /// Repetitions of the start-up check (cheap, so many).
    pub startup_runs: usize,
    /// Measure the method instead of strata: the raw script takes strata's place in the
    /// interleaved runs, so the ratio shows the bias of the method itself (ideally 1.00x).
    pub calibrate: bool,
}

/// Each migration's statements, in the order a run executes them.
type Script = Vec<Vec<String>>;

/// The SQL the raw driver runs: exactly what strata's dialect renders for the same ops.
struct Scripts {
    upgrade: Script,
    downgrade: Script,
}

/// (strata, raw) timings of one kind of run, one pair per repetition.
#[derive(Default)]
struct Pairs(Vec<(Duration, Duration)>);

impl Pairs {
    /// A table row: the medians, and the median of the per-run ratios.
    fn row(&self, section: &str, what: &str, reference: &str, max: f64) -> Row {
        let strata: Vec<Duration> = self.0.iter().map(|p| p.0).collect();
        let raw: Vec<Duration> = self.0.iter().map(|p| p.1).collect();
        let mut ratios: Vec<f64> = self.0.iter().map(|(s, r)| s.as_secs_f64() / r.as_secs_f64()).collect();
        ratios.sort_by(f64::total_cmp);
        let mid = ratios.len() / 2;
        let ratio =
            if !ratios.len().is_multiple_of(2) { ratios[mid] } else { (ratios[mid - 1] + ratios[mid]) / 2.0 };
        Row::against(
            section,
            what,
            median(&strata),
            (reference, median(&raw)),
            Goal::Ratio(max),
            runs(self.0.len()),
        )
        .with_ratio(ratio)
    }
}

impl Pairs {
    /// Every run's pair and the fastest of each side, so noise can be judged from the report.
    fn describe(&self, section: &str, what: &str) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(s, r)| format!("{}/{}", human(*s), human(*r))).collect();
        let fastest =
            |side: fn(&(Duration, Duration)) -> Duration| self.0.iter().map(side).min().unwrap_or_default();
        let (s, r) = (fastest(|p| p.0), fastest(|p| p.1));
        format!(
            "{section}, {what}: strata/raw per run {}; fastest runs {} vs {} ({:.2}x)",
            pairs.join(", "),
            human(s),
            human(r),
            s.as_secs_f64() / r.as_secs_f64().max(f64::MIN_POSITIVE)
        )
    }
}

impl RuntimeBench<'_> {
    pub fn run(
        &self,
        engine: &mut Engine,
        report: &mut Report,
        context: &mut Vec<String>,
    ) -> Result<(), String> {
        let n = self.set.migrations().len();
        let section = match engine {
            Engine::Sqlite { .. } => format!("SQLite file, {} migrations", thousands(n)),
            Engine::Postgres => format!("PostgreSQL, {} migrations", thousands(n)),
        };
        // A database at head: the downgrade SQL is rendered from its tables, and the
        // start-up check runs against it. Making it also warms caches before measuring.
        let at_head = engine.fresh()?;
        self.strata_upgrade(
            backend::connect(&at_head.url).map_err(connect_failed)?.as_mut(),
            TransactionMode::Grouped,
        )?;
        let scripts = Scripts {
            upgrade: upgrade_script(self.set, engine.kind())?,
            downgrade: downgrade_script(self.set, &at_head.url)?,
        };
        context.push(Raw::connect(&at_head.url)?.version());

        let (mut up, mut down, mut grouped) = (Pairs::default(), Pairs::default(), Pairs::default());
        for run in 0..self.runs {
            // Alternating which goes first spreads drift in the machine's load over both.
            let strata_first = run.is_multiple_of(2);
            let (s, r) = self.interleaved_up_down(engine, &scripts)?;
            up.0.push((s.0, r.0));
            down.0.push((s.1, r.1));
            if self.calibrate {
                println!("  {section}: calibration run {} of {}", run + 1, self.runs);
                continue;
            }
            let (s, r) = alternate(
                engine,
                strata_first,
                |e| self.strata_grouped(e),
                |e| raw_one_transaction(e, &scripts),
            )?;
            grouped.0.push((s, r));
            let pair = |p: &(Duration, Duration)| format!("{} vs {}", human(p.0), human(p.1));
            println!(
                "  {section}: run {} of {} (grouped: {} first), strata vs raw: upgrade {}, downgrade {}, grouped {}",
                run + 1,
                self.runs,
                if strata_first { "strata" } else { "raw" },
                pair(&up.0[run]),
                pair(&down.0[run]),
                pair(&grouped.0[run])
            );
        }
        let driver = engine.driver();
        if self.calibrate {
            let reference = format!("raw {driver} (the other side)");
            for (pairs, what) in [
                (&up, "calibration: raw in strata's place, upgrade"),
                (&down, "calibration: raw in strata's place, downgrade"),
            ] {
                report.push(pairs.row(&section, what, &reference, 1.02));
                report.note(pairs.describe(&section, what));
            }
            return Ok(());
        }
        let each = format!("raw {driver}, a transaction per statement");
        let one = format!("raw {driver}, all in one transaction");
        let rows = [
            (&up, "upgrade base→head, a transaction per migration", &each, 1.1),
            (&down, "downgrade head→base, a transaction per migration", &each, 1.1),
            (&grouped, "upgrade base→head, grouped mode", &one, 1.2),
        ];
        for (pairs, what, reference, max) in rows {
            report.push(pairs.row(&section, what, reference, max));
            report.note(pairs.describe(&section, what));
        }
        self.startup(engine, &section, &at_head.url, report)?;
        self.profile(engine, &section, &scripts, report)
    }

    /// One more run of each kind with every backend call and raw phase timed.
    fn profile(
        &self,
        engine: &mut Engine,
        section: &str,
        scripts: &Scripts,
        report: &mut Report,
    ) -> Result<(), String> {
        let db = engine.fresh()?;
        let mut backend = Profiled::new(backend::connect(&db.url).map_err(connect_failed)?);
        settle();
        let took = self.strata_upgrade(&mut backend, TransactionMode::PerMigration)?;
        report.profile(format!(
            "{section}, strata upgrade: {}",
            backend.spent.describe(took, "runner (client side)")
        ));
        backend.spent = Spent::default();
        settle();
        let took = self.strata_downgrade(&mut backend)?;
        report.profile(format!(
            "{section}, strata downgrade: {}",
            backend.spent.describe(took, "runner (client side)")
        ));

        let db = engine.fresh()?;
        let mut raw = Raw::connect(&db.url)?;
        for (what, script) in [("upgrade", &scripts.upgrade), ("downgrade", &scripts.downgrade)] {
            settle();
            let mut spent = Spent::default();
            let (result, took) =
                timed(|| script.iter().try_for_each(|sql| raw.in_transaction(sql, &mut spent)));
            result?;
            report.profile(format!("{section}, raw {what}: {}", spent.describe(took, "loop (client side)")));
        }
        Ok(())
    }

    /// Start-up when nothing is pending, against a bare connect; both alternate so that
    /// drift in the machine's load hits both alike.
    fn startup(
        &self,
        engine: &Engine,
        section: &str,
        url: &DatabaseUrl,
        report: &mut Report,
    ) -> Result<(), String> {
        let runner = Runner::new(self.set.clone());
        let (mut strata, mut bare) = (Vec::new(), Vec::new());
        for _ in 0..self.startup_runs {
            let (backend, took) = timed(|| -> Result<Box<dyn Backend>, String> {
                let mut backend = backend::connect(url).map_err(connect_failed)?;
                let pending = runner.pending(backend.as_mut()).map_err(|e| e.to_string())?;
                if !pending.is_empty() {
                    return Err(format!("{} migrations pending at head", pending.len()));
                }
                Ok(backend)
            });
            // Closing the connection is not part of start-up.
            drop(backend?);
            strata.push(took);
            let (raw, took) = timed(|| -> Result<Raw, String> {
                let mut raw = Raw::connect(url)?;
                raw.select_one()?;
                Ok(raw)
            });
            drop(raw?);
            bare.push(took);
        }
        let label = format!("bare {} connect + SELECT 1", engine.driver());
        report.push(Row::against(
            section,
            "start-up check at head: connect + Runner::pending()",
            median(&strata),
            (&label, median(&bare)),
            Goal::Within(Duration::from_micros(500)),
            runs(self.startup_runs),
        ));
        Ok(())
    }

    /// strata's upgrade then downgrade (a transaction per migration) and the raw script's,
    /// each side on a fresh database of its own, taking turns every [`CHUNK`] migrations.
    /// Returns ((strata up, strata down), (raw up, raw down)).
    ///
    /// Fsync latency on a virtual disk wanders by tens of percent over seconds; taking turns
    /// every ~0.1 s exposes both sides to the same moments, where whole runs one after the
    /// other made the ratio a coin toss. strata's run hands over to the raw side from its
    /// [`Listener`] before a migration's first statement, and the time spent there is taken
    /// out of strata's total.
    fn interleaved_up_down(
        &self,
        engine: &mut Engine,
        scripts: &Scripts,
    ) -> Result<(UpDown, UpDown), String> {
        let (strata_db, raw_db) = (engine.fresh()?, engine.fresh()?);
        let mut backend = backend::connect(&strata_db.url).map_err(connect_failed)?;
        let mut raw = Raw::connect(&raw_db.url)?;
        // Calibration: the raw script in strata's place, on strata's database.
        let mut stand_in = if self.calibrate { Some(Raw::connect(&strata_db.url)?) } else { None };
        let runner = Runner::new(self.set.clone());
        let mut times = [Duration::ZERO; 4];
        for (i, (script, target)) in
            [(&scripts.upgrade, Target::Head), (&scripts.downgrade, Target::Base)].into_iter().enumerate()
        {
            let mut turns = Turns::new(&mut raw, script);
            settle();
            let (result, total) = timed(|| -> Result<usize, String> {
                let Some(other) = stand_in.as_mut() else {
                    let report = if i == 0 {
                        runner.upgrade_with(backend.as_mut(), &target, &mut turns)
                    } else {
                        runner.downgrade_with(backend.as_mut(), &target, &mut turns)
                    };
                    return report.map(|r| r.applied.len()).map_err(|e| format!("strata failed: {e}"));
                };
                // The same hand-over points as the runner's listener: before every CHUNKth.
                for (k, sql) in script.iter().enumerate() {
                    if k.is_multiple_of(CHUNK) {
                        turns.starting("", "", Direction::Up, k, script.len());
                    }
                    other.in_transaction(sql, &mut Spent::default())?;
                }
                Ok(script.len())
            });
            let applied = result?;
            expect_applied(applied, self.set)?;
            let turns = turns.finish()?;
            times[i] = total.saturating_sub(turns.handed_over);
            times[2 + i] = turns.raw_time;
        }
        Ok(((times[0], times[1]), (times[2], times[3])))
    }

    fn strata_grouped(&self, engine: &mut Engine) -> Result<Duration, String> {
        let db = engine.fresh()?;
        let mut backend = backend::connect(&db.url).map_err(connect_failed)?;
        self.strata_upgrade(backend.as_mut(), TransactionMode::Grouped)
    }

    /// Times the upgrade alone (the connection is made before).
    fn strata_upgrade(&self, backend: &mut dyn Backend, mode: TransactionMode) -> Result<Duration, String> {
        let runner = Runner::new(self.set.clone()).with_mode(mode);
        let (result, took) = timed(|| runner.upgrade(backend, &Target::Head));
        let applied = result.map_err(|e| format!("strata upgrade failed: {e}"))?.applied.len();
        expect_applied(applied, self.set)?;
        Ok(took)
    }

    fn strata_downgrade(&self, backend: &mut dyn Backend) -> Result<Duration, String> {
        let runner = Runner::new(self.set.clone());
        let (result, took) = timed(|| runner.downgrade(backend, &Target::Base));
        let applied = result.map_err(|e| format!("strata downgrade failed: {e}"))?.applied.len();
        expect_applied(applied, self.set)?;
        Ok(took)
    }
}

/// Runs the strata and raw halves of a pair in the order asked for.
fn alternate<A, B>(
    engine: &mut Engine,
    strata_first: bool,
    strata: impl FnOnce(&mut Engine) -> Result<A, String>,
    raw: impl FnOnce(&mut Engine) -> Result<B, String>,
) -> Result<(A, B), String> {
    if strata_first {
        settle();
        let a = strata(engine)?;
        settle();
        Ok((a, raw(engine)?))
    } else {
        settle();
        let b = raw(engine)?;
        settle();
        Ok((strata(engine)?, b))
    }
}

/// Flushes dirty pages (`sync`) so that the kernel writing back the previous run's files
/// (thousands of table files created and dropped) does not land in the next measurement.
/// Best effort: without a `sync` command the numbers are only noisier.
fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// Migrations per turn in [`RuntimeBench::interleaved_up_down`].
const CHUNK: usize = 50;

/// An upgrade and a downgrade time.
type UpDown = (Duration, Duration);

/// The raw side of an interleaved run: before every [`CHUNK`]th strata migration, the next
/// `CHUNK` migrations of the raw script, each in its own transaction.
struct Turns<'a> {
    raw: &'a mut Raw,
    script: &'a Script,
    next: usize,
    /// The raw migrations' own time.
    raw_time: Duration,
    /// Everything spent in the listener (raw time, syncs), which strata's total excludes.
    handed_over: Duration,
    error: Option<String>,
}

impl<'a> Turns<'a> {
    fn new(raw: &'a mut Raw, script: &'a Script) -> Self {
        Turns { raw, script, next: 0, raw_time: Duration::ZERO, handed_over: Duration::ZERO, error: None }
    }

    /// The raw side's next `CHUNK` migrations, timed, between syncs so that neither side's
    /// write-back lands in the other's time.
    fn turn(&mut self) {
        let handed = Instant::now();
        settle();
        let end = (self.next + CHUNK).min(self.script.len());
        let chunk = &self.script[self.next..end];
        let raw = &mut *self.raw;
        let (result, took) =
            timed(|| chunk.iter().try_for_each(|sql| raw.in_transaction(sql, &mut Spent::default())));
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
        self.raw_time += took;
        self.next = end;
        settle();
        self.handed_over += handed.elapsed();
    }

    /// Fails if the raw side failed or did not run its whole script.
    fn finish(mut self) -> Result<Self, String> {
        while self.error.is_none() && self.next < self.script.len() {
            self.turn();
        }
        match self.error.take() {
            Some(e) => Err(format!("the raw script failed: {e}")),
            None => Ok(self),
        }
    }
}

impl Listener for Turns<'_> {
    fn starting(
        &mut self,
        _revision: &str,
        _message: &str,
        _direction: Direction,
        index: usize,
        _total: usize,
    ) {
        if index.is_multiple_of(CHUNK) && self.error.is_none() {
            self.turn();
        }
    }
}

/// The raw upgrade with every statement in one transaction.
fn raw_one_transaction(engine: &mut Engine, scripts: &Scripts) -> Result<Duration, String> {
    let db = engine.fresh()?;
    let mut raw = Raw::connect(&db.url)?;
    let all: Vec<String> = scripts.upgrade.iter().flatten().cloned().collect();
    let (result, took) = timed(|| raw.in_transaction(&all, &mut Spent::default()));
    result.map(|()| took)
}

fn connect_failed(e: strata::backend::BackendError) -> String {
    format!("strata cannot connect: {e}")
}

fn expect_applied(applied: usize, set: &MigrationSet) -> Result<(), String> {
    let expected = set.migrations().len();
    (applied == expected)
        .then_some(())
        .ok_or_else(|| format!("strata ran {applied} migrations, not {expected}"))
}

/// The upgrade SQL of every migration, rendered by the engine's dialect. The generated
/// upgrades need no live table, which this checks.
fn upgrade_script(set: &MigrationSet, kind: DialectKind) -> Result<Script, String> {
    let dialect = strata::dialect::for_kind(kind);
    set.migrations()
        .iter()
        .map(|m| {
            let mut statements = Vec::new();
            for op in m.upgrade_ops() {
                if let Some(table) = dialect.needs_snapshot(&op) {
                    return Err(format!(
                        "{op} needs a snapshot of {table}; the raw script cannot render it up front"
                    ));
                }
                statements.extend(dialect.render(&op, None).map_err(|e| format!("cannot render {op}: {e}"))?);
            }
            Ok(statements)
        })
        .collect()
}

/// The downgrade SQL of every migration, head first. Ops that render from the live table
/// (SQLite's drop_column) get a snapshot taken from `at_head`: each generated table is only
/// touched by its own two migrations, so at head it is exactly as the downgrade finds it.
fn downgrade_script(set: &MigrationSet, at_head: &DatabaseUrl) -> Result<Script, String> {
    let mut backend = backend::connect(at_head).map_err(|e| format!("strata cannot connect: {e}"))?;
    let dialect = backend.dialect();
    set.migrations()
        .iter()
        .rev()
        .map(|m| {
            let mut statements = Vec::new();
            for op in m.downgrade_ops() {
                let snapshot = match dialect.needs_snapshot(&op) {
                    Some(table) => {
                        backend.snapshot_table(&table).map_err(|e| format!("cannot snapshot {table}: {e}"))?
                    }
                    None => None,
                };
                let sql =
                    dialect.render(&op, snapshot.as_ref()).map_err(|e| format!("cannot render {op}: {e}"))?;
                statements.extend(sql);
            }
            Ok(statements)
        })
        .collect()
}
