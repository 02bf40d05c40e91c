//! The importer's built-in OS knowledge: docker-tools `os`/`osVersion`/`architecture`/
//! `variant` → OperatingSystemId fields, with codenames, RIDs and end-of-life dates.

use chrono::NaiveDate;

use crate::osdefs::OsDefinition;

/// An operating system version the catalogue knows, without its architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsVersion {
    /// `Linux` or `Windows`.
    pub family: &'static str,
    /// Distribution as it appears in the id (`Ubuntu`, `AzureLinux`).
    pub distro: &'static str,
    /// Tag segment of the distribution (`ubuntu`, `centos-stream`).
    pub slug: &'static str,
    /// Version as it appears in tags (`22.04`, `edge`, `ltsc2022`).
    pub version: String,
    /// The docker-tools `osVersion` it was read from (`jammy`, `azurelinux3.0`).
    pub codename: String,
    /// End of life, when known.
    pub eol: Option<NaiveDate>,
}

/// Codename `osVersion`s: codename, family, distro, slug, version.
const CODENAMES: [(&str, &str, &str, &str, &str); 7] = [
    ("bionic", "Linux", "Ubuntu", "ubuntu", "18.04"),
    ("jammy", "Linux", "Ubuntu", "ubuntu", "22.04"),
    ("noble", "Linux", "Ubuntu", "ubuntu", "24.04"),
    ("resolute", "Linux", "Ubuntu", "ubuntu", "26.04"),
    ("bookworm", "Linux", "Debian", "debian", "12"),
    ("trixie", "Linux", "Debian", "debian", "13"),
    ("leap16.0", "Linux", "openSUSE", "opensuse", "16.0"),
];

/// Prefix `osVersion`s (`{prefix}{version}`): prefix, family, distro, slug, version shape.
const PREFIXES: [(&str, &str, &str, &str, Shape); 9] = [
    ("almalinux", "Linux", "AlmaLinux", "almalinux", Shape::Number),
    ("alpine-", "Linux", "Alpine", "alpine", Shape::Named("edge")),
    ("alpine", "Linux", "Alpine", "alpine", Shape::Dotted),
    ("azurelinux", "Linux", "AzureLinux", "azurelinux", Shape::Dotted),
    ("centos-stream", "Linux", "CentOSStream", "centos-stream", Shape::Number),
    ("fedora-", "Linux", "Fedora", "fedora", Shape::Named("rawhide")),
    ("fedora", "Linux", "Fedora", "fedora", Shape::Number),
    ("nanoserver-", "Windows", "NanoServer", "nanoserver", Shape::Number),
    ("windowsservercore-", "Windows", "WindowsServerCore", "windowsservercore", Shape::Ltsc),
];

#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `9`, `42`, `1809`.
    Number,
    /// `3.23`, `3.0`.
    Dotted,
    /// One fixed word.
    Named(&'static str),
    /// `ltsc2022`.
    Ltsc,
}

impl Shape {
    fn accepts(self, v: &str) -> bool {
        let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Shape::Number => digits(v),
            Shape::Dotted => v.split_once('.').is_some_and(|(a, b)| digits(a) && digits(b)),
            Shape::Named(w) => v == w,
            Shape::Ltsc => v.strip_prefix("ltsc").is_some_and(|y| y.len() == 4 && digits(y)),
        }
    }
}

/// End-of-life dates from the vendors' published lifecycles: slug, version, date.
/// Alpine edge, Fedora rawhide and AzureLinux 4.0 have none yet.
const EOL: [(&str, &str, &str); 22] = [
    ("ubuntu", "18.04", "2023-05-31"),
    ("ubuntu", "22.04", "2027-06-01"),
    ("ubuntu", "24.04", "2029-05-31"),
    ("ubuntu", "26.04", "2031-05-31"),
    ("debian", "12", "2026-06-10"),
    ("debian", "13", "2028-08-09"),
    ("fedora", "42", "2026-05-13"),
    ("fedora", "43", "2026-12-09"),
    ("fedora", "44", "2027-05-19"),
    ("fedora", "45", "2027-12-01"),
    ("almalinux", "9", "2032-05-31"),
    ("almalinux", "10", "2035-05-31"),
    ("centos-stream", "9", "2027-05-31"),
    ("centos-stream", "10", "2030-01-01"),
    ("alpine", "3.23", "2027-11-01"),
    ("alpine", "3.24", "2028-05-01"),
    ("azurelinux", "3.0", "2027-07-31"),
    ("opensuse", "16.0", "2027-10-31"),
    ("nanoserver", "1809", "2024-01-09"),
    ("windowsservercore", "ltsc2019", "2029-01-09"),
    ("windowsservercore", "ltsc2022", "2031-10-14"),
    ("windowsservercore", "ltsc2025", "2034-10-10"),
];

