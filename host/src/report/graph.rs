//! The planned graph of a run, before anything runs (`parproc-host graph`), as
//! Graphviz DOT, a Mermaid flowchart or JSON.
//!
//! The graph is read from a planner whose targets were created and started but
//! never launched: its procs, the deps the planner resolved for them (rdeps
//! included, since the planner injects them as deps), their waves and locks.
//! Edges point from a dep to the proc that needs it, in the order things run.
//! Waves other than 0 are drawn as clusters (DOT) or subgraphs (Mermaid);
//! locks are listed in each proc's label. A dep that names no proc is drawn as
//! a dashed "missing" node.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::json;

use super::render::sanitize;
use crate::outcome::ProcState;
use crate::plan::Planner;

/// The version of the JSON graph format.
pub const GRAPH_SCHEMA_VERSION: u32 = 1;

/// One proc of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The proc name.
    pub name: String,
    /// The declaration it came from (its own name, or a proto pattern).
    pub decl: String,
    /// Its wave.
    pub wave: i32,
    /// Locks it holds while running.
    pub locks: Vec<String>,
    /// Its deps, as the planner resolved them.
    pub deps: Vec<String>,
    /// Its state at planning time (WANTED for what a run would start).
    pub state: ProcState,
}

/// A planned graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// Procs in registration order.
    pub nodes: Vec<Node>,
    /// A caption (the module's name), shown under the DOT drawing with the
    /// counts of procs, waves and locks.
    pub title: Option<String>,
}

impl Graph {
    /// The graph of `planner`: the procs a run would start (every proc that is
    /// not IDLE), or every proc when `all` is set or nothing is scheduled.
    pub fn from_planner(planner: &Planner, all: bool) -> Graph {
        let node = |id| {
            let decl = planner.decl_of(id);
            Node {
                name: planner.name(id).to_owned(),
                decl: decl.name.clone(),
                wave: decl.wave,
                locks: decl.locks.clone(),
                deps: planner.deps(id).to_vec(),
                state: planner.state(id),
            }
        };
        let planned: Vec<Node> = planner
            .ids()
            .filter(|&id| planner.state(id) != ProcState::Idle)
            .map(node)
            .collect();
        let nodes = if all || planned.is_empty() {
            planner.ids().map(node).collect()
        } else {
            planned
        };
        Graph { nodes, title: None }
    }

    /// The same graph with a caption.
    pub fn with_title(mut self, title: impl Into<String>) -> Graph {
        self.title = Some(title.into());
        self
    }

