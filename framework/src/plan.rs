//! The revision graph as a DAG, the applied state of a database on it, and the one planner:
//! [`plan`] turns (graph, applied state, target) into ordered steps with their direction.
//! Pure: no I/O, so the runner, offline SQL, validation and tests all plan the same way.
//!
//! A migration has one parent, several (a merge revision), or none (the root). A database's
//! state is the set of revisions it has applied, closed under ancestry (a revision is only
//! applied after all its parents); it is stored as its heads, as Alembic does. Every partial
//! state of a branching history is representable: one branch applied and not the other, both
//! without their merge, and so on.

use crate::graph::{ChainError, Target, TargetError};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

/// A map keyed by revision id: built at every start-up over every revision, so hashed with
/// foldhash (the ids are the binary's own: no hash flooding to resist) instead of the
/// standard library's SipHash, whose hashing was half of building a 100-migration set
/// (callgrind: 0.11M of 0.24M instructions).
pub(crate) type IdMap<'a, V> = HashMap<&'a str, V, foldhash::fast::RandomState>;

/// One migration as the graph sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision<'a> {
    /// The revision id.
    pub id: &'a str,
    /// Its parents: none for the root, one usually, several for a merge revision.
    pub parents: &'a [&'a str],
    /// Where it was declared (a file path), named in every error about it.
    pub source: &'a str,
}

/// A checked revision graph: one root, no cycle, every parent known. It may have several
/// heads (two branches not merged yet); whether that is allowed is the caller's policy.
#[derive(Debug, Clone)]
pub struct Graph<'a> {
    /// Revision ids in the canonical topological order (parents before children; ties in
    /// the order the revisions were given).
    ids: Vec<&'a str>,
    /// For each position, the index of its revision in the slice [`Graph::new`] was given;
    /// `None` when that is the position itself (revisions given parents first).
    given: Option<Vec<usize>>,
    sources: Vec<&'a str>,
    parents: Edges,
    children: Edges,
    index: IdIndex,
}

/// Revision id -> index, as a hash table of the indices alone (4 bytes a slot): the keys are
/// read from the ids the indices point at. The graph is built at every start-up, and a map
/// holding each id beside its index was a fifth of the memory a 1,000-migration start-up
/// touched (51 KB, where this is 10 KB). Hashed with foldhash: the ids are the binary's own,
/// so there is no hash flooding to resist.
#[derive(Clone, Default)]
struct IdIndex {
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdIndex({} ids)", self.table.len())
    }
}

impl IdIndex {
    fn with_capacity(n: usize) -> Self {
        IdIndex { table: hashbrown::HashTable::with_capacity(n), hasher: Default::default() }
    }

    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The index of `id`, where `id_of` reads the id at an index.
    fn get<'k>(&self, id: &str, id_of: impl Fn(usize) -> &'k str) -> Option<usize> {
        self.table.find(self.hash(id), |&i| id_of(i as usize) == id).map(|&i| i as usize)
    }

    /// Adds `id` at index `i`, or returns the index it already has.
    fn insert<'k>(&mut self, id: &str, i: usize, id_of: impl Fn(usize) -> &'k str) -> Result<(), usize> {
        let hash = self.hash(id);
        let hasher = &self.hasher;
        match self.table.entry(hash, |&j| id_of(j as usize) == id, |&j| hasher.hash_one(id_of(j as usize))) {
            hashbrown::hash_table::Entry::Occupied(at) => Err(*at.get() as usize),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                // Indices fit: a graph of more than 4 billion revisions cannot be declared.
                slot.insert(i as u32);
                Ok(())
            }
        }
    }

    /// Every index `i` becomes `to[i]` (the keys stay the same ids, so their hashes hold).
    fn renumber(&mut self, to: &[usize]) {
        for i in self.table.iter_mut() {
            *i = to[*i as usize] as u32;
        }
    }
}

