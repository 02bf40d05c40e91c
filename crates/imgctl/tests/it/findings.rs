//! True findings (issue 21): `usages` reports `removed-variant` only for a variant the
//! manifest once had (its git history), and a tag of a variant that never existed as
//! `unknown-tag` with the closest real tag — the real case: `azurelinux-3.0-net9.0-fpm`,
//! whose variant is `…-fpm-amd64`.

use crate::fleet::{Fleet, MULTI, REPO};
use crate::support::{Sandbox, repo_root};

const NOW: &str = "2026-11-21T12:00:00Z";

fn finding(doc: &serde_json::Value, line: u64) -> &serde_json::Value {
    doc["references"].as_array().expect("references").iter().find(|r| r["line"] == line).unwrap_or_else(|| panic!("no reference on line {line}: {doc:#}"))
}

#[test]
fn removed_variant_only_for_a_variant_that_existed() {
    let f = Fleet::new("0s");
    // the multi-arch variant leaves the manifest (its tags read structurally still)
    f.edit_manifest(|m| {
        let start = m.find("  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [multi]").expect("multi variant");
        m[..start].to_string()
    });
    f.sb.write(
        "consumer/ci.yml",
        &format!("a: {REPO}:{MULTI}-latest\nb: {REPO}:ubuntu-22.04-helux-amd64-latest\nc: {REPO}:ubuntu-22.04-helix-amd64-latest\n"),
    );
    let doc = f.at(NOW, &["usages", "consumer", "--output", "json"]).code(0).json();
    let removed = finding(&doc, 1);
    assert_eq!((&removed["kind"], &removed["variant"], &removed["findings"]), (&"channel".into(), &MULTI.into(), &serde_json::json!(["removed-variant"])), "{doc:#}");
    let never = finding(&doc, 2);
    assert_eq!((&never["kind"], &never["findings"]), (&"unknown".into(), &serde_json::json!(["unknown-tag"])), "{doc:#}");
    assert!(never.get("variant").is_none(), "a variant that never was is not named: {never:#}");
    assert_eq!(never["didYouMean"], "ubuntu-22.04-helix-amd64-latest", "{doc:#}");
    assert_eq!(finding(&doc, 3)["findings"], serde_json::json!([]));
    let human = f.at(NOW, &["usages", "consumer"]).code(0).stdout.clone();
    assert!(human.contains("unknown-tag (did you mean") && human.contains("'ubuntu-22.04-helix-amd64-latest'?)"), "{human}");
    assert!(human.contains("removed-variant"), "{human}");
}

#[test]
fn the_real_fleet_suggests_the_arch_suffixed_variant() {
    let sb = Sandbox::new();
    sb.write("consumer/pipeline.yml", "container: mcr.microsoft.com/dotnet-buildtools/prereqs:azurelinux-3.0-net9.0-fpm\n");
    let out = sb.cmd().current_dir(repo_root()).args(["usages", &sb.path().join("consumer").display().to_string(), "--output", "json"]).output().expect("run imgctl");
    let run = crate::support::Run::from(out);
    run.code(0);
    let doc = run.json();
    let r = &doc["references"][0];
    assert_eq!(r["findings"], serde_json::json!(["unknown-tag"]), "{doc:#}");
    assert_eq!(r["didYouMean"], "azurelinux-3.0-net9.0-fpm-amd64", "{doc:#}");
}
