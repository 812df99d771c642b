//! `peer-bench`: strata's whole-process peer benchmark (issue 13, item 1). The binary is
//! [`main`]; the library exists so the integration tests can drive a [`Series`] with fake
//! apps.
//!
//! ```text
//! benches/peers/run            # the full series: 100 and 1,000 migrations, SQLite and PostgreSQL
//! benches/peers/run --quick    # 100 migrations, one round of 3 runs: a few minutes
//! benches/peers/run --help     # every option
//! ```
//!
//! It builds four release binaries per workload size (`raw-app`, `sqlx-app`, `refinery-app`,
//! `strata-app`, each its own cargo project with its own lock file), starts a PostgreSQL
//! server with the default durability, and times every tool as whole processes with
//! hyperfine on a fresh database per run. Each run's end state is checked; if any check fails
//! the driver names the tool and the run and prints no table. Otherwise it prints one
//! Markdown table of medians and ratios and writes it, with the spread of every cell and the
//! context, to `<target>/peers/work/report.md`.

pub mod db;
mod hyperfine;
mod pg;
pub mod prepare;
pub mod report;
pub mod tools;

use db::Db;
use prepare::Ledger;
use report::{human, thousands, Results, RowKey};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;
use tools::{App, Cell, Engine, Expect, Tool, Workload};

const USAGE: &str = "\
usage: benches/peers/run [--quick] [--engine sqlite|postgres] [--size 100|1000]
                         [--rounds R] [--runs R] [--warmup W] [--tools LIST]
                         [--workloads LIST]

  --quick          100 migrations, one round of 3 runs after 1 warm-up (a few minutes)
  --engine E       only SQLite or only PostgreSQL (default: both)
  --size N         only 100 or only 1000 migrations (default: both; --quick: 100)
  --rounds R       rounds per cell; the tools of a row take turns every round (default:
                   upgrade and downgrade 3; nothing pending and current 20 on SQLite, 10 on
                   PostgreSQL)
  --runs R         timed runs per cell and round (default: upgrade and downgrade 5 at 100
                   migrations, 3 at 1,000; nothing pending and current 10 on SQLite, 3 on
                   PostgreSQL, at either size)
  --warmup W       untimed runs before a cell's first round (default 1)
  --tools LIST     only these columns, comma-separated, from raw-one-txn, raw-per-statement,
                   raw-bookkept, select1, read-version, sqlx, refinery, strata,
                   strata-no-sql-lint (strata without its SQL parser, start-up rows only)
                   (default: all; ratios need the floors and peers)
  --workloads LIST only these rows, comma-separated, from upgrade, downgrade, pending
                   (nothing pending), current (default: all)

Needs hyperfine and, for PostgreSQL, the server programs (initdb, pg_ctl). Everything is
built and written under $CARGO_TARGET_DIR/peers (default: target/peers).";

/// What the command line asked for.
#[derive(Debug)]
struct Options {
    quick: bool,
    engines: Vec<Engine>,
    sizes: Vec<usize>,
    /// Rounds per cell; `None`: by row and engine.
    rounds: Option<u32>,
    /// Runs per round; `None`: by size.
    runs: Option<u32>,
    warmup: u32,
    /// The columns measured.
    tools: Vec<Tool>,
    /// The rows measured.
    workloads: Vec<Workload>,
    /// The arguments as given, for the report.
    given: Vec<String>,
}