/// Adjacency lists in one allocation (compressed rows) of `u32` positions: the graph is
/// built at every start-up, where every byte it allocates is a fresh page to fault in (a
/// `Vec` per revision and direction cost more than the rest of it; `usize` lists, twice
/// these).
#[derive(Debug, Clone, Default)]
pub(crate) struct Edges {
    /// `to[start[i]..start[i + 1]]` are the targets of node `i`.
    start: Vec<u32>,
    to: Vec<u32>,
}

/// A position or count as stored: every graph is checked to hold fewer than `u32::MAX`
/// revisions and parent links ([`ChainError::TooMany`], [`ChainError::TooManyLinks`]), so
/// nothing is cut.
fn narrow(i: usize) -> u32 {
    i as u32
}

impl Edges {
    /// The lists of `n` nodes from `(from, to)` pairs; each list keeps the pairs' order.
    fn from_pairs(n: usize, pairs: &[(usize, usize)]) -> Self {
        let mut start = vec![0u32; n + 1];
        for &(from, _) in pairs {
            start[from + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut to = vec![0u32; pairs.len()];
        for &(from, target) in pairs {
            to[next[from] as usize] = narrow(target);
            next[from] += 1;
        }
        Edges { start, to }
    }

    /// The reverse lists: node `j` lists every `i` whose list holds `j`, in ascending `i`
    /// (the order the drawing expects), without a list of pairs.
    fn transposed(&self) -> Self {
        let n = self.len();
        let mut start = vec![0u32; n + 1];
        for &j in &self.to {
            start[j as usize + 1] += 1;
        }
        for j in 0..n {
            start[j + 1] += start[j];
        }
        let mut next = start.clone();
        let mut to = vec![0u32; self.to.len()];
        for (i, targets) in self.iter().enumerate() {
            for &j in targets {
                to[next[j as usize] as usize] = narrow(i);
                next[j as usize] += 1;
            }
        }
        Edges { start, to }
    }

    /// How many nodes.
    pub(crate) fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Every node's list, in node order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u32]> {
        (0..self.len()).map(|i| &self[i])
    }
}

impl std::ops::Index<usize> for Edges {
    type Output = [u32];
    fn index(&self, i: usize) -> &[u32] {
        &self.to[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

/// The canonical topological order of `given` (indices into the declared revisions): parents
/// before children, ties to the revision given first (Kahn's algorithm with a min-heap). A
/// revision in a cycle is left out. `links` are `(child, parent)` pairs, `n` how many revisions
/// were declared.
fn topological_order(n: usize, given: &[usize], links: &[(usize, usize)]) -> Vec<usize> {
    // When every parent was given before its child, the given order is a topological order,
    // and no permutation is smaller: it is what Kahn's algorithm would return, without the
    // heap and the child lists (the usual case, at every start-up).
    if links.iter().all(|&(child, parent)| parent < child) {
        return given.to_vec();
    }
    kahn_order(n, given, links)
}

/// [`topological_order`] the general way, for revisions given in any order.
fn kahn_order(n: usize, given: &[usize], links: &[(usize, usize)]) -> Vec<usize> {
    let mut in_degree = vec![0usize; n];
    for &(child, _) in links {
        in_degree[child] += 1;
    }
    let kids = Edges::from_pairs(n, &links.iter().map(|&(c, p)| (p, c)).collect::<Vec<_>>());
    let mut ready: BinaryHeap<Reverse<usize>> =
        given.iter().copied().filter(|&i| in_degree[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(given.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for k in kids[i].iter().map(|&k| k as usize) {
            in_degree[k] -= 1;
            if in_degree[k] == 0 {
                ready.push(Reverse(k));
            }
        }
    }
    order
}

impl<'a> Graph<'a> {
    /// Checks `revisions` and builds the graph, or returns every problem found: duplicates,
    /// unknown parents, cycles, no root or several roots. Several heads are not an error here.
    pub fn new(revisions: &[Revision<'a>]) -> Result<Self, Vec<ChainError>> {
        Self::build(revisions.len(), |i| revisions[i])
    }

    /// [`Graph::new`] on the `n` revisions `revision(0..n)` reads, so a caller holding them in
    /// another form (the migration set, at every start-up) needs no list of them.
    pub(crate) fn build(n: usize, revision: impl Fn(usize) -> Revision<'a>) -> Result<Self, Vec<ChainError>> {
        // Indexed vectors and one index: this runs at every start-up, on every revision.
        if u32::try_from(n).is_err() {
            return Err(vec![ChainError::TooMany { count: n }]);
        }
        let id_of = |i: usize| revision(i).id;
        let mut errors = Vec::new();
        // Each id's first declaration.
        let mut first = IdIndex::with_capacity(n);
        let mut copies: Vec<usize> = Vec::new();
        for i in 0..n {
            if first.insert(id_of(i), i, id_of).is_err() {
                copies.push(i);
            }
        }
        let first_of = |id: &str| first.get(id, id_of);
        if !copies.is_empty() {
            let mut files: HashMap<&'a str, Vec<String>> = HashMap::new();
            for &i in &copies {
                let r = revision(i);
                let list = files.entry(r.id).or_insert_with(|| {
                    first_of(r.id).map(|f| revision(f).source.to_string()).into_iter().collect()
                });
                list.push(r.source.to_string());
            }
            let mut duplicates: Vec<ChainError> = files
                .into_iter()
                .map(|(id, files)| ChainError::Duplicate { revision: id.to_string(), files })
                .collect();
            duplicates.sort_by_key(ToString::to_string);
            errors.extend(duplicates);
        }
        // Each revision's parents, as declared, by index: one pass, into the lists the graph
        // keeps when nothing needs reordering. Only the first declaration of a duplicate takes
        // part in the graph (a copy's list stays empty).
        let is_copy = |i: usize| !copies.is_empty() && copies.binary_search(&i).is_ok();
        let mut declared = Edges { start: Vec::with_capacity(n + 1), to: Vec::with_capacity(n) };
        declared.start.push(0);
        let mut roots = Vec::new();
        let mut parents_first = true;
        for i in 0..n {
            if !is_copy(i) {
                let r = revision(i);
                for parent in r.parents {
                    // Most histories are given as a chain: the previous revision is the
                    // parent, found by one comparison instead of a hash (exact only without
                    // copies).
                    let previous = (copies.is_empty() && i > 0 && id_of(i - 1) == *parent).then(|| i - 1);
                    match previous.or_else(|| first_of(parent)) {
                        Some(p) => {
                            parents_first &= p < i;
                            declared.to.push(narrow(p));
                        }
                        None => errors.push(ChainError::UnknownParent {
                            revision: r.id.to_string(),
                            parent: parent.to_string(),
                            file: r.source.to_string(),
                        }),
                    }
                }
                if r.parents.is_empty() {
                    roots.push(i);
                }
            }
            match u32::try_from(declared.to.len()) {
                Ok(end) => declared.start.push(end),
                Err(_) => return Err(vec![ChainError::TooManyLinks { count: declared.to.len() }]),
            }
        }
        // Without copies, and with every parent given before its child, the given order is
        // the canonical order (what Kahn's algorithm would return) and the lists are already
        // by position: no pairs, no renumbering (the usual case, at every start-up). Otherwise
        // the order is worked out and everything renumbered into it.
        let reordered = if copies.is_empty() && parents_first {
            None
        } else {
            let given: Vec<usize> = (0..n).filter(|&i| !is_copy(i)).collect();
            // (child, parent) in the given order, parents as declared.
            let links: Vec<(usize, usize)> =
                given.iter().flat_map(|&i| declared[i].iter().map(move |&p| (i, p as usize))).collect();
            let order = topological_order(n, &given, &links);
            if order.len() < given.len() {
                errors.push(ChainError::Cycle { cycle: find_cycle(&revision, &given, &first_of, &order) });
            }
            Some((order, links))
        };
        if roots.len() > 1 {
            let roots = roots.iter().map(|&i| {
                let r = revision(i);
                (r.id.to_string(), r.source.to_string())
            });
            errors.push(ChainError::MultipleRoots { roots: roots.collect() });
        } else if roots.is_empty() && n > 0 {
            errors.push(ChainError::NoRoot);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let Some((order, mut links)) = reordered else {
            let ids = (0..n).map(id_of).collect();
            let sources = (0..n).map(|i| revision(i).source).collect();
            let children = declared.transposed();
            // Without errors there are no duplicates: `first` holds exactly the ids, at their
            // positions.
            return Ok(Graph { ids, given: None, sources, parents: declared, children, index: first });
        };
        drop(declared);
        let mut position = vec![0usize; n];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos;
        }
        let ids: Vec<&'a str> = order.iter().map(|&i| id_of(i)).collect();
        let sources = order.iter().map(|&i| revision(i).source).collect();
        // `links` is in the given order, each child's parents as declared: counted into
        // positions, every parent list keeps the declared order.
        for link in &mut links {
            *link = (position[link.0], position[link.1]);
        }
        let parents = Edges::from_pairs(n, &links);
        drop(links);
        let children = parents.transposed();
        // Without errors there are no duplicates: `first` holds exactly the ids, so it becomes
        // the index by position without hashing them again.
        let mut index = first;
        index.renumber(&position);
        Ok(Graph { ids, given: Some(order), sources, parents, children, index })
    }

    /// The position of `id` in [`Graph::revisions`].
    fn at(&self, id: &str) -> Option<usize> {
        self.index.get(id, |i| self.ids[i])
    }

    /// Revision ids in the canonical topological order.
    pub fn revisions(&self) -> &[&'a str] {
        &self.ids
    }
    /// For each position of [`Graph::revisions`], the index of that revision in the slice
    /// the graph was built from: what puts the caller's own records in the graph's order
    /// without looking each id up. `None` when every position is its own index (revisions
    /// given parents first, as a migrations crate's build script gives them).
    pub fn given_order(&self) -> Option<&[usize]> {
        self.given.as_deref()
    }
    /// How many revisions the graph holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// Whether the graph holds no revision.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    /// Whether `id` is a revision of the graph.
    pub fn contains(&self, id: &str) -> bool {
        self.at(id).is_some()
    }
    /// The parents of `id` (empty for the root or an unknown id).
    pub fn parents_of(&self, id: &str) -> Vec<&'a str> {
        self.at(id).map_or_else(Vec::new, |i| self.parents[i].iter().map(|&p| self.ids[p as usize]).collect())
    }
    /// The revisions no other revision names as parent, in topological order.
    pub fn heads(&self) -> Vec<&'a str> {
        (0..self.ids.len()).filter(|&i| self.children[i].is_empty()).map(|i| self.ids[i]).collect()
    }
    /// The place of `id` in [`Graph::revisions`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.at(id)
    }
    /// Where `id` was declared.
    pub fn source_of(&self, id: &str) -> Option<&'a str> {
        self.at(id).map(|i| self.sources[i])
    }

    /// Resolves a revision id or a unique prefix of one.
    pub fn find(&self, prefix: &str) -> Result<&'a str, TargetError> {
        if let Some(i) = self.at(prefix) {
            return Ok(self.ids[i]);
        }
        let matches: Vec<&'a str> = self.ids.iter().copied().filter(|id| id.starts_with(prefix)).collect();
        match matches.as_slice() {
            [id] => Ok(id),
            [] => Err(TargetError::unknown(prefix, self.ids.iter().copied())),
            _ => Err(TargetError::Ambiguous {
                prefix: prefix.to_string(),
                candidates: matches.iter().map(|id| id.to_string()).collect(),
            }),
        }
    }

    /// `id` and all its ancestors, as positions.
    fn with_ancestors(&self, i: usize) -> Vec<bool> {
        reach(i, &self.parents)
    }

    /// `id` and all its descendants, as positions.
    fn with_descendants(&self, i: usize) -> Vec<bool> {
        reach(i, &self.children)
    }

    /// The empty state: nothing applied.
    pub fn base(&self) -> State {
        State { applied: vec![false; self.ids.len()] }
    }

    /// Every revision applied.
    pub fn all_applied(&self) -> State {
        State { applied: vec![true; self.ids.len()] }
    }

    /// The state whose heads are `heads` (each and all its ancestors applied). Refuses an
    /// unknown revision.
    pub fn state_from_heads(&self, heads: &[&str]) -> Result<State, StateError> {
        let mut applied = vec![false; self.ids.len()];
        for head in heads {
            let i = self.at(head).ok_or_else(|| StateError::Unknown(head.to_string()))?;
            for (a, reached) in applied.iter_mut().zip(self.with_ancestors(i)) {
                *a |= reached;
            }
        }
        Ok(State { applied })
    }

    /// The state that has exactly `revisions` applied. Refuses an unknown revision and a
    /// set that is not closed under ancestry (a revision applied without one of its parents).
    pub fn state_from_applied(&self, revisions: &[&str]) -> Result<State, StateError> {
        let mut applied = vec![false; self.ids.len()];
        for r in revisions {
            let i = self.at(r).ok_or_else(|| StateError::Unknown(r.to_string()))?;
            applied[i] = true;
        }
        for (i, _) in applied.iter().enumerate().filter(|(_, a)| **a) {
            if let Some(&p) = self.parents[i].iter().find(|&&p| !applied[p as usize]) {
                return Err(StateError::ParentMissing {
                    revision: self.ids[i].to_string(),
                    parent: self.ids[p as usize].to_string(),
                });
            }
        }
        Ok(State { applied })
    }

    /// The heads of `state`: applied revisions none of whose children is applied.
    pub fn heads_of(&self, state: &State) -> Vec<&'a str> {
        (0..self.ids.len()).filter(|&i| self.is_head_in(state, i)).map(|i| self.ids[i]).collect()
    }

