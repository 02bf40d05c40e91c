//! Retirement and end of life across the core: validate's findings, plan, gc and the
//! replacement `usages` names.

use chrono::{NaiveDate, TimeZone, Utc};

use crate::duration::Duration;
use crate::finding::Severity;
use crate::fleet::Fleet;
use crate::gc::{GcOptions, Inventory, Why, plan as gc_plan};
use crate::graph::Graph;
use crate::load::{parse_manifest, parse_os_definitions};
use crate::plan::{Side, plan};
use crate::sourceid::SourceIds;
use crate::tags::TagIndex;
use crate::testtree::{MANIFEST, files, fleet};
use crate::validate::{Options, removed_since, validate};

const BASE: &str = "ubuntu-22.04-base-amd64";
const OTHER: &str = "ubuntu-22.04-other-arm64v8";

/// The test manifest with `base` retired on 2026-12-01 and replaced by `other`.
fn retired_manifest() -> String {
    MANIFEST.replace("    context: src/base\n", "    context: src/base\n    retired: 2026-12-01\n    replacedBy: ubuntu-22.04-other-arm64v8\n")
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn findings(f: &Fleet, today: &str, strict: bool) -> Vec<crate::finding::Finding> {
    validate(f, &files(), Options { today: day(today), strict })
}

/// A fleet whose AMD64 OS is Fedora-like: end of life on 2026-12-09.
fn fedora_fleet(manifest: &str) -> Fleet {
    let os = r#"{ "definitions": [
  { "id": "Linux-Ubuntu-22.04-AMD64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64", "eol": "2026-12-09" },
  { "id": "Linux-Ubuntu-22.04-ARM64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "ARM64" } ] }"#;
    let m = parse_manifest("images.yaml", manifest);
    assert!(m.findings.is_empty(), "{:?}", m.findings);
    let o = parse_os_definitions("os.json", os);
    Fleet::new(m.value.unwrap(), "images.yaml", m.spans, o.value.unwrap(), o.spans).0
}

#[test]
fn validate_warns_ahead_of_end_of_life_and_never_for_a_retired_variant() {
    let f = fedora_fleet(MANIFEST);
    let soon: Vec<_> = findings(&f, "2026-12-04", false).into_iter().filter(|x| x.code == "eol-soon").collect();
    // base, mid and leaf are on the AMD64 OS
    assert_eq!(soon.len(), 3, "{soon:#?}");
    assert_eq!(soon[0].severity, Severity::Warning);
    assert_eq!(
        soon[0].message,
        "'Linux-Ubuntu-22.04-AMD64' reaches end of life on 2026-12-09, in 5 day(s) (eolWarning 30d): move its variants to a newer OS, or retire them (retired: DATE)"
    );
    // --strict keeps an approaching end of life a warning: only a past one fails
    assert!(findings(&f, "2026-12-04", true).iter().all(|x| !x.is_error()), "{:#?}", findings(&f, "2026-12-04", true));
    assert!(findings(&f, "2026-12-10", true).iter().filter(|x| x.code == "eol").all(|x| x.is_error()));
    assert!(findings(&f, "2026-11-01", false).iter().all(|x| !x.code.starts_with("eol")), "41 days ahead is quiet");
    // a shorter eolWarning
    let short = fedora_fleet(&MANIFEST.replace("channels:", "eolWarning: 3d\nchannels:"));
    assert_eq!(short.manifest.eol_warning(), Duration(3 * 86_400));
    assert!(findings(&short, "2026-12-04", false).iter().all(|x| x.code != "eol-soon"));
    // retired variants are exempt (that is why they were retired)
    let r = fedora_fleet(&retired_manifest());
    assert_eq!(findings(&r, "2026-12-04", false).iter().filter(|x| x.code == "eol-soon").count(), 2);
    assert_eq!(findings(&r, "2026-12-10", true).iter().filter(|x| x.code == "eol").count(), 2);
}

#[test]
fn replaced_by_must_name_an_existing_variant_that_is_not_retired() {
    let ok = fleet(&retired_manifest());
    assert!(findings(&ok, "2026-12-04", false).is_empty(), "{:#?}", findings(&ok, "2026-12-04", false));
    let check = |manifest: String, want: &str, sev: Severity| {
        let f = fleet(&manifest);
        let got: Vec<_> = findings(&f, "2026-12-04", false).into_iter().filter(|x| x.code == "invalid-replacement").collect();
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!((got[0].message.as_str(), got[0].severity), (want, sev));
        // at base's replacedBy line
        let line = manifest.lines().position(|l| l.contains("replacedBy")).unwrap() + 1;
        assert_eq!(got[0].line, line);
    };
    check(retired_manifest().replace("replacedBy: ubuntu-22.04-other-arm64v8", "replacedBy: ubuntu-22.04-nope-amd64"),
        "replacedBy 'ubuntu-22.04-nope-amd64' is not a variant of this manifest (see `imgctl tags`)", Severity::Error);
    check(retired_manifest().replace("replacedBy: ubuntu-22.04-other-arm64v8", "replacedBy: ubuntu-22.04-base-amd64"),
        "replacedBy 'ubuntu-22.04-base-amd64' is this variant itself", Severity::Error);
    check(retired_manifest().replace("    context: src/other\n", "    context: src/other\n    retired: 2026-11-01\n"),
        "replacedBy 'ubuntu-22.04-other-arm64v8' is retired itself: name the variant that replaces both", Severity::Error);
    check(retired_manifest().replace("    retired: 2026-12-01\n", ""),
        "replacedBy 'ubuntu-22.04-other-arm64v8' has no effect until this variant is retired (retired: DATE)", Severity::Warning);
}

#[test]
fn a_variant_deleted_without_retirement_is_an_error_naming_its_old_line() {
    let before = fleet(MANIFEST);
    let without_other = MANIFEST.replace("  - os: Linux-Ubuntu-22.04-ARM64\n    qualifiers: [other]\n    context: src/other\n", "");
    let after = fleet(&without_other);
    let got = removed_since(&before, &after, "main");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        got[0].message,
        format!("variant '{OTHER}' (images.yaml:23 at main) was deleted without being retired: put it back with `retired: YYYY-MM-DD` (and `replacedBy: VARIANT`), and delete it in a later change")
    );
    assert!(got[0].is_error());
    assert_eq!((got[0].file.as_str(), got[0].line), ("images.yaml", 12), "at the variants key of the manifest now");
    // retired first, deleted later: fine
    let retired = fleet(&MANIFEST.replace("    context: src/other\n", "    context: src/other\n    retired: 2026-12-01\n"));
    assert!(removed_since(&retired, &after, "main").is_empty());
    // retiring (not deleting) is fine too
    assert!(removed_since(&before, &retired, "main").is_empty());
}

#[test]
fn plan_leaves_a_retired_variant_out_and_does_not_call_it_removed() {
    let ids = |f: &Fleet| SourceIds::compute(f, &Graph::build(f, &files()), &files());
    let f0 = fleet(MANIFEST);
    let (g0, s0) = (Graph::build(&f0, &files()), ids(&f0));
    let f1 = fleet(&retired_manifest());
    let (g1, s1) = (Graph::build(&f1, &files()), ids(&f1));
    let p = plan(None, Side { fleet: &f1, graph: &g1, ids: &s1 }, None, "b").expect("plan");
    assert!(p.variants.iter().all(|e| e.variant != BASE), "{p:#?}");
    assert_eq!(p.variants.len(), 3);
    let p = plan(Some(Side { fleet: &f0, graph: &g0, ids: &s0 }), Side { fleet: &f1, graph: &g1, ids: &s1 }, Some("a"), "b").expect("plan");
    assert!(p.removed.is_empty() && p.variants.iter().all(|e| e.variant != BASE), "{p:#?}");
}

#[test]
fn gc_keeps_the_channel_tags_of_a_retired_variant() {
    let f = fleet(&retired_manifest());
    let index = TagIndex::new(&f);
    let d = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let mut inv = Inventory::default();
    // built and promoted long ago; its channels still point at the last build
    for (tag, digest) in [
        (format!("{BASE}-0123456789ab"), d(1)),
        (format!("{BASE}-staging-20250101000000-{}", &d(1)[7..19]), d(1)),
        (format!("{BASE}-20250102000000-{}", &d(1)[7..19]), d(1)),
        (format!("{BASE}-staging"), d(1)),
        (BASE.to_string(), d(1)),
    ] {
        inv.tags.insert(tag, digest);
    }
    let now = Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap();
    let p = gc_plan(&index, &inv, &GcOptions { keep: 0, older_than: Duration(0), now });
    assert!(!p.deletes(&d(1)), "{p:#?}");
    let kept = p.keep.iter().find(|k| k.digest == d(1)).expect("kept");
    assert!(kept.why.iter().any(|w| matches!(w, Why::Channel(t) if t == BASE)), "{kept:#?}");
}

#[test]
fn the_replacement_tag_follows_the_channel_and_counts_see_retired_and_ending() {
    let f = fedora_fleet(&retired_manifest());
    let base = f.variant(BASE).unwrap();
    assert_eq!(crate::eol::replacement_tag(&f, base, Some("staging")).as_deref(), Some("ubuntu-22.04-other-arm64v8-staging"));
    assert_eq!(crate::eol::replacement_tag(&f, base, None).as_deref(), Some(OTHER));
    assert_eq!(crate::eol::replacement_tag(&f, f.variant(OTHER).unwrap(), None), None);
    let c = crate::eol::count(&f, &f.variants, day("2026-12-04"));
    assert_eq!((c.retired, c.eol, c.eol_soon), (1, 0, 2));
    let c = crate::eol::count(&f, &f.variants, day("2026-12-09"));
    assert_eq!((c.retired, c.eol, c.eol_soon), (1, 2, 0));
}
