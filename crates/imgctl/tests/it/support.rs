//! Running the real binary with a controlled environment (HOME, DOCKER_CONFIG, time).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixed "now" integration tests run at, unless a test sets its own.
pub const NOW: &str = "2026-11-21T12:00:00Z";

/// Root of the repository (for shipped samples and `tests/fixtures`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// A fixture file or directory under `tests/fixtures`.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

/// A sandbox: a temp dir used as working directory, HOME and DOCKER_CONFIG.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home/.docker")).expect("mkdir");
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `rel` inside the sandbox, creating parents.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }

    /// `imgctl` with a clean environment, run in the sandbox.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_imgctl"));
        c.current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path().join("home"))
            .env("DOCKER_CONFIG", self.path().join("home/.docker"))
            .env("IMGCTL_NOW", NOW)
            .env("NO_COLOR", "1");
        c
    }

    /// Runs `imgctl ARGS…` and returns its output.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.cmd().args(args).output().expect("run imgctl");
        Run::from(out)
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The test password every auth test uses; no run's output may contain it (or its
/// base64 `user:password` form), whatever the verbosity.
pub const TEST_PASSWORD: &str = "Pw-d0nt-l3ak-7f3a9";

/// The identity (refresh) token auth tests use; like [`TEST_PASSWORD`], never in any output.
pub const TEST_REFRESH_TOKEN: &str = "Rt-d0nt-l3ak-91c2e";

impl From<Output> for Run {
    #[track_caller]
    fn from(o: Output) -> Run {
        let run = Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        for out in [&run.stdout, &run.stderr] {
            assert!(!out.contains(TEST_PASSWORD) && !out.contains("Pw-d0nt"), "a credential reached the output:\n{out}");
            assert!(!out.contains("Y2ktYm90OlB3LWQwbnQtbDNhay03ZjNhOQ"), "a base64 credential reached the output:\n{out}");
            assert!(!out.contains(TEST_REFRESH_TOKEN) && !out.contains("Rt-d0nt"), "an identity token reached the output:\n{out}");
        }
        run
    }
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Run {
        assert_eq!(self.code, want, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}
