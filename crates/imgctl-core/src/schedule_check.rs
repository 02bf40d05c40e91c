//! `validate`'s checks of channel schedules (SPEC §9): the cron parses, a soak longer than
//! the schedule's interval is pointed out (a variant that changes every interval then
//! always ships a build that is at least two runs old), and the repository's promote
//! workflow runs when the manifest says (else `status` would announce wrong times).

use crate::finding::Finding;
use crate::fleet::Fleet;
use crate::schedule::Schedule;
use crate::span::field;

/// A workflow file: its path (as shown in findings) and text.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Path, relative to the repository root.
    pub path: String,
    /// Its YAML.
    pub text: String,
}

/// A promote workflow's scheduled crons, each with its line.
fn promote_crons(w: &Workflow) -> Option<Vec<(String, usize)>> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&w.text).ok()?;
    let calls_promote = w.text.contains("imgctl promote") || w.text.lines().any(|l| l.trim_start().starts_with("uses:") && l.contains("promote.yml"));
    if !calls_promote {
        return None;
    }
    let on = doc.get("on")?;
    let crons: Vec<String> = on.get("schedule")?.as_sequence()?.iter().filter_map(|s| s.get("cron")?.as_str().map(str::to_string)).collect();
    let line = |c: &str| w.text.lines().position(|l| l.contains("cron:") && l.contains(c)).map_or(1, |i| i + 1);
    Some(crons.into_iter().map(|c| (c.clone(), line(&c))).collect())
}

/// Findings about every channel's `schedule` against its soak and `workflows` (the
/// repository's `.github/workflows/*.yml`; empty when there are none to check).
pub fn check(fleet: &Fleet, workflows: &[Workflow]) -> Vec<Finding> {
    let mut out = Vec::new();
    let file = &fleet.manifest_file;
    let crons: Vec<(&Workflow, String, usize)> = workflows.iter().filter_map(|w| promote_crons(w).map(|c| (w, c))).flat_map(|(w, c)| c.into_iter().map(move |(cron, line)| (w, cron, line))).collect();
    for (name, c) in &fleet.manifest.channels {
        let Some(text) = &c.schedule else { continue };
        let pos = fleet.manifest_spans.pos(&field(&field("channels", name), "schedule"));
        let s = match Schedule::parse(text) {
            Ok(s) => s,
            Err(e) => {
                out.push(Finding::error("invalid-schedule", file, pos, format!("channel '{name}': {e}")));
                continue;
            }
        };
        if c.promotes_from.is_none() {
            out.push(Finding::warning("schedule-without-promotion", file, pos, format!("channel '{name}' has a schedule but promotes from nothing: publish moves it, not a schedule")));
        }
        let interval = s.longest_interval();
        if let Some(soak) = c.soak.filter(|soak| *soak > interval) {
            out.push(Finding::warning(
                "soak-exceeds-schedule",
                file,
                pos,
                format!("channel '{name}': soak {soak} is longer than the schedule's interval ({interval}): a variant that changes every interval is always promoted a build behind (its newest soaked build is two runs old); shorten the soak or run less often"),
            ));
        }
        if crons.is_empty() {
            continue;
        }
        let matching = crons.iter().any(|(_, cron, _)| Schedule::parse(cron).is_ok_and(|w| w.same_as(&s)));
        if !matching {
            let (w, cron, line) = &crons[0];
            out.push(Finding::error(
                "schedule-mismatch",
                file,
                pos,
                format!("channel '{name}' says it is promoted at '{text}' (UTC), but {}:{line} runs the promotion at '{cron}': make them the same (status announces the manifest's times)", w.path),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{parse_manifest, parse_os_definitions};

    fn fleet(latest: &str) -> Fleet {
        let text = format!("version: 1\nregistry: r.invalid\nrepository: a/b\nosDefinitions: os.json\ntagSchema:\n  arch: {{ AMD64: amd64 }}\n  defaultArch: AMD64\nchannels:\n  staging: {{ suffix: -staging }}\n  latest: {{ {latest} }}\nvariants:\n  - os: U\n    context: src\n");
        let m = parse_manifest("images.yaml", &text);
        let o = parse_os_definitions("os.json", r#"{ "definitions": [ { "id": "U", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64" } ] }"#);
        Fleet::new(m.value.expect("manifest"), "images.yaml", m.spans, o.value.expect("os"), o.spans).0
    }

    fn wf(cron: &str) -> Workflow {
        Workflow { path: ".github/workflows/fleet-promote.yml".into(), text: format!("on:\n  schedule:\n    - cron: \"{cron}\"\njobs:\n  p:\n    uses: ./.github/workflows/promote.yml\n") }
    }

    #[test]
    fn a_matching_workflow_and_a_short_soak_are_fine() {
        let f = fleet("suffix: -latest, promotesFrom: staging, soak: 72h, schedule: '17 6 * * 3'");
        assert_eq!(check(&f, &[wf("17 6 * * 3")]), vec![]);
        assert_eq!(check(&f, &[]), vec![], "no workflow to compare with");
    }

    #[test]
    fn a_mismatch_a_long_soak_and_a_bad_cron_are_reported_at_the_schedule_line() {
        let f = fleet("suffix: -latest, promotesFrom: staging, soak: 8d, schedule: '17 6 * * 3'");
        let found = check(&f, &[wf("17 6 * * 4")]);
        let codes: Vec<&str> = found.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["soak-exceeds-schedule", "schedule-mismatch"], "{found:#?}");
        assert_eq!(found[1].line, 10);
        assert!(found[1].message.contains(".github/workflows/fleet-promote.yml:3 runs the promotion at '17 6 * * 4'"), "{}", found[1].message);
        let bad = check(&fleet("suffix: -latest, promotesFrom: staging, schedule: 'every wednesday'"), &[]);
        assert_eq!(bad[0].code, "invalid-schedule");
        assert!(bad[0].is_error());
    }
}
