//! Terminal confirmations for rollbacks. The rules live in `strata::policy`; this only asks.

use crate::output::{eprint, eprintln};
use std::io::{self, BufRead, IsTerminal, Write};
use strata::policy::{Confirmation, Prompt};
use strata::Migration;

/// Whether a person can answer: both stdin and stderr are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

fn ask(question: &str) -> Option<String> {
    eprint!("{question}");
    io::stderr().flush().ok()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim().to_string())
}

/// Asks what `prompt` needs and records the answer in `said`, listing the migrations the
/// rollback reverts (`steps`, in revert order) so the answer is about exactly that plan. Off
/// a terminal it asks nothing, and the library then refuses with a message that names the
/// flags to use.
pub fn confirm(prompt: Prompt, target: &str, steps: &[&Migration], env: &str, said: &mut Confirmation) {
    if !interactive() || prompt == Prompt::None {
        return;
    }
    let from = steps.first().map_or(target, |m| m.revision);
    eprintln!("Rolling back {} migration(s) in {env}, from {from} to {target}:", steps.len());
    for m in steps {
        eprintln!("  revert {}  {}", m.revision, m.message);
    }
    match prompt {
        Prompt::None => {}
        Prompt::YesNo => {
            let answer = ask(&format!("Roll back these {} migration(s) in {env}? [y/N] ", steps.len()));
            said.answered_yes =
                answer.is_some_and(|a| a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes"));
        }
        Prompt::TypeTarget => {
            eprintln!("Data written since they were applied may be lost.");
            said.typed_target = ask(&format!("Type the target revision ({target}) to confirm: "));
        }
    }
    // The answer confirms this plan only: if the database moves before the lock is held,
    // the library refuses instead of reverting what was not shown.
    said.shown_plan = Some(steps.iter().map(|m| m.revision.to_string()).collect());
}
