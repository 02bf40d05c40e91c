//! Package URLs (the purl specification, types `deb`, `rpm`, `apk`):
//! `pkg:TYPE/NAMESPACE/NAME@VERSION?arch=…&distro=…`, the namespace being the OS's `ID`
//! (`debian`, `ubuntu`, `alpine`, `fedora`, …); rpm's epoch goes in an `epoch` qualifier.

use crate::{Ecosystem, OsRelease, Package};

/// Percent-encodes everything but the unreserved characters of RFC 3986.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The package URL of `p` on `os` (namespace `ecosystem`'s default distro when unknown).
pub fn of(p: &Package, os: Option<&OsRelease>) -> String {
    let namespace = os.map(|o| o.id.to_lowercase()).unwrap_or_else(|| match p.ecosystem {
        Ecosystem::Deb => "debian".into(),
        Ecosystem::Rpm => "rpm".into(),
        Ecosystem::Apk => "alpine".into(),
    });
    let mut qualifiers: Vec<(&str, String)> = Vec::new();
    if let Some(a) = &p.arch {
        qualifiers.push(("arch", a.clone()));
    }
    if let Some(o) = os {
        if let Some(v) = &o.version_id {
            qualifiers.push(("distro", format!("{}-{v}", o.id)));
        }
    }
    let version = match p.ecosystem {
        Ecosystem::Rpm => match p.version.split_once(':') {
            Some((epoch, rest)) => {
                qualifiers.push(("epoch", epoch.to_string()));
                rest.to_string()
            }
            None => p.version.clone(),
        },
        _ => p.version.clone(),
    };
    if let Some(s) = &p.source {
        qualifiers.push(("upstream", s.clone()));
    }
    qualifiers.sort_by(|a, b| a.0.cmp(b.0));
    let q: Vec<String> = qualifiers.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let mut purl = format!("pkg:{}/{}/{}@{}", p.ecosystem.as_str(), encode(&namespace), encode(&p.name), encode(&version));
    if !q.is_empty() {
        purl = format!("{purl}?{}", q.join("&"));
    }
    purl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_versions_and_moves_the_rpm_epoch_to_a_qualifier() {
        let debian = OsRelease { id: "debian".into(), version_id: Some("12".into()), pretty_name: None };
        let p = Package { ecosystem: Ecosystem::Deb, name: "zlib1g".into(), version: "1:1.2.13.dfsg-1".into(), arch: Some("amd64".into()), source: Some("zlib".into()), license: None };
        assert_eq!(of(&p, Some(&debian)), "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib");
        let r = Package { ecosystem: Ecosystem::Rpm, name: "imgctl-tools".into(), version: "2:0.9~rc1-3.el9".into(), arch: Some("noarch".into()), source: None, license: None };
        assert_eq!(of(&r, None), "pkg:rpm/rpm/imgctl-tools@0.9~rc1-3.el9?arch=noarch&epoch=2");
        let a = Package { ecosystem: Ecosystem::Apk, name: "libstdc++".into(), version: "10.3.1_git20210424-r2".into(), arch: None, source: None, license: None };
        assert_eq!(of(&a, None), "pkg:apk/alpine/libstdc%2B%2B@10.3.1_git20210424-r2");
    }
}
