//! Amazon ECR: an index child cannot be deleted while an index references it
//! (`ImageReferencedByManifestList`), so indexes go first; a tag move refused by an
//! immutable repository is `400 TAG_INVALID … cannot be overwritten because the tag is
//! immutable` (ECR user guide, "Image tag mutability").

use super::{DeleteRules, KindRules, mentions_immutable};

#[derive(Debug)]
pub(crate) struct Ecr;

impl KindRules for Ecr {
    fn delete_rules(&self) -> DeleteRules {
        DeleteRules { parents_first: true, via_registry: true, ..DeleteRules::default() }
    }

    fn is_immutable_refusal(&self, status: u16, code: &str, message: &str) -> bool {
        (status == 400 && code == "TAG_INVALID" && mentions_immutable("", message)) || mentions_immutable(code, "")
    }
}