    /// Whether position `i` is a head of `state`.
    fn is_head_in(&self, state: &State, i: usize) -> bool {
        state.applied[i] && !self.children[i].iter().any(|&c| state.applied[c as usize])
    }

    /// The applied revisions of `state`, in topological order.
    pub fn applied_in(&self, state: &State) -> Vec<&'a str> {
        (0..self.ids.len()).filter(|&i| state.applied[i]).map(|i| self.ids[i]).collect()
    }

    /// Whether `id` is applied in `state`.
    pub fn is_applied(&self, state: &State, id: &str) -> bool {
        self.at(id).is_some_and(|i| state.applied[i])
    }
}

/// Position `i` and every position reachable from it along `edges`.
fn reach(i: usize, edges: &Edges) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut stack = vec![i];
    while let Some(j) = stack.pop() {
        if !std::mem::replace(&mut seen[j], true) {
            stack.extend(edges[j].iter().map(|&k| k as usize));
        }
    }
    seen
}

/// A cycle among the revisions Kahn's algorithm could not order, for the error.
fn find_cycle<'a>(
    revision: &impl Fn(usize) -> Revision<'a>,
    given: &[usize],
    first: &impl Fn(&str) -> Option<usize>,
    ordered: &[usize],
) -> Vec<(String, String)> {
    let done: std::collections::HashSet<usize> = ordered.iter().copied().collect();
    let Some(&start) = given.iter().find(|i| !done.contains(i)) else { return Vec::new() };
    // Walk parents among the unordered revisions until one repeats: every unordered revision
    // has an unordered parent, so the walk must meet itself.
    let mut walk = vec![start];
    let mut at = start;
    loop {
        let next = revision(at).parents.iter().filter_map(|p| first(p)).find(|p| !done.contains(p));
        let Some(next) = next else { return Vec::new() };
        if let Some(pos) = walk.iter().position(|&w| w == next) {
            let mut cycle: Vec<(String, String)> = walk[pos..]
                .iter()
                .map(|&w| {
                    let r = revision(w);
                    (r.id.to_string(), r.source.to_string())
                })
                .collect();
            cycle.reverse();
            return cycle;
        }
        walk.push(next);
        at = next;
    }
}

