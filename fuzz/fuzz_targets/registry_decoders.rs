//! Fuzz target: what a registry sends back — manifest bodies (media type, index) — decoded
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let m = imgctl_registry::RawManifest::from_bytes(data.to_vec());
    let _ = m.is_index();
    let _ = m.index();
    let _ = imgctl_registry::digest::media_type_of(data, Some("application/json"));
});
