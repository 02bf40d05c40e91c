//! Inventories an image from its layer files (bottom first), as `publish` does:
//! `inventory [--cache DIR] LAYER...` prints a JSON summary — packages, files, bytes, layers
//! read and bytes read (the others came from the cache), seconds, and the peak RSS
//! (`VmHWM`). Used by `scripts/bench/inventory` (docs/BENCHMARKS.md).

#![allow(clippy::print_stdout)] // the summary is the tool's output

use std::time::Instant;

use imgctl_inventory::cache::LayerCache;
use imgctl_inventory::{Compression, merge, read_layer};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))))
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let cache = match args.iter().position(|a| a == "--cache") {
        Some(i) => {
            let dir = args.remove(i + 1);
            args.remove(i);
            Some(LayerCache::new(dir))
        }
        None => None,
    };
    let started = Instant::now();
    let (mut layers, mut read, mut read_bytes) = (Vec::new(), 0, 0u64);
    for path in &args {
        // a layer's digest is its name in a layout; here the file's name stands for it
        let digest = format!("sha256:{}", std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or("x").replace(['.', '-'], ""));
        if let Some(hit) = cache.as_ref().and_then(|c| c.get(&digest)) {
            layers.push(hit);
            continue;
        }
        let l = read_layer(path, std::fs::File::open(path)?, Compression::Sniff)?;
        read += 1;
        read_bytes += l.read_bytes;
        if let Some(c) = &cache {
            c.put(&digest, &l)?;
        }
        layers.push(l);
    }
    let inv = merge(&layers);
    let summary = serde_json::json!({
        "packages": inv.packages.len(),
        "files": inv.files,
        "bytes": inv.bytes,
        "layersRead": read,
        "bytesRead": read_bytes,
        "seconds": started.elapsed().as_secs_f64(),
        "peakRssKiB": peak_rss_kib(),
    });
    println!("{summary}");
    Ok(())
}
