//! Fuzz target: an OCI layout whose index.json (and one blob) are the input (never panics,
//! never reads outside the layout).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let (index, blob) = data.split_at(data.len() / 2);
    let _ = std::fs::write(dir.path().join("index.json"), index);
    let blobs = dir.path().join("blobs/sha256");
    let _ = std::fs::create_dir_all(&blobs);
    let _ = std::fs::write(blobs.join(imgctl_registry::digest::sha256(blob).trim_start_matches("sha256:")), blob);
    let _ = imgctl_engine::layout::read(dir.path());
});
