//! The verification gate before `promote` moves a variant (issue 16): a verify command
//! keyed on `IMGCTL_VARIANT` passes for one variant, fails for one and outlasts its
//! timeout for a third; the passing one moves, the others do not, `status` says why (JSON
//! and human, from the failure recorded in the registry), the run exits 1, the output is
//! kept per variant (log files, step summary); `--skip-verify` needs `--force`.

use crate::fleet::{ARM, Fleet, MULTI, SINGLE, VARIANTS, result_of};

const T0: &str = "2026-11-02T09:00:00Z";
const T1: &str = "2026-11-02T10:00:00Z";
const T2: &str = "2026-11-02T11:00:00Z";

/// A gate script: checks its environment and pulls the image by digest with skopeo (as a
/// team's `docker run` would), then fails for the ARM variant and hangs for the index.
const SCRIPT: &str = r#"#!/bin/sh
echo "verifying $IMGCTL_VARIANT ($IMGCTL_OS) for $IMGCTL_CHANNEL"
[ "${IMGCTL_IMAGE#*@}" = "$IMGCTL_DIGEST" ] || { echo "IMGCTL_IMAGE does not name IMGCTL_DIGEST"; exit 8; }
[ "$IMGCTL_CHANNEL" = latest ] && [ -n "$IMGCTL_OS" ] || { echo "missing environment"; exit 8; }
skopeo inspect --raw --tls-verify=false "docker://$IMGCTL_IMAGE" > /dev/null || { echo "cannot pull $IMGCTL_IMAGE"; exit 9; }
case "$IMGCTL_VARIANT" in
  *arm64v8) echo "cmake --version" ; echo "sh: 1: cmake: not found" >&2 ; exit 3 ;;
  *multi*) echo "hanging"; sleep 60 ;;
esac
echo "all tools present"
"#;

/// Adds `verify:` to the `latest` channel (committed on main, production fast-forwarded).
pub fn gate(f: &Fleet, verify: &str) {
    f.edit_manifest(|text| {
        let text = text.replace("promotesFrom: staging, soak: 0s }", &format!("promotesFrom: staging, soak: 0s, verify: {verify} }}"));
        assert!(text.contains("verify:"), "{text}");
        text
    });
}

#[test]
fn a_failing_or_hanging_verification_blocks_only_its_variant_and_status_says_why() {
    let f = Fleet::new("0s");
    let mut digests = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, d) = f.build(v, 60 + i as u64);
        f.at(T0, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
        digests.push(d);
    }
    let script = f.sb.write("ci/verify.sh", SCRIPT);
    gate(&f, &format!("{{ command: [sh, {}], timeout: 3s }}", script.display()));
    let summary = f.sb.path().join("summary.md");
    let out = f.sb.cmd().env("IMGCTL_NOW", T1).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("GITHUB_STEP_SUMMARY", &summary).args(["promote", "--output", "json"]).output().unwrap();
    let run = crate::support::Run::from(out);
    let doc = run.code(1).json();
    assert_eq!(result_of(&doc, SINGLE)["action"], "moved", "{doc:#}");
    let arm = result_of(&doc, ARM);
    assert_eq!(arm["action"], "skipped", "{doc:#}");
    assert_eq!(arm["blockedBy"], "verification");
    let reason = arm["reason"].as_str().unwrap();
    assert!(reason.starts_with("verification failed: exit 3: ") && reason.contains("cmake: not found"), "{reason}");
    let multi = result_of(&doc, MULTI);
    assert_eq!(multi["action"], "skipped", "{doc:#}");
    assert!(multi["reason"].as_str().unwrap().starts_with("verification failed: timed out after 3s"), "{doc:#}");
    // only the passing variant moved
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(digests[0].as_str()));
    assert_eq!(f.skopeo_digest(&format!("{ARM}-latest")), None);
    assert_eq!(f.skopeo_digest(&format!("{MULTI}-latest")), None);

    // the output is kept per variant: a log file each, and the step summary
    let log = |v: &str, d: &str| f.sb.path().join(format!("imgctl-verify-logs/{v}-latest-{}.log", &d[7..19]));
    let arm_log = std::fs::read_to_string(log(ARM, &digests[1])).unwrap();
    assert!(arm_log.contains("cmake --version") && arm_log.contains("cmake: not found"), "{arm_log}");
    assert!(std::fs::read_to_string(log(SINGLE, &digests[0])).unwrap().contains("all tools present"));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### imgctl verification") && md.contains("cmake: not found") && md.contains("timed out after 3s"), "{md}");

    // status, on a machine with only registry access: blocked by verification, when and why
    let status = f.at(T2, &["status", "--output", "json"]).code(0).json();
    let of = |v: &str| status["variants"].as_array().unwrap().iter().find(|s| s["variant"] == v).unwrap().clone();
    let a = of(ARM);
    assert_eq!(a["pending"]["blockedBy"], "verification", "{status:#}");
    assert_eq!(a["pending"]["digest"], digests[1].as_str());
    assert_eq!(a["pending"]["verification"]["result"], "exit 3");
    assert!(a["pending"]["verification"]["tail"].as_str().unwrap().contains("cmake: not found"), "{status:#}");
    assert_eq!(a["pending"]["verification"]["time"], "2026-11-02T10:00:00Z");
    assert_eq!(of(MULTI)["pending"]["blockedBy"], "verification");
    assert!(of(SINGLE).get("pending").is_none(), "{status:#}");
    let human = f.at(T2, &["status", ARM]);
    human.code(0);
    assert!(human.stdout.contains("verification failed at 2026-11-02T10:00:00Z: exit 3") && human.stdout.contains("cmake: not found"), "{}", human.stdout);

    // --skip-verify only with --force (exit 2); with it the variant moves without the gate
    let r = f.at(T2, &["promote", "--variant", ARM, "--skip-verify"]);
    r.code(2);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    let doc = f.at(T2, &["promote", "--variant", ARM, "--force", "--skip-verify", "--output", "json"]).code(0).json();
    assert_eq!(result_of(&doc, ARM)["action"], "moved", "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{ARM}-latest")).as_deref(), Some(digests[1].as_str()));
    let status = f.at(T2, &["status", ARM, "--output", "json"]).code(0).json();
    assert!(status["variants"][0].get("pending").is_none(), "a moved variant is not blocked by its old record: {status:#}");
}

