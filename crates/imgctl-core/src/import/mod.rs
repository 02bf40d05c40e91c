//! `import docker-tools`: converts a dotnet/docker-tools (ImageBuilder) manifest into an
//! imgctl manifest and the OS definitions it needs. Pure: the CLI reads the files and
//! hands in the parsed documents; see `docs/IMPORT.md` for the decisions.

pub mod catalog;
pub mod docker_tools;
pub mod platform;
pub mod render;

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Serialize;

use crate::finding::Finding;
use crate::manifest::{Channel, MANIFEST_VERSION, Manifest, TagSchema};
use crate::osdefs::{OsDefinition, OsDefinitions};
use crate::paths;
use crate::span::{Pos, at, field};
use docker_tools::Document;

/// Where the output goes and where the source is, both in the same frame (both
/// absolute, or both relative to the same directory).
#[derive(Debug, Clone)]
pub struct Options {
    /// Directory of the top docker-tools manifest (Dockerfile paths are relative to it).
    pub source_dir: String,
    /// Path of the manifest to be written (`DIR/manifests/images.yaml`); contexts are
    /// written relative to its directory.
    pub out_manifest: String,
}

/// What an import produced.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The manifest (complete only when the report has no error).
    pub manifest: Manifest,
    /// The OS definitions its variants name, sorted by id.
    pub os: OsDefinitions,
    /// What was converted and what was found.
    pub report: ImportReport,
}

/// The import's report (`--output json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The top manifest as named.
    pub source: String,
    /// True when there is no error (the files may be written).
    pub ok: bool,
    /// docker-tools platforms read.
    pub platforms: usize,
    /// Variants written (one per platform).
    pub variants: usize,
    /// Alias names written (the platforms' other tags).
    pub aliases: usize,
    /// Variants with `omitArch: true` (cross-compilation images).
    pub omit_arch: usize,
    /// Variants with an explicit `tag:` (an arch-alias segment such as `arm64`).
    pub explicit_tags: usize,
    /// OS definitions written.
    pub os_definitions: usize,
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings (inconsistencies in the source, things not imported).
    pub warnings: usize,
    /// Every finding, in source order.
    pub findings: Vec<Finding>,
}

/// The tag schema every import writes (SPEC §2.1, `docs/IMPORT.md`).
pub fn tag_schema() -> TagSchema {
    let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    TagSchema {
        arch: map(&[("AMD64", "amd64"), ("ARM64", "arm64v8"), ("ARM32", "arm32v7")]),
        default_arch: "AMD64".to_string(),
        arch_aliases: map(&[("arm64", "ARM64")]),
    }
}

/// When the promotion of the channels `import` and `init` write runs (UTC, Wednesdays
/// 06:17): the `latest` channel's `schedule`, and the cron of the promote caller `init`
/// writes — one value for both.
pub const PROMOTE_CRON: &str = "17 6 * * 3";

/// The channels every import writes: `staging`, and `latest` with an empty suffix so
/// the source's real tags are the `latest` channel's tags, promoted on [`PROMOTE_CRON`].
pub fn channels() -> IndexMap<String, Channel> {
    let mut c = IndexMap::new();
    c.insert("staging".to_string(), Channel { suffix: "-staging".into(), branch: Some("main".into()), promotes_from: None, soak: None, verify: None, schedule: None, new_variants: None });
    let soak = "72h".parse().ok();
    c.insert("latest".to_string(), Channel { suffix: String::new(), branch: Some("production".into()), promotes_from: Some("staging".into()), soak, verify: None, schedule: Some(PROMOTE_CRON.into()), new_variants: None });
    c
}

/// Path of the OS definitions, relative to the output manifest.
pub const OS_DEFINITIONS_REF: &str = "../os-definitions/os-definitions.json";

