//! The manifest's mirrors as the mutating commands get them: one client per mirror,
//! built from the same flags as the primary's (`--insecure-registry`, `--concurrency`), with
//! credentials from Docker's config for the mirror's host (the `IMGCTL_REGISTRY_*` pair is
//! the primary's, used for a mirror only on the primary's registry), authenticated up front. A mirror that cannot be reached or
//! refuses its credentials does not stop the command: its rows fail (exit 1) and the
//! primary goes ahead.

use imgctl_core::Fleet;
use imgctl_engine::mirror::Mirror;
use imgctl_registry::{Access, RegistryClient};

use crate::env::Env;

/// A mirror's client, or why there is none.
#[derive(Debug)]
pub struct MirrorClient {
    /// The client (None when it could not be built).
    client: Option<RegistryClient>,
    /// The repository on the mirror.
    repo: String,
    /// `host[:port]/repository`.
    name: String,
    /// On the primary's registry.
    same_registry: bool,
    /// Why the mirror is already down (unreachable, refused).
    down: Option<String>,
}

/// Builds and authenticates a client per mirror of `fleet` (`primary`: the primary's host).
pub async fn connect(env: &Env<'_>, fleet: &Fleet, primary: &str, access: Access) -> Vec<MirrorClient> {
    let mut out = Vec::new();
    for m in &fleet.manifest.mirrors {
        let name = format!("{}/{}", m.registry, m.repository);
        let kind = imgctl_core::kind::choose(&m.registry, m.registry_kind.as_deref().and_then(|k| k.parse().ok()), None);
        // the IMGCTL_REGISTRY_* pair is the primary's; another registry's come from
        // Docker's config (`docker login` per mirror)
        let creds = match (&env.facts.docker_config_dir, m.registry == primary) {
            (_, true) => crate::registry::credentials(env, &m.registry),
            (Some(dir), false) => imgctl_registry::docker_config_credentials(dir, &m.registry).map_err(Into::into),
            (None, false) => Ok(None),
        };
        let client = creds.and_then(|c| crate::registry::client_with(env, &m.registry, kind, c));
        let (client, down) = match client {
            Ok(c) => match c.authenticate(&m.repository, access).await {
                Ok(()) => (Some(c), None),
                Err(e) => (Some(c), Some(e.to_string())),
            },
            Err(e) => (None, Some(e.to_string())),
        };
        if let Some(why) = &down {
            tracing::warn!("mirror {name} is not usable, its rows fail: {why}");
        }
        out.push(MirrorClient { client, repo: m.repository.clone(), name, same_registry: m.registry == primary, down });
    }
    out
}

/// The engine's view of the mirrors; `fallback` stands in for a mirror with no client
/// (it is marked down, so it is never called).
pub fn mirrors<'a>(clients: &'a [MirrorClient], fallback: &'a RegistryClient) -> Vec<Mirror<'a, RegistryClient>> {
    clients
        .iter()
        .map(|c| {
            let m = Mirror::new(c.client.as_ref().unwrap_or(fallback), c.repo.clone(), c.name.clone(), c.same_registry);
            if let Some(why) = &c.down {
                m.set_down(why);
            }
            m
        })
        .collect()
}
