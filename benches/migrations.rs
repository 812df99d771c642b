//! strata's benchmark: the runtime cost of the runner against the bare drivers on 1,000
//! migrations (SQLite and PostgreSQL), and the build time of a 1,000-file migrations crate.
//!
//! ```text
//! cargo bench --bench migrations                     # everything, full repetitions
//! cargo bench --bench migrations -- --quick          # 200 migrations, one run each
//! cargo bench --bench migrations -- --calibrate      # raw against raw: the method's own bias
//! cargo bench --bench migrations -- --only sqlite    # or postgres, rewrite, build, plan, lint or squash
//! ```
//!
//! It prints a table of absolute times, ratios and targets, and writes the same table as
//! markdown to `target/strata-bench/report.md`. Numbers are medians; each row says of how
//! many runs.

#[path = "migrations/build_time.rs"]
mod build_time;
#[path = "migrations/generated.rs"]
mod generated;
#[path = "migrations/linting.rs"]
mod linting;
#[path = "migrations/planning.rs"]
mod planning;
#[path = "migrations/profile.rs"]
mod profile;
#[path = "migrations/report.rs"]
mod report;
#[path = "migrations/rewrite.rs"]
mod rewrite;
#[path = "migrations/runtime.rs"]
mod runtime;

use report::Report;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: cargo bench --bench migrations [-- [--quick] [--calibrate] [--only sqlite|postgres|rewrite|build|plan|lint|squash]]";

/// What the command line asked for.
struct Options {
    quick: bool,
    /// Raw in strata's place in the interleaved runs (see `RuntimeBench::calibrate`).
    calibrate: bool,
    only: Option<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    Sqlite,
    Postgres,
    Build,
    Plan,
    /// The lint over 1,000 migrations.
    Lint,
    /// `squash --to` the 900th of 1,000 migrations: clean build and chain check before and after.
    Squash,
    /// The example history on PostgreSQL, lock-safe rewriting on vs off (also part of `postgres`).
    Rewrite,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options { quick: false, calibrate: false, only: None };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let only = match arg.as_str() {
                "--quick" => {
                    options.quick = true;
                    continue;
                }
                "--calibrate" => {
                    options.calibrate = true;
                    continue;
                }
                // cargo bench passes --bench to every bench binary.
                "--bench" => continue,
                "--only" => args
                    .next()
                    .ok_or("--only needs sqlite, postgres, rewrite, build, plan, lint or squash")?,
                other => match other.strip_prefix("--only=") {
                    Some(value) => value.to_string(),
                    None => return Err(format!("unknown argument {other:?}")),
                },
            };
            options.only = Some(match only.as_str() {
                "sqlite" => Section::Sqlite,
                "postgres" => Section::Postgres,
                "build" => Section::Build,
                "plan" => Section::Plan,
                "lint" => Section::Lint,
                "squash" => Section::Squash,
                "rewrite" => Section::Rewrite,
                other => {
                    return Err(format!(
                        "--only {other:?}: expected sqlite, postgres, rewrite, build, plan, lint or squash"
                    ))
                }
            });
        }
        Ok(options)
    }

    fn wants(&self, section: Section) -> bool {
        self.only.is_none_or(|only| only == section)
    }

    /// Migrations in the runtime measurements.
    fn migrations(&self) -> usize {
        if self.quick {
            200
        } else {
            generated::MAX
        }
    }
}

