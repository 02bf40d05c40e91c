//! dpkg's status database (deb-status(5)): RFC 822-style paragraphs separated by blank lines;
//! `Status: want flag state`, where a package is on the system when its state is
//! `installed` (also `half-configured`, `unpacked`, `half-installed`, `triggers-awaited`,
//! `triggers-pending`: files present). Distroless images keep one paragraph per file in
//! `status.d/` without a `Status` field: those are installed.

use crate::{Ecosystem, Package};

/// States whose package's files are on the system.
const PRESENT: [&str; 6] = ["installed", "half-configured", "unpacked", "half-installed", "triggers-awaited", "triggers-pending"];

/// Parses a status file; `need_status` is false for `status.d/` paragraphs.
pub fn parse(text: &str, need_status: bool) -> Vec<Package> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut name = None;
        let mut version = None;
        let mut arch = None;
        let mut source = None;
        let mut status = None;
        for line in para.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            match k {
                "Package" => name = Some(v.to_string()),
                "Version" => version = Some(v.to_string()),
                "Architecture" => arch = Some(v.to_string()),
                "Source" => source = Some(v.to_string()),
                "Status" => status = Some(v.to_string()),
                _ => {}
            }
        }
        let (Some(name), Some(version)) = (name, version) else { continue };
        let present = match &status {
            Some(s) => s.split_whitespace().nth(2).is_some_and(|state| PRESENT.contains(&state)),
            None => !need_status,
        };
        if !present {
            continue;
        }
        // `Source: name (version)` when the source version differs
        let source = source.map(|s| s.split_whitespace().next().unwrap_or_default().to_string()).filter(|s| !s.is_empty() && *s != name);
        out.push(Package { ecosystem: Ecosystem::Deb, name, version, arch, source, license: None });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_installed_packages_only() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: amd64\nSource: src (2.0-1)\nDescription: x\n more\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nVersion: 3~rc1\nArchitecture: all\nSource: b\n";
        let p = parse(text, true);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].version.as_str(), p[0].source.as_deref()), ("a", "1:2.0-1", Some("src")));
        assert_eq!((p[1].name.as_str(), p[1].source.as_deref()), ("b", None));
        assert!(parse("Package: c\nVersion: 1\n", true).is_empty());
        assert_eq!(parse("Package: c\nVersion: 1\n", false).len(), 1);
    }
}
