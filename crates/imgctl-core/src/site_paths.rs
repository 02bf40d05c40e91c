//! Where the fleet site keeps its pages (docs/SITE.md), from its root: what the site writes
//! and what announcements and the Renovate preset link to, so the two never disagree.

/// The page of `digest`: `digests/sha256-HEX.html`.
pub fn digest(digest: &str) -> String {
    format!("digests/{}.html", digest.replacen(':', "-", 1))
}

/// The page of `variant`: `variants/VARIANT.html`.
pub fn variant(variant: &str) -> String {
    format!("variants/{variant}.html")
}

/// The Atom feed of `variant`: `feeds/VARIANT.atom`.
pub fn feed(variant: &str) -> String {
    format!("feeds/{variant}.atom")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_sit_where_the_site_and_its_links_say() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(super::digest(&d), format!("digests/sha256-{}.html", "a".repeat(64)));
        assert_eq!(super::variant("ubuntu-22.04-amd64"), "variants/ubuntu-22.04-amd64.html");
        assert_eq!(super::feed("ubuntu-22.04-amd64"), "feeds/ubuntu-22.04-amd64.atom");
    }
}
