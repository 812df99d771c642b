//! `peer-bench prepare`: what hyperfine runs before every run of a tool (its `--prepare`
//! command, untimed). It first checks the state the previous run left, then makes the fresh
//! database the next run starts from.
//!
//! A ledger file per measured cell counts the runs prepared and the runs checked, so every
//! run is checked exactly once: by the next run's prepare, or (the last run of a hyperfine
//! invocation) by the driver right after hyperfine returns. A failed check is written beside
//! the ledger (`<ledger>.failed`) and ends hyperfine (the prepare exits 1); the driver then
//! names the tool and the run and refuses to print the table.

use crate::db::Db;
use crate::tools::Expect;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The runs prepared and checked for one measured cell.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
}

/// What a ledger records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Runs whose database has been made (the last one may not have run yet).
    pub prepared: u32,
    /// Runs whose end state has been checked.
    pub checked: u32,
}

impl Ledger {
    pub fn new(path: impl Into<PathBuf>) -> Ledger {
        Ledger { path: path.into() }
    }

    /// A new, empty ledger (any earlier one and its failure record are removed).
    pub fn create(path: impl Into<PathBuf>) -> Result<Ledger, String> {
        let ledger = Ledger::new(path);
        ledger.write(Counts::default())?;
        match fs::remove_file(ledger.failure_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("cannot remove {}: {e}", ledger.failure_path().display()))
            }
            _ => Ok(ledger),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failure_path(&self) -> PathBuf {
        PathBuf::from(format!("{}.failed", self.path.display()))
    }

    pub fn read(&self) -> Result<Counts, String> {
        let text = fs::read_to_string(&self.path)
            .map_err(|e| format!("cannot read the ledger {}: {e}", self.path.display()))?;
        let mut counts = Counts::default();
        for line in text.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            let value: u32 = value
                .parse()
                .map_err(|_| format!("the ledger {} is corrupt: {line:?}", self.path.display()))?;
            match key {
                "prepared" => counts.prepared = value,
                "checked" => counts.checked = value,
                _ => return Err(format!("the ledger {} is corrupt: {line:?}", self.path.display())),
            }
        }
        Ok(counts)
    }

    fn write(&self, counts: Counts) -> Result<(), String> {
        fs::write(&self.path, format!("prepared {}\nchecked {}\n", counts.prepared, counts.checked))
            .map_err(|e| format!("cannot write the ledger {}: {e}", self.path.display()))
    }

    /// The failure recorded by a prepare, if any: `(run, problem)`.
    pub fn failure(&self) -> Option<(u32, String)> {
        let text = fs::read_to_string(self.failure_path()).ok()?;
        let (run, problem) = text.split_once('\n').unwrap_or((&text, ""));
        Some((run.trim().parse().unwrap_or(0), problem.trim_end().to_string()))
    }

    /// Records a failure of `run` (the run checked, or the one being prepared).
    fn fail(&self, run: u32, problem: &str) -> String {
        if let Err(e) = fs::write(self.failure_path(), format!("{run}\n{problem}\n")) {
            eprintln!("peer-bench prepare: cannot write {}: {e}", self.failure_path().display());
        }
        problem.to_string()
    }

    /// Checks the state the last prepared run left in `db`, unless it was checked already.
    /// A failure is recorded (see [`Ledger::failure`]) and returned.
    pub fn check_last_run(&self, db: &Db, n: usize, expect: Expect) -> Result<(), String> {
        let counts = self.read()?;
        if counts.prepared == counts.checked {
            return Ok(());
        }
        let run = counts.prepared;
        db.verify(n, expect)
            .map_err(|problem| self.fail(run, &format!("the state check after the run failed: {problem}")))?;
        self.write(Counts { checked: run, ..counts })
    }

    /// Checks the previous run, then makes `db` fresh (a copy of `from`, or empty) for the
    /// next one and counts it.
    pub fn prepare(&self, db: &Db, from: Option<&Db>, n: usize, expect: Expect) -> Result<(), String> {
        self.check_last_run(db, n, expect)?;
        let counts = self.read()?;
        let run = counts.prepared + 1;
        db.reset(from).map_err(|e| self.fail(run, &format!("preparing the database failed: {e}")))?;
        self.write(Counts { prepared: run, ..counts })?;
        // Nothing written before the run is left for the kernel to write back during it.
        // SAFETY: sync has no preconditions.
        unsafe { libc::sync() };
        Ok(())
    }
}

