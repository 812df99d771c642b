//! What a failure means to a front end: its [`ErrorKind`] (and so its exit code) and the
//! [`Remedy`] that gets past it. The library says *what* to do in words without flags; a
//! front end (the CLI, a web console) words each remedy in its own terms with
//! [`ManagerError::message_with`].

use crate::backend::BackendError;
use crate::graph::TargetError;
use crate::manager::ManagerError;
use crate::runner;
use std::fmt;

/// How a front end words a remedy (see [`ManagerError::message_with`]).
pub type Wording<'a> = &'a dyn Fn(&Remedy) -> String;

/// The class of a failure, and the exit code a command line returns for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// Exit code 1: validation failed, or a migration set or start-up was refused by the rules,
    /// or the database is at a revision the code does not know.
    Validation,
    /// Exit code 2: bad input (flag, URL, revision, template, environment, settings).
    Usage,
    /// Exit code 3: a confirmation was refused or missing.
    Refused,
    /// Exit code 4: a database error (unreachable, a migration failed and was rolled back).
    Database,
}

impl ErrorKind {
    /// The documented exit code: 1 validation, 2 usage, 3 refused, 4 database.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Validation => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Refused => 3,
            ErrorKind::Database => 4,
        }
    }

    /// The lowercase name used in JSON output: `validation`, `usage`, `refused`, `database`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::Usage => "usage",
            ErrorKind::Refused => "refused",
            ErrorKind::Database => "database",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What gets past a refusal or a stuck database. [`fmt::Display`] words it without any front
/// end's flags (naming strata's operations, `accept R`, `stamp <revision>`); a CLI words it
/// with its own (`--force`, `resolve R --applied`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remedy {
    /// A staging rollback: confirm it when asked, or force it.
    Confirm,
    /// A production rollback: it must be forced (and then confirmed).
    Force,
    /// A forced production rollback: type this target revision when asked, or confirm for
    /// automation without typing.
    TypeTarget(String),
    /// Drift: after reviewing the edits, accept the current checksums of these applied
    /// migrations ([`crate::MigrationManager::accept`]), or restore the migrations.
    Accept(Vec<String>),
    /// A dirty database: check the schema, then settle the interrupted non-transactional
    /// migration as applied or as rolled back ([`crate::MigrationManager::resolve`]).
    Resolve {
        /// The revision the dirty marker names.
        revision: String,
    },
    /// A corrupt version table: compare it with the history and the live schema, then set the
    /// right revision ([`crate::MigrationManager::stamp`]), or give strata its own tables.
    Stamp,
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remedy::Confirm => f.write_str("confirm it when asked, or force it"),
            Remedy::Force => f.write_str("it must be forced"),
            Remedy::TypeTarget(target) => write!(
                f,
                "type the target revision ({target}) when asked, or force it with the confirmation for automation"
            ),
            Remedy::Accept(revisions) => write!(
                f,
                "If the migration as it is now matches the database (a reviewed edit), record it with {}; \
                 otherwise restore the migration",
                revisions.iter().map(|r| format!("`accept {r}`")).collect::<Vec<_>>().join(" and ")
            ),
            Remedy::Resolve { revision } => write!(
                f,
                "Check the schema, then resolve {revision} as applied (it took effect) or as rolled back (it did \
                 not, or you undid it)"
            ),
            Remedy::Stamp => f.write_str(
                "If another tool owns a table by that name, give strata its own (version_table and history_table \
                 in strata.toml); otherwise compare it with the history table and the live schema, then set the \
                 right revision with `stamp <revision>`",
            ),
        }
    }
}

/// The library's own wording of a remedy.
pub(crate) fn plain(remedy: &Remedy) -> String {
    remedy.to_string()
}

/// `problem` followed by `remedy` as `word` puts it (`None`: the problem alone).
pub(crate) fn with_remedy(problem: String, sep: &str, remedy: &Remedy, word: Option<Wording>) -> String {
    match word {
        Some(word) => format!("{problem}{sep}{}", word(remedy)),
        None => problem,
    }
}

impl ManagerError {
    /// The class of this failure; [`ErrorKind::exit_code`] is the command line's exit code.
    pub fn kind(&self) -> ErrorKind {
        use crate::autogen::AutogenError as Autogen;
        use crate::scaffold::ScaffoldError as Scaffold;
        use runner::Error as Run;
        use ErrorKind::*;
        match self {
            // The database and this code disagree, as validate reports: not a usage error.
            ManagerError::Target(TargetError::UnknownCurrent(_))
            | ManagerError::Run(Run::Target(TargetError::UnknownCurrent(_))) => Validation,
            ManagerError::Config(_) | ManagerError::Target(_) | ManagerError::NoVersionsDir => Usage,
            ManagerError::NoModels | ManagerError::NotBuilt { .. } | ManagerError::Offline(_) => Usage,
            ManagerError::Autogen(Autogen::Differs(_) | Autogen::TargetNotEmpty(_)) => Validation,
            ManagerError::Autogen(_) => Database,
            ManagerError::Run(
                Run::Target(_)
                | Run::WrongDirection { .. }
                | Run::NotApplied(_)
                | Run::NotDirty
                | Run::ResolveOther { .. }
                | Run::NotGroupable(_),
            ) => Usage,
            ManagerError::Run(Run::Registry(_) | Run::Drift(_) | Run::NotEmpty(_)) => Validation,
            ManagerError::Run(Run::PlanChanged { .. }) => Refused,
            ManagerError::Run(_) | ManagerError::Backend(_) => Database,
            ManagerError::Scaffold(
                Scaffold::UnknownTemplate(_)
                | Scaffold::EmptyMessage
                | Scaffold::BadMessage(_)
                | Scaffold::BadRevision(_)
                | Scaffold::RevisionTaken(_),
            ) => Usage,
            ManagerError::Scaffold(_) => Validation,
            ManagerError::Refused(_) => Refused,
            ManagerError::Invalid(_) | ManagerError::StartupBlocked(_) => Validation,
            ManagerError::LintRefused(_) | ManagerError::Acknowledgements(_) => Validation,
        }
    }

