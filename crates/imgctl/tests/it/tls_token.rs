//! Hosted-registry sign-in for real: distribution with `auth: token` over TLS (a harness-made
//! CA) and the test kit's token server. publish/promote/rollback/status/history/gc work with
//! `docker login` credentials and with an identity token (`az acr login`'s `identitytoken`,
//! a helper's `<token>`), skopeo (`--cert-dir`, `--creds`) sees the result, every command
//! asks for each scope's token once; refused secrets are exit 3 and never printed. TLS trust
//! through `SSL_CERT_FILE`, `SSL_CERT_DIR` and `certs.d`; an untrusted certificate says so.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use imgctl_testkit::images::{Flavor, image, push_image};
use imgctl_testkit::{TestRegistry, TokenServer, block_on, require_tool};
use sha2::Digest;

use crate::fleet::{Fleet, REPO, SINGLE, VARIANTS, result_of};
use crate::support::{Run, Sandbox, TEST_PASSWORD, TEST_REFRESH_TOKEN};

const USER: &str = "ci-bot";
const T0: &str = "2026-10-05T09:00:00Z";

fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A fleet publishing to a token-auth TLS registry; imgctl trusts the CA via `SSL_CERT_FILE`.
struct TokenFleet {
    f: Fleet,
    ts: TokenServer,
    skopeo_certs: PathBuf,
}

impl TokenFleet {
    fn new() -> TokenFleet {
        let ts = TokenServer::start();
        ts.user(USER, TEST_PASSWORD, &["pull", "push", "delete"]);
        let reg = TestRegistry::builder().token_auth(&ts).start();
        let host = reg.host();
        let f = Fleet::with_host(reg, host, "0s");
        let skopeo_certs = ts.ca().cert_dir(f.sb.path(), "skopeo-certs");
        TokenFleet { f, ts, skopeo_certs }
    }

    fn config(&self, json: serde_json::Value) {
        self.f.sb.write("home/.docker/config.json", &json.to_string());
    }

    fn run(&self, now: &str, args: &[&str]) -> Run {
        let out = self.f.sb.cmd().env("IMGCTL_NOW", now).env("SSL_CERT_FILE", self.ts.ca().ca_pem()).args(args).output().expect("run imgctl");
        Run::from(out)
    }

    /// Runs a command and checks the token server was asked once per scope, with `grant`.
    fn counted(&self, grant: &str, now: &str, args: &[&str]) -> Run {
        self.ts.reset_counts();
        let r = self.run(now, args);
        let counts = self.ts.counts();
        assert!(!counts.is_empty(), "{args:?} asked for no token");
        assert!(counts.iter().all(|((g, _), n)| *g == grant && *n == 1), "{args:?}: one token per scope, grant {grant}: {counts:?}");
        r
    }

