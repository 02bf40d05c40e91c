//! imgctl-git against real repositories made with the `git` CLI: revisions read from the
//! object database, working-tree tree ids equal to what git would commit, plans.

use std::path::Path;

use imgctl_core::plan::Reason;
use imgctl_core::source::{EntryKind, SourceTree};
use imgctl_git::{GitError, Repo, WORKING_TREE};
use imgctl_testkit::repo::git;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

const OS: &str = r#"{ "definitions": [ { "id": "Linux-Ubuntu-22.04-AMD64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64" } ] }"#;

fn manifest(quals: &[&str]) -> String {
    let mut m = "version: 1\nregistry: ghcr.io\nrepository: acme/images\nosDefinitions: ../os/os.json\ntagSchema:\n  arch: { AMD64: amd64 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: -staging }\nvariants:\n".to_string();
    for q in quals {
        m.push_str(&format!("  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [{q}]\n    context: ../src/{q}\n"));
    }
    m
}

/// A repository with `a` ← `b`, `c` alone; returns the first commit.
fn sample(root: &Path) -> String {
    git(root, &["init", "-q", "-b", "main"]);
    write(root, "manifests/images.yaml", &manifest(&["a", "b", "c"]));
    write(root, "os/os.json", OS);
    write(root, "src/a/Dockerfile", "FROM ubuntu:22.04\n");
    write(root, "src/a/sub/deep/file.txt", "deep\n");
    write(root, "src/b/Dockerfile", "ARG T=ubuntu-22.04-a-amd64-staging\nFROM ghcr.io/acme/images:$T\n");
    write(root, "src/c/Dockerfile", "FROM alpine\n");
    write(root, ".gitignore", "*.log\nbuild/\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "one"]);
    git(root, &["rev-parse", "HEAD"])
}

#[test]
fn working_tree_ids_equal_what_git_commits() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    sample(root);
    write(root, "src/a/run.sh", "#!/bin/sh\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("src/a/run.sh"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::os::unix::fs::symlink("sub/deep/file.txt", root.join("src/a/link")).expect("symlink");
    }
    write(root, "src/a/forced.log", "tracked although ignored\n");
    git(root, &["add", "-A"]);
    write(root, "src/a/build/keep.txt", "tracked inside an ignored directory\n");
    git(root, &["add", "-f", "src/a/forced.log", "src/a/build/keep.txt"]);
    git(root, &["commit", "-q", "-m", "two"]);
    // ignored, untracked noise and an empty directory do not count
    write(root, "src/a/noise.log", "ignored\n");
    write(root, "src/a/build/out.bin", "ignored dir\n");
    std::fs::create_dir_all(root.join("src/a/empty")).expect("mkdir");
    let repo = Repo::open_for(&root.join("manifests/images.yaml")).expect("open");
    let head = repo.at("HEAD").expect("head");
    let wt = repo.worktree().expect("worktree");
    for d in ["", ".", "src", "src/a", "src/a/build", "src/a/sub", "src/a/sub/deep", "src/b", "manifests"] {
        let want = git(root, &["rev-parse", &format!("HEAD:{}", d.trim_start_matches('.'))]);
        assert_eq!(head.tree_id(d).as_deref(), Some(want.as_str()), "commit tree of '{d}'");
        assert_eq!(wt.tree_id(d).as_deref(), Some(want.as_str()), "working tree of '{d}'");
    }
    // a change is seen before it is committed, with the id git then gives it
    write(root, "src/a/sub/deep/file.txt", "changed\n");
    write(root, "src/a/new.txt", "untracked but not ignored\n");
    std::fs::remove_file(root.join("src/a/forced.log")).expect("rm");
    let wt = repo.worktree().expect("worktree");
    let before = wt.tree_id("src/a").expect("id");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "three"]);
    assert_eq!(before, git(root, &["rev-parse", "HEAD:src/a"]));
    assert_eq!(wt.tree_id("src/b"), repo.at("HEAD").expect("head").tree_id("src/b"));
    assert_eq!(wt.tree_id("src/nope"), None);
    assert_eq!(wt.tree_id("../outside"), None);
}

