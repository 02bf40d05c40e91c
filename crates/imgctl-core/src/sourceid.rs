//! Source ids (SPEC §3): a variant's content identity — 12 hex of a SHA-256 over its
//! context's git tree id, its Dockerfile path, its build args and the source ids of the
//! variants it builds `FROM` (so a parent's change reaches every descendant). Files the
//! context's `.dockerignore` leaves out are left out of the tree id (`dockerignore`); a
//! context without one hashes its whole git tree, as before.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::dockerignore::{self, Matcher};
use crate::fleet::{Fleet, Variant};
use crate::graph::Graph;
use crate::paths;
use crate::source::SourceTree;

/// First line of the hashed text; bump it if the encoding ever changes.
pub const SCHEME: &str = "imgctl-source-id/1";

/// What goes into one variant's source id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs<'a> {
    /// Git tree id of the build context (40 hex).
    pub tree_id: &'a str,
    /// Dockerfile path relative to the context (`Dockerfile`, `sub/Dockerfile`, `../x/Dockerfile`).
    pub dockerfile: String,
    /// SHA-256 (hex) of the Dockerfile's text when it lies outside the context (its
    /// content is then not covered by the tree id); `None` inside the context.
    pub dockerfile_sha256: Option<String>,
    /// Build args.
    pub build_args: &'a BTreeMap<String, String>,
    /// Source ids of the in-repository parents.
    pub parents: Vec<String>,
}

/// The hashed text: one line per input, strings length-prefixed so no two different
/// inputs give the same text, args sorted by name, parents sorted and deduplicated.
pub fn encode(inputs: &Inputs<'_>) -> String {
    let lp = |s: &str| format!("{}:{s}", s.len());
    let mut text = format!("{SCHEME}\ntree {}\ndockerfile {}\n", inputs.tree_id, lp(&inputs.dockerfile));
    if let Some(sha) = &inputs.dockerfile_sha256 {
        text.push_str(&format!("dockerfile-sha256 {sha}\n"));
    }
    for (k, v) in inputs.build_args {
        text.push_str(&format!("arg {}{}\n", lp(k), lp(v)));
    }
    let mut parents = inputs.parents.clone();
    parents.sort();
    parents.dedup();
    for p in parents {
        text.push_str(&format!("parent {}\n", lp(&p)));
    }
    text
}

/// The source id of `inputs`: the first 12 hex digits of SHA-256 of [`encode`].
pub fn source_id(inputs: &Inputs<'_>) -> String {
    let digest = Sha256::digest(encode(inputs).as_bytes());
    hex::encode(digest)[..12].to_string()
}

/// Every variant's source id, where it can be computed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceIds {
    /// Variant (base tag) → source id.
    pub ids: BTreeMap<String, String>,
    /// Variant → the id of its own inputs alone (no parents): tells a variant that
    /// changed from one whose parent changed.
    pub local: BTreeMap<String, String>,
    /// Variant → why it has no source id (missing context, FROM cycle, …).
    pub missing: BTreeMap<String, String>,
}

impl SourceIds {
    /// Computes every variant's id, parents first (in `graph.order`).
    pub fn compute(fleet: &Fleet, graph: &Graph, tree: &dyn SourceTree) -> SourceIds {
        let mut out = SourceIds::default();
        for (i, v) in fleet.variants.iter().enumerate() {
            if graph.nodes.get(i).is_none_or(|n| n.level.is_none()) {
                out.missing.insert(v.name.clone(), "it is part of, or builds on, a FROM cycle".into());
            }
        }
        for &i in &graph.order {
            let v = &fleet.variants[i];
            // files its .dockerignore leaves out of the context are left out of the id
            let ignore = match dockerignore::for_variant(v, tree) {
                Ok(m) => m,
                Err(why) => {
                    out.missing.insert(v.name.clone(), why);
                    continue;
                }
            };
            let tree_id = match &ignore {
                None => tree.tree_id(&v.context),
                Some(m) => tree.filtered_tree_id(&v.context, &|p| !m.excludes(p)),
            };
            let Some(tree_id) = tree_id else {
                out.missing.insert(v.name.clone(), format!("the tree id of context '{}' is unknown", v.context));
                continue;
            };
            let Some(mut inputs) = own_inputs(v, &tree_id, ignore.as_ref(), tree) else {
                out.missing.insert(v.name.clone(), format!("Dockerfile '{}' cannot be read", v.dockerfile));
                continue;
            };
            out.local.insert(v.name.clone(), source_id(&inputs));
            let mut parents = Vec::new();
            for p in graph.parents(i) {
                let name = &fleet.variants[p].name;
                match out.ids.get(name) {
                    Some(id) => parents.push(id.clone()),
                    None => {
                        out.missing.insert(v.name.clone(), format!("its parent '{name}' has no source id"));
                        break;
                    }
                }
            }
            if out.missing.contains_key(&v.name) {
                continue;
            }
            inputs.parents = parents;
            out.ids.insert(v.name.clone(), source_id(&inputs));
        }
        out
    }
}

fn own_inputs<'a>(v: &'a Variant, tree_id: &'a str, ignore: Option<&Matcher>, tree: &dyn SourceTree) -> Option<Inputs<'a>> {
    let rel = paths::relative(&v.context, &v.dockerfile);
    // a Dockerfile the context leaves out (or lies outside) is still built: hash its text
    let inside = !rel.starts_with("../") && rel != ".." && !ignore.is_some_and(|m| m.excludes(&rel));
    let dockerfile_sha256 = if inside { None } else { Some(hex::encode(Sha256::digest(tree.read(&v.dockerfile)?.as_bytes()))) };
    Some(Inputs { tree_id, dockerfile: rel, dockerfile_sha256, build_args: &v.spec.build_args, parents: Vec::new() })
}
