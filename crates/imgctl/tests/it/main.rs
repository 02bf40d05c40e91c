//! Integration tests: the real `imgctl` binary run in a controlled environment.

mod import;
mod inspect;
mod plan;
mod fleet;
mod support;

mod validate;
mod rollout;
mod rollout_robust;
mod workflows;
mod snapshots;
mod rollout_publish;