/// What a database has applied, as a set of the graph's revisions closed under ancestry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    applied: Vec<bool>,
}

impl State {
    /// How many revisions are applied.
    pub fn count(&self) -> usize {
        self.applied.iter().filter(|a| **a).count()
    }

    /// This state after `step`.
    pub fn after(&self, graph: &Graph<'_>, step: &Step<'_>) -> State {
        let mut next = self.clone();
        next.apply(graph, step);
        next
    }

    /// Takes `step` in place; returns the step's position in the graph (`None`: a revision
    /// the graph does not know, which changes nothing).
    fn apply(&mut self, graph: &Graph<'_>, step: &Step<'_>) -> Option<usize> {
        let i = graph.at(step.revision)?;
        self.applied[i] = step.direction == Direction::Up;
        Some(i)
    }
}

/// Follows a state step by step and names its version after each, at a cost that does not
/// grow with the graph: a step changes only whether its own revision and its parents are
/// heads, so the heads are updated there instead of recomputed over every revision (which made
/// planning a run of N migrations cost N² for the versions its steps record).
#[derive(Debug, Clone)]
pub struct Walk<'g, 'a> {
    graph: &'g Graph<'a>,
    state: State,
    heads: Vec<usize>,
}

impl<'g, 'a> Walk<'g, 'a> {
    /// A walk starting at `state`.
    pub fn new(graph: &'g Graph<'a>, state: &State) -> Self {
        let heads = (0..graph.ids.len()).filter(|&i| graph.is_head_in(state, i)).collect();
        Walk { graph, state: state.clone(), heads }
    }

