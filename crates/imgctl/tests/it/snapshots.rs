//! Output that scripts and people read, pinned with insta snapshots (digests and times
//! redacted): the JSON documents of SPEC §4.1 and the human tables.

use crate::fleet::{Fleet, SINGLE};
use crate::support::{Sandbox, repo_root};

fn sample(args: &[&str]) -> String {
    let sb = Sandbox::new();
    let mut cmd = sb.cmd();
    cmd.current_dir(repo_root()).args(args);
    let out = cmd.output().expect("run imgctl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tags_json_of_sample_variants() {
    let out = sample(&["tags", "ubuntu-22.04-helix-amd64", "azurelinux-3.0-net11.0-cross-freebsd-15-arm64", "--output", "json"]);
    insta::with_settings!({filters => vec![(r#""sourceId": "[0-9a-f]{12}""#, r#""sourceId": "[source-id]""#), (r#"-[0-9a-f]{12}""#, r#"-[source-id]""#)]}, {
        insta::assert_snapshot!(out);
    });
}

#[test]
fn parse_tag_table() {
    let out = sample(&[
        "parse-tag",
        "ubuntu-22.04-helix-amd64",
        "ubuntu-22.04-helix-amd64-staging",
        "ubuntu-22.04-amd64-20261125090000-9b15c8e0a7d2",
        "ubuntu-22.04-amd64-staging-20261125090000-9b15c8e0a7d2-1a2b3c4d5e6f",
        "centos-stream-9-helix-amd64-3f9a0c1d2e4b",
        "azurelinux-3.0-net11.0-cross-freebsd-15-arm64",
    ]);
    insta::assert_snapshot!(out);
}

#[test]
fn promote_and_history_reports() {
    let f = Fleet::new("0s");
    let (dir, _) = f.build(SINGLE, 3);
    f.at("2026-11-02T09:00:00Z", &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    let promote = f.at("2026-11-02T10:00:00Z", &["promote"]).code(0).stdout.clone();
    let history = f.at("2026-11-02T10:00:00Z", &["history", SINGLE, "--output", "json"]).code(0).stdout.clone();
    insta::with_settings!({filters => vec![(r"sha256:[0-9a-f]{12,64}", "sha256:[digest]"), (r"-[0-9a-f]{12}\b", "-[hex12]"), (r"source id [0-9a-f]{12}", "source id [source-id]")]}, {
        insta::assert_snapshot!("promote_human", promote);
        insta::assert_snapshot!("history_json", history);
    });
}
