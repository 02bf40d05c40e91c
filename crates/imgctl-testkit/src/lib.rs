//! Dev-only test kit for imgctl: the real `docker-registry` (distribution 2.8.2) on a free
//! loopback port ([`TestRegistry`]), a counting and fault-injecting HTTP proxy in front of it
//! ([`Proxy`]) and test images built from random layers ([`images`]).
//!
//! Missing tools make tests fail with an install hint; nothing is ever skipped.

mod gate;
pub mod images;
pub mod layout;
pub mod repo;
mod proxy;
mod referrers_api;
mod registry;

pub use proxy::{Counts, Event, Fault, FaultPlan, PathKind, Proxy};
pub use registry::{TestRegistry, require_tool};

/// Runs a future to completion on a fresh current-thread runtime (for synchronous tests).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("build a tokio runtime").block_on(f)
}
