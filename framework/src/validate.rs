//! `validate`: a status (success, warning, error) with the problems found in the code, the
//! database and the environment, each a sentence that says what to do.

use crate::backend::{Backend, DatabaseUrl, Direction, HistoryRow};
use crate::checksum::Verdict;
use crate::config::Environment;
use crate::error::{plain, with_remedy, Remedy, Wording};
use crate::lint::LintOptions;
use crate::locks::PgMajor;
use crate::migration::{MigrationSet, RegistryError};
use crate::policy;
use std::fmt;

/// The overall outcome; errors outrank warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to report.
    Success,
    /// Warnings only (pending migrations, empty downgrades): fine unless `--strict`.
    Warning,
    /// At least one error: the run would be refused or unsafe.
    Error,
}

/// What `validate` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Validation {
    /// The overall outcome.
    pub status: Status,
    /// Problems that fail validation, one sentence each.
    pub errors: Vec<String>,
    /// Things worth knowing that do not fail it.
    pub warnings: Vec<String>,
    /// The lint's findings in the pending migrations (every severity, acknowledged ones
    /// marked), judged for the server's PostgreSQL major version (the oldest supported on
    /// SQLite or when it cannot be read). The unacknowledged errors among them are also in
    /// `errors` in production on PostgreSQL, and in `warnings` elsewhere.
    pub findings: Vec<crate::lint::Finding>,
    /// How many of `errors` are unacknowledged lint errors (the rest are other problems).
    #[serde(skip)]
    pub(crate) lint_errors: usize,
}

impl Validation {
    fn new(errors: Vec<String>, warnings: Vec<String>) -> Self {
        Self::with_findings(errors, warnings, Vec::new(), 0)
    }

    fn with_findings(
        errors: Vec<String>,
        warnings: Vec<String>,
        findings: Vec<crate::lint::Finding>,
        lint_errors: usize,
    ) -> Self {
        let status = if !errors.is_empty() {
            Status::Error
        } else if !warnings.is_empty() {
            Status::Warning
        } else {
            Status::Success
        };
        Validation { status, errors, warnings, findings, lint_errors }
    }

    /// Whether an error other than an unacknowledged lint error was found.
    pub(crate) fn has_other_errors(&self) -> bool {
        self.errors.len() > self.lint_errors
    }
    /// Whether validation failed (an error was found).
    pub fn is_error(&self) -> bool {
        self.status == Status::Error
    }

    /// The exit code of `validate`: 1 on an error, or with `strict` on a warning; else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        match self.status {
            Status::Error => crate::error::ErrorKind::Validation.exit_code(),
            Status::Warning if strict => crate::error::ErrorKind::Validation.exit_code(),
            _ => 0,
        }
    }
}

/// Validates the code (`set`), the environment and the database (`db`, or why there is no
/// connection), linting the pending migrations with [`LintOptions::for_version`] and the
/// environment's default for lock-safe rewriting ([`Environment::rewrites_by_default`]).
pub fn validate(
    set: Result<&MigrationSet, &RegistryError>,
    env: Environment,
    url: &DatabaseUrl,
    db: Result<&mut dyn Backend, String>,
) -> Validation {
    // Without settings, the environment's defaults: lock-safe rewriting in staging and prod
    // (the lint does not report what the rewrite will fix).
    let rewriting = env.rewrites_by_default();
    validate_with_lint(set, env, url, db, &|major| LintOptions::for_version(major).rewriting(rewriting))
}

