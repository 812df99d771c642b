//! Planning on a DAG of 1,000 revisions, in process: building the graph from the revisions
//! and planning base → head and a downgrade across merges (the team graph issue's target:
//! at most 5 ms), with the version each step records, as a run needs it; and the same on
//! 10,000 revisions, where a cost that grows faster than the history would show.

use crate::report::{self, Goal, Report, Row};
use std::time::Duration;
use strata::graph::Target;
use strata::plan::{self, Graph, Revision};

/// A history of `n` revisions where every tenth pair forks into two branches that the next
/// revision merges: linear stretches, branches and merge revisions, as teams make them.
fn dag(n: usize) -> Vec<Revision<'static>> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let ids: Vec<&'static str> = (0..n).map(|i| leak(format!("r{i:04}"))).collect();
    (0..n)
        .map(|i| {
            let parents: Vec<&'static str> = match i {
                0 => Vec::new(),
                // i % 10 == 2: the second branch, forked from the same parent as i - 1.
                _ if i % 10 == 2 && i >= 2 => vec![ids[i - 2]],
                // i % 10 == 3: the merge of the two branches.
                _ if i % 10 == 3 && i >= 3 => vec![ids[i - 2], ids[i - 1]],
                _ => vec![ids[i - 1]],
            };
            Revision { id: ids[i], parents: Box::leak(parents.into_boxed_slice()), source: ids[i] }
        })
        .collect()
}

/// Measures graph building and planning at 1,000 and 10,000 revisions; a broken generated
/// graph is an error.
pub fn run(report: &mut Report, runs: usize) -> Result<(), String> {
    for (n, goal) in [(1000, Duration::from_millis(5)), (10_000, Duration::from_millis(50))] {
        let revisions = dag(n);
        let mut samples = Vec::with_capacity(runs);
        let mut steps = 0;
        for _ in 0..runs {
            let (planned, took) = report::timed(|| planned_steps(&revisions, n));
            steps = planned?;
            samples.push(took);
        }
        let expected = n + n / 2 - 1;
        if steps != expected {
            return Err(format!("the plans have {steps} steps, expected {expected}"));
        }
        report.push(Row::alone(
            &format!("planning, {}-revision DAG", if n == 1000 { "1,000" } else { "10,000" }),
            &format!(
                "build the graph, plan base→head and head→r{:04} (across {} merges), each step's version",
                n / 2,
                n / 20
            ),
            report::median(&samples),
            Goal::AtMost(goal),
            report::runs(runs),
        ));
    }
    Ok(())
}

/// Builds the graph of `revisions`, plans base → head and head → its middle revision, and
/// names the version after every step (what the runner records in each step's transaction).
fn planned_steps(revisions: &[Revision<'static>], n: usize) -> Result<usize, String> {
    let graph = Graph::new(revisions).map_err(|e| format!("{e:?}"))?;
    let up = plan::plan(&graph, &graph.base(), &Target::Head).map_err(|e| e.to_string())?;
    let middle = format!("r{:04}", n / 2);
    let down =
        plan::plan(&graph, &graph.all_applied(), &Target::Revision(middle)).map_err(|e| e.to_string())?;
    let mut versions = 0;
    for (start, planned) in [(graph.base(), &up), (graph.all_applied(), &down)] {
        let mut walk = plan::Walk::new(&graph, &start);
        for step in &planned.steps {
            walk.step(step);
            versions += usize::from(walk.version().is_some());
        }
    }
    if versions != up.steps.len() + down.steps.len() {
        return Err("a step left the database at base".into());
    }
    Ok(up.steps.len() + down.steps.len())
}
