//! Driving Debian's chromium over a rendered site: runs `tests/browser/check-site.mjs` (npm's
//! playwright-core on node) and reads its JSON report; reads screenshots back with `png`.

#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use imgctl_testkit::require_tool;
use serde_json::Value;

use crate::support::repo_root;

/// The chromium the test drives (Debian's), unless `IMGCTL_CHROMIUM` names another.
fn chromium() -> PathBuf {
    let path = std::env::var_os("IMGCTL_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(path.is_file(), "{} is not installed: the site's browser test needs Debian's chromium (install it with `apt-get install chromium`, as scripts/test does)", path.display());
    path
}

/// `tests/browser`, with playwright-core installed in it.
fn harness() -> PathBuf {
    let dir = repo_root().join("tests/browser");
    let installed = dir.join("node_modules/playwright-core/package.json");
    assert!(installed.is_file(), "playwright-core is not installed in {}: run `npm ci --prefix tests/browser --ignore-scripts` (scripts/test does it; never `playwright install`, the test drives Debian's chromium)", dir.display());
    dir
}

/// What the browser met on the site, as `check-site.mjs` reports it.
pub struct Report {
    pub json: Value,
    /// Where the report and the screenshots are.
    pub out: PathBuf,
}

/// Opens `site` in headless chromium; `config` adds `rollback`, `filters` and `shots`.
pub fn check_site(site: &Path, out: &Path, mut config: Value) -> Report {
    let node = require_tool("node", "nodejs");
    let chromium = chromium();
    let dir = harness();
    config["site"] = Value::from(site.to_str().expect("utf-8 path"));
    config["out"] = Value::from(out.to_str().expect("utf-8 path"));
    let run = Command::new(node).current_dir(&dir).env("IMGCTL_CHROMIUM", &chromium).arg("check-site.mjs").arg(config.to_string()).output().expect("run node");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "check-site.mjs failed ({}):\n{stderr}", run.status);
    let json = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("check-site.mjs printed no JSON ({e}):\n{stderr}"));
    Report { json, out: out.to_path_buf() }
}

/// A screenshot read back: its size and what its pixels hold.
#[derive(Debug)]
pub struct Shot {
    pub width: u32,
    pub height: u32,
    /// How many distinct RGB colours it has.
    pub colours: usize,
    /// The standard deviation of its pixels' luma (0–255): 0 for a blank page.
    pub luma_sd: f64,
    /// The share of its pixels of its commonest colour (the page background).
    pub background_share: f64,
}

/// Decodes the PNG at `path`.
pub fn shot(path: &Path) -> Shot {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().expect("a PNG of sane size")];
    let info = reader.next_frame(&mut buf).expect("decode the PNG");
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    let mut colours = HashSet::new();
    let mut counts = std::collections::HashMap::new();
    let (mut sum, mut sq) = (0f64, 0f64);
    let px = &buf[..info.buffer_size()];
    for p in px.chunks_exact(step) {
        let rgb = (p[0], p[1], p[2]);
        colours.insert(rgb);
        *counts.entry(rgb).or_insert(0usize) += 1;
        let y = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        sum += y;
        sq += y * y;
    }
    let n = (px.len() / step) as f64;
    let mean = sum / n;
    Shot {
        width: info.width,
        height: info.height,
        colours: colours.len(),
        luma_sd: (sq / n - mean * mean).max(0.0).sqrt(),
        background_share: counts.values().copied().max().unwrap_or(0) as f64 / n,
    }
}

/// The array at `pointer` in `v`.
#[track_caller]
pub fn arr<'a>(v: &'a Value, pointer: &str) -> &'a Vec<Value> {
    v.pointer(pointer).and_then(Value::as_array).unwrap_or_else(|| panic!("no array at {pointer} in {v:#}"))
}

/// The strings of the array at `pointer` in `v`.
#[track_caller]
pub fn strings(v: &Value, pointer: &str) -> Vec<String> {
    arr(v, pointer).iter().map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")).to_string()).collect()
}
