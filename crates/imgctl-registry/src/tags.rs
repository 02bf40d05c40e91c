//! Listing every tag of a repository, defensively: registries may page (RFC 5988 `Link`
//! headers) or not (distribution 2.8 ignores `n`/`last` and answers unsorted); pages are
//! followed until there is no next one, a page adds nothing new, or a URL repeats.

use std::collections::{BTreeSet, HashSet};

use reqwest::{Method, Url};

use crate::Result;
use crate::answer::{MAX_LISTING_BYTES, next_of, read_limited};
use crate::auth::Access;
use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::transport::{Call, success_or_404};

/// Tags asked for per page (registries that honour `n` page by it).
const PAGE: usize = 1000;

/// Every tag of `repo`, sorted. A repository that does not exist (404) has no tags.
pub(crate) async fn list_all(client: &RegistryClient, repo: &str) -> Result<Vec<String>> {
    let (op, target) = ("list tags of", client.target(repo, None));
    let mut url = client.url(&format!("{repo}/tags/list"))?;
    url.query_pairs_mut().append_pair("n", &PAGE.to_string());
    let mut tags = BTreeSet::new();
    let mut seen: HashSet<Url> = HashSet::new();
    loop {
        seen.insert(url.clone());
        let call = Call { takes: success_or_404, ..Call::new(op, &target, Method::GET, url.clone()) };
        let target = &target;
        let page = client
            .request(call, &[(repo, Access::Pull)], |resp| async move {
                if resp.status().as_u16() == 404 {
                    return Ok(None);
                }
                let next = next_of(resp.headers());
                let body = read_limited(op, target, resp, MAX_LISTING_BYTES).await?;
                #[derive(serde::Deserialize)]
                struct TagList {
                    tags: Option<Vec<String>>,
                }
                let list: TagList = serde_json::from_slice(&body)
                    .map_err(|e| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("tag list is not the expected JSON: {e}") })?;
                Ok(Some((list.tags.unwrap_or_default(), next)))
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
