//! The revision chain: every chain error as its own variant, ordering, and target resolution
//! (`head`, `base`, `+N`, `-N`, a revision id or a unique prefix of one). Pure: no I/O, so the
//! build script and the runner share exactly one checker.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// One migration as the chain sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node<'a> {
    /// The revision id.
    pub revision: &'a str,
    /// The revision it follows; `None` for the root.
    pub parent: Option<&'a str>,
    /// Where it was declared (a file path), named in every error about it.
    pub source: &'a str,
}

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

/// A checked, linear chain: revisions from the first (base + 1) to head.
#[derive(Debug, Clone)]
pub struct Chain<'a> {
    order: Vec<&'a str>,
    position: HashMap<&'a str, usize>,
}

/// Checks the nodes and returns the ordered chain, or every problem found.
pub fn check<'a>(nodes: &[Node<'a>]) -> Result<Chain<'a>, Vec<ChainError>> {
    let mut errors = Vec::new();
    let mut by_revision: HashMap<&str, Vec<usize>> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        by_revision.entry(node.revision).or_default().push(i);
    }
    let mut duplicates: Vec<ChainError> = by_revision
        .iter()
        .filter(|(_, idx)| idx.len() > 1)
        .map(|(rev, idx)| ChainError::Duplicate {
            revision: rev.to_string(),
            files: idx.iter().map(|&i| nodes[i].source.to_string()).collect(),
        })
        .collect();
    duplicates.sort_by_key(ToString::to_string);
    errors.extend(duplicates);

    let pair = |n: &Node| (n.revision.to_string(), n.source.to_string());
    let mut roots = Vec::new();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        // A duplicate is reported once, as such: its later copies are no second root, head
        // or orphan.
        if by_revision[node.revision][0] != i {
            continue;
        }
        match node.parent {
            None => roots.push(i),
            Some(parent) if by_revision.contains_key(parent) => children.entry(parent).or_default().push(i),
            Some(parent) => errors.push(ChainError::UnknownParent {
                revision: node.revision.to_string(),
                parent: parent.to_string(),
                file: node.source.to_string(),
            }),
        }
    }
    errors.extend(find_cycles(nodes, &by_revision));
    if roots.len() > 1 {
        errors.push(ChainError::MultipleRoots { roots: roots.iter().map(|&i| pair(&nodes[i])).collect() });
    } else if roots.is_empty() && !nodes.is_empty() {
        errors.push(ChainError::NoRoot);
    }
    // Heads are counted from the single root only: an orphan (unknown parent, cycle) is
    // already reported as such, and two roots necessarily mean two heads.
    let mut heads = Vec::new();
    if let [root] = roots.as_slice() {
        let mut stack = vec![*root];
        let mut seen = vec![false; nodes.len()];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            match children.get(nodes[i].revision) {
                Some(kids) => stack.extend(kids),
                None => heads.push(i),
            }
        }
        heads.sort_unstable();
    }
    if heads.len() > 1 {
        errors.push(ChainError::MultipleHeads { heads: heads.iter().map(|&i| pair(&nodes[i])).collect() });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut order = Vec::with_capacity(nodes.len());
    let mut next = roots.first().copied();
    while let Some(i) = next {
        order.push(nodes[i].revision);
        next = children.get(nodes[i].revision).and_then(|c| c.first().copied());
    }
    let position = order.iter().enumerate().map(|(i, rev)| (*rev, i)).collect();
    Ok(Chain { order, position })
}

/// Follows parent links from every node; a walk that meets itself is a cycle.
fn find_cycles(nodes: &[Node], by_revision: &HashMap<&str, Vec<usize>>) -> Vec<ChainError> {
    // 0 = unvisited, 1 = on the current walk, 2 = done
    let mut state = vec![0u8; nodes.len()];
    let mut cycles = Vec::new();
    for start in 0..nodes.len() {
        let mut walk = Vec::new();
        let mut cur = Some(start);
        while let Some(i) = cur {
            match state[i] {
                2 => break,
                1 => {
                    let from = walk.iter().position(|&w| w == i).unwrap_or(0);
                    let mut cycle: Vec<(String, String)> = walk[from..]
                        .iter()
                        .map(|&w: &usize| (nodes[w].revision.to_string(), nodes[w].source.to_string()))
                        .collect();
                    cycle.reverse();
                    cycles.push(ChainError::Cycle { cycle });
                    break;
                }
                _ => {
                    state[i] = 1;
                    walk.push(i);
                    cur =
                        nodes[i].parent.and_then(|p| by_revision.get(p)).and_then(|idx| idx.first().copied());
                }
            }
        }
        for w in walk {
            state[w] = 2;
        }
    }
    cycles
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
    #[error("{steps:+} steps from {from} goes past {limit} ({available} steps available)")]
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

/// A place in the chain: `Base` before the first migration, or after the migration at `At(i)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    /// Nothing applied.
    Base,
    /// After the migration at this index of the chain.
    At(usize),
}

