//! Build time of a migrations crate with many files, measured the way a developer meets it:
//! a real crate shaped like `app-migrations` (build script, generated module list, one file
//! per revision) built by cargo, plus the build script's chain check timed in-process.

use crate::report::{median, runs, timed, Goal, Report, Row};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The generated crate's package name (the same for every size, so dependencies are shared).
const PACKAGE: &str = "strata-bench-gen";

/// Where and how much to measure.
pub struct BuildBench {
    /// The workspace root: its `framework/` and `Cargo.lock` are used.
    pub workspace: PathBuf,
    /// `target/strata-bench`.
    pub out: PathBuf,
    pub migrations: usize,
    /// Repetitions of each cargo build measurement.
    pub build_runs: usize,
    /// Repetitions of the in-process chain check.
    pub check_runs: usize,
}

impl BuildBench {
    pub fn run(&self, report: &mut Report) -> Result<(), String> {
        let section = format!("build, {} migration files", thousands(self.migrations));
        let crate_dir = self.out.join(format!("gen-{}", self.migrations));
        // One target folder for every size: the dependencies are built once.
        let target_dir = self.out.join("gen-target");
        let head = write_crate(&self.workspace, &crate_dir, self.migrations)
            .map_err(|e| format!("cannot write the generated crate in {}: {e}", crate_dir.display()))?;
        println!("  generated {} (warming dependencies)", crate_dir.display());
        let cargo = Cargo { crate_dir: crate_dir.clone(), target_dir };
        cargo.build()?;

        let clean = self.clean_builds(&cargo)?;
        report.push(Row::alone(
            &section,
            "clean build of the migrations crate (cargo clean -p; cargo build)",
            clean,
            Goal::AtMost(Duration::from_secs(10)),
            runs(self.build_runs),
        ));
        let incremental = self.add_one_builds(&cargo, &head)?;
        report.push(Row::alone(
            &section,
            "rebuild after adding one migration file",
            incremental,
            Goal::AtMost(Duration::from_secs(2)),
            runs(self.build_runs),
        ));
        let check = chain_check(&crate_dir.join("src/versions"), self.migrations, self.check_runs)?;
        report.push(Row::alone(
            &section,
            "chain check alone (build::scan + build::check, in-process)",
            check,
            Goal::AtMost(Duration::from_millis(500)),
            runs(self.check_runs),
        ));
        Ok(())
    }

    /// Median of clean builds of the migrations crate alone (its build script included).
    fn clean_builds(&self, cargo: &Cargo) -> Result<Duration, String> {
        clean_builds(cargo, self.build_runs)
    }

    /// Median of incremental rebuilds after adding a child of the head; each run removes its
    /// file again and rebuilds (untimed) so that every run starts from the same state.
    fn add_one_builds(&self, cargo: &Cargo, head: &str) -> Result<Duration, String> {
        let versions = cargo.crate_dir.join("src/versions");
        let mut samples = Vec::new();
        for run in 0..self.build_runs {
            let revision = format!("e0000000{run:04x}");
            let path = versions.join(format!("r{revision}_add_extra.rs"));
            let text = migration_file(&revision, Some(head), self.migrations, "add one more");
            fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let (result, took) = timed(|| cargo.build());
            fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            result?;
            samples.push(took);
            cargo.build()?;
        }
        Ok(median(&samples))
    }
}

/// Median of `runs` clean builds of the migrations crate alone (its build script included).
fn clean_builds(cargo: &Cargo, runs: usize) -> Result<Duration, String> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        cargo.run(&["clean", "--offline", "--quiet", "-p", PACKAGE])?;
        let (result, took) = timed(|| cargo.build());
        result?;
        samples.push(took);
    }
    Ok(median(&samples))
}

/// Median of what the build script does before it writes anything: read and check; the
/// folder must hold `expected` files forming one sound chain.
fn chain_check(versions: &Path, expected: usize, runs: usize) -> Result<Duration, String> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let (findings, took) = timed(|| {
            strata::build::scan(versions).map(|headers| (headers.len(), strata::build::check(&headers)))
        });
        let (count, findings) = findings.map_err(|e| format!("cannot scan {}: {e}", versions.display()))?;
        if count != expected || !findings.is_empty() {
            return Err(format!("the generated chain is not sound: {count} files, findings {findings:?}"));
        }
        samples.push(took);
    }
    Ok(median(&samples))
}

