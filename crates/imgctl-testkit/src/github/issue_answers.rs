//! The answers of the Issues stand-in ([`super::issues`]): GitHub's issue and comment objects,
//! error bodies (`{"message", "documentation_url", "status"}`, `errors` on a 422), pages with
//! their `Link` header, and `201 Created` with its `Location`.

use serde_json::{Value, json};

use super::issues::{Comment, Issue, MAX_BODY_CHARS, State};
use super::{Body, json as answer};
use hyper::Response;

pub(super) fn user(login: &str) -> Value {
    json!({ "login": login, "id": 41898282, "type": if login.ends_with("[bot]") { "Bot" } else { "User" } })
}

pub(super) fn issue_json(st: &State, i: &Issue) -> Value {
    let api = format!("http://{}/repos/{}", st.own, st.repository);
    json!({
        "id": 9_000_000 + i.number, "node_id": format!("I_kwStandIn{}", i.number),
        "url": format!("{api}/issues/{}", i.number), "repository_url": api,
        "labels_url": format!("{api}/issues/{}/labels{{/name}}", i.number),
        "comments_url": format!("{api}/issues/{}/comments", i.number),
        "events_url": format!("{api}/issues/{}/events", i.number),
        "html_url": format!("https://github.com/{}/issues/{}", st.repository, i.number),
        "number": i.number, "state": i.state, "state_reason": i.state_reason, "title": i.title, "body": i.body,
        "user": user(&i.user),
        "labels": i.labels.iter().map(|l| json!({ "id": 1, "node_id": "LA_standin", "url": format!("{api}/labels/{l}"), "name": l, "description": null, "color": "ededed", "default": false })).collect::<Vec<_>>(),
        "assignee": null, "assignees": [], "milestone": null, "locked": false, "active_lock_reason": null,
        "comments": i.comments.len(), "created_at": i.created_at, "updated_at": i.updated_at, "closed_at": i.closed_at,
        "closed_by": null, "author_association": "NONE"
    })
}

pub(super) fn comment_json(st: &State, number: u64, c: &Comment) -> Value {
    let api = format!("http://{}/repos/{}", st.own, st.repository);
    json!({
        "id": c.id, "node_id": format!("IC_kwStandIn{}", c.id), "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("https://github.com/{}/issues/{number}#issuecomment-{}", st.repository, c.id),
        "body": c.body, "user": user(&c.user), "created_at": c.at, "updated_at": c.at,
        "issue_url": format!("{api}/issues/{number}"), "author_association": "NONE"
    })
}

/// `{"message", "documentation_url", "status"}` (and `errors`, for a 422); `doc` is the page
/// under `https://docs.github.com/rest/` (`issues/issues#create-an-issue`).
pub(super) fn error(status: u16, message: &str, doc: &str, errors: Option<Value>) -> Response<Body> {
    let mut v = json!({ "message": message, "documentation_url": format!("https://docs.github.com/rest/{doc}"), "status": status.to_string() });
    if let Some(e) = errors {
        v["errors"] = e;
    }
    answer(status, v)
}

pub(super) fn invalid(resource: &str, field: &str, code: &str, doc: &str) -> Response<Body> {
    error(422, "Validation Failed", doc, Some(json!([{ "resource": resource, "field": field, "code": code }])))
}

pub(super) fn too_long(resource: &str, doc: &str) -> Response<Body> {
    let message = format!("body is too long (maximum is {MAX_BODY_CHARS} characters)");
    error(422, "Validation Failed", doc, Some(json!([{ "resource": resource, "field": "body", "code": "custom", "message": message }])))
}

/// One page of `items` with the `Link` header GitHub sends while more follow.
pub(super) fn page(items: Vec<Value>, q: &str, url: &str) -> Response<Body> {
    let per_page = super::issues::query(q, "per_page").and_then(|v| v.parse().ok()).unwrap_or(30usize).clamp(1, 100);
    let n = super::issues::query(q, "page").and_then(|v| v.parse().ok()).unwrap_or(1usize).max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let rest: Vec<&str> = q.split('&').filter(|kv| !kv.is_empty() && !kv.starts_with("page=") && !kv.starts_with("per_page=")).collect();
    let keep = rest.iter().map(|kv| format!("&{kv}")).collect::<String>();
    let body: Vec<Value> = items.into_iter().skip((n - 1) * per_page).take(per_page).collect();
    let mut resp = answer(200, Value::Array(body));
    if n < last {
        let link = format!("<{url}?per_page={per_page}&page={}{keep}>; rel=\"next\", <{url}?per_page={per_page}&page={last}{keep}>; rel=\"last\"", n + 1);
        resp.headers_mut().insert("link", link.parse().expect("a header value"));
    }
    resp
}

pub(super) fn created(v: Value) -> Response<Body> {
    let location = v["url"].as_str().unwrap_or_default().to_owned();
    let mut r = answer(201, v);
    r.headers_mut().insert("location", location.parse().expect("a header value"));
    r
}
