//! The dotnet/docker-tools (ImageBuilder) manifest format, as far as the importer reads
//! it: the top manifest with `includes`, and each include's `variables` and `repos`.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use crate::finding::Finding;
use crate::load::MAX_INPUT_BYTES;
use crate::span::{Pos, SpanIndex};

/// One ImageBuilder manifest file: the top one (`registry`, `includes`) or an include
/// (`variables`, `repos`). Both shapes may hold every field.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DockerToolsManifest {
    /// Registry host, e.g. `mcr.microsoft.com`.
    #[serde(default)]
    pub registry: Option<String>,
    /// Other manifest files, relative to this one's directory.
    #[serde(default)]
    pub includes: Vec<String>,
    /// `$(name)` substitutions for tags and build args.
    #[serde(default)]
    pub variables: IndexMap<String, Value>,
    /// Repositories and their images.
    #[serde(default)]
    pub repos: Vec<Repo>,
    /// Fields the importer does not read (reported as not imported).
    #[serde(flatten)]
    pub other: IndexMap<String, Value>,
}

/// A repository of images.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repo {
    /// Repository name, e.g. `dotnet-buildtools/prereqs`.
    pub name: String,
    /// Its images.
    #[serde(default)]
    pub images: Vec<Image>,
    /// Fields the importer does not read.
    #[serde(flatten)]
    pub other: IndexMap<String, Value>,
}

/// An image: one or more platforms sharing `sharedTags`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Tags that name every platform of the image at once (a multi-platform manifest list).
    #[serde(default)]
    pub shared_tags: IndexMap<String, Value>,
    /// The single-platform images.
    #[serde(default)]
    pub platforms: Vec<Platform>,
    /// Fields the importer does not read.
    #[serde(flatten)]
    pub other: IndexMap<String, Value>,
}

/// One single-platform image.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    /// The directory holding the Dockerfile, relative to the top manifest's directory.
    pub dockerfile: String,
    /// `linux` or `windows`.
    pub os: String,
    /// The OS version: a codename (`jammy`) or a name with version (`azurelinux3.0`).
    pub os_version: String,
    /// `amd64` (the default), `arm64` or `arm`.
    #[serde(default)]
    pub architecture: Option<String>,
    /// Architecture variant: `v8` (arm64) or `v7` (arm).
    #[serde(default)]
    pub variant: Option<String>,
    /// Tag name → tag options; names may hold `$(variable)`.
    #[serde(default)]
    pub tags: IndexMap<String, Value>,
    /// `--build-arg` values; may hold `$(variable)`.
    #[serde(default)]
    pub build_args: IndexMap<String, String>,
    /// Fields the importer does not read.
    #[serde(flatten)]
    pub other: IndexMap<String, Value>,
}

/// A parsed manifest file with its name and the positions of its values.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file as the user named it (or as resolved from `includes`).
    pub path: String,
    /// Its content.
    pub manifest: DockerToolsManifest,
    /// Where each value stands, for findings.
    pub spans: SpanIndex,
}

/// Parses one ImageBuilder manifest file's text; `path` names it in findings.
pub fn parse_document(path: &str, text: &str) -> Result<Document, Finding> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Finding::error("too-large", path, Pos::START, format!("file is larger than {MAX_INPUT_BYTES} bytes")));
    }
    let manifest: DockerToolsManifest = serde_json::from_str(text).map_err(|e| {
        let pos = Pos { line: e.line().max(1), col: e.column().max(1) };
        let code = if e.is_syntax() || e.is_eof() { "syntax" } else { "invalid-value" };
        Finding::error(code, path, pos, format!("read docker-tools manifest: {e}"))
    })?;
    let spans = SpanIndex::build(text).unwrap_or_default();
    Ok(Document { path: path.to_string(), manifest, spans })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_platforms_and_keeps_tag_order() {
        let text = r#"{ "repos": [ { "name": "r", "images": [ { "platforms": [ {
            "dockerfile": "src/a", "os": "linux", "osVersion": "jammy",
            "tags": { "b": {}, "a": {} }, "buildArgs": { "X": "1" } } ] } ] } ] }"#;
        let d = parse_document("m.json", text).unwrap();
        let p = &d.manifest.repos[0].images[0].platforms[0];
        assert_eq!(p.tags.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(p.build_args["X"], "1");
        assert_eq!(d.spans.pos("repos[0].images[0].platforms[0].osVersion").line, 2);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse_document("m.json", "{\n  \"repos\": [\n  ,\n}").unwrap_err();
        assert_eq!((err.code, err.file.as_str(), err.line), ("syntax", "m.json", 3));
    }

    #[test]
    fn missing_fields_are_errors() {
        let err = parse_document("m.json", r#"{ "repos": [ { "images": [] } ] }"#).unwrap_err();
        assert_eq!(err.code, "invalid-value");
        assert!(err.message.contains("name"), "{}", err.message);
    }
}
