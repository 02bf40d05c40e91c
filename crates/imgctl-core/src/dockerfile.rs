//! A Dockerfile's `FROM` lines, as BuildKit reads them: parser directives (`# escape=`),
//! line continuations, comments, global `ARG`s (defaults overridden by build args) substituted
//! into `FROM`, `--platform=` and multi-stage `AS` names. Never panics, whatever the text.

use std::collections::{BTreeMap, HashMap};

/// One `FROM` instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromLine {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// 1-based column of the image reference when it is on that line (else 1).
    pub column: usize,
    /// The image reference as written (`$VAR`s unexpanded).
    pub raw: String,
    /// The image reference with the global `ARG`s substituted.
    pub image: String,
    /// `--platform=` value, substituted.
    pub platform: Option<String>,
    /// The stage's name (`AS name`), lower-cased as BuildKit matches it.
    pub alias: Option<String>,
    /// Index (in [`Dockerfile::froms`]) of the earlier stage this `FROM` builds on,
    /// when the reference names a stage rather than an image.
    pub stage: Option<usize>,
}

impl FromLine {
    /// True when this `FROM` names an image (not an earlier stage, not `scratch`).
    pub fn is_image(&self) -> bool {
        self.stage.is_none() && !self.image.eq_ignore_ascii_case("scratch")
    }
}

/// What matters of a Dockerfile for the build graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// Every `FROM`, in file order.
    pub froms: Vec<FromLine>,
    /// Global `ARG`s (declared before the first `FROM`) and their final values.
    pub args: Vec<(String, Option<String>)>,
}

/// Deepest `${a:-${b:-…}}` nesting expanded; deeper text is kept as written.
const MAX_NESTING: usize = 8;

/// Parses `text`; `build_args` override the defaults of the global `ARG`s they name
/// (build args naming no declared `ARG` are ignored, as by `docker build`).
pub fn parse(text: &str, build_args: &BTreeMap<String, String>) -> Dockerfile {
    let escape = escape_directive(text);
    let mut vars: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Dockerfile::default();
    for (line, instr) in instructions(text, escape) {
        let body = instr.trim_start();
        let (word, rest) = split_word(body);
        if word.eq_ignore_ascii_case("ARG") && out.froms.is_empty() {
            for tok in tokens(rest) {
                let (name, default) = match tok.split_once('=') {
                    Some((n, v)) => (n, Some(expand(&unquote(v), &vars, escape, 0))),
                    None => (tok.as_str(), None),
                };
                if name.is_empty() {
                    continue;
                }
                let value = build_args.get(name).cloned().or(default);
                vars.insert(name.to_string(), value.clone());
                out.args.retain(|(n, _)| n != name);
                out.args.push((name.to_string(), value));
            }
        } else if word.eq_ignore_ascii_case("FROM") {
            out.froms.push(read_from(line, &instr, rest, &vars, escape, &out.froms));
        }
    }
    out
}

fn read_from(
    line: usize,
    instr: &str,
    rest: &str,
    vars: &HashMap<String, Option<String>>,
    escape: char,
    earlier: &[FromLine],
) -> FromLine {
    let mut platform = None;
    let mut raw = String::new();
    let mut alias = None;
    let mut column = 1;
    let mut words = rest.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if raw.is_empty() {
            if let Some(flag) = w.strip_prefix("--") {
                if let Some(p) = flag.strip_prefix("platform=") {
                    platform = Some(expand(p, vars, escape, 0));
                }
                continue;
            }
            raw = w.to_string();
            // `w` is a slice of `instr`: its byte offset is where the reference starts
            let offset = (w.as_ptr() as usize).saturating_sub(instr.as_ptr() as usize);
            if let Some(head) = instr.get(..offset).filter(|h| !h.contains('\n')) {
                column = head.chars().count() + 1;
            }
        } else if w.eq_ignore_ascii_case("AS") {
            alias = words.next().map(str::to_ascii_lowercase);
            break;
        }
    }
    let image = expand(&raw, vars, escape, 0);
    let lower = image.to_ascii_lowercase();
    let stage = earlier.iter().rposition(|f| f.alias.as_deref() == Some(lower.as_str()));
    FromLine { line, column, raw, image, platform, alias, stage }
}

/// The escape character: `` ` `` when the file starts with the `# escape=`` ` directive.
fn escape_directive(text: &str) -> char {
    for l in text.lines() {
        let Some(d) = l.trim().strip_prefix('#') else { return '\\' };
        let Some((key, value)) = d.split_once('=') else { return '\\' };
        let key = key.trim();
        if key.eq_ignore_ascii_case("escape") {
            return if value.trim() == "`" { '`' } else { '\\' };
        }
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return '\\';
        }
    }
    '\\'
}

/// Logical instructions with the line each starts on: comments and blank lines dropped,
/// continuation lines (ending in the escape character) joined by `\n`.
fn instructions(text: &str, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, l) in text.lines().enumerate() {
        let trimmed = l.trim_start();
        if trimmed.starts_with('#') || trimmed.trim_end().is_empty() {
            continue;
        }
        let body = l.trim_end();
        let (part, more) = match body.strip_suffix(escape) {
            Some(p) => (p, true),
            None => (body, false),
        };
        match &mut cur {
            Some((_, s)) => {
                s.push('\n');
                s.push_str(part);
            }
            None => cur = Some((i + 1, part.to_string())),
        }
        if !more {
            out.extend(cur.take());
        }
    }
    out.extend(cur);
    out
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Whitespace-separated tokens, keeping quoted runs (`a="x y"`) together.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                cur.push(c);
            }
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// Substitutes `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}` and
/// `${VAR+alt}`; an escaped `$` stays literal; undefined variables expand to nothing.
pub fn expand_vars(s: &str, vars: &HashMap<String, Option<String>>, escape: char) -> String {
    expand(s, vars, escape, 0)
}

