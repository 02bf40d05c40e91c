//! `init`'s scaffold of a fleet repository (pure: texts, no files written here): the
//! manifest, the OS definitions it uses, one Dockerfile per starting variant, callers of
//! imgctl's reusable workflows pinned to one imgctl version, a Renovate preset for the
//! fleet's consumers and a README. `docs/ADOPTING.md` describes the result.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use crate::import::catalog;
use crate::manifest::{Channel, MANIFEST_VERSION, Manifest, VariantSpec};
use crate::osdefs::{OsDefinition, OsDefinitions};

mod texts;

/// When the scaffold's promotion runs (UTC): the `latest` channel's `schedule` and the
/// promote caller's cron are both written from this one value.
pub use crate::import::PROMOTE_CRON;

/// The OperatingSystemId `init` starts with when `--os` is not given.
pub const DEFAULT_OS: &str = "Linux-Ubuntu-24.04-AMD64";

/// What to scaffold.
#[derive(Debug, Clone)]
pub struct Options {
    /// Registry host (`ghcr.io`).
    pub registry: String,
    /// Repository of the images (`acme/build-images`).
    pub repository: String,
    /// OperatingSystemIds of the starting variants (empty: [`DEFAULT_OS`]).
    pub os: Vec<String>,
    /// The imgctl version the workflows pin (`0.1.0`; tag `v0.1.0`).
    pub imgctl_version: String,
    /// Where imgctl's action and reusable workflows live (`OWNER/imgctl`).
    pub imgctl_repository: String,
}

/// One file of the scaffold: path relative to the fleet repository, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path (`manifests/images.yaml`).
    pub path: String,
    /// Contents.
    pub text: String,
}

fn file(path: impl Into<String>, text: impl Into<String>) -> File {
    File { path: path.into(), text: text.into() }
}

/// The manifest, OS definitions and a Dockerfile per `--os` variant.
pub fn fleet(o: &Options) -> Result<Vec<File>, String> {
    let ids: Vec<String> = if o.os.is_empty() { vec![DEFAULT_OS.to_string()] } else { o.os.clone() };
    let mut defs: Vec<OsDefinition> = Vec::new();
    let mut variants = Vec::new();
    let mut files = Vec::new();
    for id in &ids {
        let d = catalog::by_id(id).ok_or_else(|| {
            let known: Vec<String> = catalog::known().into_iter().map(|d| d.id).collect();
            format!("find OperatingSystemId '{id}' in the built-in catalogue (known: {})", known.join(", "))
        })?;
        if defs.iter().any(|x| x.id == d.id) {
            return Err(format!("scaffold '{id}': given twice"));
        }
        let arch = crate::import::tag_schema().arch.get(&d.arch).cloned().unwrap_or_else(|| d.arch.to_lowercase());
        let context = format!("src/{}/{}/{arch}", d.slug, d.version);
        files.push(file(format!("{context}/Dockerfile"), texts::dockerfile(&d)));
        variants.push(VariantSpec {
            os: d.id.clone(),
            qualifiers: Vec::new(),
            context: format!("../{context}"),
            dockerfile: "Dockerfile".into(),
            tag: None,
            aliases: Vec::new(),
            build_args: BTreeMap::new(),
            omit_arch: false,
            platforms: vec![texts::platform(&d).to_string()],
            retired: None,
            replaced_by: None,
            runner: None,
        });
        defs.push(d);
    }
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        registry: o.registry.clone(),
        repository: o.repository.clone(),
        registry_kind: None,
        os_definitions: crate::import::OS_DEFINITIONS_REF.into(),
        tag_schema: crate::import::tag_schema(),
        channels: channels(),
        variants,
        mirrors: Vec::new(),
        records: None,
        eol_warning: None,
    };
    let yaml = serde_yaml_ng::to_string(&manifest).map_err(|e| format!("render the manifest: {e}"))?;
    let os = crate::import::render::os_definitions_json(&OsDefinitions { definitions: defs }).map_err(|e| format!("render the OS definitions: {e}"))?;
    files.insert(0, file("manifests/images.yaml", format!("{}{yaml}", texts::MANIFEST_HEADER)));
    files.insert(1, file("os-definitions/os-definitions.json", os));
    Ok(files)
}