impl Options {
    /// Parses the arguments after the program name.
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            quick: false,
            engines: vec![Engine::Sqlite, Engine::Postgres],
            sizes: peer_workload::SIZES.to_vec(),
            rounds: None,
            runs: None,
            warmup: 1,
            tools: Tool::ALL.to_vec(),
            workloads: Workload::ALL.to_vec(),
            given: args.to_vec(),
        };
        let (mut sizes, mut rounds, mut runs) = (None, None, None);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
            let number = |flag: &str, text: &str| -> Result<u32, String> {
                text.parse().ok().filter(|n| *n > 0 || flag == "--warmup").ok_or_else(|| {
                    format!(
                        "{flag} {text:?}: expected a whole number{}",
                        if flag == "--warmup" { "" } else { " above 0" }
                    )
                })
            };
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--engine" => {
                    options.engines = match value("--engine")?.as_str() {
                        "sqlite" => vec![Engine::Sqlite],
                        "postgres" => vec![Engine::Postgres],
                        other => return Err(format!("--engine {other:?}: expected sqlite or postgres")),
                    }
                }
                "--size" => {
                    let text = value("--size")?;
                    let n: usize =
                        text.parse().map_err(|_| format!("--size {text:?}: expected 100 or 1000"))?;
                    if !peer_workload::SIZES.contains(&n) {
                        return Err(format!("--size {n}: the apps are built for 100 or 1000 migrations"));
                    }
                    sizes = Some(vec![n]);
                }
                "--rounds" => rounds = Some(number("--rounds", value("--rounds")?)?),
                "--runs" => runs = Some(number("--runs", value("--runs")?)?),
                "--warmup" => options.warmup = number("--warmup", value("--warmup")?)?,
                "--tools" => {
                    options.tools = by_slug("--tools", "column", value("--tools")?, &Tool::ALL, |t| t.slug())?
                }
                "--workloads" => {
                    options.workloads =
                        by_slug("--workloads", "row", value("--workloads")?, &Workload::ALL, |w| w.slug())?
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if options.quick {
            options.sizes = vec![100];
            options.rounds = Some(1);
            options.runs = Some(3);
        }
        if let Some(sizes) = sizes {
            options.sizes = sizes;
        }
        options.rounds = rounds.or(options.rounds);
        options.runs = runs.or(options.runs);
        Ok(options)
    }

    /// Rounds of a cell. A start-up check is a few milliseconds against a 1 ms target, and a
    /// busy machine drifts by tenths of a millisecond over seconds: its tools take turns in
    /// more, shorter rounds, so the drift falls on all of them alike.
    fn rounds(&self, engine: Engine, workload: Workload) -> u32 {
        self.rounds.unwrap_or(match (workload.is_start_up(), engine) {
            (true, Engine::Sqlite) => 20,
            (true, Engine::Postgres) => 10,
            (false, _) => 3,
        })
    }

    /// Timed runs per round of a cell of `n` migrations. A start-up check also gets more runs
    /// where its fresh database is cheap (a file copy); a fresh PostgreSQL database costs more
    /// than the run it prepares.
    fn runs(&self, engine: Engine, n: usize, workload: Workload) -> u32 {
        self.runs.unwrap_or(match (workload.is_start_up(), engine, n >= 1000) {
            (true, Engine::Sqlite, _) => 10,
            (true, Engine::Postgres, _) => 3,
            (false, _, true) => 3,
            (false, _, false) => 5,
        })
    }
}

