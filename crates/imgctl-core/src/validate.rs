//! `validate`'s semantic checks (SPEC §2, §3): everything that is wrong with a parsed
//! manifest and OS catalogue, each finding with its file, line and column.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::finding::Finding;
use crate::fleet::{Fleet, Variant, variant_path};
use crate::source::{EntryKind, SourceTree};
use crate::span::{at, field};
use crate::tags::{MAX_TAG_LEN, TagIndex, is_valid_tag, qualifier_problem, split_history, split_immutable};

/// Longest suffix a history tag adds to a channel tag: the rollback form
/// `-YYYYMMDDHHMMSS-0123456789ab-0123456789ab`.
pub const RELEASE_SUFFIX_LEN: usize = 1 + 14 + 1 + 12 + 1 + 12;

/// How strict `validate` is.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// "Today" for end-of-life checks (UTC).
    pub today: NaiveDate,
    /// EOL operating systems are errors, not warnings.
    pub strict: bool,
}

/// Runs every semantic check on `fleet`, reading contexts and Dockerfiles through `tree`.
pub fn validate(fleet: &Fleet, tree: &dyn SourceTree, opts: Options) -> Vec<Finding> {
    let mut out = Vec::new();
    check_os_definitions(fleet, &mut out);
    check_schema_and_channels(fleet, &mut out);
    let index = TagIndex::new(fleet);
    for v in &fleet.variants {
        check_variant(fleet, &index, v, tree, opts, &mut out);
    }
    check_tag_ownership(fleet, &mut out);
    // FROM cycles and unknown tags of the repository, at the Dockerfiles' lines
    out.extend(crate::graph::Graph::build(fleet, tree).findings);
    out
}

fn check_os_definitions(fleet: &Fleet, out: &mut Vec<Finding>) {
    let file = &fleet.os_file;
    let spans = &fleet.os_spans;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (j, d) in fleet.os.definitions.iter().enumerate() {
        let path = at("definitions", j);
        if d.id != d.expected_id() {
            out.push(Finding::error("os-id-mismatch", file, spans.pos(&field(&path, "id")),
                format!("id '{}' does not match its fields: expected '{}' ({{family}}-{{distro}}-{{version}}-{{arch}})", d.id, d.expected_id())));
        }
        if let Some(first) = seen.insert(&d.id, j) {
            out.push(Finding::error("duplicate-os", file, spans.pos(&field(&path, "id")),
                format!("OperatingSystemId '{}' is defined twice (first at line {})", d.id, spans.pos(&field(&at("definitions", first), "id")).line)));
        }
        let slug_ok = !d.slug.is_empty() && d.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !slug_ok || d.slug.starts_with('-') || d.slug.ends_with('-') {
            out.push(Finding::error("invalid-slug", file, spans.pos(&field(&path, "slug")),
                format!("slug '{}' must be lower-case letters, digits, '.' and inner '-'", d.slug)));
        }
        if d.version.is_empty() || !is_valid_tag(&d.version) || d.version.contains('-') {
            out.push(Finding::error("invalid-version", file, spans.pos(&field(&path, "version")),
                format!("version '{}' must be one tag segment (no '-')", d.version)));
        }
        if !fleet.manifest.tag_schema.arch.contains_key(&d.arch) {
            out.push(Finding::error("unknown-arch", file, spans.pos(&field(&path, "arch")),
                format!("arch '{}' is not in the manifest's tagSchema.arch ({})", d.arch, keys(&fleet.manifest.tag_schema.arch))));
        }
    }
}

