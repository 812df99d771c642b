//! `lint`: rules run over each migration's upgrade plan for PostgreSQL, where locks matter
//! (SQLite locks the whole database for every write, so there is nothing to choose). Pure: no
//! I/O; the facts each rule judges by are [`crate::locks`]' claims for the PostgreSQL major
//! version given.
//!
//! The rules know the history: the migrations are walked in plan order with a model of the
//! schema ([`Known`]: column types, checks, indexes, foreign keys), and within a migration a
//! table created by an earlier op of the same migration is exempt from the lock and rewrite
//! rules (nobody else can see it before the migration commits), as is a table the caller
//! declares empty ([`LintOptions::empty_tables`]). Nothing else is assumed empty: a table an
//! earlier migration created may hold rows by now.
//!
//! Every [`Finding`] has a stable code (`S001`...: see [`rules::ALL`] and docs/safety.md; a code
//! is never reused for another rule), a [`Severity`], the revision and op, a sentence saying
//! what happens and a remedy. Raw `execute` SQL is parsed (PostgreSQL grammar, `sqlparser`)
//! and the same rules apply to its statements; SQL that cannot be parsed is a finding of its
//! own, never silence. `execute_safe` does not skip the lint: it only tells production
//! start-up that the SQL keeps data ([`crate::policy`]).
//!
//! A migration acknowledges a rule's findings with [`crate::ops::Ops::allow`] (code and
//! reason): [`lint_migration`] keeps them, marked [`Finding::acknowledged`], and
//! [`has_errors`] / [`unacknowledged_errors`] skip them; [`check_acknowledgements`] refuses an
//! unknown code or an empty reason. What each environment does with the findings is
//! [`crate::MigrationManager`]'s call (dev warns, staging warns loudly, production refuses an
//! unacknowledged error).

pub mod rules;

use crate::locks::{self, Known, PgMajor};
use crate::migration::{Migration, MigrationSet};
use crate::ops::Op;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::time::Duration;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing: a type that is hard to change later.
    Info,
    /// A risk to weigh: code still running breaks, data goes, a lock waits unbounded.
    Warning,
    /// Blocks reads or writes of a table for as long as the table is large, or fails outright.
    Error,
}

impl Severity {
    /// `error`, `warning`, `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One rule's verdict on one op.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// The rule's stable code (`S013`).
    pub code: &'static str,
    /// The rule's name (`require-concurrent-index-creation`, squawk's where squawk has the rule).
    pub rule: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// The migration.
    pub revision: String,
    /// The op's position in the migration's upgrade, from 0.
    pub op_index: usize,
    /// The op (`create_index ix_users_email on users`).
    pub op: String,
    /// What happens, one sentence.
    pub message: String,
    /// What to do instead, one sentence.
    pub remedy: String,
    /// The reason the migration gave for accepting it ([`crate::ops::Ops::allow`] with this
    /// code), `None` when it does not. An acknowledged finding is still reported, but does not
    /// stop production.
    pub acknowledged: Option<String>,
}

impl Finding {
    /// Whether it stops production: an error the migration does not acknowledge.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Error && self.acknowledged.is_none()
    }

    /// How to acknowledge it in the migration, for messages: `op.allow("S013", "<why ...>")`.
    pub fn how_to_acknowledge(&self) -> String {
        format!("op.allow(\"{}\", \"<why it is safe here>\") in the upgrade of {}", self.code, self.revision)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} op {} ({}): {}. Remedy: {}.",
            self.code,
            self.severity,
            self.revision,
            self.op_index + 1,
            self.op,
            self.message,
            self.remedy
        )?;
        match &self.acknowledged {
            Some(reason) => write!(f, " Acknowledged: {reason}."),
            None => Ok(()),
        }
    }
}

/// The timeouts migrations run with (`None`: off), as [`crate::config::Settings`] resolves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// `lock_timeout`: how long a statement waits for a lock.
    pub lock: Option<Duration>,
    /// `statement_timeout`: how long a statement may run.
    pub statement: Option<Duration>,
}

/// What the lint assumes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LintOptions {
    /// The PostgreSQL major version the migrations will run on ([`PgMajor::OLDEST`], the worst
    /// case, when not known).
    pub pg_major: PgMajor,
    /// Tables the caller knows to be empty (a new deployment): exempt from the lock and
    /// rewrite rules, as a table created in the same migration is.
    pub empty_tables: BTreeSet<String>,
    /// The timeouts the migrations will run with; `None` when not known, and then only SQL
    /// that turns a timeout off is reported.
    pub timeouts: Option<Timeouts>,
    /// The migrations run rewritten lock-safely ([`crate::rewrite`]): what the rewrite fixes
    /// (non-concurrent index creation and deletion, foreign keys and checks without NOT
    /// VALID, NOT NULL scans on PostgreSQL 12+, unique constraints without a prepared index)
    /// is not reported for typed ops of transactional migrations; what stays unsafe still is.
    pub rewriting: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            pg_major: PgMajor::OLDEST,
            empty_tables: BTreeSet::new(),
            timeouts: None,
            rewriting: false,
        }
    }
}

