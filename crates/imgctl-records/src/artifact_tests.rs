//! Tests of artifact building, reading and verification.

use super::*;
use crate::dsse::Signer;
use crate::dsse::tests::test_keys;
use crate::statement::MoveRecord;

const TO: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn statement(to: &str) -> Statement {
    Statement::of(MoveRecord {
        variant: "v".into(),
        os: "Linux-Ubuntu-22.04-AMD64".into(),
        repository: "r/x".into(),
        channel: "latest".into(),
        tag: "v-latest".into(),
        from: None,
        to: to.into(),
        kind: "promote".into(),
        time: "2026-11-25T09:00:00Z".parse().unwrap(),
        release_tag: None,
        source_id: None,
        commit: None,
        reason: "soak met".into(),
        note: None,
        actor: Some("ci-bot".into()),
        run_url: None,
        tool: "imgctl 0.1.0".into(),
        changes: None,
    })
}

fn subject(digest: &str) -> Descriptor {
    Descriptor { digest: digest.into(), size: 10, ..Descriptor::of(OCI_MANIFEST, b"", false) }
}

#[test]
fn a_signed_record_reads_back_and_verifies_and_names_its_subject() {
    let (private, public) = test_keys(5);
    let s = statement(TO);
    let env = Signer::from_pem(&private).unwrap().sign(&s.to_bytes());
    let b = record(&s, Some(&env), subject(TO), s.predicate.time);
    let a = Artifact::parse(&b.manifest).unwrap();
    assert_eq!(a.subject.digest, TO);
    assert_eq!(a.artifact_type, DSSE_MEDIA_TYPE);
    assert_eq!(a.config.digest, sha256(b"{}"));
    assert_eq!(b.blobs.len(), 2, "config and envelope");
    assert_eq!(kind_of(b.entry.artifact_type.as_deref(), &b.entry.annotations), ArtifactKind::Record);
    let r = read_record(&b.manifest).unwrap();
    assert_eq!(r.statement, s);
    verify(&r, TO, &Verifier::from_pem(&public).unwrap()).unwrap();
    // its list entry embeds it (no request to read it); bytes that are not the digest are not taken
    let inline = embedded(&b.entry.digest, b.entry.data.as_deref()).expect("the entry embeds the record");
    assert_eq!(inline, b.manifest);
    verify(&read_record(&inline).unwrap(), TO, &Verifier::from_pem(&public).unwrap()).unwrap();
    assert_eq!(embedded_or_none(&b, "{}"), None);
    assert_eq!(embedded(&b.entry.digest, None), None, "a registry's own list has no data: GET it");
    // found under another digest: an error naming both
    let other = TO.replace('b', "c");
    let e = verify(&r, &other, &Verifier::from_pem(&public).unwrap()).unwrap_err().to_string();
    assert!(e.contains("subject") && e.contains(&other), "{e}");
}

#[test]
fn a_tampered_statement_or_an_unsigned_record_fails_verification() {
    let (private, public) = test_keys(5);
    let key = Verifier::from_pem(&public).unwrap();
    let s = statement(TO);
    let env = Signer::from_pem(&private).unwrap().sign(&s.to_bytes());
    // swap the payload for another statement, keep the signature
    let mut forged = statement(TO);
    forged.predicate.actor = Some("mallory".into());
    let bad_env = Envelope { payload: STANDARD.encode(forged.to_bytes()), ..env };
    let r = read_record(&record(&forged, Some(&bad_env), subject(TO), forged.predicate.time).manifest).unwrap();
    assert!(verify(&r, TO, &key).unwrap_err().to_string().contains("no signature verifies"));
    let unsigned = read_record(&record(&s, None, subject(TO), s.predicate.time).manifest).unwrap();
    assert!(verify(&unsigned, TO, &key).unwrap_err().to_string().contains("not signed"));
    // embedded data that does not match its digest is refused on read
    let mut a = Artifact::parse(&record(&s, None, subject(TO), s.predicate.time).manifest).unwrap();
    a.layers[0].data = Some(STANDARD.encode(b"{}"));
    assert!(read_record(&serde_json::to_vec(&a).unwrap()).unwrap_err().to_string().contains("does not match"));
}

#[test]
fn a_lifecycle_mark_has_docker_tools_shape() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let b = lifecycle(subject(TO), date, "2026-11-21T12:00:00Z".parse().unwrap());
    let v: serde_json::Value = serde_json::from_slice(&b.manifest).unwrap();
    assert_eq!(v["artifactType"], LIFECYCLE_ARTIFACT_TYPE);
    assert_eq!(v["annotations"][EOL_ANNOTATION], "2026-11-28");
    assert_eq!(v["subject"]["digest"], TO);
    assert_eq!(v["config"]["mediaType"], EMPTY_MEDIA_TYPE);
    assert_eq!(v["layers"][0]["mediaType"], EMPTY_MEDIA_TYPE);
    assert_eq!(b.blobs.len(), 1, "only the empty blob");
    assert_eq!(Artifact::parse(&b.manifest).unwrap().end_of_life(), Some(date));
    assert_eq!(kind_of(b.entry.artifact_type.as_deref(), &b.entry.annotations), ArtifactKind::Lifecycle);
}

/// [`embedded`] of `b`'s digest with other bytes as its data.
fn embedded_or_none(b: &Built, other: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    embedded(&b.digest, Some(&base64::engine::general_purpose::STANDARD.encode(other)))
}