/// Converts `top` and its `includes` (in the order `top.includes` names them).
pub fn convert(top: &Document, includes: &[Document], opts: &Options) -> Imported {
    let mut findings: Vec<Finding> = Vec::new();
    let schema = tag_schema();
    let registry = top.manifest.registry.clone().unwrap_or_else(|| {
        findings.push(Finding::error("missing-field", &top.path, Pos::START, "the top manifest has no 'registry'"));
        String::new()
    });
    let out_dir = paths::dir(&opts.out_manifest).to_string();
    let mut repository: Option<String> = None;
    let mut variants = Vec::new();
    let mut defs: HashMap<String, OsDefinition> = HashMap::new();
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut platforms = 0;
    for doc in std::iter::once(top).chain(includes) {
        let m = &doc.manifest;
        not_imported(doc, "", &m.other, &mut findings);
        if !std::ptr::eq(doc, top) && !m.includes.is_empty() {
            findings.push(Finding::error("unsupported", &doc.path, doc.spans.pos("includes"), "nested 'includes' are not supported"));
        }
        let mut vars = top.manifest.variables.clone();
        vars.extend(m.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (r, repo) in m.repos.iter().enumerate() {
            let rpath = at("repos", r);
            not_imported(doc, &rpath, &repo.other, &mut findings);
            match &repository {
                Some(first) if *first != repo.name => findings.push(Finding::error("multiple-repositories", &doc.path, doc.spans.pos(&field(&rpath, "name")),
                    format!("repository '{}' is a second repository (imgctl manages one; the first is '{first}')", repo.name))),
                Some(_) => {}
                None => repository = Some(repo.name.clone()),
            }
            for (i, image) in repo.images.iter().enumerate() {
                let ipath = at(&field(&rpath, "images"), i);
                not_imported(doc, &ipath, &image.other, &mut findings);
                let mut mine: Vec<Mine> = Vec::new();
                for (k, p) in image.platforms.iter().enumerate() {
                    platforms += 1;
                    let ppath = at(&field(&ipath, "platforms"), k);
                    not_imported(doc, &ppath, &p.other, &mut findings);
                    let c = match platform::convert(p, &vars, &schema, &opts.source_dir, &out_dir) {
                        Ok(c) => c,
                        Err(msg) => {
                            findings.push(Finding::error("import", &doc.path, doc.spans.pos(&ppath), msg));
                            continue;
                        }
                    };
                    if let Some(w) = &c.warning {
                        findings.push(Finding::warning("os-version-mismatch", &doc.path, doc.spans.pos(&field(&ppath, "osVersion")), w.clone()));
                    }
                    for t in &c.tags {
                        if let Some(first) = owners.insert(t.clone(), platform::label(p)) {
                            findings.push(Finding::error("duplicate-tag", &doc.path, doc.spans.pos(&field(&ppath, "tags")), format!("{}: tag '{t}' also belongs to {first}", platform::label(p))));
                        }
                    }
                    let def = catalog::definition(&c.os, c.arch);
                    mine.push(Mine { index: variants.len(), platform: crate::plan::default_platform(&def), default_arch: c.arch == schema.default_arch, label: platform::label(p) });
                    defs.entry(def.id.clone()).or_insert(def);
                    variants.push(c.spec);
                }
                let at = |tag: &str| doc.spans.key_pos(&field(&field(&ipath, "sharedTags"), tag));
                for tag in image.shared_tags.keys() {
                    shared_tag(tag, &mine, &mut variants, &mut owners, &mut |f: Result<String, String>| match f {
                        Ok(note) => findings.push(Finding::warning("shared-tag", &doc.path, at(tag), note)),
                        Err(why) => findings.push(Finding::warning("shared-tag-unmapped", &doc.path, at(tag), why)),
                    });
                }
            }
        }
    }
    if repository.is_none() {
        findings.push(Finding::error("missing-field", &top.path, Pos::START, "no repository: neither the manifest nor its includes have 'repos'"));
    }
    let mut definitions: Vec<OsDefinition> = defs.into_values().collect();
    definitions.sort_by(|a, b| a.id.cmp(&b.id));
    let errors = findings.iter().filter(|f| f.is_error()).count();
    let report = ImportReport {
        source: top.path.clone(),
        ok: errors == 0,
        platforms,
        variants: variants.len(),
        aliases: variants.iter().map(|v| v.aliases.len()).sum(),
        omit_arch: variants.iter().filter(|v| v.omit_arch).count(),
        explicit_tags: variants.iter().filter(|v| v.tag.is_some()).count(),
        os_definitions: definitions.len(),
        errors,
        warnings: findings.len() - errors,
        findings,
    };
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        registry,
        repository: repository.unwrap_or_default(),
        registry_kind: None,
        os_definitions: OS_DEFINITIONS_REF.to_string(),
        tag_schema: schema,
        channels: channels(),
        variants,
        mirrors: Vec::new(),
        records: None,
        eol_warning: None,
    };
    Imported { manifest, os: OsDefinitions { definitions }, report }
}

/// One platform of an image, converted: where its variant is and what it builds for.
struct Mine {
    index: usize,
    platform: String,
    default_arch: bool,
    label: String,
}

/// Maps a shared tag (one name for every platform of an image) to an alias. One platform:
/// that variant's alias. Several that build the same context, Dockerfile and build args:
/// an alias of the default-arch variant (else the first), which is then built for every
/// platform of the image, so the name stays one multi-platform index. Anything else is
/// reported (`Err`), as is a name another platform already owns.
fn shared_tag(tag: &str, mine: &[Mine], variants: &mut [crate::manifest::VariantSpec], owners: &mut HashMap<String, String>, report: &mut dyn FnMut(Result<String, String>)) {
    let Some(first) = mine.first() else {
        return report(Err(format!("shared tag '{tag}' is not imported: its image has no platform that imports")));
    };
    let same = |m: &Mine| {
        let (a, b) = (&variants[m.index], &variants[first.index]);
        (&a.context, &a.dockerfile, &a.build_args) == (&b.context, &b.dockerfile, &b.build_args)
    };
    if !mine.iter().all(same) {
        return report(Err(format!("shared tag '{tag}' is not imported: it names {} platforms built from different Dockerfiles, which no one imgctl variant builds", mine.len())));
    }
    let target = mine.iter().find(|m| m.default_arch).unwrap_or(first);
    if let Some(owner) = owners.get(tag) {
        return report(Err(format!("shared tag '{tag}' is not imported: it is already a tag of {owner}")));
    }
    owners.insert(tag.to_string(), target.label.clone());
    let v = &mut variants[target.index];
    v.aliases.push(tag.to_string());
    if mine.len() > 1 {
        v.platforms = mine.iter().map(|m| m.platform.clone()).collect();
        report(Ok(format!("shared tag '{tag}' is imported as an alias of {}, which is built for {} so that the name stays one multi-platform image (its own tags name that image too)", target.label, v.platforms.join(","))));
    }
}

/// Reports fields the importer does not read.
fn not_imported(doc: &Document, path: &str, other: &IndexMap<String, serde_json::Value>, out: &mut Vec<Finding>) {
    for key in other.keys() {
        out.push(Finding::warning("not-imported", &doc.path, doc.spans.key_pos(&field(path, key)), format!("field '{}' is not imported", field(path, key))));
    }
}

#[cfg(test)]
mod tests;