#[test]
fn reads_any_revision_without_a_checkout() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    let first = sample(root);
    git(root, &["tag", "v1"]);
    write(root, "src/c/Dockerfile", "FROM alpine:3\n");
    git(root, &["commit", "-q", "-am", "two"]);
    git(root, &["branch", "production", &first]);
    let repo = Repo::open_for(&root.join("manifests/images.yaml")).expect("open");
    assert_eq!(repo.manifest(), "manifests/images.yaml");
    for rev in ["v1", "production", "HEAD~1", "HEAD^", &first, &first[..10]] {
        assert_eq!(repo.resolve(rev).expect("resolve"), first, "{rev}");
        assert_eq!(repo.at(rev).expect("tree").read("src/c/Dockerfile").as_deref(), Some("FROM alpine\n"));
    }
    let head = repo.at("main").expect("main");
    assert_eq!(head.read("src/c/Dockerfile").as_deref(), Some("FROM alpine:3\n"));
    assert_eq!(head.kind("src/c"), Some(EntryKind::Dir));
    assert_eq!(head.kind("src/c/Dockerfile"), Some(EntryKind::File));
    assert_eq!(head.kind("src/zz"), None);
    assert_eq!(head.read("../etc/passwd"), None);
    let err = repo.resolve("no-such-branch").expect_err("unknown");
    assert!(matches!(err, GitError::Revision { .. }));
    assert!(err.to_string().starts_with("resolve revision 'no-such-branch': "), "{err}");
    // a manifest outside any repository
    let lonely = tempfile::tempdir().expect("tmp");
    write(lonely.path(), "m.yaml", "x");
    assert!(matches!(Repo::open_for(&lonely.path().join("m.yaml")), Err(GitError::NoRepository { .. })));
}

#[test]
fn source_ids_follow_parents_and_plans_list_what_changed() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    let first = sample(root);
    let repo = Repo::open_for(&root.join("manifests/images.yaml")).expect("open");
    let a = repo.snapshot_at(&first).expect("load").expect("manifest");
    let w = repo.snapshot_worktree().expect("load").expect("manifest");
    assert_eq!(a.ids.ids, w.ids.ids, "a clean working tree has HEAD's ids");
    assert_eq!(a.ids.ids.len(), 3);
    assert_eq!(a.fleet.variants[1].dockerfile, "src/b/Dockerfile");
    // nothing changed
    let p = repo.plan(None, None).expect("plan");
    assert!(p.variants.is_empty() && p.removed.is_empty(), "{p:?}");
    assert_eq!((p.since.as_deref(), p.reference.as_str()), (Some(first.as_str()), WORKING_TREE));
    // the parent's context changes: parent and child, not c
    write(root, "src/a/sub/deep/file.txt", "changed\n");
    let p = repo.plan(None, None).expect("plan");
    let got: Vec<_> = p.variants.iter().map(|e| (e.variant.as_str(), e.level, e.reason)).collect();
    assert_eq!(got, vec![("ubuntu-22.04-a-amd64", 0, Reason::Changed), ("ubuntu-22.04-b-amd64", 1, Reason::ParentChanged)]);
    git(root, &["commit", "-q", "-am", "two"]);
    let second = git(root, &["rev-parse", "HEAD"]);
    let b = repo.snapshot_at("HEAD").expect("load").expect("manifest");
    assert_ne!(a.ids.ids["ubuntu-22.04-a-amd64"], b.ids.ids["ubuntu-22.04-a-amd64"]);
    assert_ne!(a.ids.ids["ubuntu-22.04-b-amd64"], b.ids.ids["ubuntu-22.04-b-amd64"]);
    assert_eq!(a.ids.ids["ubuntu-22.04-c-amd64"], b.ids.ids["ubuntu-22.04-c-amd64"]);
    // --ref alone compares with its first parent
    let p = repo.plan(None, Some("HEAD")).expect("plan");
    assert_eq!(p.variants.len(), 2);
    assert_eq!((p.since.as_deref(), p.reference.as_str()), (Some(first.as_str()), second.as_str()));
    // the first commit has no parent: everything is new
    let p = repo.plan(None, Some(&first)).expect("plan");
    assert_eq!(p.since, None);
    assert!(p.variants.iter().all(|e| e.reason == Reason::New) && p.variants.len() == 3);
    // a variant removed, and a manifest that did not exist at `since`
    write(root, "manifests/images.yaml", &manifest(&["a", "b"]));
    git(root, &["commit", "-q", "-am", "three"]);
    let p = repo.plan(Some("HEAD~1"), Some("HEAD")).expect("plan");
    assert_eq!(p.removed, vec!["ubuntu-22.04-c-amd64".to_string()]);
    assert!(p.variants.is_empty());
}

#[test]
fn errors_at_a_revision_name_the_dockerfile_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    sample(root);
    write(root, "src/a/Dockerfile", "FROM alpine\n\nFROM ghcr.io/acme/images:ubuntu-22.04-b-amd64-staging\n");
    git(root, &["commit", "-q", "-am", "cycle"]);
    let repo = Repo::open_for(&root.join("manifests/images.yaml")).expect("open");
    let err = repo.plan(Some("HEAD~1"), Some("HEAD")).expect_err("cycle");
    let GitError::Invalid { findings, .. } = &err else { panic!("{err}") };
    assert_eq!((findings[0].code, findings[0].file.as_str(), findings[0].line), ("from-cycle", "src/a/Dockerfile", 3));
}

