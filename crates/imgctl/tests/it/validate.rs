//! `imgctl validate`: exit 0 on a good manifest, and for each kind of error a
//! finding with `file:line:col` and exit 1.

use crate::support::{Run, Sandbox};

const OS_DEFS: &str = r#"{ "definitions": [
  { "id": "Linux-Ubuntu-22.04-AMD64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu",
    "version": "22.04", "codename": "jammy", "arch": "AMD64", "eol": "2027-06-01" },
  { "id": "Linux-Ubuntu-22.04-ARM64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu",
    "version": "22.04", "codename": "jammy", "arch": "ARM64", "eol": "2027-06-01" },
  { "id": "Linux-Debian-12-AMD64", "family": "Linux", "distro": "Debian", "slug": "debian",
    "version": "12", "codename": "bookworm", "arch": "AMD64", "eol": "2026-06-10" }
] }
"#;

/// A good manifest; line numbers matter to the tests below.
const GOOD: &str = "version: 1
registry: ghcr.io
repository: acme/build-images
osDefinitions: ../os-definitions/os-definitions.json
tagSchema:
  arch: { AMD64: amd64, ARM64: arm64v8 }
  defaultArch: AMD64
channels:
  staging: { suffix: \"-staging\", branch: main }
  latest: { suffix: \"-latest\", branch: production, promotesFrom: staging, soak: 72h }
variants:
  - os: Linux-Ubuntu-22.04-AMD64
    qualifiers: [helix]
    context: ../src/ubuntu/helix
  - os: Linux-Ubuntu-22.04-ARM64
    qualifiers: [helix]
    context: ../src/ubuntu/helix
    aliases: [ubuntu-helix-arm]
";

fn sandbox(manifest: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("src/ubuntu/helix/Dockerfile", "FROM ubuntu:22.04\n");
    sb.write("src/debian/Dockerfile", "FROM debian:12\n");
    sb.write("os-definitions/os-definitions.json", OS_DEFS);
    sb.write("manifests/images.yaml", manifest);
    sb
}

/// Runs validate on `manifest` and asserts exit 1 with a finding of `code` at `line`.
#[track_caller]
fn fails_at(manifest: &str, code: &str, file: &str, line: usize) -> Run {
    let sb = sandbox(manifest);
    let run = sb.run(&["validate"]);
    run.code(1);
    let want = format!("{file}:{line}:");
    assert!(
        run.stdout.lines().any(|l| l.starts_with(&want) && l.contains(&format!("[{code}]"))),
        "expected a [{code}] finding at {want}\n{}",
        run.stdout
    );
    run
}

#[test]
fn good_manifest_passes() {
    let run = sandbox(GOOD).run(&["validate"]);
    run.code(0);
    assert!(run.stdout.contains("validate ok: 2 variants, 0 errors"), "{}", run.stdout);
}

#[test]
fn yaml_syntax_error() {
    fails_at(&GOOD.replace("  defaultArch: AMD64\n", "  defaultArch: [AMD64\n"), "syntax", "manifests/images.yaml", 8);
}

#[test]
fn json_syntax_error_in_os_definitions() {
    let sb = sandbox(GOOD);
    sb.write("os-definitions/os-definitions.json", &OS_DEFS.replace("\"distro\": \"Debian\"", "\"distro\" \"Debian\""));
    let run = sb.run(&["validate"]);
    run.code(1);
    assert!(run.stdout.contains("os-definitions/os-definitions.json:6:"), "{}", run.stdout);
}

#[test]
fn every_unknown_key_is_reported() {
    let text = GOOD.replace("    qualifiers: [helix]\n    context: ../src/ubuntu/helix\n    aliases", "    qualifiers: [helix]\n    colour: blue\n    context: ../src/ubuntu/helix\n    aliases")
        + "extra: true\n";
    let run = fails_at(&text, "unknown-key", "manifests/images.yaml", 17);
    assert!(run.stdout.contains("manifests/images.yaml:20:1: error: unknown key 'extra'"), "{}", run.stdout);
}

#[test]
fn missing_field() {
    fails_at(&GOOD.replace("    context: ../src/ubuntu/helix\n  - os: Linux-Ubuntu-22.04-ARM64", "  - os: Linux-Ubuntu-22.04-ARM64"), "missing-field", "manifests/images.yaml", 12);
}

#[test]
fn unknown_os_id() {
    let run = fails_at(&GOOD.replace("  - os: Linux-Ubuntu-22.04-AMD64", "  - os: Linux-Ubuntu-22.04-AMD46"), "unknown-os", "manifests/images.yaml", 12);
    assert!(run.stdout.contains("did you mean 'Linux-Ubuntu-22.04-AMD64'"), "{}", run.stdout);
}

#[test]
fn os_id_not_matching_its_fields() {
    let sb = sandbox(GOOD);
    sb.write("os-definitions/os-definitions.json", &OS_DEFS.replace("\"id\": \"Linux-Debian-12-AMD64\"", "\"id\": \"Linux-Debian-11-AMD64\""));
    let run = sb.run(&["validate"]);
    run.code(1);
    assert!(run.stdout.contains("os-definitions/os-definitions.json:6:") && run.stdout.contains("[os-id-mismatch]"), "{}", run.stdout);
}

#[test]
fn invalid_tag_characters() {
    fails_at(&GOOD.replace("aliases: [ubuntu-helix-arm]", "aliases: [\"-bad alias\"]"), "invalid-tag", "manifests/images.yaml", 18);
}

#[test]
fn over_long_tag() {
    let long = "q".repeat(90);
    fails_at(&GOOD.replace("    qualifiers: [helix]\n    context: ../src/ubuntu/helix\n  - os", &format!("    qualifiers: [helix, {long}]\n    context: ../src/ubuntu/helix\n  - os")), "tag-too-long", "manifests/images.yaml", 12);
}

#[test]
fn tag_claimed_by_two_variants() {
    // the ARM64 variant's alias is the AMD64 variant's staging tag
    fails_at(&GOOD.replace("aliases: [ubuntu-helix-arm]", "aliases: [ubuntu-22.04-helix-amd64]"), "duplicate-tag", "manifests/images.yaml", 15);
}

#[test]
fn qualifier_confusable_with_source_id_or_timestamp() {
    fails_at(&GOOD.replace("qualifiers: [helix]\n    context: ../src/ubuntu/helix\n  - os", "qualifiers: [3f9a0c1d2e4b]\n    context: ../src/ubuntu/helix\n  - os"), "invalid-qualifier", "manifests/images.yaml", 13);
    fails_at(&GOOD.replace("qualifiers: [helix]\n    context: ../src/ubuntu/helix\n  - os", "qualifiers: [\"20261125090000\"]\n    context: ../src/ubuntu/helix\n  - os"), "invalid-qualifier", "manifests/images.yaml", 13);
}

#[test]
fn two_variants_that_read_the_same() {
    // a qualifier equal to an arch segment, with the arch omitted, renders the first variant's tag
    let text = GOOD.replace("variants:\n", "variants:\n  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [helix, amd64]\n    omitArch: true\n    context: ../src/ubuntu/helix\n");
    let run = fails_at(&text, "ambiguous-variant", "manifests/images.yaml", 16);
    assert!(run.stdout.contains("line 12"), "{}", run.stdout);
}

#[test]
fn explicit_tag_that_does_not_parse_back() {
    let text = GOOD.replace("    context: ../src/ubuntu/helix\n    aliases", "    context: ../src/ubuntu/helix\n    tag: debian-12-helix-arm64v8\n    aliases");
    fails_at(&text, "tag-mismatch", "manifests/images.yaml", 18);
}

#[test]
fn explicit_tag_that_parses_back_is_fine() {
    let text = GOOD.replace("    context: ../src/ubuntu/helix\n    aliases", "    context: ../src/ubuntu/helix\n    tag: ubuntu-22.04-helix-arm64v8\n    aliases");
    sandbox(&text).run(&["validate"]).code(0);
}

#[test]
fn missing_context_directory() {
    fails_at(&GOOD.replace("    context: ../src/ubuntu/helix\n  - os", "    context: ../src/nowhere\n  - os"), "missing-context", "manifests/images.yaml", 14);
}

#[test]
fn missing_dockerfile() {
    let text = GOOD.replace("    context: ../src/ubuntu/helix\n  - os", "    context: ../src/ubuntu/helix\n    dockerfile: Dockerfile.missing\n  - os");
    fails_at(&text, "missing-dockerfile", "manifests/images.yaml", 15);
}

#[test]
fn channel_promoting_from_unknown_channel() {
    fails_at(&GOOD.replace("promotesFrom: staging", "promotesFrom: nightly"), "unknown-channel", "manifests/images.yaml", 10);
}

#[test]
fn eol_is_a_warning_and_an_error_with_strict() {
    let text = GOOD.replace("variants:\n", "variants:\n  - os: Linux-Debian-12-AMD64\n    context: ../src/debian\n");
    let sb = sandbox(&text);
    let run = sb.run(&["validate"]);
    run.code(0);
    assert!(run.stdout.contains("manifests/images.yaml:12:9: warning: 'Linux-Debian-12-AMD64' reached end of life on 2026-06-10 [eol]"), "{}", run.stdout);
    let strict = sb.run(&["validate", "--strict"]);
    strict.code(1);
    assert!(strict.stdout.contains("manifests/images.yaml:12:9: error:"), "{}", strict.stdout);
}

#[test]
fn every_finding_is_reported_not_just_the_first() {
    let text = GOOD
        .replace("  - os: Linux-Ubuntu-22.04-AMD64", "  - os: Linux-Nope-1-AMD64")
        .replace("promotesFrom: staging", "promotesFrom: nightly")
        .replace("aliases: [ubuntu-helix-arm]", "aliases: [\"bad alias\"]");
    let run = sandbox(&text).run(&["validate", "--output", "json"]);
    run.code(1);
    let doc = run.json();
    let codes: Vec<&str> = doc["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unknown-channel", "unknown-os", "invalid-tag"], "{doc:#}");
    assert_eq!(doc["errors"], 3);
    assert_eq!(doc["ok"], false);
}

#[test]
fn github_annotations_under_actions() {
    let sb = sandbox(&GOOD.replace("promotesFrom: staging", "promotesFrom: nightly"));
    let out = sb.cmd().arg("validate").env("GITHUB_ACTIONS", "true").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("::error file=manifests/images.yaml,line=10,col="), "{stdout}");
    // and on request, outside Actions
    let run = sb.run(&["validate", "--format", "github"]);
    assert!(run.stdout.contains("::error file=manifests/images.yaml,line=10,"), "{}", run.stdout);
    let plain = sb.run(&["validate"]);
    assert!(!plain.stdout.contains("::error"), "{}", plain.stdout);
}

