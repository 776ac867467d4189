//! No import circle inside a crate: the modules of every crate, and which import which, read from
//! their `crate::` and `super::` paths; a circle (a -> b -> ... -> a) is reported with its path.
//!
//! A module and the modules nested in it are one unit here (a `mod.rs` may re-export its
//! children, and a child may use its parent's items). Test modules (from `#[cfg(test)]` on) and
//! comments are not read: a test may use anything, and a doc link is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};

/// Every import circle in the crates under `crates/`, as "crate: a -> b -> a".
pub fn circles(crates: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(crates)
        .with_context(|| format!("cannot read {}", crates.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("src")))
        .filter(|src| src.is_dir())
        .collect();
    dirs.sort();
    for src in dirs {
        let name = src.parent().and_then(Path::file_name).unwrap_or_default();
        let graph = module_graph(&modules(&src)?);
        for circle in find_circles(&graph) {
            found.push(format!(
                "{}: {}",
                name.to_string_lossy(),
                circle.join(" -> ")
            ));
        }
    }
    Ok(found)
}

/// The crate's modules by path (`transformer::decoder`), each with its source text.
fn modules(src: &Path) -> Result<BTreeMap<String, String>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src)?.with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            found.insert(parts.join("::"), std::fs::read_to_string(&path)?);
        }
    }
    Ok(found)
}

/// Which module imports which: an edge for every `crate::` or `super::` path that names another
/// module, neither nested in the other.
fn module_graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (module, text) in modules {
        if module.is_empty() {
            continue;
        }
        let mut targets = BTreeSet::new();
        for path in paths(&code_of(text)) {
            let parent: Vec<&str> = module.split("::").collect();
            let full: Vec<&str> = match path.split_first() {
                Some((&"super", rest)) => parent[..parent.len() - 1]
                    .iter()
                    .copied()
                    .chain(rest.iter().copied())
                    .collect(),
                Some((_, rest)) => rest.to_vec(),
                None => continue,
            };
            // The longest prefix of the path that is a module.
            let target = (1..=full.len())
                .rev()
                .map(|k| full[..k].join("::"))
                .find(|m| modules.contains_key(m));
            if let Some(target) = target
                && !nested(&target, module)
                && !nested(module, &target)
            {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// Whether `inner` is `outer` or a module inside it.
fn nested(inner: &str, outer: &str) -> bool {
    inner == outer || inner.starts_with(&format!("{outer}::"))
}

/// The text of a file without its tests and its comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| line.split(" // ").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path that starts at `crate` or `super`, as its segments; a braced group
/// (`use crate::{a, b::c}`) gives one path per item.
fn paths(code: &str) -> Vec<Vec<&str>> {
    let mut found = Vec::new();
    for (start, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[start..];
        let head_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head: Vec<&str> = rest[..head_len]
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        if rest[head_len..].starts_with('{') {
            let group = &rest[head_len + 1..rest.find('}').unwrap_or(rest.len())];
            for item in group.split(',') {
                let mut path = head.clone();
                path.extend(item.trim().split("::").filter(|s| !s.is_empty()));
                found.push(path);
            }
        } else {
            found.push(head);
        }
    }
    found
}

/// Every circle of the graph, each from its first module back to it.
fn find_circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        open: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        open.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(i) = open.iter().position(|m| m == next) {
                let mut circle = open[i..].to_vec();
                circle.push(next.clone());
                found.push(circle);
            } else if !done.contains(next) {
                visit(next, graph, open, done, found);
            }
        }
        open.pop();
        done.insert(node.to_string());
    }
    let (mut open, mut done, mut found) = (Vec::new(), BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        if !done.contains(node) {
            visit(node, graph, &mut open, &mut done, &mut found);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph_of(files: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let modules = files
            .iter()
            .map(|(m, t)| ((*m).to_string(), (*t).to_string()))
            .collect();
        module_graph(&modules)
    }

    #[test]
    fn a_circle_through_three_modules_is_found_with_its_path() {
        let graph = graph_of(&[
            ("cli", "use crate::experiment::Bench;"),
            ("experiment", "use crate::{run::RunDir, data};"),
            ("run", "fn f() { crate::cli::RunArgs::default(); }"),
            ("data", ""),
        ]);
        assert_eq!(
            find_circles(&graph),
            [["cli", "experiment", "run", "cli"]
                .map(String::from)
                .to_vec()]
        );
    }

    #[test]
    fn layers_tests_comments_and_nesting_make_no_circle() {
        let graph = graph_of(&[
            (
                "train",
                "use crate::plot::line_plot;\n// see crate::experiment\n",
            ),
            (
                "plot",
                "fn f() {}\n#[cfg(test)]\nmod tests { use crate::train::Fit; }",
            ),
            ("experiment", "use crate::train::Trainer;"),
            ("transformer", "pub use sequences::X;"),
            (
                "transformer::sequences",
                "use super::decoder::D; use crate::transformer::Y;",
            ),
            ("transformer::decoder", ""),
        ]);
        assert!(find_circles(&graph).is_empty(), "{graph:?}");
        assert!(graph["transformer::sequences"].contains("transformer::decoder"));
    }
}
