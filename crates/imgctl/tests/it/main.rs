//! Integration tests: the real `imgctl` binary run in a controlled environment.

// tests report measured figures on stderr (shown with --nocapture)
#![allow(clippy::print_stderr)]

mod hostile;
mod import;
mod inspect;
mod plan;
mod fleet;
mod gc;
mod gc_ghcr;
mod kinds;
mod kinds_gc;
mod gc_consumers;
mod usages;
mod names;
mod misconfig;
mod findings;
mod tables;
mod support;

mod validate;
mod rollout;
mod rollout_robust;
mod workflows;
mod snapshots;
mod rollout_publish;
mod soak;
mod crash;
mod crash_support;
mod gc_others;
mod truth;
mod adoption;
mod calendar;
mod install;
mod renovate;
mod renovate_real;
mod tls_token;
mod verify_gate;
mod mirrors;
mod records;
mod lifecycle;
mod retire;
mod records_support;
mod sbom;
mod browser;
mod site_browser;
mod site;
mod changes;