/// The items of a comma-separated `list` given to `flag`, each named by its slug among `all`;
/// an unknown one is refused, naming every known slug.
fn by_slug<T: Copy>(
    flag: &str,
    what: &str,
    list: &str,
    all: &[T],
    slug: impl Fn(&T) -> &'static str,
) -> Result<Vec<T>, String> {
    list.split(',')
        .map(|given| {
            all.iter().copied().find(|item| slug(item) == given).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(&slug).collect();
                format!("{flag}: unknown {what} {given:?} (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// The folders the benchmark uses.
pub struct Paths {
    /// The repository root.
    pub repo: PathBuf,
    /// `<target>/peers/build`: the apps' shared cargo target folder.
    pub build: PathBuf,
    /// `<target>/peers/work`: binaries, databases, ledgers, hyperfine output, the report.
    pub work: PathBuf,
}

impl Paths {
    /// `$CARGO_TARGET_DIR/peers` (default `<repo>/target/peers`), as `benches/peers/run` has it.
    fn new() -> Result<Paths, String> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let repo = repo
            .canonicalize()
            .map_err(|e| format!("cannot find the repository at {}: {e}", repo.display()))?;
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => {
                std::env::current_dir().map_err(|e| format!("cannot read the working folder: {e}"))?.join(dir)
            }
            _ => repo.join("target"),
        };
        let peers = target.join("peers");
        Ok(Paths { repo, build: peers.join("build"), work: peers.join("work") })
    }

    /// Where the driver puts `app`'s binary for `n` migrations.
    pub fn binary(&self, app: App, n: usize) -> PathBuf {
        self.work.join("bin").join(format!("{}-{n}", app.name()))
    }
}

/// The `peer-bench` command.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("prepare") {
        return prepare::main(&args[1..]);
    }
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("peer-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("peer-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The whole benchmark. `Ok(false)`: some run failed, and no table was printed.
fn run(options: &Options) -> Result<bool, String> {
    let started = Instant::now();
    let hyperfine = hyperfine::version()?;
    let paths = Paths::new()?;
    for dir in ["bin", "sqlite", "ledgers", "hyperfine"] {
        fs::create_dir_all(paths.work.join(dir))
            .map_err(|e| format!("cannot create {}: {e}", paths.work.join(dir).display()))?;
    }
    let filesystem = on_a_disk(&paths.work)?;
    // A report from an earlier series must not pass for this one's if this one fails.
    let report = paths.work.join("report.md");
    match fs::remove_file(&report) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("cannot remove the old report {}: {e}", report.display()))
        }
        _ => {}
    }
    let mut context = vec![
        format!(
            "mode: {}",
            match options.given.as_slice() {
                [] => "full".to_string(),
                [quick] if quick == "--quick" => "quick (--quick)".to_string(),
                given => format!("custom ({})", given.join(" ")),
            }
        ),
        format!("date: {}, repository at {}", shell_line("date -u '+%Y-%m-%d %H:%M UTC'"), git_commit(&paths.repo)),
        format!(
            "machine: {} CPU(s), load average at start {}; work folder on {filesystem}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_average()
        ),
        format!("{hyperfine}: whole processes, no shell (-N), a fresh database prepared before every run (untimed)"),
    ];

    let apps: Vec<App> =
        App::ALL.into_iter().filter(|a| options.tools.iter().any(|t| t.app() == *a)).collect();
    build_apps(&paths, &apps, &options.sizes)?;
    context.push(versions(&paths));

    let mut server = None;
    let mut targets = Vec::new();
    for &engine in &options.engines {
        let bench = match engine {
            Engine::Sqlite => Db::Sqlite { path: paths.work.join("sqlite/bench.db") },
            Engine::Postgres => {
                eprintln!("starting PostgreSQL with fsync=on, synchronous_commit=on");
                let started = pg::Server::start(&paths.work.join("pg"))?;
                context.push(format!("PostgreSQL: {}; a Unix socket", started.description));
                let db = started.database("bench");
                server = Some(started);
                db
            }
        };
        context.push(durability(&paths, &apps, engine, &bench, options.sizes[0])?);
        targets.push((engine, bench));
    }
    if targets.iter().any(|(e, _)| *e == Engine::Sqlite) {
        context.push(format!(
            "SQLite: files in {} ({filesystem}), every tool with its library's defaults (rollback journal, \
             synchronous=FULL), checked in each file's header after every run",
            paths.work.join("sqlite").display()
        ));
    }

    let driver = current_exe()?;
    let mut results = Results::default();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for &n in &options.sizes {
        for (engine, bench) in &targets {
            let heads = build_heads(&paths, &options.tools, bench, n, &mut failures)?;
            for &workload in &options.workloads {
                let row = RowKey { workload, engine: *engine, n };
                rows.push(row);
                let series = Series {
                    paths: &paths,
                    row,
                    tools: &options.tools,
                    rounds: options.rounds(*engine, workload),
                    runs: options.runs(*engine, n, workload),
                    warmup: options.warmup,
                    bench,
                    heads: &heads,
                    driver: &driver,
                };
                series.measure(&mut results, &mut failures)?;
            }
        }
    }
    drop(server);
    context.push(format!("load average at end {}; the series took {}", load_average(), minutes(started)));

    if !failures.is_empty() {
        eprintln!("\npeer-bench: refusing to report: {} failure(s):", failures.len());
        for failure in &failures {
            eprintln!("  - {failure}");
        }
        return Ok(false);
    }
    let table = results.table(&rows);
    let notes = notes(options);
    println!("\n{table}");
    for line in context.iter().chain(&notes) {
        println!("- {line}");
    }
    let text = format!(
        "# strata whole-process peer benchmark\n\n{table}\n{}\n\n## Every cell\n\n{}",
        context.iter().chain(&notes).map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n"),
        results.details()
    );
    fs::write(&report, text).map_err(|e| format!("cannot write {}: {e}", report.display()))?;
    println!("\nreport (with every cell's spread) written to {}", report.display());
    Ok(true)
}

