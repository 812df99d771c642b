//! Pictures of the revision graph: text lanes as `git log --graph` draws them (newest first),
//! Graphviz `dot` and Mermaid. Pure: each takes the graph and a label per revision.

use super::Graph;

/// The graph as text lanes, newest first: one line per revision (`*` in its lane, then its
/// label), with `\` where a merge's parents fork into lanes and `/` where lanes join.
pub fn text(graph: &Graph<'_>, label: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    // Lanes hold the revisions (graph positions) expected further down.
    let mut lanes: Vec<usize> = Vec::new();
    for i in (0..graph.ids.len()).rev() {
        let col = match lanes.iter().position(|&l| l == i) {
            Some(col) => col,
            None => {
                lanes.push(i);
                lanes.len() - 1
            }
        };
        let marks: Vec<&str> = (0..lanes.len()).map(|c| if c == col { "*" } else { "|" }).collect();
        out.push_str(marks.join(" ").trim_end());
        out.push_str("  ");
        out.push_str(&label(graph.ids[i]));
        out.push('\n');
        // The node's lane becomes its parents; lanes expecting the same revision join.
        let parents: Vec<usize> = graph.parents[i].iter().map(|&p| p as usize).collect();
        let parents = parents.as_slice();
        let mut next: Vec<usize> = Vec::with_capacity(lanes.len() + parents.len());
        for (c, &l) in lanes.iter().enumerate() {
            let incoming: &[usize] = if c == col { parents } else { std::slice::from_ref(&l) };
            for &p in incoming {
                if !next.contains(&p) {
                    next.push(p);
                }
            }
        }
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (c, &l) in lanes.iter().enumerate() {
            let incoming: &[usize] = if c == col { parents } else { std::slice::from_ref(&l) };
            for p in incoming {
                if let Some(to) = next.iter().position(|n| n == p) {
                    edges.push((c, to));
                }
            }
        }
        if edges.iter().any(|(from, to)| from != to) {
            out.push_str(&connector(&edges));
            out.push('\n');
        }
        lanes = next;
    }
    out
}

/// One row of `|`, `/` and `\` for lane moves `(from, to)`.
fn connector(edges: &[(usize, usize)]) -> String {
    let width = edges.iter().map(|(f, t)| 2 * f.max(t) + 2).max().unwrap_or(0);
    let mut row = vec![' '; width];
    for &(from, to) in edges {
        match to.cmp(&from) {
            std::cmp::Ordering::Equal => row[2 * from] = '|',
            std::cmp::Ordering::Greater => row[2 * from + 1] = '\\',
            std::cmp::Ordering::Less => row[2 * from - 1] = '/',
        }
    }
    row.into_iter().collect::<String>().trim_end().to_string()
}

/// The graph in Graphviz `dot`: an edge from each revision to each parent, base at the
/// bottom.
pub fn dot(graph: &Graph<'_>, label: impl Fn(&str) -> String) -> String {
    let quote =
        |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
    let mut out = String::from("digraph revisions {\n  rankdir=BT;\n  node [shape=box];\n");
    for (i, id) in graph.ids.iter().enumerate() {
        out.push_str(&format!("  {} [label={}];\n", quote(id), quote(&label(id))));
        for &p in &graph.parents[i] {
            out.push_str(&format!("  {} -> {};\n", quote(id), quote(graph.ids[p as usize])));
        }
    }
    out.push_str("}\n");
    out
}

/// The graph as a Mermaid flowchart, base at the bottom.
pub fn mermaid(graph: &Graph<'_>, label: impl Fn(&str) -> String) -> String {
    // Node ids: positions (revision ids may start with a digit); labels escaped for Mermaid.
    let text = |s: &str| {
        s.replace('&', "#amp;")
            .replace('"', "#quot;")
            .replace('<', "#lt;")
            .replace('>', "#gt;")
            .replace('\n', " ")
    };
    let mut out = String::from("flowchart BT\n");
    for (i, id) in graph.ids.iter().enumerate() {
        out.push_str(&format!("  r{i}[\"{}\"]\n", text(&label(id))));
    }
    for (i, parents) in graph.parents.iter().enumerate() {
        for p in parents {
            out.push_str(&format!("  r{i} --> r{p}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Revision;
    use super::*;

    fn merged() -> Graph<'static> {
        Graph::new(&[
            Revision { id: "a", parents: &[], source: "a.rs" },
            Revision { id: "b", parents: &["a"], source: "b.rs" },
            Revision { id: "c", parents: &["a"], source: "c.rs" },
            Revision { id: "m", parents: &["b", "c"], source: "m.rs" },
            Revision { id: "n", parents: &["m"], source: "n.rs" },
        ])
        .unwrap()
    }

    #[test]
    fn text_lanes_fork_at_a_merge_and_join_at_the_common_parent() {
        let picture = text(&merged(), |id| format!("{id} message"));
        assert_eq!(
            picture,
            "*  n message\n*  m message\n|\\\n| *  c message\n* |  b message\n|/\n*  a message\n"
        );
    }

    #[test]
    fn two_unmerged_heads_get_two_lanes() {
        let g = Graph::new(&[
            Revision { id: "a", parents: &[], source: "a.rs" },
            Revision { id: "b", parents: &["a"], source: "b.rs" },
            Revision { id: "c", parents: &["a"], source: "c.rs" },
        ])
        .unwrap();
        assert_eq!(text(&g, str::to_string), "*  c\n| *  b\n|/\n*  a\n");
    }

    #[test]
    fn a_linear_history_is_one_lane() {
        let g = Graph::new(&[
            Revision { id: "a", parents: &[], source: "a.rs" },
            Revision { id: "b", parents: &["a"], source: "b.rs" },
        ])
        .unwrap();
        assert_eq!(text(&g, str::to_string), "*  b\n*  a\n");
    }

    #[test]
    fn dot_and_mermaid_have_an_edge_per_parent_and_escape_labels() {
        let g = merged();
        let d = dot(&g, |id| format!("{id} \"quoted\""));
        assert!(d.starts_with("digraph revisions {"), "{d}");
        assert!(d.contains("\"m\" -> \"b\";") && d.contains("\"m\" -> \"c\";"), "{d}");
        assert!(d.contains("label=\"m \\\"quoted\\\"\""), "{d}");
        assert_eq!(d.matches(" -> ").count(), 5);
        let m = mermaid(&g, |id| format!("{id} <\"x\">"));
        assert!(m.starts_with("flowchart BT\n"), "{m}");
        assert!(m.contains("r3[\"m #lt;#quot;x#quot;#gt;\"]"), "{m}");
        assert_eq!(m.matches(" --> ").count(), 5);
    }
}
