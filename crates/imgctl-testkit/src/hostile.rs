//! [`Hostile`]: a stand-in registry that misbehaves on purpose, in front of a real one. It
//! forwards every request to the real registry (so the real registry is the witness that
//! nothing changed) except those its [`Hostility`] picks, which it answers the way a broken
//! or malicious registry would: a blob body longer than its descriptor's size, an endless
//! body, a body trickled a byte at a time, a `401` whose `WWW-Authenticate` Bearer realm is
//! plain HTTP on another host, a redirect to another host, malformed manifests.
//!
//! What a well-behaved registry does instead is the OCI distribution spec's ("Pulling
//! blobs": the body is the blob, `Content-Length` its size; "Token authentication": the
//! realm is where the client gets a token). The other host is 127.0.0.2 (all of 127/8 is
//! loopback on Linux), where a catcher records what reached it — credentials must not.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};

use crate::PathKind;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// How the stand-in misbehaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hostility {
    /// Forward everything unchanged.
    None,
    /// Blob GETs: the real blob and then `extra` bytes more; with `announce`, a
    /// `Content-Length` of the longer body, else chunked.
    Overrun {
        /// Bytes beyond the blob.
        extra: u64,
        /// Announce the longer length up front.
        announce: bool,
    },
    /// GETs of `kinds`: `200` and a body that never ends (chunked).
    Endless {
        /// Which requests (manifest, blob, tag list …).
        kinds: Vec<PathKind>,
    },
    /// GETs of `kinds`: the real answer's headers at once, then its body one byte per `every`.
    Trickle {
        /// Which requests.
        kinds: Vec<PathKind>,
        /// The pause before each byte.
        every: Duration,
    },
    /// Every request without a token: `401` with `Bearer realm="http://127.0.0.2:PORT/token"`
    /// (the catcher: plain HTTP on another host).
    PlainRealm,
    /// The ping asks for Basic credentials (any are taken); manifest GETs are redirected
    /// (`307`) to the same path on the catcher.
    BasicThenRedirect,
    /// Manifest HEADs and GETs: these bytes, with their own digest, length and `content-type`.
    Malformed {
        /// The manifest body served.
        body: Vec<u8>,
        /// Its `content-type`.
        media_type: String,
    },
}

/// One request the stand-in (or its catcher) saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Whether it carried an `Authorization` header.
    pub authorization: bool,
}

#[derive(Debug)]
struct State {
    upstream: String,
    own: String,
    catcher: String,
    http: reqwest::Client,
    mode: Mutex<Hostility>,
    seen: Mutex<Vec<Seen>>,
    caught: Mutex<Vec<Seen>>,
}

/// A running stand-in and its catcher; both stop when dropped.
#[derive(Debug)]
pub struct Hostile {
    state: Arc<State>,
    own: String,
    runtimes: Vec<tokio::runtime::Runtime>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        for rt in self.runtimes.drain(..) {
            rt.shutdown_background();
        }
    }
}

impl Hostile {
    /// Starts a stand-in on a free 127.0.0.1 port forwarding to `upstream` (`host:port`, plain
    /// HTTP), and its catcher on 127.0.0.2 (else `localhost`, another host name).
    pub fn start(upstream: &str) -> Hostile {
        let (listener, port) = crate::serve::bind("hostile registry");
        let (catch_listener, catcher) = match std::net::TcpListener::bind("127.0.0.2:0") {
            Ok(l) => {
                l.set_nonblocking(true).expect("make the catcher socket non-blocking");
                let p = l.local_addr().expect("catcher address").port();
                (l, format!("127.0.0.2:{p}"))
            }
            Err(_) => {
                let (l, p) = crate::serve::bind("catcher");
                (l, format!("localhost:{p}"))
            }
        };
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("build the stand-in's client");
        let own = format!("127.0.0.1:{port}");
        let state = Arc::new(State { upstream: upstream.to_owned(), own: own.clone(), catcher, http, mode: Mutex::new(Hostility::None), seen: Mutex::default(), caught: Mutex::default() });
        let a = crate::serve::serve("hostile registry", 2, listener, state.clone(), handle);
        let b = crate::serve::serve("catcher", 1, catch_listener, state.clone(), catch);
        Hostile { state, own, runtimes: vec![a, b] }
    }

    /// `127.0.0.1:PORT` of the stand-in.
    pub fn host(&self) -> String {
        self.own.clone()
    }

    /// `HOST:PORT` of the catcher (another host than the stand-in's).
    pub fn catcher(&self) -> String {
        self.state.catcher.clone()
    }

    /// From now on, misbehaves this way.
    pub fn set(&self, mode: Hostility) {
        *self.state.mode.lock().expect("mode lock") = mode;
    }

    /// Requests the stand-in saw.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("seen lock").clone()
    }

    /// Requests that reached the catcher.
    pub fn caught(&self) -> Vec<Seen> {
        self.state.caught.lock().expect("caught lock").clone()
    }

    /// Requests the stand-in saw that would change a registry (PUT, POST, PATCH, DELETE).
    pub fn writes(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| matches!(s.method.as_str(), "PUT" | "POST" | "PATCH" | "DELETE")).collect()
    }
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|e: Infallible| match e {}).boxed()
}

