//! Harbor: a push over a tag matched by a tag immutability rule is answered `412` with the
//! error code `PRECONDITION` ("… configured as immutable"; Harbor docs, "Tag Immutability
//! Rules"). Deletes by digest remove the artifact with its tags, as distribution does.

use super::{KindRules, mentions_immutable};

#[derive(Debug)]
pub(crate) struct Harbor;

impl KindRules for Harbor {
    fn is_immutable_refusal(&self, status: u16, code: &str, message: &str) -> bool {
        (status == 412 && code == "PRECONDITION") || mentions_immutable(code, message)
    }
}
