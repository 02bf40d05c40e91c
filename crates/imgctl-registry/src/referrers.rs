//! OCI 1.1 referrers (distribution-spec v1.1 "Listing Referrers" and "Referrers Tag Schema"):
//! attaching an artifact manifest to the digest in its `subject`, and listing what refers
//! to a digest. Where the registry has the referrers API (`GET /v2/<name>/referrers/<digest>`,
//! and `OCI-Subject` on the PUT), it keeps the list; where it has not (distribution 2.8,
//! ghcr.io: the API answers 404) the client keeps it in the image index tagged
//! `sha256-<hex>`, by read-modify-write with a check before the PUT (the index is still what
//! was read) and after it (the entry is there, re-checked after a settle delay), like channel
//! moves; registries have no compare-and-swap, so that is as close as a client gets.

use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::answer::{MAX_MANIFEST_BYTES, next_of, read_limited};
use crate::auth::Access;
use crate::client::RegistryClient;
use crate::digest::sha256;
use crate::error::RegistryError;
use crate::transport::Call;
use crate::{BlobSource, OCI_INDEX, RawManifest, Registry, Result};

/// Read-modify-write rounds before giving up on a contended index.
const MAX_ROUNDS: u32 = 8;

/// The referrers tag of `digest`: `sha256-<hex>`.
pub fn tag_of(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// The subject digest of a referrers tag (`sha256-<64 hex>`), if `tag` is one.
pub fn subject_of(tag: &str) -> Option<String> {
    let hex = tag.strip_prefix("sha256-")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then(|| format!("sha256:{hex}"))
}

/// An artifact to attach: its manifest, the blobs it needs, and its referrers-list entry
/// (a descriptor with `artifactType` and `annotations`).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// The artifact manifest (with `subject`).
    pub manifest: RawManifest,
    /// Blobs it references: (digest, bytes); pushed when missing.
    pub blobs: Vec<(String, bytes::Bytes)>,
    /// Its entry in the subject's referrers list.
    pub entry: Value,
}

/// How an attachment was indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexed {
    /// The registry indexes referrers itself (referrers API).
    ByRegistry,
    /// The client updated the `sha256-<hex>` index (tag schema), in this many rounds.
    ByTagSchema(u32),
    /// The tag-schema index already listed it.
    Already,
}

/// Attaches `a` to `subject` in `repo`: pushes missing blobs, PUTs the manifest by digest,
/// and, when the registry does not index referrers, adds it to the `sha256-<hex>` index.
/// `settle` is how long to wait before the last check that no concurrent writer dropped it.
pub async fn attach<R: Registry>(r: &R, repo: &str, subject: &str, a: &Attachment, settle: Duration) -> Result<Indexed> {
    for (digest, bytes) in &a.blobs {
        if !r.blob_exists(repo, digest).await? {
            r.push_blob(repo, digest, &BlobSource::Bytes(bytes.clone())).await?;
        }
    }
    if r.put_referrer(repo, &a.manifest).await? {
        return Ok(Indexed::ByRegistry);
    }
    add_to_tag_index(r, repo, subject, &a.manifest.digest, &a.entry, settle).await
}

/// The entries of an index's `manifests` (a referrers list's descriptors).
pub fn entries(index: Option<&RawManifest>) -> Vec<Value> {
    index.and_then(|m| serde_json::from_slice::<Value>(&m.bytes).ok()).and_then(|v| v.get("manifests").and_then(Value::as_array).cloned()).unwrap_or_default()
}

fn lists(entries: &[Value], digest: &str) -> bool {
    entries.iter().any(|e| e.get("digest").and_then(Value::as_str) == Some(digest))
}

async fn read_tag_index<R: Registry>(r: &R, repo: &str, tag: &str) -> Result<Option<RawManifest>> {
    match r.get_manifest(repo, tag).await {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn add_to_tag_index<R: Registry>(r: &R, repo: &str, subject: &str, digest: &str, entry: &Value, settle: Duration) -> Result<Indexed> {
    let tag = tag_of(subject);
    let mut wrote = 0;
    for _ in 0..MAX_ROUNDS {
        let before = read_tag_index(r, repo, &tag).await?;
        let mut list = entries(before.as_ref());
        if lists(&list, digest) {
            return Ok(if wrote == 0 { Indexed::Already } else { Indexed::ByTagSchema(wrote) });
        }
        if wrote > 0 {
            // someone overwrote our entry: back off a little before writing again
            tokio::time::sleep(jitter(settle / 4)).await;
        }
        list.push(entry.clone());
        let index = RawManifest::from_bytes(serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list})).unwrap_or_default());
        // check before: nobody wrote the index since we read it
        let now = match r.resolve(repo, &tag).await {
            Ok(d) => Some(d.digest),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        if now != before.as_ref().map(|m| m.digest.clone()) {
            continue;
        }
        r.put_manifest(repo, &tag, &index).await?;
        wrote += 1;
        // check after, once a concurrent writer that read before our PUT has written too
        tokio::time::sleep(jitter(settle)).await;
        let after = entries(read_tag_index(r, repo, &tag).await?.as_ref());
        if lists(&after, digest) {
            return Ok(Indexed::ByTagSchema(wrote));
        }
    }
    Err(RegistryError::Protocol {
        op: "update referrers index",
        target: Box::new(crate::error::Target::new("", repo, Some(&tag))),
        reason: format!("{MAX_ROUNDS} rounds of concurrent writers; the entry {digest} is not in it yet (run again)"),
    })
}

