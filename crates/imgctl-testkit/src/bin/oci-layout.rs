//! `oci-layout DIR [--arch A]… [--seed N] [--layer-size BYTES] [--file PATH=SRC]…`: writes a
//! small test image as an OCI image layout (a multi-arch index when several `--arch` are
//! given), prints its digest. With `--file`, a single-arch image's one layer is a gzip tar of
//! those files (e.g. `var/lib/dpkg/status=…`, so publish inventories real packages). Used by
//! `scripts/demo` and `scripts/bench` where no Docker engine runs.

use std::path::PathBuf;

use imgctl_testkit::images::{Flavor, image, index, random_bytes};
use imgctl_testkit::layout;

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut arches: Vec<String> = Vec::new();
    let mut seed = 1u64;
    let mut layer_size: Option<usize> = None;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--arch" => arches.push(args.next().unwrap_or_default()),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1),
            "--layer-size" => layer_size = args.next().and_then(|s| s.parse().ok()),
            "--file" => {
                let spec = args.next().unwrap_or_default();
                let Some((path, src)) = spec.split_once('=') else {
                    eprintln!("oci-layout: --file wants PATH=SRC, got '{spec}'");
                    std::process::exit(2);
                };
                let bytes = std::fs::read(src).unwrap_or_else(|e| panic!("read {src}: {e}"));
                files.push((path.to_string(), bytes));
            }
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            other => {
                eprintln!("oci-layout: unexpected argument '{other}'");
                std::process::exit(2);
            }
        }
    }
    let Some(dir) = dir else {
        eprintln!("usage: oci-layout DIR [--arch A]... [--seed N] [--layer-size BYTES] [--file PATH=SRC]...");
        std::process::exit(2);
    };
    if arches.is_empty() {
        arches.push("amd64".into());
    }
    std::fs::create_dir_all(&dir).expect("create the layout directory");
    let digest = if arches.len() == 1 {
        let mut img = image(Flavor::Oci, &arches[0], 1, seed);
        if let Some(size) = layer_size {
            img = imgctl_testkit::images::image_with_layer(&arches[0], random_bytes(seed, size), seed);
        }
        if !files.is_empty() {
            let entries: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
            let layer = imgctl_testkit::images::gzip(&imgctl_testkit::images::tar_layer(&entries));
            img = imgctl_testkit::images::image_of_layers(&arches[0], vec![(layer, imgctl_testkit::images::LAYER_GZIP)], seed);
        }
        layout::write_image(&dir, &img);
        img.manifest.digest
    } else {
        let images = arches.iter().enumerate().map(|(i, a)| image(Flavor::Oci, a, 1, seed * 100 + i as u64)).collect();
        let idx = index(images);
        layout::write_index(&dir, &idx);
        idx.manifest.digest
    };
    println!("{digest}");
}