    /// The digest `tag` points at, as skopeo sees it over TLS with the CA and the password.
    fn skopeo(&self, reference: &str) -> Option<String> {
        let out = Command::new(require_tool("skopeo", "skopeo"))
            .args(["inspect", "--raw", "--cert-dir"])
            .arg(&self.skopeo_certs)
            .args(["--creds", &format!("{USER}:{TEST_PASSWORD}"), &format!("docker://{}/{REPO}{reference}", self.f.host)])
            .output()
            .expect("run skopeo");
        out.status.success().then(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))))
    }

    /// Publishes a new build of SINGLE and promotes it (soak 0s); returns its digest.
    fn release(&mut self, grant: &str, n: u32, seed: u64) -> String {
        if seed > 1 {
            self.f.change_sources();
        }
        let (dir, digest) = self.f.build(SINGLE, seed);
        let doc = self.counted(grant, &t(n), &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
        assert_eq!(result_of(&doc, SINGLE)["action"], "moved", "{doc:#}");
        assert_eq!(self.skopeo(&format!(":{SINGLE}-staging")).as_deref(), Some(digest.as_str()));
        let doc = self.counted(grant, &t(n + 1), &["promote", "--output", "json"]).code(0).json();
        assert_eq!(result_of(&doc, SINGLE)["action"], "moved", "{doc:#}");
        assert_eq!(self.skopeo(&format!(":{SINGLE}-latest")).as_deref(), Some(digest.as_str()));
        digest
    }

    /// The rollout cycle: builds, promotions, a rollback, status, history, gc plan and apply.
    fn cycle(&mut self, grant: &str) {
        let builds: Vec<String> = (0..6u32).map(|n| self.release(grant, n * 10, u64::from(n) + 1)).collect();
        let doc = self.counted(grant, &t(70), &["rollback", SINGLE, "--output", "json"]).code(0).json();
        assert_eq!(doc["results"][0]["action"], "moved", "{doc:#}");
        assert_eq!(self.skopeo(&format!(":{SINGLE}-latest")).as_deref(), Some(builds[4].as_str()));
        let status = self.counted(grant, &t(71), &["status", "--output", "json"]).code(0).json();
        let s = status["variants"].as_array().unwrap().iter().find(|v| v["variant"] == SINGLE).unwrap_or_else(|| panic!("{status:#}"));
        assert!(s.to_string().contains(&builds[4][..19]), "{status:#}");
        let hist = self.counted(grant, &t(71), &["history", SINGLE, "--output", "json"]).code(0).json();
        assert!(hist["entries"].as_array().unwrap().len() >= 7, "{hist:#}");
        let args = ["gc", "--keep", "1", "--older-than", "0s", "--output", "json"];
        let plan = self.counted(grant, &t(80), &args).code(0).json();
        let planned: Vec<String> = deleted(&plan);
        assert_eq!(planned, builds[..2].to_vec(), "the two oldest builds go (docs/GC.md rules, as in gc.rs): {plan:#}");
        let applied = self.counted(grant, &t(80), &[&args[..], &["--apply"]].concat()).code(0).json();
        assert_eq!(deleted(&applied), planned, "{applied:#}");
        for d in &planned {
            assert_eq!(self.skopeo(&format!("@{d}")), None, "{d} should be gone");
        }
        assert_eq!(self.skopeo(&format!(":{SINGLE}-latest")).as_deref(), Some(builds[4].as_str()), "latest kept");
        assert_eq!(self.skopeo(&format!(":{SINGLE}-staging")).as_deref(), Some(builds[5].as_str()), "staging kept");
        for d in &builds[2..] {
            assert!(self.skopeo(&format!("@{d}")).is_some(), "{d} must still resolve");
        }
        assert!(VARIANTS.contains(&SINGLE));
    }
}