#[test]
fn dockerignore_keeps_ignored_files_out_of_source_ids_and_contexts_without_one_keep_their_ids() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    sample(root);
    let repo = Repo::open_for(&root.join("manifests/images.yaml")).expect("open");
    // no .dockerignore: exactly the ids imgctl gave before it read .dockerignore (computed by
    // the previous release on this very repository), so no fleet rebuilds on upgrade
    let before = repo.snapshot_at("HEAD").expect("load").expect("manifest").ids.ids;
    let fixed = [("ubuntu-22.04-a-amd64", "23947d66048a"), ("ubuntu-22.04-b-amd64", "9fbf5c669292"), ("ubuntu-22.04-c-amd64", "9b7fc5d1f947")];
    assert_eq!(before, fixed.iter().map(|(v, id)| (v.to_string(), id.to_string())).collect());
    // the parent leaves its nested folder out of its context
    write(root, "src/a/.dockerignore", "# the nested folder is another image's\nsub\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "ignore"]);
    let ignoring = repo.snapshot_at("HEAD").expect("load").expect("manifest").ids.ids;
    assert_eq!(repo.snapshot_worktree().expect("load").expect("manifest").ids.ids, ignoring, "the working tree filters as the commit does");
    assert_eq!(ignoring["ubuntu-22.04-c-amd64"], before["ubuntu-22.04-c-amd64"]);
    // a change under the ignored folder: nothing to build, in the working tree or committed
    write(root, "src/a/sub/deep/file.txt", "changed\n");
    write(root, "src/a/sub/new.txt", "new\n");
    let p = repo.plan(None, None).expect("plan");
    assert!(p.variants.is_empty(), "{p:?}");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "nested change"]);
    assert!(repo.plan(None, Some("HEAD")).expect("plan").variants.is_empty());
    assert_eq!(repo.snapshot_at("HEAD").expect("load").expect("manifest").ids.ids, ignoring);
    // a file the context keeps still rebuilds the parent and its child
    write(root, "src/a/setup.sh", "echo\n");
    let got: Vec<_> = repo.plan(None, None).expect("plan").variants.iter().map(|e| e.variant.clone()).collect();
    assert_eq!(got, ["ubuntu-22.04-a-amd64", "ubuntu-22.04-b-amd64"]);
}

#[test]
fn lineage_lists_each_variants_source_ids_newest_first_and_skips_unrelated_commits() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    sample(root);
    let repo = Repo::open_for(&root.join("manifests/images.yaml")).expect("open");
    let id = |rev: &str, v: &str| repo.snapshot_at(rev).unwrap().unwrap().ids.ids[v].clone();
    let (a0, b0, c0) = (id("HEAD", "ubuntu-22.04-a-amd64"), id("HEAD", "ubuntu-22.04-b-amd64"), id("HEAD", "ubuntu-22.04-c-amd64"));
    // a changes (and so b, built FROM a), then an unrelated commit, then c changes twice
    write(root, "src/a/Dockerfile", "FROM ubuntu:22.04\nRUN echo 1\n");
    git(root, &["commit", "-qam", "a"]);
    let (a1, b1) = (id("HEAD", "ubuntu-22.04-a-amd64"), id("HEAD", "ubuntu-22.04-b-amd64"));
    write(root, "README.md", "unrelated\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "docs"]);
    write(root, "src/c/Dockerfile", "FROM alpine\nRUN echo 1\n");
    git(root, &["commit", "-qam", "c1"]);
    let c1 = id("HEAD", "ubuntu-22.04-c-amd64");
    write(root, "src/c/Dockerfile", "FROM alpine\nRUN echo 2\n");
    git(root, &["commit", "-qam", "c2"]);
    let c2 = id("HEAD", "ubuntu-22.04-c-amd64");
    let l = repo.lineage("HEAD", imgctl_git::WalkLimits::default()).unwrap().unwrap();
    assert_eq!(l.ids["ubuntu-22.04-a-amd64"], [a1.clone(), a0.clone()]);
    assert_eq!(l.ids["ubuntu-22.04-b-amd64"], [b1, b0]);
    assert_eq!(l.ids["ubuntu-22.04-c-amd64"], [c2.clone(), c1.clone(), c0.clone()]);
    assert_eq!(l.commits, 5, "every first-parent commit down to the first");
    // a limit of distinct builds per variant stops the walk early
    let short = repo.lineage("HEAD", imgctl_git::WalkLimits { per_variant: 2, max_commits: 100 }).unwrap().unwrap();
    assert_eq!(short.ids["ubuntu-22.04-c-amd64"], [c2, c1]);
    assert_eq!(short.ids["ubuntu-22.04-a-amd64"], [a1, a0]);
    // a manifest that does not exist at the revision: none
    assert!(repo.lineage("HEAD", imgctl_git::WalkLimits { per_variant: 8, max_commits: 1 }).unwrap().unwrap().commits == 1);
}
