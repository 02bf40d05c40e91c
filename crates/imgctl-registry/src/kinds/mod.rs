//! What differs between registry kinds (SPEC §8), behind one trait, [`KindRules`]: how a
//! manifest is deleted, in which order, what a kind cannot delete, which refusals of a tag
//! move mean "immutable tags", and (GHCR) a cheap digest → tags inventory. One module per
//! kind that differs; `distribution` and `acr` behave as the distribution registry does.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use imgctl_core::kind::RegistryKind;

use crate::error::Target;
use crate::transport::Transport;
use crate::{Descriptor, Result};

mod dockerhub;
mod ecr;
mod gar;
pub(crate) mod ghcr;
mod harbor;
mod quay;

pub use crate::github::GithubApi;

/// What a kind does with a digest that tags still point at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TaggedDelete {
    /// Deleting the digest removes every tag of it (distribution, ACR, ECR, Harbor, Quay, GHCR).
    #[default]
    Removes,
    /// Each tag is deleted first (`DELETE /v2/<name>/manifests/<tag>`), then the digest (GAR).
    UntagFirst,
    /// The kind cannot delete it: the reason, reported before anything is deleted.
    Unsupported(String),
}

/// How a kind deletes, as the engine needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteRules {
    /// Delete an index before its children (ECR refuses to delete a child an index still
    /// references: `ImageReferencedByManifestList`); otherwise children go first.
    pub parents_first: bool,
    /// What happens to a digest that still has tags.
    pub tagged: TaggedDelete,
    /// Deletes go through the registry's `/v2` API (so the registry token needs `delete`);
    /// false where another API deletes (GHCR: GitHub's packages API).
    pub via_registry: bool,
}

/// A digest and every tag pointing at it, as a kind's own listing gives them.
pub type Inventory = Vec<(String, Vec<String>)>;

/// What a kind's rules may ask of the client: the kinds sit below the client in the crate's
/// layers (the client holds its kind's rules), so they reach it through this trait.
pub(crate) trait KindOps: Send + Sync {
    /// The client's one request path (GitHub's packages API goes through it too).
    fn transport(&self) -> &Transport;
    /// The error target for `repo` and `reference`.
    fn target(&self, repo: &str, reference: Option<&str>) -> Target;
    /// HEAD of a manifest by tag or digest.
    fn resolve<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFuture<'a, Result<Descriptor>>;
    /// `DELETE /v2/<repo>/manifests/<reference>`.
    fn delete_v2<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// The behaviour of one kind. Defaults are the distribution registry's.
pub(crate) trait KindRules: Send + Sync + fmt::Debug {
    /// How deletes go.
    fn delete_rules(&self) -> DeleteRules {
        DeleteRules { via_registry: true, ..DeleteRules::default() }
    }

    /// Whether a refused manifest PUT (status, error code, message) is this kind saying the
    /// tag is immutable.
    fn is_immutable_refusal(&self, status: u16, code: &str, message: &str) -> bool {
        let _ = status;
        mentions_immutable(code, message)
    }

    /// Every digest with its tags, when the kind lists them cheaply (one paged listing);
    /// `None` when only the registry's tag listing and a HEAD per tag tell.
    fn inventory<'a>(&'a self, client: &'a dyn KindOps, repo: &'a str) -> BoxFuture<'a, Result<Option<Inventory>>> {
        let _ = (client, repo);
        Box::pin(async { Ok(None) })
    }

    /// Deletes the manifest `digest` (and with it every tag in `tags`).
    fn delete<'a>(&'a self, client: &'a dyn KindOps, repo: &'a str, digest: &'a str, tags: &'a [String]) -> BoxFuture<'a, Result<()>> {
        let _ = tags;
        client.delete_v2(repo, digest)
    }
}

/// A code or message that says "immutable" (any kind may add it; e.g. `TAG_IMMUTABLE`).
pub(crate) fn mentions_immutable(code: &str, message: &str) -> bool {
    let (c, m) = (code.to_ascii_lowercase(), message.to_ascii_lowercase());
    c.contains("immutab") || m.contains("immutab")
}

/// Kinds that behave as the distribution registry does (`distribution`, `acr`).
#[derive(Debug)]
struct Distribution;

impl KindRules for Distribution {}

/// The rules of `kind`; `github` is what GHCR deletes through.
pub(crate) fn rules(kind: RegistryKind, github: Option<GithubApi>) -> Arc<dyn KindRules> {
    match kind {
        RegistryKind::Distribution | RegistryKind::Acr => Arc::new(Distribution),
        RegistryKind::Ghcr => Arc::new(ghcr::Ghcr::new(github.unwrap_or_default())),
        RegistryKind::Dockerhub => Arc::new(dockerhub::DockerHub),
        RegistryKind::Ecr => Arc::new(ecr::Ecr),
        RegistryKind::Gar => Arc::new(gar::Gar),
        RegistryKind::Harbor => Arc::new(harbor::Harbor),
        RegistryKind::Quay => Arc::new(quay::Quay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_recognises_its_own_immutable_refusal_and_not_a_plain_denial() {
        use RegistryKind::*;
        let cases: [(RegistryKind, u16, &str, &str); 5] = [
            (Ecr, 400, "TAG_INVALID", "The image tag 'x-latest' already exists in the 'acme/images' repository and cannot be overwritten because the tag is immutable."),
            (Harbor, 412, "PRECONDITION", "Failed to process request due to 'x-latest' configured as immutable."),
            (Dockerhub, 403, "DENIED", "requested access to the resource is denied - This tag is already assigned to an image in this repository and cannot be updated due to immutability settings."),
            (Gar, 400, "FAILED_PRECONDITION", "Failed to create tag x-latest: tag is immutable"),
            (Quay, 409, "TAG_IMMUTABLE", "tag x-latest is immutable"),
        ];
        for (kind, status, code, message) in cases {
            let r = rules(kind, None);
            assert!(r.is_immutable_refusal(status, code, message), "{kind}");
            assert!(!r.is_immutable_refusal(status, "DENIED", "requested access to the resource is denied"), "{kind}");
        }
        assert!(!rules(Harbor, None).is_immutable_refusal(403, "UNAUTHORIZED", "unauthorized to access repository"));
        assert!(rules(Distribution, None).delete_rules().via_registry);
        assert!(rules(Ecr, None).delete_rules().parents_first);
        assert_eq!(rules(Gar, None).delete_rules().tagged, TaggedDelete::UntagFirst);
        assert!(matches!(rules(Dockerhub, None).delete_rules().tagged, TaggedDelete::Unsupported(_)));
        assert!(!rules(Ghcr, None).delete_rules().via_registry);
    }
}
