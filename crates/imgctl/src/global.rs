//! Global flags: one flattened struct, valid before or after the subcommand.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use imgctl_core::kind::{ALL_KINDS, RegistryKind};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Tables for people.
    #[default]
    Human,
    /// The stable JSON documents of SPEC §4.1.
    Json,
    /// A GitHub Actions `strategy.matrix` document (`plan` only).
    GithubMatrix,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The image manifest [default: manifests/images.yaml in this folder or the nearest
    /// folder above it, up to the git repository's root].
    #[arg(long = "manifest", global = true, env = "IMGCTL_MANIFEST", value_name = "PATH")]
    pub manifest_flag: Option<PathBuf>,
    /// The manifest in use: `--manifest`, else the one found upward (set by `main` through
    /// [`crate::workspace::locate`]; [`crate::workspace::DEFAULT_MANIFEST`] when none is found).
    #[arg(skip)]
    pub manifest: PathBuf,
    /// Registry host[:port], overriding the manifest's.
    #[arg(long, global = true, env = "IMGCTL_REGISTRY", value_name = "HOST[:PORT]")]
    pub registry: Option<String>,
    /// Output format.
    #[arg(long, global = true, env = "IMGCTL_OUTPUT", value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// More log lines on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// A registry that speaks plain HTTP (repeatable; the only way to use HTTP).
    #[arg(long = "insecure-registry", global = true, env = "IMGCTL_INSECURE_REGISTRIES", value_delimiter = ',', value_name = "HOST:PORT")]
    pub insecure_registries: Vec<String>,
    /// The registry's kind (how it deletes, which refusals it knows), overriding the
    /// manifest's `registryKind` and what the host name says. Empty: not overridden (so a
    /// workflow can pass `IMGCTL_REGISTRY_KIND: ${{ inputs.registry-kind }}` as it is).
    #[arg(long, global = true, env = "IMGCTL_REGISTRY_KIND", value_name = "KIND", value_parser = KindParser)]
    pub registry_kind: Option<KindArg>,
    /// Registry requests in flight at once.
    #[arg(long, global = true, env = "IMGCTL_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// The overall deadline of one registry request (connect, send, whole answer), e.g. `120s`,
    /// `2m`, `500ms`: a registry that stalls or trickles fails with exit 3 once it passes. A
    /// blob transfer gets this plus one second per MiB of its size.
    #[arg(long, global = true, env = "IMGCTL_REQUEST_TIMEOUT", default_value = "120s", value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: std::time::Duration,
}

/// A duration: a number of seconds, or a number with `ms`, `s`, `m` or `h`; more than zero.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("'{text}' is not a duration (e.g. 120s, 2m, 500ms)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit '{other}' in '{text}' (use ms, s, m or h)")),
    };
    if !(secs > 0.0 && secs < 1e9) {
        return Err(format!("'{text}' must be more than zero"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_with_and_without_units() {
        assert_eq!(parse_duration("120").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5 days").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("soon").is_err());
    }
}

impl GlobalArgs {
    /// `--registry-kind` / `IMGCTL_REGISTRY_KIND`, when set and not empty.
    pub fn registry_kind(&self) -> Option<RegistryKind> {
        self.registry_kind.and_then(|k| k.0)
    }
}

/// The value of `--registry-kind`: a kind, or nothing (an empty value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindArg(pub Option<RegistryKind>);

/// Parses a kind name (the possible values shown in help and completions), or the empty
/// string as "not given".
#[derive(Debug, Clone, Copy)]
struct KindParser;

impl clap::builder::TypedValueParser for KindParser {
    type Value = KindArg;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &std::ffi::OsStr) -> Result<KindArg, clap::Error> {
        if value.is_empty() {
            return Ok(KindArg(None));
        }
        let name = clap::builder::PossibleValuesParser::new(ALL_KINDS.map(RegistryKind::name)).parse_ref(cmd, arg, value)?;
        Ok(KindArg(name.parse::<RegistryKind>().ok()))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(ALL_KINDS.iter().map(|k| clap::builder::PossibleValue::new(k.name()))))
    }
}
