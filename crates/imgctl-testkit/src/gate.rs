//! A Bearer-token gate the [`crate::Proxy`] can put in front of an anonymous registry: it
//! answers `401` with a `WWW-Authenticate: Bearer realm=…` challenge, serves `/token` for the
//! right Basic credentials, and lets a request through only when its token's scope covers
//! the repository and the action (pull/push/delete) — the token flow of hosted registries.

use std::collections::HashMap;

use base64_free::decode_basic;

/// The gate's state.
#[derive(Debug)]
pub(crate) struct Gate {
    user: String,
    password: String,
    /// token → scopes (`repository:NAME:ACTIONS`) it was issued for.
    tokens: HashMap<String, Vec<String>>,
}

/// What the gate decided about a request.
pub(crate) enum Verdict {
    /// Forward it.
    Pass,
    /// Answer with this status, extra header and body.
    Answer(u16, Option<(&'static str, String)>, String),
}

impl Gate {
    pub(crate) fn new(user: &str, password: &str) -> Gate {
        Gate { user: user.to_owned(), password: password.to_owned(), tokens: HashMap::new() }
    }

    pub(crate) fn check(&mut self, own: &str, method: &str, path: &str, authorization: Option<&str>) -> Verdict {
        let challenge = || Some(("www-authenticate", format!(r#"Bearer realm="http://{own}/token",service="imgctl-test""#)));
        let unauthorized = |what: &str| Verdict::Answer(401, challenge(), format!(r#"{{"errors":[{{"code":"UNAUTHORIZED","message":"{what}"}}]}}"#));
        if let Some(query) = path.strip_prefix("/token") {
            let ok = authorization.and_then(|a| a.strip_prefix("Basic ")).and_then(decode_basic).is_some_and(|(u, p)| u == self.user && p == self.password);
            if !ok {
                return Verdict::Answer(401, None, r#"{"details":"bad credentials"}"#.into());
            }
            let scopes: Vec<String> = query.trim_start_matches('?').split('&').filter_map(|kv| kv.strip_prefix("scope=")).map(|s| s.replace("%3A", ":").replace("%2C", ",").replace("%2F", "/")).collect();
            let token = format!("tok-{}", self.tokens.len() + 1);
            self.tokens.insert(token.clone(), scopes);
            return Verdict::Answer(200, None, format!(r#"{{"token":"{token}"}}"#));
        }
        let p = path.split('?').next().unwrap_or(path);
        let Some(rest) = p.strip_prefix("/v2/").filter(|r| !r.is_empty()) else {
            return if authorization.is_some_and(|a| a.starts_with("Bearer ")) { Verdict::Pass } else { unauthorized("ping needs a token") };
        };
        let name = ["/manifests/", "/blobs/", "/tags/"].iter().find_map(|m| rest.split_once(m).map(|(n, _)| n)).unwrap_or(rest);
        let action = match method {
            "GET" | "HEAD" => "pull",
            "DELETE" => "delete",
            _ => "push",
        };
        let mut need = vec![(name.to_owned(), action)];
        if let Some(from) = path.split(['?', '&']).find_map(|kv| kv.strip_prefix("from=")) {
            need.push((from.replace("%2F", "/"), "pull"));
        }
        let Some(scopes) = authorization.and_then(|a| a.strip_prefix("Bearer ")).and_then(|t| self.tokens.get(t)) else {
            return unauthorized("token required");
        };
        let covered = need.iter().all(|(n, a)| {
            scopes.iter().any(|s| s.strip_prefix("repository:").and_then(|r| r.rsplit_once(':')).is_some_and(|(sn, acts)| sn == n && acts.split(',').any(|x| x == *a)))
        });
        if covered { Verdict::Pass } else { unauthorized("token scope does not cover this request") }
    }
}

mod base64_free {
    //! Decoding a Basic `user:password` without a base64 dependency.

    pub(crate) fn decode_basic(b64: &str) -> Option<(String, String)> {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in b64.trim().bytes().filter(|c| *c != b'=') {
            bits = (bits << 6) | T.iter().position(|t| *t == c)? as u32;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
                bits &= (1 << n) - 1;
            }
        }
        let s = String::from_utf8(out).ok()?;
        let (u, p) = s.split_once(':')?;
        Some((u.to_owned(), p.to_owned()))
    }
}
