//! The issues client against the test kit's stand-in for GitHub's Issues API: what it makes,
//! finds and pages, and each error answer GitHub documents, as the client reads it and as
//! the stand-in sends it (raw, so the stand-in's shapes are checked too).

use imgctl_registry::issues::{IssueUpdate, IssuesClient};
use imgctl_registry::{ClientOptions, GithubApi, RegistryError, RetryPolicy, Secret};
use imgctl_testkit::block_on;
use imgctl_testkit::github::{GithubIssues, IssueRights};

const REPO: &str = "acme/fleet";
const WRITER: &str = "ghs_writer";
const READER: &str = "ghs_reader";

fn client(gh: &GithubIssues, repo: &str, token: Option<&str>) -> IssuesClient {
    let mut opts = ClientOptions::new("unused").insecure_if_listed(&["127.0.0.1".into()]);
    opts.retry = RetryPolicy { max_attempts: 3, base_delay: std::time::Duration::from_millis(10), ..RetryPolicy::default() };
    IssuesClient::new(GithubApi { base: gh.url(), token: token.map(Secret::new) }, repo, &opts).expect("client")
}

fn stand_in() -> GithubIssues {
    GithubIssues::start(REPO, &[(WRITER, IssueRights::Write), (READER, IssueRights::Read)])
}

#[test]
fn issues_are_created_found_by_label_paged_updated_and_commented() {
    let gh = stand_in();
    let c = client(&gh, REPO, Some(WRITER));
    block_on(async {
        let made = c.create("[ROLLOUT] 2026-12-09: 2 variants", "body", &["imgctl-rollout"]).await.unwrap();
        assert_eq!((made.number, made.state.as_str(), made.labels[0].name.as_str()), (1, "open", "imgctl-rollout"));
        assert_eq!(made.html_url, "https://github.com/acme/fleet/issues/1");
        // someone else's issue without the label, and 120 labelled ones: two pages of 100
        gh.open_issue("octocat", "[ROLLOUT] 2026-12-09: 2 variants", "a person's", &[]);
        for k in 0..120 {
            c.create(&format!("n{k}"), "", &["imgctl-rollout", "other"]).await.unwrap();
        }
        let found = c.open_with_label("imgctl-rollout").await.unwrap();
        assert_eq!(found.len(), 121, "every page, only labelled issues");
        assert_eq!(found[0].title, "n119", "newest first");
        let lists: Vec<String> = gh.requests().into_iter().filter(|r| r.starts_with("GET /repos/acme/fleet/issues?")).collect();
        assert_eq!(lists.len(), 2, "{lists:?}");
        assert!(lists[0].contains("state=open") && lists[0].contains("labels=imgctl-rollout") && lists[0].contains("per_page=100"), "{lists:?}");
        // update: body and title; closed issues are not listed as open
        let up = c.update(1, &IssueUpdate { body: Some("new body".into()), title: Some("[ROLLOUT] 2026-12-09: 3 variants".into()), ..IssueUpdate::default() }).await.unwrap();
        assert_eq!((up.body.as_deref(), up.title.as_str()), (Some("new body"), "[ROLLOUT] 2026-12-09: 3 variants"));
        c.update(3, &IssueUpdate { state: Some("closed".into()), ..IssueUpdate::default() }).await.unwrap();
        assert_eq!(c.open_with_label("imgctl-rollout").await.unwrap().len(), 120);
        // comments, oldest first
        for k in 0..3 {
            c.comment(1, &format!("comment {k}")).await.unwrap();
        }
        let cs = c.comments(1).await.unwrap();
        assert_eq!(cs.iter().map(|c| c.body.clone().unwrap()).collect::<Vec<_>>(), ["comment 0", "comment 1", "comment 2"]);
        assert!(cs[0].html_url.starts_with("https://github.com/acme/fleet/issues/1#issuecomment-"), "{}", cs[0].html_url);
        // the token went as a Bearer header, GitHub's version header with it (the stand-in
        // accepts only known tokens); the reader can list
        assert_eq!(client(&gh, REPO, Some(READER)).open_with_label("imgctl-rollout").await.unwrap().len(), 120);
    });
}

