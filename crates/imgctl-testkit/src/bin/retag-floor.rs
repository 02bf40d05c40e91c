//! `retag-floor HOST REPO FROM_SUFFIX TO_SUFFIX CONCURRENCY VARIANT…`: the bare-HTTP floor
//! of a promotion — one GET and one PUT per variant over keep-alive connections, at the
//! given concurrency, no checks. `scripts/bench` compares imgctl with it. Prints seconds.

use std::time::Instant;

use futures_util::StreamExt;

#[allow(clippy::print_stdout)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, repo, from, to, concurrency, variants @ ..] = args.as_slice() else {
        panic!("usage: retag-floor HOST REPO FROM_SUFFIX TO_SUFFIX CONCURRENCY VARIANT...");
    };
    let concurrency: usize = concurrency.parse().expect("concurrency");
    let client = reqwest::Client::new();
    let accept = imgctl_registry::MANIFEST_MEDIA_TYPES.join(", ");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let start = Instant::now();
    rt.block_on(async {
        futures_util::stream::iter(variants)
            .map(|v| {
                let (client, accept) = (client.clone(), accept.as_str());
                async move {
                    // like any client, retry the rare 5xx of distribution's filesystem driver
                    let mut tries = 0;
                    let get = loop {
                        let get = client.get(format!("http://{host}/v2/{repo}/manifests/{v}{from}")).header("Accept", accept).send().await.expect("GET");
                        tries += 1;
                        if !get.status().is_server_error() || tries == 4 {
                            break get;
                        }
                    };
                    assert!(get.status().is_success(), "GET {v}{from}: {}", get.status());
                    let media = get.headers().get("content-type").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
                    let body = get.bytes().await.expect("body");
                    let put = client.put(format!("http://{host}/v2/{repo}/manifests/{v}{to}")).header("Content-Type", media).body(body).send().await.expect("PUT");
                    let status = put.status();
                    assert!(status.is_success(), "PUT {v}{to}: {status}: {}", put.text().await.unwrap_or_default());
                }
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<()>>()
            .await;
    });
    println!("{:.3}", start.elapsed().as_secs_f64());
}
