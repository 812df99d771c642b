//! The words of the revision graph shared by the build check, the planner and the command
//! line: every problem of a broken graph as its own variant ([`ChainError`]), targets (`head`,
//! `base`, `+N`, `-N`, a revision id or a unique prefix of one) and why one names nothing
//! ([`TargetError`], with did-you-mean suggestions). The graph itself is [`crate::plan::Graph`].

use std::fmt;
use std::str::FromStr;

/// A problem with the revision chain. Each names the revisions and the files involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// Two migrations declare the same revision.
    #[error("duplicate revision {revision}: declared in {}", files.join(", "))]
    Duplicate {
        /// The revision.
        revision: String,
        /// Every file that declares it.
        files: Vec<String>,
    },
    /// A migration follows a revision nobody declares (a deleted or misspelt parent).
    #[error("revision {revision} ({file}) names parent {parent}, which no migration declares")]
    UnknownParent {
        /// The migration.
        revision: String,
        /// The parent it names.
        parent: String,
        /// Where it is declared.
        file: String,
    },
    /// Parent links that loop, so there is no order to apply them in.
    #[error("cycle in the revision chain: {}", describe_cycle(.cycle))]
    Cycle {
        /// (revision, file) around the loop.
        cycle: Vec<(String, String)>,
    },
    /// More than one migration has no parent.
    #[error("more than one root (a migration without parent): {}", describe(.roots))]
    MultipleRoots {
        /// (revision, file) of each.
        roots: Vec<(String, String)>,
    },
    /// Every migration names a parent.
    #[error("no root: every migration names a parent, so the chain has no start")]
    NoRoot,
    /// More revisions than the graph indexes (4,294,967,295): no binary declares so many.
    #[error("{count} revisions are more than a revision graph holds (at most 4,294,967,295)")]
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// More parent links in all than the graph indexes (4,294,967,295).
    #[error("{count} parent links are more than a revision graph holds (at most 4,294,967,295)")]
    TooManyLinks {
        /// How many there were when the count ran over.
        count: usize,
    },
    /// The chain branches (two branches merged without relinking one): strata keeps one line of
    /// history, so one head must be pointed at the other.
    #[error("more than one head (two branches were merged in git without joining them): {}; join them with a merge revision (`strata merge -m \"merge branches\"`) or make the history linear again (`strata rebase <one head> --onto <the other>`); `strata heads` lists them from the files while the build fails", describe(.heads))]
    MultipleHeads {
        /// (revision, file) of each head.
        heads: Vec<(String, String)>,
    },
}

fn describe(items: &[(String, String)]) -> String {
    items.iter().map(|(rev, file)| format!("{rev} ({file})")).collect::<Vec<_>>().join(", ")
}

fn describe_cycle(cycle: &[(String, String)]) -> String {
    let mut parts: Vec<String> = cycle.iter().map(|(rev, file)| format!("{rev} ({file})")).collect();
    if let Some(first) = parts.first().cloned() {
        parts.push(first);
    }
    parts.join(" -> ")
}

/// Where to migrate to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The last migration.
    Head,
    /// Before the first migration: nothing applied.
    Base,
    /// A revision id or a unique prefix of one.
    Revision(String),
    /// `+N` or `-N` steps from the current revision.
    Relative(i64),
}

impl FromStr for Target {
    type Err = TargetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "" => Err(TargetError::Malformed(s.to_string())),
            "head" | "heads" => Ok(Target::Head),
            "base" => Ok(Target::Base),
            _ if s.starts_with('+') || s.starts_with('-') => {
                // Strictly a sign and digits: `++1` or `+-1` is no target.
                let digits = &s[1..];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(TargetError::Malformed(s.to_string()));
                }
                match digits.parse::<i64>() {
                    Ok(0) => Err(TargetError::Malformed(s.to_string())),
                    Ok(n) => Ok(Target::Relative(if s.starts_with('-') { -n } else { n })),
                    Err(_) => Err(TargetError::TooManySteps(s.to_string())),
                }
            }
            _ if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                Ok(Target::Revision(s.to_string()))
            }
            _ => Err(TargetError::Malformed(s.to_string())),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Base => f.write_str("base"),
            Target::Revision(r) => f.write_str(r),
            Target::Relative(n) => write!(f, "{n:+}"),
        }
    }
}

