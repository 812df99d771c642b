//! Terminal confirmations for rollbacks. The rules live in `strata::policy`; this only asks.

use super::output::{eprint, eprintln};
use crate::policy::{Prompt, RollbackSession};
use std::io::{self, BufRead, IsTerminal, Write};

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

/// Asks what the session's prompt needs and records the answer in it, listing the migrations
/// the rollback reverts (in revert order) so the answer is about exactly that plan. Off a
/// terminal it asks nothing, and the library then refuses with a message that names the
/// remedy (worded with the flags to use).
pub fn confirm(session: &mut RollbackSession) {
    let prompt = session.prompt();
    if !interactive() || prompt == Prompt::None {
        return;
    }
    let (target, steps, env) = (session.end().to_string(), session.steps().to_vec(), session.env().as_str());
    let (target, steps) = (target.as_str(), steps.as_slice());
    let from = steps.first().map_or(target, |m| m.revision);
    eprintln!("Rolling back {} migration(s) in {env}, from {from} to {target}:", steps.len());
    for m in steps {
        eprintln!("  revert {}  {}", m.revision, m.message);
    }
    match prompt {
        Prompt::None => {}
        Prompt::YesNo => {
            let answer = ask(&format!("Roll back these {} migration(s) in {env}? [y/N] ", steps.len()));
            session.answer_yes(
                answer.is_some_and(|a| a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes")),
            );
        }
        Prompt::TypeTarget => {
            eprintln!("Data written since they were applied may be lost.");
            // Exactly what is accepted (surrounding whitespace aside): the target revision id
            // in full, or `base`.
            session.answer_typed(ask(&format!("Type \"{target}\" to confirm: ")));
        }
    }
}
