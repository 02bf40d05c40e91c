//! Listing every tag of a repository, defensively: registries may page (RFC 5988 `Link`
//! headers) or not (distribution 2.8 ignores `n`/`last` and answers unsorted); pages are
//! followed until there is no next one, a page adds nothing new, or a URL repeats.

use std::collections::{BTreeSet, HashSet};

use reqwest::{Method, Url};

use crate::Result;
use crate::auth::Access;
use crate::client::{RegistryClient, status_error};
use crate::error::RegistryError;
use crate::retry::Failure;

/// Tags asked for per page (registries that honour `n` page by it).
const PAGE: usize = 1000;

/// The `rel="next"` target of a `Link` header, e.g. `</v2/a/tags/list?n=2&last=b>; rel="next"`.
pub(crate) fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let t = target.trim();
        is_next.then(|| t.strip_prefix('<').and_then(|t| t.strip_suffix('>'))).flatten()
    })
}

/// Every tag of `repo`, sorted. A repository that does not exist (404) has no tags.
pub(crate) async fn list_all(client: &RegistryClient, repo: &str) -> Result<Vec<String>> {
    let (op, target) = ("list tags of", client.target(repo, None));
    let mut url = client.url(&format!("{repo}/tags/list"))?;
    url.query_pairs_mut().append_pair("n", &PAGE.to_string());
    let mut tags = BTreeSet::new();
    let mut seen: HashSet<Url> = HashSet::new();
    loop {
        seen.insert(url.clone());
        let page = client
            .call(op, &target, &[(repo, Access::Pull)], |auth| {
                let (url, target) = (url.clone(), &target);
                async move {
                    let _permit = client.permit().await;
                    let resp = client.send(op, target, Method::GET, url, auth.as_ref(), |r| r).await?;
                    match resp.status().as_u16() {
                        200..=299 => {}
                        404 => return Ok(None),
                        _ => return Err(Failure::Fatal(status_error(op, target, resp).await)),
                    }
                    let next = resp.headers().get(reqwest::header::LINK).and_then(|v| v.to_str().ok()).and_then(next_link).map(str::to_owned);
                    let body = crate::client::read_limited(op, target, resp, crate::client::MAX_LISTING_BYTES).await?;
                    #[derive(serde::Deserialize)]
                    struct TagList {
                        tags: Option<Vec<String>>,
                    }
                    let list: TagList = serde_json::from_slice(&body)
                        .map_err(|e| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("tag list is not the expected JSON: {e}") })?;
                    Ok(Some((list.tags.unwrap_or_default(), next)))
                }
            })
            .await?;
        let Some((page_tags, next)) = page else { return Ok(Vec::new()) };
        let before = tags.len();
        tags.extend(page_tags);
        let progressed = tags.len() > before;
        let next = match next {
            Some(n) => client.url(&n).ok(),
            None => None,
        };
        match next {
            Some(n) if progressed && !seen.contains(&n) => url = n,
            Some(_) => {
                tracing::debug!("{op} {target}: stopping paging: the registry made no progress");
                break;
            }
            None => break,
        }
    }
    Ok(tags.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#), Some("/v2/a/tags/list?n=2&last=b"));
        assert_eq!(next_link(r#"<https://r/v2/a/tags/list?last=b>; rel=next, <https://r/x>; rel="prev""#), Some("https://r/v2/a/tags/list?last=b"));
        assert_eq!(next_link(r#"<https://r/x>; rel="prev""#), None);
    }
}
