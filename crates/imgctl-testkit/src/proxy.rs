//! [`Proxy`]: an HTTP/1 proxy in front of a registry that counts every request by method and
//! path kind and injects faults (429 + Retry-After, 5xx, dropped connections, resets mid-body,
//! altered manifest bytes, canned answers of hosted registries) at a seeded rate. New fault
//! kinds are new [`Fault`] variants and one arm in `inject`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};

pub use crate::answer::Answer;
use crate::gate::{Gate, Verdict};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// What a request path is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathKind {
    /// `/v2/`.
    Ping,
    /// `/v2/<name>/manifests/<ref>`.
    Manifest,
    /// `/v2/<name>/blobs/<digest>`.
    Blob,
    /// `/v2/<name>/blobs/uploads/…`.
    BlobUpload,
    /// `/v2/<name>/tags/list`.
    TagsList,
    /// Anything else.
    Other,
}

impl PathKind {
    /// Classifies a request path.
    pub fn of(path: &str) -> PathKind {
        let p = path.split('?').next().unwrap_or(path);
        match p.strip_prefix("/v2/") {
            Some("") => PathKind::Ping,
            Some(rest) if rest.contains("/manifests/") => PathKind::Manifest,
            Some(rest) if rest.contains("/blobs/uploads") => PathKind::BlobUpload,
            Some(rest) if rest.contains("/blobs/") => PathKind::Blob,
            Some(rest) if rest.ends_with("/tags/list") => PathKind::TagsList,
            _ => PathKind::Other,
        }
    }
}

/// A fault the proxy can inject instead of (or into) the upstream answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: secs` (not forwarded).
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// This status (e.g. 500, 502, 503; or 400/404 to prove they are not retried), not forwarded.
    Status(u16),
    /// The connection is closed without an answer (not forwarded).
    Drop,
    /// Forwarded; the answer's headers and half its body are sent, then the connection is reset.
    ResetMidBody,
    /// Forwarded after a delay (past a client's read timeout, to test timeouts).
    Slow {
        /// The delay.
        millis: u64,
    },
    /// Forwarded; the full `Content-Length` is announced but only half the body is sent.
    Truncate,
    /// Forwarded; a manifest GET's body is altered (headers, digest included, kept).
    AlterManifest,
    /// Forwarded; the `Docker-Content-Digest` of the answer is replaced by another digest.
    WrongDigestHeader,
    /// Forwarded; a tag list gets a `Link: <…>; rel="next"` to a new URL serving the same
    /// list (what a registry ignoring `last` would do if it paged).
    NextLink,
    /// Forwarded; a tag list's `tags` come back in reverse order (registries need not sort).
    ReverseTags,
    /// Not forwarded: this answer for the requests the rule matches (a hosted registry's
    /// refusal, e.g. ECR's immutable-tag `400 TAG_INVALID`).
    Answer(Answer),
}

impl Fault {
    fn applies(&self, method: &str, kind: PathKind, path: &str) -> bool {
        match self {
            Fault::Answer(a) => a.matches(method, path),
            Fault::ResetMidBody | Fault::Truncate => method == "GET",
            Fault::AlterManifest => method == "GET" && kind == PathKind::Manifest,
            Fault::NextLink | Fault::ReverseTags => method == "GET" && kind == PathKind::TagsList,
            _ => true,
        }
    }
}

/// Which faults to inject, how often, and where.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Probability in 0..=1 that a matching request gets a fault.
    pub rate: f64,
    /// Seed of the proxy's random choices.
    pub seed: u64,
    /// Faults to pick from (uniformly, among those that apply to the request).
    pub faults: Vec<Fault>,
    /// Only requests of these kinds get faults (empty: all).
    pub kinds: Vec<PathKind>,
    /// Stop after this many faults (`None`: no limit).
    pub max: Option<usize>,
}

impl FaultPlan {
    /// Every matching request gets `fault`.
    pub fn always(fault: Fault) -> FaultPlan {
        FaultPlan { rate: 1.0, faults: vec![fault], ..FaultPlan::default() }
    }
}

/// One request seen by the proxy.
#[derive(Debug, Clone)]
pub struct Event {
    /// When it arrived.
    pub at: Instant,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Path kind.
    pub kind: PathKind,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
}

/// Request counts by (method, kind).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<(String, PathKind), u64>);

