//! The in-toto v1 Statement of one channel move (subject = the digest moved to), with
//! imgctl's own predicate type. See `docs/RECORDS.md` for an example.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The in-toto Statement layer's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// imgctl's predicate type: a channel move.
pub const PREDICATE_TYPE: &str = "https://imgctl.dev/promotion/v1";

/// One subject of a statement: a name and its digests by algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// `registry/repository`.
    pub name: String,
    /// `{"sha256": "<hex>"}`.
    pub digest: std::collections::BTreeMap<String, String>,
}

/// The in-toto v1 Statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The digest moved to (one subject).
    pub subject: Vec<Subject>,
    /// Always [`PREDICATE_TYPE`] for imgctl's records.
    pub predicate_type: String,
    /// What happened.
    pub predicate: MoveRecord,
}

/// imgctl's predicate: who moved which channel of which variant, from where to where, when
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveRecord {
    /// The variant (its base tag).
    pub variant: String,
    /// Its OperatingSystemId.
    pub os: String,
    /// `registry/repository`.
    pub repository: String,
    /// The channel moved.
    pub channel: String,
    /// The channel tag.
    pub tag: String,
    /// The digest the channel pointed at before (none for a first move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The digest moved to (the subject).
    pub to: String,
    /// `publish`, `promote`, `forced-promote` or `rollback`.
    pub kind: String,
    /// The time recorded in the release tag.
    pub time: DateTime<Utc>,
    /// The release tag written by the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_tag: Option<String>,
    /// The build's source id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The git commit of the manifest revision the move followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Why (e.g. `soak met after 3d`, `rolled back from sha256:…`, `forced`).
    pub reason: String,
    /// The operator's own words for the run (`rollback --reason`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who ran it (`GITHUB_ACTOR`, else the user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The GitHub Actions run, when in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// `imgctl <version>`.
    pub tool: String,
    /// What changed from `from` to `to` (docs/CHANGES.md); absent when not known (a first
    /// move, or records written before changes were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Box<crate::changes::Changes>>,
}

impl Statement {
    /// The statement of `record` (its subject is `record.to` in `record.repository`).
    pub fn of(record: MoveRecord) -> Statement {
        let hex = record.to.strip_prefix("sha256:").unwrap_or(&record.to).to_string();
        Statement {
            type_: STATEMENT_TYPE.into(),
            subject: vec![Subject { name: record.repository.clone(), digest: [("sha256".to_string(), hex)].into() }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate: record,
        }
    }

    /// The canonical bytes stored (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The `sha256:` digest of the (first) subject.
    pub fn subject_digest(&self) -> Option<String> {
        self.subject.first().and_then(|s| s.digest.get("sha256")).map(|h| format!("sha256:{h}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MoveRecord {
        MoveRecord {
            variant: "ubuntu-22.04-helix-amd64".into(),
            os: "Linux-Ubuntu-22.04-AMD64".into(),
            repository: "ghcr.io/acme/build-images".into(),
            channel: "latest".into(),
            tag: "ubuntu-22.04-helix-amd64-latest".into(),
            from: Some(format!("sha256:{}", "a".repeat(64))),
            to: format!("sha256:{}", "b".repeat(64)),
            kind: "promote".into(),
            time: "2026-11-25T09:00:00Z".parse().unwrap(),
            release_tag: None,
            source_id: Some("3f9a0c1d2e4b".into()),
            commit: None,
            reason: "soak met".into(),
            note: None,
            actor: None,
            run_url: None,
            tool: "imgctl 0.1.0".into(),
            changes: None,
        }
    }

    #[test]
    fn the_subject_is_the_digest_moved_to_and_the_json_round_trips() {
        let s = Statement::of(record());
        assert_eq!(s.subject_digest().unwrap(), format!("sha256:{}", "b".repeat(64)));
        let v: serde_json::Value = serde_json::from_slice(&s.to_bytes()).unwrap();
        assert_eq!(v["_type"], STATEMENT_TYPE);
        assert_eq!(v["predicateType"], PREDICATE_TYPE);
        assert_eq!(v["subject"][0]["digest"]["sha256"], "b".repeat(64));
        assert_eq!(v["predicate"]["sourceId"], "3f9a0c1d2e4b");
        assert!(v["predicate"].get("commit").is_none(), "absent facts are left out");
        let back: Statement = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