#[test]
fn a_gate_applies_only_where_it_says_and_a_shell_string_sees_the_environment() {
    let f = Fleet::new("0s");
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, _) = f.build(v, 70 + i as u64);
        f.at(T0, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
    }
    // a shell string that fails everywhere, restricted to the multi qualifier
    gate(&f, r#"{ command: "echo \"no $IMGCTL_VARIANT\"; exit 4", qualifiers: [multi] }"#);
    let doc = f.at(T1, &["promote", "--output", "json"]).code(1).json();
    assert_eq!(result_of(&doc, SINGLE)["action"], "moved", "{doc:#}");
    assert_eq!(result_of(&doc, ARM)["action"], "moved", "{doc:#}");
    let multi = result_of(&doc, MULTI);
    assert_eq!(multi["reason"], format!("verification failed: exit 4: no {MULTI}"), "{doc:#}");
    // a dry run says it would verify and runs nothing
    let doc = f.at(T2, &["promote", "--dry-run", "--output", "json"]).code(0).json();
    assert!(result_of(&doc, MULTI)["reason"].as_str().unwrap().starts_with("dry run: would verify, then move: source id "), "{doc:#}");
}

#[test]
fn verifications_in_flight_stay_within_verify_concurrency() {
    let f = Fleet::new("0s");
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, _) = f.build(v, 75 + i as u64);
        f.at(T0, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
    }
    // each run notes how many are running (a directory entry each) while it runs
    let dir = f.sb.path().join("inflight");
    std::fs::create_dir_all(&dir).unwrap();
    let script = f.sb.write(
        "ci/count.sh",
        &format!("#!/bin/sh\nd={}\nmkdir \"$d/$IMGCTL_VARIANT\"\nls \"$d\" | grep -vc seen >> \"$d/seen\"\nsleep 0.3\nrmdir \"$d/$IMGCTL_VARIANT\"\n", dir.display()),
    );
    gate(&f, &format!("{{ command: [sh, {}] }}", script.display()));
    f.at(T1, &["promote", "--verify-concurrency", "1"]).code(0);
    let seen: Vec<u32> = std::fs::read_to_string(dir.join("seen")).unwrap().lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(seen, vec![1, 1, 1], "one at a time with --verify-concurrency 1");
}

#[test]
fn validate_rejects_an_empty_verify_command() {
    let f = Fleet::new("0s");
    gate(&f, "{ command: [] }");
    let r = f.at(T0, &["validate"]);
    r.code(1);
    assert!(r.stdout.contains("channel 'latest' has an empty verify command") && r.stdout.contains("images.yaml:"), "{}{}", r.stdout, r.stderr);
}