/// The workspace root (this package's manifest folder).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/strata-bench`, under CARGO_TARGET_DIR when that is set.
fn output_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    workspace().join(target).join("strata-bench")
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut report = Report::default();
    let mut context = vec![
        format!("mode: {}", if options.quick { "quick (--quick)" } else { "full" }),
        format!("machine: {} CPU(s) available, load average at start {}", cpus(), load_average()),
        "runtime ratios are the median of per-run strata/raw ratios; times are medians. Upgrade and \
         downgrade: strata and raw take turns every 50 migrations within a run, with a sync at each turn. \
         Grouped: whole runs, alternating which goes first"
            .into(),
    ];
    let failed = run(&options, &mut report, &mut context);
    context.push(format!("load average at end {}", load_average()));
    println!("\n{}", report.table());
    let path = output_dir().join("report.md");
    let written =
        std::fs::create_dir_all(output_dir()).and_then(|()| std::fs::write(&path, report.markdown(&context)));
    match written {
        Ok(()) => println!("report written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs the sections asked for; a section that cannot run is reported and the rest go on.
/// Returns whether any section failed.
fn run(options: &Options, report: &mut Report, context: &mut Vec<String>) -> bool {
    let mut failed = false;
    let mut fail = |report: &mut Report, section: &str, error: String| {
        eprintln!("{section} failed: {error}");
        report.note(format!("{section} could not be measured: {error}"));
        failed = true;
    };
    if options.wants(Section::Sqlite) || options.wants(Section::Postgres) {
        let (set, took) =
            report::timed(|| strata::MigrationSet::new(generated::migrations(options.migrations())));
        let set = match set {
            Ok(set) => set,
            Err(e) => {
                fail(report, "runtime", format!("the generated chain is broken: {e}"));
                return true;
            }
        };
        report.note(format!(
            "MigrationSet::new on {} migrations (the chain check a binary does once per process): {}",
            set.migrations().len(),
            report::human(took)
        ));
        let bench = runtime::RuntimeBench {
            set: &set,
            runs: if options.quick { 1 } else { 5 },
            startup_runs: if options.quick { 50 } else { 200 },
            calibrate: options.calibrate,
        };
        if options.wants(Section::Sqlite) {
            println!("SQLite (file database, default pragmas)");
            let result = runtime::Engine::sqlite().and_then(|mut e| bench.run(&mut e, report, context));
            if let Err(e) = result {
                fail(report, "SQLite", e);
            }
        }
        if options.wants(Section::Postgres) {
            println!("PostgreSQL (throwaway database from strata::testkit)");
            if let Err(e) = bench.run(&mut runtime::Engine::Postgres, report, context) {
                fail(report, "PostgreSQL", e);
            }
        }
    }
    if options.wants(Section::Postgres) || options.wants(Section::Rewrite) {
        println!("PostgreSQL, lock-safe rewriting on vs off (the example history)");
        if let Err(e) = rewrite::run(report, if options.quick { 3 } else { 9 }) {
            fail(report, "rewriting", e);
        }
    }
    if options.only.is_none() || options.wants(Section::Plan) {
        println!("Planning (in process, no database)");
        if let Err(e) = planning::run(report, if options.quick { 5 } else { 50 }) {
            fail(report, "planning", e);
        }
    }
    if options.only.is_none() || options.wants(Section::Lint) {
        println!("Lint (in process, no database)");
        if let Err(e) = linting::run(report, if options.quick { 5 } else { 50 }) {
            fail(report, "lint", e);
        }
    }
    if options.wants(Section::Build) {
        println!("Build time (cargo build of a generated migrations crate)");
        let bench = build_time::BuildBench {
            workspace: workspace(),
            out: output_dir(),
            migrations: generated::MAX,
            build_runs: if options.quick { 1 } else { 5 },
            check_runs: if options.quick { 5 } else { 20 },
        };
        if let Err(e) = bench.run(report) {
            fail(report, "build", e);
        }
    }
    if options.wants(Section::Squash) {
        println!("Squash (strata::squash at 900 of 1,000 generated migration files)");
        let bench = build_time::SquashBench {
            workspace: workspace(),
            out: output_dir(),
            migrations: generated::MAX,
            at: 900,
            build_runs: if options.quick { 1 } else { 5 },
            check_runs: if options.quick { 5 } else { 20 },
        };
        if let Err(e) = bench.run(report) {
            fail(report, "squash", e);
        }
    }
    failed
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The 1-minute load average (Linux), to judge how noisy the numbers are.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}
