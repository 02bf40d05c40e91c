//! [`Answer`]: a canned answer the [`crate::Proxy`] gives instead of forwarding, for what a
//! hosted registry answers and distribution does not (immutable-tag refusals, ECR's and
//! GAR's delete rules), matched by method and path.

/// A canned answer for requests with `method` whose path contains `path_contains` (and not
/// `unless_contains`, when that is not empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP method to match (`PUT`, `DELETE`, …).
    pub method: String,
    /// A substring of the path and query to match.
    pub path_contains: String,
    /// A substring that makes the path not match (empty: none).
    pub unless_contains: String,
    /// The status answered.
    pub status: u16,
    /// The body answered (`application/json`).
    pub body: String,
}

impl Answer {
    /// `status` with `body` for `method` requests whose path contains `path_contains`.
    pub fn new(method: &str, path_contains: &str, status: u16, body: &str) -> Answer {
        Answer { method: method.into(), path_contains: path_contains.into(), unless_contains: String::new(), status, body: body.into() }
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.method == method && path.contains(&self.path_contains) && (self.unless_contains.is_empty() || !path.contains(&self.unless_contains))
    }
}