    /// `6 procs · waves 0 · locks: deploy`.
    pub fn legend(&self) -> String {
        let waves: Vec<String> = self.waves().keys().map(|w| w.to_string()).collect();
        let locks: BTreeSet<&str> = self
            .nodes
            .iter()
            .flat_map(|n| n.locks.iter().map(String::as_str))
            .collect();
        let mut text = format!(
            "{} proc{} · wave{} {}",
            self.nodes.len(),
            if self.nodes.len() == 1 { "" } else { "s" },
            if waves.len() == 1 { "" } else { "s" },
            waves.join(", ")
        );
        if !locks.is_empty() {
            text.push_str(&format!(
                " · lock{}: {}",
                if locks.len() == 1 { "" } else { "s" },
                locks.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        match &self.title {
            Some(t) => format!("{t}: {text}"),
            None => text,
        }
    }

    fn index(&self) -> HashMap<&str, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect()
    }

    /// Edges as (from, to) node names, and the deps that name no node.
    fn edges(&self) -> (Vec<(&str, &str)>, BTreeSet<&str>) {
        let index = self.index();
        let mut edges = Vec::new();
        let mut missing = BTreeSet::new();
        for n in &self.nodes {
            for d in &n.deps {
                if !index.contains_key(d.as_str()) {
                    missing.insert(d.as_str());
                }
                edges.push((d.as_str(), n.name.as_str()));
            }
        }
        (edges, missing)
    }

    fn waves(&self) -> BTreeMap<i32, Vec<usize>> {
        let mut waves: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            waves.entry(n.wave).or_default().push(i);
        }
        waves
    }

    fn clustered(&self) -> bool {
        self.nodes.iter().any(|n| n.wave != 0)
    }

    /// Graphviz DOT.
    pub fn dot(&self) -> String {
        let (edges, missing) = self.edges();
        let id = self.ids(&missing);
        let mut out = String::from("digraph parproc {\n");
        out.push_str("  rankdir=LR;\n");
        out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f6f8\", fontname=\"Helvetica\"];\n");
        out.push_str("  edge [color=\"#55606e\"];\n");
        let _ = writeln!(
            out,
            "  labelloc=b;\n  fontname=\"Helvetica\";\n  label=\"{}\";",
            dot_escape(&sanitize(&self.legend()))
        );
        let node_line = |n: &Node| {
            let mut label = dot_escape(&sanitize(&n.name));
            if !n.locks.is_empty() {
                let _ = write!(
                    label,
                    "\\nlocks: {}",
                    dot_escape(&sanitize(&n.locks.join(", ")))
                );
            }
            let fill = if n.locks.is_empty() {
                ""
            } else {
                ", fillcolor=\"#fdf1d6\""
            };
            format!("\"{}\" [label=\"{label}\"{fill}];", id[n.name.as_str()])
        };
        if self.clustered() {
            for (wave, members) in self.waves() {
                let _ = writeln!(
                    out,
                    "  subgraph \"cluster_wave_{wave}\" {{\n    label=\"wave {wave}\";\n    labelloc=t;\n    style=dashed;\n    color=\"#8a94a3\";"
                );
                for &i in &members {
                    let _ = writeln!(out, "    {}", node_line(&self.nodes[i]));
                }
                out.push_str("  }\n");
            }
        } else {
            for n in &self.nodes {
                let _ = writeln!(out, "  {}", node_line(n));
            }
        }
        for m in &missing {
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{} (missing)\", style=dashed, fillcolor=white];",
                id[m],
                dot_escape(&sanitize(m))
            );
        }
        for (from, to) in edges {
            let _ = writeln!(out, "  \"{}\" -> \"{}\";", id[from], id[to]);
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart.
    pub fn mermaid(&self) -> String {
        let (edges, missing) = self.edges();
        let id = self.ids(&missing);
        let mut out = String::from("flowchart LR\n");
        let node_line = |n: &Node| {
            let mut label = mermaid_escape(&sanitize(&n.name));
            if !n.locks.is_empty() {
                let _ = write!(
                    label,
                    "<br/>locks: {}",
                    mermaid_escape(&sanitize(&n.locks.join(", ")))
                );
            }
            let class = if n.locks.is_empty() { "" } else { ":::locked" };
            format!("{}[\"{label}\"]{class}", id[n.name.as_str()])
        };
        if self.clustered() {
            for (wave, members) in self.waves() {
                let sid = if wave < 0 {
                    format!("wave_m{}", wave.unsigned_abs())
                } else {
                    format!("wave_{wave}")
                };
                let _ = writeln!(out, "  subgraph {sid} [\"wave {wave}\"]");
                for &i in &members {
                    let _ = writeln!(out, "    {}", node_line(&self.nodes[i]));
                }
                out.push_str("  end\n");
            }
        } else {
            for n in &self.nodes {
                let _ = writeln!(out, "  {}", node_line(n));
            }
        }
        for m in &missing {
            let _ = writeln!(
                out,
                "  {}[\"{} (missing)\"]:::missing",
                id[m],
                mermaid_escape(&sanitize(m))
            );
        }
        for (from, to) in edges {
            let _ = writeln!(out, "  {} --> {}", id[from], id[to]);
        }
        out.push_str("  classDef locked fill:#fdf1d6\n");
        if !missing.is_empty() {
            out.push_str("  classDef missing stroke-dasharray: 5 5\n");
        }
        out
    }

    /// JSON: `{schema_version, nodes: [...], edges: [{from, to}], waves: [...]}`.
    pub fn json(&self) -> String {
        let (edges, missing) = self.edges();
        let nodes: Vec<_> = self
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "name": n.name,
                    "decl": n.decl,
                    "wave": n.wave,
                    "locks": n.locks,
                    "deps": n.deps,
                    "state": n.state.name(),
                })
            })
            .collect();
        let edges: Vec<_> = edges
            .iter()
            .map(|(f, t)| json!({ "from": f, "to": t }))
            .collect();
        let v = json!({
            "schema_version": GRAPH_SCHEMA_VERSION,
            "nodes": nodes,
            "edges": edges,
            "missing": missing,
            "waves": self.waves().keys().collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    /// Short ids (`n0`, `n1`, …, `m0` for missing deps) so odd names cannot
    /// break the syntax; names appear only in labels.
    fn ids<'a>(&'a self, missing: &BTreeSet<&'a str>) -> HashMap<&'a str, String> {
        let mut id: HashMap<&str, String> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), format!("n{i}")))
            .collect();
        for (i, m) in missing.iter().enumerate() {
            id.insert(m, format!("m{i}"));
        }
        id
    }
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, wave: i32, locks: &[&str], deps: &[&str]) -> Node {
        Node {
            name: name.into(),
            decl: name.into(),
            wave,
            locks: locks.iter().map(|s| s.to_string()).collect(),
            deps: deps.iter().map(|s| s.to_string()).collect(),
            state: ProcState::Wanted,
        }
    }

    #[test]
    fn dot_has_nodes_edges_locks_and_wave_clusters() {
        let g = Graph {
            nodes: vec![
                node("setup", 0, &[], &[]),
                node("deploy::\"prod\"", 1, &["deploy"], &["setup", "ghost"]),
            ],
            title: None,
        }
        .with_title("jobs");
        assert_eq!(g.legend(), "jobs: 2 procs · waves 0, 1 · lock: deploy");
        let dot = g.dot();
        assert!(dot.starts_with("digraph parproc {\n"), "{dot}");
        assert!(dot.contains("subgraph \"cluster_wave_0\""), "{dot}");
        assert!(dot.contains("subgraph \"cluster_wave_1\""), "{dot}");
        assert!(
            dot.contains("\"n1\" [label=\"deploy::\\\"prod\\\"\\nlocks: deploy\""),
            "{dot}"
        );
        assert!(dot.contains("\"n0\" -> \"n1\";"), "{dot}");
        assert!(dot.contains("\"m0\" [label=\"ghost (missing)\""), "{dot}");
        assert!(dot.contains("\"m0\" -> \"n1\";"), "{dot}");
        let mm = g.mermaid();
        assert!(mm.contains("subgraph wave_1 [\"wave 1\"]"), "{mm}");
        assert!(
            mm.contains("n1[\"deploy::#quot;prod#quot;<br/>locks: deploy\"]:::locked"),
            "{mm}"
        );
        assert!(mm.contains("n0 --> n1"), "{mm}");
        let j: serde_json::Value = serde_json::from_str(&g.json()).unwrap();
        assert_eq!(
            j["edges"][0],
            json!({"from": "setup", "to": "deploy::\"prod\""})
        );
        assert_eq!(j["missing"], json!(["ghost"]));
        assert_eq!(j["waves"], json!([0, 1]));
        assert_eq!(j["nodes"][1]["locks"], json!(["deploy"]));
    }

    #[test]
    fn one_wave_has_no_clusters() {
        let g = Graph {
            nodes: vec![node("a", 0, &[], &[]), node("b", 0, &[], &["a"])],
            title: None,
        };
        assert_eq!(g.legend(), "2 procs · wave 0");
        assert!(!g.dot().contains("subgraph"));
        assert!(!g.mermaid().contains("subgraph"));
    }
}
