//! What changed in a channel move from digest A to digest B (SPEC §9, docs/CHANGES.md): the
//! packages (from both builds' SBOMs), the OS release, the size (from the manifests), and the
//! source side (source ids, the commits that introduced them, a compare URL, the files changed
//! in the variant's context, the Dockerfile's diff, and why: its own change or rebuilt for its
//! base). `imgctl changes` prints it; a move's record carries it (`MoveRecord::changes`).
//! Whatever could not be known is said in `notes`, never shown as an empty list.

use imgctl_inventory::OsRelease;
use imgctl_inventory::diff::{Change, ChangeKind};
use serde::{Deserialize, Serialize};

/// The changes of one move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// The digest moved from.
    pub from: String,
    /// The digest moved to.
    pub to: String,
    /// For a multi-platform build: the platform compared (`linux/amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The packages that changed; None when either build is not inventoried (see
    /// `notInventoried`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Packages>,
    /// Why the packages are not known (a build without SBOM, a Windows image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_inventoried: Option<String>,
    /// The OS release of each build (from their SBOMs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsChange>,
    /// The compressed size of each build's layers (from the manifests).
    pub size: SizeChange,
    /// The source side.
    pub source: SourceChange,
}

/// Packages added, removed, upgraded and downgraded (each ecosystem's version order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Packages {
    /// Packages only in B.
    pub added: usize,
    /// Packages only in A.
    pub removed: usize,
    /// Newer in B.
    pub upgraded: usize,
    /// Older in B.
    pub downgraded: usize,
    /// Every package that differs (respelled versions included), by ecosystem and name.
    pub changes: Vec<Change>,
}

impl Packages {
    /// The counts and list of `changes`.
    pub fn of(changes: Vec<Change>) -> Packages {
        let count = |k: ChangeKind| changes.iter().filter(|c| c.change == k).count();
        Packages { added: count(ChangeKind::Added), removed: count(ChangeKind::Removed), upgraded: count(ChangeKind::Upgraded), downgraded: count(ChangeKind::Downgraded), changes }
    }
}

/// The OS release of each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsChange {
    /// A's `os-release`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<OsRelease>,
    /// B's `os-release`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<OsRelease>,
    /// Whether they differ.
    pub changed: bool,
}

/// Compressed layer bytes of each side (what a pull downloads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SizeChange {
    /// A's layers.
    pub from: u64,
    /// B's layers.
    pub to: u64,
    /// `to - from`.
    pub delta: i64,
}

impl SizeChange {
    /// The change from `from` to `to` bytes.
    pub fn of(from: u64, to: u64) -> SizeChange {
        let delta = i64::try_from(to).unwrap_or(i64::MAX).saturating_sub(i64::try_from(from).unwrap_or(i64::MAX));
        SizeChange { from, to, delta }
    }
}

/// Why B was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The variant's own inputs changed (its context, Dockerfile path or build args).
    OwnChange,
    /// A parent variant it builds `FROM` has a new source id.
    RebuiltForBase,
}

impl Cause {
    /// `its own change`, `rebuilt for its base`.
    pub fn words(self) -> &'static str {
        match self {
            Cause::OwnChange => "its own change",
            Cause::RebuiltForBase => "rebuilt for its base",
        }
    }
}

/// A parent whose source id changed between the two builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentChange {
    /// The parent variant.
    pub variant: String,
    /// Its source id behind A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Its source id behind B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The source side of a move: what was built, from which commits, and what changed there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceChange {
    /// A's source id (from its immutable tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_source_id: Option<String>,
    /// B's source id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_source_id: Option<String>,
    /// The first-parent commit that introduced A's source id (the oldest of its run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_commit: Option<String>,
    /// The commit that introduced B's source id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_commit: Option<String>,
    /// `https://github.com/OWNER/REPO/compare/A...B` when the repository is on GitHub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_url: Option<String>,
    /// Files changed in the variant's context (and its Dockerfile) between the two commits;
    /// None when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// The Dockerfile's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Its unified diff (empty: unchanged); None when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile_diff: Option<String>,
    /// Why B was built (both when both hold); empty when not known or the same source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    /// Parents whose source id changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<ParentChange>,
    /// What could not be known, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl SourceChange {
    /// `its own change; rebuilt for its base`, or what is known instead.
    pub fn cause_words(&self) -> String {
        if !self.causes.is_empty() {
            return self.causes.iter().map(|c| c.words()).collect::<Vec<_>>().join("; ");
        }
        match (&self.from_source_id, &self.to_source_id) {
            (Some(a), Some(b)) if a == b => "the same source (a rebuild of an already built source id)".into(),
            _ => "unknown (see notes)".into(),
        }
    }
}

impl Changes {
    /// One line: `+1 -0 ↑1 ↓0 packages; 1.2 MB → 1.3 MB; its own change`.
    pub fn summary(&self) -> String {
        let packages = match &self.packages {
            Some(p) => format!("packages +{} added, {} removed, {} upgraded, {} downgraded", p.added, p.removed, p.upgraded, p.downgraded),
            None => format!("packages not inventoried ({})", self.not_inventoried.as_deref().unwrap_or("no SBOM")),
        };
        format!("{packages}; size {:+} bytes; {}", self.size.delta, self.source.cause_words())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgctl_inventory::Ecosystem;

    #[test]
    fn counts_each_kind_and_round_trips_with_unknowns_left_out() {
        let c = |change, name: &str| Change { change, ecosystem: Ecosystem::Deb, name: name.into(), arch: None, from: None, to: Some("1".into()) };
        let p = Packages::of(vec![c(ChangeKind::Added, "a"), c(ChangeKind::Added, "b"), c(ChangeKind::Upgraded, "c"), c(ChangeKind::Respelled, "d")]);
        assert_eq!((p.added, p.removed, p.upgraded, p.downgraded, p.changes.len()), (2, 0, 1, 0, 4));
        let ch = Changes {
            from: "sha256:a".into(),
            to: "sha256:b".into(),
            platform: None,
            packages: None,
            not_inventoried: Some("no SBOM".into()),
            os: None,
            size: SizeChange::of(10, 4),
            source: SourceChange { causes: vec![Cause::OwnChange, Cause::RebuiltForBase], ..SourceChange::default() },
        };
        let v = serde_json::to_value(&ch).unwrap();
        assert_eq!(v["size"]["delta"], -6);
        assert_eq!(v["source"]["causes"], serde_json::json!(["own-change", "rebuilt-for-base"]));
        assert!(v.get("packages").is_none() && v["source"].get("files").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<Changes>(v).unwrap(), ch);
        assert_eq!(ch.source.cause_words(), "its own change; rebuilt for its base");
        assert!(ch.summary().contains("not inventoried (no SBOM)"), "{}", ch.summary());
    }
}