/// How to read the table.
fn notes(options: &Options) -> Vec<String> {
    let mut runs: Vec<String> = Vec::new();
    for (start_up, rows) in [(false, "upgrade and downgrade"), (true, "nothing pending and current")] {
        let Some(workload) = options.workloads.iter().copied().find(|w| w.is_start_up() == start_up) else {
            continue;
        };
        // One phrase per engine, or one for both where they are alike.
        let phrase = |engine: Engine| -> String {
            let sizes: Vec<String> = options
                .sizes
                .iter()
                .map(|&n| {
                    format!(
                        "{} at {}",
                        options.rounds(engine, workload) * options.runs(engine, n, workload),
                        thousands(n)
                    )
                })
                .collect();
            format!("{} in {} round(s)", sizes.join(", "), options.rounds(engine, workload))
        };
        let phrases: Vec<(Engine, String)> = options.engines.iter().map(|&e| (e, phrase(e))).collect();
        if phrases.windows(2).all(|w| w[0].1 == w[1].1) {
            if let Some((_, phrase)) = phrases.first() {
                runs.push(format!("{rows} {phrase}"));
            }
        } else {
            let each: Vec<String> = phrases.iter().map(|(e, p)| format!("{} {p}", e.label())).collect();
            runs.push(format!("{rows}: {}", each.join(", ")));
        }
    }
    let mut notes = Vec::new();
    if options.workloads.len() < Workload::ALL.len() {
        let measured: Vec<&str> = options.workloads.iter().map(|w| w.slug()).collect();
        notes.push(format!(
            "partial series (--workloads {}): the other rows are not measured",
            measured.join(",")
        ));
    }
    if options.tools.len() < Tool::ALL.len() {
        let measured: Vec<&str> = options.tools.iter().map(|t| t.slug()).collect();
        notes.push(format!(
            "partial series (--tools {}): the other columns show ?, and strata / best peer and the targets \
             count only the peers measured",
            measured.join(",")
        ));
    }
    notes.extend([
        format!(
            "medians of the timed runs of each cell: {} (the tools of a row taking turns each round; {} \
             untimed warm-up run(s) first)",
            runs.join("; "),
            options.warmup
        ),
        "upgrade: base → head on a fresh empty database; downgrade: head → base; nothing pending: the \
         tool's upgrade command on a database at head; current: the tool's current-revision command. \
         Databases at head are copies of one the same tool upgraded (raw's, for the raw columns: \
         raw-app up-one-txn, then stamp to set its one-row version table to the head revision)"
            .into(),
        "floor: raw with a transaction per statement (upgrade, downgrade), connect + SELECT 1 (nothing \
         pending, current); targets (issue 13): strata ahead of every peer, within 1.1x of the floor on \
         upgrade and downgrade, within +1 ms of it on nothing pending and current"
            .into(),
        "raw + bookkeeping (strata / bookkept): the same raw statements, each migration's transaction also \
         inserting a history row and updating a one-row version table (SQLite: prepare_cached statements; \
         PostgreSQL: one simple-query batch per migration), the least a tool that keeps a history and a \
         current version in each migration's own transaction must do (strata does; sqlx and refinery insert \
         a history row only). connect + read version (strata / bookkept on nothing pending and current): \
         connect and read the revision from that one-row version table (PostgreSQL: one simple query), \
         the least a tool that keeps its state in the database must do to check it; the first read of a \
         table in a fresh session costs the server more than SELECT 1"
            .into(),
        format!(
            "not settled by the runs: a target's check (strata / floor, strata - floor, strata / best peer) \
             whose 95% percentile-bootstrap interval ({} resamples of both cells' runs, the ratio or \
             difference of their medians) holds the threshold, so that the verdict met or missed could come \
             out the other way in another series",
            thousands(report::RESAMPLES)
        ),
        "strata, no sql-lint: strata-app built without strata's raw-SQL parser (--no-default-features), on \
         the start-up rows only"
            .into(),
        "refinery has no down migrations (n/a)".into(),
    ]);
    notes
}