/// The arguments of `peer-bench prepare`, as [`command`] writes them.
struct Args {
    ledger: PathBuf,
    db: Db,
    from: Option<Db>,
    n: usize,
    expect: Expect,
}

/// The `prepare` command line for hyperfine: its words after the driver's path.
pub fn command(ledger: &Ledger, db: &Db, from: Option<&Db>, n: usize, expect: Expect) -> Vec<String> {
    let mut words = vec![
        "prepare".to_string(),
        "--ledger".into(),
        ledger.path().display().to_string(),
        "--db".into(),
        db.url(),
        "--n".into(),
        n.to_string(),
        "--expect".into(),
        expect.as_str().into(),
    ];
    if let Some(from) = from {
        words.extend(["--from".to_string(), from.url()]);
    }
    words
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (mut ledger, mut db, mut from, mut n, mut expect) = (None, None, None, None, None);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--ledger" => ledger = Some(PathBuf::from(value)),
            "--db" => db = Some(Db::parse(value)?),
            "--from" => from = Some(Db::parse(value)?),
            "--n" => n = Some(value.parse().map_err(|_| format!("--n {value:?}: expected a number"))?),
            "--expect" => expect = Some(Expect::parse(value)?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        ledger: ledger.ok_or("--ledger is missing")?,
        db: db.ok_or("--db is missing")?,
        from,
        n: n.ok_or("--n is missing")?,
        expect: expect.ok_or("--expect is missing")?,
    })
}

/// `peer-bench prepare ...` (internal: hyperfine runs it).
pub fn main(args: &[String]) -> ExitCode {
    let args = match parse(args) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("peer-bench prepare: {e} (this command is run by hyperfine for the benchmark)");
            return ExitCode::from(2);
        }
    };
    match Ledger::new(&args.ledger).prepare(&args.db, args.from.as_ref(), args.n, args.expect) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peer-bench prepare: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_is_checked_once_and_a_bad_one_is_named() {
        let dir = std::env::temp_dir().join(format!("peer-bench-ledger-{}", std::process::id()));
        fs::remove_dir_all(&dir).ok();
        fs::create_dir_all(&dir).expect("create a scratch folder");
        let db = Db::Sqlite { path: dir.join("bench.db") };
        let ledger = Ledger::create(dir.join("cell.ledger")).expect("create a ledger");
        // Run 1: nothing to check yet; the "tool" leaves the database at base, as expected.
        ledger.prepare(&db, None, 4, Expect::Base).expect("prepare run 1");
        // Run 2's prepare checks run 1.
        ledger.prepare(&db, None, 4, Expect::Base).expect("prepare run 2");
        assert_eq!(ledger.read().expect("read"), Counts { prepared: 2, checked: 1 });
        // Run 2 misbehaves: it creates a table at base.
        rusqlite::Connection::open(dir.join("bench.db"))
            .and_then(|c| c.execute_batch("CREATE TABLE t_1 (id INTEGER PRIMARY KEY)"))
            .expect("misbehave");
        let error = ledger.prepare(&db, None, 4, Expect::Base).expect_err("run 2 is caught");
        assert!(error.contains("found 1 and 0; unexpected: t_1"), "{error}");
        let (run, problem) = ledger.failure().expect("the failure is recorded");
        assert_eq!((run, problem.as_str()), (2, error.as_str()));
        // The driver's own check after hyperfine sees nothing new to check.
        ledger.check_last_run(&db, 4, Expect::Base).expect_err("run 2 is still unchecked and still bad");
        fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_command_parses_back() {
        let ledger = Ledger::new("/w/l");
        let db = Db::parse("sqlite:///w/bench.db").expect("url");
        let from = db.sibling("template");
        let words = command(&ledger, &db, Some(&from), 100, Expect::Head);
        let args = parse(&words[1..]).expect("parses");
        assert_eq!(
            (args.ledger, args.db, args.from, args.n, args.expect),
            (PathBuf::from("/w/l"), db, Some(from), 100, Expect::Head)
        );
    }
}
