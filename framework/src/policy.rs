//! Environment rules: which ops put data at risk (production start-up applies only
//! migrations without them) and what a rollback needs before it may run. The library enforces
//! the rules; a front end only collects the answers (flags, prompts).

use crate::config::Environment;
use crate::error::{plain, with_remedy, Remedy, Wording};
use crate::migration::Migration;
use crate::ops::Op;

/// Why an op may drop or rewrite data, or `None` when it cannot. Every op kind is named here
/// without a catch-all, so a new op does not compile until it is classified. (How long an op
/// locks is another question, answered by [`crate::locks`] and [`crate::lint`].)
pub fn risk(op: &Op) -> Option<&'static str> {
    match op {
        Op::DropTable { .. } => Some("drops a table"),
        Op::DropColumn { .. } => Some("drops a column"),
        Op::AlterColumn { change, .. } => change.ty.is_some().then_some("changes a column's type"),
        Op::Execute { safe, .. } => (!safe).then_some("runs raw SQL not marked safe (use execute_safe)"),
        Op::Data { .. } => Some("rewrites data"),
        // Add or rename structure, or drop only what can be rebuilt from the rows (an index, a
        // constraint): no row's data is lost or changed.
        Op::CreateTable(_)
        | Op::RenameTable { .. }
        | Op::AddColumn { .. }
        | Op::RenameColumn { .. }
        | Op::CreateIndex(_)
        | Op::DropIndex { .. }
        | Op::AddForeignKey { .. }
        | Op::AddUniqueConstraint { .. }
        | Op::AddCheckConstraint { .. }
        | Op::DropConstraint { .. } => None,
    }
}

/// One risky op of a pending migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Risk {
    /// The pending migration.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// The risky op (`drop_column users.legacy`).
    pub op: String,
    /// Why it is risky.
    pub reason: &'static str,
}

/// The risky ops in the upgrades of `pending`, in order.
pub fn risks(pending: &[&'static Migration]) -> Vec<Risk> {
    pending
        .iter()
        .flat_map(|m| {
            m.upgrade_ops().into_iter().filter_map(move |op| {
                risk(&op).map(|reason| Risk {
                    revision: m.revision.to_string(),
                    message: m.message.to_string(),
                    op: op.to_string(),
                    reason,
                })
            })
        })
        .collect()
}

/// What the operator has said about a rollback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// `--force`.
    pub force: bool,
    /// `--yes-i-am-sure`: production automation that cannot type at a prompt.
    pub yes_i_am_sure: bool,
    /// Answered `y` at a staging prompt.
    pub answered_yes: bool,
    /// What was typed at the production prompt.
    pub typed_target: Option<String>,
    /// The revisions the operator was shown and agreed to revert, in revert order. When set,
    /// the rollback runs only if, once the migration lock is held, it would revert exactly
    /// these: a database that moved while the prompt waited is refused, never reverted further.
    pub shown_plan: Option<Vec<String>>,
}

/// What a terminal front end should still ask before a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Nothing: the rollback may run, or it is refused outright.
    None,
    /// staging: "Roll back ...? [y/N]".
    YesNo,
    /// prod: type the target revision to confirm.
    TypeTarget,
}

/// A rollback the rules do not allow (yet). The message names no front end's flags; its
/// [`Refusal::remedy`] says what gets past it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// staging without a confirmation.
    StagingNeedsConfirmation,
    /// production without being forced.
    ProdNeedsForce,
    /// production, forced, without the typed target.
    ProdNeedsTypedTarget {
        /// The revision (or `base`) to type.
        target: String,
    },
    /// production, forced, with a typed target that is not the target.
    ProdTypedWrong {
        /// What was typed.
        typed: String,
        /// The revision (or `base`) the rollback ends at.
        target: String,
    },
    /// The operator answered no.
    Declined,
}