impl Counts {
    /// Requests with `method` on `kind`.
    pub fn get(&self, method: &str, kind: PathKind) -> u64 {
        self.0.get(&(method.to_owned(), kind)).copied().unwrap_or(0)
    }
    /// Requests on `kind`, any method.
    pub fn kind(&self, kind: PathKind) -> u64 {
        self.0.iter().filter(|((_, k), _)| *k == kind).map(|(_, n)| n).sum()
    }
    /// Requests about blobs (HEAD/GET and uploads).
    pub fn blobs(&self) -> u64 {
        self.kind(PathKind::Blob) + self.kind(PathKind::BlobUpload)
    }
    /// All requests.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

#[derive(Debug)]
pub(crate) struct State {
    upstream: String,
    own: String,
    http: reqwest::Client,
    events: Mutex<Vec<Event>>,
    plan: Mutex<(FaultPlan, fastrand::Rng, usize)>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    gate: Mutex<Option<Gate>>,
    referrers: crate::referrers_api::Referrers,
    pub(crate) stall: crate::stall::Stall,
}

/// Decrements the in-flight count when a request is done.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running proxy; stops with its runtime when dropped.
#[derive(Debug)]
pub struct Proxy {
    state: Arc<State>,
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Proxy {
    /// Starts a proxy on a free 127.0.0.1 port forwarding to `upstream` (`host:port`, plain HTTP).
    pub fn start(upstream: &str) -> Proxy {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("build the proxy client");
        let (listener, port) = crate::serve::bind("proxy");
        let state = Arc::new(State {
            upstream: upstream.to_owned(),
            own: format!("127.0.0.1:{port}"),
            http,
            events: Mutex::new(Vec::new()),
            plan: Mutex::new((FaultPlan::default(), fastrand::Rng::with_seed(0), 0)),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            gate: Mutex::new(None),
            referrers: Default::default(),
            stall: Default::default(),
        });
        let runtime = crate::serve::serve("proxy", 2, listener, state.clone(), handle);
        Proxy { state, port, runtime: Some(runtime) }
    }

    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn host(&self) -> String {
        self.state.own.clone()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Replaces the fault plan (and reseeds).
    pub fn set_faults(&self, plan: FaultPlan) {
        let rng = fastrand::Rng::with_seed(plan.seed);
        *self.state.plan.lock().expect("plan lock") = (plan, rng, 0);
    }

    /// Stops injecting faults.
    pub fn clear_faults(&self) {
        self.set_faults(FaultPlan::default());
    }

    /// Every request seen since the last reset.
    pub fn events(&self) -> Vec<Event> {
        self.state.events.lock().expect("events lock").clone()
    }

    /// Counts since the last reset.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for e in self.events() {
            *c.0.entry((e.method, e.kind)).or_default() += 1;
        }
        c
    }

    /// The most requests that were in flight at once since the last reset.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// From now on, demands Bearer tokens (served at `/token` for `user`/`password`) whose
    /// scope covers each request's repository and action, like a hosted registry.
    pub fn require_bearer(&self, user: &str, password: &str) {
        *self.state.gate.lock().expect("gate lock") = Some(Gate::new(user, password));
    }

    /// From now on, answers the referrers API like a registry that has it (`referrers_api.rs`).
    pub fn enable_referrers_api(&self) {
        self.state.referrers.enable();
    }

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        self.state.events.lock().expect("events lock").clear();
        self.state.max_in_flight.store(0, Ordering::SeqCst);
    }
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|e: Infallible| match e {}).boxed()
}

