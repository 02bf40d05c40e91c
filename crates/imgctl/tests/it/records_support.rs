//! What the records tests share: turning records on in a test fleet, PEM keys made by
//! openssl (an independent tool), and reading referrers back with skopeo.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use imgctl_testkit::require_tool;
use serde_json::Value;

use crate::fleet::{Fleet, REPO, git};

/// Adds `records:` to the fleet's manifest (on main and production).
pub fn enable_records(f: &Fleet, block: &str) {
    let path = f.sb.path().join("manifests/images.yaml");
    let mut text = std::fs::read_to_string(&path).expect("read manifest");
    text.push_str(&format!("records: {block}\n"));
    std::fs::write(&path, text).expect("write manifest");
    git(f.sb.path(), &["commit", "-qam", "records on"]);
    git(f.sb.path(), &["branch", "-f", "production", "HEAD"]);
}

/// A P-256 key pair written by openssl into the sandbox: (PKCS#8 private, SEC1 private, SPKI public).
pub fn keys(f: &Fleet, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = require_tool("openssl", "openssl");
    let dir = f.sb.path().join("keys");
    std::fs::create_dir_all(&dir).expect("mkdir keys");
    let (sec1, pkcs8, public) = (dir.join(format!("{name}.ec.pem")), dir.join(format!("{name}.pem")), dir.join(format!("{name}.pub.pem")));
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).args(args).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", sec1.to_str().unwrap()]);
    run(&["pkcs8", "-topk8", "-nocrypt", "-in", sec1.to_str().unwrap(), "-out", pkcs8.to_str().unwrap()]);
    run(&["ec", "-in", sec1.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()]);
    (pkcs8, sec1, public)
}

/// The lines of a PEM file between its armour (what must never reach output).
pub fn pem_body(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path).expect("read key").lines().filter(|l| !l.starts_with("-----")).map(str::to_string).collect()
}

/// `skopeo inspect --raw` of `repo:reference` (a tag) or `repo@digest`, straight from the registry.
pub fn skopeo_raw(f: &Fleet, reference: &str) -> Option<Value> {
    let skopeo = require_tool("skopeo", "skopeo");
    let sep = if reference.starts_with("sha256:") { "@" } else { ":" };
    let out = Command::new(skopeo)
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{REPO}{sep}{reference}", f.reg.host())])
        .output()
        .expect("run skopeo");
    out.status.success().then(|| serde_json::from_slice(&out.stdout).expect("manifest JSON"))
}

/// The `sha256-<hex>` referrers index of `digest` (its entries), as skopeo reads it.
pub fn referrers(f: &Fleet, digest: &str) -> Vec<Value> {
    skopeo_raw(f, &digest.replacen(':', "-", 1)).map(|i| i["manifests"].as_array().cloned().unwrap_or_default()).unwrap_or_default()
}

/// Each record artifact referring to `digest`: (artifact manifest, statement).
pub fn statements(f: &Fleet, digest: &str) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for e in referrers(f, digest) {
        if e["artifactType"] == "application/vnd.microsoft.artifact.lifecycle" {
            continue;
        }
        let a = skopeo_raw(f, e["digest"].as_str().unwrap()).expect("the artifact resolves");
        let data = base64::engine::general_purpose::STANDARD.decode(a["layers"][0]["data"].as_str().unwrap()).unwrap();
        let layer: Value = serde_json::from_slice(&data).unwrap();
        let statement = match layer.get("payload").and_then(Value::as_str) {
            Some(p) => serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(p).unwrap()).unwrap(),
            None => layer,
        };
        out.push((a, statement));
    }
    out
}

/// The `(channel, kind, from, to)` of every record of `digest`, sorted.
pub fn moves(f: &Fleet, digest: &str) -> Vec<(String, String, Option<String>, String)> {
    let mut v: Vec<_> = statements(f, digest)
        .into_iter()
        .map(|(_, s)| {
            let p = &s["predicate"];
            (p["channel"].as_str().unwrap().to_string(), p["kind"].as_str().unwrap().to_string(), p["from"].as_str().map(str::to_string), p["to"].as_str().unwrap().to_string())
        })
        .collect();
    v.sort();
    v
}