fn seen(req: &Request<Incoming>) -> Seen {
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    Seen { method: req.method().as_str().to_owned(), path, authorization: req.headers().contains_key("authorization") }
}

async fn catch(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    state.caught.lock().expect("caught lock").push(seen(&req));
    Ok(Response::builder().status(200).header("content-type", "application/json").body(full(r#"{"token":"caught"}"#))?)
}

/// 64 KiB of spaces, the endless body's chunk.
static CHUNK: [u8; 64 << 10] = [b' '; 64 << 10];

fn endless() -> Body {
    BodyExt::boxed(StreamBody::new(futures_util::stream::repeat_with(|| Ok::<_, BoxError>(Frame::data(Bytes::from_static(&CHUNK))))))
}

fn trickle(bytes: Bytes, every: Duration) -> Body {
    let s = futures_util::stream::unfold(0usize, move |i| {
        let bytes = bytes.clone();
        async move {
            if i >= bytes.len() {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok::<_, BoxError>(Frame::data(bytes.slice(i..i + 1))), i + 1))
        }
    });
    BodyExt::boxed(StreamBody::new(s))
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let s = seen(&req);
    state.seen.lock().expect("seen lock").push(s.clone());
    let mode = state.mode.lock().expect("mode lock").clone();
    let (method, path) = (s.method.as_str(), s.path.as_str());
    let kind = PathKind::of(path);
    match &mode {
        Hostility::PlainRealm if !s.authorization => {
            let realm = format!(r#"Bearer realm="http://{}/token",service="hostile""#, state.catcher);
            let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
            return Ok(Response::builder().status(401).header("www-authenticate", realm).header("content-type", "application/json").body(full(body))?);
        }
        Hostility::BasicThenRedirect if kind == PathKind::Ping && !s.authorization => {
            return Ok(Response::builder().status(401).header("www-authenticate", r#"Basic realm="hostile""#).body(full(""))?);
        }
        Hostility::BasicThenRedirect if kind == PathKind::Manifest => {
            return Ok(Response::builder().status(307).header("location", format!("http://{}{path}", state.catcher)).body(full(""))?);
        }
        Hostility::Endless { kinds } if method == "GET" && kinds.contains(&kind) => {
            return Ok(Response::builder().status(200).header("content-type", "application/vnd.oci.image.index.v1+json").body(endless())?);
        }
        Hostility::Malformed { body, media_type } if kind == PathKind::Manifest && (method == "GET" || method == "HEAD") => {
            use sha2::Digest;
            let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)));
            let r = Response::builder().status(200).header("content-type", media_type.as_str()).header("docker-content-digest", digest).header("content-length", body.len());
            return Ok(r.body(if method == "HEAD" { full(Bytes::new()) } else { full(body.clone()) })?);
        }
        _ => {}
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let mut fwd = state.http.request(parts.method.clone(), format!("http://{}{}", state.upstream, path)).body(body);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "connection" | "transfer-encoding" | "content-length") {
            fwd = fwd.header(name, value);
        }
    }
    let up = fwd.send().await?;
    let ok = up.status().is_success() && method == "GET";
    let overrun = match &mode {
        Hostility::Overrun { extra, announce } if ok && kind == PathKind::Blob => Some((*extra, *announce)),
        _ => None,
    };
    let trickled = match &mode {
        Hostility::Trickle { kinds, every } if ok && kinds.contains(&kind) => Some(*every),
        _ => None,
    };
    let mut resp = Response::builder().status(up.status().as_u16());
    for (name, value) in up.headers() {
        let n = name.as_str();
        if matches!(n, "connection" | "transfer-encoding") || (overrun.is_some() && n == "content-length") {
            continue;
        }
        let v = value.to_str().unwrap_or_default().replace(&state.upstream, &state.own);
        resp = resp.header(name, v);
    }
    let bytes = up.bytes().await?;
    let body = match (overrun, trickled) {
        (Some((extra, announce)), _) => {
            if announce {
                resp = resp.header("content-length", bytes.len() as u64 + extra);
            }
            let junk = futures_util::stream::iter((0..extra.div_ceil(CHUNK.len() as u64)).map(move |i| {
                let n = (extra - i * CHUNK.len() as u64).min(CHUNK.len() as u64) as usize;
                Ok::<_, BoxError>(Frame::data(Bytes::from_static(&CHUNK[..n])))
            }));
            let head = futures_util::stream::iter([Ok::<_, BoxError>(Frame::data(bytes))]);
            BodyExt::boxed(StreamBody::new(futures_util::StreamExt::chain(head, junk)))
        }
        (None, Some(every)) => trickle(bytes, every),
        (None, None) => full(bytes),
    };
    Ok(resp.body(body)?)
}