impl<'a> Chain<'a> {
    /// Revisions in apply order.
    pub fn revisions(&self) -> &[&'a str] {
        &self.order
    }
    /// How many migrations the chain holds.
    pub fn len(&self) -> usize {
        self.order.len()
    }
    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    /// The last revision.
    pub fn head(&self) -> Option<&'a str> {
        self.order.last().copied()
    }
    /// The index of an exact revision id in apply order.
    pub fn index_of(&self, revision: &str) -> Option<usize> {
        self.position.get(revision).copied()
    }
    /// The position of a database's current revision (`None` = nothing applied).
    pub fn position_of(&self, current: Option<&str>) -> Result<Position, TargetError> {
        match current {
            None => Ok(Position::Base),
            Some(rev) => self
                .index_of(rev)
                .map(Position::At)
                .ok_or_else(|| TargetError::UnknownCurrent(rev.to_string())),
        }
    }
    /// The revision at a position (`None` for base).
    pub fn revision_at(&self, pos: Position) -> Option<&'a str> {
        match pos {
            Position::Base => None,
            Position::At(i) => Some(self.order[i]),
        }
    }

    /// Resolves a revision id or unique prefix to its index in the chain.
    pub fn find(&self, prefix: &str) -> Result<usize, TargetError> {
        if let Some(i) = self.index_of(prefix) {
            return Ok(i);
        }
        let matches: Vec<usize> =
            (0..self.order.len()).filter(|&i| self.order[i].starts_with(prefix)).collect();
        match matches.as_slice() {
            [i] => Ok(*i),
            [] => Err(TargetError::unknown(prefix, self.order.iter().copied())),
            _ => Err(TargetError::Ambiguous {
                prefix: prefix.to_string(),
                candidates: matches.iter().map(|&i| self.order[i].to_string()).collect(),
            }),
        }
    }

    /// Resolves `target` to a position, given the current position.
    pub fn resolve(&self, target: &Target, current: Position) -> Result<Position, TargetError> {
        match target {
            Target::Head => {
                Ok(if self.order.is_empty() { Position::Base } else { Position::At(self.order.len() - 1) })
            }
            Target::Base => Ok(Position::Base),
            Target::Revision(r) => self.find(r).map(Position::At),
            Target::Relative(steps) => {
                let applied = match current {
                    Position::Base => 0,
                    Position::At(i) => i + 1,
                };
                let from = self.revision_at(current).unwrap_or("base").to_string();
                let wanted = (applied as i64).saturating_add(*steps);
                if wanted < 0 {
                    Err(TargetError::OutOfRange { steps: *steps, from, limit: "base", available: applied })
                } else if wanted as usize > self.order.len() {
                    Err(TargetError::OutOfRange {
                        steps: *steps,
                        from,
                        limit: "head",
                        available: self.order.len() - applied,
                    })
                } else if wanted == 0 {
                    Ok(Position::Base)
                } else {
                    Ok(Position::At(wanted as usize - 1))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n<'a>(revision: &'a str, parent: Option<&'a str>) -> Node<'a> {
        let source: &'static str = Box::leak(format!("r{revision}.rs").into_boxed_str());
        Node { revision, parent, source }
    }

    fn errs(nodes: &[Node]) -> Vec<ChainError> {
        check(nodes).expect_err("chain should be rejected")
    }

    #[test]
    fn orders_a_linear_chain_whatever_the_input_order() {
        let nodes = [n("c", Some("b")), n("a", None), n("b", Some("a"))];
        let chain = check(&nodes).unwrap();
        assert_eq!(chain.revisions(), ["a", "b", "c"]);
        assert_eq!(chain.head(), Some("c"));
    }

    #[test]
    fn empty_chain_is_fine() {
        let chain = check(&[]).unwrap();
        assert!(chain.is_empty());
        assert_eq!(chain.resolve(&Target::Head, Position::Base), Ok(Position::Base));
    }

    #[test]
    fn duplicate_names_both_files() {
        let e = errs(&[n("a", None), Node { revision: "a", parent: None, source: "other.rs" }]);
        assert!(e.iter().any(
            |e| matches!(e, ChainError::Duplicate { revision, files } if revision == "a" && files.len() == 2)
        ));
        assert!(e[0].to_string().contains("ra.rs") && e[0].to_string().contains("other.rs"));
    }

    #[test]
    fn a_duplicate_is_reported_once_not_also_as_two_roots_or_heads() {
        let copy = |parent| Node { revision: "b", parent, source: "copy.rs" };
        let e = errs(&[n("a", None), n("b", Some("a")), copy(Some("a"))]);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(matches!(&e[0], ChainError::Duplicate { revision, .. } if revision == "b"));
        let e = errs(&[n("b", None), copy(None)]);
        assert_eq!(e.len(), 1, "{e:?}");
    }

    #[test]
    fn unknown_parent() {
        let e = errs(&[n("a", None), n("b", Some("zz"))]);
        assert_eq!(
            e,
            vec![ChainError::UnknownParent {
                revision: "b".into(),
                parent: "zz".into(),
                file: "rb.rs".into()
            }]
        );
        assert!(e[0].to_string().contains("rb.rs"));
    }

    #[test]
    fn cycle_is_reported_with_files() {
        let e = errs(&[n("a", None), n("b", Some("c")), n("c", Some("b"))]);
        let cycle = e.iter().find(|e| matches!(e, ChainError::Cycle { .. })).expect("cycle");
        let text = cycle.to_string();
        assert!(text.contains("b (rb.rs)") && text.contains("c (rc.rs)"), "{text}");
    }

    #[test]
    fn a_cycle_with_no_root() {
        let e = errs(&[n("a", Some("b")), n("b", Some("a"))]);
        assert!(e.contains(&ChainError::NoRoot));
        assert_eq!(e.iter().filter(|e| matches!(e, ChainError::Cycle { .. })).count(), 1);
    }

    #[test]
    fn self_parent_is_a_cycle() {
        let e = errs(&[n("a", None), n("b", Some("b"))]);
        assert!(e.iter().any(|e| matches!(e, ChainError::Cycle { cycle } if cycle.len() == 1)));
    }

    #[test]
    fn two_roots() {
        let e = errs(&[n("a", None), n("b", None)]);
        assert!(e.iter().any(|e| matches!(e, ChainError::MultipleRoots { roots } if roots.len() == 2)));
    }

    #[test]
    fn two_heads() {
        let e = errs(&[n("a", None), n("b", Some("a")), n("c", Some("a"))]);
        assert_eq!(e.len(), 1);
        let text = e[0].to_string();
        assert!(text.contains("b (rb.rs)") && text.contains("c (rc.rs)"), "{text}");
    }

    fn chain3() -> Chain<'static> {
        check(&[n("a1", None), n("b2", Some("a1")), n("b3", Some("b2"))]).unwrap()
    }

    #[test]
    fn a_mistyped_revision_suggests_the_closest() {
        let c = check(&[
            n("b02594172f4c", None),
            n("8298645ff74b", Some("b02594172f4c")),
            n("eda71479153d", Some("8298645ff74b")),
        ])
        .unwrap();
        let err = c.find("b0259471").unwrap_err(); // a transposition in a prefix
        assert_eq!(
            err,
            TargetError::Unknown { given: "b0259471".into(), suggestions: vec!["b02594172f4c".into()] }
        );
        assert_eq!(
            err.to_string(),
            "no revision matches \"b0259471\" (did you mean b02594172f4c?): expected a revision id or a \
             unique prefix of one (see history)"
        );
        assert_eq!(suggest("eda8", c.revisions().iter().copied()), ["eda71479153d"]);
        assert_eq!(suggest("8298645ff7b4", c.revisions().iter().copied()), ["8298645ff74b"]);
        assert_eq!(suggest("EDB7", c.revisions().iter().copied()), ["eda71479153d"], "any case");
        // Too far from everything: no guess.
        assert!(suggest("users", c.revisions().iter().copied()).is_empty());
        assert!(suggest("ffff", c.revisions().iter().copied()).is_empty());
        // Equally close ones are all offered.
        let two = suggest("ab", ["aa1", "bb2", "zz3"]);
        assert_eq!(two, ["aa1", "bb2"]);
        assert!(!c.find("ffff").unwrap_err().to_string().contains("did you mean"));
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

    #[test]
    fn resolves_prefixes_and_relatives() {
        let c = chain3();
        assert_eq!(c.resolve(&Target::Revision("a".into()), Position::Base), Ok(Position::At(0)));
        assert!(matches!(
            c.resolve(&Target::Revision("b".into()), Position::Base),
            Err(TargetError::Ambiguous { candidates, .. }) if candidates.len() == 2
        ));
        assert!(
            matches!(c.find("zz"), Err(TargetError::Unknown { suggestions, .. }) if suggestions.is_empty())
        );
        assert_eq!(c.resolve(&Target::Relative(2), Position::Base), Ok(Position::At(1)));
        for huge in [i64::MAX, i64::MIN + 1] {
            let err = c.resolve(&Target::Relative(huge), Position::At(1)).unwrap_err();
            assert!(matches!(err, TargetError::OutOfRange { .. }), "{err}");
        }
        assert_eq!(c.resolve(&Target::Relative(-1), Position::At(0)), Ok(Position::Base));
        assert_eq!(c.resolve(&Target::Relative(-2), Position::At(2)), Ok(Position::At(0)));
        assert!(matches!(
            c.resolve(&Target::Relative(-1), Position::Base),
            Err(TargetError::OutOfRange { .. })
        ));
        assert!(matches!(
            c.resolve(&Target::Relative(4), Position::Base),
            Err(TargetError::OutOfRange { .. })
        ));
        assert_eq!(c.resolve(&Target::Head, Position::Base), Ok(Position::At(2)));
        assert!(matches!(c.position_of(Some("zz")), Err(TargetError::UnknownCurrent(_))));
    }
}
