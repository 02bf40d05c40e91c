//! Quay: a tag covered by an immutability policy cannot be moved; the refusal names it
//! (`TAG_IMMUTABLE` / `TagImmutable`, "… is immutable"). Deletes as distribution does.

use super::{KindRules, mentions_immutable};

#[derive(Debug)]
pub(crate) struct Quay;

impl KindRules for Quay {
    fn is_immutable_refusal(&self, _status: u16, code: &str, message: &str) -> bool {
        code.eq_ignore_ascii_case("TAG_IMMUTABLE") || code.eq_ignore_ascii_case("TagImmutable") || mentions_immutable(code, message)
    }
}
