//! Planning on a DAG of 1,000 revisions, in process: building the graph from the revisions
//! and planning base → head and a downgrade across merges (the team graph issue's target:
//! at most 5 ms).

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

/// Measures graph building and planning; a broken generated graph is an error.
pub fn run(report: &mut Report, runs: usize) -> Result<(), String> {
    let revisions = dag(1000);
    let mut samples = Vec::with_capacity(runs);
    let mut steps = 0;
    for _ in 0..runs {
        let (planned, took) = report::timed(|| -> Result<usize, String> {
            let graph = Graph::new(&revisions).map_err(|e| format!("{e:?}"))?;
            let up = plan::plan(&graph, &graph.base(), &Target::Head).map_err(|e| e.to_string())?;
            let down = plan::plan(&graph, &graph.all_applied(), &Target::Revision("r0500".into()))
                .map_err(|e| e.to_string())?;
            Ok(up.steps.len() + down.steps.len())
        });
        steps = planned?;
        samples.push(took);
    }
    if steps != 1000 + 499 {
        return Err(format!("the plans have {steps} steps, expected 1,499"));
    }
    report.push(Row::alone(
        "planning, 1,000-revision DAG",
        "build the graph, plan base→head and head→r0500 (across 100 merges)",
        report::median(&samples),
        Goal::AtMost(Duration::from_millis(5)),
        report::runs(runs),
    ));
    Ok(())
}
