//! Docker Hub: its registry API does not delete (`DELETE /v2/<name>/manifests/<digest>` is
//! `405 UNSUPPORTED`, `403` while a tag points at the digest) and has no way to remove a tag;
//! tags are deleted on hub.docker.com or through Hub's own API. So gc refuses before deleting
//! anything. A push over a tag with immutability settings is `403 DENIED … cannot be updated
//! due to immutability settings`.

use super::{DeleteRules, KindRules, TaggedDelete, mentions_immutable};

#[derive(Debug)]
pub(crate) struct DockerHub;

/// Why Docker Hub cannot be cleaned up through the registry API.
pub(crate) const UNSUPPORTED: &str = "Docker Hub's registry API neither deletes a manifest a tag points at (HTTP 403/405) nor removes tags; delete old tags on hub.docker.com (or with Docker Hub's own API), then run gc again for the untagged rest";

impl KindRules for DockerHub {
    fn delete_rules(&self) -> DeleteRules {
        DeleteRules { tagged: TaggedDelete::Unsupported(UNSUPPORTED.into()), via_registry: true, ..DeleteRules::default() }
    }

    fn is_immutable_refusal(&self, status: u16, code: &str, message: &str) -> bool {
        status == 403 && mentions_immutable(code, message)
    }
}
