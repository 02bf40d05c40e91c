//! Property tests: every tag rendered for a generated fleet parses back to its
//! variant, kind and details; base tags also read back from the schema alone.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use imgctl_core::fleet::Fleet;
use imgctl_core::manifest::{Channel, Manifest, TagSchema, VariantSpec};
use imgctl_core::osdefs::{OsDefinition, OsDefinitions};
use imgctl_core::span::SpanIndex;
use imgctl_core::tags::{TagIndex, TagKind};
use imgctl_core::validate;
use indexmap::IndexMap;
use proptest::prelude::*;

const ARCHES: [(&str, &str); 3] = [("AMD64", "amd64"), ("ARM64", "arm64v8"), ("ARM32", "arm32v7")];
/// Slugs that prefix each other, as real ones do (`centos` / `centos-stream`).
const SLUGS: [&str; 5] = ["ubuntu", "centos", "centos-stream", "azurelinux", "alpine"];
const VERSIONS: [&str; 5] = ["9", "22.04", "3.0", "3", "edge"];

fn os_catalogue() -> OsDefinitions {
    let mut definitions = Vec::new();
    for slug in SLUGS {
        for version in VERSIONS {
            for (arch, _) in ARCHES {
                let distro: String = slug.split('-').map(|p| p[..1].to_uppercase() + &p[1..]).collect();
                definitions.push(OsDefinition {
                    id: format!("Linux-{distro}-{version}-{arch}"),
                    family: "Linux".into(),
                    distro,
                    slug: slug.into(),
                    version: version.into(),
                    codename: None,
                    arch: arch.into(),
                    rid: None,
                    eol: None,
                });
            }
        }
    }
    OsDefinitions { definitions }
}

fn qualifier() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("helix".to_string()),
        Just("cross".to_string()),
        Just("net8.0".to_string()),
        Just("amd64".to_string()), // a qualifier may equal an arch segment
        Just("arm64".to_string()),
        Just("15".to_string()),
        "[a-z][a-z0-9._]{0,8}",
    ]
}

#[derive(Debug, Clone)]
struct Gen {
    slug: usize,
    version: usize,
    arch: usize,
    qualifiers: Vec<String>,
    omit_arch: bool,
    alias: Option<String>,
}

fn variant() -> impl Strategy<Value = Gen> {
    (0..SLUGS.len(), 0..VERSIONS.len(), 0..ARCHES.len(), prop::collection::vec(qualifier(), 0..4), any::<bool>(), prop::option::of("[a-z][a-z0-9]{2,10}"))
        .prop_map(|(slug, version, arch, qualifiers, omit, alias)| Gen { slug, version, arch, qualifiers, omit_arch: omit && arch == 0, alias })
}

fn fleet(gens: &[Gen], bare_latest: bool) -> Fleet {
    let os = os_catalogue();
    let mut channels = IndexMap::new();
    channels.insert("staging".into(), Channel { suffix: "-staging".into(), branch: Some("main".into()), promotes_from: None, soak: None, verify: None, schedule: None, new_variants: None });
    let latest = if bare_latest { "" } else { "-latest" };
    channels.insert("latest".into(), Channel { suffix: latest.into(), branch: None, promotes_from: Some("staging".into()), soak: None, verify: None, schedule: None, new_variants: None });
    let variants = gens
        .iter()
        .map(|g| {
            let distro: String = SLUGS[g.slug].split('-').map(|p| p[..1].to_uppercase() + &p[1..]).collect();
            VariantSpec {
                os: format!("Linux-{distro}-{}-{}", VERSIONS[g.version], ARCHES[g.arch].0),
                qualifiers: g.qualifiers.clone(),
                context: "ctx".into(),
                dockerfile: "Dockerfile".into(),
                tag: None,
                aliases: g.alias.iter().cloned().collect(),
                build_args: BTreeMap::new(),
                omit_arch: g.omit_arch,
                platforms: Vec::new(),
                retired: None,
                replaced_by: None,
                runner: None,
            }
        })
        .collect();
    let manifest = Manifest {
        version: 1,
        registry: "r.example".into(),
        repository: "acme/images".into(),
        registry_kind: None,
        os_definitions: "os.json".into(),
        tag_schema: TagSchema {
            arch: ARCHES.iter().map(|(a, s)| (a.to_string(), s.to_string())).collect(),
            default_arch: "AMD64".into(),
            arch_aliases: BTreeMap::new(),
        },
        channels,
        variants,
        mirrors: Vec::new(),
        records: None,
        eol_warning: None,
    };
    let (fleet, findings) = Fleet::new(manifest, "m.yaml", SpanIndex::default(), os, SpanIndex::default());
    assert!(findings.is_empty(), "{findings:?}");
    fleet
}

