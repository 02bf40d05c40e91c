//! The digests the fleet site gives pages (docs/SITE.md "Which digests get pages"): each
//! channel's current digest (from `status`'s HEADs), each pending build, and the digest each
//! channel held before its current one (whole from the current digest's record, else one
//! HEAD of its release tag). For each: one referrers list (records, lifecycle mark, SBOM; on a
//! registry without the referrers API only where the tag listing has its index),
//! a GET per record, two requests for an SBOM (an index: one GET more, and its image's
//! list); then what changed between consecutive digests, from the two inventories.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use futures_util::StreamExt;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{RepoHistory, digest12};
use imgctl_inventory::Inventory;
use imgctl_inventory::diff::Diff;
use imgctl_registry::referrers;
use imgctl_registry::Registry;
use serde::Serialize;

use crate::platform::Platform;
use crate::records::{self, Recorded};
use crate::status::StatusReport;
use crate::{Ctx, EngineError};

/// A digest's SBOM as the site shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sbom {
    /// The image manifest inventoried (the digest itself, or an index's image).
    pub image: String,
    /// The SBOM artifact.
    pub artifact: String,
    /// Signed (a DSSE envelope).
    pub signed: bool,
    /// Verified with the key given.
    pub verified: bool,
    /// The packages.
    pub inventory: Inventory,
}

/// What changed from `against` to the digest. A richer change summary (the record's
/// `changes`, `imgctl changes`) slots in beside `diff`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// The digest compared against (the one before on a channel, or the channel's current
    /// one for a pending build).
    pub against: String,
    /// The channels where `against` came before it (`variant channel`).
    pub on: Vec<String>,
    /// The package changes, when both have inventories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
    /// Why there is no diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// Where a digest shows up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// The variant.
    pub variant: String,
    /// The channel.
    pub channel: String,
    /// `current`, `previous` or `pending`.
    pub role: &'static str,
}

/// A digest with a page.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFacts {
    /// `sha256:` + 64 hex.
    pub digest: String,
    /// Where it shows up.
    pub roles: Vec<Role>,
    /// Its promotion records read whole (statement, signature), oldest first: the newest
    /// record of each channel it is current on (its `from` names the digest before), every
    /// rollback's (its reason), all of them with `--verify-key`.
    pub records: Vec<Recorded>,
    /// Its other records, as the referrers list describes them (time, channel, kind, signed).
    pub listed: Vec<records::Listed>,
    /// Its lifecycle (end-of-life) mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eol_mark: Option<NaiveDate>,
    /// Its SBOM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<Sbom>,
    /// Why there is no SBOM (none attached, not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_sbom: Option<String>,
    /// What changed against the digests before it.
    pub changes: Vec<Changes>,
    /// Why its referrers could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reads the shown digests of `variants` (see the module's doc).