fn deleted(doc: &serde_json::Value) -> Vec<String> {
    doc["results"].as_array().unwrap().iter().filter(|r| r["action"] == "deleted").map(|r| r["digest"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn docker_login_credentials_run_the_whole_cycle_against_token_auth() {
    let mut tf = TokenFleet::new();
    let host = tf.f.host.clone();
    tf.config(serde_json::json!({"auths": {(host): {"auth": b64(&format!("{USER}:{TEST_PASSWORD}"))}}}));
    tf.cycle("basic");
}

#[test]
fn an_identity_token_runs_the_whole_cycle_and_is_exchanged_by_oauth2() {
    let mut tf = TokenFleet::new();
    tf.ts.add_refresh_token(USER, TEST_REFRESH_TOKEN);
    let host = tf.f.host.clone();
    tf.config(serde_json::json!({"auths": {(host): {"auth": b64("00000000-0000-0000-0000-000000000000:"), "identitytoken": TEST_REFRESH_TOKEN}}}));
    tf.cycle("refresh_token");
}

#[test]
fn a_credential_helper_answering_token_gives_an_identity_token() {
    let tf = TokenFleet::new();
    tf.ts.add_refresh_token(USER, TEST_REFRESH_TOKEN);
    let bin = tf.f.sb.write("bin/docker-credential-imgctltest", &format!("#!/bin/sh\ncat >/dev/null\necho '{{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"{TEST_REFRESH_TOKEN}\"}}'\n"));
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    tf.config(serde_json::json!({"credHelpers": {(tf.f.host.clone()): "imgctltest"}}));
    let (dir, digest) = tf.f.build(SINGLE, 5);
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    tf.ts.reset_counts();
    let out = tf.f.sb.cmd().env("IMGCTL_NOW", t(0)).env("SSL_CERT_FILE", tf.ts.ca().ca_pem()).env("PATH", path).args(["publish", SINGLE, "--image", dir.to_str().unwrap()]).output().unwrap();
    Run::from(out).code(0);
    assert!(tf.ts.counts().keys().all(|(g, _)| *g == "refresh_token"), "{:?}", tf.ts.counts());
    assert_eq!(tf.skopeo(&format!(":{SINGLE}-staging")).as_deref(), Some(digest.as_str()));
}

#[test]
fn a_wrong_password_and_an_unknown_identity_token_are_exit_3_and_never_printed() {
    let tf = TokenFleet::new();
    tf.ts.user(USER, "the-right-one", &["pull", "push"]);
    let host = tf.f.host.clone();
    tf.config(serde_json::json!({"auths": {(host.clone()): {"auth": b64(&format!("{USER}:{TEST_PASSWORD}"))}}}));
    for verbosity in ["-v", "-vvv"] {
        let r = tf.run(&t(0), &[verbosity, "status"]);
        r.code(3);
        assert!(r.stderr.contains("authentication refused") && r.stderr.contains(&host), "{}", r.stderr);
    }
    tf.config(serde_json::json!({"auths": {(host.clone()): {"auth": b64("00000000-0000-0000-0000-000000000000:"), "identitytoken": TEST_REFRESH_TOKEN}}}));
    for verbosity in ["-v", "-vvv"] {
        let r = tf.run(&t(0), &[verbosity, "status"]);
        r.code(3);
        assert!(r.stderr.contains("identity token") && r.stderr.contains(&format!("docker login {host}")), "{}", r.stderr);
    }
    let counts = tf.ts.counts();
    assert!(counts.keys().any(|(g, _)| *g == "refresh_token"), "{counts:?}");
}

/// An anonymous TLS registry holding `r:v1`, and the `inspect` reference to it.
fn tls_registry() -> (TestRegistry, String) {
    let reg = TestRegistry::builder().tls().start();
    block_on(push_image(&reg.client(), "r", "v1", &image(Flavor::Oci, "amd64", 1, 7)));
    let reference = format!("{}/r:v1", reg.host());
    (reg, reference)
}

fn inspect(s: &Sandbox, reference: &str, env: &[(&str, &std::path::Path)]) -> Run {
    let mut c = s.cmd();
    c.args(["inspect", reference]);
    for (k, v) in env {
        c.env(k, v);
    }
    Run::from(c.output().expect("run imgctl"))
}

#[test]
fn tls_trust_comes_from_ssl_cert_file_ssl_cert_dir_and_certs_d() {
    let (reg, reference) = tls_registry();
    let ca = reg.ca().unwrap();
    let s = Sandbox::new();
    inspect(&s, &reference, &[("SSL_CERT_FILE", &ca.ca_pem())]).code(0);
    let dir = ca.cert_dir(s.path(), "ssl-dir");
    inspect(&s, &reference, &[("SSL_CERT_DIR", &dir)]).code(0);
    // docker's per-registry convention, system-wide (IMGCTL_CERTS_D stands in for /etc/docker/certs.d)
    let certs_d = s.path().join("etc-docker-certs.d");
    ca.cert_dir(&certs_d, &reg.host());
    inspect(&s, &reference, &[("IMGCTL_CERTS_D", &certs_d)]).code(0);
    // … only for that registry: another host's directory is not trusted for this one
    let other = s.path().join("other-certs.d");
    ca.cert_dir(&other, "127.0.0.1:1");
    inspect(&s, &reference, &[("IMGCTL_CERTS_D", &other)]).code(3);
    // … and under $DOCKER_CONFIG/certs.d
    ca.cert_dir(&s.path().join("home/.docker/certs.d"), &reg.host());
    inspect(&s, &reference, &[]).code(0);
}

#[test]
fn an_untrusted_certificate_is_exit_3_and_says_how_to_trust_the_ca() {
    let (_reg, reference) = tls_registry();
    let s = Sandbox::new();
    let r = inspect(&s, &reference, &[]);
    r.code(3);
    assert!(r.stderr.contains("certificate") && r.stderr.contains("UnknownIssuer"), "names the certificate problem: {}", r.stderr);
    assert!(r.stderr.contains("SSL_CERT_FILE") && r.stderr.contains("update-ca-certificates") && r.stderr.contains("certs.d/"), "{}", r.stderr);
    assert!(!r.stderr.contains("--insecure-registry") && !r.stderr.contains("plain HTTP"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one error line, no log line repeating it: {}", r.stderr);
    // a CA file that is not a certificate is a clear error too
    let bad = s.write("bad.pem", "not a certificate");
    let r = inspect(&s, &reference, &[("SSL_CERT_FILE", &bad)]);
    r.code(3);
    assert!(r.stderr.contains("bad.pem") && r.stderr.contains("no PEM certificate"), "{}", r.stderr);
}
