//! [`TokenServer`]: a token service for distribution's `auth: token`, over TLS with a
//! [`TestCa`] certificate. It follows distribution's "Token Authentication Specification"
//! (`GET realm?service=…&scope=…` with Basic credentials → `{"token","access_token",
//! "expires_in","issued_at"}`, 401 for bad credentials) and "OAuth2 Token" spec (`POST realm`,
//! form-encoded `grant_type=password` (username, password; `access_type=offline` adds a
//! `refresh_token`) or `grant_type=refresh_token`; `client_id` required; 400 `invalid_grant`
//! / `invalid_request` on refusal): <https://distribution.github.io/distribution/spec/auth/token/>,
//! <https://distribution.github.io/distribution/spec/auth/oauth/>. Tokens are ES256 JWTs with
//! the signing certificate in `x5c`, verified by distribution itself against its
//! `rootcertbundle` (the CA). Only actions the user may do are granted. Requests are counted
//! per (grant, scope).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ca::TestCa;

/// The grant a token request used: `basic` (GET with Basic), `password`, `refresh_token`.
pub type Grant = &'static str;

struct User {
    password: String,
    actions: Vec<String>,
}

struct State {
    service: String,
    issuer: String,
    key: jsonwebtoken::EncodingKey,
    x5c: String,
    users: Mutex<HashMap<String, User>>,
    refresh: Mutex<HashMap<String, String>>,
    counts: Mutex<BTreeMap<(Grant, String), usize>>,
    next: Mutex<u64>,
}

/// A running token server; stops with its runtime when dropped.
pub struct TokenServer {
    ca: TestCa,
    _dir: tempfile::TempDir,
    state: Arc<State>,
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenServer").field("port", &self.port).finish_non_exhaustive()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl TokenServer {
    /// Starts a token server on a free port with a CA of its own (see [`TokenServer::ca`]).
    pub fn start() -> TokenServer {
        let dir = tempfile::tempdir().expect("create a temp dir for the token server");
        let ca = TestCa::create(&dir.path().join("ca"));
        TokenServer::start_with(ca, dir)
    }

    fn start_with(ca: TestCa, dir: tempfile::TempDir) -> TokenServer {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(ca.server_cert()).expect("read the server certificate").collect::<Result<_, _>>().expect("parse the server certificate");
        let key = PrivateKeyDer::from_pem_file(ca.server_key()).expect("read the server key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("TLS server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let state = Arc::new(State {
            service: "imgctl-test".into(),
            issuer: "imgctl-testkit".into(),
            key: jsonwebtoken::EncodingKey::from_ec_pem(ca.signing_key_pem.as_bytes()).expect("the token-signing key"),
            x5c: base64::engine::general_purpose::STANDARD.encode(&ca.signing_der),
            users: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
            counts: Mutex::new(BTreeMap::new()),
            next: Mutex::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("build the token server runtime");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the token server");
        std_listener.set_nonblocking(true).expect("make the token server socket non-blocking");
        let port = std_listener.local_addr().expect("token server address").port();
        let st = state.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("register the token server socket");
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (st, acceptor) = (st.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), svc).await;
                });
            }
        });
        TokenServer { ca, _dir: dir, state, port, runtime: Some(runtime) }
    }

    /// The CA whose certificate the server presents and whose signer signs the tokens:
    /// a registry behind this server, and its clients, trust it.
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Adds a user who may do `actions` (e.g. `["pull"]` for a read-only user).
    pub fn user(&self, name: &str, password: &str, actions: &[&str]) -> &TokenServer {
        let user = User { password: password.to_owned(), actions: actions.iter().map(|a| (*a).to_owned()).collect() };
        self.state.users.lock().expect("users").insert(name.to_owned(), user);
        self
    }

    /// A refresh token (identity token) for `user`, as a sign-in (`az acr login`) stores it.
    pub fn refresh_token_for(&self, user: &str) -> String {
        assert!(self.state.users.lock().expect("users").contains_key(user), "no user {user}");
        issue_refresh(&self.state, user)
    }

    /// Makes `token` a refresh token (identity token) of `user`: for tests that must know
    /// the secret's value to check it never reaches output.
    pub fn add_refresh_token(&self, user: &str, token: &str) {
        self.state.refresh.lock().expect("refresh").insert(token.to_owned(), user.to_owned());
    }

    /// `https://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("https://127.0.0.1:{}/token", self.port)
    }

    /// The `service` distribution is configured with (and tokens are issued for).
    pub fn service(&self) -> &str {
        &self.state.service
    }

    /// The `issuer` of the tokens.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// Token requests so far, per (grant, scope) — scope as requested, space-separated.
    pub fn counts(&self) -> BTreeMap<(Grant, String), usize> {
        self.state.counts.lock().expect("counts").clone()
    }

    /// Forgets the counts (between commands of a test).
    pub fn reset_counts(&self) {
        self.state.counts.lock().expect("counts").clear();
    }
}