#[test]
fn each_documented_error_answer_is_told_with_the_endpoint_and_what_to_do() {
    let gh = stand_in();
    block_on(async {
        let w = client(&gh, REPO, Some(WRITER));
        w.create("one", "", &[]).await.unwrap();
        // 401: no token, a bad token — refused access (exit 3)
        let e = client(&gh, REPO, None).open_with_label("x").await.unwrap_err();
        assert!(e.is_access() && e.to_string().contains("GITHUB_TOKEN"), "{e}");
        let e = client(&gh, REPO, Some("nope")).open_with_label("x").await.unwrap_err();
        assert!(e.is_access() && e.to_string().contains("HTTP 401") && e.to_string().contains("Bad credentials"), "{e}");
        // 403: a token without issues: write creates nothing
        let r = client(&gh, REPO, Some(READER));
        for e in [r.create("t", "b", &[]).await.unwrap_err(), r.comment(1, "c").await.unwrap_err()] {
            let m = e.to_string();
            assert!(e.is_access() && m.contains("HTTP 403") && m.contains("Resource not accessible by integration") && m.contains("permissions: issues: write"), "{m}");
            assert!(m.contains(": POST 127.0.0.1:") && m.contains("/repos/acme/fleet/issues"), "names the endpoint: {m}");
        }
        // 404: an unknown repository; an unknown issue
        let e = client(&gh, "acme/nope", Some(WRITER)).open_with_label("x").await.unwrap_err();
        assert!(matches!(e, RegistryError::NotFound { .. }) && e.to_string().contains("'acme/nope'"), "{e}");
        assert!(w.comments(99).await.unwrap_err().is_not_found());
        // 422: GitHub's validation errors, told with their field
        let e = w.create(" ", "b", &[]).await.unwrap_err();
        assert!(e.to_string().contains("HTTP 422") && e.to_string().contains("Issue.title missing_field"), "{e}");
        let e = w.comment(1, &"x".repeat(65537)).await.unwrap_err();
        assert!(e.to_string().contains("IssueComment.body custom: body is too long (maximum is 65536 characters)"), "{e}");
        // 410: issues turned off
        gh.set_issues_enabled(false);
        let e = w.create("t", "b", &[]).await.unwrap_err();
        assert!(!e.is_access() && e.to_string().contains("HTTP 410") && e.to_string().contains("Settings → General → Features → Issues"), "{e}");
        gh.set_issues_enabled(true);
        // rate limits: a listing is retried; a POST is sent once (a lost answer could be a made issue)
        gh.rate_limit_next(1);
        assert_eq!(w.open_with_label("x").await.unwrap().len(), 0);
        gh.rate_limit_next(1);
        let before = gh.issues().len();
        let e = w.create("t", "b", &[]).await.unwrap_err();
        assert!(e.to_string().contains("rate limit"), "{e}");
        assert_eq!(gh.issues().len(), before);
    });
    // credentials never go over plain HTTP to a host not listed insecure
    let opts = ClientOptions::new("unused");
    let c = IssuesClient::new(GithubApi { base: gh.url(), token: Some(Secret::new(WRITER)) }, REPO, &opts).unwrap();
    let e = block_on(c.open_with_label("x")).unwrap_err();
    assert!(e.to_string().contains("refusing to send credentials in plain HTTP"), "{e}");
}