/// One row's measurements.
pub struct Series<'a> {
    pub paths: &'a Paths,
    pub row: RowKey,
    /// The columns to measure (those that have a cell in this row).
    pub tools: &'a [Tool],
    pub rounds: u32,
    /// Timed runs per round.
    pub runs: u32,
    /// Untimed runs before the first round.
    pub warmup: u32,
    /// The database every run of the row uses (made fresh before each).
    pub bench: &'a Db,
    /// The databases at head, by the app that built them.
    pub heads: &'a [(App, Db)],
    /// The program hyperfine runs as `PROGRAM prepare ...`: this driver.
    pub driver: &'a str,
}

impl Series<'_> {
    /// Times every column of the row, the columns taking turns round by round; adds the
    /// times to `results` and a sentence for every failed run or check to `failures` (which
    /// ends that column's measurements in this row).
    pub fn measure(&self, results: &mut Results, failures: &mut Vec<String>) -> Result<(), String> {
        let row = self.row;
        let mut tools: Vec<(Tool, &'static [&'static str])> = self
            .tools
            .iter()
            .filter_map(|&t| match t.command(row.workload) {
                Cell::Runs(args) => Some((t, args)),
                _ => None,
            })
            .collect();
        let mut failed: Vec<Tool> = Vec::new();
        let total = self.warmup + self.rounds * self.runs;
        for round in 0..self.rounds {
            for &(tool, args) in &tools {
                if failed.contains(&tool) {
                    continue;
                }
                let what = format!("{} ({}) in \"{}\"", tool.header(), tool.app(), row.label());
                match self.invoke(tool, args, round) {
                    Ok(times) => {
                        eprintln!(
                            "  {}: {}: round {}/{}: median {}",
                            row.label(),
                            tool.header(),
                            round + 1,
                            self.rounds,
                            human(report::median(&times))
                        );
                        results.add(row, tool, &times);
                    }
                    Err((run, problem)) => {
                        eprintln!("  {}: {}: FAILED", row.label(), tool.header());
                        let run = run
                            .map_or(String::new(), |run| format!(", run {run} of {total} (warm-ups count)"));
                        failures.push(format!("{what}{run}: {problem}"));
                        failed.push(tool);
                    }
                }
            }
            // The next round starts with the next tool, so no tool always goes first.
            tools.rotate_left(1);
        }
        Ok(())
    }

    /// One hyperfine invocation: `runs` timed runs of `tool` (after the warm-ups in round 0),
    /// every one of them checked. The error: the run that failed, if known, and why.
    fn invoke(&self, tool: Tool, args: &[&str], round: u32) -> Result<Vec<f64>, (Option<u32>, String)> {
        let row = self.row;
        let from = if row.workload.starts_at_head() {
            let head = self.heads.iter().find(|(app, _)| *app == tool.app()).map(|(_, db)| db);
            Some(head.ok_or((None, "no database at head to start from (see the failure above)".to_string()))?)
        } else {
            None
        };
        let ledger_path =
            self.paths.work.join("ledgers").join(format!("{}-{}.ledger", row.slug(), tool.slug()));
        let ledger = if round == 0 { Ledger::create(&ledger_path) } else { Ok(Ledger::new(&ledger_path)) };
        let ledger = ledger.map_err(|e| (None, e))?;
        let expect = row.workload.ends_at();
        let mut prepare = vec![self.driver.to_string()];
        prepare.extend(prepare::command(&ledger, self.bench, from, row.n, expect));
        let mut command = vec![self.paths.binary(tool.app(), row.n).display().to_string()];
        command.extend(args.iter().map(|a| a.to_string()));
        let warmup = if round == 0 { self.warmup } else { 0 };
        let invocation = hyperfine::Invocation {
            command,
            prepare,
            warmup,
            runs: self.runs,
            cwd: &self.paths.work,
            env: clean_env(self.bench),
            json: self.paths.work.join("hyperfine").join(format!(
                "{}-{}-{round}.json",
                row.slug(),
                tool.slug()
            )),
        };
        let timed = invocation.run();
        // A prepare that failed (its check of the run before, or making the database) said why.
        if let Some((run, problem)) = ledger.failure() {
            return Err((Some(run), problem));
        }
        let counts = ledger.read().map_err(|e| (None, e))?;
        // Otherwise hyperfine stopped at the run it had just prepared.
        let times = timed.map_err(|e| (Some(counts.prepared), format!("the run failed: {e}")))?;
        // The last run of the invocation is checked here; the earlier ones by the prepares.
        ledger
            .check_last_run(self.bench, row.n, expect)
            .map_err(|problem| (Some(counts.prepared), problem))?;
        let counts = ledger.read().map_err(|e| (None, e))?;
        // Every run hyperfine made was prepared (and so checked) by this ledger.
        let expected = self.warmup + (round + 1) * self.runs;
        if counts.prepared != expected || counts.checked != expected {
            return Err((
                None,
                format!(
                    "hyperfine made {expected} runs so far, but {} were prepared and {} checked",
                    counts.prepared, counts.checked
                ),
            ));
        }
        Ok(times)
    }
}

