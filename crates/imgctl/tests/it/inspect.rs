//! `imgctl inspect` against the real registry: output, exit codes (3 for unreachable or
//! refused, 1 for a missing tag), plain HTTP only when listed, and every credential source —
//! with the password never in stdout or stderr, even at `-vvv`.

use std::os::unix::fs::PermissionsExt;

use imgctl_testkit::images::{Flavor, image, index, push_image, push_index};
use imgctl_testkit::{TestRegistry, block_on};

use crate::support::{Run, Sandbox};

const USER: &str = "ci-bot";
const PASSWORD: &str = crate::support::TEST_PASSWORD;

pub(crate) fn b64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() { T[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

fn run_env(s: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = s.cmd();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    Run::from(c.output().expect("run imgctl"))
}

#[test]
fn inspect_single_arch_and_index() {
    let reg = TestRegistry::start();
    let img = image(Flavor::Docker, "amd64", 1, 1);
    let idx = index(vec![image(Flavor::Oci, "amd64", 1, 2), image(Flavor::Oci, "arm64", 1, 3)]);
    block_on(async {
        push_image(&reg.client(), "team/one", "v1", &img).await;
        push_index(&reg.client(), "team/multi", "v1", &idx).await;
    });
    let s = Sandbox::new();
    let host = reg.host();
    let r = s.run(&["inspect", "--insecure-registry", &host, &format!("{host}/team/one:v1"), "--output", "json"]);
    let j = r.code(0).json();
    assert_eq!(j["digest"], img.manifest.digest.as_str());
    assert_eq!(j["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    assert_eq!(j["size"], img.manifest.bytes.len());
    assert!(j.get("platforms").is_none());

    let by_digest = format!("{host}/team/multi@{}", idx.manifest.digest);
    let j = s.run(&["inspect", "--insecure-registry", &host, &by_digest, "--output", "json"]).code(0).json();
    assert_eq!(j["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(j["digest"], idx.manifest.digest.as_str());
    let archs: Vec<_> = j["platforms"].as_array().unwrap().iter().map(|p| p["architecture"].as_str().unwrap().to_owned()).collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    assert_eq!(j["platforms"][1]["digest"], idx.images[1].manifest.digest.as_str());

    let human = s.run(&["inspect", "--insecure-registry", &host, &format!("{host}/team/multi:v1")]);
    human.code(0);
    assert!(human.stdout.contains(&idx.manifest.digest) && human.stdout.contains("arm64"), "{}", human.stdout);

    let missing = s.run(&["inspect", "--insecure-registry", &host, &format!("{host}/team/one:nope")]);
    missing.code(1);
    assert!(missing.stderr.contains("404") && missing.stderr.contains("team/one:nope"), "{}", missing.stderr);
}

#[test]
fn plain_http_needs_the_insecure_listing_and_unreachable_exits_3() {
    let reg = TestRegistry::start();
    block_on(push_image(&reg.client(), "r", "v1", &image(Flavor::Oci, "amd64", 1, 4)));
    let s = Sandbox::new();
    let reference = format!("{}/r:v1", reg.host());
    let r = s.run(&["inspect", &reference]);
    r.code(3);
    assert!(r.stderr.contains("--insecure-registry"), "{}", r.stderr);
    run_env(&s, &["inspect", &reference], &[("IMGCTL_INSECURE_REGISTRIES", &format!("example.invalid:1,{}", reg.host()))]).code(0);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("127.0.0.1:{port}");
    let r = s.run(&["inspect", "--insecure-registry", &closed, &format!("{closed}/r:v1")]);
    r.code(3);
    assert!(r.stderr.contains("unreachable") && r.stderr.contains(&closed), "{}", r.stderr);
}

fn no_leak(r: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret), "secret leaked:\n{}\n{}", r.stdout, r.stderr);
    }
}

#[test]
fn credentials_from_config_helper_and_env_never_shown() {
    let reg = TestRegistry::start_with_htpasswd(USER, PASSWORD);
    let img = image(Flavor::Oci, "amd64", 1, 5);
    block_on(push_image(&reg.client(), "secure/img", "v1", &img));
    let host = reg.host();
    let reference = format!("{host}/secure/img:v1");
    let args = ["-vvv", "--output", "json", "inspect", "--insecure-registry", &host, &reference];
    let encoded = b64(format!("{USER}:{PASSWORD}").as_bytes());
    let secrets = [PASSWORD, encoded.as_str()];

    // Anonymous: refused up front, exit 3.
    let s = Sandbox::new();
    let r = s.run(&args);
    r.code(3);
    assert!(r.stderr.contains("authentication refused") && r.stderr.contains("requires credentials"), "{}", r.stderr);

    // config.json `auths`.
    s.write("home/.docker/config.json", &format!(r#"{{"auths":{{"{host}":{{"auth":"{encoded}"}}}}}}"#));
    let r = s.run(&args);
    assert_eq!(r.code(0).json()["digest"], img.manifest.digest.as_str());
    no_leak(&r, &secrets);

    // A credential helper on PATH, as `credHelpers` and as `credsStore`.
    let bin = s.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-imgtest");
    std::fs::write(&helper, format!("#!/bin/sh\nread host\n[ \"$1\" = get ] && [ \"$host\" = \"{host}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$host\"\n")).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    for config in [format!(r#"{{"credHelpers":{{"{host}":"imgtest"}}}}"#), r#"{"credsStore":"imgtest"}"#.to_owned()] {
        s.write("home/.docker/config.json", &config);
        let r = run_env(&s, &args, &[("PATH", &path)]);
        assert_eq!(r.code(0).json()["digest"], img.manifest.digest.as_str(), "{config}");
        no_leak(&r, &secrets);
    }

    // Env vars win over config.json; a wrong password is refused fast with exit 3.
    s.write("home/.docker/config.json", "{}");
    let r = run_env(&s, &args, &[("IMGCTL_REGISTRY_USERNAME", USER), ("IMGCTL_REGISTRY_PASSWORD", PASSWORD)]);
    assert_eq!(r.code(0).json()["digest"], img.manifest.digest.as_str());
    no_leak(&r, &secrets);
    let wrong = "Wr0ng-pass-zz91";
    let r = run_env(&s, &args, &[("IMGCTL_REGISTRY_USERNAME", USER), ("IMGCTL_REGISTRY_PASSWORD", wrong)]);
    r.code(3);
    assert!(r.stderr.contains("authentication refused (HTTP 401)") && r.stderr.contains("username or password refused") && r.stderr.contains(&host), "{}", r.stderr);
    no_leak(&r, &[wrong, &b64(format!("{USER}:{wrong}").as_bytes()), PASSWORD]);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
