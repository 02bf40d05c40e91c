//! One docker-tools platform → one imgctl variant: variable substitution, the OS (with
//! the osVersion / tag / Dockerfile-path consistency check) and the base tag.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde_json::Value;

use super::catalog::{self, OsVersion};
use super::docker_tools::Platform;
use crate::manifest::{TagSchema, VariantSpec};
use crate::paths;
use crate::tags::qualifier_problem;

/// A platform converted, with what the report counts and what it warns about.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The variant.
    pub spec: VariantSpec,
    /// Its OS version and arch, for the OS definitions.
    pub os: OsVersion,
    /// `AMD64`, `ARM64` or `ARM32`.
    pub arch: &'static str,
    /// The tags of the platform, substituted, in source order.
    pub tags: Vec<String>,
    /// A warning about the source (the osVersion contradicted by tag and path).
    pub warning: Option<String>,
}

/// Replaces every `$(name)` in `text` with the variable's value.
pub fn substitute(text: &str, vars: &IndexMap<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else {
            return Err(format!("'{text}' has an unclosed '$('"));
        };
        let name = &after[..end];
        let value = match vars.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => {
                let known = vars.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(format!("'{text}' uses unknown variable '{name}' (variables: {known})"));
            }
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A short name of the platform for messages: its first tag and its Dockerfile directory.
pub fn label(p: &Platform) -> String {
    match p.tags.keys().next() {
        Some(t) => format!("platform '{t}' ({})", p.dockerfile),
        None => format!("platform {}", p.dockerfile),
    }
}

/// The version segment after `{slug}-` in the first tag that starts with it.
fn tag_version<'t>(tags: &'t [String], slug: &str) -> Option<&'t str> {
    let prefix = format!("{slug}-");
    tags.iter().find_map(|t| t.strip_prefix(prefix.as_str()).map(|rest| rest.split('-').next().unwrap_or(rest)))
}

/// The path component after the one equal to `slug` (`src/ubuntu/22.04/…` → `22.04`).
fn path_version<'p>(dir: &'p str, slug: &str) -> Option<&'p str> {
    let parts: Vec<&str> = dir.split('/').collect();
    parts.iter().position(|c| *c == slug).and_then(|i| parts.get(i + 1).copied())
}

/// The OS a platform names, checked against its tags and Dockerfile path.
fn resolve_os(p: &Platform, tags: &[String], dir: &str) -> Result<(OsVersion, Option<String>), String> {
    let Some(declared) = catalog::os_version(&p.os_version) else {
        return Err(format!(
            "{}: unknown osVersion '{}' (known: bionic, jammy, noble, resolute, bookworm, trixie, leap16.0, \
             almalinuxN, alpineX.Y, alpine-edge, azurelinuxX.Y, centos-streamN, fedoraN, fedora-rawhide, \
             nanoserver-N, windowsservercore-ltscYYYY)",
            label(p),
            p.os_version
        ));
    };
    if !declared.family.eq_ignore_ascii_case(&p.os) {
        return Err(format!("{}: os '{}' contradicts osVersion '{}' (a {} version)", label(p), p.os, p.os_version, declared.family));
    }
    let by_tag = tag_version(tags, declared.slug);
    let by_path = path_version(dir, declared.slug);
    let describe = |v: &OsVersion| format!("{} {}", v.distro, v.version);
    match (by_tag, by_path) {
        (Some(t), Some(d)) if t == d && t != declared.version => {
            let Some(agreed) = catalog::by_slug_version(declared.slug, t) else {
                return Err(format!(
                    "{}: osVersion '{}' reads as {}, but its tags and Dockerfile path say {} {t}, which is not a known version",
                    label(p), p.os_version, describe(&declared), declared.distro
                ));
            };
            let warning = format!(
                "{}: osVersion '{}' reads as {}, but its tag ('{}-{t}-…') and Dockerfile path ('{dir}') say {}; imported as {}",
                label(p), p.os_version, describe(&declared), declared.slug, describe(&agreed), describe(&agreed)
            );
            Ok((agreed, Some(warning)))
        }
        (t, d) if t.is_some_and(|t| t != declared.version) || d.is_some_and(|d| d != declared.version) => {
            let warning = format!(
                "{}: osVersion '{}' reads as {}, but its tag says '{}' and its Dockerfile path '{dir}' says '{}'; imported as {}",
                label(p), p.os_version, describe(&declared), t.unwrap_or("-"), d.unwrap_or("-"), describe(&declared)
            );
            Ok((declared, Some(warning)))
        }
        _ => Ok((declared, None)),
    }
}

