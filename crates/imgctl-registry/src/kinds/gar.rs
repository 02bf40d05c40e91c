//! Google Artifact Registry (and Container Registry): a digest a tag still points at cannot
//! be deleted (`400 GOOGLE_MANIFEST_DANGLING_TAG: Manifest is still referenced by tag`), but
//! `DELETE /v2/<name>/manifests/<tag>` removes a tag (202); so every tag goes first, then the
//! digest. A tag is untagged only while it still points at the digest (a HEAD just before):
//! one that moved since the plan (a promote racing the gc) belongs to another digest now and
//! is left alone; one that moved *onto* the digest makes GAR refuse the digest's delete, so
//! nothing live is lost. A repository with immutable tags refuses to move one ("… immutable").

use futures_util::future::BoxFuture;

use super::{DeleteRules, KindOps, KindRules, TaggedDelete};
use crate::Result;

#[derive(Debug)]
pub(crate) struct Gar;

impl KindRules for Gar {
    fn delete_rules(&self) -> DeleteRules {
        DeleteRules { tagged: TaggedDelete::UntagFirst, via_registry: true, ..DeleteRules::default() }
    }

    fn delete<'a>(&'a self, client: &'a dyn KindOps, repo: &'a str, digest: &'a str, tags: &'a [String]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            for tag in tags {
                match client.resolve(repo, tag).await {
                    Ok(d) if d.digest == digest => {}
                    Ok(d) => {
                        tracing::warn!("{repo}:{tag} points at {} now (moved since the plan): not untagged", d.digest);
                        continue;
                    }
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => return Err(e),
                }
                match client.delete_v2(repo, tag).await {
                    Err(e) if e.is_not_found() => {}
                    other => other?,
                }
            }
            client.delete_v2(repo, digest).await
        })
    }
}
