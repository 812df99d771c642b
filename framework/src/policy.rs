//! Environment rules: which ops put data at risk (production start-up applies only
//! migrations without them) and what a rollback needs before it may run. The library enforces
//! the rules; a front end only collects the answers (flags, prompts).

use crate::config::Environment;
use crate::migration::Migration;
use crate::ops::Op;

/// Why an op may drop or rewrite data, or `None` when it cannot.
pub fn risk(op: &Op) -> Option<&'static str> {
    match op {
        Op::DropTable { .. } => Some("drops a table"),
        Op::DropColumn { .. } => Some("drops a column"),
        Op::AlterColumn { change, .. } if change.ty.is_some() => Some("changes a column's type"),
        Op::Execute { safe: false, .. } => Some("runs raw SQL not marked safe (use execute_safe)"),
        Op::Data { .. } => Some("rewrites data"),
        _ => None,
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

/// A rollback the rules do not allow (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Staging: a y at the prompt or `--force` is needed.
    #[error("rolling back in staging needs confirmation: answer y at the prompt, or pass --force")]
    StagingNeedsConfirmation,
    /// Production: `--force` is needed before anything else.
    #[error("rolling back in production needs --force")]
    ProdNeedsForce,
    /// Production: the target revision must be typed (or `--yes-i-am-sure` given).
    #[error("rolling back in production needs the target typed at the prompt ({target}), or --force --yes-i-am-sure for automation")]
    ProdNeedsTypedTarget {
        /// The revision to type.
        target: String,
    },
    /// Production: the typed confirmation is not the target.
    #[error("the typed confirmation {typed:?} does not match the target {target}; nothing was changed")]
    ProdTypedWrong {
        /// What was typed.
        typed: String,
        /// What was expected.
        target: String,
    },
    /// The prompt was answered no.
    #[error("the rollback was not confirmed; nothing was changed")]
    Declined,
}

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
}
