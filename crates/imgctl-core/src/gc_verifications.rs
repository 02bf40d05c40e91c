//! Which verification records (`{repository}/verifications`, tagged `{channel tag}-{digest12}`:
//! a failed verification of a candidate digest, docs/GC.md) gc deletes: a record matters only
//! while its digest may still be promoted to its channel. It goes once the channel has been
//! at that digest (the record no longer blocks anything), once the digest is gone from the
//! repository (deleted by this gc or an earlier one), or when no variant's channel of the
//! manifest has its tag (a removed variant or channel). Pure.

use std::collections::{BTreeMap, BTreeSet};

use crate::fleet::Fleet;
use crate::tags::{TagIndex, TagKind, digest12};

/// The verdict for one verification record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPlan {
    /// Its tag in the verifications repository.
    pub tag: String,
    /// The variant whose channel it is about (None: no variant of the manifest).
    pub variant: Option<String>,
    /// True when gc deletes it.
    pub delete: bool,
    /// Why, in words.
    pub reason: String,
}

/// Plans the verification records `records` (tags of the verifications repository) against
/// the repository's tags `tags` (tag → digest) minus the digests in `gone`.
pub fn plan_records(fleet: &Fleet, index: &TagIndex<'_>, tags: &BTreeMap<String, String>, gone: &BTreeSet<String>, records: &[String]) -> Vec<RecordPlan> {
    let mut channel_tags: BTreeMap<String, (String, String)> = BTreeMap::new();
    for v in &fleet.variants {
        for c in fleet.manifest.channels.keys() {
            if let Some(t) = fleet.channel_tag(v, c) {
                channel_tags.insert(t, (v.name.clone(), c.clone()));
            }
        }
    }
    let present: BTreeSet<&str> = tags.values().filter(|d| !gone.contains(*d)).map(|d| digest12(d)).collect();
    let mut reached: BTreeSet<(String, String, String)> = BTreeSet::new();
    for t in tags.keys() {
        if let Ok(p) = index.parse(t)
            && p.kind == TagKind::Release
            && let (Some(c), Some(d)) = (p.channel, p.digest_prefix)
        {
            reached.insert((p.variant, c, d));
        }
    }
    let mut out = Vec::new();
    for tag in records {
        let parsed = tag.rsplit_once('-').filter(|(_, d)| d.len() == 12 && d.bytes().all(|b| b.is_ascii_hexdigit())).and_then(|(ct, d)| channel_tags.get(ct).map(|vc| (vc.clone(), d)));
        let plan = |variant: Option<String>, delete: bool, reason: String| RecordPlan { tag: tag.clone(), variant, delete, reason };
        out.push(match parsed {
            None => plan(None, true, format!("verification record {tag}: no channel of the manifest has its tag")),
            Some(((v, c), d)) if reached.contains(&(v.clone(), c.clone(), d.to_string())) => {
                plan(Some(v), true, format!("verification record {tag}: {c} has been at sha256:{d} since"))
            }
            Some(((v, _), d)) if !present.contains(d) => plan(Some(v), true, format!("verification record {tag}: sha256:{d} is deleted or gone")),
            Some(((v, c), d)) => plan(Some(v), false, format!("verification record {tag}: sha256:{d} may still be promoted to {c}")),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testtree::{MANIFEST, fleet};

    #[test]
    fn records_go_once_their_channel_reached_the_digest_or_the_digest_is_gone() {
        let f = fleet(MANIFEST);
        let index = TagIndex::new(&f);
        let v = &f.variants[0];
        let (staging, latest) = (f.channel_tag(v, "staging").unwrap(), f.channel_tag(v, "latest").unwrap());
        let d = |n: u8| format!("sha256:{}", format!("{n:x}").repeat(64));
        let (a, b, c) = (d(1), d(2), d(3));
        let tags: BTreeMap<String, String> = [
            (format!("{staging}-20261101000000-{}", digest12(&a)), a.clone()),
            (format!("{staging}-20261102000000-{}", digest12(&b)), b.clone()),
            (format!("{latest}-20261103000000-{}", digest12(&a)), a.clone()),
            (format!("{staging}-20261104000000-{}", digest12(&c)), c.clone()),
        ]
        .into();
        let records = vec![
            format!("{latest}-{}", digest12(&a)),
            format!("{latest}-{}", digest12(&b)),
            format!("{latest}-{}", digest12(&c)),
            format!("gone-variant-latest-{}", digest12(&a)),
        ];
        let gone: BTreeSet<String> = [c.clone()].into();
        let plan = plan_records(&f, &index, &tags, &gone, &records);
        assert!(plan[0].delete && plan[0].reason.ends_with(&format!("latest has been at sha256:{} since", digest12(&a))), "{plan:?}");
        assert!(!plan[1].delete && plan[1].reason.ends_with("may still be promoted to latest"), "{plan:?}");
        assert!(plan[2].delete && plan[2].reason.ends_with(&format!("sha256:{} is deleted or gone", digest12(&c))), "{plan:?}");
        assert!(plan[3].delete && plan[3].reason.ends_with("no channel of the manifest has its tag"), "{plan:?}");
        assert_eq!(plan[0].variant.as_deref(), Some(v.name.as_str()));
        assert_eq!(plan[3].variant, None);
    }
}
