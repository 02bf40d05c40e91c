//! Fuzz target: Dockerfile text → FROM lines with ARG substitution (never panics).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut args = BTreeMap::new();
    args.insert("ROOTFS_DIR".to_string(), "/crossrootfs/x64".to_string());
    let _ = imgctl_core::dockerfile::parse(&text, &args);
});
