//! `imgctl inspect REF`: digest, media type, size and (for an index) platforms of an image
//! reference `host[:port]/repo:tag` or `host[:port]/repo@sha256:…` — one verified GET.

use std::io::{self, Write};

use imgctl_core::kind::{KindSource, RegistryKind};
use imgctl_registry::{Access, Reference, Registry};
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table};
use crate::registry;

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The image: `host[:port]/repo:tag` or `host[:port]/repo@sha256:…`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Also list the digest's promotion records and lifecycle mark (referrers; not verified:
    /// see `imgctl verify`).
    #[arg(long)]
    pub records: bool,
}

/// One platform of an index.
#[derive(Debug, Serialize, Tabled)]
#[serde(rename_all = "camelCase")]
pub struct PlatformEntry {
    /// Operating system.
    #[tabled(rename = "OS")]
    pub os: String,
    /// CPU architecture.
    #[tabled(rename = "ARCH")]
    pub architecture: String,
    /// CPU variant (e.g. `v8`).
    #[tabled(rename = "VARIANT", display("opt"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The child manifest's digest.
    #[tabled(rename = "DIGEST")]
    pub digest: String,
    /// Its media type.
    #[tabled(rename = "MEDIA TYPE")]
    pub media_type: String,
    /// Its size in bytes.
    #[tabled(rename = "SIZE")]
    pub size: i64,
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// The `inspect` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    /// The reference as given.
    pub reference: String,
    /// Registry host[:port].
    pub registry: String,
    /// Repository.
    pub repository: String,
    /// The registry's kind (`distribution`, `ghcr`, …).
    pub registry_kind: RegistryKind,
    /// Where the kind came from: `flag`, `manifest` or `inferred`.
    pub registry_kind_from: KindSource,
    /// `sha256:…` of the manifest (verified).
    pub digest: String,
    /// Manifest media type.
    pub media_type: String,
    /// Manifest size in bytes.
    pub size: u64,
    /// For an index: its platforms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<PlatformEntry>>,
    /// With `--records`: the digest's promotion records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<imgctl_engine::records::Recorded>>,
    /// With `--records`: the end-of-life date of its lifecycle mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_life: Option<chrono::NaiveDate>,
}

#[derive(Tabled)]
struct Field {
    #[tabled(rename = "FIELD")]
    name: &'static str,
    #[tabled(rename = "VALUE")]
    value: String,
}

impl Report for InspectReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let fields = [
            Field { name: "reference", value: self.reference.clone() },
            Field { name: "registry kind", value: format!("{} ({})", self.registry_kind, registry::describe(self.registry_kind_from)) },
            Field { name: "digest", value: self.digest.clone() },
            Field { name: "media type", value: self.media_type.clone() },
            Field { name: "size", value: self.size.to_string() },
        ];
        writeln!(w, "{}", table(fields))?;
        if let Some(p) = &self.platforms {
            writeln!(w, "{}", table(p))?;
        }
        if let Some(r) = &self.records {
            writeln!(w, "{} records\n{}", r.len(), table(r.iter().map(crate::records::Row::from)))?;
        }
        if let Some(d) = self.end_of_life {
            writeln!(w, "marked end of life on {d}")?;
        }
        Ok(())
    }
}

/// Splits `REF` into registry, repository and tag or digest.
pub fn parse_reference(text: &str) -> Result<(String, String, String), CliError> {
    let r = Reference::try_from(text).map_err(|e| CliError::Usage(format!("parse image reference '{text}': {e}")))?;
    let host = text.split('/').next().unwrap_or_default();
    if !text.contains('/') || !(host.contains('.') || host.contains(':') || host == "localhost") {
        return Err(CliError::Usage(format!("parse image reference '{text}': name the registry, as in host[:port]/repo:tag")));
    }
    let reference = r.digest().or(r.tag()).unwrap_or("latest").to_owned();
    Ok((r.registry().to_owned(), r.repository().to_owned(), reference))
}

/// Runs `inspect`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let (host, repo, reference) = parse_reference(&args.reference)?;
    // an image reference names its host; only the flag overrides what the host says
    let (registry_kind, registry_kind_from) = registry::kind(env, &host, None);
    let report = registry::block_on(async {
        let client = registry::connect(env, &host, &repo, Access::Pull, None).await?;
        let m = client.get_manifest(&repo, &reference).await?;
        let sep = if reference.starts_with("sha256:") { '@' } else { ':' };
        let platforms = m.index().map_err(|e| CliError::Failed(format!("read {host}/{repo}{sep}{reference}: {e}")))?.map(|idx| {
            idx.manifests
                .into_iter()
                .map(|e| {
                    let (os, architecture, variant) = match e.platform {
                        Some(p) => (p.os.to_string(), p.architecture.to_string(), p.variant),
                        None => ("-".into(), "-".into(), None),
                    };
                    PlatformEntry { os, architecture, variant, digest: e.digest, media_type: e.media_type, size: e.size }
                })
                .collect()
        });
        let (records, end_of_life) = match args.records {
            true => {
                let (r, eol) = imgctl_engine::records::read_all(&client, &repo, &m.digest, None).await?;
                (Some(r), eol)
            }
            false => (None, None),
        };
        tracing::info!("{}: {} requests", args.reference, client.stats().total());
        Ok::<_, CliError>(InspectReport {
            reference: args.reference.clone(),
            registry: host.clone(),
            repository: repo.clone(),
            registry_kind,
            registry_kind_from,
            digest: m.digest,
            media_type: m.media_type,
            size: m.bytes.len() as u64,
            platforms,
            records,
            end_of_life,
        })
    })??;
    emit(env, &report)?;
    Ok(exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(parse_reference("127.0.0.1:5000/team/img:v1").unwrap(), ("127.0.0.1:5000".into(), "team/img".into(), "v1".into()));
        assert_eq!(parse_reference(&format!("r.example/img@{d}")).unwrap().2, d);
        assert_eq!(parse_reference("r.example/img").unwrap().2, "latest");
        assert!(matches!(parse_reference("img:v1"), Err(CliError::Usage(_))));
    }
}