/// The qualifiers of `tag` between `prefix` and a last segment `last` (`None` if it
/// does not fit); with no `last`, every segment after `prefix` (at least one).
fn middle(tag: &str, prefix: &str, last: Option<&str>) -> Option<Vec<String>> {
    let rest = tag.strip_prefix(prefix)?;
    let mid = match last {
        Some(last) if rest == last => return Some(Vec::new()),
        Some(last) => rest.strip_suffix(last)?.strip_suffix('-')?,
        None => rest,
    };
    (!mid.is_empty()).then(|| mid.split('-').map(str::to_string).collect())
}

/// Converts one platform. `vars` are the include's variables; `source_dir` is the top
/// manifest's directory and `out_dir` the output manifest's, in the same frame.
pub fn convert(p: &Platform, vars: &IndexMap<String, Value>, schema: &TagSchema, source_dir: &str, out_dir: &str) -> Result<Converted, String> {
    let tags = p.tags.keys().map(|t| substitute(t, vars)).collect::<Result<Vec<_>, _>>().map_err(|e| format!("{}: {e}", label(p)))?;
    if tags.is_empty() {
        return Err(format!("{}: has no tags", label(p)));
    }
    let mut build_args = BTreeMap::new();
    for (k, v) in &p.build_args {
        build_args.insert(k.clone(), substitute(v, vars).map_err(|e| format!("{}: build arg {k}: {e}", label(p)))?);
    }
    let Some(arch) = catalog::arch(p.architecture.as_deref(), p.variant.as_deref()) else {
        return Err(format!(
            "{}: unsupported architecture '{}' variant '{}' (supported: amd64, arm64 with v8 or none, arm with v7)",
            label(p), p.architecture.as_deref().unwrap_or("amd64"), p.variant.as_deref().unwrap_or("")
        ));
    };
    let dir = paths::normalize(&p.dockerfile);
    let (os, warning) = resolve_os(p, &tags, &dir)?;
    let prefix = format!("{}-{}-", os.slug, os.version);
    let seg = schema.arch.get(arch).ok_or_else(|| format!("{}: arch {arch} has no tag segment", label(p)))?;
    let mut explicit = None;
    let mut omit_arch = false;
    let found = tags.iter().enumerate().find_map(|(i, t)| middle(t, &prefix, Some(seg)).map(|q| (i, q)));
    let (base, qualifiers) = match found {
        Some(hit) => hit,
        None if arch == schema.default_arch => {
            // a cross-compilation image: its name ends in its target, not its host arch
            let last = dir.rsplit('/').next().unwrap_or_default();
            let cross: Vec<(usize, Vec<String>)> =
                tags.iter().enumerate().filter_map(|(i, t)| middle(t, &prefix, None).map(|q| (i, q))).collect();
            let pick = cross.iter().find(|(i, _)| tags[*i].ends_with(&format!("-{last}"))).or(cross.first());
            let Some(hit) = pick.cloned() else {
                return Err(format!("{}: no tag starts with '{prefix}'", label(p)));
            };
            omit_arch = true;
            hit
        }
        None => {
            let aliases = schema.arch_aliases.iter().filter(|(_, a)| a.as_str() == arch);
            let prefix = prefix.as_str();
            let hit = aliases
                .flat_map(|(alias, _)| tags.iter().enumerate().filter_map(move |(i, t)| middle(t, prefix, Some(alias)).map(|q| (i, q))))
                .next();
            let Some(hit) = hit else {
                return Err(format!("{}: no tag reads as '{prefix}…-{seg}' (nor ends in an alias of {arch})", label(p)));
            };
            explicit = Some(tags[hit.0].clone());
            hit
        }
    };
    for q in &qualifiers {
        if let Some(why) = qualifier_problem(q) {
            return Err(format!("{}: tag '{}' has qualifier '{q}' that {why}", label(p), tags[base]));
        }
    }
    let mut aliases: Vec<String> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        if i != base && !aliases.contains(t) && *t != tags[base] {
            aliases.push(t.clone());
        }
    }
    let context = paths::relative(out_dir, &paths::join(source_dir, &dir));
    let spec = VariantSpec {
        os: catalog::definition(&os, arch).id,
        qualifiers,
        context,
        dockerfile: "Dockerfile".to_string(),
        tag: explicit,
        aliases,
        build_args,
        omit_arch,
        platforms: Vec::new(),
        retired: None,
        replaced_by: None,
        runner: None,
    };
    Ok(Converted { spec, os, arch, tags, warning })
}