#[test]
fn unreadable_manifest_is_a_clear_error() {
    let sb = Sandbox::new();
    let run = sb.run(&["validate", "--manifest", "nope/images.yaml"]);
    run.code(1);
    assert!(run.stderr.contains("error: failed to read 'nope/images.yaml': no such file or directory"), "{}", run.stderr);
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let sb = sandbox(GOOD);
    std::fs::rename(sb.path().join("manifests"), sb.path().join("m")).unwrap();
    sb.write("os-definitions/os-definitions.json", OS_DEFS);
    sb.run(&["--manifest", "m/images.yaml", "validate"]).code(0);
    sb.run(&["validate", "--manifest", "m/images.yaml", "--output", "json"]).code(0);
    let run = sb.cmd().arg("validate").env("IMGCTL_MANIFEST", "m/images.yaml").output().unwrap();
    assert_eq!(run.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    Sandbox::new().run(&["validate", "--no-such-flag"]).code(2);
    Sandbox::new().run(&["no-such-command"]).code(2);
}

#[test]
fn an_unknown_registry_kind_is_a_finding_with_its_line_and_a_known_one_validates() {
    let run = fails_at(&GOOD.replace("repository: acme/build-images\n", "repository: acme/build-images\nregistryKind: gitlab\n"), "invalid-value", "manifests/images.yaml", 4);
    assert!(run.stdout.contains("registryKind") && run.stdout.contains("'gitlab'") && run.stdout.contains("ghcr"), "{}", run.stdout);
    sandbox(&GOOD.replace("repository: acme/build-images\n", "repository: acme/build-images\nregistryKind: harbor\n")).run(&["validate"]).code(0);
}

#[test]
fn a_schedule_is_checked_against_the_soak_and_the_promote_workflows_cron() {
    let scheduled = GOOD.replace("soak: 72h }", "soak: 72h, schedule: '17 6 * * 3' }");
    let sb = sandbox(&scheduled);
    sb.write(".github/workflows/fleet-promote.yml", "on:\n  schedule:\n    - cron: \"17 6 * * 4\"\njobs:\n  promote:\n    uses: imgctl-dev/imgctl/.github/workflows/promote.yml@v0.1.0\n");
    crate::fleet::git(sb.path(), &["init", "-q"]);
    let run = sb.run(&["validate"]);
    run.code(1);
    assert!(
        run.stdout.contains("manifests/images.yaml:10:") && run.stdout.contains("[schedule-mismatch]")
            && run.stdout.contains(".github/workflows/fleet-promote.yml:3 runs the promotion at '17 6 * * 4'"),
        "{}",
        run.stdout
    );
    // the same cron: fine; a soak longer than the weekly interval: a warning, exit 0
    sb.write(".github/workflows/fleet-promote.yml", "on:\n  schedule:\n    - cron: \"17 6 * * 3\"\njobs:\n  promote:\n    uses: imgctl-dev/imgctl/.github/workflows/promote.yml@v0.1.0\n");
    sb.run(&["validate"]).code(0);
    sb.write("manifests/images.yaml", &scheduled.replace("soak: 72h", "soak: 8d"));
    let run = sb.run(&["validate"]);
    run.code(0);
    assert!(run.stdout.contains("[soak-exceeds-schedule]") && run.stdout.contains("always promoted a build behind"), "{}", run.stdout);
}