pub async fn read<R: Registry>(ctx: &Ctx<'_, R>, variants: &[&Variant], status: &StatusReport, history: &RepoHistory, key: Option<&imgctl_records::Verifier>) -> Result<BTreeMap<String, DigestFacts>, EngineError> {
    let mut roles: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    let role = |variant: &str, channel: &str, role| Role { variant: variant.to_string(), channel: channel.to_string(), role };
    for s in &status.variants {
        for (c, st) in &s.channels {
            if let Some(d) = whole(&st.digest) {
                roles.entry(d).or_default().push(role(&s.variant, c, "current"));
            }
            if let Some(p) = &st.pending {
                for d in [whole(&p.digest), p.moves_to.as_ref().and_then(|m| whole(&Some(m.digest.clone())))].into_iter().flatten() {
                    roles.entry(d).or_default().push(role(&s.variant, c, "pending"));
                }
            }
        }
    }
    let platform = |name: &str| variants.iter().find(|v| v.name == name).and_then(|v| crate::platform::expected(v).into_iter().next());
    let lister = Lister::of(ctx, history, roles.keys().next().map(String::as_str)).await?;
    let mut facts = read_many(ctx, &lister, roles, &platform, key).await?;
    // the digest before each channel's current one: whole from the current digest's record,
    // else from a shown digest of the variant with the same 12 hex digits, else one HEAD of
    // its release tag (those HEADs at once)
    let mut wanted = Vec::new();
    for s in &status.variants {
        let vh = history.variant(&s.variant);
        for (c, st) in &s.channels {
            let Some(cur) = whole(&st.digest) else { continue };
            let ch = vh.channel(c);
            let Some(prev) = ch.before(digest12(&cur)) else { continue };
            let from_record = facts.get(&cur).and_then(|f| {
                f.records.iter().filter_map(|r| r.statement.as_ref()).filter(|r| r.variant == s.variant && r.channel == *c).filter_map(|r| r.from.clone()).find(|f| digest12(f) == prev.digest12)
            });
            let shown = || facts.values().find(|f| digest12(&f.digest) == prev.digest12 && f.roles.iter().any(|r| r.variant == s.variant)).map(|f| f.digest.clone());
            let pending = st.pending.as_ref().and_then(|p| whole(&p.digest));
            wanted.push((s.variant.as_str(), c.as_str(), cur, from_record.or_else(shown), prev.tag.clone(), pending));
        }
    }
    let resolved: Vec<Result<Option<String>, EngineError>> = futures_util::stream::iter(&wanted)
        .map(|(.., known, tag, _)| async move {
            match known {
                Some(d) => Ok(Some(d.clone())),
                None => crate::moves::current(ctx.registry, ctx.repo, tag).await.or_else(|e| if crate::is_fatal(&e) { Err(e.into()) } else { Ok(None) }),
            }
        })
        .buffered(ctx.concurrency.max(1))
        .collect()
        .await;
    let mut before: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    let mut pairs = Vec::new();
    for ((variant, c, cur, .., pending), prev_whole) in wanted.iter().zip(resolved) {
        let Some(p) = prev_whole? else { continue };
        pairs.push((p.clone(), cur.clone(), format!("{variant} {c}")));
        match facts.get_mut(&p) {
            Some(f) => f.roles.push(role(variant, c, "previous")),
            None => before.entry(p).or_default().push(role(variant, c, "previous")),
        }
        if let Some(pd) = pending {
            pairs.push((cur.clone(), pd.clone(), format!("{variant} {c}")));
        }
    }
    facts.extend(read_many(ctx, &lister, before, &platform, key).await?);
    for (from, to, on) in pairs {
        let diff = match (facts.get(&from).and_then(|f| f.sbom.as_ref()), facts.get(&to).and_then(|f| f.sbom.as_ref())) {
            (Some(a), Some(b)) => Ok(imgctl_inventory::diff::diff(&a.inventory, &b.inventory)),
            (None, _) => Err(format!("{from} has no SBOM")),
            (_, None) => Err(format!("{to} has no SBOM")),
        };
        let Some(f) = facts.get_mut(&to) else { continue };
        match f.changes.iter_mut().find(|c| c.against == from) {
            Some(c) => c.on.push(on),
            None => {
                let (diff, unknown) = match diff {
                    Ok(d) => (Some(d), None),
                    Err(e) => (None, Some(e)),
                };
                f.changes.push(Changes { against: from, on: vec![on], diff, unknown });
            }
        }
    }
    Ok(facts)
}

/// `d` when it is a whole digest.
fn whole(d: &Option<String>) -> Option<String> {
    d.clone().filter(|d| d.len() == 71 && d.starts_with("sha256:"))
}

/// How referrers lists are read: the registry's API, or — known to be missing — the tag
/// schema's `sha256-<hex>` indexes, of which the one tag listing names every one there is
/// (a digest without one has no referrers: no request).
enum Lister {
    /// The API, with the probe's list already read (`probe`, its entries).
    Api(Option<(String, Vec<serde_json::Value>)>),
    TagSchema(HashSet<String>),
}

impl Lister {
    /// Asks the registry once (a referrers API GET for `probe`) which way applies.
    async fn of<R: Registry>(ctx: &Ctx<'_, R>, history: &RepoHistory, probe: Option<&str>) -> Result<Lister, EngineError> {
        let Some(probe) = probe else { return Ok(Lister::Api(None)) };
        if let Some(list) = ctx.registry.referrers_api(ctx.repo, probe).await? {
            return Ok(Lister::Api(Some((probe.to_string(), referrers::entries(Some(&list))))));
        }
        Ok(Lister::TagSchema(history.foreign.iter().filter_map(|t| referrers::subject_of(t)).collect()))
    }