/// [`validate`], linting the pending migrations with the options `lint_options` gives for the
/// server's PostgreSQL major version (what [`crate::MigrationManager`] enforces with).
pub fn validate_with_lint(
    set: Result<&MigrationSet, &RegistryError>,
    env: Environment,
    url: &DatabaseUrl,
    db: Result<&mut dyn Backend, String>,
    lint_options: &dyn Fn(PgMajor) -> LintOptions,
) -> Validation {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let set = match set {
        Ok(set) => set,
        Err(e) => {
            errors.push(format!("migrations: {e}"));
            return Validation::new(errors, warnings);
        }
    };
    // A merge revision joins branches and usually does nothing else: its empty bodies are
    // how it is written, and reverting it is as safe as applying it.
    for m in set.migrations() {
        let (upgrade, acknowledgements) = m.upgrade_plan().into_parts();
        errors.extend(
            crate::lint::check_acknowledgements(m.revision, &acknowledgements)
                .iter()
                .map(ToString::to_string),
        );
        let mut downgrade = crate::ops::Ops::new();
        (m.downgrade)(&mut downgrade);
        errors.extend(
            crate::lint::check_downgrade_acknowledgements(m.revision, &downgrade.into_parts().1)
                .iter()
                .map(ToString::to_string),
        );
        if m.parents.len() >= 2 {
            continue;
        }
        if m.downgrade_ops().is_empty() {
            warnings.push(format!(
                "{} ({}) has an empty downgrade: it cannot be rolled back",
                m.revision, m.message
            ));
        }
        if upgrade.is_empty() {
            warnings.push(format!("{} ({}) has an empty upgrade", m.revision, m.message));
        }
    }
    if env == Environment::Dev && is_remote_postgres(url) {
        warnings.push(format!(
            "the dev environment points at a remote PostgreSQL database ({url}): is ENV right?"
        ));
    }
    let db = match db {
        Ok(db) => db,
        Err(e) => {
            errors.push(format!("database: {e}"));
            return Validation::new(errors, warnings);
        }
    };
    let mut findings = Vec::new();
    let mut lint_errors = 0;
    let current = match db.current_revision() {
        Ok(current) => current,
        // Between the steps of a rewritten migration: the next upgrade resumes it.
        Err(ref e @ crate::backend::BackendError::InProgress { ref version, .. }) => {
            warnings.push(format!("database: {e}"));
            version.clone()
        }
        Err(e) => {
            errors.push(format!("database: {e}"));
            return Validation::new(errors, warnings);
        }
    };
    match set.state_at(current.as_deref()) {
        Err(crate::graph::TargetError::UnknownCurrent(rev)) => errors.push(unknown_revision(db, &rev)),
        Err(e) => errors.push(format!("database: {e}")),
        Ok(state) => {
            let graph = set.graph();
            // The one planner's answer, as `upgrade` would run them.
            let pending: Vec<&'static crate::Migration> =
                crate::plan::plan(graph, &state, &crate::graph::Target::Head)
                    .map(|plan| plan.steps.iter().filter_map(|s| set.get(s.revision)).collect())
                    .unwrap_or_default();
            if !pending.is_empty() {
                let revs: Vec<&str> = pending.iter().map(|m| m.revision).collect();
                warnings.push(format!("{} pending migration(s): {}", pending.len(), revs.join(", ")));
            }
            let applied: Vec<&'static crate::Migration> =
                graph.applied_in(&state).into_iter().filter_map(|r| set.get(r)).collect();
            errors.extend(drift(&applied, db));
            if !pending.is_empty() {
                let (found, notes) = lint_pending(db, &applied, &pending, lint_options);
                warnings.extend(notes);
                // Production refuses an unacknowledged error on PostgreSQL, where the lock
                // rules hold; SQLite takes its one lock whatever the op, so there they warn.
                let refused = env == Environment::Prod && db.kind() == crate::ops::DialectKind::Postgres;
                for f in found.iter().filter(|f| f.blocks()) {
                    let text = format!(
                        "pending {}: lint {f} Or acknowledge it: {}",
                        f.revision,
                        f.how_to_acknowledge()
                    );
                    if refused {
                        errors.push(text);
                        lint_errors += 1;
                    } else {
                        warnings.push(text);
                    }
                }
                warnings.extend(unused_acknowledgements(&pending, &found));
                findings = found;
            }
            if env == Environment::Prod {
                for risk in policy::risks(&pending) {
                    warnings.push(format!(
                        "pending {} ({}) will not auto-apply at start-up in production: {} {}; apply it with an explicit upgrade",
                        risk.revision, risk.message, risk.op, risk.reason
                    ));
                }
            }
        }
    }
    Validation::with_findings(errors, warnings, findings, lint_errors)
}

