//! Terminal confirmations for rollbacks. The rules live in `strata::policy`; this only asks.

use crate::output::{eprint, eprintln};
use std::io::{self, BufRead, IsTerminal, Write};
use strata::policy::{Confirmation, Prompt};

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

/// Asks what `prompt` needs and records the answer in `said`. Off a terminal it asks nothing,
/// and the library then refuses with a message that names the flags to use.
pub fn confirm(prompt: Prompt, target: &str, steps: usize, env: &str, said: &mut Confirmation) {
    if !interactive() {
        return;
    }
    match prompt {
        Prompt::None => {}
        Prompt::YesNo => {
            let answer = ask(&format!("Roll back {steps} migration(s) in {env} to {target}? [y/N] "));
            said.answered_yes =
                answer.is_some_and(|a| a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes"));
        }
        Prompt::TypeTarget => {
            eprintln!("You are rolling back {steps} migration(s) in {env}. Data written since may be lost.");
            said.typed_target = ask(&format!("Type the target revision ({target}) to confirm: "));
        }
    }
}
