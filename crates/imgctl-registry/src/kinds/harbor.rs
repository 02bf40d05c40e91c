//! Harbor: a push over a tag matched by a tag immutability rule is answered `412` with the
//! error code `PRECONDITION` ("… configured as immutable"; Harbor docs, "Tag Immutability
//! Rules"). Harbor answers other policy refusals with `412 PRECONDITION` too, so only one whose
//! message says "immutable" is taken for it. Deletes by digest remove the artifact with its
//! tags, as distribution does.

use super::KindRules;

#[derive(Debug)]
pub(crate) struct Harbor;

/// The default rules: a refusal is an immutable-tag one when it says so.
impl KindRules for Harbor {}