/// Builds every app in release for every size, with its committed lock file, and copies the
/// binaries to `work/bin/<app>-<n>`.
fn build_apps(paths: &Paths, apps: &[App], sizes: &[usize]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for &app in apps {
        for &n in sizes {
            eprintln!("building {app} for {} migrations (release)", thousands(n));
            let manifest = paths.repo.join("benches/peers").join(app.project()).join("Cargo.toml");
            let status = Command::new(&cargo)
                .args(["build", "--release", "--locked", "--quiet"])
                .args(app.cargo_args())
                .arg("--features")
                .arg(format!("n{n}"))
                .arg("--manifest-path")
                .arg(&manifest)
                .env("CARGO_TARGET_DIR", &paths.build)
                .stdin(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run {cargo}: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "building {} failed ({status}); see cargo's output above",
                    manifest.display()
                ));
            }
            let built = paths.build.join("release").join(app.project());
            let copy = paths.binary(app, n);
            fs::copy(&built, &copy)
                .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), copy.display()))?;
        }
    }
    Ok(())
}

/// Runs `binary args` on `db` the way hyperfine does (clean environment, work folder);
/// the error holds its output.
fn run_app(paths: &Paths, binary: &Path, args: &[&str], db: &Db) -> Result<String, String> {
    let output = Command::new(binary)
        .args(args)
        .current_dir(&paths.work)
        .env_clear()
        .envs(clean_env(db))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`{} {}` failed ({}): {}",
            binary.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The databases at head the downgrade, nothing-pending and current runs start from, one per
/// app, each built by that app's upgrade and checked. An app that cannot build one is a
/// failure (its cells are then skipped).
fn build_heads(
    paths: &Paths,
    tools: &[Tool],
    bench: &Db,
    n: usize,
    failures: &mut Vec<String>,
) -> Result<Vec<(App, Db)>, String> {
    let mut heads = Vec::new();
    for app in App::ALL.into_iter().filter(|a| tools.iter().any(|t| t.app() == *a)) {
        let db = bench.sibling(&format!("head_{}_{n}", app.name().replace('-', "_")));
        eprintln!("building a database at head with {app} ({} migrations, {db})", thousands(n));
        db.reset(None)?;
        let built = app
            .upgrade_commands()
            .iter()
            .try_for_each(|args| run_app(paths, &paths.binary(app, n), args, &db).map(drop))
            .and_then(|_| db.verify(n, Expect::Head).map_err(|e| format!("the state check failed: {e}")));
        match built {
            Ok(()) => heads.push((app, db)),
            Err(e) => failures.push(format!("{app} could not build the database at head ({db}): {e}")),
        }
    }
    Ok(heads)
}

/// Asks every app that can tell how its connections are set up, and refuses settings other
/// than the defaults the benchmark is about. Returns a line for the report.
fn durability(paths: &Paths, apps: &[App], engine: Engine, bench: &Db, n: usize) -> Result<String, String> {
    let probe = bench.sibling("durability_probe");
    let mut seen = Vec::new();
    for &app in apps.iter().filter(|a| a.reports_durability()) {
        probe.reset(None)?;
        let line = run_app(paths, &paths.binary(app, n), &["durability"], &probe)?;
        let wanted: &[&str] = match engine {
            Engine::Sqlite => &["journal_mode=delete", "synchronous=2"],
            Engine::Postgres => &["fsync=on", "synchronous_commit=on"],
        };
        if let Some(missing) = wanted.iter().find(|w| !line.split(' ').any(|part| part == **w)) {
            return Err(format!("{app} connects to {} with `{line}`, not {missing}", engine.label()));
        }
        seen.push(format!("{app}: {line}"));
    }
    probe.remove()?;
    if apps.iter().any(|a| matches!(a, App::Strata | App::StrataNoSqlLint)) {
        seen.push(match engine {
            Engine::Sqlite => {
                "strata-app: rusqlite's defaults plus foreign_keys=ON (framework/src/backend/sqlite/mod.rs), \
                           the same rusqlite as raw-app"
                    .to_string()
            }
            Engine::Postgres => "strata-app: the server's settings".to_string(),
        });
    }
    Ok(format!("{} connections as each app opens them: {}", engine.label(), seen.join("; ")))
}

/// The environment of every app run: nothing but PATH and DATABASE_URL.
fn clean_env(db: &Db) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())),
        ("DATABASE_URL".into(), db.url()),
    ]
}

