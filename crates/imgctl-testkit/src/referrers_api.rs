//! A referrers-API stand-in for the [`crate::Proxy`]: distribution 2.8 (the test registry)
//! has no referrers API, hosted registries (e.g. ACR, Harbor, Quay) do. When enabled, the
//! proxy follows the OCI distribution-spec v1.1 "Listing Referrers" section: a manifest PUT
//! whose body has a `subject` is indexed and answered with `OCI-Subject: <subject digest>`;
//! `GET /v2/<name>/referrers/<digest>` answers 200 with an image index
//! (`application/vnd.oci.image.index.v1+json`) of descriptors (`mediaType`, `digest`, `size`,
//! `artifactType`, `annotations`), empty when nothing refers to the digest; with
//! `?artifactType=` it filters and says so in `OCI-Filters-Applied`. Nothing else changes.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};
use sha2::Digest;

/// Referrers lists by (repository, subject digest).
type Lists = BTreeMap<(String, String), Vec<Value>>;

/// An answer: headers and body.
type Answer = (Vec<(&'static str, String)>, Vec<u8>);

/// The lists, once enabled.
#[derive(Debug, Default)]
pub(crate) struct Referrers(Mutex<Option<Lists>>);

impl Referrers {
    pub(crate) fn enable(&self) {
        *self.0.lock().expect("referrers lock") = Some(BTreeMap::new());
    }

    /// The answer to a referrers GET (`Some((headers, index body))`), when enabled.
    pub(crate) fn answer(&self, method: &str, path: &str) -> Option<Answer> {
        let guard = self.0.lock().expect("referrers lock");
        let map = guard.as_ref()?;
        let (p, query) = path.split_once('?').unwrap_or((path, ""));
        let (name, digest) = p.strip_prefix("/v2/")?.rsplit_once("/referrers/")?;
        if method != "GET" {
            return None;
        }
        let filter = query.split('&').find_map(|kv| kv.strip_prefix("artifactType=")).map(|t| t.replace("%2F", "/").replace("%2B", "+"));
        let list: Vec<Value> = map
            .get(&(name.to_string(), digest.to_string()))
            .into_iter()
            .flatten()
            .filter(|e| filter.as_deref().is_none_or(|f| e["artifactType"] == f))
            .cloned()
            .collect();
        let mut headers = vec![("content-type", "application/vnd.oci.image.index.v1+json".to_string())];
        if filter.is_some() {
            headers.push(("oci-filters-applied", "artifactType".to_string()));
        }
        let body = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": list});
        Some((headers, serde_json::to_vec(&body).unwrap_or_default()))
    }

    /// After a successful manifest PUT: indexes it when it has a subject and returns the
    /// `OCI-Subject` value to answer with.
    pub(crate) fn on_put(&self, path: &str, body: &[u8]) -> Option<String> {
        let mut guard = self.0.lock().expect("referrers lock");
        let map = guard.as_mut()?;
        let name = path.strip_prefix("/v2/")?.split_once("/manifests/")?.0.to_string();
        let m: Value = serde_json::from_slice(body).ok()?;
        let subject = m["subject"]["digest"].as_str()?.to_string();
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)));
        let entry = json!({
            "mediaType": m["mediaType"],
            "digest": digest,
            "size": body.len(),
            "artifactType": m.get("artifactType").cloned().unwrap_or_else(|| m["config"]["mediaType"].clone()),
            "annotations": m.get("annotations").cloned().unwrap_or_else(|| json!({})),
        });
        let list = map.entry((name, subject.clone())).or_default();
        if !list.iter().any(|e| e["digest"] == entry["digest"]) {
            list.push(entry);
        }
        Some(subject)
    }
}
