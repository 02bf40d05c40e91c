//! Reading the manifest and OS definitions from text, reporting every problem with
//! its line and column instead of stopping at the first.

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use crate::finding::Finding;
use crate::manifest::{Channel, MANIFEST_VERSION, Manifest, Mirror, TagSchema, VariantSpec};
use crate::osdefs::{OsDefinition, OsDefinitions};
use crate::span::{Pos, SpanIndex, at, field};

/// Largest input file imgctl reads (manifest, OS definitions, Dockerfile): 16 MiB.
pub const MAX_INPUT_BYTES: usize = 16 << 20;

/// A parsed document with the positions of its values.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The value, when the document had no error.
    pub value: Option<T>,
    /// Positions of keys and values.
    pub spans: SpanIndex,
    /// Problems found (empty when `value` is complete).
    pub findings: Vec<Finding>,
}

struct Reader<'a> {
    file: &'a str,
    spans: SpanIndex,
    findings: Vec<Finding>,
}

impl Reader<'_> {
    fn error(&mut self, code: &'static str, pos: Pos, msg: impl Into<String>) {
        self.findings.push(Finding::error(code, self.file, pos, msg));
    }

    /// Deserialises `value` (found at `path`) as `T`, reporting an error at the exact
    /// spot inside it.
    fn de<T: DeserializeOwned>(&mut self, value: &Value, path: &str) -> Option<T> {
        let result: Result<T, _> = serde_path_to_error::deserialize(value);
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = path_of(path, &e.path().to_string());
                let message = e.inner().to_string();
                let (code, pos) = if let Some(key) = quoted_after(&message, "unknown field `") {
                    ("unknown-key", self.spans.key_pos(&field(&parent_of(&inner, path), &key)))
                } else if message.starts_with("missing field") {
                    ("missing-field", self.spans.pos(&parent_of(&inner, path)))
                } else {
                    ("invalid-value", self.spans.pos(&inner))
                };
                let message = message.replace('`', "'");
                let message = match inner.as_str() {
                    "" => message,
                    p => format!("{p}: {message}"),
                };
                self.error(code, pos, message);
                None
            }
        }
    }

    /// Splits a mapping at `path` into its entries, reporting unknown keys and
    /// missing required ones.
    fn entries(
        &mut self,
        value: &Value,
        path: &str,
        known: &[&str],
        required: &[&str],
    ) -> Option<IndexMap<String, Value>> {
        let Value::Mapping(map) = value else {
            let what = if path.is_empty() { "the document" } else { path };
            self.error("invalid-value", self.spans.pos(path), format!("{what} must be a mapping"));
            return None;
        };
        let mut out = IndexMap::new();
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                self.error("invalid-value", self.spans.pos(path), "keys must be strings");
                continue;
            };
            if known.contains(&key) {
                out.insert(key.to_string(), v.clone());
            } else {
                let at = self.spans.key_pos(&field(path, key));
                self.error("unknown-key", at, format!("unknown key '{key}' (expected one of: {})", known.join(", ")));
            }
        }
        for req in required {
            if !out.contains_key(*req) {
                let what = if path.is_empty() { "the document" } else { path };
                self.error("missing-field", self.spans.pos(path), format!("{what} is missing '{req}'"));
            }
        }
        Some(out)
    }
}

fn path_of(base: &str, inner: &str) -> String {
    match (base, inner) {
        (b, ".") | (b, "") => b.to_string(),
        ("", i) => i.to_string(),
        (b, i) if i.starts_with('[') => format!("{b}{i}"),
        (b, i) => format!("{b}.{i}"),
    }
}

/// serde_path_to_error reports an unknown or missing field at the mapping that holds it.
fn parent_of(inner: &str, _base: &str) -> String {
    inner.to_string()
}

fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.split_once(prefix)?.1;
    Some(rest.split('`').next()?.to_string())
}

