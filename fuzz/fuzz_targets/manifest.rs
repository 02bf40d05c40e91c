//! Fuzz target: manifest text → parse, resolve, validate (never panics).
#![no_main]

use imgctl_core::source::{EntryKind, SourceTree};
use libfuzzer_sys::fuzz_target;

struct Tree;
impl SourceTree for Tree {
    fn kind(&self, path: &str) -> Option<EntryKind> {
        Some(if path.ends_with("Dockerfile") { EntryKind::File } else { EntryKind::Dir })
    }
    fn read(&self, path: &str) -> Option<String> {
        Some(format!("FROM acme/build-images:{path}\n"))
    }
}

const OS: &str = r#"{"definitions":[{"id":"Linux-Ubuntu-22.04-AMD64","family":"Linux","distro":"Ubuntu","slug":"ubuntu","version":"22.04","arch":"AMD64"}]}"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let m = imgctl_core::load::parse_manifest("m.yaml", &text);
    let o = imgctl_core::load::parse_os_definitions("os.json", OS);
    if let (Some(manifest), Some(os)) = (m.value, o.value) {
        let (fleet, _) = imgctl_core::Fleet::new(manifest, "m.yaml", m.spans, os, o.spans);
        let today = chrono::NaiveDate::default();
        let _ = imgctl_core::validate::validate(&fleet, &Tree, imgctl_core::validate::Options { today, strict: true });
    }
});