fn keys(map: &BTreeMap<String, String>) -> String {
    map.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn check_schema_and_channels(fleet: &Fleet, out: &mut Vec<Finding>) {
    let m = &fleet.manifest;
    let file = &fleet.manifest_file;
    let spans = &fleet.manifest_spans;
    let schema = &m.tag_schema;
    if !schema.arch.contains_key(&schema.default_arch) {
        out.push(Finding::error("unknown-arch", file, spans.pos("tagSchema.defaultArch"),
            format!("defaultArch '{}' is not a key of tagSchema.arch ({})", schema.default_arch, keys(&schema.arch))));
    }
    let mut segs: HashMap<&str, &str> = HashMap::new();
    for (arch, seg) in schema.arch.iter().chain(schema.arch_aliases.iter().map(|(s, a)| (a, s))) {
        let path = if schema.arch.get(arch) == Some(seg) { field("tagSchema.arch", arch) } else { field("tagSchema.archAliases", seg) };
        if !is_valid_tag(seg) || seg.contains('-') || qualifier_problem(seg).is_some() {
            out.push(Finding::error("invalid-tag", file, spans.pos(&path), format!("arch segment '{seg}' must be one tag segment")));
        }
        if !schema.arch.contains_key(arch) {
            out.push(Finding::error("unknown-arch", file, spans.pos(&path), format!("arch alias '{seg}' names unknown arch '{arch}'")));
        }
        if let Some(other) = segs.insert(seg, arch) {
            if other != arch {
                out.push(Finding::error("ambiguous-arch", file, spans.pos(&path), format!("arch segment '{seg}' stands for both '{other}' and '{arch}'")));
            }
        }
    }
    let mut suffixes: HashMap<&str, &str> = HashMap::new();
    for (name, c) in &m.channels {
        let path = field("channels", name);
        if !c.suffix.is_empty() && !is_valid_tag(&format!("x{}", c.suffix)) {
            out.push(Finding::error("invalid-tag", file, spans.pos(&field(&path, "suffix")), format!("channel suffix '{}' has characters a tag may not hold", c.suffix)));
        }
        if let Some(other) = suffixes.insert(&c.suffix, name) {
            out.push(Finding::error("duplicate-tag", file, spans.pos(&field(&path, "suffix")), format!("channels '{other}' and '{name}' have the same suffix '{}'", c.suffix)));
        }
        if let Some(from) = &c.promotes_from {
            if !m.channels.contains_key(from) {
                out.push(Finding::error("unknown-channel", file, spans.pos(&field(&path, "promotesFrom")),
                    format!("channel '{name}' promotes from unknown channel '{from}' (channels: {})", m.channels.keys().cloned().collect::<Vec<_>>().join(", "))));
            } else if from == name {
                out.push(Finding::error("unknown-channel", file, spans.pos(&field(&path, "promotesFrom")), format!("channel '{name}' promotes from itself")));
            }
        }
    }
    for (name, c) in &m.channels {
        let Some(gate) = &c.verify else { continue };
        let empty = match &gate.command {
            crate::manifest::VerifyCommand::Shell(line) => line.trim().is_empty(),
            crate::manifest::VerifyCommand::Argv(argv) => argv.first().is_none_or(|p| p.is_empty()),
        };
        if empty {
            out.push(Finding::error("invalid-value", file, spans.pos(&field(&field(&field("channels", name), "verify"), "command")), format!("channel '{name}' has an empty verify command")));
        }
    }
    let mut seen = std::collections::HashSet::new();
    seen.insert((m.registry.as_str(), m.repository.as_str()));
    for (i, mirror) in m.mirrors.iter().enumerate() {
        let path = crate::span::at("mirrors", i);
        if let Some(kind) = &mirror.registry_kind
            && kind.parse::<crate::kind::RegistryKind>().is_err()
        {
            let known: Vec<&str> = crate::kind::ALL_KINDS.iter().map(|k| k.name()).collect();
            out.push(Finding::error("invalid-value", file, spans.pos(&field(&path, "registryKind")), format!("mirror registryKind '{kind}' is not one of {}", known.join(", "))));
        }
        if !seen.insert((mirror.registry.as_str(), mirror.repository.as_str())) {
            out.push(Finding::error("duplicate-mirror", file, spans.pos(&path),
                format!("mirror {}/{} is the primary repository or listed twice", mirror.registry, mirror.repository)));
        }
    }
}

fn check_variant(fleet: &Fleet, index: &TagIndex<'_>, v: &Variant, tree: &dyn SourceTree, opts: Options, out: &mut Vec<Finding>) {
    let file = &fleet.manifest_file;
    let spans = &fleet.manifest_spans;
    let path = variant_path(v.index);
    let schema = &fleet.manifest.tag_schema;
    if v.spec.omit_arch && v.os.arch != schema.default_arch {
        out.push(Finding::error("omit-arch", file, spans.pos(&field(&path, "omitArch")),
            format!("omitArch is only allowed for the default arch '{}', but '{}' is {}", schema.default_arch, v.os.id, v.os.arch)));
    }
    for (k, q) in v.spec.qualifiers.iter().enumerate() {
        if let Some(why) = qualifier_problem(q) {
            out.push(Finding::error("invalid-qualifier", file, spans.pos(&at(&field(&path, "qualifiers"), k)), format!("qualifier '{q}' {why}")));
        }
    }
    if let Some(tag) = &v.spec.tag {
        let reading = index.read_base(tag);
        let ok = reading.as_ref().is_some_and(|r| r.os.id == v.os.id && r.qualifiers == v.spec.qualifiers);
        if !ok {
            let read = reading.map_or("nothing".to_string(), |r| format!("'{}' with qualifiers [{}]", r.os.id, r.qualifiers.join(", ")));
            out.push(Finding::error("tag-mismatch", file, spans.pos(&field(&path, "tag")),
                format!("explicit tag '{tag}' reads back as {read}, not as this variant ('{}' with qualifiers [{}])", v.os.id, v.spec.qualifiers.join(", "))));
        }
    }
    // every fixed tag, and the longest release tag, must be a valid OCI tag
    let tags = fleet.tags(v, None);
    let longest_channel = tags.channels.values().map(String::len).max().unwrap_or(tags.base.len());
    let base_path = if v.spec.tag.is_some() { field(&path, "tag") } else { path.clone() };
    if !is_valid_tag(&tags.base) {
        out.push(Finding::error("invalid-tag", file, spans.pos(&base_path), format!("tag '{}' is not a valid OCI tag", tags.base)));
    } else if longest_channel + RELEASE_SUFFIX_LEN > MAX_TAG_LEN {
        out.push(Finding::error("tag-too-long", file, spans.pos(&base_path),
            format!("tag '{}' is too long: its release tags would have {} characters (at most {MAX_TAG_LEN})", tags.base, longest_channel + RELEASE_SUFFIX_LEN)));
    }
    for (k, a) in v.spec.aliases.iter().enumerate() {
        let apath = at(&field(&path, "aliases"), k);
        for (name, c) in &fleet.manifest.channels {
            let t = format!("{a}{}", c.suffix);
            if !is_valid_tag(&t) {
                out.push(Finding::error("invalid-tag", file, spans.pos(&apath), format!("alias tag '{t}' (channel {name}) is not a valid OCI tag")));
                break;
            }
        }
    }
    match tree.kind(&v.context) {
        Some(EntryKind::Dir) => match tree.kind(&v.dockerfile) {
            Some(EntryKind::File) => {}
            _ => {
                let p = if spans.pos(&field(&path, "dockerfile")) == spans.pos(&path) { field(&path, "context") } else { field(&path, "dockerfile") };
                out.push(Finding::error("missing-dockerfile", file, spans.pos(&p), format!("Dockerfile '{}' does not exist", v.dockerfile)));
            }
        },
        _ => out.push(Finding::error("missing-context", file, spans.pos(&field(&path, "context")), format!("context directory '{}' does not exist", v.context))),
    }
    check_lifecycle(fleet, v, opts, out);
}

/// End of life ahead or past (a retired variant is exempt: that is why it was retired),
/// and `replacedBy` naming a variant that exists and is not retired itself.
fn check_lifecycle(fleet: &Fleet, v: &Variant, opts: Options, out: &mut Vec<Finding>) {
    let (file, spans, path) = (&fleet.manifest_file, &fleet.manifest_spans, variant_path(v.index));
    let pos = spans.pos(&field(&path, "os"));
    match (v.spec.retired, crate::eol::state(&v.os, opts.today, fleet.manifest.eol_warning())) {
        (Some(_), _) | (None, crate::eol::EolState::Supported) => {}
        (None, crate::eol::EolState::Past(d)) => {
            let msg = format!("'{}' reached end of life on {d}", v.os.id);
            out.push(if opts.strict { Finding::error("eol", file, pos, msg) } else { Finding::warning("eol", file, pos, msg) });
        }
        (None, crate::eol::EolState::Soon(d)) => {
            let left = d.signed_duration_since(opts.today).num_days();
            out.push(Finding::warning("eol-soon", file, pos, format!(
                "'{}' reaches end of life on {d}, in {left} day(s) (eolWarning {}): move its variants to a newer OS, or retire them (retired: DATE)",
                v.os.id, fleet.manifest.eol_warning()
            )));
        }
    }
    let Some(with) = &v.spec.replaced_by else { return };
    let pos = spans.pos(&field(&path, "replacedBy"));
    let problem = match fleet.variant(with) {
        None => Some(format!("replacedBy '{with}' is not a variant of this manifest (see `imgctl tags`)")),
        Some(w) if w.name == v.name => Some(format!("replacedBy '{with}' is this variant itself")),
        Some(w) if w.spec.retired.is_some() => Some(format!("replacedBy '{with}' is retired itself: name the variant that replaces both")),
        Some(_) => None,
    };
    if let Some(msg) = problem {
        out.push(Finding::error("invalid-replacement", file, pos, msg));
    } else if v.spec.retired.is_none() {
        out.push(Finding::warning("invalid-replacement", file, pos, format!("replacedBy '{with}' has no effect until this variant is retired (retired: DATE)")));
    }
}

/// Variants the manifest had at `rev` (`before`) that it no longer has and that were not
/// retired there: each an error naming the line it had at `rev`, so nothing vanishes
/// silently. Retire a variant (`retired: DATE`) first; delete it in a later change.
pub fn removed_since(before: &Fleet, after: &Fleet, rev: &str) -> Vec<Finding> {
    let pos = after.manifest_spans.pos("variants");
    before
        .variants
        .iter()
        .filter(|v| v.spec.retired.is_none() && after.variant(&v.name).is_none())
        .map(|v| {
            let line = before.manifest_spans.pos(&variant_path(v.index)).line;
            Finding::error("removed-variant", &after.manifest_file, pos, format!(
                "variant '{}' ({}:{line} at {rev}) was deleted without being retired: put it back with `retired: YYYY-MM-DD` (and `replacedBy: VARIANT`), and delete it in a later change",
                v.name, before.manifest_file
            ))
        })
        .collect()
}

/// No tag (of any kind) may belong to two variants, and no fixed tag may read as
/// another variant's immutable or release tag.
fn check_tag_ownership(fleet: &Fleet, out: &mut Vec<Finding>) {
    let file = &fleet.manifest_file;
    let spans = &fleet.manifest_spans;
    let mut owner: HashMap<String, &Variant> = HashMap::new();
    let mut bases: HashMap<&str, &Variant> = HashMap::new();
    let mut channel_tags: HashMap<String, &Variant> = HashMap::new();
    for v in &fleet.variants {
        let line = |w: &Variant| spans.pos(&variant_path(w.index)).line;
        let path = variant_path(v.index);
        if let Some(first) = bases.get(v.name.as_str()) {
            out.push(Finding::error("ambiguous-variant", file, spans.pos(&path),
                format!("this variant's tags read the same as variant '{}' at line {} (same base tag)", first.name, line(first))));
            continue;
        }
        bases.insert(&v.name, v);
        let tags = fleet.tags(v, None);
        for t in tags.channels.values() {
            channel_tags.insert(t.clone(), v);
        }
        let mut mine: Vec<String> = vec![tags.base.clone()];
        mine.extend(tags.channels.values().cloned());
        mine.extend(tags.aliases.iter().cloned());
        mine.sort();
        mine.dedup();
        for t in mine {
            if let Some(first) = owner.get(&t) {
                if first.index != v.index {
                    out.push(Finding::error("duplicate-tag", file, spans.pos(&path),
                        format!("tag '{t}' is claimed by this variant and by '{}' at line {}", first.name, line(first))));
                }
            } else {
                owner.insert(t, v);
            }
        }
    }
    for (t, v) in &owner {
        let shadowed = split_immutable(t).and_then(|(p, _)| bases.get(p).copied())
            .or_else(|| split_history(t).and_then(|h| channel_tags.get(h.prefix).copied()));
        if let Some(other) = shadowed {
            out.push(Finding::error("ambiguous-tag", file, spans.pos(&variant_path(v.index)),
                format!("tag '{t}' of '{}' reads as an immutable or release tag of '{}'", v.name, other.name)));
        }
    }
}