impl LintOptions {
    /// The defaults for PostgreSQL `major`.
    pub fn for_version(major: PgMajor) -> Self {
        LintOptions { pg_major: major, ..LintOptions::default() }
    }

    /// Declares `table` empty.
    pub fn empty_table(mut self, table: impl Into<String>) -> Self {
        self.empty_tables.insert(table.into());
        self
    }

    /// The migrations run rewritten lock-safely (or not).
    pub fn rewriting(mut self, on: bool) -> Self {
        self.rewriting = on;
        self
    }

    /// The timeouts the migrations will run with.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }
}

/// Whether any finding is an error that its migration does not acknowledge (`lint` exits 1
/// then, and production refuses to apply it).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::blocks)
}

/// The error findings that no acknowledgement covers: what production refuses on.
pub fn unacknowledged_errors(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.blocks()).collect()
}

/// An acknowledgement ([`crate::ops::Ops::allow`]) that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcknowledgementError {
    /// The code is no rule's.
    #[error(
        "migration {revision} acknowledges {code:?}, which is not a lint rule code{}; the codes are {} (docs/safety.md lists what each reports)",
        .suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default(),
        known_codes()
    )]
    UnknownCode {
        /// The migration.
        revision: String,
        /// The code as written.
        code: String,
        /// The rule code it most likely means.
        suggestion: Option<&'static str>,
    },
    /// The reason is empty.
    #[error(
        "migration {revision} acknowledges {code} without a reason: say why its findings are safe in this migration, as in op.allow(\"{code}\", \"the table holds 200 rows\")"
    )]
    EmptyReason {
        /// The migration.
        revision: String,
        /// The code.
        code: String,
    },
    /// Written in the downgrade, where it acknowledges nothing (only the upgrade is linted
    /// and enforced): silently ignored, it would read as a review that never happened.
    #[error(
        "migration {revision} calls op.allow(\"{code}\", ..) in its downgrade, where it has no effect: acknowledgements belong to the upgrade, the only direction the lint judges and production enforces; move it into the upgrade or remove it"
    )]
    InDowngrade {
        /// The migration.
        revision: String,
        /// The code.
        code: String,
    },
}

/// The errors of acknowledgements written in a migration's downgrade (`acknowledgements`, as
/// its `Ops` recorded them): each one, since none has an effect there.
pub fn check_downgrade_acknowledgements(
    revision: &str,
    acknowledgements: &[crate::ops::Acknowledgement],
) -> Vec<AcknowledgementError> {
    acknowledgements
        .iter()
        .map(|a| AcknowledgementError::InDowngrade { revision: revision.to_string(), code: a.code.clone() })
        .collect()
}

fn known_codes() -> String {
    let codes: Vec<&str> = rules::ALL.iter().map(|r| r.code).collect();
    codes.join(", ")
}

/// The rule code `code` most likely means: a rule's name, or a code in another case or
/// without its zeros (`s13`, `13`, `S13`).
fn suggest(code: &str) -> Option<&'static str> {
    let trimmed = code.trim();
    if let Some(rule) = rules::ALL.iter().find(|r| r.name.eq_ignore_ascii_case(trimmed)) {
        return Some(rule.code);
    }
    let digits = trimmed.strip_prefix(['S', 's']).unwrap_or(trimmed);
    let n: u32 = digits.parse().ok()?;
    let wanted = format!("S{n:03}");
    rules::ALL.iter().find(|r| r.code == wanted).map(|r| r.code)
}

/// What is wrong with `revision`'s acknowledgements: codes that are no rule's, empty reasons.
pub fn check_acknowledgements(
    revision: &str,
    acknowledgements: &[crate::ops::Acknowledgement],
) -> Vec<AcknowledgementError> {
    acknowledgements
        .iter()
        .filter_map(|a| {
            if !rules::ALL.iter().any(|r| r.code == a.code) {
                Some(AcknowledgementError::UnknownCode {
                    revision: revision.to_string(),
                    code: a.code.clone(),
                    suggestion: suggest(&a.code),
                })
            } else if a.reason.trim().is_empty() {
                Some(AcknowledgementError::EmptyReason {
                    revision: revision.to_string(),
                    code: a.code.clone(),
                })
            } else {
                None
            }
        })
        .collect()
}