    /// The documented exit code of this failure (see [`ErrorKind`]).
    pub fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }

    /// What gets past this failure, when something specific does.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            ManagerError::Refused(refusal) => refusal.remedy(),
            ManagerError::Backend(e) | ManagerError::Run(runner::Error::Backend(e)) => e.remedy(),
            ManagerError::Run(runner::Error::Drift(drifts)) => {
                Some(Remedy::Accept(drifts.iter().map(|d| d.revision.to_string()).collect()))
            }
            _ => None,
        }
    }

    /// The message without its remedy (for a front end that shows the remedy apart, as the
    /// CLI's JSON errors do).
    pub fn problem(&self) -> String {
        self.render(None)
    }

    /// The message with each remedy worded by `word`: the [`fmt::Display`] text is
    /// `message_with(&|r| r.to_string())`; a CLI names its flags instead.
    pub fn message_with(&self, word: Wording) -> String {
        self.render(Some(word))
    }

    fn render(&self, word: Option<Wording>) -> String {
        match self {
            ManagerError::Refused(refusal) => refusal.render(word),
            ManagerError::Backend(e) | ManagerError::Run(runner::Error::Backend(e)) => {
                format!("database error: {}", e.render(word))
            }
            ManagerError::Run(runner::Error::Drift(drifts)) => format!(
                "nothing was applied: {}",
                drifts.iter().map(|d| d.render(word)).collect::<Vec<_>>().join("; ")
            ),
            other => other.to_string(),
        }
    }
}

impl BackendError {
    /// What gets past this failure: [`Remedy::Stamp`] for a corrupt version table,
    /// [`Remedy::Resolve`] for a dirty database.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            BackendError::CorruptVersionTable { .. } => Some(Remedy::Stamp),
            BackendError::Dirty { revision, .. } => Some(Remedy::Resolve { revision: revision.clone() }),
            _ => None,
        }
    }

    /// The message with its remedy worded by `word` (`None`: without the remedy).
    pub fn render(&self, word: Option<Wording>) -> String {
        match self {
            BackendError::CorruptVersionTable { table, detail } => {
                crate::backend::corrupt_message(table, detail, word)
            }
            BackendError::Dirty { revision, direction, .. } => {
                crate::backend::dirty_message(revision, *direction, word)
            }
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Direction;
    use crate::policy::Refusal;

    #[test]
    fn kinds_and_exit_codes() {
        let refused = ManagerError::Refused(Refusal::ProdNeedsForce);
        assert_eq!((refused.kind(), refused.exit_code()), (ErrorKind::Refused, 3));
        let usage = ManagerError::Target(TargetError::unknown("x", []));
        assert_eq!(usage.exit_code(), 2);
        let dirty = ManagerError::Run(runner::Error::Backend(BackendError::Dirty {
            revision: "abc".into(),
            direction: Direction::Up,
            version: None,
        }));
        assert_eq!(dirty.exit_code(), 4);
        assert_eq!(ManagerError::NoModels.exit_code(), 2);
        let codes: Vec<u8> =
            [ErrorKind::Validation, ErrorKind::Usage, ErrorKind::Refused, ErrorKind::Database]
                .into_iter()
                .map(ErrorKind::exit_code)
                .collect();
        assert_eq!(codes, [1, 2, 3, 4]);
    }

    #[test]
    fn remedies_are_apart_from_the_problem_and_worded_by_the_front_end() {
        let dirty = ManagerError::Backend(BackendError::Dirty {
            revision: "abc".into(),
            direction: Direction::Up,
            version: None,
        });
        assert_eq!(dirty.remedy(), Some(Remedy::Resolve { revision: "abc".into() }));
        assert!(!dirty.problem().contains("resolve"), "{}", dirty.problem());
        assert!(dirty.to_string().contains("resolve abc as applied"), "{dirty}");
        assert!(!dirty.to_string().contains("--"), "no flags in the library: {dirty}");
        let worded = dirty.message_with(&|r| format!("<{r:?}>"));
        assert_eq!(
            worded,
            format!("{}. <{:?}>", dirty.problem(), Remedy::Resolve { revision: "abc".into() })
        );
        let corrupt =
            BackendError::CorruptVersionTable { table: "v".into(), detail: "it holds 2 rows".into() };
        assert_eq!(corrupt.remedy(), Some(Remedy::Stamp));
        assert!(corrupt
            .to_string()
            .starts_with("the version table v is corrupt: it holds 2 rows. Nothing was changed. "));
        assert_eq!(ManagerError::NoModels.remedy(), None);
    }
}
