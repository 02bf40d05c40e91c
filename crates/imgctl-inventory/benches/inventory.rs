//! Inventory throughput on a synthetic gzip layer (a few thousand files and a dpkg status),
//! beside plain gzip decompression of the same bytes. The ≥ 500 MB side-by-side run against
//! `gzip -dc` is `scripts/bench/inventory` (docs/BENCHMARKS.md).

use std::io::{Read, Write};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imgctl_inventory::{Compression, read_layer};

fn layer() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut seed = 7u64;
    for i in 0..2000 {
        let mut data = vec![0u8; 4096 + (i % 7) * 1024];
        for b in data.iter_mut() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *b = if (seed >> 60) < 6 { b'a' + (seed >> 33) as u8 % 26 } else { (seed >> 24) as u8 };
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("usr/share/bench/{i}.bin"), data.as_slice()).unwrap();
    }
    let status = "Package: bash\nStatus: install ok installed\nVersion: 5.2\n\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(status.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "var/lib/dpkg/status", status.as_bytes()).unwrap();
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

fn bench(c: &mut Criterion) {
    let gz = layer();
    let mut g = c.benchmark_group("layer");
    g.throughput(Throughput::Bytes(gz.len() as u64));
    g.bench_function("inventory", |b| b.iter(|| read_layer("bench", gz.as_slice(), Compression::Gzip).unwrap()));
    g.bench_function("gunzip only", |b| {
        b.iter(|| {
            let mut sink = Vec::with_capacity(16 << 20);
            flate2::read::MultiGzDecoder::new(gz.as_slice()).read_to_end(&mut sink).unwrap();
            sink.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