/// Parses YAML (or JSON) text into a generic value, or reports the syntax error.
fn parse_text(file: &str, text: &str) -> Result<(Value, SpanIndex), Finding> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Finding::error("too-large", file, Pos::START, format!("file is larger than {MAX_INPUT_BYTES} bytes")));
    }
    if file.ends_with(".json") {
        // YAML accepts things JSON does not; a .json file must be strict JSON.
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
            let pos = Pos { line: e.line().max(1), col: e.column().max(1) };
            return Err(Finding::error("syntax", file, pos, format!("syntax error: {}", strip_position(&e.to_string()))));
        }
    }
    let spans = SpanIndex::build(text)
        .map_err(|e| Finding::error("syntax", file, e.pos, format!("syntax error: {}", e.message)))?;
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let pos = e.location().map(|l| Pos { line: l.line(), col: l.column() }).unwrap_or(Pos::START);
        Finding::error("syntax", file, pos, format!("syntax error: {e}"))
    })?;
    Ok((value, spans))
}

/// serde_json appends " at line L column C"; the finding carries the position already.
fn strip_position(message: &str) -> &str {
    message.rsplit_once(" at line ").map_or(message, |(m, _)| m)
}

const MANIFEST_KEYS: [&str; 11] =
    ["version", "registry", "repository", "registryKind", "osDefinitions", "tagSchema", "channels", "variants", "mirrors", "records", "eolWarning"];
const REQUIRED_KEYS: [&str; 7] =
    ["version", "registry", "repository", "osDefinitions", "tagSchema", "channels", "variants"];

/// Reads `manifests/images.yaml` text; `file` is the name used in findings.
pub fn parse_manifest(file: &str, text: &str) -> Parsed<Manifest> {
    let (root, spans) = match parse_text(file, text) {
        Ok(v) => v,
        Err(f) => return Parsed { value: None, spans: SpanIndex::default(), findings: vec![f] },
    };
    let mut r = Reader { file, spans, findings: Vec::new() };
    let value = read_manifest(&mut r, &root);
    let value = if r.findings.is_empty() { value } else { None };
    Parsed { value, spans: r.spans, findings: r.findings }
}

fn read_manifest(r: &mut Reader<'_>, root: &Value) -> Option<Manifest> {
    let top = r.entries(root, "", &MANIFEST_KEYS, &REQUIRED_KEYS)?;
    let get = |k: &str| top.get(k).cloned().unwrap_or(Value::Null);
    let version: Option<u32> = r.de(&get("version"), "version");
    if let Some(v) = version {
        if v != MANIFEST_VERSION {
            r.error("unsupported-version", r.spans.pos("version"), format!("manifest version {v} is not supported (this imgctl reads version {MANIFEST_VERSION})"));
        }
    }
    let registry: Option<String> = r.de(&get("registry"), "registry");
    let repository: Option<String> = r.de(&get("repository"), "repository");
    let registry_kind = top.get("registryKind").and_then(|v| r.de(v, "registryKind"));
    let os_definitions: Option<String> = r.de(&get("osDefinitions"), "osDefinitions");
    let tag_schema: Option<TagSchema> = r.de(&get("tagSchema"), "tagSchema");
    let records: Option<crate::manifest::Records> = top.get("records").and_then(|v| r.de(v, "records"));
    let eol_warning = top.get("eolWarning").and_then(|v| r.de(v, "eolWarning"));
    let mut channels = IndexMap::new();
    match top.get("channels") {
        Some(Value::Mapping(map)) => {
            for (k, v) in map {
                match k.as_str() {
                    Some(name) => {
                        if let Some(c) = r.de::<Channel>(v, &field("channels", name)) {
                            channels.insert(name.to_string(), c);
                        }
                    }
                    None => r.error("invalid-value", r.spans.pos("channels"), "channel names must be strings"),
                }
            }
        }
        Some(_) => r.error("invalid-value", r.spans.pos("channels"), "channels must be a mapping"),
        None => {}
    }
    let mirrors: Vec<Mirror> = match top.get("mirrors") {
        Some(m) => r.de(m, "mirrors").unwrap_or_default(),
        None => Vec::new(),
    };
    let mut variants = Vec::new();
    match top.get("variants") {
        Some(Value::Sequence(seq)) => {
            for (i, v) in seq.iter().enumerate() {
                if let Some(spec) = r.de::<VariantSpec>(v, &at("variants", i)) {
                    variants.push(spec);
                }
            }
        }
        Some(_) => r.error("invalid-value", r.spans.pos("variants"), "variants must be a list"),
        None => {}
    }
    Some(Manifest {
        version: version?,
        registry: registry?,
        repository: repository?,
        registry_kind,
        os_definitions: os_definitions?,
        tag_schema: tag_schema?,
        channels,
        variants,
        mirrors,
        records,
        eol_warning,
    })
}