fn expand(s: &str, vars: &HashMap<String, Option<String>>, escape: char, depth: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == escape && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
        } else if c == '$' && chars.get(i + 1) == Some(&'{') && depth < MAX_NESTING {
            match closing_brace(&chars, i + 2) {
                Some(end) => {
                    let inner: String = chars[i + 2..end].iter().collect();
                    out.push_str(&braced(&inner, vars, escape, depth));
                    i = end + 1;
                }
                None => {
                    out.extend(&chars[i..]);
                    break;
                }
            }
        } else if c == '$' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == '_') {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            out.push_str(vars.get(&name).and_then(|v| v.as_deref()).unwrap_or(""));
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn closing_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, c) in chars.iter().enumerate().skip(from) {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(k),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn braced(inner: &str, vars: &HashMap<String, Option<String>>, escape: char, depth: usize) -> String {
    let name_len = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(inner.len());
    let (name, op) = inner.split_at(name_len);
    let value = vars.get(name).and_then(|v| v.as_deref());
    let word = |w: &str| expand(w, vars, escape, depth + 1);
    if let Some(w) = op.strip_prefix(":-") {
        value.filter(|v| !v.is_empty()).map_or_else(|| word(w), str::to_string)
    } else if let Some(w) = op.strip_prefix(":+") {
        if value.is_some_and(|v| !v.is_empty()) { word(w) } else { String::new() }
    } else if let Some(w) = op.strip_prefix('-') {
        value.map_or_else(|| word(w), str::to_string)
    } else if let Some(w) = op.strip_prefix('+') {
        if value.is_some() { word(w) } else { String::new() }
    } else {
        value.unwrap_or("").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_from_lines_with_line_numbers() {
        let text = "# syntax=docker/dockerfile:1\n\nFROM ubuntu:22.04\nRUN echo \\\n  FROM nope\n# FROM comment\nfrom  --platform=linux/arm64 \\\n  # comment inside\n  alpine:3 AS Build\nFROM build\nFROM scratch\n";
        let d = parse(text, &BTreeMap::new());
        let got: Vec<_> = d.froms.iter().map(|f| (f.line, f.image.as_str(), f.alias.as_deref(), f.stage)).collect();
        assert_eq!(got, vec![(3, "ubuntu:22.04", None, None), (7, "alpine:3", Some("build"), None), (10, "build", None, Some(1)), (11, "scratch", None, None)]);
        assert_eq!(d.froms[1].platform.as_deref(), Some("linux/arm64"));
        assert_eq!(d.froms[0].column, 6);
        assert!(d.froms[0].is_image() && !d.froms[2].is_image() && !d.froms[3].is_image());
    }

    #[test]
    fn substitutes_global_args_with_build_arg_overrides() {
        let text = "ARG REPO=mcr.microsoft.com/x\nARG TAG\nARG V=1.0\nARG FULL=${REPO}:v$V\nFROM $REPO:${TAG:-fallback}\nFROM ${FULL}\nARG LATE=no\nFROM img:${LATE:-late}-${V:+set}\nFROM img:\\$V\n";
        let d = parse(text, &BTreeMap::new());
        let images: Vec<_> = d.froms.iter().map(|f| f.image.as_str()).collect();
        assert_eq!(images, vec!["mcr.microsoft.com/x:fallback", "mcr.microsoft.com/x:v1.0", "img:late-set", "img:$V"]);
        let d = parse(text, &args(&[("TAG", "t1"), ("V", "2"), ("UNDECLARED", "x")]));
        let images: Vec<_> = d.froms.iter().map(|f| f.image.as_str()).collect();
        assert_eq!(images, vec!["mcr.microsoft.com/x:t1", "mcr.microsoft.com/x:v2", "img:late-set", "img:$V"]);
        assert_eq!(d.froms[0].raw, "$REPO:${TAG:-fallback}");
    }

    #[test]
    fn honours_the_escape_directive() {
        let text = "# escape=`\n\nARG V=1\nFROM `\n  repo:w$V as installer\nRUN dir c:\\\nFROM installer\n";
        let d = parse(text, &BTreeMap::new());
        assert_eq!(d.froms.len(), 2);
        assert_eq!((d.froms[0].line, d.froms[0].image.as_str()), (4, "repo:w1"));
        assert_eq!(d.froms[1].stage, Some(0));
    }

    #[test]
    fn later_stage_may_reuse_a_name() {
        let d = parse("FROM a AS x\nFROM x AS x\nFROM x\n", &BTreeMap::new());
        assert_eq!(d.froms[1].stage, Some(0));
        assert_eq!(d.froms[2].stage, Some(1));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC*", bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&text, &BTreeMap::new());
            let lossy = String::from_utf8_lossy(&bytes);
            let _ = parse(&lossy, &args(&[("A", "$A${A:-${A}}")]));
            let _ = parse(&format!("ARG A=${{{text}\nFROM ${{A:-{text}}} AS {text}\n"), &BTreeMap::new());
        }
    }
}
