//! One loopback HTTP/1 server for the test kit's servers (the proxy, the GitHub stand-in): a
//! free 127.0.0.1 port, its own runtime, one task per connection calling `handle`.

use std::future::Future;
use std::sync::Arc;

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A free loopback port, bound (non-blocking, for [`serve`]), and its number.
pub(crate) fn bind(what: &str) -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind the {what}: {e}"));
    listener.set_nonblocking(true).unwrap_or_else(|e| panic!("make the {what} socket non-blocking: {e}"));
    let port = listener.local_addr().unwrap_or_else(|e| panic!("{what} address: {e}")).port();
    (listener, port)
}

/// Serves every connection of `listener` with `handle(state, request)` on a new runtime of
/// `threads` workers; dropping the runtime stops the server.
pub(crate) fn serve<S, F, Fut, B, E>(what: &str, threads: usize, listener: std::net::TcpListener, state: Arc<S>, handle: F) -> tokio::runtime::Runtime
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = Result<Response<B>, E>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().unwrap_or_else(|e| panic!("build the {what} runtime: {e}"));
    let what = what.to_owned();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap_or_else(|e| panic!("register the {what} socket: {e}"));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let st = state.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    runtime
}