impl Refusal {
    /// What gets past the refusal, when anything does.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            Refusal::StagingNeedsConfirmation => Some(Remedy::Confirm),
            Refusal::ProdNeedsForce => Some(Remedy::Force),
            Refusal::ProdNeedsTypedTarget { target } => Some(Remedy::TypeTarget(target.clone())),
            Refusal::ProdTypedWrong { .. } | Refusal::Declined => None,
        }
    }

    /// The message with its remedy worded by `word` (`None`: without the remedy).
    pub fn render(&self, word: Option<Wording>) -> String {
        let problem = match self {
            Refusal::StagingNeedsConfirmation => "rolling back in staging needs confirmation".to_string(),
            Refusal::ProdNeedsForce => "rolling back in production is refused".to_string(),
            Refusal::ProdNeedsTypedTarget { .. } => {
                "rolling back in production needs a typed confirmation".into()
            }
            Refusal::ProdTypedWrong { typed, target } => {
                format!("the typed confirmation {typed:?} does not match the target {target}; nothing was changed")
            }
            Refusal::Declined => "the rollback was not confirmed; nothing was changed".to_string(),
        };
        match self.remedy() {
            Some(remedy) => with_remedy(problem, ": ", &remedy, word),
            None => problem,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Some(&plain as Wording)))
    }
}

impl std::error::Error for Refusal {}

/// What to ask next, given what has been said so far.
pub fn rollback_prompt(env: Environment, said: &Confirmation) -> Prompt {
    match env {
        Environment::Dev => Prompt::None,
        Environment::Staging if said.force || said.answered_yes => Prompt::None,
        Environment::Staging => Prompt::YesNo,
        Environment::Prod if !said.force || said.yes_i_am_sure || said.typed_target.is_some() => Prompt::None,
        Environment::Prod => Prompt::TypeTarget,
    }
}

/// Whether a rollback to `target` (a revision id or `base`) may run.
pub fn check_rollback(env: Environment, said: &Confirmation, target: &str) -> Result<(), Refusal> {
    match env {
        Environment::Dev => Ok(()),
        Environment::Staging if said.force || said.answered_yes => Ok(()),
        Environment::Staging => Err(Refusal::StagingNeedsConfirmation),
        Environment::Prod if !said.force => Err(Refusal::ProdNeedsForce),
        Environment::Prod if said.yes_i_am_sure => Ok(()),
        Environment::Prod => match &said.typed_target {
            Some(typed) if typed.trim() == target => Ok(()),
            Some(typed) => Err(Refusal::ProdTypedWrong { typed: typed.clone(), target: target.to_string() }),
            None => Err(Refusal::ProdNeedsTypedTarget { target: target.to_string() }),
        },
    }
}

/// A rollback being confirmed: the plan it would revert, what to ask about it given the
/// environment and what has been said (flags), and the answers. A front end shows
/// [`RollbackSession::steps`], asks [`RollbackSession::prompt`] when a person can answer, records
/// the answer, and passes [`RollbackSession::finish`]'s confirmation to
/// [`crate::MigrationManager::rollback_migration`]; an answer binds the rollback to the plan
/// that was shown ([`Confirmation::shown_plan`]).
#[derive(Debug, Clone)]
pub struct RollbackSession {
    env: Environment,
    end: String,
    steps: Vec<&'static Migration>,
    said: Confirmation,
    asked: Option<Prompt>,
}

impl RollbackSession {
    /// A session for the plan `steps` (in revert order) ending at `end` (a revision or `base`),
    /// starting from what the flags said.
    pub fn new(env: Environment, end: String, steps: Vec<&'static Migration>, said: Confirmation) -> Self {
        RollbackSession { env, end, steps, said, asked: None }
    }

    /// The environment the rollback runs in.
    pub fn env(&self) -> Environment {
        self.env
    }

    /// Where the rollback ends: a revision id or `base`.
    pub fn end(&self) -> &str {
        &self.end
    }

    /// The migrations it reverts, in revert order.
    pub fn steps(&self) -> &[&'static Migration] {
        &self.steps
    }

