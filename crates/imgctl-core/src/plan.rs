//! Build planning (SPEC §4 `plan`): the variants whose source id differs between two
//! revisions, parents first, and the GitHub Actions matrix made from them.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::fleet::{Fleet, Variant};
use crate::graph::Graph;
use crate::osdefs::OsDefinition;
use crate::runners::{Runners, runner_for};
use crate::sourceid::SourceIds;

/// Why a variant must be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Not in the manifest at `since`.
    New,
    /// Its own inputs (context, Dockerfile path, build args) changed.
    Changed,
    /// Only an ancestor's source id changed.
    ParentChanged,
}

/// One variant to build (SPEC §4.1 `plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanEntry {
    /// Its base tag.
    pub variant: String,
    /// Its OperatingSystemId.
    pub os: String,
    /// Its source id at `ref`.
    pub source_id: String,
    /// Its build level at `ref` (0: no in-repository parent).
    pub level: usize,
    /// Build context, relative to the repository root.
    pub context: String,
    /// Dockerfile, relative to the repository root.
    pub dockerfile: String,
    /// `docker buildx --platform` value (comma-separated).
    pub platform: String,
    /// Why it is built.
    pub reason: Reason,
    /// Its own `runner:` from the manifest, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
}

/// The `plan` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The commit compared against (`None`: there is none, everything is new).
    pub since: Option<String>,
    /// The commit planned for, or `working-tree`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// What to build, by level then manifest order.
    pub variants: Vec<PlanEntry>,
    /// Variants at `since` that `ref` no longer has.
    pub removed: Vec<String>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A variant to build has no runner (`runners::runner_for`).
    #[error("find a runner for '{variant}' ({os}): the runners name no prefix of its OS (they name: {known}); give it `runner:` in the manifest or add its OS family to --runners")]
    NoRunner {
        /// The variant.
        variant: String,
        /// Its OperatingSystemId.
        os: String,
        /// The keys of the runners map.
        known: String,
    },
    /// A variant at `ref` has no source id.
    #[error("compute the source id of '{variant}' at {at}: {why}")]
    NoSourceId {
        /// The variant.
        variant: String,
        /// The revision.
        at: String,
        /// Why.
        why: String,
    },
}

/// One revision's fleet, graph and ids.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The fleet.
    pub fleet: &'a Fleet,
    /// Its graph.
    pub graph: &'a Graph,
    /// Its source ids.
    pub ids: &'a SourceIds,
}

/// Compares `since` (`None` when the manifest did not exist there) with `reference`;
/// `since_name` and `ref_name` are the revisions' names for the document.
pub fn plan(since: Option<Side<'_>>, reference: Side<'_>, since_name: Option<&str>, ref_name: &str) -> Result<Plan, PlanError> {
    if let Some((variant, why)) = reference.ids.missing.iter().next() {
        return Err(PlanError::NoSourceId { variant: variant.clone(), at: ref_name.to_string(), why: why.clone() });
    }
    let before: BTreeSet<&str> = since.map(|s| s.fleet.variants.iter().map(|v| v.name.as_str()).collect()).unwrap_or_default();
    let mut variants = Vec::new();
    for &i in &reference.graph.order {
        let v = &reference.fleet.variants[i];
        if v.spec.retired.is_some() {
            // retired: listed, never built again (and not "removed" either)
            continue;
        }
        let id = &reference.ids.ids[&v.name];
        let reason = match since {
            Some(s) if before.contains(v.name.as_str()) => match s.ids.ids.get(&v.name) {
                Some(old) if old == id => continue,
                Some(_) if s.ids.local.get(&v.name) == reference.ids.local.get(&v.name) => Reason::ParentChanged,
                _ => Reason::Changed,
            },
            _ => Reason::New,
        };
        variants.push(PlanEntry {
            variant: v.name.clone(),
            os: v.os.id.clone(),
            source_id: id.clone(),
            level: reference.graph.nodes[i].level.unwrap_or_default(),
            context: v.context.clone(),
            dockerfile: v.dockerfile.clone(),
            platform: platform(v),
            reason,
            runner: v.spec.runner.clone(),
        });
    }
    let now: BTreeSet<&str> = reference.fleet.variants.iter().map(|v| v.name.as_str()).collect();
    let removed = since
        .map(|s| s.fleet.variants.iter().filter(|v| !now.contains(v.name.as_str())).map(|v| v.name.clone()).collect())
        .unwrap_or_default();
    Ok(Plan { since: since_name.map(str::to_string), reference: ref_name.to_string(), variants, removed })
}

/// The platforms a variant is built for: its `platforms`, else its OS's default.
pub fn platform(v: &Variant) -> String {
    if v.spec.platforms.is_empty() { default_platform(&v.os) } else { v.spec.platforms.join(",") }
}

/// `linux/amd64`, `linux/arm64`, `linux/arm/v7`, `windows/amd64`, … from an OS definition.
pub fn default_platform(os: &OsDefinition) -> String {
    let arch = match os.arch.as_str() {
        "AMD64" | "X64" => "amd64".to_string(),
        "ARM64" => "arm64".to_string(),
        "ARM32" | "ARM" => "arm/v7".to_string(),
        "X86" | "I386" => "386".to_string(),
        other => other.to_ascii_lowercase(),
    };
    format!("{}/{arch}", os.family.to_ascii_lowercase())
}

/// One `strategy.matrix` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatrixEntry {
    /// Base tag.
    pub variant: String,
    /// OperatingSystemId.
    pub os: String,
    /// Build context (repository-relative).
    pub context: String,
    /// Dockerfile (repository-relative).
    pub dockerfile: String,
    /// `--platform` value.
    pub platform: String,
    /// Build level.
    pub level: usize,
    /// Source id (the immutable tag is `{variant}-{sourceId}`).
    pub source_id: String,
    /// The runner label its build job runs on (`runs-on: ${{ matrix.runner }}`).
    pub runner: String,
}

/// A GitHub Actions matrix: `strategy.matrix: ${{ fromJSON(…) }}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// One entry per variant to build (may be empty: see docs/PLANNING.md).
    pub include: Vec<MatrixEntry>,
}

/// The matrix of `plan`, restricted to one build level when `level` is given, each entry
/// with its runner (its own `runner:`, else from `runners`); an error names a variant
/// to build that has none.
pub fn matrix(plan: &Plan, level: Option<usize>, runners: &Runners) -> Result<Matrix, PlanError> {
    let mut include = Vec::new();
    for e in plan.variants.iter().filter(|e| level.is_none_or(|l| e.level == l)) {
        let runner = runner_for(&e.os, e.runner.as_deref(), runners).ok_or_else(|| PlanError::NoRunner {
            variant: e.variant.clone(),
            os: e.os.clone(),
            known: runners.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
        include.push(MatrixEntry {
            variant: e.variant.clone(),
            os: e.os.clone(),
            context: e.context.clone(),
            dockerfile: e.dockerfile.clone(),
            platform: e.platform.clone(),
            level: e.level,
            source_id: e.source_id.clone(),
            runner,
        });
    }
    Ok(Matrix { include })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
