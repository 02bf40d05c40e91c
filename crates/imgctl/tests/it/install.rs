//! The action's install script (`action/install.sh`) against a loopback "release": the
//! archive for this machine's target, checked against SHA256SUMS, unpacked into the tool
//! cache and put on GITHUB_PATH; a second run comes from the cache; an archive whose SHA-256
//! does not match is refused and nothing is installed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

use crate::support::{Run, Sandbox, repo_root};

const TAG: &str = "v9.8.7";

/// `python3 -m http.server` serving `dir` on a free loopback port; stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 (the release stand-in is python's http.server)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The machine's (RUNNER_OS, RUNNER_ARCH, target) as GitHub would name them.
fn runner() -> (&'static str, &'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        _ => ("Linux", "X64", "x86_64-unknown-linux-musl"),
    }
}

/// Lays out `TAG`'s release as release.yml does: `imgctl-TAG-TARGET.tar.gz` (a directory
/// holding the binary) and SHA256SUMS. Returns the archive's path.
fn release(root: &Path, target: &str) -> PathBuf {
    let name = format!("imgctl-{TAG}-{target}");
    let stage = root.join("stage").join(&name);
    std::fs::create_dir_all(stage.join("man")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_imgctl"), stage.join("imgctl")).unwrap();
    std::fs::write(stage.join("README.md"), "imgctl\n").unwrap();
    let dir = root.join("www").join(TAG);
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join(format!("{name}.tar.gz"));
    let ok = Command::new("tar").arg("-czf").arg(&archive).arg("-C").arg(root.join("stage")).arg(&name).status().unwrap();
    assert!(ok.success());
    let sum = hex::encode(sha2::Sha256::digest(std::fs::read(&archive).unwrap()));
    std::fs::write(dir.join("SHA256SUMS"), format!("{sum}  {name}.tar.gz\n0000  imgctl-{TAG}-x86_64-apple-darwin.tar.gz\n")).unwrap();
    archive
}

fn install(sb: &Sandbox, base: &str) -> Run {
    let (os, arch, _) = runner();
    let out = Command::new("bash")
        .arg(repo_root().join("action/install.sh"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.path().join("home"))
        .env("IMGCTL_VERSION", TAG)
        .env("IMGCTL_RELEASE_BASE_URL", base)
        .env("IMGCTL_GIT_URL", "http://127.0.0.1:9/not-used")
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TOOL_CACHE", sb.path().join("toolcache"))
        .env("GITHUB_PATH", sb.path().join("github_path"))
        .env("GITHUB_OUTPUT", sb.path().join("github_output"))
        .output()
        .expect("run bash");
    Run::from(out)
}

#[test]
fn the_install_script_installs_a_verified_release_and_uses_the_tool_cache() {
    let sb = Sandbox::new();
    let (_, _, target) = runner();
    release(sb.path(), target);
    let server = Server::start(&sb.path().join("www"));
    let r = install(&sb, &server.url());
    r.code(0);
    assert!(r.stderr.contains(&format!("verified imgctl-{TAG}-{target}.tar.gz")), "{}", r.stderr);
    let bin = sb.path().join(format!("toolcache/imgctl/{TAG}/{target}/bin"));
    let out = Command::new(bin.join("imgctl")).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("imgctl "), "the installed binary runs");
    assert_eq!(std::fs::read_to_string(sb.path().join("github_path")).unwrap().trim(), bin.to_string_lossy());
    assert!(std::fs::read_to_string(sb.path().join("github_output")).unwrap().contains(&format!("path={}", bin.display())));
    // the second run needs no download: the release server is gone
    drop(server);
    let again = install(&sb, "http://127.0.0.1:9");
    again.code(0);
    assert!(again.stderr.contains("found in the tool cache"), "{}", again.stderr);
}

#[test]
fn an_archive_whose_sha256_does_not_match_is_refused() {
    let sb = Sandbox::new();
    let (_, _, target) = runner();
    let archive = release(sb.path(), target);
    // the archive changed after SHA256SUMS was made (a tampered or corrupted download)
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let server = Server::start(&sb.path().join("www"));
    let r = install(&sb, &server.url());
    r.code(1);
    assert!(r.stderr.contains("refusing") && r.stderr.contains("SHA-256") && r.stderr.contains("nothing was installed"), "{}", r.stderr);
    assert!(!sb.path().join(format!("toolcache/imgctl/{TAG}/{target}")).exists(), "nothing installed");
    assert!(!sb.path().join("github_path").exists(), "nothing put on the PATH");
}

/// A git repository holding a package `imgctl` (a tiny one: no dependencies, so `cargo
/// install` builds it offline in seconds) tagged `TAG`: what the fallback builds from.
fn source_repo(root: &Path) -> PathBuf {
    let repo = root.join("src-repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join("Cargo.toml"), format!("[package]\nname = \"imgctl\"\nversion = \"{}\"\nedition = \"2021\"\n\n[workspace]\n", &TAG[1..])).unwrap();
    std::fs::write(repo.join("src/main.rs"), "fn main() { println!(\"imgctl built from source\"); }\n").unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let ok = Command::new(&cargo).args(["generate-lockfile", "--offline"]).current_dir(&repo).status().unwrap();
    assert!(ok.success(), "cargo generate-lockfile");
    let git = |args: &[&str]| crate::fleet::git(&repo, args);
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "source"]);
    git(&["tag", TAG]);
    repo
}

#[test]
fn with_no_asset_for_the_runner_it_builds_from_source_with_cargo() {
    let sb = Sandbox::new();
    let repo = source_repo(sb.path());
    // a runner no release archive is made for: the fallback, from the tag
    let cargo = std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| "cargo".into());
    let cargo_dir = cargo.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(cargo_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("action/install.sh"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", sb.path().join("home"))
        .env("CARGO_TARGET_DIR", sb.path().join("target"))
        .env("IMGCTL_VERSION", TAG)
        .env("IMGCTL_RELEASE_BASE_URL", "http://127.0.0.1:9")
        .env("IMGCTL_GIT_URL", format!("file://{}", repo.display()))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "S390X")
        .env("RUNNER_TOOL_CACHE", sb.path().join("toolcache"))
        .env("GITHUB_PATH", sb.path().join("github_path"));
    // cargo and rustup find their homes as in this test's own environment
    for k in ["CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"] {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
    if std::env::var_os("CARGO_HOME").is_none()
        && let Some(home) = std::env::var_os("HOME")
    {
        cmd.env("CARGO_HOME", Path::new(&home).join(".cargo")).env("RUSTUP_HOME", Path::new(&home).join(".rustup"));
    }
    let r = Run::from(cmd.output().expect("run bash"));
    r.code(0);
    assert!(r.stderr.contains(&format!("building from source: cargo install --locked --git file://{} --tag {TAG} imgctl", repo.display())), "{}", r.stderr);
    let bin = sb.path().join(format!("toolcache/imgctl/{TAG}/source/bin/imgctl"));
    let out = Command::new(&bin).output().expect("the built binary");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "imgctl built from source");
    assert_eq!(std::fs::read_to_string(sb.path().join("github_path")).unwrap().trim(), bin.parent().unwrap().to_string_lossy());
}