/// `text` with every scheduled `cron:` set to `cron`.
fn with_cron(text: &str, cron: &str) -> String {
    let mut out: String = text
        .lines()
        .map(|l| match l.split_once("- cron:") {
            Some((indent, _)) => format!("{indent}- cron: \"{cron}\""),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The channels of a scaffolded fleet: the importer's, with `latest` as `-latest`.
pub fn channels() -> IndexMap<String, Channel> {
    let mut channels = crate::import::channels();
    if let Some(latest) = channels.get_mut("latest") {
        latest.suffix = "-latest".into();
    }
    channels
}

/// The workflow callers, the consumers' Renovate preset and the README, which describes
/// `channels` (the ones the manifest written with them defines). The promote caller's cron
/// is the consumers' channel's `schedule` (one value for both).
pub fn repository_files(o: &Options, channels: &IndexMap<String, Channel>) -> Vec<File> {
    let cron = crate::chain::consumer_channel(channels).and_then(|c| channels.get(&c)?.schedule.clone()).unwrap_or_else(|| PROMOTE_CRON.to_string());
    let mut out: Vec<File> = texts::workflows()
        .into_iter()
        .map(|(name, text)| file(format!(".github/workflows/{name}"), with_cron(&texts::fill(&text, o), &cron)))
        .collect();
    out.push(file("renovate/consumers.json", texts::fill(texts::RENOVATE, o)));
    let lines: Vec<String> = channels.iter().map(|(name, c)| texts::channel_line(name, c)).collect();
    out.push(file("README.md", texts::fill(texts::README, o).replace("{channels}", &lines.join("\n"))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(os: &[&str]) -> Options {
        Options {
            registry: "ghcr.io".into(),
            repository: "acme/build-images".into(),
            os: os.iter().map(|s| s.to_string()).collect(),
            imgctl_version: "1.2.3".into(),
            imgctl_repository: "imgctl-dev/imgctl".into(),
        }
    }

    #[test]
    fn the_scaffold_names_its_variants_and_pins_one_version() {
        let f = fleet(&opts(&[])).unwrap();
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["manifests/images.yaml", "os-definitions/os-definitions.json", "src/ubuntu/24.04/amd64/Dockerfile"]);
        assert!(f[0].text.contains("os: Linux-Ubuntu-24.04-AMD64") && f[0].text.contains("soak: 3d") && f[0].text.contains("suffix: -latest"), "{}", f[0].text);
        assert!(f[0].text.contains(&format!("schedule: {PROMOTE_CRON}")), "{}", f[0].text);
        assert!(f[2].text.starts_with("FROM ubuntu:24.04"), "{}", f[2].text);
        let r = repository_files(&opts(&[]), &channels());
        for w in r.iter().filter(|f| f.path.starts_with(".github/")) {
            assert!(w.text.contains("imgctl-dev/imgctl/.github/workflows/") && w.text.contains("@v1.2.3"), "{}", w.text);
            assert!(!w.text.contains("--path") && !w.text.contains("{repo}") && !w.text.contains("{version}"), "{}", w.text);
        }
        let readme = r.iter().find(|f| f.path == "README.md").unwrap();
        assert!(readme.text.contains("- `latest` — `<variant>-latest`: moved by `promote` to what has been on `staging` for 3d (branch `production`)"), "{}", readme.text);
        // an imported fleet's empty suffix: no `-latest` anywhere
        let imported = repository_files(&opts(&[]), &crate::import::channels());
        let readme = imported.iter().find(|f| f.path == "README.md").unwrap();
        assert!(readme.text.contains("- `latest` — `<variant>` (the base tag itself: the suffix is empty)") && !readme.text.contains("-latest"), "{}", readme.text);
        assert!(readme.text.contains("- `staging` — `<variant>-staging`: moved by every `publish` (branch `main`)"), "{}", readme.text);
        let renovate = r.iter().find(|f| f.path == "renovate/consumers.json").unwrap();
        assert!(renovate.text.contains("imgctl-dev/imgctl//renovate/imgctl#v1.2.3(ghcr.io, acme/build-images)"), "{}", renovate.text);
    }

    #[test]
    fn unknown_and_repeated_ids_are_errors() {
        let e = fleet(&opts(&["Linux-Ubuntu-20.04-AMD64"])).unwrap_err();
        assert!(e.contains("Linux-Ubuntu-20.04-AMD64") && e.contains("Linux-Ubuntu-24.04-AMD64"), "{e}");
        assert!(fleet(&opts(&["Linux-Debian-12-ARM64", "Linux-Debian-12-ARM64"])).unwrap_err().contains("twice"));
        let two = fleet(&opts(&["Linux-Alpine-3.23-ARM64", "Windows-WindowsServerCore-ltsc2022-AMD64"])).unwrap();
        assert!(two.iter().any(|f| f.path == "src/alpine/3.23/arm64v8/Dockerfile" && f.text.contains("apk add")));
        assert!(two[0].text.contains("linux/arm64") && two[0].text.contains("windows/amd64"), "{}", two[0].text);
    }
}