    /// What to ask a person before the rollback; [`Prompt::None`] when there is nothing to
    /// revert or nothing more to ask (the rules then allow or refuse outright).
    pub fn prompt(&self) -> Prompt {
        if self.steps.is_empty() || self.asked.is_some() {
            return Prompt::None;
        }
        rollback_prompt(self.env, &self.said)
    }

    /// Records the answer to [`Prompt::YesNo`] (`true`: yes), for the plan shown.
    pub fn answer_yes(&mut self, yes: bool) {
        self.said.answered_yes = yes;
        self.record(Prompt::YesNo);
    }

    /// Records what was typed at [`Prompt::TypeTarget`] (`None`: nothing could be read), for the
    /// plan shown.
    pub fn answer_typed(&mut self, typed: Option<String>) {
        self.said.typed_target = typed;
        self.record(Prompt::TypeTarget);
    }

    fn record(&mut self, asked: Prompt) {
        self.asked = Some(asked);
        // The answer confirms this plan only: if the database moves before the lock is held,
        // the rollback is refused instead of reverting what was not shown.
        self.said.shown_plan = Some(self.steps.iter().map(|m| m.revision.to_string()).collect());
    }

    /// The confirmation to roll back with, or [`Refusal::Declined`] when the person asked
    /// answered no. (Whether the rules allow the rollback is checked when it runs.)
    pub fn finish(self) -> Result<Confirmation, Refusal> {
        if self.asked == Some(Prompt::YesNo) && !self.said.answered_yes {
            return Err(Refusal::Declined);
        }
        Ok(self.said)
    }
}

