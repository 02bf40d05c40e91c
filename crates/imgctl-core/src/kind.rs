//! Registry kinds (SPEC §8): which hosted registry a host is, inferred from its name and
//! overridden by the manifest's `registryKind` and by `--registry-kind` (the flag wins).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A kind of registry: decides how imgctl deletes and which refusals it recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    /// The CNCF distribution registry (and anything that behaves like it).
    #[default]
    Distribution,
    /// GitHub Container Registry (`ghcr.io`): deletes through GitHub's packages REST API.
    Ghcr,
    /// Docker Hub (`docker.io`).
    Dockerhub,
    /// Azure Container Registry (`*.azurecr.io`).
    Acr,
    /// Amazon ECR (`*.dkr.ecr.*.amazonaws.com`).
    Ecr,
    /// Google Artifact Registry (`*-docker.pkg.dev`) and Container Registry (`gcr.io`).
    Gar,
    /// Harbor (never inferred: any host can run it).
    Harbor,
    /// Quay (`quay.io`).
    Quay,
}

/// Every kind, in the order the SPEC lists them.
pub const ALL_KINDS: [RegistryKind; 8] = [
    RegistryKind::Distribution,
    RegistryKind::Ghcr,
    RegistryKind::Dockerhub,
    RegistryKind::Acr,
    RegistryKind::Ecr,
    RegistryKind::Gar,
    RegistryKind::Harbor,
    RegistryKind::Quay,
];

impl RegistryKind {
    /// The SPEC §8 name (`ghcr`, `dockerhub`, …).
    pub fn name(self) -> &'static str {
        match self {
            RegistryKind::Distribution => "distribution",
            RegistryKind::Ghcr => "ghcr",
            RegistryKind::Dockerhub => "dockerhub",
            RegistryKind::Acr => "acr",
            RegistryKind::Ecr => "ecr",
            RegistryKind::Gar => "gar",
            RegistryKind::Harbor => "harbor",
            RegistryKind::Quay => "quay",
        }
    }

    /// The kind a host name says (`host[:port]`, any case); `distribution` when it says none.
    pub fn infer(host: &str) -> RegistryKind {
        let h = host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h).to_ascii_lowercase();
        let h = h.trim_end_matches('.');
        let under = |domain: &str| h == domain || h.ends_with(&format!(".{domain}"));
        if h == "ghcr.io" {
            RegistryKind::Ghcr
        } else if matches!(h, "docker.io" | "registry-1.docker.io" | "index.docker.io" | "registry.hub.docker.com") {
            RegistryKind::Dockerhub
        } else if under("azurecr.io") || under("azurecr.cn") || under("azurecr.us") {
            RegistryKind::Acr
        } else if h.contains(".dkr.ecr.") && (h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn")) {
            RegistryKind::Ecr
        } else if h.ends_with("-docker.pkg.dev") || under("gcr.io") {
            RegistryKind::Gar
        } else if h == "quay.io" {
            RegistryKind::Quay
        } else {
            RegistryKind::Distribution
        }
    }
}

impl fmt::Display for RegistryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RegistryKind {
    type Err = String;

    fn from_str(s: &str) -> Result<RegistryKind, String> {
        ALL_KINDS.into_iter().find(|k| k.name() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = ALL_KINDS.iter().map(|k| k.name()).collect();
            format!("unknown registry kind '{s}' (expected one of: {})", names.join(", "))
        })
    }
}

/// Where the kind in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KindSource {
    /// `--registry-kind` / `IMGCTL_REGISTRY_KIND`.
    Flag,
    /// The manifest's `registryKind`.
    Manifest,
    /// The registry host's name.
    Inferred,
}

impl fmt::Display for KindSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KindSource::Flag => "flag",
            KindSource::Manifest => "manifest",
            KindSource::Inferred => "inferred",
        })
    }
}

/// The kind in use and where it came from: the flag, else the manifest, else the host.
pub fn choose(host: &str, manifest: Option<RegistryKind>, flag: Option<RegistryKind>) -> (RegistryKind, KindSource) {
    match (flag, manifest) {
        (Some(k), _) => (k, KindSource::Flag),
        (None, Some(k)) => (k, KindSource::Manifest),
        (None, None) => (RegistryKind::infer(host), KindSource::Inferred),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_say_their_kind() {
        use RegistryKind::*;
        for (host, kind) in [
            ("ghcr.io", Ghcr),
            ("GHCR.IO", Ghcr),
            ("docker.io", Dockerhub),
            ("registry-1.docker.io", Dockerhub),
            ("index.docker.io", Dockerhub),
            ("contoso.azurecr.io", Acr),
            ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", Ecr),
            ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Ecr),
            ("europe-west1-docker.pkg.dev", Gar),
            ("gcr.io", Gar),
            ("eu.gcr.io", Gar),
            ("quay.io", Quay),
            ("harbor.example.com", Distribution),
            ("127.0.0.1:5000", Distribution),
            ("ghcr.io.evil.example", Distribution),
            ("notazurecr.io", Distribution),
            ("localhost:5000", Distribution),
        ] {
            assert_eq!(RegistryKind::infer(host), kind, "{host}");
        }
    }

    #[test]
    fn flag_beats_manifest_beats_host() {
        use RegistryKind::*;
        assert_eq!(choose("ghcr.io", None, None), (Ghcr, KindSource::Inferred));
        assert_eq!(choose("ghcr.io", Some(Distribution), None), (Distribution, KindSource::Manifest));
        assert_eq!(choose("ghcr.io", Some(Distribution), Some(Harbor)), (Harbor, KindSource::Flag));
        assert_eq!(choose("r.example", None, Some(Ecr)), (Ecr, KindSource::Flag));
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for k in ALL_KINDS {
            assert_eq!(k.name().parse::<RegistryKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        let e = "gitlab".parse::<RegistryKind>().unwrap_err();
        assert!(e.contains("unknown registry kind 'gitlab'") && e.contains("ghcr, dockerhub"), "{e}");
    }
}
