//! A registry (here a hostile stand-in on loopback) that sends a huge body or an endless
//! stream is cut off by the client's limits: a clear error, bounded memory, no hang.

use imgctl_registry::{ClientOptions, Registry, RegistryClient};
use tokio::io::AsyncWriteExt;

/// Serves `/v2/` with 200, and answers everything else with `status` and an endless chunked
/// body (or, with `announce`, a `Content-Length` of 8 GiB).
async fn hostile(announce: bool, status: &'static str) -> String {
    crate::raw_server(move |req, mut sock| async move {
        if req.starts_with("GET /v2/ ") {
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
            return;
        }
        let framing = if announce { "content-length: 8589934592" } else { "transfer-encoding: chunked" };
        let head = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{framing}\r\n\r\n");
        let _ = sock.write_all(head.as_bytes()).await;
        let chunk = vec![b' '; 64 * 1024];
        loop {
            let framed = if announce { chunk.clone() } else { [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk.clone(), b"\r\n".to_vec()].concat() };
            if sock.write_all(&framed).await.is_err() {
                return;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_and_oversized_answers_are_cut_off() {
    for announce in [false, true] {
        let host = hostile(announce, "200 OK").await;
        let mut opts = ClientOptions::new(&host);
        opts.insecure = true;
        let client = RegistryClient::new(opts).unwrap();
        let e = client.get_manifest("r", "v1").await.unwrap_err().to_string();
        assert!(e.contains("larger than"), "announce={announce}: {e}");
        let e = client.list_tags("r").await.unwrap_err().to_string();
        assert!(e.contains("larger than"), "announce={announce}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_error_answer_is_cut_off_too() {
    let host = hostile(false, "404 Not Found").await;
    let mut opts = ClientOptions::new(&host);
    opts.insecure = true;
    let client = RegistryClient::new(opts).unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), client.get_manifest("r", "v1")).await;
    let e = answer.expect("the error body is read within a limit, not to its (endless) end").unwrap_err();
    assert!(e.is_not_found(), "{e}");
}
