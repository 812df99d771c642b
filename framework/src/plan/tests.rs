use super::*;
use proptest::prelude::*;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A graph from `(id, parents)` pairs, sources `r<id>.rs`.
fn graph(spec: &[(&'static str, &'static [&'static str])]) -> Graph<'static> {
    let revisions: Vec<Revision<'static>> = spec
        .iter()
        .map(|(id, parents)| Revision { id, parents, source: leak(format!("r{id}.rs")) })
        .collect();
    Graph::new(&revisions).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(spec: &[(&'static str, &'static [&'static str])]) -> Vec<ChainError> {
    let revisions: Vec<Revision<'static>> = spec
        .iter()
        .map(|(id, parents)| Revision { id, parents, source: leak(format!("r{id}.rs")) })
        .collect();
    Graph::new(&revisions).expect_err("the graph should be refused")
}

fn target(text: &str) -> Target {
    text.parse().expect("target")
}

fn revs(plan: &Plan<'_>) -> Vec<&'static str> {
    plan.steps.iter().map(|s| leak(s.revision.to_string())).collect()
}

/// Runs `plan` on `state`, checking every step is legal where it runs.
fn run(graph: &Graph<'_>, state: &State, plan: &Plan<'_>) -> State {
    let mut at = state.clone();
    for step in &plan.steps {
        match step.direction {
            Direction::Up => {
                assert!(!graph.is_applied(&at, step.revision), "{} applied twice", step.revision);
                for p in graph.parents_of(step.revision) {
                    assert!(graph.is_applied(&at, p), "{} before its parent {p}", step.revision);
                }
            }
            Direction::Down => {
                assert!(graph.is_applied(&at, step.revision), "{} reverted but not applied", step.revision);
                let i = graph.at(step.revision).unwrap();
                for c in graph.children[i].iter().map(|&c| c as usize) {
                    assert!(!at.applied[c], "{} reverted before its child {}", step.revision, graph.ids[c]);
                }
            }
        }
        at = at.after(graph, step);
    }
    at
}

const LINEAR: &[(&str, &[&str])] = &[("a1", &[]), ("b2", &["a1"]), ("b3", &["b2"])];

/// a, then two branches b and c, merged by m.
const MERGED: &[(&str, &[&str])] = &[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("m", &["b", "c"])];

#[test]
fn a_linear_history_plans_like_a_chain() {
    let g = graph(&[("b3", &["b2"]), ("a1", &[]), ("b2", &["a1"])]);
    assert_eq!(g.revisions(), ["a1", "b2", "b3"], "parents first, whatever the input order");
    assert_eq!(g.given_order(), Some(&[1, 2, 0][..]), "each position's index in the input");
    assert_eq!(g.heads(), ["b3"]);
    let base = g.base();
    assert_eq!(revs(&plan(&g, &base, &Target::Head).unwrap()), ["a1", "b2", "b3"]);
    assert_eq!(revs(&plan(&g, &base, &target("+2")).unwrap()), ["a1", "b2"]);
    let top = g.all_applied();
    let down = plan(&g, &top, &target("-1")).unwrap();
    assert_eq!((down.direction, revs(&down)), (Some(Direction::Down), vec!["b3"]));
    assert_eq!(revs(&plan(&g, &top, &Target::Base).unwrap()), ["b3", "b2", "a1"]);
    assert!(plan(&g, &top, &Target::Head).unwrap().is_empty());
    // A revision applied: down to it; not applied: up to it.
    assert_eq!(revs(&plan(&g, &top, &target("a1")).unwrap()), ["b3", "b2"]);
    let up = plan(&g, &g.state_from_heads(&["a1"]).unwrap(), &target("b3")).unwrap();
    assert_eq!((up.direction, revs(&up)), (Some(Direction::Up), vec!["b2", "b3"]));
}

#[test]
fn prefixes_resolve_uniquely() {
    let g = graph(LINEAR);
    assert_eq!(g.find("a"), Ok("a1"));
    assert_eq!(g.find("b3"), Ok("b3"));
    assert!(matches!(g.find("b"), Err(TargetError::Ambiguous { candidates, .. }) if candidates.len() == 2));
    assert!(matches!(g.find("zz"), Err(TargetError::Unknown { .. })));
    assert!(matches!(plan(&g, &g.base(), &target("b")), Err(TargetError::Ambiguous { .. })));
}

#[test]
fn relative_steps_out_of_range_say_how_many_are_available() {
    let g = graph(LINEAR);
    let one = g.state_from_heads(&["a1"]).unwrap();
    let err = plan(&g, &one, &target("+3")).unwrap_err();
    assert_eq!(err, TargetError::OutOfRange { steps: 3, from: "a1".into(), limit: "head", available: 2 });
    let err = plan(&g, &one, &target("-2")).unwrap_err();
    assert_eq!(err, TargetError::OutOfRange { steps: -2, from: "a1".into(), limit: "base", available: 1 });
    let err = plan(&g, &g.base(), &Target::Relative(i64::MIN)).unwrap_err();
    assert!(matches!(err, TargetError::OutOfRange { from, .. } if from == "base"));
}

#[test]
fn a_merge_revision_runs_after_both_parents_and_is_reverted_first() {
    let g = graph(MERGED);
    assert_eq!(g.heads(), ["m"]);
    assert_eq!(g.parents_of("m"), ["b", "c"]);
    let up = plan(&g, &g.base(), &Target::Head).unwrap();
    assert_eq!(revs(&up), ["a", "b", "c", "m"]);
    let top = run(&g, &g.base(), &up);
    assert_eq!(top, g.all_applied());
    assert_eq!(revs(&plan(&g, &top, &Target::Base).unwrap()), ["m", "c", "b", "a"]);
}

#[test]
fn a_database_that_applied_one_branch_before_the_other_existed_gets_the_rest() {
    // A developer's own database: b applied on their branch; after the git merge, c and m
    // arrive. Head applies exactly those, c before m.
    let g = graph(MERGED);
    let mine = g.state_from_applied(&["a", "b"]).unwrap();
    assert_eq!(g.heads_of(&mine), ["b"]);
    let up = plan(&g, &mine, &Target::Head).unwrap();
    assert_eq!(revs(&up), ["c", "m"]);
    // Up to c alone leaves two heads and no merge: representable.
    let both = run(&g, &mine, &plan(&g, &mine, &target("c")).unwrap());
    assert_eq!(g.heads_of(&both), ["b", "c"]);
    assert_eq!(g.applied_in(&both), ["a", "b", "c"]);
}

#[test]
fn downgrade_across_a_merge_point() {
    let g = graph(MERGED);
    let top = g.all_applied();
    // Down to b reverts what descends from b (the merge), not the other branch.
    let to_b = plan(&g, &top, &target("b")).unwrap();
    assert_eq!(revs(&to_b), ["m"]);
    let after = run(&g, &top, &to_b);
    assert_eq!(g.heads_of(&after), ["b", "c"]);
    // -2 from the top: the merge, then the latest branch revision.
    assert_eq!(revs(&plan(&g, &top, &target("-2")).unwrap()), ["m", "c"]);
    // Down to a: both branches and the merge, children first.
    assert_eq!(revs(&plan(&g, &top, &target("a")).unwrap()), ["m", "c", "b"]);
    // From two heads without the merge, down to c keeps b.
    assert!(plan(&g, &after, &target("c")).unwrap().is_empty());
    assert_eq!(revs(&plan(&g, &after, &target("a")).unwrap()), ["c", "b"]);
}

#[test]
fn recorded_states_are_checked_against_the_graph() {
    let g = graph(MERGED);
    assert_eq!(g.state_from_heads(&["b", "c"]).unwrap(), g.state_from_applied(&["a", "b", "c"]).unwrap());
    assert_eq!(g.state_from_heads(&["zz"]), Err(StateError::Unknown("zz".into())));
    assert_eq!(
        g.state_from_applied(&["a", "m"]),
        Err(StateError::ParentMissing { revision: "m".into(), parent: "b".into() })
    );
    assert_eq!(g.heads_of(&g.base()), Vec::<&str>::new());
}

#[test]
fn broken_graphs_name_every_problem_and_file() {
    let e = errors(&[("a", &[]), ("b", &["zz"]), ("c", &["a", "yy"])]);
    assert_eq!(e.iter().filter(|e| matches!(e, ChainError::UnknownParent { .. })).count(), 2);
    assert!(e.iter().any(|e| e.to_string().contains("rc.rs")), "{e:?}");
    let e = errors(&[("a", &[]), ("a", &[])]);
    assert!(matches!(&e[0], ChainError::Duplicate { files, .. } if files.len() == 2));
    let e = errors(&[("a", &[]), ("b", &["a", "c"]), ("c", &["b"])]);
    let cycle = e.iter().find(|e| matches!(e, ChainError::Cycle { .. })).expect("a cycle");
    assert!(cycle.to_string().contains("b (rb.rs)") && cycle.to_string().contains("c (rc.rs)"), "{cycle}");
    let e = errors(&[("a", &["b"]), ("b", &["a"])]);
    assert!(e.contains(&ChainError::NoRoot));
    let e = errors(&[("a", &[]), ("b", &[])]);
    assert!(e.iter().any(|e| matches!(e, ChainError::MultipleRoots { roots } if roots.len() == 2)));
    // Two heads are a policy question, not a broken graph.
    assert_eq!(graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"])]).heads(), ["b", "c"]);
    assert!(Graph::new(&[]).unwrap().is_empty());
}

/// A random DAG: revision 0 is the root; every later one has one to three parents among the
/// earlier ones. With a random applied state (closed under ancestry) and a random target.
fn dag_state_target() -> impl Strategy<Value = (Graph<'static>, State, Target)> {
    (1usize..40)
        .prop_flat_map(|n| {
            let parents = proptest::collection::vec(
                proptest::collection::vec(any::<prop::sample::Index>(), 1..=3),
                n - 1,
            );
            let heads = proptest::collection::vec(any::<prop::sample::Index>(), 0..4);
            let target = prop_oneof![
                Just(Target::Head),
                Just(Target::Base),
                any::<prop::sample::Index>().prop_map(move |i| Target::Revision(format!("r{}", i.index(n)))),
                (-45i64..45).prop_filter("zero is no target", |s| *s != 0).prop_map(Target::Relative),
            ];
            (Just(n), parents, heads, target)
        })
        .prop_map(|(n, parents, heads, target)| {
            let ids: Vec<&'static str> = (0..n).map(|i| leak(format!("r{i}"))).collect();
            let mut revisions = vec![Revision { id: ids[0], parents: &[], source: "r0.rs" }];
            for (i, picks) in parents.iter().enumerate() {
                let child = i + 1;
                let mut ps: Vec<&'static str> = picks.iter().map(|p| ids[p.index(child)]).collect();
                ps.sort_unstable();
                ps.dedup();
                revisions.push(Revision {
                    id: ids[child],
                    parents: Box::leak(ps.into_boxed_slice()),
                    source: ids[child],
                });
            }
            let graph = Graph::new(&revisions).expect("a random DAG is sound");
            let heads: Vec<&str> = heads.iter().map(|h| ids[h.index(n)]).collect();
            let state = graph.state_from_heads(&heads).expect("known heads");
            (graph, state, target)
        })
}

#[test]
fn a_walk_counts_a_parent_declared_twice_once() {
    let g = graph(&[("a", &[]), ("b", &["a", "a"]), ("c", &["b"])]);
    let mut walk = Walk::new(&g, &g.all_applied());
    walk.step(&Step { revision: "c", direction: Direction::Down });
    walk.step(&Step { revision: "b", direction: Direction::Down });
    assert_eq!(walk.version().as_deref(), Some("a"));
    walk.step(&Step { revision: "b", direction: Direction::Up });
    assert_eq!(walk.version().as_deref(), Some("b"));
}

proptest! {
    #![proptest_config(crate::proptest_config())]
    #[test]
    fn every_plan_respects_ancestry_and_reaches_its_target((g, state, target) in dag_state_target()) {
        let plan = match plan(&g, &state, &target) {
            Ok(plan) => plan,
            Err(TargetError::OutOfRange { .. }) => return Ok(()),
            Err(e) => panic!("{target}: {e}"),
        };
        prop_assert!(plan.steps.iter().all(|s| Some(s.direction) == plan.direction));
        let end = run(&g, &state, &plan);
        match &target {
            Target::Head => prop_assert_eq!(&end, &g.all_applied()),
            Target::Base => prop_assert_eq!(end.count(), 0),
            Target::Revision(r) => {
                let i = g.at(r.as_str()).unwrap();
                prop_assert!(end.applied[i]);
                prop_assert!(g.with_ancestors(i).iter().zip(&end.applied).all(|(anc, a)| !anc || *a));
                if state.applied[i] {
                    let below = g.with_descendants(i);
                    prop_assert!((0..g.len()).all(|j| j == i || !below[j] || !end.applied[j]));
                }
            }
            Target::Relative(n) => {
                prop_assert_eq!(plan.steps.len() as i64, n.abs());
                prop_assert_eq!(end.count() as i64, state.count() as i64 + n);
            }
        }
    }

    #[test]
    fn a_walk_names_the_version_of_every_state_it_passes((g, state, target) in dag_state_target()) {
        let Ok(plan) = plan(&g, &state, &target) else { return Ok(()) };
        let mut walk = Walk::new(&g, &state);
        prop_assert_eq!(walk.version(), encode_heads(&g.heads_of(&state)));
        let mut at = state.clone();
        for step in &plan.steps {
            walk.step(step);
            at = at.after(&g, step);
            prop_assert_eq!(walk.version(), encode_heads(&g.heads_of(&at)), "after {:?}", step);
        }
        // And back down to where it started, through merges and branch points both ways.
        for step in plan.steps.iter().rev() {
            let back = Step { revision: step.revision, direction: match step.direction {
                Direction::Up => Direction::Down,
                Direction::Down => Direction::Up,
            } };
            walk.step(&back);
            at = at.after(&g, &back);
            prop_assert_eq!(walk.version(), encode_heads(&g.heads_of(&at)), "after {:?}", back);
        }
        prop_assert_eq!(at, state);
    }

    #[test]
    fn up_then_down_returns_to_the_starting_state((g, state, target) in dag_state_target()) {
        let Ok(up) = plan(&g, &state, &target) else { return Ok(()) };
        if up.direction != Some(Direction::Up) {
            return Ok(());
        }
        let top = run(&g, &state, &up);
        let back = Plan::new(Direction::Down, up.steps.iter().rev().map(|s| s.revision).collect());
        prop_assert_eq!(run(&g, &top, &back), state.clone());
        // And the planner's own -N from there reverts a valid set of the same size.
        let down = plan(&g, &top, &Target::Relative(-(up.steps.len() as i64))).expect("in range");
        prop_assert_eq!(run(&g, &top, &down).count(), state.count());
    }
}

/// Random `(child, parent)` links over `n` revisions, every parent given before its child.
fn links_parents_first() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
    (1usize..40)
        .prop_flat_map(|n| {
            let picks = proptest::collection::vec(
                (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
                0..80,
            );
            (Just(n), picks)
        })
        .prop_map(|(n, picks)| {
            let links = picks
                .into_iter()
                .filter(|_| n > 1)
                .map(|(c, p)| {
                    let child = 1 + c.index(n - 1);
                    (child, p.index(child))
                })
                .collect();
            (n, links)
        })
}

proptest! {
    #![proptest_config(crate::proptest_config())]
    /// The shortcut's claim: when every parent comes before its child, the given order is
    /// the one Kahn's algorithm (ties to the revision given first) returns.
    #[test]
    fn parents_given_first_keep_the_given_order((n, links) in links_parents_first()) {
        let given: Vec<usize> = (0..n).collect();
        prop_assert_eq!(kahn_order(n, &given, &links), given.clone());
        prop_assert_eq!(topological_order(n, &given, &links), given);
    }
}

#[test]
fn revisions_given_before_their_parents_are_ordered_parents_first() {
    // Children listed first, and a second branch whose root-side parent comes late: the
    // shortcut must not apply, and ties still go to the revision given first.
    let g = graph(&[("d", &["c"]), ("x", &["a"]), ("c", &["b"]), ("b", &["a"]), ("a", &[])]);
    assert_eq!(g.revisions(), ["a", "x", "b", "c", "d"]);
    assert_eq!(g.given_order(), Some(&[4, 1, 3, 2, 0][..]));
    assert_eq!(g.parents_of("d"), ["c"]);
    assert_eq!(g.heads(), ["x", "d"]);
    // A chain given in order keeps it, each parent found as the previous revision.
    let chain = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"]), ("m", &["c", "a"])]);
    assert_eq!(chain.revisions(), ["a", "b", "c", "m"]);
    assert_eq!(chain.given_order(), None, "given parents first: every position its own index");
    assert_eq!(chain.parents_of("m"), ["c", "a"]);
    assert_eq!(chain.position("c"), Some(2));
}

/// A random DAG as [`dag_state_target`] makes it, given in a random order, with ids of
/// varied lengths (so the index's keys differ in more than a digit).
fn shuffled_dag() -> impl Strategy<Value = Vec<Revision<'static>>> {
    random_dag().prop_shuffle()
}

/// [`shuffled_dag`] given parents first (each revision after its parents), as a migrations
/// crate's build script gives them: the graph's shortcut.
fn random_dag() -> impl Strategy<Value = Vec<Revision<'static>>> {
    (1usize..40)
        .prop_flat_map(|n| {
            proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 1..=3), n - 1)
        })
        .prop_map(|parents| {
            let n = parents.len() + 1;
            let ids: Vec<&'static str> =
                (0..n).map(|i| leak(format!("{i:x}{}", "f".repeat(i % 7)))).collect();
            let mut revisions = vec![Revision { id: ids[0], parents: &[], source: "root.rs" }];
            for (i, picks) in parents.iter().enumerate() {
                let child = i + 1;
                let mut ps: Vec<&'static str> = Vec::new();
                for p in picks {
                    if !ps.contains(&ids[p.index(child)]) {
                        ps.push(ids[p.index(child)]);
                    }
                }
                let source = leak(format!("{}.rs", ids[child]));
                revisions.push(Revision {
                    id: ids[child],
                    parents: Box::leak(ps.into_boxed_slice()),
                    source,
                });
            }
            revisions
        })
}

proptest! {
    #![proptest_config(crate::proptest_config())]
    /// Every lookup the graph answers from its index and its two edge lists agrees with the
    /// revisions as given: positions, sources, parents in declared order, children in
    /// ascending position.
    #[test]
    fn lookups_agree_with_the_revisions_given(revisions in prop_oneof![shuffled_dag(), random_dag()]) {
        let g = Graph::new(&revisions).expect("a random DAG is sound");
        prop_assert_eq!(g.len(), revisions.len());
        // The order given is kept exactly when every parent comes before its child.
        let given_first = revisions.iter().enumerate().all(|(i, r)| {
            r.parents.iter().all(|p| revisions[..i].iter().any(|q| q.id == *p))
        });
        prop_assert_eq!(g.given_order().is_none(), given_first);
        for pos in 0..g.len() {
            let given = g.given_order().map_or(pos, |order| order[pos]);
            prop_assert_eq!(revisions[given].id, g.revisions()[pos]);
        }
        for (pos, id) in g.revisions().iter().enumerate() {
            prop_assert_eq!(g.position(id), Some(pos));
            prop_assert_eq!(g.find(id).ok(), Some(*id));
        }
        for r in &revisions {
            prop_assert!(g.contains(r.id));
            prop_assert_eq!(g.source_of(r.id), Some(r.source));
            prop_assert_eq!(g.parents_of(r.id), r.parents.to_vec());
        }
        for i in 0..g.len() {
            let expected: Vec<u32> = (0..g.len()).filter(|&c| g.parents[c].contains(&(i as u32))).map(|c| c as u32).collect();
            prop_assert_eq!(g.children[i].to_vec(), expected);
        }
        prop_assert!(!g.contains("not-a-revision") && g.position("").is_none());
    }
}
