//! Fuzz target: OS-definitions text → parse (never panics).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = imgctl_core::load::parse_os_definitions("os.json", &text);
    let _ = imgctl_core::load::parse_os_definitions("os.yaml", &text);
});