/// `d` plus up to `d` of jitter.
fn jitter(d: Duration) -> Duration {
    d + d.mul_f64(fastrand::f64())
}

/// The referrers list of `subject`: the registry's (referrers API) or the tag schema's;
/// empty when there is none. Entries are descriptors (`digest`, `artifactType`, `annotations`).
pub async fn list<R: Registry>(r: &R, repo: &str, subject: &str) -> Result<Vec<Value>> {
    if let Some(index) = r.referrers_api(repo, subject).await? {
        return Ok(entries(Some(&index)));
    }
    list_tag_schema(r, repo, subject).await
}

/// The tag schema's referrers list of `subject` alone (its `sha256-<hex>` index; empty when
/// there is none), for a caller that knows the registry has no referrers API.
pub async fn list_tag_schema<R: Registry>(r: &R, repo: &str, subject: &str) -> Result<Vec<Value>> {
    Ok(entries(read_tag_index(r, repo, &tag_of(subject)).await?.as_ref()))
}

/// Pages of a referrers listing followed at most (each a full index of up to 4 MiB).
const MAX_PAGES: usize = 64;

impl RegistryClient {
    /// `GET /v2/<repo>/referrers/<digest>`, following `Link: rel="next"` (distribution-spec
    /// v1.1: a registry may page the list) until there is no next page, a page adds no new
    /// entry or a URL repeats: the list (one page as it came, several merged into one index,
    /// each entry once), or `None` when the API is missing (404).
    pub(crate) async fn get_referrers(&self, repo: &str, digest: &str) -> Result<Option<RawManifest>> {
        let (op, target) = ("list referrers", self.target(repo, Some(digest)));
        let mut url = self.url(&format!("{repo}/referrers/{digest}"))?;
        let build = |r: RequestBuilder| Ok(r.header(ACCEPT, OCI_INDEX));
        let (mut first, mut all, mut seen) = (None, Vec::<Value>::new(), std::collections::HashSet::new());
        for page in 1.. {
            seen.insert(url.clone());
            // no referrers API here (distribution 2.8, ghcr.io: 404 or 405): the tag schema is the fallback
            let call = Call { takes: |s| s == 200 || s == 404 || s == 405, build: &build, ..Call::new(op, &target, Method::GET, url.clone()) };
            let t = &target;
            let answer = self
                .request(call, &[(repo, Access::Pull)], |resp| async move {
                    if resp.status().as_u16() != 200 {
                        return Ok(None);
                    }
                    let next = next_of(resp.headers());
                    Ok(Some((read_limited(op, t, resp, MAX_MANIFEST_BYTES).await?, next)))
                })
                .await?;
            let Some((bytes, next)) = answer else {
                // a first page missing means no API; a later one ends the list
                if page == 1 {
                    return Ok(None);
                }
                break;
            };
            let entries = entries(Some(&RawManifest::from_bytes(bytes.clone())));
            let before = all.len();
            for e in entries {
                if !lists(&all, e.get("digest").and_then(Value::as_str).unwrap_or_default()) {
                    all.push(e);
                }
            }
            first.get_or_insert(bytes);
            match next.and_then(|n| url.join(&n).ok()) {
                Some(n) if all.len() > before && !seen.contains(&n) && page < MAX_PAGES => url = n,
                Some(_) if page >= MAX_PAGES => {
                    return Err(RegistryError::Protocol { op, target: Box::new(target), reason: format!("the referrers list goes on past {MAX_PAGES} pages; refused") });
                }
                _ => break,
            }
        }
        if seen.len() == 1
            && let Some(bytes) = first
        {
            return Ok(Some(RawManifest { digest: sha256(&bytes), bytes, media_type: OCI_INDEX.into() }));
        }
        let merged = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": all})).unwrap_or_default();
        Ok(Some(RawManifest::from_bytes(merged)))
    }
}

#[cfg(test)]
#[path = "referrers_tests.rs"]
mod tests;
