//! What publish, promote and rollback share for promotion records: the `--sign-key` flag
//! and the [`Recorder`] built from the manifest's `records:` block, the key and the run's
//! facts. The key's contents never reach output, logs or errors.

use imgctl_core::Fleet;
use imgctl_engine::records::{Recorded, Recorder};
use imgctl_records::Signer;

use crate::env::Env;
use crate::error::CliError;

/// The signing flag of the moving commands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SignArgs {
    /// ECDSA P-256 private key (PEM: PKCS#8 or SEC1) that signs promotion records; the
    /// variable may hold the path or the PEM text itself.
    #[arg(long = "sign-key", env = "IMGCTL_SIGNING_KEY", hide_env_values = true, value_name = "PATH")]
    pub sign_key: Option<String>,
}

/// Reads the signing key: PEM text as given, else the file it names.
pub fn read_signer(key: &str) -> Result<Signer, CliError> {
    let pem = if key.contains("-----BEGIN") {
        key.to_string()
    } else {
        std::fs::read_to_string(key).map_err(|e| CliError::Input(format!("read the signing key '{key}': {}", e.to_string().to_lowercase())))?
    };
    Signer::from_pem(&pem).map_err(|e| CliError::Input(e.to_string()))
}

/// Reads a public key (SPKI PEM) that records and SBOMs are checked with.
pub fn read_public_key(path: &std::path::Path) -> Result<imgctl_records::Verifier, CliError> {
    let pem = std::fs::read_to_string(path).map_err(|e| CliError::Input(format!("read the public key '{}': {}", path.display(), e.to_string().to_lowercase())))?;
    imgctl_records::Verifier::from_pem(&pem).map_err(|e| CliError::Input(e.to_string()))
}

/// The recorder for a run over `fleet` at git commit `commit`, or `None` when the
/// manifest has records off. `records.sign` without a key is refused before anything moves.
pub fn recorder(env: &Env<'_>, fleet: &Fleet, args: &SignArgs, commit: Option<String>) -> Result<Option<Recorder>, CliError> {
    let key = args.sign_key.as_deref().filter(|k| !k.trim().is_empty());
    let Some(cfg) = fleet.manifest.records.as_ref().filter(|r| r.enabled) else {
        if key.is_some() {
            tracing::warn!("--sign-key / IMGCTL_SIGNING_KEY given but the manifest has no `records: {{enabled: true}}`; nothing is signed");
        }
        return Ok(None);
    };
    let signer = match key {
        Some(k) => Some(read_signer(k)?),
        None if cfg.sign => {
            return Err(CliError::Usage("sign promotion records: the manifest says `records.sign: true`; give --sign-key PATH or IMGCTL_SIGNING_KEY".into()));
        }
        None => None,
    };
    if let Some(s) = &signer {
        tracing::info!("signing records with key {}", s.keyid());
    }
    let host = crate::rollout::registry_host(env, fleet);
    Ok(Some(Recorder {
        signer,
        repository: format!("{host}/{}", fleet.manifest.repository),
        commit,
        actor: env.facts.actor.clone(),
        run_url: env.facts.run_url.clone(),
        tool: format!("imgctl {}", env!("CARGO_PKG_VERSION")),
        note: None,
        settle: imgctl_engine::records::SETTLE,
        sources: None,
        read: Default::default(),
    }))
}

/// A table row of a record.
#[derive(Debug, tabled::Tabled)]
pub struct Row {
    /// When.
    #[tabled(rename = "TIME")]
    pub time: String,
    /// Variant and channel.
    #[tabled(rename = "CHANNEL")]
    pub channel: String,
    /// Kind.
    #[tabled(rename = "KIND")]
    pub kind: String,
    /// From.
    #[tabled(rename = "FROM")]
    pub from: String,
    /// By whom.
    #[tabled(rename = "BY")]
    pub by: String,
    /// Verified or why not.
    #[tabled(rename = "SIGNATURE")]
    pub signature: String,
    /// The operator's words (`rollback --reason`).
    #[tabled(rename = "NOTE")]
    pub note: String,
}

impl From<&Recorded> for Row {
    fn from(r: &Recorded) -> Row {
        let s = r.statement.as_ref();
        let short = |d: &str| d.get(..19).unwrap_or(d).to_string();
        Row {
            time: s.map(|s| s.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_else(|| "-".into()),
            channel: s.map(|s| s.tag.clone()).unwrap_or_else(|| "-".into()),
            kind: s.map(|s| s.kind.clone()).unwrap_or_else(|| "-".into()),
            from: s.and_then(|s| s.from.as_deref().map(short)).unwrap_or_else(|| "-".into()),
            by: s.map(|s| s.run_url.clone().or_else(|| s.actor.clone()).unwrap_or_else(|| s.tool.clone())).unwrap_or_else(|| "-".into()),
            note: s.and_then(|s| s.note.clone()).unwrap_or_else(|| "-".into()),
            signature: match (&r.error, r.verified, r.signed) {
                (Some(e), _, _) => format!("FAILED: {e}"),
                (None, true, _) => "verified".into(),
                (None, false, true) => "signed (not checked)".into(),
                (None, false, false) => "unsigned".into(),
            },
        }
    }
}

