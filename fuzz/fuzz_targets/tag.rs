//! Fuzz target: any string → tag parse-back against a small fleet (never panics).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

const MANIFEST: &str = "version: 1\nregistry: r\nrepository: a/b\nosDefinitions: os.json\ntagSchema:\n  arch: { AMD64: amd64, ARM64: arm64v8 }\n  defaultArch: AMD64\n  archAliases: { arm64: ARM64 }\nchannels:\n  staging: { suffix: -staging }\n  latest: { suffix: '', promotesFrom: staging }\nvariants:\n  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [helix]\n    context: c\n    aliases: [u]\n  - os: Linux-CentOSStream-9-AMD64\n    qualifiers: [cross, arm64]\n    omitArch: true\n    context: c\n";
const OS: &str = r#"{"definitions":[{"id":"Linux-Ubuntu-22.04-AMD64","family":"Linux","distro":"Ubuntu","slug":"ubuntu","version":"22.04","arch":"AMD64"},{"id":"Linux-CentOSStream-9-AMD64","family":"Linux","distro":"CentOSStream","slug":"centos-stream","version":"9","arch":"AMD64"}]}"#;

static FLEET: LazyLock<imgctl_core::Fleet> = LazyLock::new(|| {
    let m = imgctl_core::load::parse_manifest("m.yaml", MANIFEST);
    let o = imgctl_core::load::parse_os_definitions("os.json", OS);
    imgctl_core::Fleet::new(m.value.expect("manifest"), "m.yaml", m.spans, o.value.expect("os"), o.spans).0
});

fuzz_target!(|data: &[u8]| {
    let tag = String::from_utf8_lossy(data);
    let index = imgctl_core::tags::TagIndex::new(&FLEET);
    if let Ok(p) = index.parse(&tag) {
        assert_eq!(p.tag, tag);
    }
    let _ = imgctl_core::tags::split_history(&tag);
});
