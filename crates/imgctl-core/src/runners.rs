//! What the shipped publish workflow can build (`docs/ADOPTING.md`): the runner each
//! variant is built on, and the findings for a fleet it could not build (a `FROM` chain
//! deeper than its build-level jobs, a variant with no runner for its OS).

use std::collections::BTreeMap;

use crate::finding::Finding;
use crate::fleet::{Fleet, variant_path};
use crate::graph::Graph;
use crate::span::field;

/// Build levels the publish workflow has a job for (`build-level0` … `build-level7`);
/// `.github/workflows/publish.yml` is checked against it.
pub const MAX_BUILD_LEVELS: usize = 8;

/// Runner labels by OperatingSystemId prefix (whole `-` segments: `Windows`,
/// `Windows-WindowsServerCore-ltsc2025`); the longest prefix of a variant's OS wins.
pub type Runners = BTreeMap<String, String>;

/// The publish workflow's `runners` input default, as JSON (the workflow's `default:`
/// is checked to be this text).
pub const DEFAULT_RUNNERS_JSON: &str = r#"{"Linux": "ubuntu-24.04", "Windows": "windows-2022"}"#;

/// [`DEFAULT_RUNNERS_JSON`], parsed.
pub fn default_runners() -> Runners {
    parse(DEFAULT_RUNNERS_JSON).unwrap_or_default()
}

/// Reads a runners map: a JSON object of non-empty strings.
pub fn parse(json: &str) -> Result<Runners, String> {
    let map: BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|e| format!("read the runners '{json}': {e} (expected a JSON object such as {DEFAULT_RUNNERS_JSON})"))?;
    if let Some((k, _)) = map.iter().find(|(k, v)| k.is_empty() || v.trim().is_empty()) {
        return Err(format!("read the runners '{json}': the entry '{k}' is empty (each key is an OS family or OperatingSystemId prefix, each value a runner label)"));
    }
    Ok(map)
}

/// The runner of a variant of OperatingSystemId `os`: its own `runner:`, else the
/// longest key of `runners` that is `os` or a prefix of it ending at a `-`.
pub fn runner_for(os: &str, own: Option<&str>, runners: &Runners) -> Option<String> {
    if let Some(r) = own {
        return Some(r.to_string());
    }
    runners
        .iter()
        .filter(|(k, _)| os == k.as_str() || os.strip_prefix(k.as_str()).is_some_and(|rest| rest.starts_with('-')))
        .max_by_key(|(k, _)| k.len())
        .map(|(_, v)| v.clone())
}

/// Why the publish workflow could not build `fleet`: variants at a level it has no job for,
/// and variants with no runner for their OS (at each variant's manifest line).
pub fn check(fleet: &Fleet, graph: &Graph, runners: &Runners) -> Vec<Finding> {
    let mut out = Vec::new();
    let file = &fleet.manifest_file;
    let spans = &fleet.manifest_spans;
    let families: Vec<&str> = runners.keys().map(String::as_str).collect();
    for (i, v) in fleet.variants.iter().enumerate() {
        let path = variant_path(v.index);
        if let Some(level) = graph.nodes.get(i).and_then(|n| n.level).filter(|l| *l >= MAX_BUILD_LEVELS) {
            out.push(Finding::error("too-deep", file, spans.pos(&path),
                format!("variant '{}' is at build level {level} (a FROM chain of {} images) but the publish workflow builds levels 0-{}: let it build FROM an image nearer the root", v.name, level + 1, MAX_BUILD_LEVELS - 1)));
        }
        if v.spec.runner.as_deref().is_some_and(|r| r.trim().is_empty()) {
            out.push(Finding::error("no-runner", file, spans.pos(&field(&path, "runner")), format!("variant '{}' has an empty runner label", v.name)));
        } else if runner_for(&v.os.id, v.spec.runner.as_deref(), runners).is_none() {
            out.push(Finding::error("no-runner", file, spans.pos(&field(&path, "os")),
                format!("variant '{}' ({}) has no runner: the publish workflow's runners name no '{}' (they name: {}); give the variant `runner:` or add '{}' to the workflow's `runners` input (`--runners`)",
                    v.name, v.os.id, v.os.family, families.join(", "), v.os.family)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_whole_segment_prefix_wins_and_a_variants_own_runner_first() {
        let r = parse(r#"{"Linux": "ubuntu-24.04", "Windows": "windows-2022", "Windows-WindowsServerCore-ltsc2025": "windows-2025"}"#).unwrap();
        assert_eq!(runner_for("Linux-Ubuntu-22.04-AMD64", None, &r).as_deref(), Some("ubuntu-24.04"));
        assert_eq!(runner_for("Windows-NanoServer-1809-AMD64", None, &r).as_deref(), Some("windows-2022"));
        assert_eq!(runner_for("Windows-WindowsServerCore-ltsc2025-AMD64", None, &r).as_deref(), Some("windows-2025"));
        assert_eq!(runner_for("Linux-Ubuntu-22.04-AMD64", Some("self-hosted-arm"), &r).as_deref(), Some("self-hosted-arm"));
        // a prefix ends at a segment: "Lin" names nothing
        let partial = parse(r#"{"Lin": "x"}"#).unwrap();
        assert_eq!(runner_for("Linux-Ubuntu-22.04-AMD64", None, &partial), None);
        assert_eq!(default_runners().len(), 2);
    }

    #[test]
    fn bad_runner_maps_say_what_is_expected() {
        let e = parse("[1]").unwrap_err();
        assert!(e.contains("expected a JSON object") && e.contains("Windows"), "{e}");
        let e = parse(r#"{"Windows": " "}"#).unwrap_err();
        assert!(e.contains("'Windows' is empty"), "{e}");
    }
}
