//! The build graph: which variant builds `FROM` which other variant of the same
//! repository (by any of its tags), build levels, and the FROM problems `validate`
//! reports (cycles, unknown tags) at the Dockerfile's line.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::dockerfile::{self, Dockerfile, FromLine};
use crate::finding::Finding;
use crate::fleet::Fleet;
use crate::source::SourceTree;
use crate::span::Pos;
use crate::tags::TagIndex;

/// An image reference split into its parts: `[host/]path[:tag][@digest]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry host (`mcr.microsoft.com`, `localhost:5000`), when written.
    pub host: Option<&'a str>,
    /// Repository path (`dotnet-buildtools/prereqs`).
    pub path: &'a str,
    /// Tag, when written.
    pub tag: Option<&'a str>,
    /// Digest (`sha256:…`), when written.
    pub digest: Option<&'a str>,
}

/// Splits an image reference. The first path component is a host when it holds a `.`
/// or a `:` or is `localhost` (the rule of `docker`'s reference grammar).
pub fn split_ref(reference: &str) -> ImageRef<'_> {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], Some(&name[slash + i + 1..])),
        None => (name, None),
    };
    let (host, path) = match name.split_once('/') {
        Some((h, p)) if h.contains('.') || h.contains(':') || h == "localhost" => (Some(h), p),
        _ => (None, name),
    };
    ImageRef { host, path, tag, digest }
}

/// A `FROM` that builds on another variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The parent: an index into `fleet.variants`.
    pub parent: usize,
    /// Where the `FROM` is in the child's Dockerfile.
    pub line: usize,
    /// The reference as substituted.
    pub reference: String,
}

/// One variant in the graph (same index as in `fleet.variants`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Its in-repository parents, one edge per `FROM`.
    pub parents: Vec<Edge>,
    /// 0 without in-repository parents, else one more than its highest parent;
    /// `None` for variants in or below a cycle.
    pub level: Option<usize>,
    /// True when the variant is part of a `FROM` cycle.
    pub in_cycle: bool,
}

/// The build graph of a fleet.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// One node per `fleet.variants` entry.
    pub nodes: Vec<Node>,
    /// Variants with a level, by level then manifest order: parents before children.
    pub order: Vec<usize>,
    /// `from-cycle`, `from-unknown-tag` and `from-digest` findings, at the Dockerfiles' lines.
    pub findings: Vec<Finding>,
}

impl Graph {
    /// Parses every variant's Dockerfile (through `tree`, with its build args) and links
    /// the `FROM`s that name an image of the manifest's repository. Missing Dockerfiles
    /// are left to `validate`'s `missing-dockerfile`.
    pub fn build(fleet: &Fleet, tree: &dyn SourceTree) -> Graph {
        let index = TagIndex::new(fleet);
        let mut texts: HashMap<&str, Option<String>> = HashMap::new();
        let mut parsed: HashMap<(&str, &std::collections::BTreeMap<String, String>), Dockerfile> = HashMap::new();
        let mut nodes = vec![Node::default(); fleet.variants.len()];
        let mut findings = Vec::new();
        for (i, v) in fleet.variants.iter().enumerate() {
            let text = texts.entry(v.dockerfile.as_str()).or_insert_with(|| tree.read(&v.dockerfile));
            let Some(text) = text.as_deref() else { continue };
            let df = parsed
                .entry((v.dockerfile.as_str(), &v.spec.build_args))
                .or_insert_with(|| dockerfile::parse(text, &v.spec.build_args));
            for f in df.froms.iter().filter(|f| f.is_image()) {
                match link(fleet, &index, &v.dockerfile, f) {
                    Ok(None) => {}
                    Ok(Some(parent)) => nodes[i].parents.push(Edge { parent, line: f.line, reference: f.image.clone() }),
                    Err(finding) => findings.push(finding),
                }
            }
        }
        let order = levels(&mut nodes);
        report_cycles(fleet, &mut nodes, &mut findings);
        findings.sort_by(|a, b| (&a.file, a.line, a.code, &a.message).cmp(&(&b.file, b.line, b.code, &b.message)));
        findings.dedup();
        Graph { nodes, order, findings }
    }

    /// Distinct parents of variant `i`, in `FROM` order.
    pub fn parents(&self, i: usize) -> Vec<usize> {
        let mut seen = BTreeSet::new();
        self.nodes[i].parents.iter().map(|e| e.parent).filter(|p| seen.insert(*p)).collect()
    }

