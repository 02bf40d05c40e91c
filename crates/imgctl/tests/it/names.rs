//! Names help (issue 21): did-you-mean for variants, channels and commands; any tag of a
//! variant where a VARIANT is expected (said so on stderr); the manifest found from any
//! folder of the repository upward, and a missing one naming `imgctl init` / `--manifest`.
//! Run on the real 229-variant manifest this repository ships.

use crate::fleet::git;
use crate::support::{Run, Sandbox, repo_root};

/// `imgctl ARGS…` in `dir` of this repository (no --manifest).
fn in_repo(dir: &str, args: &[&str]) -> Run {
    let sb = Sandbox::new();
    let out = sb.cmd().current_dir(repo_root().join(dir)).args(args).output().expect("run imgctl");
    Run::from(out)
}

#[test]
fn a_mistyped_variant_gets_the_real_one_suggested() {
    let run = in_repo(".", &["history", "almalinux-9-helx-amd64"]);
    run.code(1);
    assert!(
        run.stderr.contains("error: failed to find variant 'almalinux-9-helx-amd64' in 'manifests/images.yaml': no variant has that name or tag; did you mean 'almalinux-9-helix-amd64'?"),
        "{}",
        run.stderr
    );
    let run = in_repo(".", &["status", "azurelinux-3.0-net9.0-fpm"]);
    run.code(1);
    assert!(run.stderr.contains("did you mean 'azurelinux-3.0-net9.0-fpm-amd64'?"), "{}", run.stderr);
    // nothing close: no suggestion, still the pointer to `imgctl tags`
    let run = in_repo(".", &["tags", "zzz"]);
    run.code(1);
    assert!(!run.stderr.contains("did you mean") && run.stderr.contains("(see `imgctl tags`)"), "{}", run.stderr);
}

#[test]
fn a_mistyped_channel_lists_the_channels() {
    for args in [&["history", "almalinux-9-helix-amd64", "--channel", "lates"][..], &["rollback", "almalinux-9-helix-amd64", "--channel", "lates"]] {
        let run = in_repo(".", args);
        run.code(1);
        assert!(
            run.stderr.contains("error: failed to find channel 'lates' in 'manifests/images.yaml'; did you mean 'latest'? (channels: staging, latest)"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let run = in_repo(".", &["promote", "--channel", "prod"]);
    run.code(1);
    assert!(run.stderr.contains("find channel 'prod'") && run.stderr.contains("(channels: staging, latest)"), "{}", run.stderr);
}

#[test]
fn a_mistyped_command_gets_the_real_one_suggested() {
    let run = in_repo(".", &["statsu"]);
    run.code(2);
    assert!(run.stderr.contains("unrecognized subcommand 'statsu'") && run.stderr.contains("'status'"), "{}", run.stderr);
    let run = in_repo(".", &["histroy", "x"]);
    run.code(2);
    assert!(run.stderr.contains("similar subcommand") && run.stderr.contains("'history'"), "{}", run.stderr);
}

#[test]
fn any_tag_of_a_variant_is_read_back_as_that_variant() {
    let base = "almalinux-9-helix-amd64";
    let immutable = in_repo(".", &["tags", base, "--output", "json"]).code(0).json()[0]["tags"]["immutable"].as_str().expect("immutable tag").to_string();
    let cases = [
        (format!("{base}-staging"), "channel tag on staging"),
        (immutable, "immutable tag"),
        (format!("{base}-staging-20261125090000-9b15c8e0a7d2"), "release tag on staging"),
        ("azurelinux3.0-docker-testrunner-amd64".to_string(), "alias on latest"),
    ];
    for (tag, what) in cases {
        let run = in_repo(".", &["tags", &tag, "--output", "json"]);
        run.code(0);
        let doc = run.json();
        let want = if tag.starts_with("azurelinux3.0") { "azurelinux-3.0-docker-testrunner-amd64" } else { base };
        assert_eq!(doc[0]["variant"], want, "{tag}: {doc:#}");
        assert!(run.stderr.contains(&format!("note: read '{tag}' as variant '{want}' (its {what})")), "{tag}: {}", run.stderr);
    }
    // the base tag itself needs no note
    let run = in_repo(".", &["tags", base]);
    run.code(0);
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
}

#[test]
fn the_manifest_is_found_from_any_folder_of_the_repository() {
    let run = in_repo("tests/fixtures/dotnet-buildtools-prereqs/src/almalinux/9", &["tags", "almalinux-9-helix-amd64", "--output", "json"]);
    run.code(0);
    assert_eq!(run.json()[0]["variant"], "almalinux-9-helix-amd64");
    let run = in_repo("crates/imgctl/src", &["validate"]);
    run.code(0);
    assert!(run.stdout.contains("../../../manifests/images.yaml") || run.stderr.contains("../../../manifests/images.yaml") || run.stdout.contains("229"), "{run:?}");
    let typo = in_repo("crates", &["history", "almalinux-9-helx-amd64"]);
    assert!(typo.stderr.contains("in '../manifests/images.yaml'"), "{}", typo.stderr);
}

#[test]
fn no_manifest_says_init_or_manifest() {
    let sb = Sandbox::new();
    git(sb.path(), &["init", "-q"]);
    std::fs::create_dir_all(sb.path().join("src/deep")).unwrap();
    let run = Run::from(sb.cmd().current_dir(sb.path().join("src/deep")).args(["tags"]).output().unwrap());
    run.code(1);
    assert!(
        run.stderr.contains(
            "error: failed to find the manifest: no manifests/images.yaml in this folder or any folder above it up to the repository's root (run `imgctl init` to start a fleet here, or pass --manifest PATH)"
        ),
        "{}",
        run.stderr
    );
    // the commands that open git say the same (not a git error)
    let run = Run::from(sb.cmd().current_dir(sb.path().join("src/deep")).args(["plan"]).output().unwrap());
    run.code(1);
    assert!(run.stderr.contains("imgctl init") && run.stderr.contains("--manifest PATH"), "{}", run.stderr);
    let run = sb.run(&["tags", "--manifest", "elsewhere/images.yaml"]);
    run.code(1);
    assert!(run.stderr.contains("failed to read 'elsewhere/images.yaml': no such file or directory (pass --manifest PATH") && run.stderr.contains("imgctl init"), "{}", run.stderr);
}

#[test]
fn the_search_stops_at_the_repository_root() {
    // a manifest above the repository belongs to someone else
    let sb = Sandbox::new();
    sb.write("manifests/images.yaml", "version: 1\n");
    std::fs::create_dir_all(sb.path().join("inner/sub")).unwrap();
    git(&sb.path().join("inner"), &["init", "-q"]);
    let run = Run::from(sb.cmd().current_dir(sb.path().join("inner/sub")).args(["tags"]).output().unwrap());
    run.code(1);
    assert!(run.stderr.contains("failed to find the manifest"), "{}", run.stderr);
}