fn current_exe() -> Result<String, String> {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .map_err(|e| format!("cannot find the driver's own binary for hyperfine's --prepare: {e}"))
}

/// Refuses a work folder on tmpfs or ramfs (where SQLite's fsync costs nothing); returns
/// the file system's type for the report.
fn on_a_disk(dir: &Path) -> Result<String, String> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| format!("{} holds a NUL byte", dir.display()))?;
    // SAFETY: statfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(format!("cannot statfs {}: {}", dir.display(), std::io::Error::last_os_error()));
    }
    const TMPFS: i64 = 0x0102_1994;
    const RAMFS: i64 = 0x8584_58f6;
    #[allow(clippy::unnecessary_cast)] // f_type's integer type differs between targets
    let kind = stat.f_type as i64;
    if kind == TMPFS || kind == RAMFS {
        return Err(format!(
            "{} is on a memory file system, where SQLite's fsync costs nothing: set CARGO_TARGET_DIR to a \
             folder on a real disk",
            dir.display()
        ));
    }
    let name = shell_line(&format!("stat -f -c %T '{}'", dir.display().to_string().replace('\'', "'\\''")));
    Ok(if name.is_empty() { format!("file system type {kind:#x}") } else { name })
}

/// The versions the apps' lock files pin, for the report.
fn versions(paths: &Paths) -> String {
    let lock = |app: App, package: &str| -> String {
        let path = paths.repo.join("benches/peers").join(app.project()).join("Cargo.lock");
        let text = fs::read_to_string(path).unwrap_or_default();
        let marker = format!("name = \"{package}\"\nversion = \"");
        text.find(&marker)
            .and_then(|at| text[at + marker.len()..].split('"').next())
            .map_or("?".into(), str::to_string)
    };
    format!(
        "tools: strata {} (this repository), sqlx {} (its own libsqlite3-sys {}), refinery {} (rusqlite {}), \
         raw: rusqlite {} and postgres {} (strata's own drivers); release builds",
        lock(App::Strata, "strata"),
        lock(App::Sqlx, "sqlx"),
        lock(App::Sqlx, "libsqlite3-sys"),
        lock(App::Refinery, "refinery"),
        lock(App::Refinery, "rusqlite"),
        lock(App::Raw, "rusqlite"),
        lock(App::Raw, "postgres"),
    )
}

