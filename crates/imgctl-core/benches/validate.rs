//! Benchmark: parsing and validating the shipped 229-variant sample and generated
//! manifests of 1,000 and 5,000 variants (growth should be linear).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use imgctl_core::fleet::Fleet;
use imgctl_core::load::{parse_manifest, parse_os_definitions};
use imgctl_core::source::{EntryKind, SourceTree};
use imgctl_core::validate::{Options, validate};

/// Every context exists; every Dockerfile is a one-line FROM.
struct AllThere;

impl SourceTree for AllThere {
    fn kind(&self, path: &str) -> Option<EntryKind> {
        Some(if path.ends_with("Dockerfile") { EntryKind::File } else { EntryKind::Dir })
    }
    fn read(&self, _: &str) -> Option<String> {
        Some("FROM debian:12\n".into())
    }
}

const OS: &str = r#"{"definitions":[
 {"id":"Linux-Ubuntu-22.04-AMD64","family":"Linux","distro":"Ubuntu","slug":"ubuntu","version":"22.04","arch":"AMD64"},
 {"id":"Linux-Ubuntu-22.04-ARM64","family":"Linux","distro":"Ubuntu","slug":"ubuntu","version":"22.04","arch":"ARM64"},
 {"id":"Linux-AzureLinux-3.0-AMD64","family":"Linux","distro":"AzureLinux","slug":"azurelinux","version":"3.0","arch":"AMD64"},
 {"id":"Linux-CentOSStream-9-AMD64","family":"Linux","distro":"CentOSStream","slug":"centos-stream","version":"9","arch":"AMD64"}]}"#;

/// A manifest of `n` distinct variants.
fn generated(n: usize) -> String {
    let mut s = String::from("version: 1\nregistry: ghcr.io\nrepository: acme/build-images\nosDefinitions: ../os/os.json\ntagSchema:\n  arch: { AMD64: amd64, ARM64: arm64v8 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: \"-staging\", branch: main }\n  latest: { suffix: \"-latest\", branch: production, promotesFrom: staging, soak: 72h }\nvariants:\n");
    let oses = ["Linux-Ubuntu-22.04-AMD64", "Linux-Ubuntu-22.04-ARM64", "Linux-AzureLinux-3.0-AMD64", "Linux-CentOSStream-9-AMD64"];
    for i in 0..n {
        let os = oses[i % oses.len()];
        s.push_str(&format!("  - os: {os}\n    qualifiers: [net{}.0, team{}]\n    context: ../src/v{i}\n    aliases: [alias-{i}]\n    buildArgs: {{ N: \"{i}\" }}\n", i % 11, i / 4));
    }
    s
}

fn run(manifest: &str, os: &str) -> usize {
    let m = parse_manifest("manifests/images.yaml", manifest);
    let o = parse_os_definitions("os/os.json", os);
    let (fleet, _) = Fleet::new(m.value.expect("manifest parses"), "manifests/images.yaml", m.spans, o.value.expect("os parses"), o.spans);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
    validate(&fleet, &AllThere, Options { today, strict: false }).len()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    if let (Ok(m), Ok(o)) = (
        std::fs::read_to_string(format!("{root}/manifests/images.yaml")),
        std::fs::read_to_string(format!("{root}/os-definitions/os-definitions.json")),
    ) {
        group.throughput(Throughput::Elements(229));
        group.bench_function("sample-229", |b| b.iter(|| black_box(run(&m, &o))));
    }
    for n in [1_000, 5_000] {
        let text = generated(n);
        assert_eq!(run(&text, OS), 0, "the generated manifest is valid");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("generated", n), &text, |b, t| b.iter(|| black_box(run(t, OS))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
