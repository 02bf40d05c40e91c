//! Dev-only test kit for imgctl: the real `docker-registry` (distribution 2.8.2) on a free
//! loopback port ([`TestRegistry`]), a counting and fault-injecting HTTP proxy in front of it
//! ([`Proxy`], which can also hold one write request until a test kills the client), test
//! images built from random layers ([`images`]), a harness-made CA ([`TestCa`]) for registries
//! over TLS, a token server ([`TokenServer`]) for distribution's `auth: token`, a stand-in
//! for GitHub's packages REST API over a real registry and for its Issues API ([`github`]), and a hostile stand-in
//! registry in front of a real one ([`Hostile`]: size overruns, endless and trickled bodies,
//! plain-HTTP realms, malformed manifests).
//!
//! Missing tools make tests fail with an install hint; nothing is ever skipped.

mod ca;
mod answer;
mod gate;
pub mod github;
mod hostile;
pub mod images;
pub mod layout;
pub mod repo;
mod proxy;
mod referrers_api;
mod registry;
mod token_server;
mod serve;
mod stall;

pub use proxy::{Answer, Counts, Event, Fault, FaultPlan, PathKind, Proxy};
pub use ca::TestCa;
pub use hostile::{Hostile, Hostility, Seen};
pub use registry::{RegistryBuilder, TestRegistry, require_tool};
pub use token_server::{Grant, TokenServer};

/// Runs a future to completion on a fresh current-thread runtime (for synchronous tests).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("build a tokio runtime").block_on(f)
}