    /// Takes `step`.
    pub fn step(&mut self, step: &Step<'_>) {
        let Some(i) = self.state.apply(self.graph, step) else { return };
        let touched = || std::iter::once(i).chain(self.graph.parents[i].iter().map(|&p| p as usize));
        self.heads.retain(|h| touched().all(|t| t != *h));
        for t in touched() {
            // A parent declared twice is touched twice, and is one head.
            if self.graph.is_head_in(&self.state, t) && !self.heads.contains(&t) {
                self.heads.push(t);
            }
        }
    }

    /// The version row of the state reached ([`encode_heads`] of its heads).
    pub fn version(&self) -> Option<String> {
        encode_heads(&self.heads.iter().map(|&h| self.graph.ids[h]).collect::<Vec<_>>())
    }
}

/// A recorded state that does not fit the graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The database names a revision this code does not know.
    #[error("the database has applied revision {0}, which this code does not know")]
    Unknown(String),
    /// The recorded set has a revision applied without one of its parents.
    #[error("the database has applied {revision} but not its parent {parent}, which is impossible")]
    ParentMissing {
        /// The applied revision.
        revision: String,
        /// Its parent that is not applied.
        parent: String,
    },
}

/// Which way a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Applies a revision's upgrade.
    Up,
    /// Reverts a revision with its downgrade.
    Down,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        })
    }
}

