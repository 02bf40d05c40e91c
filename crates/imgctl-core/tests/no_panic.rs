//! Arbitrary input never makes the manifest, OS-definitions or tag parsers panic.

use imgctl_core::load::{parse_manifest, parse_os_definitions};
use imgctl_core::span::SpanIndex;
use proptest::prelude::*;

const GOOD: &str = "version: 1\nregistry: ghcr.io\nrepository: acme/x\nosDefinitions: os.json\ntagSchema:\n  arch: { AMD64: amd64 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: -staging, branch: main }\n  latest: { suffix: '', promotesFrom: staging, soak: 72h }\nvariants:\n  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [helix]\n    context: ../src\n    aliases: [u]\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn manifest_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let p = parse_manifest("m.yaml", &text);
        prop_assert!(p.value.is_some() || !p.findings.is_empty());
    }

    #[test]
    fn mutated_manifests_never_panic(pos in 0usize..GOOD.len(), cut in 0usize..20, insert in "[ -~\n\t:\\[\\]{}&*!|>'\"%@`#-]{0,12}") {
        let mut text = GOOD.to_string();
        let start = pos.min(text.len());
        let end = (start + cut).min(text.len());
        text.replace_range(start..end, &insert);
        let p = parse_manifest("m.yaml", &text);
        prop_assert!(p.value.is_some() || !p.findings.is_empty());
    }

    #[test]
    fn os_definitions_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let p = parse_os_definitions("os.json", &text);
        prop_assert!(p.value.is_some() || !p.findings.is_empty());
        let _ = SpanIndex::build(&text);
    }
}

#[test]
fn deep_nesting_fails_cleanly() {
    let text = format!("version: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    let p = parse_manifest("m.yaml", &text);
    assert!(p.value.is_none());
    assert_eq!(p.findings[0].code, "syntax");
    let json = format!("{{\"definitions\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let p = parse_os_definitions("os.json", &json);
    assert!(p.value.is_none());
}

#[test]
fn oversized_input_fails_cleanly() {
    let text = "#".repeat(imgctl_core::load::MAX_INPUT_BYTES + 1);
    let p = parse_manifest("m.yaml", &text);
    assert_eq!(p.findings[0].code, "too-large");
}

fn small_fleet() -> imgctl_core::Fleet {
    let m = parse_manifest("m.yaml", GOOD).value.unwrap();
    let os = parse_os_definitions("os.json", r#"{"definitions":[{"id":"Linux-Ubuntu-22.04-AMD64","family":"Linux","distro":"Ubuntu","slug":"ubuntu","version":"22.04","arch":"AMD64"}]}"#).value.unwrap();
    imgctl_core::Fleet::new(m, "m.yaml", SpanIndex::default(), os, SpanIndex::default()).0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn tag_parser_never_panics(tag in "\\PC{0,140}", tail in "[a-z0-9.-]{0,40}") {
        let f = small_fleet();
        let index = imgctl_core::tags::TagIndex::new(&f);
        let _ = index.parse(&tag);
        let _ = index.parse(&format!("ubuntu-22.04-{tail}"));
    }
}
