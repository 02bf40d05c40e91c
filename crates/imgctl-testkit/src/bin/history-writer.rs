//! `history-writer HOST REPO CONCURRENCY PLAN VARIANT…`: writes a fleet's past straight into
//! a registry, as imgctl would have left it — for `scripts/bench/scale`, where building a year
//! of history by running `imgctl publish`/`promote` 52 times would take far longer than the
//! benchmark itself. PLAN has one line per weekly round, oldest first:
//! `SOURCE_ID PUBLISH_TIME PROMOTE_TIME` (times `YYYYMMDDHHMMSS`, UTC). For each round and
//! variant it pushes a new build (its own config blob over one shared layer, so every build has
//! its own digest) and writes the tags of docs/HISTORY.md: the immutable `{v}-{sourceId}`, the
//! `{v}-staging` move and its release tag `{v}-staging-{publish}-{digest12}`, then the promotion
//! `{v}-latest` and `{v}-latest-{promote}-{digest12}`. Variants run concurrently, each one's
//! tags in order. Prints one progress line per round on stderr, a summary on stdout.

use std::time::Instant;

use futures_util::StreamExt;
use imgctl_registry::{BlobSource, ClientOptions, Registry, RegistryClient};
use imgctl_testkit::images::{image_with_layer, random_bytes};

/// One weekly round of the plan.
struct Round {
    source_id: String,
    published: String,
    promoted: String,
}

fn parse_plan(text: &str) -> Vec<Round> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [source_id, published, promoted] = f.as_slice() else { panic!("plan line '{l}': want SOURCE_ID PUBLISH_TIME PROMOTE_TIME") };
            assert!(source_id.len() == 12 && published.len() == 14 && promoted.len() == 14, "plan line '{l}': a 12-hex source id and two 14-digit times");
            Round { source_id: (*source_id).into(), published: (*published).into(), promoted: (*promoted).into() }
        })
        .collect()
}

/// The tags one round writes for `variant`, in the order imgctl writes them, with the build's
/// digest12 filled in.
fn round_tags(variant: &str, round: &Round, digest: &str) -> [String; 5] {
    let short = &digest.trim_start_matches("sha256:")[..12];
    [
        format!("{variant}-{}", round.source_id),
        format!("{variant}-staging"),
        format!("{variant}-staging-{}-{short}", round.published),
        format!("{variant}-latest"),
        format!("{variant}-latest-{}-{short}", round.promoted),
    ]
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, repo, concurrency, plan, variants @ ..] = args.as_slice() else {
        panic!("usage: history-writer HOST REPO CONCURRENCY PLAN VARIANT...");
    };
    let rounds = parse_plan(&std::fs::read_to_string(plan).expect("read the plan"));
    let mut opts = ClientOptions::new(host.as_str());
    opts.insecure = true;
    opts.concurrency = concurrency.parse().expect("concurrency");
    let client = RegistryClient::new(opts).expect("client");
    let layer = random_bytes(7, 4096);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let start = Instant::now();
    let tags = rt.block_on(async {
        let shared = image_with_layer("amd64", layer.clone(), 0);
        let base = &shared.blobs[1];
        client.push_blob(repo, &base.digest, &BlobSource::Bytes(base.bytes.clone())).await.expect("push the shared layer");
        let mut tags = 0usize;
        for (w, round) in rounds.iter().enumerate() {
            let written: usize = futures_util::stream::iter(variants.iter().enumerate())
                .map(|(i, v)| {
                    let (client, layer, round) = (&client, &layer, round);
                    async move {
                        let img = image_with_layer("amd64", layer.clone(), ((w as u64 + 1) << 32) | i as u64);
                        let config = &img.blobs[0];
                        client.push_blob(repo, &config.digest, &BlobSource::Bytes(config.bytes.clone())).await.expect("push a config blob");
                        let names = round_tags(v, round, &img.manifest.digest);
                        for t in &names {
                            client.put_manifest(repo, t, &img.manifest).await.unwrap_or_else(|e| panic!("PUT {t}: {e}"));
                        }
                        names.len()
                    }
                })
                .buffer_unordered(variants.len().max(1))
                .fold(0, |a, n| async move { a + n })
                .await;
            tags += written;
            eprintln!("history-writer: round {}/{}: {} builds, {tags} tag writes, {:.0} s", w + 1, rounds.len(), variants.len() * (w + 1), start.elapsed().as_secs_f64());
        }
        tags
    });
    println!("{tags} tag writes, {} builds in {:.1} s", variants.len() * rounds.len(), start.elapsed().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_writes_the_five_tags_imgctl_would() {
        let round = Round { source_id: "3f9a0c1d2e4b".into(), published: "20261123090000".into(), promoted: "20261126100000".into() };
        let tags = round_tags("ubuntu-22.04-helix-amd64", &round, "sha256:9b15c8e0a7d2ffff");
        assert_eq!(
            tags,
            [
                "ubuntu-22.04-helix-amd64-3f9a0c1d2e4b",
                "ubuntu-22.04-helix-amd64-staging",
                "ubuntu-22.04-helix-amd64-staging-20261123090000-9b15c8e0a7d2",
                "ubuntu-22.04-helix-amd64-latest",
                "ubuntu-22.04-helix-amd64-latest-20261126100000-9b15c8e0a7d2",
            ]
        );
    }

    #[test]
    fn the_plan_is_one_round_per_line() {
        let plan = parse_plan("3f9a0c1d2e4b 20261123090000 20261126100000\n\n0123456789ab 20261130090000 20261203100000\n");
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[1].source_id, "0123456789ab");
        assert_eq!(plan[1].promoted, "20261203100000");
    }
}
