//! `imgctl verify REF --key PUB.pem`: checks every promotion record attached to the digest
//! REF names (signature, and that its subject is that digest) and prints who moved it
//! where and when. A record that does not verify, or none at all, is exit 1.

use std::io::{self, Write};

use imgctl_engine::records::{self, Recorded};
use imgctl_registry::{Access, Registry};
use serde::Serialize;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table};
use crate::registry;

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `host[:port]/repo:tag` or `host[:port]/repo@sha256:…`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The ECDSA P-256 public key (SPKI PEM) the records must be signed with.
    #[arg(long, value_name = "PUB")]
    pub key: std::path::PathBuf,
}

/// The `verify` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// REF as given.
    pub reference: String,
    /// The digest it names.
    pub digest: String,
    /// The key id records were checked against.
    pub keyid: String,
    /// Every record, verified or not.
    pub records: Vec<Recorded>,
    /// The end-of-life date of a lifecycle mark on the digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_life: Option<chrono::NaiveDate>,
}

impl Report for VerifyReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{} ({})", self.reference, self.digest)?;
        writeln!(w, "{}", table(self.records.iter().map(crate::records::Row::from)))?;
        if let Some(d) = self.end_of_life {
            writeln!(w, "marked end of life on {d}")?;
        }
        let bad = self.records.iter().filter(|r| !r.verified).count();
        writeln!(w, "{} records, {} verified with key {}, {bad} failed", self.records.len(), self.records.len() - bad, self.keyid)
    }
}

/// Runs `verify`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let (host, repo, reference) = crate::commands::inspect::parse_reference(&args.reference)?;
    let key = crate::records::read_public_key(&args.key)?;
    let report = registry::block_on(async {
        let client = registry::connect(env, &host, &repo, Access::Pull, None).await?;
        let digest = client.resolve(&repo, &reference).await?.digest;
        let (records, end_of_life) = records::read_all(&client, &repo, &digest, Some(&key)).await?;
        Ok::<_, CliError>(VerifyReport { reference: args.reference.clone(), digest, keyid: key.keyid().to_string(), records, end_of_life })
    })??;
    let failed = report.records.is_empty() || report.records.iter().any(|r| !r.verified);
    emit(env, &report)?;
    if report.records.is_empty() {
        tracing::error!("no promotion records are attached to {}", report.digest);
    }
    for r in report.records.iter().filter(|r| !r.verified) {
        tracing::error!("record {} does not verify: {}", r.record, r.error.as_deref().unwrap_or("?"));
    }
    Ok(if failed { exit::FAILED } else { exit::SUCCESS })
}