/// Reads `os-definitions.json` text; `file` is the name used in findings.
pub fn parse_os_definitions(file: &str, text: &str) -> Parsed<OsDefinitions> {
    let (root, spans) = match parse_text(file, text) {
        Ok(v) => v,
        Err(f) => return Parsed { value: None, spans: SpanIndex::default(), findings: vec![f] },
    };
    let mut r = Reader { file, spans, findings: Vec::new() };
    let mut definitions = Vec::new();
    if let Some(top) = r.entries(&root, "", &["definitions"], &["definitions"]) {
        match top.get("definitions") {
            Some(Value::Sequence(seq)) => {
                for (i, v) in seq.iter().enumerate() {
                    if let Some(d) = r.de::<OsDefinition>(v, &at("definitions", i)) {
                        definitions.push(d);
                    }
                }
            }
            Some(_) => r.error("invalid-value", r.spans.pos("definitions"), "definitions must be a list"),
            None => {}
        }
    }
    let value = r.findings.is_empty().then_some(OsDefinitions { definitions });
    Parsed { value, spans: r.spans, findings: r.findings }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "version: 1\nregistry: ghcr.io\nrepository: acme/x\nosDefinitions: os.json\ntagSchema:\n  arch: { AMD64: amd64 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: -staging, branch: main }\nvariants:\n  - os: Linux-Ubuntu-22.04-AMD64\n    context: ../src\n";

    #[test]
    fn reads_a_good_manifest() {
        let p = parse_manifest("m.yaml", GOOD);
        assert!(p.findings.is_empty(), "{:?}", p.findings);
        let m = p.value.unwrap();
        assert_eq!(m.variants[0].dockerfile, "Dockerfile");
        assert_eq!(m.channels["staging"].suffix, "-staging");
    }

    #[test]
    fn reports_every_unknown_key_with_its_line() {
        let text = GOOD.replace("    context: ../src\n", "    context: ../src\n    colour: red\n  - os: X\n    context: y\n    flavour: 1\n")
            + "extra: 1\n";
        let p = parse_manifest("m.yaml", &text);
        let lines: Vec<_> = p.findings.iter().map(|f| (f.code, f.line)).collect();
        assert_eq!(lines, vec![("unknown-key", 17), ("unknown-key", 13), ("unknown-key", 16)], "{:#?}", p.findings);
    }

    #[test]
    fn reports_missing_fields_and_wrong_types() {
        let text = GOOD.replace("    context: ../src\n", "    qualifiers: x\n");
        let p = parse_manifest("m.yaml", &text);
        assert_eq!(p.findings.len(), 1, "{:#?}", p.findings);
        let text = GOOD.replace("repository: acme/x\n", "");
        let p = parse_manifest("m.yaml", &text);
        assert_eq!(p.findings[0].code, "missing-field");
    }

    #[test]
    fn registry_kind_is_optional_and_an_unknown_one_is_an_error_with_its_line() {
        use crate::kind::RegistryKind;
        assert_eq!(parse_manifest("m.yaml", GOOD).value.unwrap().registry_kind, None);
        let text = GOOD.replace("repository: acme/x\n", "repository: acme/x\nregistryKind: harbor\n");
        assert_eq!(parse_manifest("m.yaml", &text).value.unwrap().registry_kind, Some(RegistryKind::Harbor));
        let text = GOOD.replace("repository: acme/x\n", "repository: acme/x\nregistryKind: gitlab\n");
        let p = parse_manifest("m.yaml", &text);
        assert!(p.value.is_none());
        let f = &p.findings[0];
        assert_eq!((f.code, f.line, f.column), ("invalid-value", 4, 15), "{:#?}", p.findings);
        assert!(f.message.contains("registryKind") && f.message.contains("'gitlab'") && f.message.contains("ghcr"), "{}", f.message);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let p = parse_manifest("m.yaml", "version: 1\nvariants: [\n");
        assert_eq!(p.findings[0].code, "syntax");
        assert!(p.findings[0].line >= 2);
    }
}