    async fn list<R: Registry>(&self, ctx: &Ctx<'_, R>, digest: &str) -> Result<Vec<serde_json::Value>, EngineError> {
        Ok(match self {
            Lister::Api(Some((probe, entries))) if probe == digest => entries.clone(),
            Lister::Api(_) => referrers::list(ctx.registry, ctx.repo, digest).await?,
            Lister::TagSchema(tagged) if tagged.contains(digest) => referrers::list_tag_schema(ctx.registry, ctx.repo, digest).await?,
            Lister::TagSchema(_) => Vec::new(),
        })
    }
}

/// Reads each digest of `roles` (bounded by the concurrency limit).
async fn read_many<R: Registry>(ctx: &Ctx<'_, R>, lister: &Lister, roles: BTreeMap<String, Vec<Role>>, platform: &dyn Fn(&str) -> Option<Platform>, key: Option<&imgctl_records::Verifier>) -> Result<BTreeMap<String, DigestFacts>, EngineError> {
    // progress: the digests of this phase after status's variants
    ctx.progress.start(roles.len());
    let got: Vec<Result<DigestFacts, EngineError>> = futures_util::stream::iter(roles)
        .map(|(digest, mut roles)| {
            roles.sort();
            roles.dedup();
            let platform = roles.first().and_then(|r| platform(&r.variant));
            async move {
                let mut f = DigestFacts { digest: digest.clone(), roles, records: Vec::new(), listed: Vec::new(), eol_mark: None, sbom: None, no_sbom: None, changes: Vec::new(), error: None };
                if let Err(e) = read_one(ctx, lister, &mut f, platform.as_ref(), key).await {
                    if let EngineError::Registry(r) = &e {
                        if crate::is_fatal(r) {
                            return Err(e);
                        }
                    }
                    f.error = Some(e.to_string());
                }
                ctx.progress.done(&f.digest, f.error.is_some());
                Ok(f)
            }
        })
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    got.into_iter().map(|f| f.map(|f| (f.digest.clone(), f))).collect()
}

/// Reads the referrers of `f.digest`: records, lifecycle mark, SBOM (an index's: of its
/// image for `platform`, else its first).
async fn read_one<R: Registry>(ctx: &Ctx<'_, R>, lister: &Lister, f: &mut DigestFacts, platform: Option<&Platform>, key: Option<&imgctl_records::Verifier>) -> Result<(), EngineError> {
    let entries = lister.list(ctx, &f.digest).await?;
    f.eol_mark = records::lifecycle_date(&entries);
    // read whole only the records the site needs (see `records`); the others from the list
    let mut whole: Vec<serde_json::Value> = Vec::new();
    let mut newest: BTreeMap<(String, String), usize> = BTreeMap::new();
    let all = records::listed(&entries);
    for (i, (l, _)) in all.iter().enumerate() {
        if f.roles.iter().any(|r| r.role == "current" && r.variant == l.variant && r.channel == l.channel) {
            newest.insert((l.variant.clone(), l.channel.clone()), i);
        }
    }
    for (i, (l, e)) in all.iter().enumerate() {
        if key.is_some() || l.kind == "rollback" || newest.values().any(|n| *n == i) {
            whole.push((*e).clone());
        } else {
            f.listed.push(l.clone());
        }
    }
    f.records = records::read_listed(ctx.registry, ctx.repo, &f.digest, &whole, key).await?;
    let mut image = f.digest.clone();
    let mut sbom = crate::sbom::read_listed(ctx.registry, ctx.repo, &image, &entries, key).await?;
    if sbom.is_none() {
        // an index has no SBOM of its own: its images do
        let m = ctx.registry.get_manifest(ctx.repo, &f.digest).await?;
        if let Some(idx) = m.index().map_err(EngineError::Input)? {
            let chosen = platform.and_then(|want| crate::platform::child(&idx, want)).or(idx.manifests.first());
            if let Some(child) = chosen {
                image = child.digest.clone();
                let entries = lister.list(ctx, &image).await?;
                sbom = crate::sbom::read_listed(ctx.registry, ctx.repo, &image, &entries, key).await?;
            }
        }
    }
    match sbom {
        Some(s) => f.sbom = Some(Sbom { image, artifact: s.artifact, signed: s.signed, verified: s.verified, inventory: s.inventory }),
        None => f.no_sbom = Some("no SBOM is attached (publish attaches one unless --no-sbom)".into()),
    }
    Ok(())
}

