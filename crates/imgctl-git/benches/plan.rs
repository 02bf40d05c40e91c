//! `plan` over the real fixture's whole graph (229 variants, dotnet-buildtools-prereqs):
//! between two commits (read from the object database), from the working tree (hashed in
//! memory), and the pure graph + source-id step. Target: under 200 ms per plan.
//! Run: `CARGO_TARGET_DIR=… cargo bench -p imgctl-git --bench plan`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use git2::{IndexAddOption, Repository, Signature};
use imgctl_core::graph::Graph;
use imgctl_core::sourceid::SourceIds;
use imgctl_git::Repo;
use imgctl_testkit::repo::copy_dir;

fn commit_all(repo: &Repository, msg: &str) -> String {
    let mut index = repo.index().expect("index");
    index.add_all(["*"], IndexAddOption::DEFAULT, None).expect("add");
    index.write().expect("write index");
    let tree = repo.find_tree(index.write_tree().expect("tree")).expect("tree");
    let sig = Signature::now("bench", "bench@example.invalid").expect("sig");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents).expect("commit").to_string()
}

/// The shipped sample in a fresh repository: commit A, then B changing one parent's Dockerfile.
fn fixture() -> (tempfile::TempDir, PathBuf, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tmp");
    let repo_dir = dir.path().join("repo");
    copy_dir(&root.join("manifests"), &repo_dir.join("manifests"));
    copy_dir(&root.join("os-definitions"), &repo_dir.join("os-definitions"));
    copy_dir(&root.join("tests/fixtures/dotnet-buildtools-prereqs"), &repo_dir.join("tests/fixtures/dotnet-buildtools-prereqs"));
    let repo = Repository::init(&repo_dir).expect("init");
    let a = commit_all(&repo, "a");
    let df = repo_dir.join("tests/fixtures/dotnet-buildtools-prereqs/src/azurelinux/3.0/net11.0/crossdeps-builder/amd64/Dockerfile");
    let text = std::fs::read_to_string(&df).expect("read") + "RUN echo changed\n";
    std::fs::write(&df, text).expect("write");
    let b = commit_all(&repo, "b");
    (dir, repo_dir.join("manifests/images.yaml"), a, b)
}

fn bench(c: &mut Criterion) {
    let (_dir, manifest, a, b) = fixture();
    let repo = Repo::open_for(&manifest).expect("open");
    let p = repo.plan(Some(&a), Some(&b)).expect("plan");
    assert!(p.variants.len() > 10, "the change reaches descendants");
    let mut g = c.benchmark_group("plan");
    g.sample_size(30);
    g.bench_function("two-commits-229-variants", |bench| bench.iter(|| black_box(repo.plan(Some(&a), Some(&b)).expect("plan"))));
    g.bench_function("working-tree-vs-head-229-variants", |bench| {
        bench.iter(|| black_box(Repo::open_for(&manifest).expect("open").plan(None, None).expect("plan")))
    });
    let tree = repo.at(&b).expect("tree");
    let snap = repo.snapshot(&tree, &b).expect("load").expect("manifest");
    g.bench_function("graph-and-source-ids-229-variants", |bench| {
        bench.iter(|| {
            let graph = Graph::build(&snap.fleet, &tree);
            black_box(SourceIds::compute(&snap.fleet, &graph, &tree))
        })
    });
    g.finish();
}

/// The promotion walk (`Repo::lineage`) over a year of weekly history on the real fixture:
/// 52 weeks, each with one variant's change and four unrelated commits (260 commits), from
/// the tip down to the default limits — against the 229-variant snapshot it would otherwise
/// take at every commit.
fn lineage(c: &mut Criterion) {
    let (_dir, manifest, _, _) = fixture();
    let root = manifest.parent().and_then(Path::parent).expect("repo root").to_path_buf();
    let repo = Repository::open(&root).expect("open");
    let df = root.join("tests/fixtures/dotnet-buildtools-prereqs/src/azurelinux/3.0/net11.0/crossdeps-builder/amd64/Dockerfile");
    for week in 0..52 {
        let text = std::fs::read_to_string(&df).expect("read") + &format!("RUN echo week {week}\n");
        std::fs::write(&df, text).expect("write");
        commit_all(&repo, &format!("week {week}"));
        for n in 0..4 {
            std::fs::write(root.join("NOTES.md"), format!("{week}.{n}\n")).expect("write");
            commit_all(&repo, "notes");
        }
    }
    let r = Repo::open_for(&manifest).expect("open");
    let l = r.lineage("HEAD", imgctl_git::WalkLimits::default()).expect("walk").expect("manifest");
    assert_eq!(l.commits, 262, "down to the first commit: only 8 of the 229 variants ever change");
    let mut g = c.benchmark_group("lineage");
    g.sample_size(10);
    g.bench_function("262-commits-229-variants", |bench| bench.iter(|| black_box(r.lineage("HEAD", imgctl_git::WalkLimits::default()).expect("walk"))));
    g.bench_function("one-snapshot-229-variants", |bench| bench.iter(|| black_box(r.snapshot_at("HEAD").expect("snapshot"))));
    g.finish();
}

criterion_group!(benches, bench, lineage);
criterion_main!(benches);
