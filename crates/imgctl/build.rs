//! Build script: records the git commit imgctl is built from, for `imgctl --version`.
//! `IMGCTL_BUILD_COMMIT` wins (release builds from a source archive have no `.git`); else
//! `git rev-parse HEAD`; else `unknown`. Re-runs when HEAD or the ref it names moves.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=IMGCTL_BUILD_COMMIT");
    let commit = std::env::var("IMGCTL_BUILD_COMMIT").ok().filter(|c| !c.is_empty()).or_else(|| git(&["rev-parse", "HEAD"]));
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--path-format=absolute", "--git-path", &r])) {
        println!("cargo:rerun-if-changed={r}");
    }
    println!("cargo:rustc-env=IMGCTL_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
}