/// A target that does not name a place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Not something a target can be.
    #[error("{0:?} is not a target: expected a revision id, a unique prefix of one, head, base, +N or -N")]
    Malformed(String),
    /// No revision starts with it; the closest known revisions, if any are close.
    #[error(
        "no revision matches {given:?}{}: expected a revision id or a unique prefix of one (see history)",
        did_you_mean(.suggestions)
    )]
    Unknown {
        /// The revision or prefix given.
        given: String,
        /// The known revisions closest to it by edit distance ([`suggest`]), closest first;
        /// empty when none is close.
        suggestions: Vec<String>,
    },
    /// The prefix matches several revisions.
    #[error("{prefix:?} is ambiguous: it matches {}", .candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// The revisions it matches.
        candidates: Vec<String>,
    },
    /// `+N` / `-N` goes past head or base.
    #[error("{steps:+} from {from} goes past {limit}: {} available", count_steps(*.available))]
    OutOfRange {
        /// The steps asked for.
        steps: i64,
        /// Where they start (the current revision, or `base`).
        from: String,
        /// `head` or `base`.
        limit: &'static str,
        /// How many steps there are.
        available: usize,
    },
    #[error(
        "{0:?} is more steps than any chain holds: expected +N or -N with N a positive number of migrations"
    )]
    /// A step count too large for any chain.
    TooManySteps(String),
    /// The database is at a revision this build does not contain.
    #[error("the database is at revision {0}, which this code does not know: the database is ahead of this build or on an abandoned branch; deploy the code that contains it, or downgrade with that code (validate shows when it was applied)")]
    UnknownCurrent(String),
    /// The database stands at a revision a squash checkpoint replaced, short of the squash
    /// target: the checkpoint cannot continue from there.
    #[error("the database is at revision {revision}, which the checkpoint {checkpoint} squashed: it stands between base and {target}, where the checkpoint starts. Upgrade it to {target} or later with a build from before the squash, then use this one")]
    Squashed {
        /// The revision the database is at.
        revision: String,
        /// The checkpoint that replaced it.
        checkpoint: String,
        /// The squash target, the last revision the checkpoint replaced.
        target: String,
    },
    /// The version row names heads strata never writes together.
    #[error("the version row is corrupt: {0}")]
    CorruptVersion(String),
}

/// "1 step", "3 steps": how many migrations a relative target could still move.
fn count_steps(n: usize) -> String {
    if n == 1 {
        "1 step".to_string()
    } else {
        format!("{n} steps")
    }
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        more => format!(" (did you mean one of {}?)", more.join(", ")),
    }
}

impl TargetError {
    /// The error for a revision or prefix that matches none of `known`, with the closest of
    /// them as suggestions.
    pub fn unknown<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        TargetError::Unknown { given: given.to_string(), suggestions: suggest(given, known) }
    }
}

