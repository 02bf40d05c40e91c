//! imgctl's core: the manifest and OS-definition model, the tag schema with exact
//! parse-back, validation and planning. Pure logic: no network, terminal, git or
//! file system access (files are read through [`source::SourceTree`]).

pub mod dockerfile;
pub mod dockerignore;
pub mod duration;
pub mod eol;
pub mod finding;
pub mod forced;
pub mod fleet;
pub mod gc;
#[cfg(test)]
mod gc_tests;
pub mod history;
pub mod graph;
pub mod import;
pub mod kind;
pub mod load;
pub mod manifest;
pub mod names;
pub mod osdefs;
pub mod paths;
pub mod results;
pub mod rollout;
pub mod schedule;
pub mod schedule_check;
pub mod chain;
pub mod announce;
pub mod runners;
pub mod scaffold;
pub mod site_paths;
pub mod plan;
pub mod refs;
pub mod source;
pub mod sourceid;
pub mod span;
pub mod tags;
pub mod validate;

#[cfg(test)]
pub(crate) mod testtree;

pub use finding::{Finding, Severity};
pub use fleet::{Fleet, Variant, VariantTags};
pub use manifest::Manifest;
pub use osdefs::{OsDefinition, OsDefinitions};
