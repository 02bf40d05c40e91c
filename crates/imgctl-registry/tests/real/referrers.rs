//! Referrers over HTTP: against the real registry (distribution 2.8: the referrers API
//! answers 404, so the client keeps the `sha256-<hex>` tag schema; skopeo reads the index)
//! and through the proxy's referrers-API stand-in (OCI distribution-spec v1.1 "Listing
//! Referrers": `OCI-Subject` on the PUT, `GET /v2/<name>/referrers/<digest>`), where no
//! index tag is written.

use std::time::Duration;

use imgctl_registry::digest::sha256;
use imgctl_registry::referrers::{Attachment, Indexed, attach, list, tag_of};
use imgctl_registry::{Access, RawManifest, Registry};
use imgctl_testkit::images::{Flavor, image, push_image};
use serde_json::json;

use crate::{Setup, skopeo_raw};

fn artifact(subject: &imgctl_registry::Descriptor, n: u8) -> Attachment {
    let empty = sha256(b"{}");
    let body = json!({
        "schemaVersion": 2, "mediaType": imgctl_registry::OCI_MANIFEST, "artifactType": "application/vnd.example.test",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        "annotations": {"n": n.to_string()},
    });
    let manifest = RawManifest::from_bytes(serde_json::to_vec(&body).unwrap());
    let entry = json!({"mediaType": imgctl_registry::OCI_MANIFEST, "digest": manifest.digest, "size": manifest.bytes.len(), "artifactType": "application/vnd.example.test"});
    Attachment { manifest, blobs: vec![(empty, bytes::Bytes::from_static(b"{}"))], entry }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_api_the_tag_schema_index_lists_each_artifact() {
    let s = Setup::anonymous();
    let repo = "team/refs";
    let subject = push_image(&s.direct, repo, "v1", &image(Flavor::Oci, "amd64", 1, 3)).await;
    s.ready(repo, Access::Push).await;
    for n in 0..2 {
        assert!(matches!(attach(&s.via, repo, &subject.digest, &artifact(&subject, n), Duration::from_millis(10)).await.unwrap(), Indexed::ByTagSchema(1)));
    }
    assert!(s.proxy.events().iter().any(|e| e.path.contains("/manifests/sha256-")), "the index tag was written");
    let index: serde_json::Value = serde_json::from_slice(&skopeo_raw(&s.reg.host(), repo, &tag_of(&subject.digest))).unwrap();
    assert_eq!(index["mediaType"], imgctl_registry::OCI_INDEX);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index:#}");
    // the referrers API is missing here (404): list falls back to the tag schema
    assert_eq!(list(&s.via, repo, &subject.digest).await.unwrap().len(), 2);
    assert!(s.via.referrers_api(repo, &subject.digest).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_api_the_registry_keeps_the_list_and_no_index_tag_is_written() {
    let s = Setup::anonymous();
    s.proxy.enable_referrers_api();
    let repo = "team/refs-api";
    let subject = push_image(&s.direct, repo, "v1", &image(Flavor::Oci, "amd64", 1, 4)).await;
    s.ready(repo, Access::Push).await;
    let a = artifact(&subject, 1);
    assert_eq!(attach(&s.via, repo, &subject.digest, &a, Duration::from_millis(10)).await.unwrap(), Indexed::ByRegistry);
    let listed = list(&s.via, repo, &subject.digest).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["digest"], a.manifest.digest.as_str());
    assert_eq!(listed[0]["artifactType"], "application/vnd.example.test");
    assert!(!s.direct.list_tags(repo).await.unwrap().contains(&tag_of(&subject.digest)), "no sha256-<hex> tag where the registry indexes referrers");
    // the artifact itself is in the real registry, by digest
    assert_eq!(sha256(&skopeo_raw(&s.reg.host(), repo, &a.manifest.digest)), a.manifest.digest);
    // a digest nothing refers to: 200 with an empty list (not a fallback)
    let other = push_image(&s.direct, repo, "v2", &image(Flavor::Oci, "amd64", 1, 5)).await;
    assert!(s.via.referrers_api(repo, &other.digest).await.unwrap().is_some_and(|m| m.bytes.len() > 2));
    assert!(list(&s.via, repo, &other.digest).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apis_error_answers_are_errors_not_a_fallback_and_5xx_is_retried() {
    use imgctl_testkit::{Fault, FaultPlan, PathKind};
    let s = Setup::anonymous();
    s.proxy.enable_referrers_api();
    let repo = "team/refs-errors";
    let subject = push_image(&s.direct, repo, "v1", &image(Flavor::Oci, "amd64", 1, 6)).await;
    s.ready(repo, Access::Pull).await;
    // the referrers endpoint is the proxy's `Other` kind of path
    s.proxy.set_faults(FaultPlan { kinds: vec![PathKind::Other], ..FaultPlan::always(Fault::Status(403)) });
    let e = s.via.referrers_api(repo, &subject.digest).await.unwrap_err();
    assert!(e.is_access(), "a refusal is an access error (exit 3), never read as 'no API': {e}");
    assert!(list(&s.via, repo, &subject.digest).await.is_err(), "list does not fall back on a refusal");
    s.proxy.set_faults(FaultPlan { kinds: vec![PathKind::Other], max: Some(2), ..FaultPlan::always(Fault::Status(503)) });
    assert!(s.via.referrers_api(repo, &subject.digest).await.unwrap().is_some(), "503 twice, then the list");
    s.proxy.clear_faults();
}

/// A registry stand-in whose referrers API pages (distribution-spec v1.1 "Listing
/// Referrers": a `Link` header with `rel="next"` when the list goes on): page `n` of `pages`
/// lists one entry, `sha256:<n repeated>`; with `cycle`, the last page links to the first.
async fn paging_registry(pages: usize, cycle: bool) -> String {
    use tokio::io::AsyncWriteExt;
    crate::raw_server(move |req, mut sock| async move {
        let path = req.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let (link, body) = match path.split_once("/referrers/") {
            None => (String::new(), "{}".to_owned()),
            Some((name, rest)) => {
                let (digest, page) = rest.split_once("?page=").map_or((rest, 1), |(d, p)| (d, p.parse().unwrap_or(1)));
                let next = if page < pages { Some(page + 1) } else if cycle { Some(1) } else { None };
                let link = next.map(|p| format!("link: <{name}/referrers/{digest}?page={p}>; rel=\"next\"\r\n")).unwrap_or_default();
                let entry = json!({"mediaType": imgctl_registry::OCI_MANIFEST, "digest": format!("sha256:{}", page.to_string().repeat(64)), "size": 2, "artifactType": "application/vnd.example.test"});
                (link, json!({"schemaVersion": 2, "mediaType": imgctl_registry::OCI_INDEX, "manifests": [entry]}).to_string())
            }
        };
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/vnd.oci.image.index.v1+json\r\n{link}content-length: {}\r\nconnection: close\r\n\r\n", body.len());
        let _ = sock.write_all(format!("{head}{body}").as_bytes()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paged_referrers_list_is_read_to_its_last_page() {
    let subject = format!("sha256:{}", "a".repeat(64));
    for (pages, cycle) in [(1, false), (3, false), (2, true)] {
        let host = paging_registry(pages, cycle).await;
        let client = imgctl_registry::RegistryClient::new(imgctl_registry::ClientOptions::new(&host).insecure_if_listed(std::slice::from_ref(&host))).unwrap();
        let listed = list(&client, "r", &subject).await.unwrap();
        let digests: Vec<&str> = listed.iter().map(|e| e["digest"].as_str().unwrap()).collect();
        let want: Vec<String> = (1..=pages).map(|p| format!("sha256:{}", p.to_string().repeat(64))).collect();
        assert_eq!(digests, want, "{pages} pages, cycle {cycle}: every page once");
        // the ping, one GET per page, and (cycling) the repeated first page that adds nothing
        assert_eq!(client.stats().get, 1 + pages as u64 + u64::from(cycle), "GETs");
    }
}