/// The revisions of `known` closest to a mistyped revision or prefix `given`, closest first
/// (at most three): compared by edit distance (a transposition counts as one edit) with each
/// revision's start of the same length and with the whole revision, case-insensitively. A
/// revision is suggested when at most one edit (two from 5 characters on) separates them.
pub fn suggest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let given: Vec<char> = given.to_lowercase().chars().collect();
    if given.is_empty() {
        return Vec::new();
    }
    let limit = if given.len() < 5 { 1 } else { 2 };
    let mut close: Vec<(usize, &str)> = known
        .into_iter()
        .filter_map(|rev| {
            let id: Vec<char> = rev.to_lowercase().chars().collect();
            let start = &id[..given.len().min(id.len())];
            let d = edit_distance(&given, start).min(edit_distance(&given, &id));
            (d <= limit).then_some((d, rev))
        })
        .collect();
    close.sort();
    close.dedup();
    let best = close.first().map_or(0, |c| c.0);
    close.into_iter().take_while(|c| c.0 == best).take(3).map(|(_, rev)| rev.to_string()).collect()
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Graph, Revision};

    fn errs(revisions: &[(&'static str, &'static [&'static str], &'static str)]) -> Vec<ChainError> {
        let revisions: Vec<Revision<'static>> =
            revisions.iter().map(|&(id, parents, source)| Revision { id, parents, source }).collect();
        Graph::new(&revisions).expect_err("the graph should be rejected")
    }

    #[test]
    fn a_duplicate_names_both_files_once_not_also_as_two_roots() {
        let e = errs(&[("a", &[], "ra.rs"), ("b", &["a"], "rb.rs"), ("b", &["a"], "copy.rs")]);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            matches!(&e[0], ChainError::Duplicate { revision, files } if revision == "b" && files.len() == 2)
        );
        assert!(e[0].to_string().contains("rb.rs") && e[0].to_string().contains("copy.rs"));
        let e = errs(&[("b", &[], "rb.rs"), ("b", &[], "copy.rs")]);
        assert_eq!(e.len(), 1, "{e:?}");
    }

    #[test]
    fn unknown_parents_and_cycles_name_their_files() {
        let e = errs(&[("a", &[], "ra.rs"), ("b", &["zz"], "rb.rs")]);
        assert_eq!(
            e,
            vec![ChainError::UnknownParent {
                revision: "b".into(),
                parent: "zz".into(),
                file: "rb.rs".into()
            }]
        );
        let e = errs(&[("a", &[], "ra.rs"), ("b", &["b"], "rb.rs")]);
        assert!(e.iter().any(|e| matches!(e, ChainError::Cycle { cycle } if cycle.len() == 1)), "{e:?}");
        let e = errs(&[("a", &["b"], "ra.rs"), ("b", &["a"], "rb.rs")]);
        assert!(e.contains(&ChainError::NoRoot));
        assert_eq!(e.iter().filter(|e| matches!(e, ChainError::Cycle { .. })).count(), 1);
    }

    #[test]
    fn several_heads_name_the_commands_that_join_them() {
        let heads = ChainError::MultipleHeads {
            heads: vec![("b".into(), "rb.rs".into()), ("c".into(), "rc.rs".into())],
        };
        let text = heads.to_string();
        assert!(text.contains("b (rb.rs)") && text.contains("c (rc.rs)"), "{text}");
        assert!(text.contains("strata merge") && text.contains("strata rebase"), "{text}");
    }

    #[test]
    fn a_mistyped_revision_suggests_the_closest() {
        let revisions = [
            Revision { id: "b02594172f4c", parents: &[], source: "r1.rs" },
            Revision { id: "8298645ff74b", parents: &["b02594172f4c"], source: "r2.rs" },
            Revision { id: "eda71479153d", parents: &["8298645ff74b"], source: "r3.rs" },
        ];
        let g = Graph::new(&revisions).unwrap();
        let err = g.find("b0259471").unwrap_err(); // a transposition in a prefix
        assert_eq!(
            err,
            TargetError::Unknown { given: "b0259471".into(), suggestions: vec!["b02594172f4c".into()] }
        );
        assert_eq!(
            err.to_string(),
            "no revision matches \"b0259471\" (did you mean b02594172f4c?): expected a revision id or a \
             unique prefix of one (see history)"
        );
        let known = || g.revisions().iter().copied();
        assert_eq!(suggest("eda8", known()), ["eda71479153d"]);
        assert_eq!(suggest("8298645ff7b4", known()), ["8298645ff74b"]);
        assert_eq!(suggest("EDB7", known()), ["eda71479153d"], "any case");
        // Too far from everything: no guess.
        assert!(suggest("users", known()).is_empty());
        assert!(suggest("ffff", known()).is_empty());
        // Equally close ones are all offered.
        assert_eq!(suggest("ab", ["aa1", "bb2", "zz3"]), ["aa1", "bb2"]);
        assert!(!g.find("ffff").unwrap_err().to_string().contains("did you mean"));
    }

    #[test]
    fn parses_targets() {
        assert_eq!("head".parse(), Ok(Target::Head));
        assert_eq!("base".parse(), Ok(Target::Base));
        assert_eq!("+2".parse(), Ok(Target::Relative(2)));
        assert_eq!("-1".parse(), Ok(Target::Relative(-1)));
        assert_eq!("3f9a".parse(), Ok(Target::Revision("3f9a".into())));
        assert!(matches!("-0".parse::<Target>(), Err(TargetError::Malformed(_))));
        for strict in ["++1", "+-1", "--1", "-+1", "+ 1", "+1.0", "+1e3", "+", "-", "+٣"] {
            assert!(matches!(strict.parse::<Target>(), Err(TargetError::Malformed(_))), "{strict}");
        }
        let err = "+99999999999999999999".parse::<Target>().unwrap_err();
        assert!(matches!(err, TargetError::TooManySteps(_)), "{err}");
        assert!(err.to_string().contains("more steps than any chain holds"), "{err}");
        assert!(matches!("a b".parse::<Target>(), Err(TargetError::Malformed(_))));
        assert!("nope;".parse::<Target>().unwrap_err().to_string().contains("expected a revision id"));
    }
}