/// Every acknowledgement error of `migrations`, in order.
pub fn acknowledgement_errors(migrations: &[&Migration]) -> Vec<AcknowledgementError> {
    migrations.iter().flat_map(|m| check_acknowledgements(m.revision, &m.acknowledgements())).collect()
}

/// Marks the findings that `acknowledgements` cover with the reason (the first one given for
/// the code). An acknowledgement with an unknown code or no reason marks nothing.
pub fn acknowledge(findings: &mut [Finding], acknowledgements: &[crate::ops::Acknowledgement]) {
    for f in findings.iter_mut() {
        f.acknowledged = acknowledgements
            .iter()
            .find(|a| a.code == f.code && !a.reason.trim().is_empty())
            .map(|a| a.reason.clone());
    }
}

/// Lints every migration of the set, in plan order.
pub fn lint(set: &MigrationSet, options: &LintOptions) -> Vec<Finding> {
    lint_migrations(set.migrations(), Known::new(), options)
}

/// Lints `migrations` (in plan order) on a schema that `known` describes (the migrations
/// applied before them: [`Known::after`]).
pub fn lint_migrations(migrations: &[&Migration], mut known: Known, options: &LintOptions) -> Vec<Finding> {
    migrations.iter().flat_map(|m| lint_migration(m, &mut known, options)).collect()
}

/// Lints one migration's upgrade on a schema that `known` describes, and follows `known` past it.
/// Findings the migration acknowledges ([`crate::ops::Ops::allow`]) are marked so.
pub fn lint_migration(m: &Migration, known: &mut Known, options: &LintOptions) -> Vec<Finding> {
    let (ops, acknowledgements) = m.upgrade_plan().into_parts();
    let mut findings = lint_ops(m.revision, m.transactional, &ops, known, options);
    acknowledge(&mut findings, &acknowledgements);
    findings
}

/// Lints a plan of ops (a migration's upgrade): `revision` names it in the findings,
/// `transactional` is whether it runs in one transaction. `known` is followed past the ops.
pub fn lint_ops(
    revision: &str,
    transactional: bool,
    ops: &[Op],
    known: &mut Known,
    options: &LintOptions,
) -> Vec<Finding> {
    let mut ctx = Ctx {
        revision,
        transactional,
        options,
        created: HashSet::new(),
        lock_timeout_reported: false,
        statement_timeout_reported: false,
        findings: Vec::new(),
    };
    for (index, op) in ops.iter().enumerate() {
        let effects = locks::effect(op, options.pg_major, known);
        rules::check_op(&mut ctx, index, op, known, &effects);
        known.follow(op);
    }
    ctx.findings
}

/// Where the rules are: the migration, what it has created so far, what was reported.
pub(crate) struct Ctx<'a> {
    pub(crate) revision: &'a str,
    pub(crate) transactional: bool,
    pub(crate) options: &'a LintOptions,
    /// Tables created by earlier ops of this migration (under their current names).
    pub(crate) created: HashSet<String>,
    pub(crate) lock_timeout_reported: bool,
    pub(crate) statement_timeout_reported: bool,
    pub(crate) findings: Vec<Finding>,
}

impl Ctx<'_> {
    /// Exempt from the lock and rewrite rules: created earlier in this migration, or empty.
    pub(crate) fn exempt(&self, table: &str) -> bool {
        self.created.contains(table) || self.options.empty_tables.contains(table)
    }

    /// The rewrite ([`crate::rewrite`]) stages this migration's typed ops lock-safely.
    pub(crate) fn rewritten(&self) -> bool {
        self.options.rewriting && self.transactional
    }

    /// The rewrite stages the constraint `name` (it rewrites only named ones).
    pub(crate) fn rewrites_named(&self, name: &str) -> bool {
        self.rewritten() && !name.is_empty()
    }

    /// Created earlier in this migration (nobody's code can use it yet).
    pub(crate) fn new_here(&self, table: &str) -> bool {
        self.created.contains(table)
    }

    pub(crate) fn created(&mut self, table: &str) {
        self.created.insert(table.to_string());
    }

    pub(crate) fn renamed(&mut self, from: &str, to: &str) {
        if self.created.remove(from) {
            self.created.insert(to.to_string());
        }
    }

    pub(crate) fn dropped(&mut self, table: &str) {
        self.created.remove(table);
    }

    pub(crate) fn report(
        &mut self,
        rule: &rules::Rule,
        index: usize,
        op: &Op,
        message: String,
        remedy: String,
    ) {
        self.findings.push(Finding {
            code: rule.code,
            rule: rule.name,
            severity: rule.severity,
            revision: self.revision.to_string(),
            op_index: index,
            op: op.to_string(),
            message,
            remedy,
            acknowledged: None,
        });
    }
}

#[cfg(test)]
mod tests;
