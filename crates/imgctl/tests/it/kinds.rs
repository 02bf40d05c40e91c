//! Registry kinds at the test proxy (SPEC §8): each hosted registry's refusal to move an
//! immutable tag (status and body as its documentation and issue reports give them) is a
//! permanent, unretried `failed` for that variant with advice; `inspect` says which kind is
//! in use and where that came from.

use imgctl_testkit::{Answer, Fault, FaultPlan, Proxy, TestRegistry};

use crate::fleet::{Fleet, SINGLE, result_of};

const T0: &str = "2026-09-01T09:00:00Z";
const T1: &str = "2026-09-02T09:00:00Z";

/// (kind, status, body) of each kind's refusal to overwrite an immutable tag.
const REFUSALS: [(&str, u16, &str); 5] = [
    (
        "ecr",
        400,
        r#"{"errors":[{"code":"TAG_INVALID","message":"The image tag 'ubuntu-22.04-helix-amd64-staging' already exists in the 'acme/build-images' repository and cannot be overwritten because the tag is immutable."}]}"#,
    ),
    ("harbor", 412, r#"{"errors":[{"code":"PRECONDITION","message":"Failed to process request due to 'build-images:ubuntu-22.04-helix-amd64-staging' configured as immutable."}]}"#),
    (
        "dockerhub",
        403,
        r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied - This tag is already assigned to an image in this repository and cannot be updated due to immutability settings."}]}"#,
    ),
    ("gar", 400, r#"{"errors":[{"code":"FAILED_PRECONDITION","message":"Cannot update tag ubuntu-22.04-helix-amd64-staging: the repository has immutable tags enabled"}]}"#),
    ("quay", 409, r#"{"errors":[{"code":"TAG_IMMUTABLE","message":"tag ubuntu-22.04-helix-amd64-staging is immutable"}]}"#),
];

#[test]
fn an_immutable_tag_refusal_is_a_permanent_failure_with_advice_for_every_kind() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let mut f = Fleet::with_host(reg, proxy.host(), "0s");
    let (dir, first) = f.build(SINGLE, 1);
    f.at(T0, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    f.at(T0, &["promote", "--variant", SINGLE]).code(0);
    f.change_sources();
    let (dir, second) = f.build(SINGLE, 2);
    f.at(T1, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    let latest = format!("/manifests/{SINGLE}-latest");
    for (kind, status, body) in REFUSALS {
        let refusal = body.replace("-staging", "-latest");
        proxy.set_faults(FaultPlan::always(Fault::Answer(Answer::new("PUT", &latest, status, &refusal))));
        proxy.reset();
        let r = f.at(T1, &["--registry-kind", kind, "promote", "--variant", SINGLE, "--output", "json"]);
        r.code(1);
        let doc = r.json();
        let line = result_of(&doc, SINGLE);
        assert_eq!(line["action"], "failed", "{kind}: {doc:#}");
        let reason = line["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("immutable tags") && reason.contains(&format!("HTTP {status}")), "{kind}: {reason}");
        assert!(reason.contains("'*-staging'") && reason.contains("aliases") && reason.contains("exclude them from the immutability rule"), "{kind}: {reason}");
        let puts = proxy.events().iter().filter(|e| e.method == "PUT" && e.path.ends_with(&latest)).count();
        assert_eq!(puts, 1, "{kind}: the refusal is not retried");
        assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(first.as_str()), "{kind}: latest did not move");
    }
    // any kind takes a refusal that says "immutable" for one; a bare 412 PRECONDITION is
    // none, not even on Harbor (which answers other policy refusals with it too)
    let bare = r#"{"errors":[{"code":"PRECONDITION","message":"precondition failed"}]}"#;
    proxy.set_faults(FaultPlan::always(Fault::Answer(Answer::new("PUT", &latest, 412, bare))));
    for (kind, immutable) in [("distribution", false), ("harbor", false)] {
        let r = f.at(T1, &["--registry-kind", kind, "promote", "--variant", SINGLE, "--output", "json"]);
        r.code(1);
        let reason = result_of(&r.json(), SINGLE)["reason"].as_str().unwrap_or_default().to_string();
        assert!(reason.contains("HTTP 412") && reason.contains("PRECONDITION"), "{reason}");
        assert_eq!(reason.contains("exclude them from the immutability rule"), immutable, "{kind}: {reason}");
    }
    // once the rule is lifted the move goes through
    proxy.clear_faults();
    f.at(T1, &["promote", "--variant", SINGLE]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(second.as_str()));
    // publish moving staging gets the same advice (its one variant fails the command)
    let (kind, status, body) = REFUSALS[0];
    proxy.set_faults(FaultPlan::always(Fault::Answer(Answer::new("PUT", &format!("/manifests/{SINGLE}-staging"), status, body))));
    f.change_sources();
    let (dir3, _) = f.build(SINGLE, 3);
    let r = f.at(T1, &["--registry-kind", kind, "publish", SINGLE, "--image", dir3.to_str().unwrap()]);
    r.code(1);
    assert!(r.stderr.contains("immutable tags (HTTP 400: TAG_INVALID") && r.stderr.contains("exclude them from the immutability rule"), "{}", r.stderr);
}

#[test]
fn inspect_says_which_kind_is_in_use_and_from_where() {
    let f = Fleet::new("0s");
    let (dir, digest) = f.build(SINGLE, 3);
    f.at(T0, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    let reference = format!("{}/acme/build-images@{digest}", f.host);
    let doc = f.at(T0, &["inspect", &reference, "--output", "json"]).code(0).json();
    assert_eq!((doc["registryKind"].as_str(), doc["registryKindFrom"].as_str()), (Some("distribution"), Some("inferred")), "{doc:#}");
    let doc = f.sb.cmd().env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("IMGCTL_REGISTRY_KIND", "harbor").args(["inspect", &reference, "--output", "json"]).output().expect("run");
    let doc: serde_json::Value = serde_json::from_slice(&doc.stdout).expect("json");
    assert_eq!((doc["registryKind"].as_str(), doc["registryKindFrom"].as_str()), (Some("harbor"), Some("flag")), "{doc:#}");
    // an empty IMGCTL_REGISTRY_KIND (a reusable workflow's unset input) is no override
    let empty = f.sb.cmd().env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("IMGCTL_REGISTRY_KIND", "").args(["inspect", &reference, "--output", "json"]).output().expect("run");
    assert!(empty.status.success(), "{}", String::from_utf8_lossy(&empty.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&empty.stdout).expect("json");
    assert_eq!(doc["registryKindFrom"], "inferred", "{doc:#}");
    let human = f.at(T0, &["--registry-kind", "quay", "inspect", &reference]).code(0).stdout.clone();
    assert!(human.contains("quay (from --registry-kind / IMGCTL_REGISTRY_KIND)"), "{human}");
    let bad = f.at(T0, &["--registry-kind", "gitlab", "inspect", &reference]);
    bad.code(2);
    assert!(bad.stderr.contains("ghcr") && bad.stderr.contains("dockerhub"), "{}", bad.stderr);
    // status -v names the kind (the manifest's registryKind here)
    let manifest = std::fs::read_to_string(f.sb.path().join("manifests/images.yaml")).unwrap().replace("repository: acme", "registryKind: acr\nrepository: acme");
    f.sb.write("manifests/images.yaml", &manifest);
    let st = f.at(T0, &["status", "-v"]);
    st.code(0);
    assert!(st.stderr.contains("kind acr (from the manifest's registryKind)"), "{}", st.stderr);
}