/// Acknowledgements of pending migrations that no finding of theirs needs: an `op.allow` left
/// behind after the op was made safe, or a code written for another rule. Cheap to drop
/// before the migration is applied (afterwards that would be drift).
fn unused_acknowledgements(
    pending: &[&'static crate::Migration],
    findings: &[crate::lint::Finding],
) -> Vec<String> {
    let mut out = Vec::new();
    for m in pending {
        for a in m.acknowledgements() {
            let Some(rule) = crate::lint::rules::ALL.iter().find(|r| r.code == a.code) else { continue };
            if !findings.iter().any(|f| f.revision == m.revision && f.code == a.code) {
                out.push(format!(
                    "pending {} acknowledges {} ({}), but the lint finds nothing of that rule in its upgrade: drop the op.allow before it is applied, or check the code",
                    m.revision, a.code, rule.name
                ));
            }
        }
    }
    out
}

/// The PostgreSQL major version the server runs, for the lint (one round trip, so asked only
/// when something is pending): the oldest supported on SQLite or when it cannot be read, the
/// nearest supported (with a note saying so) when the server's is not supported.
pub(crate) fn server_major(db: &mut dyn Backend) -> (PgMajor, Option<String>) {
    match db.server_version_num() {
        Ok(Some(num)) => match PgMajor::from_server_version_num(num) {
            Ok(major) => (major, None),
            Err(e) => {
                let major =
                    if num / 10_000 > PgMajor::NEWEST.get() { PgMajor::NEWEST } else { PgMajor::OLDEST };
                (major, Some(format!("lint: {e}; the pending migrations are checked against {major}")))
            }
        },
        _ => (PgMajor::OLDEST, None),
    }
}

/// The lint's findings in the pending migrations (with acknowledgements marked), judged for
/// the server's major version, on the schema the applied migrations leave; and notes about
/// the version judged by.
fn lint_pending(
    db: &mut dyn Backend,
    applied: &[&'static crate::Migration],
    pending: &[&'static crate::Migration],
    lint_options: &dyn Fn(PgMajor) -> LintOptions,
) -> (Vec<crate::lint::Finding>, Vec<String>) {
    let (major, note) = server_major(db);
    let known = crate::locks::Known::after(applied.iter().copied());
    (crate::lint::lint_migrations(pending, known, &lint_options(major)), note.into_iter().collect())
}

/// Applied migrations whose operations changed since they ran, or whose recorded checksum
/// cannot vouch for them; a history that cannot be read is an error too.
fn drift(applied: &[&'static crate::Migration], db: &mut dyn Backend) -> Vec<String> {
    match db.history() {
        Ok(log) => find_drift(applied, &log).iter().map(ToString::to_string).collect(),
        Err(e) => {
            vec![format!("database: the history table cannot be read, so drift cannot be checked: {e}")]
        }
    }
}

/// An applied migration that the history cannot vouch for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Drift {
    /// The migration.
    pub revision: &'static str,
    /// Its message.
    pub message: &'static str,
    /// When the row that recorded its checksum was written.
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    /// How its recorded checksum disagrees.
    pub verdict: Verdict,
}

impl Drift {
    /// What gets past it: [`Remedy::Accept`] after a review, or restoring the migration.
    pub fn remedy(&self) -> Remedy {
        Remedy::Accept(vec![self.revision.to_string()])
    }

    /// The message with its remedy worded by `word` (`None`: without the remedy).
    pub fn render(&self, word: Option<Wording>) -> String {
        let (rev, at) = (self.revision, self.recorded_at.format("%Y-%m-%d %H:%M:%S UTC"));
        let what = match &self.verdict {
            Verdict::Changed => format!("changed since it was applied at {at}: its operations differ from what ran"),
            Verdict::Missing => format!(
                "has no checksum in its history row of {at} (strata always records one: the row was edited or \
                 written by another tool), so nothing proves it is what ran"
            ),
            Verdict::Malformed(text) => format!(
                "has a malformed checksum {text:?} in its history row of {at} (expected <version>:<64 hex \
                 digits>: the row was edited), so nothing proves it is what ran"
            ),
            Verdict::Unchanged | Verdict::UnknownAlgorithm(_) => "is unchanged".to_string(),
        };
        with_remedy(format!("{rev} ({}) {what}", self.message), ". ", &self.remedy(), word)
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Some(&plain as Wording)))
    }
}

/// The applied migrations whose latest checksum row (upgrade, stamp or accept) does not vouch
/// for the compiled plan. Pure: the history is read by the caller. A checksum of an algorithm
/// this strata does not know is not judged (a newer strata wrote it).
pub fn find_drift(applied: &[&'static crate::Migration], history: &[HistoryRow]) -> Vec<Drift> {
    // The last row that recorded each revision's plan, in one pass over the history (a search
    // per migration made the check cost migrations × history rows).
    let mut recorded: std::collections::HashMap<&str, &HistoryRow> = std::collections::HashMap::new();
    for row in history {
        if matches!(row.direction, Direction::Up | Direction::Accept | Direction::Stamp) {
            recorded.insert(&row.revision, row);
        }
    }
    applied
        .iter()
        .filter_map(|m| {
            let row = *recorded.get(m.revision)?;
            let verdict = crate::checksum::verify(row.checksum.as_deref(), m);
            (!matches!(verdict, Verdict::Unchanged | Verdict::UnknownAlgorithm(_))).then_some(Drift {
                revision: m.revision,
                message: m.message,
                recorded_at: row.applied_at,
                verdict,
            })
        })
        .collect()
}

/// The message for a database revision the code does not know, with what the history says
/// about it (a binary rolled back after an upgrade, or a branch deployed then abandoned).
fn unknown_revision(db: &mut dyn Backend, revision: &str) -> String {
    let last = db.history().ok().and_then(|rows| {
        rows.into_iter().rev().find(|r| r.revision == revision && r.direction != Direction::Down)
    });
    let detail = match last {
        Some(row) => format!(
            " It was applied at {} ({}).",
            row.applied_at.format("%Y-%m-%d %H:%M:%S UTC"),
            row.message
        ),
        None => String::new(),
    };
    format!(
        "the database is at revision {revision}, which this code does not know: the database is ahead of this \
         build or on an abandoned branch.{detail} Deploy the code that contains it, or downgrade with that code."
    )
}

/// A PostgreSQL URL whose host is neither local nor a socket directory.
fn is_remote_postgres(url: &DatabaseUrl) -> bool {
    let DatabaseUrl::Postgres { url } = url else { return false };
    let Some(parts) = crate::backend::url::PostgresUrl::split(url) else { return false };
    let host = parts.host();
    !(host.is_empty() || host.starts_with('%') || matches!(host, "localhost" | "127.0.0.1" | "::1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Column, Ops, Table};
    use crate::types::Type;

    fn create_a(op: &mut Ops) {
        op.create_table(Table::new("a").column(Column::new("id", Type::Integer).primary_key()));
    }

    fn drop_a(op: &mut Ops) {
        op.drop_table("a");
    }

    fn row(id: i64, direction: Direction, checksum: &str) -> HistoryRow {
        HistoryRow {
            id,
            revision: "a1".into(),
            message: "create a".into(),
            direction,
            applied_at: chrono::DateTime::from_timestamp(1_700_000_000 + id, 0).unwrap_or_default(),
            duration_ms: 1.0,
            checksum: Some(checksum.into()),
            acknowledged: None,
        }
    }

    #[test]
    fn drift_is_judged_by_the_last_row_that_recorded_the_plan() {
        let m: &'static crate::Migration = Box::leak(Box::new(crate::Migration {
            revision: "a1",
            parents: &[],
            message: "create a",
            created: "2026-01-01T00:00:00Z",
            upgrade: create_a,
            downgrade: drop_a,
            file: "src/versions/ra1_create_a.rs",
            transactional: true,
            replaces: &[],
        }));
        let good = crate::checksum::of(m);
        let stale = format!("1:{}", "0".repeat(64));
        let drift =
            |rows: &[HistoryRow]| find_drift(&[m], rows).into_iter().map(|d| d.verdict).collect::<Vec<_>>();
        // An accepted plan vouches for it after a stale upgrade row; a later downgrade row
        // (with whatever checksum) does not count; a later stale upgrade row is drift again.
        assert_eq!(drift(&[row(1, Direction::Up, &stale), row(2, Direction::Accept, &good)]), []);
        assert_eq!(drift(&[row(1, Direction::Up, &good), row(2, Direction::Down, &stale)]), []);
        assert_eq!(
            drift(&[row(1, Direction::Up, &good), row(2, Direction::Stamp, &stale)]),
            [Verdict::Changed]
        );
        assert_eq!(drift(&[row(1, Direction::Down, &stale)]), [], "no row recorded its plan");
    }

    #[test]
    fn remote_hosts() {
        let remote = |u: &str| is_remote_postgres(&u.parse().unwrap());
        assert!(remote("postgres://app:pw@db.example.com:5432/app"));
        assert!(!remote("postgres://app@localhost/app"));
        assert!(!remote("postgres://app@127.0.0.1:5433/app"));
        assert!(!remote("postgresql:///app?host=/var/run/postgresql"));
        assert!(!remote("postgres://[::1]:5432/app"));
        assert!(!remote("sqlite://x.db"));
    }
}