/// `squash --to` the 900th of 1,000 generated migrations through the library
/// (`strata::squash`), with the clean build and the build script's chain check measured
/// before and after (the issue: a squash cuts both).
pub struct SquashBench {
    /// The workspace root.
    pub workspace: PathBuf,
    /// `target/strata-bench`.
    pub out: PathBuf,
    pub migrations: usize,
    /// How many of them the checkpoint replaces (REV is the `at`-th).
    pub at: usize,
    pub build_runs: usize,
    pub check_runs: usize,
}

impl SquashBench {
    pub fn run(&self, report: &mut Report) -> Result<(), String> {
        let section = format!("squash at {} of {}", thousands(self.at), thousands(self.migrations));
        let crate_dir = self.out.join(format!("gen-squash-{}", self.migrations));
        let versions = crate_dir.join("src/versions");
        let target_dir = self.out.join("gen-target");
        write_crate(&self.workspace, &crate_dir, self.migrations)
            .map_err(|e| format!("cannot write the generated crate in {}: {e}", crate_dir.display()))?;
        println!("  generated {} (warming dependencies)", crate_dir.display());
        let cargo = Cargo { crate_dir: crate_dir.clone(), target_dir };
        cargo.build()?;
        let clean_before = clean_builds(&cargo, self.build_runs)?;
        let check_before = chain_check(&versions, self.migrations, self.check_runs)?;

        let set = strata::MigrationSet::new(crate::generated::file_migrations(self.migrations))
            .map_err(|e| format!("the generated chain is broken: {e}"))?;
        let target = revision_id(self.at - 1);
        let request = strata::squash::Request { to: &target, message: None, database: None };
        let (squashed, took) = timed(|| -> Result<usize, String> {
            let squash =
                strata::squash::prepare(&set, &versions, &request, &mut strata::scratch::SqliteMemory)
                    .map_err(|e| e.to_string())?;
            let written = squash.write().map_err(|e| e.to_string())?;
            Ok(written.removed.len())
        });
        let removed = squashed?;
        if removed != self.at {
            return Err(format!("the squash removed {removed} files, expected {}", self.at));
        }
        report.push(Row::alone(
            &section,
            "squash --to REV (replay, checkpoint, self-check, atomic file swap)",
            took,
            Goal::AtMost(Duration::from_secs(10)),
            runs(1),
        ));
        let remaining = self.migrations - self.at + 1;
        let check_after = chain_check(&versions, remaining, self.check_runs)?;
        report.push(Row::against(
            &section,
            &format!("chain check after ({} files; before: {})", remaining, thousands(self.migrations)),
            check_after,
            ("before", check_before),
            Goal::Ratio(1.0),
            runs(self.check_runs),
        ));
        match clean_builds(&cargo, self.build_runs) {
            Ok(clean_after) => report.push(Row::against(
                &section,
                &format!("clean build after ({} files; before: {})", remaining, thousands(self.migrations)),
                clean_after,
                ("before", clean_before),
                Goal::Ratio(1.0),
                runs(self.build_runs),
            )),
            Err(e) => {
                report.push(Row::alone(
                    &section,
                    "clean build before (the build after failed: see the notes)",
                    clean_before,
                    Goal::AtMost(Duration::from_secs(10)),
                    runs(self.build_runs),
                ));
                report.note(format!(
                    "the squashed crate did not build (before the DAG core, `migration!` has no `replaces:` \
                     field): {}",
                    e.lines().find(|l| l.contains("error")).unwrap_or(&e)
                ));
            }
        }
        Ok(())
    }
}

/// `cargo` (the one running this bench, via `CARGO`) on the generated crate.
struct Cargo {
    crate_dir: PathBuf,
    target_dir: PathBuf,
}

impl Cargo {
    fn build(&self) -> Result<(), String> {
        self.run(&["build", "--offline", "--quiet"])
    }