/// The stand-in's own answers, raw: status, `Location`, `Link`, and GitHub's error shapes.
#[test]
fn the_stand_in_answers_as_github_documents() {
    let gh = stand_in();
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, token: Option<&str>, body: Option<&str>| {
        let mut r = http.request(method, format!("{}{path}", gh.url())).header("x-github-api-version", "2022-11-28");
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            r = r.body(b.to_owned());
        }
        async move {
            let resp = r.send().await.unwrap();
            let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
            (status, headers, resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    block_on(async {
        let (s, _, e) = send(reqwest::Method::GET, "/repos/acme/fleet/issues", None, None).await;
        assert_eq!((s, e["message"].as_str()), (401, Some("Requires authentication")));
        assert_eq!(e["documentation_url"], "https://docs.github.com/rest/issues/issues", "GitHub's page for the Issues API");
        assert_eq!(e["status"], "401");
        let (s, h, made) = send(reqwest::Method::POST, "/repos/acme/fleet/issues", Some(WRITER), Some(r#"{"title":"t","labels":["a"]}"#)).await;
        assert_eq!(s, 201);
        assert_eq!(h["location"].to_str().unwrap(), made["url"].as_str().unwrap());
        assert_eq!((made["number"].as_u64(), made["comments"].as_u64(), made["user"]["login"].as_str()), (Some(1), Some(0), Some("github-actions[bot]")));
        let (s, _, e) = send(reqwest::Method::POST, "/repos/acme/fleet/issues", Some(WRITER), Some("{not json")).await;
        assert_eq!((s, e["message"].as_str()), (400, Some("Problems parsing JSON")));
        let (s, _, e) = send(reqwest::Method::POST, "/repos/acme/fleet/issues", Some(WRITER), Some(r#"{"body":"no title"}"#)).await;
        assert_eq!((s, e["message"].as_str()), (422, Some("Validation Failed")));
        assert_eq!(e["documentation_url"], "https://docs.github.com/rest/issues/issues#create-an-issue");
        assert_eq!(e["errors"][0], serde_json::json!({ "resource": "Issue", "field": "title", "code": "missing_field" }));
        let (s, _, e) = send(reqwest::Method::PATCH, "/repos/acme/fleet/issues/1", Some(WRITER), Some(r#"{"state":"shut"}"#)).await;
        assert_eq!((s, e["errors"][0]["code"].as_str()), (422, Some("invalid")));
        let (s, _, closed) = send(reqwest::Method::PATCH, "/repos/acme/fleet/issues/1", Some(WRITER), Some(r#"{"state":"closed","labels":["b"]}"#)).await;
        assert_eq!((s, closed["state"].as_str(), closed["state_reason"].as_str(), closed["labels"][0]["name"].as_str()), (200, Some("closed"), Some("completed"), Some("b")));
        assert!(closed["closed_at"].is_string());
        let (s, _, e) = send(reqwest::Method::POST, "/repos/acme/fleet/issues/1/comments", Some(READER), Some(r#"{"body":"x"}"#)).await;
        assert_eq!((s, e["message"].as_str()), (403, Some("Resource not accessible by integration")));
        let (s, _, e) = send(reqwest::Method::GET, "/repos/acme/other/issues", Some(WRITER), None).await;
        assert_eq!((s, e["message"].as_str()), (404, Some("Not Found")));
        for k in 0..3 {
            send(reqwest::Method::POST, "/repos/acme/fleet/issues/1/comments", Some(WRITER), Some(&format!(r#"{{"body":"c{k}"}}"#))).await;
        }
        let (s, h, page) = send(reqwest::Method::GET, "/repos/acme/fleet/issues/1/comments?per_page=2", Some(READER), None).await;
        assert_eq!((s, page.as_array().unwrap().len()), (200, 2));
        let link = h["link"].to_str().unwrap();
        assert!(link.contains("page=2>; rel=\"next\"") && link.contains("rel=\"last\""), "{link}");
        let (_, _, listed) = send(reqwest::Method::GET, "/repos/acme/fleet/issues?state=closed&labels=b&creator=github-actions%5Bbot%5D", Some(READER), None).await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let (_, _, none) = send(reqwest::Method::GET, "/repos/acme/fleet/issues?state=closed&creator=octocat", Some(READER), None).await;
        assert_eq!(none.as_array().unwrap().len(), 0);
        gh.set_issues_enabled(false);
        let (s, _, e) = send(reqwest::Method::GET, "/repos/acme/fleet/issues", Some(READER), None).await;
        assert_eq!((s, e["message"].as_str()), (410, Some("Issues are disabled for this repo")));
    });
}