fn git_commit(repo: &Path) -> String {
    let commit = shell_line(&format!("git -C '{}' rev-parse --short HEAD 2>/dev/null", repo.display()));
    let dirty = !shell_line(&format!("git -C '{}' status --porcelain 2>/dev/null | head -1", repo.display()))
        .is_empty();
    match (commit.is_empty(), dirty) {
        (true, _) => "an unknown commit".into(),
        (false, false) => format!("commit {commit}"),
        (false, true) => format!("commit {commit} with uncommitted changes"),
    }
}

/// The first line a shell command prints (empty when it fails).
fn shell_line(script: &str) -> String {
    Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().trim().to_string())
        .unwrap_or_default()
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn minutes(since: Instant) -> String {
    let seconds = since.elapsed().as_secs();
    format!("{} min {} s", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        let quick = parse(&["--quick"]).expect("parses");
        assert_eq!(
            (
                quick.sizes.as_slice(),
                quick.rounds(Engine::Sqlite, Workload::Current),
                quick.runs(Engine::Sqlite, 100, Workload::Current)
            ),
            (&[100][..], 1, 3)
        );
        let full = parse(&[]).expect("parses");
        let (up, current) = (Workload::Upgrade, Workload::Current);
        assert_eq!(
            (
                full.sizes.as_slice(),
                full.rounds(Engine::Postgres, up),
                full.runs(Engine::Postgres, 100, up),
                full.runs(Engine::Sqlite, 1000, up)
            ),
            (&[100, 1000][..], 3, 5, 3)
        );
        let (sqlite, postgres) = (Engine::Sqlite, Engine::Postgres);
        assert_eq!(
            (
                full.rounds(sqlite, current),
                full.runs(sqlite, 100, current),
                full.runs(sqlite, 1000, Workload::Pending)
            ),
            (20, 10, 10)
        );
        assert_eq!((full.rounds(postgres, current), full.runs(postgres, 1000, current)), (10, 3));
        let given = parse(&["--quick", "--runs", "7", "--rounds", "2"]).expect("parses");
        assert_eq!((given.rounds(postgres, current), given.runs(sqlite, 100, up)), (2, 7));
        assert_eq!(full.workloads, Workload::ALL.to_vec());
        let start_up = parse(&["--workloads", "pending,current"]).expect("parses");
        assert_eq!(start_up.workloads, [Workload::Pending, Workload::Current]);
        let error = parse(&["--workloads", "nothing-pending"]).expect_err("refused");
        assert!(
            error.contains("unknown row \"nothing-pending\" (known: upgrade, downgrade, pending, current)"),
            "{error}"
        );
        assert!(notes(&start_up).iter().any(|n| n.contains("--workloads pending,current")));
        assert!(notes(&full).iter().any(|n| n.contains("upgrade and downgrade 15 at 100, 9 at 1,000 in 3 round(s); nothing pending and current: SQLite 200 at 100, 200 at 1,000 in 20 round(s), PostgreSQL 30 at 100, 30 at 1,000 in 10 round(s) (the tools")), "{:?}", notes(&full));
        assert!(notes(&full).iter().any(|n| n.contains("(2,000 resamples of both cells' runs")));
        assert!(parse(&["--size", "10"]).expect_err("refused").contains("100 or 1000"));
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--warmup", "0"]).is_ok());
        assert!(parse(&["--engine", "mysql"]).is_err());
        assert_eq!(parse(&[]).expect("parses").tools, Tool::ALL.to_vec());
        let floors = parse(&["--tools", "raw-per-statement,raw-bookkept,strata"]).expect("parses");
        assert_eq!(floors.tools, [Tool::RawPerStatement, Tool::RawBookkept, Tool::Strata]);
        let error = parse(&["--tools", "raw-bookkeeping"]).expect_err("refused");
        assert!(error.contains("unknown column \"raw-bookkeeping\""), "{error}");
        assert!(error.contains("raw-per-statement, raw-bookkept, select1, read-version"), "{error}");
        assert!(USAGE.contains("raw-bookkept"));
    }
}