    /// Every variant that builds on `i`, directly or not (excluding `i`).
    pub fn descendants(&self, i: usize) -> BTreeSet<usize> {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for (c, n) in self.nodes.iter().enumerate() {
            for e in &n.parents {
                children[e.parent].push(c);
            }
        }
        let mut out = BTreeSet::new();
        let mut queue: VecDeque<usize> = children[i].iter().copied().collect();
        while let Some(c) = queue.pop_front() {
            if c != i && out.insert(c) {
                queue.extend(children[c].iter().copied());
            }
        }
        out
    }
}

/// The variant `f` builds on (`Ok(None)` for an image of another repository), or the
/// finding for a reference to this repository that names no variant.
fn link(fleet: &Fleet, index: &TagIndex<'_>, file: &str, f: &FromLine) -> Result<Option<usize>, Finding> {
    let r = split_ref(&f.image);
    let registry = &fleet.manifest.registry;
    let repo = &fleet.manifest.repository;
    if r.path != repo || !r.host.is_none_or(|h| h.eq_ignore_ascii_case(registry)) {
        return Ok(None);
    }
    let pos = Pos { line: f.line, col: f.column };
    let Some(tag) = r.tag.or(if r.digest.is_some() { None } else { Some("latest") }) else {
        return Err(Finding::warning("from-digest", file, pos,
            format!("FROM '{}' names an image of repository '{repo}' by digest only, so imgctl cannot tell which variant it builds on", f.image)));
    };
    match index.parse(tag) {
        Ok(p) if p.in_manifest => Ok(fleet.variants.iter().position(|v| v.name == p.variant)),
        _ => {
            let written = if f.raw != f.image { format!(" (written '{}')", f.raw) } else { String::new() };
            Err(Finding::error("from-unknown-tag", file, pos,
                format!("FROM '{}'{written} names tag '{tag}' of repository '{repo}', which no variant of the manifest has (see `imgctl tags`)", f.image)))
        }
    }
}

/// Kahn's algorithm: sets each node's level; returns the leveled nodes by level, then index.
fn levels(nodes: &mut [Node]) -> Vec<usize> {
    let n = nodes.len();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pending: Vec<usize> = vec![0; n];
    for (c, node) in nodes.iter().enumerate() {
        let distinct: BTreeSet<usize> = node.parents.iter().map(|e| e.parent).collect();
        pending[c] = distinct.len();
        for p in distinct {
            children[p].push(c);
        }
    }
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut level = vec![0usize; n];
    let mut order = Vec::new();
    while let Some(i) = queue.pop_front() {
        nodes[i].level = Some(level[i]);
        order.push(i);
        for &c in &children[i] {
            level[c] = level[c].max(level[i] + 1);
            pending[c] -= 1;
            if pending[c] == 0 {
                queue.push_back(c);
            }
        }
    }
    order.sort_by_key(|&i| (level[i], i));
    order
}

/// For every unleveled node that reaches itself, reports each `FROM` that closes a cycle.
fn report_cycles(fleet: &Fleet, nodes: &mut [Node], findings: &mut Vec<Finding>) {
    let stuck: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].level.is_none()).collect();
    for &v in &stuck {
        for e in nodes[v].parents.clone() {
            let Some(path) = path_to(nodes, e.parent, v) else { continue };
            nodes[v].in_cycle = true;
            let mut names = vec![fleet.variants[v].name.as_str()];
            names.extend(path.iter().map(|&k| fleet.variants[k].name.as_str()));
            let file = &fleet.variants[v].dockerfile;
            findings.push(Finding::error("from-cycle", file, Pos { line: e.line, col: 1 },
                format!("FROM '{}' makes a build cycle: {}", e.reference, names.join(" -> "))));
        }
    }
}

/// The shortest parent-chain from `from` up to `to` (both included), if any.
fn path_to(nodes: &[Node], from: usize, to: usize) -> Option<Vec<usize>> {
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(k) = queue.pop_front() {
        if k == to {
            let mut path = vec![k];
            let mut cur = k;
            while let Some(&p) = prev.get(&cur) {
                path.push(p);
                cur = p;
            }
            path.reverse();
            return Some(path);
        }
        for e in &nodes[k].parents {
            if seen.insert(e.parent) {
                prev.insert(e.parent, k);
                queue.push_back(e.parent);
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