    fn run(&self, args: &[&str]) -> Result<(), String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(&cargo)
            .args(args)
            .current_dir(&self.crate_dir)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .output()
            .map_err(|e| format!("cannot run {cargo}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`cargo {}` failed in {}:\n{}",
                args.join(" "),
                self.crate_dir.display(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }
}

/// Writes (or rewrites) the crate with `count` migrations; returns the head revision.
fn write_crate(workspace: &Path, dir: &Path, count: usize) -> io::Result<String> {
    let versions = dir.join("src/versions");
    if versions.exists() {
        fs::remove_dir_all(&versions)?;
    }
    fs::create_dir_all(&versions)?;
    let framework = workspace.join("framework");
    let strata = format!("{{ path = {:?}, default-features = false }}", framework.display().to_string());
    let manifest = format!(
        "# @generated by strata's benchmark (benches/migrations/build_time.rs)\n\
         [package]\nname = \"{PACKAGE}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\nbuild = \"build.rs\"\n\n\
         [workspace]\n\n[dependencies]\nstrata = {strata}\n\n[build-dependencies]\nstrata = {strata}\n\n\
         # As recommended for a migrations crate (docs/adopting.md): no debug info for declarative\n\
         # modules; the default codegen units.\n\
         [profile.dev.package.{PACKAGE}]\ndebug = 0\n"
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(
        &dir.join("build.rs"),
        "//! Checks the chain of `src/versions/` and generates `migrations()`, as users do.\n\
         fn main() {\n    strata::build::migrations(\"src/versions\");\n}\n",
    )?;
    write_if_changed(
        &dir.join("src/lib.rs"),
        "//! Generated migrations: one module per revision in `src/versions/`.\n\n\
         strata::include_migrations!();\n",
    )?;
    // Same dependency versions as the workspace, and nothing to download.
    if !dir.join("Cargo.lock").exists() {
        fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    }
    let mut parent: Option<String> = None;
    for index in 0..count {
        let revision = revision_id(index);
        let (slug, message) = if index.is_multiple_of(2) {
            (format!("create_t_{}", index / 2), format!("create t_{}", index / 2))
        } else {
            (format!("add_note_to_t_{}", index / 2), format!("add t_{}.note", index / 2))
        };
        let text = migration_file(&revision, parent.as_deref(), index, &message);
        fs::write(versions.join(format!("r{revision}_{slug}.rs")), text)?;
        parent = Some(revision);
    }
    Ok(parent.unwrap_or_default())
}

/// Unchanged files keep their modification time, so a rerun does not rebuild for nothing.
fn write_if_changed(path: &Path, text: &str) -> io::Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)
}

/// One migration file as a person would write it: an even index creates `t_<index/2>`, an
/// odd one adds a column to it.
fn migration_file(revision: &str, parent: Option<&str>, index: usize, message: &str) -> String {
    let table = format!("t_{}", index / 2);
    let parent = parent.map_or("None".to_string(), |p| format!("Some({p:?})"));
    let (upgrade, downgrade) = if index.is_multiple_of(2) {
        (
            format!(
                "op.create_table(\n            Table::new({table:?})\n                \
                 .column(Column::new(\"id\", Type::BigInt).autoincrement())\n                \
                 .column(Column::new(\"name\", Type::String(100))),\n        );"
            ),
            format!("op.drop_table({table:?});"),
        )
    } else {
        (
            format!("op.add_column({table:?}, Column::new(\"note\", Type::Text).nullable());"),
            format!("op.drop_column({table:?}, \"note\");"),
        )
    };
    format!(
        "//! Generated by strata's benchmark.\nuse strata::prelude::*;\n\nmigration! {{\n    \
         revision: {revision:?},\n    parent: {parent},\n    message: {message:?},\n    \
         created: {:?},\n    upgrade: |op| {{\n        {upgrade}\n    }},\n    \
         downgrade: |op| {{\n        {downgrade}\n    }},\n}}\n",
        created_at(index)
    )
}

/// A 12-hex-digit revision id that looks random (so files do not sort in chain order, as
/// with real ids) but is the same on every run.
pub fn revision_id(index: usize) -> String {
    // splitmix64: a bijection, so distinct indexes give distinct 64-bit values; 48 bits of
    // them stay distinct for any realistic count (checked by the chain check anyway).
    let mut z = (index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{:012x}", z & 0xFFFF_FFFF_FFFF)
}

/// Creation times one minute apart, starting 2026-01-01.
fn created_at(index: usize) -> String {
    let (day, minute) = (index / 1440, index % 1440);
    format!("2026-01-{:02}T{:02}:{:02}:00Z", 1 + day % 28, minute / 60, minute % 60)
}

/// `1000` → `1,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