/// One step of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<'a> {
    /// The revision to apply or revert.
    pub revision: &'a str,
    /// Which way.
    pub direction: Direction,
}

/// What moving to a target takes: steps in order, all in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Which way the plan goes; `None` when there is nothing to do.
    pub direction: Option<Direction>,
    /// The steps, in the order they run.
    pub steps: Vec<Step<'a>>,
}

impl<'a> Plan<'a> {
    fn new(direction: Direction, revisions: Vec<&'a str>) -> Self {
        let steps: Vec<Step<'a>> =
            revisions.into_iter().map(|revision| Step { revision, direction }).collect();
        Plan { direction: (!steps.is_empty()).then_some(direction), steps }
    }

    /// Whether the plan runs nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The revisions the plan runs, in order.
    pub fn revisions(&self) -> Vec<&'a str> {
        self.steps.iter().map(|s| s.revision).collect()
    }
}

/// Plans the move of a database in `state` to `target`:
/// - `head`: applies every revision not applied, parents first (all heads of a branching
///   history);
/// - `base`: reverts every applied revision, children first;
/// - a revision `R` not applied: applies `R` and its missing ancestors; `R` applied: reverts
///   the applied revisions that descend from `R` (revisions on other branches stay);
/// - `+N`: the first `N` steps towards head; `-N`: reverts the `N` applied revisions that
///   come last in the graph's order (each has no applied child when it is reverted).
///
/// Upgrades run in the graph's topological order and downgrades in its reverse, so every
/// step finds its parents applied (up) or its children reverted (down).
pub fn plan<'a>(graph: &Graph<'a>, state: &State, target: &Target) -> Result<Plan<'a>, TargetError> {
    let n = graph.ids.len();
    let pending = |wanted: &dyn Fn(usize) -> bool| -> Vec<&'a str> {
        (0..n).filter(|&i| !state.applied[i] && wanted(i)).map(|i| graph.ids[i]).collect()
    };
    let reverting = |wanted: &dyn Fn(usize) -> bool| -> Vec<&'a str> {
        (0..n).rev().filter(|&i| state.applied[i] && wanted(i)).map(|i| graph.ids[i]).collect()
    };
    Ok(match target {
        Target::Head => Plan::new(Direction::Up, pending(&|_| true)),
        Target::Base => Plan::new(Direction::Down, reverting(&|_| true)),
        Target::Revision(prefix) => {
            let id = graph.find(prefix)?;
            let i = graph.at(id).ok_or_else(|| TargetError::unknown(prefix, graph.ids.iter().copied()))?;
            if state.applied[i] {
                let below = graph.with_descendants(i);
                Plan::new(Direction::Down, reverting(&|j| j != i && below[j]))
            } else {
                let above = graph.with_ancestors(i);
                Plan::new(Direction::Up, pending(&|j| above[j]))
            }
        }
        Target::Relative(steps) => {
            let from = || {
                let heads = graph.heads_of(state);
                if heads.is_empty() {
                    "base".to_string()
                } else {
                    heads.join("+")
                }
            };
            let count = usize::try_from(steps.unsigned_abs()).unwrap_or(usize::MAX);
            let (direction, mut candidates, limit) = if *steps > 0 {
                (Direction::Up, pending(&|_| true), "head")
            } else {
                (Direction::Down, reverting(&|_| true), "base")
            };
            if count > candidates.len() {
                return Err(TargetError::OutOfRange {
                    steps: *steps,
                    from: from(),
                    limit,
                    available: candidates.len(),
                });
            }
            candidates.truncate(count);
            Plan::new(direction, candidates)
        }
    })
}