fn issue_refresh(st: &State, user: &str) -> String {
    let token = format!("rt-{}-{}", fastrand::u64(..), next(st));
    st.refresh.lock().expect("refresh").insert(token.clone(), user.to_owned());
    token
}

fn next(st: &State) -> u64 {
    let mut n = st.next.lock().expect("next");
    *n += 1;
    *n
}

fn json(status: u16, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder().status(status).header("content-type", "application/json").body(Full::new(Bytes::from(body.to_string()))).expect("a response")
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if req.uri().path() != "/token" {
        return Ok(json(404, serde_json::json!({"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})));
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let basic = req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|a| a.strip_prefix("Basic ")).and_then(decode_basic);
    let method = req.method().clone();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    Ok(match method {
        Method::GET => get_token(&st, &query, basic),
        Method::POST => post_token(&st, &form),
        _ => json(405, serde_json::json!({"errors": [{"code": "UNSUPPORTED", "message": "GET or POST"}]})),
    })
}

fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

fn one<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    all(pairs, key).into_iter().next()
}

fn count(st: &State, grant: Grant, scope: &str) {
    *st.counts.lock().expect("counts").entry((grant, scope.to_owned())).or_default() += 1;
}

fn check_password(st: &State, user: &str, password: &str) -> bool {
    st.users.lock().expect("users").get(user).is_some_and(|u| u.password == password)
}

fn get_token(st: &State, query: &[(String, String)], basic: Option<(String, String)>) -> Response<Full<Bytes>> {
    let scope = all(query, "scope").join(" ");
    count(st, "basic", &scope);
    let Some((user, _)) = basic.filter(|(u, p)| check_password(st, u, p)) else {
        return json(401, serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}));
    };
    let (token, expires_in, issued_at) = access_token(st, &user, &scope);
    json(200, serde_json::json!({"token": token, "access_token": token, "expires_in": expires_in, "issued_at": issued_at}))
}

fn post_token(st: &State, form: &[(String, String)]) -> Response<Full<Bytes>> {
    let invalid = |error: &str, description: &str| json(400, serde_json::json!({"error": error, "error_description": description}));
    let scope = all(form, "scope").join(" ");
    let grant = match one(form, "grant_type") {
        Some("password") => "password",
        Some("refresh_token") => "refresh_token",
        _ => return invalid("unsupported_grant_type", "grant_type must be password or refresh_token"),
    };
    count(st, grant, &scope);
    if one(form, "client_id").is_none_or(str::is_empty) {
        return invalid("invalid_request", "client_id is required");
    }
    let user = if grant == "password" {
        match (one(form, "username"), one(form, "password")) {
            (Some(u), Some(p)) if check_password(st, u, p) => u.to_owned(),
            _ => return invalid("invalid_grant", "username or password refused"),
        }
    } else {
        let known = one(form, "refresh_token").and_then(|t| st.refresh.lock().expect("refresh").get(t).cloned());
        match known {
            Some(u) => u,
            None => return invalid("invalid_grant", "unknown refresh token"),
        }
    };
    let (token, expires_in, issued_at) = access_token(st, &user, &scope);
    let mut answer = serde_json::json!({"access_token": token, "scope": scope, "expires_in": expires_in, "issued_at": issued_at});
    if grant == "password" && one(form, "access_type") == Some("offline") {
        answer["refresh_token"] = serde_json::Value::String(issue_refresh(st, &user));
    }
    json(200, answer)
}

/// A signed JWT granting `user` the requested actions of `scope` that it may do.
fn access_token(st: &State, user: &str, scope: &str) -> (String, u64, String) {
    let allowed = st.users.lock().expect("users").get(user).map(|u| u.actions.clone()).unwrap_or_default();
    let access: Vec<serde_json::Value> = scope
        .split(' ')
        .filter_map(|s| {
            let (kind, rest) = s.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            let granted: Vec<&str> = actions.split(',').filter(|a| allowed.iter().any(|x| x == a)).collect();
            Some(serde_json::json!({"type": kind, "name": name, "actions": granted}))
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs();
    let expires_in = 300;
    let claims = serde_json::json!({
        "iss": st.issuer, "sub": user, "aud": st.service, "exp": now + expires_in, "nbf": now - 5, "iat": now,
        "jti": format!("jti-{}", next(st)), "access": access,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(vec![st.x5c.clone()]);
    let token = jsonwebtoken::encode(&header, &claims, &st.key).expect("sign a token");
    let issued_at = chrono::DateTime::from_timestamp(now as i64, 0).expect("a time").to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    (token, expires_in, issued_at)
}

fn decode_basic(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let (u, p) = String::from_utf8(raw).ok()?.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned()))?;
    Some((u, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(ts: &TokenServer) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(ts.ca().ca_pem()).unwrap()).unwrap();
        reqwest::Client::builder().tls_certs_only([ca]).build().unwrap()
    }

    fn claims(token: &str) -> serde_json::Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    async fn post(c: &reqwest::Client, ts: &TokenServer, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let r = c.post(ts.realm()).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    #[test]
    fn the_spec_answers_and_refusals() {
        let ts = TokenServer::start();
        ts.user("ci", "pw", &["pull", "push"]).user("reader", "pw", &["pull"]);
        crate::block_on(async {
            let c = client(&ts);
            // GET with Basic: token and access_token, only the allowed actions
            let url = format!("{}?service=imgctl-test&scope=repository:a/b:pull,push,delete", ts.realm());
            let r = c.get(&url).basic_auth("reader", Some("pw")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let j: serde_json::Value = r.json().await.unwrap();
            assert_eq!(j["token"], j["access_token"]);
            assert!(j["expires_in"].as_u64().unwrap() > 0 && j["issued_at"].as_str().unwrap().ends_with('Z'), "{j}");
            let cl = claims(j["token"].as_str().unwrap());
            assert_eq!(cl["access"], serde_json::json!([{"type": "repository", "name": "a/b", "actions": ["pull"]}]));
            assert_eq!((cl["aud"].as_str(), cl["iss"].as_str(), cl["sub"].as_str()), (Some("imgctl-test"), Some("imgctl-testkit"), Some("reader")));
            assert_eq!(c.get(&url).basic_auth("ci", Some("nope")).send().await.unwrap().status(), 401);
            assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
            // POST password grant; offline access adds a refresh token, which then works
            let scope = "repository:a/b:pull,push";
            let (s, j) = post(&c, &ts, &[("grant_type", "password"), ("username", "ci"), ("password", "pw"), ("client_id", "t"), ("access_type", "offline"), ("scope", scope)]).await;
            assert_eq!(s, 200, "{j}");
            let rt = j["refresh_token"].as_str().unwrap().to_owned();
            assert_eq!(claims(j["access_token"].as_str().unwrap())["access"][0]["actions"], serde_json::json!(["pull", "push"]));
            let (s, j) = post(&c, &ts, &[("grant_type", "password"), ("username", "ci"), ("password", "pw"), ("client_id", "t"), ("scope", scope)]).await;
            assert!(s == 200 && j.get("refresh_token").is_none(), "online access: no refresh token: {j}");
            let (s, j) = post(&c, &ts, &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", "t"), ("scope", scope)]).await;
            assert!(s == 200 && j["access_token"].is_string(), "{j}");
            // refusals: bad password, unknown refresh token, no client_id, unknown grant
            let (s, j) = post(&c, &ts, &[("grant_type", "password"), ("username", "ci"), ("password", "x"), ("client_id", "t")]).await;
            assert_eq!((s, j["error"].as_str()), (400, Some("invalid_grant")));
            let (s, j) = post(&c, &ts, &[("grant_type", "refresh_token"), ("refresh_token", "unknown"), ("client_id", "t")]).await;
            assert_eq!((s, j["error"].as_str()), (400, Some("invalid_grant")));
            let (s, j) = post(&c, &ts, &[("grant_type", "refresh_token"), ("refresh_token", &rt)]).await;
            assert_eq!((s, j["error"].as_str()), (400, Some("invalid_request")));
            let (s, j) = post(&c, &ts, &[("grant_type", "client_credentials"), ("client_id", "t")]).await;
            assert_eq!((s, j["error"].as_str()), (400, Some("unsupported_grant_type")));
        });
        let counts = ts.counts();
        assert_eq!(counts.get(&("basic", "repository:a/b:pull,push,delete".to_owned())), Some(&3), "{counts:?}");
        assert_eq!(counts.get(&("password", "repository:a/b:pull,push".to_owned())), Some(&2), "{counts:?}");
    }
}