/// Fleets whose tags `validate` accepts (no duplicates, no ambiguity).
fn is_clean(f: &Fleet) -> bool {
    struct NoFiles;
    impl imgctl_core::source::SourceTree for NoFiles {
        fn kind(&self, _: &str) -> Option<imgctl_core::source::EntryKind> {
            Some(imgctl_core::source::EntryKind::Dir)
        }
        fn read(&self, _: &str) -> Option<String> {
            None
        }
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    validate::validate(f, &NoFiles, validate::Options { today, strict: false })
        .iter()
        .all(|x| !x.is_error() || x.code == "missing-dockerfile")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_rendered_tag_parses_back(gens in prop::collection::vec(variant(), 1..8), bare in any::<bool>(),
                                      source_id in "[0-9a-f]{12}", digest in "[0-9a-f]{64}", secs in 0i64..4_000_000_000) {
        let f = fleet(&gens, bare);
        prop_assume!(is_clean(&f));
        let index = TagIndex::new(&f);
        let time = Utc.timestamp_opt(secs, 0).unwrap();
        for v in &f.variants {
            let tags = f.tags(v, Some(&source_id));
            let p = index.parse(&tags.base).unwrap();
            prop_assert_eq!(&p.variant, &v.name);
            prop_assert_eq!(&p.os, &v.os.id);
            prop_assert_eq!(&p.qualifiers, &v.spec.qualifiers);
            let want = if bare { TagKind::Channel } else { TagKind::Base };
            prop_assert_eq!(p.kind, want);
            for (channel, tag) in &tags.channels {
                let p = index.parse(tag).unwrap();
                prop_assert_eq!(&p.variant, &v.name);
                prop_assert_eq!(p.kind, TagKind::Channel);
                prop_assert_eq!(p.channel.as_deref(), Some(channel.as_str()));
                let rollback = f.release_tag(v, channel, time, &format!("sha256:{digest}"), Some(&format!("sha256:{source_id}{}", &digest[12..]))).unwrap();
                let r = index.parse(&rollback).unwrap();
                prop_assert_eq!(r.kind, TagKind::Release);
                prop_assert_eq!(r.digest_prefix.as_deref(), Some(&digest[..12]));
                prop_assert_eq!(r.rolled_back_from.as_deref(), Some(source_id.as_str()));
                let release = f.release_tag(v, channel, time, &format!("sha256:{digest}"), None).unwrap();
                let r = index.parse(&release).unwrap();
                prop_assert_eq!(r.kind, TagKind::Release);
                prop_assert_eq!(&r.variant, &v.name);
                prop_assert_eq!(r.channel.as_deref(), Some(channel.as_str()));
                prop_assert_eq!(r.time, Some(time));
                prop_assert_eq!(r.digest_prefix.as_deref(), Some(&digest[..12]));
            }
            let imm = index.parse(tags.immutable.as_deref().unwrap()).unwrap();
            prop_assert_eq!(imm.kind, TagKind::Immutable);
            prop_assert_eq!(&imm.variant, &v.name);
            prop_assert_eq!(imm.source_id.as_deref(), Some(source_id.as_str()));
            for a in &tags.aliases {
                let p = index.parse(a).unwrap();
                prop_assert_eq!(&p.variant, &v.name);
                prop_assert_eq!(p.kind, TagKind::Alias);
            }
        }
    }

    #[test]
    fn base_tags_read_back_from_the_schema_alone(g in variant()) {
        // unambiguous unless the arch is omitted and the last qualifier is an arch segment
        let last_is_arch = g.qualifiers.last().is_some_and(|q| ARCHES.iter().any(|(_, s)| s == q));
        prop_assume!(!(g.omit_arch && last_is_arch));
        let f = fleet(std::slice::from_ref(&g), false);
        let v = &f.variants[0];
        let index = TagIndex::new(&f);
        let r = index.read_base(&v.name).expect("reads back");
        prop_assert_eq!(&r.os.id, &v.os.id);
        prop_assert_eq!(&r.qualifiers, &v.spec.qualifiers);
    }
}

#[test]
fn longest_slug_and_version_win() {
    let gens = [
        Gen { slug: 2, version: 0, arch: 0, qualifiers: vec!["helix".into()], omit_arch: false, alias: None },
        Gen { slug: 3, version: 2, arch: 0, qualifiers: ["net11.0", "cross", "freebsd", "15", "arm64"].map(String::from).to_vec(), omit_arch: true, alias: None },
    ];
    let f = fleet(&gens, false);
    let index = TagIndex::new(&f);
    // a removed variant's tags still read structurally
    let p = index.parse("centos-stream-9-mlnet-helix-amd64-staging").unwrap();
    assert_eq!((p.os.as_str(), p.kind, p.in_manifest), ("Linux-CentosStream-9-AMD64", TagKind::Channel, false));
    assert_eq!(p.qualifiers, ["mlnet", "helix"]);
    let p = index.parse("azurelinux-3.0-net11.0-cross-freebsd-15-arm64").unwrap();
    assert_eq!(p.os, "Linux-Azurelinux-3.0-AMD64");
    assert!(p.in_manifest);
    let p = index.parse("azurelinux-3.0-net10.0-cross-freebsd-15-arm64v8").unwrap();
    assert_eq!((p.os.as_str(), p.in_manifest), ("Linux-Azurelinux-3.0-ARM64", false));
    assert!(index.parse("centos-8-helix-amd64").is_err());
    assert!(index.parse("not a tag").is_err());
}