/// The default log filter (`tracing_subscriber::EnvFilter` syntax) for an environment and the
/// verbosity asked for (`-v` count, `--quiet`); `env` is `None` when the settings could not be
/// loaded. Production logs every statement strata runs at info level. `RUST_LOG`, when set,
/// replaces it.
pub fn log_filter(env: Option<Environment>, verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose, env) {
        (true, _, _) => "error",
        (_, 0, Some(Environment::Prod)) => "warn,strata=info",
        (_, 0, _) => "warn",
        (_, 1, _) => "info",
        _ => "debug",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{AlterColumn, Ops};
    use crate::types::Type;

    #[test]
    fn classifies_ops() {
        let mut ops = Ops::new();
        ops.drop_table("t")
            .drop_column("t", "c")
            .alter_column("t", "c", AlterColumn::new().ty(Type::Text))
            .alter_column("t", "c", AlterColumn::new().nullable(true))
            .execute("DELETE FROM t")
            .execute_safe("CREATE VIEW v AS SELECT 1")
            .rename_table("t", "u");
        let risky: Vec<bool> = ops.ops().iter().map(|op| risk(op).is_some()).collect();
        assert_eq!(risky, [true, true, true, false, true, false, false]);
    }

    fn said(force: bool, sure: bool, yes: bool, typed: Option<&str>) -> Confirmation {
        Confirmation {
            force,
            yes_i_am_sure: sure,
            answered_yes: yes,
            typed_target: typed.map(Into::into),
            shown_plan: None,
        }
    }

    #[test]
    fn rollback_rules_per_environment() {
        use Environment::*;
        let nothing = Confirmation::default();
        assert_eq!(check_rollback(Dev, &nothing, "base"), Ok(()));
        assert_eq!(rollback_prompt(Staging, &nothing), Prompt::YesNo);
        assert_eq!(check_rollback(Staging, &nothing, "base"), Err(Refusal::StagingNeedsConfirmation));
        assert_eq!(check_rollback(Staging, &said(false, false, true, None), "base"), Ok(()));
        assert_eq!(check_rollback(Staging, &said(true, false, false, None), "base"), Ok(()));
        assert_eq!(rollback_prompt(Prod, &nothing), Prompt::None, "no prompt without --force");
        assert_eq!(check_rollback(Prod, &nothing, "abc"), Err(Refusal::ProdNeedsForce));
        assert_eq!(
            check_rollback(Prod, &said(false, true, true, Some("abc")), "abc"),
            Err(Refusal::ProdNeedsForce)
        );
        assert_eq!(rollback_prompt(Prod, &said(true, false, false, None)), Prompt::TypeTarget);
        assert!(matches!(
            check_rollback(Prod, &said(true, false, false, None), "abc"),
            Err(Refusal::ProdNeedsTypedTarget { .. })
        ));
        assert!(matches!(
            check_rollback(Prod, &said(true, false, false, Some("abd")), "abc"),
            Err(Refusal::ProdTypedWrong { .. })
        ));
        assert_eq!(check_rollback(Prod, &said(true, false, false, Some("abc\n")), "abc"), Ok(()));
        assert_eq!(check_rollback(Prod, &said(true, true, false, None), "abc"), Ok(()));
    }

    #[test]
    fn refusals_name_no_flags_and_carry_remedies() {
        let refusals = [
            Refusal::StagingNeedsConfirmation,
            Refusal::ProdNeedsForce,
            Refusal::ProdNeedsTypedTarget { target: "abc".into() },
        ];
        for refusal in &refusals {
            assert!(!refusal.to_string().contains("--"), "{refusal}");
            let remedy = refusal.remedy().expect("a remedy");
            let worded = refusal.render(Some(&|r: &Remedy| format!("[{r:?}]")));
            assert!(worded.ends_with(&format!("[{remedy:?}]")), "{worded}");
        }
        assert_eq!(
            Refusal::ProdNeedsTypedTarget { target: "abc".into() }.remedy(),
            Some(Remedy::TypeTarget("abc".into()))
        );
        assert_eq!(Refusal::Declined.remedy(), None);
    }

    #[test]
    fn a_session_asks_once_and_binds_the_answer_to_the_plan() {
        use Environment::*;
        let m: &'static Migration = Box::leak(Box::new(Migration {
            revision: "abc",
            parents: &[],
            message: "m",
            created: "2026-01-01T00:00:00Z",
            file: "f.rs",
            upgrade: |_| {},
            downgrade: |_| {},
            transactional: true,
            replaces: &[],
        }));
        let session =
            |env, force| RollbackSession::new(env, "base".into(), vec![m], said(force, false, false, None));
        assert_eq!(session(Dev, false).prompt(), Prompt::None);
        assert_eq!(
            RollbackSession::new(Staging, "base".into(), vec![], Confirmation::default()).prompt(),
            Prompt::None
        );

        let mut staging = session(Staging, false);
        assert_eq!(staging.prompt(), Prompt::YesNo);
        staging.answer_yes(false);
        assert_eq!(staging.prompt(), Prompt::None);
        assert_eq!(staging.finish(), Err(Refusal::Declined));
        let mut staging = session(Staging, false);
        staging.answer_yes(true);
        let said = staging.finish().unwrap();
        assert!(said.answered_yes);
        assert_eq!(said.shown_plan, Some(vec!["abc".to_string()]));
        // Nobody to ask: the flags alone, and the rules decide when it runs.
        assert_eq!(session(Staging, false).finish().unwrap().shown_plan, None);

        let mut prod = session(Prod, true);
        assert_eq!(prod.prompt(), Prompt::TypeTarget);
        prod.answer_typed(Some("base".into()));
        let said = prod.finish().unwrap();
        assert_eq!(check_rollback(Prod, &said, "base"), Ok(()));
    }

    #[test]
    fn log_levels_per_environment() {
        use Environment::*;
        assert_eq!(log_filter(Some(Prod), 0, false), "warn,strata=info");
        assert_eq!(log_filter(Some(Dev), 0, false), "warn");
        assert_eq!(log_filter(None, 1, false), "info");
        assert_eq!(log_filter(Some(Prod), 2, false), "debug");
        assert_eq!(log_filter(Some(Prod), 0, true), "error");
    }
}