/// The version row of a state whose heads are `heads`: sorted, joined by single spaces
/// (revision ids hold no spaces); `None` for base, which is an empty version table.
pub fn encode_heads(heads: &[&str]) -> Option<String> {
    let mut heads = heads.to_vec();
    heads.sort_unstable();
    (!heads.is_empty()).then(|| heads.join(" "))
}

/// The steps that take `from` towards `to` in `direction` only: the revisions of `to` that
/// `from` lacks (up, parents first), or those of `from` that `to` lacks (down, children
/// first). A runner that resolved its target before waiting for the migration lock plans
/// again with this to the same end, from wherever another migrator left the database.
pub fn between<'a>(graph: &Graph<'a>, from: &State, to: &State, direction: Direction) -> Plan<'a> {
    let n = graph.ids.len();
    let revisions = match direction {
        Direction::Up => {
            (0..n).filter(|&i| to.applied[i] && !from.applied[i]).map(|i| graph.ids[i]).collect()
        }
        Direction::Down => {
            (0..n).rev().filter(|&i| from.applied[i] && !to.applied[i]).map(|i| graph.ids[i]).collect()
        }
    };
    Plan::new(direction, revisions)
}

impl State {
    /// This state after every step of `plan`.
    pub fn after_plan(&self, graph: &Graph<'_>, plan: &Plan<'_>) -> State {
        let mut state = self.clone();
        for step in &plan.steps {
            state.apply(graph, step);
        }
        state
    }
}

pub mod draw;

#[cfg(test)]
mod tests;