fn pick_fault(state: &State, method: &str, kind: PathKind, path: &str) -> Option<Fault> {
    let mut guard = state.plan.lock().expect("plan lock");
    let (plan, rng, injected) = &mut *guard;
    if plan.faults.is_empty() || plan.max.is_some_and(|m| *injected >= m) || !(plan.kinds.is_empty() || plan.kinds.contains(&kind)) {
        return None;
    }
    let applicable: Vec<&Fault> = plan.faults.iter().filter(|f| f.applies(method, kind, path)).collect();
    if applicable.is_empty() || rng.f64() >= plan.rate {
        return None;
    }
    *injected += 1;
    Some(applicable[rng.usize(..applicable.len())].clone())
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(&state.in_flight);
    let method = req.method().as_str().to_owned();
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    let kind = PathKind::of(&path);
    let fault = pick_fault(&state, &method, kind, &path);
    state.events.lock().expect("events lock").push(Event { at: Instant::now(), method: method.clone(), path: path.clone(), kind, fault: fault.clone() });
    if state.stall.hold(&method).await {
        return Err("held by the test (stall_write), then dropped".into());
    }
    if let Some(gate) = state.gate.lock().expect("gate lock").as_mut() {
        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        if let Verdict::Answer(status, header, body) = gate.check(&state.own, &method, &path, auth) {
            let mut r = Response::builder().status(status).header("content-type", "application/json");
            if let Some((k, v)) = header {
                r = r.header(k, v);
            }
            return Ok(r.body(full(body))?);
        }
    }
    let error_body = |code: &str| full(format!(r#"{{"errors":[{{"code":"{code}","message":"injected by the test proxy"}}]}}"#));
    match &fault {
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            return Ok(Response::builder().status(429).header("retry-after", retry_after_secs.to_string()).header("content-type", "application/json").body(error_body("TOOMANYREQUESTS"))?);
        }
        Some(Fault::Status(s)) => {
            return Ok(Response::builder().status(*s).header("content-type", "application/json").body(error_body("UNAVAILABLE"))?);
        }
        Some(Fault::Answer(a)) => {
            return Ok(Response::builder().status(a.status).header("content-type", "application/json").body(full(a.body.clone()))?);
        }
        Some(Fault::Drop) => return Err("injected: connection dropped".into()),
        Some(Fault::Slow { millis }) => tokio::time::sleep(std::time::Duration::from_millis(*millis)).await,
        _ => {}
    }
    if let Some((headers, body)) = state.referrers.answer(&method, &path) {
        let r = headers.into_iter().fold(Response::builder().status(200), |r, (k, v)| r.header(k, v));
        return Ok(r.body(full(body))?);
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let sent = body.clone();
    let mut fwd = state.http.request(parts.method.clone(), format!("http://{}{}", state.upstream, path)).body(body);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "connection" | "transfer-encoding" | "content-length") {
            fwd = fwd.header(name, value);
        }
    }
    let up = fwd.send().await?;
    let mut resp = Response::builder().status(StatusCode::from_u16(up.status().as_u16())?);
    if method == "PUT" && kind == PathKind::Manifest && up.status().is_success()
        && let Some(subject) = state.referrers.on_put(&path, &sent)
    {
        resp = resp.header("oci-subject", subject);
    }
    let alter = matches!(fault, Some(Fault::AlterManifest | Fault::ReverseTags)) && up.status().is_success();
    for (name, value) in up.headers() {
        let n = name.as_str();
        if matches!(n, "connection" | "transfer-encoding") || (alter && n == "content-length") {
            continue;
        }
        if fault == Some(Fault::WrongDigestHeader) && n == "docker-content-digest" {
            resp = resp.header(name, format!("sha256:{}", "0".repeat(64)));
        } else if n == "location" || n == "link" {
            let v = value.to_str().unwrap_or_default().replace(&state.upstream, &state.own);
            resp = resp.header(name, v);
        } else {
            resp = resp.header(name, value);
        }
    }
    if fault == Some(Fault::NextLink) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let n = state.events.lock().expect("events lock").len();
        resp = resp.header("link", format!("<{path}{sep}imgctl-page={n}>; rel=\"next\""));
    }
    let bytes = up.bytes().await?;
    let body = match fault {
        Some(Fault::AlterManifest) if alter => {
            let mut v = bytes.to_vec();
            // Same JSON, different bytes: a digest check is the only way to notice.
            v.extend_from_slice(b"\n");
            full(v)
        }
        Some(Fault::ReverseTags) if alter => {
            let mut list: serde_json::Value = serde_json::from_slice(&bytes)?;
            if let Some(tags) = list.get_mut("tags").and_then(|t| t.as_array_mut()) {
                tags.reverse();
            }
            full(serde_json::to_vec(&list)?)
        }
        Some(Fault::Truncate) => {
            // the upstream Content-Length header was copied; the body stops half way
            let half = bytes.slice(..bytes.len() / 2);
            let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![Ok(Frame::data(half))];
            BodyExt::boxed(StreamBody::new(futures_util::stream::iter(frames)))
        }
        Some(Fault::ResetMidBody) => {
            let half = bytes.slice(..bytes.len() / 2);
            let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![Ok(Frame::data(half)), Err("injected: connection reset mid-body".into())];
            BodyExt::boxed(StreamBody::new(futures_util::stream::iter(frames)))
        }
        _ => full(bytes),
    };
    Ok(resp.body(body)?)
}