fn eol(slug: &str, version: &str) -> Option<NaiveDate> {
    EOL.iter()
        .find(|(s, v, _)| *s == slug && *v == version)
        .and_then(|(_, _, d)| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// Reads a docker-tools `osVersion` (`jammy`, `azurelinux3.0`, `alpine-edge`, …).
pub fn os_version(os_version: &str) -> Option<OsVersion> {
    let make = |family, distro, slug, version: &str| OsVersion {
        family,
        distro,
        slug,
        version: version.to_string(),
        codename: os_version.to_string(),
        eol: eol(slug, version),
    };
    if let Some((_, family, distro, slug, version)) = CODENAMES.iter().find(|c| c.0 == os_version) {
        return Some(make(family, distro, slug, version));
    }
    PREFIXES.iter().find_map(|(prefix, family, distro, slug, shape)| {
        let version = os_version.strip_prefix(prefix)?;
        shape.accepts(version).then(|| make(family, distro, slug, version))
    })
}

/// The catalogue entry for a tag slug and version (`ubuntu`, `22.04`), by the
/// `osVersion` docker-tools would write for it.
pub fn by_slug_version(slug: &str, version: &str) -> Option<OsVersion> {
    if let Some(c) = CODENAMES.iter().find(|c| c.3 == slug && c.4 == version) {
        return os_version(c.0);
    }
    PREFIXES.iter().filter(|p| p.3 == slug).find_map(|(prefix, ..)| {
        let found = os_version(&format!("{prefix}{version}"))?;
        (found.slug == slug && found.version == version).then_some(found)
    })
}

/// docker-tools `architecture` + `variant` → OS-id arch (`AMD64`, `ARM64`, `ARM32`).
pub fn arch(architecture: Option<&str>, variant: Option<&str>) -> Option<&'static str> {
    match (architecture.unwrap_or("amd64"), variant) {
        ("amd64", None) => Some("AMD64"),
        ("arm64", None | Some("v8")) => Some("ARM64"),
        ("arm", Some("v7")) => Some("ARM32"),
        _ => None,
    }
}

/// Versions the catalogue knows that have no end-of-life date (yet): slug, version.
const ROLLING: [(&str, &str); 2] = [("alpine", "edge"), ("fedora", "rawhide")];

/// Every OperatingSystemId the catalogue knows (each version on AMD64 and ARM64; Linux on
/// ARM32 too), with codename, RID and end of life: what `init --os` offers.
pub fn known() -> Vec<OsDefinition> {
    let versions = EOL.iter().map(|(s, v, _)| (*s, *v)).chain(ROLLING);
    let mut out = Vec::new();
    for v in versions.filter_map(|(slug, version)| by_slug_version(slug, version)) {
        let arches: &[&str] = if v.family == "Linux" { &["AMD64", "ARM64", "ARM32"] } else { &["AMD64"] };
        out.extend(arches.iter().map(|a| definition(&v, a)));
    }
    out
}

/// The catalogue's definition of the OperatingSystemId `id` (`Linux-Ubuntu-24.04-AMD64`).
pub fn by_id(id: &str) -> Option<OsDefinition> {
    known().into_iter().find(|d| d.id == id)
}

/// The .NET runtime identifier, where one is obvious.
fn rid(v: &OsVersion, arch: &str) -> Option<String> {
    let cpu = match arch {
        "AMD64" => "x64",
        "ARM64" => "arm64",
        "ARM32" => "arm",
        _ => return None,
    };
    let numeric = v.version.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    match v.slug {
        "nanoserver" | "windowsservercore" => Some(format!("win-{cpu}")),
        "centos-stream" if numeric => Some(format!("centos.{}-{cpu}", v.version)),
        "ubuntu" | "debian" | "alpine" | "fedora" | "almalinux" | "opensuse" if numeric => {
            Some(format!("{}.{}-{cpu}", v.slug, v.version))
        }
        _ => None,
    }
}

/// The OS definition of `v` on `arch`.
pub fn definition(v: &OsVersion, arch: &str) -> OsDefinition {
    OsDefinition {
        id: format!("{}-{}-{}-{arch}", v.family, v.distro, v.version),
        family: v.family.to_string(),
        distro: v.distro.to_string(),
        slug: v.slug.to_string(),
        version: v.version.clone(),
        codename: Some(v.codename.clone()),
        arch: arch.to_string(),
        rid: rid(v, arch),
        eol: v.eol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(os: &str, a: Option<&str>, var: Option<&str>) -> Option<String> {
        Some(definition(&os_version(os)?, arch(a, var)?).id)
    }

    #[test]
    fn maps_codenames_and_prefixes() {
        assert_eq!(id("jammy", None, None).as_deref(), Some("Linux-Ubuntu-22.04-AMD64"));
        assert_eq!(id("bookworm", Some("arm"), Some("v7")).as_deref(), Some("Linux-Debian-12-ARM32"));
        assert_eq!(id("azurelinux3.0", Some("arm64"), None).as_deref(), Some("Linux-AzureLinux-3.0-ARM64"));
        assert_eq!(id("alpine-edge", Some("arm64"), Some("v8")).as_deref(), Some("Linux-Alpine-edge-ARM64"));
        assert_eq!(id("alpine3.23", None, None).as_deref(), Some("Linux-Alpine-3.23-AMD64"));
        assert_eq!(id("centos-stream10", None, None).as_deref(), Some("Linux-CentOSStream-10-AMD64"));
        assert_eq!(id("fedora-rawhide", None, None).as_deref(), Some("Linux-Fedora-rawhide-AMD64"));
        assert_eq!(id("leap16.0", Some("amd64"), None).as_deref(), Some("Linux-openSUSE-16.0-AMD64"));
        assert_eq!(id("nanoserver-1809", None, None).as_deref(), Some("Windows-NanoServer-1809-AMD64"));
        assert_eq!(
            id("windowsservercore-ltsc2022", None, None).as_deref(),
            Some("Windows-WindowsServerCore-ltsc2022-AMD64")
        );
    }

    #[test]
    fn fills_codename_rid_and_eol() {
        let d = definition(&os_version("jammy").unwrap(), "AMD64");
        assert_eq!(d.codename.as_deref(), Some("jammy"));
        assert_eq!(d.rid.as_deref(), Some("ubuntu.22.04-x64"));
        assert_eq!(d.eol, NaiveDate::from_ymd_opt(2027, 6, 1));
        let d = definition(&os_version("azurelinux3.0").unwrap(), "ARM64");
        assert_eq!((d.slug.as_str(), d.codename.as_deref(), d.rid), ("azurelinux", Some("azurelinux3.0"), None));
        assert_eq!(os_version("azurelinux4.0").unwrap().eol, None);
        assert_eq!(os_version("alpine-edge").unwrap().eol, None);
        assert_eq!(definition(&os_version("fedora-rawhide").unwrap(), "AMD64").rid, None);
    }

    #[test]
    fn rejects_unknown_versions_and_arches() {
        for v in ["xenial", "alpine", "alpine3", "fedora-", "centos-stream", "windowsservercore-1809", "azurelinux3"] {
            assert_eq!(os_version(v), None, "{v}");
        }
        assert_eq!(arch(Some("arm"), None), None);
        assert_eq!(arch(Some("arm64"), Some("v7")), None);
        assert_eq!(arch(Some("s390x"), None), None);
        assert_eq!(arch(Some("amd64"), Some("v8")), None);
    }

    #[test]
    fn knows_common_ids_by_id() {
        let d = by_id("Linux-Ubuntu-24.04-ARM64").unwrap();
        assert_eq!((d.slug.as_str(), d.version.as_str(), d.codename.as_deref()), ("ubuntu", "24.04", Some("noble")));
        assert!(by_id("Windows-WindowsServerCore-ltsc2022-AMD64").is_some());
        assert!(by_id("Linux-Alpine-edge-AMD64").is_some_and(|d| d.eol.is_none()));
        assert!(by_id("Linux-Ubuntu-20.04-AMD64").is_none());
        assert!(known().iter().all(|d| d.id == d.expected_id()));
    }

    #[test]
    fn finds_by_slug_and_version() {
        assert_eq!(by_slug_version("ubuntu", "22.04").unwrap().codename, "jammy");
        assert_eq!(by_slug_version("azurelinux", "3.0").unwrap().codename, "azurelinux3.0");
        assert_eq!(by_slug_version("alpine", "edge").unwrap().codename, "alpine-edge");
        assert_eq!(by_slug_version("ubuntu", "20.04"), None);
    }
}
